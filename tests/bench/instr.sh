#!/bin/bash
# tests/bench/instr.sh - instructions per policy request, this relayguard-policyd
# against another binary (valgrind's cachegrind, no cache simulation).
#
# Usage: bash tests/bench/instr.sh OTHER-POLICYD [CONCS]     (tools built)
#   Each binary serves gen-conf.py's 100-customer configuration without
#   quotas and gets the same rg-loadgen requests (the pool's mix, CONCS
#   connections, default "32 8 1"), 10,000 and then 60,000 of them, each
#   run under cachegrind; the difference of the two counts over 50,000 is
#   the user-space instructions of one request, start-up and shutdown
#   cancelled out.  Prints one line per binary and concurrency, and the
#   ratio this / other.
#
# Why: throughput ratios on the shared 2-core machine move by 10-20% from
# round to round (other tenants), which hides a 3% difference; this count
# is the same to 0.1% from run to run.  It leaves out the kernel's share
# (the system calls, the same number per request in both here) and cache
# effects.
#
# Errors: exits 1 when valgrind or the tools are missing, or a daemon does
# not answer; every daemon it starts is stopped.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/tests/bench
OTHER=${1:?usage: instr.sh OTHER-POLICYD [CONCS]}
CONCS=${2:-"32 8 1"}
THIS=$ROOT/policyd/relayguard-policyd
LG=$B/rg-loadgen
PORT=${BENCH_PORT_BASE:-23700}
PORT=$((PORT + 95))
command -v valgrind >/dev/null || { echo "instr.sh: valgrind missing (contrib/install-deps.sh --bench)" >&2; exit 1; }
for f in "$THIS" "$OTHER" "$LG"; do
    [ -x "$f" ] || { echo "instr.sh: $f not built" >&2; exit 1; }
done
W=$(mktemp -d /tmp/rg-instr.XXXXXX) || exit 1
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$W"' EXIT
python3 "$B/gen-conf.py" -n 100 -o "$W/rg.conf" -p "$W/pool.txt" --extra 'quotas = false' \
    --listen "inet:127.0.0.1:$PORT" --loopback >/dev/null || exit 1

# ir BINARY N CONC: instructions of the whole run
ir() {
    rm -f "$W/cg.out"
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$W/cg.out" \
        "$1" -f -c "$W/rg.conf" 2>"$W/pd.log" &
    PID=$!
    local i
    for i in $(seq 150); do
        "$LG" -s "inet:127.0.0.1:$PORT" -P 10 >/dev/null 2>&1 && break
        sleep 0.2
    done
    "$LG" -s "inet:127.0.0.1:$PORT" -c "$3" -d 600 -w 0 -t 60000 -n "$2" -p "$W/pool.txt" \
        >"$W/lg.out" 2>&1 || { echo "instr.sh: rg-loadgen failed: $(tail -1 "$W/lg.out")" >&2; exit 1; }
    kill "$PID"; wait "$PID" 2>/dev/null; PID=
    awk '/^summary:/ { print $2 }' "$W/cg.out"
}
for c in $CONCS; do
    declare -A per=()
    for who in this other; do
        bin=$THIS; [ $who = other ] && bin=$OTHER
        a=$(ir "$bin" 10000 "$c") && b=$(ir "$bin" 60000 "$c") || exit 1
        per[$who]=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", (b - a) / 50000 }')
        echo "conns=$c $who instructions/request=${per[$who]}"
    done
    echo "conns=$c this/other=$(awk -v a="${per[this]}" -v b="${per[other]}" 'BEGIN { printf "%.3f", a / b }')"
done
