# The system-test harness shared by scripts/systest.sh and scripts/systest-ppk.sh: arguments,
# checks and measurements, and the runner with its summary table. Source it after
# scripts/lib/appliances.sh; set ALL_TESTS first.

# systest_args HELP_LINES "$@": --no-build, -h/--help (prints lines HELP_LINES of the script),
# TEST names (default: all). Sets TESTS; builds unless --no-build.
systest_args() {
  local help=$1 build=1 a; shift
  TESTS=()
  for a in "$@"; do
    case $a in
      --no-build) build=0 ;;
      -h|--help) sed -n "${help}p" "$0"; exit 0 ;;
      *) TESTS+=("$a") ;;
    esac
  done
  [ ${#TESTS[@]} -gt 0 ] || TESTS=("${ALL_TESTS[@]}")
  if [ $build = 1 ]; then
    bash scripts/setup.sh
    app_build
  fi
}

FAILS=0
MEASURED=()
check() { # description command...
  local d=$1; shift
  if "$@"; then echo "  ok    $d"; else echo "  FAIL  $d"; FAILS=$((FAILS + 1)); fi
}
is() { [ "$1" = "$2" ]; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a != "" && a + 0 >= b + 0)}'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a != "" && a + 0 < b + 0)}'; }
measure() { echo "  measured: $*"; MEASURED+=("$*"); }
mka_dump() { # [LINES]
  echo "  --- macsecd A log (tail)"; tail -"${1:-15}" "$APP_W/a-mka.log" | sed 's/^/    /'
  echo "  --- macsecd B log (tail)"; tail -"${1:-15}" "$APP_W/b-mka.log" | sed 's/^/    /'
}

# systest_run TITLE PREFIX WIDTH SETUP ON_FAIL: runs each of TESTS (function t_NAME) in a subshell
# with its own namespaces (PREFIX-NAME) and the cleanup SETUP installs (SETUP runs first in the
# subshell); ON_FAIL runs when a test's checks failed. Ends with a summary table (test names in a
# WIDTH-wide column) and returns non-zero when any test failed. Each test's row of "measured"
# comes from the file $ROW_FILE it writes.
systest_run() {
  local title=$1 prefix=$2 width=$3 setup=$4 on_fail=$5 t t0 rc secs r res name n failed=0
  local results=() rows run_start
  rows=$(mktemp -d "/tmp/$prefix-rows.XXXXXX")
  run_start=$(date +%s)
  trap 'echo "interrupted" >&2; exit 130' INT TERM
  for t in "${TESTS[@]}"; do
    n=${#results[@]}
    declare -F "t_$t" > /dev/null || { echo "unknown test $t (tests: ${ALL_TESTS[*]})" >&2; exit 2; }
    echo "== $t"
    t0=$(date +%s.%N)
    (
      set -eEo pipefail
      trap 'echo "  error: line $LINENO: $BASH_COMMAND exited non-zero"' ERR
      ROW_FILE=$rows/$n
      app_init "$prefix" "$prefix-${t//_/}"
      "$setup"
      FAILS=0
      "t_$t"
      [ "$FAILS" = 0 ] && echo "  PASS $t" || { "$on_fail"; echo "  FAIL $t ($FAILS checks failed)"; exit 1; }
    )
    rc=$?
    [ $rc -ge 128 ] && { echo "interrupted" >&2; exit $rc; }
    secs=$(elapsed "$t0" "$(date +%s.%N)")
    if [ $rc = 0 ]; then results+=("PASS|$t|$secs|$n"); else results+=("FAIL|$t|$secs|$n"); fi
  done
  echo
  echo "== $title ($(( $(date +%s) - run_start )) s)"
  printf "  %-6s %-${width}s %7s  %s\n" result test seconds measured
  for r in "${results[@]}"; do
    IFS='|' read -r res name secs n <<<"$r"
    printf "  %-6s %-${width}s %7s  %s\n" "$res" "$name" "$secs" "$(cat "$rows/$n" 2>/dev/null || echo -)"
    [ "$res" = PASS ] || failed=$((failed + 1))
  done
  rm -rf "$rows"
  echo "$title: $(( ${#results[@]} - failed )) passed, $failed failed"
  [ $failed = 0 ]
}
