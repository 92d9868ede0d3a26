/*
 * smtpreply - read one SMTP reply, within caps
 *
 * SYNOPSIS
 *	struct smtp_reply r;
 *	n = smtp_reply_parse(buf, len, &r);
 *	smtp_text_copy(dst, sizeof(dst), text, textlen);
 *
 * DESCRIPTION
 *	The reply reader of relayguardctl tls-test, apart so that the fuzzer
 *	can call it.  A reply is lines "NNN-text" ending with "NNN text" (or
 *	"NNN"), CRLF or LF; at most SMTP_REPLY_LINES_MAX lines of at most
 *	SMTP_REPLY_LINE_MAX bytes each.  It keeps the code, the line count,
 *	the first line (control bytes masked) and whether a line after the
 *	first announces STARTTLS (an EHLO reply).
 *
 * DIAGNOSTICS
 *	smtp_reply_parse returns the bytes of the reply, 0 when the input
 *	ends before the reply does, -1 with r->error when it cannot be one.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"

static int
smtp_line_code(const char *l, size_t n)
{
	if (n < 3 || l[0] < '2' || l[0] > '5' || !isdigit((unsigned char) l[1])
	    || !isdigit((unsigned char) l[2]) || (n > 3 && l[3] != ' ' && l[3] != '-'))
		return (-1);
	return ((l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0'));
}

/* smtp_text_copy - printable copy of server text, control bytes as '?' */
void
smtp_text_copy(char *dst, size_t size, const char *src, size_t n)
{
	size_t	i;

	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++)
		dst[i] = isprint((unsigned char) src[i]) ? src[i] : '?';
	dst[n] = 0;
}

/*
 * smtp_reply_parse - one complete reply at the start of buf: returns the
 * bytes it takes, 0 when more input is needed, -1 (r->error) when the
 * input cannot be a reply: a line without its end within
 * SMTP_REPLY_LINE_MAX bytes, more than SMTP_REPLY_LINES_MAX lines, a line
 * that does not start with a code, codes that differ.
 */
int
smtp_reply_parse(const char *buf, size_t len, struct smtp_reply *r)
{
	size_t	pos = 0;

	memset(r, 0, sizeof(*r));
	for (;;) {
		size_t	avail = len - pos, n;
		const char *l = buf + pos, *nl;
		int	code;

		if (r->lines == SMTP_REPLY_LINES_MAX) {
			r->error = "too many reply lines";
			return (-1);
		}
		nl = memchr(l, '\n', avail < SMTP_REPLY_LINE_MAX ? avail : SMTP_REPLY_LINE_MAX);
		if (nl == NULL) {
			if (avail < SMTP_REPLY_LINE_MAX)
				return (0);
			r->error = "reply line too long";
			return (-1);
		}
		n = (size_t) (nl - l);
		if (n > 0 && l[n - 1] == '\r')
			n--;
		if ((code = smtp_line_code(l, n)) < 0) {
			r->error = "not an SMTP reply";
			return (-1);
		}
		if (r->lines == 0) {
			r->code = code;
			smtp_text_copy(r->text, sizeof(r->text), l, n);
		} else if (code != r->code) {
			r->error = "reply codes differ within one reply";
			return (-1);
		} else if (n >= 12 && strncasecmp(l + 4, "STARTTLS", 8) == 0
			   && (n == 12 || l[12] == ' ')) {
			r->starttls = 1;
		}
		r->lines++;
		pos = (size_t) (nl - buf) + 1;
		if (n <= 3 || l[3] == ' ')
			return ((int) pos);
	}
}
