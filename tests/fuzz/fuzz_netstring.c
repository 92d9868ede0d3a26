/*
 * fuzz_netstring - libFuzzer target for policyd/netstring.c
 *
 * Arbitrary bytes as a socketmap connection's input: netstring_scan of the
 * whole input on an exact-size heap copy (ASan sees any over-read), and of
 * every prefix: a prefix of a good netstring is "incomplete", never an
 * error and never a different netstring; an error stays an error as more
 * bytes arrive; a found netstring has its payload inside the input, within
 * the cap, followed by its comma.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netstring.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char   *buf = malloc(size ? size : 1);
	const char *d = NULL, *why = NULL, *pd, *pwhy;
	size_t	dlen = 0, pdlen, i;
	long	n, pn;

	memcpy(buf, data, size);
	n = netstring_scan(buf, size, NETSTRING_MAX, &d, &dlen, &why);
	if (n > 0) {
		if ((size_t) n > size || dlen > NETSTRING_MAX || d < buf
		    || d + dlen + 1 != buf + n || buf[n - 1] != ',')
			abort();
	} else if (n < 0 && why == NULL) {
		abort();
	}
	for (i = 0; i < size && i < 12000; i += 1 + i / 64) {
		pn = netstring_scan(buf, i, NETSTRING_MAX, &pd, &pdlen, &pwhy);
		if (n > 0 && (size_t) n > i && pn != 0)
			abort();		/* a prefix of a good one is incomplete */
		if (n > 0 && (size_t) n <= i && pn != n)
			abort();
		if (pn < 0 && n >= 0)
			abort();		/* an error never heals */
	}
	free(buf);
	return (0);
}
