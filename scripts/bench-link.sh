#!/usr/bin/env bash
# Link benchmark: throughput and added latency through two appliances A -> B on veths, MACsec
# (GCM-AES-XPN-256, static SAs) beside the same path with MACsec disabled (plain forwarding:
# should-secure, no SA), back to back in the same run.
#
#   [ns h1: frame-gen] --veth-- [ns A: macsec-dataplane] ==line veth== [ns B: macsec-dataplane] --veth-- [ns h2]
#
# Each appliance is a macsec-dataplane on net_af_packet ports (as in scripts/demo.sh) run with
# --latency, so it reports per-frame latency inside the dataplane (rx burst to tx, TSC,
# hdrhistogram): A's host -> line (protect) and B's line -> host (validate). frame-gen
# (tests/src/bin/frame-gen.rs, raw AF_PACKET sendmmsg) sends a paced stream from h1; h2's veth
# counters give what arrived. For each frame size and offered rate (0 = as fast as frame-gen can
# while the appliances poll), MACsec on and off run back to back with fresh appliances, --repeat
# times; the table shows the median of each figure over the repeats.
#
# Prints frame-gen's own rate (no appliance running), then per size/rate/mode: offered and
# received frames/s, Mbit/s at h2 (frame octets without FCS), loss, latency p50/p99/p99.9 (us) per
# appliance, and MACsec/plain ratios; where frames were lost, the count at each hop. All
# namespaces (mbl<pid>-*) are removed on exit.
# Usage: scripts/bench-link.sh [--seconds N] [--sizes 64,512,1500] [--rates 50000,100000,0]
#                              [--repeat N] [--afp net_af_packet-options]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=3
SIZES=64,512,1500
RATES=50000,100000,0
REPEAT=3
# net_af_packet options: a larger ring than the default 512 frames absorbs scheduling gaps.
AFP=framecnt=4096
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --rates) RATES=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --afp) AFP=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--sizes LIST] [--rates PPS,...(0 = max)] [--repeat N] [--afp net_af_packet-options]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "bench-link: needs root (network namespaces)" >&2; exit 2; }
cargo build -q --release -p dataplane --bins
cargo build -q --release -p macsec-tests --bin frame-gen
DP=$PWD/target/release/macsec-dataplane
GEN=$PWD/target/release/frame-gen
W=$(mktemp -d)
T=mbl$$
H1=$T-h1 H2=$T-h2 NA=$T-a NB=$T-b
PIDS=()
stop_appliances() {
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_appliances
  for n in $H1 $H2 $NA $NB; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$W" /var/run/dpdk/${T}a* /var/run/dpdk/${T}b*
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for n in $H1 $H2 $NA $NB; do ip netns add "$n"; done
ip link add mbl-ah netns $NA type veth peer name eth0 netns $H1
ip link add mbl-bh netns $NB type veth peer name eth0 netns $H2
ip link add mbl-al netns $NA type veth peer name mbl-bl netns $NB
ip -n $H1 link set eth0 address 02:00:00:00:b1:01
ip -n $H2 link set eth0 address 02:00:00:00:b2:02
for pair in $NA:mbl-ah $NA:mbl-al $NB:mbl-bh $NB:mbl-bl $H1:eth0 $H2:eth0; do
  ns=${pair%%:*} l=${pair#*:}
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.$l.disable_ipv6=1
  ip -n "$ns" link set "$l" mtu 1600 up
done
for n in $H1 $H2 $NA $NB; do ip -n "$n" link set lo up; done

SAK=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
SCI_A=02000000a1010001
SALT=83c37bac7b6f6316098ff3d2
dpcfg() { # file mode(macsec|plain) side(a|b)
  {
    cat <<EOT
[[link]]
interface = "TenGigE0/0/0/1"
host_port = "net_af_packet0"
line_port = "net_af_packet1"
cipher_suite = "GCM-AES-XPN-256"
EOT
    if [ "$2" = plain ]; then
      # MACsec disabled: no SA, should-secure forwards in the clear both ways.
      echo 'security_policy = "should-secure"'
    else
      echo 'security_policy = "must-secure"'
      if [ "$3" = a ]; then
        printf '[[link.tx_sa]]\nsci = "%s"\nan = 0\nsak = "%s"\nssci = "00000001"\nsalt = "%s"\n' $SCI_A $SAK $SALT
      else
        printf 'sci = "02000000b2020001"\n[[link.rx_sa]]\nsci = "%s"\nan = 0\nsak = "%s"\nssci = "00000001"\nsalt = "%s"\n' $SCI_A $SAK $SALT
      fi
    fi
  } > "$1"
}
EAL=(--no-huge -m 512 --no-pci --log-level lib.eal:error -l 0,1)
start_appliances() { # mode tag
  dpcfg "$W/a.toml" "$1" a
  dpcfg "$W/b.toml" "$1" b
  rm -f "$W/a.sock" "$W/b.sock"
  # Two cores: A's worker on core 1, B's on core 0 (each main lcore sleeps), as in the demo.
  ip netns exec $NA "$DP" --config "$W/a.toml" --socket "$W/a.sock" --latency -- "${EAL[@]}" --main-lcore 0 --file-prefix ${T}a \
    --vdev "net_af_packet0,iface=mbl-ah,$AFP" --vdev "net_af_packet1,iface=mbl-al,$AFP" > "$W/$2-a.json" 2> "$W/a.log" &
  PIDS+=($!)
  ip netns exec $NB "$DP" --config "$W/b.toml" --socket "$W/b.sock" --latency -- "${EAL[@]}" --main-lcore 1 --file-prefix ${T}b \
    --vdev "net_af_packet0,iface=mbl-bh,$AFP" --vdev "net_af_packet1,iface=mbl-bl,$AFP" > "$W/$2-b.json" 2> "$W/b.log" &
  PIDS+=($!)
  for s in a b; do
    for _ in $(seq 100); do [ -S "$W/$s.sock" ] && break; sleep 0.1; done
    [ -S "$W/$s.sock" ] || { cat "$W/a.log" "$W/b.log" >&2; echo "bench-link: appliance $s did not start" >&2; exit 1; }
  done
  sleep 0.3
}
kstats() { # ns dev: the kernel's rx packets, bytes and dropped of a veth
  ip -n "$1" -s -j link show "$2" | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]["stats64"]["rx"]; print(r["packets"], r["bytes"], r["dropped"])'
}
h2_rx() { kstats $H2 eth0; }
# The kernel's counts where the appliances' net_af_packet sockets receive (A's host veth, B's line
# veth): frames the kernel took that the PMD's ring then dropped show as kernel rx > port rx.
k_rx() { echo "$(kstats $NA mbl-ah) $(kstats $NB mbl-bl)"; }

# frame-gen alone (nothing polls; h1's frames end in A's namespace kernel): what it can offer.
IFS=, read -r -a SIZE_LIST <<< "$SIZES"
for size in "${SIZE_LIST[@]}"; do
  ip netns exec $H1 "$GEN" --iface eth0 --size "$size" --seconds 1
done > "$W/gen-alone.jsonl"

RES=$W/results.tsv
: > "$RES"
IFS=, read -r -a RATE_LIST <<< "$RATES"
echo "bench-link: ${SECS}s per run, ${REPEAT} repeats; sizes ${SIZES}; offered rates ${RATES} (0 = max); net_af_packet ${AFP}" >&2
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for size in "${SIZE_LIST[@]}"; do
  for rate in "${RATE_LIST[@]}"; do
    for rep in $(seq "$REPEAT"); do
      for mode in macsec plain; do
        tag=$mode-$size-$rate-$rep
        start_appliances $mode "$tag"
        read -r p0 b0 _ < <(h2_rx)
        read -r ka0 _ kad0 kb0 _ kbd0 < <(k_rx)
        ip netns exec $H1 "$GEN" --iface eth0 --size "$size" --rate "$rate" --seconds "$SECS" \
          --src 02:00:00:00:b1:01 --dst 02:00:00:00:b2:02 > "$W/$tag-gen.json"
        sleep 0.5
        read -r p1 b1 _ < <(h2_rx)
        read -r ka1 _ kad1 kb1 _ kbd1 < <(k_rx)
        stop_appliances
        echo -e "$size\t$rate\t$mode\t$W/$tag-gen.json\t$((p1 - p0))\t$((b1 - b0))\t$W/$tag-a.json\t$W/$tag-b.json\t$((ka1 - ka0))/$((kad1 - kad0))\t$((kb1 - kb0))/$((kbd1 - kbd0))" >> "$RES"
      done
    done
    echo "bench-link: size $size rate $rate done" >&2
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$RES" "$W/gen-alone.jsonl" "$(nproc)" "$LOAD_BEFORE" "$LOAD_AFTER" "$REPEAT" <<'PY'
import json, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
alone = [json.loads(l) for l in open(sys.argv[2])]
print("frame-gen alone (unpaced, no appliance running): "
      + ", ".join(f"{g['size']} octets {g['pps'] / 1e3:.0f} kpps ({g['pps'] * g['size'] * 8 / 1e6:.0f} Mbit/s)" for g in alone))
print(f"machine: {sys.argv[3]} cores shared by frame-gen, both appliances' busy-polling workers and whatever else runs"
      f" (load average {sys.argv[4]} before, {sys.argv[5]} after); median of {sys.argv[6]} runs per row")
print("latency: inside the dataplane, rx burst -> tx burst per frame (it includes net_af_packet's tx syscall);"
      " A = host->line (protect | plain), B = line->host (validate | plain)")
runs = {}
for size, rate, mode, genf, rxp, rxb, aj, bj, ka, kb in rows:
    g = json.load(open(genf))
    ra, rb = json.load(open(aj)), json.load(open(bj))
    a, b = ra["links"][0], rb["links"][0]
    secs = g["seconds"]
    rxp, rxb = int(rxp), int(rxb)
    la, lb = a["latency"]["protect"], b["latency"]["validate"]
    pa, pb = ra["ports"], rb["ports"]
    r = dict(sent=g["sent"] / secs / 1e3, rx=rxp / secs / 1e3, mbit=rxb * 8 / secs / 1e6,
             loss=100.0 * (g["sent"] - rxp) / g["sent"] if g["sent"] else 0.0,
             a50=la["p50_ns"] / 1e3, a99=la["p99_ns"] / 1e3, a999=la["p99_9_ns"] / 1e3,
             b50=lb["p50_ns"] / 1e3, b99=lb["p99_ns"] / 1e3, b999=lb["p99_9_ns"] / 1e3,
             h1=g["sent"], arx=pa["net_af_packet0"]["rx"], ka=ka, kb=kb,
             atx=pa["net_af_packet1"]["tx"], brx=pb["net_af_packet1"]["rx"], btx=pb["net_af_packet0"]["tx"], h2=rxp,
             enc=a["counters"]["OutPktsEncrypted"], ok=b["counters"]["InPktsOK"])
    runs.setdefault((size, rate, mode), []).append(r)
med = {k: {f: statistics.median(x[f] for x in v) for f in v[0] if f not in ("ka", "kb")} for k, v in runs.items()}
print(f"{'size':>5} {'offered':>8} {'mode':6} {'sent kpps':>9} {'rx kpps':>8} {'rx Mbit/s':>9} {'loss %':>7}"
      f" {'A p50':>7} {'A p99':>7} {'A p99.9':>8} {'B p50':>7} {'B p99':>7} {'B p99.9':>8}  (latency in us)")
notes = []
for (size, rate, mode), r in med.items():
    off = "max" if float(rate) == 0 else f"{float(rate) / 1e3:.0f}k"
    print(f"{size:>5} {off:>8} {mode:6} {r['sent']:9.1f} {r['rx']:8.1f} {r['mbit']:9.1f} {r['loss']:7.2f}"
          f" {r['a50']:7.1f} {r['a99']:7.1f} {r['a999']:8.1f} {r['b50']:7.1f} {r['b99']:7.1f} {r['b999']:8.1f}")
    if mode == "plain" and (size, rate, "macsec") in med:
        m = med[(size, rate, "macsec")]
        q = lambda k: f"{m[k] / r[k]:.2f}" if r[k] else "-"
        print(f"{'':>5} {'':>8} {'ratio':6} {q('sent'):>9} {q('rx'):>8} {q('mbit'):>9} {'':>7}"
              f" {q('a50'):>7} {q('a99'):>7} {q('a999'):>8} {q('b50'):>7} {q('b99'):>7} {q('b999'):>8}")
    for x in runs[(size, rate, mode)]:
        if x["h1"] != x["h2"]:
            notes.append(f"{size:>5} {off:>8} {mode:6} h1 sent {x['h1']} -> kernel A host veth rx/dropped {x['ka']} -> A host port rx {x['arx']}"
                         f" -> A line tx {x['atx']} -> kernel B line veth rx/dropped {x['kb']} -> B line port rx {x['brx']} -> B host tx {x['btx']} -> h2 {x['h2']}")
        if mode == "macsec" and not (x["enc"] == x["atx"] and x["ok"] == x["btx"]):
            notes.append(f"{size:>5} {off:>8} {mode:6} A encrypted {x['enc']} / line tx {x['atx']}; B validated {x['ok']} / host tx {x['btx']}")
print("ratio = macsec / plain (throughput below 1: slower; latency above 1: added latency)")
if notes:
    print("where frames were lost (each run; kernel rx above port rx: the net_af_packet ring overflowed while the worker was not running):")
    print("\n".join(notes))
PY
