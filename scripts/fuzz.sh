#!/usr/bin/env bash
# Runs a cargo-fuzz target for SECONDS and prints the executions run and the findings.
# Usage: scripts/fuzz.sh TARGET SECONDS     (targets: scripts/fuzz.sh --list)
# Starts from the committed corpus DIR/corpus/TARGET plus DIR/seeds/TARGET; works in DIR/work/TARGET
# (or $FUZZ_WORK), which scripts/fuzz-campaign.sh minimizes back into the committed corpus.
# Installs cargo-fuzz when missing; runs on the stable toolchain with RUSTC_BOOTSTRAP=1.
# Exit status: 0 when the run found nothing, 1 when it found a crash (artifact path printed).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_DIRS=(dataplane/fuzz control/fuzz)

list() { for d in "${FUZZ_DIRS[@]}"; do [ -d "$d/fuzz_targets" ] && ls "$d/fuzz_targets" | sed 's/\.rs$//'; done; }
if [ "${1:-}" = "--list" ]; then list; exit 0; fi
if [ $# -ne 2 ]; then echo "usage: $0 TARGET SECONDS (targets: $(list | tr '\n' ' '))" >&2; exit 2; fi
TARGET=$1 SECONDS_=$2
DIR=""
for d in "${FUZZ_DIRS[@]}"; do [ -f "$d/fuzz_targets/$TARGET.rs" ] && DIR=$d; done
[ -n "$DIR" ] || { echo "unknown fuzz target '$TARGET' (targets: $(list | tr '\n' ' '))" >&2; exit 2; }

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked >&2
fi
export RUSTC_BOOTSTRAP=1
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
cd "$DIR"
# The committed corpus (corpus/TARGET, minimized by scripts/fuzz-campaign.sh) is the starting point;
# the run works on a scratch copy (work/TARGET, not committed), so a smoke run leaves the tree clean.
WORK=${FUZZ_WORK:-work/$TARGET}
rm -rf "$WORK"
mkdir -p "$WORK" "corpus/$TARGET"
cp -r "corpus/$TARGET"/. "$WORK"/ 2>/dev/null || true
# Committed seeds (e.g. real captured frames) are always part of the start.
if [ -d "seeds/$TARGET" ]; then cp "seeds/$TARGET"/* "$WORK/"; fi
# Seed an empty start with the project's own protected frames (first two octets: policy selector).
if [ -d ../../tests/data/vectors ] && [ -z "$(ls -A "$WORK")" ]; then
  python3 - "$WORK" <<'PY' || true
import json, sys, os, glob
out = sys.argv[1]
n = 0
for f in glob.glob("../../tests/data/vectors/*frames*.json") + glob.glob("../../tests/data/vectors/macsec_negative.json"):
    for v in json.load(open(f))["vectors"]:
        e = v.get("expected", {}).get("protected_frame") or v["inputs"].get("protected_frame")
        if e:
            open(os.path.join(out, f"seed{n}"), "wb").write(bytes([0, 32]) + bytes.fromhex(e)); n += 1
PY
fi
start=$(ls "$WORK" | wc -l)
set +e
cargo fuzz run "$TARGET" "$WORK" -- -max_total_time="$SECONDS_" -max_len=2048 -print_final_stats=1 >"$LOG" 2>&1
rc=$?
set -e
runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$LOG" | grep -Eo '[0-9]+$' | tail -1)
crashes=$(grep -Eo 'Test unit written to [^ ]+' "$LOG" | sed 's/Test unit written to //' || true)
echo "target: $TARGET  seconds: $SECONDS_  executions: ${runs:-unknown}  corpus: $start -> $(ls "$WORK" | wc -l)"
if [ $rc -ne 0 ] || [ -n "$crashes" ]; then
  tail -40 "$LOG" >&2
  echo "findings: crash(es): ${crashes:-see log above}"
  exit 1
fi
echo "findings: none"
