/*
 * route - outbound routes, user gateways and the routing lookups
 *
 * SYNOPSIS
 *	const struct rg_route *r = conf_route(conf, "gw");
 *	r->nexthop		-- "[gw.example.net]:25", "[ipv6:2001:db8::1]:25"
 *	r->tls_policy		-- "may", "encrypt", "secure match=NAME", "verify"
 *	const struct rg_gateway *g = conf_gateway(conf, "Bob.Name@partner.example");
 *	if (g && g->active) -- the sender is g->user, leaving through g->route
 *
 *	char val[ROUTE_VALUE_MAX];
 *	switch (route_lookup(conf, "relayhost", key, keylen, val, sizeof(val))) {
 *	case ROUTE_FOUND:	-- "OK val"
 *	case ROUTE_NOTFOUND:	-- "NOTFOUND "
 *	case ROUTE_NOMAP:	-- "PERM unknown map"
 *	}
 *
 * DESCRIPTION
 *	The routing of DESIGN 5: route blocks, a customer's outbound_route,
 *	outbound_tls, secure_route, allow_user_gateways and user_gateway
 *	entries, built and checked as part of the configuration
 *	(route_conf_build(), route_customer_options(),
 *	route_customer_gateways() in conf_priv.h), and the
 *	answers of the socketmap maps relayhost, transport and tls.  Lookups
 *	read only the configuration: no I/O, no allocation, never Redis.
 *	Sender keys are matched as the relay decision matches addresses:
 *	case-insensitively, a customer's subdomains included; the null
 *	sender and "*" have no customer.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_ROUTE_H
#define RG_ROUTE_H

#include <stddef.h>

#include "conf.h"

#define ROUTE_VALUE_MAX	600		/* the longest answer: a TLS policy with a name */
#define ROUTE_TLS_TRANSPORT	"relayguard-tls"

enum route_result { ROUTE_FOUND, ROUTE_NOTFOUND, ROUTE_NOMAP };

const struct rg_route *conf_route(const struct rg_conf *, const char *name);
const struct rg_gateway *conf_gateway(const struct rg_conf *, const char *key);
const struct rg_gateway *conf_gateway_active(const struct rg_conf *, const char *sender);
enum route_result route_lookup(const struct rg_conf *, const char *map, const char *key,
		size_t keylen, char *value, size_t valuelen);
void	route_transport(const struct rg_customer *, char *buf, size_t len);

void	route_tls_policy(char *buf, size_t len, int require_tls, int require_ca_signed,
		int mx_lookup, const char *tls_name, const char *host);

#endif
