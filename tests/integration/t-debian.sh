#!/bin/bash
# t-debian.sh - the Debian package: built by dpkg-buildpackage from a copy of
#	the tree (the clone and its parent stay clean), its files, lintian,
#	then installed on this machine with apt-get: the relayguard user,
#	the conffile, systemd-analyze verify and security on the packaged
#	units, "-t" and "relayguardctl check" as that user, and a packaged
#	config that relays for nobody; purged at the end, leaving the
#	machine as it was.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
tap_init
need_root
need_cmd dpkg-buildpackage dh lintian systemd-analyze apt-get runuser git
if dpkg-query -W -f='${Status}' relayguard 2>/dev/null | grep -q 'ok installed'; then
	skip_all "a relayguard package is installed here already"
fi
mktmp >/dev/null

had_user=0
getent passwd relayguard >/dev/null && had_user=1
purge() {
	dpkg-query -W -f='${Status}' relayguard 2>/dev/null | grep -q installed &&
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 purge -y -qq relayguard
	if [ "$had_user" = 0 ]; then
		getent passwd relayguard >/dev/null && deluser --system --quiet relayguard
		getent group relayguard >/dev/null && delgroup --system --quiet relayguard
	fi
	return 0
}
at_exit purge

# --- build from a copy: the tracked and new files, not build products ----
before=$(git -C "$TOP" status --porcelain --ignored; ls -a "$TOP/..")
mkdir -p "$TMP/src/relayguard"
(cd "$TOP" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) |
	tar -xf - -C "$TMP/src/relayguard"
out=$(cd "$TMP/src/relayguard" && dpkg-buildpackage -b -us -uc 2>&1); rc=$?
is "$rc" 0 "dpkg-buildpackage -b -us -uc builds"
[ "$rc" = 0 ] || { diag "$(tail -30 <<<"$out")"; bail_out "no package"; }
like "$out" "-D_FORTIFY_SOURCE=2" "built with Debian's hardening flags"
after=$(git -C "$TOP" status --porcelain --ignored; ls -a "$TOP/..")
is "$after" "$before" "the tree and its parent directory are untouched"
deb=$(ls "$TMP"/src/relayguard_*.deb 2>/dev/null)
ok "one relayguard_*.deb" test -f "$deb"

# --- contents -------------------------------------------------------------
list=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\.||')
for f in /usr/sbin/relayguard-policyd /usr/sbin/relayguard-milter \
	/usr/sbin/relayguardctl /etc/relayguard/relayguard.conf \
	/usr/share/man/man5/relayguard.conf.5.gz \
	/usr/share/man/man8/relayguard-policyd.8.gz \
	/usr/share/man/man8/relayguard-milter.8.gz \
	/usr/share/man/man8/relayguardctl.8.gz \
	/lib/systemd/system/relayguard-policyd.service \
	/lib/systemd/system/relayguard-milter.service \
	/usr/share/doc/relayguard/copyright \
	/usr/share/doc/relayguard/examples/prometheus/relayguard-rules.yml \
	/usr/share/doc/relayguard/examples/postfix-routing.cf; do
	like "$list" "(^|$(printf '\n'))$(re_quote "$f")($(printf '\n')|$)" "dpkg-deb -c lists $f"
done
mkdir "$TMP/ctrl" && dpkg-deb -e "$deb" "$TMP/ctrl"
is "$(cat "$TMP/ctrl/conffiles")" "/etc/relayguard/relayguard.conf" "the config is the conffile"
like "$(dpkg-deb -f "$deb" Depends)" "adduser" "depends on adduser"
for u in policyd milter; do
	dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "./lib/systemd/system/relayguard-$u.service" >"$TMP/$u.service"
	ok "packaged relayguard-$u.service is contrib's" cmp -s "$TMP/$u.service" "$TOP/contrib/relayguard-$u.service"
done
ok "the copyright file names the ISC licence" grep -q '^License: ISC' "$TMP/src/relayguard/debian/copyright"

lintian --fail-on error "$deb" >"$TMP/lintian" 2>&1; rc=$?
out=$(grep -v 'running with root privileges' "$TMP/lintian")
is "$rc" 0 "lintian --fail-on error: no errors"
unlike "$out" '(^|
)[EW]: ' "lintian: no errors, no warnings"
[ -n "$out" ] && note "lintian: $out"

# --- install on this machine ------------------------------------------------
out=$(cd "$TMP/src" && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq "./$(basename "$deb")" 2>&1); rc=$?
is "$rc" 0 "apt-get install ./relayguard_*.deb"
[ "$rc" = 0 ] || { diag "$out"; bail_out "package not installed"; }
pw=$(getent passwd relayguard)
like "$pw" '^relayguard:x:[0-9]+:[0-9]+:.*:/nonexistent:/usr/sbin/nologin$' "relayguard user, no home, no shell"
uid=$(cut -d: -f3 <<<"$pw")
ok "relayguard is a system user (uid < 1000)" test "${uid:-1000}" -lt 1000
ok "relayguard group exists" getent group relayguard
ok "config installed" test -f /etc/relayguard/relayguard.conf
is "$(stat -c '%U:%G %a' /etc/relayguard/relayguard.conf)" "root:root 644" "config root:root 0644"
for u in policyd milter; do
	unit=/lib/systemd/system/relayguard-$u.service
	out=$(systemd-analyze verify "$unit" 2>&1); rc=$?
	is "$rc" 0 "systemd-analyze verify relayguard-$u.service"
	is "$out" "" "systemd-analyze verify relayguard-$u.service: no warnings"
	out=$(systemd-analyze security --offline=true "$unit" 2>&1)
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
	ok "systemd-analyze security relayguard-$u: $score <= 2.5 (README)" \
		awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.5) }'
	ok "relayguard-$u not enabled on install" \
		test ! -e "/etc/systemd/system/multi-user.target.wants/relayguard-$u.service"
done

# -t and check as the packaged user, on the packaged config (default path).
out=$(runuser -u relayguard -- /usr/sbin/relayguard-policyd -t 2>&1); rc=$?
is "$rc" 0 "relayguard-policyd -t as relayguard"
[ "$rc" = 0 ] || diag "$out"
out=$(runuser -u relayguard -- /usr/sbin/relayguard-milter -t 2>&1); rc=$?
is "$rc" 0 "relayguard-milter -t as relayguard"
out=$(runuser -u relayguard -- /usr/sbin/relayguardctl check 2>&1); rc=$?
is "$rc" 0 "relayguardctl check as relayguard"
like "$out" "customers 0, relay settings 0" "the packaged config names no customer"
# It relays for nobody, from loopback or a private range alike.
for ip in 127.0.0.1 10.0.0.1 192.0.2.1; do
	out=$(runuser -u relayguard -- /usr/sbin/relayguardctl explain --client "$ip" \
		--sasl alice@example.com --tls --from alice@example.com --rcpt bob@example.org 2>&1)
	like "$out" "verdict:  550 5\.7\.0 Mail relay denied" "packaged config refuses $ip"
done
# Its commented example customer is valid once uncommented.
sed -n '/^# customer/,$p' /etc/relayguard/relayguard.conf | sed 's/^# \{0,1\}//' >"$TMP/cust.conf"
cat /etc/relayguard/relayguard.conf "$TMP/cust.conf" >"$TMP/example.conf"
out=$(/usr/sbin/relayguardctl -c "$TMP/example.conf" check -q 2>&1); rc=$?
is "$rc" 0 "the commented example customer is valid"
like "$out" "customers 1" "the example adds one customer"

# --- purge --------------------------------------------------------------------
out=$(DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 purge -y -qq relayguard 2>&1); rc=$?
is "$rc" 0 "apt-get purge relayguard"
nok "package gone" sh -c "dpkg-query -W -f='\${Status}' relayguard 2>/dev/null | grep -q 'ok installed'"
ok "programs gone" test ! -e /usr/sbin/relayguard-policyd
ok "/etc/relayguard gone after purge" test ! -e /etc/relayguard

done_testing
