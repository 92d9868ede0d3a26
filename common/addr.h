/*
 * addr - RFC 5321 mailbox handling for the relay decision
 *
 * SYNOPSIS
 *	struct rg_addr a;
 *	if (addr_parse("<\"John\"@Acme.Example>", &a, &why) < 0) ...
 *	a.text   "John@acme.example"	-- canonical form, for logs/replies
 *	a.key    "john@acme.example"	-- lowercased, for user lookups
 *	a.domain "acme.example"		-- points into key; "" when none
 *	a.null   1 for the null sender <>
 *	addr_parse("john doe@acme.example", ...)	-- Postfix's internal form of
 *		"john doe"@acme.example: the same text and key (the domain
 *		follows the last '@')
 *	addr_parse_strict(...)	-- configuration: an unquoted local part
 *		must be a dot-atom
 *	domain_is_sub("mx.acme.example", "acme.example") == 1
 *
 * DESCRIPTION
 *	Accepts a bare or <bracketed> address, drops a source route, unquotes
 *	a quoted local part when it needs no quotes, lowercases the domain
 *	and drops a trailing dot.  UTF-8 (SMTPUTF8) bytes are allowed.
 *
 * DIAGNOSTICS
 *	addr_parse() returns -1 with a static reason in *why for an address
 *	that is malformed or longer than RG_ADDR_MAX - 1.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_ADDR_H
#define RG_ADDR_H

#include <stddef.h>

#define RG_ADDR_MAX	320		/* 64 local + @ + 255 domain */

struct rg_addr {
	char	text[RG_ADDR_MAX + 8];
	char	key[RG_ADDR_MAX + 8];
	const char *domain;
	int	null;
};

int	addr_parse(const char *in, struct rg_addr *out, const char **why);
int	addr_parse_strict(const char *in, struct rg_addr *out, const char **why);
int	domain_valid(const char *domain);
int	domain_is_sub(const char *domain, const char *parent);
size_t	domain_canon(const char *in, char *out, size_t outlen);

#endif
