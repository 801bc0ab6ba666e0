#!/usr/bin/env bash
# Crypto benchmark with its reference in the same run:
#  1. criterion benches of the SecY (benches/benches/secy.rs): bare AEAD seal of the frame, protect
#     and validate, per cipher suite and frame size (64, 512, 1500, 9000 octets);
#  2. intel-ipsec-mb through dpdk-test-crypto-perf (crypto_aesni_gcm PMD, scripts/ref-crypto-perf.sh)
#     sealing the same User Data (frame - 12 octets) with the same 28-octet AAD;
# then prints, per suite and size, our ns/frame, Gbit/s, protect/seal (the SecY's own cost over
# the backend) and ours/intel-ipsec-mb as a throughput ratio (1.0 = as fast as the reference);
# and the kernels (seal_batch/open_batch of every backend on batches of 1, 8 and 64 frames): ns a
# frame and cycles per text octet at the CPU's nominal clock (/proc/cpuinfo "cpu MHz"), beside
# intel-ipsec-mb's crypto-only ns a frame from step 2.
#
# Usage: scripts/bench-crypto.sh [--backend ring|rustcrypto|ipsec-mb|mb] [--quick]
#   --quick: GCM-AES-128 only, and the kernels of mb and ipsec-mb only
set -euo pipefail
cd "$(dirname "$0")/.."
BACKEND=ring
QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) BACKEND=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    *) echo "usage: $0 [--backend ring|rustcrypto|ipsec-mb|mb] [--quick]" >&2; exit 2 ;;
  esac
done
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

FILTER="seal/${BACKEND}-|protect/${BACKEND}/|validate/${BACKEND}/|seal_batch/|open_batch/"
[ "$QUICK" = 1 ] && FILTER="seal/${BACKEND}-128|protect/${BACKEND}/GCM-AES-128/|_batch/(mb|ipsec-mb)-128-"
echo "== criterion: $FILTER" >&2
cargo bench -q -p macsec-benches --bench secy -- --output-format bencher "$FILTER" 2>/dev/null \
  | grep '^test ' > "$OUT/ours.txt"

echo "== intel-ipsec-mb (dpdk-test-crypto-perf, crypto_aesni_gcm)" >&2
for bits in 128 256; do
  if ! scripts/ref-crypto-perf.sh --key-bits "$bits" --sizes 52,500,1488,8988 > "$OUT/ref$bits.tsv"; then
    echo "reference unavailable for $bits-bit keys" >&2
    : > "$OUT/ref$bits.tsv"
  fi
done

python3 - "$OUT" "$BACKEND" <<'PY'
import re, sys, os
out, backend = sys.argv[1], sys.argv[2]
ours = {}
for line in open(os.path.join(out, "ours.txt")):
    m = re.match(r"test (\S+) \.\.\. bench:\s+([\d,]+) ns/iter", line)
    if m:
        ours[m.group(1)] = int(m.group(2).replace(",", ""))
ref = {}
for bits in (128, 256):
    for line in open(os.path.join(out, f"ref{bits}.tsv")):
        size, ns = line.split("\t")[:2]
        ref[(bits, int(size) + 12)] = float(ns)
fmt = lambda x, f: (f % x) if x is not None else "-"
print(f"backend: {backend}; sizes are frame octets (DA..User Data); ratios: <1 slower, >1 faster")
print(f"{'suite':16} {'size':>5} {'protect ns':>10} {'Gbit/s':>7} {'seal ns':>8} {'prot/seal':>9} "
      f"{'validate ns':>11} {'ipsec-mb ns':>11} {'ours/ipsec-mb':>13}")
for suite in ("GCM-AES-128", "GCM-AES-256", "GCM-AES-XPN-128", "GCM-AES-XPN-256"):
    bits = 256 if suite.endswith("256") else 128
    for size in (64, 512, 1500, 9000):
        p = ours.get(f"protect/{backend}/{suite}/{size}")
        if p is None:
            continue
        s = ours.get(f"seal/{backend}-{bits}/{size}")
        v = ours.get(f"validate/{backend}/{suite}/{size}")
        r = ref.get((bits, size))
        print(f"{suite:16} {size:>5} {p:>10} {size*8/p:>7.2f} {fmt(s,'%8d'):>8} "
              f"{fmt(p/s if s else None,'%9.3f'):>9} {fmt(v,'%11d'):>11} {fmt(r,'%11.1f'):>11} "
              f"{fmt(r/p if r else None,'%13.3f'):>13}")

mhz = next((float(l.split(":")[1]) for l in open("/proc/cpuinfo") if l.startswith("cpu MHz")), None)
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
kern = {}
for name, ns in ours.items():
    m = re.match(r"(seal|open)_batch/(\S+)-(\d+)-b(\d+)/(\d+)$", name)
    if m:
        kern[(m.group(2), int(m.group(3)), int(m.group(4)), int(m.group(5)), m.group(1))] = ns
if kern:
    print()
    print(f"kernels: {model}; cycles per text octet at {mhz:.0f} MHz; ns a frame = ns per call / batch; "
          f"ipsec-mb ns = its crypto-only seal (step 2)")
    print(f"{'backend':10} {'key':>3} {'batch':>5} {'size':>5} {'seal ns':>8} {'seal c/B':>8} "
          f"{'open ns':>8} {'open c/B':>8} {'ipsec-mb ns':>11} {'seal ratio':>10}")
    for (be, bits, n, size) in sorted({k[:4] for k in kern}):
        text = size - 12
        sn = kern.get((be, bits, n, size, "seal"))
        on = kern.get((be, bits, n, size, "open"))
        sn = sn / n if sn is not None else None
        on = on / n if on is not None else None
        cb = lambda x: (x * mhz / 1000 / text) if (x is not None and mhz) else None
        r = ref.get((bits, size))
        print(f"{be:10} {bits:>3} {n:>5} {size:>5} {fmt(sn,'%8.1f'):>8} {fmt(cb(sn),'%8.2f'):>8} "
              f"{fmt(on,'%8.1f'):>8} {fmt(cb(on),'%8.2f'):>8} {fmt(r,'%11.1f'):>11} "
              f"{fmt(r/sn if (r and sn) else None,'%10.2f'):>10}")
PY
