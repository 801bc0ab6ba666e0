#!/usr/bin/env bash
# Live interop of the whole appliance against a real MKA peer: wpa_supplicant 2.10 (its KaY/CP
# unmodified, SecY stubbed to log its SAs, see ../shared/interop) in one network namespace; our
# appliance (macsec-dataplane on net_af_packet + macsecd with an IOS XR configuration) in another,
# a veth between them (the line). Three runs:
#   1. ours key server (priority 16 vs 32), 2. wpa_supplicant key server (48 vs 32): both sides must
#      report secured with the same key server and the same Key Identifier, and the SAK
#      wpa_supplicant installed must decrypt the frames our appliance put on the line (captured on
#      wpa_supplicant's side and validated with `macsecctl pcap validate`);
#   3. a different CAK: neither side secures and ours counts ICV failures.
# Builds wpa_supplicant from Debian's source package into target/wpa-stub on first use.
# Usage: scripts/interop-wpa.sh [seconds per run]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-12}
SHARED=${SHARED:-$(cd .. && pwd)/shared}
WPADIR=$PWD/target/wpa-stub
if [ ! -x "$WPADIR/bin/wpa_supplicant-macsec_stub" ]; then
  [ -f "$SHARED/interop/build_wpa_stub.sh" ] || { echo "interop-wpa: $SHARED/interop not found" >&2; exit 2; }
  bash "$SHARED/interop/build_wpa_stub.sh" "$WPADIR" >&2
fi
cargo build -q --release -p dataplane -p control --bins
DP=$PWD/target/release/macsec-dataplane MD=$PWD/target/release/macsecd CTL=$PWD/target/release/macsecctl
WPA=$WPADIR/bin/wpa_supplicant-macsec_stub
CAK=000102030405060708090a0b0c0d0e0f
CKN=0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20
W=$(mktemp -d)
NA=mkiA$$ NB=mkiB$$
PIDS=()
stop_all() {
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_all
  ip netns del $NA 2>/dev/null || true; ip netns del $NB 2>/dev/null || true
  rm -rf "$W" /var/run/dpdk/interop$$
}
trap cleanup EXIT

run() { # name our_prio wpa_prio wpa_cak expect_secured
  local name=$1 ours=$2 theirs=$3 wcak=$4 expect=$5
  ip netns add $NA; ip netns add $NB
  ip link add vA$$ type veth peer name vB$$
  ip link set vA$$ netns $NA; ip link set vB$$ netns $NB
  ip -n $NA link set vA$$ name vA; ip -n $NB link set vB$$ name vB
  ip -n $NA link set vA address 02:00:00:00:00:0a; ip -n $NB link set vB address 02:00:00:00:00:0b
  # Our appliance's host side: a veth inside its namespace, pinging a static neighbour, so the
  # appliance has frames to protect (5 a second).
  ip -n $NB link add hB type veth peer name hostB
  for l in vB hB hostB; do ip netns exec $NB sysctl -qw net.ipv6.conf.$l.disable_ipv6=1; done
  ip netns exec $NA sysctl -qw net.ipv6.conf.vA.disable_ipv6=1
  ip -n $NB addr add 198.51.100.2/24 dev hostB
  ip -n $NA link set vA up; ip -n $NB link set vB up; ip -n $NB link set hB up; ip -n $NB link set hostB up
  ip -n $NB neigh add 198.51.100.9 lladdr 02:00:00:00:00:99 dev hostB
  cat > "$W/wpa.conf" <<EOT
ctrl_interface=$W/ctrl
eapol_version=3
ap_scan=0
network={
	key_mgmt=NONE
	eapol_flags=0
	macsec_policy=1
	mka_cak=$wcak
	mka_ckn=$CKN
	mka_priority=$theirs
}
EOT
  cat > "$W/xr.conf" <<EOT
key chain KC1
 macsec
  key $CKN
   key-string $CAK cryptographic-algorithm AES-128-CMAC
   lifetime 00:00:00 01 January 2020 infinite
!
macsec-policy WPA
 cipher-suite GCM-AES-128
 key-server-priority $ours
 security-policy should-secure
 window-size 64
!
interface TenGigE0/0/0/0
 macsec psk-keychain KC1 policy WPA
!
EOT
  cat > "$W/dp.toml" <<EOT
[[link]]
interface = "TenGigE0/0/0/0"
host_port = "net_af_packet0"
line_port = "net_af_packet1"
cipher_suite = "GCM-AES-128"
security_policy = "should-secure"
EOT
  rm -f "$W/keys.jsonl" "$W/dp.sock" "$W/md.sock"
  MACSEC_STUB_KEYFILE=$W/keys.jsonl ip netns exec $NA "$WPA" -t -Dmacsec_stub -ivA -c "$W/wpa.conf" -f "$W/wpa.log" &
  PIDS+=($!)
  ip netns exec $NB "$DP" --config "$W/dp.toml" --socket "$W/dp.sock" -- --no-huge -m 512 --no-pci --log-level lib.eal:error \
    -l 0,1 --main-lcore 0 --file-prefix interop$$ --vdev net_af_packet0,iface=hB --vdev net_af_packet1,iface=vB \
    > "$W/dp.json" 2> "$W/dp.log" &
  PIDS+=($!)
  for _ in $(seq 100); do [ -S "$W/dp.sock" ] && break; sleep 0.1; done
  "$MD" --config "$W/xr.conf" --dataplane "$W/dp.sock" --socket "$W/md.sock" > "$W/md.json" 2> "$W/md.log" &
  PIDS+=($!)
  # Frames from our host side while MKA runs; the last seconds of the line are captured on
  # wpa_supplicant's side.
  ip netns exec $NB ping -q -i 0.2 -c $((SECS * 5)) -W 1 198.51.100.9 > /dev/null 2>&1 &
  PIDS+=($!)
  sleep $((SECS - 3))
  ip netns exec $NA tshark -q -i vA -a duration:2 -F pcap -w "$W/line.pcap" -f "ether proto 0x88e5" > /dev/null 2>&1 || true
  ip netns exec $NA "$WPADIR/bin/wpa_cli" -p "$W/ctrl" -i vA status > "$W/status.txt" 2>/dev/null || true
  "$CTL" show macsec mka session detail --socket "$W/md.sock" > "$W/ours.txt" 2>&1 || true
  "$CTL" show macsec mka session --socket "$W/md.sock" --json > "$W/ours.json" 2>/dev/null || echo '[]' > "$W/ours.json"
  "$CTL" show macsec mka statistics interface TenGigE0/0/0/0 --socket "$W/md.sock" --json > "$W/stats.json" 2>/dev/null || echo '{}' > "$W/stats.json"
  stop_all
  ip netns del $NA; ip netns del $NB
  # The SAK wpa_supplicant installed last for our SCI must validate what our appliance sent.
  local sak="" sci="" valid=skipped
  if [ -s "$W/keys.jsonl" ]; then
    read -r sak sci < <(python3 -c '
import json, sys
rx = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rx = [k for k in rx if k.get("dir") == "rx"]
print(rx[-1]["key"], rx[-1]["sci"]) if rx else print("", "")' "$W/keys.jsonl")
  fi
  if [ -n "$sak" ] && [ -s "$W/line.pcap" ]; then
    "$CTL" pcap validate --cipher-suite GCM-AES-128 --sak "$sak" --sci "$sci" --replay-window 4294967295 --json \
      "$W/line.pcap" "$W/plain.pcap" > "$W/validate.json" 2>&1 || true
    valid=$(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
c = c.get("counters", c)
ok = c["InPktsOK"]
total = sum(v for k, v in c.items() if k.startswith("InPkts"))
print(f"{ok}/{total}")' "$W/validate.json" 2>/dev/null) \
      || { cat "$W/validate.json" >&2; valid=failed; }
  fi
  python3 - "$name" "$W/ours.json" "$W/stats.json" "$W/keys.jsonl" "$W/status.txt" "$expect" "$valid" <<'PY'
import json, sys, os
name, ours_p, stats_p, keys_p, status_p, expect, valid = sys.argv[1:]
rows = json.load(open(ours_p))
row = rows[0] if rows else {}
stats = json.load(open(stats_p)) if os.path.getsize(stats_p) else {}
status = dict(l.split("=", 1) for l in open(status_p).read().splitlines() if "=" in l)
theirs = [json.loads(l) for l in open(keys_p) if l.strip()] if os.path.exists(keys_p) else []
their_tx = [k for k in theirs if k.get("dir") == "tx"]
secured = row.get("status") == "Secured"
print(f"== {name}: ours status={row.get('status')} key_server={row.get('key_server')} latest KN={row.get('latest_kn')} "
      f"AN={row.get('latest_an')} icv_failures={row.get('icv_failures')}; wpa_supplicant Secured={status.get('Secured')} "
      f"is_key_server={status.get('is_key_server')} live_peers={status.get('live_peers')} tx KN={their_tx[-1]['ki_kn'] if their_tx else None}; "
      f"our line frames validated with wpa_supplicant's SAK: {valid}")
drops = {k: v for k, v in stats.get("sakuse_drops", {}).items() if v}
print(f"   ours: SAKs generated {stats.get('sak_generated')}, received {stats.get('sak_received')}, SAK responses received "
      f"{stats.get('sak_responses_received')}, SAK Use not answering for our keys: {drops or 'none'}")
if expect == "yes":
    assert secured, "our appliance did not secure"
    assert status.get("Secured") == "Yes", "wpa_supplicant did not secure"
    assert (row.get("key_server") is True) == (status.get("is_key_server") == "No"), "the two sides disagree on the key server"
    assert their_tx and their_tx[-1]["ki_kn"] == row.get("latest_kn"), "KN differs"
    ok, total = (int(x) for x in valid.split("/"))
    assert ok > 0 and ok == total, f"wpa_supplicant's SAK does not validate our frames: {valid}"
    assert not drops, f"wpa_supplicant's SAK Use was counted as not answering for our keys: {drops}"
    if row.get("key_server"):
        assert stats.get("sak_responses_received") == stats.get("sak_generated") == 1, "one SAK, answered once"
else:
    assert not secured and status.get("Secured") != "Yes", "a CAK mismatch secured"
    assert row.get("icv_failures", 0) > 0, "no ICV failure counted"
PY
}

run "appliance key server (16 vs 32)" 16 32 $CAK yes
run "wpa_supplicant key server (48 vs 32)" 48 32 $CAK yes
run "CAK mismatch" 16 32 ffeeddccbbaa99887766554433221100 no
echo "interop of the appliance with wpa_supplicant 2.10: 3 runs passed"
