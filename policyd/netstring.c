/*
 * netstring - strict netstring framing for the socketmap protocol
 *
 * SYNOPSIS
 *	See netstring.h.
 *
 * DESCRIPTION
 *	The parser decides from each prefix whether the bytes can still
 *	become a good netstring, so "incomplete" is only ever answered for a
 *	prefix of one: a client cannot make the daemon buffer a bad request.
 *	Pure: no allocation, no I/O; fuzzed by tests/fuzz/fuzz_netstring.c.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <string.h>

#include "netstring.h"

/* netstring_scan - one netstring at the start of buf; see netstring.h */
long
netstring_scan(const char *buf, size_t len, size_t max, const char **data, size_t *dlen,
	       const char **why)
{
	size_t	i, n = 0;

	for (i = 0; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
		if (i == 1 && buf[0] == '0') {
			*why = "leading zero in length";
			return (-1);
		}
		n = n * 10 + (size_t) (buf[i] - '0');
		if (n > max) {
			*why = "length over the limit";
			return (-1);
		}
	}
	if (i == len)
		return (0);
	if (i == 0 || buf[i] != ':') {
		*why = i == 0 ? "not a netstring" : "no ':' after the length";
		return (-1);
	}
	if (len < i + 1 + n + 1)
		return (0);
	if (buf[i + 1 + n] != ',') {
		*why = "no ',' after the data";
		return (-1);
	}
	*data = buf + i + 1;
	*dlen = n;
	return ((long) (i + 1 + n + 1));
}
