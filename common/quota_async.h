/*
 * quota_async - what the event-driven quota client (quota.c) and its
 * Redis Cluster routing (quota_cluster.c) share
 *
 * SYNOPSIS
 *	q = quota_open(base, &cfg, parent);	-- one connection (a cluster node's)
 *	quota_call_move(c, to);			-- a call changes connection
 *	quota_call_send(to, c);			-- send it there (0), or -1
 *	quota_call_fail(c);			-- answer it QUOTA_BACKEND_ERROR
 *	quota_cluster_init(q);  quota_cluster_free(q);
 *	to = quota_cluster_route(q, &c->rq);	-- the node of the call's slot, or NULL
 *	quota_cluster_redirect(parent, c, reply);	-- MOVED/ASK followed: 1
 *	quota_cluster_tryagain(parent, c, reply);	-- TRYAGAIN: resent soon: 1
 *	quota_cluster_stale(parent);		-- a node failed: ask for the map again
 *	quota_cluster_settings(parent);		-- the nodes take the parent's timeout
 *	n = quota_cluster_calls(parent);	-- calls out on the nodes
 *
 * DESCRIPTION
 *	With cluster seeds the quota object made by quota_create() has no
 *	connection of its own: it holds one child quota object per node
 *	(parent set), each a plain single-server client, and hands every
 *	call to the child that serves the call's slot.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_QUOTA_ASYNC_H
#define RG_QUOTA_ASYNC_H

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <event2/event.h>
#include <sys/queue.h>

#include "quota_priv.h"

#define QUOTA_MAX_CALLS		10000
#define QUOTA_BACKOFF_MIN_MS	50
#define QUOTA_BACKOFF_MAX_MS	1000
#define QUOTA_SENTINEL_NEXT_MS	100	/* wait before the next sentinel */

struct quota_call {
	struct quota *q;
	LIST_ENTRY(quota_call) link;	/* in q->calls */
	struct event *ev;		/* timer, then delivery */
	struct event *again;		/* TRYAGAIN: the resend timer, or NULL */
	quota_done_fn done;
	void   *arg;
	enum quota_result result;
	int	answered;		/* result is set */
	int	held;			/* hiredis holds a callback for it */
	int	retried;		/* NOSCRIPT: resent as EVAL */
	int	redirected;		/* MOVED/ASK: sent to another node */
	double	t0;			/* metrics_now() at the start */
	struct quota_req rq;
};

struct quota {
	struct event_base *base;
	struct rlink_cfg cfg;
	redisAsyncContext *ac;		/* NULL = no connection */
	struct event *retry;		/* reconnect timer */
	long	backoff_ms;
	int	freeing;
	int	unflushed;		/* commands queued since quota_flush() */
	struct rlink_log log;
	LIST_HEAD(, quota_call) calls;	/* every live call */
	size_t	ncalls;
	redisAsyncContext *sac;		/* sentinel: asked, then subscribed */
	struct event *sretry;		/* open the sentinel connection again */
	struct event *kick;		/* drop the master's connection (-READONLY) */
	int	si;			/* the sentinel to use */
	int	sfails;			/* sentinels failed in a row */
	struct quota *parent;		/* a cluster node's: the cluster's object */
	struct quota_cluster *cl;	/* with cluster seeds: the nodes */
};

struct quota *quota_open(struct event_base *, const struct rlink_cfg *, struct quota *parent);
void	quota_call_move(struct quota_call *, struct quota *to);
int	quota_call_send(struct quota *, struct quota_call *);
void	quota_call_fail(struct quota_call *);
void	quota_reply(redisAsyncContext *, void *reply, void *privdata);

void	quota_cluster_init(struct quota *);
void	quota_cluster_free(struct quota *);
struct quota *quota_cluster_route(struct quota *, const struct quota_req *);
int	quota_cluster_redirect(struct quota *, struct quota_call *, const redisReply *);
int	quota_cluster_tryagain(struct quota *, struct quota_call *, const redisReply *);
void	quota_cluster_stale(struct quota *);
void	quota_cluster_settings(struct quota *);
size_t	quota_cluster_calls(const struct quota *);
void	quota_cluster_flush(struct quota *);

#endif
