#!/usr/bin/env bash
# The offline demo: the SecY securing a
# link offline: site A's traffic (tests/data/sample-plain.pcap) is protected with GCM-AES-XPN-256
# across the 2^32 PN boundary, dissected by tshark, validated by site B's SecY back to the exact
# plaintext, and a tampered and a replayed frame are refused with their 802.1AE counters.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build -q --release -p control
CTL=target/release/macsecctl
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# The SAK from a file, not the command line (where other local users could read it).
(umask 077; echo 4a7b2f3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708 > "$W/sak.hex")
KEY=(--cipher-suite GCM-AES-XPN-256 --sak-file "$W/sak.hex" --ssci 00000002 --salt 83c37bac7b6f6316098ff3d2)

echo "== site A protects $(basename tests/data/sample-plain.pcap) (SCI 001de5e9aa39001a, AN 0, PN from 0xfffffff8)"
$CTL pcap protect "${KEY[@]}" --sci 001de5e9aa39001a --an 0 --pn 0xfffffff8 tests/data/sample-plain.pcap "$W/line.pcap"

if command -v tshark >/dev/null; then
  echo "== tshark sees MACsec on the line (payload encrypted):"
  tshark -r "$W/line.pcap" -E header=y -T fields -e frame.number -e eth.type -e macsec.AN -e macsec.PN -e macsec.SCI.system_identifier -e frame.len 2>/dev/null | head -5
fi

echo "== site B validates (lowest acceptable PN 0xfffffff0, replay window 64)"
$CTL pcap validate "${KEY[@]}" --sci 001de5e9aa39001a --lowest-pn 0xfffffff0 --replay-window 64 "$W/line.pcap" "$W/site-b.pcap"
python3 - "$W/site-b.pcap" tests/data/sample-plain.pcap <<'PY'
import sys
def frames(p):
    d = open(p, "rb").read(); off = 24; out = []
    le = d[:4] == bytes.fromhex("d4c3b2a1")
    while off < len(d):
        n = int.from_bytes(d[off + 8:off + 12], "little" if le else "big"); out.append(d[off + 16:off + 16 + n]); off += 16 + n
    return out
a, b = frames(sys.argv[1]), frames(sys.argv[2])
print(f"== site B recovered {len(a)} of {len(b)} frames, identical to what site A sent: {a == b}")
sys.exit(0 if a == b else 1)
PY

echo "== an attacker flips one bit of frame 3 and replays frame 2"
python3 - "$W/line.pcap" "$W/attacked.pcap" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read()); off = 24; recs = []
while off < len(d):
    n = int.from_bytes(d[off + 8:off + 12], "little"); recs.append((off, n)); off += 16 + n
o3 = recs[2][0]; d[o3 + 16 + 40] ^= 0x01
o2, n2 = recs[1]; d += d[o2:o2 + 16 + n2]
open(sys.argv[2], "wb").write(d)
PY
set +e
$CTL pcap validate "${KEY[@]}" --sci 001de5e9aa39001a --lowest-pn 0xfffffff0 --replay-window 64 "$W/attacked.pcap" "$W/site-b2.pcap"
rc=$?
set -e
echo "== validate exit status $rc (1: some frames refused, as they must be)"
[ "$rc" = 1 ]
