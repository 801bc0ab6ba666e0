# shellcheck shell=bash
# The two-appliance topology of scripts/demo.sh (the system tests build the same one in Rust:
# tests/src/appliance.rs).
#
#   [ns H1: host 192.0.2.1 eth0] --veth-- [ns A: a-host | macsec-dataplane + macsecd | a-line]
#        ==line veth (MACsec)== [ns B: b-line | macsec-dataplane + macsecd | b-host] --veth-- [ns H2: host 192.0.2.2 eth0]
#
# Each appliance is a macsec-dataplane on net_af_packet ports over veths in a namespace of its own
# (two DPDK af_packet processes in one namespace collide on their PACKET_FANOUT id) with its
# macsecd. Appliance A's worker runs on core 1, B's on core 0.
#
# Usage (from a bash script with `set -euo pipefail`):
#   source scripts/lib/appliances.sh
#   app_init TAG NS_PREFIX          # names: namespaces NS_PREFIX-{h1,h2,a,b}, DPDK file prefixes TAG-{a,b}PID
#   trap app_cleanup EXIT
#   app_topology                    # namespaces, veths, addresses
#   app_xr FILE [options]           # an IOS XR configuration (see app_xr)
#   app_start_dp a|b POLICY         # a dataplane (must-secure | should-secure)
#   app_start_md a|b                # its macsecd (configuration $APP_W/<side>.xr)
#   app_wait_secured [SECS]         # both sides Secured; sets SECURE_SECS (from the last app_start_md)
#   app_stream_start [PPS] / app_stream_stop / app_stream_summary
#   app_capture_start / app_capture_stop / app_capture_classify
#   app_stop_md a|b SIGNAL, app_stop_all
# Every process it starts, every namespace and the work directory are removed by app_cleanup.

APP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DP=$APP_ROOT/target/release/macsec-dataplane
MD=$APP_ROOT/target/release/macsecd
CTL=$APP_ROOT/target/release/macsecctl
UDPSTREAM=$APP_ROOT/target/release/udp-stream
IF=TenGigE0/0/0/1
H1_IP=192.0.2.1
H2_IP=192.0.2.2
UDP_PORT=9000

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

app_build() {
  (cd "$APP_ROOT" && cargo build -q --release -p dataplane -p control --bins && cargo build -q --release -p macsec-tests --bin udp-stream)
}

# app_init TAG NS_PREFIX: names and the work directory ($APP_W).
app_init() {
  APP_TAG=$1
  NS_H1=$2-h1 NS_H2=$2-h2 NS_A=$2-a NS_B=$2-b
  APP_W=$(mktemp -d "/tmp/$APP_TAG.XXXXXX")
  APP_FP_a=$APP_TAG-a$$ APP_FP_b=$APP_TAG-b$$
  APP_DP_a='' APP_DP_b='' APP_MD_a='' APP_MD_b='' APP_SEND='' APP_RECV=''
  APP_EXTRA_PIDS=() APP_CAPS=()
  APP_MD_STARTED=''
  # Interrupted or terminated: exit through the EXIT trap (app_cleanup).
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

app_delns() { for n in $NS_H1 $NS_H2 $NS_A $NS_B; do ip netns del "$n" 2>/dev/null || true; done; }

# Stops a process by pid with SIG, waits up to 5 s, then SIGKILL.
app_kill() { # pid sig
  local p=$1 sig=${2:-INT}
  [ -n "$p" ] || return 0
  kill -"$sig" "$p" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}

app_cleanup() {
  local p
  [ -n "${APP_W:-}" ] || return 0
  # (Background jobs of a script ignore SIGINT unless they set a handler: TERM for ours.)
  for p in "${APP_EXTRA_PIDS[@]}" "$APP_SEND" "$APP_RECV"; do [ -n "$p" ] && app_kill "$p" TERM; done
  for p in "${APP_CAPS[@]}"; do [ -n "$p" ] && app_kill "$p" INT; done
  for p in "$APP_MD_a" "$APP_MD_b"; do [ -n "$p" ] && app_kill "$p" INT; done
  for p in "$APP_DP_a" "$APP_DP_b"; do [ -n "$p" ] && app_kill "$p" INT; done
  APP_SEND='' APP_RECV='' APP_CAPS=() APP_MD_a='' APP_MD_b='' APP_DP_a='' APP_DP_b='' APP_EXTRA_PIDS=()
  app_delns
  rm -rf "$APP_W" "/var/run/dpdk/$APP_FP_a" "/var/run/dpdk/$APP_FP_b"
  APP_W=''
}

# Namespaces and veths. Appliance-side veths carry only what the appliances send (no IPv6 of their
# namespaces). APP_HOST_IPV6=0 turns IPv6 off on the hosts too (exact frame counts in the tests),
# APP_STATIC_NEIGH=1 gives the hosts permanent neighbour entries (no ARP needed before securing).
app_topology() {
  app_delns
  for n in $NS_H1 $NS_H2 $NS_A $NS_B; do ip netns add "$n"; done
  ip link add a-host netns "$NS_A" type veth peer name eth0 netns "$NS_H1"
  ip link add b-host netns "$NS_B" type veth peer name eth0 netns "$NS_H2"
  ip link add a-line netns "$NS_A" type veth peer name b-line netns "$NS_B"
  local pair ns l
  for pair in "$NS_A:a-host" "$NS_A:a-line" "$NS_B:b-host" "$NS_B:b-line"; do
    ns=${pair%%:*} l=${pair#*:}
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$l.disable_ipv6=1"
    ip -n "$ns" link set "$l" mtu 1600 up
  done
  if [ "${APP_HOST_IPV6:-1}" = 0 ]; then
    ip netns exec "$NS_H1" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
    ip netns exec "$NS_H2" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
  fi
  # The hosts compute their checksums: a veth leaves TCP/UDP checksums to "hardware" (the frame
  # carries a partial checksum), and net_af_packet forwards the frame as it gets it, so h2's kernel
  # would drop every UDP datagram and TCP segment as a checksum error (UdpInErrors).
  ip netns exec "$NS_H1" ethtool -K eth0 tx off >/dev/null 2>&1
  ip netns exec "$NS_H2" ethtool -K eth0 tx off >/dev/null 2>&1
  ip -n "$NS_H1" addr add $H1_IP/24 dev eth0
  ip -n "$NS_H2" addr add $H2_IP/24 dev eth0
  ip -n "$NS_H1" link set eth0 up
  ip -n "$NS_H2" link set eth0 up
  ip -n "$NS_H1" link set lo up
  ip -n "$NS_H2" link set lo up
  if [ "${APP_STATIC_NEIGH:-0}" = 1 ]; then
    local m1 m2
    m1=$(ip -n "$NS_H1" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
    m2=$(ip -n "$NS_H2" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
    ip -n "$NS_H1" neigh replace $H2_IP lladdr "$m2" dev eth0 nud permanent
    ip -n "$NS_H2" neigh replace $H1_IP lladdr "$m1" dev eth0 nud permanent
  fi
}

# IOS XR time of day, for key lifetimes: app_xr_time OFFSET_SECONDS -> "hh:mm:ss DD Month YYYY" (UTC).
app_xr_time() { date -u -d "@$(($(date +%s) + $1))" +"%H:%M:%S %d %B %Y"; }

# app_xr FILE [--priority N] [--policy must-secure|should-secure] [--rekey SECS]
#             [--key "CKN CAK LIFETIME..."]... [--fallback "CKN CAK"] [--delay-protection]
# The guide's PSK key chain KC1 (AES-256-CMAC CAKs), user-defined policy P1 with GCM-AES-XPN-256,
# window-size 64, on TenGigE0/0/0/1; a fallback PSK key chain FB1 when --fallback is given.
app_xr() {
  local file=$1; shift
  local prio=16 policy=must-secure rekey=60 window=64 fallback='' delay='' keys=()
  while [ $# -gt 0 ]; do
    case $1 in
      --priority) prio=$2; shift 2 ;;
      --policy) policy=$2; shift 2 ;;
      --rekey) rekey=$2; shift 2 ;;
      --window) window=$2; shift 2 ;;
      --key) keys+=("$2"); shift 2 ;;
      --fallback) fallback=$2; shift 2 ;;
      --delay-protection) delay=1; shift ;;
      *) echo "app_xr: unknown option $1" >&2; return 2 ;;
    esac
  done
  local k ckn cak lt
  {
    echo "key chain KC1"
    echo " macsec"
    for k in "${keys[@]}"; do
      read -r ckn cak lt <<<"$k"
      echo "  key $ckn"
      echo "   key-string $cak cryptographic-algorithm AES-256-CMAC"
      echo "   lifetime $lt"
    done
    echo "!"
    if [ -n "$fallback" ]; then
      read -r ckn cak <<<"$fallback"
      echo "key chain FB1"
      echo " macsec"
      echo "  key $ckn"
      echo "   key-string $cak cryptographic-algorithm AES-256-CMAC"
      echo "   lifetime 05:00:00 01 January 2015 infinite"
      echo "!"
    fi
    echo "macsec-policy P1"
    echo " cipher-suite GCM-AES-XPN-256"
    echo " key-server-priority $prio"
    echo " security-policy $policy"
    echo " window-size $window"
    echo " sak-rekey-interval seconds $rekey"
    [ -n "$delay" ] && echo " delay-protection"
    echo "!"
    echo "interface $IF"
    echo " macsec psk-keychain KC1${fallback:+ fallback-psk-keychain FB1} policy P1"
    echo "!"
  } > "$file"
}

# app_start_dp a|b POLICY: the side's macsec-dataplane, waits for its control socket.
app_start_dp() {
  local s=$1 policy=${2:-must-secure} ns main fp
  if [ "$s" = a ]; then ns=$NS_A main=0 fp=$APP_FP_a; else ns=$NS_B main=1 fp=$APP_FP_b; fi
  cat > "$APP_W/$s.toml" <<EOT
[[link]]
interface = "$IF"
host_port = "net_af_packet0"
line_port = "net_af_packet1"
cipher_suite = "GCM-AES-XPN-256"
security_policy = "$policy"
EOT
  rm -f "$APP_W/$s.sock"
  ip netns exec "$ns" "$DP" --config "$APP_W/$s.toml" --socket "$APP_W/$s.sock" -- \
    --no-huge -m 512 --no-pci --log-level lib.eal:error -l 0,1 --main-lcore $main --file-prefix "$fp" \
    --vdev "net_af_packet0,iface=$s-host" --vdev "net_af_packet1,iface=$s-line" > "$APP_W/$s.json" 2> "$APP_W/$s.log" &
  printf -v "APP_DP_$s" %s $!
  for _ in $(seq 150); do [ -S "$APP_W/$s.sock" ] && return 0; sleep 0.1; done
  cat "$APP_W/$s.log" >&2
  echo "appliance $s: the dataplane did not start" >&2
  return 1
}

# app_start_md a|b: the side's macsecd on $APP_W/<side>.xr (log appended to $APP_W/<side>-mka.log).
app_start_md() {
  local s=$1 ns
  if [ "$s" = a ]; then ns=$NS_A; else ns=$NS_B; fi
  APP_MD_STARTED=$(now)
  ip netns exec "$ns" "$MD" --config "$APP_W/$s.xr" --dataplane "$APP_W/$s.sock" --socket "$APP_W/$s-mka.sock" \
    >> "$APP_W/$s-mka.json" 2>> "$APP_W/$s-mka.log" &
  printf -v "APP_MD_$s" %s $!
}

# app_stop_md a|b SIGNAL: stops macsecd (TERM/INT: orderly; KILL: a crash) and waits for it.
app_stop_md() {
  local s=$1 sig=${2:-TERM} v="APP_MD_$1"
  local p=${!v}
  [ -n "$p" ] || return 0
  kill -"$sig" "$p" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then echo "appliance $s: macsecd did not stop on SIG$sig in 5 s" >&2; kill -KILL "$p" 2>/dev/null || true; fi
  { wait "$p"; } 2>/dev/null || true
  printf -v "$v" %s ''
}

# Stops the daemons, then the dataplanes (which print their JSON counters to $APP_W/<side>.json).
app_stop_all() {
  app_stop_md a INT; app_stop_md b INT
  app_kill "$APP_DP_a" INT; app_kill "$APP_DP_b" INT
  APP_DP_a='' APP_DP_b=''
}

app_ctl() { local s=$1; shift; "$CTL" "$@" --socket "$APP_W/$s-mka.sock"; }
app_session() { app_ctl "$1" show macsec mka session ${2:+$2} 2>/dev/null; }
# Secured with a live peer (Secured with 0 peers: still transmitting on an earlier session's SAs).
app_secured() { app_session "$1" | awk '$4 == "Secured" && $3 > 0 { ok = 1 } END { exit !ok }'; }

# app_wait_secured [SECS]: both sides Secured; SECURE_SECS = time since the last app_start_md.
app_wait_secured() {
  local limit=${1:-15} i
  for i in $(seq $((limit * 10))); do
    if app_secured a && app_secured b; then SECURE_SECS=$(elapsed "$APP_MD_STARTED" "$(now)"); SECURED_AT=$(now); return 0; fi
    sleep 0.1
  done
  SECURE_SECS=timeout
  return 1
}

# app_field a|b FIELD: a field of the side's `show macsec mka session --json` row (ckn, auth_mode,
# status, latest_an, latest_kn, peers...); empty when there is no session.
app_field() {
  app_ctl "$1" show macsec mka session --json 2>/dev/null | python3 -c '
import json, sys
try:
    rows = json.load(sys.stdin)
    print(rows[0][sys.argv[1]] if rows else "")
except Exception:
    print("")' "$2"
}

# app_secy a|b: the side's 802.1AE counters as one JSON object (from the dataplane through macsecd).
app_secy() { app_ctl "$1" show macsec secy statistics interface $IF --json 2>/dev/null; }
# app_counter a|b NAME: one counter (searched anywhere in that JSON).
app_counter() {
  app_secy "$1" | python3 -c '
import json, sys
def find(v, k):
    if isinstance(v, dict):
        if k in v and not isinstance(v[k], (dict, list)): return v[k]
        for x in v.values():
            r = find(x, k)
            if r is not None: return r
    elif isinstance(v, list):
        for x in v:
            r = find(x, k)
            if r is not None: return r
    return None
r = find(json.load(sys.stdin), sys.argv[1])
print("" if r is None else r)' "$2"
}

# Paced sequence-numbered UDP stream h1 -> h2 (udp-stream); results in $APP_W/send.json, recv.json.
app_stream_start() {
  local rate=${1:-3000}
  rm -f "$APP_W/stop-send" "$APP_W/stop-recv"
  ip netns exec "$NS_H2" "$UDPSTREAM" recv --bind 0.0.0.0:$UDP_PORT --stop-file "$APP_W/stop-recv" > "$APP_W/recv.json" 2> "$APP_W/recv.log" &
  APP_RECV=$!
  sleep 0.2
  ip netns exec "$NS_H1" "$UDPSTREAM" send --dst $H2_IP:$UDP_PORT --rate "$rate" --stop-file "$APP_W/stop-send" > "$APP_W/send.json" 2> "$APP_W/send.log" &
  APP_SEND=$!
  STREAM_STARTED=$(now)
}
app_stream_stop() {
  touch "$APP_W/stop-send"; wait "$APP_SEND" || true; APP_SEND=''
  sleep 0.5 # frames in flight through both appliances
  touch "$APP_W/stop-recv"; wait "$APP_RECV" || true; APP_RECV=''
}
# app_stream_get FIELD: sent (from the sender), received / duplicates / out_of_order / max_gap_ms /
# last_rx / first_rx (from the receiver), lost (sent - received).
app_stream_get() {
  python3 - "$APP_W/send.json" "$APP_W/recv.json" "$1" <<'PY'
import json, sys
s, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
k = sys.argv[3]
if k == "lost": print(s["sent"] - r["received"])
elif k in s and k not in r: print(s[k])
else: print("" if r.get(k) is None else r[k])
PY
}
app_stream_summary() {
  python3 - "$APP_W/send.json" "$APP_W/recv.json" <<'PY'
import json, sys
s, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print(f"UDP stream h1->h2 at {s['rate_pps']:.0f} pps for {s['seconds']} s: sent {s['sent']} (send errors {s['send_errors']}), "
      f"received {r['received']}, lost {s['sent'] - r['received']}, duplicated {r['duplicates']}, out of order {r['out_of_order']}, "
      f"longest silence {r['max_gap_ms']} ms")
if r["missing_ranges"]: print(f"  missing sequence numbers: {r['missing_ranges'][:10]}")
PY
}

# app_capture_start [FILE] [SIDE]: tshark on the line veth of appliance SIDE (default b) into FILE
# (pcap; default $APP_W/line.pcap). On b-line it records what A puts on the line (and B's own
# EAPOL-MKA is not seen: net_af_packet transmits with qdisc bypass, which capture taps do not see);
# on a-line, what B puts on the line. Returns once tshark captures.
app_capture_start() {
  local f=${1:-$APP_W/line.pcap} side=${2:-b} ns log
  if [ "$side" = a ]; then ns=$NS_A; else ns=$NS_B; fi
  log=$f.log
  rm -f "$f" "$log"
  ip netns exec "$ns" tshark -q -i "$side-line" -F pcap -w "$f" > /dev/null 2> "$log" &
  APP_CAPS+=($!)
  for _ in $(seq 150); do grep -q "Capturing on" "$log" 2>/dev/null && { sleep 0.2; return 0; }; sleep 0.1; done
  cat "$log" >&2; echo "tshark did not start" >&2; return 1
}
# Stops every capture (after 0.3 s for frames in flight).
app_capture_stop() {
  local p
  sleep 0.3
  for p in "${APP_CAPS[@]}"; do app_kill "$p" INT; done
  APP_CAPS=()
}

# app_capture_drops [PCAP]: frames tshark reported dropped (0 when it reported none).
app_capture_drops() {
  local f=${1:-$APP_W/line.pcap}
  { grep -oE '[0-9]+ packets? dropped' "$f.log" 2>/dev/null || true; } | awk '{s += $1} END {print s + 0}'
}

# app_capture_classify [PCAP] [SPLIT_TIME]: counts line frames by EtherType, as JSON:
# {"total", "macsec" (0x88e5), "eapol" (0x888e), "clear" (anything else), "clear_types",
#  "clear_after" / "macsec_after" (frames at or after SPLIT_TIME, Unix seconds), "first_macsec"}.
app_capture_classify() {
  local f=${1:-$APP_W/line.pcap} split=${2:-0}
  tshark -r "$f" -T fields -e frame.time_epoch -e eth.type 2>/dev/null | python3 -c '
import json, sys
split = float(sys.argv[1])
c = {"total": 0, "macsec": 0, "eapol": 0, "clear": 0, "clear_types": {}, "clear_after": 0, "macsec_after": 0, "first_macsec": None, "last_clear": None}
for line in sys.stdin:
    f = line.split("\t")
    if len(f) < 2: continue
    t, ty = float(f[0]), f[1].strip().split(",")[0]
    c["total"] += 1
    if ty == "0x88e5":
        c["macsec"] += 1
        if c["first_macsec"] is None: c["first_macsec"] = t
        if t >= split: c["macsec_after"] += 1
    elif ty == "0x888e":
        c["eapol"] += 1
    else:
        c["clear"] += 1
        c["clear_types"][ty] = c["clear_types"].get(ty, 0) + 1
        c["last_clear"] = t
        if t >= split: c["clear_after"] += 1
print(json.dumps(c))' "$split"
}

# wait_for SECS COMMAND...: runs COMMAND every 0.1 s until it succeeds (0) or SECS pass (1).
wait_for() {
  local deadline; deadline=$(python3 -c "import time,sys; print(time.time() + float(sys.argv[1]))" "$1"); shift
  while :; do
    "$@" && return 0
    python3 -c "import time,sys; sys.exit(time.time() < float(sys.argv[1]))" "$deadline" && return 1
    sleep 0.1
  done
}

jget() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(v[sys.argv[2]] if v.get(sys.argv[2]) is not None else "")' "$1" "$2"; }
