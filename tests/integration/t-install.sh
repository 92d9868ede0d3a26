#!/bin/bash
# t-install.sh - make install / make uninstall into a staging DESTDIR: every
#	file lands where the man pages say (their section, their FILES
#	paths), an edited config survives a second install, uninstall
#	removes the programs and man pages but not the config, PREFIX moves
#	everything.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
tap_init
mktmp >/dev/null
need_cmd make install

mk() { make --no-print-directory -C "$TOP" "$@"; }

D=$TMP/root
out=$(mk install DESTDIR="$D" PREFIX=/usr 2>&1); rc=$?
is "$rc" 0 "install DESTDIR PREFIX=/usr succeeds"
[ $rc = 0 ] || diag "$out"

for p in relayguard-policyd relayguard-milter relayguardctl; do
	ok "$p in /usr/sbin, executable" test -x "$D/usr/sbin/$p"
done
# Each man page goes into the section its .Dt line names.
for m in "$TOP"/man/*.[58]; do
	sec=$(sed -n 's/^\.Dt [^ ]* \([0-9]\).*/\1/p' "$m")
	ok "$(basename "$m") in share/man/man$sec" \
		cmp -s "$m" "$D/usr/share/man/man$sec/$(basename "$m")"
done
# Every absolute path in a FILES section exists (relative ones name
# files of the source tree, such as contrib/postfix-milter.cf).
files=$(for m in "$TOP"/man/*.[58]; do
	sed -n '/^\.Sh FILES/,/^\.Sh /p' "$m" | sed -n 's/^\.It Pa \(\/[^ ]*\).*/\1/p'
done | sort -u)
isnt "$files" "" "the man pages name files"
for f in $files; do
	ok "FILES path $f installed" test -f "$D$f"
done
is "$(stat -c %a "$D/etc/relayguard/relayguard.conf")" 644 "config mode 0644"
ok "installed config passes relayguard-policyd -t" \
	"$D/usr/sbin/relayguard-policyd" -c "$D/etc/relayguard/relayguard.conf" -t
ok "installed relayguardctl check passes" \
	"$D/usr/sbin/relayguardctl" -c "$D/etc/relayguard/relayguard.conf" check -q

# A second install keeps the administrator's config.
echo '# edited by the administrator' >>"$D/etc/relayguard/relayguard.conf"
sum=$(md5sum <"$D/etc/relayguard/relayguard.conf")
out=$(mk install DESTDIR="$D" PREFIX=/usr 2>&1); rc=$?
is "$rc" 0 "second install succeeds"
is "$(md5sum <"$D/etc/relayguard/relayguard.conf")" "$sum" "second install keeps the edited config"
like "$out" "keeping .*/etc/relayguard/relayguard.conf" "second install says it keeps it"

out=$(mk uninstall DESTDIR="$D" PREFIX=/usr 2>&1); rc=$?
is "$rc" 0 "uninstall succeeds"
left=$(cd "$D" && find . -type f | sort)
is "$left" "./etc/relayguard/relayguard.conf" "uninstall leaves only the config"

# Default PREFIX is /usr/local, with its own etc.
D2=$TMP/local
mk install DESTDIR="$D2" >/dev/null 2>&1
ok "default PREFIX: /usr/local/sbin/relayguard-policyd" test -x "$D2/usr/local/sbin/relayguard-policyd"
ok "default PREFIX: man8 under /usr/local/share/man" test -f "$D2/usr/local/share/man/man8/relayguardctl.8"
ok "default PREFIX: config in /usr/local/etc/relayguard" test -f "$D2/usr/local/etc/relayguard/relayguard.conf"
mk uninstall DESTDIR="$D2" >/dev/null 2>&1
is "$(cd "$D2" && find . -type f | sort)" "./usr/local/etc/relayguard/relayguard.conf" \
	"default PREFIX: uninstall leaves only the config"

done_testing
