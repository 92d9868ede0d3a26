/*
 * conf - the configuration object: references and lookups
 *
 * SYNOPSIS
 *	See conf.h.  Loading is conf_parse.c, the option table
 *	conf_schema.c, building and cross-checks conf_build.c.
 *
 * DESCRIPTION
 *	A struct rg_conf is immutable once built and reference counted:
 *	requests in flight keep the one they started with across a reload,
 *	and the last conf_unref() frees it.  Lookups are hash maps (domains,
 *	users, names) and one interval search (client ranges).
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <stdlib.h>
#include <string.h>

#include "conf_priv.h"
#include "strmap.h"
#include "xmem.h"

/* conf_ref - one more user of this configuration */
void
conf_ref(struct rg_conf *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
}

static void
conf_free_customer(struct rg_customer *cu)
{
	size_t	i, j;

	for (i = 0; i < cu->ndomains; i++)
		free(cu->domains[i]);
	free(cu->domains);
	for (i = 0; i < cu->nsettings; i++) {
		struct rg_setting *s = &cu->settings[i];

		for (j = 0; j < s->nranges; j++) {
			free(s->ranges[j].name);
			free(s->ranges[j].text);
		}
		free(s->ranges);
		ipset_free(s->enabled);
		free(s->name);
	}
	free(cu->settings);
	free(cu->name);
}

static void
conf_free_users(struct rg_conf *c)
{
	size_t	i;

	for (i = 0; i < c->nusers; i++) {
		free(c->users[i]->address);
		free(c->users[i]);
	}
	free(c->users);
}

/* conf_unref - drop a user; the last one frees everything */
void
conf_unref(struct rg_conf *c)
{
	size_t	i;

	if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	conf_free_users(c);
	route_conf_free(c);
	for (i = 0; i < c->ncustomers; i++)
		conf_free_customer(&c->customers[i]);
	free(c->customers);
	strmap_free(c->by_domain);
	strmap_free(c->by_user);
	strmap_free(c->by_name);
	ipset_free(c->by_ip);
	for (i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	free(c->listen);
	free(c->redis.server);
	free(c->redis.host);
	free(c->redis.path);
	free(c->redis.password_file);
	free(c->redis.auth_user);
	if (c->redis.auth_pass) {
		explicit_bzero(c->redis.auth_pass, strlen(c->redis.auth_pass));
		free(c->redis.auth_pass);
	}
	free(c->redis.prefix);
	for (i = 0; i < c->redis.nsentinels; i++)
		free(c->redis.sentinel_host ? c->redis.sentinel_host[i] : NULL);
	free(c->redis.sentinel_host);
	free(c->redis.sentinel_port);
	free(c->redis.sentinel_master);
	free(c->redis.sentinel_user);
	free(c->redis.sentinel_pass);
	for (i = 0; i < c->redis.ncluster; i++)
		free(c->redis.cluster_host ? c->redis.cluster_host[i] : NULL);
	free(c->redis.cluster_host);
	free(c->redis.cluster_port);
	free(c->user);
	free(c->syslog_facility);
	free(c->milter_socket);
	free(c->policyd_metrics);
	free(c->milter_metrics);
	free(c->path);
	free(c);
}

/* conf_customer - a customer by name */
const struct rg_customer *
conf_customer(const struct rg_conf *c, const char *name)
{
	return (strmap_get(c->by_name, name));
}

/*
 * conf_customer_by_domain - the customer owning domain or a parent of it;
 * *matched (optional) is set to the registered domain that matched.
 * O(labels): one hash lookup per label.
 */
const struct rg_customer *
conf_customer_by_domain(const struct rg_conf *c, const char *domain,
			const char **matched)
{
	const char *d = domain;
	const struct rg_customer *cu;
	size_t	i;

	while (d && *d) {
		if ((cu = strmap_get(c->by_domain, d)) != NULL) {
			if (matched)
				for (i = 0; i < cu->ndomains; i++)
					if (strcmp(cu->domains[i], d) == 0)
						*matched = cu->domains[i];
			return (cu);
		}
		d = strchr(d, '.');
		if (d)
			d++;
	}
	return (NULL);
}

/* conf_customer_by_ip - the customer with an enabled range holding ip */
const struct rg_customer *
conf_customer_by_ip(const struct rg_conf *c, rg_ip ip)
{
	return (ipset_lookup(c->by_ip, ip));
}

/* conf_user - a registered user by lowercased address */
const struct rg_user *
conf_user(const struct rg_conf *c, const char *key)
{
	return (strmap_get(c->by_user, key));
}

/* setting_has_ip - ip is inside one of the setting's enabled ranges */
int
setting_has_ip(const struct rg_setting *s, rg_ip ip)
{
	return (ipset_lookup(s->enabled, ip) != NULL);
}
