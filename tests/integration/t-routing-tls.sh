#!/bin/bash
# t-routing-tls.sh - the TLS routes of DESIGN 5 end to end through a real
#	private Postfix (issue 11, cases 2 and 4)
#
# One private Postfix relays for relayguard-policyd (check_policy_service,
# and the socketmap server of its routing lookups), configured with the
# main.cf lines and master.cf entries `relayguardctl postfix-config` prints
# for the test config, pasted as they are. DNS is off; every next hop is
# [127.0.0.1]:PORT. The default relayhost is a plain smtp-sink (no
# STARTTLS). The TLS next hops are extra smtpd listeners of the same
# Postfix (tests/lib/tlshops.sh, with their own restrictions, so the
# relay's policy service does not apply to them); they discard what they
# take and log it as "status=sent (sink-NAME)". The relay's smtp client
# trusts the test CA (smtp_tls_CAfile). Proves:
#   2. a route with require_tls, require_ca_signed, validate_hostname and
#      tls_name delivers over a Verified TLS connection; the same route to
#      a wrong-name, a self-signed or an expired certificate defers (the
#      message stays queued, the log says why, the hop took nothing);
#   4. outbound_tls with a secure_route: mail whose next hop (the default
#      relayhost) offers no STARTTLS leaves through the secure route over
#      verified TLS, never through the plain hop; a secure route whose
#      certificate fails its own TLS policy, or outbound_tls without a
#      secure_route, defers it.
# Run as root; KEEP_TMP=1 keeps the logs and configs.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/postfix.sh"
. "$TOP/tests/lib/tlshops.sh"
. "$TOP/tests/lib/policyd.sh"
tap_init
need_root
need_cmd postfix postconf smtp-sink swaks openssl
[ -x "$POLICYD_BIN" ] || bail_out "$POLICYD_BIN is not built (run make)"
CTL=${CTL_BIN:-$TOP/ctl/relayguardctl}
mktmp >/dev/null

# ------------------------------------------------------------------ setup

sink_start || bail_out "smtp-sink did not start"
pf_init || bail_out "pf_init"
for h in good:good sec:good wrong:wrongname self:selfsigned old:expired; do
	tlshop_add "${h%%:*}" "${h#*:}" || bail_out "tlshop_add $h"
done

POL_PORT=$(free_port)
SM_PORT=$(free_port)
CONF=$TMP/relayguard.conf
# route NAME - a route to that TLS hop requiring CA and hostname
route() {
	printf 'route "%s" { host = "127.0.0.1"  port = %s  require_tls = true\n' \
		"$1" "$(tlshop_port "$1")"
	printf '    require_ca_signed = true  validate_hostname = true  tls_name = "%s" }\n' \
		"$(tlshop_name "$1")"
}
# customer NAME IP [OPTION...] - one domain NAME.example, relayed from IP
customer() {
	local name=$1 ip=$2
	shift 2
	printf 'customer "%s" {\n    domains = { "%s.example" }\n    licenses = 10\n' \
		"$name" "$name"
	printf '    %s\n' "$@"
	printf '    relay "lan" { allowed_senders = "domain_addresses"  ip "lo" { range = "%s" } }\n}\n' \
		"$ip"
}
{
	cat <<EOF
# written by tests/integration/t-routing-tls.sh
user = ""
quotas = false
policyd {
    listen    = { "inet:127.0.0.1:$POL_PORT" }
    socketmap = { "inet:127.0.0.1:$SM_PORT" }
}
EOF
	for r in good sec wrong self old; do route "$r"; done
	customer plainco 127.0.0.2				# no routing: the relayhost
	customer goodco 127.0.0.3 'outbound_route = "good"'	# case 2
	customer wrongco 127.0.0.4 'outbound_route = "wrong"'
	customer selfco 127.0.0.5 'outbound_route = "self"'
	customer oldco 127.0.0.6 'outbound_route = "old"'
	customer secco 127.0.0.7 'outbound_tls = true' 'secure_route = "sec"'	# case 4
	customer tlsco 127.0.0.8 'outbound_tls = true'
	customer badsecco 127.0.0.10 'outbound_tls = true' 'secure_route = "self"'
} >"$CONF"
ok "the test config passes relayguard-policyd -t" "$POLICYD_BIN" -t -c "$CONF"
policyd_start "$CONF" || bail_out "relayguard-policyd did not start"
wait_port 127.0.0.1 "$SM_PORT" 10 || bail_out "no socketmap listener"

# The routing part of the Postfix config is exactly what postfix-config
# prints: its main.cf lines appended to main.cf, its master.cf entries
# to master.cf.
pfc=$("$CTL" -c "$CONF" postfix-config 2>&1)
is "$?" 0 "relayguardctl postfix-config: exit 0"
printf '%s\n' "$pfc" >"$TMP/postfix-config.out"
main_part=$(sed '/^# master\.cf/,$d' <<<"$pfc")
master_part=$(sed -n '/^# master\.cf/,$p' <<<"$pfc")
like "$main_part" "smtp_tls_policy_maps = socketmap:inet:127\.0\.0\.1:$SM_PORT:tls" \
	"postfix-config: the TLS policy map is the socketmap"
like "$master_part" "relayguard-tls-sec unix .* smtp" "postfix-config: a transport for the secure route"
like "$master_part" "smtp_fallback_relay=\[127\.0\.0\.1\]:$(tlshop_port sec)" \
	"postfix-config: its fallback relay is the secure route's next hop"
printf '%s\n' "$main_part" >>"$PF_CONF/main.cf"
printf '%s\n' "$master_part" >>"$PF_CONF/master.cf"
pf_conf "smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$POL_PORT, reject" \
	"smtp_host_lookup = native" \
	"smtp_tls_security_level = may" \
	"smtp_tls_CAfile = $TLSHOP_CA" \
	"smtp_tls_loglevel = 1"
pf_start || bail_out "postfix did not start"
tlshop_wait || bail_out "next hops not listening"

# ------------------------------------------------------------- helpers

# send IP FROM RCPT - relay one message; sets QID (empty when refused)
send() {
	local out
	out=$(swaks_send --local-interface "$1" --from "$2" --to "$3")
	QID=$(queue_id "$out")
	[ -n "$QID" ] || diag "not queued: $2 -> $3" "$(final_reply "$out")"
}
# qlog QID - the Postfix log lines of that message
qlog() { grep -F " $1: " "$PF_LOG"; }
_has_status() { qlog "$1" | grep -q "status=$2"; }
# wait_status QID sent|deferred [TIMEOUT_S] - its first delivery attempt
wait_status() { [ -n "$1" ] && wait_until "${3:-20}" _has_status "$1" "$2"; }
# queued QID - true while the message is still in the queue
queued() { [ -n "$1" ] && [ -n "$(find "$PF_QUEUE/active" "$PF_QUEUE/deferred" -name "$1" 2>/dev/null)" ]; }
# sink_has RCPT - true when smtp-sink received mail for RCPT
sink_has() { [ -n "$(sink_grep "X-Rcpt-Args: <$(re_quote "$1")>")" ]; }
# tls_log HOP - the relay's TLS log lines about that hop's port
tls_log() { grep -E "TLS connection established to .*:$(tlshop_port "$1"):" "$PF_LOG"; }

# Every message goes in first, then the checks: the attempts overlap.
send 127.0.0.2 a@plainco.example r-plain@dest.example; Q_PLAIN=$QID
send 127.0.0.3 a@goodco.example r-good@dest.example; Q_GOOD=$QID
send 127.0.0.4 a@wrongco.example r-wrong@dest.example; Q_WRONG=$QID
send 127.0.0.5 a@selfco.example r-self@dest.example; Q_SELF=$QID
send 127.0.0.6 a@oldco.example r-old@dest.example; Q_OLD=$QID
send 127.0.0.7 a@secco.example r-sec@dest.example; Q_SEC=$QID
send 127.0.0.8 a@tlsco.example r-tls@dest.example; Q_TLS=$QID
send 127.0.0.10 a@badsecco.example r-badsec@dest.example; Q_BADSEC=$QID
for q in PLAIN GOOD WRONG SELF OLD SEC TLS BADSEC; do
	v=Q_$q
	ok "policy service accepted the ${q,,} customer's mail (queued as ${!v:-nothing})" test -n "${!v}"
done
out=$(swaks_send --local-interface 127.0.0.9 --from a@plainco.example --to r-foreign@dest.example)
like "$(rcpt_reply "$out")" "^550 5\.7\.0 " "the policy service is in force: a client of no customer is refused"

# --------------------------------------------- control: the plain relayhost

ok "a customer without routing: delivered to the default relayhost" wait_status "$Q_PLAIN" sent
ok "... smtp-sink has it" sink_has r-plain@dest.example
like "$(qlog "$Q_PLAIN")" "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINK_PORT,.*status=sent" \
	"... through [127.0.0.1]:$SINK_PORT"

# ------------------------------- case 2: a route requiring CA and hostname

ok "2: CA and hostname route, right certificate: sent" wait_status "$Q_GOOD" sent
like "$(qlog "$Q_GOOD")" "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$(tlshop_port good),.*status=sent" \
	"2: through the route's next hop [127.0.0.1]:$(tlshop_port good)"
like "$(tls_log good)" "Verified TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:$(tlshop_port good):" \
	"2: over a Verified TLS connection"
ok "2: the hop took it" tlshop_wait_sent good 1 15
nok "2: not the default relayhost" sink_has r-good@dest.example

# check_deferred TAG QID HOP ERE-OF-THE-REASON - deferred, still queued,
#	the verification failure logged, the hop took nothing
check_deferred() {
	local tag=$1 q=$2 hop=$3 why=$4 log
	ok "$tag: deferred" wait_status "$q" deferred
	log=$(qlog "$q")
	like "$log" "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$(tlshop_port "$hop"),.*status=deferred" \
		"$tag: the attempt went to the route's next hop"
	like "$log" "status=deferred \(Server certificate not verified\)" \
		"$tag: deferred because the server certificate was not verified"
	unlike "$log" "TLS configuration problem|lookup" "$tag: not a lookup or configuration failure"
	like "$(grep -F ":$(tlshop_port "$hop"): " "$PF_LOG")" "$why" "$tag: the log says why"
	unlike "$(tls_log "$hop")" "Verified TLS" "$tag: no verified connection to it"
	ok "$tag: still queued" queued "$q"
	is "$(tlshop_sent "$hop")" 0 "$tag: the hop took nothing"
	nok "$tag: nor did the default relayhost" sink_has "$5"
}
check_deferred "2: wrong name" "$Q_WRONG" wrong \
	"server certificate verification failed for 127\.0\.0\.1\[127\.0\.0\.1\]:[0-9]+: num=62:hostname mismatch" \
	r-wrong@dest.example
check_deferred "2: self-signed" "$Q_SELF" self \
	"certificate verification failed for 127\.0\.0\.1\[127\.0\.0\.1\]:[0-9]+: self-signed certificate" \
	r-self@dest.example
check_deferred "2: expired" "$Q_OLD" old \
	"certificate verification failed for 127\.0\.0\.1\[127\.0\.0\.1\]:[0-9]+: certificate has expired" \
	r-old@dest.example

# ---------------------- case 4: outbound_tls with and without a secure_route

ok "4: outbound_tls + secure_route: sent" wait_status "$Q_SEC" sent
log=$(qlog "$Q_SEC")
like "$log" "$Q_SEC: TLS is required, but was not offered by host 127\.0\.0\.1\[127\.0\.0\.1\]" \
	"4: the plain next hop offered no TLS (logged, a soft error)"
like "$log" "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$(tlshop_port sec),.*status=sent" \
	"4: delivered through the secure route's next hop [127.0.0.1]:$(tlshop_port sec)"
# Postfix logs a master.cf service as postfix/smtp: the fallback relay can
# only come from the relayguard-tls-sec entry, main.cf has none.
is "$(pf_postconf -xh smtp_fallback_relay)" "" "4: main.cf has no fallback relay: it came from the relayguard-tls-sec transport"
like "$(tls_log sec)" "Verified TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:$(tlshop_port sec):" \
	"4: the secure route's own TLS policy applied: a Verified TLS connection"
ok "4: the secure route's hop took it" tlshop_wait_sent sec 1 15
nok "4: the plain next hop (smtp-sink) got nothing" sink_has r-sec@dest.example

ok "4: outbound_tls without a secure_route: deferred" wait_status "$Q_TLS" deferred
like "$(qlog "$Q_TLS")" "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINK_PORT, .*dsn=4\.7\.4, status=deferred \(TLS is required, but was not offered by host 127\.0\.0\.1\[127\.0\.0\.1\]\)" \
	"4: because the next hop (the default relayhost) offered no TLS"
ok "4: still queued" queued "$Q_TLS"
nok "4: smtp-sink got nothing" sink_has r-tls@dest.example
is "$(tlshop_sent sec)" 1 "4: nor did the secure route's hop, beyond the one message"

# The fallback relay gets its own TLS policy lookup: a secure route whose
# certificate fails its checks defers rather than deliver.
ok "4: a secure route to a self-signed hop: deferred" wait_status "$Q_BADSEC" deferred
log=$(qlog "$Q_BADSEC")
like "$log" "$Q_BADSEC: TLS is required, but was not offered by host 127\.0\.0\.1\[127\.0\.0\.1\]" \
	"4: the plain next hop was tried first"
like "$log" "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$(tlshop_port self), .*status=deferred \(Server certificate not verified\)" \
	"4: then the secure route, whose certificate was not verified"
ok "4: still queued" queued "$Q_BADSEC"
nok "4: smtp-sink got nothing" sink_has r-badsec@dest.example
is "$(tlshop_sent self)" 0 "4: nor did the secure route's hop"

# The hops' own listeners do not ask the policy service (tlshops.sh's -o
# overrides): the 9 decisions are those of the relay's listener alone.
is "$(grep -c ' action=' "$POLICYD_LOG")" 9 "the hops' listeners asked the policy service nothing"

done_testing
