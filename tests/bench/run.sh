#!/bin/bash
# tests/bench/run.sh - relayguard benchmarks ("make bench" runs this).
#
# Usage: bash tests/bench/run.sh     (as root, from anywhere; tools built)
# One run on loopback, about 4-5 minutes with the defaults, 10 at most:
#   1. policy throughput at concurrency 1, 8, 32 for: rg-baseline (protocol
#      ceiling), relayguard-policyd without quotas, with quotas (private
#      redis-server), and postfwd2 with equivalent rules; each as a ratio
#      to postfwd and to the baseline;
#   2. scale at 10 / 1,000 / 10,000 / 100,000 customers: requests/s, RSS, start-up
#      time (until a policy request is answered), reload time (SIGHUP until
#      the log says so), Redis commands per request (INFO commandstats);
#   3. end to end: smtp-source -> private Postfix -> smtp-sink, messages/s
#      with relayguard-policyd + relayguard-milter in the path against
#      Postfix alone.
# Results: a summary on stdout and $BENCH_OUT/results.md (markdown, for
# BENCHMARKS.md); raw outputs in $BENCH_OUT/raw/. A part whose program is
# missing is skipped with a message. Knobs (environment): BENCH_SECS (5),
# BENCH_WARMUP (1), BENCH_CONCS ("1 8 32"), BENCH_CMP_CUSTOMERS (100),
# BENCH_SCALE ("10 1000 10000 100000"), BENCH_SCALE_CONC (8), BENCH_E2E_MSGS
# (2000), BENCH_PORT_BASE (23700), BENCH_OUT (tests/bench/out),
# RG_NOQUOTA_LINE, RG_RELOAD_PATTERN, BENCH_DEADLINE (600 s).
#
# Errors: exits 1 if the bench tools are not built or a port it needs is
# taken; a part that fails is reported in the results and the run goes on.
# Every process it starts is stopped on exit (by PID), whatever happens.

set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/tests/bench
OUT=${BENCH_OUT:-$B/out}
SECS=${BENCH_SECS:-5}
WARMUP=${BENCH_WARMUP:-1}
CONCS=${BENCH_CONCS:-"1 8 32"}
CMP_N=${BENCH_CMP_CUSTOMERS:-100}
SCALE=${BENCH_SCALE:-"10 1000 10000 100000"}
SCALE_CONC=${BENCH_SCALE_CONC:-8}
E2E_MSGS=${BENCH_E2E_MSGS:-2000}
DEADLINE=${BENCH_DEADLINE:-600}
# Below Linux's ephemeral range (32768-60999), so no client socket of
# another test can be sitting on one of our listening ports.
PB=${BENCH_PORT_BASE:-23700}
# The one config line that turns quota work off (relayguard.conf(5)).
RG_NOQUOTA_LINE=${RG_NOQUOTA_LINE-'quotas = false'}
# What relayguard-policyd logs once a SIGHUP reload has taken effect.
RG_RELOAD_PATTERN=${RG_RELOAD_PATTERN:-'reloaded configuration|config loaded'}

P_SMTPD=$((PB + 25)) P_SINK=$((PB + 26)) P_POLICYD=$((PB + 40))
P_MILTER=$((PB + 41)) P_BASE=$((PB + 50)) P_POSTFWD=$((PB + 60))
P_REDIS=$((PB + 79))

POLICYD=$ROOT/policyd/relayguard-policyd
MILTER=$ROOT/milter/relayguard-milter
LOADGEN=$B/rg-loadgen
BASELINE=$B/rg-baseline
GENCONF=$B/gen-conf.py
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
POSTFWD=$(command -v postfwd2 || true)

. "$B/pfx.sh"

for t in "$LOADGEN" "$BASELINE"; do
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
for p in $P_SMTPD $P_SINK $P_POLICYD $P_MILTER $P_BASE $P_POSTFWD $P_REDIS; do
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

declare -A RPS P50 P99 ERR
SERVERS=()
run_server() {      # run_server LABEL SPEC [POOL]: all concurrencies
    local c
    SERVERS+=("$1")
    for c in $CONCS; do
        [ "$REDIS_OK" = 1 ] && [ "$1" = "relayguard+quotas" ] && rcli flushall >/dev/null
        load "$1" "$2" "$c" "${3:-$CMP/pool.txt}"
        RPS[$1,$c]=$(field "$R" rps); P50[$1,$c]=$(field "$R" p50_us)
        P99[$1,$c]=$(field "$R" p99_us); ERR[$1,$c]=$(field "$R" errors)
        note "   $1 c=$c: ${RPS[$1,$c]} req/s p50=${P50[$1,$c]}us p99=${P99[$1,$c]}us errors=${ERR[$1,$c]}"
    done
}

# baseline, with the request-count cross-check
"$BASELINE" -s "inet:127.0.0.1:$P_BASE" -V -d 600 -q 2>"$OUT/raw/baseline.log" &
BL_PID=$!
PIDS+=("$BL_PID")
if wait_ready "inet:127.0.0.1:$P_BASE" 10; then
    run_server baseline "inet:127.0.0.1:$P_BASE"
    stop_pid "$BL_PID"
    sent=0
    for c in $CONCS; do
        s=$(field "$(grep '^RESULT' "$OUT/raw/load-baseline-c$c.txt")" sent)
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
    skip "rg-baseline did not start"
    LG_CHECK="not run"
fi

if [ -x "$POLICYD" ]; then
    if pd_start "$CMP/noquota.conf" "$WORK/pd-noquota.log"; then
        run_server relayguard "inet:127.0.0.1:$P_POLICYD"
    else
        note "   relayguard-policyd (no quotas) did not start:"; tail -5 "$WORK/pd-noquota.log"
    fi
    pd_stop
    head -50 "$WORK/pd-noquota.log" >"$OUT/raw/policyd-noquota.log.head"
    rm -f "$WORK/pd-noquota.log"
    if [ "$REDIS_OK" = 1 ]; then
        if pd_start "$CMP/quota.conf" "$WORK/pd-quota.log"; then
            run_server relayguard+quotas "inet:127.0.0.1:$P_POLICYD"
        else
            note "   relayguard-policyd (quotas) did not start:"; tail -5 "$WORK/pd-quota.log"
        fi
        pd_stop
        head -50 "$WORK/pd-quota.log" >"$OUT/raw/policyd-quota.log.head"
        rm -f "$WORK/pd-quota.log"
    fi
else
    note "   SKIP: $POLICYD not built yet"
fi

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
    echo "| server | conns | requests/s | p50 µs | p99 µs | errors | × postfwd2 | × baseline |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for s in "${SERVERS[@]}"; do
        for c in $CONCS; do
            echo "| $s | $c | ${RPS[$s,$c]} | ${P50[$s,$c]} | ${P99[$s,$c]} | ${ERR[$s,$c]} | $(ratio "${RPS[$s,$c]}" "${RPS[postfwd2,$c]:-0}") | $(ratio "${RPS[$s,$c]}" "${RPS[baseline,$c]:-0}") |"
        done
    done
    echo
    echo "Load generator check: $LG_CHECK."
    [ -n "${CRASHES:-}" ] && echo && echo "**Problems:** $CRASHES"
} >>"$MD"

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
        echo "| customers | conf MiB | gen s | start-up ms | reload ms | latency during reload (1 conn) | requests/s | p99 µs | errors | RSS start MiB | RSS after load MiB | peak MiB | Redis cmds/request |"
        echo "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|"
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
            echo "| $n | $conf_mib | $gen_s | $why | | | | | | | | | |" >>"$MD"
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
        pd_stop
        rm -rf "$d"
        note "   $n customers: start ${start_ms}ms reload ${reload_ms}ms (latency meanwhile: $reload_stall) $(field "$R" rps) req/s p99=$(field "$R" p99_us)us RSS $(mib "$rss0")->$(mib "$rss1") MiB redis/request $per"
        echo "| $n | $conf_mib | $gen_s | $start_ms | $reload_ms | $reload_stall | $(field "$R" rps) | $(field "$R" p99_us) | $(field "$R" errors) | $(mib "$rss0") | $(mib "$rss1") | $(mib "$hwm") | $per |" >>"$MD"
    done
fi

# ================================================================ 3. e2e
note "== 3. end to end: smtp-source -> Postfix -> smtp-sink ($E2E_MSGS messages)"
{
    echo
    echo "## 3. End to end (smtp-source → private Postfix → smtp-sink, $E2E_MSGS messages, 8 sessions)"
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
    timeout 120 smtp-source -s 8 -m "$E2E_MSGS" -l 2000 -N -M mail.loopback.example \
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
    e2e_run postfix-alone
    POLICY="check_policy_service { inet:127.0.0.1:$P_POLICYD, timeout=10s, { default_action = 451 4.3.5 Policy service unavailable } }"
    EOD_POLICY="check_policy_service { inet:127.0.0.1:$P_POLICYD, timeout=10s, default_action=DUNNO }"
    if [ -x "$POLICYD" ] && [ "$REDIS_OK" = 1 ]; then
        rcli flushall >/dev/null
        if pd_start "$CMP/quota.conf" "$WORK/pd-e2e.log"; then
            e2e_run policyd "smtpd_relay_restrictions =" \
                "smtpd_recipient_restrictions = $POLICY, reject" \
                "smtpd_end_of_data_restrictions = $EOD_POLICY"
            if [ -x "$MILTER" ]; then
                "$MILTER" -f -c "$CMP/quota.conf" 2>"$WORK/milter-e2e.log" &
                ML_PID=$!
                PIDS+=("$ML_PID")
                if wait_port "$P_MILTER" 20; then
                    e2e_run policyd+milter "smtpd_relay_restrictions =" \
                        "smtpd_recipient_restrictions = $POLICY, reject" \
                        "smtpd_end_of_data_restrictions = $EOD_POLICY" \
                        "smtpd_milters = inet:127.0.0.1:$P_MILTER" \
                        "milter_default_action = tempfail"
                else
                    skip "e2e with milter: relayguard-milter did not listen"
                fi
                stop_pid "$ML_PID"
                head -20 "$WORK/milter-e2e.log" >"$OUT/raw/milter-e2e.log.head"
                # The recommended setup: the milter on a unix socket.  Over
                # TCP, Postfix's milter client writes macros and command
                # separately and Nagle + delayed ACK stall each exchange.
                sed -e "s|inet:$P_MILTER@127.0.0.1|unix:$WORK/milter.sock|" \
                    -e 's|^milter {|milter { socket_mode = "0666"|' \
                    "$CMP/quota.conf" >"$CMP/quota-unix.conf"
                chmod 711 "$WORK"	# smtpd (user postfix) reaches the socket
                "$MILTER" -f -c "$CMP/quota-unix.conf" 2>"$WORK/milter-e2e-unix.log" &
                ML_PID=$!
                PIDS+=("$ML_PID")
                for _ in $(seq 100); do [ -S "$WORK/milter.sock" ] && break; sleep 0.1; done
                if [ -S "$WORK/milter.sock" ]; then
                    e2e_run policyd+milter-unix "smtpd_relay_restrictions =" \
                        "smtpd_recipient_restrictions = $POLICY, reject" \
                        "smtpd_end_of_data_restrictions = $EOD_POLICY" \
                        "smtpd_milters = unix:$WORK/milter.sock" \
                        "milter_default_action = tempfail"
                else
                    skip "e2e with milter on a unix socket: relayguard-milter did not listen"
                fi
                stop_pid "$ML_PID"
            else
                skip "e2e with milter: $MILTER not built yet"
            fi
        else
            skip "e2e with relayguard: policyd did not start"
        fi
        grep -v ' action=OK ' "$WORK/pd-e2e.log" | head -20 >"$OUT/raw/policyd-e2e.log.head"
        pd_stop
    else
        skip "e2e with relayguard: policyd or redis-server missing"
    fi
    {
        echo "| path | smtp-source exit | accepted in ms | accepted msg/s | delivered | delivered in ms | delivered msg/s | × Postfix alone |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|"
        base_del=
        for row in "${E2E_ROWS[@]}"; do
            IFS='|' read -r l rc ams acc snt dms del <<<"$row"
            [ "$l" = postfix-alone ] && base_del=$del
            echo "| $l | $rc | $ams | $acc | $snt | $dms | $del | $(ratio "$del" "${base_del:-0}") |"
        done
    } >>"$MD"
fi

echo >>"$MD"
echo "Total run time: $(elapsed) s." >>"$MD"
note "== done in $(elapsed)s; results in $MD"
echo
cat "$MD"
