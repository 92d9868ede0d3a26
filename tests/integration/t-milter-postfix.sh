#!/bin/bash
# t-milter-postfix.sh - relayguard-milter behind a real private Postfix
#
# Phase 1, rewrite mode (the production recipe for Postfix): Postfix asks
# relayguard-policyd at RCPT (check_policy_service ..., reject) and runs
# relayguard-milter as smtpd_milters with the main.cf lines of
# contrib/postfix-milter.cf; mail goes to smtp-sink, whose X-Mail-Args
# line shows the envelope sender that left Postfix:
#   - a foreign sender of an "any" setting arrives as postmaster@acme.example,
#     once identified by HELO (127.0.0.2), once by SMTP AUTH (sasldb, TLS);
#   - a sender of the customer's own domain arrives unchanged;
#   - null sender, two recipients: the first delivered, the second 452 4.5.3.
# Phase 1b, the same with smtpd_milter_maps from relayguardctl milter-map:
# only clients of "any" settings reach the milter.
# Phase 2, enforce mode (Postfix without the policy service; the milter
# decides everything): the refusal texts reach the SMTP client, TLS is seen
# through {tls_version}, and the rewrite still happens.
#
# Run as root.  KEEP_TMP=1 keeps every log and transcript.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/postfix.sh"
. "$TOP/tests/lib/policyd.sh"
. "$TOP/tests/milter/lib.sh"

tap_init
need_root
need_cmd postfix postconf smtp-sink swaks saslpasswd2 openssl
[ -x "$MILTER_BIN" ] || bail_out "$MILTER_BIN is not built (run make)"
[ -x "$POLICYD_BIN" ] || bail_out "$POLICYD_BIN is not built (run make)"
mktmp >/dev/null

P_PORT=$(free_port)
CONF=$TMP/relayguard.conf

# Address plan: 127.0.0.2 acme "app" (any), 127.0.0.3 globex (require_tls),
# 127.0.0.1 and 127.0.0.9 nobody's (AUTH users come from there).
write_conf() {	# write_conf MODE
	cat >"$CONF" <<EOF
# written by tests/integration/t-milter-postfix.sh
user   = ""
quotas = false
policyd { listen = { "inet:127.0.0.1:$P_PORT" } }
milter  { socket = "unix:$PF_QUEUE/relayguard/milter.sock"  socket_mode = "0666"  mode = "$1" }

customer "acme" {
    domains  = { "acme.example", "acme-mail.example" }
    licenses = 10
    users    = { "alice@acme.example", "bob@acme.example" }
    relay "app" {
        allowed_senders = "any"
        ip "app server" { range = "127.0.0.2" }
    }
    relay "smarthost" {
        allowed_senders   = "any"
        require_smtp_auth = true
    }
}

customer "globex" {
    domains  = { "globex.example" }
    licenses = 5
    users    = { "hank@globex.example" }
    relay "office" {
        allowed_senders = "registered_users"
        require_tls     = true
        ip "office" { range = "127.0.0.3" }
    }
}
EOF
}

# The milter lines of contrib/postfix-milter.cf, with our port.
milter_main_cf() {
	sed -n '/^[a-z_]* *=/,/^$/p' "$TOP/contrib/postfix-milter.cf" |
		awk '/^[a-z_]+ *=/ { if (p != "") print p; p = $0; next }
		     /^[ \t]+/ { sub(/^[ \t]+/, " "); p = p $0; next }
		     END { if (p != "") print p }'
}

# ------------------------------------------------------------------ setup
sink_start || bail_out "smtp-sink did not start"
pf_init
# The recipe of contrib/postfix-milter.cf: the socket inside the queue
# directory, named relative to it in main.cf.
install -d -m 755 "$PF_QUEUE/relayguard"
write_conf rewrite
policyd_start "$CONF" || bail_out "relayguard-policyd did not start"
milter_start "$CONF" || bail_out "relayguard-milter did not start"
pf_tls || bail_out "no TLS certificate"
pf_sasl
pf_sasl_user alice@acme.example alicepw || bail_out "saslpasswd2 failed"
mapfile -t mcf < <(milter_main_cf)
[ "${#mcf[@]}" -ge 5 ] || bail_out "no main.cf lines in contrib/postfix-milter.cf"
pf_conf "${mcf[@]}"
pf_conf "smtpd_recipient_restrictions = check_policy_service { inet:127.0.0.1:$P_PORT, timeout=10s, { default_action = 451 4.3.5 Policy service unavailable } }, reject"
is "$(pf_postconf -h smtpd_milters)" "unix:relayguard/milter.sock" "main.cf: smtpd_milters from contrib/postfix-milter.cf"
is "$(pf_postconf -h milter_default_action)" "tempfail" "main.cf: milter_default_action = tempfail"
pf_start || bail_out "postfix did not start"

# ------------------------------------------------ phase 1: rewrite mode
out=$(SWAKS_HELO=mx.acme.example swaks_send --local-interface 127.0.0.2 \
	--from someone@foreign.example --to helo1@dest.example)
like "$(data_reply "$out")" "^250 " "HELO-identified foreign sender: queued"

out=$(swaks_send --local-interface 127.0.0.9 --tls --auth alice@acme.example alicepw \
	--from someone@foreign.example --to auth1@dest.example)
like "$(auth_reply "$out")" "^235 " "AUTH as alice@acme.example"
like "$(data_reply "$out")" "^250 " "AUTH-identified foreign sender: queued"

out=$(SWAKS_HELO=mx.acme.example swaks_send --local-interface 127.0.0.2 \
	--from billing@acme.example --to own1@dest.example)
like "$(data_reply "$out")" "^250 " "customer-domain sender: queued"

out=$(SWAKS_HELO=mx.acme.example swaks_send --local-interface 127.0.0.2 \
	--from '<>' --to null1@dest.example,null2@dest.example)
is "$(rcpt_reply "$out" 1 | cut -c1-3)" "250" "null sender: first recipient accepted"
# The policy service answers this RCPT before the milter sees it (Postfix
# then adds "<rcpt>: Recipient address rejected:"); the milter's own 452
# is the one of phase 2.
like "$(rcpt_reply "$out" 2)" "^452 4\.5\.3 (.*: )?Your message has too many recipients\.$" \
	"null sender: second recipient 452 4.5.3"
like "$(data_reply "$out")" "^250 " "null sender: message with one recipient queued"

out=$(swaks_send --local-interface 127.0.0.3 --from hank@globex.example --to tls1@dest.example)
like "$(rcpt_reply "$out")" "^530 5\.7\.0 (.*: )?Must issue a STARTTLS command first\.$" \
	"require_tls without TLS: 530 5.7.0"
out=$(swaks_send --local-interface 127.0.0.3 --tls --from hank@globex.example --to tls2@dest.example)
like "$(data_reply "$out")" "^250 " "require_tls with STARTTLS: queued"

# Local submission (non_smtpd_milters): the milter sees localhost
# [127.0.0.1]; nobody's address, so in rewrite mode it passes unchanged.
printf 'Subject: local\n\nlocal test\n' |
	sendmail -C "$PF_CONF" -f someone@foreign.example local1@dest.example
ok "local submission with sendmail(1)" test $? -eq 0

pf_wait_delivered 6 30
like "$(sink_mail_for helo1@dest.example)" "^<postmaster@acme\.example>" \
	"HELO case arrives with X-Mail-Args: <postmaster@acme.example>"
like "$(sink_mail_for auth1@dest.example)" "^<postmaster@acme\.example>" \
	"AUTH case arrives with X-Mail-Args: <postmaster@acme.example>"
like "$(sink_mail_for own1@dest.example)" "^<billing@acme\.example>" \
	"customer-domain sender arrives unchanged"
like "$(sink_mail_for null1@dest.example)" "^<>" "null sender: first recipient delivered with <>"
is "$(sink_mail_for null2@dest.example)" "" "null sender: second recipient not delivered"
like "$(sink_mail_for tls2@dest.example)" "^<hank@globex\.example>" "TLS mail delivered unchanged"
like "$(sink_mail_for local1@dest.example)" "^<someone@foreign\.example>" \
	"local submission passes the milter unchanged"
like "$(grep 'to=<local1@dest.example>' "$MILTER_LOG")" "client=\[127\.0\.0\.1\].*not enforced" \
	"local submission seen as client 127.0.0.1, not enforced in rewrite mode"
unlike "$(cat "$MILTER_LOG")" "serves only Postfix" \
	"rewrite mode: Postfix gives its macro v (smtpd and local submission), no refusal for another MTA"
qid=$(sed -n 's/.*: \([0-9A-F]*\): sender rewritten: from=<someone@foreign.example> to=<postmaster@acme.example>.*/\1/p' "$MILTER_LOG" | head -n 1)
like "$qid" "^[0-9A-F]+$" "the milter logs the rewrite with Postfix's queue id"
like "$(pf_log_grep "$qid: .*from=<postmaster@acme.example>" | head -n 1)" "." \
	"Postfix logs that queue id with the new sender"

# ------------------------------- phase 1b: rewrite mode, smtpd_milter_maps
# relayguardctl milter-map sends only clients of "any" settings through the
# milter.  This configuration has an "any" setting chosen by AUTH alone
# (smarthost), so its map keeps the milter on for everybody; without that
# setting, only 127.0.0.2 (acme "app") gets it.  With the milter stopped,
# a client the map skips is still served and one it covers gets 4xx.
# Here main.cf's connect macro list lacks v and {client_addr}: the milter
# asks for them itself (smfi_setsymlist), so rewrite mode still serves it.
"$TOP/ctl/relayguardctl" -c "$CONF" milter-map --milters unix:relayguard/milter.sock >"$TMP/map.all"
like "$(grep -v '^#' "$TMP/map.all")" "^127\.0\.0\.2/32	unix:relayguard/milter.sock
0\.0\.0\.0/0	unix:relayguard/milter.sock" "milter-map with an AUTH-only any setting: the milter for every client"
sed '/relay "smarthost"/,/^    }/d' "$CONF" >"$TMP/no-smarthost.conf"
"$TOP/ctl/relayguardctl" -c "$TMP/no-smarthost.conf" milter-map --milters unix:relayguard/milter.sock \
	>"$PF_CONF/relayguard_milter_map"
pf_conf "smtpd_milter_maps = cidr:$PF_CONF/relayguard_milter_map" \
	"milter_connect_macros = j {daemon_name}"
pf_reload
sleep 1
sink_clear
out=$(SWAKS_HELO=mx.acme.example swaks_send --local-interface 127.0.0.2 \
	--from someone@foreign.example --to map1@dest.example)
like "$(data_reply "$out")" "^250 " "milter map: client of the any setting queued"
pf_wait_delivered 1 30
like "$(sink_mail_for map1@dest.example)" "^<postmaster@acme\.example>" \
	"milter map: the any client still goes through the milter (rewritten)"
milter_stop
out=$(swaks_send --local-interface 127.0.0.3 --tls --from hank@globex.example --to map2@dest.example)
like "$(data_reply "$out")" "^250 " "milter map, milter down: a client the map skips is served"
out=$(SWAKS_HELO=mx.acme.example swaks_send --local-interface 127.0.0.2 \
	--from someone@foreign.example --to map3@dest.example)
like "$(final_reply "$out")" "^4[0-9][0-9] " "milter map, milter down: the any client gets 4xx"
pf_wait_delivered 1 30
like "$(sink_mail_for map2@dest.example)" "^<hank@globex\.example>" "milter map: skipped client delivered unchanged"
is "$(sink_mail_for map3@dest.example)" "" "milter map: nothing relayed past the missing milter"
pf_conf "smtpd_milter_maps =" "$(printf '%s\n' "${mcf[@]}" | grep '^milter_connect_macros')"
milter_start "$CONF" || bail_out "relayguard-milter did not start again"
pf_reload
sleep 1

# ------------------------------------------------ phase 2: enforce mode
write_conf enforce
kill -HUP "$MILTER_PID"
wait_until 5 grep -q "configuration reloaded.*mode enforce" "$MILTER_LOG" ||
	diag "no reload line in $MILTER_LOG"
policyd_stop
pf_conf "smtpd_recipient_restrictions = check_client_access static:OK, reject"
pf_reload
sleep 1
sink_clear

out=$(swaks_send --local-interface 127.0.0.9 --from someone@foreign.example --to e1@dest.example)
is "$(rcpt_reply "$out")" "550 5.7.0 Mail relay denied [127.0.0.9]. Invalid credentials for relay for one of the domains in: client.test, foreign.example (as obtained from HELO and MAIL FROM)." \
	"enforce: unknown client gets the 550 5.7.0 text"
out=$(swaks_send --local-interface 127.0.0.3 --from hank@globex.example --to e2@dest.example)
is "$(rcpt_reply "$out")" "530 5.7.0 Must issue a STARTTLS command first." \
	"enforce: require_tls without TLS"
out=$(swaks_send --local-interface 127.0.0.3 --tls --from nobody@globex.example --to e3@dest.example)
is "$(rcpt_reply "$out")" "550 5.7.0 Mail sending denied. The sender is not a registered user." \
	"enforce: TLS seen, unregistered sender refused"
out=$(swaks_send --local-interface 127.0.0.9 --from bob@acme.example --to e4@dest.example)
is "$(rcpt_reply "$out")" "550 5.7.0 Mail relay denied [127.0.0.9]. Invalid credentials for relay for one of the domains in: client.test, acme.example (as obtained from HELO and MAIL FROM)." \
	"enforce: customer domain from an unknown client is refused"
out=$(swaks_send --local-interface 127.0.0.9 --tls --auth alice@acme.example alicepw \
	--from someone@foreign.example --to e5@dest.example,e6@dest.example)
like "$(data_reply "$out")" "^250 " "enforce: AUTH, foreign sender, two recipients: queued"
out=$(SWAKS_HELO=mx.acme.example swaks_send --local-interface 127.0.0.2 \
	--from '<>' --to e7@dest.example,e8@dest.example)
is "$(rcpt_reply "$out" 2)" "452 4.5.3 Your message has too many recipients." \
	"enforce: null sender, second recipient 452 4.5.3"
pf_wait_delivered 2 30
like "$(sink_mail_for e5@dest.example)" "^<postmaster@acme\.example>" "enforce: rewritten (AUTH)"
like "$(sink_mail_for e6@dest.example)" "^<postmaster@acme\.example>" "enforce: one rewrite for every recipient"
like "$(sink_mail_for e7@dest.example)" "^<>" "enforce: null sender delivered to its one recipient"
is "$(sink_mail_for e1@dest.example)$(sink_mail_for e2@dest.example)$(sink_mail_for e3@dest.example)" "" \
	"enforce: nothing refused was delivered"

# The milter down: Postfix tempfails (milter_default_action), never relays.
milter_stop
out=$(SWAKS_HELO=mx.acme.example swaks_send --local-interface 127.0.0.2 \
	--from someone@foreign.example --to down@dest.example)
like "$(final_reply "$out")" "^4[0-9][0-9] " "milter down: Postfix answers 4xx"

done_testing
