#!/bin/bash
# t-postfix-policyd.sh - relayguard-policyd behind a real Postfix, end to end
#
# Starts a private redis-server, relayguard-policyd, smtp-sink and a private
# Postfix (127.0.0.1 only) whose recipient restrictions are just
#	check_policy_service { inet:127.0.0.1:PORT, ... }, reject
# and drives it with swaks from several loopback source addresses, with and
# without STARTTLS and SMTP AUTH (Cyrus sasldb), to prove every decision
# class of DESIGN 3.1-3.3 and the one-log-line-per-decision rule of 3.5.
# Accepted mail must reach smtp-sink with the original envelope sender.
#
# Run as root: tests/integration/t-postfix-policyd.sh   (KEEP_TMP=1 keeps
# the temp dir with every log and transcript; VERBOSE=1 prints every SMTP
# transcript; POLICYD_BIN=path tests another binary; RG_ON_BACKEND_ERROR
# overrides on_backend_error, default "tempfail").
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/redis.sh"
. "$TOP/tests/lib/postfix.sh"
. "$TOP/tests/lib/policyd.sh"

tap_init
need_root
need_cmd redis-server redis-cli postfix postconf smtp-sink swaks saslpasswd2 \
	openssl
[ -x "$POLICYD_BIN" ] || bail_out "$POLICYD_BIN is not built (run make)"
mktmp >/dev/null

# ------------------------------------------------------------------ setup

redis_start || bail_out "redis-server did not start"
POL_PORT=$(free_port)
CONF=$TMP/relayguard.conf

cat >"$TMP/acme.users" <<'EOF'
# acme's extra users (users_file)
dan@acme.example
carol@acme.example nomail
EOF

# Address plan (all loopback):
#   127.0.0.1, .9   nobody's        127.0.0.2   acme "office"
#   127.0.0.3       acme "tls"      127.0.0.4   beta (IP + AUTH)
#   127.0.0.6       gamma (IP only) 127.0.0.7   delta (registered_users)
#   127.0.0.8       eps (any)       127.0.0.10  eps, range disabled
cat >"$CONF" <<EOF
# written by tests/integration/t-postfix-policyd.sh
redis {
    server     = "127.0.0.1:$REDIS_PORT"
    timeout_ms = 500
    prefix     = "rgtest"
}
on_backend_error = "${RG_ON_BACKEND_ERROR:-tempfail}"
user             = ""
policyd { listen = { "inet:127.0.0.1:$POL_PORT" } }

customer "acme" {
    domains    = { "acme.example", "acme-mail.example" }
    licenses   = 100
    users      = { "alice@acme.example", "bob@acme.example" }
    users_file = "$TMP/acme.users"
    relay "office" {
        allowed_senders   = "domain_addresses"
        ip "office lan" { range = "127.0.0.2/32" enabled = true }
    }
    relay "tls" {
        allowed_senders   = "domain_addresses"
        require_tls       = true
        ip "scanner" { range = "127.0.0.3" }
    }
    relay "roaming" {
        allowed_senders   = "registered_users"
        require_smtp_auth = true
    }
}

customer "beta" {
    domains  = { "beta.example" }
    licenses = 100
    users    = { "dave@beta.example" }
    relay "secure" {
        allowed_senders   = "domain_addresses"
        require_smtp_auth = true
        ip "site" { range = "127.0.0.4/32" }
    }
}

customer "gamma" {
    domains  = { "gamma.example" }
    licenses = 100
    users    = { "gina@gamma.example" }
    relay "lan only" {
        allowed_senders = "domain_addresses"
        ip "lan" { range = "127.0.0.6/32" }
    }
}

customer "delta" {
    domains  = { "delta.example" }
    licenses = 100
    users    = { "erin@delta.example" }
    relay "users only" {
        allowed_senders = "registered_users"
        ip "lan" { range = "127.0.0.7/32" }
    }
}

customer "eps" {
    domains  = { "eps.example" }
    licenses = 100
    users    = { "frank@eps.example" }
    relay "anything" {
        allowed_senders = "any"
        ip "lan" { range = "127.0.0.8/32" }
        ip "old" { range = "127.0.0.10/32" enabled = false }
    }
}
EOF

ok "relayguard-policyd -t accepts the test config" "$POLICYD_BIN" -t -c "$CONF"
policyd_start "$CONF" || bail_out "relayguard-policyd did not start"

sink_start || bail_out "smtp-sink did not start"
pf_init
pf_tls || bail_out "no TLS certificate"
pf_sasl
for u in alice@acme.example dave@beta.example gina@gamma.example \
	frank@eps.example mallory@nowhere.example; do
	pf_sasl_user "$u" "pw-${u%@*}" || bail_out "saslpasswd2 $u failed"
done
POLICY="check_policy_service { inet:127.0.0.1:$POL_PORT, timeout=10s, { default_action = 451 4.3.5 Policy service unavailable } }"
pf_conf "smtpd_recipient_restrictions = $POLICY, reject" \
	"smtpd_end_of_data_restrictions = $POLICY"
pf_start || bail_out "postfix did not start"

# ------------------------------------------------------------------ helpers

OUT=			# transcript of the last send
DELIVER=()		# "rcpt expected-X-Mail-Args" of accepted mail
MSGS=0			# messages that must reach smtp-sink
LOGCHK=()		# "rcpt customer-or-- accept|reject" for the policyd log
desc=

# send DESC SWAKS-ARGS... - one transaction; checks AUTH/STARTTLS worked
send() {
	local desc=$1 a want_auth=0 want_tls=0
	shift
	for a in "$@"; do
		case $a in --auth) want_auth=1 ;; --tls) want_tls=1 ;; esac
	done
	OUT=$(swaks_send "$@")
	if [ $want_tls = 1 ] && ! [[ $(starttls_reply "$OUT") =~ ^220 ]]; then
		fail "$desc: STARTTLS" "$OUT"
	fi
	if [ $want_auth = 1 ] && ! [[ $(auth_reply "$OUT") =~ ^235 ]]; then
		fail "$desc: AUTH" "$OUT"
	fi
	[ "${VERBOSE:-0}" = 1 ] && diag "$OUT"
	return 0
}

# accepted DESC N RCPT FROM CUSTOMER - Nth RCPT got 250, mail goes to sink
accepted() {
	is "$(rcpt_reply "$OUT" "$2")" "250 2.1.5 Ok" "$1" ||
		diag "transcript:" "$OUT"
	DELIVER+=("$3 <$4>")
	[ "$2" = 1 ] && MSGS=$((MSGS + 1))
	LOGCHK+=("$3 $5 accept")
}

# refused DESC N RCPT CUSTOMER "CODE DSN" "FIXED TEXT" - Nth RCPT refused
#	with exactly this code, DSN and text (an extra reason may follow)
refused() {
	local re
	re="^$(re_quote "$5 <$3>: Recipient address rejected: $6")( .*)?\$"
	like "$(rcpt_reply "$OUT" "$2")" "$re" "$1" || diag "transcript:" "$OUT"
	LOGCHK+=("$3 $4 reject")
}

# relay_denied DESC N RCPT IP [MAIL-FROM-DOMAIN] - the 3.1 "nobody" reply
relay_denied() {
	local got re list
	got=$(rcpt_reply "$OUT" "$2")
	re="^$(re_quote "550 5.7.0 <$3>: Recipient address rejected: Mail relay denied [$4]. Invalid credentials for relay for one of the domains in: ")"
	re+="(.*) $(re_quote "(as obtained from HELO and MAIL FROM).")( .*)?\$"
	like "$got" "$re" "$1" || diag "transcript:" "$OUT"
	list=${BASH_REMATCH[1]}
	if [ -n "${5:-}" ]; then
		like "$list" "(^|[ ,])$(re_quote "$5")(,|\$)" \
			"$1: domain list names $5"
	fi
	LOGCHK+=("$3 - reject")
}

A="--from alice@acme.example"
R=@dest.example

# ------------------------------------------------------------------ 3.1

send "unknown client" --local-interface 127.0.0.1 --from sam@foreign.example \
	--to "c01$R"
relay_denied "3.1 unknown client, no AUTH: 550 5.7.0 Mail relay denied" \
	1 "c01$R" 127.0.0.1 foreign.example

send "customer domain from unknown IP" --local-interface 127.0.0.9 --tls $A \
	--to "c02$R"
relay_denied "3.1 a customer's sender domain alone gives no relay" \
	1 "c02$R" 127.0.0.9 acme.example

send "unregistered SASL user" --local-interface 127.0.0.1 --tls \
	--auth mallory@nowhere.example pw-mallory --from mallory@nowhere.example \
	--to "c03$R"
relay_denied "3.1 SASL user registered nowhere: Mail relay denied" \
	1 "c03$R" 127.0.0.1 nowhere.example

send "disabled range" --local-interface 127.0.0.10 --from x@eps.example \
	--helo mail.eps.example --to "c04$R"
relay_denied "3.1 client in a disabled range only: Mail relay denied" \
	1 "c04$R" 127.0.0.10 eps.example

send "IP setting needs AUTH" --local-interface 127.0.0.4 \
	--from dave@beta.example --to "c05$R"
refused "3.1 IP matches, setting also needs AUTH: 530 5.5.1" \
	1 "c05$R" beta "530 5.5.1" "Authentication Required."

send "SASL customer, wrong IP" --local-interface 127.0.0.1 --tls \
	--auth gina@gamma.example pw-gina --from gina@gamma.example --to "c06$R"
refused "3.1 SASL customer, no setting holds even with AUTH: 550 5.7.1" \
	1 "c06$R" gamma "550 5.7.1" "Invalid credentials for relay [127.0.0.1]."

send "IP + AUTH + TLS" --local-interface 127.0.0.4 --tls \
	--auth dave@beta.example pw-dave --from dave@beta.example --to "c07$R"
accepted "3.1 IP + AUTH setting with AUTH and TLS: accepted" \
	1 "c07$R" dave@beta.example beta

send "AUTH-only setting" --local-interface 127.0.0.9 --tls \
	--auth alice@acme.example pw-alice $A --to "c08$R"
accepted "3.1 require_smtp_auth setting from any IP with AUTH+TLS: accepted" \
	1 "c08$R" alice@acme.example acme

# ------------------------------------------------------------------ 3.2

send "require_tls, no TLS" --local-interface 127.0.0.3 \
	--from bob@acme.example --to "c09$R"
refused "3.2 require_tls without STARTTLS: 530 5.7.0" \
	1 "c09$R" acme "530 5.7.0" "Must issue a STARTTLS command first."

send "require_tls, TLS" --local-interface 127.0.0.3 --tls \
	--from bob@acme.example --to "c10$R"
accepted "3.2 require_tls with STARTTLS: accepted" \
	1 "c10$R" bob@acme.example acme

send "require_smtp_auth, no TLS" --local-interface 127.0.0.4 \
	--auth dave@beta.example pw-dave --from dave@beta.example --to "c11$R"
refused "3.2 require_smtp_auth (IP+AUTH) without STARTTLS: 530 5.7.0" \
	1 "c11$R" beta "530 5.7.0" "Must issue a STARTTLS command first."

send "AUTH-only setting, no TLS" --local-interface 127.0.0.9 \
	--auth alice@acme.example pw-alice $A --to "c12$R"
refused "3.2 require_smtp_auth (AUTH only) without STARTTLS: 530 5.7.0" \
	1 "c12$R" acme "530 5.7.0" "Must issue a STARTTLS command first."

# SIGHUP in the middle: the daemon reloads and the 3.3 cases below run
# against the reloaded configuration, through the same Postfix connections
policyd_hup
sleep 0.3
ok "SIGHUP: relayguard-policyd is still running" policyd_running

# ------------------------------------------------------------------ 3.3

send "domain sender" --local-interface 127.0.0.2 $A --to "c13$R,c14$R"
accepted "3.3 domain_addresses, customer domain: accepted" \
	1 "c13$R" alice@acme.example acme
accepted "3.3 second recipient of a normal sender: accepted" \
	2 "c14$R" alice@acme.example acme

send "second domain" --local-interface 127.0.0.2 \
	--from y@acme-mail.example --to "c15$R"
accepted "3.3 domain_addresses, the customer's second domain: accepted" \
	1 "c15$R" y@acme-mail.example acme

send "subdomain sender" --local-interface 127.0.0.2 \
	--from x@sub.acme.example --to "c16$R"
accepted "3.3 domain_addresses, subdomain sender: accepted" \
	1 "c16$R" x@sub.acme.example acme

send "foreign sender" --local-interface 127.0.0.2 \
	--from x@foreign.example --to "c17$R"
refused "3.3 domain_addresses, foreign sender: 550 5.7.1" \
	1 "c17$R" acme "550 5.7.1" "Invalid credentials for relay [127.0.0.2]."

send "look-alike domain" --local-interface 127.0.0.2 \
	--from x@evilacme.example --to "c18$R"
refused "3.3 domain_addresses, evilacme.example is not a subdomain: 550 5.7.1" \
	1 "c18$R" acme "550 5.7.1" "Invalid credentials for relay [127.0.0.2]."

send "nomail licence" --local-interface 127.0.0.2 \
	--from carol@acme.example --to "c19$R"
refused "3.3 registered user with a nomail licence: 550 5.7.0" \
	1 "c19$R" acme "550 5.7.0" "Mail sending denied."

send "registered_users, stranger" --local-interface 127.0.0.7 \
	--from zed@delta.example --to "c20$R"
refused "3.3 registered_users, unregistered sender: 550 5.7.0" \
	1 "c20$R" delta "550 5.7.0" "Mail sending denied."

send "registered_users, case" --local-interface 127.0.0.7 \
	--from ERIN@Delta.Example --to "c21$R"
accepted "3.3 registered_users, registered sender in other case: accepted" \
	1 "c21$R" ERIN@Delta.Example delta

send "registered_users via AUTH, foreign sender" --local-interface 127.0.0.9 \
	--tls --auth alice@acme.example pw-alice --from x@foreign.example \
	--to "c22$R"
refused "3.3 registered_users (AUTH setting), foreign sender: 550 5.7.0" \
	1 "c22$R" acme "550 5.7.0" "Mail sending denied."

send "any, HELO" --local-interface 127.0.0.8 --helo mail.eps.example \
	--from x@foreign.example --to "c23$R"
accepted "3.3 any, foreign sender, HELO in a customer domain: accepted" \
	1 "c23$R" x@foreign.example eps

send "any, AUTH" --local-interface 127.0.0.8 --helo client.test \
	--auth frank@eps.example pw-frank --from x@foreign.example --to "c24$R"
accepted "3.3 any, foreign sender, SASL user of the customer: accepted" \
	1 "c24$R" x@foreign.example eps

send "any, neither" --local-interface 127.0.0.8 --helo client.test \
	--from x@foreign.example --to "c25$R"
relay_denied "3.3 any, foreign sender, no HELO/AUTH domain: Mail relay denied" \
	1 "c25$R" 127.0.0.8 foreign.example

send "any, own domain" --local-interface 127.0.0.8 --helo client.test \
	--from x@eps.example --to "c26$R"
accepted "3.3 any, customer-domain sender without HELO/AUTH domain: accepted" \
	1 "c26$R" x@eps.example eps

send "null sender, HELO" --local-interface 127.0.0.2 --helo mail.acme.example \
	--from '<>' --to "c27$R,c28$R"
accepted "3.3 null sender, HELO in a customer domain: first RCPT accepted" \
	1 "c27$R" "" acme
refused "3.3 null sender, second RCPT: 452 4.5.3" \
	2 "c28$R" acme "452 4.5.3" "Your message has too many recipients."

send "null sender, no domain" --local-interface 127.0.0.2 --helo client.test \
	--from '<>' --to "c29$R"
relay_denied "3.3 null sender, no HELO/AUTH domain: Mail relay denied" \
	1 "c29$R" 127.0.0.2

send "null sender, AUTH" --local-interface 127.0.0.9 --helo client.test \
	--tls --auth alice@acme.example pw-alice --from '<>' --to "c30$R"
accepted "3.3 null sender, domain from SASL: accepted" \
	1 "c30$R" "" acme

# ------------------------------------------------------------------ 3.5

is "$(policy_rcpt "$POL_PORT" protocol_state=EHLO recipient= sender=)" \
	"action=DUNNO" "3.5 a request in another protocol state: action=DUNNO"

# ------------------------------------------------------------------ delivery

pf_wait_delivered "$MSGS" 15
is "$(sink_count)" "$MSGS" "smtp-sink got every accepted message"
for d in "${DELIVER[@]}"; do
	rcpt=${d%% *}
	want=${d#* }
	like "$(sink_mail_for "$rcpt")" "^$(re_quote "$want")( |\$)" \
		"delivered to $rcpt with envelope sender $want (not rewritten)"
done
is "$(sink_mail_for "c28$R")" "" "refused 2nd null-sender recipient not delivered"

# ------------------------------------------------------------------ log lines

for c in "${LOGCHK[@]}"; do
	read -r rcpt cust kind <<<"$c"
	lines=$(grep -F "to=<$rcpt>" "$POLICYD_LOG" | grep -F 'action=')
	n=$(printf '%s' "$lines" | grep -c .)
	if [ "$n" != 1 ]; then
		fail "3.5 one policyd log line for the decision on $rcpt" \
			"found $n lines:" "$lines"
		continue
	fi
	desc="3.5 log line for $rcpt: $kind"
	[ "$cust" != - ] && desc+=", customer=$cust"
	re='action=[^ ]'
	[ "$kind" = accept ] && re='action=(OK|RELAY)( |$)'
	[ "$cust" != - ] && re+="(.* )?customer=$cust( |\$)"
	re+="(.* )?to=<$(re_quote "$rcpt")>"
	if [ "$kind" = reject ] && [[ $lines =~ action=(OK|RELAY|DUNNO)( |$) ]]
	then
		fail "$desc" "     got: '$lines'" "expected a refusal action"
	else
		like "$lines" "$re" "$desc"
	fi
done

if [ "${#DELIVER[@]}" -gt 0 ]; then
	keys=$(redis_cli --scan --pattern 'rgtest:{acme}:*' | head -n 3)
	like "$keys" '^rgtest:\{acme\}:' "3.4 quota keys use the prefix and hash tag"
fi

# ------------------------------------------------------------------ outage

policyd_stop
is "$?" 0 "SIGTERM: relayguard-policyd stops with exit status 0"
send "policy service down" --local-interface 127.0.0.2 $A --to "c31$R"
refused "policy service down: Postfix default_action 451 4.3.5" \
	1 "c31$R" - "451 4.3.5" "Policy service unavailable"

done_testing
