/*
 * fuzz_policy_request - libFuzzer target for policyd/request.c
 *
 * Arbitrary bytes as the input stream of one policy connection:
 *  - policy_scan over the whole input, and again as the input arrives in
 *    chunks of pseudo-random sizes (derived from the input) and byte by
 *    byte: the three must find the same end, or the same error;
 *  - when the scanner finds an end, policy_parse of exactly that request
 *    must not complain about framing, and its attributes must lie inside
 *    the request;
 *  - policy_parse of the whole input on an exact-size heap copy (so ASan
 *    sees any over-read); when it accepts an input within the size cap,
 *    the scanner must find that same request (else the daemon would never
 *    hand it to the parser).
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long
scan_chunks(const char *d, size_t size, uint32_t seed, int bytewise)
{
	struct policy_scan s;
	size_t	have = 0;
	long	n = POLICY_SCAN_MORE;

	policy_scan_init(&s);
	while (have < size) {
		size_t	step = 1;

		if (!bytewise) {
			seed = seed * 1103515245u + 12345u;
			step = 1 + (seed >> 16) % 97;
		}
		have = have + step < size ? have + step : size;
		n = policy_scan(&s, d, have);
		if (n != POLICY_SCAN_MORE) {
			if (n == POLICY_SCAN_ERROR && (s.why == NULL || *s.why == 0))
				abort();
			break;
		}
	}
	return (n);
}

static void
check_req(const struct policy_req *r, const char *buf, size_t len)
{
	const char *const *f = &r->request;
	size_t	i, nf = (sizeof(*r) - sizeof(r->nattrs)) / sizeof(char *);

	if (r->nattrs < 1 || r->nattrs > POLICY_ATTR_MAX)
		abort();
	for (i = 0; i < nf; i++) {
		const char *v = f[i];

		if (v == NULL)
			abort();
		if (*v == 0)
			continue;
		if (v < buf || v >= buf + len || strlen(v) > POLICY_LINE_MAX
		    || memchr(v, '\n', strlen(v)) != NULL)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *) data;
	struct policy_scan s;
	struct policy_req r;
	const char *why;
	uint32_t seed = 2166136261u;
	long	whole, chunked, bytewise;
	size_t	i;
	char   *buf;
	int	rc;

	for (i = 0; i < size && i < 64; i++)
		seed = (seed ^ data[i]) * 16777619u;

	policy_scan_init(&s);
	whole = policy_scan(&s, d, size);
	if (whole > (long) size || whole < POLICY_SCAN_ERROR)
		abort();
	chunked = scan_chunks(d, size, seed, 0);
	bytewise = scan_chunks(d, size, seed, 1);
	if (chunked != whole || bytewise != whole)
		abort();

	if (whole > 0) {
		/* The request the daemon would parse: bytes [0, whole). */
		buf = malloc((size_t) whole);
		memcpy(buf, d, (size_t) whole);
		why = NULL;
		rc = policy_parse(buf, (size_t) whole, &r, &why);
		if (rc == 0)
			check_req(&r, buf, (size_t) whole);
		else if (why == NULL
			 || strcmp(why, "request does not end with an empty line") == 0
			 || strcmp(why, "data after the empty line") == 0)
			abort();
		free(buf);
	}

	/* The parser alone on arbitrary bytes. */
	buf = malloc(size ? size : 1);
	memcpy(buf, d, size);
	why = NULL;
	rc = policy_parse(buf, size, &r, &why);
	if (rc == 0) {
		check_req(&r, buf, size);
		if (size <= POLICY_REQ_MAX && whole != (long) size)
			abort();
	} else if (rc != -1 || why == NULL) {
		abort();
	}
	free(buf);
	return (0);
}
