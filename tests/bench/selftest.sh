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
#   - the run stops by itself within its time bound;
# and rg-smload against rg-smbaseline the same way: counts, pipelined and
# malformed requests at the baseline, bad, extra and missing replies, the
# -V comparison with the pool's expected answers.
# Prints one "ok"/"not ok" line per check and "N passed, N failed".
# Errors: exits 1 if any check failed (or the tools are not built).
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

set -u
B=$(cd "$(dirname "$0")" && pwd)
LG=$B/rg-loadgen
BL=$B/rg-baseline
SML=$B/rg-smload
SMB=$B/rg-smbaseline
PORT=${BENCH_SELFTEST_PORT:-23690}
SPEC=inet:127.0.0.1:$PORT
T=$(mktemp -d /tmp/rg-selftest.XXXXXX)
pass=0 fail=0 SRV=

for t in "$LG" "$BL" "$SML" "$SMB"; do
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
    "${SRV_BIN:-$BL}" -s "$SPEC" -d 60 -q "$@" 2>"$T/srv.log" &
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
rc=$?; check "server counted $srv_n requests, loadgen sent $(f "$R" sent)" "$rc"
[ "$srv_bad" = 0 ]
rc=$?; check "every request carries the 29 attributes in Postfix 3.7 order" "$rc"
[ "$(f "$R" errors)" = 0 ]
rc=$?; check "no errors against a well-behaved server" "$rc"
# 1-3 RCPT per transaction (mean 2), one END-OF-MESSAGE each: RCPT/EOM ~ 2
awk -v r="$srv_rcpt" -v e="$srv_eom" 'BEGIN { q = r / e; exit !(q > 1.8 && q < 2.2) }'
rc=$?; check "RCPT/END-OF-MESSAGE ratio $srv_rcpt/$srv_eom is about 2" "$rc"
[ $((t1 - t0)) -le 5 ]
rc=$?; check "a 0.5+2 s run ends by itself ($((t1 - t0)) s)" "$rc"

# 2. fragmented replies: every reply arrives one byte per write
srv -x -a "550 5.7.1 Invalid credentials for relay [192.0.2.1]."
R=$("$LG" -s "$SPEC" -c 2 -d 1 -q)
srv_stop
srv_n=$(sed -n 's/.*BASELINE requests=\([0-9]*\).*/\1/p' "$T/srv.log")
[ "$(f "$R" errors)" = 0 ] && [ "$(f "$R" requests)" -gt 5 ] && [ "$(f "$R" sent)" = "$srv_n" ] \
    && [ "$(f "$R" refused)" = "$(f "$R" requests)" ]
rc=$?; check "byte-by-byte replies parse whole: $(f "$R" requests) answered, all 550" "$rc"

# 3. bad and missing replies are errors
for raw in 'garbage\n\n' 'action=OK\n\naction=OK\n\n' 'foo=bar\n\n' '\n'; do
    srv -R "$raw"
    R=$("$LG" -s "$SPEC" -c 1 -d 0.5 -q)
    srv_stop
    [ "$(f "$R" requests)" = 0 ] && [ "$(f "$R" errors)" -gt 0 ]
    rc=$?; check "reply '$raw' counted as an error ($(f "$R" errors) errors)" "$rc"
done
srv -R ''
R=$("$LG" -s "$SPEC" -c 2 -d 0.5 -t 300 -q)
srv_stop
[ "$(f "$R" requests)" = 0 ] && [ "$(f "$R" errors)" -ge 2 ]
rc=$?; check "a server that never answers gives timeouts ($(f "$R" errors))" "$rc"

# 4. probe and loopback-only
r=$("$LG" -s "$SPEC" -P 0.3)
[ $? = 2 ] && case $r in NOTREADY*) true ;; *) false ;; esac
rc=$?; check "probe reports NOTREADY when nothing listens" "$rc"
"$LG" -s inet:192.0.2.1:25 -d 1 >/dev/null 2>&1
[ $? = 1 ]
rc=$?; check "a non-loopback target is refused" "$rc"
srv -a OK
r=$("$LG" -s "$SPEC" -P 2)
srv_stop
case $r in "READY ms="*" action=OK") true ;; *) false ;; esac
rc=$?; check "probe reports READY with the action" "$rc"

# 5. rg-smload and rg-smbaseline
SRV_BIN=$SMB srv
printf 'relayhost a@b.example\ntls [x.example]:25 NOTFOUND \ntransport c@d.example OK relayguard-tls\n' >"$T/sm.txt"
R=$("$SML" -s "$SPEC" -c 4 -d 1 -w 0.3 -p "$T/sm.txt" -V -q 2>"$T/sml.err")
# Pipelined requests in one write, then a malformed one (empty netstring).
got=$(exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf '3:a b,4:cc d,0:,' >&3 && timeout 2 cat <&3)
srv_stop
srv_n=$(sed -n 's/.*SMBASELINE requests=\([0-9]*\).*/\1/p' "$T/srv.log")
[ "$(f "$R" sent)" = "$((srv_n - 2))" ] && [ "$(f "$R" errors)" = 0 ] && [ "$srv_n" -gt 1000 ] \
    && [ "$(f "$R" notfound)" = "$(f "$R" requests)" ]
rc=$?; check "smbaseline counted $srv_n lookups, smload sent $(f "$R" sent) + 2 pipelined" "$rc"
[ "$got" = "9:NOTFOUND ,9:NOTFOUND ,22:PERM invalid request," ]
rc=$?; check "smbaseline: pipelined answers in order, PERM for '0:,' then closed ($got)" "$rc"
m=$(f "$R" mismatch)
[ "$m" -gt 0 ] && [ "$m" -lt "$(f "$R" requests)" ] && grep -q 'expected "OK relayguard-tls"' "$T/sml.err"
rc=$?; check "-V counts answers other than the expected ones ($m)" "$rc"
# A fake server answering every read with RAW ('' = never).
fake() {
    python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); s.settimeout(5)
raw = sys.argv[2].encode()
while True:
    try: c, _ = s.accept()
    except OSError: break
    c.settimeout(5)
    while True:
        try: d = c.recv(4096)
        except OSError: break
        if not d: break
        if raw: c.sendall(raw)
    c.close()' "$PORT" "$1" &
    SRV=$!
    local i=0
    while [ $i -lt 100 ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
}
for raw in 'action=DUNNO' '9:NOTFOUND ,9:NOTFOUND ,' '5:HELLO,' '09:NOTFOUND ,' '9:NOTFOUND ;' '5:PERM ,'; do
    fake "$raw"
    R=$("$SML" -s "$SPEC" -c 1 -d 0.5 -q)
    srv_stop
    [ "$(f "$R" errors)" -gt 0 ] && [ "$(f "$R" notfound)" = 0 ]
    rc=$?; check "smload: reply '$raw' counted as an error ($(f "$R" errors) errors)" "$rc"
done
fake ''
R=$("$SML" -s "$SPEC" -c 2 -d 0.5 -t 300 -q)
srv_stop
[ "$(f "$R" requests)" = 0 ] && [ "$(f "$R" errors)" -ge 2 ]
rc=$?; check "smload: a server that never answers gives timeouts ($(f "$R" errors))" "$rc"
r=$("$SML" -s "$SPEC" -P 0.3)
[ $? = 2 ] && case $r in NOTREADY*) true ;; *) false ;; esac
rc=$?; check "smload: probe reports NOTREADY when nothing listens" "$rc"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
