/*
 * request - Postfix policy delegation requests (SMTPD_POLICY_README)
 *
 * SYNOPSIS
 *	struct policy_req r;
 *	const char *why;
 *	if (policy_parse(buf, len, &r, &why) < 0) -- malformed: log why, close
 *	r.protocol_state, r.sender, ... -- point into buf (NUL-terminated in place)
 *	policy_scan(&scan, data, len) -- find the end of a request in a stream
 *
 * DESCRIPTION
 *	A request is name=value lines ending with an empty line.  Unknown
 *	attributes are ignored, as the protocol requires; absent ones read
 *	as "".  Every input is capped: POLICY_LINE_MAX bytes a line (a partial
 *	line counts), POLICY_ATTR_MAX lines, POLICY_REQ_MAX bytes a request.
 *
 * DIAGNOSTICS
 *	policy_parse() returns -1 with a static reason for a line without
 *	'=', a bad attribute name, a NUL byte or a cap exceeded.
 *	policy_scan() returns POLICY_SCAN_ERROR with scan->why when a cap is
 *	exceeded before the request ends.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_REQUEST_H
#define RG_REQUEST_H

#include <stddef.h>

#define POLICY_LINE_MAX		4096
#define POLICY_ATTR_MAX		128
#define POLICY_REQ_MAX		32768

struct policy_req {
	const char *request;
	const char *protocol_state;
	const char *helo_name;
	const char *queue_id;
	const char *sender;
	const char *recipient;
	const char *recipient_count;
	const char *client_address;
	const char *instance;
	const char *sasl_username;
	const char *encryption_protocol;
	int	nattrs;
};

int	policy_parse(char *buf, size_t len, struct policy_req *, const char **why);

/* Incremental end-of-request search over a growing input buffer. */
struct policy_scan {
	size_t	pos;			/* bytes already examined */
	size_t	line_start;		/* offset of the current line */
	int	lines;
	const char *why;
};

#define POLICY_SCAN_MORE	0	/* need more input */
#define POLICY_SCAN_ERROR	(-1)

void	policy_scan_init(struct policy_scan *);
long	policy_scan(struct policy_scan *, const char *data, size_t len);

#endif
