#!/bin/bash
# tests/bench/selftest.sh - checks that rg-loadgen measures what it claims.
#
# Usage: bash tests/bench/selftest.sh   ("make bench-selftest"; ~15 s)
# Runs rg-loadgen against rg-baseline on loopback and checks that:
#   - the server counts exactly the requests the load generator sent, every
#     one with Postfix 3.7's 29 attributes in smtpd's order, RCPT and
#     END-OF-MESSAGE in the proportions the transactions imply;
#   - replies written one byte at a time (partial reads) parse the same;
#   - malformed replies (no name=value, two replies, no action) and
#     missing replies are counted as errors, not as answers;
#   - the readiness probe and the loopback-only rule work;
#   - the run stops by itself within its time bound.
# Prints one "ok"/"not ok" line per check and "N passed, N failed".
# Errors: exits 1 if any check failed (or the tools are not built).
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

set -u
B=$(cd "$(dirname "$0")" && pwd)
LG=$B/rg-loadgen
BL=$B/rg-baseline
PORT=${BENCH_SELFTEST_PORT:-23690}
SPEC=inet:127.0.0.1:$PORT
T=$(mktemp -d /tmp/rg-selftest.XXXXXX)
pass=0 fail=0 SRV=

for t in "$LG" "$BL"; do
    [ -x "$t" ] || { echo "selftest: $t not built (make bench-tools)" >&2; exit 1; }
done

srv_stop() {
    [ -n "$SRV" ] || return 0
    kill -TERM "$SRV" 2>/dev/null
    wait "$SRV" 2>/dev/null
    SRV=
}
trap 'srv_stop; rm -rf "$T"' EXIT

srv() {             # srv ARGS...: start rg-baseline, wait until it listens
    "$BL" -s "$SPEC" -d 60 -q "$@" 2>"$T/srv.log" &
    SRV=$!
    local i=0
    while [ $i -lt 100 ]; do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
        sleep 0.02; i=$((i + 1))
    done
    return 1
}

check() {           # check NAME CONDITION-RESULT
    if [ "$2" = 0 ]; then echo "ok - $1"; pass=$((pass + 1))
    else echo "not ok - $1"; fail=$((fail + 1)); fi
}
f() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# 1. counts and attribute order
srv -V
t0=$(date +%s)
out=$("$LG" -s "$SPEC" -c 4 -d 2 -w 0.5 -p /dev/null -C 10.0.0.1,10.0.0.2 \
      -H mail.a.example -F a@a.example,'<>' -R x@y.example,z@y.example)
t1=$(date +%s)
srv_stop
R=$(printf '%s\n' "$out" | grep '^RESULT')
srv_n=$(sed -n 's/.*BASELINE requests=\([0-9]*\).*/\1/p' "$T/srv.log")
srv_bad=$(sed -n 's/.*order_mismatch=\([0-9]*\).*/\1/p' "$T/srv.log")
srv_rcpt=$(sed -n 's/.* rcpt=\([0-9]*\).*/\1/p' "$T/srv.log")
srv_eom=$(sed -n 's/.* eom=\([0-9]*\).*/\1/p' "$T/srv.log")
[ "$(f "$R" sent)" = "$srv_n" ] && [ "${srv_n:-0}" -gt 1000 ]
check "server counted $srv_n requests, loadgen sent $(f "$R" sent)" $?
[ "$srv_bad" = 0 ]
check "every request carries the 29 attributes in Postfix 3.7 order" $?
[ "$(f "$R" errors)" = 0 ]
check "no errors against a well-behaved server" $?
# 1-3 RCPT per transaction (mean 2), one END-OF-MESSAGE each: RCPT/EOM ~ 2
awk -v r="$srv_rcpt" -v e="$srv_eom" 'BEGIN { q = r / e; exit !(q > 1.8 && q < 2.2) }'
check "RCPT/END-OF-MESSAGE ratio $srv_rcpt/$srv_eom is about 2" $?
[ $((t1 - t0)) -le 5 ]
check "a 0.5+2 s run ends by itself ($((t1 - t0)) s)" $?

# 2. fragmented replies: every reply arrives one byte per write
srv -x -a "550 5.7.1 Invalid credentials for relay [192.0.2.1]."
R=$("$LG" -s "$SPEC" -c 2 -d 1 -q)
srv_stop
srv_n=$(sed -n 's/.*BASELINE requests=\([0-9]*\).*/\1/p' "$T/srv.log")
[ "$(f "$R" errors)" = 0 ] && [ "$(f "$R" requests)" -gt 5 ] && [ "$(f "$R" sent)" = "$srv_n" ] \
    && [ "$(f "$R" refused)" = "$(f "$R" requests)" ]
check "byte-by-byte replies parse whole: $(f "$R" requests) answered, all 550" $?

# 3. bad and missing replies are errors
for raw in 'garbage\n\n' 'action=OK\n\naction=OK\n\n' 'foo=bar\n\n' '\n'; do
    srv -R "$raw"
    R=$("$LG" -s "$SPEC" -c 1 -d 0.5 -q)
    srv_stop
    [ "$(f "$R" requests)" = 0 ] && [ "$(f "$R" errors)" -gt 0 ]
    check "reply '$raw' counted as an error ($(f "$R" errors) errors)" $?
done
srv -R ''
R=$("$LG" -s "$SPEC" -c 2 -d 0.5 -t 300 -q)
srv_stop
[ "$(f "$R" requests)" = 0 ] && [ "$(f "$R" errors)" -ge 2 ]
check "a server that never answers gives timeouts ($(f "$R" errors))" $?

# 4. probe and loopback-only
r=$("$LG" -s "$SPEC" -P 0.3)
[ $? = 2 ] && case $r in NOTREADY*) true ;; *) false ;; esac
check "probe reports NOTREADY when nothing listens" $?
"$LG" -s inet:192.0.2.1:25 -d 1 >/dev/null 2>&1
[ $? = 1 ]
check "a non-loopback target is refused" $?
srv -a OK
r=$("$LG" -s "$SPEC" -P 2)
srv_stop
case $r in "READY ms="*" action=OK") true ;; *) false ;; esac
check "probe reports READY with the action" $?

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
