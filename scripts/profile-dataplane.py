#!/usr/bin/env python3
"""Where a frame's time goes in macsec-dataplane: one worker on net_null (protect) or net_pcap
(validate), sampled with `perf record` (cpu-clock, so it works in VMs without PMU counters), the
samples grouped by what the symbol does, and each group's share of the measured ns per frame.

  scripts/profile-dataplane.py [--binary target/release/macsec-dataplane] [--backend mb]
      [--suite GCM-AES-128] [--sizes 64,1500] [--paths protect,validate] [--seconds 4] [--keep]

Functions the compiler inlined into the worker's loop are counted where they were inlined
(`pipeline`), so the groups are as fine as the binary's symbols allow. Needs perf (linux-perf)
and root. Used for the README's profile before and after issue 17.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import importlib.util  # noqa: E402

spec = importlib.util.spec_from_file_location("bench", os.path.join(ROOT, "scripts/bench-dataplane.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

# (group, regex over "dso symbol"), first match wins.
GROUPS = [
    ("cipher", r"IPSec_MB|mbgcm::|IpsecMbKey|MbKey|shim_imb_|AeadKey>::(seal|open)|RingKey|ring_core|aes_gcm|gcm_|ghash|aesni"),
    ("rx/tx PMD", r"librte_net_null|librte_net_pcap|shim_rte_eth|rx_burst|tx_burst|rte_pktmbuf_free|rte_mempool|common_ring"
                  r"|SharedLink<P>::rx\s*$|DpdkPorts"),
    ("mbuf fields", r"shim_mbuf|Mbuf::|set_window|set_span|buffer_mut|is_contiguous"),
    ("SecTAG, SA, PN, IV", r"seal_frame|prepare_seal|protect_with|parse_mpdu|SecTagRepr|open_prepare|RxSecY::open|RxSecY::validate|iv_for|TxSa::reserve|move_addrs"),
    ("replay, counters", r"Commit::frame|lock_sa|count_sealed|ReplayWindow|release_tx|release_rx"),
    ("ordering, locks", r"order::Ordered|Mutex|futex|release_ready|release_run|finish"),
    ("pipeline (inlined)", r"WorkerLink|worker::run|run_dpdk|poll_host|poll_line|protect_burst|validate_burst|DpdkLink|link::classify"),
    ("kernel, libc, other", r"."),
]


def profile(b, binary, suite, size, path, seconds, work, legacy):
    _, vdevs = b.vdevs(suite, size, 1, path)
    cfg = os.path.join(work, "dp.toml")
    if legacy:
        # A binary from before `workers` and `mtu` (its TOML refuses unknown keys).
        lines = [l for l in open(cfg).read().splitlines() if not l.startswith(("workers =", "mtu ="))]
        open(cfg, "w").write("\n".join(lines) + "\n")
    cmd = [binary, "--config", cfg, "--socket", os.path.join(work, "ctl.sock"), "--duration", str(seconds + 2), "--"]
    cmd += b.eal + ["--file-prefix", b.prefix + "p"]
    for v in vdevs:
        cmd += ["--vdev", v]
    dp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep(1.0)
    data = os.path.join(work, "perf.data")
    subprocess.run(["perf", "record", "-F", "4000", "-p", str(dp.pid), "-o", data, "--", "sleep", str(seconds)],
                   capture_output=True)
    out, _ = dp.communicate(timeout=seconds + 60)
    r = json.loads(out)
    mpps = b.rate(r, path)
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,symbol", "--stdio"],
                         capture_output=True, text=True).stdout
    groups = {g: 0.0 for g, _ in GROUPS}
    for line in rep.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[.\]\s+(.*)", line)
        if not m:
            continue
        pct, what = float(m.group(1)), m.group(2) + " " + m.group(3)
        for g, rx in GROUPS:
            if re.search(rx, what):
                groups[g] += pct
                break
    return mpps, groups


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/macsec-dataplane"))
    ap.add_argument("--backend", default=None)
    ap.add_argument("--suite", default="GCM-AES-128")
    ap.add_argument("--sizes", default="64,1500")
    ap.add_argument("--paths", default="protect,validate")
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--legacy", action="store_true", help="a binary from before workers/mtu in the TOML")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (the last cell's perf.data, for perf annotate)")
    args = ap.parse_args()
    bench.DP = args.binary
    work = tempfile.mkdtemp(prefix="prof-dp-")
    b = bench.Bench(argparse.Namespace(seconds=args.seconds, backend=args.backend, quick=True, no_check=True), work)
    print(f"{bench.cpu_model()}; {args.binary}; backend {args.backend or 'default'}; {args.suite}; one worker")
    print(f"{'path':8} {'size':>5} {'Mpps':>6} {'ns/frame':>8}  " + "  ".join(f"{g}" for g, _ in GROUPS))
    try:
        for path in args.paths.split(","):
            for size in args.sizes.split(","):
                size = size if size == "imix" else int(size)
                mpps, groups = profile(b, args.binary, args.suite, size, path, args.seconds, work, args.legacy)
                ns = 1000 / mpps if mpps else 0
                cells = "  ".join(f"{groups[g] * ns / 100:.1f} ns ({groups[g]:.0f}%)" for g, _ in GROUPS)
                print(f"{path:8} {str(size):>5} {mpps:6.2f} {ns:8.1f}  {cells}")
    finally:
        b.cleanup(keep_work=args.keep)
    if args.keep:
        print(f"work directory kept: {work}")


if __name__ == "__main__":
    main()
