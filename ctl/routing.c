/*
 * routing - relayguardctl postfix-config, and the routes in check
 *
 * SYNOPSIS
 *	ctl_postfix_config(conf, stdout)	-- 0 printed, 2 no socketmap
 *	ctl_print_routes(conf, stdout)
 *
 * DESCRIPTION
 *	postfix-config prints, for the configuration in force, the main.cf
 *	lines that point Postfix's three routing lookups at
 *	relayguard-policyd's first socketmap listener (a unix socket under
 *	/var/spool/postfix relative to it, as chrooted Postfix processes
 *	need), and the master.cf
 *	transports of DESIGN 5.3: relayguard-tls (an smtp clone that
 *	requires encryption) and one relayguard-tls-ROUTE per secure route,
 *	whose smtp_fallback_relay is that route's next hop.  check lists
 *	the routes with their next hop and TLS policy, the customers using
 *	each, and the user gateways that are inactive.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "route.h"

/* ctl_postfix_config - the main.cf and master.cf text for this config */
int
ctl_postfix_config(const struct rg_conf *c, FILE *fp)
{
	static const char *const maps[][2] = {
		{ "sender_dependent_relayhost_maps", "relayhost" },
		{ "sender_dependent_default_transport_maps", "transport" },
		{ "smtp_tls_policy_maps", "tls" },
	};
	const char *spool = "unix:/var/spool/postfix/", *sm = c->socketmap[0];
	char	addr[300];
	size_t	i, j;

	if (c->nsocketmap == 0) {
		fprintf(stderr, "relayguardctl: %s: policyd has no socketmap listener;"
			" add one, e.g. policyd { socketmap = { \"unix:/var/spool/postfix/"
			"relayguard/socketmap\" } }\n", c->path);
		return (2);
	}
	/* Relative to queue_directory: the same path chrooted or not. */
	if (strncmp(sm, spool, strlen(spool)) == 0)
		snprintf(addr, sizeof(addr), "unix:%s", sm + strlen(spool));
	else
		snprintf(addr, sizeof(addr), "%s", sm);
	fprintf(fp, "# main.cf: relayguard routing (relayguard-policyd socketmap %s)\n", sm);
	for (i = 0; i < 3; i++)
		fprintf(fp, "%s = socketmap:%s:%s\n", maps[i][0], addr, maps[i][1]);
	fprintf(fp, "\n# master.cf: the transports the transport map names\n");
	fprintf(fp, ROUTE_TLS_TRANSPORT " unix - - n - - smtp\n"
		"  -o smtp_tls_security_level=encrypt\n");
	for (i = 0; i < c->ncustomers; i++) {
		const struct rg_route *r = c->customers[i].secure_route;

		if (r == NULL)
			continue;
		for (j = 0; j < i; j++)		/* once per route */
			if (c->customers[j].secure_route == r)
				break;
		if (j < i)
			continue;
		fprintf(fp, ROUTE_TLS_TRANSPORT "-%s unix - - n - - smtp\n"
			"  -o smtp_tls_security_level=encrypt\n"
			"  -o smtp_fallback_relay=%s\n", r->name, r->nexthop);
	}
	return (0);
}

/* ctl_print_routes - routes, who uses them, inactive gateways */
void
ctl_print_routes(const struct rg_conf *c, FILE *fp)
{
	size_t	i, j, k;

	for (i = 0; i < c->nroutes; i++) {
		const struct rg_route *r = &c->routes[i];
		int	n = 0;

		fprintf(fp, "route %s: next hop %s, tls %s\n  used by:", r->name, r->nexthop,
			r->tls_policy);
		for (j = 0; j < c->ncustomers; j++) {
			const struct rg_customer *cu = &c->customers[j];

			if (cu->outbound_route == r)
				n += fprintf(fp, " %s (outbound_route)", cu->name) > 0;
			if (cu->secure_route == r)
				n += fprintf(fp, " %s (secure_route)", cu->name) > 0;
			for (k = 0; k < cu->ngateways; k++)
				if (cu->gateways[k].route == r)
					n += fprintf(fp, " %s (user_gateway %s%s)", cu->name,
						     cu->gateways[k].address,
						     cu->gateways[k].active ? "" : ", inactive") > 0;
		}
		fprintf(fp, "%s\n", n ? "" : " nobody");
	}
	for (i = 0; i < c->ncustomers; i++) {
		const struct rg_customer *cu = &c->customers[i];

		if (cu->outbound_tls)
			fprintf(fp, "customer %s: outbound_tls, transport %s%s%s\n", cu->name,
				ROUTE_TLS_TRANSPORT, cu->secure_route ? "-" : "",
				cu->secure_route ? cu->secure_route->name : "");
		for (k = 0; k < cu->ngateways; k++)
			if (!cu->gateways[k].active)
				fprintf(fp, "customer %s: user_gateway %s (user %s) is inactive:"
					" allow_user_gateways = false\n", cu->name,
					cu->gateways[k].address, cu->gateways[k].user->address);
	}
}
