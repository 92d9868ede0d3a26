# relayguard - top-level Makefile
#
#   make            build the three programs in the tree
#   make check      install missing Debian packages, build, run every test
#   make run        install missing packages, build, run the suite on the
#                   sample config against a private Redis
#   make fuzz       run each libFuzzer target longer (FUZZ_SECONDS, default 60)
#   make bench      benchmarks (tests/bench/run.sh)
#   make install    programs into PREFIX/sbin, man pages, the sample config
#                   into SYSCONFDIR/relayguard when absent (DESTDIR honoured)
#   make uninstall  remove what install put, except the config
#   make hiredis12  build and run the quota tests against Debian 13's hiredis 1.2
#   WERROR=1        turn warnings into errors
#   B=DIR BINDIR=DIR/  objects and programs elsewhere (another build)
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

CC       ?= cc
CLANG    ?= clang
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
WARN      = -Wall -Wextra -Wstrict-prototypes -Wwrite-strings -Wmissing-prototypes \
	    -Wshadow -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN     += -Werror
endif
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -Icommon -pthread
LIBS      = -lconfuse -lcidr -lhiredis -levent -levent_pthreads -lssl -lcrypto -lresolv -pthread
MILTER_LIBS = -lmilter

B         = build
BINDIR    =
COMMON_SRC = $(wildcard common/*.c)
COMMON_OBJ = $(COMMON_SRC:%.c=$(B)/%.o)
LIBRG     = $(B)/librelayguard.a
POLICYD_SRC = $(wildcard policyd/*.c)
POLICYD_OBJ = $(POLICYD_SRC:%.c=$(B)/%.o)
CTL_SRC   = $(wildcard ctl/*.c)
CTL_OBJ   = $(CTL_SRC:%.c=$(B)/%.o)
MILTER_SRC = $(wildcard milter/*.c)
MILTER_OBJ = $(MILTER_SRC:%.c=$(B)/%.o)

PROGS     = $(BINDIR)policyd/relayguard-policyd $(BINDIR)ctl/relayguardctl
ifneq ($(MILTER_SRC),)
PROGS    += $(BINDIR)milter/relayguard-milter
endif

.PHONY: all check run fuzz bench deps unit unit-asan fuzz-smoke integration hiredis12 clean manlint
.PHONY: install uninstall
.SECONDARY:
all: $(PROGS)

$(B)/%.o: %.c $(wildcard common/*.h policyd/*.h milter/*.h ctl/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBRG): $(COMMON_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BINDIR)policyd/relayguard-policyd: $(POLICYD_OBJ) $(LIBRG)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(POLICYD_OBJ) $(LIBRG) $(LIBS)

$(BINDIR)ctl/relayguardctl: $(CTL_OBJ) $(LIBRG)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CTL_OBJ) $(LIBRG) $(LIBS)

$(BINDIR)milter/relayguard-milter: $(MILTER_OBJ) $(LIBRG)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(MILTER_OBJ) $(LIBRG) $(MILTER_LIBS) $(LIBS)

# --- unit tests (cmocka), plain and under ASan+UBSan -------------------
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BIN  = $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)
SAN       = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
UNIT_ASAN = $(UNIT_SRC:tests/unit/%.c=$(B)/unit-asan/%)
COMMON_ASAN_OBJ = $(COMMON_SRC:%.c=$(B)/asan/%.o)

$(B)/unit/%: tests/unit/%.c $(LIBRG) $(wildcard tests/unit/*.h) $(wildcard policyd/*.c policyd/*.h ctl/*.c ctl/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $< $(LIBRG) -lcmocka $(LIBS)

$(B)/asan/%.o: %.c $(wildcard common/*.h policyd/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) -std=gnu11 -g -O1 $(SAN) -D_GNU_SOURCE -Icommon -pthread -c -o $@ $<

$(B)/unit-asan/%: tests/unit/%.c $(COMMON_ASAN_OBJ) $(wildcard tests/unit/*.h) $(wildcard policyd/*.c policyd/*.h ctl/*.c ctl/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) -std=gnu11 -g -O1 $(SAN) -D_GNU_SOURCE -Icommon -Itests/unit -pthread \
		-o $@ $< $(COMMON_ASAN_OBJ) -lcmocka $(LIBS)

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

unit-asan: $(UNIT_ASAN)
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 tests/run-unit.sh $(UNIT_ASAN)

# relayguard-policyd under ASan+UBSan, for the integration tests
ASAN_POLICYD = $(B)/asan-bin/relayguard-policyd

$(ASAN_POLICYD): $(POLICYD_SRC:%.c=$(B)/asan/%.o) $(COMMON_ASAN_OBJ)
	@mkdir -p $(dir $@)
	$(CLANG) -g $(SAN) -pthread -o $@ $^ $(LIBS)

# --- libFuzzer targets -------------------------------------------------
FUZZ_SRC  = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  = $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_EXTRA = $(filter-out policyd/main.c,$(wildcard policyd/request.c policyd/socketmap.c policyd/netstring.c)) ctl/smtpreply.c
FUZZ_SECONDS ?= 60

$(B)/fuzz/%: tests/fuzz/%.c $(COMMON_SRC) $(FUZZ_EXTRA) $(wildcard common/*.h policyd/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-D_GNU_SOURCE -Icommon -Ipolicyd -pthread -o $@ $< $(COMMON_SRC) $(FUZZ_EXTRA) $(LIBS)

fuzz-smoke: $(FUZZ_BIN)
	@tests/run-fuzz.sh 15 $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@tests/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

# --- integration tests with real components ---------------------------
integration: $(PROGS) $(ASAN_POLICYD)
	@tests/run-integration.sh

# The quota tests against hiredis 1.2, fetched from Debian 13 into build/.
hiredis12:
	@tests/hiredis12.sh

deps:
	@contrib/install-deps.sh

check: deps
	@$(MAKE) --no-print-directory all
	@rm -f $(B)/check-summary
	@RG_SUMMARY=$(CURDIR)/$(B)/check-summary $(MAKE) --no-print-directory -k unit unit-asan fuzz-smoke integration hiredis12; \
	  rc=$$?; awk '{p += $$2; f += $$3} END {print "check: " p " passed, " f " failed"}' $(B)/check-summary; \
	  exit $$rc

run: deps
	@$(MAKE) --no-print-directory all
	@tests/run-sample.sh

# --- install (PREFIX default /usr/local; DESTDIR for staging) ----------
PREFIX   ?= /usr/local
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
ifeq ($(PREFIX),/usr)
SYSCONFDIR ?= /etc
else
SYSCONFDIR ?= $(PREFIX)/etc
endif
SAMPLE_CONF ?= conf/relayguard.conf
INSTALL  ?= install
MAN5     = man/relayguard.conf.5
MAN8     = $(wildcard man/*.8)

install: $(PROGS)
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSCONFDIR)/relayguard
	$(INSTALL) -m 0755 $(PROGS) $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/relayguard/relayguard.conf ]; then \
		echo "install: keeping $(DESTDIR)$(SYSCONFDIR)/relayguard/relayguard.conf"; \
	else \
		echo "$(INSTALL) -m 0644 $(SAMPLE_CONF) $(DESTDIR)$(SYSCONFDIR)/relayguard/relayguard.conf"; \
		$(INSTALL) -m 0644 $(SAMPLE_CONF) $(DESTDIR)$(SYSCONFDIR)/relayguard/relayguard.conf; \
	fi

uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(notdir $(PROGS)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8)))
	@echo "uninstall: $(DESTDIR)$(SYSCONFDIR)/relayguard/relayguard.conf left in place"

manlint:
	@for m in man/*.[58]; do mandoc -Tlint -Wwarning $$m || exit 1; done

clean:
	rm -rf $(B) $(PROGS)

-include tests/bench/bench.mk
