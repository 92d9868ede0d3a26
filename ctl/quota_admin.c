/*
 * quota_admin - relayguardctl quota show and quota reset
 *
 * SYNOPSIS
 *	struct rlink_sync l = { 0 };
 *	ctl_quota_show(&l, conf, "acme" or "alice@acme.example", stdout);
 *	ctl_quota_reset(&l, conf, "acme" or "alice@acme.example");
 *	rlink_sync_close(&l);
 *
 * DESCRIPTION
 *	The operators' view of the quota keys (relayguard.conf(5), KEYS),
 *	over the engine's blocking Redis link; no daemon links this.  show
 *	reads without writing (no bucket is trimmed), so inspecting
 *	consumes and changes nothing; reset deletes a user's counters, or
 *	every key of a customer.
 *
 * DIAGNOSTICS
 *	Both return 0, or -1 after printing a message to stderr: Redis
 *	unreachable, an unexpected reply, a name that is neither a customer
 *	nor a registered user.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "ctl.h"
#include "quota_priv.h"
#include "rcluster.h"
#include "rlink.h"
#include "xmem.h"

static int
ctl_quota_who(const struct rg_conf *conf, const char *who,
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
ctl_quota_strings(const redisReply *r, int nested)
{
	size_t	i;

	for (i = 0; i < r->elements; i++)
		if (!(r->element[i]->type == REDIS_REPLY_STRING && r->element[i]->str)
		    && !(nested && r->element[i]->type == REDIS_REPLY_ARRAY
			 && ctl_quota_strings(r->element[i], 0)))
			return (0);
	return (1);
}

/*
 * A command for show/reset from up to 8 strings; prints failures.  On a
 * cluster it goes to the node of its key (argv[1]; SCAN's MATCH pattern,
 * which carries the customer's {tag}): one customer's keys share a slot.
 */
static redisReply *
ctl_quota_ask(struct rlink_sync *l, int type, int argc, const char **argv)
{
	const char *key = argc < 2 ? argv[0] : strcmp(argv[0], "SCAN") == 0 ? argv[3] : argv[1];
	size_t	len[8];
	redisReply *r;
	char	err[400];
	int	i;

	for (i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	if ((r = rcluster_sync_cmd(l, key, strlen(key), argc, argv, len, err,
				   sizeof(err))) == NULL) {
		fprintf(stderr, "quota: redis %s: %s\n", l->cfg.server, err);
		return (NULL);
	}
	if (r->type != type || (type == REDIS_REPLY_ARRAY
				  && !ctl_quota_strings(r, strcmp(argv[0], "SCAN") == 0))) {
		fprintf(stderr, "quota: redis %s: %s: %s\n", l->cfg.server, argv[0],
			r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		return (NULL);
	}
	return (r);
}

static void
ctl_quota_span(char *buf, size_t len, double secs)
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
ctl_quota_line(FILE *out, const char *name, int64_t used, int64_t limit, int64_t next_n,
		double next_at, double now)
{
	char	span[32], when[64];
	time_t	t = (time_t) next_at;
	struct tm tm;

	fprintf(out, "  %-30s %" PRId64 " of %" PRId64 " used, %" PRId64 " left", name, used, limit,
		limit > used ? limit - used : 0);
	if (next_n > 0) {
		ctl_quota_span(span, sizeof(span), next_at - now);
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		fprintf(out, "; %" PRId64 " free%s in %s (%s)", next_n, used > next_n ? " up" : "",
			span, when);
	}
	fputc('\n', out);
}

/* Live sum, earliest live bucket and its count of a bucket hash. */
static int
ctl_quota_buckets(struct rlink_sync *l, const char *key, double now, FILE *out,
		   const char *name, int64_t limit)
{
	const char *argv[] = { "HGETALL", key };
	redisReply *r;
	long	sum = 0, first_n = 0, v;
	double	first = 0, e;
	char   *end;
	size_t	i;

	if ((r = ctl_quota_ask(l, REDIS_REPLY_ARRAY, 2, argv)) == NULL)
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
	ctl_quota_line(out, name, sum, limit, first_n, first, now);
	return (0);
}

/* The user's unique recipients: members whose score is still ahead. */
static int
ctl_quota_rcpts(struct rlink_sync *l, const char *key, double now, FILE *out, int64_t limit)
{
	char	from[64], upto[64];
	const char *count[] = { "ZCOUNT", key, from, "+inf" };
	const char *first[] = { "ZRANGEBYSCORE", key, from, "+inf", "WITHSCORES", "LIMIT", "0", "1" };
	redisReply *r;
	long	n, next_n = 0;
	double	next = 0;

	snprintf(from, sizeof(from), "(%.6f", now);
	if ((r = ctl_quota_ask(l, REDIS_REPLY_INTEGER, 4, count)) == NULL)
		return (-1);
	n = (long) r->integer;
	freeReplyObject(r);
	if ((r = ctl_quota_ask(l, REDIS_REPLY_ARRAY, 8, first)) == NULL)
		return (-1);
	if (r->elements == 2) {
		next = strtod(r->element[1]->str, NULL);
		next_n = 1;
	}
	freeReplyObject(r);
	if (next_n) {
		const char *same[] = { "ZCOUNT", key, from, upto };

		snprintf(upto, sizeof(upto), "%.6f", next);
		if ((r = ctl_quota_ask(l, REDIS_REPLY_INTEGER, 4, same)) == NULL)
			return (-1);
		next_n = (long) r->integer;
		freeReplyObject(r);
	}
	ctl_quota_line(out, "user_recipients_per_day", n, limit, next_n, next, now);
	return (0);
}

/* ctl_quota_show - usage of a customer or user against each limit */
int
ctl_quota_show(struct rlink_sync *l, const struct rg_conf *conf, const char *who, FILE *out)
{
	const struct rg_customer *cu;
	const struct rg_user *u;
	const char *time_argv[] = { "TIME" };
	const char *p = conf->redis.prefix;
	char	key[QUOTA_KEY_MAX];
	redisReply *r;
	double	now;

	if (ctl_quota_who(conf, who, &cu, &u) < 0)
		return (-1);
	rlink_sync_settings(l, conf);
	if ((r = ctl_quota_ask(l, REDIS_REPLY_ARRAY, 1, time_argv)) == NULL)
		return (-1);
	now = r->elements == 2 ? strtod(r->element[0]->str, NULL)
		+ strtod(r->element[1]->str, NULL) / 1e6 : (double) time(NULL);
	freeReplyObject(r);
	if (u) {
		fprintf(out, "user %s (customer %s)\n", u->address, cu->name);
		if (quota_key(key, sizeof(key), p, cu->name, "user", u->address, "msgs") < 0
		    || ctl_quota_buckets(l, key, now, out, "user_messages_per_day",
					  cu->limits.user_messages_per_day) < 0)
			return (-1);
		if (quota_key(key, sizeof(key), p, cu->name, "user", u->address, "rcpts") < 0
		    || ctl_quota_rcpts(l, key, now, out, cu->limits.user_recipients_per_day) < 0)
			return (-1);
	}
	fprintf(out, "customer %s (%s, %ld licences)\n", cu->name, billing_name(cu->billing),
		cu->licenses);
	quota_key(key, sizeof(key), p, cu->name, "cust", "day", NULL);
	if (ctl_quota_buckets(l, key, now, out, "customer_recipients_per_day",
			       cu->limits.customer_recipients_per_day) < 0)
		return (-1);
	quota_key(key, sizeof(key), p, cu->name, "cust", "10m", NULL);
	if (ctl_quota_buckets(l, key, now, out, "customer_recipients_per_10min",
			       cu->limits.customer_recipients_per_10min) < 0)
		return (-1);
	return (0);
}

/* Escape glob characters for SCAN MATCH. */
static void
ctl_quota_glob(char *out, size_t len, const char *in)
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
ctl_quota_reset_customer(struct rlink_sync *l, const struct rg_conf *conf,
			  const struct rg_customer *cu)
{
	char	pat[QUOTA_KEY_MAX], esc[2 * 64 + 4], cursor[32] = "0";
	const char *scan[] = { "SCAN", cursor, "MATCH", pat, "COUNT", "1000" };
	redisReply *r, *d;
	const char **argv;
	size_t	*len, i, n;
	char	err[400];

	ctl_quota_glob(esc, sizeof(esc), conf->redis.prefix);
	snprintf(pat, sizeof(pat), "%s:{%s}:*", esc, cu->name);
	do {
		if ((r = ctl_quota_ask(l, REDIS_REPLY_ARRAY, 6, scan)) == NULL)
			return (-1);
		if (r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING
		    || r->element[1]->type != REDIS_REPLY_ARRAY) {
			fprintf(stderr, "quota: redis %s: SCAN: unexpected reply\n", l->cfg.server);
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
			d = rcluster_sync_cmd(l, argv[1], len[1], (int) n + 1, argv, len, err,
					      sizeof(err));
			free(argv);
			free(len);
			if (d == NULL || d->type == REDIS_REPLY_ERROR) {
				fprintf(stderr, "quota: redis %s: DEL: %s\n", l->cfg.server,
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

/* ctl_quota_reset - forget the usage of a customer or user */
int
ctl_quota_reset(struct rlink_sync *l, const struct rg_conf *conf, const char *who)
{
	const struct rg_customer *cu;
	const struct rg_user *u;
	char	k1[QUOTA_KEY_MAX], k2[QUOTA_KEY_MAX];
	const char *argv[] = { "DEL", k1, k2 };
	redisReply *r;

	if (ctl_quota_who(conf, who, &cu, &u) < 0)
		return (-1);
	rlink_sync_settings(l, conf);
	if (u == NULL)
		return (ctl_quota_reset_customer(l, conf, cu));
	if (quota_key(k1, sizeof(k1), conf->redis.prefix, cu->name, "user", u->address, "msgs") < 0
	    || quota_key(k2, sizeof(k2), conf->redis.prefix, cu->name, "user", u->address,
			 "rcpts") < 0)
		return (-1);
	if ((r = ctl_quota_ask(l, REDIS_REPLY_INTEGER, 3, argv)) == NULL)
		return (-1);
	freeReplyObject(r);
	return (0);
}
