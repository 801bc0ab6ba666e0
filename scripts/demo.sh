#!/usr/bin/env bash
# The main job: two appliances securing a link.
#
#   [ns macsec-h1: host 1 192.0.2.1] --veth-- [ns macsec-a: appliance A] ==line veth (MACsec)==
#       [ns macsec-b: appliance B] --veth-- [ns macsec-h2: host 2 192.0.2.2]
#
# Each appliance is a macsec-dataplane process in its own namespace (a box of its own) on
# net_af_packet ports over veths, with its macsecd running MKA from an IOS XR configuration (a
# PSK key chain and a user-defined policy with GCM-AES-XPN-256). MKA secures the link; host 1 pings
# host 2 through both appliances and sends it a file over TCP (checked by size and SHA-256); tshark
# on the line shows only MACsec and EAPOL-MKA; the CAK rolls over hitlessly under ping; the
# appliances' show views and counters are printed, and a one-screen summary ends the run.
# Everything it creates is removed on exit. The topology is scripts/lib/appliances.sh.
# `--ppk sks|skip`: the policy has `ppk sks-profile`, SAKs are distributed with a quantum-safe PPK
# from the SKS engine (seed exchanged with macsecctl) or from kme-sim over SKIP (scripts/lib/ppk.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck source=lib/appliances.sh
source scripts/lib/appliances.sh
# shellcheck source=lib/ppk.sh
source scripts/lib/ppk.sh
PPK=''
case "${1:-}${2:-}" in '') ;; --ppksks|--ppkskip) PPK=$2 ;; *) echo "usage: $0 [--ppk sks|skip]" >&2; exit 2 ;; esac
app_build
app_init macsec-demo macsec
trap ppk_cleanup EXIT
W=$APP_W
app_topology

# The appliances' IOS XR configurations: the guide's key chain with a PSK (AES-256-CMAC CAK) and a
# user-defined policy with GCM-AES-XPN-256; A has the lower key-server priority value (it is the key server).
CKN=1234ABCD5678
CAK=4a7b2f3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708
app_xr "$W/a.xr" --priority 16 --key "$CKN $CAK 05:00:00 01 January 2015 infinite"
app_xr "$W/b.xr" --priority 32 --key "$CKN $CAK 05:00:00 01 January 2015 infinite"
[ -z "$PPK" ] || ppk_demo_setup "$PPK"
app_start_dp a must-secure
app_start_dp b must-secure
# The whole run's line traffic, for the summary: A -> B on b-line, B -> A on a-line.
app_capture_start "$W/line-ab.pcap" b
app_capture_start "$W/line-ba.pcap" a
demo_start_md a
demo_start_md b
app_wait_secured 15 || { cat "$W/a-mka.log" "$W/b-mka.log"; echo "MKA did not secure" >&2; exit 1; }
echo "== MKA secured the link in $SECURE_SECS s"
echo "== appliance A: show macsec mka session"
app_ctl a show macsec mka session
echo "== appliance B: show macsec mka session"
app_ctl b show macsec mka session
[ -z "$PPK" ] || { echo "== appliance B: show macsec mka session detail (PPK lines)"; app_ctl b show macsec mka session detail | grep -E "Key Server|Key Distribution|PPK"; }
echo "== MKA events on A:"
grep -oE "%L2-MKA.*CKN:[0-9A-F]+" "$W/a-mka.log" | head -8

echo "== two appliances up; host 1 (192.0.2.1) pings host 2 (192.0.2.2) across the secured line"
for s in a b; do
  ns=$([ $s = a ] && echo "$NS_A" || echo "$NS_B")
  ip netns exec "$ns" tshark -l -i $s-line -a duration:4 -f "ether proto 0x88e5 or ether proto 0x888e" -T fields \
    -e frame.number -e eth.type -e macsec.AN -e macsec.PN -e macsec.SCI.system_identifier > "$W/line-$s.txt" 2> "$W/line-$s.log" &
  APP_EXTRA_PIDS+=($!)
done
for s in a b; do wait_for 15 grep -q "Capturing on" "$W/line-$s.log" || true; done
sleep 0.3
PING1=$(ip netns exec "$NS_H1" ping -c 5 -i 0.2 -W 2 $H2_IP) || PING_FAILED=1
echo "$PING1"
for p in "${APP_EXTRA_PIDS[@]}"; do wait "$p" || true; done
APP_EXTRA_PIDS=()
echo "== what the line carries during the ping (tshark on the line veths: frame, EtherType, AN, PN, SCI)"
echo "-- A -> B (on b-line)"; head -12 "$W/line-b.txt"
echo "-- B -> A (on a-line)"; head -12 "$W/line-a.txt"
if cat "$W/line-a.txt" "$W/line-b.txt" | awk '$2 != "0x88e5" && $2 != "0x888e" {bad=1} END {exit bad}'; then echo "== every frame on the line is MACsec or EAPOL-MKA"; else echo "clear frame on the line" >&2; exit 1; fi

# A TCP transfer from host 1 to host 2: 8 MiB of random octets, checked by size and SHA-256.
echo "== TCP: host 1 sends 8 MiB to host 2 (port 5001) across the secured line"
head -c $((8 * 1024 * 1024)) /dev/urandom > "$W/blob"
ip netns exec "$NS_H2" python3 - $H2_IP 5001 > "$W/tcp-server.txt" <<'PY' &
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); s.settimeout(30)
c, _ = s.accept(); c.settimeout(30)
h, n = hashlib.sha256(), 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b); n += len(b)
c.sendall(f"{n} {h.hexdigest()}".encode()); c.close()
print(n, h.hexdigest())
PY
TCPSRV=$!
APP_EXTRA_PIDS+=("$TCPSRV")
sleep 0.5
ip netns exec "$NS_H1" python3 - $H2_IP 5001 "$W/blob" > "$W/tcp-client.txt" <<'PY' || TCP_FAILED=1
import hashlib, socket, sys, time
data = open(sys.argv[3], "rb").read()
t0 = time.monotonic()
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
c.sendall(data); c.shutdown(socket.SHUT_WR)
reply = b""
while True:
    b = c.recv(256)
    if not b: break
    reply += b
dt = time.monotonic() - t0
n, digest = reply.decode().split()
ok = int(n) == len(data) and digest == hashlib.sha256(data).hexdigest()
print(f"{len(data)} {n} {dt:.3f} {len(data) * 8 / dt / 1e6:.1f} {'match' if ok else 'MISMATCH'} {digest}")
sys.exit(0 if ok else 1)
PY
wait "$TCPSRV" || TCP_FAILED=1
read -r TCP_SENT TCP_RECV TCP_SECS TCP_MBPS TCP_CHECK TCP_SHA < "$W/tcp-client.txt" || true
echo "sent ${TCP_SENT:-?} octets, host 2 received ${TCP_RECV:-?} in ${TCP_SECS:-?} s (${TCP_MBPS:-?} Mbit/s), SHA-256 ${TCP_CHECK:-?}: ${TCP_SHA:-?}"
[ -z "${TCP_FAILED:-}" ] || { echo "TCP transfer across the appliances failed" >&2; exit 1; }

# Hitless CAK rollover: a second key, active from now, is added to both key chains and macsecd
# reloads (SIGHUP) while host 1 keeps pinging; the session moves to the new CKN without loss.
CKN2=5678ABCD1234
CAK2=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
NOW=$(app_xr_time 0)
for s in a b; do
  app_xr "$W/$s.xr" --priority $([ $s = a ] && echo 16 || echo 32) \
    --key "$CKN $CAK 05:00:00 01 January 2015 infinite" --key "$CKN2 $CAK2 $NOW infinite"
done
[ -z "$PPK" ] || ppk_reapply
echo "== CAK rollover: key $CKN2 (active from $NOW UTC) added on both sides, macsecd reloads, pings continue"
ip netns exec "$NS_H1" ping -c 40 -i 0.1 -W 1 $H2_IP > "$W/ping2.txt" 2>&1 &
PING2=$!
sleep 0.5
ROLL_START=$(now)
kill -HUP "$APP_MD_a" "$APP_MD_b"
ROLL_SECS=never
for _ in $(seq 100); do
  if app_ctl a show macsec mka session detail | grep -q "CAK Name (CKN) *: $CKN2" \
    && app_ctl b show macsec mka session detail | grep -q "CAK Name (CKN) *: $CKN2"; then ROLL_SECS=$(elapsed "$ROLL_START" "$(now)"); break; fi
  sleep 0.1
done
wait $PING2 || true
grep -E "packets transmitted" "$W/ping2.txt"
app_ctl a show macsec mka session detail | grep -E "CKN|Status|Latest SAK AN"
grep -q " 0% packet loss" "$W/ping2.txt" || { echo "frames lost during the rollover" >&2; exit 1; }
app_ctl b show macsec mka session detail | grep -q "CAK Name (CKN) *: $CKN2" || { echo "rollover did not happen" >&2; exit 1; }
for view in "macsec mka summary" "macsec policy P1" "running-config macsec-policy" "key chain KC1"; do
  echo "== appliance A: show $view"
  # shellcheck disable=SC2086
  app_ctl a show $view
done
echo "== appliance A: show macsec mka statistics interface $IF (excerpt)"
app_ctl a show macsec mka statistics interface $IF | grep -E "SAKs|MKPDUs Transmitted|Validated|ICV"
SAK_STATS=$(app_ctl a show macsec mka statistics interface $IF | grep -E "SAKs (Generated|Rekeyed)" | tr -s ' .' ' ' | sed 's/^SAKs //' | paste -sd, - | sed 's/,/, /g')
echo "== appliance A: show macsec ea idb interface $IF"
app_ctl a show macsec ea idb interface $IF
echo "== appliance B: show macsec secy statistics interface $IF (excerpt)"
app_ctl b show macsec secy statistics interface $IF | grep -E "InPktsOK|InPktsNotValid|InPktsLate|OutPktsEncrypted|eapol"
PPK_LINE=$([ -z "$PPK" ] || ppk_summary)
# Stop the daemons first (they would report the dataplane going away), then the dataplanes,
# which print their counters on exit; then the line capture.
app_stop_all
app_capture_stop
LINE_AB=$(app_capture_classify "$W/line-ab.pcap")
LINE_BA=$(app_capture_classify "$W/line-ba.pcap")
python3 - "$W/a.json" "$W/b.json" ${PING_FAILED:+verbose} <<'PY'
import json, sys
for name, path in zip("AB", sys.argv[1:]):
    r = json.load(open(path))
    c = r["links"][0]["counters"]
    keys = ["OutPktsEncrypted", "InPktsOK", "InPktsLate", "InPktsNotValid", "InPktsNoTag", "InPktsBadTag"]
    print(f"== appliance {name}: " + ", ".join(f"{k} {c[k]}" for k in keys))
    if len(sys.argv) > 3: print(json.dumps(r))
PY

# One screen: what happened.
P1=$(echo "$PING1" | grep -Eo '[0-9]+ packets transmitted, [0-9]+ received' || echo "no ping result")
P2=$(grep -Eo '[0-9]+ packets transmitted, [0-9]+ received, [0-9.]+% packet loss' "$W/ping2.txt" || echo "no ping result")
CAPDROPS="$(app_capture_drops "$W/line-ab.pcap") $(app_capture_drops "$W/line-ba.pcap")"
python3 - "$W/a.json" "$W/b.json" "$LINE_AB" "$LINE_BA" "$CAPDROPS" "$SECURE_SECS" "$P1" "$P2" "$ROLL_SECS" "$CKN" "$CKN2" \
  "${TCP_SENT:-0} ${TCP_RECV:-0} ${TCP_SECS:-0} ${TCP_MBPS:-0} ${TCP_CHECK:-none}" "$SAK_STATS" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
lab, lba = json.loads(sys.argv[3]), json.loads(sys.argv[4])
lab["drops"], lba["drops"] = sys.argv[5].split()
lab["sent"], lba["sent"] = a["ports"]["net_af_packet1"]["tx"], b["ports"]["net_af_packet1"]["tx"]
secure, p1, p2, roll, ckn, ckn2, tcp, saks = sys.argv[6:14]
def port(r):
    p = r["ports"]["net_af_packet1"]
    return f"rx {p['rx']} tx {p['tx']} drop {p['drop']}"
def frames(l):
    other = ", ".join(f"{k} {v}" for k, v in l["clear_types"].items()) or "none"
    return (f"{l['total']} captured of {l['sent']} sent: MACsec {l['macsec']}, EAPOL-MKA {l['eapol']}, clear {l['clear']} ({other})"
            + (f"; tshark dropped {l['drops']}" if l["drops"] != "0" else ""))
ts, tr, tsec, tmbps, tcheck = tcp.split()
ca, cb = a["links"][0]["counters"], b["links"][0]["counters"]
print("""
================================ demo summary ================================
 link            h1 -- appliance A == line (GCM-AES-XPN-256, must-secure) == appliance B -- h2
 MKA             secured in {secure} s (CKN {ckn}, key server A); SAKs on A: {saks}
 ping h1->h2     {p1}
 TCP h1->h2      {ts} octets sent, {tr} received in {tsec} s ({tmbps} Mbit/s), SHA-256 {tcheck}
 CAK rollover    {ckn} -> {ckn2} under ping in {roll} s: {p2}
 line A->B       {fab}
 line B->A       {fba}
 appliance A     OutPktsEncrypted {aoe}, InPktsOK {aok}, InPktsLate {al}, InPktsNotValid {anv}; line port {aport}
 appliance B     OutPktsEncrypted {boe}, InPktsOK {bok}, InPktsLate {bl}, InPktsNotValid {bnv}; line port {bport}
==============================================================================""".format(
    secure=secure, ckn=ckn, saks=saks or "?", fab=frames(lab), fba=frames(lba), aport=port(a), bport=port(b), p1=p1, ts=ts, tr=tr, tsec=tsec, tmbps=tmbps, tcheck=tcheck,
    ckn2=ckn2, roll=roll, p2=p2, aoe=ca["OutPktsEncrypted"], aok=ca["InPktsOK"], al=ca["InPktsLate"], anv=ca["InPktsNotValid"],
    boe=cb["OutPktsEncrypted"], bok=cb["InPktsOK"], bl=cb["InPktsLate"], bnv=cb["InPktsNotValid"]))
PY
[ -z "$PPK" ] || echo " $PPK_LINE"
[ "$(jget "$LINE_AB" clear)" = 0 ] && [ "$(jget "$LINE_BA" clear)" = 0 ] || { echo "clear frames on the line during the demo" >&2; exit 1; }
[ -z "${PING_FAILED:-}" ] || { echo "ping across the appliances failed" >&2; exit 1; }
