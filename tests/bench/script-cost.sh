#!/bin/bash
# tests/bench/script-cost.sh - what one quota decision costs inside Redis
#
# Usage: bash tests/bench/script-cost.sh [CUSTOMERS [SECS [CONNS]]]
#        (defaults 100, 10, 8; daemons and bench tools built)
# Starts a private redis-server and relayguard-policyd on loopback
# (gen-conf.py's configuration and pool), runs rg-loadgen, and prints
# from INFO commandstats: Redis commands per policy request (the calls
# inside the script included, as in BENCHMARKS.md's scale table), per
# script call, and EVALSHA's usec_per_call.  Ports: BENCH_PORT_BASE
# (23800) + 1 (Redis) and + 2 (policyd).  Every process it starts is
# stopped on exit, by PID.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-100} SECS=${2:-10} CONC=${3:-8}
PB=${BENCH_PORT_BASE:-23800}
P_REDIS=$((PB + 1)) P_POLICYD=$((PB + 2))
W=$(mktemp -d /tmp/rg-script-cost.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$W"
}
trap cleanup EXIT
rcli() { redis-cli -h 127.0.0.1 -p "$P_REDIS" "$@"; }

redis-server --port "$P_REDIS" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$W" --daemonize no >"$W/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ "$(rcli ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done
python3 "$ROOT/tests/bench/gen-conf.py" -n "$N" -o "$W/rg.conf" -p "$W/pool.txt" \
    --listen "inet:127.0.0.1:$P_POLICYD" --redis "127.0.0.1:$P_REDIS" || exit 1
"${POLICYD:-$ROOT/policyd/relayguard-policyd}" -f -c "$W/rg.conf" 2>"$W/policyd.log" &
PIDS+=($!)
"$ROOT/tests/bench/rg-loadgen" -s "inet:127.0.0.1:$P_POLICYD" -P 30 -q >/dev/null 2>&1
rcli config resetstat >/dev/null
"$ROOT/tests/bench/rg-loadgen" -s "inet:127.0.0.1:$P_POLICYD" -c "$CONC" -d "$SECS" -w 0 \
    -t 10000 -p "$W/pool.txt" >"$W/load.txt" 2>&1
R=$(grep '^RESULT ' "$W/load.txt" | tail -1)
echo "$R"
rcli info commandstats | tr -d '\r' | awk -F'[:,=]' -v r="$R" '
    BEGIN { n = split(r, f, "[ =]"); for (i = 2; i < n; i += 2) res[f[i]] = f[i + 1] }
    /^cmdstat_/ { c = substr($1, 9)
        if (c ~ /^(info|config.*|ping)$/) next
        calls[c] = $3; total += $3
        if (c == "evalsha" || c == "eval") { scripts += $3; usec += $5 } }
    END {
        req = res["sent"]
        for (c in calls) line = line sprintf(" %s=%.2f", c, calls[c] / req)
        printf "requests %d, script calls %d (%.2f per request)\n", req, scripts, scripts / req
        printf "Redis commands per request %.2f:%s\n", total / req, line
        printf "commands per script call (inside it, TIME included) %.2f\n", (total - scripts) / scripts
        printf "usec_per_call of the script %.2f\n", usec / scripts
    }'
