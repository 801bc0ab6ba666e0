#!/usr/bin/env bash
# Reference AES-GCM seal (AEAD encrypt) throughput of intel-ipsec-mb, measured
# through DPDK's dpdk-test-crypto-perf with the crypto_aesni_gcm PMD on one
# worker core.
#
# Usage: scripts/ref-crypto-perf.sh [--sizes 64,512,1500,9000] [--key-bits 128|192|256]
#                                   [--aad 28] [--seconds N | --total-ops N]
#                                   [--burst 32] [--verify] [--verbose]
#
# stdout: one TSV line per size, in the order given:
#   size<TAB>ns_per_op<TAB>mpps<TAB>gbps        (gbps = size*8*mpps/1000)
# Everything else goes to stderr.
#
#   --sizes      comma-separated buffer (plaintext) sizes in octets
#   --key-bits   AES key size (128 or 256; 192 also accepted)
#   --aad        AAD length in octets (28 = MACsec DA+SA+16-octet SecTAG)
#   --total-ops  operations per size (default 2000000); one crypto-perf run
#   --seconds N  aim for about N seconds of measurement per size: a short
#                calibration run, then one crypto-perf run per size
#   --burst      enqueue/dequeue burst size (default 32)
#   --verify     first check the PMD's output against python3-cryptography
#                (known-answer test through crypto-perf's "verify" mode)
#   --verbose    pass crypto-perf's own output through to stderr
#
# Environment: CRYPTO_PERF_BIN (binary), MACSEC_HUGEDIR (hugetlbfs mount,
# default /dev/hugepages-macsec), REF_LCORES (EAL core list, default 0,1),
# REF_NO_HUGE=1 (skip hugepages).
#
# Exit codes: 0 ok, 2 usage, 3 PMD/binary missing, 4 crypto-perf failed,
# 5 verification failed.
set -u -o pipefail

PROG=${0##*/}
die() { local rc=$1; shift; echo "$PROG: $*" >&2; exit "$rc"; }
note() { echo "$PROG: $*" >&2; }

usage() {
  awk '/^# Usage:/{p=1} p && !/^#/{exit} p{sub(/^# ?/, ""); print}' "$0" >&2
}

SIZES=64,512,1500,9000
KEY_BITS=128
AAD=28
TOTAL_OPS=
SECONDS_PER_SIZE=
BURST=32
VERIFY=0
VERBOSE=0
LCORES=${REF_LCORES:-0,1}
HUGEDIR=${MACSEC_HUGEDIR:-/dev/hugepages-macsec}
NOHUGE_MEM=1024          # MB for --no-huge; 9000-octet buffers need ~128 MB
MIN_FREE_HUGE_MB=256     # use hugepages only if at least this much is free

need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || die 2 "option $1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --*=*) opt=${1%%=*}; val=${1#*=}; shift; set -- "$opt" "$val" "$@"; continue ;;
  esac
  case "$1" in
    --sizes) need_arg "$@"; SIZES=$2; shift 2 ;;
    --key-bits) need_arg "$@"; KEY_BITS=$2; shift 2 ;;
    --aad) need_arg "$@"; AAD=$2; shift 2 ;;
    --total-ops) need_arg "$@"; TOTAL_OPS=$2; shift 2 ;;
    --seconds) need_arg "$@"; SECONDS_PER_SIZE=$2; shift 2 ;;
    --burst) need_arg "$@"; BURST=$2; shift 2 ;;
    --verify) VERIFY=1; shift ;;
    --verbose|-v) VERBOSE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage; die 2 "unknown argument: $1" ;;
  esac
done

# ---- validate -------------------------------------------------------------
SIZES=${SIZES// /}
[[ $SIZES =~ ^[0-9]+(,[0-9]+)*$ ]] || die 2 "--sizes must be a comma-separated list of integers"
IFS=, read -r -a SIZE_LIST <<<"$SIZES"
for s in "${SIZE_LIST[@]}"; do
  [ "$s" -ge 1 ] && [ "$s" -le 65000 ] || die 2 "size $s out of range (1..65000)"
done
case "$KEY_BITS" in 128|192|256) ;; *) die 2 "--key-bits must be 128 or 256 (or 192)" ;; esac
KEY_BYTES=$((KEY_BITS / 8))
[[ $AAD =~ ^[0-9]+$ ]] && [ "$AAD" -le 65535 ] || die 2 "--aad must be an integer 0..65535"
[[ $BURST =~ ^[0-9]+$ ]] && [ "$BURST" -ge 1 ] && [ "$BURST" -le 512 ] || die 2 "--burst must be 1..512"
if [ -n "$TOTAL_OPS" ] && [ -n "$SECONDS_PER_SIZE" ]; then
  die 2 "--seconds and --total-ops are mutually exclusive"
fi
if [ -n "$SECONDS_PER_SIZE" ]; then
  [[ $SECONDS_PER_SIZE =~ ^[0-9]*\.?[0-9]+$ ]] && awk -v s="$SECONDS_PER_SIZE" 'BEGIN{exit !(s>0 && s<=3600)}' \
    || die 2 "--seconds must be a number in (0, 3600]"
else
  TOTAL_OPS=${TOTAL_OPS:-2000000}
  [[ $TOTAL_OPS =~ ^[0-9]+$ ]] && [ "$TOTAL_OPS" -ge 1000 ] && [ "$TOTAL_OPS" -le 4000000000 ] \
    || die 2 "--total-ops must be an integer 1000..4000000000"
fi

# ---- locate binary --------------------------------------------------------
BIN=${CRYPTO_PERF_BIN:-}
if [ -z "$BIN" ]; then
  BIN=$(command -v dpdk-test-crypto-perf 2>/dev/null || true)
fi
if [ -z "$BIN" ] && command -v dpkg >/dev/null 2>&1; then
  BIN=$(dpkg -L dpdk dpdk-dev 2>/dev/null | grep -m1 '/dpdk-test-crypto-perf$' || true)
fi
[ -n "$BIN" ] && [ -x "$BIN" ] || die 3 "dpdk-test-crypto-perf not found (install the dpdk-dev package or set CRYPTO_PERF_BIN)"

# ---- temp state and cleanup -----------------------------------------------
PREFIX="refcp$$r$RANDOM"
RUNDIR_PREEXISTED=0; [ -d /var/run/dpdk ] && RUNDIR_PREEXISTED=1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ref-crypto-perf.XXXXXX") || die 4 "mktemp failed"
CHILD=
HUGE_ACTIVE=
cleanup() {
  if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
    kill "$CHILD" 2>/dev/null   # timeout(1) forwards SIGTERM to crypto-perf
    local i
    for i in $(seq 30); do kill -0 "$CHILD" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$CHILD" 2>/dev/null
    wait "$CHILD" 2>/dev/null
  fi
  local d
  for d in /var/run/dpdk "${XDG_RUNTIME_DIR:-}/dpdk" /tmp/dpdk; do
    [ -n "$d" ] && [ -d "$d/$PREFIX" ] && rm -rf -- "${d:?}/$PREFIX"
  done
  [ -n "$HUGE_ACTIVE" ] && rm -f -- "$HUGE_ACTIVE/${PREFIX}map_"* 2>/dev/null
  # remove /var/run/dpdk itself only if this run created it and it is empty
  [ "$RUNDIR_PREEXISTED" = 0 ] && rmdir /var/run/dpdk 2>/dev/null
  rm -rf -- "$WORK"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# ---- hugepages (best effort) ----------------------------------------------
hugetlbfs_mount() {   # prints the first usable hugetlbfs mount point
  if [ -d "$HUGEDIR" ] && awk -v d="$HUGEDIR" '$2==d && $3=="hugetlbfs"{f=1} END{exit !f}' /proc/mounts; then
    echo "$HUGEDIR"; return 0
  fi
  awk '$3=="hugetlbfs"{print $2; exit}' /proc/mounts | grep . 
}
setup_huge() {
  [ "${REF_NO_HUGE:-0}" = 1 ] && return 1
  local nr; nr=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
  if [ "$nr" -eq 0 ] && [ -w /proc/sys/vm/nr_hugepages ]; then
    echo 512 > /proc/sys/vm/nr_hugepages 2>/dev/null || true
    nr=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
  fi
  [ "$nr" -gt 0 ] || return 1
  local mnt; mnt=$(hugetlbfs_mount)
  if [ -z "$mnt" ] && [ "$(id -u)" = 0 ]; then
    mkdir -p "$HUGEDIR" 2>/dev/null && mount -t hugetlbfs nodev "$HUGEDIR" 2>/dev/null
    mnt=$(hugetlbfs_mount)
  fi
  [ -n "$mnt" ] || return 1
  local free_mb
  free_mb=$(awk '/^HugePages_Free:/{f=$2} /^Hugepagesize:/{s=$2} END{print int(f*s/1024)}' /proc/meminfo)
  if [ "$free_mb" -lt "$MIN_FREE_HUGE_MB" ]; then
    note "only ${free_mb} MB of free hugepages; using --no-huge"
    return 1
  fi
  HUGE_MNT=$mnt
  return 0
}

HUGE_MNT=
MODE=nohuge
if setup_huge; then MODE=huge; fi

eal_args() {
  EAL=(-l "$LCORES" --no-pci --file-prefix "$PREFIX" --vdev crypto_aesni_gcm0)
  if [ "$MODE" = huge ]; then
    EAL+=(--huge-dir "$HUGE_MNT" --huge-unlink)
  else
    EAL+=(--no-huge -m "$NOHUGE_MEM")
  fi
}

common_app_args() {
  APP=(--devtype crypto_aesni_gcm --optype aead --aead-algo aes-gcm --aead-op encrypt
       --aead-key-sz "$KEY_BYTES" --aead-iv-sz 12 --aead-aad-sz "$AAD" --digest-sz 16
       --burst-sz "$BURST" --silent --csv-friendly)
}

# run_cp LOGFILE ARGS... : runs crypto-perf, returns its status (124 = timeout)
run_cp() {
  local log=$1; shift
  local tmo=$((120 + ${TIMEOUT_EXTRA:-0}))
  eal_args
  [ "$VERBOSE" = 1 ] && note "running: $BIN ${EAL[*]} -- $*"
  if [ "$MODE" = huge ]; then HUGE_ACTIVE=$HUGE_MNT; fi
  timeout --kill-after=5 "$tmo" "$BIN" "${EAL[@]}" -- "$@" >"$log" 2>&1 </dev/null &
  CHILD=$!
  local rc=0
  wait "$CHILD" || rc=$?
  CHILD=
  [ "$VERBOSE" = 1 ] && cat "$log" >&2
  local d
  for d in /var/run/dpdk "${XDG_RUNTIME_DIR:-}/dpdk"; do
    [ -n "$d" ] && [ -d "$d/$PREFIX" ] && rm -rf -- "${d:?}/$PREFIX"
  done
  [ -n "$HUGE_ACTIVE" ] && rm -f -- "$HUGE_ACTIVE/${PREFIX}map_"* 2>/dev/null
  if [ "$rc" -eq 0 ] && grep -q -E 'Failed to initialise requested crypto device|No crypto devices type' "$log"; then
    rc=1
  fi
  return "$rc"
}

pmd_missing() {
  grep -q -E 'No crypto devices type|Failed to initialise requested crypto device|failed to parse device|Driver cannot attach the device|Cannot find (a )?driver' "$1"
}

pmd_reason() {
  { grep -m1 'No crypto devices type' "$1" ||
    grep -m1 -E 'Failed to initialise|failed to parse|Cannot find|cannot attach' "$1"; } | tr -d '\r'
}

# run_with_fallback LOGFILE ARGS... : on a non-PMD failure in hugepage mode,
# retries once with --no-huge and keeps that mode for later runs.
run_with_fallback() {
  local log=$1; shift
  local rc=0
  run_cp "$log" "$@" && return 0 || rc=$?
  if pmd_missing "$log"; then
    die 3 "crypto_aesni_gcm PMD unavailable (need DPDK's librte_crypto_ipsec_mb / intel-ipsec-mb): $(pmd_reason "$log")"
  fi
  if [ "$MODE" = huge ]; then
    note "hugepage run failed (rc=$rc: $(grep -m1 -E 'USER1|Error|error|Cannot|failed' "$log" | tr -d '\r')); retrying with --no-huge -m $NOHUGE_MEM"
    MODE=nohuge; HUGE_ACTIVE=
    run_cp "$log" "$@" && return 0 || rc=$?
    pmd_missing "$log" && die 3 "crypto_aesni_gcm PMD unavailable (need DPDK's librte_crypto_ipsec_mb / intel-ipsec-mb): $(pmd_reason "$log")"
  fi
  [ "$rc" -eq 124 ] && die 4 "dpdk-test-crypto-perf timed out"
  note "dpdk-test-crypto-perf output (tail):"
  tail -n 15 "$log" >&2
  die 4 "dpdk-test-crypto-perf failed (rc=$rc)"
}

# parse LOGFILE -> "size mpps deq" lines for throughput CSV rows
parse_rows() {
  awk -F, '/^[[:space:]]*[0-9]+,[[:space:]]*[0-9]+,/ {
      gsub(/[[:space:]]/, "");
      print $2, $8, $5
  }' "$1"
}

emit() {  # size mpps
  awk -v s="$1" -v m="$2" 'BEGIN{
    if (m <= 0) { printf "%d\tnan\t%.3f\t%.3f\n", s, m, 0; exit }
    printf "%d\t%.2f\t%.3f\t%.3f\n", s, 1000.0/m, m, s*8.0*m/1000.0 }'
}

# ---- optional known-answer check ------------------------------------------
if [ "$VERIFY" = 1 ]; then
  python3 -c 'import cryptography.hazmat.primitives.ciphers.aead' 2>/dev/null \
    || die 5 "--verify needs python3 with the cryptography module (python3-cryptography)"
  for s in "${SIZE_LIST[@]}"; do
    vf="$WORK/kat_$s.data"
    python3 - "$s" "$KEY_BYTES" "$AAD" >"$vf" <<'PY' || die 5 "failed to generate test vector"
import os, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
n, kb, aadl = (int(x) for x in sys.argv[1:4])
key, iv, aad, pt = os.urandom(kb), os.urandom(12), os.urandom(aadl), os.urandom(n)
ct = AESGCM(key).encrypt(iv, pt, aad if aadl else None)
print("[kat]")
for name, b in (("plaintext", pt), ("ciphertext", ct[:-16]), ("aead_key", key),
                ("aead_iv", iv), ("aad", aad), ("digest", ct[-16:])):
    if b:
        print(name + " =\n" + ", ".join("0x%02x" % x for x in b) + "\n")
PY
    common_app_args
    run_with_fallback "$WORK/kat_$s.log" --ptest verify --test-file "$vf" --test-name kat \
      "${APP[@]}" --buffer-sz "$s" --total-ops 4096
    failed=$(awk -F, '/^[[:space:]]*[0-9]+,[[:space:]]*[0-9]+,/ {gsub(/[[:space:]]/,""); print $8; exit}' "$WORK/kat_$s.log")
    [ -n "$failed" ] || die 5 "could not parse verify output for size $s"
    [ "$failed" = 0 ] || die 5 "known-answer test FAILED for size $s ($failed of 4096 ops wrong)"
    note "known-answer test ok: AES-${KEY_BITS}-GCM, ${s} octets, AAD ${AAD}"
  done
fi

# ---- measurement ----------------------------------------------------------
note "binary=$BIN mode=$MODE${HUGE_MNT:+ ($HUGE_MNT)} lcores=$LCORES key=AES-${KEY_BITS}-GCM aad=$AAD burst=$BURST"

declare -A MPPS=()

if [ -z "$SECONDS_PER_SIZE" ]; then
  # One run over all sizes. A warm-up pass over the smallest size is
  # prepended (first row discarded) so the first real size is not measured cold.
  warm=$(printf '%s\n' "${SIZE_LIST[@]}" | sort -n | head -1)
  TIMEOUT_EXTRA=$(( TOTAL_OPS / 50000 * ${#SIZE_LIST[@]} ))
  common_app_args
  run_with_fallback "$WORK/run.log" --ptest throughput "${APP[@]}" \
    --buffer-sz "$warm,$SIZES" --total-ops "$TOTAL_OPS"
  mapfile -t ROWS < <(parse_rows "$WORK/run.log")
  [ "${#ROWS[@]}" -eq $(( ${#SIZE_LIST[@]} + 1 )) ] \
    || { tail -n 15 "$WORK/run.log" >&2; die 4 "expected $(( ${#SIZE_LIST[@]} + 1 )) result rows, got ${#ROWS[@]}"; }
  for i in "${!SIZE_LIST[@]}"; do
    read -r sz mp deq <<<"${ROWS[$((i + 1))]}"
    [ "$sz" = "${SIZE_LIST[$i]}" ] || die 4 "row/size mismatch ($sz vs ${SIZE_LIST[$i]})"
    [ "$deq" = "$TOTAL_OPS" ] || note "warning: size $sz dequeued $deq of $TOTAL_OPS ops"
    emit "$sz" "$mp"
  done
else
  # Calibrate all sizes quickly, then one run per size sized to ~N seconds.
  CAL_OPS=200000
  common_app_args
  run_with_fallback "$WORK/cal.log" --ptest throughput "${APP[@]}" \
    --buffer-sz "$SIZES" --total-ops "$CAL_OPS"
  mapfile -t ROWS < <(parse_rows "$WORK/cal.log")
  [ "${#ROWS[@]}" -eq "${#SIZE_LIST[@]}" ] || die 4 "calibration: expected ${#SIZE_LIST[@]} rows, got ${#ROWS[@]}"
  for i in "${!SIZE_LIST[@]}"; do
    read -r sz mp deq <<<"${ROWS[$i]}"
    MPPS[$i]=$mp
  done
  for i in "${!SIZE_LIST[@]}"; do
    s=${SIZE_LIST[$i]}
    ops=$(awk -v t="$SECONDS_PER_SIZE" -v m="${MPPS[$i]}" 'BEGIN{
      n = int(t * m * 1e6 + 0.5); if (n < 10000) n = 10000; if (n > 4000000000) n = 4000000000; print n }')
    TIMEOUT_EXTRA=$(awk -v t="$SECONDS_PER_SIZE" 'BEGIN{print int(t*5)}')
    note "size $s: ${ops} ops (calibrated ${MPPS[$i]} Mpps)"
    common_app_args
    run_with_fallback "$WORK/run_$s.log" --ptest throughput "${APP[@]}" \
      --buffer-sz "$s" --total-ops "$ops"
    mapfile -t ROWS < <(parse_rows "$WORK/run_$s.log")
    [ "${#ROWS[@]}" -eq 1 ] || die 4 "size $s: expected 1 result row, got ${#ROWS[@]}"
    read -r sz mp deq <<<"${ROWS[0]}"
    [ "$deq" = "$ops" ] || note "warning: size $sz dequeued $deq of $ops ops"
    emit "$sz" "$mp"
  done
fi
exit 0
