#!/usr/bin/env bash
# Builds the interop peer: wpa_supplicant 2.10 from Debian's `wpa` source package, with our
# macsec_sim driver (driver_macsec_sim.c, hooked in by macsec_sim.patch) so that its MKA runs on a
# kernel without the macsec link type. wpa_supplicant's KaY and CP are not changed.
# Usage: tests/interop/wpa/build.sh OUTDIR   -> OUTDIR/bin/{wpa_supplicant,wpa_cli}
# Idempotent: does nothing when OUTDIR/bin/wpa_supplicant is newer than this recipe.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: build.sh OUTDIR}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
BIN=$OUT/bin/wpa_supplicant
if [ -x "$BIN" ] && [ "$BIN" -nt "$HERE/driver_macsec_sim.c" ] && [ "$BIN" -nt "$HERE/macsec_sim.patch" ] \
   && [ "$BIN" -nt "$HERE/build.config" ] && [ "$BIN" -nt "$HERE/build.sh" ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# A deb-src twin of the machine's Debian sources (deb822 or one-line format), so that
# `apt-get source` finds the package; left in place for the next build.
SRCLIST=/etc/apt/sources.list.d/macsec-interop-src.sources
if ! apt-get source --print-uris -qq wpa >/dev/null 2>&1; then
  if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
    cat /etc/apt/sources.list.d/*.sources | sed 's/^Types: deb$/Types: deb-src/' > "$SRCLIST.tmp"
  else
    grep -h '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' > "${SRCLIST%.sources}.list"
  fi
  [ -f "$SRCLIST.tmp" ] && mv "$SRCLIST.tmp" "$SRCLIST"
  apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends dpkg-dev build-essential pkg-config xz-utils >/dev/null
SRC=$OUT/src
mkdir -p "$SRC"
cd "$SRC"
if ! ls wpa_2.10.orig.tar.* >/dev/null 2>&1; then
  apt-get source -qq --download-only wpa >/dev/null 2>&1
fi
rm -rf wpa-2.10
tar xf wpa_2.10.orig.tar.*
cd wpa-2.10
patch -p1 -s < "$HERE/macsec_sim.patch"
cp "$HERE/driver_macsec_sim.c" src/drivers/
cp "$HERE/build.config" wpa_supplicant/.config
make -C wpa_supplicant -j"$(nproc)" wpa_supplicant wpa_cli > "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log" >&2; exit 1; }
mkdir -p "$OUT/bin"
cp wpa_supplicant/wpa_supplicant wpa_supplicant/wpa_cli "$OUT/bin/"
echo "interop: built $OUT/bin/wpa_supplicant (wpa_supplicant 2.10 with the macsec_sim driver)" >&2
