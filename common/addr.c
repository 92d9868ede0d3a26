/*
 * addr - parse and canonicalise envelope addresses and domains
 *
 * SYNOPSIS
 *	See addr.h: addr_parse(), addr_parse_strict(), domain_canon(),
 *	domain_valid(), domain_is_sub().
 *
 * DESCRIPTION
 *	The parser is deliberately lenient where real mail is (dots in local
 *	parts, underscores in hostnames, 8-bit bytes) and strict where a lax
 *	reading could change which customer an address belongs to: control
 *	bytes, unbalanced quotes or brackets, an '@' left in the domain.
 *	Postfix's internal form of a quoted local part (no quotes, the domain
 *	after the last '@') and the quoted form give the same address.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "addr.h"

static int
addr_atext(int c)
{
	return (isalnum(c) || (c & 0x80) || strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

/* domain_canon - lowercase, drop one trailing dot; returns length or 0 */
size_t
domain_canon(const char *in, char *out, size_t outlen)
{
	size_t	len = strlen(in), i;

	if (len && in[len - 1] == '.')
		len--;
	if (len + 1 > outlen)
		return (0);
	for (i = 0; i < len; i++)
		out[i] = (char) tolower((unsigned char) in[i]);
	out[len] = 0;
	return (len);
}

/* domain_valid - a hostname of labels, or an address literal in [] */
int
domain_valid(const char *d)
{
	size_t	len = strlen(d), label = 0;
	const char *p;

	if (len == 0 || len > 255)
		return (0);
	if (d[0] == '[') {
		const char *lit = d + 1;
		size_t	llen = len - 2;

		if (len < 3 || d[len - 1] != ']')
			return (0);
		if (strncasecmp(lit, "IPv6:", 5) == 0) {
			lit += 5;
			llen -= 5;
		}
		return (llen > 0 && strspn(lit, "0123456789abcdefABCDEF.:") == llen);
	}
	for (p = d; *p; p++) {
		unsigned char c = (unsigned char) *p;

		if (c == '.') {
			if (label == 0)
				return (0);
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_' || (c & 0x80)) {
			if (++label > 63)
				return (0);
		} else {
			return (0);
		}
	}
	return (label > 0);
}

/* domain_is_sub - domain equals parent or is a subdomain of it */
int
domain_is_sub(const char *domain, const char *parent)
{
	size_t	dl = strlen(domain), pl = strlen(parent);

	if (dl == pl)
		return (strcmp(domain, parent) == 0);
	return (dl > pl && domain[dl - pl - 1] == '.'
		&& strcmp(domain + dl - pl, parent) == 0);
}

static int addr_scan(const char *, struct rg_addr *, const char **, int);

/* addr_parse - an envelope address, quoted or in Postfix's internal form */
int
addr_parse(const char *in, struct rg_addr *out, const char **why)
{
	return (addr_scan(in, out, why, 0));
}

/* addr_parse_strict - an address as a person writes it (configuration) */
int
addr_parse_strict(const char *in, struct rg_addr *out, const char **why)
{
	return (addr_scan(in, out, why, 1));
}

static int
addr_scan(const char *in, struct rg_addr *out, const char **why, int strict)
{
	char	local[RG_ADDR_MAX + 1];
	size_t	llen = 0, len, i, sep;
	const char *p, *end, *at;
	int	quoted = 0, needs_quotes = 0;

	memset(out, 0, sizeof(*out));
	out->domain = out->key;
	while (*in == ' ' || *in == '\t')
		in++;
	len = strlen(in);
	while (len && (in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	if (len > 0 && in[0] == '<') {
		if (len < 2 || in[len - 1] != '>')
			return (*why = "unbalanced angle brackets", -1);
		in++;
		len -= 2;
	}
	if (len > RG_ADDR_MAX)
		return (*why = "address too long", -1);
	if (len == 0) {
		out->null = 1;
		out->domain = "";
		return (0);
	}
	p = in;
	end = in + len;
	/* Obsolete source route: @a,@b:user@domain. */
	if (*p == '@') {
		const char *colon = memchr(p, ':', len);

		if (colon == NULL)
			return (*why = "malformed source route", -1);
		p = colon + 1;
	}
	if (p < end && *p == '"') {
		quoted = 1;
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\') {
				if (++p >= end)
					return (*why = "unterminated quoted local part", -1);
			}
			if ((unsigned char) *p < 0x20 || *p == 0x7f)
				return (*why = "control character in address", -1);
			if (!addr_atext((unsigned char) *p))
				needs_quotes = 1;
			local[llen++] = *p;
		}
		if (p >= end)
			return (*why = "unterminated quoted local part", -1);
		p++;
		if (llen == 0)
			needs_quotes = 1;
	} else {
		/*
		 * Postfix hands policy services the internal, unquoted form:
		 * "john doe"@a.example arrives as john doe@a.example and
		 * "a@b"@a.example as a@b@a.example.  The domain is what follows
		 * the last '@' (as Postfix splits it); a local part that is not
		 * a dot-atom was quoted, and gets its quotes back, so both
		 * forms have one canonical text and key.
		 */
		const char *last = end;

		while (last > p && last[-1] != '@')
			last--;
		last = last > p ? last - 1 : end;
		for (; p < last; p++) {
			if ((unsigned char) *p < 0x20 || *p == 0x7f)
				return (*why = "control character in address", -1);
			if (!addr_atext((unsigned char) *p)) {
				/* Only an address with a domain has an internal form. */
				if (strict || last == end)
					return (*why = *p == '@' ? "more than one @ in address"
						: "invalid character in local part", -1);
				quoted = needs_quotes = 1;
			}
			local[llen++] = *p;
		}
		if (llen == 0)
			return (*why = "empty local part", -1);
	}
	local[llen] = 0;
	if (llen && (local[0] == '.' || local[llen - 1] == '.'))
		needs_quotes |= quoted;
	at = p;
	if (at < end && *at != '@')
		return (*why = "junk after quoted local part", -1);
	/* Canonical text: local part, quoted only if it must be. */
	i = 0;
	if (quoted && needs_quotes) {
		out->text[i++] = '"';
		for (p = local; *p; p++) {
			if (*p == '"' || *p == '\\')
				out->text[i++] = '\\';
			out->text[i++] = *p;
			if (i > RG_ADDR_MAX)
				return (*why = "address too long", -1);
		}
		out->text[i++] = '"';
	} else {
		memcpy(out->text, local, llen);
		i = llen;
	}
	sep = 0;
	if (at < end) {
		char	dom[RG_ADDR_MAX + 1];
		size_t	dlen = (size_t) (end - at - 1);

		memcpy(dom, at + 1, dlen);
		dom[dlen] = 0;
		dlen = domain_canon(dom, dom, sizeof(dom));
		if (dlen == 0 || !domain_valid(dom))
			return (*why = "invalid domain", -1);
		if (i + 1 + dlen > RG_ADDR_MAX)
			return (*why = "address too long", -1);
		sep = i;
		out->text[i++] = '@';
		memcpy(out->text + i, dom, dlen + 1);
		i += dlen;
	} else if (llen == 0) {
		return (*why = "empty local part", -1);
	}
	out->text[i] = 0;
	for (i = 0; out->text[i]; i++)
		out->key[i] = (char) tolower((unsigned char) out->text[i]);
	out->key[i] = 0;
	/* Not strrchr(): a quoted local part may hold an '@' of its own. */
	out->domain = sep ? out->key + sep + 1 : out->key + i;
	return (0);
}
