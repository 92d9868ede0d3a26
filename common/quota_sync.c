/*
 * quota_sync - relay quotas for blocking front ends: relayguard-milter's
 * worker threads (one object per thread) and relayguardctl
 *
 * SYNOPSIS
 *	See quota.h.  Same script and keys as quota.c (quota_req.c).
 *
 * DESCRIPTION
 *	The connection is opened on first use and again after any failure;
 *	AUTH and SELECT are pipelined with the first command, so a decision
 *	is one round trip even on a fresh connection.  redisSetTimeout()
 *	bounds every read and write by redis.timeout_ms.  A reused
 *	connection that turns out closed (Redis restarted) is reopened and
 *	the command sent once more; a timeout is never retried.
 *
 *	The settings are re-read when a call passes a configuration of
 *	another generation than the previous call (a reload).  Not its
 *	address: a new object may be allocated where a freed one was.
 *
 *	quota_sync_show() reads without writing (no bucket is trimmed), so
 *	inspecting consumes and changes nothing.
 *
 * DIAGNOSTICS
 *	Failures are logged (at most once a second per object) and answered
 *	QUOTA_BACKEND_ERROR; show and reset print to stderr and return -1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "log.h"
#include "quota_priv.h"
#include "xmem.h"

struct quota_sync {
	struct quota_cfg cfg;
	unsigned long gen;		/* the settings came from this load */
	redisContext *c;
	int	hello;			/* AUTH/SELECT replies still to read */
	int	used;			/* c has answered a command */
	time_t	last_log;
};

static void
quota_sync_log(struct quota_sync *qs, const char *what, const char *why)
{
	time_t	now = time(NULL);

	if (now == qs->last_log)
		return;
	qs->last_log = now;
	msg_warn("quota: redis %s: %s: %s", qs->cfg.server, what, why);
}

static void
quota_sync_close(struct quota_sync *qs)
{
	if (qs->c)
		redisFree(qs->c);
	qs->c = NULL;
	qs->hello = 0;
	qs->used = 0;
}

/* Take conf's settings when conf is not the one seen last. */
static void
quota_sync_settings(struct quota_sync *qs, const struct rg_conf *conf)
{
	struct quota_cfg old = qs->cfg;
	char	err[400];

	if (qs->gen != 0 && conf->generation == qs->gen)
		return;
	qs->gen = conf->generation;
	if (quota_cfg_load(&qs->cfg, conf, err, sizeof(err)) < 0)
		msg_warn("quota: %s", err);
	if (!quota_cfg_same(&old, &qs->cfg))
		quota_sync_close(qs);
}

/* Connect, and queue AUTH and SELECT to go out with the first command. */
static int
quota_sync_connect(struct quota_sync *qs, char *err, size_t errlen)
{
	struct timeval tv;
	redisContext *c;
	const char *argv[3];
	size_t	len[3];
	char	db[32];
	int	n = 0;

	tv.tv_sec = qs->cfg.timeout_ms / 1000;
	tv.tv_usec = (qs->cfg.timeout_ms % 1000) * 1000;
	c = qs->cfg.port ? redisConnectWithTimeout(qs->cfg.host, qs->cfg.port, tv)
		: redisConnectUnixWithTimeout(qs->cfg.path, tv);
	if (c == NULL || c->err) {
		snprintf(err, errlen, "connect: %s", c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return (-1);
	}
	quota_reader_guard(c->reader);
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		snprintf(err, errlen, "cannot set the timeout: %s", c->errstr);
		redisFree(c);
		return (-1);
	}
	qs->c = c;
	qs->hello = 0;
	qs->used = 0;
	if (qs->cfg.pass[0]) {
		argv[n] = "AUTH";
		len[n++] = 4;
		if (qs->cfg.user[0]) {
			argv[n] = qs->cfg.user;
			len[n] = strlen(qs->cfg.user);
			n++;
		}
		argv[n] = qs->cfg.pass;
		len[n] = strlen(qs->cfg.pass);
		n++;
		redisAppendCommandArgv(c, n, argv, len);
		qs->hello++;
	}
	if (qs->cfg.database != 0) {
		snprintf(db, sizeof(db), "%ld", qs->cfg.database);
		argv[0] = "SELECT";
		len[0] = 6;
		argv[1] = db;
		len[1] = strlen(db);
		redisAppendCommandArgv(c, 2, argv, len);
		qs->hello++;
	}
	return (0);
}

/* One command on an open connection; NULL when the connection broke. */
static redisReply *
quota_sync_once(struct quota_sync *qs, int argc, const char **argv, const size_t *len,
		char *err, size_t errlen)
{
	void   *r = NULL;

	if (redisAppendCommandArgv(qs->c, argc, argv, len) != REDIS_OK)
		goto broken;
	for (; qs->hello > 0; qs->hello--) {
		if (redisGetReply(qs->c, &r) != REDIS_OK)
			goto broken;
		if (((redisReply *) r)->type == REDIS_REPLY_ERROR)
			quota_sync_log(qs, "AUTH/SELECT", ((redisReply *) r)->str);
		freeReplyObject(r);
	}
	if (redisGetReply(qs->c, &r) != REDIS_OK)
		goto broken;
	qs->used = 1;
	return (r);
broken:
	snprintf(err, errlen, "%s", qs->c->errstr[0] ? qs->c->errstr : "connection lost");
	return (NULL);
}

/*
 * Send one command and wait for its reply.  A connection closed by the
 * server while idle is reopened for one more try.
 */
static redisReply *
quota_sync_cmd(struct quota_sync *qs, int argc, const char **argv, const size_t *len,
	       char *err, size_t errlen)
{
	redisReply *r;
	int	attempt, stale;

	for (attempt = 0; attempt < 2; attempt++) {
		if (qs->c == NULL && quota_sync_connect(qs, err, errlen) < 0)
			return (NULL);
		if ((r = quota_sync_once(qs, argc, argv, len, err, errlen)) != NULL)
			return (r);
		stale = qs->used && (qs->c->err == REDIS_ERR_EOF
				     || (qs->c->err == REDIS_ERR_IO
					 && (errno == ECONNRESET || errno == EPIPE)));
		quota_sync_close(qs);
		if (!stale)
			break;
	}
	return (NULL);
}

/* Run a script request: EVALSHA, and EVAL once if Redis lacks the script. */
static enum quota_result
quota_sync_run(struct quota_sync *qs, struct quota_req *rq)
{
	redisReply *r;
	enum quota_result res;
	char	err[400];

	r = quota_sync_cmd(qs, rq->argc, rq->argv, rq->len, err, sizeof(err));
	if (r != NULL && quota_req_noscript(r)) {
		freeReplyObject(r);
		quota_req_eval(rq);
		r = quota_sync_cmd(qs, rq->argc, rq->argv, rq->len, err, sizeof(err));
	}
	if (r == NULL) {
		quota_sync_log(qs, "unavailable", err);
		return (QUOTA_BACKEND_ERROR);
	}
	res = quota_req_result(r, err, sizeof(err));
	if (res == QUOTA_BACKEND_ERROR)
		quota_sync_log(qs, "script", err);
	freeReplyObject(r);
	return (res);
}

/* quota_sync_create - a blocking quota client; connects on first use */
struct quota_sync *
quota_sync_create(const struct rg_conf *conf)
{
	struct quota_sync *qs = xcalloc(1, sizeof(*qs));

	quota_sync_settings(qs, conf);
	return (qs);
}

/* quota_sync_free - close and free */
void
quota_sync_free(struct quota_sync *qs)
{
	if (qs == NULL)
		return;
	quota_sync_close(qs);
	free(qs);
}

/* quota_sync_reserve - count one accepted RCPT */
enum quota_result
quota_sync_reserve(struct quota_sync *qs, const struct rg_conf *conf,
		   const struct rg_txn *t, const struct rg_verdict *v)
{
	struct quota_req *rq = xmalloc(sizeof(*rq));
	enum quota_result res = QUOTA_BACKEND_ERROR;
	char	err[200];

	quota_sync_settings(qs, conf);
	if (quota_req_reserve(rq, conf, t, v, err, sizeof(err)) == 0)
		res = quota_sync_run(qs, rq);
	else
		quota_sync_log(qs, "request", err);
	free(rq);
	return (res);
}

static enum quota_result
quota_sync_finish(struct quota_sync *qs, enum quota_op op, const struct rg_conf *conf,
		  const struct rg_txn *t, const char *customer)
{
	struct quota_req *rq = xmalloc(sizeof(*rq));
	enum quota_result res = QUOTA_BACKEND_ERROR;
	char	err[200];

	quota_sync_settings(qs, conf);
	if (quota_req_finish(rq, op, conf, t, customer, err, sizeof(err)) == 0)
		res = quota_sync_run(qs, rq);
	else
		quota_sync_log(qs, "request", err);
	free(rq);
	return (res);
}

/* quota_sync_commit - make the transaction's reservation permanent usage */
enum quota_result
quota_sync_commit(struct quota_sync *qs, const struct rg_conf *conf,
		  const struct rg_txn *t, const char *customer)
{
	return (quota_sync_finish(qs, QOP_COMMIT, conf, t, customer));
}

/* quota_sync_release - give the transaction's reservation back now */
enum quota_result
quota_sync_release(struct quota_sync *qs, const struct rg_conf *conf,
		   const struct rg_txn *t, const char *customer)
{
	return (quota_sync_finish(qs, QOP_RELEASE, conf, t, customer));
}

/* The "who" of show and reset: a customer name, else a user address. */
static int
quota_sync_who(const struct rg_conf *conf, const char *who,
	       const struct rg_customer **cu, const struct rg_user **u)
{
	struct rg_addr a;
	const char *why;

	*u = NULL;
	if ((*cu = conf_customer(conf, who)) != NULL)
		return (0);
	if (addr_parse(who, &a, &why) == 0 && !a.null && (*u = conf_user(conf, a.key)) != NULL) {
		*cu = (*u)->customer;
		return (0);
	}
	fprintf(stderr, "quota: \"%s\" is neither a customer nor a registered user\n", who);
	return (-1);
}

/*
 * An array of strings, or with nested, of strings and arrays of strings
 * (SCAN), as show and reset read them: any other element (nil, integer,
 * the RESP3 types of hiredis 1.x) has no text to read.
 */
static int
quota_sync_strings(const redisReply *r, int nested)
{
	size_t	i;

	for (i = 0; i < r->elements; i++)
		if (!(r->element[i]->type == REDIS_REPLY_STRING && r->element[i]->str)
		    && !(nested && r->element[i]->type == REDIS_REPLY_ARRAY
			 && quota_sync_strings(r->element[i], 0)))
			return (0);
	return (1);
}

/* A command for show/reset from up to 8 strings; prints failures. */
static redisReply *
quota_sync_ask(struct quota_sync *qs, int type, int argc, const char **argv)
{
	size_t	len[8];
	redisReply *r;
	char	err[400];
	int	i;

	for (i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	if ((r = quota_sync_cmd(qs, argc, argv, len, err, sizeof(err))) == NULL) {
		fprintf(stderr, "quota: redis %s: %s\n", qs->cfg.server, err);
		return (NULL);
	}
	if (r->type != type || (type == REDIS_REPLY_ARRAY
				  && !quota_sync_strings(r, strcmp(argv[0], "SCAN") == 0))) {
		fprintf(stderr, "quota: redis %s: %s: %s\n", qs->cfg.server, argv[0],
			r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		return (NULL);
	}
	return (r);
}

static void
quota_sync_span(char *buf, size_t len, double secs)
{
	long	s = (long) (secs + 0.999);

	if (s >= 3600)
		snprintf(buf, len, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
	else if (s >= 60)
		snprintf(buf, len, "%ldm%02lds", s / 60, s % 60);
	else
		snprintf(buf, len, "%lds", s);
}

/* One line of show: usage of a limit and when the next part frees up. */
static void
quota_sync_line(FILE *out, const char *name, int64_t used, int64_t limit, int64_t next_n,
		double next_at, double now)
{
	char	span[32], when[64];
	time_t	t = (time_t) next_at;
	struct tm tm;

	fprintf(out, "  %-30s %" PRId64 " of %" PRId64 " used, %" PRId64 " left", name, used, limit,
		limit > used ? limit - used : 0);
	if (next_n > 0) {
		quota_sync_span(span, sizeof(span), next_at - now);
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		fprintf(out, "; %" PRId64 " free%s in %s (%s)", next_n, used > next_n ? " up" : "",
			span, when);
	}
	fputc('\n', out);
}

/* Live sum, earliest live bucket and its count of a bucket hash. */
static int
quota_sync_buckets(struct quota_sync *qs, const char *key, double now, FILE *out,
		   const char *name, int64_t limit)
{
	const char *argv[] = { "HGETALL", key };
	redisReply *r;
	long	sum = 0, first_n = 0, v;
	double	first = 0, e;
	char   *end;
	size_t	i;

	if ((r = quota_sync_ask(qs, REDIS_REPLY_ARRAY, 2, argv)) == NULL)
		return (-1);
	for (i = 0; i + 1 < r->elements; i += 2) {
		e = strtod(r->element[i]->str, &end);
		v = strtol(r->element[i + 1]->str, NULL, 10);
		if (*end != 0 || end == r->element[i]->str || e <= now || v <= 0)
			continue;	/* the cache fields s and t, or a dead bucket */
		sum += v;
		if (first == 0 || e < first) {
			first = e;
			first_n = v;
		}
	}
	freeReplyObject(r);
	quota_sync_line(out, name, sum, limit, first_n, first, now);
	return (0);
}

/* The user's unique recipients: members whose score is still ahead. */
static int
quota_sync_rcpts(struct quota_sync *qs, const char *key, double now, FILE *out, int64_t limit)
{
	char	from[64], upto[64];
	const char *count[] = { "ZCOUNT", key, from, "+inf" };
	const char *first[] = { "ZRANGEBYSCORE", key, from, "+inf", "WITHSCORES", "LIMIT", "0", "1" };
	redisReply *r;
	long	n, next_n = 0;
	double	next = 0;

	snprintf(from, sizeof(from), "(%.6f", now);
	if ((r = quota_sync_ask(qs, REDIS_REPLY_INTEGER, 4, count)) == NULL)
		return (-1);
	n = (long) r->integer;
	freeReplyObject(r);
	if ((r = quota_sync_ask(qs, REDIS_REPLY_ARRAY, 8, first)) == NULL)
		return (-1);
	if (r->elements == 2) {
		next = strtod(r->element[1]->str, NULL);
		next_n = 1;
	}
	freeReplyObject(r);
	if (next_n) {
		const char *same[] = { "ZCOUNT", key, from, upto };

		snprintf(upto, sizeof(upto), "%.6f", next);
		if ((r = quota_sync_ask(qs, REDIS_REPLY_INTEGER, 4, same)) == NULL)
			return (-1);
		next_n = (long) r->integer;
		freeReplyObject(r);
	}
	quota_sync_line(out, "user_recipients_per_day", n, limit, next_n, next, now);
	return (0);
}

/* quota_sync_show - usage of a customer or user against each limit */
int
quota_sync_show(struct quota_sync *qs, const struct rg_conf *conf, const char *who, FILE *out)
{
	const struct rg_customer *cu;
	const struct rg_user *u;
	const char *time_argv[] = { "TIME" };
	const char *p = conf->redis.prefix;
	char	key[QUOTA_KEY_MAX];
	redisReply *r;
	double	now;

	if (quota_sync_who(conf, who, &cu, &u) < 0)
		return (-1);
	quota_sync_settings(qs, conf);
	if ((r = quota_sync_ask(qs, REDIS_REPLY_ARRAY, 1, time_argv)) == NULL)
		return (-1);
	now = r->elements == 2 ? strtod(r->element[0]->str, NULL)
		+ strtod(r->element[1]->str, NULL) / 1e6 : (double) time(NULL);
	freeReplyObject(r);
	if (u) {
		fprintf(out, "user %s (customer %s)\n", u->address, cu->name);
		if (quota_key(key, sizeof(key), p, cu->name, "user", u->address, "msgs") < 0
		    || quota_sync_buckets(qs, key, now, out, "user_messages_per_day",
					  cu->limits.user_messages_per_day) < 0)
			return (-1);
		if (quota_key(key, sizeof(key), p, cu->name, "user", u->address, "rcpts") < 0
		    || quota_sync_rcpts(qs, key, now, out, cu->limits.user_recipients_per_day) < 0)
			return (-1);
	}
	fprintf(out, "customer %s (%s, %ld licences)\n", cu->name, billing_name(cu->billing),
		cu->licenses);
	quota_key(key, sizeof(key), p, cu->name, "cust", "day", NULL);
	if (quota_sync_buckets(qs, key, now, out, "customer_recipients_per_day",
			       cu->limits.customer_recipients_per_day) < 0)
		return (-1);
	quota_key(key, sizeof(key), p, cu->name, "cust", "10m", NULL);
	if (quota_sync_buckets(qs, key, now, out, "customer_recipients_per_10min",
			       cu->limits.customer_recipients_per_10min) < 0)
		return (-1);
	return (0);
}

/* Escape glob characters for SCAN MATCH. */
static void
quota_sync_glob(char *out, size_t len, const char *in)
{
	size_t	o = 0;

	for (; *in && o + 3 < len; in++) {
		if (strchr("*?[]\\", *in))
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = 0;
}

/* Delete every key of a customer: its counters, users, reservations. */
static int
quota_sync_reset_customer(struct quota_sync *qs, const struct rg_conf *conf,
			  const struct rg_customer *cu)
{
	char	pat[QUOTA_KEY_MAX], esc[2 * 64 + 4], cursor[32] = "0";
	const char *scan[] = { "SCAN", cursor, "MATCH", pat, "COUNT", "1000" };
	redisReply *r, *d;
	const char **argv;
	size_t	*len, i, n;
	char	err[400];

	quota_sync_glob(esc, sizeof(esc), conf->redis.prefix);
	snprintf(pat, sizeof(pat), "%s:{%s}:*", esc, cu->name);
	do {
		if ((r = quota_sync_ask(qs, REDIS_REPLY_ARRAY, 6, scan)) == NULL)
			return (-1);
		if (r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING
		    || r->element[1]->type != REDIS_REPLY_ARRAY) {
			fprintf(stderr, "quota: redis %s: SCAN: unexpected reply\n", qs->cfg.server);
			freeReplyObject(r);
			return (-1);
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		n = r->element[1]->elements;
		if (n > 0) {
			argv = xmalloc((n + 1) * sizeof(*argv));
			len = xmalloc((n + 1) * sizeof(*len));
			argv[0] = "DEL";
			len[0] = 3;
			for (i = 0; i < n; i++) {
				argv[i + 1] = r->element[1]->element[i]->str;
				len[i + 1] = r->element[1]->element[i]->len;
			}
			d = quota_sync_cmd(qs, (int) n + 1, argv, len, err, sizeof(err));
			free(argv);
			free(len);
			if (d == NULL || d->type == REDIS_REPLY_ERROR) {
				fprintf(stderr, "quota: redis %s: DEL: %s\n", qs->cfg.server,
					d ? d->str : err);
				if (d)
					freeReplyObject(d);
				freeReplyObject(r);
				return (-1);
			}
			freeReplyObject(d);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return (0);
}

/* quota_sync_reset - forget the usage of a customer or user */
int
quota_sync_reset(struct quota_sync *qs, const struct rg_conf *conf, const char *who)
{
	const struct rg_customer *cu;
	const struct rg_user *u;
	char	k1[QUOTA_KEY_MAX], k2[QUOTA_KEY_MAX];
	const char *argv[] = { "DEL", k1, k2 };
	redisReply *r;

	if (quota_sync_who(conf, who, &cu, &u) < 0)
		return (-1);
	quota_sync_settings(qs, conf);
	if (u == NULL)
		return (quota_sync_reset_customer(qs, conf, cu));
	if (quota_key(k1, sizeof(k1), conf->redis.prefix, cu->name, "user", u->address, "msgs") < 0
	    || quota_key(k2, sizeof(k2), conf->redis.prefix, cu->name, "user", u->address,
			 "rcpts") < 0)
		return (-1);
	if ((r = quota_sync_ask(qs, REDIS_REPLY_INTEGER, 3, argv)) == NULL)
		return (-1);
	freeReplyObject(r);
	return (0);
}
