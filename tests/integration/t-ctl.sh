#!/bin/bash
# t-ctl.sh - relayguardctl check and explain on the sample configuration.
. "$(dirname "$0")/../lib/common.sh"
tap_init
mktmp >/dev/null
CTL=$TOP/ctl/relayguardctl
CONF=$TOP/conf/relayguard.conf

out=$("$CTL" -c "$CONF" check); rc=$?
is "$rc" 0 "check: the sample config is valid"
like "$out" "customers 2, relay settings 4, IP ranges 4, users 3" "check: totals"
like "$out" "customer_recipients_per_day 32500, customer_recipients_per_10min 2250" \
	"check: derived limits for 250 paid licences"
like "$out" "customer globex: licenses 10 \(trial\)" "check: billing shown"
like "$out" "customer_recipients_per_day 100, customer_recipients_per_10min 50" "check: trial tier limits"
like "$out" "ip head office: 192.0.2.0/24" "check: ranges listed"
is "$("$CTL" -c "$CONF" check -q | wc -l)" 3 "check -q: totals only"

printf 'customer "x" {\n  domains = { "x.example" }\n  licenses = 1\n  relay "r" { }\n}\n' >"$TMP/bad.conf"
out=$("$CTL" -c "$TMP/bad.conf" check 2>&1); rc=$?
is "$rc" 1 "check: bad config exits 1"
like "$out" "^$TMP/bad.conf:4: relay \"r\": select at least one authentication method" \
	"check: file:line: reason"
out=$("$CTL" -c "$TMP/missing.conf" check 2>&1); rc=$?
is "$rc" 1 "check: missing file exits 1"
like "$out" "missing.conf:0: No such file or directory" "check: missing file named"

explain() { "$CTL" -c "$CONF" explain "$@"; }
out=$(explain --client 192.0.2.7 --from scan@acme.example --rcpt bob@example.org); rc=$?
is "$rc" 0 "explain: accepted exits 0"
like "$out" "verdict:  OK \(relay permitted\)" "explain: verdict"
like "$out" "customer: acme" "explain: customer"
like "$out" "setting:  printers" "explain: setting"
out=$(explain --client 10.9.9.9 --helo mx.other.example --from a@other.example --rcpt b@example.org); rc=$?
is "$rc" 1 "explain: refused exits 1"
like "$out" "verdict:  550 5.7.0 Mail relay denied \[10.9.9.9\]. Invalid credentials for relay for one of the domains in: mx.other.example, other.example \(as obtained from HELO and MAIL FROM\)." \
	"explain: relay denied text"
out=$(explain --client 10.9.9.9 --sasl alice@acme.example --from alice@acme.example --rcpt b@example.org)
like "$out" "verdict:  530 5.7.0 Must issue a STARTTLS command first." "explain: AUTH without TLS"
out=$(explain --client 10.9.9.9 --sasl alice@acme.example --tls --from alice@acme.example --rcpt b@example.org)
like "$out" "quotas:   user alice@acme.example" "explain: user quotas apply to a registered sender"
out=$(explain --client 198.51.100.10 --helo app.acme-mail.example --from x@other.example --rcpt b@example.org)
like "$out" "rewrite:  envelope sender <x@other.example> becomes <postmaster@acme-mail.example>" \
	"explain: rewrite shown"
out=$(explain --client 198.51.100.10 --helo app.acme.example --from "" --rcpt b@example.org --nrcpt 1)
like "$out" "verdict:  452 4.5.3 Your message has too many recipients." "explain: null sender second recipient"
"$CTL" -c "$CONF" explain --client 1.2.3.4 >/dev/null 2>&1; rc=$?
is "$rc" 2 "explain: missing arguments exit 2"
done_testing
