#!/usr/bin/env bash
# Dataplane benchmark with its references in the same run: macsec-dataplane on one link with 1 and
# 2 workers (and more with --workers), protect and validate paths, 64/512/1500/9000 octets and IMIX
# (7:4:1 of 64/576/1500), against dpdk-testpmd --forward-mode=io on the same vdevs (the framework's
# per-core ceiling) and two independent one-worker links (the machine's own ceiling for two cores);
# plus an order/loss check per cell (sequence-numbered frames protected, then validated with replay
# window 0, by the same workers). Details: scripts/bench-dataplane.py.
#
# Usage: scripts/bench-dataplane.sh [--seconds N] [--suites GCM-AES-128,GCM-AES-XPN-256]
#        [--sizes 64,512,1500,9000,imix] [--workers 1,2] [--backend ring|rustcrypto|ipsec-mb]
#        [--json FILE] [--no-check] [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p dataplane -p control -p macsec-benches --bins
exec python3 scripts/bench-dataplane.py "$@"
