# tests/bench/bench.mk - benchmark tools and the "bench" target.
#
# Included by the top Makefile. Builds tests/bench/rg-loadgen (policy
# protocol load generator), tests/bench/rg-baseline (trivial policy
# server), tests/bench/rg-nullmilter (a libmilter filter that decides
# nothing), tests/bench/rg-smload (socketmap load generator) and
# tests/bench/rg-smbaseline (trivial socketmap server), and "make bench" runs tests/bench/run.sh (about 10 minutes at
# most; results in tests/bench/out/). Uses only CC, CFLAGS and LDFLAGS
# from the including Makefile; libevent comes from pkg-config.
# Errors: a missing libevent makes the link fail with pkg-config's message.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

BENCH_DIR    := tests/bench
BENCH_WARN   := -std=c99 -Wall -Wextra -Wstrict-prototypes -Wwrite-strings
BENCH_CFLAGS := $(BENCH_WARN) $(shell pkg-config --cflags libevent 2>/dev/null)
BENCH_LIBS   := $(shell pkg-config --libs libevent 2>/dev/null || echo -levent)
BENCH_TOOLS  := $(BENCH_DIR)/rg-loadgen $(BENCH_DIR)/rg-baseline $(BENCH_DIR)/rg-nullmilter \
                $(BENCH_DIR)/rg-smload $(BENCH_DIR)/rg-smbaseline
BENCH_RUN    := $(BENCH_DIR)/rgb_hist.c $(BENCH_DIR)/rgb_hist.h $(BENCH_DIR)/rgb_run.c $(BENCH_DIR)/rgb_run.h

$(BENCH_DIR)/rg-loadgen: $(BENCH_DIR)/rg-loadgen.c $(BENCH_DIR)/rgb_sock.c $(BENCH_DIR)/rgb_sock.h $(BENCH_RUN)
	$(CC) $(CFLAGS) $(BENCH_CFLAGS) -o $@ $(BENCH_DIR)/rg-loadgen.c $(BENCH_DIR)/rgb_sock.c $(BENCH_DIR)/rgb_hist.c $(BENCH_DIR)/rgb_run.c $(LDFLAGS) $(BENCH_LIBS)

$(BENCH_DIR)/rg-smload: $(BENCH_DIR)/rg-smload.c $(BENCH_DIR)/rgb_sock.c $(BENCH_DIR)/rgb_sock.h $(BENCH_RUN)
	$(CC) $(CFLAGS) $(BENCH_CFLAGS) -o $@ $(BENCH_DIR)/rg-smload.c $(BENCH_DIR)/rgb_sock.c $(BENCH_DIR)/rgb_hist.c $(BENCH_DIR)/rgb_run.c $(LDFLAGS) $(BENCH_LIBS)

$(BENCH_DIR)/rg-smbaseline: $(BENCH_DIR)/rg-smbaseline.c $(BENCH_DIR)/rgb_sock.c $(BENCH_DIR)/rgb_sock.h
	$(CC) $(CFLAGS) $(BENCH_CFLAGS) -o $@ $(BENCH_DIR)/rg-smbaseline.c $(BENCH_DIR)/rgb_sock.c $(LDFLAGS) $(BENCH_LIBS)

$(BENCH_DIR)/rg-baseline: $(BENCH_DIR)/rg-baseline.c $(BENCH_DIR)/rgb_sock.c $(BENCH_DIR)/rgb_sock.h
	$(CC) $(CFLAGS) $(BENCH_CFLAGS) -o $@ $(BENCH_DIR)/rg-baseline.c $(BENCH_DIR)/rgb_sock.c $(LDFLAGS) $(BENCH_LIBS)

$(BENCH_DIR)/rg-nullmilter: $(BENCH_DIR)/rg-nullmilter.c
	$(CC) $(CFLAGS) $(BENCH_WARN) -o $@ $(BENCH_DIR)/rg-nullmilter.c $(LDFLAGS) -lmilter -pthread

.PHONY: bench bench-run bench-tools bench-selftest bench-clean
bench-tools: $(BENCH_TOOLS)

# Packages first (the peers too: postfwd), then the build, then the run.
bench:
	@contrib/install-deps.sh --bench
	@$(MAKE) --no-print-directory bench-run

bench-run: $(BENCH_TOOLS) policyd/relayguard-policyd milter/relayguard-milter ctl/relayguardctl
	bash $(BENCH_DIR)/run.sh

bench-selftest: $(BENCH_TOOLS)
	bash $(BENCH_DIR)/selftest.sh

bench-clean:
	rm -f $(BENCH_TOOLS)
	rm -rf $(BENCH_DIR)/out
