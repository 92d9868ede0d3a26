#!/bin/bash
# t-ctl.sh - relayguardctl check, explain, milter-map and quota on the sample
#	configuration (and small ones of its own).
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
tap_init
mktmp >/dev/null
CTL=${CTL_BIN:-$TOP/ctl/relayguardctl}
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
# Usage errors: status 2 for every program, distinct from a bad config (1).
"${POLICYD_BIN:-$TOP/policyd/relayguard-policyd}" -Z >/dev/null 2>&1; rc=$?
is "$rc" 2 "relayguard-policyd: unknown flag exits 2"
"${MILTER_BIN:-$TOP/milter/relayguard-milter}" -Z >/dev/null 2>&1; rc=$?
is "$rc" 2 "relayguard-milter: unknown flag exits 2"
"$CTL" -c "$CONF" frobnicate >/dev/null 2>&1; rc=$?
is "$rc" 2 "relayguardctl: unknown command exits 2"

# milter-map: a cidr table Postfix reads as meant (postmap -q is Postfix's
# own lookup): "any" ranges get the milter, everybody else DISABLE.
out=$("$CTL" -c "$CONF" milter-map); rc=$?
is "$rc" 0 "milter-map: exit 0"
printf '%s\n' "$out" >"$TMP/milter_map"
like "$out" "# acme/app: any sender" "milter-map: names the any setting"
mkdir -p "$TMP/pf" && printf 'compatibility_level = 3.6\n' >"$TMP/pf/main.cf"
map_q() { postmap -c "$TMP/pf" -q "$1" "cidr:$TMP/milter_map" 2>&1; }
is "$(map_q 198.51.100.10)" "inet:127.0.0.1:8891" "milter-map: a client of the any setting gets the milter (Postfix syntax)"
is "$(map_q 192.0.2.7)" DISABLE "milter-map: a client of a domain_addresses setting skips it"
is "$(map_q 203.0.113.9)" DISABLE "milter-map: an unknown client skips it"
is "$(map_q 2001:db8:1::5)" DISABLE "milter-map: IPv6 clients too"
out=$("$CTL" -c "$CONF" milter-map --milters "unix:relayguard/milter.sock, inet:localhost:8892" \
	--others inet:localhost:8892)
printf '%s\n' "$out" >"$TMP/milter_map"
is "$(map_q 198.51.100.10)" "unix:relayguard/milter.sock, inet:localhost:8892" "milter-map --milters: the whole list for any clients"
is "$(map_q 192.0.2.7)" "inet:localhost:8892" "milter-map --others: other milters stay on for everybody else"
# IPv6 and several ranges of an any setting; a disabled range is left out.
cat >"$TMP/any6.conf" <<EOF
milter { socket = "unix:/run/relayguard/milter.sock" mode = "rewrite" }
customer "v6" {
    domains = { "v6.example" }
    licenses = 5
    relay "apps" {
        allowed_senders = "any"
        ip "lab" { range = "2001:db8:9::/112" }
        ip "one" { range = "192.0.2.200" }
        ip "off" { range = "192.0.2.128/28" enabled = false }
    }
}
EOF
out=$("$CTL" -c "$TMP/any6.conf" milter-map)
printf '%s\n' "$out" >"$TMP/milter_map"
like "$out" "2001:db8:9::/112	unix:/run/relayguard/milter.sock" "milter-map: IPv6 range, unix socket as Postfix writes it"
is "$(map_q 2001:db8:9::42)" "unix:/run/relayguard/milter.sock" "milter-map: IPv6 client of the any setting"
is "$(map_q 192.0.2.200)" "unix:/run/relayguard/milter.sock" "milter-map: single address"
is "$(map_q 192.0.2.130)" DISABLE "milter-map: a disabled range is left out"
# An any setting chosen by SMTP AUTH alone can match from anywhere.
cat >>"$TMP/any6.conf" <<EOF
customer "roam" {
    domains = { "roam.example" }
    licenses = 5
    relay "road" { allowed_senders = "any"  require_smtp_auth = true }
}
EOF
out=$("$CTL" -c "$TMP/any6.conf" milter-map)
printf '%s\n' "$out" >"$TMP/milter_map"
like "$out" "SMTP AUTH alone \(road\)" "milter-map: says why the milter stays on for everybody"
is "$(map_q 203.0.113.9)" "unix:/run/relayguard/milter.sock" "milter-map: with an AUTH-only any setting every client gets the milter"
sed 's|unix:/run/relayguard/milter.sock|inet6:8891@::1|' "$TMP/any6.conf" >"$TMP/inet6.conf"
like "$("$CTL" -c "$TMP/inet6.conf" milter-map)" "	inet:\[::1\]:8891" "milter-map: an IPv6 milter socket in Postfix syntax, host in brackets"
sed 's/mode = "rewrite"/mode = "enforce"/' "$TMP/any6.conf" >"$TMP/enforce.conf"
out=$("$CTL" -c "$TMP/enforce.conf" milter-map 2>&1); rc=$?
is "$rc" 1 "milter-map: enforce mode exits 1"
like "$out" "milter mode is enforce: the milter decides for every client" "milter-map: enforce mode says why"
"$CTL" -c "$CONF" milter-map --others "" >/dev/null 2>&1; rc=$?
is "$rc" 2 "milter-map: an empty list is a usage error"

# quota show / reset against a private Redis, usage made by the policy daemon.
. "$TOP/tests/lib/redis.sh"
. "$TOP/tests/lib/policyd.sh"
redis_start >/dev/null || bail_out "redis did not start"
PORT=$(free_port)
sed -e "s|127.0.0.1:6379|127.0.0.1:$REDIS_PORT|" -e 's|^user .*|user = ""|' \
    -e "s|inet:127.0.0.1:10040|inet:127.0.0.1:$PORT|" "$CONF" >"$TMP/q.conf"
policyd_start "$TMP/q.conf" || bail_out "policyd did not start"
for i in 1 2 3; do
	policy_rcpt "$PORT" client_address=10.1.1.1 sasl_username=alice@acme.example \
		sender=alice@acme.example encryption_protocol=TLSv1.3 instance=q$i recipient=r$i@x.example >/dev/null
done
out=$("$CTL" -c "$TMP/q.conf" quota show acme); rc=$?
is "$rc" 0 "quota show customer: exit 0"
like "$out" "customer_recipients_per_day +3 of 32500 used, 32497 left; 3 free in " "quota show: customer day usage and when it frees"
like "$out" "customer_recipients_per_10min +3 of 2250 used" "quota show: customer 10-minute usage"
out=$("$CTL" -c "$TMP/q.conf" quota show ALICE@acme.example)
like "$out" "user_recipients_per_day +3 of 32500 used" "quota show user (case-insensitive): unique recipients"
like "$out" "user_messages_per_day +3 of 10000 used" "quota show user: messages"
like "$("$CTL" -c "$TMP/q.conf" quota reset alice@acme.example)" "quota of alice@acme.example reset" "quota reset user"
like "$("$CTL" -c "$TMP/q.conf" quota show alice@acme.example)" "user_recipients_per_day +0 of 32500 used" "user usage is zero after reset"
"$CTL" -c "$TMP/q.conf" quota reset acme >/dev/null
like "$("$CTL" -c "$TMP/q.conf" quota show acme)" "customer_recipients_per_day +0 of 32500 used" "customer usage is zero after reset"
out=$("$CTL" -c "$TMP/q.conf" quota show nobody 2>&1); rc=$?
is "$rc" 1 "quota show unknown: exit 1"
like "$out" '"nobody" is neither a customer nor a registered user' "quota show unknown: clear error"
redis_stop
out=$("$CTL" -c "$TMP/q.conf" quota show acme 2>&1); rc=$?
is "$rc" 1 "quota show with Redis down: exit 1"
like "$out" "redis 127.0.0.1:$REDIS_PORT: connect: Connection refused" "quota show with Redis down: says why"
done_testing
