# shellcheck shell=bash
# PPK (quantum-safe) key distribution on the two-appliance topology of scripts/lib/appliances.sh,
# shared by scripts/systest-ppk.sh and scripts/demo.sh --ppk. Source it after appliances.sh and
# call app_init first; configurations $APP_W/{a,b}.xr made by app_xr (A is the key server).
#
#   ppk_sks_setup 1|0          # SKS: sks profiles prof-A/prof-B in a.xr/b.xr; B exports its Classic
#                              #   McEliece public key, A imports it and exports a seed, B imports the
#                              #   seed when the argument is 1 (macsecctl, state dirs $APP_W/{a,b}-state)
#   ppk_skip_setup [B_PORT]    # SKIP: namespace <ns prefix>-k with kme-sim (KME A 198.51.100.1 for A,
#                              #   KME B 198.51.100.5 for B over veths), profiles R1toR2/R2toR1 (B's
#                              #   KME port B_PORT when given), the KME CA imported as trust point
#   ppk_xr_add a|b PROFILE STANZA   # adds `ppk sks-profile PROFILE` to policy P1 and the stanza
#   ppk_start_md a|b [ARGS...] # macsecd with --state-dir $APP_W/<side>-state
#   ppk_cleanup                # app_cleanup, then the KME namespace (use as the EXIT trap)
# Sets PPK_KEYGEN_SECS (SKS key generation + export), KME_PID, NS_K.

KMESIM=$APP_ROOT/target/release/kme-sim
KME_A_IP=198.51.100.1 KME_B_IP=198.51.100.5
NS_K=''

# ppk_xr_add a|b PROFILE STANZA: the side's configuration with `ppk sks-profile PROFILE` in policy P1
# and the sks profile STANZA (multi-line) in front.
ppk_xr_add() {
  local f=$APP_W/$1.xr profile=$2 stanza=$3
  { printf '%s\n!\n' "$stanza"; sed "s/^macsec-policy P1\$/macsec-policy P1\n ppk sks-profile $profile/" "$f"; } > "$f.ppk"
  mv "$f.ppk" "$f"
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
  KME_PID=$!
  APP_EXTRA_PIDS+=("$KME_PID")
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

# Removes the appliances (app_cleanup also stops kme-sim, one of the extra pids), then the KME namespace.
ppk_cleanup() {
  app_cleanup
  [ -n "${NS_K:-}" ] && ip netns del "$NS_K" 2>/dev/null
  NS_K=''
  return 0
}
