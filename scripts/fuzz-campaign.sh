#!/usr/bin/env bash
# The fuzz campaign: runs every cargo-fuzz target (or those named) for SECONDS each (default 600),
# starting from its committed corpus, then minimizes what it reached (cargo fuzz cmin) back into the
# committed corpus (DIR/corpus/TARGET), which the test command's smoke run starts from.
# Usage: scripts/fuzz-campaign.sh [--seconds N] [TARGET...]
# Prints one line per target and a table; exit status 1 when any target found a crash (its artifact
# path is printed; the corpus of that target is left as it was).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_=600
if [ "${1:-}" = "--seconds" ]; then SECONDS_=$2; shift 2; fi
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || mapfile -t TARGETS < <(scripts/fuzz.sh --list)
export RUSTC_BOOTSTRAP=1
count() { if [ -d "$1" ]; then find "$1" -maxdepth 1 -type f | wc -l; else echo 0; fi; }
dir_of() { for d in dataplane/fuzz control/fuzz; do if [ -f "$d/fuzz_targets/$1.rs" ]; then echo "$d"; fi; done; }
rows=() failed=0
for t in "${TARGETS[@]}"; do
  d=$(dir_of "$t")
  [ -n "$d" ] || { echo "unknown target $t" >&2; exit 2; }
  before=$(count "$d/corpus/$t")
  echo "== $t: ${SECONDS_}s from $before inputs ($(date -u +%H:%M:%S))"
  out=$(FUZZ_WORK="work/$t" scripts/fuzz.sh "$t" "$SECONDS_") || { echo "$out"; failed=1; rows+=("$t $SECONDS_ - $before - CRASH"); continue; }
  echo "$out"
  execs=$(echo "$out" | grep -Eo 'executions: [0-9a-z]+' | awk '{print $2}')
  # Minimize the working corpus into a fresh directory, then make it the committed corpus.
  min="$d/work/$t.min"
  rm -rf "$min"; mkdir -p "$min"
  (cd "$d" && cargo fuzz cmin "$t" "work/$t" -- -max_len=2048 >/dev/null 2>&1) || true
  cp -r "$d/work/$t"/. "$min"/
  rm -rf "$d/corpus/$t"; mkdir -p "$d/corpus/$t"
  # Name files by content hash, as libFuzzer does, so that reruns change only what changed.
  for f in "$min"/*; do [ -f "$f" ] && cp "$f" "$d/corpus/$t/$(sha1sum "$f" | cut -c1-40)"; done
  rm -rf "$min"
  after=$(count "$d/corpus/$t")
  rows+=("$t $SECONDS_ $execs $before $after none")
done
printf '\n%-16s %8s %12s %14s %13s %s\n' target seconds executions corpus_before corpus_after findings
for r in "${rows[@]}"; do printf '%-16s %8s %12s %14s %13s %s\n' $r; done
exit $failed
