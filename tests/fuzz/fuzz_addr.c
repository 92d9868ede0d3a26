/*
 * fuzz_addr - libFuzzer target for addr_parse() (common/addr.c)
 *
 * Arbitrary bytes as an envelope address.  On success the result must
 * be self-consistent: the key is the text lowercased, the domain points
 * into the key just after its last '@' (or is "" for an address without
 * one), nothing is longer than RG_ADDR_MAX, no control byte survives, and
 * the canonical text parses again to itself.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct rg_addr *a)
{
	size_t	len = strlen(a->text), i;

	if (len > RG_ADDR_MAX || strlen(a->key) != len)
		abort();
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char) a->text[i];

		if (c < 0x20 || c == 0x7f)
			abort();
		if ((unsigned char) a->key[i] != (unsigned char) tolower(c))
			abort();
	}
	if (a->null) {
		if (len != 0 || a->domain == NULL || *a->domain != 0)
			abort();
		return;
	}
	if (len == 0)
		abort();
	/* The domain lies inside key: after the last '@', or at the end. */
	if (a->domain < a->key || a->domain > a->key + len)
		abort();
	if (*a->domain) {
		if (a->domain == a->key || a->domain[-1] != '@' || strchr(a->domain, '@'))
			abort();
		if (!domain_valid(a->domain))
			abort();
	} else if (a->domain != a->key + len) {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rg_addr a, b;
	const char *why = NULL;
	char   *in;

	if (size > 4096)
		return (0);
	in = malloc(size + 1);
	memcpy(in, data, size);
	in[size] = 0;
	if (addr_parse(in, &a, &why) == 0) {
		check(&a);
		/* The canonical form is a fixed point. */
		if (addr_parse(a.text, &b, &why) != 0)
			abort();
		check(&b);
		if (strcmp(a.text, b.text) != 0 || strcmp(a.key, b.key) != 0
		    || a.null != b.null || strcmp(a.domain, b.domain) != 0)
			abort();
	} else if (why == NULL || *why == 0) {
		abort();
	}
	free(in);
	return (0);
}
