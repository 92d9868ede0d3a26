/*
 * ipset - address parsing, range parsing (libcidr) and interval lookup
 *
 * SYNOPSIS
 *	See ipset.h: ip_parse(), ip_format(), range_parse(), ipset_create(),
 *	ipset_lookup().
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <arpa/inet.h>
#include <ctype.h>
#include <libcidr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipset.h"
#include "xmem.h"

struct ipset {
	struct ipset_entry *v;
	size_t	n;
};

static rg_ip
ip_from_bytes(const unsigned char *b)
{
	rg_ip	ip = 0;
	int	i;

	for (i = 0; i < 16; i++)
		ip = (ip << 8) | b[i];
	return (ip);
}

static rg_ip
ip_from_v4(const unsigned char *b)
{
	return (((rg_ip) 0xffff << 32) | ((rg_ip) b[0] << 24)
		| ((rg_ip) b[1] << 16) | ((rg_ip) b[2] << 8) | b[3]);
}

/* ip_parse - strict IPv4 or IPv6 text to a number; "IPv6:" prefix allowed */
int
ip_parse(const char *text, rg_ip *out)
{
	unsigned char b[16];

	if (strncasecmp(text, "IPv6:", 5) == 0)
		text += 5;
	if (inet_pton(AF_INET, text, b) == 1) {
		*out = ip_from_v4(b);
		return (0);
	}
	if (inet_pton(AF_INET6, text, b) == 1) {
		*out = ip_from_bytes(b);
		return (0);
	}
	return (-1);
}

/*
 * ip_format - the conventional text form; IPv4-mapped shown as IPv4.
 * IPv4 is written here (every decision formats its client; glibc's
 * inet_ntop goes through sprintf); IPv6's zero compression is left to
 * inet_ntop.  len must hold RG_IP_STRLEN.
 */
void
ip_format(rg_ip ip, char *buf, size_t len)
{
	unsigned char b[16];
	char   *p = buf;
	int	i;

	for (i = 15; i >= 0; i--) {
		b[i] = (unsigned char) (ip & 0xff);
		ip >>= 8;
	}
	if (memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) != 0) {
		inet_ntop(AF_INET6, b, buf, (socklen_t) len);
		return;
	}
	if (len < INET_ADDRSTRLEN) {
		inet_ntop(AF_INET, b + 12, buf, (socklen_t) len);
		return;
	}
	for (i = 12; i < 16; i++) {
		if (b[i] >= 100)
			*p++ = (char) ('0' + b[i] / 100);
		if (b[i] >= 10)
			*p++ = (char) ('0' + b[i] / 10 % 10);
		*p++ = (char) ('0' + b[i] % 10);
		*p++ = i < 15 ? '.' : 0;
	}
}

/* range_parse - "addr" or "addr/prefix" to an interval, with the caps */
int
range_parse(const char *text, struct ip_range *out, char *err, size_t errlen)
{
	char	addr[INET6_ADDRSTRLEN + 1], padded[8 + INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t	alen = slash ? (size_t) (slash - text) : strlen(text);
	unsigned char b[16];
	int	v6, pflen, maxlen, hostbits;
	CIDR   *c;
	rg_ip	base, mask;

	if (alen == 0 || alen >= sizeof(addr) || strlen(text) > INET6_ADDRSTRLEN + 4) {
		snprintf(err, errlen, "invalid IP range \"%s\"", text);
		return (-1);
	}
	memcpy(addr, text, alen);
	addr[alen] = 0;
	v6 = strchr(addr, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, b) != 1) {
		snprintf(err, errlen, "invalid IP address \"%s\"", addr);
		return (-1);
	}
	maxlen = v6 ? 128 : 32;
	if (slash) {
		const char *p = slash + 1;

		if (*p == 0 || strlen(p) > 3 || strspn(p, "0123456789") != strlen(p)
		    || (p[0] == '0' && p[1] != 0) || atoi(p) > maxlen) {
			snprintf(err, errlen, "invalid prefix length in \"%s\"", text);
			return (-1);
		}
	}
	/*
	 * libcidr 1.2 compares the last 8 bytes of its input with ".ip6.int"
	 * even when the input is shorter: hand it a copy with padding in front
	 * so that read stays inside our buffer.
	 */
	memset(padded, ' ', 8);
	snprintf(padded + 8, sizeof(padded) - 8, "%s", text);
	if ((c = cidr_from_str(padded + 8)) == NULL) {
		snprintf(err, errlen, "invalid IP range \"%s\"", text);
		return (-1);
	}
	pflen = cidr_get_pflen(c);
	cidr_free(c);
	hostbits = maxlen - pflen;
	if (hostbits > 16) {
		snprintf(err, errlen, "IP range \"%s\" holds more than %d addresses"
			 " (at most an IPv4 /16 or an IPv6 /112)", text, RG_RANGE_MAX_ADDRS);
		return (-1);
	}
	base = v6 ? ip_from_bytes(b) : ip_from_v4(b);
	mask = ((rg_ip) 1 << hostbits) - 1;
	if (base & mask) {
		char	net[RG_IP_STRLEN];

		ip_format(base & ~mask, net, sizeof(net));
		snprintf(err, errlen, "IP range \"%s\" has host bits set (the network is %s/%d)",
			 text, net, pflen);
		return (-1);
	}
	out->lo = base;
	out->hi = base | mask;
	return (0);
}

static int
ipset_cmp(const void *a, const void *b)
{
	const struct ipset_entry *x = a, *y = b;

	if (x->lo != y->lo)
		return (x->lo < y->lo ? -1 : 1);
	if (x->hi != y->hi)
		return (x->hi > y->hi ? -1 : 1);	/* wider first */
	return (0);
}

/* ipset_create - a lookup set; overlapping entries with equal data merge */
struct ipset *
ipset_create(const struct ipset_entry *in, size_t n)
{
	struct ipset *s = xcalloc(1, sizeof(*s));
	struct ipset_entry *e = xreallocarray(NULL, n, sizeof(*e));
	size_t	i, out = 0;

	if (n)
		memcpy(e, in, n * sizeof(*e));
	qsort(e, n, sizeof(*e), ipset_cmp);
	for (i = 0; i < n; i++) {
		if (out > 0 && e[i].data == e[out - 1].data
		    && e[i].lo <= e[out - 1].hi + 1 && e[out - 1].hi + 1 != 0) {
			if (e[i].hi > e[out - 1].hi)
				e[out - 1].hi = e[i].hi;
			continue;
		}
		if (out > 0 && e[i].lo <= e[out - 1].hi) {
			/* Different owners overlap: the caller validates this away. */
			if (e[i].hi <= e[out - 1].hi)
				continue;
			e[i].lo = e[out - 1].hi + 1;
		}
		e[out++] = e[i];
	}
	s->v = e;
	s->n = out;
	return (s);
}

/* ipset_lookup - the data of the interval holding ip, or NULL */
void *
ipset_lookup(const struct ipset *s, rg_ip ip)
{
	size_t	lo = 0, hi = s->n;

	/* Find the last interval whose start is <= ip. */
	while (lo < hi) {
		size_t	mid = lo + (hi - lo) / 2;

		if (s->v[mid].lo <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || s->v[lo - 1].hi < ip)
		return (NULL);
	return (s->v[lo - 1].data);
}

/* ipset_count - number of disjoint intervals */
size_t
ipset_count(const struct ipset *s)
{
	return (s ? s->n : 0);
}

/* ipset_free - release a set */
void
ipset_free(struct ipset *s)
{
	if (s == NULL)
		return;
	free(s->v);
	free(s);
}
