/*
 * conf_build - the immutable struct rg_conf from a libconfuse parse
 *
 * SYNOPSIS
 *	b = conf_build_start(global, ncustomers, &parse);
 *	conf_build_add(b, customers, n);	-- per parse tree, then free it
 *	c = conf_build_end(b);			-- NULL: parse.err says why
 *
 * DESCRIPTION
 *	Customers, their domains, users (inline and users_file), relay
 *	settings and limits; the global options (the redis section in
 *	conf_redis.c, routes in route.c), so a reload succeeds or fails as
 *	one unit; then the cross-checks: a domain claimed by two
 *	customers, a user outside its customer's domains, overlapping ranges
 *	of two customers, each naming the lines involved.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <confuse.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "conf_priv.h"
#include "strmap.h"
#include "xmem.h"

/* Building the immutable object from the parse tree. */

static int
conf_sec_line(cfg_t *sec)
{
	long	l = cfg_getint(sec, "__line");

	return (l > 0 ? (int) l : conf_cfg_line(sec));
}

static void
conf_add_user(struct conf_parse *p, struct rg_conf *c, struct rg_customer *cu,
	      const char *text, int nomail, const char *file, int line)
{
	struct rg_addr a;
	struct rg_user *u;
	const struct rg_customer *owner;
	const char *why, *matched = "";

	if (addr_parse_strict(text, &a, &why) < 0 || a.null || a.domain[0] == 0) {
		if (!p->failed) {
			snprintf(p->err, p->errlen, "%s:%d: invalid user address \"%s\"",
				 file, line, text);
			p->failed = 1;
		}
		return;
	}
	/*
	 * The longest registered domain decides, as in the relay decision: a
	 * user of a subdomain another customer owns is that customer's.  So a
	 * user can never belong to two customers.
	 */
	if ((owner = conf_customer_by_domain(c, a.domain, &matched)) != cu) {
		if (!p->failed) {
			if (owner)
				snprintf(p->err, p->errlen, "%s:%d: user %s: domain %s belongs"
					 " to customer \"%s\"", file, line, a.key, matched, owner->name);
			else
				snprintf(p->err, p->errlen, "%s:%d: user %s is not in a domain"
					 " of customer \"%s\"", file, line, a.key, cu->name);
			p->failed = 1;
		}
		return;
	}
	if ((u = strmap_get(c->by_user, a.key)) != NULL) {
		u->nomail |= nomail;		/* listed twice: the stricter wins */
		return;
	}
	u = xcalloc(1, sizeof(*u));
	u->address = xstrdup(a.key);
	u->customer = cu;
	u->nomail = nomail;
	strmap_put(c->by_user, u->address, u);
	if ((c->nusers & (c->nusers - 1)) == 0)
		c->users = xreallocarray(c->users, c->nusers ? c->nusers * 2 : 1, sizeof(*c->users));
	c->users[c->nusers] = u;
	cu->nusers++;
	c->nusers++;
}

/* conf_relpath - a path the file names: a relative one is relative to it */
void
conf_relpath(const struct conf_parse *p, const char *file, char *path, size_t len)
{
	const char *slash = strrchr(p->file, '/');

	if (file[0] != '/' && slash != NULL)
		snprintf(path, len, "%.*s/%s", (int) (slash - p->file), p->file, file);
	else
		snprintf(path, len, "%s", file);
}

/*
 * conf_open - open a file the configuration names, for reading.  Only a
 * regular file: a FIFO or a device would block the load or never end.
 */
FILE   *
conf_open(const char *path, const char **why)
{
	struct stat st;
	FILE   *fp;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) < 0) {
		*why = strerror(errno);
		return (NULL);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		close(fd);
		return (NULL);
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		*why = strerror(errno);
		close(fd);
	}
	return (fp);
}

static void
conf_users_file(struct conf_parse *p, struct rg_conf *c, struct rg_customer *cu,
		const char *path, int optline)
{
	char	line[USERS_LINE_MAX + 2];
	const char *why;
	FILE   *fp;
	int	lineno = 0;

	if ((fp = conf_open(path, &why)) == NULL) {
		conf_fail(p, optline, "users_file %s: %s", path, why);
		return;
	}
	while (!p->failed && fgets(line, sizeof(line), fp) != NULL) {
		char   *s, *addr, *flag, *extra, *save = NULL;
		size_t	len = strlen(line);

		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			snprintf(p->err, p->errlen, "%s:%d: line longer than %d bytes",
				 path, lineno, USERS_LINE_MAX);
			p->failed = 1;
			break;
		}
		if ((s = strchr(line, '#')) != NULL)
			*s = 0;
		addr = strtok_r(line, " \t\r\n", &save);
		if (addr == NULL)
			continue;
		flag = strtok_r(NULL, " \t\r\n", &save);
		extra = strtok_r(NULL, " \t\r\n", &save);
		if ((flag && strcmp(flag, "nomail") != 0) || extra) {
			snprintf(p->err, p->errlen, "%s:%d: expected \"address\" or \"address nomail\"",
				 path, lineno);
			p->failed = 1;
			break;
		}
		conf_add_user(p, c, cu, addr, flag != NULL, path, lineno);
	}
	if (ferror(fp) && !p->failed)
		conf_fail(p, optline, "users_file %s: read error", path);
	fclose(fp);
}

static int64_t
conf_limit(cfg_t *lim, const char *name, int64_t dflt)
{
	long	v = lim ? cfg_getint(lim, name) : LIMIT_UNSET;

	return (v == LIMIT_UNSET ? dflt : (int64_t) v);
}

static int64_t
lmin(int64_t a, int64_t b)
{
	return (a < b ? a : b);
}

/* The limits of DESIGN 3.4, in 64 bits: 130 x licenses fits whatever long is. */
static void
conf_limits(struct conf_parse *p, struct rg_customer *cu, cfg_t *lim)
{
	int64_t	n = cu->licenses;
	int	free_tier = cu->billing != BILLING_PAID;
	struct rg_limits *l = &cu->limits;

	l->user_messages_per_day = conf_limit(lim, "user_messages_per_day", 10000);
	l->user_recipients_per_day = conf_limit(lim, "user_recipients_per_day", 130 * n);
	l->customer_recipients_per_day = conf_limit(lim, "customer_recipients_per_day",
				 free_tier ? 100 : lmin(130 * n, 4600000));
	l->customer_recipients_per_10min = conf_limit(lim, "customer_recipients_per_10min",
				 free_tier ? 50 : lmin(9 * n, 319444));
	/* A negative limit would read as "none": refuse the file, never run open. */
	if (l->user_messages_per_day < 0 || l->user_recipients_per_day < 0
	    || l->customer_recipients_per_day < 0 || l->customer_recipients_per_10min < 0)
		conf_fail(p, cu->line, "customer \"%s\": a limit came out negative", cu->name);
}

static void
conf_setting(struct conf_parse *p, struct rg_setting *s, cfg_t *rs)
{
	struct ipset_entry *e;
	size_t	i, ne = 0;

	s->name = xstrdup(cfg_title(rs));
	s->line = conf_sec_line(rs);
	s->senders = conf_enum(conf_senders_names, cfg_getstr(rs, "allowed_senders"));
	s->require_auth = cfg_getbool(rs, "require_smtp_auth");
	s->require_tls = cfg_getbool(rs, "require_tls");
	s->nranges = cfg_size(rs, "ip");
	s->ranges = xcalloc(s->nranges, sizeof(*s->ranges));
	e = xcalloc(s->nranges, sizeof(*e));
	for (i = 0; i < s->nranges; i++) {
		cfg_t  *ip = cfg_getnsec(rs, "ip", i);
		struct rg_iprange *r = &s->ranges[i];
		const char *text = cfg_getstr(ip, "range");
		char	err[200];

		r->name = xstrdup(cfg_title(ip));
		r->line = conf_sec_line(ip);
		r->enabled = cfg_getbool(ip, "enabled");
		if (text == NULL) {
			conf_fail(p, conf_cfg_line(ip), "ip \"%s\": range is required", r->name);
			r->text = xstrdup("");
			continue;
		}
		r->text = xstrdup(text);
		if (range_parse(text, &r->r, err, sizeof(err)) < 0) {
			conf_fail(p, r->line, "%s", err);
			continue;
		}
		if (r->enabled) {
			e[ne].lo = r->r.lo;
			e[ne].hi = r->r.hi;
			e[ne].data = s;
			ne++;
		}
	}
	s->enabled = ipset_create(e, ne);
	free(e);
	if (s->nranges == 0 && !s->require_auth)
		conf_fail(p, s->line, "relay \"%s\": select at least one authentication method"
			  " (an ip range or require_smtp_auth = true)", s->name);
	else if (s->nranges > 0 && ne == 0 && !s->require_auth)
		msg_warn("%s:%d: relay \"%s\": every ip range is disabled; the setting"
			 " matches no client", p->file, s->line, s->name);
}

/* conf_customer_domains - first pass: every customer's domains */
static void
conf_customer_domains(struct conf_parse *p, struct rg_conf *c, struct rg_customer *cu,
		      cfg_t *cs)
{
	size_t	i;

	cu->name = xstrdup(cfg_title(cs));
	cu->line = conf_sec_line(cs);
	cu->ndomains = cfg_size(cs, "domains");
	if (cu->ndomains == 0) {
		conf_fail(p, conf_cfg_line(cs), "customer \"%s\": domains is required", cu->name);
		return;
	}
	cu->domains = xcalloc(cu->ndomains, sizeof(*cu->domains));
	for (i = 0; i < cu->ndomains; i++) {
		char	d[300];
		struct rg_customer *other;

		domain_canon(cfg_getnstr(cs, "domains", i), d, sizeof(d));
		cu->domains[i] = xstrdup(d);
		if ((other = strmap_put(c->by_domain, d, cu)) != NULL) {
			if (other == cu)
				conf_fail(p, cu->line, "customer \"%s\": domain %s is listed twice",
					  cu->name, d);
			else
				conf_fail(p, cu->line, "domain %s of customer \"%s\" already"
					  " belongs to customer \"%s\" (line %d)",
					  d, cu->name, other->name, other->line);
		}
	}
}

/*
 * A customer's users, kept from its parse tree until every customer's
 * domains are known (a user's domain may belong to a later customer).
 */
struct conf_pending {
	char  **users;
	size_t	nusers;
	int	users_line;
	char   *file;			/* users_file, or NULL */
	int	file_line;
	char  **gw_users;		/* each user_gateway's user and address, NULL-ended */
};

/* Stages of the second pass, in the order one customer is built. */
enum {
	STAGE_LICENSES, STAGE_LIMITS, STAGE_USERS, STAGE_USERS_FILE, STAGE_SETTINGS,
	STAGE_ROUTING, STAGE_GATEWAYS
};

/*
 * conf_customer_build - second pass but users: licenses, limits, relay
 * settings; the users are kept in pend.  Returns the stage of the first
 * problem (written to p), or -1.
 */
static int
conf_customer_build(struct conf_parse *p, struct rg_conf *c, struct rg_customer *cu,
		    cfg_t *cs, struct conf_pending *pend)
{
	size_t	i;
	const char *file;
	int	stage = -1;

	if (cu->ndomains == 0)
		return (-1);
	if (cfg_size(cs, "licenses") == 0 || cfg_getint(cs, "licenses") < 1) {
		conf_fail(p, conf_cfg_line(cs), "customer \"%s\": licenses is required", cu->name);
		return (STAGE_LICENSES);
	}
	cu->licenses = cfg_getint(cs, "licenses");
	cu->billing = conf_enum(conf_billing_names, cfg_getstr(cs, "billing"));
	conf_limits(p, cu, cfg_getsec(cs, "limits"));
	if (p->failed)
		stage = STAGE_LIMITS;
	pend->nusers = cfg_size(cs, "users");
	pend->users = xcalloc(pend->nusers, sizeof(*pend->users));
	for (i = 0; i < pend->nusers; i++)
		pend->users[i] = xstrdup(cfg_getnstr(cs, "users", i));
	pend->users_line = (int) cfg_getint(cs, "__users_line");
	file = cfg_getstr(cs, "users_file");
	pend->file = file && *file ? xstrdup(file) : NULL;
	pend->file_line = (int) cfg_getint(cs, "__file_line");
	cu->nsettings = cfg_size(cs, "relay");
	if (cu->nsettings == 0)
		msg_warn("%s:%d: customer \"%s\" has no relay setting: it can relay nothing",
			 p->file, cu->line, cu->name);
	cu->settings = xcalloc(cu->nsettings, sizeof(*cu->settings));
	for (i = 0; i < cu->nsettings; i++) {
		cu->settings[i].customer = cu;
		conf_setting(p, &cu->settings[i], cfg_getnsec(cs, "relay", i));
	}
	if (stage < 0 && p->failed)
		return (STAGE_SETTINGS);
	if (stage < 0)
		pend->gw_users = route_customer_options(p, c, cu, cs);
	return (stage < 0 && p->failed ? STAGE_ROUTING : stage);
}

/* conf_customer_users - the users of a customer; the stage of a problem, or -1 */
static int
conf_customer_users(struct conf_parse *p, struct rg_conf *c, struct rg_customer *cu,
		    const struct conf_pending *pend)
{
	char	path[4096];
	size_t	i;

	for (i = 0; i < pend->nusers && !p->failed; i++)
		conf_add_user(p, c, cu, pend->users[i], 0, p->file, pend->users_line);
	if (p->failed)
		return (STAGE_USERS);
	if (pend->file) {
		conf_relpath(p, pend->file, path, sizeof(path));
		conf_users_file(p, c, cu, path, pend->file_line);
	}
	if (p->failed)
		return (STAGE_USERS_FILE);
	route_customer_gateways(p, c, cu, pend->gw_users);
	return (p->failed ? STAGE_GATEWAYS : -1);
}

/* One range with its owner, for the overlap sweep. */
struct conf_rref {
	rg_ip	lo;
	rg_ip	hi;
	const struct rg_iprange *r;
	struct rg_customer *cu;
};

static int
conf_rref_cmp(const void *a, const void *b)
{
	const struct conf_rref *x = a, *y = b;

	if (x->lo != y->lo)
		return (x->lo < y->lo ? -1 : 1);
	if (x->hi != y->hi)
		return (x->hi > y->hi ? -1 : 1);	/* the wider first */
	return (x->r->line - y->r->line);
}

/*
 * conf_index_ranges - refuse ranges of two customers that overlap (enabled
 * or not), then index the enabled ones by customer.  Sorted by start, an
 * entry overlaps an earlier one exactly when it starts before the furthest
 * end seen so far.
 */
static void
conf_index_ranges(struct conf_parse *p, struct rg_conf *c)
{
	struct conf_rref *v;
	struct ipset_entry *on;
	size_t	n = 0, non = 0, i, j, k, cover;

	for (i = 0; i < c->ncustomers; i++)
		for (j = 0; j < c->customers[i].nsettings; j++)
			n += c->customers[i].settings[j].nranges;
	c->nranges = n;
	v = xcalloc(n, sizeof(*v));
	on = xcalloc(n, sizeof(*on));
	for (n = 0, i = 0; i < c->ncustomers; i++) {
		struct rg_customer *cu = &c->customers[i];

		for (j = 0; j < cu->nsettings; j++)
			for (k = 0; k < cu->settings[j].nranges; k++) {
				const struct rg_iprange *r = &cu->settings[j].ranges[k];

				v[n].lo = r->r.lo;
				v[n].hi = r->r.hi;
				v[n].r = r;
				v[n].cu = cu;
				n++;
				if (r->enabled) {
					on[non].lo = r->r.lo;
					on[non].hi = r->r.hi;
					on[non].data = cu;
					non++;
				}
			}
	}
	qsort(v, n, sizeof(*v), conf_rref_cmp);
	for (cover = 0, i = 1; i < n; i++) {
		if (v[i].lo <= v[cover].hi && v[i].cu != v[cover].cu) {
			const struct conf_rref *first = &v[cover], *second = &v[i];

			if (first->r->line > second->r->line) {
				first = &v[i];
				second = &v[cover];
			}
			conf_fail(p, second->r->line, "IP range %s of customer \"%s\" overlaps"
				  " range %s of customer \"%s\" (line %d)",
				  second->r->text, second->cu->name, first->r->text,
				  first->cu->name, first->r->line);
			break;
		}
		if (v[i].hi > v[cover].hi)
			cover = i;
	}
	c->by_ip = ipset_create(on, non);
	free(v);
	free(on);
}

static void
conf_global(struct conf_parse *p, struct rg_conf *c, cfg_t *cfg)
{
	cfg_t  *r = cfg_getsec(cfg, "redis"), *pd = cfg_getsec(cfg, "policyd");
	cfg_t  *mt = cfg_getsec(cfg, "milter");
	size_t	i;

	conf_redis_build(p, c, r);
	c->quotas = cfg_getbool(cfg, "quotas");
	c->on_backend_error = conf_enum(conf_backend_names, cfg_getstr(cfg, "on_backend_error"));
	c->reservation_ttl = cfg_getint(cfg, "reservation_ttl");
	c->user = xstrdup(cfg_getstr(cfg, "user"));
	c->syslog_facility = xstrdup(cfg_getstr(cfg, "syslog_facility"));
	c->nlisten = cfg_size(pd, "listen");
	c->listen = xcalloc(c->nlisten + 1, sizeof(char *));
	for (i = 0; i < c->nlisten; i++)
		c->listen[i] = xstrdup(cfg_getnstr(pd, "listen", i));
	c->socket_mode = (mode_t) strtol(cfg_getstr(pd, "socket_mode"), NULL, 8);
	c->max_connections = cfg_getint(pd, "max_connections");
	c->idle_timeout = cfg_getint(pd, "idle_timeout");
	c->policyd_metrics = xstrdup(cfg_getstr(pd, "metrics"));
	c->milter_metrics = xstrdup(cfg_getstr(mt, "metrics"));
	c->milter_socket = xstrdup(cfg_getstr(mt, "socket"));
	c->milter_mode = conf_enum(conf_mode_names, cfg_getstr(mt, "mode"));
	c->milter_socket_mode = (mode_t) strtol(cfg_getstr(mt, "socket_mode"), NULL, 8);
	c->nsocketmap = cfg_size(pd, "socketmap");
	c->socketmap = xcalloc(c->nsocketmap + 1, sizeof(char *));
	for (i = 0; i < c->nsocketmap; i++)
		c->socketmap[i] = xstrdup(cfg_getnstr(pd, "socketmap", i));
}

/*
 * A build in progress.  Problems are reported in the order of a build
 * that had every parse tree at once: the global options, then every
 * customer's domains and name (first pass, written to p at once), then
 * customer by customer its licenses, limits, users, users_file and relay
 * settings (second pass: the first problem in that order is kept in
 * err2 and reported only when the first pass found none).
 */
struct conf_builder {
	struct rg_conf *c;
	struct conf_parse *p;
	size_t	cap;			/* customers allocated (they never move) */
	struct conf_pending *pend;
	size_t	first2;			/* customer of the kept second-pass problem */
	int	stage2;			/* ... and its stage; -1: none */
	char	err2[512];
};

/* Keep a second-pass problem of customer i at stage if it comes first. */
static void
conf_builder_keep(struct conf_builder *b, size_t i, int stage, const char *err)
{
	if (stage < 0 || (b->stage2 >= 0 && (b->first2 < i || (b->first2 == i
								 && b->stage2 <= stage))))
		return;
	b->first2 = i;
	b->stage2 = stage;
	snprintf(b->err2, sizeof(b->err2), "%s", err);
}

/* conf_build_start - a build of at most cap customers; the global options are read */
struct conf_builder *
conf_build_start(cfg_t *cfg, size_t cap, struct conf_parse *p)
{
	struct conf_builder *b = xcalloc(1, sizeof(*b));
	struct rg_conf *c = xcalloc(1, sizeof(*c));

	b->c = c;
	b->p = p;
	b->cap = cap;
	b->pend = xcalloc(cap, sizeof(*b->pend));
	b->stage2 = -1;
	c->refs = 1;
	conf_global(p, c, cfg);
	route_conf_build(p, c, cfg);
	c->by_domain = strmap_create(cap * 2);
	c->by_user = strmap_create(cap * 4);
	c->by_name = strmap_create(cap);
	c->customers = xcalloc(cap, sizeof(*c->customers));
	return (b);
}

/*
 * conf_build_add - build n more customers from their parse trees, which
 * the caller may free afterwards
 */
void
conf_build_add(struct conf_builder *b, cfg_t **cs, size_t n)
{
	struct conf_parse *p = b->p;
	struct rg_conf *c = b->c;
	size_t	i;

	for (i = 0; i < n && !p->failed; i++) {
		struct rg_customer *cu;
		char	err[512];
		struct conf_parse p2 = { .err = err, .errlen = sizeof(err), .file = p->file };
		int	stage;

		if (c->ncustomers == b->cap) {
			conf_fail(p, conf_sec_line(cs[i]), "more customers than the file holds");
			return;
		}
		cu = &c->customers[c->ncustomers];
		conf_customer_domains(p, c, cu, cs[i]);
		/* Within one libconfuse parse duplicates are refused already. */
		if (strmap_put(c->by_name, cu->name, cu) != NULL)
			conf_fail(p, cu->line, "found duplicate title '%s'", cu->name);
		stage = conf_customer_build(&p2, c, cu, cs[i], &b->pend[c->ncustomers]);
		conf_builder_keep(b, c->ncustomers, stage, err);
		c->ncustomers++;
	}
}

/* conf_build_end - the users, the cross-checks: the object, or NULL after conf_fail() */
struct rg_conf *
conf_build_end(struct conf_builder *b)
{
	struct conf_parse *p = b->p;
	struct rg_conf *c = b->c;
	size_t	i, j;

	for (i = 0; i < c->ncustomers && !p->failed && (b->stage2 < 0 || i <= b->first2); i++) {
		char	err[512];
		struct conf_parse p2 = { .err = err, .errlen = sizeof(err), .file = p->file };

		conf_builder_keep(b, i, conf_customer_users(&p2, c, &c->customers[i], &b->pend[i]),
				  err);
	}
	if (!p->failed && b->stage2 >= 0) {
		snprintf(p->err, p->errlen, "%s", b->err2);
		p->failed = 1;
	}
	if (!p->failed)
		conf_index_ranges(p, c);
	for (i = 0; i < b->cap; i++) {
		for (j = 0; j < b->pend[i].nusers; j++)
			free(b->pend[i].users[j]);
		free(b->pend[i].users);
		free(b->pend[i].file);
		for (j = 0; b->pend[i].gw_users && b->pend[i].gw_users[j]; j++)
			free(b->pend[i].gw_users[j]);
		free(b->pend[i].gw_users);
	}
	free(b->pend);
	free(b);
	if (p->failed) {
		conf_unref(c);
		return (NULL);
	}
	return (c);
}
