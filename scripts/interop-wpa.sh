#!/usr/bin/env bash
# Live MKA interop matrix: our whole appliance (macsec-dataplane on net_af_packet + macsecd with
# an IOS XR configuration) against a real wpa_supplicant 2.10 (KaY and CP unmodified, SecY
# simulated by our macsec_sim driver) in network namespaces, one cell per case (key-server
# priority each way and tied both ways, CAK 128/256, CKN 1/16/32 octets, cipher suites,
# include-icv-indicator, wpa_supplicant restarted, wrong CAK, a suite it cannot serve). The
# matrix itself is `tests/src/bin/interop-wpa.rs`; this script builds wpa_supplicant from
# Debian's source package with `tests/interop/wpa/build.sh` (first use, into target/interop-wpa)
# and the release binaries, then runs it.
# Usage: scripts/interop-wpa.sh [interop-wpa options: --hold SECS --cells A,B --json FILE --keep]
set -euo pipefail
cd "$(dirname "$0")/.."
WPADIR=$PWD/target/interop-wpa
bash tests/interop/wpa/build.sh "$WPADIR" >&2
cargo build -q --release -p dataplane -p control -p macsec-tests --bins
exec target/release/interop-wpa --wpa "$WPADIR" "$@"
