# tests/bench/part4.sh - part 4 of the benchmark run: routing lookups.
#
# Usage: sourced by tests/bench/run.sh when BENCH_PARTS holds 4 (it uses
# run.sh's variables and functions: load, field, median, ratio, pd_start,
# pd_stop, stop_pid, skip, note, PIDS, WORK, OUT, MD).
#   a. socketmap lookups/s and latency at each of BENCH_CONCS connections:
#      relayguard-policyd's socketmap listener against rg-smbaseline (the
#      protocol ceiling), measured in turn BENCH_ROUNDS times; every
#      relayguard answer is compared with the one gen-conf.py expects;
#   b. side by side: policy decisions/s (rg-loadgen, BENCH_SM_CONC
#      connections) alone, with socketmap load (rg-smload, as many
#      connections) on the same daemon at the same time, and with that
#      load on rg-smbaseline instead (the control: the same CPU contention
#      on this machine, nothing shared with the daemon's loop); without
#      quotas, and with quotas when redis-server runs.
# Knobs: BENCH_SM_CONC (8), BENCH_SM_TARGET (0.75, the ratio to the
# baseline the summary checks).
#
# Errors: a daemon that does not start skips what needs it, with a
# message in the results; every process started is stopped by PID.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

SM_CONC=${BENCH_SM_CONC:-8}
SM_TARGET=${BENCH_SM_TARGET:-0.75}
P_SMPD=$((PB + 48)) P_SMPD2=$((PB + 49)) P_SMBASE=$((PB + 52))

# smload NAME SPEC CONC [ARGS...]: one measured rg-smload run; sets R
smload() {
    local f=$OUT/raw/smload-$1-c$3.txt spec=$2 conc=$3
    shift 3
    "$SMLOAD" -s "$spec" -c "$conc" -d "$SECS" -w "$WARMUP" -t 10000 -p "$SMD/smpool.txt" "$@" >"$f" 2>&1
    R=$(grep '^RESULT ' "$f" | tail -1)
    [ -n "$R" ] || R="RESULT rps=0 requests=0 sent=0 p50_us=0 p99_us=0 errors=-1 mismatch=-1"
}
# range_of RATIO...: "lo-hi"
range_of() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'; }
per_round() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }

note "== 4. routing lookups: relayguard-policyd's socketmap vs rg-smbaseline ($CMP_N customers)"
SMD=$WORK/sm
mkdir -p "$SMD"
"$PYTHON" "$GENCONF" -n "$CMP_N" -o "$SMD/noquota.conf" --smpool "$SMD/smpool.txt" \
    --extra "$RG_NOQUOTA_LINE" --socketmap "inet:127.0.0.1:$P_SMPD" "${GEN_COMMON[@]}" || exit 1
"$PYTHON" "$GENCONF" -n "$CMP_N" -o "$SMD/quota.conf" -p "$SMD/pool.txt" \
    --socketmap "inet:127.0.0.1:$P_SMPD2" "${GEN_COMMON[@]}" || exit 1
sed -i "s|inet:127.0.0.1:$P_POLICYD\"|inet:127.0.0.1:$P_POLICYD2\"|" "$SMD/quota.conf"
cp "$SMD/smpool.txt" "$OUT/raw/smpool.txt"
{
    echo
    echo "## 4. Routing lookups (socketmap, $CMP_N customers, $(grep -c '^route ' "$SMD/noquota.conf") routes)"
    echo
} >>"$MD"

declare -A SM_SPEC SM_RPS SM_P50 SM_P99 SM_ERR SM_MIS
SM_SERVERS=()
"$SMBASELINE" -s "inet:127.0.0.1:$P_SMBASE" -d 1800 -q 2>"$OUT/raw/smbaseline.log" &
SMB_PID=$!
PIDS+=("$SMB_PID")
if "$SMLOAD" -s "inet:127.0.0.1:$P_SMBASE" -P 10 >/dev/null; then
    SM_SERVERS+=(baseline); SM_SPEC[baseline]=inet:127.0.0.1:$P_SMBASE
else
    skip "rg-smbaseline did not start"
fi
SM_PDS=()
if [ -x "$POLICYD" ] && pd_start "$SMD/noquota.conf" "$WORK/pd-sm.log" \
    && "$SMLOAD" -s "inet:127.0.0.1:$P_SMPD" -P 10 >/dev/null; then
    SM_SERVERS+=(relayguard); SM_SPEC[relayguard]=inet:127.0.0.1:$P_SMPD
    SM_PDS+=("$PD_PID")
else
    skip "relayguard-policyd with a socketmap listener did not start"; tail -5 "$WORK/pd-sm.log"
fi
PD_PID=
if [ "$REDIS_OK" = 1 ] && [ -x "$POLICYD" ]; then
    "$POLICYD" -f -c "$SMD/quota.conf" 2>>"$WORK/pd-sm2.log" &
    PIDS+=("$!")
    if wait_ready "inet:127.0.0.1:$P_POLICYD2" 60; then
        SM_PDS+=("$!"); SM_SPEC[relayguard+quotas]=inet:127.0.0.1:$P_SMPD2
    else
        skip "relayguard-policyd with quotas and a socketmap listener did not start"
    fi
fi

# a. lookups/s, the servers in turn within each round
for r in $(seq "$ROUNDS"); do
    for c in $CONCS; do
        for s in "${SM_SERVERS[@]}"; do
            if [ "$s" = baseline ]; then smload "$s-r$r" "${SM_SPEC[$s]}" "$c"
            else smload "$s-r$r" "${SM_SPEC[$s]}" "$c" -V; fi
            SM_RPS[$s,$c,$r]=$(field "$R" rps); SM_P50[$s,$c,$r]=$(field "$R" p50_us)
            SM_P99[$s,$c,$r]=$(field "$R" p99_us); SM_ERR[$s,$c,$r]=$(field "$R" errors)
            SM_MIS[$s,$c,$r]=$(field "$R" mismatch)
            note "   round $r $s c=$c: ${SM_RPS[$s,$c,$r]} lookups/s p50=${SM_P50[$s,$c,$r]}us p99=${SM_P99[$s,$c,$r]}us errors=${SM_ERR[$s,$c,$r]} mismatches=${SM_MIS[$s,$c,$r]}"
        done
    done
done
SM_ROWS=() SM_MISSED=
for s in "${SM_SERVERS[@]}"; do
    for c in $CONCS; do
        rs=() p5=() p9=() ra=() e=0 mis=0
        for r in $(seq "$ROUNDS"); do
            rs+=("${SM_RPS[$s,$c,$r]}"); p5+=("${SM_P50[$s,$c,$r]}"); p9+=("${SM_P99[$s,$c,$r]}")
            e=$((e + ${SM_ERR[$s,$c,$r]:-0})); mis=$((mis + ${SM_MIS[$s,$c,$r]:-0}))
            ra+=("$(per_round "${SM_RPS[$s,$c,$r]}" "${SM_RPS[baseline,$c,$r]:-0}")")
        done
        xb=$(median "${ra[@]}")
        [ "$s" = relayguard ] && awk -v x="$xb" -v t="$SM_TARGET" 'BEGIN { exit !(x < t) }' \
            && SM_MISSED="$SM_MISSED c=$c"
        [ "$s" = baseline ] && mis=-
        SM_ROWS+=("| $s | $c | $(median "${rs[@]}") | $(median "${p5[@]}") | $(median "${p9[@]}") | $e | $mis | $(ratio "$xb" 1) | $(range_of "${ra[@]}") |")
        note "   $s c=$c: median $(median "${rs[@]}") lookups/s, p99 $(median "${p9[@]}")us, x baseline $xb (rounds $(range_of "${ra[@]}"))"
    done
done

# b. policy decisions alone and beside socketmap load
declare -A SBS
SBS_ROWS=()
side_by_side() {    # side_by_side LABEL POLICY_SPEC POOL SM_SPEC_SAME
    local label=$1 pspec=$2 pool=$3 smsame=$4 r mode smspec f
    for r in $(seq "$ROUNDS"); do
        for mode in alone same control; do
            case $label in *quotas*) rcli flushall >/dev/null ;; esac
            if [ "$mode" != alone ]; then
                smspec=$smsame
                [ "$mode" = control ] && smspec=${SM_SPEC[baseline]:-}
                [ -n "$smspec" ] || continue
                f=$OUT/raw/smload-beside-$label-$mode-r$r.txt
                "$SMLOAD" -s "$smspec" -c "$SM_CONC" -d "$SECS" -w "$WARMUP" -t 10000 \
                    -p "$SMD/smpool.txt" >"$f" 2>&1 &
                SML_PID=$!
                PIDS+=("$SML_PID")
            fi
            load "beside-$label-$mode-r$r" "$pspec" "$SM_CONC" "$pool"
            SBS[$label,$mode,$r]=$(field "$R" rps); SBS[$label,$mode,p99,$r]=$(field "$R" p99_us)
            SBS[$label,$mode,err,$r]=$(field "$R" errors)
            if [ "$mode" != alone ]; then
                wait "$SML_PID" 2>/dev/null
                SBS[$label,$mode,sm,$r]=$(field "$(grep '^RESULT' "$f")" rps)
            fi
            note "   round $r $label policy c=$SM_CONC, socketmap load: $mode: ${SBS[$label,$mode,$r]} decisions/s p99=${SBS[$label,$mode,p99,$r]}us errors=${SBS[$label,$mode,err,$r]}${SBS[$label,$mode,sm,$r]:+, ${SBS[$label,$mode,sm,$r]} lookups/s meanwhile}"
        done
    done
    for mode in alone same control; do
        local rs=() p9=() ra=() sm=() e=0 what
        [ -n "${SBS[$label,$mode,1]:-}" ] || continue
        for r in $(seq "$ROUNDS"); do
            rs+=("${SBS[$label,$mode,$r]}"); p9+=("${SBS[$label,$mode,p99,$r]}")
            e=$((e + ${SBS[$label,$mode,err,$r]:-0}))
            ra+=("$(per_round "${SBS[$label,$mode,$r]}" "${SBS[$label,alone,$r]:-0}")")
            [ "$mode" != alone ] && sm+=("${SBS[$label,$mode,sm,$r]:-0}")
        done
        case $mode in
        alone) what="alone" ;;
        same) what="with $SM_CONC socketmap connections on the same daemon" ;;
        control) what="with $SM_CONC socketmap connections on rg-smbaseline (control)" ;;
        esac
        SBS_ROWS+=("| $label | $what | $(median "${rs[@]}") | $(median "${p9[@]}") | $e | $(ratio "$(median "${ra[@]}")" 1) | $(range_of "${ra[@]}") | $([ "$mode" = alone ] && echo - || median "${sm[@]}") |")
    done
}
[ -n "${SM_SPEC[relayguard]:-}" ] && side_by_side relayguard "inet:127.0.0.1:$P_POLICYD" "$CMP/pool.txt" "${SM_SPEC[relayguard]}"
[ -n "${SM_SPEC[relayguard+quotas]:-}" ] && side_by_side relayguard+quotas "inet:127.0.0.1:$P_POLICYD2" "$SMD/pool.txt" "${SM_SPEC[relayguard+quotas]}"

stop_pid "$SMB_PID"
for p in "${SM_PDS[@]}"; do PD_PID=$p PD_LOG=$WORK/pd-sm.log pd_stop; done
grep -v ' action=' "$WORK/pd-sm.log" 2>/dev/null | head -20 >"$OUT/raw/policyd-sm.log.head"
{
    echo "Lookups from gen-conf.py --smpool: 35% relayhost and 35% transport (senders of customers with an outbound route, a secure route or outbound_tls, active and inactive user gateway addresses, foreign senders, the null sender), 30% tls (every route's next hop, and unknown ones); about 40% are found. rg-smload keeps one lookup outstanding per connection, as Postfix's socketmap client does. relayguard: every answer was compared with the one gen-conf.py expects (mismatches). rg-smbaseline answers \`NOTFOUND \` to everything: the protocol ceiling. Both measured in turn, $ROUNDS rounds; × baseline is the median of the per-round ratios, with their range. Target: ≥ $SM_TARGET."
    echo
    echo "| server | conns | lookups/s | p50 µs | p99 µs | errors | mismatches | × baseline | × baseline, rounds |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${SM_ROWS[@]}"
    echo
    if [ -n "$SM_MISSED" ]; then
        echo "**Target of $SM_TARGET × baseline missed at$SM_MISSED.**"
    else
        echo "Target of $SM_TARGET × baseline met at every concurrency."
    fi
    echo
    echo "Policy decisions beside routing lookups: rg-loadgen ($SM_CONC connections, the request mix of part 1) alone, then with rg-smload ($SM_CONC connections) running at the same time against the same daemon's socketmap listener, then against rg-smbaseline instead: the control, which costs this machine's CPUs the same but shares nothing with the daemon. × alone: median of the per-round ratios, with their range."
    echo
    echo "| daemon | socketmap load | decisions/s | p99 µs | errors | × alone | × alone, rounds | lookups/s meanwhile |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${SBS_ROWS[@]}"
} >>"$MD"
