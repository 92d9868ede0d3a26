#!/bin/bash
# t-policyd-asan.sh - relayguard-policyd built with ASan+UBSan
# (build/asan-bin), quotas on against a private redis-server:
#  - reset storms: clients pipeline five RCPT requests (Postfix 3.7
#    attribute sets) and reset the connection (SO_LINGER 0) while the
#    Redis replies are pending, also with Redis stopped for a moment and
#    woken as the resets come;
#  - the bad-input and load cases of t-policyd-robust.sh (policyd_abuse);
#  - the null sender per message instance across connections, and a
#    flood of instances in bounded memory;
# then the daemon must answer correctly, stop cleanly on SIGTERM, and the
# sanitizers (halt_on_error, leaks checked at exit) report nothing.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
POLICYD_BIN=$TOP/build/asan-bin/relayguard-policyd
. "$TOP/tests/lib/redis.sh"
. "$TOP/tests/lib/policyd.sh"

tap_init
need_cmd redis-server redis-cli python3
mktmp >/dev/null
ulimit -n 8192 2>/dev/null
if [ ! -x "$POLICYD_BIN" ]; then
	make -C "$TOP" --no-print-directory build/asan-bin/relayguard-policyd >"$TMP/make.out" 2>&1 ||
		bail_out "cannot build $POLICYD_BIN: $(tail -n 5 "$TMP/make.out")"
fi
redis_start || bail_out "redis-server did not start"

# Every report goes to $TMP/san.PID; none may appear.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$TMP/san"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$TMP/san"
san_reports() { cat "$TMP"/san.* 2>/dev/null; }

PORT=$(free_port)
cat >"$TMP/rg.conf" <<EOF
redis {
    server     = "127.0.0.1:$REDIS_PORT"
    timeout_ms = 500
}
user = ""
policyd {
    listen = { "inet:127.0.0.1:$PORT" }
    max_connections = 300
}
customer "acme" {
    domains  = { "acme.example" }
    licenses = 100000
    users    = { "alice@acme.example" }
    limits { user_recipients_per_day = 1000000 }
    relay "office" {
        allowed_senders = "domain_addresses"
        ip "lan" { range = "127.0.0.0/24" }
    }
}
EOF
policyd_start "$TMP/rg.conf" || bail_out "policyd did not start: $(san_reports)"
is "$(policy_rcpt "$PORT" sender=bob@acme.example instance=first.1)" "action=OK" "quotas on: accepted"
is "$(redis_cli EXISTS 'rg:{acme}:rsv:first.1')" 1 "... and reserved in Redis"

# storm ROUNDS CLIENTS STOP_SECONDS - each client pipelines five RCPT
# requests of one instance, then resets: at once, after a random pause,
# or after its first reply.  With STOP_SECONDS, Redis is stopped before
# the requests and continued just before the resets.
storm() {
	python3 - "$PORT" "$1" "$2" "$3" "$REDIS_PID" <<'PYEOF'
import os, random, signal, socket, struct, sys, time
port, rounds, nclients, stop, redis = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
attrs = ("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
         "helo_name=client.example\nqueue_id=\nsender=alice@acme.example\n"
         "recipient=r%d@dest.example\nrecipient_count=0\nclient_address=127.0.0.1\n"
         "client_name=localhost\nreverse_client_name=localhost\ninstance=storm.%d.%d\n"
         "sasl_method=\nsasl_username=\nsasl_sender=\nsize=0\nccert_subject=\n"
         "ccert_issuer=\nccert_fingerprint=\nencryption_protocol=\nencryption_cipher=\n"
         "encryption_keysize=0\netrn_domain=\nstress=\nccert_pubkey_fingerprint=\n"
         "client_port=40000\npolicy_context=\nserver_address=127.0.0.1\nserver_port=25\n\n")
linger = struct.pack("ii", 1, 0)
for r in range(rounds):
    socks = []
    for i in range(nclients):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        socks.append(s)
    if stop:
        os.kill(redis, signal.SIGSTOP)
    for i, s in enumerate(socks):
        s.sendall(b"".join((attrs % (j, r, i)).encode() for j in range(5)))
    if stop:
        time.sleep(stop)
        os.kill(redis, signal.SIGCONT)
    random.shuffle(socks)
    for i, s in enumerate(socks):
        if i % 3 == 1:
            time.sleep(random.random() * 0.002)
        elif i % 3 == 2 and not stop:
            s.settimeout(1)
            try:
                s.recv(20)
            except OSError:
                pass
        s.close()		# RST: SO_LINGER 0
print("done")
PYEOF
}
is "$(storm 3 150 0)" done "3 rounds of 150 clients: pipelined RCPTs, then reset"
ok "daemon alive after the reset storm" policyd_running
is "$(storm 2 150 0.3)" done "2 rounds of 150 clients with Redis stopped, continued as they reset"
ok "daemon alive after the storm with Redis stopped" policyd_running
is "$(storm 1 150 0.8)" done "150 clients with Redis stopped past timeout_ms"
ok "daemon alive after the storm with Redis timing out" policyd_running
is "$(policy_rcpt "$PORT" sender=bob@acme.example instance=after.storm)" "action=OK" \
	"a fresh request is answered correctly after the storms"
is "$(policy_rcpt "$PORT" sender=bob@other.example instance=after.storm2)" \
	"action=550 5.7.1 Invalid credentials for relay [127.0.0.1]. The sender's domain is not a domain of this organisation." \
	"... and a refusal too"
is "$(san_reports)" "" "no sanitizer report after the storms"

# The robustness cases, against this build, with quotas on.
policyd_abuse "$PORT"
is "$(san_reports)" "" "no sanitizer report after the robustness cases"

# DESIGN 3: a transaction is its message instance, whichever connection
# its requests arrive on (policy_rcpt opens a new connection each time).
null() { policy_rcpt "$PORT" sender= helo_name=mail.acme.example "$@"; }
is "$(null instance=nul.1 recipient=a@dest.example)" "action=OK" \
	"null sender, first recipient (connection A): OK"
is "$(null instance=nul.1 recipient=b@dest.example)" \
	"action=452 4.5.3 Your message has too many recipients." \
	"same instance, second recipient on connection B: 452 4.5.3"
is "$(null instance=nul.1 recipient=c@dest.example)" \
	"action=452 4.5.3 Your message has too many recipients." \
	"... and a third on connection C"
is "$(null instance=nul.2 recipient=b@dest.example)" "action=OK" "a new instance: OK again"
is "$(null instance=nul.2 protocol_state=END-OF-MESSAGE recipient_count=1)" "action=DUNNO" \
	"END-OF-MESSAGE of that instance"
is "$(redis_cli EXISTS 'rg:{acme}:rsv:nul.2')" 0 "END-OF-MESSAGE on another connection committed it"

# A flood of instances (one accepted recipient each, none ended): the
# table keeps at most its cap, forgetting the oldest; memory stays put.
flood() {	# flood TAG COUNT - COUNT instances over 8 pipelining connections
	python3 - "$PORT" "$1" "$2" <<'PYEOF'
import socket, sys
port, tag, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
req = ("request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=127.0.0.1\n"
       "helo_name=mail.acme.example\nsender=\nrecipient=r@dest.example\ninstance=%s.%d\n\n")
ok = 0
for start in range(0, n, 2000):
    for k, c in enumerate(conns):
        c.sendall(b"".join((req % (tag, i)).encode() for i in range(start + k, min(n, start + 2000), 8)))
    for k, c in enumerate(conns):
        want = len(range(start + k, min(n, start + 2000), 8))
        buf = b""
        while buf.count(b"\n\n") < want:
            d = c.recv(65536)
            if not d:
                break
            buf += d
        ok += buf.count(b"action=OK\n\n")
print(ok)
PYEOF
}
is "$(flood f1 70000)" 70000 "70,000 instances, each accepted once"
rss1=$(awk '/VmRSS/ {print $2}' "/proc/$POLICYD_PID/status")
like "$(cat "$POLICYD_LOG")" "more than 65536 transactions in progress: forgot the oldest" \
	"a full table forgets the oldest, and says so"
is "$(flood f2 70000)" 70000 "70,000 more"
is "$(flood f3 70000)" 70000 "and 70,000 more"
rss2=$(awk '/VmRSS/ {print $2}' "/proc/$POLICYD_PID/status")
note "RSS after 70,000 instances: $rss1 kB; after 210,000: $rss2 kB"
ok "memory roughly constant (grew $((rss2 - rss1)) kB, limit 40,000)" test $((rss2 - rss1)) -lt 40000
is "$(null instance=f3.69999 recipient=z@dest.example)" \
	"action=452 4.5.3 Your message has too many recipients." "a recent instance is still known"
is "$(null instance=f1.0 recipient=z@dest.example)" "action=OK" "the oldest instance was forgotten"
is "$(policy_rcpt "$PORT" sender=bob@acme.example instance=after.flood)" "action=OK" "served after the flood"
is "$(san_reports)" "" "no sanitizer report after the flood"

# A clean stop: exit 0, and LeakSanitizer finds nothing.
policyd_stop
is "$?" 0 "SIGTERM: exit status 0"
like "$(tail -n 1 "$POLICYD_LOG")" "stopped" "stop is logged"
is "$(san_reports)" "" "no sanitizer or leak report at exit"

done_testing
