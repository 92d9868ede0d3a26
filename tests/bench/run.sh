#!/bin/bash
# tests/bench/run.sh - relayguard benchmarks ("make bench" runs this).
#
# Usage: bash tests/bench/run.sh     (as root, from anywhere; tools built)
# One run on loopback, about 7 minutes with the defaults, 15 at most:
#   1. policy throughput at concurrency 1, 8, 32 for: rg-baseline (protocol
#      ceiling), relayguard-policyd without quotas, with quotas (private
#      redis-server), measured in turn BENCH_ROUNDS times, medians
#      reported; and postfwd2 with equivalent rules; each as a ratio to
#      postfwd and to the baseline;
#   2. scale at 10 / 1,000 / 10,000 / 100,000 customers: requests/s, RSS, start-up
#      time (until a policy request is answered), reload time (SIGHUP until
#      the log says so), Redis commands per request (INFO commandstats);
#   3. end to end: smtp-source -> private Postfix -> smtp-sink, messages/s
#      with relayguard-policyd, then also relayguard-milter (unix socket,
#      then TCP) in the path against Postfix alone, BENCH_ROUNDS rounds;
#   4. routing lookups (run after part 1; tests/bench/part4.sh): socketmap
#      lookups/s against rg-smbaseline, and policy decisions/s alone and
#      beside socketmap load on the same daemon;
#   5. Redis topologies (tests/bench/part5.sh): relayguard-policyd with
#      quotas against one redis-server, a Sentinel set-up and a 3-master
#      Redis Cluster, measured in turn: decisions/s, p99, Redis commands
#      per request.
# Results: a summary on stdout and $BENCH_OUT/results.md (markdown, for
# BENCHMARKS.md); raw outputs in $BENCH_OUT/raw/. A part whose program is
# missing is skipped with a message. Knobs (environment): BENCH_PARTS
# ("1 2 3 4 5"), BENCH_ROUNDS (3), BENCH_SECS (4), BENCH_WARMUP (1),
# BENCH_CONCS ("1 8 32"), BENCH_CMP_CUSTOMERS (100), BENCH_SCALE ("10 1000
# 10000 100000"), BENCH_SCALE_CONC (8), BENCH_E2E_MSGS (4000), BENCH_E2E_SESSIONS (8),
# BENCH_PORT_BASE (23700), BENCH_OUT (tests/bench/out), RG_NOQUOTA_LINE,
# RG_RELOAD_PATTERN, BENCH_SM_CONC and BENCH_SM_TARGET (part4.sh), BENCH_HA_CONCS (part5.sh), BENCH_DEADLINE (900 s), BENCH_POLICYD_BEFORE (another
# relayguard-policyd binary, e.g. of an earlier commit: measured in turn
# with this one as "before" and "before+quotas", and part 1 then reports
# after/before per round).
#
# Errors: exits 1 if the bench tools are not built or a port it needs is
# taken; a part that fails is reported in the results and the run goes on.
# Every process it starts is stopped on exit (by PID), whatever happens.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/tests/bench
OUT=${BENCH_OUT:-$B/out}
SECS=${BENCH_SECS:-4}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-1}
CONCS=${BENCH_CONCS:-"1 8 32"}
CMP_N=${BENCH_CMP_CUSTOMERS:-100}
SCALE=${BENCH_SCALE:-"10 1000 10000 100000"}
SCALE_CONC=${BENCH_SCALE_CONC:-8}
E2E_MSGS=${BENCH_E2E_MSGS:-4000}
E2E_SESSIONS=${BENCH_E2E_SESSIONS:-8}
DEADLINE=${BENCH_DEADLINE:-900}
PARTS=${BENCH_PARTS:-"1 2 3 4 5"}
# Below Linux's ephemeral range (32768-60999), so no client socket of
# another test can be sitting on one of our listening ports.
PB=${BENCH_PORT_BASE:-23700}
# The one config line that turns quota work off (relayguard.conf(5)).
RG_NOQUOTA_LINE=${RG_NOQUOTA_LINE-'quotas = false'}
# What relayguard-policyd logs once a SIGHUP reload has taken effect.
RG_RELOAD_PATTERN=${RG_RELOAD_PATTERN:-'reloaded configuration|config loaded'}

P_SMTPD=$((PB + 25)) P_SINK=$((PB + 26)) P_POLICYD=$((PB + 40)) P_POLICYD2=$((PB + 42))
P_BEFORE=$((PB + 44)) P_BEFORE2=$((PB + 46))
BEFORE=${BENCH_POLICYD_BEFORE:-}
P_MILTER=$((PB + 41)) P_BASE=$((PB + 50)) P_POSTFWD=$((PB + 60))
P_REDIS=$((PB + 79))

POLICYD=$ROOT/policyd/relayguard-policyd
MILTER=$ROOT/milter/relayguard-milter
LOADGEN=$B/rg-loadgen
BASELINE=$B/rg-baseline
NULLMILTER=$B/rg-nullmilter
SMLOAD=$B/rg-smload
SMBASELINE=$B/rg-smbaseline
GENCONF=$B/gen-conf.py
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
POSTFWD=$(command -v postfwd2 || true)

. "$B/pfx.sh"

for t in "$LOADGEN" "$BASELINE" "$NULLMILTER" "$SMLOAD" "$SMBASELINE"; do
    [ -x "$t" ] || { echo "run.sh: $t not built (make bench-tools)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/rg-bench.XXXXXX) || exit 1
chmod 755 "$WORK"
mkdir -p "$OUT/raw" || exit 1
rm -f "$OUT"/raw/*
MD=$OUT/results.md
T_START=$(date +%s)

PIDS=()              # every background process we started
POSTFWD_SID=         # postfwd2 daemonizes: its session id
PFX_DIR=             # private Postfix config dir while one runs

note() { printf '%s\n' "$*"; }
skip() { printf 'SKIP: %s\n' "$*"; printf '\n_Skipped: %s_\n' "$*" >>"$MD"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
want_part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
elapsed() { echo $(( $(date +%s) - T_START )); }
time_left() { echo $(( DEADLINE - $(elapsed) )); }

STOP_RC=0
stop_pid() {        # stop_pid PID: TERM, wait up to 5 s, then KILL; STOP_RC
    local p=$1 i=0
    STOP_RC=0
    [ -n "$p" ] || return 0
    kill -TERM "$p" 2>/dev/null
    while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    STOP_RC=$?
    return 0
}

postfwd_stop() {
    local pids p i=0
    [ -n "$POSTFWD_SID" ] || return 0
    kill -TERM "$POSTFWD_SID" 2>/dev/null
    # The master does not always take its policy server with it: end
    # every process left in its session, by PID.
    while [ $i -lt 30 ]; do
        pids=$(ps -o pid= -s "$POSTFWD_SID" 2>/dev/null)
        [ -z "$pids" ] && break
        [ $i -eq 10 ] && for p in $pids; do kill -TERM "$p" 2>/dev/null; done
        [ $i -eq 25 ] && for p in $pids; do kill -KILL "$p" 2>/dev/null; done
        sleep 0.2; i=$((i + 1))
    done
    POSTFWD_SID=
}

cleanup() {
    local p
    trap - EXIT INT TERM
    [ -n "$PFX_DIR" ] && pfx_stop "$PFX_DIR"
    postfwd_stop
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    if [ -n "${WATCHDOG:-}" ]; then
        pkill -TERM -P "$WATCHDOG" 2>/dev/null     # its sleep, by parent PID
        kill "$WATCHDOG" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT TERM

# The whole run is bounded: past the deadline the watchdog stops us.
# (Its own stderr is muted: bash would report the sleep we kill at the end.)
exec 3>&2
( sleep "$DEADLINE" && { echo "run.sh: deadline of ${DEADLINE}s reached" >&3; kill -TERM $$; } ) 2>/dev/null &
WATCHDOG=$!

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in $P_SMTPD $P_SINK $P_POLICYD $P_POLICYD2 $P_MILTER $P_BASE $P_POSTFWD $P_REDIS \
         $((PB + 48)) $((PB + 49)) $((PB + 52)); do
    port_free "$p" || { echo "run.sh: port $p is in use (set BENCH_PORT_BASE)" >&2; exit 1; }
done

# wait_ready SPEC SECS: prints start-up ms as seen by the probe, or fails
wait_ready() {
    local r
    r=$("$LOADGEN" -s "$1" -P "$2" 2>&1) || return 1
    case $r in READY*) return 0 ;; esac
    return 1
}

wait_port() {      # wait_port PORT SECS: a TCP connect succeeds
    local i=0 n=$(( $2 * 20 ))
    while [ $i -lt $n ]; do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05; i=$((i + 1))
    done
    return 1
}

# field LINE NAME: value of NAME=... in a RESULT line
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# load NAME SPEC CONC POOL: one measured loadgen run; sets R (RESULT line)
load() {
    local f=$OUT/raw/load-$1-c$3.txt
    "$LOADGEN" -s "$2" -c "$3" -d "$SECS" -w "$WARMUP" -t 10000 -p "$4" >"$f" 2>&1
    R=$(grep '^RESULT ' "$f" | tail -1)
    [ -n "$R" ] || R="RESULT rps=0 requests=0 sent=0 p50_us=0 p99_us=0 errors=-1"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) printf "-"; else if (a / b < 0.1) printf "%.3f", a / b; else printf "%.2f", a / b }'; }
# median N...: the middle value (mean of the two middle ones)
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "") print "-"; else printf "%.1f", k / 1024 }'; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ---------------------------------------------------------------- redis
REDIS_OK=0
REDIS_PID=
rcli() { redis-cli -h 127.0.0.1 -p "$P_REDIS" "$@"; }
redis_start() {
    command -v redis-server >/dev/null || return 1
    mkdir -p "$WORK/redis"
    redis-server --port "$P_REDIS" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$WORK/redis" --daemonize no >"$OUT/raw/redis.log" 2>&1 &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    local i=0
    while [ $i -lt 100 ]; do
        [ "$(rcli ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.05; i=$((i + 1))
    done
    return 1
}
# redis_calls: "total name=calls ..." of every command but our own
redis_calls() {
    rcli info commandstats 2>/dev/null | tr -d '\r' | awk -F'[:,=]' '
        /^cmdstat_/ { n = substr($1, 9)
            if (n ~ /^(info|flushall|ping|config|config\|resetstat)$/) next
            t += $3; s = s " " n "=" $3 }
        END { print t + 0 s }'
}
# per_request BEFORE AFTER REQUESTS: "x.xx (cmd=x.xx ...)"
per_request() {
    awk -v b="$1" -v a="$2" -v n="$3" 'BEGIN {
        nb = split(b, B, " "); na = split(a, A, " ")
        for (i = 2; i <= nb; i++) { split(B[i], kv, "="); before[kv[1]] = kv[2] }
        if (n <= 0) { print "-"; exit }
        out = sprintf("%.2f", (A[1] - B[1]) / n)
        for (i = 2; i <= na; i++) { split(A[i], kv, "=")
            d = kv[2] - before[kv[1]]
            if (d > 0) det = det sprintf(" %s=%.2f", kv[1], d / n) }
        print out (det != "" ? " (" substr(det, 2) ")" : "") }'
}

# ---------------------------------------------------------------- daemons
PD_PID=
PD_LOG=
pd_start() {        # pd_start CONF LOG [SECS]: start, wait until it answers
    PD_LOG=$2
    "$POLICYD" -f -c "$1" 2>>"$2" &
    PD_PID=$!
    PIDS+=("$PD_PID")
    wait_ready "inet:127.0.0.1:$P_POLICYD" "${3:-60}" && kill -0 "$PD_PID" 2>/dev/null
}
pd_stop() {         # pd_stop: stop it, report a crash (exit by a signal)
    [ -n "$PD_PID" ] || return 0
    stop_pid "$PD_PID"
    if [ "$STOP_RC" = 137 ]; then
        note "   note: relayguard-policyd did not stop within 5 s of SIGTERM: killed"
    elif [ "$STOP_RC" -gt 128 ] && [ "$STOP_RC" != 143 ]; then
        note "   WARNING: relayguard-policyd died by signal $((STOP_RC - 128)) when stopped"
        CRASHES="${CRASHES:-}relayguard-policyd died by signal $((STOP_RC - 128)) when stopped (log: raw/policyd-crash-$PD_PID.log). "
        grep -v ' action=' "$PD_LOG" | tail -20 >"$OUT/raw/policyd-crash-$PD_PID.log"
    fi
    PD_PID=
}

postfwd_start() {   # postfwd_start RULES
    local d=$WORK/postfwd user_opts=
    mkdir -p "$d" && chmod 777 "$d"
    [ "$(id -u)" = 0 ] && user_opts="--user nobody --group nogroup"
    # Daemon mode is the only one with rate() support (postfwd2 needs its
    # cache daemon); it forks, so we follow it through its pid file.
    # Children enough for 32 persistent connections; request cache keyed
    # on the attributes the rules use, as postfwd's manual advises.
    # shellcheck disable=SC2086  # $user_opts: zero or four words
    (cd "$d" && timeout 30 "$POSTFWD" --daemon -f "$1" \
        --interface 127.0.0.1 --port "$P_POSTFWD" \
        --cache_socket "unix::$d/cache.sock" --pidfile "$d/postfwd2.pid" \
        $user_opts --nodns --noidlestats --norulestats \
        --min_servers 36 --max_servers 64 --min_spare_servers 2 \
        --max_spare_servers 48 --cache 600 \
        --cacheid protocol_state,client_address,helo_name,sender \
        >"$OUT/raw/postfwd.out" 2>&1) || return 1
    local i=0
    while [ ! -s "$d/postfwd2.pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    POSTFWD_SID=$(cat "$d/postfwd2.pid" 2>/dev/null)
    [ -n "$POSTFWD_SID" ] || return 1
    wait_ready "inet:127.0.0.1:$P_POSTFWD" 30
}

# ---------------------------------------------------------------- header
{
    echo "# relayguard benchmark results"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '-')"
    echo "- machine: $(nproc) CPUs, $(uname -sr), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "- load: tests/bench/rg-loadgen, ${SECS}s measured after ${WARMUP}s warm-up per run, one request outstanding per connection, 1-3 RCPT + END-OF-MESSAGE per transaction, all on loopback"
} >"$MD"

# ================================================================ 1. compare
note "== 1. throughput: baseline, relayguard-policyd, postfwd2 ($CMP_N customers)"
CMP=$WORK/cmp
mkdir -p "$CMP"
GEN_COMMON=(--listen "inet:127.0.0.1:$P_POLICYD" --redis "127.0.0.1:$P_REDIS"
            --milter "inet:$P_MILTER@127.0.0.1" --loopback)
"$PYTHON" "$GENCONF" -n "$CMP_N" -o "$CMP/quota.conf" -p "$CMP/pool.txt" \
    --postfwd-template "$B/postfwd.cf" --postfwd-out "$CMP/postfwd.cf" "${GEN_COMMON[@]}" || exit 1
"$PYTHON" "$GENCONF" -n "$CMP_N" -o "$CMP/noquota.conf" --extra "$RG_NOQUOTA_LINE" "${GEN_COMMON[@]}" || exit 1
cp "$CMP/postfwd.cf" "$OUT/raw/postfwd-rules.cf"

if redis_start; then REDIS_OK=1; else note "redis-server not available: quota runs skipped"; fi

if want_part 1; then
declare -A RPS P50 P99 ERR RATIO_B RANGE_B
SERVERS=()
run_server() {      # run_server LABEL SPEC [POOL]: all concurrencies, once
    local c
    SERVERS+=("$1")
    for c in $CONCS; do
        load "$1" "$2" "$c" "${3:-$CMP/pool.txt}"
        RPS[$1,$c]=$(field "$R" rps); P50[$1,$c]=$(field "$R" p50_us)
        P99[$1,$c]=$(field "$R" p99_us); ERR[$1,$c]=$(field "$R" errors)
        note "   $1 c=$c: ${RPS[$1,$c]} req/s p50=${P50[$1,$c]}us p99=${P99[$1,$c]}us errors=${ERR[$1,$c]}"
    done
}

# The baseline and both relayguard daemons run side by side and are
# measured in turn, ROUNDS times at each concurrency: a ratio compares
# runs seconds apart, and the median of the rounds is reported, so the
# drift of this shared machine moves both sides of each ratio together.
"$BASELINE" -s "inet:127.0.0.1:$P_BASE" -V -d 1800 -q 2>"$OUT/raw/baseline.log" &
BL_PID=$!
PIDS+=("$BL_PID")
CMP_SERVERS=()
declare -A CMP_SPEC
if wait_ready "inet:127.0.0.1:$P_BASE" 10; then
    CMP_SERVERS+=(baseline); CMP_SPEC[baseline]=inet:127.0.0.1:$P_BASE
else
    skip "rg-baseline did not start"
fi
RG_PIDS=()
if [ -x "$POLICYD" ]; then
    if pd_start "$CMP/noquota.conf" "$WORK/pd-noquota.log"; then
        CMP_SERVERS+=(relayguard); CMP_SPEC[relayguard]=inet:127.0.0.1:$P_POLICYD
        RG_PIDS+=("$PD_PID")
    else
        note "   relayguard-policyd (no quotas) did not start:"; tail -5 "$WORK/pd-noquota.log"
    fi
    PD_PID=
    if [ "$REDIS_OK" = 1 ]; then
        sed "s|inet:127.0.0.1:$P_POLICYD|inet:127.0.0.1:$P_POLICYD2|" "$CMP/quota.conf" >"$CMP/quota2.conf"
        "$POLICYD" -f -c "$CMP/quota2.conf" 2>>"$WORK/pd-quota.log" &
        PIDS+=("$!"); RG_PIDS+=("$!")
        if wait_ready "inet:127.0.0.1:$P_POLICYD2" 60; then
            CMP_SERVERS+=(relayguard+quotas); CMP_SPEC[relayguard+quotas]=inet:127.0.0.1:$P_POLICYD2
        else
            note "   relayguard-policyd (quotas) did not start:"; tail -5 "$WORK/pd-quota.log"
        fi
    fi
else
    note "   SKIP: $POLICYD not built yet"
fi
# The same daemon of an earlier commit, on the same configurations.
if [ -n "$BEFORE" ] && [ -x "$BEFORE" ]; then
    sed "s|inet:127.0.0.1:$P_POLICYD|inet:127.0.0.1:$P_BEFORE|" "$CMP/noquota.conf" >"$CMP/before.conf"
    sed "s|inet:127.0.0.1:$P_POLICYD|inet:127.0.0.1:$P_BEFORE2|" "$CMP/quota.conf" >"$CMP/before2.conf"
    "$BEFORE" -f -c "$CMP/before.conf" 2>>"$WORK/pd-before.log" &
    PIDS+=("$!"); RG_PIDS+=("$!")
    if wait_ready "inet:127.0.0.1:$P_BEFORE" 60; then
        CMP_SERVERS+=(before); CMP_SPEC[before]=inet:127.0.0.1:$P_BEFORE
    fi
    if [ "$REDIS_OK" = 1 ]; then
        "$BEFORE" -f -c "$CMP/before2.conf" 2>>"$WORK/pd-before.log" &
        PIDS+=("$!"); RG_PIDS+=("$!")
        if wait_ready "inet:127.0.0.1:$P_BEFORE2" 60; then
            CMP_SERVERS+=(before+quotas); CMP_SPEC[before+quotas]=inet:127.0.0.1:$P_BEFORE2
        fi
    fi
fi
SERVERS+=("${CMP_SERVERS[@]}")
for r in $(seq "$ROUNDS"); do
    for c in $CONCS; do
        for s in "${CMP_SERVERS[@]}"; do
            case $s in *+quotas) rcli flushall >/dev/null ;; esac
            load "$s-r$r" "${CMP_SPEC[$s]}" "$c" "$CMP/pool.txt"
            RPS[$s,$c,$r]=$(field "$R" rps); P50[$s,$c,$r]=$(field "$R" p50_us)
            P99[$s,$c,$r]=$(field "$R" p99_us); ERR[$s,$c,$r]=$(field "$R" errors)
            note "   round $r $s c=$c: ${RPS[$s,$c,$r]} req/s p50=${P50[$s,$c,$r]}us p99=${P99[$s,$c,$r]}us errors=${ERR[$s,$c,$r]}"
        done
    done
done
for s in "${CMP_SERVERS[@]}"; do
    for c in $CONCS; do
        rs=() p5=() p9=() ra=() e=0
        for r in $(seq "$ROUNDS"); do
            rs+=("${RPS[$s,$c,$r]}"); p5+=("${P50[$s,$c,$r]}"); p9+=("${P99[$s,$c,$r]}")
            e=$((e + ${ERR[$s,$c,$r]:-0}))
            ra+=("$(awk -v a="${RPS[$s,$c,$r]}" -v b="${RPS[baseline,$c,$r]:-0}" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')")
        done
        RPS[$s,$c]=$(median "${rs[@]}"); P50[$s,$c]=$(median "${p5[@]}")
        P99[$s,$c]=$(median "${p9[@]}"); ERR[$s,$c]=$e
        RATIO_B[$s,$c]=$(median "${ra[@]}")
        RANGE_B[$s,$c]=$(printf '%s\n' "${ra[@]}" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }')
        note "   $s c=$c: median ${RPS[$s,$c]} req/s, x baseline ${RATIO_B[$s,$c]} (rounds ${RANGE_B[$s,$c]})"
    done
done
for p in "${RG_PIDS[@]}"; do
    PD_PID=$p PD_LOG=$WORK/pd-noquota.log pd_stop
done
if [ -n "${CMP_SPEC[baseline]:-}" ]; then
    stop_pid "$BL_PID"
    sent=0
    for f in "$OUT"/raw/load-baseline-r*-c*.txt; do
        s=$(field "$(grep '^RESULT' "$f")" sent)
        sent=$((sent + ${s:-0}))
    done
    got=$(sed -n 's/.*BASELINE requests=\([0-9]*\).*/\1/p' "$OUT/raw/baseline.log")
    # The readiness probe sent one request too.
    bad=$(sed -n 's/.*order_mismatch=\([0-9]*\).*/\1/p' "$OUT/raw/baseline.log")
    if [ "$got" = "$((sent + 1))" ] && [ "$bad" = 0 ]; then
        note "   loadgen check: baseline counted $got requests = loadgen's $sent + 1 probe, attribute order OK"
        LG_CHECK="baseline counted $got requests = loadgen's $sent + 1 probe; every request had Postfix 3.7's 29 attributes in order"
    else
        note "   loadgen check FAILED: baseline counted $got, loadgen sent $sent (+1 probe), order mismatches $bad"
        LG_CHECK="MISMATCH: baseline counted $got, loadgen sent $sent (+1 probe), order mismatches $bad"
    fi
else
    LG_CHECK="not run"
fi
head -50 "$WORK/pd-noquota.log" >"$OUT/raw/policyd-noquota.log.head"
head -50 "$WORK/pd-quota.log" >"$OUT/raw/policyd-quota.log.head"
rm -f "$WORK/pd-noquota.log" "$WORK/pd-quota.log"

if [ -n "$POSTFWD" ]; then
    if postfwd_start "$CMP/postfwd.cf"; then
        run_server postfwd2 "inet:127.0.0.1:$P_POSTFWD"
    else
        note "   postfwd2 did not start"; cat "$OUT/raw/postfwd.out"
    fi
    postfwd_stop
    # postfwd walks its rules in order: show how that scales.
    if [ "$CMP_N" != 10 ]; then
        "$PYTHON" "$GENCONF" -n 10 -o "$CMP/small.conf" -p "$CMP/small-pool.txt" \
            --postfwd-template "$B/postfwd.cf" --postfwd-out "$CMP/small-postfwd.cf" "${GEN_COMMON[@]}"
        if postfwd_start "$CMP/small-postfwd.cf"; then
            run_server "postfwd2-10customers" "inet:127.0.0.1:$P_POSTFWD" "$CMP/small-pool.txt"
        fi
        postfwd_stop
    fi
else
    note "   SKIP: postfwd2 not installed (apt-get install postfwd)"
fi

{
    echo
    echo "## 1. Policy throughput ($CMP_N customers)"
    echo
    echo "Same request mix for every server (pool from gen-conf.py: ~75% accepted, 10% unknown client, 10% foreign sender, 5% null sender). relayguard logs one line per decision to a file; postfwd2 runs as a pre-forked daemon with its request cache on (cacheid = the attributes its rules use)."
    echo
    echo "baseline, relayguard and relayguard+quotas: median of $ROUNDS rounds, the three measured in turn within each round; × baseline is the median of the per-round ratios, with their range. postfwd2: one run per concurrency."
    echo
    echo "| server | conns | requests/s | p50 µs | p99 µs | errors | × postfwd2 | × baseline | × baseline, rounds |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for s in "${SERVERS[@]}"; do
        for c in $CONCS; do
            xb=${RATIO_B[$s,$c]:-}
            if [ -n "$xb" ]; then xb=$(ratio "$xb" 1); else xb=$(ratio "${RPS[$s,$c]}" "${RPS[baseline,$c]:-0}"); fi
            echo "| $s | $c | ${RPS[$s,$c]} | ${P50[$s,$c]} | ${P99[$s,$c]} | ${ERR[$s,$c]} | $(ratio "${RPS[$s,$c]}" "${RPS[postfwd2,$c]:-0}") | $xb | ${RANGE_B[$s,$c]:--} |"
        done
    done
    if [ -n "${CMP_SPEC[before]:-}" ]; then
        echo
        echo "This code against \`BENCH_POLICYD_BEFORE\` ($BEFORE), measured in turn in the same rounds: after / before, median of the per-round ratios (range)."
        echo
        echo "| conns | no quotas | with quotas |"
        echo "|---:|---:|---:|"
        for c in $CONCS; do
            cells=()
            for pair in "relayguard before" "relayguard+quotas before+quotas"; do
                set -- $pair
                ra=()
                for r in $(seq "$ROUNDS"); do
                    ra+=("$(awk -v a="${RPS[$1,$c,$r]:-0}" -v b="${RPS[$2,$c,$r]:-0}" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')")
                done
                cells+=("$(median "${ra[@]}") ($(printf '%s\n' "${ra[@]}" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'))")
            done
            echo "| $c | ${cells[0]} | ${cells[1]} |"
        done
    fi
    echo
    echo "Load generator check: $LG_CHECK."
    [ -n "${CRASHES:-}" ] && echo && echo "**Problems:** $CRASHES"
} >>"$MD"

fi

want_part 4 && . "$B/part4.sh"
want_part 5 && . "$B/part5.sh"

if want_part 2; then
# ================================================================ 2. scale
note "== 2. scale (relayguard-policyd with quotas, c=$SCALE_CONC)"
{
    echo
    echo "## 2. Scale (relayguard-policyd, quotas on, $SCALE_CONC connections)"
    echo
} >>"$MD"
if [ ! -x "$POLICYD" ]; then
    skip "scale runs: $POLICYD not built yet"
elif [ "$REDIS_OK" != 1 ]; then
    skip "scale runs: no redis-server"
else
    {
        echo "Start-up = exec until the first policy request is answered; reload = SIGHUP until the log matches /$RG_RELOAD_PATTERN/, with one connection sending requests meanwhile (its worst latency shows whether answers stall); Redis commands per request from INFO commandstats (script-internal calls included) over the whole run, warm-up included."
        echo
        echo "| customers | conf MiB | gen s | start-up ms | reload ms | latency during reload (1 conn) | requests/s | p99 µs | errors | RSS start MiB | RSS after load MiB | peak MiB | peak with reload MiB | Redis cmds/request |"
        echo "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"
    } >>"$MD"
    for n in $SCALE; do
        # Start-up and reload waits come out of what is left of the run,
        # keeping ~90 s for the end-to-end part.
        budget=$(( $(time_left) - 90 - ${SECS%.*} - ${WARMUP%.*} - 1 ))
        if [ "$budget" -lt 30 ]; then
            skip "scale $n: not enough time left"
            continue
        fi
        wait_s=$(( budget / 2 < 120 ? budget / 2 : 120 ))
        d=$WORK/scale$n
        mkdir -p "$d"
        t0=$(now_ms)
        "$PYTHON" "$GENCONF" -n "$n" -o "$d/relayguard.conf" -p "$d/pool.txt" "${GEN_COMMON[@]}" || continue
        gen_s=$(awk -v a="$t0" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
        conf_mib=$(mib $(( $(stat -c %s "$d/relayguard.conf") / 1024 )))
        rcli flushall >/dev/null
        log=$d/policyd.log
        : >"$log"
        t0=$(now_ms)
        if ! pd_start "$d/relayguard.conf" "$log" "$wait_s"; then
            why=$(grep -v ' action=' "$log" | tail -1 | tr '|' '/')
            [ -n "$why" ] || why="not answering after ${wait_s} s (RSS $(mib "$(rss_kb "$PD_PID")") MiB, still loading)"
            note "   $n customers: policyd did not start: $why"
            echo "| $n | $conf_mib | $gen_s | $why | | | | | | | | | | |" >>"$MD"
            pd_stop
            rm -rf "$d"
            continue
        fi
        start_ms=$(( $(now_ms) - t0 ))
        rss0=$(rss_kb "$PD_PID")
        head -3 "$log" >"$OUT/raw/policyd-scale$n.log.head"
        before=$(redis_calls)
        load "scale$n" "inet:127.0.0.1:$P_POLICYD" "$SCALE_CONC" "$d/pool.txt"
        after=$(redis_calls)
        rss1=$(rss_kb "$PD_PID"); hwm=$(hwm_kb "$PD_PID")
        per=$(per_request "$before" "$after" "$(field "$R" sent)")
        # Reload while one connection keeps asking, to see whether answers
        # stall meanwhile; the log is emptied first (it is opened O_APPEND).
        "$LOADGEN" -s "inet:127.0.0.1:$P_POLICYD" -c 1 -d "$wait_s" -t 10000 -q \
            -p "$d/pool.txt" >"$OUT/raw/load-scale$n-during-reload.txt" 2>&1 &
        RL_PID=$!
        PIDS+=("$RL_PID")
        sleep 0.3
        : >"$log"
        t0=$(now_ms)
        kill -HUP "$PD_PID"
        reload_ms=timeout
        while [ "$(now_ms)" -lt $((t0 + wait_s * 1000)) ]; do
            if grep -E -q "$RG_RELOAD_PATTERN" "$log"; then reload_ms=$(( $(now_ms) - t0 )); break; fi
            kill -0 "$PD_PID" 2>/dev/null || { reload_ms=died; break; }
            sleep 0.01
        done
        [ "$reload_ms" = timeout ] && reload_ms=">${wait_s}000"
        sleep 0.3
        kill -TERM "$RL_PID" 2>/dev/null
        wait "$RL_PID" 2>/dev/null
        RL=$(grep '^RESULT' "$OUT/raw/load-scale$n-during-reload.txt")
        reload_stall="$(( $(field "$RL" max_us) / 1000 )) ms max, $(field "$RL" errors) errors"
        grep -E "$RG_RELOAD_PATTERN|reload" "$log" | head -3 >"$OUT/raw/policyd-scale$n-reload.log"
        hwm2=$(hwm_kb "$PD_PID")    # the old configuration serves while the new one loads
        pd_stop
        rm -rf "$d"
        note "   $n customers: start ${start_ms}ms reload ${reload_ms}ms (latency meanwhile: $reload_stall) $(field "$R" rps) req/s p99=$(field "$R" p99_us)us RSS $(mib "$rss0")->$(mib "$rss1") MiB redis/request $per"
        echo "| $n | $conf_mib | $gen_s | $start_ms | $reload_ms | $reload_stall | $(field "$R" rps) | $(field "$R" p99_us) | $(field "$R" errors) | $(mib "$rss0") | $(mib "$rss1") | $(mib "$hwm") | $(mib "$hwm2") | $per |" >>"$MD"
    done
fi

fi

if want_part 3; then
# ================================================================ 3. e2e
note "== 3. end to end: smtp-source -> Postfix -> smtp-sink ($E2E_MSGS messages)"
{
    echo
    echo "## 3. End to end (smtp-source → private Postfix → smtp-sink, $E2E_MSGS messages, $E2E_SESSIONS sessions)"
    echo
} >>"$MD"
E2E_ROWS=()
e2e_run() {         # e2e_run LABEL [main.cf lines...]: sets E2E_ROWS
    local label=$1 d=$WORK/pfx-$1 t0 t1 t2 sent=0 i=0 src_rc
    shift
    if [ "$(time_left)" -lt 60 ]; then skip "e2e $label: not enough time left"; return; fi
    rm -rf "$d"
    pfx_setup "$d" "$P_SMTPD" "$P_SINK" "$@" || { skip "e2e $label: Postfix set-up failed"; return; }
    PFX_DIR=$d
    if ! pfx_start "$d" "$P_SMTPD"; then
        skip "e2e $label: Postfix did not start"; pfx_stop "$d"; PFX_DIR=; return
    fi
    t0=$(now_ms)
    timeout 120 smtp-source -s "$E2E_SESSIONS" -m "$E2E_MSGS" -l 2000 -N -M mail.loopback.example \
        -f bench@loopback.example -t rcpt@dest.example "127.0.0.1:$P_SMTPD" \
        >"$OUT/raw/e2e-$label-source.txt" 2>&1
    src_rc=$?
    t1=$(now_ms)
    # Wait for delivery into smtp-sink; give up after 10 s without progress.
    local last=-1 still=0
    while [ $i -lt 1200 ] && [ $still -lt 100 ]; do
        sent=$(grep -c 'status=sent' "$d/maillog" 2>/dev/null)
        [ "${sent:-0}" -ge "$E2E_MSGS" ] && break
        if [ "$sent" = "$last" ]; then still=$((still + 1)); else still=0; last=$sent; fi
        sleep 0.1; i=$((i + 1))
    done
    t2=$(now_ms)
    grep -E 'reject|warning|error|fatal' "$d/maillog" | grep -v 'postfix-script' \
        | head -20 >"$OUT/raw/e2e-$label-problems.txt"
    pfx_stop "$d"
    PFX_DIR=
    local acc del
    acc=$(awk -v n="$E2E_MSGS" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", n * 1000 / (ms ? ms : 1) }')
    del=$(awk -v n="${sent:-0}" -v ms=$((t2 - t0)) 'BEGIN { printf "%.0f", n * 1000 / (ms ? ms : 1) }')
    note "   $label: smtp-source rc=$src_rc in $((t1 - t0))ms ($acc msg/s accepted), $sent delivered in $((t2 - t0))ms ($del msg/s)"
    E2E_ROWS+=("$label|$src_rc|$((t1 - t0))|$acc|$sent|$((t2 - t0))|$del")
    rm -rf "$d"
}
e2e_paths() {       # e2e_paths: the main.cf lines of each path, by label
    E2E_CF_policyd=("smtpd_relay_restrictions ="
        "smtpd_recipient_restrictions = $POLICY, reject"
        "smtpd_end_of_data_restrictions = $EOD_POLICY")
    E2E_CF_milter_unix=("${E2E_CF_policyd[@]}"
        "smtpd_milters = unix:$WORK/milter.sock" "milter_default_action = tempfail")
    E2E_CF_milter_tcp=("${E2E_CF_policyd[@]}"
        "smtpd_milters = inet:127.0.0.1:$P_MILTER" "milter_default_action = tempfail")
    # Peers: the protocol floor of each hop, no decision made.
    E2E_CF_dunno=("smtpd_relay_restrictions ="
        "smtpd_recipient_restrictions = $DUNNO_POLICY, permit_mynetworks, reject"
        "smtpd_end_of_data_restrictions = $DUNNO_POLICY")
    E2E_CF_nullmilter=("${E2E_CF_policyd[@]}"
        "smtpd_milters = unix:$WORK/nullmilter.sock" "milter_default_action = tempfail")
    # The recommended setup with the table of relayguardctl milter-map:
    # the benchmark's client (bench-loopback, domain_addresses) skips the
    # milter, as every client outside an "any" setting would.
    E2E_CF_milter_map=("${E2E_CF_milter_unix[@]}"
        "smtpd_milter_maps = cidr:$WORK/milter_map")
}
if [ "$(id -u)" != 0 ]; then
    skip "end to end: needs root for a private Postfix"
elif ! command -v postfix >/dev/null || ! command -v smtp-source >/dev/null; then
    skip "end to end: postfix / smtp-source not installed"
else
    mkdir -p "$WORK/sink"
    chown postfix "$WORK/sink"
    smtp-sink -u postfix -h sink.test "127.0.0.1:$P_SINK" 256 </dev/null >"$OUT/raw/smtp-sink.log" 2>&1 &
    PIDS+=("$!")
    wait_port "$P_SINK" 5 || skip "end to end: smtp-sink did not start"
    POLICY="check_policy_service { inet:127.0.0.1:$P_POLICYD, timeout=10s, { default_action = 451 4.3.5 Policy service unavailable } }"
    EOD_POLICY="check_policy_service { inet:127.0.0.1:$P_POLICYD, timeout=10s, default_action=DUNNO }"
    DUNNO_POLICY="check_policy_service { inet:127.0.0.1:$P_BASE, timeout=10s, default_action=DUNNO }"
    e2e_paths
    # Every daemon runs for the whole part; the paths take turns, ROUNDS
    # times, each round against its own Postfix-alone run.
    E2E_PATHS=(postfix-alone)
    ML_PIDS=()
    "$BASELINE" -s "inet:127.0.0.1:$P_BASE" -d 1800 -q 2>/dev/null &
    BL_PID=$!
    PIDS+=("$BL_PID")
    if wait_ready "inet:127.0.0.1:$P_BASE" 10; then
        E2E_PATHS+=(dunno-policy)
    else
        skip "e2e with the DUNNO policy server: rg-baseline did not start"
    fi
    if [ -x "$POLICYD" ] && [ "$REDIS_OK" = 1 ]; then
        rcli flushall >/dev/null
        if pd_start "$CMP/quota.conf" "$WORK/pd-e2e.log"; then
            E2E_PATHS+=(policyd)
            if [ -x "$MILTER" ]; then
                # The recommended setup: the milter on a unix socket.
                sed -e "s|inet:$P_MILTER@127.0.0.1|unix:$WORK/milter.sock|" \
                    -e 's|^milter {|milter { socket_mode = "0666"|' \
                    "$CMP/quota.conf" >"$CMP/quota-unix.conf"
                chmod 711 "$WORK"	# smtpd (user postfix) reaches the socket
                "$MILTER" -f -c "$CMP/quota-unix.conf" 2>"$WORK/milter-e2e-unix.log" &
                ML_PIDS+=("$!"); PIDS+=("$!")
                for _ in $(seq 100); do [ -S "$WORK/milter.sock" ] && break; sleep 0.1; done
                "$NULLMILTER" -p "unix:$WORK/nullmilter.sock" 2>"$WORK/nullmilter.log" &
                ML_PIDS+=("$!"); PIDS+=("$!")
                for _ in $(seq 100); do [ -S "$WORK/nullmilter.sock" ] && break; sleep 0.1; done
                if [ -S "$WORK/nullmilter.sock" ]; then
                    E2E_PATHS+=(policyd+nullmilter-unix)
                else
                    skip "e2e with rg-nullmilter: it did not listen"
                fi
                if [ -S "$WORK/milter.sock" ]; then
                    E2E_PATHS+=(policyd+milter-unix)
                    if "$ROOT/ctl/relayguardctl" -c "$CMP/quota-unix.conf" milter-map \
                        --milters "unix:$WORK/milter.sock" >"$WORK/milter_map" 2>"$OUT/raw/milter-map.err"; then
                        cp "$WORK/milter_map" "$OUT/raw/milter_map"
                        E2E_PATHS+=(policyd+milter-unix+map)
                    else
                        skip "e2e with smtpd_milter_maps: relayguardctl milter-map failed"
                    fi
                else
                    skip "e2e with milter on a unix socket: relayguard-milter did not listen"
                fi
                # Over TCP, Postfix's milter client writes macros and
                # command separately and Nagle + delayed ACK stall them.
                "$MILTER" -f -c "$CMP/quota.conf" 2>"$WORK/milter-e2e.log" &
                ML_PIDS+=("$!"); PIDS+=("$!")
                if wait_port "$P_MILTER" 20; then
                    E2E_PATHS+=(policyd+milter-tcp)
                else
                    skip "e2e with milter: relayguard-milter did not listen"
                fi
            else
                skip "e2e with milter: $MILTER not built yet"
            fi
        else
            skip "e2e with relayguard: policyd did not start"
        fi
    else
        skip "e2e with relayguard: policyd or redis-server missing"
    fi
    declare -A E2E_DEL
    # A first Postfix run warms the page cache and the binaries; not counted.
    E2E_MSGS_SAVED=$E2E_MSGS; E2E_MSGS=$(( E2E_MSGS / 4 ))
    e2e_run warmup
    E2E_MSGS=$E2E_MSGS_SAVED
    E2E_ROWS=()
    for r in $(seq "$ROUNDS"); do
        for path in "${E2E_PATHS[@]}"; do
            # Over TCP the milter is stalled by delayed ACKs (~30 s a run,
            # always about a quarter of the rate): one round is enough.
            [ "$path" = policyd+milter-tcp ] && [ "$r" -gt 1 ] && continue
            # Every path starts with empty quota counters.
            [ "$REDIS_OK" = 1 ] && rcli flushall >/dev/null
            case $path in
            postfix-alone) e2e_run "$path-r$r" ;;
            dunno-policy) e2e_run "$path-r$r" "${E2E_CF_dunno[@]}" ;;
            policyd) e2e_run "$path-r$r" "${E2E_CF_policyd[@]}" ;;
            policyd+nullmilter-unix) e2e_run "$path-r$r" "${E2E_CF_nullmilter[@]}" ;;
            policyd+milter-unix) e2e_run "$path-r$r" "${E2E_CF_milter_unix[@]}" ;;
            policyd+milter-unix+map) e2e_run "$path-r$r" "${E2E_CF_milter_map[@]}" ;;
            policyd+milter-tcp) e2e_run "$path-r$r" "${E2E_CF_milter_tcp[@]}" ;;
            esac
            E2E_DEL[$path,$r]=$(IFS='|'; set -- ${E2E_ROWS[${#E2E_ROWS[@]}-1]}; [ "$1" = "$path-r$r" ] && echo "$7")
        done
    done
    for p in "${ML_PIDS[@]}" "$BL_PID"; do stop_pid "$p"; done
    head -20 "$WORK/milter-e2e-unix.log" >"$OUT/raw/milter-e2e.log.head" 2>/dev/null
    grep -v ' action=OK ' "$WORK/pd-e2e.log" 2>/dev/null | head -20 >"$OUT/raw/policyd-e2e.log.head"
    pd_stop
    E2E_SUMMARY=()
    for path in "${E2E_PATHS[@]}"; do
        ds=() ra=()
        for r in $(seq "$ROUNDS"); do
            [ -n "${E2E_DEL[$path,$r]:-}" ] || continue
            ds+=("${E2E_DEL[$path,$r]:-0}")
            ra+=("$(awk -v a="${E2E_DEL[$path,$r]:-0}" -v b="${E2E_DEL[postfix-alone,$r]:-0}" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')")
        done
        rng=$(printf '%s\n' "${ra[@]}" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }')
        E2E_SUMMARY+=("| $path | $(median "${ds[@]}") | $(ratio "$(median "${ra[@]}")" 1) | $rng |")
        note "   $path: median $(median "${ds[@]}") msg/s delivered, x Postfix alone $(median "${ra[@]}") (rounds $rng)"
    done
    {
        echo "Paths: **postfix-alone** (no policy service, no milter); **dunno-policy** (rg-baseline as the policy service at RCPT and END-OF-MESSAGE: the cost of Postfix's policy client and the protocol, nothing decided); **policyd** (relayguard-policyd with quotas at RCPT and END-OF-MESSAGE); **policyd+nullmilter-unix** (policyd plus rg-nullmilter, a libmilter filter that negotiates what relayguard-milter negotiates and decides nothing: the cost of Postfix's milter client and libmilter); **policyd+milter-unix** (policyd plus relayguard-milter in rewrite mode on a unix socket, every client through the milter: the cost for clients of \"any\" settings); **policyd+milter-unix+map** (the recommended setup: the same with the smtpd_milter_maps table of relayguardctl milter-map, which the benchmark client, not in an \"any\" setting, skips); **policyd+milter-tcp** (the milter over TCP). A first, shorter Postfix-alone run warms up and is not counted."
        echo
        echo "Each path ran $ROUNDS times (the TCP milter once), the paths in turn within each round; × Postfix alone is the median of the per-round ratios of delivered msg/s (each round against its own Postfix-alone run), with their range."
        echo
        echo "| path | smtp-source exit | accepted in ms | accepted msg/s | delivered | delivered in ms | delivered msg/s | × Postfix alone |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|"
        for row in "${E2E_ROWS[@]}"; do
            IFS='|' read -r l rc ams acc snt dms del <<<"$row"
            r=${l##*-r}
            echo "| $l | $rc | $ams | $acc | $snt | $dms | $del | $(ratio "$del" "${E2E_DEL[postfix-alone,$r]:-0}") |"
        done
        echo
        echo "| path | median delivered msg/s | × Postfix alone (median) | × Postfix alone, rounds |"
        echo "|---|---:|---:|---:|"
        printf '%s\n' "${E2E_SUMMARY[@]}"
    } >>"$MD"
fi

fi

echo >>"$MD"
echo "Total run time: $(elapsed) s." >>"$MD"
note "== done in $(elapsed)s; results in $MD"
echo
cat "$MD"
