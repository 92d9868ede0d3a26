/*
 * netstring - strict netstring framing for the socketmap protocol
 *
 * SYNOPSIS
 *	const char *data, *why;
 *	size_t dlen;
 *	long n = netstring_scan(buf, len, NETSTRING_MAX, &data, &dlen, &why);
 *	n > 0	-- one netstring of n bytes; its payload is data[0..dlen)
 *	n == 0	-- incomplete: read more
 *	n < 0	-- malformed; why says how
 *
 * DESCRIPTION
 *	"N:payload," with N decimal: no sign, no blanks, no leading zero
 *	(only "0" itself starts with one), at most max; the comma is
 *	required.  A length over max or a non-digit is known bad from the
 *	first bytes, so a malformed stream is refused before it is buffered.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_NETSTRING_H
#define RG_NETSTRING_H

#include <stddef.h>

#define NETSTRING_MAX	10000		/* a socketmap request, as Postfix caps it */

long	netstring_scan(const char *buf, size_t len, size_t max, const char **data,
		size_t *dlen, const char **why);

#endif
