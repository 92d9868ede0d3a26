/*
 * metrics - lock-free counters and their Prometheus text (see metrics.h)
 *
 * SYNOPSIS
 *	See metrics.h.  The HTTP endpoint that serves the text is
 *	metrics_http.c.
 *
 * DESCRIPTION
 *	C11 atomics with relaxed ordering: a counter needs no ordering with
 *	anything else, only no lost update.  The Redis histogram keeps one
 *	count per bucket (not cumulative: one increment per call) and its sum
 *	in nanoseconds; the text makes the buckets cumulative.  The output
 *	is Prometheus' text exposition format 0.0.4, every family with its
 *	HELP and TYPE lines, series in a fixed order.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "metrics.h"

#define NCLASS		(RG_BACKEND_ERROR + 1)
#define NMAP		(METRICS_MAP_TLS + 1)
#define NLOOKUP		(METRICS_LOOKUP_ERROR + 1)
#define NREDIS		(METRICS_REDIS_TIMEOUT + 1)

/* Upper bounds in seconds; redis.timeout_ms is 100 by default. */
static const double metrics_le[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5 };
#define NLE		(sizeof(metrics_le) / sizeof(metrics_le[0]))

static const char *const metrics_map_names[NMAP] = { "relayhost", "transport", "tls" };
static const char *const metrics_lookup_names[NLOOKUP] = { "ok", "notfound", "error" };
static const char *const metrics_redis_names[NREDIS] = { "ok", "error", "timeout" };

typedef atomic_ullong counter;

static struct {
	counter	decisions[NCLASS];
	counter	lookups[NMAP][NLOOKUP];
	counter	redis[NREDIS];
	counter	redis_le[NLE + 1];	/* the last one is +Inf only */
	counter	redis_ns;		/* sum of the durations */
	atomic_long connections;
	atomic_ulong generation;
	counter	reloads_ok;
	counter	reloads_failed;
	atomic_llong last_load;		/* time(NULL) of the last good load */
} m;

static void
metrics_add(counter *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static unsigned long long
metrics_get(counter *c)
{
	return (atomic_load_explicit(c, memory_order_relaxed));
}

/* metrics_decision - count one final RCPT verdict */
void
metrics_decision(enum rg_class cls)
{
	if ((unsigned) cls < NCLASS)
		metrics_add(&m.decisions[cls]);
}

/* metrics_lookup - count one socketmap lookup and its result */
void
metrics_lookup(enum metrics_map map, enum metrics_lookup_result r)
{
	if ((unsigned) map < NMAP && (unsigned) r < NLOOKUP)
		metrics_add(&m.lookups[map][r]);
}

/* metrics_now - a monotonic clock in seconds, for metrics_redis_done() */
double
metrics_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double) ts.tv_sec + (double) ts.tv_nsec / 1e9);
}

/* metrics_redis_done - count one answered Redis call that began at t0 */
void
metrics_redis_done(double t0, enum metrics_redis r)
{
	double	d = metrics_now() - t0;
	size_t	i;

	if (d < 0)
		d = 0;
	for (i = 0; i < NLE && d > metrics_le[i]; i++)
		continue;
	metrics_add(&m.redis_le[i]);
	atomic_fetch_add_explicit(&m.redis_ns, (unsigned long long) (d * 1e9),
				  memory_order_relaxed);
	if ((unsigned) r < NREDIS)
		metrics_add(&m.redis[r]);
}

/* metrics_connections - a client connection opened (+1) or closed (-1) */
void
metrics_connections(int delta)
{
	atomic_fetch_add_explicit(&m.connections, delta, memory_order_relaxed);
}

/* metrics_config - a configuration was loaded, reloaded, or refused */
void
metrics_config(enum metrics_conf what, unsigned long generation)
{
	if (what == METRICS_CONF_FAILED) {
		metrics_add(&m.reloads_failed);
		return;
	}
	if (what == METRICS_CONF_RELOADED)
		metrics_add(&m.reloads_ok);
	atomic_store_explicit(&m.generation, generation, memory_order_relaxed);
	atomic_store_explicit(&m.last_load, (long long) time(NULL), memory_order_relaxed);
}

/* metrics_reset - every counter back to 0 (unit tests) */
void
metrics_reset(void)
{
	size_t	i, j;

	for (i = 0; i < NCLASS; i++)
		atomic_store(&m.decisions[i], 0);
	for (i = 0; i < NMAP; i++)
		for (j = 0; j < NLOOKUP; j++)
			atomic_store(&m.lookups[i][j], 0);
	for (i = 0; i < NREDIS; i++)
		atomic_store(&m.redis[i], 0);
	for (i = 0; i <= NLE; i++)
		atomic_store(&m.redis_le[i], 0);
	atomic_store(&m.redis_ns, 0);
	atomic_store(&m.connections, 0);
	atomic_store(&m.generation, 0);
	atomic_store(&m.reloads_ok, 0);
	atomic_store(&m.reloads_failed, 0);
	atomic_store(&m.last_load, 0);
}

/* The text so far; snprintf-like: len grows past cap when cut. */
struct metrics_out {
	char   *buf;
	size_t	cap;
	size_t	len;
};

static void __attribute__((format(printf, 2, 3)))
metrics_printf(struct metrics_out *o, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(o->len < o->cap ? o->buf + o->len : NULL,
		      o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t) n;
}

static void
metrics_family(struct metrics_out *o, const char *name, const char *type, const char *help)
{
	metrics_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metrics_histogram(struct metrics_out *o)
{
	const char *name = "relayguard_redis_call_duration_seconds";
	unsigned long long cum = 0;
	size_t	i;

	metrics_family(o, name, "histogram", "Time from sending a quota call to Redis to its answer.");
	for (i = 0; i <= NLE; i++) {
		cum += metrics_get(&m.redis_le[i]);
		if (i < NLE)
			metrics_printf(o, "%s_bucket{le=\"%g\"} %llu\n", name, metrics_le[i], cum);
		else
			metrics_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, cum);
	}
	metrics_printf(o, "%s_sum %.9f\n%s_count %llu\n", name,
		       (double) metrics_get(&m.redis_ns) / 1e9, name, cum);
}

/*
 * metrics_render - the text of GET /metrics into buf (always terminated
 * when len > 0); returns the length of the whole text
 */
size_t
metrics_render(char *buf, size_t len)
{
	struct metrics_out o = { buf, len, 0 };
	size_t	i, j;

	if (len > 0)
		buf[0] = 0;
	metrics_family(&o, "relayguard_decisions_total", "counter",
		       "RCPT decisions by verdict class.");
	for (i = 0; i < NCLASS; i++)
		metrics_printf(&o, "relayguard_decisions_total{verdict=\"%s\"} %llu\n",
			       relay_class_name((enum rg_class) i), metrics_get(&m.decisions[i]));
	metrics_family(&o, "relayguard_lookups_total", "counter",
		       "Socketmap lookups by map and result.");
	for (i = 0; i < NMAP; i++)
		for (j = 0; j < NLOOKUP; j++)
			metrics_printf(&o, "relayguard_lookups_total{map=\"%s\",result=\"%s\"} %llu\n",
				       metrics_map_names[i], metrics_lookup_names[j],
				       metrics_get(&m.lookups[i][j]));
	metrics_family(&o, "relayguard_redis_calls_total", "counter",
		       "Quota calls to Redis by result.");
	for (i = 0; i < NREDIS; i++)
		metrics_printf(&o, "relayguard_redis_calls_total{result=\"%s\"} %llu\n",
			       metrics_redis_names[i], metrics_get(&m.redis[i]));
	metrics_histogram(&o);
	metrics_family(&o, "relayguard_connections", "gauge", "Open client connections.");
	metrics_printf(&o, "relayguard_connections %ld\n",
		       atomic_load_explicit(&m.connections, memory_order_relaxed));
	metrics_family(&o, "relayguard_config_generation", "gauge",
		       "Generation of the running configuration; grows with each load.");
	metrics_printf(&o, "relayguard_config_generation %lu\n",
		       atomic_load_explicit(&m.generation, memory_order_relaxed));
	metrics_family(&o, "relayguard_config_reloads_total", "counter",
		       "Configuration reloads by result.");
	metrics_printf(&o, "relayguard_config_reloads_total{result=\"ok\"} %llu\n",
		       metrics_get(&m.reloads_ok));
	metrics_printf(&o, "relayguard_config_reloads_total{result=\"failed\"} %llu\n",
		       metrics_get(&m.reloads_failed));
	metrics_family(&o, "relayguard_config_last_reload_timestamp_seconds", "gauge",
		       "Unix time of the last successful configuration load.");
	metrics_printf(&o, "relayguard_config_last_reload_timestamp_seconds %lld\n",
		       atomic_load_explicit(&m.last_load, memory_order_relaxed));
	return (o.len);
}
