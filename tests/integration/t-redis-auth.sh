#!/bin/bash
# t-redis-auth.sh - Redis credentials and host are read by the config load
#
# The daemons start as root, read the config (and the files it names)
# and drop to user = "nobody".  A private redis-server wants a password
# (requirepass, the "password" form of password_file) and knows an ACL
# user alice (the "user password" form).  Checked (issue 9, items 4, 8):
#  (a) a root-only (0600) password file works: relayguard-policyd and
#      relayguard-milter running as nobody use its credentials (quota on,
#      OK for an allowed RCPT, quota keys in Redis);
#  (b) a reload as nobody that cannot read the file fails, the log says
#      why with config-file:line, and the old credentials keep working
#      (also after Redis cuts the connection);
#  (c) a reload with a file the daemon user can read (0640 root:nogroup)
#      switches credentials (the new connection is alice's);
#  (d) -t with a missing or unreadable password file exits 1 with
#      file:line; a Redis host name that does not resolve fails -t;
#      "localhost" works (the daemons here use it).
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/redis.sh"
. "$TOP/tests/lib/policyd.sh"
. "$TOP/tests/milter/lib.sh"

tap_init
need_root
need_cmd redis-server redis-cli runuser miltertest
getent passwd nobody >/dev/null && getent group nogroup >/dev/null ||
	skip_all "no user nobody or group nogroup"
[ -x "$POLICYD_BIN" ] || bail_out "$POLICYD_BIN is not built (run make)"
[ -x "$MILTER_BIN" ] || bail_out "$MILTER_BIN is not built (run make)"
mktmp >/dev/null
redis_start || bail_out "redis-server did not start"
redis_cli ACL SETUSER alice on '>alicepw' '~*' '&*' '+@all' >/dev/null
redis_cli CONFIG SET requirepass defpw >/dev/null
rcli() { redis_cli --no-auth-warning -a defpw "$@"; }
is "$(redis_cli PING 2>&1)" "NOAUTH Authentication required." "redis wants a password"

PW=$TMP/redis.pw
# root_only CONTENT - the password file, 0600 root:root
root_only() {
	printf '%s\n' "$1" >"$PW"
	chown root:root "$PW"
	chmod 0600 "$PW"
}
root_only defpw

PORT=$(free_port)
# Line 3 is password_file: the errors below name it.  No comments: the
# line numbers libconfuse reports after a comment are off.
write_conf() {	# write_conf FILE PASSWORD-FILE SERVER
	cat >"$1" <<EOF
redis {
    server        = "$3"
    password_file = "$2"
    timeout_ms    = 500
    prefix        = "rga"
}
user   = "nobody"
quotas = true
policyd { listen = { "inet:127.0.0.1:$PORT" } }
customer "acme" {
    domains  = { "acme.example" }
    licenses = 10
    relay "printers" {
        allowed_senders = "domain_addresses"
        ip "office" { range = "192.0.2.0/24" }
    }
}
EOF
	chmod 0644 "$1"
}
CONF=$TMP/relayguard.conf
write_conf "$CONF" "$PW" "localhost:$REDIS_PORT"

# --- (d) relayguard-policyd -t ---------------------------------------------
ok "-t as root reads the root-only password file" "$POLICYD_BIN" -t -c "$CONF"
out=$(runuser -u nobody -- "$POLICYD_BIN" -t -c "$CONF" 2>&1)
is "$?" 1 "-t as nobody: exit 1"
is "$out" "$CONF:3: password_file $PW: Permission denied" "-t as nobody: file:line and why"
write_conf "$TMP/missing.conf" "$TMP/missing.pw" "localhost:$REDIS_PORT"
out=$("$POLICYD_BIN" -t -c "$TMP/missing.conf" 2>&1)
is "$?" 1 "-t with a missing password file: exit 1"
is "$out" "$TMP/missing.conf:3: password_file $TMP/missing.pw: No such file or directory" \
	"-t with a missing password file: file:line and why"
write_conf "$TMP/nohost.conf" "$PW" "no-such-host.invalid:$REDIS_PORT"
out=$("$POLICYD_BIN" -t -c "$TMP/nohost.conf" 2>&1)
is "$?" 1 "-t with a Redis host that does not resolve: exit 1"
like "$out" "^$(re_quote "$TMP/nohost.conf"):2: server \"no-such-host.invalid:$REDIS_PORT\": cannot resolve no-such-host.invalid: " \
	"-t with a Redis host that does not resolve: file:line"

# --- (a) start as root, run as nobody ----------------------------------------
# decide - one allowed RCPT of a new transaction; prints the action
#	(called in $(...): the counter lives in a file)
decide() {
	local n=$(($(cat "$TMP/n" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$TMP/n"
	policy_rcpt "$PORT" client_address=192.0.2.5 sender=scan@acme.example \
		recipient="r$n@dest.example" instance="auth.$n"
}
# decide_ok - true when an allowed RCPT gets action=OK (one attempt)
decide_ok() { [ "$(decide)" = "action=OK" ]; }
keys() { rcli --scan --pattern 'rga:{acme}:*' | wc -l; }
# counted - recipients the customer's day window holds (reserved or committed)
counted() {
	rcli EVAL "local t = redis.call('TIME'); local now = t[1] + t[2] / 1e6
		local h, s = redis.call('HGETALL', KEYS[1]), 0
		for i = 1, #h, 2 do local e = tonumber(h[i]); if e and e > now then s = s + h[i + 1] end end
		return s" 1 'rga:{acme}:cust:day'
}
reloads() { grep -c "$1" "$POLICYD_LOG"; }

policyd_start "$CONF" || bail_out "relayguard-policyd did not start"
is "$(ps -o user= -p "$POLICYD_PID" | tr -d ' ')" nobody "policyd runs as nobody"
is "$(decide)" "action=OK" "(a) root-only password file: an allowed RCPT gets OK"
ok "(a) the quota keys are in Redis" test "$(keys)" -gt 0
unlike "$(cat "$POLICYD_LOG")" "Permission denied|NOAUTH|WRONGPASS" "(a) no credential trouble logged"

# --- (b) reload that cannot read the file -------------------------------------
root_only wrongpw
before=$(counted)
policyd_hup
ok "(b) the reload is refused" wait_until 10 grep -q "reload failed" "$POLICYD_LOG"
like "$(grep "reload failed" "$POLICYD_LOG")" \
	"reload failed: $(re_quote "$CONF"):3: password_file $(re_quote "$PW"): Permission denied; keeping the running configuration" \
	"(b) the log says why, with file:line"
is "$(reloads "reloaded configuration")" 0 "(b) it does not claim to have reloaded"
is "$(decide)" "action=OK" "(b) the running credentials still work"
rcli CLIENT KILL USER default >/dev/null
ok "(b) ... and reconnect after Redis cut the connection" wait_until 10 decide_ok
ok "(b) the decisions are counted" test "$(counted)" -gt "$before"

# --- (c) reload with a file the daemon user can read ---------------------------
printf 'alice alicepw\n' >"$PW"
chown root:nogroup "$PW"
chmod 0640 "$PW"
policyd_hup
ok "(c) the reload succeeds" wait_until 10 grep -q "reloaded configuration" "$POLICYD_LOG"
ok "(c) the new connection is alice's (user password form)" \
	wait_until 10 sh -c "redis-cli -s '$REDIS_SOCK' --no-auth-warning -a defpw CLIENT LIST | grep -q 'user=alice'"
ok "(c) an allowed RCPT gets OK with the new credentials" wait_until 10 decide_ok
policyd_stop

# --- relayguard-milter: -t, start as nobody, reload ---------------------------
root_only defpw
cat >"$TMP/milter.extra" <<EOF
redis {
    server        = "localhost:$REDIS_PORT"
    password_file = "$PW"
    prefix        = "rgm"
    timeout_ms    = 500
}
quotas = true
user   = "nobody"
EOF
# without lib.sh's comment line (see above: line numbers)
milter_conf enforce "unix:$TMP/m.sock" "$TMP/milter.extra" | grep -v '^#' >"$TMP/milter.conf"
chmod 0644 "$TMP/milter.conf" "$TMP/acme.users"
ok "milter -t as root reads the root-only password file" "$MILTER_BIN" -t -c "$TMP/milter.conf"
line=$(grep -n password_file "$TMP/milter.conf" | cut -d: -f1)
sed "s|$PW|$TMP/missing.pw|" "$TMP/milter.conf" >"$TMP/milter-missing.conf"
out=$("$MILTER_BIN" -t -c "$TMP/milter-missing.conf" 2>&1)
is "$?" 1 "milter -t with a missing password file: exit 1"
is "$out" "$TMP/milter-missing.conf:$line: password_file $TMP/missing.pw: No such file or directory" \
	"milter -t with a missing password file: file:line and why"

milter_start "$TMP/milter.conf" || bail_out "relayguard-milter did not start"
ok "milter runs as nobody" wait_until 5 sh -c "ps -o user= -p $MILTER_PID | grep -qx nobody"
cat >"$TMP/auth.lua" <<'EOF'
dofile(DIR .. "/lib.lua")
local c = session{client = "192.0.2.5", helo = "printer.acme.example"}
mail(c, {from = "<scan@acme.example>"})
accept(c, "m1@dest.example", "milter as nobody, root-only password file: accepted")
eom(c, "milter message")
close(c)
finish()
EOF
# mlua - run $TMP/auth.lua against the milter; its output
mlua() {
	timeout 60 miltertest -D "SOCK=$MILTER_SOCK" -D "LOG=$MILTER_LOG" \
		-D "DIR=$TOP/tests/milter" -s "$TMP/auth.lua" 2>&1
}
out=$(mlua)
is "$?" 0 "(a) milter: an allowed message passes with quotas on"
like "$out" "^ok - milter as nobody" "(a) milter: the RCPT was accepted"
ok "(a) milter: the quota keys are in Redis" \
	test "$(rcli --scan --pattern 'rgm:{acme}:*' | wc -l)" -gt 0
root_only wrongpw
kill -HUP "$MILTER_PID"
ok "(b) milter: the reload is refused" wait_until 10 grep -q "reload failed" "$MILTER_LOG"
like "$(grep "reload failed" "$MILTER_LOG")" \
	"$(re_quote "$TMP/milter.conf"):$line: password_file $(re_quote "$PW"): Permission denied" \
	"(b) milter: the log says why, with file:line"
rcli CLIENT KILL USER default >/dev/null
out=$(mlua)
is "$?" 0 "(b) milter: the running credentials still work after a reconnect"
milter_stop

done_testing
