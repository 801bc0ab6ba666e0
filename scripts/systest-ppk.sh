#!/usr/bin/env bash
# System tests of PPK key distribution (issue 7): two appliances (macsec-dataplane + macsecd each,
# scripts/lib/appliances.sh) whose macsec-policy has `ppk sks-profile NAME`. Each test makes and
# removes its own namespaces (mppk-*), state directories and KME simulator, prints what it
# measured and ends with PASS or FAIL; a summary table closes the run, and the exit status is
# non-zero when any test failed.
#
#   bash scripts/systest-ppk.sh [--no-build] [TEST...]     # TEST: one of the names below; default all
#
# Tests:
#   sks           PPK from the SKS engine: B exports its Classic McEliece public key, A imports it and
#                 exports a seed, B imports the seed (macsecctl, between the two state directories);
#                 MKA secures in PPK mode, the same PPK key ID on both, traffic passes, only
#                 0x88E5/0x888E on the line.
#   skip          PPK from SKIP: kme-sim (two KMEs sharing a simulated QKD link) in a namespace of
#                 its own, each appliance's profile points to its own KME, trust point imported.
#   skip_rekey    SAK rekeys every 2 s under a UDP stream, each with a fresh SKIP PPK: none lost.
#   sks_no_seed   negative: B has not imported the seed: not secured, B shows and logs why, no
#                 plaintext on the line and nothing reaches h2; then B imports it (macsecd running)
#                 and the session secures without a restart.
#   skip_kme_down negative: B's KME does not answer (connection refused): not secured, B shows and
#                 logs why, no plaintext on the line and nothing reaches h2.
#   skip_no_trustpoint negative: B's trust point is missing (its SKIP source cannot be built): the
#                 same, with that reason.
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/appliances.sh
source scripts/lib/appliances.sh
# shellcheck source=lib/ppk.sh
source scripts/lib/ppk.sh
# shellcheck source=lib/systest.sh
source scripts/lib/systest.sh

ALL_TESTS=(sks skip skip_rekey sks_no_seed skip_kme_down skip_no_trustpoint)
systest_args 2,25 "$@"

CKN1=1234abcd5678
CAK1=4a7b2f3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708
LT_INF="05:00:00 01 January 2015 infinite"
PPS=2000

# --- checks ---------------------------------------------------------------------------------
has() { [[ "$1" == *"$2"* ]]; }
count_log() { grep -c -- "$1" "$2" 2>/dev/null || true; }
# grep -c that never fails (a failing command substitution would run the ERR trap into its output).
cnt() { grep -c "$@" || true; }

# --- PPK setup (scripts/lib/ppk.sh) ---------------------------------------------------------

# Both configurations: app_xr's (policy P1 on TenGigE0/0/0/1, must-secure, key chain KC1, A the
# key server), sak-rekey-interval $PPK_REKEY or 60 s.
base_xr() {
  app_xr "$APP_W/a.xr" --priority 16 --rekey "${PPK_REKEY:-60}" --key "$CKN1 $CAK1 $LT_INF"
  app_xr "$APP_W/b.xr" --priority 32 --rekey "${PPK_REKEY:-60}" --key "$CKN1 $CAK1 $LT_INF"
}

# SKS: the key and seed exchange with macsecctl (ppk_sks_setup), checked.
sks_setup() { # SEED: 1 = B imports the seed
  base_xr
  ppk_sks_setup "$1"
  measure "B: Classic McEliece key pair generated and public key exported in $PPK_KEYGEN_SECS s ($(stat -c %s "$APP_W/MeCe_b_pub") octets)"
  check "B's public key file has 1357824 octets" is "$(stat -c %s "$APP_W/MeCe_b_pub")" 1357824
  check "A's seed file for peer-2 has 324 octets" is "$(stat -c %s "$APP_W/enc_self_peer-2")" 324
  local pa pb
  pa=$(sks_ctl a show crypto sks peer all) pb=$(sks_ctl b show crypto sks peer all)
  echo "$pa" | sed 's/^/  A# /'
  echo "$pb" | sed 's/^/  B# /'
  check "A: peer-2 Seed Done TRUE, Pubkey Import Done TRUE, Master FALSE" is "$pa" \
    "$(printf 'Peer Name          : peer-2\nProfile Name       : prof-A\nSeed Done          : TRUE\nPubkey Import Done : TRUE\nMaster             : FALSE')"
  check "B: peer-1 Seed Done $([ "$1" = 1 ] && echo TRUE || echo FALSE), Master TRUE" is "$pb" \
    "$(printf 'Peer Name          : peer-1\nProfile Name       : prof-B\nSeed Done          : %s\nPubkey Import Done : FALSE\nMaster             : TRUE' "$([ "$1" = 1 ] && echo TRUE || echo FALSE)")"
}

# SKIP: kme-sim and both profiles (ppk_skip_setup); B's KME port $1 when given.
skip_setup() {
  base_xr
  ppk_skip_setup "$@"
  sed 's/^/  kme-sim: /' "$APP_W/kme.out"
}

# log_secured a|b: seconds from macsecd's first log line to its first SESSION_SECURED, by its own
# timestamps (the show polling of app_wait_secured is slow on a loaded machine).
log_secured() {
  python3 - "$APP_W/$1-mka.log" <<'PY'
import sys, datetime
t0 = t1 = None
for line in open(sys.argv[1]):
    try:
        t = datetime.datetime.fromisoformat(line.split()[0].replace("Z", "+00:00"))
    except (ValueError, IndexError):
        continue
    t0 = t0 or t
    if "SESSION_SECURED" in line:
        t1 = t
        break
print(f"{(t1 - t0).total_seconds():.3f}" if t1 else "-")
PY
}
# ppk_ms a|b: the PPK fetch times macsecd logged ("obtained in N ms"), comma-separated.
ppk_ms() { sed -n 's/.*obtained in \([0-9]*\) ms.*/\1/p' "$APP_W/$1-mka.log" | paste -sd, -; }

# session_detail a|b: `show macsec mka session detail`.
session_detail() { app_ctl "$1" show macsec mka session detail 2>/dev/null; }
detail_field() { session_detail "$1" | sed -n "s/^$2 *: //p" | head -1; }

# The positive run: dataplanes, capture on the line, macsecds, secured, a UDP stream for 3 s.
secure_and_stream() { # PPK_KEY_ID_HEX_LEN
  app_start_dp a must-secure; app_start_dp b must-secure
  app_capture_start
  ppk_start_md a; ppk_start_md b
  app_wait_secured 20 || { mka_dump; check "MKA secures" false; return 1; }
  measure "time to secure ${SECURE_SECS} s (from starting macsecd, polling show); by macsecd's logs: A $(log_secured a) s, B $(log_secured b) s; PPK fetch A $(ppk_ms a) ms, B $(ppk_ms b) ms"
  local da db
  da=$(session_detail a) db=$(session_detail b)
  echo "$db" | sed 's/^/  B# /'
  local ida idb
  ida=$(detail_field a "PPK Key ID") idb=$(detail_field b "PPK Key ID")
  measure "PPK key ID A $ida, B $idb"
  check "A: Key Distribution Mode PPK, key server" has "$da" $'Key Server                 : YES\nKey Distribution Mode      : PPK\nPPK Key ID                 : '
  check "B: Key Distribution Mode PPK, not key server" has "$db" $'Key Server                 : NO\nKey Distribution Mode      : PPK\nPPK Key ID                 : '
  check "the same PPK key ID on both sides" is "$ida" "$idb"
  check "the key ID has $1 hex digits" is "${#ida}" "$1"
  check "no PPK Failure shown on A or B" is "$(cnt "PPK Failure" <<<"$da$db")" 0
  app_stream_start $PPS
  sleep 3
  app_stream_stop
  app_capture_stop
  local cap sent recv lost
  cap=$(app_capture_classify "$APP_W/line.pcap")
  sent=$(app_stream_get sent) recv=$(app_stream_get received) lost=$(app_stream_get lost)
  app_stream_summary | sed 's/^/  /'
  measure "line (A to B): $(jget "$cap" total) frames, MACsec $(jget "$cap" macsec), EAPOL $(jget "$cap" eapol), clear $(jget "$cap" clear) $(jget "$cap" clear_types)"
  printf 'secure %ss sent %s recv %s lost %s leaked %s\n' "$SECURE_SECS" "$sent" "$recv" "$lost" "$(jget "$cap" clear)" > "$ROW_FILE"
  check "traffic passes: received = sent > 0" is "$recv" "$sent"
  check "received > 0" ge "$recv" 1
  check "MACsec frames on the line >= received" ge "$(jget "$cap" macsec)" "$recv"
  check "only 0x88E5/0x888E on the line (clear = 0)" is "$(jget "$cap" clear)" 0
  check "A logged SESSION_SECURED" ge "$(count_log SESSION_SECURED "$APP_W/a-mka.log")" 1
  check "no PPK failure logged on A or B" is "$(cat "$APP_W/a-mka.log" "$APP_W/b-mka.log" | cnt 'PPK_')" 0
  check "no 64-hex-digit string (a PPK or key) in either log" is "$(cat "$APP_W/a-mka.log" "$APP_W/b-mka.log" | cnt -E '(^|[^0-9a-fA-F])[0-9a-fA-F]{64}([^0-9a-fA-F]|$)')" 0
}

# The negative run: not secured within 8 s; B shows and logs exactly "could not obtain the PPK
# with key ID <A's key ID>: WHY"; nothing in the clear, nothing at h2.
not_secured() { # WHY
  app_start_dp a must-secure; app_start_dp b must-secure
  app_capture_start
  app_stream_start $PPS
  ppk_start_md a; ppk_start_md b
  sleep 8
  local da db fb ida
  da=$(session_detail a) db=$(session_detail b)
  echo "$db" | sed 's/^/  B# /'
  fb=$(detail_field b "PPK Failure") ida=$(detail_field a "PPK Key ID")
  app_stream_stop
  app_capture_stop
  local cap sent recv
  cap=$(app_capture_classify "$APP_W/line.pcap")
  sent=$(app_stream_get sent) recv=$(app_stream_get received)
  measure "after 8 s: A $(detail_field a Status), B $(detail_field b Status); sent $sent received $recv"
  measure "line (A to B): $(jget "$cap" total) frames, MACsec $(jget "$cap" macsec), EAPOL $(jget "$cap" eapol), clear $(jget "$cap" clear) $(jget "$cap" clear_types)"
  { grep -E 'PPK_|PPK request' "$APP_W/b-mka.log" || true; } | head -3 | sed 's/^/  B log: /'
  printf 'secure - sent %s recv %s lost %s leaked %s\n' "$sent" "$recv" "$(app_stream_get lost)" "$(jget "$cap" clear)" > "$ROW_FILE"
  check "A not secured" is "$(detail_field a Status)" Pending
  check "B not secured" is "$(detail_field b Status)" Pending
  check "A and B in PPK mode" is "$(detail_field a 'Key Distribution Mode') $(detail_field b 'Key Distribution Mode')" "PPK PPK"
  measure "A's PPK key ID: $ida; B's PPK requests: $(cnt 'PPK request failed' "$APP_W/b-mka.log") failed ($(sed -n 's/.*PPK request failed after \([0-9]*\) ms.*/\1 ms/p' "$APP_W/b-mka.log" | paste -sd, -))"
  check "A announced a key ID (A: PPK Key ID shown)" ge "${#ida}" 2
  check "B shows PPK Failure: could not obtain the PPK with key ID <A's>: $1" is "$fb" "could not obtain the PPK with key ID $ida: $1"
  check "B logged %L2-MKA-3-PPK_FETCH_FAILURE with the same reason" ge "$(grep -F '%L2-MKA-3-PPK_FETCH_FAILURE' "$APP_W/b-mka.log" | cnt -F -- "$fb")" 1
  check "nothing reached h2 (received = 0)" is "$recv" 0
  check "no plaintext on the line (clear = 0)" is "$(jget "$cap" clear)" 0
  check "the line carried MKPDUs (EAPOL >= 1)" ge "$(jget "$cap" eapol)" 1
}

# --- the tests --------------------------------------------------------------------------------

t_sks() {
  APP_HOST_IPV6=0 APP_STATIC_NEIGH=1 app_topology
  sks_setup 1
  secure_and_stream 32
}

t_skip() {
  APP_HOST_IPV6=0 APP_STATIC_NEIGH=1 app_topology
  skip_setup
  secure_and_stream 72
  local ka kb
  ka=$(count_log "^kme-a (Alice): GET /key -> 200\$" "$APP_W/kme.log")
  kb=$(count_log "^kme-b (Bob): GET /key/$(detail_field a 'PPK Key ID' | xxd -r -p) -> 200\$" "$APP_W/kme.log")
  measure "KME requests: A GET /key $ka, B GET /key/{keyId} $kb"
  check "KME A issued exactly 1 key, KME B returned it exactly once" is "$ka $kb" "1 1"
  local sa; sa=$(sks_ctl a show crypto sks profile all stats 2>/dev/null | { grep -E "Status|Total request|Response success" || true; } | tr -s ' ' | paste -sd';')
  measure "A show crypto sks profile all stats: $sa"
}

# SAK rekeys every 2 s under a stream: every SAK gets a fresh PPK from KME A (GET /key), which B
# fetches by its key ID from KME B (GET /key/{keyId}); hitless.
t_skip_rekey() {
  APP_HOST_IPV6=0 APP_STATIC_NEIGH=1 app_topology
  PPK_REKEY=2
  skip_setup
  app_start_dp a must-secure; app_start_dp b must-secure
  ppk_start_md a; ppk_start_md b
  app_wait_secured 20 || { mka_dump; check "MKA secures" false; return; }
  measure "time to secure ${SECURE_SECS} s (polling show); by macsecd's logs: A $(log_secured a) s, B $(log_secured b) s"
  app_capture_start
  app_stream_start $PPS
  sleep 10
  app_stream_stop
  app_capture_stop
  local cap sent recv lost saks ids ka kb asks bgot brx ida idb
  cap=$(app_capture_classify "$APP_W/line.pcap")
  sent=$(app_stream_get sent) recv=$(app_stream_get received) lost=$(app_stream_get lost)
  ida=$(detail_field a 'PPK Key ID') idb=$(detail_field b 'PPK Key ID')
  check "both sides still Secured" eval "app_secured a && app_secured b"
  measure "latest KN A $(app_field a latest_kn), B $(app_field b latest_kn); PPK key ID A ${ida:0:16}..., B ${idb:0:16}..."
  # Counts from quiet daemons: A stops first, B gets 1 s to finish a fetch for A's last SAK.
  app_stop_md a INT; sleep 1; app_stop_md b INT
  saks=$(( $(count_log SAK_GENERATED "$APP_W/a-mka.log") + $(count_log SAK_REKEY "$APP_W/a-mka.log") ))
  ids=$(sed -n 's/.*PPK key ID \([^ ]*\) obtained.*/\1/p' "$APP_W/a-mka.log" | sort -u | wc -l)
  asks=$(count_log "asking sks profile R1toR2 for a fresh PPK" "$APP_W/a-mka.log")
  bgot=$(count_log "PPK key ID .* obtained" "$APP_W/b-mka.log") brx=$(count_log SAK_RECEIVED "$APP_W/b-mka.log")
  ka=$(count_log "^kme-a (Alice): GET /key -> 200\$" "$APP_W/kme.log")
  kb=$(count_log "^kme-b (Bob): GET /key/.* -> 200\$" "$APP_W/kme.log")
  app_stream_summary | sed 's/^/  /'
  printf 'secure %ss sent %s recv %s lost %s leaked %s\n' "$SECURE_SECS" "$sent" "$recv" "$lost" "$(jget "$cap" clear)" > "$ROW_FILE"
  measure "A: SAKs distributed $saks, fresh PPKs asked $asks, distinct PPK key IDs obtained $ids; KME A GET /key $ka"
  measure "B: SAKs received $brx, PPKs obtained by key ID $bgot; KME B GET /key/{keyId} $kb"
  measure "PPK fetch times (ms): A $(ppk_ms a); B $(ppk_ms b)"
  measure "line (A to B): $(jget "$cap" total) frames, MACsec $(jget "$cap" macsec), EAPOL $(jget "$cap" eapol), clear $(jget "$cap" clear)"
  check ">= 3 SAKs (rekeys every 2 s for 10 s; a slow KME on a loaded machine delays some)" ge "$saks" 3
  check "A: one fresh PPK per SAK (distinct key IDs = SAKs)" is "$ids" "$saks"
  check "KME A issued one key per request of A" is "$ka" "$asks"
  check "B: one PPK fetched per SAK received; KME B answered each" is "$bgot $kb" "$brx $brx"
  check "zero frames lost" is "$lost" 0
  check "received > 0" ge "$recv" 1
  check "the same PPK key ID on both sides" is "$ida" "$idb"
  check "only 0x88E5/0x888E on the line (clear = 0)" is "$(jget "$cap" clear)" 0
  check "no PPK failure logged on A or B" is "$(cat "$APP_W/a-mka.log" "$APP_W/b-mka.log" | cnt 'PPK_')" 0
}

t_sks_no_seed() {
  APP_HOST_IPV6=0 APP_STATIC_NEIGH=1 app_topology
  sks_setup 0
  not_secured 'no seed shared with peer peer-1 of sks profile prof-B (export it with `crypto sks seed export mceliece` on the master, import it with `crypto sks seed import mceliece` on the other side)'
  # The seed imported now, with macsecd running: B uses it at its next fetch (the engine retries
  # 10 s after a failure) and the session secures without a restart.
  local t0; t0=$(now)
  sks_ctl b crypto sks seed import mceliece peer-1 "$APP_W/enc_self_peer-2" > /dev/null
  APP_MD_STARTED=$t0
  if app_wait_secured 20; then
    measure "seed imported on B while running: secured $SECURE_SECS s later; B: $(detail_field b Status), PPK Failure shown: $(session_detail b | cnt 'PPK Failure')"
    check "secured after the seed import, without a restart" is "$(detail_field a Status) $(detail_field b Status)" "Secured Secured"
    check "B's PPK Failure cleared" is "$(session_detail b | cnt 'PPK Failure')" 0
    check "the same PPK key ID on both sides" is "$(detail_field a 'PPK Key ID')" "$(detail_field b 'PPK Key ID')"
  else
    check "secured within 20 s of the seed import" false
  fi
}

t_skip_kme_down() {
  APP_HOST_IPV6=0 APP_STATIC_NEIGH=1 app_topology
  # B's profile names a port on KME B's address where nothing listens.
  skip_setup 9
  not_secured "KME $KME_B_IP:9: cannot connect to $KME_B_IP:9: Connection refused (os error 111) (gave up after 3 attempts)"
}

t_skip_no_trustpoint() {
  APP_HOST_IPV6=0 APP_STATIC_NEIGH=1 app_topology
  skip_setup
  # B's trust point was never installed: its SKIP source cannot be built.
  rm "$APP_W/b-state/trustpoint/R2toR1.pem"
  not_secured "the trust point $APP_W/b-state/trustpoint/R2toR1.pem could not be used: I/O error: No such file or directory (os error 2)"
}

# --- runner -----------------------------------------------------------------------------------
ppk_test_setup() { NS_K=''; trap ppk_cleanup EXIT; }
ppk_test_failed() { mka_dump 25; }
systest_run "PPK system tests" mppk 18 ppk_test_setup ppk_test_failed
