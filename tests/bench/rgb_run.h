/*
 * rgb_run.h - run helpers shared by the relayguard load generators.
 *
 * Usage: rgb_rng_seed(seed or 0) then rgb_rng() for requests drawn from a
 * pool; rgb_num_arg() for a numeric option; rgb_nofile(conns) before
 * opening the connections; rgb_stop_early() from a SIGTERM handler;
 * rgb_elapsed() for the measured seconds at the end.
 *
 * Errors: rgb_num_arg() exits 1 with "PROG: -X: expected a number in
 * [LO, HI]"; the others cannot fail (rgb_nofile keeps the limit it gets).
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RGB_RUN_H
#define RGB_RUN_H

#include <stdint.h>

/* rgb_rng_seed - seed xorshift64*; 0 seeds from the time and the pid */
void rgb_rng_seed(uint64_t seed);

/* rgb_rng - the next pseudo-random number */
uint64_t rgb_rng(void);

/* rgb_num_arg - option -OPT's value S, a number in [LO, HI], or exit 1 */
double rgb_num_arg(const char *prog, const char *s, double lo, double hi, int opt);

/* rgb_nofile - raise RLIMIT_NOFILE for CONNS sockets, as far as allowed */
void rgb_nofile(int conns);

/* rgb_stop_early - a signal: stop sending now (not before the warm-up
 * ends), and wait at most one more second for answers */
void rgb_stop_early(uint64_t now, uint64_t t_meas, uint64_t *t_stop_send,
                    uint64_t *t_hard);

/* rgb_elapsed - measured seconds: until the last answer, or until the
 * planned end when the run was not cut short by its request limit */
double rgb_elapsed(uint64_t t_meas, uint64_t t_stop_send, uint64_t t_last,
                   int hit_limit);

#endif
