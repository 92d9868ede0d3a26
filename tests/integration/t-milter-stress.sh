#!/bin/bash
# t-milter-stress.sh - 10,000 milter sessions of every shape (accepted,
#	refused, rewritten, quota-limited, aborted mid-message, cut off
#	mid-message, closed before HELO/MAIL) against a relayguard-milter
#	built with AddressSanitizer + UBSan (clang, into the temp dir), in
#	enforce mode with quotas on a private Redis; SIGHUP reloads while it
#	runs.  Passes when every reply is as expected, the milter exits 0
#	on SIGTERM, and the sanitizers (leak check included) report nothing.
#
#	SESSIONS=N changes the count (default 10000).
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/redis.sh"
. "$TOP/tests/milter/lib.sh"
tap_init
need_cmd miltertest clang
mktmp >/dev/null
SESSIONS=${SESSIONS:-10000}

# --- the sanitizer build --------------------------------------------------
mkdir -p "$TMP/asan"
if ! out=$(cd "$TOP" && clang -std=gnu11 -g -O1 -fsanitize=address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=undefined -D_GNU_SOURCE \
	-Icommon -pthread -o "$TMP/asan/relayguard-milter" milter/*.c common/*.c \
	-lmilter -lconfuse -lcidr -lhiredis -levent -levent_pthreads -lssl -lcrypto 2>&1); then
	bail_out "ASan build failed: $out"
fi
pass "relayguard-milter built with -fsanitize=address,undefined"
MILTER_BIN=$TMP/asan/relayguard-milter
export ASAN_OPTIONS=detect_leaks=1:exitcode=23
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=exitcode=23

# --- config ---------------------------------------------------------------
redis_start || bail_out "redis did not start"
cat >"$TMP/stress.extra" <<EOF
quotas = true
redis { server = "unix:$REDIS_SOCK"  prefix = "rgs"  timeout_ms = 1000 }
customer "s1" {
    domains = { "s1.example" }  licenses = 100000
    relay "lan" { allowed_senders = "domain_addresses"  ip "lan" { range = "100.65.0.0/16" } }
}
customer "s2" {
    domains = { "s2.example" }  licenses = 100000
    relay "app" { allowed_senders = "any"  ip "app" { range = "100.66.0.1" } }
}
customer "q3" {
    domains = { "q3.example" }  licenses = 1
    limits { customer_recipients_per_10min = 2 }
    relay "lan" { allowed_senders = "domain_addresses"  ip "lan" { range = "100.64.3.0/24" } }
}
EOF
milter_conf enforce "unix:$TMP/stress.sock" "$TMP/stress.extra" >"$TMP/stress.conf"
ok "stress config is valid" "$MILTER_BIN" -t -c "$TMP/stress.conf"

# --- run ------------------------------------------------------------------
MILTER_START_TIMEOUT=20 milter_start "$TMP/stress.conf" || bail_out "milter did not start"
( for i in 1 2 3 4 5; do sleep 1; kill -HUP "$MILTER_PID" 2>/dev/null; done ) &
hup=$!
start=$SECONDS
MILTER_LUA_TIMEOUT=600 milter_lua stress.lua -D "SESSIONS=$SESSIONS"
note "$SESSIONS sessions in $((SECONDS - start)) s"
wait "$hup"
ok "milter alive after the run" kill -0 "$MILTER_PID"
milter_stop; rc=$?
is "$rc" 0 "exit status 0 on SIGTERM (23 = leak found)"
san=$(grep -E "Sanitizer|runtime error" "$MILTER_LOG" | head -n 20)
is "$san" "" "no sanitizer report"
[ -n "$san" ] && diag "$(grep -A 40 -E 'ERROR: |runtime error' "$MILTER_LOG" | head -n 80)"
like "$(tail -n 1 "$MILTER_LOG")" "stopped$" "every connection closed before exit"
is "$(grep -c "sender rewritten" "$MILTER_LOG")" "$((SESSIONS / 10))" \
	"one rewrite log line per rewritten message"
is "$(grep -c 'configuration reloaded' "$MILTER_LOG")" 5 "five reloads during the run"
is "$(grep -c 'warning: quota' "$MILTER_LOG")" 0 "no quota backend trouble"

done_testing
