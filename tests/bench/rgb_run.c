/*
 * rgb_run.c - run helpers for rg-loadgen and rg-smload: the request
 * generator's random numbers, numeric options, the descriptor limit and
 * the run's clock at its end.
 *
 * Errors: see rgb_run.h.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#define _POSIX_C_SOURCE 200809L
#include "rgb_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state = 88172645463325252ULL;

/* rgb_rng_seed - seed xorshift64*; 0 seeds from the time and the pid */
void rgb_rng_seed(uint64_t seed)
{
    rng_state ^= seed ? seed : (uint64_t) time(NULL) ^ ((uint64_t) getpid() << 32);
    if (rng_state == 0)
        rng_state = 1;
}

/* rgb_rng - the next pseudo-random number (xorshift64*) */
uint64_t rgb_rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

/* rgb_num_arg - option -OPT's value S, a number in [LO, HI], or exit 1 */
double rgb_num_arg(const char *prog, const char *s, double lo, double hi, int opt)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || *s == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "%s: -%c: expected a number in [%g, %g]\n", prog, opt, lo, hi);
        exit(1);
    }
    return v;
}

/* rgb_nofile - raise RLIMIT_NOFILE for CONNS sockets, as far as allowed */
void rgb_nofile(int conns)
{
    struct rlimit rl;
    rlim_t want = (rlim_t) conns + 16;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* rgb_stop_early - stop sending now, wait at most one more second */
void rgb_stop_early(uint64_t now, uint64_t t_meas, uint64_t *t_stop_send,
                    uint64_t *t_hard)
{
    if (*t_stop_send > now)
        *t_stop_send = now > t_meas ? now : t_meas;
    if (*t_hard > now + 1000000)
        *t_hard = now + 1000000;
}

/* rgb_elapsed - measured seconds (see rgb_run.h) */
double rgb_elapsed(uint64_t t_meas, uint64_t t_stop_send, uint64_t t_last,
                   int hit_limit)
{
    if (t_last < t_stop_send && !hit_limit)
        t_last = t_stop_send;
    return t_last > t_meas ? (double) (t_last - t_meas) / 1e6 : 0;
}
