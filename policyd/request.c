/*
 * request - parse Postfix policy requests; find their end in a stream
 *
 * SYNOPSIS
 *	See request.h: policy_scan_init(), policy_scan(), policy_parse().
 *
 * DESCRIPTION
 *	policy_scan() is called with the whole unconsumed input each time more
 *	arrives and resumes where it stopped, so a request split over many
 *	reads costs one pass.  It returns the length of the first complete
 *	request (through its empty line), 0 for "more", or -1 when the partial
 *	line, the line count or the request size passes its cap — so a client
 *	can never make us buffer more than POLICY_REQ_MAX bytes.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

/* policy_scan_init - start scanning a new request */
void
policy_scan_init(struct policy_scan *s)
{
	memset(s, 0, sizeof(*s));
}

/* policy_scan - length of the first complete request in data, 0 or -1 */
long
policy_scan(struct policy_scan *s, const char *data, size_t len)
{
	const char *nl;

	while (s->pos < len) {
		nl = memchr(data + s->pos, '\n', len - s->pos);
		if (nl == NULL) {
			s->pos = len;
			break;
		}
		s->pos = (size_t) (nl - data) + 1;
		if (s->pos - 1 - s->line_start > POLICY_LINE_MAX)
			return (s->why = "line too long", POLICY_SCAN_ERROR);
		/* The empty line, "\n" or "\r\n" as policy_parse() reads it. */
		if (s->pos - 1 == s->line_start
		    || (s->pos - 2 == s->line_start && data[s->line_start] == '\r')) {
			if (s->pos > POLICY_REQ_MAX)
				return (s->why = "request too large", POLICY_SCAN_ERROR);
			return ((long) s->pos);
		}
		s->line_start = s->pos;
		if (++s->lines > POLICY_ATTR_MAX)
			return (s->why = "too many attributes", POLICY_SCAN_ERROR);
	}
	if (len - s->line_start > POLICY_LINE_MAX)
		return (s->why = "line too long", POLICY_SCAN_ERROR);
	if (len > POLICY_REQ_MAX)
		return (s->why = "request too large", POLICY_SCAN_ERROR);
	return (POLICY_SCAN_MORE);
}

static const struct {
	const char *name;
	size_t	len;
	size_t	offset;
} policy_attrs[] = {
#define A(n) { #n, sizeof(#n) - 1, offsetof(struct policy_req, n) }
	A(request), A(protocol_state), A(helo_name), A(queue_id), A(sender),
	A(recipient), A(recipient_count), A(client_address), A(instance),
	A(sasl_username), A(encryption_protocol),
#undef A
};

/* Attribute name bytes: a-z, 0-9, '_'. */
static const unsigned char policy_name_ok[256] = {
	['_'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
	['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
	['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
	['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

#define POLICY_NATTRS	(sizeof(policy_attrs) / sizeof(policy_attrs[0]))
#define POLICY_NAME_MAX	31		/* longer names are none of ours */
#define POLICY_SAME_LEN	3		/* most of ours with one length */

/*
 * Ours by name length, each list ended by -1 (the list of length 0, empty,
 * also serves names too long to be ours): Postfix sends 29 attributes,
 * most not ours, and most of those with a length none of ours has.  Built
 * once from policy_attrs.
 */
static signed char policy_by_len[POLICY_NAME_MAX + 1][POLICY_SAME_LEN + 1];
static pthread_once_t policy_by_len_once = PTHREAD_ONCE_INIT;

static void
policy_by_len_init(void)
{
	size_t	i, k;

	memset(policy_by_len, -1, sizeof(policy_by_len));
	for (i = 0; i < POLICY_NATTRS; i++) {
		for (k = 0; policy_by_len[policy_attrs[i].len][k] >= 0; k++)
			;
		/* A fourth name of one length would overrun: caught here. */
		if (k >= POLICY_SAME_LEN || policy_attrs[i].len > POLICY_NAME_MAX)
			abort();
		policy_by_len[policy_attrs[i].len][k] = (signed char) i;
	}
}

/*
 * policy_parse - split one complete request (as found by policy_scan) into
 * its attributes.  buf is modified: each '=' and '\n' becomes a NUL.
 */
int
policy_parse(char *buf, size_t len, struct policy_req *r, const char **why)
{
	char   *p = buf, *end = buf + len, *nl, *eq;
	const signed char *k;
	size_t	i, nlen;

	pthread_once(&policy_by_len_once, policy_by_len_init);
	for (i = 0; i < POLICY_NATTRS; i++)
		*(const char **) ((char *) r + policy_attrs[i].offset) = "";
	r->nattrs = 0;
	if (memchr(buf, 0, len) != NULL)
		return (*why = "NUL byte in request", -1);
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t) (end - p))) == NULL)
			return (*why = "request does not end with an empty line", -1);
		*nl = 0;
		if (nl > p && nl[-1] == '\r')
			nl[-1] = 0;			/* tolerate CRLF */
		if (*p == 0) {
			if (r->nattrs == 0)
				return (*why = "empty request", -1);
			return (nl + 1 == end ? 0 : (*why = "data after the empty line", -1));
		}
		if (nl - p > POLICY_LINE_MAX)
			return (*why = "line too long", -1);
		if (++r->nattrs > POLICY_ATTR_MAX)
			return (*why = "too many attributes", -1);
		/* The name runs to the first byte that cannot be in one. */
		for (eq = p; policy_name_ok[(unsigned char) *eq]; eq++)
			;
		if (*eq != '=')
			return (*why = strchr(eq, '=') ? "invalid attribute name"
				: "line without '='", -1);
		if (eq == p)
			return (*why = "invalid attribute name", -1);
		*eq = 0;
		nlen = (size_t) (eq - p);
		for (k = policy_by_len[nlen > POLICY_NAME_MAX ? 0 : nlen]; *k >= 0; k++) {
			if (memcmp(p, policy_attrs[*k].name, nlen) == 0) {
				*(const char **) ((char *) r + policy_attrs[*k].offset) = eq + 1;
				break;
			}
		}
		p = nl + 1;
	}
	return (*why = "request does not end with an empty line", -1);
}
