#!/usr/bin/env bash
# The main job: two appliances securing a link.
#
#   [ns macsec-a: host A 192.0.2.1] --veth-- [ns macsec-appa: appliance A] ==line veth (MACsec)==
#       [ns macsec-appb: appliance B] --veth-- [ns macsec-b: host B 192.0.2.2]
#
# Each appliance is a macsec-dataplane process in its own namespace (a box of its own) on
# net_af_packet ports over veths. Until MKA lands
# (issues 4-6) the SAs are static (GCM-AES-XPN-256, the lab mode of Juniper's and Arista's static
# SAK). Host A pings host B through both appliances; tshark on the line shows only MACsec; the
# appliances' counters are printed at the end. Everything it creates is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build -q --release -p dataplane --bins
DP=$PWD/target/release/macsec-dataplane
W=$(mktemp -d)
NSA=macsec-a NSB=macsec-b APA=macsec-appa APB=macsec-appb
PIDS=()
delns() { for n in $NSA $NSB $APA $APB; do ip netns del $n 2>/dev/null || true; done; }
cleanup() {
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  delns
  rm -rf "$W" /var/run/dpdk/demo-a$$ /var/run/dpdk/demo-b$$
}
trap cleanup EXIT
delns

for n in $NSA $NSB $APA $APB; do ip netns add $n; done
ip link add mda-host netns $APA type veth peer name eth0 netns $NSA
ip link add mdb-host netns $APB type veth peer name eth0 netns $NSB
ip link add mda-line netns $APA type veth peer name mdb-line netns $APB
# The appliance-side veths carry only what the appliances send: no IPv6 of their namespaces.
for pair in $APA:mda-host $APA:mda-line $APB:mdb-host $APB:mdb-line; do
  ns=${pair%%:*} l=${pair#*:}
  ip netns exec $ns sysctl -qw net.ipv6.conf.$l.disable_ipv6=1
  ip -n $ns link set $l mtu 1600 up
done
ip -n $NSA addr add 192.0.2.1/24 dev eth0
ip -n $NSB addr add 192.0.2.2/24 dev eth0
ip -n $NSA link set eth0 up
ip -n $NSB link set eth0 up

KA=4a7b2f3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708
KB=0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e9fa
SALT=83c37bac7b6f6316098ff3d2
cfg() { # file host line my_sci my_key my_ssci peer_sci peer_key peer_ssci
  cat > "$1" <<EOT
[[link]]
interface = "TenGigE0/0/0/1"
host_port = "$2"
line_port = "$3"
cipher_suite = "GCM-AES-XPN-256"
security_policy = "must-secure"
replay_window = 64
[[link.tx_sa]]
sci = "$4"
an = 0
sak = "$5"
ssci = "$6"
salt = "$SALT"
[[link.rx_sa]]
sci = "$7"
an = 0
sak = "$8"
ssci = "$9"
salt = "$SALT"
EOT
}
cfg "$W/a.toml" net_af_packet0 net_af_packet1 001de5e9aa39001a $KA 00000001 001de5e9b1bf0019 $KB 00000002
cfg "$W/b.toml" net_af_packet0 net_af_packet1 001de5e9b1bf0019 $KB 00000002 001de5e9aa39001a $KA 00000001
EAL=(--no-huge -m 512 --no-pci --log-level lib.eal:error)
# Two cores: appliance A's worker runs on core 1, B's on core 0 (each main lcore sleeps).
ip netns exec $APA "$DP" --config "$W/a.toml" --socket "$W/a.sock" -- "${EAL[@]}" -l 0,1 --main-lcore 0 --file-prefix demo-a$$ \
  --vdev net_af_packet0,iface=mda-host --vdev net_af_packet1,iface=mda-line > "$W/a.json" 2> "$W/a.log" &
PIDS+=($!)
ip netns exec $APB "$DP" --config "$W/b.toml" --socket "$W/b.sock" -- "${EAL[@]}" -l 0,1 --main-lcore 1 --file-prefix demo-b$$ \
  --vdev net_af_packet0,iface=mdb-host --vdev net_af_packet1,iface=mdb-line > "$W/b.json" 2> "$W/b.log" &
PIDS+=($!)
for s in a b; do
  for _ in $(seq 100); do [ -S "$W/$s.sock" ] && break; sleep 0.1; done
  [ -S "$W/$s.sock" ] || { cat "$W/a.log" "$W/b.log"; echo "appliance $s did not start" >&2; exit 1; }
done
echo "== two appliances up; host A (192.0.2.1) pings host B (192.0.2.2) across the secured line"
if command -v tshark >/dev/null; then
  ip netns exec $APB tshark -i mdb-line -c 6 -f "ether proto 0x88e5 or not ether proto 0x88e5" -T fields \
    -e frame.number -e eth.type -e macsec.AN -e macsec.PN -e macsec.SCI.system_identifier > "$W/line.txt" 2>/dev/null &
  TSHARK=$!
  sleep 1
fi
ip netns exec $NSA ping -c 5 -i 0.2 -W 2 192.0.2.2 || PING_FAILED=1
if [ -n "${TSHARK:-}" ]; then
  wait $TSHARK || true
  echo "== what the line carries (tshark on the line veth: EtherType, AN, PN, SCI)"
  cat "$W/line.txt"
  if awk '$2 != "0x88e5" {bad=1} END {exit bad}' "$W/line.txt"; then echo "== every frame on the line is MACsec"; else echo "clear frame on the line" >&2; exit 1; fi
fi
for p in "${PIDS[@]}"; do kill -INT "$p"; done
for p in "${PIDS[@]}"; do wait "$p"; done
PIDS=()
python3 - "$W/a.json" "$W/b.json" ${PING_FAILED:+verbose} <<'PY'
import json, sys
for name, path in zip("AB", sys.argv[1:]):
    r = json.load(open(path))
    c = r["links"][0]["counters"]
    keys = ["OutPktsEncrypted", "InPktsOK", "InPktsLate", "InPktsNotValid", "InPktsNoTag", "InPktsBadTag"]
    print(f"== appliance {name}: " + ", ".join(f"{k} {c[k]}" for k in keys))
    if len(sys.argv) > 3: print(json.dumps(r))
PY
[ -z "${PING_FAILED:-}" ] || { echo "ping across the appliances failed" >&2; exit 1; }
