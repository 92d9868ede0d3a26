#!/bin/bash
# t-quota-policyd.sh - relay quotas through relayguard-policyd and Redis
#
# Two relayguard-policyd processes share one private redis-server:
#  - exactness: 400 RCPT requests from distinct transactions race one
#    limit over 20 connections to both daemons; exactly the limit passes
#    (customer 10-minute limit, then a user's unique-recipient limit);
#  - one EVALSHA per RCPT decision and per END-OF-MESSAGE (commandstats);
#  - END-OF-MESSAGE commits: the reservation becomes usage, counted once;
#  - Redis stopped, hanging (SIGSTOP) or restarted empty: 451 4.3.0 within
#    timeout_ms, the daemons stay up and recover by themselves.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/redis.sh"
. "$TOP/tests/lib/policyd.sh"

tap_init
need_cmd redis-server redis-cli python3
[ -x "$POLICYD_BIN" ] || bail_out "$POLICYD_BIN is not built (run make)"
mktmp >/dev/null
redis_start || bail_out "redis-server did not start"

TIMEOUT_MS=200
P1=$(free_port)
P2=$(free_port)
write_conf() {	# write_conf FILE PORT
	cat >"$1" <<EOF
redis {
    server     = "127.0.0.1:$REDIS_PORT"
    timeout_ms = $TIMEOUT_MS
    prefix     = "rgq"
}
user = ""
policyd { listen = { "inet:127.0.0.1:$2" } }
customer "acme" {
    domains  = { "acme.example" }
    licenses = 1000
    users    = { "alice@acme.example" }
    limits {
        customer_recipients_per_10min = 50
        customer_recipients_per_day   = 5000
        user_recipients_per_day       = 30
    }
    relay "office" {
        allowed_senders = "domain_addresses"
        ip "lan" { range = "127.0.0.2/32" }
    }
}
customer "beta" {
    domains  = { "beta.example" }
    licenses = 1000
    users    = { "bob@beta.example" }
    relay "office" {
        allowed_senders = "domain_addresses"
        ip "lan" { range = "127.0.0.3/32" }
    }
}
EOF
}
write_conf "$TMP/p1.conf" "$P1"
write_conf "$TMP/p2.conf" "$P2"
policyd_start "$TMP/p1.conf" || bail_out "first relayguard-policyd did not start"
"$POLICYD_BIN" -f -c "$TMP/p2.conf" </dev/null >>"$TMP/policyd2.log" 2>&1 &
PID2=$!
at_exit "kill_wait $PID2"
wait_port 127.0.0.1 "$P2" 10 || bail_out "second relayguard-policyd did not start"

# live COUNTER-KEY - what the script counts now in a bucket hash
live() {
	redis_cli EVAL "local t = redis.call('TIME'); local now = t[1] + t[2] / 1e6
		local h, s = redis.call('HGETALL', KEYS[1]), 0
		for i = 1, #h, 2 do local e = tonumber(h[i]); if e and e > now then s = s + h[i + 1] end end
		return s" 1 "$1"
}

# race TAG N-CONN N-REQ SENDER RCPT-FORMAT - N-CONN connections, half to each
#	daemon, each sending N-REQ pipelined RCPT requests of distinct
#	transactions; prints one action per request
race() {
	python3 - "$P1" "$P2" "$@" <<'PYEOF'
import socket, sys, threading
p1, p2, tag, nconn, nreq, sender, fmt = sys.argv[1:8]
nconn, nreq = int(nconn), int(nreq)
out, lock, go = [], threading.Lock(), threading.Event()
def conn(c):
    s = socket.create_connection(("127.0.0.1", int(p1 if c % 2 else p2)), timeout=20)
    req = b""
    for i in range(nreq):
        n = c * nreq + i
        req += ("request=smtpd_access_policy\nprotocol_state=RCPT\n"
                "protocol_name=ESMTP\nhelo_name=client.test\nqueue_id=\n"
                "sender=%s\nrecipient=%s\nrecipient_count=0\n"
                "client_address=127.0.0.2\nclient_name=localhost\n"
                "reverse_client_name=localhost\ninstance=%s.%d\n"
                "sasl_method=\nsasl_username=\nencryption_protocol=\n\n"
                % (sender, fmt % n, tag, n)).encode()
    go.wait()
    s.sendall(req)
    buf, got = b"", []
    while len(got) < nreq:
        d = s.recv(65536)
        if not d:
            break
        buf += d
        while b"\n\n" in buf:
            r, buf = buf.split(b"\n\n", 1)
            got.append(r.decode().split("action=", 1)[-1])
    with lock:
        out.extend(got)
ts = [threading.Thread(target=conn, args=(c,)) for c in range(nconn)]
for t in ts: t.start()
go.set()
for t in ts: t.join()
print("\n".join(out))
PYEOF
}

# ---------------------------------------------------------- exactness

out=$(race peak 20 20 printer@acme.example "r%d@dest.example")
is "$(grep -c . <<<"$out")" 400 "400 racing RCPT requests answered"
is "$(grep -c '^OK$' <<<"$out")" 50 "exactly the 10-minute limit (50) accepted"
is "$(grep -c '^450 4.2.1 Peak SMTP relay limit exceeded for customer.$' <<<"$out")" 350 \
	"the other 350 get 450 4.2.1"
is "$(live 'rgq:{acme}:cust:10m')" 50 "Redis counts 50 in the 10-minute window"
is "$(policy_rcpt "$P2" client_address=127.0.0.2 sender=x@acme.example instance=one.more)" \
	"action=450 4.2.1 Peak SMTP relay limit exceeded for customer." "never one more"

redis_cli FLUSHALL >/dev/null
out=$(race uniq 20 20 alice@acme.example "u%d@dest.example")
is "$(grep -c '^OK$' <<<"$out")" 30 "exactly the user's 30 unique recipients accepted"
is "$(grep -c '^550 5.4.5 Daily SMTP relay limit exceeded for user.$' <<<"$out")" 370 \
	"the other 370 get 550 5.4.5"
is "$(redis_cli ZCARD 'rgq:{acme}:user:alice@acme.example:rcpts')" 30 \
	"Redis holds 30 unique recipients of alice"

# ---------------------------------------------------------- round trips

# Postfix asks RCPT and END-OF-MESSAGE on one connection: so do we.
exec {PFD}<>"/dev/tcp/127.0.0.1/$P1" || bail_out "cannot connect to policyd"
ask() {	# ask STATE RECIPIENT-COUNT - one request on $PFD; prints the action
	local line reply=
	printf '%s\n' request=smtpd_access_policy "protocol_state=$1" \
		client_address=127.0.0.3 helo_name=client.test sender=bob@beta.example \
		recipient=a@dest.example "recipient_count=$2" instance=rt.1 \
		queue_id=ABC123 "" >&"$PFD"
	while IFS= read -r -t 5 line <&"$PFD"; do
		[ -z "$line" ] && break
		case $line in action=*) reply=$line ;; esac
	done
	printf '%s\n' "$reply"
}
rsv_gone() { [ "$(redis_cli EXISTS 'rgq:{beta}:rsv:rt.1')" = 0 ]; }

redis_cli CONFIG RESETSTAT >/dev/null
is "$(ask RCPT 0)" "action=OK" "RCPT accepted"
stats=$(redis_cli INFO commandstats)
like "$stats" 'cmdstat_evalsha:calls=1,' "one EVALSHA for the RCPT decision"
calls=$(grep -o 'cmdstat_[a-z|]*:calls=[0-9]*' <<<"$stats" |
	grep -Ev '^cmdstat_(info|config\|resetstat):' | tr '\n' ' ')
note "commands for one RCPT decision (inside the script too): $calls"
is "$(grep -c '^cmdstat_eval' <<<"$stats")" 1 "no EVAL, no SCRIPT LOAD"
is "$(redis_cli EXISTS 'rgq:{beta}:rsv:rt.1')" 1 "the reservation exists"
redis_cli CONFIG RESETSTAT >/dev/null
is "$(ask END-OF-MESSAGE 1)" "action=DUNNO" "END-OF-MESSAGE answered"
ok "the commit removes the reservation" wait_until 5 rsv_gone
stats=$(redis_cli INFO commandstats)
like "$stats" 'cmdstat_evalsha:calls=1,' "one EVALSHA for END-OF-MESSAGE"
is "$(grep -c '^cmdstat_eval' <<<"$stats")" 1 "... and nothing else from the daemon"
exec {PFD}>&-
is "$(live 'rgq:{beta}:user:bob@beta.example:msgs')" 1 "the message counted once"
is "$(live 'rgq:{beta}:cust:day')" 1 "its recipient is committed usage"
like "$(redis_cli TTL 'rgq:{beta}:cust:day')" '^(8[6-9]|9)[0-9]{3}$' \
	"committed usage expires after a day"

# ---------------------------------------------------------- outages

# ms_of CMD... - run CMD, print "ELAPSED_MS OUTPUT"
ms_of() {
	local t0 t1 o
	t0=$(date +%s%N)
	o=$("$@")
	t1=$(date +%s%N)
	printf '%d %s\n' $(((t1 - t0) / 1000000)) "$o"
}
beta() { policy_rcpt "$1" client_address=127.0.0.3 sender=bob@beta.example \
	recipient=b@dest.example instance="out.$RANDOM$RANDOM"; }
beta_ok() { [ "$(beta "$1")" = "action=OK" ]; }

is "$(beta "$P1")" "action=OK" "accepting before the outage"
kill -STOP "$REDIS_PID"
r=$(ms_of beta "$P1")
is "${r#* }" "action=451 4.3.0 Relay policy temporarily unavailable." \
	"Redis hanging (SIGSTOP): 451 4.3.0"
ms=${r%% *}
note "answer with Redis hanging took ${ms} ms (timeout_ms $TIMEOUT_MS)"
ok "within timeout_ms plus slack" test "$ms" -lt $((TIMEOUT_MS + 400))
r=$(ms_of beta "$P2")
is "${r#* }" "action=451 4.3.0 Relay policy temporarily unavailable." \
	"second daemon: 451 4.3.0 too"
ok "... within timeout_ms plus slack" test "${r%% *}" -lt $((TIMEOUT_MS + 400))
kill -CONT "$REDIS_PID"
ok "recovers by itself after SIGCONT" wait_until 5 beta_ok "$P1"
ok "the second daemon too" wait_until 5 beta_ok "$P2"

redis_stop
r=$(ms_of beta "$P1")
is "${r#* }" "action=451 4.3.0 Relay policy temporarily unavailable." \
	"Redis stopped: 451 4.3.0"
note "answer with Redis stopped took ${r%% *} ms"
ok "within timeout_ms plus slack" test "${r%% *}" -lt $((TIMEOUT_MS + 400))
r=$(ms_of beta "$P1")
is "${r#* }" "action=451 4.3.0 Relay policy temporarily unavailable." \
	"still 451 4.3.0 while it is down"
ok "daemon 1 alive" policyd_running
ok "daemon 2 alive" kill -0 "$PID2"
_redis_spawn || bail_out "redis-server did not restart"
ok "recovers by itself when Redis returns (empty, no scripts)" wait_until 5 beta_ok "$P1"
ok "the second daemon too" wait_until 5 beta_ok "$P2"

redis_restart || bail_out "redis-server did not restart"
ok "Redis restarted with an empty script cache: works again" wait_until 5 beta_ok "$P1"
ok "the second daemon too" wait_until 5 beta_ok "$P2"
like "$(redis_cli INFO commandstats)" 'cmdstat_eval:calls=[0-9]' \
	"the script was reloaded with EVAL after NOSCRIPT"
ok "no daemon crashed" kill -0 "$PID2"
ok "no daemon crashed (1)" policyd_running
unlike "$(cat "$POLICYD_LOG" "$TMP/policyd2.log")" 'panic|fatal|AddressSanitizer' \
	"no panic in the logs"

# SIGTERM with transactions under way: their reservations are given back
# before the daemon ends, not left to expire (reservation_ttl) and count
# against the customer after a restart; and no release is logged as a
# backend error.
is "$(policy_rcpt "$P1" client_address=127.0.0.3 sender=bob@beta.example \
	recipient=s1@dest.example instance=stop.1)" "action=OK" "a transaction under way at SIGTERM"
is "$(redis_cli EXISTS 'rgq:{beta}:rsv:stop.1')" 1 "... holds a reservation"
t0=$(date +%s%N)
policyd_stop
stop_ms=$((($(date +%s%N) - t0) / 1000000))
is "$(redis_cli EXISTS 'rgq:{beta}:rsv:stop.1')" 0 "SIGTERM gave the reservation back"
unlike "$(grep 'quota release' "$POLICYD_LOG")" 'backend_error' "... and logged no release as a backend error"
ok "it stopped within the 2 s grace (${stop_ms} ms)" test "$stop_ms" -lt 2000

done_testing
