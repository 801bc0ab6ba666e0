#!/bin/sh
# Run inside the package test's Debian 12 root booted by systemd-nspawn (scripts/test-package.sh),
# by a oneshot unit at boot: the package's units under a real systemd 252, as an operator uses
# them. One line per check in /root/unit-test.out ("ok   ..." or "FAIL ..."), "done" at the
# end; the container powers off however the script ends.
out=/root/unit-test.out
log=/root/unit-test.log
: > "$out"
# On the way out: the units' journal into the log (the host prints it when a check failed).
trap 'systemctl status --no-pager -l macsec-dataplane macsecd >> "$log" 2>&1
  journalctl -b --no-pager -o short-monotonic | grep -i macsec >> "$log" 2>&1
  echo done >> "$out"; systemctl poweroff --no-block' EXIT
say() { echo "$*" >> "$out"; }
check() { # check DESCRIPTION COMMAND...
  d=$1; shift
  if "$@" >> "$log" 2>&1; then say "ok   $d"; else say "FAIL $d"; return 1; fi
}
wait_for() { # wait_for SECONDS COMMAND...
  n=$(($1 * 10)); shift
  while [ "$n" -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done
  return 1
}
prop() { systemctl show -p "$2" --value "$1"; }

check "systemctl enable --now macsec-dataplane macsecd" systemctl enable --now macsec-dataplane macsecd
check "macsecd's socket in /run/macsec within 15 s" wait_for 15 test -S /run/macsec/macsecd.sock || exit 1
check "both units active" sh -c "systemctl is-active macsec-dataplane && systemctl is-active macsecd" || exit 1
check "/run/macsec is 0750 root (RuntimeDirectory)" sh -c '[ "$(stat -c %a:%U /run/macsec)" = 750:root ]'
check "no core files: LimitCORE=0 in both" sh -c '
  for u in macsec-dataplane macsecd; do
    grep -Eq "^Max core file size +0 +0" /proc/$(systemctl show -p MainPID --value $u)/limits || exit 1
  done'
check "macsecctl show macsec mka session answers" sh -c 'macsecctl show macsec mka session | grep -qE "Te(nGigE)?0/0/0/1"'
check "systemctl reload macsecd (ExecReload: macsecctl commit)" systemctl reload macsecd
check "journalctl -u macsecd has the reload's line" sh -c \
  'journalctl -u macsecd --no-pager | grep -q "key chains of TenGigE0/0/0/1 applied"'
# A configuration with an error: the reload fails and the running configuration stays.
cp /etc/macsec/macsec.conf /root/macsec.conf.good
printf 'macsec-policy P1\n cipher-suite GCM-AES-NONE\n!\n' >> /etc/macsec/macsec.conf
check "systemctl reload fails on a configuration with an error" sh -c '! systemctl reload macsecd'
check "macsecd still active after the refused reload" systemctl is-active macsecd
cp /root/macsec.conf.good /etc/macsec/macsec.conf
# The dataplane crashes: systemd restarts it (Restart=on-failure); systemd 252 restarts macsecd
# with it (the restart job goes through Requires=), which comes back connected to the new one.
md=$(prop macsecd MainPID)
dp=$(prop macsec-dataplane MainPID)
kill -KILL "$dp"
check "SIGKILLed dataplane restarted by systemd" wait_for 15 sh -c \
  "[ \"\$(systemctl show -p NRestarts --value macsec-dataplane)\" = 1 ] && systemctl is-active macsec-dataplane && test -S /run/macsec/dataplane.sock"
check "macsecd restarted with it (a new pid), active, its socket back" wait_for 15 sh -c \
  "p=\$(systemctl show -p MainPID --value macsecd); [ \"\$p\" != 0 ] && [ \"\$p\" != $md ] && systemctl is-active macsecd && test -S /run/macsec/macsecd.sock"
check "macsecctl show answers after the restart" sh -c 'macsecctl show macsec mka session | grep -qE "Te(nGigE)?0/0/0/1"'
# macsecd --syslog (a drop-in, as the README says) under the unit's sandbox: its RFC 5424
# messages reach /dev/log, journald's syslog socket here.
mkdir -p /etc/systemd/system/macsecd.service.d
printf '%s\n' '[Service]' 'ExecStart=' \
  'ExecStart=/usr/bin/macsecd --config /etc/macsec/macsec.conf --dataplane /run/macsec/dataplane.sock --socket /run/macsec/macsecd.sock --syslog' \
  > /etc/systemd/system/macsecd.service.d/syslog.conf
systemctl daemon-reload
check "macsecd restarted with --syslog" sh -c 'systemctl restart macsecd && systemctl is-active macsecd'
wait_for 15 test -S /run/macsec/macsecd.sock
check "systemctl reload macsecd with --syslog" systemctl reload macsecd
check "its event reached /dev/log (journal _TRANSPORT=syslog)" wait_for 10 sh -c \
  'journalctl --no-pager _TRANSPORT=syslog | grep -q "MACSECD-6-KEYCHAINS_APPLIED"'
journalctl --no-pager -o cat _TRANSPORT=syslog | grep -m1 KEYCHAINS_APPLIED | sed 's/^/info syslog: /' >> "$out"
rm /etc/systemd/system/macsecd.service.d/syslog.conf
systemctl daemon-reload
systemd-analyze security --no-pager macsecd.service 2>/dev/null | tail -1 | sed 's/^/info /' >> "$out"
systemd-analyze security --no-pager macsec-dataplane.service 2>/dev/null | tail -1 | sed 's/^/info /' >> "$out"
# An explicit stop of the dataplane stops macsecd too (Requires=); the runtime directory goes.
check "systemctl stop macsec-dataplane" systemctl stop macsec-dataplane
check "macsecd stopped with it (Requires=)" sh -c '! systemctl is-active macsecd'
check "both stopped cleanly (no failed unit)" sh -c '! systemctl is-failed macsecd && ! systemctl is-failed macsec-dataplane'
check "the dataplane printed its counters to the journal" sh -c \
  'journalctl -u macsec-dataplane --no-pager | grep -q "\"TenGigE0/0/0/1\""'
check "/run/macsec removed" sh -c '! test -e /run/macsec'
