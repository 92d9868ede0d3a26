#!/bin/bash
# t-sendmail.sh - relayguard-milter in enforce mode behind a real Sendmail
#
# Debian 12's Sendmail 8.17 (downloaded and extracted by tests/lib/
# sendmail.sh, never installed: it conflicts with Postfix) runs with a .cf
# built by m4 from contrib/sendmail.mc plus test-only lines, relays for
# everybody (promiscuous_relay: the milter alone decides) into smtp-sink,
# and listens on 127.0.0.1 and ::1.  The milter runs mode = "enforce" with
# quotas on against a private Redis.  swaks clients from 127.0.0.N and ::1:
#   - accept: the message arrives in smtp-sink;
#   - foreign sender, unknown client: 550 with the milter's text, as
#     Sendmail gives it (it puts "<rcpt>... " after the enhanced code);
#   - "any" setting: a foreign sender arrives as postmaster@acme.example;
#   - null sender: the second RCPT gets 452 4.5.3;
#   - quotas: 550 5.4.5 (user) and 450 4.2.1 (customer peak); 530, 452
#     and 451 (Redis down) texts reach the client unchanged;
#   - ::1 accepted while in a range, refused once the range is gone, the
#     reply naming [::1] (Sendmail sends "IPv6:0:0:0:0:0:0:0:1");
#   - the milter down: F=T makes Sendmail answer 4xx, nothing relayed.
# First, tests/milter/sendmail-addr.lua checks the same address form
# under miltertest.
#
# Run as root.  KEEP_TMP=1 keeps sendmail.cf, traffic.log, the logs.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/postfix.sh"
. "$TOP/tests/lib/redis.sh"
. "$TOP/tests/lib/sendmail.sh"
. "$TOP/tests/milter/lib.sh"

tap_init
need_root
need_cmd smtp-sink swaks miltertest redis-server
[ -x "$MILTER_BIN" ] || bail_out "$MILTER_BIN is not built (run make)"
mktmp >/dev/null

# ------------------------------- Sendmail's address form under miltertest
milter_conf enforce "unix:$TMP/addr.sock" >"$TMP/addr.conf"
milter_start "$TMP/addr.conf" || bail_out "relayguard-milter did not start"
milter_lua sendmail-addr.lua
milter_stop

# ------------------------------------------------------------------ setup
sm_fetch
like "$(sm_version)" "^8\.17\." "Debian's Sendmail 8.17 extracted under build/"

M_PORT=$(free_port)
CONF=$TMP/relayguard.conf

# Address plan: 127.0.0.2 and ::1 acme "lan" (domain_addresses),
# 127.0.0.3 acme "app" (any), 127.0.0.5 quota "lan" (2 unique recipients
# a day per user), 127.0.0.6 peak "lan" (1 recipient per 10 min),
# 127.0.0.7 tls "office" (require_tls; this Sendmail has no STARTTLS),
# 127.0.0.9 nobody's.
write_conf() {	# write_conf V6RANGE
	cat >"$CONF" <<EOF
# written by tests/integration/t-sendmail.sh
user             = ""
quotas           = true
on_backend_error = "tempfail"
redis  { server = "127.0.0.1:$REDIS_PORT"  prefix = "rgsm"  timeout_ms = 500 }
milter { socket = "inet:$M_PORT@127.0.0.1"  mode = "enforce" }

customer "acme" {
    domains  = { "acme.example", "acme-mail.example" }
    licenses = 10
    users    = { "alice@acme.example" }
    relay "lan" {
        allowed_senders = "domain_addresses"
        ip "lan" { range = "127.0.0.2" }
        ip "v6"  { range = "$1" }
    }
    relay "app" {
        allowed_senders = "any"
        ip "app" { range = "127.0.0.3" }
    }
}

customer "quota" {
    domains  = { "quota.example" }
    licenses = 1
    users    = { "uma@quota.example" }
    limits { user_recipients_per_day = 2 }
    relay "lan" {
        allowed_senders = "domain_addresses"
        ip "lan" { range = "127.0.0.5" }
    }
}

customer "tls" {
    domains  = { "tls.example" }
    licenses = 1
    relay "office" {
        allowed_senders = "domain_addresses"
        require_tls     = true
        ip "office" { range = "127.0.0.7" }
    }
}

customer "peak" {
    domains  = { "peak.example" }
    licenses = 1
    limits { customer_recipients_per_10min = 1 }
    relay "lan" {
        allowed_senders = "domain_addresses"
        ip "lan" { range = "127.0.0.6" }
    }
}
EOF
}

redis_start || bail_out "redis did not start"
sink_start || bail_out "smtp-sink did not start"
write_conf "::1"
milter_start "$CONF" || bail_out "relayguard-milter did not start"
like "$(head -n 5 "$MILTER_LOG")" "mode enforce" "milter runs in enforce mode"
sm_init "$M_PORT" || bail_out "cannot build sendmail.cf"
xline=$(grep '^Xrelayguard' "$SM_CF")
is "$xline" "Xrelayguard, S=inet:$M_PORT@127.0.0.1, F=T, T=C:10s;S:30s;R:30s;E:5m" \
	"sendmail.cf: the milter line of contrib/sendmail.mc"
like "$(grep '^O Milter.macros.connect=' "$SM_CF")" "\{client_addr\}" \
	"sendmail.cf: {client_addr} among the connect macros"
ok "sendmail.cf: promiscuous_relay" grep -q 'promiscuous_relay' "$SM_DIR/sendmail.mc"
start=$SECONDS
sm_start || bail_out "sendmail did not start"
ok "sendmail up without its 60 s wait for a qualified host name" \
	test $((SECONDS - start)) -lt 20

# ------------------------------------------------------------ the decisions
out=$(sm_swaks --local-interface 127.0.0.2 --from billing@acme.example \
	--to ok1@dest.example,ok2@dest.example)
like "$(printf '%s\n' "$out" | sed -n 's/^<-  \(220 .*\)/\1/p' | head -n 1)" "^220 relay\.test\.example ESMTP Sendmail 8\.17" \
	"Sendmail answers with its dotted host name"
is "$(rcpt_replies "$out")" "250 2.1.5 <ok1@dest.example>... Recipient ok
250 2.1.5 <ok2@dest.example>... Recipient ok" "accept: both recipients 250"
like "$(data_reply "$out")" "^250 2\.0\.0 [0-9A-Za-z]+ Message accepted for delivery$" \
	"accept: message accepted"

out=$(sm_swaks --local-interface 127.0.0.2 --from someone@foreign.example --to f1@dest.example)
is "$(rcpt_reply "$out")" "550 5.7.1 <f1@dest.example>... Invalid credentials for relay [127.0.0.2]. The sender's domain is not a domain of this organisation." \
	"foreign sender: 550 5.7.1, Sendmail inserts <rcpt>... after the code"

out=$(sm_swaks --local-interface 127.0.0.9 --from bob@acme.example --to u1@dest.example)
is "$(rcpt_reply "$out")" "550 5.7.0 <u1@dest.example>... Mail relay denied [127.0.0.9]. Invalid credentials for relay for one of the domains in: client.test, acme.example (as obtained from HELO and MAIL FROM)." \
	"unknown client: 550 5.7.0 relay denied"

out=$(SWAKS_HELO=mx.acme.example sm_swaks --local-interface 127.0.0.3 \
	--from someone@foreign.example --to rw1@dest.example)
like "$(data_reply "$out")" "^250 " "any setting, foreign sender: accepted"

out=$(SWAKS_HELO=mx.acme.example sm_swaks --local-interface 127.0.0.3 \
	--from '<>' --to null1@dest.example,null2@dest.example)
is "$(rcpt_reply "$out" 1)" "250 2.1.5 <null1@dest.example>... Recipient ok" \
	"null sender: first recipient accepted"
is "$(rcpt_reply "$out" 2)" "452 4.5.3 Your message has too many recipients." \
	"null sender: second recipient 452 4.5.3, text unchanged"
like "$(data_reply "$out")" "^250 " "null sender: message with one recipient accepted"

out=$(sm_swaks --local-interface 127.0.0.5 --from uma@quota.example \
	--to q1@dest.example,q2@dest.example,q3@dest.example)
is "$(rcpt_replies "$out")" "250 2.1.5 <q1@dest.example>... Recipient ok
250 2.1.5 <q2@dest.example>... Recipient ok
550 5.4.5 <q3@dest.example>... Daily SMTP relay limit exceeded for user." \
	"user quota: third unique recipient 550 5.4.5"
like "$(data_reply "$out")" "^250 " "user quota: the message goes to the first two"

out=$(sm_swaks --local-interface 127.0.0.6 --from ops@peak.example \
	--to p1@dest.example,p2@dest.example)
is "$(rcpt_reply "$out" 2)" "450 4.2.1 <p2@dest.example>... Peak SMTP relay limit exceeded for customer." \
	"customer peak quota: 450 4.2.1, <rcpt>... inserted too"
like "$(data_reply "$out")" "^250 " "customer peak quota: the message goes to the first"
like "$(redis_cli --scan --pattern 'rgsm:*' | sort | head -n 20)" "rgsm:\{quota\}:" \
	"quota keys in the private Redis"

out=$(sm_swaks --local-interface 127.0.0.7 --from ops@tls.example --to t1@dest.example)
is "$(rcpt_reply "$out")" "530 5.7.0 Must issue a STARTTLS command first." \
	"require_tls without TLS: 530 5.7.0, text unchanged"

# ::1: Sendmail passes {client_addr} as IPv6:0:0:0:0:0:0:0:1
out=$(SM_SERVER=::1 sm_swaks --from lab@acme.example --to v6a@dest.example)
like "$(rcpt_reply "$out")" "^250 " "IPv6 client ::1 in acme's range: accepted"
like "$(data_reply "$out")" "^250 " "IPv6 client: message accepted"
out=$(SM_SERVER=::1 sm_swaks --from lab@foreign.example --to v6b@dest.example)
is "$(rcpt_reply "$out")" "550 5.7.1 <v6b@dest.example>... Invalid credentials for relay [::1]. The sender's domain is not a domain of this organisation." \
	"IPv6 client, foreign sender: refused, reply names [::1]"
like "$(grep 'to=<v6a@dest.example>' "$MILTER_LOG")" "client=\[::1\]" \
	"milter log: client=[::1]"

sm_wait_delivered 6 30
like "$(sink_mail_for ok1@dest.example)" "^<billing@acme\.example>" "accept: delivered to smtp-sink"
like "$(sink_mail_for ok2@dest.example)" "^<billing@acme\.example>" "accept: second recipient delivered"
like "$(sink_mail_for rw1@dest.example)" "^<postmaster@acme\.example>" \
	"any setting: X-Mail-Args shows the rewrite to postmaster@acme.example"
like "$(sink_mail_for null1@dest.example)" "^<>" "null sender: delivered with <>"
like "$(sink_mail_for q2@dest.example)" "^<uma@quota\.example>" "user quota: recipients within the limit delivered"
like "$(sink_mail_for v6a@dest.example)" "^<lab@acme\.example>" "IPv6 client: delivered"
is "$(sink_mail_for f1@dest.example)$(sink_mail_for u1@dest.example)$(sink_mail_for null2@dest.example)$(sink_mail_for q3@dest.example)$(sink_mail_for p2@dest.example)$(sink_mail_for v6b@dest.example)$(sink_mail_for t1@dest.example)" "" \
	"nothing refused was delivered"

# The range of ::1 gone (SIGHUP): now nobody's client
write_conf "::2"
kill -HUP "$MILTER_PID"
wait_until 5 grep -q "configuration reloaded" "$MILTER_LOG" ||
	diag "no reload line in $MILTER_LOG"
out=$(SM_SERVER=::1 sm_swaks --from lab@acme.example --to v6c@dest.example)
is "$(rcpt_reply "$out")" "550 5.7.0 <v6c@dest.example>... Mail relay denied [::1]. Invalid credentials for relay for one of the domains in: client.test, acme.example (as obtained from HELO and MAIL FROM)." \
	"IPv6 client ::1 outside every range: 550 5.7.0 relay denied [::1]"

# Redis gone: on_backend_error = "tempfail"
redis_stop
out=$(sm_swaks --local-interface 127.0.0.2 --from billing@acme.example --to be1@dest.example)
is "$(rcpt_reply "$out")" "451 4.3.0 Relay policy temporarily unavailable." \
	"Redis down: 451 4.3.0, text unchanged"

# ------------------------------------------------------------ milter down
milter_stop
out=$(sm_swaks --local-interface 127.0.0.2 --from billing@acme.example --to down@dest.example)
like "$(final_reply "$out")" "^4[0-9][0-9] " "milter down: Sendmail answers 4xx (F=T)"
note "milter down: $(final_reply "$out")"
sleep 1
is "$(sink_mail_for down@dest.example)" "" "milter down: nothing relayed"

done_testing
