#!/bin/bash
# t-policyd-robust.sh - relayguard-policyd under bad input and load:
# oversized lines, garbage bytes, caps, idle floods, vanishing clients,
# pipelining (policyd_abuse, also run by t-policyd-asan.sh against an
# ASan build with quotas on), reloads good and bad, unix sockets and
# their mode, facts passed uncut, idle timeout, -t.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/policyd.sh"
tap_init
mktmp >/dev/null
ulimit -n 8192 2>/dev/null

PORT=$(free_port)
# LONG: a registered user of 319 bytes, the longest address there is.
LONG=$(printf 'l%.0s' {1..64})@$(printf 'a%.0s' {1..63}).$(printf 'b%.0s' {1..63}).$(printf 'c%.0s' {1..63}).$(printf 'd%.0s' {1..49}).acme.example
write_conf() {	# write_conf FILE SENDERS [EXTRA_POLICYD_LINES]
	cat >"$1" <<CONF
user = ""
quotas = false
policyd {
    listen = { "inet:127.0.0.1:$PORT", "unix:$TMP/policyd.sock" }
    $3
}
customer "acme" {
    domains = { "acme.example" }
    licenses = 10
    users = { "alice@acme.example", "$LONG" }
    relay "office" {
        allowed_senders = "$2"
        ip "lan" { range = "127.0.0.0/24" }
    }
    relay "roaming" {
        allowed_senders = "$2"
        require_smtp_auth = true
    }
}
CONF
}
write_conf "$TMP/rg.conf" domain_addresses "max_connections = 300"
ok "config check with -t" "$POLICYD_BIN" -t -c "$TMP/rg.conf"
policyd_start "$TMP/rg.conf" || bail_out "policyd did not start"

rcpt() { policy_rcpt "$PORT" client_address=127.0.0.1 "$@"; }
is "$(rcpt sender=bob@acme.example)" "action=OK" "domain sender accepted"
is "$(rcpt sender=bob@other.example)" \
	"action=550 5.7.1 Invalid credentials for relay [127.0.0.1]. The sender's domain is not a domain of this organisation." \
	"foreign sender refused"

PY=$(command -v python3)
py() { "$PY" - "$PORT" "$TMP/policyd.sock" "$@"; }

# Refused mail is most of what a relay sees, and Postfix says nothing when
# a transaction ends without DATA.  A transaction whose recipients were
# all refused is not kept: 30,000 of them (96 MB of transactions if they
# were) neither fill the table to its cap nor the daemon's memory.
out=$(py <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
n, got, buf = 30000, 0, b""
req = ("request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=127.0.0.1\n"
       "sender=a@other.example\nrecipient=r@x.example\ninstance=refused.%d\n\n")
for start in range(0, n, 500):
    s.sendall(b"".join((req % i).encode() for i in range(start, start + 500)))
    while got < start + 500:
        buf += s.recv(65536)
        got = buf.count(b"\n\n")
print(sum(1 for r in buf.split(b"\n\n") if r.startswith(b"action=550 5.7.1 ")))
PYEOF
)
is "$out" 30000 "30,000 refused transactions answered"
unlike "$(cat "$POLICYD_LOG")" "transactions in progress: forgot the oldest" \
	"refused transactions did not fill the table (nothing evicted)"
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$POLICYD_PID/status")
ok "the daemon's memory stays small after them (${rss} kB < 40 MB)" test "$rss" -lt 40960

policyd_abuse "$PORT"

# Facts reach the engine uncut.  A SASL name of 400 bytes whose first 320
# are a registered user and a dot (which an address may end with) was
# cut at 320 and accepted as that user.
is "${#LONG}" 319 "the long registered user has 319 bytes"
auth() { policy_rcpt "$PORT" client_address=192.0.2.7 encryption_protocol=TLSv1.3 \
	sender=alice@acme.example "$@"; }
is "$(auth "sasl_username=$LONG")" "action=OK" "the 319-byte user relays with SMTP AUTH"
is "$(auth "sasl_username=$LONG.")" "action=OK" "... also written with a trailing dot"
tail=$(printf 'z%.0s' {1..80})
out=$(auth "sasl_username=$LONG.$tail")
is "$out" "action=501 5.5.4 SASL username too long." \
	"a 400-byte SASL name beginning with that user is not that user: refused as overlong"
# The same for a HELO name: 600 bytes whose first 255 would be a name.
helo=$(printf 'a%.0s' {1..242}).acme.example
is "$(rcpt sender=bob@acme.example "helo_name=$helo")" "action=OK" "a 255-byte HELO name is a name"
is "$(rcpt sender=bob@acme.example "helo_name=$helo$(printf 'x%.0s' {1..345})")" \
	"action=501 5.5.4 HELO name too long." "a 600-byte HELO name is refused as overlong"

# The unix socket listener, with its mode.
is "$(stat -c %a "$TMP/policyd.sock")" 660 "unix socket mode 0660 by default"
out=$(py <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[2])
s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=127.0.0.1\nsender=a@other.example\nrecipient=r@x.example\ninstance=u\n\n")
print(s.recv(4096).decode().strip())
PYEOF
)
like "$out" '^action=550 5\.7\.1 ' "unix socket client gets the same verdict"

# Other protocol states: no opinion.
is "$(policy_rcpt "$PORT" protocol_state=DATA)" "action=DUNNO" "DATA state: DUNNO"
is "$(policy_rcpt "$PORT" protocol_state=END-OF-MESSAGE)" "action=DUNNO" "END-OF-MESSAGE: DUNNO"
is "$(policy_rcpt "$PORT" request=junk_request)" "action=DUNNO" "unknown request type: DUNNO"

# Reload: a bad file keeps the running config and says why.
cp "$TMP/rg.conf" "$TMP/good.conf"
printf 'customer "broken" {\n  domains = { "acme.example" }\n  licenses = 1\n}\n' >>"$TMP/rg.conf"
policyd_hup
wait_until 5 grep -q "reload failed" "$POLICYD_LOG"
like "$(grep 'reload failed' "$POLICYD_LOG")" "rg.conf:[0-9]+: domain acme.example of customer \"broken\" already belongs to customer \"acme\"" \
	"bad reload logged with file:line: reason"
is "$(rcpt sender=bob@acme.example)" "action=OK" "old config still in force after a bad reload"
"$POLICYD_BIN" -t -c "$TMP/rg.conf" >"$TMP/t.out" 2>&1; rc=$?
is "$rc" 1 "-t exit status 1 on a bad file"
like "$(tail -n 1 "$TMP/t.out")" "^$TMP/rg.conf:[0-9]+: domain acme.example" "-t prints file:line: reason"

# Reload: a good file takes effect without dropping connections.
write_conf "$TMP/rg.conf" registered_users "max_connections = 300"
policyd_hup
wait_until 5 grep -q "reloaded configuration" "$POLICYD_LOG"
like "$(rcpt sender=bob@acme.example)" "^action=550 5\.7\.0 Mail sending denied\." "new config in force after a good reload"
is "$(rcpt sender=alice@acme.example)" "action=OK" "registered user accepted after reload"

# A reload parses in the background: a big file (20,000 customers) takes a
# while, and requests are answered with the running config meanwhile.
"$PY" - "$TMP/big.conf" "$PORT" <<'PYEOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write('user = ""\nquotas = false\npolicyd { listen = { "inet:127.0.0.1:%s" } }\n' % sys.argv[2])
    f.write('customer "acme" { domains = { "acme.example" } licenses = 10\n'
            ' relay "office" { allowed_senders = "domain_addresses" ip "lan" { range = "127.0.0.0/24" } } }\n')
    for i in range(20000):
        f.write('customer "c%d" { domains = { "c%d.example" } licenses = 5 users = { "u@c%d.example" }\n'
                ' relay "r" { allowed_senders = "registered_users" ip "n" { range = "10.%d.%d.0/24" } } }\n'
                % (i, i, i, i // 256, i % 256))
PYEOF
cp "$TMP/big.conf" "$TMP/rg.conf"
n_before=$(grep -c "reloaded configuration" "$POLICYD_LOG")
policyd_hup
answer=$(rcpt sender=alice@acme.example)
n_during=$(grep -c "reloaded configuration" "$POLICYD_LOG")
is "$answer" "action=OK" "answered while a big reload is parsed"
is "$n_during" "$n_before" "that answer came before the reload finished (the loop was not blocked)"
wait_until 60 bash -c "[ \$(grep -c 'reloaded configuration' '$POLICYD_LOG') -gt $n_before ]"
like "$(grep 'reloaded configuration' "$POLICYD_LOG" | tail -n 1)" "20001 customers" "the big config is in force after the reload"
is "$(policy_rcpt "$PORT" client_address=10.0.5.9 sender=u@c5.example)" "action=OK" "a customer of the big config is served"

# Idle timeout closes a silent connection.
policyd_stop
write_conf "$TMP/rg.conf" domain_addresses 'idle_timeout = 1 socket_mode = "0600"'
policyd_start "$TMP/rg.conf"
is "$(stat -c %a "$TMP/policyd.sock")" 600 "unix socket mode as configured (socket_mode 0600)"
out=$(py <<'PYEOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
t = time.time()
print("closed" if s.recv(1) == b"" else "data")
PYEOF
)
is "$out" closed "idle connection closed after idle_timeout"

# Privileges: bound as root, then running as the configured user.
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null; then
	policyd_stop
	sed -i 's/^user = ""/user = "nobody"/' "$TMP/rg.conf"
	policyd_start "$TMP/rg.conf"
	is "$(ps -o user= -p "$POLICYD_PID" | tr -d ' ')" nobody "privileges dropped to user after binding"
	is "$(stat -c %U:%G:%a "$TMP/policyd.sock")" "nobody:$(id -gn nobody):600" \
		"the unix socket belongs to the daemon user and its group"
	is "$(rcpt sender=bob@acme.example)" "action=OK" "serves after dropping privileges"
	policyd_stop
	sed -i 's/^user = "nobody"/user = "no-such-user-rg"/' "$TMP/rg.conf"
	"$POLICYD_BIN" -f -c "$TMP/rg.conf" >"$TMP/nouser.out" 2>&1; rc=$?
	is "$rc" 1 "unknown user: exit 1"
	like "$(cat "$TMP/nouser.out")" 'user "no-such-user-rg" does not exist' "unknown user: clear error"
	sed -i 's/^user = "no-such-user-rg"/user = ""/' "$TMP/rg.conf"
	policyd_start "$TMP/rg.conf"
fi

# SIGTERM: a clean stop, the unix socket removed.
kill -TERM "$POLICYD_PID"
wait_until 5 bash -c "! kill -0 $POLICYD_PID 2>/dev/null"
ok "stopped on SIGTERM" bash -c "! kill -0 $POLICYD_PID 2>/dev/null"
like "$(tail -n 1 "$POLICYD_LOG")" "stopped" "stop is logged"
ok "unix socket removed on stop" test ! -e "$TMP/policyd.sock"
POLICYD_PID=

done_testing
