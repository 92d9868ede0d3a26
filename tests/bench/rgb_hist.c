/*
 * rgb_hist.c - latency histogram for rg-loadgen and rg-smload.
 *
 * Buckets: values below RGB_H_LINEAR each have their own; above, every
 * octave [2^e, 2^(e+1)) is split into RGB_H_SUB equal steps. A percentile
 * is the upper bound of the bucket holding its rank, capped at the maximum.
 *
 * Errors: none (see rgb_hist.h).
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include "rgb_hist.h"

static unsigned hist_index(uint64_t v)
{
    unsigned e = 0;
    uint64_t t;

    if (v < RGB_H_LINEAR)
        return (unsigned) v;
    for (t = v; t > 1; t >>= 1)
        e++;
    if (e > RGB_H_MAXEXP) {
        e = RGB_H_MAXEXP;
        v = (1ULL << (e + 1)) - 1;
    }
    return RGB_H_LINEAR + (e - 7) * RGB_H_SUB
        + (unsigned) ((v >> (e - RGB_H_SUB_BITS)) & (RGB_H_SUB - 1));
}

static uint64_t hist_high(unsigned i)
{
    unsigned k, e, s;

    if (i < RGB_H_LINEAR)
        return i;
    k = i - RGB_H_LINEAR;
    e = 7 + k / RGB_H_SUB;
    s = k % RGB_H_SUB;
    return (1ULL << e) + ((uint64_t) (s + 1) << (e - RGB_H_SUB_BITS)) - 1;
}

/* rgb_hist_add - count one value (microseconds) */
void rgb_hist_add(struct rgb_hist *h, uint64_t v)
{
    h->b[hist_index(v)]++;
    h->n++;
    h->sum += (double) v;
    if (v > h->max)
        h->max = v;
}

/* rgb_hist_pct - the p-quantile (0 < p <= 1); 0 when empty */
uint64_t rgb_hist_pct(const struct rgb_hist *h, double p)
{
    unsigned long long rank, cum = 0;
    unsigned i;

    if (h->n == 0)
        return 0;
    rank = (unsigned long long) (p * (double) h->n + 0.999999);
    if (rank < 1)
        rank = 1;
    for (i = 0; i < RGB_H_BUCKETS; i++) {
        cum += h->b[i];
        if (cum >= rank)
            return hist_high(i) < h->max ? hist_high(i) : h->max;
    }
    return h->max;
}

/* rgb_hist_mean - the mean; 0 when empty */
double rgb_hist_mean(const struct rgb_hist *h)
{
    return h->n ? h->sum / (double) h->n : 0.0;
}
