#!/usr/bin/env bash
# The test command: installs what the tests need, then runs every layer.
#   1. cargo test over the workspace (unit, vector, property and CLI tests)
#   2. the demos as end-to-end checks: two appliances securing a veth link (scripts/demo.sh) and
#      the offline pcap demo (scripts/demo-pcap.sh)
#   3. the system tests (tests/tests/system.rs, #[ignore]d Rust tests run with --ignored
#      --test-threads=1 on the release binaries): two appliances under traffic and faults —
#      must-secure and should-secure, SAK rekeys, CAK rollover, fallback PSK, macsecd restart, key
#      expiry, replay; and the PPK system tests (tests/tests/system_ppk.rs, the same way): SKS and
#      SKIP (kme-sim) PPK, rekeys, and the peers that cannot obtain the PPK; and the
#      PN-exhaustion test (tests/tests/system_pn.rs); and the fault-injection test
#      (tests/tests/system_faults.rs: 20 SIGKILLs, clock steps and EAPOL floods under traffic)
#   4. the AF_PACKET helper's root tests (tests/tests/afpacket.rs: frame-gen, two mka-peers on a
#      veth pair), then the live MKA interop matrix against wpa_supplicant 2.10
#      (scripts/interop-wpa.sh; builds it from Debian's source package with tests/interop/wpa on
#      first use)
#   0. cargo fmt --check and cargo clippy --all-targets -D warnings (before everything)
#   5. the Debian package (scripts/package.sh) installed and started on a clean Debian 12 root
#      (scripts/test-package.sh: debootstrap, cached in /var/cache/macsec-pkgtest)
#   6. a fuzz smoke run of every cargo-fuzz target (FUZZ_SECONDS each, default 30; 0 skips)
#   and after the cargo tests, the multi-buffer AES-GCM's 10-million-frame differential test and
#   the AEAD backends' tests with the code paths capped as on AMD Zen 2 and Zen 3
# Pass/fail of every step is its exit status; the greps only print summaries.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
FUZZ_SECONDS=${FUZZ_SECONDS:-30}

echo "== cargo fmt --check, cargo clippy -D warnings (the workspace and both fuzz crates' formatting)"
cargo fmt --all --check
for f in control/fuzz dataplane/fuzz; do cargo fmt --check --manifest-path $f/Cargo.toml; done
cargo clippy --workspace --all-targets --release -- -D warnings

echo "== cargo test --workspace"
# Pass/fail is cargo's exit status; the grep only prints a summary.
rc=0
cargo test --workspace --release > /tmp/macsec-cargo-test.log 2>&1 || rc=$?
grep -E '^(test result|error|failures|---- )' /tmp/macsec-cargo-test.log || true
if [ "$rc" != 0 ]; then
  grep -E -A30 '^failures:' /tmp/macsec-cargo-test.log | head -80
  echo "cargo test failed" >&2
  exit 1
fi

# The multi-buffer AES-GCM against ring on 10 million random frames (every code path this CPU has:
# AES-NI, VAES on ymm, VAES on zmm), an #[ignore]d test of the macsec crate: about 20 s.
echo "== multi-buffer AES-GCM: 10M frames against ring (mbgcm::tests::differential_vs_ring_10m)"
cargo test --release -p macsec --lib mbgcm::tests::differential_vs_ring_10m -- --ignored --nocapture 2>&1 \
  | grep -E '^(aesni|vaes256|vaes512|total):|^test result' || { echo "mbgcm 10M differential test failed" >&2; exit 1; }

# The AEAD backends' tests again as a CPU without AVX-512 (AMD Zen 3: VAES on ymm) and without
# VAES (AMD Zen 2: AES-NI) would run them: MACSEC_MB_PATH caps our kernels' path, and
# intel-ipsec-mb then runs its AVX2 code, so `MbKey`'s routing between the two is tested as there.
for cap in vaes256 aesni; do
  echo "== AEAD backends as on a CPU whose best path is $cap (MACSEC_MB_PATH=$cap)"
  MACSEC_MB_PATH=$cap cargo test --release -p macsec --lib crypto -- --nocapture > /tmp/macsec-cap.log 2>&1 \
    || { grep -E -A20 '^failures:|panicked' /tmp/macsec-cap.log | head -60; echo "AEAD tests with MACSEC_MB_PATH=$cap failed" >&2; exit 1; }
  grep -E '^test result|^MACSEC_MB_PATH=' /tmp/macsec-cap.log
  grep -q "^MACSEC_MB_PATH=$cap honoured" /tmp/macsec-cap.log \
    || { echo "MACSEC_MB_PATH=$cap was not checked (mb_path_cap_is_honoured)" >&2; exit 1; }
done

for demo in demo demo-pcap; do
  echo "== $demo"
  bash scripts/$demo.sh > /tmp/macsec-$demo.log 2>&1 || { cat /tmp/macsec-$demo.log; echo "$demo failed" >&2; exit 1; }
  tail -3 /tmp/macsec-$demo.log
done

# The system tests are #[ignore]d Rust tests (root, namespaces) on the release binaries, one at a
# time; pass/fail is cargo's exit status, the grep only prints what they measured.
echo "== system tests (cargo test --release -p macsec-tests --test system -- --ignored --test-threads=1)"
cargo build --release --bins
rc=0
cargo test --release -p macsec-tests --test system -- --ignored --test-threads=1 --nocapture > /tmp/macsec-systest.log 2>&1 || rc=$?
if [ "$rc" != 0 ]; then cat /tmp/macsec-systest.log; echo "system tests failed" >&2; exit 1; fi
grep -E '^(test |  measured:|  PASS |test result)' /tmp/macsec-systest.log || true
echo "== PPK system tests (cargo test --release -p macsec-tests --test system_ppk -- --ignored --test-threads=1)"
rc=0
cargo test --release -p macsec-tests --test system_ppk -- --ignored --test-threads=1 --nocapture > /tmp/macsec-systest-ppk.log 2>&1 || rc=$?
if [ "$rc" != 0 ]; then cat /tmp/macsec-systest-ppk.log; echo "PPK system tests failed" >&2; exit 1; fi
grep -E '^(test |  measured:|  PASS |test result)' /tmp/macsec-systest-ppk.log || true

echo "== PN-exhaustion system test (cargo test --release -p macsec-tests --test system_pn -- --ignored)"
rc=0
cargo test --release -p macsec-tests --test system_pn -- --ignored --test-threads=1 --nocapture > /tmp/macsec-systest-pn.log 2>&1 || rc=$?
if [ "$rc" != 0 ]; then cat /tmp/macsec-systest-pn.log; echo "PN-exhaustion system test failed" >&2; exit 1; fi
grep -E '^(test |  measured:|  PASS |test result)' /tmp/macsec-systest-pn.log || true

echo "== fault-injection system test (cargo test --release -p macsec-tests --test system_faults -- --ignored)"
rc=0
cargo test --release -p macsec-tests --test system_faults -- --ignored --test-threads=1 --nocapture > /tmp/macsec-systest-faults.log 2>&1 || rc=$?
if [ "$rc" != 0 ]; then cat /tmp/macsec-systest-faults.log; echo "fault-injection system test failed" >&2; exit 1; fi
grep -E '^(test |  measured:|  PASS |  fault seed|  EAPOL flood at|  [A-Za-z0-9 +-]+ +\| |  plaintext|test result)' /tmp/macsec-systest-faults.log || true

echo "== AF_PACKET helper, frame-gen and two mka-peers on a veth pair (cargo test --test afpacket -- --ignored)"
rc=0
cargo test --release -p macsec-tests --test afpacket -- --ignored --test-threads=1 > /tmp/macsec-afpacket.log 2>&1 || rc=$?
if [ "$rc" != 0 ]; then cat /tmp/macsec-afpacket.log; echo "AF_PACKET tests failed" >&2; exit 1; fi
grep -E '^test ' /tmp/macsec-afpacket.log || true

echo "== MKA interop matrix with wpa_supplicant 2.10 (scripts/interop-wpa.sh)"
bash scripts/interop-wpa.sh --json /tmp/macsec-interop.json > /tmp/macsec-interop.log 2>&1 || { cat /tmp/macsec-interop.log; echo "interop failed" >&2; exit 1; }
grep -vE '^(interop:|work files)' /tmp/macsec-interop.log

echo "== the Debian package on a clean Debian 12 root (scripts/package.sh, scripts/test-package.sh)"
bash scripts/test-package.sh > /tmp/macsec-package.log 2>&1 || { cat /tmp/macsec-package.log; echo "package test failed" >&2; exit 1; }
grep -E '^(package:|  ok |package test)' /tmp/macsec-package.log

if [ "$FUZZ_SECONDS" != 0 ]; then
  for t in $(scripts/fuzz.sh --list); do
    echo "== fuzz $t ${FUZZ_SECONDS}s"
    scripts/fuzz.sh "$t" "$FUZZ_SECONDS"
  done
fi

passed=$(grep -Eo '^test result: ok\. [0-9]+ passed' /tmp/macsec-cargo-test.log | awk '{s+=$4} END {print s}')
echo "all layers passed: $passed cargo tests, demos, system tests, wpa_supplicant interop, Debian package, fuzz smoke"
