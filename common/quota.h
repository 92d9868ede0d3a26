/*
 * quota - relay quotas in Redis (DESIGN 3.4), shared by every MTA
 *
 * SYNOPSIS
 *	-- event-driven front end (relayguard-policyd), one Redis round trip each:
 *	struct quota *q = quota_create(base, conf);
 *	quota_reserve(q, conf, &txn, &verdict, done, arg);	-- at RCPT, after an accepting verdict
 *	quota_commit(q, conf, &txn, customer, done, arg);	-- at END-OF-MESSAGE
 *	quota_release(q, conf, &txn, customer, done, arg);	-- abort: give back now
 *	quota_reconfigure(q, conf);				-- after SIGHUP
 *	quota_free(q);
 *
 *	-- blocking front ends (relayguard-milter worker threads):
 *	struct quota_sync *qs = quota_sync_create(conf);	-- one per thread, or locked
 *	r = quota_sync_reserve(qs, conf, &txn, &verdict);
 *	r = quota_sync_commit(qs, conf, &txn, customer);
 *	r = quota_sync_release(qs, conf, &txn, customer);	-- abort/close: give back at once
 *
 *	quota_apply(conf, &verdict, r);	-- turn a result into the verdict's reply
 *
 * DESCRIPTION
 *	One Lua script per decision, keys PREFIX:{customer}:..., exact under
 *	concurrency (see relayguard.conf(5), KEYS).  A reservation is keyed by
 *	the transaction's instance and expires after reservation_ttl unless
 *	committed.  Callbacks always run (with QUOTA_BACKEND_ERROR when Redis
 *	is down, slow beyond redis.timeout_ms, or the script fails) and never
 *	from inside the call that started them, except that quota_free()
 *	answers every open call itself (calls started from those callbacks
 *	are answered at once).  Call quota_free() before event_base_free().
 *	Front ends must ignore SIGPIPE (hiredis writes with plain write()).
 *
 *	quota_commit() with txn->rcpt_count = recipients the MTA accepted (0 =
 *	as reserved): a surplus reservation is given back.  Its result is
 *	not just informative: when the reservation had expired and the
 *	recipients no longer fit, nothing is counted and the limit's result
 *	is returned, so a front end that refuses the message then keeps the
 *	limit exact.   (Inspection and reset are
 *	relayguardctl's: ctl/quota_admin.c.)
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_QUOTA_H
#define RG_QUOTA_H

#include <stdio.h>

#include "conf.h"
#include "relay.h"

struct event_base;

enum quota_result {
	QUOTA_OK,
	QUOTA_USER,			/* 550 5.4.5 */
	QUOTA_CUSTOMER_DAY,		/* 550 5.7.1 */
	QUOTA_CUSTOMER_PEAK,		/* 450 4.2.1 */
	QUOTA_BACKEND_ERROR,		/* on_backend_error decides */
};

typedef void (*quota_done_fn)(void *arg, enum quota_result);

struct quota;

struct quota *quota_create(struct event_base *, const struct rg_conf *);
void	quota_reconfigure(struct quota *, const struct rg_conf *);
void	quota_reserve(struct quota *, const struct rg_conf *, const struct rg_txn *,
		const struct rg_verdict *, quota_done_fn, void *arg);
void	quota_commit(struct quota *, const struct rg_conf *, const struct rg_txn *,
		const char *customer, quota_done_fn, void *arg);
void	quota_release(struct quota *, const struct rg_conf *, const struct rg_txn *,
		const char *customer, quota_done_fn, void *arg);
void	quota_flush(struct quota *);		/* after each pass of the loop */
size_t	quota_calls(const struct quota *);	/* calls not yet answered */
void	quota_free(struct quota *);

struct quota_sync;

struct quota_sync *quota_sync_create(const struct rg_conf *);
enum quota_result quota_sync_reserve(struct quota_sync *, const struct rg_conf *,
		const struct rg_txn *, const struct rg_verdict *);
enum quota_result quota_sync_commit(struct quota_sync *, const struct rg_conf *,
		const struct rg_txn *, const char *customer);
enum quota_result quota_sync_release(struct quota_sync *, const struct rg_conf *,
		const struct rg_txn *, const char *customer);
void	quota_sync_free(struct quota_sync *);

void	quota_apply(const struct rg_conf *, struct rg_verdict *, enum quota_result);
const char *quota_result_name(enum quota_result);

#endif
