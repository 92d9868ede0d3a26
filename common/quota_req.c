/*
 * quota_req - the Redis side of relay quotas: key layout, requests, replies
 *
 * SYNOPSIS
 *	See quota_priv.h: quota_req_reserve(), quota_req_finish(),
 *	quota_req_result(), quota_key().
 *
 * DESCRIPTION
 *	Every quota decision is ONE call of one Lua script (quota_lua.c) with
 *	EVALSHA; a NOSCRIPT reply (script cache emptied by a restart or a
 *	failover) is answered by resending the same request as EVAL.  The
 *	script reads Redis TIME, so every MTA shares one clock, and it runs
 *	atomically, so concurrent decisions of any number of daemons are
 *	serialised by Redis: a limit is never passed, not even by one.
 *
 *	Keys (all in KEYS, all with the customer as Cluster hash tag):
 *	  P:{C}:cust:day	hash  bucket end time -> recipients (24 h); s, t, x
 *	  P:{C}:cust:10m	hash  bucket end time -> recipients (10 min)
 *	  P:{C}:user:U:msgs	hash  bucket end time -> messages of user U; z
 *	  P:{C}:user:U:rcpts	zset  recipient -> time until which it counts
 *	  P:{C}:rsv:I		hash  the reservation of transaction instance I:
 *				e (its bucket), n (recipients), m (1 = a
 *				message of u is pending), u (user or ""),
 *				r:ADDR (its recipients, for a user sender)
 *
 *	Windows.  A bucket hash maps the time at which counts stop counting
 *	to a count; the live count is the sum of the fields whose time is
 *	still in the future, and each call deletes the dead ones.  Keying by
 *	END time rather than start time is what lets reservations live in
 *	the same hashes: a recipient committed now counts until
 *	ceil((now + 24 h) / 10 min) (day, user messages) or ceil((now +
 *	10 min) / 10 s) (peak); a reservation counts in every hash until its
 *	own end time e = floor((now + reservation_ttl) / g) * g, g =
 *	max(1 s, ttl / 100).  So precision is one bucket, always on the safe
 *	side: committed usage counts for 24 h to 24 h 10 min, and 10 min to
 *	10 min 10 s; an abandoned reservation frees after ttl - g to ttl
 *	(TIME is read to the microsecond).
 *	Memory per hash: at most 145 (day) or 61 (peak) committed buckets
 *	plus 101 reservation buckets.  Two more fields cache the live count:
 *	s (the sum) and t (no later than the end of the first bucket); while
 *	t is ahead the script trusts s, so the scan over all buckets runs
 *	about once per bucket length, not per decision.  Field x is the
 *	expiry the script gave the key (its last bucket's end), so EXPIREAT
 *	is sent only for a new last bucket; z (user messages hash) the
 *	expiry of the user's recipient set.  A bucket emptied by a commit
 *	or release may stay at 0 until the next scan.
 *
 *	Unique recipients of a user are exact: one member per recipient,
 *	scored with the time until which it counts (reservation end, or
 *	commit + 24 h; a score is only ever raised).  ZCARD counts the live
 *	members and those whose time has passed; while that count plus the
 *	new recipients stays within user_recipients_per_day the answer is
 *	yes without looking further.  Otherwise ZREMRANGEBYSCORE drops the
 *	members that no longer count and the exact count decides.  A dead
 *	member claimed again counts as new.  So the set never holds more
 *	members than the limit.
 *
 *	Reservations.  reserve (RCPT) checks user messages (first RCPT of a
 *	message only), user unique recipients, customer day, customer peak,
 *	in that order, and on success adds the recipient to the pending
 *	bucket e of every hash at once, so a reservation counts immediately
 *	and a racing MTA sees it.  commit (END-OF-MESSAGE) moves the
 *	reservation from bucket e to the committed buckets and counts the
 *	message once; when the MTA accepted fewer recipients than were
 *	reserved, the surplus is released from the customer counters (the
 *	user's unique recipients keep all of them: which one was dropped is
 *	unknown).  release (abort) takes the reservation out of bucket e at
 *	once.  A reservation never committed simply stops counting when its
 *	bucket dies: no sweeper, no background process.  The reservation
 *	hash itself lives until e + ttl, for late commits.
 *
 *	A RCPT that finds its reservation expired claims the old recipients
 *	again together with the new one.  A commit that finds no live
 *	reservation (expired, or Redis lost it) counts the accepted
 *	recipients only if they still fit, and otherwise answers the limit
 *	that would be passed without counting anything: a front end that
 *	refuses the message at end of data on that answer keeps the limits
 *	exact even then.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "quota_priv.h"
#include "route.h"

static char quota_sha[41];
static pthread_once_t quota_sha_once = PTHREAD_ONCE_INIT;

static void
quota_sha_init(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (EVP_Digest(quota_script, strlen(quota_script), md, &mdlen, EVP_sha1(), NULL) != 1
	    || mdlen != 20) {
		/* Then every EVALSHA gets NOSCRIPT and falls back to EVAL. */
		snprintf(quota_sha, sizeof(quota_sha), "%040d", 0);
		return;
	}
	for (i = 0; i < mdlen; i++)
		snprintf(quota_sha + 2 * i, 3, "%02x", md[i]);
}

/* quota_script_sha - the SHA1 of the script, as EVALSHA wants it */
const char *
quota_script_sha(void)
{
	pthread_once(&quota_sha_once, quota_sha_init);
	return (quota_sha);
}

/* quota_key - format one key name; -1 when it does not fit */
int
quota_key(char *buf, size_t len, const char *prefix, const char *customer,
	  const char *what, const char *who, const char *suffix)
{
	int	n;

	n = snprintf(buf, len, "%s:{%s}:%s%s%s%s%s", prefix, customer, what,
		     who ? ":" : "", who ? who : "", suffix ? ":" : "", suffix ? suffix : "");
	return (n < 0 || (size_t) n >= len ? -1 : 0);
}

/* quota_sender_user - the registered user (of customer) sending, or NULL */
const struct rg_user *
quota_sender_user(const struct rg_conf *conf, const char *sender, const char *customer)
{
	struct rg_addr a;
	const struct rg_user *u;
	const struct rg_gateway *g;
	const char *why;

	if (sender == NULL || addr_parse(sender, &a, &why) < 0 || a.null)
		return (NULL);
	u = conf_user(conf, a.key);
	if (u == NULL && (g = conf_gateway(conf, a.key)) != NULL && g->active)
		u = g->user;		/* an active user gateway counts as its user */
	if (u == NULL || u->nomail || strcmp(u->customer->name, customer) != 0)
		return (NULL);
	return (u);
}

/* Append one argument; its text is copied into the request's buffer. */
static int
quota_req_arg(struct quota_req *rq, const char *fmt, ...)
{
	va_list	ap;
	int	n;
	size_t	room = sizeof(rq->buf) - rq->used;

	if (rq->argc >= QUOTA_REQ_ARGS)
		return (-1);
	va_start(ap, fmt);
	n = vsnprintf(rq->buf + rq->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t) n >= room)
		return (-1);
	rq->argv[rq->argc] = rq->buf + rq->used;
	rq->len[rq->argc++] = (size_t) n;
	rq->used += (size_t) n + 1;
	return (0);
}

/* Append a key of the customer: PREFIX:{customer}:what[:who[:suffix]]. */
static int
quota_req_key(struct quota_req *rq, const char *prefix, const char *customer,
	      const char *what, const char *who, const char *suffix)
{
	char	key[QUOTA_KEY_MAX];

	if (quota_key(key, sizeof(key), prefix, customer, what, who, suffix) < 0)
		return (-1);
	return (quota_req_arg(rq, "%s", key));
}

static const char *const quota_op_names[] = { "reserve", "commit", "release" };

/*
 * The one request format: EVALSHA sha nkeys rsv day 10m [msgs rcpts]
 * op ttl 4 limits user recipient accepted.  A limit of -1 = none known.
 */
static int
quota_req_build(struct quota_req *rq, enum quota_op op, const struct rg_conf *conf,
		const char *customer, const struct rg_limits *lim, const char *user,
		const char *instance, const char *rcpt, unsigned accepted,
		char *err, size_t errlen)
{
	const char *p = conf->redis.prefix;
	int	ok;

	rq->argc = 0;
	rq->used = 0;
	if (customer == NULL || *customer == 0) {
		snprintf(err, errlen, "no customer");
		return (-1);
	}
	/* RG_LIMIT_NONE on the wire only where no customer is known, never by accident. */
	if (lim && (lim->user_messages_per_day < 0 || lim->user_recipients_per_day < 0
		    || lim->customer_recipients_per_day < 0
		    || lim->customer_recipients_per_10min < 0)) {
		snprintf(err, errlen, "customer %s has a negative limit", customer);
		return (-1);
	}
	if (instance == NULL || *instance == 0 || strlen(instance) > 200) {
		snprintf(err, errlen, "no usable transaction instance");
		return (-1);
	}
	ok = quota_req_arg(rq, "EVALSHA") == 0
		&& quota_req_arg(rq, "%s", quota_script_sha()) == 0
		&& quota_req_arg(rq, "%d", user ? 5 : 3) == 0
		&& quota_req_key(rq, p, customer, "rsv", instance, NULL) == 0
		&& quota_req_key(rq, p, customer, "cust", "day", NULL) == 0
		&& quota_req_key(rq, p, customer, "cust", "10m", NULL) == 0
		&& (user == NULL || (quota_req_key(rq, p, customer, "user", user, "msgs") == 0
				     && quota_req_key(rq, p, customer, "user", user, "rcpts") == 0))
		&& quota_req_arg(rq, "%s", quota_op_names[op]) == 0
		&& quota_req_arg(rq, "%ld", conf->reservation_ttl > 0 ? conf->reservation_ttl : 900) == 0
		&& quota_req_arg(rq, "%" PRId64, lim ? lim->user_messages_per_day : RG_LIMIT_NONE) == 0
		&& quota_req_arg(rq, "%" PRId64, lim ? lim->user_recipients_per_day : RG_LIMIT_NONE) == 0
		&& quota_req_arg(rq, "%" PRId64, lim ? lim->customer_recipients_per_day : RG_LIMIT_NONE) == 0
		&& quota_req_arg(rq, "%" PRId64, lim ? lim->customer_recipients_per_10min : RG_LIMIT_NONE) == 0
		&& quota_req_arg(rq, "%s", user ? user : "") == 0
		&& quota_req_arg(rq, "%s", rcpt ? rcpt : "") == 0
		&& quota_req_arg(rq, "%u", accepted) == 0;
	if (!ok) {
		snprintf(err, errlen, "request too long");
		return (-1);
	}
	return (0);
}

/* quota_req_reserve - the request for one accepted RCPT */
int
quota_req_reserve(struct quota_req *rq, const struct rg_conf *conf, const struct rg_txn *t,
		  const struct rg_verdict *v, char *err, size_t errlen)
{
	if (v->customer == NULL) {
		snprintf(err, errlen, "verdict without a customer");
		return (-1);
	}
	return (quota_req_build(rq, QOP_RESERVE, conf, v->customer->name, &v->customer->limits,
				v->user ? v->user->address : NULL, t->instance,
				v->to.key, 0, err, errlen));
}

/*
 * quota_req_finish - the request for a commit or release.  The user is
 * found again from the envelope sender (the script ignores it unless the
 * reservation names the same user), so all keys are still passed in KEYS.
 */
int
quota_req_finish(struct quota_req *rq, enum quota_op op, const struct rg_conf *conf,
		 const struct rg_txn *t, const char *customer, char *err, size_t errlen)
{
	const struct rg_customer *cu = customer ? conf_customer(conf, customer) : NULL;
	const struct rg_user *u = customer ? quota_sender_user(conf, t->sender, customer) : NULL;
	struct rg_addr to;
	const char *why, *rcpt = "";

	if (t->recipient && *t->recipient && addr_parse(t->recipient, &to, &why) == 0 && !to.null)
		rcpt = to.key;
	return (quota_req_build(rq, op, conf, customer, cu ? &cu->limits : NULL,
				u ? u->address : NULL, t->instance, rcpt, t->rcpt_count,
				err, errlen));
}

/* quota_req_eval - turn the request into EVAL with the script's text */
void
quota_req_eval(struct quota_req *rq)
{
	rq->argv[0] = "EVAL";
	rq->len[0] = 4;
	rq->argv[1] = quota_script;
	rq->len[1] = strlen(quota_script);
}

/* quota_req_noscript - the reply says the script cache lacks the script */
int
quota_req_noscript(const redisReply *r)
{
	return (r && r->type == REDIS_REPLY_ERROR && r->str
		&& strncmp(r->str, "NOSCRIPT", 8) == 0);
}

/* quota_req_result - a script reply as a result; err says why when bad */
enum quota_result
quota_req_result(const redisReply *r, char *err, size_t errlen)
{
	if (r == NULL) {
		snprintf(err, errlen, "no reply");
		return (QUOTA_BACKEND_ERROR);
	}
	if (r->type == REDIS_REPLY_INTEGER && r->integer >= QUOTA_OK
	    && r->integer < QUOTA_BACKEND_ERROR)
		return ((enum quota_result) r->integer);
	if (r->type == REDIS_REPLY_ERROR)
		snprintf(err, errlen, "%.300s", r->str ? r->str : "error");
	else
		snprintf(err, errlen, "unexpected reply type %d", r->type);
	return (QUOTA_BACKEND_ERROR);
}

