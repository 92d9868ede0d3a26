/*
 * route - outbound routes, user gateways and the routing lookups
 *
 * SYNOPSIS
 *	See route.h.  Building: route_conf_build(), route_customer_build(),
 *	route_conf_free() (conf_priv.h), called by conf_build.c and conf.c.
 *
 * DESCRIPTION
 *	A route's next hop and TLS policy are worked out once, by the load
 *	(DESIGN 5.3): next hop "[host]:port" ("[ipv6:addr]:port" for an IPv6
 *	literal, as Postfix writes one), or "host:port" with mx_lookup; TLS
 *	policy "may" without require_tls, "encrypt" with it, and with
 *	require_ca_signed "secure match=NAME" (NAME = tls_name, else the
 *	host) or, with mx_lookup, "verify" (the MX host's name; with
 *	tls_name "verify match=NAME").  The tls map answers by next hop, so
 *	two routes with one next hop must agree on its policy.
 *
 * DIAGNOSTICS
 *	Every rule of DESIGN 5.1 refuses the file with "file:line: reason"
 *	through conf_fail().
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conf_priv.h"
#include "route.h"
#include "strmap.h"
#include "xmem.h"

#define ROUTE_KEY_MAX	10000		/* Postfix's own cap on a socketmap query */

static int
route_line(cfg_t *sec, const char *stamp)
{
	long	l = cfg_getint(sec, stamp);

	return (l > 0 ? (int) l : conf_cfg_line(sec));
}

/*
 * route_host - the host of a route, canonical: an IP literal (*literal 4
 * or 6) or a lowercased DNS name; one pair of brackets is allowed.
 * Returns 0, or -1 for a host that is neither.
 */
static int
route_host(const char *in, char *out, size_t outlen, int *literal)
{
	char	h[300];
	unsigned char bin[16];
	size_t	n = strlen(in);

	*literal = 0;
	if (n >= sizeof(h))
		return (-1);
	if (in[0] == '[' && n > 2 && in[n - 1] == ']') {
		memcpy(h, in + 1, n - 2);
		h[n - 2] = 0;
	} else {
		memcpy(h, in, n + 1);
	}
	if (inet_pton(AF_INET, h, bin) == 1)
		*literal = 4;
	else if (inet_pton(AF_INET6, h, bin) == 1)
		*literal = 6;
	if (*literal) {
		inet_ntop(*literal == 4 ? AF_INET : AF_INET6, bin, out, (socklen_t) outlen);
		return (0);
	}
	if (domain_canon(h, out, outlen) == 0 || !domain_valid(out) || out[0] == '[')
		return (-1);
	return (0);
}

/*
 * route_tls_policy - the smtp_tls_policy_maps value of a route with these
 * flags (DESIGN 5.3): the socketmap's answer and what tls-test says
 */
void
route_tls_policy(char *buf, size_t len, int require_tls, int require_ca_signed,
		 int mx_lookup, const char *tls_name, const char *host)
{
	int	named = tls_name && *tls_name;

	if (!require_tls)
		snprintf(buf, len, "may");
	else if (!require_ca_signed)
		snprintf(buf, len, "encrypt");
	else if (!mx_lookup)
		snprintf(buf, len, "secure match=%s", named ? tls_name : host);
	else if (named)
		snprintf(buf, len, "verify match=%s", tls_name);
	else
		snprintf(buf, len, "verify");
}

static void
route_derive(struct rg_route *r, int literal)
{
	char	buf[ROUTE_VALUE_MAX];

	if (r->mx_lookup)
		snprintf(buf, sizeof(buf), "%s:%ld", r->host, r->port);
	else
		snprintf(buf, sizeof(buf), "[%s%s]:%ld", literal == 6 ? "ipv6:" : "", r->host,
			 r->port);
	r->nexthop = xstrdup(buf);
	route_tls_policy(buf, sizeof(buf), r->require_tls, r->require_ca_signed, r->mx_lookup,
			 r->tls_name, r->host);
	r->tls_policy = xstrdup(buf);
}

/* The rules of DESIGN 5.1 on one route; the first broken one is reported. */
static void
route_check(struct conf_parse *p, struct rg_route *r, const char *host, int literal)
{
	const char *why = NULL;
	char	tn[300];

	if (host == NULL)
		why = "host is required";
	else if (r->require_ca_signed && !r->require_tls)
		why = "require_ca_signed needs require_tls = true";
	else if (r->validate_hostname && !r->require_ca_signed)
		why = "validate_hostname needs require_ca_signed = true";
	else if (literal && r->mx_lookup)
		why = "an IP-literal host cannot use mx_lookup";
	else if (literal && r->require_ca_signed && *r->tls_name == 0)
		why = "an IP-literal host needs tls_name when certificates are checked";
	else if (r->require_ca_signed && !r->validate_hostname && *r->tls_name == 0)
		why = "require_ca_signed without validate_hostname needs tls_name"
			" (Postfix checks a CA chain only together with a name)";
	if (why) {
		conf_fail(p, r->line, "route \"%s\": %s", r->name, why);
		return;
	}
	if (*r->tls_name && (domain_canon(r->tls_name, tn, sizeof(tn)) == 0
			     || !domain_valid(tn) || tn[0] == '['))
		conf_fail(p, r->line, "route \"%s\": tls_name \"%s\" is not a host name",
			  r->name, r->tls_name);
}

/* route_conf_build - every route block: checked, with next hop and TLS policy */
void
route_conf_build(struct conf_parse *p, struct rg_conf *c, cfg_t *cfg)
{
	size_t	i, n = cfg_size(cfg, "route");

	c->by_route = strmap_create(n);
	c->by_nexthop = strmap_create(n);
	c->by_gateway = strmap_create(4);
	c->routes = xcalloc(n, sizeof(*c->routes));
	for (i = 0; i < n && !p->failed; i++) {
		cfg_t  *rs = cfg_getnsec(cfg, "route", i);
		struct rg_route *r = &c->routes[i], *other;
		const char *host = cfg_getstr(rs, "host");
		char	h[300];
		int	literal = 0;

		c->nroutes++;
		r->name = xstrdup(cfg_title(rs));
		r->line = route_line(rs, "__line");
		r->port = cfg_getint(rs, "port");
		r->mx_lookup = cfg_getbool(rs, "mx_lookup");
		r->require_tls = cfg_getbool(rs, "require_tls");
		r->require_ca_signed = cfg_getbool(rs, "require_ca_signed");
		r->validate_hostname = cfg_getbool(rs, "validate_hostname");
		r->tls_name = xstrdup(cfg_getstr(rs, "tls_name"));
		if (host && route_host(host, h, sizeof(h), &literal) < 0) {
			conf_fail(p, r->line, "route \"%s\": host \"%s\" is neither a host name"
				  " nor an IP address", r->name, host);
			break;
		}
		r->host = xstrdup(host ? h : "");
		route_check(p, r, host, literal);
		if (p->failed)
			break;
		for (char *s = r->tls_name; *s; s++)
			*s = (char) tolower((unsigned char) *s);
		route_derive(r, literal);
		strmap_put(c->by_route, r->name, r);
		if ((other = strmap_get(c->by_nexthop, r->nexthop)) == NULL)
			strmap_put(c->by_nexthop, r->nexthop, r);
		else if (strcmp(other->tls_policy, r->tls_policy) != 0)
			conf_fail(p, r->line, "route \"%s\": next hop %s is also route \"%s\"'s"
				  " (line %d), with another TLS policy", r->name, r->nexthop,
				  other->name, other->line);
	}
}

static const struct rg_route *
route_named(struct conf_parse *p, const struct rg_conf *c, const char *what,
	    const char *name, const char *owner, int line)
{
	const struct rg_route *r;

	if (name == NULL || *name == 0)
		return (NULL);
	if ((r = conf_route(c, name)) == NULL)
		conf_fail(p, line, "%s: %s \"%s\" is not a route", owner, what, name);
	return (r);
}

/*
 * A gateway's own checks, with its parse tree: its address and route.
 * The user and the domain checks wait for every customer's users and
 * domains (route_customer_gateways()).
 */
static void
route_gateway(struct conf_parse *p, struct rg_conf *c, struct rg_customer *cu,
	      struct rg_gateway *g, cfg_t *gs)
{
	struct rg_addr a;
	const char *why, *title = cfg_title(gs), *user = cfg_getstr(gs, "user");
	char	who[400];

	g->line = route_line(gs, "__line");
	g->customer = cu;
	g->active = cu->allow_user_gateways;
	snprintf(who, sizeof(who), "user_gateway \"%.320s\"", title);
	if (addr_parse_strict(title, &a, &why) < 0 || a.null || a.domain[0] == 0
	    || a.domain[0] == '[') {
		conf_fail(p, g->line, "%s: not an address", who);
		return;
	}
	g->address = xstrdup(a.key);
	if (user == NULL || route_named(p, c, "route", cfg_getstr(gs, "route"), who, g->line)
	    == NULL) {
		if (!p->failed)
			conf_fail(p, g->line, "%s: %s is required", who, user ? "route" : "user");
		return;
	}
	g->route = conf_route(c, cfg_getstr(gs, "route"));
}

/*
 * route_customer_options - a customer's routing options and its gateways'
 * own checks, from its parse tree; returns each gateway's user and
 * address as written (pairs), for route_customer_gateways() once every
 * customer's users are known.
 */
char  **
route_customer_options(struct conf_parse *p, struct rg_conf *c, struct rg_customer *cu,
		       cfg_t *cs)
{
	int	line = route_line(cs, "__route_line");
	char	who[100], **users;
	size_t	i;

	snprintf(who, sizeof(who), "customer \"%s\"", cu->name);
	cu->outbound_tls = cfg_getbool(cs, "outbound_tls");
	cu->allow_user_gateways = cfg_getbool(cs, "allow_user_gateways");
	cu->outbound_route = route_named(p, c, "outbound_route",
					 cfg_getstr(cs, "outbound_route"), who, line);
	cu->secure_route = route_named(p, c, "secure_route",
				       cfg_getstr(cs, "secure_route"), who, line);
	if (p->failed)
		return (NULL);
	if (cu->secure_route && !cu->outbound_tls)
		conf_fail(p, line, "%s: secure_route needs outbound_tls = true", who);
	else if (cu->secure_route && !cu->secure_route->require_tls)
		conf_fail(p, line, "%s: secure_route \"%s\" must have require_tls = true",
			  who, cu->secure_route->name);
	else if (cu->outbound_tls && cu->outbound_route && !cu->outbound_route->require_tls)
		conf_fail(p, line, "%s: with outbound_tls, outbound_route \"%s\" must have"
			  " require_tls = true", who, cu->outbound_route->name);
	cu->ngateways = cfg_size(cs, "user_gateway");
	cu->gateways = xcalloc(cu->ngateways, sizeof(*cu->gateways));
	users = xcalloc(2 * cu->ngateways + 1, sizeof(*users));
	for (i = 0; i < cu->ngateways && !p->failed; i++) {
		cfg_t  *gs = cfg_getnsec(cs, "user_gateway", i);
		const char *user = cfg_getstr(gs, "user");

		route_gateway(p, c, cu, &cu->gateways[i], gs);
		users[2 * i] = xstrdup(user ? user : "");
		users[2 * i + 1] = xstrdup(cfg_title(gs));
	}
	return (users);
}

/*
 * route_customer_gateways - the checks that need every customer: a
 * gateway's user is a registered user of its customer, its address is in
 * no customer's domain and no other gateway's
 */
void
route_customer_gateways(struct conf_parse *p, struct rg_conf *c, struct rg_customer *cu,
			char **users)
{
	const struct rg_customer *owner;
	struct rg_gateway *g, *other;
	struct rg_addr a, ua;
	const char *why, *matched, *title;
	size_t	i;

	for (i = 0; users && i < cu->ngateways && !p->failed; i++) {
		g = &cu->gateways[i];
		if (g->address == NULL)
			continue;
		title = users[2 * i + 1];
		if (addr_parse(users[2 * i], &ua, &why) < 0
		    || (g->user = conf_user(c, ua.key)) == NULL || g->user->customer != cu) {
			g->user = NULL;
			conf_fail(p, g->line, "user_gateway \"%.320s\": %s is not a registered user"
				  " of customer \"%s\"", title, users[2 * i], cu->name);
			return;
		}
		addr_parse(g->address, &a, &why);
		matched = NULL;
		if ((owner = conf_customer_by_domain(c, a.domain, &matched)) != NULL) {
			conf_fail(p, g->line, "user_gateway \"%.320s\": domain %s belongs to"
				  " customer \"%s\"", title, matched ? matched : a.domain,
				  owner->name);
			return;
		}
		if ((other = strmap_put(c->by_gateway, g->address, g)) != NULL)
			conf_fail(p, g->line, "user_gateway \"%.320s\" is already a gateway of"
				  " customer \"%s\" (line %d)", title, other->customer->name,
				  other->line);
	}
}

/* route_conf_free - what the routing part of a configuration holds */
void
route_conf_free(struct rg_conf *c)
{
	size_t	i, j;

	for (i = 0; i < c->nroutes; i++) {
		free(c->routes[i].name);
		free(c->routes[i].host);
		free(c->routes[i].tls_name);
		free(c->routes[i].nexthop);
		free(c->routes[i].tls_policy);
	}
	free(c->routes);
	for (i = 0; i < c->ncustomers; i++) {
		for (j = 0; j < c->customers[i].ngateways; j++)
			free(c->customers[i].gateways[j].address);
		free(c->customers[i].gateways);
	}
	for (i = 0; i < c->nsocketmap; i++)
		free(c->socketmap[i]);
	free(c->socketmap);
	strmap_free(c->by_route);
	strmap_free(c->by_nexthop);
	strmap_free(c->by_gateway);
}

/* conf_route - a route by name */
const struct rg_route *
conf_route(const struct rg_conf *c, const char *name)
{
	return (c->by_route ? strmap_get(c->by_route, name) : NULL);
}

/* conf_gateway - a user gateway, active or not, by lowercased address */
const struct rg_gateway *
conf_gateway(const struct rg_conf *c, const char *key)
{
	return (c->by_gateway ? strmap_get(c->by_gateway, key) : NULL);
}

/* conf_gateway_active - the active gateway a sender (as the MTA wrote it) is, or NULL */
const struct rg_gateway *
conf_gateway_active(const struct rg_conf *c, const char *sender)
{
	struct rg_addr a;
	const struct rg_gateway *g;
	const char *why;

	if (sender == NULL || addr_parse(sender, &a, &why) < 0 || a.null)
		return (NULL);
	g = conf_gateway(c, a.key);
	return (g && g->active ? g : NULL);
}

/* route_transport - the transport of a customer with outbound_tls */
void
route_transport(const struct rg_customer *cu, char *buf, size_t len)
{
	if (cu->secure_route)
		snprintf(buf, len, ROUTE_TLS_TRANSPORT "-%s", cu->secure_route->name);
	else
		snprintf(buf, len, ROUTE_TLS_TRANSPORT);
}

static enum route_result
route_found(char *value, size_t len, const char *v)
{
	snprintf(value, len, "%s", v);
	return (*value ? ROUTE_FOUND : ROUTE_NOTFOUND);
}

/* route_lookup - the answer of one socketmap map for key; see route.h */
enum route_result
route_lookup(const struct rg_conf *c, const char *map, const char *key, size_t keylen,
	     char *value, size_t valuelen)
{
	char	k[ROUTE_KEY_MAX + 1];
	struct rg_addr a;
	const struct rg_gateway *g;
	const struct rg_customer *cu;
	const struct rg_route *r;
	const char *why;
	size_t	i;
	int	relayhost = strcmp(map, "relayhost") == 0;

	value[0] = 0;
	if (!relayhost && strcmp(map, "transport") != 0 && strcmp(map, "tls") != 0)
		return (ROUTE_NOMAP);
	if (keylen > ROUTE_KEY_MAX || memchr(key, 0, keylen) != NULL)
		return (ROUTE_NOTFOUND);
	memcpy(k, key, keylen);
	k[keylen] = 0;
	if (strcmp(map, "tls") == 0) {
		for (i = 0; i < keylen; i++)
			k[i] = (char) tolower((unsigned char) k[i]);
		r = strmap_get(c->by_nexthop, k);
		return (r ? route_found(value, valuelen, r->tls_policy) : ROUTE_NOTFOUND);
	}
	/* A sender: the null sender, "*" and a bare name have no customer. */
	if (addr_parse(k, &a, &why) < 0 || a.null || a.domain[0] == 0)
		return (ROUTE_NOTFOUND);
	g = conf_gateway(c, a.key);
	if (g && g->active)
		return (relayhost ? route_found(value, valuelen, g->route->nexthop)
			: ROUTE_NOTFOUND);
	if ((cu = conf_customer_by_domain(c, a.domain, NULL)) == NULL)
		return (ROUTE_NOTFOUND);
	if (relayhost)
		return (cu->outbound_route ? route_found(value, valuelen, cu->outbound_route->nexthop)
			: ROUTE_NOTFOUND);
	if (!cu->outbound_tls)
		return (ROUTE_NOTFOUND);
	route_transport(cu, value, valuelen);
	return (ROUTE_FOUND);
}
