#!/bin/bash
# t-quota-postfix.sh - quota refusals end to end: swaks -> private Postfix
# -> check_policy_service relayguard-policyd -> Redis, and the commit at
# END-OF-MESSAGE (smtpd_end_of_data_restrictions).
#
# customer "tiny": alice may reach 2 unique recipients a day, the customer
# 3 recipients in 10 minutes.  The SMTP client must see 550 5.4.5 and
# 450 4.2.1 at RCPT, earlier recipients of the same message stand and are
# delivered, and with Redis down 451 4.3.0.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/redis.sh"
. "$TOP/tests/lib/postfix.sh"
. "$TOP/tests/lib/policyd.sh"

tap_init
need_root
need_cmd redis-server redis-cli postfix postconf smtp-sink swaks
[ -x "$POLICYD_BIN" ] || bail_out "$POLICYD_BIN is not built (run make)"
mktmp >/dev/null
redis_start || bail_out "redis-server did not start"

POL_PORT=$(free_port)
cat >"$TMP/rg.conf" <<EOF
redis {
    server     = "unix:$REDIS_SOCK"
    timeout_ms = 300
    prefix     = "rgp"
}
user = ""
policyd { listen = { "inet:127.0.0.1:$POL_PORT" } }
customer "tiny" {
    domains  = { "tiny.example" }
    licenses = 10
    users    = { "alice@tiny.example" }
    limits {
        user_recipients_per_day       = 2
        customer_recipients_per_10min = 3
    }
    relay "office" {
        allowed_senders = "domain_addresses"
        ip "lan" { range = "127.0.0.2/32" }
    }
}
EOF
policyd_start "$TMP/rg.conf" || bail_out "relayguard-policyd did not start"
sink_start || bail_out "smtp-sink did not start"
pf_init
POLICY="check_policy_service { inet:127.0.0.1:$POL_PORT, timeout=10s, { default_action = 451 4.3.5 Policy service unavailable } }"
pf_conf "smtpd_recipient_restrictions = $POLICY, reject" \
	"smtpd_end_of_data_restrictions = $POLICY"
pf_start || bail_out "postfix did not start"

live() {
	redis_cli EVAL "local t = redis.call('TIME'); local now = t[1] + t[2] / 1e6
		local h, s = redis.call('HGETALL', KEYS[1]), 0
		for i = 1, #h, 2 do local e = tonumber(h[i]); if e and e > now then s = s + h[i + 1] end end
		return s" 1 "$1"
}
no_rsv() { [ -z "$(redis_cli --scan --pattern 'rgp:{tiny}:rsv:*')" ]; }

# 1: alice, three new recipients; her limit is 2
out=$(swaks_send --local-interface 127.0.0.2 --from alice@tiny.example \
	--to r1@dest.example,r2@dest.example,r3@dest.example)
replies=$(rcpt_replies "$out")
like "$(sed -n 1p <<<"$replies")" '^250 ' "first recipient accepted"
like "$(sed -n 2p <<<"$replies")" '^250 ' "second recipient accepted"
like "$(sed -n 3p <<<"$replies")" \
	'^550 5\.4\.5 .*Daily SMTP relay limit exceeded for user\.$' \
	"third: the client sees 550 5.4.5 Daily SMTP relay limit exceeded for user."
like "$(data_reply "$out")" '^250 ' "the message is accepted for the first two"
ok "committed at END-OF-MESSAGE (no reservation left)" wait_until 10 no_rsv
is "$(live 'rgp:{tiny}:cust:10m')" 2 "2 recipients count for the customer"
is "$(live 'rgp:{tiny}:user:alice@tiny.example:msgs')" 1 "one message for alice"
is "$(redis_cli ZCARD 'rgp:{tiny}:user:alice@tiny.example:rcpts')" 2 \
	"2 unique recipients for alice"

# 2: an unregistered sender: customer limit 3 in 10 minutes
out=$(swaks_send --local-interface 127.0.0.2 --from printer@tiny.example \
	--to r4@dest.example,r5@dest.example)
replies=$(rcpt_replies "$out")
like "$(sed -n 1p <<<"$replies")" '^250 ' "unregistered sender: user limits do not apply"
like "$(sed -n 2p <<<"$replies")" \
	'^450 4\.2\.1 .*Peak SMTP relay limit exceeded for customer\.$' \
	"the client sees 450 4.2.1 Peak SMTP relay limit exceeded for customer."
like "$(data_reply "$out")" '^250 ' "the message goes to the first recipient"
ok "committed again" wait_until 10 no_rsv
is "$(live 'rgp:{tiny}:cust:10m')" 3 "3 recipients count for the customer"

ok "both messages delivered" pf_wait_delivered 2 20
rcpts=$(sink_rcpts | sed 's/^<\([^>]*\)>.*/\1/' | sort | tr '\n' ' ')
is "$rcpts" "r1@dest.example r2@dest.example r4@dest.example " \
	"smtp-sink got exactly the accepted recipients"

# 3: Redis down: tempfail at RCPT, nothing lost
redis_stop
out=$(swaks_send --local-interface 127.0.0.2 --from printer@tiny.example \
	--to r6@dest.example)
like "$(rcpt_reply "$out")" '^451 4\.3\.0 .*Relay policy temporarily unavailable\.$' \
	"Redis down: the client sees 451 4.3.0"
ok "relayguard-policyd still running" policyd_running

done_testing
