/*
 * rlink - the one Redis connection layer (see rlink.h)
 *
 * SYNOPSIS
 *	See rlink.h.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rlink.h"

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
	cfg->port = conf->redis.port;
	snprintf(cfg->host, sizeof(cfg->host), "%s", host);
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	snprintf(cfg->user, sizeof(cfg->user), "%s", user);
	snprintf(cfg->pass, sizeof(cfg->pass), "%s", pass);
	return (0);
}

/* rlink_cfg_same - 1 when a reconnect is not needed to go from a to b */
int
rlink_cfg_same(const struct rlink_cfg *a, const struct rlink_cfg *b)
{
	return (strcmp(a->host, b->host) == 0 && a->port == b->port
		&& strcmp(a->path, b->path) == 0 && strcmp(a->user, b->user) == 0
		&& strcmp(a->pass, b->pass) == 0 && a->database == b->database);
}

/*
 * rlink_hello - AUTH (with a user when there is one) and SELECT, as the
 * commands a new connection sends first; returns how many were sent.
 */
int
rlink_hello(const struct rlink_cfg *cfg, rlink_send_fn send, void *ctx)
{
	const char *argv[3];
	size_t	len[3];
	char	db[32];
	int	n = 0, sent = 0;

	if (cfg->pass[0]) {
		argv[n] = "AUTH";
		len[n++] = 4;
		if (cfg->user[0]) {
			argv[n] = cfg->user;
			len[n] = strlen(cfg->user);
			n++;
		}
		argv[n] = cfg->pass;
		len[n] = strlen(cfg->pass);
		n++;
		sent += send(ctx, n, argv, len) == 0;
	}
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
	if (!rlink_cfg_same(&old, &l->cfg))
		rlink_sync_close(l);
}

/* Connect, and queue AUTH and SELECT to go out with the first command. */
static int
rlink_sync_connect(struct rlink_sync *l, char *err, size_t errlen)
{
	struct timeval tv;
	redisContext *c;

	tv.tv_sec = l->cfg.timeout_ms / 1000;
	tv.tv_usec = (l->cfg.timeout_ms % 1000) * 1000;
	c = l->cfg.port ? redisConnectWithTimeout(l->cfg.host, l->cfg.port, tv)
		: redisConnectUnixWithTimeout(l->cfg.path, tv);
	if (c == NULL || c->err) {
		snprintf(err, errlen, "connect: %s", c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return (-1);
	}
	rlink_reader_guard(c->reader);
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		snprintf(err, errlen, "cannot set the timeout: %s", c->errstr);
		redisFree(c);
		return (-1);
	}
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
 * closed by the server while idle is reopened for one more try.
 */
redisReply *
rlink_sync_cmd(struct rlink_sync *l, int argc, const char **argv, const size_t *len,
	       char *err, size_t errlen)
{
	redisReply *r;
	int	attempt, stale;

	for (attempt = 0; attempt < 2; attempt++) {
		if (l->c == NULL && rlink_sync_connect(l, err, errlen) < 0)
			return (NULL);
		if ((r = rlink_sync_once(l, argc, argv, len, err, errlen)) != NULL)
			return (r);
		stale = l->used && (l->c->err == REDIS_ERR_EOF
				     || (l->c->err == REDIS_ERR_IO
					 && (errno == ECONNRESET || errno == EPIPE)));
		rlink_sync_close(l);
		if (!stale)
			break;
	}
	return (NULL);
}

