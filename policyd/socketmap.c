/*
 * socketmap - Postfix socketmap lookups on relayguard-policyd's loop
 *
 * SYNOPSIS
 *	if (sm_process(conf, in, out) < 0) -- answered PERM: close after the write
 *
 * DESCRIPTION
 *	The maps relayhost, transport and tls of DESIGN 5.3 (common/route.c
 *	answers them from the configuration in force: no Redis, no wait).
 *	Every complete request in the input is answered in order, so
 *	pipelined requests get their replies in order.  A request is a
 *	netstring "name key" (split on the first space); a malformed one, or
 *	an empty one ("0:,"), is answered "PERM invalid request" and the
 *	connection is then closed; an unknown map gets "PERM unknown map".
 *	An answer is never "OK " with an empty value, which Postfix takes
 *	for an error.  The connection handling (caps, LRU, idle timeout) is
 *	server.c's, shared with the policy protocol.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "netstring.h"
#include "policyd.h"
#include "route.h"

static void
sm_reply(struct evbuffer *out, const char *status, const char *value)
{
	evbuffer_add_printf(out, "%zu:%s%s,", strlen(status) + strlen(value), status, value);
}

/* Count a lookup of one of the three maps (metrics: no other map name). */
static void
sm_count(const char *map, enum metrics_lookup_result r)
{
	static const char *const names[] = { "relayhost", "transport", "tls" };
	static const enum metrics_map maps[] = {
		METRICS_MAP_RELAYHOST, METRICS_MAP_TRANSPORT, METRICS_MAP_TLS
	};
	size_t	i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(map, names[i]) == 0)
			metrics_lookup(maps[i], r);
}

/* sm_answer - one request's reply; -1 when it is malformed */
static int
sm_answer(const struct rg_conf *c, const char *req, size_t len, struct evbuffer *out)
{
	const char *sp = memchr(req, ' ', len);
	char	map[32], value[ROUTE_VALUE_MAX];
	size_t	mlen;

	if (len == 0 || sp == NULL || sp == req) {
		sm_reply(out, "PERM ", "invalid request");
		return (-1);
	}
	mlen = (size_t) (sp - req);
	if (mlen >= sizeof(map)) {
		sm_reply(out, "PERM ", "unknown map");
		return (0);
	}
	memcpy(map, req, mlen);
	map[mlen] = 0;
	switch (route_lookup(c, map, sp + 1, len - mlen - 1, value, sizeof(value))) {
	case ROUTE_FOUND:
		sm_reply(out, "OK ", value);
		sm_count(map, METRICS_LOOKUP_OK);
		break;
	case ROUTE_NOTFOUND:
		sm_reply(out, "NOTFOUND ", "");
		sm_count(map, METRICS_LOOKUP_NOTFOUND);
		break;
	default:
		sm_reply(out, "PERM ", "unknown map");
		sm_count(map, METRICS_LOOKUP_ERROR);
		break;
	}
	return (0);
}

/* sm_process - answer every complete request of in, in order; see above */
int
sm_process(const struct rg_conf *c, struct evbuffer *in, struct evbuffer *out,
	   const char *peer)
{
	const char *data, *why;
	size_t	dlen, len;
	long	n;
	char   *buf;

	while ((len = evbuffer_get_length(in)) > 0) {
		buf = (char *) evbuffer_pullup(in, (ev_ssize_t) len);
		n = netstring_scan(buf, len, NETSTRING_MAX, &data, &dlen, &why);
		if (n == 0)
			return (0);
		if (n < 0) {
			msg_warn("%s: malformed socketmap request: %s; closing", peer, why);
			sm_reply(out, "PERM ", "invalid request");
			return (-1);
		}
		if (sm_answer(c, data, dlen, out) < 0) {
			msg_warn("%s: malformed socketmap request: %s; closing", peer,
				 dlen ? "no map name" : "empty");
			return (-1);
		}
		evbuffer_drain(in, (size_t) n);
	}
	return (0);
}
