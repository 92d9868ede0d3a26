#!/bin/bash
# t-socketmap.sh - relayguard-policyd's socketmap server (DESIGN 5.3)
# against the running daemon: each map's answers, pipelining, the
# malformed-request "death tests" (each answered PERM and closed while
# other connections carry on), unix and inet listeners, and a SIGHUP
# changing the next answer.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/policyd.sh"
tap_init
mktmp >/dev/null
need_cmd python3

PORT=$(free_port)
SMPORT=$(free_port)
SM="inet:127.0.0.1:$SMPORT"
SMU="unix:$TMP/sm.sock"
smq() { python3 "$TOP/tests/lib/socketmap.py" "$SM" query "$@"; }
smraw() { python3 "$TOP/tests/lib/socketmap.py" "${2:-$SM}" raw "$1"; }

write_conf() {	# write_conf FILE GW_HOST
	cat >"$1" <<CONF
user = ""
quotas = false
policyd {
    listen = { "inet:127.0.0.1:$PORT" }
    socketmap = { "$SM", "$SMU" }
}
route "gw" { host = "$2"  port = 2525 }
route "sec" {
    host = "sec.example.net"  port = 587
    require_tls = true  require_ca_signed = true  validate_hostname = true
}
route "partner" { host = "2001:db8::25"  require_tls = true }
route "mx" { host = "Partner.Example"  mx_lookup = true  require_tls = true
             require_ca_signed = true  validate_hostname = true }
customer "acme" {
    domains = { "acme.example" }
    licenses = 10
    users = { "alice@acme.example", "bob@acme.example" }
    outbound_route = "gw"
    allow_user_gateways = true
    user_gateway "bob.name@partner.example" { user = "bob@acme.example"  route = "partner" }
    relay "lan" { ip "lo" { range = "127.0.0.0/24" } }
}
customer "globex" {
    domains = { "globex.example" }
    licenses = 10
    outbound_tls = true
    secure_route = "sec"
    user_gateway "g@other.example" { user = "x@globex.example"  route = "mx" }
    users = { "x@globex.example" }
    relay "lan" { ip "lo" { range = "127.0.1.0/24" } }
}
customer "initech" {
    domains = { "initech.example" }
    licenses = 1
    outbound_tls = true
    relay "lan" { ip "lo" { range = "127.0.2.0/24" } }
}
CONF
}
write_conf "$TMP/rg.conf" 127.0.0.1
ok "the config with routes passes -t" "$POLICYD_BIN" -t -c "$TMP/rg.conf"
policyd_start "$TMP/rg.conf" || bail_out "policyd did not start"
wait_port 127.0.0.1 "$SMPORT" || bail_out "no socketmap listener"

# --- each map's answers -------------------------------------------------
is "$(smq 'relayhost alice@acme.example')" "OK [127.0.0.1]:2525" "relayhost: a customer's sender -> its outbound route"
is "$(smq 'relayhost Alice@MX.Acme.Example')" "OK [127.0.0.1]:2525" "relayhost: case and subdomains match"
is "$(smq 'relayhost anyone@acme.example')" "OK [127.0.0.1]:2525" "relayhost: any address of the domain, registered or not"
is "$(smq 'relayhost Bob.Name@Partner.Example')" "OK [ipv6:2001:db8::25]:25" "relayhost: an active user gateway -> its route, IPv6 as Postfix writes it"
is "$(smq 'relayhost g@other.example')" "NOTFOUND " "relayhost: an inactive gateway is a foreign address"
is "$(smq 'relayhost x@globex.example')" "NOTFOUND " "relayhost: a customer without outbound_route"
is "$(smq 'relayhost <>')" "NOTFOUND " "relayhost: the null sender"
is "$(smq 'relayhost "<>"')" "NOTFOUND " "relayhost: the quoted null sender"
is "$(smq 'relayhost *')" "NOTFOUND " "relayhost: *"
is "$(smq 'relayhost someone@elsewhere.example')" "NOTFOUND " "relayhost: a foreign sender"
is "$(smq 'transport x@globex.example')" "OK relayguard-tls-sec" "transport: outbound_tls with secure_route"
is "$(smq 'transport y@initech.example')" "OK relayguard-tls" "transport: outbound_tls alone"
is "$(smq 'transport alice@acme.example')" "NOTFOUND " "transport: no outbound_tls"
is "$(smq 'transport bob.name@partner.example')" "NOTFOUND " "transport: a gateway address"
is "$(smq 'transport *')" "NOTFOUND " "transport: *"
is "$(smq 'tls [127.0.0.1]:2525')" "OK may" "tls: a route without require_tls -> may"
is "$(smq 'tls [sec.example.net]:587')" "OK secure match=sec.example.net" "tls: CA and hostname -> secure match=host"
is "$(smq 'tls [ipv6:2001:db8::25]:25')" "OK encrypt" "tls: require_tls -> encrypt"
is "$(smq 'tls partner.example:25')" "OK verify" "tls: mx_lookup with CA -> verify"
is "$(smq 'tls [SEC.example.net]:587')" "OK secure match=sec.example.net" "tls: the next hop's case does not matter"
is "$(smq 'tls [elsewhere.example]:25')" "NOTFOUND " "tls: not a route's next hop"
is "$(smq 'nomap alice@acme.example')" "PERM unknown map" "an unknown map"
is "$(python3 "$TOP/tests/lib/socketmap.py" "$SMU" query 'relayhost alice@acme.example')" \
	"OK [127.0.0.1]:2525" "the unix listener answers too"
mode=$(stat -c %a "$TMP/sm.sock")
is "$mode" "660" "the unix socketmap socket has socket_mode"

# --- pipelining -----------------------------------------------------------
got=$(smq 'relayhost alice@acme.example' 'transport x@globex.example' 'tls [127.0.0.1]:2525' \
	'nomap x' 'relayhost <>' 'transport y@initech.example')
is "$got" "OK [127.0.0.1]:2525
OK relayguard-tls-sec
OK may
PERM unknown map
NOTFOUND 
OK relayguard-tls" "pipelined requests are answered in order"

# --- death tests: each PERM and closed; others carry on --------------------
exec 7<>/dev/tcp/127.0.0.1/$SMPORT || bail_out "no connection"
printf '28:relayhost alice@acme.example,' >&7
is "$(smraw '0:,')" "PERM invalid request
CLOSED" "0:, -> PERM invalid request, closed"
is "$(smraw '028:relayhost alice@acme.example,')" "PERM invalid request
CLOSED" "a leading zero -> PERM, closed"
big=$(head -c 10001 /dev/zero | tr '\0' 'a')
is "$(smraw "10001:relayhost $big,")" "PERM invalid request
CLOSED" "over 10,000 bytes -> PERM, closed"
is "$(smraw '99999999999999999999999:x,')" "PERM invalid request
CLOSED" "an absurd length -> PERM, closed"
is "$(smraw 'GET / HTTP/1.0\r\n\r\n')" "PERM invalid request
CLOSED" "no netstring at all -> PERM, closed"
is "$(smraw '28:relayhost alice@acme.example;')" "PERM invalid request
CLOSED" "a missing comma -> PERM, closed"
is "$(smraw '9:relayhost,')" "PERM invalid request
CLOSED" "no key -> PERM, closed"
is "$(smraw '28:relayhost alice@acme.example,0:,28:relayhost alice@acme.example,')" \
	"OK [127.0.0.1]:2525
PERM invalid request
CLOSED" "a good request before a bad one is answered; nothing after it"
big=$(head -c 9977 /dev/zero | tr '\0' 'a')
is "$(smq "relayhost $big@acme.example")" "NOTFOUND " "a request of exactly 10,000 bytes is answered"
read -r -t 5 -N 23 reply <&7
is "$reply" "19:OK [127.0.0.1]:2525," "a connection opened before the bad ones still answers"
printf '26:transport x@globex.example,' >&7
read -r -t 5 -N 25 reply <&7
is "$reply" "21:OK relayguard-tls-sec," "and keeps answering"
exec 7>&-
ok "the daemon is alive" kill -0 "$POLICYD_PID"

# --- relayguardctl postfix-config and check ------------------------------
CTL=$TOP/ctl/relayguardctl
pc=$("$CTL" -c "$TMP/rg.conf" postfix-config)
like "$pc" "sender_dependent_relayhost_maps = socketmap:$SM:relayhost" "postfix-config: the relayhost map"
like "$pc" "sender_dependent_default_transport_maps = socketmap:$SM:transport" "postfix-config: the transport map"
like "$pc" "smtp_tls_policy_maps = socketmap:$SM:tls" "postfix-config: the tls map"
like "$pc" "relayguard-tls unix - - n - - smtp
  -o smtp_tls_security_level=encrypt" "postfix-config: relayguard-tls"
like "$pc" "relayguard-tls-sec unix - - n - - smtp
  -o smtp_tls_security_level=encrypt
  -o smtp_fallback_relay=\\[sec.example.net\\]:587" "postfix-config: relayguard-tls-sec falls back to the secure route"
is "$(grep -c '^relayguard-tls' <<<"$pc")" 2 "postfix-config: one transport per secure route"
ck=$("$CTL" -c "$TMP/rg.conf" check)
like "$ck" "route gw: next hop \\[127.0.0.1\\]:2525, tls may" "check: a route, its next hop and policy"
like "$ck" "used by: acme \\(outbound_route\\)" "check: who uses a route"
like "$ck" "user_gateway g@other.example \\(user x@globex.example\\) is inactive" "check: an inactive gateway"

# --- reload: the next lookup sees the new config ---------------------------
write_conf "$TMP/rg.conf" 127.0.0.9
policyd_hup
wait_until 10 sh -c "grep -q 'reloaded configuration' '$POLICYD_LOG'"
is "$(smq 'relayhost alice@acme.example')" "OK [127.0.0.9]:2525" "after SIGHUP the next lookup follows the new route"
printf 'route "broken" { host = "1.2.3.4"  require_ca_signed = true }\n' >>"$TMP/rg.conf"
policyd_hup
wait_until 10 sh -c "grep -q 'reload failed' '$POLICYD_LOG'"
is "$(smq 'relayhost alice@acme.example')" "OK [127.0.0.9]:2525" "a bad reload keeps the routes in force"
policyd_stop
unlike "$(cat "$POLICYD_LOG")" "panic|AddressSanitizer" "no panic in the log"
done_testing
