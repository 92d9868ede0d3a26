# tests/lib/sendmail.sh - a private Sendmail 8.17 relaying into smtp-sink (bash)
#
# SYNOPSIS
#	. "$TOP/tests/lib/postfix.sh"	# smtp-sink, swaks_send, reply parsers
#	. "$TOP/tests/lib/sendmail.sh"	# after common.sh, tap_init, mktmp
#	sink_start			# smtp-sink on 127.0.0.1:$SINK_PORT
#	sm_fetch			# Debian's sendmail, extracted (cached)
#	sm_init MILTER_PORT		# .cf from contrib/sendmail.mc, queue
#	sm_start			# sendmail -bD, waits for SMTP
#	out=$(sm_swaks --from a@x --to b@y --local-interface 127.0.0.2)
#	out=$(SM_SERVER=::1 sm_swaks --from a@x --to b@y)
#	sm_wait_delivered 3 10
#	sm_stop			# also run by an at_exit hook
#
# DESCRIPTION
#	Sendmail conflicts with Postfix, which must stay installed, so it
#	is never installed: sm_fetch downloads Debian 12's sendmail-bin,
#	sendmail-base and sendmail-cf (and the libraries sendmail-bin needs
#	that are not installed, e.g. libwrap0) with "apt-get download"
#	(after "apt-get update" when that fails) and extracts them with
#	dpkg-deb -x into $SM_ROOT (build/sendmail/root, kept between runs).
#	m4 comes from contrib/install-deps.sh.
#
#	sm_init builds $SM_DIR/sendmail.cf with m4 and the extracted cf/
#	tree from test-only lines (private paths, ports, smart host,
#	promiscuous_relay so that only the milter decides) and the lines of
#	contrib/sendmail.mc as they are, with only the milter's port
#	changed.  Everything lives in $TMP/sendmail:
#	  sendmail.mc sendmail.cf  queue/  traffic.log (sendmail -X: every
#	  SMTP line)  sendmail.out (stdout/stderr)
#	Sendmail runs as root in the foreground (-bD), delivering in the
#	background to [127.0.0.1]:$SINK_PORT.  It listens on
#	127.0.0.1:$SM_PORT and [::1]:$SM_PORT.  It runs in a private UTS
#	namespace (unshare --uts) whose host name has a dot: with an
#	unqualified host name Sendmail sleeps 60 s at start.  There is no
#	syslog here, so Sendmail's own log goes nowhere; traffic.log and
#	the milter log are what there is.
#
# EXPORTS
#	SM_ROOT SM_BIN SM_DIR SM_CF SM_QUEUE SM_PORT SM_TRAFFIC SM_PID
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

[ -n "${_RG_SENDMAIL_SH:-}" ] && return 0
_RG_SENDMAIL_SH=1

SM_ROOT=${SM_ROOT:-$TOP/build/sendmail/root}
SM_BIN=$SM_ROOT/usr/libexec/sendmail/sendmail
SM_HOST=relay.test.example
SM_PID=
_sm_hook=0
export SM_ROOT SM_BIN

_sm_libpath() {
	printf '%s\n' "$SM_ROOT/usr/lib/x86_64-linux-gnu:$SM_ROOT/lib/x86_64-linux-gnu:$SM_ROOT/usr/lib:$SM_ROOT/lib"
}

# _sm_download DIR PKG... - apt-get download into DIR, updating the
#	package lists once when that fails (a fresh image has none)
_sm_download() {
	local dir=$1
	shift
	(cd "$dir" && apt-get download "$@") >>"$dir/apt.log" 2>&1 && return 0
	apt-get update -qq >>"$dir/apt.log" 2>&1
	(cd "$dir" && apt-get download "$@") >>"$dir/apt.log" 2>&1
}

# sm_fetch - make $SM_ROOT: download and extract Sendmail once; a failed
#	download fails the test (a skip would hide it in CI)
sm_fetch() {
	local base tmp d p libs=()
	need_root
	need_cmd apt-get dpkg-deb dpkg-query m4 unshare hostname
	if [ -x "$SM_BIN" ] && [ -e "$SM_ROOT/.complete" ]; then
		return 0
	fi
	base=$(dirname "$SM_ROOT")
	mkdir -p "$base"
	tmp=$(mktemp -d "$base/fetch.XXXXXX") || bail_out "cannot create $base/fetch.*"
	# apt's _apt user must be able to write the download directory
	chmod 755 "$tmp"
	chown _apt "$tmp" 2>/dev/null
	if ! _sm_download "$tmp" sendmail-bin sendmail-base sendmail-cf; then
		diag "$(tail -n 5 "$tmp/apt.log")"
		rm -rf "$tmp"
		bail_out "cannot download Debian's sendmail packages"
	fi
	# Libraries sendmail-bin links with that are not installed here
	# (libwrap0 on a machine without tcp wrappers): downloaded as well.
	d=$(dpkg-deb -f "$tmp"/sendmail-bin_*.deb Depends | tr ',' '\n' |
		sed 's/[[:space:]]*(.*//; s/|.*//; s/[[:space:]]//g' | grep '^lib')
	for p in $d; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			libs+=("$p")
	done
	if [ ${#libs[@]} -gt 0 ] && ! _sm_download "$tmp" "${libs[@]}"; then
		diag "$(tail -n 5 "$tmp/apt.log")"
		rm -rf "$tmp"
		bail_out "cannot download ${libs[*]}"
	fi
	mkdir -p "$tmp/root"
	for p in "$tmp"/*.deb; do
		dpkg-deb -x "$p" "$tmp/root" || { rm -rf "$tmp"; bail_out "dpkg-deb -x $p failed"; }
	done
	# sendmail is set-gid smmsp in the package: a set-id program ignores
	# LD_LIBRARY_PATH, and root needs no set-id bit anyway
	chmod -R ug-s "$tmp/root/usr/libexec/sendmail" "$tmp/root/usr/sbin"
	if LD_LIBRARY_PATH=$(SM_ROOT=$tmp/root _sm_libpath) \
		ldd "$tmp/root/usr/libexec/sendmail/sendmail" | grep -q 'not found'; then
		diag "$(LD_LIBRARY_PATH=$(SM_ROOT=$tmp/root _sm_libpath) \
			ldd "$tmp/root/usr/libexec/sendmail/sendmail" | grep 'not found')"
		rm -rf "$tmp"
		bail_out "the extracted sendmail misses libraries"
	fi
	touch "$tmp/root/.complete"
	rm -rf "$SM_ROOT"
	mv "$tmp/root" "$SM_ROOT"
	rm -rf "$tmp"
}

# sm_version - "8.17.1.9", as the extracted binary says
sm_version() {
	_sm_run -d0.1 -bt </dev/null 2>/dev/null | sed -n 's/^Version //p'
}

# _sm_run ARGS... - the extracted sendmail with ARGS, in a UTS namespace
#	of its own whose host name has a dot (else it sleeps 60 s first)
_sm_run() {
	# shellcheck disable=SC2016 # expanded by that sh
	LD_LIBRARY_PATH=$(_sm_libpath) unshare --uts sh -c \
		'hostname "$1" && shift && exec "$@"' sh "$SM_HOST" "$SM_BIN" "$@"
}

# sm_mc MILTER_PORT - print the test's sendmail.mc: test-only lines, then
#	contrib/sendmail.mc with its milter port replaced, then the mailers
sm_mc() {
	local mport=$1
	cat <<EOF
divert(-1)
# written by tests/lib/sendmail.sh: a private test instance
divert(0)dnl
VERSIONID(\`relayguard test')dnl
OSTYPE(\`linux')dnl
dnl --- test-only: private files, no DNS, fixed names
define(\`confDOMAIN_NAME', \`$SM_HOST')dnl
define(\`QUEUE_DIR', \`$SM_QUEUE')dnl
define(\`confPID_FILE', \`$SM_DIR/sendmail.pid')dnl
define(\`STATUS_FILE', \`$SM_DIR/statistics')dnl
define(\`ALIAS_FILE', \`$SM_DIR/aliases')dnl
define(\`HELP_FILE', \`$SM_ROOT/etc/mail/helpfile')dnl
define(\`confCW_FILE', \`-o $SM_DIR/local-host-names')dnl
define(\`confCT_FILE', \`-o $SM_DIR/trusted-users')dnl
define(\`confSERVICE_SWITCH_FILE', \`$SM_DIR/service.switch')dnl
define(\`confHOSTS_FILE', \`/etc/hosts')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`confTO_IDENT', \`0')dnl
define(\`confDELIVERY_MODE', \`background')dnl
dnl --- test-only: listen on loopback (IPv4 and IPv6), relay into smtp-sink
DAEMON_OPTIONS(\`Family=inet, Name=MTA-v4, Port=$SM_PORT, Addr=127.0.0.1')dnl
DAEMON_OPTIONS(\`Family=inet6, Name=MTA-v6, Port=$SM_PORT, Addr=::1')dnl
FEATURE(\`no_default_msa')dnl
define(\`SMART_HOST', \`[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SINK_PORT')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $SINK_PORT')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
dnl --- test-only: Sendmail relays for everybody, the milter alone decides
FEATURE(\`promiscuous_relay')dnl
dnl --- contrib/sendmail.mc, only the milter port changed
EOF
	sed "s/S=inet:8891@127\.0\.0\.1/S=inet:$mport@127.0.0.1/" \
		"$TOP/contrib/sendmail.mc"
	cat <<EOF
dnl --- mailers
MAILER(\`local')dnl
MAILER(\`smtp')dnl
EOF
}

# sm_init MILTER_PORT - the private instance: .mc, .cf, queue (needs
#	SINK_PORT: sink_start first); SM_PORT is chosen unless set
sm_init() {
	local mport=$1 out
	sm_fetch
	[ -n "$TMP" ] || mktmp >/dev/null
	[ -n "${SINK_PORT:-}" ] || bail_out "sm_init: no SINK_PORT (sink_start first)"
	SM_DIR=$TMP/sendmail
	SM_CF=$SM_DIR/sendmail.cf
	SM_QUEUE=$SM_DIR/queue
	SM_TRAFFIC=$SM_DIR/traffic.log
	SM_PORT=${SM_PORT:-$(free_port)}
	export SM_DIR SM_CF SM_QUEUE SM_TRAFFIC SM_PORT
	# Sendmail's file checks: the queue owned by root, mode 0700; its
	# directory not group or world writable (mktmp makes $TMP 0755)
	mkdir -p "$SM_QUEUE"
	chown root:root "$SM_DIR" "$SM_QUEUE"
	chmod 755 "$SM_DIR"
	chmod 700 "$SM_QUEUE"
	: >"$SM_DIR/aliases"
	: >"$SM_DIR/local-host-names"
	: >"$SM_DIR/trusted-users"
	# no DNS on a test machine: hosts from /etc/hosts only
	printf 'hosts\tfiles\naliases\tfiles\n' >"$SM_DIR/service.switch"
	sm_mc "$mport" >"$SM_DIR/sendmail.mc"
	if ! out=$(m4 -D_CF_DIR_="$SM_ROOT/usr/share/sendmail/cf/" \
		"$SM_ROOT/usr/share/sendmail/cf/m4/cf.m4" "$SM_DIR/sendmail.mc" \
		2>&1 >"$SM_CF"); then
		diag "m4 failed:" "$out"
		return 1
	fi
	# m4 warns about promiscuous_relay by design; anything else is news
	out=$(printf '%s\n' "$out" | grep -v -e promiscuous_relay -e 'relay\.  Do NOT')
	[ -z "$out" ] || diag "m4: $out"
	if [ "$_sm_hook" = 0 ]; then
		at_exit sm_stop
		_sm_hook=1
	fi
}

_sm_up() {
	kill -0 "$SM_PID" 2>/dev/null || return 2
	port_in_use "$SM_PORT" 127.0.0.1 &&
		ss -Hltn "sport = :$SM_PORT" 2>/dev/null | grep -q '\[::1\]'
}

# sm_start - run sendmail -bD (foreground daemon); wait for both listeners
sm_start() {
	# unshare without --fork execs: $! is the sendmail daemon itself
	# as _sm_run, but no function: $! must be sendmail itself (unshare
	# without --fork and sh both exec)
	# shellcheck disable=SC2016 # expanded by that sh
	LD_LIBRARY_PATH=$(_sm_libpath) unshare --uts sh -c \
		'hostname "$1" && shift && exec "$@"' sh "$SM_HOST" \
		"$SM_BIN" -C "$SM_CF" -bD -X "$SM_TRAFFIC" \
		</dev/null >>"$SM_DIR/sendmail.out" 2>&1 &
	SM_PID=$!
	export SM_PID
	if ! wait_until 20 _sm_up; then
		diag "sendmail did not listen on 127.0.0.1 and [::1]:$SM_PORT" \
			"$(tail -n 20 "$SM_DIR/sendmail.out" 2>/dev/null)"
		return 1
	fi
}

# sm_stop - stop the daemon; children delivering finish on their own
sm_stop() {
	local dpid
	[ -n "$SM_PID" ] || return 0
	dpid=$(head -n 1 "$SM_DIR/sendmail.pid" 2>/dev/null)
	kill_wait "$SM_PID" 10
	# the daemon's own pid file, should $! ever not be the daemon
	if [ -n "$dpid" ] && [ "$dpid" != "$SM_PID" ] && kill -0 "$dpid" 2>/dev/null; then
		kill_wait "$dpid" 10
	fi
	SM_PID=
}

# sm_swaks [swaks_send options]... - one SMTP transaction against the
#	private Sendmail (127.0.0.1, or $SM_SERVER, e.g. ::1)
sm_swaks() {
	SMTP_PORT=$SM_PORT swaks_send --server "${SM_SERVER:-127.0.0.1}" "$@"
}

# sm_queue_count - messages still in Sendmail's queue
sm_queue_count() {
	local n
	n=$(find "$SM_QUEUE" -type f -name 'qf*' 2>/dev/null | wc -l)
	echo "$n"
}

_sm_delivered() {	# _sm_delivered N
	[ "$(sink_count)" -ge "$1" ] && [ "$(sm_queue_count)" -eq 0 ]
}

# sm_wait_delivered N [TIMEOUT_S] - wait until smtp-sink holds >= N
#	messages and Sendmail's queue is empty
sm_wait_delivered() {
	local n=$1 t=${2:-15}
	wait_until "$t" _sm_delivered "$n" && return 0
	diag "delivered $(sink_count) of $n, $(sm_queue_count) still queued"
	return 1
}
