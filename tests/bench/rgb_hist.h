/*
 * rgb_hist.h - latency histogram shared by the relayguard load generators.
 *
 * Usage: rgb_hist_add(&h, microseconds) for each answered request, then
 * rgb_hist_pct(&h, 0.99) for a percentile, h.max, rgb_hist_mean(&h).
 * Log-linear buckets: exact below 128 us, then 64 steps per octave (a
 * percentile is at most 1/64 of its value high, never above the maximum).
 * A zeroed struct is an empty histogram.
 *
 * Errors: none; values past 2^41 us land in the last bucket.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RGB_HIST_H
#define RGB_HIST_H

#include <stdint.h>

#define RGB_H_SUB_BITS 6
#define RGB_H_SUB      (1u << RGB_H_SUB_BITS)
#define RGB_H_LINEAR   (2u * RGB_H_SUB)
#define RGB_H_MAXEXP   40
#define RGB_H_BUCKETS  (RGB_H_LINEAR + (RGB_H_MAXEXP - 7 + 1) * RGB_H_SUB)

struct rgb_hist {
    unsigned long long b[RGB_H_BUCKETS];
    unsigned long long n, max;
    double  sum;
};

/* rgb_hist_add - count one value (microseconds) */
void rgb_hist_add(struct rgb_hist *h, uint64_t v);

/* rgb_hist_pct - the p-quantile (0 < p <= 1); 0 when empty */
uint64_t rgb_hist_pct(const struct rgb_hist *h, double p);

/* rgb_hist_mean - the mean; 0 when empty */
double rgb_hist_mean(const struct rgb_hist *h);

#endif
