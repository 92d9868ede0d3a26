# tests/milter/lib.sh - run relayguard-milter and miltertest scripts (bash)
# shellcheck shell=bash
#
# SYNOPSIS
#	. "$TOP/tests/milter/lib.sh"	# after common.sh, tap_init, mktmp
#	milter_conf MODE SOCKET [EXTRA-FILE] >"$TMP/m.conf"
#					# MODE: rewrite, enforce, or default (no
#					# mode line); SOCKET: "unix:$TMP/m.sock"
#					# or a port
#	milter_start "$TMP/m.conf"	# sets MILTER_PID MILTER_SOCK MILTER_LOG
#	milter_lua enforce.lua		# each "ok"/"not ok" line becomes TAP
#	milter_wire			# tests/milter/wire.py: negotiation on the wire
#	milter_stop
#
# DESCRIPTION
#	milter_conf writes the test configuration shared by the milter tests:
#	customers acme (printers 192.0.2.0/24 + 2001:db8:1::/112, a disabled
#	192.0.3.0/24, vpn 198.51.100.20 with AUTH, roaming AUTH, app
#	198.51.100.10 "any"), globex (require_tls, 203.0.113.0/28) and initech
#	("any" with AUTH); carol@acme.example has no mail licence.  EXTRA-FILE
#	is appended (more customers, a redis block, quotas = true...).
#	quotas is false unless EXTRA-FILE says otherwise.
#
#	milter_start runs the milter in the foreground with its log in
#	$MILTER_LOG and waits for the socket.  MILTER_BIN overrides the binary
#	and MILTER_WRAP prefixes the command (valgrind ...).
#
#	miltertest over TCP costs ~40 ms a session (its two small writes per
#	command meet delayed ACKs), over a unix socket well under 1 ms: the
#	miltertest scripts use unix sockets, Postfix uses inet.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

[ -n "${_RG_MILTER_SH:-}" ] && return 0
_RG_MILTER_SH=1

MILTER_BIN=${MILTER_BIN:-$TOP/milter/relayguard-milter}
MILTER_PID=
_milter_n=0
_milter_hook=0

# milter_conf MODE SOCKET|PORT [EXTRA-FILE] - print a test configuration
milter_conf() {
	local mode=$1 sock=$2 extra=${3:-} modeline
	modeline="  mode = \"$mode\""
	[ "$mode" = default ] && modeline=
	case $sock in
	unix:* | inet:*) ;;
	*) sock="inet:$sock@127.0.0.1" ;;
	esac
	[ -f "$TMP/acme.users" ] || printf '%s\n' "# nomail user" \
		"carol@acme.example nomail" >"$TMP/acme.users"
	cat <<EOF
# written by tests/milter/lib.sh
user            = ""
syslog_facility = "mail"
milter { socket = "$sock"$modeline }
EOF
	if [ -n "$extra" ]; then
		cat "$extra"
	else
		echo 'quotas = false'
	fi
	cat <<EOF

customer "acme" {
    domains    = { "acme.example", "acme-mail.example" }
    licenses   = 250
    users      = { "alice@acme.example", "bob@acme.example" }
    users_file = "$TMP/acme.users"
    relay "printers" {
        allowed_senders = "domain_addresses"
        ip "office"     { range = "192.0.2.0/24" }
        ip "v6 lab"     { range = "2001:db8:1::/112" }
        ip "old office" { range = "192.0.3.0/24"  enabled = false }
    }
    relay "vpn" {
        allowed_senders   = "registered_users"
        require_smtp_auth = true
        ip "vpn" { range = "198.51.100.20" }
    }
    relay "roaming" {
        allowed_senders   = "registered_users"
        require_smtp_auth = true
    }
    relay "app" {
        allowed_senders = "any"
        ip "app server" { range = "198.51.100.10" }
        ip "loopback app" { range = "127.0.0.2" }
    }
}

customer "globex" {
    domains  = { "globex.example" }
    licenses = 10
    billing  = "trial"
    users    = { "hank@globex.example" }
    relay "office" {
        allowed_senders = "registered_users"
        require_tls     = true
        ip "office" { range = "203.0.113.0/28" }
        ip "loopback office" { range = "127.0.0.3" }
    }
}

customer "initech" {
    domains  = { "initech.example" }
    licenses = 5
    users    = { "ivan@initech.example" }
    relay "smarthost" {
        allowed_senders   = "any"
        require_smtp_auth = true
    }
    relay "lan" {
        allowed_senders = "domain_addresses"
        ip "loopback lan" { range = "127.0.0.4" }
    }
}
EOF
}

_milter_alive() {
	kill -0 "$MILTER_PID" 2>/dev/null &&
		ps -o stat= -p "$MILTER_PID" 2>/dev/null | grep -qv Z
}

_milter_up() {
	_milter_alive || return 2
	case $MILTER_SOCK in
	unix:*) test -S "${MILTER_SOCK#unix:}" ;;
	*) port_in_use "$MILTER_PORT" 127.0.0.1 ;;
	esac
}

# milter_start CONF - start the milter (foreground), wait for its socket
milter_start() {
	local conf=$1
	[ -n "$TMP" ] || mktmp >/dev/null
	MILTER_SOCK=$(sed -n 's/.*socket[[:space:]]*=[[:space:]]*"\([a-z]*:[^"]*\)".*/\1/p' "$conf" | head -n 1)
	MILTER_PORT=
	case $MILTER_SOCK in
	inet:*) MILTER_PORT=${MILTER_SOCK#inet:}; MILTER_PORT=${MILTER_PORT%@*} ;;
	esac
	_milter_n=$((_milter_n + 1))
	MILTER_LOG=$TMP/milter.$_milter_n.log
	export MILTER_LOG MILTER_SOCK MILTER_PORT
	if [ "$_milter_hook" = 0 ]; then
		at_exit milter_stop
		_milter_hook=1
	fi
	# shellcheck disable=SC2086
	${MILTER_WRAP:-} "$MILTER_BIN" -f -c "$conf" </dev/null >>"$MILTER_LOG" 2>&1 &
	MILTER_PID=$!
	export MILTER_PID
	if ! wait_until "${MILTER_START_TIMEOUT:-10}" _milter_up; then
		diag "relayguard-milter did not listen on $MILTER_SOCK; log:" \
			"$(tail -n 20 "$MILTER_LOG")"
		return 1
	fi
}

# milter_stop - SIGTERM the milter and wait; returns its exit status
milter_stop() {
	local pid=$MILTER_PID rc=0 i
	[ -n "$pid" ] || return 0
	MILTER_PID=
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < ${MILTER_STOP_TIMEOUT:-150}; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		ps -o stat= -p "$pid" 2>/dev/null | grep -qv Z || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	return $rc
}

_ml_name='' _ml_desc='' _ml_st=0
_ml_diags=()

# One "ok"/"not ok" line of a script, with its "# " lines, as a TAP result.
_milter_flush() {
	if [ -n "$_ml_desc" ]; then
		if [ "$_ml_st" = 0 ]; then
			pass "$_ml_name: $_ml_desc"
		else
			fail "$_ml_name: $_ml_desc" "${_ml_diags[@]}"
		fi
	fi
	_ml_desc=''
	_ml_diags=()
}

# _milter_tap NAME RC OUTPUT WHAT - a script's "ok"/"not ok" lines as TAP
#	results, and one more saying whether WHAT exited 0
_milter_tap() {
	local line
	_ml_name=$1
	_ml_desc=''
	_ml_diags=()
	while IFS= read -r line; do
		case $line in
		"ok - "*) _milter_flush; _ml_st=0 _ml_desc=${line#ok - } ;;
		"not ok - "*) _milter_flush; _ml_st=1 _ml_desc=${line#not ok - } ;;
		"# "*) _ml_diags+=("${line#\# }") ;;
		*) [ -n "$line" ] && _ml_diags+=("$line") ;;
		esac
	done <<<"$3"
	_milter_flush
	if [ "$2" -eq 0 ]; then
		pass "$_ml_name: $4 exit status 0"
	else
		fail "$_ml_name: $4 exit status 0" "exit status $2" \
			"$(printf '%s\n' "$3" | grep -v '^ok - ' | tail -n 15)" \
			"milter log tail:" "$(tail -n 10 "$MILTER_LOG")"
	fi
	return "$2"
}

# milter_lua SCRIPT [-D NAME=VALUE]... - run a tests/milter script against
#	the running milter; its "ok"/"not ok" lines become TAP results, and
#	one more result says whether miltertest itself succeeded
milter_lua() {
	local script=$1 out rc
	shift
	out=$(timeout "${MILTER_LUA_TIMEOUT:-120}" miltertest -D "SOCK=$MILTER_SOCK" \
		-D "LOG=$MILTER_LOG" -D "DIR=$TOP/tests/milter" "$@" \
		-s "$TOP/tests/milter/$script" 2>&1)
	rc=$?
	_milter_tap "$(basename "$script" .lua)" "$rc" "$out" miltertest
}

# milter_wire - tests/milter/wire.py against the running milter (a unix
#	socket, rewrite mode): the protocol flags it negotiates, on the wire
milter_wire() {
	local out rc
	out=$(timeout 60 python3 "$TOP/tests/milter/wire.py" "${MILTER_SOCK#unix:}" 2>&1)
	rc=$?
	_milter_tap wire "$rc" "$out" wire.py
}
