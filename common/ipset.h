/*
 * ipset - IPv4/IPv6 addresses, ranges and a fast range lookup
 *
 * SYNOPSIS
 *	rg_ip ip;  ip_parse("2001:db8::1", &ip);	-- 0 ok, -1 bad
 *	struct ip_range r;
 *	range_parse("192.0.2.0/24", &r, err, sizeof(err));
 *	struct ipset *s = ipset_create(entries, n);
 *	void *owner = ipset_lookup(s, ip);		-- NULL: no range
 *
 * DESCRIPTION
 *	Addresses are 128-bit numbers; IPv4 lives in the IPv4-mapped block
 *	::ffff:0:0/96, so "192.0.2.1" and "::ffff:192.0.2.1" are one address.
 *	Ranges are parsed with libcidr after a strict syntax check (libcidr
 *	alone accepts "1.2.3" and "1::2::3").  A range holds at most
 *	RG_RANGE_MAX_ADDRS addresses and may not have host bits set.
 *	An ipset is a sorted array of disjoint intervals: lookup is one
 *	binary search, O(log n), whatever the number of ranges.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_IPSET_H
#define RG_IPSET_H

#include <stddef.h>

typedef unsigned __int128 rg_ip;

#define RG_RANGE_MAX_ADDRS	65536
#define RG_IP_STRLEN		64

struct ip_range {
	rg_ip	lo;
	rg_ip	hi;
};

struct ipset_entry {
	rg_ip	lo;
	rg_ip	hi;
	void   *data;
};

int	ip_parse(const char *text, rg_ip *out);
void	ip_format(rg_ip ip, char *buf, size_t len);
int	range_parse(const char *text, struct ip_range *out, char *err, size_t errlen);

struct ipset;

struct ipset *ipset_create(const struct ipset_entry *, size_t n);
void   *ipset_lookup(const struct ipset *, rg_ip);
size_t	ipset_count(const struct ipset *);
void	ipset_free(struct ipset *);

#endif
