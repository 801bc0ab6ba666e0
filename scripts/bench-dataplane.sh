#!/usr/bin/env bash
# Dataplane benchmark with its reference in the same run: macsec-dataplane with one worker lcore
# on virtual devices, protect path and validate path at 64, 512, 1500 octets and IMIX (7:4:1 of
# 64/576/1500), against dpdk-testpmd --forward-mode=io on the same vdevs (the framework's ceiling).
#
#   protect path:  host port net_null0 (size=N; IMIX: net_pcap infinite_rx) -> line net_null1 (no-rx)
#   validate path: line port net_pcap0 (infinite_rx over frames made by macsecctl) -> host net_null1
#
# Prints Mpps and Gbit/s (plaintext frame octets) per path and size, testpmd's Mpps on the same
# vdevs, and ours/testpmd. Uses hugepages when scripts/setup.sh could mount them, else --no-huge.
# Usage: scripts/bench-dataplane.sh [--seconds N] [--suites GCM-AES-128,GCM-AES-XPN-256] [--backend B]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=3
SUITES=GCM-AES-128,GCM-AES-XPN-256
BACKEND=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECS=$2; shift 2 ;;
    --suites) SUITES=$2; shift 2 ;;
    --backend) BACKEND=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--suites LIST] [--backend ring|rustcrypto|ipsec-mb]" >&2; exit 2 ;;
  esac
done
cargo build -q --release -p dataplane -p control --bins
DP=$PWD/target/release/macsec-dataplane
CTL=$PWD/target/release/macsecctl
W=$(mktemp -d)
PREFIX=bdp$$
cleanup() { rm -rf "$W" /var/run/dpdk/${PREFIX}*; }
trap cleanup EXIT

HUGEDIR=${MACSEC_HUGEDIR:-/dev/hugepages-macsec}
if mountpoint -q "$HUGEDIR" 2>/dev/null && [ "$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)" -ge 300 ]; then
  MEM=(--huge-dir "$HUGEDIR" --huge-unlink -m 512); MODE="hugepages"
else
  MEM=(--no-huge -m 1024); MODE="no-huge"
fi
EAL=(-l 0,1 --no-pci --log-level lib.eal:error "${MEM[@]}")
echo "bench-dataplane: EAL memory: $MODE; ${SECS}s per run; one worker lcore" >&2

SAK128=000102030405060708090a0b0c0d0e0f
SAK256=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
SCI=001de5e9aa39001a
SALT=83c37bac7b6f6316098ff3d2

python3 - "$W" <<'PY'
import struct, sys, os
w = sys.argv[1]
def pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for fr in frames:
            f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr))); f.write(fr)
def frame(n, i):
    return bytes.fromhex("001de5e9b1bf001de5e9aa39") + b"\x08\x00" + bytes((i + j) & 0xff for j in range(n - 14))
for n in (64, 512, 1500):
    pcap(os.path.join(w, f"plain{n}.pcap"), [frame(n, i) for i in range(256)])
imix = [64] * 7 + [576] * 4 + [1500]
pcap(os.path.join(w, "plainimix.pcap"), [frame(imix[i % 12], i) for i in range(12 * 32)])
PY

suite_key() { case "$1" in *256) echo $SAK256 ;; *) echo $SAK128 ;; esac; }

config() { # suite host line
  local suite=$1 key; key=$(suite_key "$1")
  {
    [ -n "$BACKEND" ] && echo "backend = \"$BACKEND\""
    cat <<EOT
[[link]]
interface = "TenGigE0/0/0/1"
host_port = "$2"
line_port = "$3"
cipher_suite = "$suite"
security_policy = "must-secure"
replay_protect = false
[[link.tx_sa]]
sci = "$SCI"
an = 0
sak = "$key"
ssci = "00000001"
salt = "$SALT"
[[link.rx_sa]]
sci = "$SCI"
an = 0
sak = "$key"
ssci = "00000001"
salt = "$SALT"
EOT
  } > "$W/dp.toml"
}

run_dp() { # out.json vdev...
  local out=$1; shift
  local args=()
  for v in "$@"; do args+=(--vdev "$v"); done
  "$DP" --config "$W/dp.toml" --duration "$SECS" --socket "$W/ctl.sock" -- "${EAL[@]}" --file-prefix "${PREFIX}d" "${args[@]}" > "$out" 2>"$W/dp.err" \
    || { cat "$W/dp.err" >&2; exit 1; }
}

run_testpmd() { # out.txt vdev...
  local out=$1; shift
  local args=()
  for v in "$@"; do args+=(--vdev "$v"); done
  timeout -s INT $((SECS + 3)) dpdk-testpmd "${EAL[@]}" --file-prefix "${PREFIX}t" "${args[@]}" -- \
    --forward-mode=io --auto-start --nb-cores=1 --stats-period=1 --total-num-mbufs=16384 > "$out" 2>&1 || true
}

RES=$W/results.tsv
: > "$RES"
IFS=, read -r -a SUITE_LIST <<< "$SUITES"
for suite in "${SUITE_LIST[@]}"; do
  key=$(suite_key "$suite")
  for size in 64 512 1500 imix; do
    # protect path
    if [ "$size" = imix ]; then
      HOSTV="net_pcap0,rx_pcap=$W/plainimix.pcap,infinite_rx=1"; HOSTN=net_pcap0
    else
      HOSTV="net_null0,size=$size"; HOSTN=net_null0
    fi
    config "$suite" "$HOSTN" net_null1
    run_dp "$W/p.json" "$HOSTV" "net_null1,no-rx=1"
    run_testpmd "$W/p.tpm" "$HOSTV" "net_null1,no-rx=1"
    echo -e "$suite\tprotect\t$size\t$W/p.json\t$HOSTN\t$W/p.tpm" >> "$RES"
    cp "$W/p.json" "$W/p-$suite-$size.json"; cp "$W/p.tpm" "$W/p-$suite-$size.tpm"
    # validate path: frames protected by macsecctl, replayed endlessly into the line port
    (umask 077; echo "$key" > "$W/sak.hex")
    xargs=(--cipher-suite "$suite" --sak-file "$W/sak.hex" --ssci 00000001 --salt "$SALT")
    "$CTL" pcap protect "${xargs[@]}" --sci "$SCI" --an 0 --pn 1 "$W/plain$size.pcap" "$W/prot.pcap" > /dev/null
    LINEV="net_pcap0,rx_pcap=$W/prot.pcap,infinite_rx=1"
    config "$suite" net_null1 net_pcap0
    run_dp "$W/v.json" "$LINEV" "net_null1,no-rx=1"
    run_testpmd "$W/v.tpm" "$LINEV" "net_null1,no-rx=1"
    cp "$W/v.json" "$W/v-$suite-$size.json"; cp "$W/v.tpm" "$W/v-$suite-$size.tpm"
    echo -e "$suite\tvalidate\t$size\t$W/v-$suite-$size.json\tnet_pcap0\t$W/v-$suite-$size.tpm" >> "$RES"
    sed -i "s#$W/p.json\t$HOSTN\t$W/p.tpm#$W/p-$suite-$size.json\t$HOSTN\t$W/p-$suite-$size.tpm#" "$RES"
  done
done

python3 - "$RES" "$MODE" <<'PY'
import json, re, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
avg = {"64": 64, "512": 512, "1500": 1500, "imix": (7 * 64 + 4 * 576 + 1500) / 12}
print(f"EAL memory: {sys.argv[2]}; one worker lcore; Gbit/s over the plaintext frame octets")
print(f"{'suite':16} {'path':8} {'size':>5} {'ours Mpps':>10} {'Gbit/s':>7} {'testpmd Mpps':>13} {'ours/testpmd':>12}  check")
for suite, path, size, js, port, tpm in rows:
    r = json.load(open(js))
    secs = r["seconds"]
    rx = r["ports"][port]["rx"]
    c = r["links"][0]["counters"]
    done = c["OutPktsEncrypted"] if path == "protect" else c["InPktsDelayed"] + c["InPktsOK"]
    mpps = done / secs / 1e6
    pps = [int(x) for x in re.findall(r"Rx-pps:\s+(\d+)", open(tpm).read())]
    # testpmd prints Rx-pps for both ports each period; the source port's values are the non-zero ones.
    src = [p for p in pps if p > 0]
    ref = (sorted(src[1:])[len(src[1:]) // 2] if len(src) > 2 else (src[-1] if src else 0)) / 1e6
    check = "ok" if done == rx else f"processed {done} of {rx} received"
    ratio = f"{mpps / ref:12.3f}" if ref else f"{'-':>12}"
    print(f"{suite:16} {path:8} {size:>5} {mpps:10.2f} {mpps * avg[size] * 8 / 1000:7.2f} {ref:13.2f} {ratio}  {check}")
PY
