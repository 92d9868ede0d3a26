/*
 * quota - relay quotas for event-driven front ends (relayguard-policyd):
 * one Lua script call per decision over a hiredis libevent connection
 *
 * SYNOPSIS
 *	See quota.h.  The script, the key layout and the window precision are
 *	described in quota_req.c; the blocking API is in quota_sync.c.
 *
 * DESCRIPTION
 *	Each call owns a libevent event: it is the call's timer (hiredis
 *	0.14 has no async timeout) and, made active, the way its result is
 *	delivered.  So a callback never runs inside the call that started it,
 *	nor inside hiredis (a callback may call quota_free() or start new
 *	calls), and it runs exactly once: with the script's answer, or with
 *	QUOTA_BACKEND_ERROR on an error reply, a lost connection, after
 *	redis.timeout_ms, or from quota_free().
 *
 *	One connection, pipelined.  Redis answers in order, so when one call
 *	times out everything queued behind it would too: the connection is
 *	dropped (its calls answered at once) and a new one made after a
 *	backoff of 0, 50, 100 ... 1000 ms, reset by the first good reply.
 *	While there is no connection, calls fail at once instead of waiting.
 *	A call answered by a timeout may still have run on Redis: its
 *	reservation then just expires (counted too much, never too little).
 *
 *	With sentinels, a second connection goes to one sentinel: it asks
 *	for the master (get-master-addr-by-name) and then stays subscribed
 *	to +switch-master, so a failover moves the connection as soon as
 *	it is announced.  Whenever the connection to the master fails
 *	(connect, loss, timeout, -READONLY: the old master became a
 *	replica) the reconnect asks the sentinel again, on a new sentinel
 *	connection; a sentinel that fails or does not know the master
 *	hands over to the next one.  Neither connection ever blocks the loop.
 *
 *	Bounded memory: at most QUOTA_MAX_CALLS calls exist at a time; more
 *	are answered QUOTA_BACKEND_ERROR at once.
 *
 * DIAGNOSTICS
 *	Connection loss and recovery are logged once per outage; script
 *	errors at most once a second.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <event2/event.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "quota_async.h"
#include "xmem.h"

static void quota_connect(struct quota *);
static void quota_connect_master(struct quota *);
static void quota_sentinel_open(struct quota *);

static void
quota_err_log(struct quota *q, const char *what, const char *why)
{
	rlink_log_err(&q->log, &q->cfg, what, why);
}

static void
quota_down(struct quota *q, const char *why)
{
	rlink_log_down(&q->log, &q->cfg, why);
	if (q->parent)
		quota_cluster_stale(q->parent);	/* the node may be gone: a new map */
}

static void
quota_up(struct quota *q)
{
	rlink_log_up(&q->log, &q->cfg);
	q->backoff_ms = 0;
}

static void
quota_retry_fire(evutil_socket_t fd, short what, void *ctx)
{
	struct quota *q = ctx;

	(void) fd;
	(void) what;
	if (q->ac == NULL)
		quota_connect(q);
}

/* Reconnect later; each failure in a row doubles the wait. */
static void
quota_schedule(struct quota *q)
{
	struct timeval tv;

	if (q->freeing || evtimer_pending(q->retry, NULL))
		return;
	tv.tv_sec = q->backoff_ms / 1000;
	tv.tv_usec = (q->backoff_ms % 1000) * 1000;
	evtimer_add(q->retry, &tv);
	q->backoff_ms = q->backoff_ms ? q->backoff_ms * 2 : QUOTA_BACKOFF_MIN_MS;
	if (q->backoff_ms > QUOTA_BACKOFF_MAX_MS)
		q->backoff_ms = QUOTA_BACKOFF_MAX_MS;
}

/*
 * Drop the connection now: hiredis answers every call it holds with a
 * NULL reply before redisAsyncFree() returns.  Never called from inside
 * a hiredis callback (it would defer the free).
 */
static void
quota_drop(struct quota *q)
{
	redisAsyncContext *ac = q->ac;

	if (ac == NULL)
		return;
	q->ac = NULL;
	redisAsyncFree(ac);
	quota_schedule(q);
}

static void
quota_call_free(struct quota_call *c)
{
	struct quota *q = c->q;

	LIST_REMOVE(c, link);
	q->ncalls--;
	event_free(c->ev);
	if (c->again)
		event_free(c->again);
	free(c);
}

/* Deliver the result from the event loop, never from the caller's stack. */
static void
quota_call_answer(struct quota_call *c, enum quota_result r)
{
	c->result = r;
	c->answered = 1;
	event_del(c->ev);
	event_active(c->ev, EV_TIMEOUT, 1);
}

/* quota_call_fail - the call's answer is QUOTA_BACKEND_ERROR (from the loop) */
void
quota_call_fail(struct quota_call *c)
{
	quota_call_answer(c, QUOTA_BACKEND_ERROR);
}

/*
 * The call's event: its result is in, or its time is up.  The user's
 * callback comes last, so it may free the quota object or start calls.
 */
static void
quota_call_fire(evutil_socket_t fd, short what, void *ctx)
{
	struct quota_call *c = ctx;
	struct quota *q = c->q;
	quota_done_fn done = c->done;
	void   *arg = c->arg;
	enum quota_result r = c->answered ? c->result : QUOTA_BACKEND_ERROR;

	(void) fd;
	(void) what;
	c->done = NULL;
	metrics_redis_done(c->t0, !c->answered ? METRICS_REDIS_TIMEOUT
			   : r == QUOTA_BACKEND_ERROR ? METRICS_REDIS_ERROR : METRICS_REDIS_OK);
	if (!c->answered && c->held) {
		/* Timed out: Redis hangs or is far too slow.  The drop hands c
		 * back through quota_reply(), which frees it. */
		quota_down(q, "timeout");
		quota_drop(q);
	} else if (!c->held) {
		quota_call_free(c);
	}
	done(arg, r);
}

/* quota_reply - hiredis' callback for a script call */
void
quota_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct quota_call *c = privdata;
	struct quota *q = c->q;
	redisReply *rp = reply;
	char	err[400];
	enum quota_result r;

	if (rp != NULL && rp->type != REDIS_REPLY_ERROR)
		quota_up(q);
	if (c->done == NULL) {
		/* Already answered (timeout): it was only waiting for hiredis. */
		c->held = 0;
		quota_call_free(c);
		return;
	}
	if (q->parent && !c->redirected && quota_cluster_redirect(q->parent, c, rp))
		return;				/* resent to the node MOVED/ASK named */
	if (q->parent && quota_cluster_tryagain(q->parent, c, rp))
		return;				/* its slot is moving: resent soon */
	if (quota_req_noscript(rp) && !c->retried && ac == q->ac
	    && !(ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING))) {
		c->retried = 1;
		quota_req_eval(&c->rq);
		if (redisAsyncCommandArgv(ac, quota_reply, c, c->rq.argc, c->rq.argv,
					  c->rq.len) == REDIS_OK) {
			q->unflushed = 1;
			return;
		}
	}
	if (rlink_readonly(rp) && ac == q->ac && q->cfg.nsentinels > 0)
		event_active(q->kick, EV_TIMEOUT, 1);	/* a replica now: ask again */
	c->held = 0;
	r = quota_req_result(rp, err, sizeof(err));
	if (r == QUOTA_BACKEND_ERROR && rp != NULL)
		quota_err_log(q, "script", err);
	quota_call_answer(c, r);
}

/* Replies to AUTH and SELECT: only worth a log line when they fail. */
static void
quota_hello_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	redisReply *rp = reply;
	struct quota *q = privdata;

	(void) ac;
	if (rp && rp->type == REDIS_REPLY_ERROR)
		quota_err_log(q, "AUTH/SELECT", rp->str);
}

static int
quota_hello_send(void *ctx, int argc, const char **argv, const size_t *len)
{
	struct quota *q = ctx;

	return (redisAsyncCommandArgv(q->ac, quota_hello_reply, q, argc, argv, len) == REDIS_OK
		? 0 : -1);
}

static void
quota_on_connect(const redisAsyncContext *ac, int status)
{
	struct quota *q = ac->data;

	if (status == REDIS_OK || q == NULL || ac != q->ac)
		return;
	/* hiredis frees the context after this callback. */
	q->ac = NULL;
	quota_down(q, ac->errstr ? ac->errstr : "connect failed");
	quota_schedule(q);
}

static void
quota_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct quota *q = ac->data;

	(void) status;
	if (q == NULL || ac != q->ac)
		return;			/* we dropped it ourselves */
	q->ac = NULL;
	quota_down(q, ac->errstr && *ac->errstr ? ac->errstr : "connection closed");
	/* Right after a Redis restart one immediate attempt usually works. */
	quota_schedule(q);
}

/* Connect: with sentinels, ask them first (quota_sentinel_answer connects). */
static void
quota_connect(struct quota *q)
{
	if (q->cfg.nseeds > 0) {
		if (q->cl == NULL)
			quota_cluster_init(q);
	} else if (q->cfg.nsentinels > 0)
		quota_sentinel_open(q);
	else
		quota_connect_master(q);
}

/* Open the connection; AUTH and SELECT are pipelined ahead of any call. */
static void
quota_connect_master(struct quota *q)
{
	redisAsyncContext *ac;

	if (q->freeing)
		return;
	/* cfg.host is numeric (conf_load resolved it): no DNS wait in the loop. */
	ac = q->cfg.port ? redisAsyncConnect(q->cfg.host, q->cfg.port)
		: redisAsyncConnectUnix(q->cfg.path);
	if (ac == NULL || ac->err) {
		quota_down(q, ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		quota_schedule(q);
		return;
	}
	ac->data = q;
	rlink_reader_guard(ac->c.reader);
	if (redisLibeventAttach(ac, q->base) != REDIS_OK) {
		redisAsyncFree(ac);
		quota_down(q, "cannot attach to the event loop");
		quota_schedule(q);
		return;
	}
	redisAsyncSetConnectCallback(ac, quota_on_connect);
	redisAsyncSetDisconnectCallback(ac, quota_on_disconnect);
	q->ac = ac;
	rlink_hello(&q->cfg, quota_hello_send, q);
}

/* --- sentinels ------------------------------------------------------------ */

/* Close the sentinel connection (never from inside one of its callbacks). */
static void
quota_sentinel_close(struct quota *q)
{
	redisAsyncContext *sac = q->sac;

	if (sac == NULL)
		return;
	q->sac = NULL;
	redisAsyncFree(sac);
}

/* This sentinel failed: the next one, after a pause (a longer one per round). */
static void
quota_sentinel_next(struct quota *q, const char *why)
{
	struct timeval tv = { 0, QUOTA_SENTINEL_NEXT_MS * 1000 };

	rlink_log_err(&q->log, &q->cfg, "sentinel", why);
	q->si = (q->si + 1) % q->cfg.nsentinels;
	if (++q->sfails >= q->cfg.nsentinels) {
		q->sfails = 0;
		tv.tv_sec = QUOTA_BACKOFF_MAX_MS / 1000;
		tv.tv_usec = (QUOTA_BACKOFF_MAX_MS % 1000) * 1000;
	}
	if (!q->freeing)
		evtimer_add(q->sretry, &tv);
}

/* The master the sentinels name: move there, or stay when it is ours. */
static void
quota_sentinel_master(struct quota *q, const char *host, int port)
{
	int	changed = rlink_cfg_master(&q->cfg, host, port);

	q->sfails = 0;
	if (changed)
		msg_info("quota: sentinels name %s", q->cfg.server);
	if (!changed && q->ac != NULL)
		return;
	if (q->ac) {
		redisAsyncContext *ac = q->ac;

		q->ac = NULL;
		redisAsyncFree(ac);	/* its calls are answered at once */
	}
	event_del(q->retry);
	quota_connect_master(q);
}

/* The answer to get-master-addr-by-name. */
static void
quota_sentinel_answer(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct quota *q = privdata;
	char	host[64];
	int	port;

	if (ac != q->sac || reply == NULL)
		return;
	if (rlink_sentinel_addr(reply, host, sizeof(host), &port) == 0)
		quota_sentinel_master(q, host, port);
	else {
		/* It does not know the master: the next one may. */
		quota_sentinel_next(q, "no address for the master");
	}
}

/* A +switch-master message (or the subscription's confirmation). */
static void
quota_sentinel_message(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct quota *q = privdata;
	char	host[64];
	int	port;

	if (ac != q->sac || reply == NULL)
		return;
	if (rlink_sentinel_switch(reply, q->cfg.master, host, sizeof(host), &port) == 1) {
		msg_info("quota: +switch-master %s %s:%d", q->cfg.master, host, port);
		quota_sentinel_master(q, host, port);
	}
}

static int
quota_sentinel_send(void *ctx, int argc, const char **argv, const size_t *len)
{
	struct quota *q = ctx;
	redisCallbackFn *fn = strcmp(argv[0], "SENTINEL") == 0 ? quota_sentinel_answer
		: quota_hello_reply;

	return (redisAsyncCommandArgv(q->sac, fn, q, argc, argv, len) == REDIS_OK ? 0 : -1);
}

static void
quota_sentinel_gone(const redisAsyncContext *ac, const char *why)
{
	struct quota *q = ac->data;

	if (q == NULL || ac != q->sac)
		return;			/* closed by us */
	q->sac = NULL;			/* hiredis frees it */
	quota_sentinel_next(q, why);
}

static void
quota_sentinel_on_connect(const redisAsyncContext *ac, int status)
{
	if (status != REDIS_OK)
		quota_sentinel_gone(ac, ac->errstr[0] ? ac->errstr : "connect failed");
}

static void
quota_sentinel_on_disconnect(const redisAsyncContext *ac, int status)
{
	(void) status;
	quota_sentinel_gone(ac, ac->errstr[0] ? ac->errstr : "connection closed");
}

/*
 * (Re)open the sentinel connection: ask for the master, then follow
 * +switch-master.  Both go out in one write, so no switch can fall
 * between the answer and the subscription.
 */
static void
quota_sentinel_open(struct quota *q)
{
	const char *sub[2] = { "SUBSCRIBE", "+switch-master" };
	size_t	sublen[2] = { 9, 14 };
	redisAsyncContext *sac;

	event_del(q->sretry);
	quota_sentinel_close(q);
	if (q->freeing || q->cfg.nsentinels == 0)
		return;
	sac = redisAsyncConnect(q->cfg.sentinel[q->si].host, q->cfg.sentinel[q->si].port);
	if (sac == NULL || sac->err) {
		quota_sentinel_next(q, sac ? sac->errstr : "out of memory");
		if (sac)
			redisAsyncFree(sac);
		return;
	}
	sac->data = q;
	rlink_reader_guard(sac->c.reader);
	if (redisLibeventAttach(sac, q->base) != REDIS_OK) {
		redisAsyncFree(sac);
		quota_sentinel_next(q, "cannot attach to the event loop");
		return;
	}
	redisAsyncSetConnectCallback(sac, quota_sentinel_on_connect);
	redisAsyncSetDisconnectCallback(sac, quota_sentinel_on_disconnect);
	q->sac = sac;
	rlink_sentinel_ask(&q->cfg, quota_sentinel_send, q);
	redisAsyncCommandArgv(sac, quota_sentinel_message, q, 2, sub, sublen);
}

static void
quota_sentinel_fire(evutil_socket_t fd, short what, void *ctx)
{
	(void) fd;
	(void) what;
	quota_sentinel_open(ctx);
}

/* -READONLY: drop the master's connection; the reconnect asks the sentinels. */
static void
quota_kick_fire(evutil_socket_t fd, short what, void *ctx)
{
	struct quota *q = ctx;

	(void) fd;
	(void) what;
	quota_down(q, "READONLY: the master is a replica now");
	quota_drop(q);
}

static void
quota_load(struct quota *q, const struct rg_conf *conf)
{
	char	err[400];

	if (rlink_cfg_load(&q->cfg, conf, err, sizeof(err)) < 0)
		msg_warn("quota: %s", err);
}

/*
 * quota_flush - write the commands queued in this pass of the event loop
 * now, in one write, rather than in the next pass: the loop calls it after
 * each pass.  With libevent's epoll changelist the write event hiredis
 * armed and disarms again in the same pass then costs no epoll_ctl(2).
 */
void
quota_flush(struct quota *q)
{
	redisAsyncContext *ac;

	if (q != NULL && q->cl != NULL)
		quota_cluster_flush(q);
	if (q == NULL || !q->unflushed || (ac = q->ac) == NULL)
		return;
	q->unflushed = 0;
	/* Never while connecting: hiredis would take it for connected. */
	if ((ac->c.flags & REDIS_CONNECTED) == 0
	    || (ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)) != 0)
		return;
	redisAsyncHandleWrite(ac);
}

/* quota_open - a quota object for the Redis of cfg (a cluster's node when parent is set) */
struct quota *
quota_open(struct event_base *base, const struct rlink_cfg *cfg, struct quota *parent)
{
	struct quota *q = xcalloc(1, sizeof(*q));

	LIST_INIT(&q->calls);
	q->base = base;
	q->retry = evtimer_new(base, quota_retry_fire, q);
	q->sretry = evtimer_new(base, quota_sentinel_fire, q);
	q->kick = evtimer_new(base, quota_kick_fire, q);
	if (q->retry == NULL || q->sretry == NULL || q->kick == NULL)
		msg_fatal("quota: cannot create a timer");
	q->cfg = *cfg;
	q->parent = parent;
	quota_connect(q);
	return (q);
}

/* quota_create - start connecting to conf's Redis; never fails */
struct quota *
quota_create(struct event_base *base, const struct rg_conf *conf)
{
	struct rlink_cfg cfg;
	char	err[400];

	if (rlink_cfg_load(&cfg, conf, err, sizeof(err)) < 0)
		msg_warn("quota: %s", err);
	return (quota_open(base, &cfg, NULL));
}

/* quota_reconfigure - take conf's Redis settings; reconnect if they changed */
void
quota_reconfigure(struct quota *q, const struct rg_conf *conf)
{
	struct rlink_cfg old = q->cfg;

	quota_load(q, conf);
	rlink_cfg_keep_master(&q->cfg, &old);
	if (rlink_cfg_same(&old, &q->cfg)) {
		quota_cluster_settings(q);	/* a new timeout_ms, say */
		return;
	}
	q->si = 0;
	quota_sentinel_close(q);	/* another set, or none now */
	quota_cluster_free(q);		/* another cluster, or none now */
	if (q->cfg.nseeds > 0) {
		msg_info("quota: redis settings changed: cluster");
		quota_cluster_init(q);
		return;
	}
	msg_info("quota: redis settings changed: reconnecting to %s", q->cfg.server);
	event_del(q->retry);
	q->backoff_ms = 0;
	if (q->ac)
		quota_drop(q);
	else
		quota_schedule(q);
}

/* quota_calls - how many calls wait for an answer (a cluster's on its nodes) */
size_t
quota_calls(const struct quota *q)
{
	return (q->ncalls + (q->cl ? quota_cluster_calls(q) : 0));
}

/* quota_call_move - the call is another connection's (a cluster node's) now */
void
quota_call_move(struct quota_call *c, struct quota *to)
{
	LIST_REMOVE(c, link);
	c->q->ncalls--;
	LIST_INSERT_HEAD(&to->calls, c, link);
	to->ncalls++;
	c->q = to;
}

/* quota_call_send - queue the call's request on q's connection: 0, or -1 */
int
quota_call_send(struct quota *q, struct quota_call *c)
{
	if (q->ac == NULL || redisAsyncCommandArgv(q->ac, quota_reply, c, c->rq.argc,
						   c->rq.argv, c->rq.len) != REDIS_OK)
		return (-1);
	c->held = 1;
	q->unflushed = 1;
	return (0);
}

/* Start one call: the request is built, or the call fails at once. */
static void
quota_call_start(struct quota *q, struct quota_call *c, int ok, const char *why)
{
	struct quota *to = q;
	struct timeval tv;

	if (!ok) {
		quota_err_log(q, "request", why);
		quota_call_answer(c, QUOTA_BACKEND_ERROR);
		return;
	}
	if (q->cl != NULL && (to = quota_cluster_route(q, &c->rq)) != NULL)
		quota_call_move(c, to);	/* the node of the customer's slot */
	if (to == NULL || quota_call_send(to, c) < 0) {
		quota_call_answer(c, QUOTA_BACKEND_ERROR);
		return;
	}
	q = to;
	tv.tv_sec = q->cfg.timeout_ms / 1000;
	tv.tv_usec = (q->cfg.timeout_ms % 1000) * 1000;
	evtimer_add(c->ev, &tv);
}

/* A new call, or NULL when it was answered at once (cap reached). */
static struct quota_call *
quota_call_new(struct quota *q, quota_done_fn done, void *arg)
{
	struct quota_call *c;

	if (q->freeing) {
		/* Documented exception: a callback run by quota_free(). */
		done(arg, QUOTA_BACKEND_ERROR);
		return (NULL);
	}
	c = xmalloc(sizeof(*c));
	memset(c, 0, offsetof(struct quota_call, rq));
	c->q = q;
	c->done = done;
	c->arg = arg;
	c->t0 = metrics_now();
	if ((c->ev = event_new(q->base, -1, 0, quota_call_fire, c)) == NULL)
		msg_fatal("quota: cannot create an event");
	LIST_INSERT_HEAD(&q->calls, c, link);
	if (++q->ncalls > QUOTA_MAX_CALLS) {
		quota_err_log(q, "request", "too many calls in flight");
		quota_call_answer(c, QUOTA_BACKEND_ERROR);
		return (NULL);
	}
	return (c);
}

/* quota_reserve - count one accepted RCPT (see quota.h) */
void
quota_reserve(struct quota *q, const struct rg_conf *conf, const struct rg_txn *t,
	      const struct rg_verdict *v, quota_done_fn done, void *arg)
{
	struct quota_call *c = quota_call_new(q, done, arg);
	char	err[200];
	int	ok;

	if (c == NULL)
		return;
	ok = quota_req_reserve(&c->rq, conf, t, v, err, sizeof(err)) == 0;
	quota_call_start(q, c, ok, err);
}

static void
quota_finish(struct quota *q, enum quota_op op, const struct rg_conf *conf,
	     const struct rg_txn *t, const char *customer, quota_done_fn done, void *arg)
{
	struct quota_call *c = quota_call_new(q, done, arg);
	char	err[200];
	int	ok;

	if (c == NULL)
		return;
	ok = quota_req_finish(&c->rq, op, conf, t, customer, err, sizeof(err)) == 0;
	quota_call_start(q, c, ok, err);
}

/* quota_commit - make the transaction's reservation permanent usage */
void
quota_commit(struct quota *q, const struct rg_conf *conf, const struct rg_txn *t,
	     const char *customer, quota_done_fn done, void *arg)
{
	quota_finish(q, QOP_COMMIT, conf, t, customer, done, arg);
}

/* quota_release - give the transaction's reservation back now */
void
quota_release(struct quota *q, const struct rg_conf *conf, const struct rg_txn *t,
	      const char *customer, quota_done_fn done, void *arg)
{
	quota_finish(q, QOP_RELEASE, conf, t, customer, done, arg);
}

/* quota_free - answer every open call (BACKEND_ERROR), close, free */
void
quota_free(struct quota *q)
{
	struct quota_call *c;
	quota_done_fn done;
	void   *arg;

	if (q == NULL)
		return;
	q->freeing = 1;
	if (q->ac) {
		redisAsyncContext *ac = q->ac;

		q->ac = NULL;
		redisAsyncFree(ac);	/* frees the calls that timed out */
	}
	quota_sentinel_close(q);
	quota_cluster_free(q);		/* answers the calls the nodes hold */
	while ((c = LIST_FIRST(&q->calls)) != NULL) {
		done = c->done;
		arg = c->arg;
		quota_call_free(c);
		if (done)
			done(arg, QUOTA_BACKEND_ERROR);
	}
	event_free(q->retry);
	event_free(q->sretry);
	event_free(q->kick);
	free(q);
}

/* quota_apply - turn a result into the verdict's reply (DESIGN 3.4) */
void
quota_apply(const struct rg_conf *conf, struct rg_verdict *v, enum quota_result r)
{
	switch (r) {
	case QUOTA_OK:
		return;
	case QUOTA_USER:
		relay_refuse(v, RG_QUOTA_USER, "", "user daily limit reached");
		return;
	case QUOTA_CUSTOMER_DAY:
		relay_refuse(v, RG_QUOTA_CUSTOMER_DAY, "", "customer daily limit reached");
		return;
	case QUOTA_CUSTOMER_PEAK:
		relay_refuse(v, RG_QUOTA_CUSTOMER_PEAK, "", "customer 10-minute limit reached");
		return;
	case QUOTA_BACKEND_ERROR:
		break;
	default:
		/* A result we do not know is a bug: fail closed, as Redis down would. */
		msg_warn("bug: unknown quota result %d; answering as for a Redis failure", (int) r);
		break;
	}
	switch (conf->on_backend_error) {
	case BACKEND_ACCEPT:
		snprintf(v->reason + strlen(v->reason), sizeof(v->reason) - strlen(v->reason),
			 "%squota backend unavailable, accepted (on_backend_error = accept)",
			 v->reason[0] ? "; " : "");
		return;
	case BACKEND_REJECT:
		relay_refuse(v, RG_BACKEND_ERROR, "", "quota backend unavailable");
		v->code = 550;
		snprintf(v->reply, sizeof(v->reply), "550 5.3.0 Relay policy unavailable.");
		return;
	case BACKEND_TEMPFAIL:
	default:			/* never accept on a value we do not know */
		relay_refuse(v, RG_BACKEND_ERROR, "", "quota backend unavailable");
		return;
	}
}

/* quota_result_name - a short stable name of a result, for log lines */
const char *
quota_result_name(enum quota_result r)
{
	static const char *const names[] = { "ok", "user", "customer_day",
	"customer_peak", "backend_error" };

	return ((unsigned) r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown");
}
