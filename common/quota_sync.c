/*
 * quota_sync - relay quotas for blocking front ends (relayguard-milter's
 * worker threads, one object per thread at a time)
 *
 * SYNOPSIS
 *	See quota.h.  Same script and keys as quota.c (quota_req.c).
 *
 * DESCRIPTION
 *	One blocking Redis link (rlink.c: connection on first use, AUTH and
 *	SELECT pipelined with the first command, timeouts, one retry on a
 *	connection Redis closed while idle, settings followed across
 *	reloads by configuration generation; with a cluster, one such link
 *	per node, chosen by the customer's slot: rcluster.c).  Each call is one script
 *	request, EVALSHA and, when Redis lacks the script, EVAL once.
 *
 * DIAGNOSTICS
 *	Failures are logged (at most once a second per object) and answered
 *	QUOTA_BACKEND_ERROR.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "log.h"
#include "metrics.h"
#include "quota_priv.h"
#include "rcluster.h"
#include "xmem.h"

struct quota_sync {
	struct rlink_sync link;
};

/* Run a script request: EVALSHA, and EVAL once if Redis lacks the script. */
static enum quota_result
quota_sync_run(struct quota_sync *qs, struct quota_req *rq)
{
	redisReply *r;
	enum quota_result res;
	char	err[400];
	double	t0 = metrics_now();

	/* argv[3] is the first key: its {customer} tag picks a cluster node */
	r = rcluster_sync_cmd(&qs->link, rq->argv[3], rq->len[3], rq->argc, rq->argv, rq->len,
			      err, sizeof(err));
	if (r != NULL && quota_req_noscript(r)) {
		freeReplyObject(r);
		quota_req_eval(rq);
		r = rcluster_sync_cmd(&qs->link, rq->argv[3], rq->len[3], rq->argc, rq->argv,
				      rq->len, err, sizeof(err));
	}
	if (r == NULL) {
		metrics_redis_done(t0, (metrics_now() - t0) * 1000 >= qs->link.cfg.timeout_ms
				   ? METRICS_REDIS_TIMEOUT : METRICS_REDIS_ERROR);
		rlink_log_err(&qs->link.log, &qs->link.cfg, "unavailable", err);
		return (QUOTA_BACKEND_ERROR);
	}
	res = quota_req_result(r, err, sizeof(err));
	metrics_redis_done(t0, res == QUOTA_BACKEND_ERROR ? METRICS_REDIS_ERROR : METRICS_REDIS_OK);
	if (res == QUOTA_BACKEND_ERROR)
		rlink_log_err(&qs->link.log, &qs->link.cfg, "script", err);
	freeReplyObject(r);
	return (res);
}

/* quota_sync_create - a blocking quota client; connects on first use */
struct quota_sync *
quota_sync_create(const struct rg_conf *conf)
{
	struct quota_sync *qs = xcalloc(1, sizeof(*qs));

	rlink_sync_settings(&qs->link, conf);
	return (qs);
}

/* quota_sync_free - close and free */
void
quota_sync_free(struct quota_sync *qs)
{
	if (qs == NULL)
		return;
	rlink_sync_close(&qs->link);
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

	rlink_sync_settings(&qs->link, conf);
	if (quota_req_reserve(rq, conf, t, v, err, sizeof(err)) == 0)
		res = quota_sync_run(qs, rq);
	else
		rlink_log_err(&qs->link.log, &qs->link.cfg, "request", err);
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

	rlink_sync_settings(&qs->link, conf);
	if (quota_req_finish(rq, op, conf, t, customer, err, sizeof(err)) == 0)
		res = quota_sync_run(qs, rq);
	else
		rlink_log_err(&qs->link.log, &qs->link.cfg, "request", err);
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
