# tests/lib/common.sh - TAP helpers, temp dir, cleanup hooks, ports (bash)
#
# SYNOPSIS
#	. "$(dirname "$0")/../lib/common.sh"
#	tap_init
#	mktmp			# sets TMP, removed at exit unless KEEP_TMP=1
#	at_exit "kill 1234"	# hooks run in reverse order on EXIT/INT/TERM
#	ok "desc" cmd args...	# passes when cmd exits 0
#	is "$got" "$want" "desc"; like "$got" 'ERE' "desc"; unlike ...
#	done_testing		# "1..N", "N passed, N failed"; exit 1 on failure
#
# DESCRIPTION
#	Each assertion prints one TAP line as it runs ("ok 3 - desc" or
#	"not ok 3 - desc" followed by "# " diagnostics with got/expected).
#	Nothing here uses "set -e": a failed assertion never stops a test,
#	and every server registered with at_exit is stopped however the
#	script ends (normal end, failed command, ^C, SIGTERM).
#
#	Environment: TMPDIR (parent of the temp dir), KEEP_TMP=1 (keep the
#	temp dir and say where it is), VERBOSE=1 (print diagnostics of
#	passing tests too).
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

[ -n "${_RG_COMMON_SH:-}" ] && return 0
_RG_COMMON_SH=1

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TOP
TEST_NAME=$(basename "${0%.sh}")

_tap_n=0
_tap_pass=0
_tap_fail=0
_tap_done=0
_exit_hooks=()
_cleanup_ran=0
TMP=

# tap_init - reset the counters and install the cleanup traps
tap_init() {
	_tap_n=0 _tap_pass=0 _tap_fail=0 _tap_done=0
	trap '_run_cleanup EXIT; exit $?' EXIT
	trap '_run_cleanup INT; exit 130' INT
	trap '_run_cleanup TERM; exit 143' TERM
}

# diag - print a TAP diagnostic line per argument line
diag() {
	local arg line
	for arg in "$@"; do
		[ -n "$arg" ] || continue
		while IFS= read -r line; do
			printf '# %s\n' "$line"
		done <<<"$arg"
	done
}

note() { diag "$@"; }

_tap_result() {	# _tap_result STATUS DESC [DIAG...]
	local st=$1 desc=$2
	shift 2
	_tap_n=$((_tap_n + 1))
	if [ "$st" = 0 ]; then
		_tap_pass=$((_tap_pass + 1))
		printf 'ok %d - %s\n' "$_tap_n" "$desc"
		[ "${VERBOSE:-0}" = 1 ] && [ $# -gt 0 ] && diag "$@"
	else
		_tap_fail=$((_tap_fail + 1))
		printf 'not ok %d - %s\n' "$_tap_n" "$desc"
		[ $# -gt 0 ] && diag "$@"
	fi
	return "$st"
}

# pass / fail - record an outcome decided by the caller
pass() { _tap_result 0 "$1"; }
fail() { local d=$1; shift; _tap_result 1 "$d" "$@"; }

# ok DESC CMD... - passes when CMD exits 0 (its output shown on failure)
ok() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		_tap_result 0 "$desc"
	else
		_tap_result 1 "$desc" "command: $*" "exit status: $rc" \
			"${out:+output: $out}"
	fi
}

# nok DESC CMD... - passes when CMD exits non-zero
nok() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -ne 0 ]; then
		_tap_result 0 "$desc"
	else
		_tap_result 1 "$desc" "command: $*" \
			"expected failure, got exit status 0" "${out:+output: $out}"
	fi
}

# is ACTUAL EXPECTED DESC - string equality
is() {
	if [ "$1" = "$2" ]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3" "     got: '$1'" "expected: '$2'"
	fi
}

# isnt ACTUAL UNEXPECTED DESC - string inequality
isnt() {
	if [ "$1" != "$2" ]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3" "     got: '$1'" "expected anything else"
	fi
}

# like ACTUAL ERE DESC - ACTUAL matches the extended regex
like() {
	if [[ $1 =~ $2 ]]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3" "     got: '$1'" "expected to match: /$2/"
	fi
}

# unlike ACTUAL ERE DESC - ACTUAL does not match the extended regex
unlike() {
	if ! [[ $1 =~ $2 ]]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3" "     got: '$1'" "expected not to match: /$2/"
	fi
}

# skip DESC [REASON] - record a skipped test (counts as passed)
skip() {
	_tap_n=$((_tap_n + 1))
	_tap_pass=$((_tap_pass + 1))
	printf 'ok %d - %s # SKIP %s\n' "$_tap_n" "$1" "${2:-}"
}

# skip_all REASON - the whole test cannot run here: TAP skip, exit 0
skip_all() {
	printf '1..0 # SKIP %s\n' "$1"
	printf '0 passed, 0 failed\n'
	_tap_done=1
	exit 0
}

# bail_out REASON - a precondition failed: stop now, exit 1
bail_out() {
	printf 'Bail out! %s\n' "$1"
	_tap_fail=$((_tap_fail + 1))
	done_testing
}

# done_testing - print the plan and the summary; exit 1 if anything failed
done_testing() {
	_tap_done=1
	[ "${KEEP_TMP:-0}" = 1 ] && [ -n "$TMP" ] && printf '# kept temp dir %s\n' "$TMP"
	printf '1..%d\n' "$_tap_n"
	printf '%d passed, %d failed\n' "$_tap_pass" "$_tap_fail"
	[ "$_tap_fail" -eq 0 ] && exit 0
	exit 1
}

# at_exit CMD - register a cleanup command (run in reverse order, via eval)
at_exit() {
	_exit_hooks+=("$1")
}

_run_cleanup() {
	local rc=$? i
	[ "$_cleanup_ran" = 1 ] && return "$rc"
	_cleanup_ran=1
	trap - INT TERM
	for ((i = ${#_exit_hooks[@]} - 1; i >= 0; i--)); do
		eval "${_exit_hooks[$i]}" >/dev/null 2>&1 </dev/null
	done
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		if [ "${KEEP_TMP:-0}" = 1 ]; then
			[ "$_tap_done" = 1 ] || printf '# kept temp dir %s\n' "$TMP"
		else
			rm -rf -- "$TMP"
		fi
	fi
	if [ "$_tap_done" = 0 ] && [ "$_tap_n" -gt 0 ]; then
		printf '# test script ended before done_testing (%s, status %d)\n' \
			"$1" "$rc"
		printf '%d passed, %d failed\n' "$_tap_pass" "$((_tap_fail + 1))"
		rc=1
	fi
	return "$rc"
}

# mktmp - create the per-test temp dir once; sets and prints TMP
#	Mode 0755 so that unprivileged daemons (user postfix) can enter it.
mktmp() {
	if [ -z "$TMP" ]; then
		TMP=$(mktemp -d "${TMPDIR:-/tmp}/rg-${TEST_NAME}.XXXXXX") ||
			bail_out "cannot create temp dir"
		chmod 755 "$TMP"
		export TMP
	fi
	printf '%s\n' "$TMP"
}

# port_in_use PORT [HOST] - true when something listens on HOST:PORT (TCP)
port_in_use() {
	local port=$1 host=${2:-127.0.0.1}
	if command -v ss >/dev/null 2>&1; then
		ss -Hltn "sport = :$port" 2>/dev/null |
			awk -v h="$host" -v p="$port" '
			    { a = $4 }
			    a == h ":" p || a == "0.0.0.0:" p || a == "*:" p ||
			    a == "[::]:" p || a ~ "^127\\..*:" p "$" && h ~ /^127\./ \
			        { f = 1 }
			    END { exit !f }'
	else
		(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
	fi
}

# free_port - print an unused 127.0.0.1 TCP port (kernel-chosen when perl
#	can bind port 0, else a random one that nothing listens on)
_free_ports_given=" "
free_port() {
	local p i
	for ((i = 0; i < 50; i++)); do
		p=$(perl -MIO::Socket::INET -e '
			my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
			    LocalPort => 0, Proto => "tcp", Listen => 1) or exit 1;
			print $s->sockport, "\n"' 2>/dev/null) ||
			p=$((20000 + RANDOM % 40000))
		# never hand out the same port twice in one test
		case $_free_ports_given in *" $p "*) continue ;; esac
		port_in_use "$p" && continue
		_free_ports_given+="$p "
		printf '%s\n' "$p"
		return 0
	done
	return 1
}

# wait_until TIMEOUT_S CMD... - poll CMD every 0.1 s; false on timeout
wait_until() {
	local t=$1 end
	shift
	end=$((SECONDS + t))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# wait_port HOST PORT TIMEOUT_S - wait until a TCP listener is up
wait_port() {
	wait_until "${3:-10}" port_in_use "$2" "$1"
}

# wait_port_gone HOST PORT TIMEOUT_S - wait until nothing listens there
wait_port_gone() {
	local t=${3:-10} end=$((SECONDS + ${3:-10}))
	while port_in_use "$2" "$1"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
	return 0
}

# wait_file PATH TIMEOUT_S - wait until PATH exists
wait_file() {
	wait_until "${2:-10}" test -e "$1"
}

# kill_wait PID [TIMEOUT_S] - SIGTERM, wait, then SIGKILL; reaps children.
#	Returns the exit status of PID when it is a child of this shell
#	(143 = died of SIGTERM, 137 = had to be SIGKILLed, 139 = SIGSEGV)
kill_wait() {
	local pid=$1 t=${2:-5} end
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return; }
	kill -TERM "$pid" 2>/dev/null
	end=$((SECONDS + t))
	while kill -0 "$pid" 2>/dev/null; do
		# a zombie child of ours counts as gone once reaped
		if ! ps -o stat= -p "$pid" 2>/dev/null | grep -qv Z; then
			break
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		sleep 0.1
	done
	wait "$pid" 2>/dev/null
}

# need_cmd CMD... - skip the whole test when a tool is missing
need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "$c not installed"
	done
}

# need_root - skip the whole test unless running as root
need_root() {
	[ "$(id -u)" = 0 ] || skip_all "must run as root"
}

# re_quote STRING - STRING with every ERE metacharacter escaped
re_quote() {
	printf '%s' "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g'
}
