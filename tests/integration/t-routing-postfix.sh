#!/bin/bash
# t-routing-postfix.sh - outbound routing end to end through a real Postfix
#
# A private Postfix configured with exactly what `relayguardctl
# postfix-config` prints for the test config (its main.cf lines appended
# to main.cf, its master.cf entries to master.cf), relayguard-policyd as
# check_policy_service AND socketmap server (a unix socket in the queue
# directory), relayguard-milter in rewrite mode as smtpd_milters (the
# lines of contrib/postfix-milter.cf), DNS off, every next hop a bracketed
# loopback address on a port of its own, never port 25, and a relayhost
# (the default smtp-sink) always set.  Each next hop is a plain smtp-sink
# writing one file per message into its own directory, so "where did the
# message go" is "in which directory is its file".  swaks is the client.
# DESIGN 5; the cases are numbered as in issue 11:
#   1. a customer's mail reaches its outbound_route, not the relayhost;
#   3. a require_tls route to a hop without STARTTLS defers (and
#      outbound_tls to such a hop, through relayguard-tls, too);
#   5. an active user gateway address is accepted by the policy service
#      and reaches the partner route's sink, the milter (rewrite mode) in
#      the path, the envelope sender not rewritten - also in an "any"
#      setting, where a foreign sender IS rewritten;
#   6. with allow_user_gateways = false, the same address is a foreign
#      sender: refused 550 5.7.1 in a domain_addresses setting, rewritten
#      (and so routed by the customer's own route) in an "any" setting;
#   7. SIGHUP with a changed route: the next message follows the new
#      route, without `postfix reload`.
# Cases 2 and 4 need TLS next hops: see "TLS NEXT HOPS" below.
#
# Postfix's resolve cache: resolve_clnt (in qmgr, smtpd, cleanup) keeps
# ONE result, keyed by (class, sender, address), for 30 s; the 30 s are
# hard-wired ("XXX make configurable"), no main.cf knob.  Any other
# sender/recipient pair misses it, so case 7 needs no wait and no reload:
# the next message (a new recipient) is resolved afresh by
# trivial-rewrite, which asks the socketmap again.
#
# Run as root.  KEEP_TMP=1 keeps every log, sink file and transcript.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/postfix.sh"
. "$TOP/tests/lib/policyd.sh"
. "$TOP/tests/milter/lib.sh"

tap_init
need_root
need_cmd postfix postconf postsuper smtp-sink swaks
[ -x "$MILTER_BIN" ] || bail_out "$MILTER_BIN is not built (run make)"
[ -x "$POLICYD_BIN" ] || bail_out "$POLICYD_BIN is not built (run make)"
CTL=$TOP/ctl/relayguardctl
[ -x "$CTL" ] || bail_out "$CTL is not built (run make)"
mktmp >/dev/null

P_PORT=$(free_port)
CONF=$TMP/relayguard.conf

# ------------------------------------------------------------ next hops
# hop_start NAME - a plain smtp-sink (no STARTTLS) on 127.0.0.1:HOP_NAME
#	(a free port), one file per message in $TMP/hops/NAME
declare -A HOP_PORT HOP_PID
hop_start() {
	local name=$1 port
	port=$(free_port) || return 1
	HOP_PORT[$name]=$port
	install -d -o postfix "$TMP/hops/$name"
	smtp-sink -u postfix -h "$name.hop.test" -d "$TMP/hops/$name/%M." \
		"127.0.0.1:$port" 100 </dev/null >>"$TMP/hops/$name.log" 2>&1 &
	HOP_PID[$name]=$!
	at_exit "kill_wait ${HOP_PID[$name]} 5"
	wait_port 127.0.0.1 "$port" 10
}

# hop_file NAME RCPT - the dump file of NAME holding a message for RCPT
#	(the default relayhost's sink is NAME "relayhost")
hop_dir() { [ "$1" = relayhost ] && echo "$SINK_DIR" || echo "$TMP/hops/$1"; }
hop_file() {
	grep -rlF "X-Rcpt-Args: <$2>" "$(hop_dir "$1")" 2>/dev/null | head -n 1
}

# hop_sender NAME RCPT - the envelope sender (X-Mail-Args) NAME got for RCPT
hop_sender() {
	local f
	f=$(hop_file "$1" "$2")
	[ -n "$f" ] && sed -n 's/^X-Mail-Args: <\([^>]*\)>.*/\1/p' "$f"
}

# hops_with RCPT - the hops (relayhost included) holding a message for RCPT
hops_with() {
	local h out=
	for h in relayhost "${!HOP_PORT[@]}"; do
		[ -n "$(hop_file "$h" "$1")" ] && out+="$h "
	done
	echo "${out% }"
}

# wait_hop NAME RCPT [TIMEOUT_S] - wait until NAME holds the message for RCPT
wait_hop() {
	local t=${3:-20} end=$((SECONDS + ${3:-20}))
	while [ -z "$(hop_file "$1" "$2")" ]; do
		[ "$SECONDS" -ge "$end" ] && {
			diag "no message for $2 at hop $1 after ${t}s; queue: $(pf_queue_count)"
			return 1
		}
		sleep 0.2
	done
}

# ------------------------------------------------------------ TLS NEXT HOPS
# Cases 2 and 4 (TLS next hops) are t-routing-tls.sh's.  Here the "sec"
# route of customer umbrella points at SEC_PORT, where nothing listens:
# it is there so that postfix-config prints a relayguard-tls-ROUTE
# transport and Postfix is proven to accept it.
SEC_PORT=$(free_port)

# ------------------------------------------------------------ config
# Address plan (swaks --local-interface):
#   127.0.0.2  acme "lan"      domain_addresses    route gw (v1), gw2 (v3)
#   127.0.0.3  acme "app"      any (HELO mx.acme.example; milter rewrites)
#   127.0.0.4  globex          route strict: require_tls, a plain hop
#   127.0.0.5  initech         no route: the relayhost
#   127.0.0.6  hooli           outbound_tls, no route: relayguard-tls
#   127.0.0.7  umbrella        outbound_tls + secure_route sec (case 4)
# write_conf GATEWAYS ACME_ROUTE - GATEWAYS: allow_user_gateways
write_conf() {
	cat >"$CONF.new" <<EOF
# written by tests/integration/t-routing-postfix.sh
user   = ""
quotas = false
policyd {
    listen      = { "inet:127.0.0.1:$P_PORT" }
    socketmap   = { "unix:$PF_QUEUE/relayguard/socketmap" }
    socket_mode = "0666"
}
milter { socket = "unix:$PF_QUEUE/relayguard/milter.sock"  socket_mode = "0666"  mode = "rewrite" }

route "gw"      { host = "127.0.0.1"  port = ${HOP_PORT[gw]} }
route "gw2"     { host = "127.0.0.1"  port = ${HOP_PORT[gw2]} }
route "partner" { host = "127.0.0.1"  port = ${HOP_PORT[partner]} }
route "strict"  { host = "127.0.0.1"  port = ${HOP_PORT[strict]}  require_tls = true }
route "sec"     { host = "127.0.0.1"  port = $SEC_PORT  require_tls = true }

customer "acme" {
    domains  = { "acme.example" }
    licenses = 10
    users    = { "alice@acme.example", "bob@acme.example" }
    outbound_route      = "$2"
    allow_user_gateways = $1
    user_gateway "bob.name@partner.example" { user = "bob@acme.example"  route = "partner" }
    relay "lan" {
        allowed_senders = "domain_addresses"
        ip "lan" { range = "127.0.0.2" }
    }
    relay "app" {
        allowed_senders = "any"
        ip "app" { range = "127.0.0.3" }
    }
}
customer "globex" {
    domains  = { "globex.example" }
    licenses = 10
    outbound_route = "strict"
    relay "lan" { allowed_senders = "domain_addresses"  ip "lan" { range = "127.0.0.4" } }
}
customer "initech" {
    domains  = { "initech.example" }
    licenses = 10
    relay "lan" { allowed_senders = "domain_addresses"  ip "lan" { range = "127.0.0.5" } }
}
customer "hooli" {
    domains  = { "hooli.example" }
    licenses = 10
    outbound_tls = true
    relay "lan" { allowed_senders = "domain_addresses"  ip "lan" { range = "127.0.0.6" } }
}
customer "umbrella" {
    domains  = { "umbrella.example" }
    licenses = 10
    outbound_tls = true
    secure_route = "sec"
    relay "lan" { allowed_senders = "domain_addresses"  ip "lan" { range = "127.0.0.7" } }
}
EOF
	mv "$CONF.new" "$CONF"
}

# reload_both - SIGHUP policyd and the milter, wait for both to say so
reload_both() {
	local np nm
	np=$(grep -c 'reloaded configuration' "$POLICYD_LOG")
	nm=$(grep -c 'configuration reloaded' "$MILTER_LOG")
	policyd_hup
	kill -HUP "$MILTER_PID"
	wait_until 10 sh -c "[ \$(grep -c 'reloaded configuration' '$POLICYD_LOG') -gt $np ] &&
		[ \$(grep -c 'configuration reloaded' '$MILTER_LOG') -gt $nm ]"
}

# The milter lines of contrib/postfix-milter.cf (continuations joined).
milter_main_cf() {
	grep -v '^#' "$TOP/contrib/postfix-milter.cf" |
		awk '/^[a-z_]+ *=/ { if (p != "") print p; p = $0; next }
		     /^[ \t]+[^ \t]/ { sub(/^[ \t]+/, " "); p = p $0; next }
		     END { if (p != "") print p }'
}

# ------------------------------------------------------------ setup
sink_start || bail_out "the relayhost's smtp-sink did not start"
for h in gw gw2 partner strict; do
	hop_start "$h" || bail_out "smtp-sink for hop $h did not start"
done
pf_init
install -d -m 755 "$PF_QUEUE/relayguard"
write_conf true gw
ok "the test config passes relayguard-policyd -t" "$POLICYD_BIN" -t -c "$CONF"
policyd_start "$CONF" || bail_out "relayguard-policyd did not start"
wait_until 10 test -S "$PF_QUEUE/relayguard/socketmap" || bail_out "no socketmap socket"
milter_start "$CONF" || bail_out "relayguard-milter did not start"

# Postfix: exactly what postfix-config prints, appended as it is.
"$CTL" -c "$CONF" postfix-config >"$TMP/postfix-config.out" 2>"$TMP/postfix-config.err"
is "$?" 0 "relayguardctl postfix-config exits 0"
sed '/^# master\.cf/,$d' "$TMP/postfix-config.out" >"$TMP/pc.main"
sed -n '/^# master\.cf/,$p' "$TMP/postfix-config.out" >"$TMP/pc.master"
is "$(grep -c '^[a-z_]* = socketmap:' "$TMP/pc.main")" 3 "postfix-config: three socketmap lines for main.cf"
like "$(cat "$TMP/pc.master")" "relayguard-tls-sec unix " "postfix-config: a relayguard-tls-sec transport for master.cf"
{ echo; cat "$TMP/pc.main"; } >>"$PF_CONF/main.cf"
{ echo; cat "$TMP/pc.master"; } >>"$PF_CONF/master.cf"

mapfile -t mcf < <(milter_main_cf)
[ "${#mcf[@]}" -ge 5 ] || bail_out "no main.cf lines in contrib/postfix-milter.cf"
pf_conf "${mcf[@]}"
pf_conf "smtp_dns_support_level = disabled" "smtp_host_lookup = native" \
	"smtpd_recipient_restrictions = check_policy_service { inet:127.0.0.1:$P_PORT, timeout=10s, { default_action = 451 4.3.5 Policy service unavailable } }, reject"
is "$(pf_postconf -h sender_dependent_relayhost_maps)" \
	"socketmap:unix:$PF_QUEUE/relayguard/socketmap:relayhost" "main.cf: the relayhost map as printed"
is "$(pf_postconf -h relayhost)" "[127.0.0.1]:$SINK_PORT" "main.cf: a default relayhost"
like "$(pf_postconf -M relayguard-tls-sec/unix 2>&1)" \
	"smtp_tls_security_level=encrypt.*smtp_fallback_relay=\[127\.0\.0\.1\]:$SEC_PORT" \
	"master.cf: relayguard-tls-sec as printed"
pf_start || bail_out "postfix did not start with postfix-config's lines"
MASTER_PID=$(_pf_master_pid)
for h in gw gw2 partner strict; do
	note "hop $h: [127.0.0.1]:${HOP_PORT[$h]}"
done
note "relayhost: [127.0.0.1]:$SINK_PORT, sec: [127.0.0.1]:$SEC_PORT"

# swaks_from IP FROM TO [HELO] - one message from 127.0.0.x
swaks_from() {
	SWAKS_HELO=${4:-client.test} swaks_send --local-interface "$1" --from "$2" --to "$3"
}

# --------------------------------- 1. a customer's mail reaches its gateway
out=$(swaks_from 127.0.0.2 alice@acme.example r1@dest.example)
like "$(data_reply "$out")" "^250 " "1. acme (outbound_route gw): queued"
out=$(swaks_from 127.0.0.5 carl@initech.example c1@dest.example)
like "$(data_reply "$out")" "^250 " "1. initech (no route): queued"
wait_hop gw r1@dest.example
wait_hop relayhost c1@dest.example
is "$(hops_with r1@dest.example)" "gw" "1. acme's message is at hop gw only, not at the relayhost"
is "$(hops_with c1@dest.example)" "relayhost" "1. a customer without a route uses the relayhost"
like "$(pf_log_grep "to=<r1@dest.example>.*status=sent")" "relay=127\.0\.0\.1\[127\.0\.0\.1\]:${HOP_PORT[gw]}," \
	"1. Postfix logs the delivery through gw's next hop"

# ------------------------------ 3. require_tls to a hop without STARTTLS
out=$(swaks_from 127.0.0.4 ops@globex.example r3@dest.example)
like "$(data_reply "$out")" "^250 " "3. globex (route strict, require_tls): queued"
q3=$(queue_id "$out")
out=$(swaks_from 127.0.0.6 ops@hooli.example r3b@dest.example)
like "$(data_reply "$out")" "^250 " "3. hooli (outbound_tls, no route): queued"
q3b=$(queue_id "$out")
wait_until 20 sh -c "grep -q '$q3: .*status=deferred' '$PF_LOG' && grep -q '$q3b: .*status=deferred' '$PF_LOG'"
like "$(pf_log_grep "$q3: to=<r3@dest.example>")" \
	"relay=127\.0\.0\.1\[127\.0\.0\.1\]:${HOP_PORT[strict]},.*status=deferred \(TLS is required, but was not offered by host 127\.0\.0\.1\[127\.0\.0\.1\]\)" \
	"3. require_tls route: deferred, TLS is required, but was not offered"
is "$(ls -A "$TMP/hops/strict")" "" "3. nothing reached the strict hop's sink"
like "$(pf_log_grep "$q3b: to=<r3b@dest.example>")" \
	"relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINK_PORT,.*status=deferred \(TLS is required, but was not offered" \
	"3. outbound_tls (relayguard-tls) to the plain relayhost: deferred"
is "$(hops_with r3b@dest.example)" "" "3. nothing of hooli's reached the relayhost"
queued() { find "$PF_QUEUE/deferred" "$PF_QUEUE/active" -type f -name "$1" | grep -q .; }
ok "3. globex's message is still queued" queued "$q3"
ok "3. hooli's message is still queued" queued "$q3b"
postsuper -c "$PF_CONF" -d "$q3" >/dev/null 2>&1
postsuper -c "$PF_CONF" -d "$q3b" >/dev/null 2>&1

# --------------------------------------- 5. an active user gateway address
out=$(swaks_from 127.0.0.2 bob.name@partner.example r5a@dest.example)
is "$(rcpt_reply "$out" | cut -c1-3)" 250 "5. gateway address, domain_addresses setting: accepted at RCPT"
like "$(data_reply "$out")" "^250 " "5. gateway address, domain_addresses setting: queued"
out=$(swaks_from 127.0.0.3 bob.name@partner.example r5b@dest.example mx.acme.example)
like "$(data_reply "$out")" "^250 " "5. gateway address, any setting (milter rewrites there): queued"
out=$(swaks_from 127.0.0.3 someone@foreign.example r5c@dest.example mx.acme.example)
like "$(data_reply "$out")" "^250 " "5. foreign sender, any setting: queued"
wait_hop partner r5a@dest.example
wait_hop partner r5b@dest.example
wait_hop gw r5c@dest.example
like "$(grep 'from=<bob.name@partner.example> to=<r5a@dest.example>' "$POLICYD_LOG")" \
	"action=OK customer=acme setting=lan" "5. the policy service accepted the gateway address for acme"
is "$(hops_with r5a@dest.example)" "partner" "5. domain_addresses: the message is at the partner hop only"
is "$(hop_sender partner r5a@dest.example)" "bob.name@partner.example" "5. domain_addresses: X-Mail-Args shows the gateway address"
is "$(hops_with r5b@dest.example)" "partner" "5. any: the message is at the partner hop only"
is "$(hop_sender partner r5b@dest.example)" "bob.name@partner.example" \
	"5. any: the milter did not rewrite the gateway address"
is "$(hop_sender gw r5c@dest.example)" "postmaster@acme.example" \
	"5. any: the milter is in the path and rewrites a foreign sender (routed by acme's gw)"
unlike "$(cat "$MILTER_LOG")" "sender rewritten: from=<bob\.name@partner\.example>" \
	"5. the milter logs no rewrite of the gateway address"

# ------------------------- 6. allow_user_gateways = false: a foreign sender
write_conf false gw
reload_both || diag "no reload lines in the logs"
out=$(swaks_from 127.0.0.2 bob.name@partner.example r6a@dest.example)
like "$(rcpt_reply "$out")" "^550 5\.7\.1 (.*: )?Invalid credentials for relay \[127\.0\.0\.2\]\." \
	"6. gateways off, domain_addresses setting: 550 5.7.1 Invalid credentials for relay"
out=$(swaks_from 127.0.0.3 bob.name@partner.example r6b@dest.example mx.acme.example)
like "$(data_reply "$out")" "^250 " "6. gateways off, any setting: queued"
wait_hop gw r6b@dest.example
is "$(hops_with r6b@dest.example)" "gw" "6. any: no longer the partner route, acme's gw"
is "$(hop_sender gw r6b@dest.example)" "postmaster@acme.example" "6. any: rewritten like any foreign sender"
is "$(hops_with r6a@dest.example)" "" "6. the refused message went nowhere"

# ------------------------------ 7. SIGHUP with a changed route, no reload
write_conf false gw2
t0=$SECONDS
reload_both || diag "no reload lines in the logs"
out=$(swaks_from 127.0.0.2 alice@acme.example r7@dest.example)
like "$(data_reply "$out")" "^250 " "7. after SIGHUP: acme's next message queued"
wait_hop gw2 r7@dest.example 15
is "$(hops_with r7@dest.example)" "gw2" "7. the next message follows the new route (gw2), not gw"
note "7. SIGHUP to delivery at gw2: $((SECONDS - t0)) s"
is "$(_pf_master_pid)" "$MASTER_PID" "7. the same Postfix master (never restarted)"
unlike "$(cat "$PF_LOG")" "postfix/master\[[0-9]+\]: reload" "7. Postfix was not reloaded"

unlike "$(cat "$POLICYD_LOG" "$MILTER_LOG")" "panic|AddressSanitizer" "no panic in the daemons' logs"
unlike "$(pf_log_grep 'warning: .*socketmap|fatal:|panic:')" "." "Postfix logs no socketmap warning, fatal or panic"
done_testing
