#!/bin/bash
# run-integration.sh [PATTERN] - run tests/integration/t-*.sh (real Redis,
# Postfix, miltertest); each prints TAP and "N passed, N failed".
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
cd "$(dirname "$0")/.." || exit 1
pat=${1:-t-*.sh}
pass=0 fail=0 failed=""
for t in tests/integration/$pat; do
	[ -x "$t" ] || continue
	log=$(mktemp)
	start=$(date +%s)
	timeout 600 "$t" >"$log" 2>&1; rc=$?
	p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log" | tail -1)
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
	if [ $rc -ne 0 ]; then
		cat "$log"
		[ "${f:-0}" = 0 ] && fail=$((fail + 1))
		failed="$failed $(basename "$t")"
		echo "integration: $(basename "$t"): FAILED (exit $rc)"
	else
		echo "integration: $(basename "$t"): ${p:-0} passed ($(( $(date +%s) - start ))s)"
	fi
	rm -f "$log"
done
echo "integration: $pass passed, $fail failed"
[ -n "${RG_SUMMARY:-}" ] && echo "integration $pass $fail" >>"$RG_SUMMARY"
[ -z "$failed" ] || { echo "integration: failing:$failed"; exit 1; }
