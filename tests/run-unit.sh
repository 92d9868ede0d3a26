#!/bin/bash
# run-unit.sh BIN... - run cmocka unit test programs, sum their results.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
pass=0 fail=0 failed=""
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
	if [ $rc -ne 0 ] || [ -n "$f" ]; then
		printf '%s\n' "$out"
		failed="$failed $t"
		[ -z "$f" ] && fail=$((fail + 1))
	else
		echo "unit: $(basename "$t"): ${p:-0} passed"
	fi
done
echo "unit: $pass passed, $fail failed"
[ -n "${RG_SUMMARY:-}" ] && echo "unit $pass $fail" >>"$RG_SUMMARY"
[ -z "$failed" ] || { echo "unit: failing:$failed"; exit 1; }
