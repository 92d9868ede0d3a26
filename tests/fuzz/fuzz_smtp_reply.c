/*
 * fuzz_smtp_reply - libFuzzer target for ctl/smtpreply.c
 *
 * Arbitrary bytes as what an SMTP server sends relayguardctl tls-test:
 *  - smtp_reply_parse of the whole input on an exact-size heap copy (so
 *    ASan sees any over-read), then of every prefix the reader could have
 *    in its buffer as the input arrives byte by byte: a prefix either
 *    needs more input or gives the same verdict (same length, code, lines,
 *    or an error) as the whole, once it holds the whole reply;
 *  - a reply found never exceeds the caps, and its text is printable;
 *  - replies are read one after another, as the reader does, until the
 *    input is used up or rejected.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../ctl/ctl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_reply(const char *d, size_t size)
{
	struct smtp_reply r, p;
	size_t	i;
	int	n, k;

	n = smtp_reply_parse(d, size, &r);
	if (n < 0 && r.error == NULL)
		abort();
	if (n > 0) {
		if ((size_t) n > size || r.lines < 1 || r.lines > SMTP_REPLY_LINES_MAX
		    || r.code < 200 || r.code > 599 || d[n - 1] != '\n'
		    || (size_t) n > (size_t) SMTP_REPLY_LINE_MAX * SMTP_REPLY_LINES_MAX)
			abort();
		for (i = 0; r.text[i]; i++)
			if (!isprint((unsigned char) r.text[i]))
				abort();
	}
	/* byte-by-byte arrival: no verdict before the whole one, then the same */
	for (i = 0; i < size; i++) {
		k = smtp_reply_parse(d, i, &p);
		if (k == 0)
			continue;
		if (k != n || (k > 0 && (p.code != r.code || p.lines != r.lines
					 || p.starttls != r.starttls)))
			abort();
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char   *d = malloc(size ? size : 1);
	size_t	off = 0;
	struct smtp_reply r;
	int	n;

	if (d == NULL)
		return (0);
	memcpy(d, data, size);
	check_reply(d, size);
	while (off < size && (n = smtp_reply_parse(d + off, size - off, &r)) > 0)
		off += (size_t) n;
	free(d);
	return (0);
}
