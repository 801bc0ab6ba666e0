#!/usr/bin/env bash
# System tests: two appliances (macsec-dataplane + macsecd each, scripts/lib/appliances.sh) between
# two hosts, under traffic and faults. Each test makes and removes its own namespaces (msys-*),
# prints what it measured and ends with PASS or FAIL; a summary table closes the run and the exit
# status is non-zero when any test failed.
#
#   bash scripts/systest.sh [--no-build] [TEST...]     # TEST: one of the names below; default all
#
# Tests: must_secure should_secure sak_rekey cak_rollover fallback policy_change macsecd_restart
#        dataplane_restart key_expiry replay delay_protection
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/appliances.sh
source scripts/lib/appliances.sh
# shellcheck source=lib/systest.sh
source scripts/lib/systest.sh

ALL_TESTS=(must_secure should_secure sak_rekey cak_rollover fallback policy_change macsecd_restart dataplane_restart key_expiry replay delay_protection)
systest_args 2,10 "$@"

CKN1=1234ABCD5678
CAK1=4a7b2f3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708
CKN2=5678ABCD1234
CAK2=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
CAKX=deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef
CKNF=FA11BACC0001
CAKF=1122334455667788990011223344556677889900112233445566778899001122
LT_INF="05:00:00 01 January 2015 infinite"
PPS=2000

# --- checks ---------------------------------------------------------------------------------
# Secure both sides from a fresh start: dataplanes, configurations already in $APP_W/{a,b}.xr.
up() { # policy
  app_start_dp a "$1" && app_start_dp b "$1" || return 1
  app_start_md a; app_start_md b
}
# stream_report [LEAKED]: prints the stream's numbers and records the test's row of the summary table
# (time to secure, sent, received, lost, leaked: clear frames on the line, "-" when not captured).
stream_report() {
  app_stream_summary | sed 's/^/  /'
  printf 'secure %ss sent %s recv %s lost %s leaked %s\n' "${SECURE_SECS:-?}" "$(app_stream_get sent)" "$(app_stream_get received)" \
    "$(app_stream_get lost)" "${1:--}" > "$ROW_FILE"
  if [ -f "$APP_W/line.pcap" ]; then
    check "the line capture is complete (tshark dropped $(app_capture_drops) frames)" is "$(app_capture_drops)" 0
  fi
}
# The line capture's clear (non-MACsec, non-EAPOL) frames.
leaked() { jget "$(app_capture_classify "$APP_W/line.pcap")" clear; }
# secured_pair [APP_XR OPTIONS...]: the topology, A (priority 16, the key server) and B (32) on
# CKN1 with an infinite lifetime and OPTIONS, must-secure, both Secured; returns 1 (a failed check
# recorded) otherwise.
secured_pair() {
  APP_HOST_IPV6=0 APP_STATIC_NEIGH=1 app_topology
  app_xr "$APP_W/a.xr" --priority 16 "$@" --key "$CKN1 $CAK1 $LT_INF"
  app_xr "$APP_W/b.xr" --priority 32 "$@" --key "$CKN1 $CAK1 $LT_INF"
  up must-secure
  app_wait_secured 15 || { mka_dump; check "MKA secures" false; return 1; }
  measure "time to secure ${SECURE_SECS} s"
}
# stream_end: stops the stream and the line capture, counts the clear frames on the line into
# LEAK and reports the stream.
stream_end() {
  app_stream_stop
  app_capture_stop
  LEAK=$(leaked)
  stream_report "$LEAK"
}
# tx_sas a|b: the side's Tx SAs in the dataplane (AN, KN of the Key Identifier, next PN, in use).
tx_sas() {
  app_ctl "$1" show macsec ea idb interface $IF --json 2>/dev/null | python3 -c '
import json, sys
try:
    v = json.load(sys.stdin)["sa"]
except Exception:
    print("(no answer)"); sys.exit()
out = []
for t in v.get("tx", []):
    ki = t.get("ki")
    kn = int.from_bytes(bytes(ki[12:16]), "big") if ki else "?"
    use = " (in use)" if t.get("in_use") else ""
    out.append("AN %s KN %s next PN %s%s" % (t["an"], kn, t["next_pn"], use))
print("; ".join(out) or "none")'
}
count_log() { grep -c -- "$1" "$2" 2>/dev/null || true; }
secy_line() { # side: the validation counters of interest
  app_secy "$1" | python3 -c '
import json, sys
v = json.load(sys.stdin); s = v.get("secy", v)
keys = ["InPktsOK", "InPktsLate", "InPktsNotValid", "InPktsInvalid", "InPktsNotUsingSA", "InPktsUnusedSA", "InPktsNoTag", "InPktsUntagged", "OutPktsEncrypted"]
print(", ".join(f"{k} {s[k]}" for k in keys if k in s))' 2>/dev/null
}

# --- the tests --------------------------------------------------------------------------------

# must-secure: no plaintext leaves on the line before MKA secures, nor after macsecd on A is stopped
# (SIGTERM: it deletes the SAs it installed) while h1 keeps sending.
t_must_secure() {
  APP_HOST_IPV6=0 APP_STATIC_NEIGH=1 app_topology
  app_xr "$APP_W/a.xr" --priority 16 --key "$CKN1 $CAK1 $LT_INF"
  app_xr "$APP_W/b.xr" --priority 32 --key "$CKN1 $CAK1 $LT_INF"
  app_start_dp a must-secure; app_start_dp b must-secure
  app_capture_start
  app_stream_start $PPS
  sleep 2 # h1 sends, no macsecd yet: A has no Tx SA
  app_start_md a; app_start_md b
  app_wait_secured 15 || { mka_dump; check "MKA secures" false; return; }
  measure "time to secure ${SECURE_SECS} s"
  sleep 2
  local stop_at stopped_at; stop_at=$(now)
  app_stop_md a TERM
  stopped_at=$(now)
  local stopped_in; stopped_in=$(elapsed "$stop_at" "$stopped_at")
  local limit; limit=$(python3 -c "print($stopped_at + 0.2)")
  sleep 3
  app_stream_stop
  app_capture_stop
  local cap; cap=$(app_capture_classify "$APP_W/line.pcap" "$limit")
  local sent recv lost last_rx clear macsec_after
  sent=$(app_stream_get sent) recv=$(app_stream_get received) lost=$(app_stream_get lost) last_rx=$(app_stream_get last_rx)
  clear=$(jget "$cap" clear) macsec_after=$(jget "$cap" macsec_after)
  stream_report "$clear"
  measure "line: $(jget "$cap" total) frames, MACsec $(jget "$cap" macsec), EAPOL $(jget "$cap" eapol), leaked (clear) $clear $(jget "$cap" clear_types)"
  measure "sent $sent received $recv lost $lost (h1 sends 2 s before MKA and 3 s after macsecd A stops: those must be dropped)"
  measure "macsecd A exited $stopped_in s after SIGTERM; MACsec frames on the line from 0.2 s after its exit: $macsec_after; last datagram at h2 $(python3 -c "print(f'{$last_rx - $stopped_at:+.3f}')") s from its exit"
  check "MKA secured and the stream crossed while secured (received > 0)" ge "$recv" 1
  check "zero plaintext frames on the line (leaked = 0)" is "$clear" 0
  check "no MACsec data on the line once macsecd A has deleted its SAs and exited (+0.2 s)" is "$macsec_after" 0
  check "h2 receives nothing from 0.2 s after macsecd A exited" lt "$last_rx" "$limit"
  check "frames were dropped, not leaked, while not secured (lost > 0)" ge "$lost" 1
}

# should-secure: clear traffic passes before MKA secures; once secured only MACsec; nothing lost.
t_should_secure() {
  APP_HOST_IPV6=0 APP_STATIC_NEIGH=1 app_topology
  app_xr "$APP_W/a.xr" --priority 16 --policy should-secure --key "$CKN1 $CAK1 $LT_INF"
  app_xr "$APP_W/b.xr" --priority 32 --policy should-secure --key "$CKN1 $CAK1 $LT_INF"
  app_start_dp a should-secure; app_start_dp b should-secure
  app_capture_start
  app_stream_start $PPS
  sleep 2
  app_start_md a; app_start_md b
  app_wait_secured 15 || { mka_dump; check "MKA secures" false; return; }
  measure "time to secure ${SECURE_SECS} s"
  sleep 2
  app_stream_stop
  app_capture_stop
  local cap; cap=$(app_capture_classify "$APP_W/line.pcap" "$SECURED_AT")
  local sent recv lost clear clear_after macsec_after
  sent=$(app_stream_get sent) recv=$(app_stream_get received) lost=$(app_stream_get lost)
  clear=$(jget "$cap" clear) clear_after=$(jget "$cap" clear_after) macsec_after=$(jget "$cap" macsec_after)
  stream_report "${clear_after}(after)"
  measure "line: $(jget "$cap" total) frames, clear $clear $(jget "$cap" clear_types), MACsec $(jget "$cap" macsec), EAPOL $(jget "$cap" eapol)"
  measure "after both sides reported Secured: clear $clear_after, MACsec $macsec_after; sent $sent received $recv lost $lost"
  measure "B: $(secy_line b)"
  check "clear frames passed before securing" ge "$clear" 1
  check "no clear frame once secured" is "$clear_after" 0
  check "protected frames once secured" ge "$macsec_after" 1
  check "zero lost across the switch to MACsec" is "$lost" 0
}

# SAK rekey every 2 s under a continuous stream: >= 20 rekeys, zero lost.
t_sak_rekey() {
  secured_pair --rekey 2 || return 0
  local r0 r=0 t0; r0=$(count_log SAK_REKEY "$APP_W/a-mka.log")
  app_capture_start
  app_stream_start $PPS
  t0=$(now)
  rekeys_done() { r=$(( $(count_log SAK_REKEY "$APP_W/a-mka.log") - r0 )); [ "$r" -ge 21 ]; }
  wait_for 70 rekeys_done || true
  sleep 1
  local secs; secs=$(elapsed "$t0" "$(now)")
  stream_end
  local lost dups; lost=$(app_stream_get lost) dups=$(app_stream_get duplicates)
  measure "SAK rekeys under the stream: $r in $secs s (%L2-MKA-6-SAK_REKEY on the key server A); A: $(app_ctl a show macsec mka statistics interface $IF | grep -E 'SAKs Rekeyed' | tr -s ' .' ' ')"
  measure "latest AN/KN A $(app_field a latest_an)/$(app_field a latest_kn), B $(app_field b latest_an)/$(app_field b latest_kn); B: $(secy_line b)"
  check ">= 20 SAK rekeys under traffic" ge "$r" 20
  check "zero frames lost" is "$lost" 0
  check "zero duplicated" is "$dups" 0
  check "both sides still Secured" eval "app_secured a && app_secured b"
  check "zero plaintext frames on the line (leaked = 0)" is "$LEAK" 0
}

# CAK rollover by key chain lifetimes that overlap (no reload): K1 until now+16 s, K2 from now+7 s.
t_cak_rollover() {
  APP_HOST_IPV6=0 APP_STATIC_NEIGH=1 app_topology
  local k1_end=16 k2_start=7 base; base=$(date +%s)
  local lt1 lt2
  lt1="05:00:00 01 January 2015 $(app_xr_time $k1_end)"
  lt2="$(app_xr_time $k2_start) infinite"
  for s in a b; do
    app_xr "$APP_W/$s.xr" --priority $([ $s = a ] && echo 16 || echo 32) --key "$CKN1 $CAK1 $lt1" --key "$CKN2 $CAK2 $lt2"
  done
  up must-secure
  app_wait_secured 15 || { mka_dump; check "MKA secures" false; return; }
  measure "time to secure ${SECURE_SECS} s on CKN $(app_field a ckn)"
  check "secured on the first key" is "$(app_field a ckn)" "$CKN1"
  app_capture_start
  app_stream_start $PPS
  local rolled=''
  on_ckn2() { [ "$(app_field a ckn)" = "$CKN2" ] && [ "$(app_field b ckn)" = "$CKN2" ] && app_secured a && app_secured b; }
  if wait_for $((k1_end + 2)) on_ckn2; then rolled=$(now); fi
  # Run past the end of K1's lifetime too.
  while [ "$(date +%s)" -le $((base + k1_end + 2)) ]; do sleep 0.2; done
  stream_end
  local lost; lost=$(app_stream_get lost)
  measure "both sides on CKN $CKN2 at +$([ -n "$rolled" ] && python3 -c "print(f'{$rolled - $base:.1f}')" || echo never) s (K2 active from +$k2_start s, K1 ends +$k1_end s); now A $(app_field a ckn) $(app_field a status), B $(app_field b ckn) $(app_field b status)"
  check "rolled over to the second CAK on both sides" test -n "$rolled"
  check "still on $CKN2 and Secured after K1 expired" eval '[ "$(app_field a ckn)" = "$CKN2" ] && [ "$(app_field b ckn)" = "$CKN2" ] && app_secured a && app_secured b'
  check "zero frames lost" is "$lost" 0
  check "zero plaintext frames on the line (leaked = 0)" is "$LEAK" 0
}

# Fallback PSK: B's primary CAK is wrong, the session secures with the fallback PSK
# (FALLBACK-PSK); B's primary is fixed and macsecd B reloads (SIGHUP): back to the primary, no loss.
t_fallback() {
  APP_HOST_IPV6=0 APP_STATIC_NEIGH=1 app_topology
  app_xr "$APP_W/a.xr" --priority 16 --key "$CKN1 $CAK1 $LT_INF" --fallback "$CKNF $CAKF"
  app_xr "$APP_W/b.xr" --priority 32 --key "$CKN1 $CAKX $LT_INF" --fallback "$CKNF $CAKF"
  up must-secure
  app_wait_secured 20 || { mka_dump; check "MKA secures (fallback)" false; return; }
  measure "time to secure ${SECURE_SECS} s; A: $(app_field a auth_mode) CKN $(app_field a ckn); B: $(app_field b auth_mode) CKN $(app_field b ckn)"
  app_session a | sed 's/^/    /'
  check "A reports FALLBACK-PSK" is "$(app_field a auth_mode)" FALLBACK-PSK
  check "B reports FALLBACK-PSK" is "$(app_field b auth_mode)" FALLBACK-PSK
  check "the fallback logged %L2-MKA-5-SESSION_SECURED_WITH_FALLBACK_PSK" ge "$(count_log SESSION_SECURED_WITH_FALLBACK_PSK "$APP_W/a-mka.log")" 1
  measure "primary ICV failures logged: A $(count_log '%L2-MKA-3-MKPDU_ICV_FAILURE' "$APP_W/a-mka.log"), B $(count_log '%L2-MKA-3-MKPDU_ICV_FAILURE' "$APP_W/b-mka.log")"
  app_capture_start
  app_stream_start $PPS
  sleep 1
  app_xr "$APP_W/b.xr" --priority 32 --key "$CKN1 $CAK1 $LT_INF" --fallback "$CKNF $CAKF"
  local t0 back=''; t0=$(now)
  kill -HUP "$APP_MD_b"
  on_primary() { [ "$(app_field a auth_mode)" = PRIMARY-PSK ] && [ "$(app_field b auth_mode)" = PRIMARY-PSK ] && app_secured a && app_secured b; }
  if wait_for 15 on_primary; then back=$(now); fi
  sleep 2
  stream_end
  local lost; lost=$(app_stream_get lost)
  measure "after fixing B's primary CAK and SIGHUP: A $(app_field a auth_mode) CKN $(app_field a ckn), B $(app_field b auth_mode) CKN $(app_field b ckn), back on the primary $([ -n "$back" ] && echo "in $(elapsed "$t0" "$back") s" || echo "never (15 s)")"
  check "back on the primary PSK on both sides" test -n "$back"
  check "zero frames lost" is "$lost" 0
  check "zero plaintext frames on the line (leaked = 0)" is "$LEAK" 0
}

# A policy change committed under traffic (window-size 64 -> 128), first on A (the key server),
# then on B: each restarts its MKA session with the new policy while the SAs in use carry the
# traffic (A distributes a new SAK and its old SAs go 6 s after; B adopts the SAK A still
# distributes). Nothing is lost, nothing leaks.
t_policy_change() {
  secured_pair || return 0
  app_capture_start
  app_stream_start $PPS
  sleep 1
  local s prio t0 back out n0
  for s in a b; do
    prio=$([ $s = a ] && echo 16 || echo 32)
    app_xr "$APP_W/$s.xr" --priority $prio --key "$CKN1 $CAK1 $LT_INF" --window 128
    n0=$(count_log SESSION_SECURED "$APP_W/$s-mka.log")
    t0=$(now); back=''
    out=$(app_ctl $s commit 2>&1) || true
    measure "$s: macsecctl commit: $(echo "$out" | tr '\n' ' ')"
    check "$s: the commit restarts the session with the new policy" grep -q "policy of $IF changed" <<<"$out"
    resecured() { [ "$(count_log SESSION_SECURED "$APP_W/$s-mka.log")" -gt "$n0" ] && app_secured a && app_secured b; }
    if wait_for 10 resecured; then back=$(now); fi
    measure "$s: the new session Secured $([ -n "$back" ] && echo "$(elapsed "$t0" "$back") s after the commit" || echo "never (10 s)"); dataplane: $(app_ctl $s show macsec ea idb interface $IF 2>/dev/null | grep -i "replay window" | head -1 | tr -s ' ')"
    check "$s: a new session secured on both sides" test -n "$back"
    check "$s: the dataplane has the new replay window" eval 'app_ctl '$s' show macsec ea idb interface '$IF' | grep -q "Replay window size : 128"'
    sleep 8 # past the 6 s in which the previous session's SAs are kept
  done
  stream_end
  local lost; lost=$(app_stream_get lost)
  measure "A: $(grep -c 'SAs of the previous session deleted' "$APP_W/a-mka.log") retirements of the previous session's SAs, B: $(grep -c 'already holds SAK' "$APP_W/b-mka.log") SAs adopted"
  check "both Secured at the end" eval 'app_secured a && app_secured b'
  check "zero frames lost" is "$lost" 0
  check "zero plaintext frames on the line (leaked = 0)" is "$LEAK" 0
}

# macsecd on A (the key server) is SIGKILLed under traffic and restarted 3 s later: the dataplane
# keeps forwarding on the installed SAs, the session resumes, nothing is lost.
t_macsecd_restart() {
  secured_pair || return 0
  app_capture_start
  app_stream_start $PPS
  sleep 1
  local tx_before; tx_before=$(tx_sas a)
  local kill_at b_lines; kill_at=$(now) b_lines=$(wc -l < "$APP_W/b-mka.log")
  app_stop_md a KILL
  sleep 1.5
  local b_during; b_during=$(app_field b status)
  sleep 1.5
  app_start_md a
  local resumed=''
  if wait_for 15 app_secured a; then resumed=$(now); fi
  sleep 3
  stream_end
  local lost gap; lost=$(app_stream_get lost) gap=$(app_stream_get max_gap_ms)
  measure "macsecd A killed (SIGKILL) at 0 s, restarted at +3.0 s; B during the outage: ${b_during:-no session}; A Secured again at $([ -n "$resumed" ] && python3 -c "print(f'+{$resumed - $kill_at:.2f}')" || echo never) s"
  measure "B after: $(app_field b status), peers $(app_field b peers); B logged since the kill: $(tail -n +$((b_lines + 1)) "$APP_W/b-mka.log" | grep -oE '%L2-MKA-[0-9]-[A-Z_]+' | sort | uniq -c | tr -s ' \n' ' ')"
  measure "A's Tx SAs before the kill: $tx_before; at the end: $(tx_sas a)"
  measure "B: $(secy_line b)"
  check "traffic kept flowing (longest silence at h2 < 250 ms)" lt "$gap" 250
  check "zero frames lost" is "$lost" 0
  check "the session resumed on A" test -n "$resumed"
  check "B Secured after the restart" app_secured b
  check "zero plaintext frames on the line (leaked = 0)" is "$LEAK" 0
}

# The dataplane of A is stopped under traffic and started again 1 s later: its macsecd reconnects
# and the session restarts with fresh SAKs; traffic flows again, nothing leaks meanwhile.
t_dataplane_restart() {
  secured_pair || return 0
  app_capture_start
  app_stream_start $PPS
  sleep 1
  local stop_at a_lines; stop_at=$(now) a_lines=$(wc -l < "$APP_W/a-mka.log")
  app_kill "$APP_DP_a" INT; APP_DP_a=''
  sleep 1
  app_start_dp a must-secure || { check "dataplane A restarts" false; return; }
  local resumed=''
  if wait_for 15 eval 'app_secured a && app_secured b'; then resumed=$(now); fi
  sleep 3
  stream_end
  local gap last after=-1; gap=$(app_stream_get max_gap_ms) last=$(app_stream_get last_rx)
  [ -n "$resumed" ] && [ -n "$last" ] && after=$(elapsed "$resumed" "$last")
  measure "dataplane A stopped at 0 s, started again at +1 s; both sides Secured again at $([ -n "$resumed" ] && elapsed "$stop_at" "$resumed" || echo never) s; longest silence at h2 $gap ms; frames reached h2 until ${after} s after that"
  measure "A logged since the stop: $(tail -n +$((a_lines + 1)) "$APP_W/a-mka.log" | grep -oE 'DATAPLANE_LOST|is back; MKA sessions restart|%L2-MKA-[0-9]-[A-Z_]+' | sort | uniq -c | tr -s ' \n' ' ')"
  check "macsecd A reconnected and both sides are Secured again" test -n "$resumed"
  check "macsecd A logged the loss and the reconnection" eval 'tail -n +$((a_lines + 1)) "$APP_W/a-mka.log" | grep -q "is back; MKA sessions restart"'
  check "traffic flows again after the restart (h2 receives until the stream stops, >= 2.5 s later)" ge "$after" 2.5
  check "zero plaintext frames on the line (leaked = 0)" is "$LEAK" 0
}

# Key expiry without fallback: the only key ends 8 s after start; the session goes down and,
# under must-secure, traffic stops without a plaintext frame on the line.
t_key_expiry() {
  APP_HOST_IPV6=0 APP_STATIC_NEIGH=1 app_topology
  local end_in=8 base; base=$(date +%s)
  local lt; lt="05:00:00 01 January 2015 $(app_xr_time $end_in)"
  local end=$((base + end_in))
  app_xr "$APP_W/a.xr" --priority 16 --key "$CKN1 $CAK1 $lt"
  app_xr "$APP_W/b.xr" --priority 32 --key "$CKN1 $CAK1 $lt"
  app_start_dp a must-secure; app_start_dp b must-secure
  app_capture_start
  app_start_md a; app_start_md b
  app_wait_secured 15 || { mka_dump; check "MKA secures" false; return; }
  measure "time to secure ${SECURE_SECS} s; key ends at +$end_in s"
  app_stream_start $PPS
  while [ "$(date +%s)" -lt $((end + 4)) ]; do sleep 0.2; done
  local st_a st_b; st_a=$(app_field a status) st_b=$(app_field b status)
  app_stream_stop
  app_capture_stop
  local cap; cap=$(app_capture_classify "$APP_W/line.pcap" "$((end + 2))")
  local sent recv last_rx clear macsec_after
  sent=$(app_stream_get sent) recv=$(app_stream_get received) last_rx=$(app_stream_get last_rx)
  clear=$(jget "$cap" clear) macsec_after=$(jget "$cap" macsec_after)
  stream_report "$clear"
  measure "4 s after the key ended: A ${st_a:-no session}, B ${st_b:-no session}; last datagram at h2 $(python3 -c "print(f'{$last_rx - $end:+.2f}')") s from the key's end"
  measure "line: $(jget "$cap" total) frames, MACsec $(jget "$cap" macsec) ($macsec_after from 2 s after the end), EAPOL $(jget "$cap" eapol), leaked (clear) $clear $(jget "$cap" clear_types)"
  measure "MKA log A: $(grep -oE '%L2-MKA-[0-9]-(SESSION_STOPPED|KEY)[^=]*CKN:[0-9A-F]+' "$APP_W/a-mka.log" | tail -2 | tr '\n' ' ')"
  check "traffic crossed while the key was valid" ge "$recv" 1
  check "the session is down on A" eval '[ "$(app_field a status)" != Secured ]'
  check "the session is down on B" eval '[ "$(app_field b status)" != Secured ]'
  check "traffic stopped within 2 s of the key's end" lt "$last_rx" "$((end + 2))"
  check "zero plaintext frames on the line" is "$clear" 0
  check "no MACsec data on the line 2 s after the end (SAs deleted)" is "$macsec_after" 0
}

# first_macsec_frame PCAP OUT: writes the capture's first MACsec frame to OUT; prints its PN.
first_macsec_frame() {
  python3 - "$1" "$2" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
magic = struct.unpack("<I", d[:4])[0]
assert magic in (0xa1b2c3d4, 0xa1b23c4d), f"not a pcap file: {magic:#x}"
off = 24
while off + 16 <= len(d):
    _, _, incl, _ = struct.unpack("<IIII", d[off:off + 16])
    frame = d[off + 16:off + 16 + incl]
    off += 16 + incl
    if frame[12:14] == b"\x88\xe5":
        open(sys.argv[2], "wb").write(frame)
        print(struct.unpack(">I", frame[16:20])[0])
        break
else:
    sys.exit("no MACsec frame captured")
PY
}
# inject_on_a_line FILE: sends the frame in FILE from A's end of the line (raw socket) to B.
inject_on_a_line() {
  ip netns exec "$NS_A" python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("a-line", 0))
s.send(open(sys.argv[1], "rb").read())
PY
}
# secy_delta BEFORE AFTER: B's validation counters that changed between two `app_secy` answers.
secy_delta() {
  python3 - "$1" "$2" <<'PY'
import json, sys
b, a = (json.loads(x) for x in sys.argv[1:])
b, a = b.get("secy", b), a.get("secy", a)
keys = ["InPktsLate", "InPktsOK", "InPktsNotValid", "InPktsInvalid", "InPktsUnchecked", "InPktsDelayed", "InPktsNoSCI", "InPktsUnknownSCI", "InPktsNotUsingSA", "InPktsUnusedSA"]
print(json.dumps({k: a[k] - b[k] for k in keys if k in a and k in b}))
PY
}
# rx_sa_pns b: "NEXT LOWEST" of B's Rx SA in use for A's traffic (the one with the highest next PN).
rx_sa_pns() {
  app_ctl "$1" show macsec ea idb interface $IF --json 2>/dev/null | python3 -c '
import json, sys
rx = json.load(sys.stdin)["sa"]["rx"]
r = max(rx, key=lambda r: r["next_pn"])
print(r["next_pn"], r["lowest_pn"])'
}

# Replay: one MACsec frame captured on the line is re-injected (raw socket on A's line veth) after
# more than window-size (64) newer frames: B drops it and InPktsLate goes up by exactly 1.
t_replay() {
  secured_pair || return 0
  app_capture_start
  app_stream_start $PPS
  sleep 1
  touch "$APP_W/stop-send"; wait "$APP_SEND" || true; APP_SEND=''
  sleep 0.5
  app_capture_stop
  local before after pn
  before=$(app_secy b)
  pn=$(first_macsec_frame "$APP_W/line.pcap" "$APP_W/replay.bin") || { check "a MACsec frame captured" false; return 0; }
  measure "captured MACsec frame PN $pn"
  inject_on_a_line "$APP_W/replay.bin"
  sleep 1
  after=$(app_secy b)
  touch "$APP_W/stop-recv"; wait "$APP_RECV" || true; APP_RECV=''
  local d; d=$(secy_delta "$before" "$after")
  local dups; dups=$(app_stream_get duplicates)
  stream_report "$(leaked)"
  measure "B's counters over the re-injection (deltas): $d; duplicates at h2: $dups"
  check "InPktsLate on B went up by exactly 1" is "$(jget "$d" InPktsLate)" 1
  check "InPktsOK on B did not change" is "$(jget "$d" InPktsOK)" 0
  check "the replayed frame did not reach h2" is "$dups" 0
}

# Delay protection (the guide's delay-protection, 802.1X-2020 9.10): with a replay window wide
# enough to accept it (window-size 1024, 100 frames a second), a frame held back for 4 s is still
# dropped, because A reports the PN it sent two seconds ago as its Lowest Acceptable PN (read from
# its dataplane every Hello) and B raises its Rx SA's lowest PN to it.
t_delay_protection() {
  secured_pair --window 1024 --delay-protection || return 0
  app_capture_start
  app_stream_start 100
  sleep 1
  app_capture_stop
  local pn; pn=$(first_macsec_frame "$APP_W/line.pcap" "$APP_W/held.bin") || { check "a MACsec frame captured" false; return 0; }
  sleep 4
  local before after next lowest
  before=$(app_secy b)
  read -r next lowest <<<"$(rx_sa_pns b)"
  inject_on_a_line "$APP_W/held.bin"
  sleep 1
  after=$(app_secy b)
  app_stream_stop
  local d; d=$(secy_delta "$before" "$after")
  local dups; dups=$(app_stream_get duplicates)
  stream_report -
  measure "held frame PN $pn; B's Rx SA before the re-injection: next PN $next, lowest PN $lowest (window 1024 alone would accept down to $((next - 1024))); deltas $d; duplicates at h2 $dups"
  check "A's frame is within the replay window (next PN - PN < 1024)" lt "$((next - pn))" 1024
  check "B's lowest acceptable PN moved above the held frame's PN" lt "$pn" "$lowest"
  check "B's lowest PN trails by at most 3.3 s of traffic (2 s + two bounded hellos)" lt "$((next - lowest))" 330
  check "InPktsLate on B went up by exactly 1" is "$(jget "$d" InPktsLate)" 1
  check "the held frame did not reach h2" is "$dups" 0
  check "no frame of the stream lost" is "$(app_stream_get lost)" 0
}

# --- runner -----------------------------------------------------------------------------------
systest_setup() { trap app_cleanup EXIT; }
no_hook() { :; }
systest_run "system tests" msys 16 systest_setup no_hook
