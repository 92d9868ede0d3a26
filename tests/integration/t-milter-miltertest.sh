#!/bin/bash
# t-milter-miltertest.sh - relayguard-milter under miltertest: every reply
#	path in rewrite and enforce mode, quotas against a private Redis,
#	-t, SIGHUP reload (good and bad file), SIGTERM; the protocol flags
#	negotiated, checked on the wire (tests/milter/wire.py); rewrite mode
#	only for Postfix, enforce by default (mta.lua); overlong HELO and SASL
#	names judged uncut (facts.lua)
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/redis.sh"
. "$TOP/tests/milter/lib.sh"
tap_init
need_cmd miltertest
mktmp >/dev/null
[ -x "$MILTER_BIN" ] || bail_out "no $MILTER_BIN (run make)"

# --- -t -------------------------------------------------------------------
milter_conf enforce "unix:$TMP/good.sock" >"$TMP/good.conf"
ok "-t accepts a good file" "$MILTER_BIN" -t -c "$TMP/good.conf"
printf 'milter { socket = "inet:8891@127.0.0.1"\n mode = "sometimes" }\n' >"$TMP/bad.conf"
out=$("$MILTER_BIN" -t -c "$TMP/bad.conf" 2>&1); rc=$?
is "$rc" 1 "-t refuses a bad file with status 1"
like "$out" "^$TMP/bad.conf:[0-9]+: " "-t names file:line"
out=$("$MILTER_BIN" -t -c "$TMP/missing.conf" 2>&1); rc=$?
is "$rc" 1 "-t: a missing file is an error"
nok "unknown option" "$MILTER_BIN" -x

# --- enforce mode ---------------------------------------------------------
# A registered user of 320 bytes, the longest address (64 + @ + 255), for
# facts.lua: a front end that cut a longer SASL name would find this user.
longdom=$(printf '%s.%s.%s.%s.example' "$(printf 'a%.0s' {1..63})" \
	"$(printf 'b%.0s' {1..63})" "$(printf 'c%.0s' {1..63})" "$(printf 'd%.0s' {1..55})")
longuser="$(printf 'u%.0s' {1..64})@$longdom"
is "${#longuser}" 320 "facts: the long user has 320 bytes"
cat >"$TMP/enforce.extra" <<EOF
quotas = false
customer "longco" {
    domains  = { "$longdom" }
    licenses = 1
    users    = { "$longuser" }
    relay "auth" { allowed_senders = "registered_users"  require_smtp_auth = true }
}
EOF
milter_conf enforce "unix:$TMP/enforce.sock" "$TMP/enforce.extra" >"$TMP/enforce.conf"
milter_start "$TMP/enforce.conf" || bail_out "milter did not start"
is "$(stat -c %a "$TMP/enforce.sock")" 660 "unix socket made mode 0660"
milter_lua enforce.lua
milter_lua mta.lua -D MODE=enforce
milter_lua facts.lua -D "LONGUSER=$longuser"
ok "enforce: alive after the overlong facts" kill -0 "$MILTER_PID"
milter_stop; rc=$?
is "$rc" 0 "enforce: SIGTERM stops with status 0"
like "$(tail -n 1 "$MILTER_LOG")" "stopped$" "enforce: clean stop logged"

# --- rewrite mode, then SIGHUP ---------------------------------------------
milter_conf rewrite "unix:$TMP/rewrite.sock" >"$TMP/rewrite.conf"
milter_start "$TMP/rewrite.conf" || bail_out "milter did not start"
milter_lua rewrite.lua
milter_lua mta.lua -D MODE=rewrite
milter_wire		# SMFIP_NR_* taken and honoured, on the wire

# A bad file on SIGHUP keeps the running configuration.
cp "$TMP/rewrite.conf" "$TMP/rewrite.good"
printf 'customer "broken" {\n  licenses = -3\n}\n' >>"$TMP/rewrite.conf"
kill -HUP "$MILTER_PID"
wait_until 5 grep -q "reload failed" "$MILTER_LOG"
like "$(grep 'reload failed' "$MILTER_LOG")" "keeping the running configuration: $TMP/rewrite.conf:[0-9]+: " \
	"SIGHUP with a bad file: old config kept, reason logged"
ok "still running after a bad reload" kill -0 "$MILTER_PID"
milter_lua rewrite.lua

# A good file on SIGHUP switches the mode for the next message.
sed 's/mode = "rewrite"/mode = "enforce"/' "$TMP/rewrite.good" >"$TMP/rewrite.conf"
kill -HUP "$MILTER_PID"
wait_until 5 grep -q "configuration reloaded" "$MILTER_LOG"
like "$(grep 'configuration reloaded' "$MILTER_LOG")" "mode enforce" "SIGHUP reloads"
for i in 1 2 3; do kill -HUP "$MILTER_PID"; done
sleep 0.3
ok "still running after several SIGHUPs" kill -0 "$MILTER_PID"
milter_lua enforce.lua
milter_stop; rc=$?
is "$rc" 0 "rewrite: SIGTERM stops with status 0"

# --- no mode line: enforce --------------------------------------------------
milter_conf default "unix:$TMP/default.sock" >"$TMP/default.conf"
unlike "$(cat "$TMP/default.conf")" "[^_]mode[[:space:]]*=" "default: the file has no mode line"
milter_start "$TMP/default.conf" || bail_out "milter did not start"
like "$(grep 'listening on' "$MILTER_LOG")" "mode enforce" "default: the milter says mode enforce"
milter_lua mta.lua -D MODE=default
milter_stop

# --- detached, privileges dropped to "nobody" ------------------------------
port=$(free_port)
milter_conf rewrite "$port" | sed 's/^user *= ""/user = "nobody"/' >"$TMP/daemon.conf"
ok "without -f: the parent exits 0" "$MILTER_BIN" -c "$TMP/daemon.conf"
wait_port 127.0.0.1 "$port" 10
dpid=$(ss -Hltnp "sport = :$port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1)
if [ -n "$dpid" ]; then
	at_exit "kill $dpid"
	is "$(awk '/^Uid:/ { print $2 }' "/proc/$dpid/status")" "$(id -u nobody)" \
		"daemon runs as user nobody"
	MILTER_SOCK="inet:$port@127.0.0.1" MILTER_LOG=/dev/null milter_lua smoke.lua
	kill -HUP "$dpid"
	sleep 0.3
	ok "daemon alive after SIGHUP" kill -0 "$dpid"
	MILTER_SOCK="inet:$port@127.0.0.1" MILTER_LOG=/dev/null milter_lua smoke.lua
	kill -TERM "$dpid"
	wait_until 5 sh -c "! kill -0 $dpid 2>/dev/null"
	nok "daemon gone after SIGTERM" kill -0 "$dpid"
else
	fail "detached milter listens on 127.0.0.1:$port"
fi

# --- quotas (enforce mode, private Redis) ---------------------------------
redis_start || bail_out "redis did not start"
{
	cat <<EOF
quotas = true
on_backend_error = "tempfail"
redis { server = "127.0.0.1:$REDIS_PORT"  prefix = "rgt"  timeout_ms = 500 }
EOF
	cat "$TOP/tests/milter/quota-customers.conf"
} >"$TMP/quota.extra"
milter_conf enforce "unix:$TMP/quota.sock" "$TMP/quota.extra" >"$TMP/quota.conf"
if grep -q PLACEHOLDER "$TOP/common/quota.c"; then
	skip "quota limits" "common/quota.c is still the placeholder"
else
	milter_start "$TMP/quota.conf" || bail_out "milter did not start"
	milter_lua quota.lua
	keys=$(redis_cli --scan --pattern 'rgt:*' | head -n 50)
	like "$keys" "rgt:\{q3\}:" "quota keys carry the prefix and the customer hash tag"
	# SIGTERM while a session holds a reservation: libmilter stops
	# serving it without a close callback; the milter gives it back.
	cat >"$TMP/held.lua" <<'EOF'
dofile(DIR .. "/lib.lua")
local c = session{client = "100.64.2.5", helo = "lan.q2.example"}
mail(c, {from = "<held@q2.example>", qid = "HELD1"})
print("reply " .. reply_name(rcpt(c, "held@dest.example")))
os.execute("sleep 4")
EOF
	redis_cli DEL 'rgt:{q2}:cust:day' >/dev/null
	miltertest -D "SOCK=$MILTER_SOCK" -D "DIR=$TOP/tests/milter" -D "LOG=$MILTER_LOG" \
		-s "$TMP/held.lua" >"$TMP/held.out" 2>&1 &
	held=$!
	wait_until 5 grep -q '^reply' "$TMP/held.out"
	is "$(cat "$TMP/held.out")" "reply CONTINUE" "a session holds a reservation at SIGTERM"
	is "$(redis_cli --scan --pattern 'rgt:{q2}:rsv:*' | grep -c .)" 1 "... its reservation key exists"
	mlog=$MILTER_LOG
	milter_stop
	wait "$held" 2>/dev/null
	is "$(redis_cli --scan --pattern 'rgt:{q2}:rsv:*' | grep -c .)" 0 \
		"stopped: the open session's reservation was given back"
	like "$(cat "$mlog")" "reservations of their 1 unfinished messages given back" "... and the log says so"
fi

# Redis unreachable: on_backend_error decides.
dead=$(free_port)
sed "s/127.0.0.1:$REDIS_PORT/127.0.0.1:$dead/" "$TMP/quota.extra" >"$TMP/dead.extra"
milter_conf enforce "unix:$TMP/dead.sock" "$TMP/dead.extra" >"$TMP/dead.conf"
milter_start "$TMP/dead.conf" || bail_out "milter did not start"
milter_lua backend.lua -D WANT=tempfail
milter_stop
sed 's/on_backend_error = "tempfail"/on_backend_error = "accept"/' "$TMP/dead.extra" >"$TMP/dead2.extra"
milter_conf enforce "inet:$(free_port)@127.0.0.1" "$TMP/dead2.extra" >"$TMP/dead2.conf"
milter_start "$TMP/dead2.conf" || bail_out "milter did not start"
milter_lua backend.lua -D WANT=accept
milter_stop

done_testing
