/*
 * metrics - the daemons' counters, in Prometheus' text format (DESIGN 7)
 *
 * SYNOPSIS
 *	metrics_decision(RG_ACCEPT);			-- a final RCPT verdict
 *	metrics_lookup(METRICS_MAP_TLS, METRICS_LOOKUP_NOTFOUND);
 *	double t0 = metrics_now();			-- a Redis call starts
 *	metrics_redis_done(t0, METRICS_REDIS_OK);	-- ... and is answered
 *	metrics_connections(+1);			-- a client connection opens
 *	metrics_config(METRICS_CONF_LOADED, conf->generation);
 *	n = metrics_render(buf, sizeof(buf));		-- the text of GET /metrics
 *
 *	-- the HTTP endpoint (metrics_http.c):
 *	fd = metrics_http_open("127.0.0.1:9465", err, sizeof(err));	-- as root
 *	h = metrics_http_start(base, fd);		-- on an existing loop
 *	metrics_http_thread(fd);			-- or on a thread of its own
 *	metrics_http_free(h);				-- before event_base_free()
 *
 * DESCRIPTION
 *	One set of counters per process.  Every update is one relaxed atomic
 *	operation, no lock: worker threads of the milter and policyd's loop
 *	count without waiting for each other or for a scrape.  A scrape reads
 *	each counter once; counters only grow, so a scrape taken while others
 *	count is a consistent-enough snapshot (a histogram's _count is the sum
 *	of its buckets as read, so it always equals its +Inf bucket).
 *
 *	Labels are fixed sets (verdict classes, map names, results): nothing
 *	a client sends, no customer, no address, ever becomes a label.
 *	Every series is rendered even at 0.
 *
 * DIAGNOSTICS
 *	metrics_render() returns the length it needed; a result >= the
 *	buffer's size means it was cut (METRICS_TEXT_MAX is always enough).
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_METRICS_H
#define RG_METRICS_H

#include <stddef.h>

#include "relay.h"

#define METRICS_TEXT_MAX	16384

enum metrics_map { METRICS_MAP_RELAYHOST, METRICS_MAP_TRANSPORT, METRICS_MAP_TLS };
enum metrics_lookup_result { METRICS_LOOKUP_OK, METRICS_LOOKUP_NOTFOUND, METRICS_LOOKUP_ERROR };
enum metrics_redis { METRICS_REDIS_OK, METRICS_REDIS_ERROR, METRICS_REDIS_TIMEOUT };
enum metrics_conf { METRICS_CONF_LOADED, METRICS_CONF_RELOADED, METRICS_CONF_FAILED };

void	metrics_decision(enum rg_class);
void	metrics_lookup(enum metrics_map, enum metrics_lookup_result);
double	metrics_now(void);
void	metrics_redis_done(double t0, enum metrics_redis);
void	metrics_connections(int delta);
void	metrics_config(enum metrics_conf, unsigned long generation);
size_t	metrics_render(char *buf, size_t len);
void	metrics_reset(void);		/* tests */

struct event_base;
struct metrics_http;

int	metrics_http_open(const char *hostport, char *err, size_t errlen);
struct metrics_http *metrics_http_start(struct event_base *, int fd);
void	metrics_http_thread(int fd);
void	metrics_http_free(struct metrics_http *);

#endif
