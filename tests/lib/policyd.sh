# tests/lib/policyd.sh - run relayguard-policyd and talk its protocol (bash)
#
# SYNOPSIS
#	. "$TOP/tests/lib/policyd.sh"	# after common.sh, tap_init, mktmp
#	policyd_start CONF	# exports POLICYD_PID POLICYD_PORT POLICYD_LOG
#	policyd_hup		# SIGHUP (reload)
#	policyd_stop		# SIGTERM, wait for exit
#	policy_query PORT "name=value"...	# prints the reply's action line
#	policy_rcpt PORT "name=value"...	# same, a full Postfix 3.7 RCPT
#						# request with these overrides
#	policyd_abuse PORT	# TAP: bad input, vanishing clients, idle flood
#
# DESCRIPTION
#	The daemon runs in the foreground (-f), logging to $POLICYD_LOG
#	($TMP/policyd.log). policyd_start waits for the first "inet:H:P"
#	(or "unix:PATH") found in the config's listen list; set
#	POLICYD_PORT beforehand to wait for another port. The binary is
#	$POLICYD_BIN (default $TOP/policyd/relayguard-policyd).
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

[ -n "${_RG_POLICYD_SH:-}" ] && return 0
_RG_POLICYD_SH=1

POLICYD_BIN=${POLICYD_BIN:-$TOP/policyd/relayguard-policyd}
POLICYD_PID=
_policyd_hook=0

# policyd_start CONF - start the daemon in the background and wait for it
policyd_start() {
	local conf=$1 listen host port path
	[ -n "$TMP" ] || mktmp >/dev/null
	[ -x "$POLICYD_BIN" ] || { diag "no $POLICYD_BIN"; return 1; }
	POLICYD_LOG=$TMP/policyd.log
	export POLICYD_LOG
	listen=$(sed -n '/^[[:space:]]*#/d; s/.*listen[[:space:]]*=.*"\(\(inet\|unix\):[^"]*\)".*/\1/p' \
		"$conf" | head -n 1)
	if [ "$_policyd_hook" = 0 ]; then
		at_exit policyd_stop
		_policyd_hook=1
	fi
	"$POLICYD_BIN" -f -c "$conf" </dev/null >>"$POLICYD_LOG" 2>&1 &
	POLICYD_PID=$!
	export POLICYD_PID
	case $listen in
	unix:*)
		path=${listen#unix:}
		wait_until 10 _policyd_up_unix "$path"
		;;
	*)
		host=${listen#inet:}
		port=${POLICYD_PORT:-${host##*:}}
		host=${host%:*}
		host=${host#[}
		host=${host%]}
		POLICYD_PORT=$port
		export POLICYD_PORT
		wait_until 10 _policyd_up_inet "${host:-127.0.0.1}" "$port"
		;;
	esac || {
		diag "relayguard-policyd did not come up on '$listen'; log:" \
			"$(tail -n 20 "$POLICYD_LOG" 2>/dev/null)"
		return 1
	}
}

_policyd_alive() {
	kill -0 "$POLICYD_PID" 2>/dev/null &&
		ps -o stat= -p "$POLICYD_PID" 2>/dev/null | grep -qv Z
}

_policyd_up_inet() {
	_policyd_alive || return 2
	port_in_use "$2" "$1"
}

_policyd_up_unix() {
	_policyd_alive || return 2
	test -S "$1"
}

# policyd_stop - SIGTERM the daemon and wait (SIGKILL after 5 s);
#	returns its exit status (0 = graceful stop)
policyd_stop() {
	local rc
	[ -n "$POLICYD_PID" ] || return 0
	kill_wait "$POLICYD_PID" 5
	rc=$?
	POLICYD_PID=
	return $rc
}

# policyd_hup - ask the daemon to reload its config
policyd_hup() {
	[ -n "$POLICYD_PID" ] && kill -HUP "$POLICYD_PID"
}

# policyd_running - true while the daemon process is alive
policyd_running() {
	[ -n "$POLICYD_PID" ] && _policyd_alive
}

# policy_query PORT "name=value"... - send one policy request on a new
#	connection to 127.0.0.1:PORT; print the reply's action line
#	("action=..."), or nothing (exit 1) when the server closed or timed
#	out (5 s) without answering
policy_query() {
	local port=$1 fd line reply= rc=1
	shift
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || return 1
	{ printf '%s\n' "$@"; printf '\n'; } >&"$fd"
	while IFS= read -r -t 5 line <&"$fd"; do
		line=${line%$'\r'}
		[ -z "$line" ] && break
		case $line in action=*) reply=$line rc=0 ;; esac
	done
	exec {fd}>&-
	[ -n "$reply" ] && printf '%s\n' "$reply"
	return $rc
}

# policy_rcpt PORT "name=value"... - policy_query with every attribute a
#	Postfix 3.7 smtpd sends at RCPT; arguments override the defaults
policy_rcpt() {
	local port=$1 kv name out=() i
	shift
	local -a def=(
		request=smtpd_access_policy protocol_state=RCPT
		protocol_name=ESMTP helo_name=client.example queue_id=
		sender=sender@example.com recipient=rcpt@example.net
		recipient_count=0 client_address=127.0.0.1
		client_name=localhost reverse_client_name=localhost
		instance=1a2b.3c4d5e6f.7a8b9.0 sasl_method= sasl_username=
		sasl_sender= size=0 ccert_subject= ccert_issuer=
		ccert_fingerprint= encryption_protocol= encryption_cipher=
		encryption_keysize=0 etrn_domain= stress=
		ccert_pubkey_fingerprint= client_port=40000 policy_context=
		server_address=127.0.0.1 server_port=25)
	for kv in "${def[@]}"; do
		name=${kv%%=*}
		for i in "$@"; do
			[ "${i%%=*}" = "$name" ] && { kv=$i; break; }
		done
		out+=("$kv")
	done
	for i in "$@"; do	# attributes Postfix would not send
		name=${i%%=*}
		case " ${def[*]%%=*} " in *" $name "*) ;; *) out+=("$i") ;; esac
	done
	policy_query "$port" "${out[@]}"
}

# policyd_abuse PORT - the bad-input and load cases every build must
#	survive, as TAP tests: oversized lines and requests, garbage, too
#	many attributes, pipelining, clients vanishing mid-request, a flood
#	of 1,000 idle connections (the config must say max_connections =
#	300). The config must accept sender a@acme.example and
#	bob@acme.example from 127.0.0.1 with action=OK.
policyd_abuse() {
	local port=$1 req out n_closed rss_before rss_after
	_abuse_py() { python3 - "$port" "$@"; }
	# Each probe prints one word; the daemon must answer a normal
	# request on a fresh connection afterwards.
	req='request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=127.0.0.1\nsender=a@acme.example\nrecipient=r@x.example\ninstance=x1\n\n'
	_abuse_probe() {	# _abuse_probe PAYLOAD_PY_EXPR - send it, report "closed" or the reply
		_abuse_py "$1" <<'PYEOF'
import socket, sys
port = int(sys.argv[1]); payload = eval(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=5)
try:
    s.sendall(payload)
    data = s.recv(65536)
    # Replies to pipelined requests may come one by one (quota calls).
    while data and data.count(b"\n\n") < payload.count(b"request="):
        more = s.recv(65536)
        if not more:
            break
        data += more
    print("closed" if not data else "reply:" + data.decode(errors="replace").strip())
except (ConnectionResetError, BrokenPipeError):
    print("closed")
except socket.timeout:
    print("timeout")
PYEOF
	}
	is "$(_abuse_probe 'b"sender=" + b"x" * 5000')" closed "line over 4096 bytes without newline: closed, no reply"
	is "$(_abuse_probe 'b"sender=" + b"x" * 5000 + b"\n\n"')" closed "complete line over 4096 bytes: closed"
	is "$(_abuse_probe 'bytes(range(256)) * 8 + b"\n\n"')" closed "binary garbage with NUL bytes: closed, no reply"
	is "$(_abuse_probe 'b"no equals sign here\n\n"')" closed "line without '=': closed"
	is "$(_abuse_probe 'b"".join(b"a%d=b\n" % i for i in range(200)) + b"\n"')" closed "200 attributes: closed"
	is "$(_abuse_probe 'b"\n"')" closed "empty request: closed"
	is "$(_abuse_probe 'b"".join(b"x_%05d=%s\n" % (i, b"y" * 3000) for i in range(12))')" closed "request over 32 KiB: closed"
	like "$(_abuse_probe "b'$req'")" '^reply:action=OK$' "well-formed request on its own connection answered"
	is "$(_abuse_probe "b'$req' * 3")" "reply:action=OK

action=OK

action=OK" "three pipelined requests: three replies in order"
	ok "daemon alive after bad input" policyd_running
	is "$(policy_rcpt "$port" sender=bob@acme.example)" "action=OK" "other clients still served"

	# A client that vanishes mid-request, many times over.
	_abuse_py <<'PYEOF'
import socket, sys
port = int(sys.argv[1])
for i in range(200):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\nsender=a@acme.exa")
    s.close()
PYEOF
	ok "daemon alive after 200 clients vanished mid-request" policyd_running
	is "$(policy_rcpt "$port" sender=bob@acme.example)" "action=OK" "served after vanishing clients"

	# 1,000 idle connections with max_connections = 300: the idlest are
	# closed and a real client is still answered; memory stays bounded.
	rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$POLICYD_PID/status")
	out=$(_abuse_py <<'PYEOF'
import socket, sys, time
port = int(sys.argv[1])
idle = []
for i in range(1000):
    idle.append(socket.create_connection(("127.0.0.1", port)))
time.sleep(0.5)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=127.0.0.1\nsender=a@acme.example\nrecipient=r@x.example\ninstance=z\n\n")
print(s.recv(4096).decode().strip())
closed = 0
for c in idle:
    c.setblocking(False)
    try:
        if c.recv(1) == b"":
            closed += 1
    except BlockingIOError:
        pass
    except ConnectionResetError:
        closed += 1
print(closed)
PYEOF
	)
	is "$(sed -n 1p <<<"$out")" "action=OK" "client answered during a flood of 1,000 idle connections"
	n_closed=$(sed -n 2p <<<"$out")
	ok "the idlest connections were closed (closed: $n_closed, expected >= 700)" test "${n_closed:-0}" -ge 700
	like "$(cat "$POLICYD_LOG")" "max_connections\): closing the idlest" "eviction is logged"
	rss_after=$(awk '/VmRSS/ {print $2}' "/proc/$POLICYD_PID/status")
	ok "RSS bounded after the flood (${rss_before} kB -> ${rss_after} kB)" test $((rss_after - rss_before)) -lt 20000
}
