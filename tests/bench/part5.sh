# tests/bench/part5.sh - part 5 of the benchmark run: Redis topologies.
#
# Usage: sourced by tests/bench/run.sh when BENCH_PARTS holds 5 (it uses
# run.sh's variables and functions: load, field, median, ratio, pd_stop,
# stop_pid, wait_ready, skip, note, PIDS, WORK, OUT, MD, CMP, GENCONF).
#   relayguard-policyd with quotas, the same CMP_N customers and request
#   pool, against three Redis set-ups on this machine, all running side by
#   side and measured in turn BENCH_ROUNDS times at each of BENCH_HA_CONCS
#   connections (medians reported):
#     single   one redis-server (run.sh's, redis { server = ... });
#     sentinel a master, a replica and three sentinels (redis { sentinels
#              = ... sentinel_master = ... }): the daemon asks the
#              sentinels, then talks to the master;
#     cluster  three masters made by redis-cli --cluster create (redis {
#              cluster = ... }): each script goes to its customer's node.
#   For each: requests/s, p50, p99, errors, the ratio to single in the
#   same round, and Redis commands per request (INFO commandstats, summed
#   over the data nodes; EVALSHA's usec_per_call).
# Knobs: BENCH_HA_CONCS ("8 32").
#
# Errors: a topology that does not form, or a daemon that does not start
# on it, is skipped with a message in the results; every process started
# is stopped by PID (run.sh's cleanup).
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

HA_CONCS=${BENCH_HA_CONCS:-"8 32"}
P_HA_PD=$((PB + 90))            # + 0 single, 1 sentinel, 2 cluster
P_SENT_M=$((PB + 80)) P_SENT_R=$((PB + 81)) P_SENT_S=$((PB + 82))   # sentinels: +82..84
P_CL=$((PB + 85))               # cluster nodes: +85..87 (buses at +10000)
HAD=$WORK/ha

# ha_node PORT [ARGS...]: a data node in $HAD, no persistence
ha_node() {
    local p=$1
    shift
    redis-server --bind 127.0.0.1 --port "$p" --save '' --appendonly no \
        --dir "$HAD" --logfile "$HAD/redis-$p.log" --protected-mode no "$@" \
        </dev/null >/dev/null 2>&1 &
    PIDS+=("$!")
    wait_port "$p" 10
}
ha_ping() { [ "$(redis-cli -p "$1" PING 2>/dev/null)" = PONG ]; }

# ha_sentinel: master, replica in sync, three sentinels agreeing on it
ha_sentinel() {
    local i p
    ha_node "$P_SENT_M" || return 1
    ha_node "$P_SENT_R" --replicaof 127.0.0.1 "$P_SENT_M" || return 1
    for i in 0 1 2; do
        p=$((P_SENT_S + i))
        cat >"$HAD/sentinel-$p.conf" <<EOF
bind 127.0.0.1
port $p
daemonize no
protected-mode no
dir $HAD
logfile $HAD/sentinel-$p.log
sentinel monitor bench 127.0.0.1 $P_SENT_M 2
sentinel down-after-milliseconds bench 1000
sentinel failover-timeout bench 3000
EOF
        redis-sentinel "$HAD/sentinel-$p.conf" </dev/null >/dev/null 2>&1 &
        PIDS+=("$!")
    done
    for i in $(seq 100); do
        [ "$(redis-cli -p "$P_SENT_R" INFO replication 2>/dev/null | tr -d '\r' | sed -n 's/^master_link_status://p')" = up ] \
            && [ "$(redis-cli -p "$((P_SENT_S + 2))" SENTINEL get-master-addr-by-name bench 2>/dev/null | tail -1)" = "$P_SENT_M" ] \
            && return 0
        sleep 0.1
    done
    return 1
}

# ha_cluster: three masters, every slot served
ha_cluster() {
    local i addrs=
    for i in 0 1 2; do
        ha_node "$((P_CL + i))" --cluster-enabled yes --cluster-node-timeout 2000 \
            --cluster-config-file "$HAD/nodes-$((P_CL + i)).conf" || return 1
        addrs+=" 127.0.0.1:$((P_CL + i))"
    done
    # shellcheck disable=SC2086
    redis-cli --cluster create $addrs --cluster-replicas 0 --cluster-yes \
        >"$HAD/create.log" 2>&1 || return 1
    for i in $(seq 100); do
        [ "$(redis-cli -p "$P_CL" CLUSTER INFO 2>/dev/null | tr -d '\r' | sed -n 's/^cluster_state://p')" = ok ] \
            && [ "$(redis-cli -p "$((P_CL + 2))" CLUSTER INFO 2>/dev/null | tr -d '\r' | sed -n 's/^cluster_state://p')" = ok ] \
            && return 0
        sleep 0.1
    done
    return 1
}

# ha_ports TOPOLOGY: the data nodes that take the daemon's commands
ha_ports() {
    case $1 in
    single) echo "$P_REDIS" ;;
    sentinel) echo "$P_SENT_M" ;;
    cluster) echo "$P_CL $((P_CL + 1)) $((P_CL + 2))" ;;
    esac
}
ha_flush() { local p; for p in $(ha_ports "$1"); do redis-cli -p "$p" FLUSHALL >/dev/null 2>&1; done; }
ha_resetstat() { local p; for p in $(ha_ports "$1"); do redis-cli -p "$p" CONFIG RESETSTAT >/dev/null 2>&1; done; }
# ha_stats TOPOLOGY: "calls evalsha_calls evalsha_usec" summed over its nodes
ha_stats() {
    local p
    for p in $(ha_ports "$1"); do
        redis-cli -p "$p" INFO commandstats 2>/dev/null | tr -d '\r'
    done | awk -F'[:,=]' '
        /^cmdstat_/ { n = substr($1, 9)
            if (n ~ /^(info|flushall|ping|config|config\|resetstat|cluster\|.*|cluster)$/) next
            t += $3
            if (n == "evalsha") { e += $3; u += $5 } }
        END { printf "%d %d %d\n", t, e, u }'
}

note "== 5. Redis topologies: single, sentinel, cluster ($CMP_N customers, quotas on)"
{
    echo
    echo "## Redis topologies (relayguard-policyd, quotas on, $CMP_N customers)"
    echo
} >>"$MD"
mkdir -p "$HAD"
declare -A HA_SPEC
HA_PID=()
HA_TOPS=()
if [ ! -x "$POLICYD" ] || [ "$REDIS_OK" != 1 ]; then
    skip "topologies: needs relayguard-policyd and redis-server"
else
    "$PYTHON" "$GENCONF" -n "$CMP_N" -o "$HAD/single.conf" -p "$HAD/pool.txt" \
        "${GEN_COMMON[@]}" --listen "inet:127.0.0.1:$P_HA_PD" || exit 1
    sed -e "s|inet:127.0.0.1:$P_HA_PD\"|inet:127.0.0.1:$((P_HA_PD + 1))\"|" \
        -e "s|^    server = \"127.0.0.1:$P_REDIS\"|    sentinels = { \"127.0.0.1:$P_SENT_S\", \"127.0.0.1:$((P_SENT_S + 1))\", \"127.0.0.1:$((P_SENT_S + 2))\" }\n    sentinel_master = \"bench\"|" \
        "$HAD/single.conf" >"$HAD/sentinel.conf"
    sed -e "s|inet:127.0.0.1:$P_HA_PD\"|inet:127.0.0.1:$((P_HA_PD + 2))\"|" \
        -e "s|^    server = \"127.0.0.1:$P_REDIS\"|    cluster = { \"127.0.0.1:$P_CL\", \"127.0.0.1:$((P_CL + 1))\" }|" \
        "$HAD/single.conf" >"$HAD/cluster.conf"
    for t in single sentinel cluster; do
        case $t in
        sentinel) command -v redis-sentinel >/dev/null && ha_sentinel \
                      || { skip "sentinel: the set-up did not form (redis-sentinel installed?)"; continue; } ;;
        cluster) ha_cluster || { skip "cluster: redis-cli --cluster create failed: $(tail -n 2 "$HAD/create.log")"; continue; } ;;
        esac
        case $t in single) i=0 ;; sentinel) i=1 ;; cluster) i=2 ;; esac
        "$POLICYD" -f -c "$HAD/$t.conf" 2>>"$HAD/pd-$t.log" &
        PIDS+=("$!"); HA_PID[$i]=$!
        if wait_ready "inet:127.0.0.1:$((P_HA_PD + i))" 60; then
            HA_TOPS+=("$t"); HA_SPEC[$t]=inet:127.0.0.1:$((P_HA_PD + i))
        else
            skip "$t: relayguard-policyd did not start: $(tail -n 2 "$HAD/pd-$t.log")"
        fi
    done
fi

declare -A HRPS HP50 HP99 HERR HCMD HEVU
for r in $(seq "$ROUNDS"); do
    for c in $HA_CONCS; do
        for t in "${HA_TOPS[@]}"; do
            ha_flush "$t"; ha_resetstat "$t"
            load "ha-$t-r$r" "${HA_SPEC[$t]}" "$c" "$HAD/pool.txt"
            read -r calls ecalls eusec <<<"$(ha_stats "$t")"
            n=$(field "$R" requests)
            HRPS[$t,$c,$r]=$(field "$R" rps); HP50[$t,$c,$r]=$(field "$R" p50_us)
            HP99[$t,$c,$r]=$(field "$R" p99_us); HERR[$t,$c,$r]=$(field "$R" errors)
            # commands per request over the whole run (warm-up included:
            # INFO counts those too, and loadgen's requests= does not)
            HCMD[$t,$c,$r]=$(awk -v a="$calls" -v n="$(field "$R" sent)" 'BEGIN { printf "%.2f", (n > 0 ? a / n : 0) }')
            HEVU[$t,$c,$r]=$(awk -v u="$eusec" -v e="$ecalls" 'BEGIN { printf "%.1f", (e > 0 ? u / e : 0) }')
            note "   round $r $t c=$c: ${HRPS[$t,$c,$r]} req/s p50=${HP50[$t,$c,$r]}us p99=${HP99[$t,$c,$r]}us errors=${HERR[$t,$c,$r]} commands/request=${HCMD[$t,$c,$r]} evalsha=${HEVU[$t,$c,$r]}us requests=$n"
        done
    done
done
if [ ${#HA_TOPS[@]} -gt 0 ]; then
    {
        echo "The same daemon and request pool (~75% of requests reserve quota) against each topology on this machine, measured in turn within each round; median of $ROUNDS rounds. × single: median of the per-round ratios (range). Commands per request: INFO commandstats summed over the data nodes, over all requests sent (the ~25% refused before quotas send none); EVALSHA µs: its usec_per_call."
        echo
        echo "| topology | conns | requests/s | p50 µs | p99 µs | errors | × single | × single, rounds | Redis commands / request | EVALSHA µs |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        for t in "${HA_TOPS[@]}"; do
            for c in $HA_CONCS; do
                rs=() p5=() p9=() ra=() cm=() ev=() e=0
                for r in $(seq "$ROUNDS"); do
                    rs+=("${HRPS[$t,$c,$r]}"); p5+=("${HP50[$t,$c,$r]}"); p9+=("${HP99[$t,$c,$r]}")
                    cm+=("${HCMD[$t,$c,$r]}"); ev+=("${HEVU[$t,$c,$r]}")
                    e=$((e + ${HERR[$t,$c,$r]:-0}))
                    ra+=("$(awk -v a="${HRPS[$t,$c,$r]}" -v b="${HRPS[single,$c,$r]:-0}" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')")
                done
                echo "| $t | $c | $(median "${rs[@]}") | $(median "${p5[@]}") | $(median "${p9[@]}") | $e | $(ratio "$(median "${ra[@]}")" 1) | $(printf '%s\n' "${ra[@]}" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }') | $(median "${cm[@]}") | $(median "${ev[@]}") |"
            done
        done
    } >>"$MD"
fi
i=0
for t in single sentinel cluster; do
    [ -n "${HA_PID[$i]:-}" ] && PD_PID=${HA_PID[$i]} PD_LOG=$HAD/pd-$t.log pd_stop
    i=$((i + 1))
done
for t in single sentinel cluster; do
    [ -f "$HAD/pd-$t.log" ] && grep -v ' action=' "$HAD/pd-$t.log" | head -20 >"$OUT/raw/policyd-ha-$t.log.head"
done
rm -f "$HAD"/pd-*.log
