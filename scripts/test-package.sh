#!/usr/bin/env bash
# The Debian package on a clean machine: installs macsec-appliance in a fresh Debian 12 root and
# runs it there.
#   scripts/test-package.sh [PACKAGE.deb]     (default: builds it with scripts/package.sh)
#  1. a minbase Debian 12 root with systemd, as a server has (debootstrap from the machine's
#     Debian mirror; systemd's units are what the package's are verified against; the first run keeps
#     it as a tarball in /var/cache/macsec-pkgtest, later runs unpack that: seconds, not minutes;
#     the .debs apt fetches are kept there too)
#  2. `dpkg -i` the package in it (it fails on the missing DPDK libraries), `apt-get install -f`
#     brings them, and the package is configured
#  3. the files: binaries (every library found), units, man pages, conffiles and their modes,
#     the example configuration
#  4. `systemd-analyze verify` of the installed units (on this machine, --root at the new root)
#  5. the operator's steps: the example configuration copied to /etc/macsec, the dataplane's
#     ports set to net_ring vdevs and --no-huge (no NIC, no hugepages here); then each daemon
#     started in the root (chroot, with /proc, /sys, /dev and a fresh /run) by its unit's own
#     ExecStart line, environment file included; `macsecctl show` and the unit's ExecReload
#     (`macsecctl commit`) answer from the root; SIGTERM stops both cleanly; no CAK in any output
#  6. the units under systemd: the root booted by systemd-nspawn, where
#     scripts/lib/package-units.sh enables and starts both units, reloads macsecd (and sees a
#     reload with a bad configuration refused), SIGKILLs the dataplane (systemd restarts it,
#     on systemd 252 macsecd restarts with it) and stops them
#  7. `dpkg --purge` removes the package and its configuration
# Everything it mounts, starts and creates (but the cache) is removed on exit, failed or not.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${MACSEC_PKGTEST_CACHE:-/var/cache/macsec-pkgtest}
SUITE=bookworm
# The mirror this machine's apt uses (a deb822 URIs: line or a one-line deb entry).
mirror() {
  local m
  m=$(grep -hsE '^URIs: .*/debian/?$' /etc/apt/sources.list.d/*.sources | head -1 | awk '{print $2}')
  [ -n "$m" ] || m=$(grep -hsE '^deb (\[[^]]*\] )?https?://[^ ]*/debian/? ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    | head -1 | sed -E 's/^deb (\[[^]]*\] )?//' | awk '{print $1}')
  echo "${m:-http://deb.debian.org/debian}"
}
MIRROR=${MACSEC_PKGTEST_MIRROR:-$(mirror)}

ROOT='' DP_PID='' MD_PID='' W=''
MOUNTS=()
umount_root() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null
  done
  MOUNTS=()
}
cleanup() {
  local rc=$?
  set +e
  for p in $MD_PID $DP_PID; do
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  # Anything still running inside the root (only what this script started can be there).
  if [ -n "$ROOT" ]; then
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && kill -KILL "${p#/proc/}" 2>/dev/null
    done
    sleep 0.2
  fi
  umount_root
  if [ -n "$ROOT" ] && [ -d "$ROOT" ]; then
    # Never remove through a mount that is still there (/dev, /sys of this machine).
    if findmnt -rn -o TARGET | grep -q "^$ROOT"; then
      echo "test-package: mounts remain under $ROOT; not removing it" >&2
      rc=1
    else
      rm -rf --one-file-system "$ROOT"
    fi
  fi
  [ -n "$W" ] && rm -rf "$W"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ok() { echo "  ok   $*"; }
die() { echo "  FAIL $*" >&2; exit 1; }

DEB=${1:-}
if [ -z "$DEB" ]; then
  DEB=$(bash scripts/package.sh)
fi
[ -f "$DEB" ] || die "no package $DEB"
DEB=$(realpath "$DEB")
echo "package: $DEB"

# 1. The clean root.
mkdir -p "$CACHE/apt/partial"
TARBALL=$CACHE/$SUITE-minbase-systemd.tar
if [ ! -f "$TARBALL" ]; then
  echo "debootstrap --variant=minbase --include=systemd $SUITE from $MIRROR (once; cached in $TARBALL)"
  fresh=$(mktemp -d "$CACHE/root.XXXXXX")
  t0=$(date +%s)
  debootstrap --variant=minbase --include=systemd "$SUITE" "$fresh" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log" >&2; rm -rf --one-file-system "$fresh"; die "debootstrap failed"; }
  tar -C "$fresh" --numeric-owner -cf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
  rm -rf --one-file-system "$fresh"
  echo "  debootstrap: $(($(date +%s) - t0)) s"
fi
ROOT=$(mktemp -d /tmp/macsec-pkgtest.XXXXXX)
W=$(mktemp -d /tmp/macsec-pkgtest-work.XXXXXX)
tar -C "$ROOT" --numeric-owner -xf "$TARBALL"
grep -q "Debian GNU/Linux 12" "$ROOT/etc/os-release" || die "the root is not Debian 12"
ok "clean Debian 12 root in $ROOT ($(du -sh "$ROOT" | cut -f1))"

mnt() { # mnt ARGS... TARGET
  mount "$@"
  MOUNTS+=("${*: -1}")
}
mount_root() {
  mnt -t proc proc "$ROOT/proc"
  mnt --bind /sys "$ROOT/sys"
  mnt --bind /dev "$ROOT/dev"
  mnt -t tmpfs -o mode=0755 tmpfs "$ROOT/run"
  mnt --bind "$CACHE/apt" "$ROOT/var/cache/apt/archives"
}
mount_root
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
# Nothing starts services inside the root (there is no init in it anyway).
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

# 2. Install as an operator would: dpkg -i, then apt for the dependencies.
cp "$DEB" "$ROOT/tmp/"
base=$(basename "$DEB")
in_root apt-get update -qq > "$W/apt.log" 2>&1 || { cat "$W/apt.log" >&2; die "apt-get update in the root"; }
if in_root dpkg -i "/tmp/$base" > "$W/dpkg.log" 2>&1; then
  ok "dpkg -i (every dependency was already there)"
else
  grep -E 'depends on' "$W/dpkg.log" | sed 's/^/       /' | head -5
  ok "dpkg -i stopped on the missing dependencies (as expected on a clean root)"
fi
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -f -y -q --no-install-recommends > "$W/apt-f.log" 2>&1 \
  || { tail -30 "$W/apt-f.log" >&2; die "apt-get install -f"; }
status=$(in_root dpkg-query -W -f='${Status} ${Version}' macsec-appliance)
[[ $status == "install ok installed "* ]] || die "package status: $status"
ok "apt-get install -f: installed $status with $(grep -cE '^Setting up ' "$W/apt-f.log") packages set up"

# 3. The files.
for f in /usr/bin/macsec-dataplane /usr/bin/macsecd /usr/bin/macsecctl; do
  [ -x "$ROOT$f" ] || die "$f missing"
  missing=$(in_root ldd "$f" | grep 'not found' || true)
  [ -z "$missing" ] || die "$f: libraries not found: $missing"
done
ok "binaries in /usr/bin, every library they link found"
for u in macsec-dataplane macsecd; do
  [ -f "$ROOT/usr/lib/systemd/system/$u.service" ] || [ -f "$ROOT/lib/systemd/system/$u.service" ] || die "unit $u.service missing"
done
UNITDIR=$ROOT/usr/lib/systemd/system
[ -f "$UNITDIR/macsecd.service" ] || UNITDIR=$ROOT/lib/systemd/system
# Every man page a unit's Documentation= names is in the package (verify runs with --man=no: this
# machine's man knows none of them).
for m in $(grep -ho 'man:[^ ]*' "$UNITDIR/macsec-dataplane.service" "$UNITDIR/macsecd.service"); do
  name=${m#man:} name=${name%%(*} sec=${m##*(} sec=${sec%)}
  [ -f "$ROOT/usr/share/man/man$sec/$name.$sec.gz" ] || die "a unit's Documentation=$m is not in the package"
done
ok "units in ${UNITDIR#"$ROOT"}, their man pages in the package"
for m in macsec-dataplane macsecd macsecctl macsecctl-show macsecctl-commit; do
  p=$ROOT/usr/share/man/man8/$m.8.gz
  [ -f "$p" ] || die "man page $m.8.gz missing"
  zcat "$p" | grep -q "^\.TH $m 8" || die "$m.8.gz is not the page of $m"
done
zcat "$ROOT/usr/share/man/man8/macsecd.8.gz" | grep -q 'dataplane' || die "macsecd.8 has no option text"
ok "man pages ($(ls "$ROOT/usr/share/man/man8" | grep -c '^macsec') in man8)"
conffiles=$(in_root dpkg-query -W -f='${Conffiles}\n' macsec-appliance | awk 'NF {print $1}' | sort | tr '\n' ' ')
[ "$conffiles" = "/etc/macsec/dataplane.env /etc/macsec/dataplane.toml /etc/macsec/macsec.conf " ] \
  || die "conffiles: $conffiles"
for f in macsec.conf dataplane.toml; do
  [ "$(stat -c %a "$ROOT/etc/macsec/$f")" = 600 ] || die "/etc/macsec/$f is mode $(stat -c %a "$ROOT/etc/macsec/$f"), not 600"
done
[ -f "$ROOT/usr/share/doc/macsec-appliance/examples/macsec.conf" ] || die "example configuration missing"
ok "conffiles: $conffiles(macsec.conf and dataplane.toml 0600), example in /usr/share/doc"

# 4. The units, verified against the installed tree.
if systemd-analyze --root="$ROOT" verify --man=no "$UNITDIR/macsec-dataplane.service" "$UNITDIR/macsecd.service" \
  > "$W/verify.log" 2>&1 && ! grep -q . "$W/verify.log"; then
  ok "systemd-analyze verify: both units clean"
else
  cat "$W/verify.log" >&2
  die "systemd-analyze verify"
fi

# 5. Configure and start, as the units would.
# The shipped /etc/macsec/macsec.conf configures nothing: macsecd must refuse to start on it.
if in_root macsecd --config /etc/macsec/macsec.conf > "$W/empty.log" 2>&1; then
  die "macsecd started on the empty shipped configuration"
fi
grep -q "no interface has \`macsec psk-keychain\` configured" "$W/empty.log" || { cat "$W/empty.log"; die "macsecd's refusal"; }
ok "macsecd refuses the shipped (empty) configuration: $(head -1 "$W/empty.log")"
cp "$ROOT/usr/share/doc/macsec-appliance/examples/macsec.conf" "$ROOT/etc/macsec/macsec.conf"
sed -i -e 's/"net_af_packet0"/"net_ring0"/' -e 's/"net_af_packet1"/"net_ring1"/' "$ROOT/etc/macsec/dataplane.toml"
cat > "$ROOT/etc/macsec/dataplane.env" <<'EOF'
EAL_ARGS="-l 0,1 --no-huge -m 256 --no-pci --vdev net_ring0 --vdev net_ring1 --log-level lib.eal:error"
DATAPLANE_ARGS="--idle-sleep-us 1000"
EOF
# RuntimeDirectory= of the units: /run/macsec and /run/dpdk, 0750.
install -d -m 0750 "$ROOT/run/macsec" "$ROOT/run/dpdk"
# unit_line UNIT KEY: the value of KEY= in the installed unit.
unit_line() { sed -n "s/^$2=//p" "$UNITDIR/$1.service" | head -1; }
# Runs a unit's command line in the root as systemd would: its EnvironmentFile's variables, then
# $VAR split into words.
unit_exec() { # unit_exec UNIT KEY
  local line envfile
  line=$(unit_line "$1" "$2")
  envfile=$(unit_line "$1" EnvironmentFile)
  envfile=${envfile#-}
  # exec all the way: the caller's $! is the daemon itself (chroot, env and sh exec it).
  exec chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    /bin/sh -c "${envfile:+set -a; . $envfile; set +a; }exec $line"
}
unit_exec macsec-dataplane ExecStart > "$W/dp.json" 2> "$W/dp.log" &
DP_PID=$!
for _ in $(seq 150); do [ -S "$ROOT/run/macsec/dataplane.sock" ] && break; sleep 0.1; done
[ -S "$ROOT/run/macsec/dataplane.sock" ] || { cat "$W/dp.log" >&2; die "the dataplane did not open its socket"; }
ok "macsec-dataplane up (ExecStart of its unit): $(unit_line macsec-dataplane ExecStart | cut -c1-60)..."
unit_exec macsecd ExecStart > "$W/md.json" 2> "$W/md.log" &
MD_PID=$!
for _ in $(seq 150); do [ -S "$ROOT/run/macsec/macsecd.sock" ] && break; sleep 0.1; done
[ -S "$ROOT/run/macsec/macsecd.sock" ] || { cat "$W/md.log" >&2; die "macsecd did not open its socket"; }
ok "macsecd up (ExecStart of its unit)"
sleep 1
in_root macsecctl show macsec mka session > "$W/show.txt" 2>&1 || { cat "$W/show.txt" >&2; die "macsecctl show macsec mka session"; }
grep -q 'TenGigE0/0/0/1\|Te0/0/0/1' "$W/show.txt" || { cat "$W/show.txt" >&2; die "the show has no interface"; }
ok "macsecctl show macsec mka session answers:"
sed 's/^/       /' "$W/show.txt" | head -8
in_root macsecctl show macsec mka session --json > "$W/show.json" 2>&1 || die "show --json"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$W/show.json" || die "show --json is not JSON"
(unit_exec macsecd ExecReload) > "$W/reload.txt" 2>&1 || { cat "$W/reload.txt" >&2; die "ExecReload (macsecctl commit)"; }
ok "ExecReload (macsecctl commit) applied: $(head -1 "$W/reload.txt")"
# Neither the example's CAKs nor any part of them in anything printed.
for cak in $(grep -oE 'key-string [0-9a-fA-F]{32,}' "$ROOT/etc/macsec/macsec.conf" | awk '{print $2}'); do
  if grep -qi "${cak:0:16}" "$W"/*.log "$W"/*.json "$W"/*.txt; then die "a CAK was printed"; fi
done
ok "no CAK in any log or output"
kill -TERM "$MD_PID"
rc=0; wait "$MD_PID" || rc=$?
MD_PID=''
[ "$rc" = 0 ] || { cat "$W/md.log" >&2; die "macsecd exited $rc on SIGTERM"; }
kill -TERM "$DP_PID"
rc=0; wait "$DP_PID" || rc=$?
DP_PID=''
[ "$rc" = 0 ] || { cat "$W/dp.log" >&2; die "the dataplane exited $rc on SIGTERM"; }
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "TenGigE0/0/0/1" in json.dumps(d)' "$W/dp.json" \
  || die "the dataplane's exit report has no link"
ok "SIGTERM: both stopped cleanly (exit 0), the dataplane printed its counters"

# 6. Under systemd: the root booted by systemd-nspawn (its own systemd 252 as PID 1, a private
# network), where scripts/lib/package-units.sh runs at boot as a oneshot unit: enable --now,
# reload (and a refused one), a dataplane SIGKILL that systemd restarts while macsecd stays and
# reconnects, stop; its results come back in /root/unit-test.out.
umount_root
install -m 0755 scripts/lib/package-units.sh "$ROOT/root/package-units.sh"
printf '%s\n' '[Unit]' 'Description=macsec-appliance package test: its units under systemd' \
  'After=multi-user.target' '[Service]' 'Type=oneshot' 'ExecStart=/root/package-units.sh' \
  '[Install]' 'WantedBy=multi-user.target' > "$ROOT/etc/systemd/system/macsec-unit-test.service"
ln -sf ../macsec-unit-test.service "$ROOT/etc/systemd/system/multi-user.target.wants/macsec-unit-test.service"
# A persistent journal, read from here when a check fails.
mkdir -p "$ROOT/var/log/journal"
t0=$(date +%s)
# --bind-ro=/sys/module: the sysfs nspawn mounts here has no module/ (this sandbox's kernel),
# and DPDK's EAL refuses to start when it cannot see which modules are loaded (VFIO).
timeout -k 10 240 systemd-nspawn -q -D "$ROOT" --boot --register=no --keep-unit --private-network \
  --bind-ro=/sys/module > "$W/nspawn.log" 2>&1 || true
out=$ROOT/root/unit-test.out
if [ ! -f "$out" ] || ! grep -q '^done$' "$out"; then
  tail -30 "$W/nspawn.log" >&2
  [ -f "$out" ] && cat "$out" >&2
  die "the units' test under systemd-nspawn did not finish"
fi
grep -v '^done$' "$out" | sed 's/^/       /'
if grep -q '^FAIL' "$out"; then
  cat "$ROOT/root/unit-test.log" >&2
  journalctl -D "$ROOT/var/log/journal" --no-pager -o short-monotonic -u macsec-dataplane -u macsecd >&2
  die "the units under systemd"
fi
ok "the units under systemd 252 (systemd-nspawn --boot, $(($(date +%s) - t0)) s): $(grep -c '^ok' "$out") checks"
mount_root

# 7. Purge.
in_root dpkg --purge macsec-appliance > "$W/purge.log" 2>&1 || { cat "$W/purge.log" >&2; die "dpkg --purge"; }
for f in /usr/bin/macsecd /usr/bin/macsec-dataplane /etc/macsec/macsec.conf "${UNITDIR#"$ROOT"}/macsecd.service"; do
  [ ! -e "$ROOT$f" ] || die "$f is still there after purge"
done
ok "dpkg --purge removed the package and its conffiles"
echo "package test: passed"
