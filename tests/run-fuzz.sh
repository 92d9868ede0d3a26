#!/bin/bash
# run-fuzz.sh SECONDS BIN... - run each libFuzzer target for SECONDS under
# ASan+UBSan, starting from its seed corpus in tests/fuzz/corpus/NAME.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
secs=$1; shift
pass=0 fail=0
for f in "$@"; do
	name=$(basename "$f")
	seeds=tests/fuzz/corpus/${name#fuzz_}
	work=$(mktemp -d)
	[ -d "$seeds" ] && cp -r "$seeds"/. "$work"/ 2>/dev/null
	if "$f" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=1024 -timeout=10 \
		-artifact_prefix="$work/" "$work" >"$work.log" 2>&1; then
		echo "fuzz: $name: $(grep -o 'Done [0-9]* runs' "$work.log" | tail -1)"
		pass=$((pass + 1))
	else
		tail -40 "$work.log"
		echo "fuzz: $name: FAILED (artifacts in $work)"
		fail=$((fail + 1))
		continue
	fi
	rm -rf "$work" "$work.log"
done
echo "fuzz: $pass passed, $fail failed"
[ -n "${RG_SUMMARY:-}" ] && echo "fuzz $pass $fail" >>"$RG_SUMMARY"
[ $fail -eq 0 ]
