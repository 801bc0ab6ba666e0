#!/usr/bin/env bash
# Live MKA interop against a real peer: wpa_supplicant 2.10 (its KaY/CP unmodified, SecY stubbed
# to log, see ../shared/interop) in one network namespace, our engine (mka-peer) in another, a
# veth between. Two runs: our side key server (priority 16 vs 32), then wpa_supplicant key
# server (48 vs 32); a third with a different CAK must never secure. Checks that both sides
# secure, agree on the key server, and that the SAK wpa_supplicant installs equals ours.
# Builds wpa_supplicant from Debian's source package into target/wpa-stub on first use.
# Usage: scripts/interop-wpa.sh [seconds per run]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-12}
SHARED=${SHARED:-$(cd .. && pwd)/shared}
WPADIR=$PWD/target/wpa-stub
if [ ! -x "$WPADIR/bin/wpa_supplicant-macsec_stub" ]; then
  [ -x "$SHARED/interop/build_wpa_stub.sh" ] || [ -f "$SHARED/interop/build_wpa_stub.sh" ] || { echo "interop-wpa: $SHARED/interop not found" >&2; exit 2; }
  bash "$SHARED/interop/build_wpa_stub.sh" "$WPADIR" >&2
fi
cargo build -q --release -p control --bin mka-peer
PEER=$PWD/target/release/mka-peer
WPA=$WPADIR/bin/wpa_supplicant-macsec_stub
CAK=000102030405060708090a0b0c0d0e0f
CKN=0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20
W=$(mktemp -d)
NA=mkiA$$ NB=mkiB$$
cleanup() {
  [ -n "${PW:-}" ] && kill "$PW" 2>/dev/null; wait 2>/dev/null
  ip netns del $NA 2>/dev/null || true; ip netns del $NB 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

run() { # name our_prio wpa_prio wpa_cak expect_secured
  local name=$1 ours=$2 theirs=$3 wcak=$4 expect=$5
  ip netns add $NA; ip netns add $NB
  ip link add vA$$ type veth peer name vB$$
  ip link set vA$$ netns $NA; ip link set vB$$ netns $NB
  ip -n $NA link set vA$$ name vA; ip -n $NB link set vB$$ name vB
  ip -n $NA link set vA address 02:00:00:00:00:0a; ip -n $NB link set vB address 02:00:00:00:00:0b
  ip -n $NA link set vA up; ip -n $NB link set vB up
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
  rm -f "$W/keys.jsonl"
  MACSEC_STUB_KEYFILE=$W/keys.jsonl ip netns exec $NA "$WPA" -t -Dmacsec_stub -ivA -c "$W/wpa.conf" -f "$W/wpa.log" & PW=$!
  set +e
  ip netns exec $NB "$PEER" --iface vB --cak $CAK --ckn $CKN --priority "$ours" --duration "$SECS" --show-keys > "$W/ours.jsonl"
  rc=$?
  set -e
  ip netns exec $NA "$WPADIR/bin/wpa_cli" -p "$W/ctrl" -i vA status > "$W/status.txt" 2>/dev/null || true
  kill "$PW" 2>/dev/null; wait "$PW" 2>/dev/null || true; PW=
  ip netns del $NA; ip netns del $NB
  python3 - "$name" "$W/ours.jsonl" "$W/keys.jsonl" "$W/status.txt" "$expect" "$rc" <<'PY'
import json, sys, os
name, ours_p, keys_p, status_p, expect, rc = sys.argv[1:]
lines = [json.loads(l) for l in open(ours_p) if l.strip()]
final = [l for l in lines if l.get("final")][0]
ours_sak = {l["sak"] for l in lines if l.get("sa") in ("install_rx", "install_tx")}
our_tx = [l for l in lines if l.get("sa") == "install_tx"]
status = dict(l.split("=", 1) for l in open(status_p).read().splitlines() if "=" in l)
theirs = [json.loads(l) for l in open(keys_p)] if os.path.exists(keys_p) else []
# The SAs wpa_supplicant installed last in each direction are the ones it uses.
their_tx = [k for k in theirs if k.get("dir") == "tx"]
their_rx = [k for k in theirs if k.get("dir") == "rx"]
their_sak = {k["key"] for k in (their_tx[-1:] + their_rx[-1:])}
print(f"== {name}: ours secured={final['secured']} key_server={final['key_server']} tx={final['tx_key']} "
      f"stats(validated={final['stats']['mkpdus_validated']}, icv_failures={final['stats']['icv_failures']}); "
      f"wpa_supplicant Secured={status.get('Secured')} is_key_server={status.get('is_key_server')} "
      f"live_peers={status.get('live_peers')}; SA in use agree={bool(our_tx) and their_sak == {our_tx[-1]['sak']}}")
if expect == "yes":
    assert rc == "0" and final["secured"], "our side did not secure"
    assert status.get("Secured") == "Yes", "wpa_supplicant did not secure"
    assert our_tx and their_sak == {our_tx[-1]["sak"]}, f"SAKs differ: ours {our_tx} theirs {theirs}"
    assert their_tx[-1]["ki_kn"] == int(our_tx[-1]["ki"].split("/")[1]), "KN differs"
else:
    assert not final["secured"] and status.get("Secured") != "Yes", "a CAK mismatch secured"
    assert final["stats"]["icv_failures"] > 0
PY
}

run "mka-peer key server (16 vs 32)" 16 32 $CAK yes
run "wpa_supplicant key server (48 vs 32)" 48 32 $CAK yes
run "CAK mismatch" 16 32 ffeeddccbbaa99887766554433221100 no
echo "interop with wpa_supplicant 2.10: 3 runs passed"
