# shellcheck shell=bash
# PPK (quantum-safe) key distribution on the two-appliance topology of scripts/lib/appliances.sh,
# used by scripts/demo.sh --ppk (the PPK system tests, tests/tests/system_ppk.rs, do the same in
# Rust). Source it after appliances.sh and call app_init first; configurations $APP_W/{a,b}.xr
# made by app_xr (A is the key server).
#
#   ppk_sks_setup 1|0          # SKS: sks profiles prof-A/prof-B in a.xr/b.xr; B exports its Classic
#                              #   McEliece public key, A imports it and exports a seed, B imports the
#                              #   seed when the argument is 1 (macsecctl, state dirs $APP_W/{a,b}-state)
#   ppk_skip_setup [B_PORT]    # SKIP: namespace <ns prefix>-k with kme-sim (KME A 198.51.100.1 for A,
#                              #   KME B 198.51.100.5 for B over veths), profiles R1toR2/R2toR1 (B's
#                              #   KME port B_PORT when given), the KME CA imported as trust point
#   ppk_xr_add a|b PROFILE STANZA   # adds `ppk sks-profile PROFILE` to policy P1 and the stanza
#   ppk_reapply                # the same again, after app_xr rewrote a.xr and b.xr
#   ppk_start_md a|b [ARGS...] # macsecd with --state-dir $APP_W/<side>-state
#   demo_start_md a|b          # ppk_start_md when $PPK is set (demo.sh --ppk), else app_start_md
#   ppk_demo_setup sks|skip    # ppk_sks_setup 1 or ppk_skip_setup, saying what it does
#   ppk_cleanup                # app_cleanup, then the KME namespace (use as the EXIT trap)
# Sets PPK_KEYGEN_SECS (SKS key generation + export), KME_PID, NS_K.

KMESIM=$APP_ROOT/target/release/kme-sim
KME_A_IP=198.51.100.1 KME_B_IP=198.51.100.5
NS_K='' KME_PID=''

# ppk_xr_add a|b PROFILE STANZA: the side's configuration with `ppk sks-profile PROFILE` in policy P1
# and the sks profile STANZA (multi-line) in front.
ppk_xr_add() {
  local f=$APP_W/$1.xr profile=$2 stanza=$3
  printf -v "PPK_PROFILE_$1" %s "$profile"
  printf -v "PPK_STANZA_$1" %s "$stanza"
  { printf '%s\n!\n' "$stanza"; sed "s/^macsec-policy P1\$/macsec-policy P1\n ppk sks-profile $profile/" "$f"; } > "$f.ppk"
  mv "$f.ppk" "$f"
}

# ppk_reapply: the same PPK lines again, after app_xr rewrote both configurations.
ppk_reapply() {
  ppk_xr_add a "$PPK_PROFILE_a" "$PPK_STANZA_a"
  ppk_xr_add b "$PPK_PROFILE_b" "$PPK_STANZA_b"
}

# ppk_start_md a|b [ARGS...]: as app_start_md, with --state-dir $APP_W/<side>-state and ARGS.
ppk_start_md() {
  local s=$1 ns; shift
  if [ "$s" = a ]; then ns=$NS_A; else ns=$NS_B; fi
  APP_MD_STARTED=$(now)
  ip netns exec "$ns" "$MD" --config "$APP_W/$s.xr" --dataplane "$APP_W/$s.sock" --socket "$APP_W/$s-mka.sock" \
    --state-dir "$APP_W/$s-state" "$@" >> "$APP_W/$s-mka.json" 2>> "$APP_W/$s-mka.log" &
  printf -v "APP_MD_$s" %s $!
}

# sks_ctl a|b ARGS...: macsecctl on the side's configuration and state directory.
sks_ctl() { local s=$1; shift; "$CTL" "$@" --config "$APP_W/$s.xr" --state-dir "$APP_W/$s-state"; }

# The sks profile stanzas (SKS: A is the master, the side that exports the seed).
PPK_SKS_A=$'sks profile prof-A device-identifier peer-1\n peer-identifier peer-2'
PPK_SKS_B=$'sks profile prof-B device-identifier peer-2\n peer-identifier peer-1 master'

ppk_sks_setup() { # 1|0: B imports the seed
  ppk_xr_add a prof-A "$PPK_SKS_A"
  ppk_xr_add b prof-B "$PPK_SKS_B"
  mkdir -p -m 700 "$APP_W/a-state" "$APP_W/b-state"
  local t0; t0=$(now)
  sks_ctl b crypto sks key export mceliece --out "$APP_W/MeCe_b_pub" 2> "$APP_W/keygen.log" > /dev/null
  PPK_KEYGEN_SECS=$(elapsed "$t0" "$(now)")
  sks_ctl a crypto sks key import mceliece peer-2 "$APP_W/MeCe_b_pub" > /dev/null
  sks_ctl a crypto sks seed export mceliece peer-2 --out "$APP_W/enc_self_peer-2" > /dev/null
  if [ "$1" = 1 ]; then
    sks_ctl b crypto sks seed import mceliece peer-1 "$APP_W/enc_self_peer-2" > /dev/null
  fi
}

# The SKIP profiles, given KME A's and KME B's ports.
ppk_skip_stanza() { # a|b PORT
  if [ "$1" = a ]; then
    printf 'sks profile R1toR2 type remote device-identifier Router1\n kme server ipv4 %s port %s' "$KME_A_IP" "$2"
  else
    printf 'sks profile R2toR1 type remote device-identifier Router2\n kme server ipv4 %s port %s' "$KME_B_IP" "$2"
  fi
}

ppk_skip_setup() { # [B_KME_PORT]
  NS_K=${NS_A%-a}-k
  ip netns del "$NS_K" 2>/dev/null || true
  ip netns add "$NS_K"
  ip link add a-kme netns "$NS_A" type veth peer name ka netns "$NS_K"
  ip link add b-kme netns "$NS_B" type veth peer name kb netns "$NS_K"
  ip -n "$NS_K" addr add $KME_A_IP/30 dev ka
  ip -n "$NS_K" addr add $KME_B_IP/30 dev kb
  ip -n "$NS_A" addr add 198.51.100.2/30 dev a-kme
  ip -n "$NS_B" addr add 198.51.100.6/30 dev b-kme
  local l
  for l in "$NS_K:ka" "$NS_K:kb" "$NS_K:lo" "$NS_A:a-kme" "$NS_B:b-kme"; do ip -n "${l%%:*}" link set "${l#*:}" up; done
  mkdir -p "$APP_W/kme"
  ip netns exec "$NS_K" "$KMESIM" --dir "$APP_W/kme" --a-listen $KME_A_IP:0 --b-listen $KME_B_IP:0 \
    > "$APP_W/kme.out" 2> "$APP_W/kme.log" &
  # (Not in APP_EXTRA_PIDS: demo.sh waits for those; ppk_cleanup stops it.)
  KME_PID=$!
  wait_for 10 grep -qx ready "$APP_W/kme.out" || { cat "$APP_W/kme.log" >&2; echo "kme-sim did not start" >&2; return 1; }
  local pa pb
  pa=$(cut -d: -f2 "$APP_W/kme/kme-a.addr")
  pb=${1:-$(cut -d: -f2 "$APP_W/kme/kme-b.addr")}
  ppk_xr_add a R1toR2 "$(ppk_skip_stanza a "$pa")"
  ppk_xr_add b R2toR1 "$(ppk_skip_stanza b "$pb")"
  mkdir -p -m 700 "$APP_W/a-state" "$APP_W/b-state"
  sks_ctl a crypto sks trustpoint import R1toR2 "$APP_W/kme/ca.pem" > /dev/null
  sks_ctl b crypto sks trustpoint import R2toR1 "$APP_W/kme/ca.pem" > /dev/null
}

# Stops kme-sim, removes the appliances, then the KME namespace.
ppk_cleanup() {
  [ -n "${KME_PID:-}" ] && app_kill "$KME_PID" TERM
  KME_PID=''
  app_cleanup
  if [ -n "${NS_K:-}" ]; then ip netns del "$NS_K" 2>/dev/null || true; fi
  NS_K=''
  return 0
}

demo_start_md() { if [ -n "${PPK:-}" ]; then ppk_start_md "$1"; else app_start_md "$1"; fi; }

# For scripts/demo.sh --ppk MODE: the PPK source set up, with what was done printed.
ppk_demo_setup() { # sks|skip
  case $1 in
    sks)
      echo "== PPK from SKS: B exports its Classic McEliece public key, A imports it and exports a seed for B, B imports it"
      ppk_sks_setup 1
      echo "   key pair generated and exported in $PPK_KEYGEN_SECS s; MeCe_b_pub $(stat -c %s "$APP_W/MeCe_b_pub") octets, enc_self_peer-2 $(stat -c %s "$APP_W/enc_self_peer-2") octets"
      echo "-- A# macsecctl show crypto sks peer all"; sks_ctl a show crypto sks peer all | sed 's/^/   /'
      echo "-- B# macsecctl show crypto sks peer all"; sks_ctl b show crypto sks peer all | sed 's/^/   /'
      ;;
    skip)
      echo "== PPK from SKIP: kme-sim (two KMEs sharing a simulated QKD link) in namespace ${NS_A%-a}-k; A's profile names KME A, B's KME B; trust point imported"
      ppk_skip_setup
      sed 's/^/   kme-sim: /' "$APP_W/kme.out"
      ;;
    *) echo "ppk_demo_setup: sks or skip, not '$1'" >&2; return 2 ;;
  esac
  echo "-- A's configuration, PPK lines:"; grep -E "^sks profile|^ (kme server|peer-identifier|ppk sks-profile)" "$APP_W/a.xr" | sed 's/^/   /'
}

# One line for the demo's summary: the mode, key IDs and fetch times macsecd logged.
ppk_summary() {
  local ida idb
  ida=$(app_ctl a show macsec mka session detail 2>/dev/null | sed -n 's/^PPK Key ID *: //p')
  idb=$(app_ctl b show macsec mka session detail 2>/dev/null | sed -n 's/^PPK Key ID *: //p')
  printf 'PPK (%s): Key Distribution Mode %s on A, %s on B; latest key ID %s (%s); PPKs fetched A %s, B %s (ms: A %s; B %s)\n' "$PPK" \
    "$(app_ctl a show macsec mka session detail 2>/dev/null | sed -n 's/^Key Distribution Mode *: //p')" \
    "$(app_ctl b show macsec mka session detail 2>/dev/null | sed -n 's/^Key Distribution Mode *: //p')" \
    "${ida:0:20}..." "$([ -n "$ida" ] && [ "$ida" = "$idb" ] && echo same on both || echo DIFFERENT)" \
    "$(grep -c 'obtained in' "$APP_W/a-mka.log" || true)" "$(grep -c 'obtained in' "$APP_W/b-mka.log" || true)" \
    "$(sed -n 's/.*obtained in \([0-9]*\) ms.*/\1/p' "$APP_W/a-mka.log" | paste -sd, -)" \
    "$(sed -n 's/.*obtained in \([0-9]*\) ms.*/\1/p' "$APP_W/b-mka.log" | paste -sd, -)"
}
