/*
 * reply - an engine verdict as a milter reply
 *
 * SYNOPSIS
 *	return (mlt_reply_set(ctx, &verdict));	-- verdict.code != 0
 *
 * DESCRIPTION
 *	The verdict's reply "550 5.7.0 text" is split into the three parts
 *	smfi_setreply() takes.  The MTA uses that text only when its first
 *	digit agrees with the return value, so 5xx goes with SMFIS_REJECT
 *	(530 included) and 4xx with SMFIS_TEMPFAIL.  libmilter refuses CR
 *	and LF and treats '%' as a format character, and an SMTP reply line
 *	has room for about 980 characters of text: the text is cleaned to
 *	printable characters, '%' doubled, and cut to fit.
 *
 * DIAGNOSTICS
 *	When smfi_setreply() refuses the reply, the refusal still stands
 *	with the MTA's default text, and an error is logged.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <ctype.h>
#include <string.h>

#include "log.h"
#include "milter.h"

#define MLT_TEXT_MAX	980

/* mlt_reply_text - clean in for smfi_setreply(); returns the length */
size_t
mlt_reply_text(char *out, size_t outlen, const char *in)
{
	size_t	n = 0, cap = outlen ? outlen - 1 : 0;

	if (cap > MLT_TEXT_MAX)
		cap = MLT_TEXT_MAX;
	for (; in && *in; in++) {
		unsigned char ch = (unsigned char) *in;

		if (ch == '%') {
			if (n + 2 > cap)
				break;
			out[n++] = '%';
			out[n++] = '%';
			continue;
		}
		if (n + 1 > cap)
			break;
		out[n++] = (ch < ' ' || ch == 0x7f) ? ' ' : (char) ch;
	}
	if (outlen)
		out[n] = 0;
	return (n);
}

/* Is s an enhanced status code "c.sss.ddd" whose class matches code? */
static int
reply_is_dsn(const char *s, size_t len, char cls)
{
	size_t	i, dots = 0, run = 0;

	if (len < 5 || s[0] != cls || s[1] != '.')
		return (0);
	for (i = 1; i < len; i++) {
		if (s[i] == '.') {
			if (run == 0 && i > 1)
				return (0);
			dots++;
			run = 0;
		} else if (isdigit((unsigned char) s[i]) && ++run <= 3) {
			continue;
		} else {
			return (0);
		}
	}
	return (dots == 2 && run > 0);
}

/* mlt_reply_set - set the reply of a refusing verdict; the return value */
sfsistat
mlt_reply_set(SMFICTX *ctx, const struct rg_verdict *v)
{
	char	rcode[4], xcode[16], text[MLT_TEXT_MAX + 1];
	const char *p = v->reply, *sp;
	char   *x = NULL;
	sfsistat st;

	if (!(p[0] == '4' || p[0] == '5') || !isdigit((unsigned char) p[1])
	    || !isdigit((unsigned char) p[2]) || (p[3] != ' ' && p[3] != 0)) {
		msg_error("bad engine reply \"%.40s\": refusing with the MTA's default", p);
		return (v->code >= 500 ? SMFIS_REJECT : SMFIS_TEMPFAIL);
	}
	memcpy(rcode, p, 3);
	rcode[3] = 0;
	st = p[0] == '5' ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	p += 3;
	while (*p == ' ')
		p++;
	sp = p + strcspn(p, " ");
	if (reply_is_dsn(p, (size_t) (sp - p), rcode[0]) && (size_t) (sp - p) < sizeof(xcode)) {
		memcpy(xcode, p, (size_t) (sp - p));
		xcode[sp - p] = 0;
		x = xcode;
		p = sp;
		while (*p == ' ')
			p++;
	}
	mlt_reply_text(text, sizeof(text), p);
	if (smfi_setreply(ctx, rcode, x, *text ? text : NULL) != MI_SUCCESS)
		msg_error("smfi_setreply(%s %s %.60s) failed: refusing with the MTA's default",
			  rcode, x ? x : "-", text);
	return (st);
}
