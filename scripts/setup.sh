#!/usr/bin/env bash
# Idempotent machine setup: every Debian package the build, the tests and the benchmarks need,
# and hugepages when the kernel lets us. Safe to run again; does nothing that is already done.
set -euo pipefail

PKGS=(
  build-essential pkg-config clang libclang-dev
  dpdk dpdk-dev libdpdk-dev libipsec-mb-dev
  libpcap-dev tshark iproute2 iputils-ping python3 ethtool faketime curl
  # The Debian package (scripts/package.sh: dpkg-shlibdeps) and its test on a clean Debian 12
  # root (scripts/test-package.sh: debootstrap, systemd-analyze verify, systemd-nspawn).
  dpkg-dev debootstrap systemd systemd-container
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# rustfmt and clippy (the test command's first checks): rustup's components where they are missing.
for c in rustfmt clippy; do
  if ! cargo "${c/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$c" || { echo "setup: cargo $c is missing and rustup could not add it" >&2; exit 1; }
  fi
done

# cargo-deb, which builds the Debian package (scripts/package.sh), from crates.io.
if ! cargo deb --version >/dev/null 2>&1; then
  echo "setup: installing cargo-deb" >&2
  cargo install -q cargo-deb --locked --version 3.8.0
fi

# Hugepages (best effort: containers often forbid it; every script falls back to --no-huge).
HUGEDIR=${MACSEC_HUGEDIR:-/dev/hugepages-macsec}
if [ -w /proc/sys/vm/nr_hugepages ]; then
  cur=$(cat /proc/sys/vm/nr_hugepages)
  if [ "$cur" -lt 512 ]; then echo 512 > /proc/sys/vm/nr_hugepages 2>/dev/null || true; fi
  mkdir -p "$HUGEDIR"
  if ! mountpoint -q "$HUGEDIR"; then mount -t hugetlbfs nodev "$HUGEDIR" 2>/dev/null || true; fi
fi
exit 0
