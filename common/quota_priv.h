/*
 * quota_priv - what quota.c (event-driven), quota_sync.c (blocking) and
 * relayguardctl's quota_admin.c share: the Lua script, the requests, the
 * key layout (the connection is rlink.h's)
 *
 * SYNOPSIS
 *	struct quota_req rq;
 *	quota_req_reserve(&rq, conf, &txn, &verdict, err, sizeof(err));
 *	quota_req_finish(&rq, QOP_COMMIT, conf, &txn, customer, err, sizeof(err));
 *	redisCommandArgv(c, rq.argc, rq.argv, rq.len);	-- EVALSHA sha N keys args
 *	if (quota_req_noscript(reply)) quota_req_eval(&rq);	-- resend as EVAL
 *	r = quota_req_result(reply, err, sizeof(err));
 *
 * DESCRIPTION
 *	A request is self-contained (its strings live in its own buffer), so
 *	the caller's configuration may be reloaded while it is in flight.
 *	quota_keys() names the keys of one customer and user; the layout is
 *	documented in quota_req.c and relayguard.conf(5), KEYS.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_QUOTA_PRIV_H
#define RG_QUOTA_PRIV_H

#include <hiredis/hiredis.h>

#include "quota.h"
#include "rlink.h"

extern const char quota_script[];
const char *quota_script_sha(void);

#define QUOTA_KEY_MAX	(64 + 64 + 2 * RG_ADDR_MAX + 64)

enum quota_op { QOP_RESERVE, QOP_COMMIT, QOP_RELEASE };

#define QUOTA_REQ_ARGS	20
#define QUOTA_REQ_BUF	3072		/* 5 keys and 13 arguments at most ~2.4 KB */

struct quota_req {
	int	argc;
	const char *argv[QUOTA_REQ_ARGS];
	size_t	len[QUOTA_REQ_ARGS];
	size_t	used;
	char	buf[QUOTA_REQ_BUF];
};

int	quota_req_reserve(struct quota_req *, const struct rg_conf *, const struct rg_txn *,
		const struct rg_verdict *, char *err, size_t errlen);
int	quota_req_finish(struct quota_req *, enum quota_op, const struct rg_conf *,
		const struct rg_txn *, const char *customer, char *err, size_t errlen);
void	quota_req_eval(struct quota_req *);
int	quota_req_noscript(const redisReply *);
enum quota_result quota_req_result(const redisReply *, char *err, size_t errlen);

/* Key names: PREFIX:{customer}:what[:who][:what]. */
int	quota_key(char *buf, size_t len, const char *prefix, const char *customer,
		const char *what, const char *who, const char *suffix);

/* The user of a message: its envelope sender when it is a registered user. */
const struct rg_user *quota_sender_user(const struct rg_conf *, const char *sender,
		const char *customer);

#endif
