#!/usr/bin/env python3
"""Before/after comparison of macsec-dataplane binaries on this shared, noisy machine: the same
cells as scripts/bench-dataplane.py (one worker), every binary run in turn within each round, so
the machine's slow and fast moments hit them alike; the median of the rounds is printed per cell
and binary, with every run. Used for the README's before/after figures of issue 17.

  scripts/ab-dataplane.py --binaries OLD,NEW [--cells validate:64:GCM-AES-128,...] [--rounds 3]
      [--seconds 2] [--latency-pps N] [--backends mb,ipsec-mb]

A cell is PATH:SIZE:SUITE (path protect or validate, size 64..9000 or imix). Build the older
binary from its commit into its own target dir (e.g. `git worktree add`, `cargo build --release
-p dataplane --bins`) and copy it aside. With --latency-pps N each run is a latency run at N
frames/s offered (p50/p99/p99.9 in ns) instead of a throughput run. With --backends each binary
runs once with each backend (e.g. one binary, `--backends mb,ipsec-mb`). Needs root (DPDK, hugepages
when scripts/setup.sh mounted them).
"""
import argparse
import importlib.util
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("bench", os.path.join(ROOT, "scripts/bench-dataplane.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binaries", required=True, help="comma-separated macsec-dataplane binaries")
    ap.add_argument("--cells", default="protect:64:GCM-AES-128,validate:64:GCM-AES-128,"
                                       "protect:1500:GCM-AES-128,validate:1500:GCM-AES-128")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2)
    ap.add_argument("--latency-pps", type=int, default=0)
    ap.add_argument("--backends", default="",
                    help="comma-separated backends (mb, ipsec-mb, ring, rustcrypto) to compare, each "
                         "with every binary (default: the configuration's default)")
    args = ap.parse_args()
    bins = args.binaries.split(",")
    backends = args.backends.split(",") if args.backends else [None]
    for b in bins:
        if not os.access(b, os.X_OK):
            sys.exit(f"ab-dataplane: {b}: not an executable")
    cells = []
    for c in args.cells.split(","):
        try:
            path, size, suite = c.split(":")
        except ValueError:
            sys.exit(f"ab-dataplane: cell {c!r}: want PATH:SIZE:SUITE")
        if path not in ("protect", "validate"):
            sys.exit(f"ab-dataplane: cell {c!r}: path is protect or validate")
        cells.append((path, size if size == "imix" else int(size), suite))
    work = tempfile.mkdtemp(prefix="ab-dp-")
    b = bench.Bench(argparse.Namespace(seconds=args.seconds, backend=None, quick=True, no_check=True), work)
    print(f"ab-dataplane: {bench.cpu_model()}; EAL memory {b.mode}; {args.rounds} rounds of {args.seconds} s",
          file=sys.stderr)
    runs = {}
    try:
        for r in range(args.rounds):
            for path, size, suite in cells:
                for binary, backend in [(x, y) for x in bins for y in backends]:
                    bench.DP = binary
                    b.args.backend = backend
                    if backend:
                        binary = f"{binary} ({backend})"
                    if args.latency_pps:
                        _, lat = b.latency(suite, size, path, args.latency_pps)
                        value = (lat.get("p50_ns"), lat.get("p99_ns"), lat.get("p99_9_ns"))
                    else:
                        value, _ = b.throughput(suite, size, 1, path)
                    runs.setdefault((path, size, suite, binary), []).append(value)
                    print(f"  round {r + 1} {suite} {path} {size} {binary}: {value}", file=sys.stderr)
    finally:
        b.cleanup()
    unit = "p50/p99/p99.9 ns (median of rounds by p99)" if args.latency_pps else "Mpps"
    print(f"{'suite':16} {'path':8} {'size':>5}  {'binary':40} median {unit}; every run")
    for (path, size, suite, binary), v in runs.items():
        if args.latency_pps:
            s = sorted(v, key=lambda x: x[1] or 0)
            med = "/".join(str(x) for x in s[len(s) // 2])
            every = " ".join("/".join(str(x) for x in t) for t in v)
        else:
            s = sorted(v)
            med = f"{s[len(s) // 2]:.2f}"
            every = " ".join(f"{x:.2f}" for x in v)
        print(f"{suite:16} {path:8} {str(size):>5}  {binary:40} {med}; {every}")


if __name__ == "__main__":
    main()
