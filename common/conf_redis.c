/*
 * conf_redis - the redis { } section of relayguard.conf, built in the load
 *
 * SYNOPSIS
 *	conf_redis_build(&parse, conf, redis_section);
 *	conf_set_numeric_hosts(1);	-- fuzzing: no DNS
 *
 * DESCRIPTION
 *	The server (or the sentinels, or the cluster's seed nodes) resolved
 *	to numeric addresses and the password files read here, in the load,
 *	before the privilege drop at start-up and in the reload thread after
 *	it: so a link never waits on DNS or opens a file, and a reload that
 *	cannot read a file fails whole, keeping the old credentials.
 *
 * DIAGNOSTICS
 *	conf_fail() with the line of the option: an unreadable or empty
 *	password file, a name that does not resolve, a bad combination.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <confuse.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_priv.h"
#include "rlink.h"
#include "xmem.h"

static int conf_numeric_hosts;		/* no DNS (fuzzing): see conf_set_numeric_hosts */

/* conf_set_numeric_hosts - resolve no names, only numeric addresses (fuzzing) */
void
conf_set_numeric_hosts(int on)
{
	conf_numeric_hosts = on;
}

/*
 * conf_password - read Redis credentials into *user and *pass: the first
 * line of the file, "password" or "user password" (the password is the
 * rest of the line, blanks at either end trimmed).  opt and line name the
 * option (password_file, sentinel_password_file) in errors.
 */
static void
conf_password(struct conf_parse *p, const char *opt, const char *file, int line,
	      char **user, char **pass)
{
	char	path[4096], buf[PASS_LINE_MAX + 2], *s, *sp = NULL, *e;
	const char *why = NULL;
	FILE   *fp;
	size_t	n;

	conf_relpath(p, file, path, sizeof(path));
	if ((fp = conf_open(path, &why)) == NULL) {
		conf_fail(p, line, "%s %s: %s", opt, path, why);
		return;
	}
	if (fgets(buf, sizeof(buf), fp) == NULL)
		why = ferror(fp) ? "read error" : "empty";
	else if ((n = strlen(buf)) == sizeof(buf) - 1 && buf[n - 1] != '\n')
		why = "line too long";
	fclose(fp);
	for (s = buf; why == NULL && (*s == ' ' || *s == '\t'); s++)
		;
	if (why == NULL) {
		for (e = s + strlen(s); e > s && strchr(" \t\r\n", e[-1]); e--)
			;
		*e = 0;
		if ((sp = strpbrk(s, " \t")) != NULL) {
			*sp++ = 0;
			sp += strspn(sp, " \t");
		}
		if (*s == 0)
			why = "no password";
		else if (sp != NULL && strlen(s) > AUTH_USER_MAX)
			why = "user name too long";
		else if (strlen(sp ? sp : s) > AUTH_PASS_MAX)
			why = "password too long";
	}
	if (why != NULL)
		conf_fail(p, line, "%s %s: %s", opt, path, why);
	else {
		free(*user);
		free(*pass);
		*user = xstrdup(sp ? s : "");
		*pass = xstrdup(sp ? sp : s);
	}
	explicit_bzero(buf, sizeof(buf));
}

/*
 * conf_resolve - a Redis server or sentinel as a numeric address (*host,
 * *port), or a unix socket (*path, port 0; when path is not NULL).  The
 * clients connect from an event loop, where a DNS lookup would stop
 * every request; here it costs only the load.  Like hiredis, IPv4 first,
 * IPv6 when the name has no IPv4 address.
 */
static void
conf_resolve(struct conf_parse *p, const char *what, const char *server, int line,
	     char **hostp, int *portp, char **pathp)
{
	struct addrinfo hints, *res = NULL;
	const char *colon = strrchr(server, ':'), *h = server;
	char	host[256], num[NI_MAXHOST];
	size_t	hl;
	int	rc, family[] = { AF_INET, AF_INET6 }, i;

	*hostp = xstrdup("");
	if (pathp != NULL && strncmp(server, "unix:", 5) == 0) {
		*pathp = xstrdup(server + 5);
		return;
	}
	/* conf_v_server checked the form: host:port or [v6addr]:port */
	hl = (size_t) (colon - server);
	if (server[0] == '[') {
		h++;
		hl -= 2;
	}
	if (pathp != NULL)
		*pathp = xstrdup("");
	*portp = atoi(colon + 1);
	if (hl >= sizeof(host)) {
		conf_fail(p, line, "%s \"%s\": host name too long", what, server);
		return;
	}
	memcpy(host, h, hl);
	host[hl] = 0;
	for (i = 0, rc = EAI_NONAME; i < 2; i++) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = family[i];
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = conf_numeric_hosts ? AI_NUMERICHOST : 0;
		if ((rc = getaddrinfo(host, NULL, &hints, &res)) == 0)
			break;
		if (rc != EAI_NONAME && rc != EAI_NODATA && rc != EAI_ADDRFAMILY)
			break;
	}
	if (rc == 0)
		rc = getnameinfo(res->ai_addr, res->ai_addrlen, num, sizeof(num), NULL, 0,
				 NI_NUMERICHOST);
	if (res)
		freeaddrinfo(res);
	if (rc != 0) {
		conf_fail(p, line, "%s \"%s\": cannot resolve %s: %s", what, server, host,
			  rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return;
	}
	free(*hostp);
	*hostp = xstrdup(num);
}

/*
 * conf_sentinels - redis.sentinels, resolved, with their master's name
 * and credentials.  server is for a Redis without sentinels only.
 */
static void
conf_sentinels(struct conf_parse *p, struct rg_conf *c, cfg_t *r)
{
	size_t	i, n = cfg_size(r, "sentinels");
	int	line = (int) cfg_getint(r, "__sentinels_line");
	const char *pwf = cfg_getstr(r, "sentinel_password_file");

	c->redis.sentinel_master = xstrdup(cfg_getstr(r, "sentinel_master"));
	c->redis.sentinel_user = xstrdup("");
	c->redis.sentinel_pass = xstrdup("");
	if (n == 0) {
		if (*c->redis.sentinel_master || *pwf)
			conf_fail(p, (int) (*pwf ? cfg_getint(r, "__spw_line")
					    : cfg_getint(r, "__master_line")), "sentinel_master and sentinel_password_file "
				  "need sentinels");
		return;
	}
	if (cfg_getint(r, "__server_line") > 0)
		conf_fail(p, (int) cfg_getint(r, "__server_line"),
			  "server: not with sentinels (the sentinels name the master)");
	if (*c->redis.sentinel_master == 0)
		conf_fail(p, line, "sentinels: sentinel_master is required with sentinels");
	c->redis.nsentinels = n;
	c->redis.sentinel_host = xcalloc(n, sizeof(char *));
	c->redis.sentinel_port = xcalloc(n, sizeof(int));
	for (i = 0; i < n && !p->failed; i++)
		conf_resolve(p, "sentinel", cfg_getnstr(r, "sentinels", i), line, &c->redis.sentinel_host[i],
			     &c->redis.sentinel_port[i], NULL);
	if (*pwf)
		conf_password(p, "sentinel_password_file", pwf, (int) cfg_getint(r, "__spw_line"),
			      &c->redis.sentinel_user, &c->redis.sentinel_pass);
}

/*
 * conf_cluster - redis.cluster, the seed nodes, resolved.  Not with
 * server or sentinels; a cluster has database 0 only.
 */
static void
conf_cluster(struct conf_parse *p, struct rg_conf *c, cfg_t *r)
{
	size_t	i, n = cfg_size(r, "cluster");
	int	line = (int) cfg_getint(r, "__cluster_line");

	if (n == 0)
		return;
	if (cfg_getint(r, "__server_line") > 0 || cfg_size(r, "sentinels") > 0)
		conf_fail(p, line, "cluster: not with %s (the cluster's nodes serve the keys)",
			  cfg_size(r, "sentinels") > 0 ? "sentinels" : "server");
	if (cfg_getint(r, "database") != 0)
		conf_fail(p, line, "cluster: database must be 0 (a cluster has no other)");
	c->redis.ncluster = n;
	c->redis.cluster_host = xcalloc(n, sizeof(char *));
	c->redis.cluster_port = xcalloc(n, sizeof(int));
	for (i = 0; i < n && !p->failed; i++)
		conf_resolve(p, "cluster seed", cfg_getnstr(r, "cluster", i), line,
			     &c->redis.cluster_host[i], &c->redis.cluster_port[i], NULL);
}

/* conf_redis_build - the redis { } section, its files read and names resolved */
void
conf_redis_build(struct conf_parse *p, struct rg_conf *c, cfg_t *r)
{
	int	line;

	c->redis.server = xstrdup(cfg_getstr(r, "server"));
	c->redis.password_file = xstrdup(cfg_getstr(r, "password_file"));
	c->redis.auth_user = xstrdup("");
	c->redis.auth_pass = xstrdup("");
	line = (int) cfg_getint(r, "__server_line");
	conf_resolve(p, "server", c->redis.server, line > 0 ? line : r->line, &c->redis.host,
		     &c->redis.port, &c->redis.path);
	if (*c->redis.password_file)
		conf_password(p, "password_file", c->redis.password_file,
			      (int) cfg_getint(r, "__pw_line"), &c->redis.auth_user,
			      &c->redis.auth_pass);
	conf_sentinels(p, c, r);
	conf_cluster(p, c, r);
	c->redis.database = cfg_getint(r, "database");
	c->redis.timeout_ms = cfg_getint(r, "timeout_ms");
	c->redis.prefix = xstrdup(cfg_getstr(r, "prefix"));
}
