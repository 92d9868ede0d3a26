/*
 * rlink - the one Redis connection layer (see rlink.h)
 *
 * SYNOPSIS
 *	See rlink.h.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "rcluster.h"
#include "rlink.h"

/* The sentinels of conf; the master is not known yet. */
static int
rlink_cfg_sentinels(struct rlink_cfg *cfg, const struct rg_conf *conf, char *err,
		    size_t errlen)
{
	const char *m = conf->redis.sentinel_master ? conf->redis.sentinel_master : "";
	const char *su = conf->redis.sentinel_user ? conf->redis.sentinel_user : "";
	const char *sp = conf->redis.sentinel_pass ? conf->redis.sentinel_pass : "";
	size_t	i;

	snprintf(cfg->server, sizeof(cfg->server), "master %s", m);
	if (conf->redis.nsentinels > RLINK_SENTINELS_MAX || strlen(m) >= sizeof(cfg->master)
	    || strlen(su) >= sizeof(cfg->suser) || strlen(sp) >= sizeof(cfg->spass)) {
		snprintf(err, errlen, "redis sentinels: settings do not fit");
		return (-1);
	}
	for (i = 0; i < conf->redis.nsentinels; i++) {
		if (strlen(conf->redis.sentinel_host[i]) >= sizeof(cfg->sentinel[0].host))
			continue;
		snprintf(cfg->sentinel[cfg->nsentinels].host, sizeof(cfg->sentinel[0].host),
			 "%s", conf->redis.sentinel_host[i]);
		cfg->sentinel[cfg->nsentinels++].port = conf->redis.sentinel_port[i];
	}
	snprintf(cfg->master, sizeof(cfg->master), "%s", m);
	snprintf(cfg->suser, sizeof(cfg->suser), "%s", su);
	snprintf(cfg->spass, sizeof(cfg->spass), "%s", sp);
	return (0);
}

/*
 * rlink_cfg_load - the connection settings of conf.  conf_load() has
 * resolved the server to a numeric address and read the password file,
 * so no lookup and no file is needed here.  -1 with err only when a
 * value does not fit (never for a conf that conf_load() made); the
 * other settings are filled in even then.
 */
int
rlink_cfg_load(struct rlink_cfg *cfg, const struct rg_conf *conf, char *err, size_t errlen)
{
	const char *host = conf->redis.host ? conf->redis.host : "";
	const char *path = conf->redis.path ? conf->redis.path : "";
	const char *user = conf->redis.auth_user ? conf->redis.auth_user : "";
	const char *pass = conf->redis.auth_pass ? conf->redis.auth_pass : "";
	size_t	i;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->server, sizeof(cfg->server), "%s", conf->redis.server ? conf->redis.server : "");
	cfg->database = conf->redis.database;
	cfg->timeout_ms = conf->redis.timeout_ms > 0 ? conf->redis.timeout_ms : 100;
	if (strlen(host) >= sizeof(cfg->host) || strlen(path) >= sizeof(cfg->path)
	    || strlen(user) >= sizeof(cfg->user) || strlen(pass) >= sizeof(cfg->pass)
	    || (conf->redis.port > 0 ? *host == 0 : *path == 0)) {
		snprintf(err, errlen, "redis server %s: settings do not fit", cfg->server);
		return (-1);
	}
	snprintf(cfg->user, sizeof(cfg->user), "%s", user);
	snprintf(cfg->pass, sizeof(cfg->pass), "%s", pass);
	if (conf->redis.nsentinels > 0)
		return (rlink_cfg_sentinels(cfg, conf, err, errlen));
	for (i = 0; i < conf->redis.ncluster && i < RLINK_SEEDS_MAX; i++) {
		snprintf(cfg->seed[i].host, sizeof(cfg->seed[0].host), "%s", conf->redis.cluster_host[i]);
		cfg->seed[cfg->nseeds++].port = conf->redis.cluster_port[i];
	}
	if (cfg->nseeds > 0) {
		snprintf(cfg->server, sizeof(cfg->server), "cluster");
		return (0);
	}
	cfg->port = conf->redis.port;
	snprintf(cfg->host, sizeof(cfg->host), "%s", host);
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	return (0);
}

/*
 * rlink_cfg_same - 1 when a reconnect is not needed to go from a to b
 * (with sentinels: the same sentinels, master name and credentials)
 */
int
rlink_cfg_same(const struct rlink_cfg *a, const struct rlink_cfg *b)
{
	int	i;

	if (a->nsentinels != b->nsentinels || strcmp(a->master, b->master) != 0
	    || strcmp(a->suser, b->suser) != 0 || strcmp(a->spass, b->spass) != 0)
		return (0);
	for (i = 0; i < a->nsentinels; i++)
		if (strcmp(a->sentinel[i].host, b->sentinel[i].host) != 0
		    || a->sentinel[i].port != b->sentinel[i].port)
			return (0);
	if (a->nseeds != b->nseeds)
		return (0);
	for (i = 0; i < a->nseeds; i++)
		if (strcmp(a->seed[i].host, b->seed[i].host) != 0 || a->seed[i].port != b->seed[i].port)
			return (0);
	return ((a->nsentinels > 0 || a->nseeds > 0 || (strcmp(a->host, b->host) == 0 && a->port == b->port
				       && strcmp(a->path, b->path) == 0))
		&& strcmp(a->user, b->user) == 0 && strcmp(a->pass, b->pass) == 0
		&& a->database == b->database);
}

/* rlink_cfg_keep_master - a reload that keeps the sentinels keeps their answer */
void
rlink_cfg_keep_master(struct rlink_cfg *now, const struct rlink_cfg *before)
{
	if (now->nsentinels > 0 && rlink_cfg_same(now, before)) {
		memcpy(now->host, before->host, sizeof(now->host));
		now->port = before->port;
		memcpy(now->server, before->server, sizeof(now->server));
	}
}

/* rlink_cfg_master - take the master the sentinels named; 1 when it changed */
int
rlink_cfg_master(struct rlink_cfg *cfg, const char *host, int port)
{
	if (strcmp(cfg->host, host) == 0 && cfg->port == port)
		return (0);
	snprintf(cfg->host, sizeof(cfg->host), "%s", host);
	cfg->port = port;
	snprintf(cfg->server, sizeof(cfg->server), "%s%s%s:%d (master %s)",
		 strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port,
		 cfg->master);
	return (1);
}

/* AUTH [user] pass, when there is a password; 1 when it was sent */
static int
rlink_auth(const char *user, const char *pass, rlink_send_fn send, void *ctx)
{
	const char *argv[3];
	size_t	len[3];
	int	n = 0;

	if (pass[0] == 0)
		return (0);
	argv[n] = "AUTH";
	len[n++] = 4;
	if (user[0]) {
		argv[n] = user;
		len[n++] = strlen(user);
	}
	argv[n] = pass;
	len[n++] = strlen(pass);
	return (send(ctx, n, argv, len) == 0);
}

/*
 * rlink_hello - AUTH (with a user when there is one) and SELECT, as the
 * commands a new connection sends first; returns how many were sent.
 */
int
rlink_hello(const struct rlink_cfg *cfg, rlink_send_fn send, void *ctx)
{
	const char *argv[2];
	size_t	len[2];
	char	db[32];
	int	sent;

	sent = rlink_auth(cfg->user, cfg->pass, send, ctx);
	if (cfg->database != 0) {
		snprintf(db, sizeof(db), "%ld", cfg->database);
		argv[0] = "SELECT";
		len[0] = 6;
		argv[1] = db;
		len[1] = strlen(db);
		sent += send(ctx, 2, argv, len) == 0;
	}
	return (sent);
}

/*
 * rlink_sentinel_ask - what a new sentinel connection sends: AUTH with
 * the sentinel credentials, then SENTINEL get-master-addr-by-name.
 * Returns how many commands were sent (the answer's reply comes last).
 */
int
rlink_sentinel_ask(const struct rlink_cfg *cfg, rlink_send_fn send, void *ctx)
{
	const char *argv[3] = { "SENTINEL", "get-master-addr-by-name", cfg->master };
	size_t	len[3] = { 8, 23, strlen(cfg->master) };
	int	sent = rlink_auth(cfg->suser, cfg->spass, send, ctx);

	return (sent + (send(ctx, 3, argv, len) == 0));
}

/* rlink_addr_parse - a numeric address and a port number, as a sentinel or a cluster node sends them */
int
rlink_addr_parse(const char *h, size_t hl, const char *p, size_t pl, char *host,
		 size_t hostlen, int *port)
{
	unsigned char a[16];
	char	buf[64];
	long	v = 0;
	size_t	i;

	if (hl == 0 || hl >= sizeof(buf) || hl >= hostlen || pl == 0 || pl > 5
	    || memchr(h, 0, hl) != NULL)
		return (-1);
	memcpy(buf, h, hl);
	buf[hl] = 0;
	if (inet_pton(AF_INET, buf, a) != 1 && inet_pton(AF_INET6, buf, a) != 1)
		return (-1);
	for (i = 0; i < pl; i++) {
		if (p[i] < '0' || p[i] > '9')
			return (-1);
		v = v * 10 + (p[i] - '0');
	}
	if (v < 1 || v > 65535)
		return (-1);
	memcpy(host, buf, hl + 1);
	*port = (int) v;
	return (0);
}

static int
rlink_is_str(const redisReply *r)
{
	return (r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
		&& r->str != NULL);
}

/*
 * rlink_sentinel_addr - the answer to get-master-addr-by-name: two
 * strings, a numeric address and a port.  -1 for anything else (nil:
 * the sentinel knows no such master).
 */
int
rlink_sentinel_addr(const redisReply *r, char *host, size_t hostlen, int *port)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2
	    || !rlink_is_str(r->element[0]) || !rlink_is_str(r->element[1]))
		return (-1);
	return (rlink_addr_parse(r->element[0]->str, r->element[0]->len, r->element[1]->str,
				 r->element[1]->len, host, hostlen, port));
}

/*
 * rlink_sentinel_switch - a message on +switch-master: "message",
 * "+switch-master", "name old-ip old-port new-ip new-port".  1 with the
 * new master when it is master's, 0 for another master or another kind
 * of reply (the subscription's confirmation), -1 when malformed.
 */
int
rlink_sentinel_switch(const redisReply *r, const char *master, char *host, size_t hostlen,
		      int *port)
{
	const char *w[5], *s, *e;
	size_t	wl[5];
	int	n = 0;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3
	    || !rlink_is_str(r->element[0]) || !rlink_is_str(r->element[1])
	    || r->element[0]->len != 7 || strncasecmp(r->element[0]->str, "message", 7) != 0)
		return (0);
	if (r->element[1]->len != 14 || memcmp(r->element[1]->str, "+switch-master", 14) != 0)
		return (0);
	if (!rlink_is_str(r->element[2]))
		return (-1);
	s = r->element[2]->str;
	e = s + r->element[2]->len;
	while (s < e) {
		const char *sp = memchr(s, ' ', (size_t) (e - s));

		if (n == 5)
			return (-1);
		w[n] = s;
		wl[n] = (size_t) ((sp ? sp : e) - s);
		n++;
		s = sp ? sp + 1 : e;
	}
	if (n != 5)
		return (-1);
	if (wl[0] != strlen(master) || memcmp(w[0], master, wl[0]) != 0)
		return (0);
	return (rlink_addr_parse(w[3], wl[3], w[4], wl[4], host, hostlen, port) == 0 ? 1 : -1);
}

/*
 * rlink_readonly - 1 when a write was refused because the server is a
 * replica now: "-READONLY ...", also as a script's error.
 */
int
rlink_readonly(const redisReply *r)
{
	return (r != NULL && r->type == REDIS_REPLY_ERROR && r->str != NULL
		&& (strncmp(r->str, "READONLY", 8) == 0
		    || strstr(r->str, "-READONLY") != NULL
		    || strstr(r->str, "write against a read only replica") != NULL));
}

/* rlink_log_err - a per-call failure, logged at most once a second */
void
rlink_log_err(struct rlink_log *log, const struct rlink_cfg *cfg, const char *what,
	      const char *why)
{
	time_t	now = time(NULL);

	if (now == log->last)
		return;
	log->last = now;
	msg_warn("quota: redis %s: %s: %s", cfg->server, what, why);
}

/* rlink_log_down, rlink_log_up - an outage, logged once at its start and end */
void
rlink_log_down(struct rlink_log *log, const struct rlink_cfg *cfg, const char *why)
{
	if (!log->down)
		msg_warn("quota: redis %s unavailable: %s", cfg->server, why);
	log->down = 1;
}

void
rlink_log_up(struct rlink_log *log, const struct rlink_cfg *cfg)
{
	if (log->down)
		msg_info("quota: redis %s is back", cfg->server);
	log->down = 0;
}

/*
 * Reply size guard.  hiredis 0.14 allocates whatever element count a
 * "*N" header announces, so one broken or hostile reply could take
 * gigabytes.  relayguard's commands are answered with a few elements: an array longer
 * than RLINK_REPLY_MAX_ELEMENTS is refused, which hiredis reports as a
 * reader error (the call fails, the connection is dropped).  hiredis 1.x
 * checks the announced count itself (maxelements) before allocating;
 * both versions also go through a wrapped createArray, which sees the
 * real count (1.x doubles a RESP3 map's after its check).  The wrapped
 * table is a copy of hiredis' own defaults with that one member
 * replaced, never filled in by us: every other member, whichever the
 * version has (1.x added createDouble and createBool and takes the count
 * as size_t), stays hiredis' own and none is ever NULL.
 */
#define RLINK_REPLY_MAX_ELEMENTS	1024

#if HIREDIS_MAJOR >= 1
typedef size_t rlink_nelem_t;		/* createArray's element count */
#else
typedef int rlink_nelem_t;
#endif

static redisReplyObjectFunctions rlink_reader_orig, rlink_reader_fns;
static int rlink_reader_ready;

static void *
rlink_reader_array(const redisReadTask *task, rlink_nelem_t elements)
{
	if (elements > RLINK_REPLY_MAX_ELEMENTS)
		return (NULL);
	return (rlink_reader_orig.createArray(task, elements));
}

/* rlink_reader_guard - cap the replies a hiredis reader will build */
void
rlink_reader_guard(redisReader *r)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

	if (r == NULL || r->fn == NULL || r->fn == &rlink_reader_fns)
		return;
#if HIREDIS_MAJOR >= 1
	r->maxelements = RLINK_REPLY_MAX_ELEMENTS;
#endif
	pthread_mutex_lock(&lock);
	if (!rlink_reader_ready) {
		/* hiredis' defaults, the same table for every reader */
		rlink_reader_orig = *r->fn;
		rlink_reader_fns = *r->fn;
		rlink_reader_fns.createArray = rlink_reader_array;
		rlink_reader_ready = 1;
	}
	pthread_mutex_unlock(&lock);
	r->fn = &rlink_reader_fns;
}

/* --- the blocking link ------------------------------------------------- */

static int
rlink_sync_append(void *ctx, int argc, const char **argv, const size_t *len)
{
	return (redisAppendCommandArgv(ctx, argc, argv, len) == REDIS_OK ? 0 : -1);
}

/* rlink_sync_close - drop the connection (the next command reopens it) */
void
rlink_sync_close(struct rlink_sync *l)
{
	if (l->c)
		redisFree(l->c);
	l->c = NULL;
	rcluster_sync_free(l->cl);
	l->cl = NULL;
	l->hello = 0;
	l->used = 0;
}

/* rlink_sync_settings - take conf's settings when conf is not the one seen last */
void
rlink_sync_settings(struct rlink_sync *l, const struct rg_conf *conf)
{
	struct rlink_cfg old = l->cfg;
	char	err[400];

	if (l->gen != 0 && conf->generation == l->gen)
		return;
	l->gen = conf->generation;
	if (rlink_cfg_load(&l->cfg, conf, err, sizeof(err)) < 0)
		msg_warn("redis: %s", err);
	rlink_cfg_keep_master(&l->cfg, &old);
	if (!rlink_cfg_same(&old, &l->cfg)) {
		rlink_sync_close(l);
		l->asked_ms = 0;
	}
}

static long long
rlink_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* A blocking connection to host:port (or the unix socket path) with the timeout. */
static redisContext *
rlink_sync_open(const struct rlink_cfg *cfg, const char *host, int port, char *err,
		size_t errlen)
{
	struct timeval tv;
	redisContext *c;

	tv.tv_sec = cfg->timeout_ms / 1000;
	tv.tv_usec = (cfg->timeout_ms % 1000) * 1000;
	c = port ? redisConnectWithTimeout(host, port, tv)
		: redisConnectUnixWithTimeout(cfg->path, tv);
	if (c == NULL || c->err) {
		snprintf(err, errlen, "connect: %s", c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return (NULL);
	}
	rlink_reader_guard(c->reader);
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		snprintf(err, errlen, "cannot set the timeout: %s", c->errstr);
		redisFree(c);
		return (NULL);
	}
	return (c);
}

/* Ask one sentinel for the master: 0 with host and port. */
static int
rlink_sync_ask(struct rlink_sync *l, int i, char *host, size_t hostlen, int *port,
	       char *err, size_t errlen)
{
	redisContext *c;
	void   *r = NULL;
	int	n, rc = -1;

	if ((c = rlink_sync_open(&l->cfg, l->cfg.sentinel[i].host, l->cfg.sentinel[i].port,
				 err, errlen)) == NULL)
		return (-1);
	for (n = rlink_sentinel_ask(&l->cfg, rlink_sync_append, c); n > 0; n--) {
		if (redisGetReply(c, &r) != REDIS_OK) {
			snprintf(err, errlen, "%s", c->errstr[0] ? c->errstr : "connection lost");
			break;
		}
		if (n > 1 && ((redisReply *) r)->type == REDIS_REPLY_ERROR)
			snprintf(err, errlen, "AUTH: %s", ((redisReply *) r)->str);
		else if (n == 1 && (rc = rlink_sentinel_addr(r, host, hostlen, port)) < 0)
			snprintf(err, errlen, "no address for master %s", l->cfg.master);
		freeReplyObject(r);
	}
	redisFree(c);
	return (rc);
}

/*
 * The master, asked of the sentinels when there is no connection or the
 * last answer is a second old; a new master closes the connection.
 */
static int
rlink_sync_master(struct rlink_sync *l, char *err, size_t errlen)
{
	char	host[64], why[300] = "no sentinel";
	int	k, i, port;
	long long now = rlink_now_ms();

	if (l->c != NULL && l->asked_ms != 0 && now - l->asked_ms < 1000)
		return (0);
	for (k = 0; k < l->cfg.nsentinels; k++) {
		i = (l->si + k) % l->cfg.nsentinels;
		if (rlink_sync_ask(l, i, host, sizeof(host), &port, why, sizeof(why)) == 0) {
			l->si = i;
			l->asked_ms = now;
			if (rlink_cfg_master(&l->cfg, host, port) && l->c != NULL) {
				msg_info("redis: sentinels name %s", l->cfg.server);
				rlink_sync_close(l);
			}
			return (0);
		}
		rlink_log_err(&l->log, &l->cfg, "sentinel", why);
	}
	snprintf(err, errlen, "sentinels: %s", why);
	if (l->c == NULL || l->cfg.port == 0)
		return (-1);
	l->asked_ms = now;		/* no sentinel answers: keep the master we have */
	return (0);
}

/* Connect, and queue AUTH and SELECT to go out with the first command. */
static int
rlink_sync_connect(struct rlink_sync *l, char *err, size_t errlen)
{
	redisContext *c;

	if ((c = rlink_sync_open(&l->cfg, l->cfg.host, l->cfg.port, err, errlen)) == NULL)
		return (-1);
	l->c = c;
	l->used = 0;
	l->hello = rlink_hello(&l->cfg, rlink_sync_append, c);
	return (0);
}

/* One command on an open connection; NULL when the connection broke. */
static redisReply *
rlink_sync_once(struct rlink_sync *l, int argc, const char **argv, const size_t *len,
		char *err, size_t errlen)
{
	void   *r = NULL;

	if (redisAppendCommandArgv(l->c, argc, argv, len) != REDIS_OK)
		goto broken;
	for (; l->hello > 0; l->hello--) {
		if (redisGetReply(l->c, &r) != REDIS_OK)
			goto broken;
		if (((redisReply *) r)->type == REDIS_REPLY_ERROR)
			rlink_log_err(&l->log, &l->cfg, "AUTH/SELECT", ((redisReply *) r)->str);
		freeReplyObject(r);
	}
	if (redisGetReply(l->c, &r) != REDIS_OK)
		goto broken;
	l->used = 1;
	return (r);
broken:
	snprintf(err, errlen, "%s", l->c->errstr[0] ? l->c->errstr : "connection lost");
	return (NULL);
}

/*
 * rlink_sync_cmd - send one command and wait for its reply.  A connection
 * closed by the server while idle is reopened for one more try; with
 * sentinels, so is a command a replica refused (-READONLY), after they
 * were asked again.
 */
redisReply *
rlink_sync_cmd(struct rlink_sync *l, int argc, const char **argv, const size_t *len,
	       char *err, size_t errlen)
{
	redisReply *r;
	int	attempt, stale, sentinels = l->cfg.nsentinels > 0;

	for (attempt = 0; attempt < 2; attempt++) {
		if (sentinels && rlink_sync_master(l, err, errlen) < 0)
			return (NULL);
		if (l->c == NULL && rlink_sync_connect(l, err, errlen) < 0) {
			l->asked_ms = 0;
			return (NULL);
		}
		if ((r = rlink_sync_once(l, argc, argv, len, err, errlen)) != NULL) {
			if (!sentinels || attempt > 0 || !rlink_readonly(r))
				return (r);
			rlink_log_err(&l->log, &l->cfg, "asking the sentinels again", r->str);
			freeReplyObject(r);
			rlink_sync_close(l);
			l->asked_ms = 0;
			continue;
		}
		stale = l->used && (l->c->err == REDIS_ERR_EOF
				     || (l->c->err == REDIS_ERR_IO
					 && (errno == ECONNRESET || errno == EPIPE)));
		rlink_sync_close(l);
		l->asked_ms = 0;
		if (!stale)
			break;
	}
	return (NULL);
}

