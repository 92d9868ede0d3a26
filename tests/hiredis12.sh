#!/bin/bash
# hiredis12.sh - build relayguard against Debian 13's hiredis 1.2 and run
#	the quota tests with it, on a Debian 12 host, changing nothing there
#
# SYNOPSIS
#	tests/hiredis12.sh		(make hiredis12; part of make check)
#
# DESCRIPTION
#	Debian 13 (trixie) ships hiredis 1.2 (libhiredis.so.1.1.0), whose
#	API differs from 0.14's.  This fetches trixie's libhiredis-dev and
#	libhiredis1.1.0 with apt's own options: a private deb822 sources
#	file (Suites: trixie, the Debian mirror of the host's own sources),
#	private lists and cache under build/hiredis12/, then dpkg-deb -x
#	into build/hiredis12/root.  The signatures are checked with
#	debian-archive-keyring, which on Debian 12 holds the trixie keys
#	since 2023.3+deb12u2; an older one is replaced, for this fetch only,
#	by the current bookworm package's keyring, itself fetched through a
#	private bookworm source checked with the old keyring.  A second run
#	finds the packages there and uses no network (H12_REFRESH=1 fetches
#	again).
#
#	Then the engine, relayguard-policyd, relayguard-milter, relayguardctl
#	and the quota unit test are built with -Werror into build/h12 with
#	that prefix first on the include and library paths (and as rpath);
#	ldd must show libhiredis.so.1.1.0 from the prefix.  A clang build
#	against the same headers turns GCC 14's new errors (incompatible
#	pointer types, int conversion, implicit declarations) on.  Last,
#	the quota unit test and the integration tests that use quotas
#	(t-quota-policyd, t-quota-postfix, t-milter-miltertest, t-ctl) run
#	against the 1.2 binaries (POLICYD_BIN, MILTER_BIN, CTL_BIN).
#
# DIAGNOSTICS
#	TAP; the last line is "N passed, N failed"; with RG_SUMMARY set,
#	"hiredis12 P F" is appended to that file.  Nothing is skipped: an
#	unreachable archive is a failure.  Exit 1 when anything failed.
#
# ENVIRONMENT
#	H12_MIRROR (default: the URI of the host's bookworm source),
#	H12_REFRESH=1, H12_OWN_KEYRING=1 (take the keyring from bookworm's
#	current package even when the host's has the trixie keys).
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/lib/common.sh"

tap_init
summary=${RG_SUMMARY:-}
unset RG_SUMMARY MAKEFLAGS MFLAGS MAKELEVEL
at_exit '[ -n "$summary" ] && echo "hiredis12 $_tap_pass $_tap_fail" >>"$summary"'

DIR=$TOP/build/hiredis12
ROOT=$DIR/root
INC=$ROOT/usr/include
LIBDIR=$ROOT/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
B=build/h12
BC=build/h12-clang
SYSKEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
mkdir -p "$DIR"
LOG=$DIR/log
: >"$LOG"

# --- fetch ---------------------------------------------------------------

# The mirror of the host's bookworm source (deb822 first, then one-line).
host_mirror() {
	local u
	u=$(awk 'BEGIN { RS = "" }
		/(^|\n)Suites:([^\n]*[ \t])?bookworm([ \t]|\n|$)/ &&
		match($0, /(^|\n)URIs:[ \t]*[^ \t\n]+/) {
			u = substr($0, RSTART, RLENGTH); sub(/.*URIs:[ \t]*/, "", u)
			print u; exit
		}' /etc/apt/sources.list.d/*.sources 2>/dev/null)
	[ -n "$u" ] || u=$(awk '$1 == "deb" && $2 !~ /^\[/ && $3 == "bookworm" { print $2; exit }' \
		/etc/apt/sources.list 2>/dev/null)
	printf '%s\n' "${u:-http://deb.debian.org/debian}"
}

# apt_private NAME SUITE KEYRING - apt-get options for a private apt state
#	in $DIR/NAME that sees only SUITE (main) of the mirror; prints them
apt_private() {
	local d=$DIR/$1
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	cat >"$d/$1.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $2
Components: main
Signed-By: $3
EOF
	printf '%s\n' -o "Dir::Etc::SourceList=$d/$1.sources" -o Dir::Etc::SourceParts=/dev/null \
		-o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache"
}

# fetch_debs NAME SUITE KEYRING PKG... - update, download, unpack into $DIR/NAME/root
fetch_debs() {
	local name=$1 suite=$2 keyring=$3 d=$DIR/$1 opts
	shift 3
	mapfile -t opts < <(apt_private "$name" "$suite" "$keyring")
	rm -rf "$d/debs" "$d/root"
	mkdir -p "$d/debs" "$d/root"
	{
		echo "== apt-get update ($suite, $MIRROR, $keyring)"
		apt-get -q "${opts[@]}" update &&
		echo "== apt-get download $*" &&
		(cd "$d/debs" && apt-get -q "${opts[@]}" download "${@/%//$suite}")
	} >>"$LOG" 2>&1 || return 1
	for deb in "$d"/debs/*.deb; do
		[ -f "$deb" ] && dpkg-deb -x "$deb" "$d/root" || return 1
	done
	# apt printing "W: ..." for a failed index still exits 0
	! grep -q '^\(W\|E\): .*\(Failed\|NO_PUBKEY\|not signed\|EXPKEYSIG\)' "$LOG"
}

MIRROR=${H12_MIRROR:-$(host_mirror)}
if [ "${H12_REFRESH:-0}" = 1 ] || [ ! -e "$ROOT/.fetched" ]; then
	keyring=$SYSKEYRING
	if [ "${H12_OWN_KEYRING:-0}" = 1 ] ||
	   [ ! -e /usr/share/keyrings/debian-archive-trixie-automatic.gpg ]; then
		if fetch_debs keyring bookworm "$SYSKEYRING" debian-archive-keyring &&
		   [ -s "$DIR/keyring/root/usr/share/keyrings/debian-archive-trixie-automatic.gpg" ]; then
			keyring=$DIR/keyring/root$SYSKEYRING
			pass "bookworm's current debian-archive-keyring (trixie keys) fetched"
		else
			fail "bookworm's current debian-archive-keyring (trixie keys) fetched" \
				"$(tail -n 15 "$LOG")"
		fi
	fi
	rm -rf "$ROOT"
	if fetch_debs trixie trixie "$keyring" libhiredis-dev libhiredis1.1.0 &&
	   mv "$DIR/trixie/root" "$ROOT"; then
		(cd "$DIR/trixie/debs" && ls *.deb) >"$ROOT/.fetched"
		pass "trixie's libhiredis-dev and libhiredis1.1.0 fetched from $MIRROR"
	else
		fail "trixie's libhiredis-dev and libhiredis1.1.0 fetched from $MIRROR" \
			"the Debian archive must be reachable: this test never skips" \
			"$(tail -n 15 "$LOG")"
		done_testing
	fi
else
	pass "trixie's hiredis packages cached: $(tr '\n' ' ' <"$ROOT/.fetched")"
fi
like "$(sed -n 's/^#define HIREDIS_\(MAJOR\|MINOR\) \([0-9]*\)/\2/p' "$INC/hiredis/hiredis.h" |
	tr '\n' .)" '^1\.2\.$' "the private prefix holds hiredis 1.2 headers"
ok "the private prefix holds libhiredis.so.1.1.0" test -e "$LIBDIR/libhiredis.so.1.1.0"

# --- build ---------------------------------------------------------------

if make -C "$TOP" --no-print-directory -j2 WERROR=1 B=$B BINDIR=$B/ \
	"CFLAGS=-O2 -g -I$INC" "LDFLAGS=-L$LIBDIR -Wl,-rpath,$LIBDIR" \
	all "$B/unit/test_quota" "$B/unit/test_quota_async" "$B/unit/test_txn" >>"$LOG" 2>&1; then
	pass "engine, policyd, milter, ctl, test_quota and test_txn build with -Werror against hiredis 1.2"
else
	fail "engine, policyd, milter, ctl, test_quota and test_txn build with -Werror against hiredis 1.2" \
		"$(grep -E 'error|warning' "$LOG" | head -n 20)"
	done_testing
fi
for bin in policyd/relayguard-policyd milter/relayguard-milter ctl/relayguardctl unit/test_quota unit/test_quota_async unit/test_txn; do
	like "$(ldd "$TOP/$B/$bin" 2>&1 | grep hiredis)" \
		"^[[:space:]]*libhiredis\.so\.1\.1\.0 => $LIBDIR/libhiredis\.so\.1\.1\.0 " \
		"$bin uses the private libhiredis.so.1.1.0"
done
ok "clang, GCC 14's errors on: the same tree builds against hiredis 1.2" \
	make -C "$TOP" --no-print-directory -j2 CC=clang B=$BC BINDIR=$BC/ \
	"CFLAGS=-O1 -I$INC -Wincompatible-pointer-types -Werror=incompatible-pointer-types -Werror=int-conversion -Werror=implicit-function-declaration -Werror=implicit-int" \
	"LDFLAGS=-L$LIBDIR -Wl,-rpath,$LIBDIR" all

# --- run -----------------------------------------------------------------

# The quota and transaction unit tests: one TAP line per cmocka test.
for u in test_quota test_quota_async test_txn; do
	out=$(cd "$TOP" && timeout 300 "$B/unit/$u" 2>&1); rc=$?
	n=0
	declare -A seen=()
	while IFS= read -r line; do
		case $line in	# cmocka lists a failed test twice
		"[       OK ] "*) pass "$u: ${line#*] }"; n=$((n + 1)) ;;
		"[  FAILED  ] test_"*)
			[ -n "${seen[$line]:-}" ] && continue
			seen[$line]=1
			fail "$u: ${line#*] }"; n=$((n + 1)) ;;
		esac
	done <<<"$out"
	unset seen
	[ $rc -eq 0 ] && [ $n -gt 0 ] || fail "$u exits 0" "exit status $rc" "$(tail -n 30 <<<"$out")"
done

# An integration test against the 1.2 binaries: its TAP lines, renumbered.
run_t() {
	local t=$1 log=$DIR/$1.log rc n=0 line
	env POLICYD_BIN="$TOP/$B/policyd/relayguard-policyd" \
	    MILTER_BIN="$TOP/$B/milter/relayguard-milter" \
	    CTL_BIN="$TOP/$B/ctl/relayguardctl" \
	    timeout 600 "$TOP/tests/integration/$t.sh" >"$log" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) pass "$t: ${line#ok * - }"; n=$((n + 1)) ;;
		"not ok "*) fail "$t: ${line#not ok * - }" "see $log"; n=$((n + 1)) ;;
		esac
	done <"$log"
	[ $rc -eq 0 ] && [ $n -gt 0 ] || fail "$t exits 0" "exit status $rc" "$(tail -n 30 "$log")"
}
for t in t-quota-policyd t-quota-postfix t-milter-miltertest t-ctl; do
	run_t "$t"
done

done_testing
