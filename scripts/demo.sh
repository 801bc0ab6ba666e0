#!/usr/bin/env bash
# The main job: two appliances securing a link.
#
#   [ns macsec-a: host A 192.0.2.1] --veth-- [ns macsec-appa: appliance A] ==line veth (MACsec)==
#       [ns macsec-appb: appliance B] --veth-- [ns macsec-b: host B 192.0.2.2]
#
# Each appliance is a macsec-dataplane process in its own namespace (a box of its own) on
# net_af_packet ports over veths, with its macsecd running MKA from an IOS XR configuration (a
# PSK key chain and a user-defined policy with GCM-AES-XPN-256). MKA secures the link; host A pings
# host B through both appliances; tshark on the line shows only MACsec and EAPOL-MKA; the
# appliances' counters are printed at the end. Everything it creates is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build -q --release -p dataplane -p control --bins
DP=$PWD/target/release/macsec-dataplane
MD=$PWD/target/release/macsecd
CTL=$PWD/target/release/macsecctl
W=$(mktemp -d)
NSA=macsec-a NSB=macsec-b APA=macsec-appa APB=macsec-appb
PIDS=()
delns() { for n in $NSA $NSB $APA $APB; do ip netns del $n 2>/dev/null || true; done; }
cleanup() {
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  delns
  rm -rf "$W" /var/run/dpdk/demo-a$$ /var/run/dpdk/demo-b$$
}
trap cleanup EXIT
delns

for n in $NSA $NSB $APA $APB; do ip netns add $n; done
ip link add mda-host netns $APA type veth peer name eth0 netns $NSA
ip link add mdb-host netns $APB type veth peer name eth0 netns $NSB
ip link add mda-line netns $APA type veth peer name mdb-line netns $APB
# The appliance-side veths carry only what the appliances send: no IPv6 of their namespaces.
for pair in $APA:mda-host $APA:mda-line $APB:mdb-host $APB:mdb-line; do
  ns=${pair%%:*} l=${pair#*:}
  ip netns exec $ns sysctl -qw net.ipv6.conf.$l.disable_ipv6=1
  ip -n $ns link set $l mtu 1600 up
done
ip -n $NSA addr add 192.0.2.1/24 dev eth0
ip -n $NSB addr add 192.0.2.2/24 dev eth0
ip -n $NSA link set eth0 up
ip -n $NSB link set eth0 up

# The appliances' IOS XR configurations: the guide's key chain with a PSK (AES-256-CMAC CAK) and a
# user-defined policy with GCM-AES-XPN-256; A has the lower key-server priority.
CKN=1234abcd5678
CAK=4a7b2f3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708
xr() { # file priority
  cat > "$1" <<EOT
key chain KC1
 macsec
  key $CKN
   key-string $CAK cryptographic-algorithm AES-256-CMAC
   lifetime 05:00:00 01 January 2015 infinite
!
macsec-policy P1
 cipher-suite GCM-AES-XPN-256
 key-server-priority $2
 security-policy must-secure
 window-size 64
 sak-rekey-interval seconds 60
!
interface TenGigE0/0/0/1
 macsec psk-keychain KC1 policy P1
!
EOT
}
dpcfg() { # file host line
  cat > "$1" <<EOT
[[link]]
interface = "TenGigE0/0/0/1"
host_port = "$2"
line_port = "$3"
cipher_suite = "GCM-AES-XPN-256"
security_policy = "must-secure"
EOT
}
xr "$W/a.xr" 16
xr "$W/b.xr" 32
dpcfg "$W/a.toml" net_af_packet0 net_af_packet1
dpcfg "$W/b.toml" net_af_packet0 net_af_packet1
EAL=(--no-huge -m 512 --no-pci --log-level lib.eal:error)
# Two cores: appliance A's worker runs on core 1, B's on core 0 (each main lcore sleeps).
ip netns exec $APA "$DP" --config "$W/a.toml" --socket "$W/a.sock" -- "${EAL[@]}" -l 0,1 --main-lcore 0 --file-prefix demo-a$$ \
  --vdev net_af_packet0,iface=mda-host --vdev net_af_packet1,iface=mda-line > "$W/a.json" 2> "$W/a.log" &
PIDS+=($!)
ip netns exec $APB "$DP" --config "$W/b.toml" --socket "$W/b.sock" -- "${EAL[@]}" -l 0,1 --main-lcore 1 --file-prefix demo-b$$ \
  --vdev net_af_packet0,iface=mdb-host --vdev net_af_packet1,iface=mdb-line > "$W/b.json" 2> "$W/b.log" &
PIDS+=($!)
for s in a b; do
  for _ in $(seq 100); do [ -S "$W/$s.sock" ] && break; sleep 0.1; done
  [ -S "$W/$s.sock" ] || { cat "$W/a.log" "$W/b.log"; echo "appliance $s did not start" >&2; exit 1; }
done
START=$(date +%s.%N)
MDPIDS=()
"$MD" --config "$W/a.xr" --dataplane "$W/a.sock" --socket "$W/a-mka.sock" > "$W/a-mka.json" 2> "$W/a-mka.log" &
PIDS+=($!); MDPIDS+=($!)
"$MD" --config "$W/b.xr" --dataplane "$W/b.sock" --socket "$W/b-mka.sock" > "$W/b-mka.json" 2> "$W/b-mka.log" &
PIDS+=($!); MDPIDS+=($!)
secured() { "$CTL" show macsec mka session --socket "$W/$1-mka.sock" 2>/dev/null | grep -q Secured; }
for _ in $(seq 150); do secured a && secured b && break; sleep 0.1; done
secured a && secured b || { cat "$W/a-mka.log" "$W/b-mka.log"; echo "MKA did not secure" >&2; exit 1; }
END=$(date +%s.%N)
echo "== MKA secured the link in $(python3 -c "print(f'{$END - $START:.2f}')") s"
echo "== appliance A: show macsec mka session"
"$CTL" show macsec mka session --socket "$W/a-mka.sock"
echo "== appliance B: show macsec mka session"
"$CTL" show macsec mka session --socket "$W/b-mka.sock"
echo "== MKA events on A:"
grep "%L2-MKA" "$W/a-mka.log" | head -8
echo "== two appliances up; host A (192.0.2.1) pings host B (192.0.2.2) across the secured line"
if command -v tshark >/dev/null; then
  timeout 15 ip netns exec $APB tshark -i mdb-line -c 12 -f "ether proto 0x88e5 or ether proto 0x888e" -T fields \
    -e frame.number -e eth.type -e macsec.AN -e macsec.PN -e macsec.SCI.system_identifier > "$W/line.txt" 2>/dev/null &
  TSHARK=$!
  sleep 1
fi
ip netns exec $NSA ping -c 5 -i 0.2 -W 2 192.0.2.2 || PING_FAILED=1
if [ -n "${TSHARK:-}" ]; then
  wait $TSHARK || true
  echo "== what the line carries (tshark on the line veth: EtherType, AN, PN, SCI)"
  cat "$W/line.txt"
  if awk '$2 != "0x88e5" && $2 != "0x888e" {bad=1} END {exit bad}' "$W/line.txt"; then echo "== every frame on the line is MACsec or EAPOL-MKA"; else echo "clear frame on the line" >&2; exit 1; fi
fi
# Hitless CAK rollover: a second key, active from now, is added to both key chains and macsecd
# reloads (SIGHUP) while host A keeps pinging; the session moves to the new CKN without loss.
CKN2=5678abcd1234
CAK2=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
NOW=$(date -u +"%H:%M:%S %d %B %Y")
for s in a b; do
  python3 - "$W/$s.xr" "$CKN2" "$CAK2" "$NOW" <<'PY'
import sys
path, ckn, cak, now = sys.argv[1:]
text = open(path).read()
new_key = f"  key {ckn}\n   key-string {cak} cryptographic-algorithm AES-256-CMAC\n   lifetime {now} infinite\n"
open(path, "w").write(text.replace("!\nmacsec-policy", new_key + "!\nmacsec-policy", 1))
PY
done
echo "== CAK rollover: key $CKN2 (active from $NOW UTC) added on both sides, macsecd reloads, pings continue"
ip netns exec $NSA ping -c 40 -i 0.1 -W 1 192.0.2.2 > "$W/ping2.txt" 2>&1 &
PING2=$!
sleep 0.5
for p in "${MDPIDS[@]}"; do kill -HUP "$p"; done
for _ in $(seq 100); do
  "$CTL" show macsec mka session detail --socket "$W/a-mka.sock" | grep -q "CKN  *: $CKN2" \
    && "$CTL" show macsec mka session detail --socket "$W/b-mka.sock" | grep -q "CKN  *: $CKN2" && break
  sleep 0.1
done
wait $PING2 || true
grep -E "packets transmitted" "$W/ping2.txt"
"$CTL" show macsec mka session detail --socket "$W/a-mka.sock" | grep -E "CKN|Status|Latest SAK AN"
grep -q " 0% packet loss" "$W/ping2.txt" || { echo "frames lost during the rollover" >&2; exit 1; }
"$CTL" show macsec mka session detail --socket "$W/b-mka.sock" | grep -q "CKN  *: $CKN2" || { echo "rollover did not happen" >&2; exit 1; }
for view in "macsec mka summary" "macsec policy P1" "running-config macsec-policy" "key chain KC1"; do
  echo "== appliance A: show $view"
  "$CTL" show $view --socket "$W/a-mka.sock"
done
echo "== appliance A: show macsec mka statistics interface TenGigE0/0/0/1 (excerpt)"
"$CTL" show macsec mka statistics interface TenGigE0/0/0/1 --socket "$W/a-mka.sock" | grep -E "SAKs|MKPDUs Transmitted|Validated|ICV"
echo "== appliance A: show macsec ea idb interface TenGigE0/0/0/1"
"$CTL" show macsec ea idb interface TenGigE0/0/0/1 --socket "$W/a-mka.sock"
echo "== appliance B: show macsec secy statistics interface TenGigE0/0/0/1 (excerpt)"
"$CTL" show macsec secy statistics interface TenGigE0/0/0/1 --socket "$W/b-mka.sock" | grep -E "InPktsOK|InPktsNotValid|InPktsLate|OutPktsEncrypted|eapol"
# Stop the daemons first (they would report the dataplane going away), then the dataplanes,
# which print their counters on exit.
for p in "${MDPIDS[@]}"; do kill -INT "$p"; done
for p in "${MDPIDS[@]}"; do wait "$p" || true; done
for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
PIDS=()
python3 - "$W/a.json" "$W/b.json" ${PING_FAILED:+verbose} <<'PY'
import json, sys
for name, path in zip("AB", sys.argv[1:]):
    r = json.load(open(path))
    c = r["links"][0]["counters"]
    keys = ["OutPktsEncrypted", "InPktsOK", "InPktsLate", "InPktsNotValid", "InPktsNoTag", "InPktsBadTag"]
    print(f"== appliance {name}: " + ", ".join(f"{k} {c[k]}" for k in keys))
    if len(sys.argv) > 3: print(json.dumps(r))
PY
[ -z "${PING_FAILED:-}" ] || { echo "ping across the appliances failed" >&2; exit 1; }
