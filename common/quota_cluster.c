/*
 * quota_cluster - Redis Cluster routing of the event-driven quota client
 *
 * SYNOPSIS
 *	See quota_async.h.
 *
 * DESCRIPTION
 *	The cluster's quota object holds the slot map (rcluster.c) and one
 *	child quota object per node: an asynchronous connection of its own
 *	on the same loop, with the timeouts, backoff and logging of any
 *	quota connection.  A call goes to the child serving its customer's
 *	slot.  The map is asked of the seeds in turn (CLUSTER SLOTS on the
 *	seed's child connection, bounded by redis.timeout_ms): at start, when
 *	a slot has no node, after a -MOVED and whenever a node's connection
 *	fails.  Until a map is loaded, calls are answered QUOTA_BACKEND_ERROR
 *	at once.  -MOVED resends the call to the named node, -ASK sends
 *	ASKING and the call there, each once and within the call's timeout;
 *	-TRYAGAIN (the slot's keys are between two nodes) or a second
 *	redirect sends the call again 20 ms later, routed afresh, until the
 *	timeout.
 *
 * DIAGNOSTICS
 *	A seed that cannot give a map is logged at most once a second; a new
 *	map is logged at info level when its owners changed.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "quota_async.h"
#include "rcluster.h"
#include "xmem.h"

#define QUOTA_CLUSTER_NEXT_MS	100	/* wait before asking the next seed */

struct quota_cluster {
	struct rcluster_map map, next;	/* in use; being parsed */
	struct quota *node[RCLUSTER_NODES_MAX];
	struct event *timer;		/* CLUSTER SLOTS timeout, or next try */
	redisAsyncContext *asked;	/* CLUSTER SLOTS in flight there */
	int	seed;			/* the seed to ask next */
	int	again;			/* ask once more when the answer is in */
};

static void quota_cluster_load(struct quota *);

/* The child of node i, connecting. */
static struct quota *
quota_cluster_node(struct quota *q, int i)
{
	struct quota_cluster *cl = q->cl;
	struct rlink_cfg cfg = q->cfg;

	if (cl->node[i] == NULL) {
		cfg.nseeds = 0;
		cfg.database = 0;
		snprintf(cfg.host, sizeof(cfg.host), "%s", cl->map.node[i].host);
		cfg.port = cl->map.node[i].port;
		snprintf(cfg.server, sizeof(cfg.server), "%s%s%s:%d (cluster)",
			 strchr(cfg.host, ':') ? "[" : "", cfg.host,
			 strchr(cfg.host, ':') ? "]" : "", cfg.port);
		cl->node[i] = quota_open(q->base, &cfg, q);
	}
	return (cl->node[i]);
}

/* The child of host:port, or NULL when the node table is full. */
static struct quota *
quota_cluster_addr(struct quota *q, const char *host, int port)
{
	int	i = rcluster_map_node(&q->cl->map, host, port);

	return (i < 0 ? NULL : quota_cluster_node(q, i));
}

/* This seed gave no map: the next one, a little later. */
static void
quota_cluster_next(struct quota *q, const char *why)
{
	struct quota_cluster *cl = q->cl;
	struct timeval tv = { 0, QUOTA_CLUSTER_NEXT_MS * 1000 };

	rlink_log_err(&q->log, &q->cfg, "seed", why);
	cl->asked = NULL;
	cl->seed = (cl->seed + 1) % q->cfg.nseeds;
	if (!q->freeing)
		evtimer_add(cl->timer, &tv);
}

/* The answer to CLUSTER SLOTS. */
static void
quota_cluster_slots(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct quota *q = privdata, *node = ac->data;
	struct quota_cluster *cl = q->cl;

	if (q->freeing || cl == NULL || ac != cl->asked)
		return;
	evtimer_del(cl->timer);
	memcpy(&cl->next, &cl->map, sizeof(cl->map));
	if (rcluster_map_parse(&cl->next, reply, node->cfg.host) < 0) {
		quota_cluster_next(q, reply == NULL ? "connection lost"
				   : ((redisReply *) reply)->type == REDIS_REPLY_ERROR
				   ? ((redisReply *) reply)->str : "CLUSTER SLOTS: not a slot map");
		return;
	}
	cl->asked = NULL;
	if (memcmp(cl->next.slot, cl->map.slot, sizeof(cl->map.slot)) != 0
	    || cl->next.nnodes != cl->map.nnodes)
		msg_info("quota: redis cluster: slot map of %d nodes loaded", cl->next.nnodes);
	memcpy(&cl->map, &cl->next, sizeof(cl->map));
	rlink_log_up(&q->log, &q->cfg);
	if (cl->again) {
		cl->again = 0;
		quota_cluster_load(q);
	}
}

/* Ask the next seed for the map, unless a question is out already. */
static void
quota_cluster_load(struct quota *q)
{
	struct quota_cluster *cl = q->cl;
	struct timeval tv = { q->cfg.timeout_ms / 1000, (q->cfg.timeout_ms % 1000) * 1000 };
	struct quota *seed;

	if (q->freeing || cl == NULL)
		return;
	if (cl->asked != NULL || evtimer_pending(cl->timer, NULL)) {
		cl->again = cl->asked != NULL;
		return;
	}
	seed = quota_cluster_addr(q, q->cfg.seed[cl->seed].host, q->cfg.seed[cl->seed].port);
	if (seed == NULL || seed->ac == NULL
	    || redisAsyncCommand(seed->ac, quota_cluster_slots, q, "CLUSTER SLOTS") != REDIS_OK) {
		quota_cluster_next(q, "cannot reach the seed");
		return;
	}
	seed->unflushed = 1;
	cl->asked = seed->ac;
	evtimer_add(cl->timer, &tv);
}

/* The timer: the question timed out, or it is time to ask again. */
static void
quota_cluster_fire(evutil_socket_t fd, short what, void *ctx)
{
	struct quota *q = ctx;

	(void) fd;
	(void) what;
	if (q->cl->asked != NULL) {
		quota_cluster_next(q, "CLUSTER SLOTS: timeout");
		return;
	}
	quota_cluster_load(q);
}

/* quota_cluster_init - no connection of our own: the nodes', after a map */
void
quota_cluster_init(struct quota *q)
{
	q->cl = xcalloc(1, sizeof(*q->cl));
	rcluster_map_clear(&q->cl->map);
	if ((q->cl->timer = evtimer_new(q->base, quota_cluster_fire, q)) == NULL)
		msg_fatal("quota: cannot create a timer");
	quota_cluster_load(q);
}

/* quota_cluster_free - close every node (their calls are answered) */
void
quota_cluster_free(struct quota *q)
{
	struct quota_cluster *cl = q->cl;
	int	i;

	if (cl == NULL)
		return;
	q->cl = NULL;			/* calls started from here fail at once */
	for (i = 0; i < RCLUSTER_NODES_MAX; i++)
		quota_free(cl->node[i]);
	event_free(cl->timer);
	free(cl);
}

/*
 * quota_cluster_settings - a reload that keeps the seeds and credentials
 * keeps the node connections: they take its redis.timeout_ms
 */
void
quota_cluster_settings(struct quota *q)
{
	int	i;

	if (q->cl == NULL)
		return;
	for (i = 0; i < RCLUSTER_NODES_MAX; i++)
		if (q->cl->node[i] != NULL)
			q->cl->node[i]->cfg.timeout_ms = q->cfg.timeout_ms;
}

/* quota_cluster_calls - calls waiting on the nodes */
size_t
quota_cluster_calls(const struct quota *q)
{
	size_t	n = 0;
	int	i;

	for (i = 0; i < RCLUSTER_NODES_MAX; i++)
		if (q->cl->node[i] != NULL)
			n += q->cl->node[i]->ncalls;
	return (n);
}

/* quota_cluster_route - the node serving the request's slot (its first key) */
struct quota *
quota_cluster_route(struct quota *q, const struct quota_req *rq)
{
	unsigned i = q->cl->map.slot[rcluster_keyslot(rq->argv[3], rq->len[3])];

	if (i == RCLUSTER_NONE) {
		rlink_log_err(&q->log, &q->cfg, "request", "no slot map yet");
		quota_cluster_load(q);
		return (NULL);
	}
	return (quota_cluster_node(q, (int) i));
}

/* quota_cluster_stale - a node failed: ask for the map again */
void
quota_cluster_stale(struct quota *q)
{
	quota_cluster_load(q);
}

/* quota_cluster_redirect - follow -MOVED or -ASK once: 1 when the call was resent */
int
quota_cluster_redirect(struct quota *q, struct quota_call *c, const redisReply *r)
{
	const char *asking = "ASKING";
	size_t	asklen = 6;
	struct quota *to;
	char	host[64];
	unsigned slot;
	int	ask, port;

	if (q->cl == NULL || q->freeing
	    || rcluster_redirect(r, &ask, &slot, host, sizeof(host), &port) != 1)
		return (0);
	c->redirected = 1;
	if (!ask)
		quota_cluster_load(q);	/* the map is out of date */
	if ((to = quota_cluster_addr(q, host, port)) == NULL || to->ac == NULL)
		return (0);
	if (ask && redisAsyncCommandArgv(to->ac, NULL, NULL, 1, &asking, &asklen) != REDIS_OK)
		return (0);
	quota_call_move(c, to);
	return (quota_call_send(to, c) == 0);
}

/* The TRYAGAIN timer: route the call afresh (MOVED and ASK may be followed again). */
static void
quota_cluster_again(evutil_socket_t fd, short what, void *arg)
{
	struct quota_call *c = arg;
	struct quota *q = c->q->parent, *to;

	(void) fd;
	(void) what;
	c->redirected = 0;
	if (q == NULL || q->freeing || (to = quota_cluster_route(q, &c->rq)) == NULL) {
		quota_call_fail(c);
		return;
	}
	quota_call_move(c, to);
	if (quota_call_send(to, c) < 0)
		quota_call_fail(c);
	else
		quota_flush(to);
}

/*
 * quota_cluster_tryagain - the slot is moving: -TRYAGAIN (a multi-key
 * call, the script's, met its keys split between two nodes), or a second
 * redirect (while SETSLOT NODE reaches the nodes one by one, they can
 * send a call back and forth).  Send it again in 20 ms, routed afresh,
 * until it goes through or the call's timeout answers it.  1 when it
 * will be.
 */
int
quota_cluster_tryagain(struct quota *q, struct quota_call *c, const redisReply *r)
{
	struct timeval tv = { 0, 20000 };

	if (q->cl == NULL || q->freeing || r == NULL || r->type != REDIS_REPLY_ERROR)
		return (0);
	if (c->redirected && strncmp(r->str, "MOVED ", 6) == 0)
		quota_cluster_load(q);
	else if (strncmp(r->str, "TRYAGAIN", 8) != 0
		 && !(c->redirected && strncmp(r->str, "ASK ", 4) == 0))
		return (0);
	if (c->again == NULL)
		c->again = evtimer_new(q->base, quota_cluster_again, c);
	c->held = 0;			/* hiredis is done with it */
	evtimer_add(c->again, &tv);
	return (1);
}

/* quota_cluster_flush - quota_flush() of every node */
void
quota_cluster_flush(struct quota *q)
{
	int	i;

	for (i = 0; i < RCLUSTER_NODES_MAX; i++)
		if (q->cl->node[i] != NULL)
			quota_flush(q->cl->node[i]);
}
