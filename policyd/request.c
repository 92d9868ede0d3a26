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

/*
 * policy_parse - split one complete request (as found by policy_scan) into
 * its attributes.  buf is modified: each '=' and '\n' becomes a NUL.
 */
int
policy_parse(char *buf, size_t len, struct policy_req *r, const char **why)
{
	char   *p = buf, *end = buf + len, *nl, *eq, *q;
	size_t	i, nlen;

	for (i = 0; i < sizeof(policy_attrs) / sizeof(policy_attrs[0]); i++)
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
		if ((eq = strchr(p, '=')) == NULL)
			return (*why = "line without '='", -1);
		if (eq == p)
			return (*why = "invalid attribute name", -1);
		for (q = p; q < eq; q++)
			if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_'))
				return (*why = "invalid attribute name", -1);
		*eq = 0;
		/* Most of Postfix's 29 attributes are not ours: compare length first. */
		nlen = (size_t) (eq - p);
		for (i = 0; i < sizeof(policy_attrs) / sizeof(policy_attrs[0]); i++) {
			if (policy_attrs[i].len == nlen && policy_attrs[i].name[0] == p[0]
			    && memcmp(p, policy_attrs[i].name, nlen) == 0) {
				*(const char **) ((char *) r + policy_attrs[i].offset) = eq + 1;
				break;
			}
		}
		p = nl + 1;
	}
	return (*why = "request does not end with an empty line", -1);
}
