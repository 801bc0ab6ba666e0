#!/usr/bin/env bash
# Builds the Debian package of the appliance, macsec-appliance (metadata: [package.metadata.deb]
# in control/Cargo.toml): the release binaries macsec-dataplane, macsecd and macsecctl, their man
# pages (each binary's `--generate-man DIR`, from its clap definition), then `cargo deb`.
# Prints the path of the .deb (target/debian/macsec-appliance_VERSION-1_ARCH.deb) on stdout.
# Needs cargo-deb (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo deb --version >/dev/null 2>&1; then
  echo "package: cargo-deb is missing (bash scripts/setup.sh installs it)" >&2
  exit 1
fi

echo "package: building the release binaries" >&2
cargo build -q --release -p dataplane --bin macsec-dataplane -p control --bin macsecd --bin macsecctl >&2

# The target dir as cargo sees it (CARGO_TARGET_DIR or a config may move it).
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
MAN=$TARGET/release/man
rm -rf "$MAN"
for b in macsec-dataplane macsecd macsecctl; do
  "$TARGET/release/$b" --generate-man "$MAN"
done
# Reproducible: no name or time stamp in the gzip header.
gzip -9n "$MAN"/*.8
echo "package: $(ls "$MAN" | wc -l) man pages" >&2

# cargo-deb writes the path of the package as its last line of stdout. --strip: the release
# profile keeps line tables (debug = 1) for the benchmarks' profiles; the package does not.
deb=$(cargo deb -p control --no-build --strip | tail -1)
[ -f "$deb" ] || { echo "package: cargo deb did not make a package ($deb)" >&2; exit 1; }
dpkg-deb --info "$deb" | grep -E '^ (Package|Version|Depends|Recommends):' >&2
echo "$deb"
