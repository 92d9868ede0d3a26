/*
 * txn - one SMTP transaction, decided the same way by every front end
 *
 * SYNOPSIS
 *	struct txn *x = txn_new(conf, TXN_DECIDE, quota);	-- at MAIL
 *	txn_facts(x, &(struct txn_facts) { .client = ..., .sender = ... });
 *	txn_rcpt(x, "bob@example.net", done, arg);	-- done(arg, x, &verdict);
 *							   the string lives until then
 *	txn_eom(x, rcpt_count, done, arg);		-- commit; may refuse
 *	txn_abort(x);					-- give reservations back
 *	txn_free(x);
 *
 *	struct txn_quota *q = txn_quota_async(quota);	-- policyd's libevent client
 *	struct txn_quota *q = txn_quota_blocking(get, put);	-- libmilter's threads
 *
 * DESCRIPTION
 *	A transaction owns its facts (uncut copies), the configuration it
 *	started with, the recipients accepted, the customer chosen and its
 *	quota reservation, the sender rewrite, and the end-of-message rule.
 *	relayguard-policyd and relayguard-milter only translate their
 *	protocol into these calls and the verdict back into a reply, so the
 *	same facts give the same verdict for a whole transaction.
 *
 *	Modes: TXN_DECIDE is the whole of DESIGN 3 with quotas (policyd;
 *	the milter in enforce mode).  TXN_REWRITE is the milter beside the
 *	policy service (DESIGN 4): it enforces only the null-sender
 *	recipient limit and the TLS rule, logs any other refusal as "not
 *	enforced", and does no quota work.  (That it serves only Postfix is
 *	the milter's to check: it is a property of the MTA, not of a
 *	transaction.)
 *
 *	Quota calls go through a struct txn_quota: the asynchronous one
 *	answers later from the event loop, the blocking one before the call
 *	returns; done runs exactly once per txn_rcpt()/txn_eom() either way.
 *	While a call is out the transaction must not be freed: txn_free()
 *	of a busy transaction defers the free to the answer.
 *
 * DIAGNOSTICS
 *	Every RCPT decision is one log line (relay_format_log(), a refusal
 *	with the reply appended).  Quota failures at end of message are
 *	logged with the queue id.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_TXN_H
#define RG_TXN_H

#include "quota.h"
#include "relay.h"

enum txn_mode { TXN_DECIDE, TXN_REWRITE };

/* The facts of a transaction, as the front end has them; copied whole. */
struct txn_facts {
	const char *instance;		/* the transaction's identity */
	const char *queue_id;		/* "" until known */
	const char *client;
	const char *helo;
	const char *sasl;		/* "" = not authenticated */
	int	tls;
	const char *sender;		/* "" or "<>" = null sender */
};

struct txn;

typedef void (*txn_done_fn)(void *arg, struct txn *, const struct rg_verdict *);

enum txn_qop { TXN_RESERVE, TXN_COMMIT, TXN_RELEASE };

struct txn_quota {
	void	(*call)(struct txn_quota *, enum txn_qop, const struct rg_conf *,
			const struct rg_txn *, const struct rg_verdict *,
			const char *customer, quota_done_fn, void *arg);
	void	(*free)(struct txn_quota *);
};

struct quota_sync;

struct txn_quota *txn_quota_async(struct quota *);
struct txn_quota *txn_quota_blocking(struct quota_sync *(*get)(const struct rg_conf *, void **),
		void (*put)(struct quota_sync *, void *));
void	txn_quota_free(struct txn_quota *);

struct txn *txn_new(struct rg_conf *, enum txn_mode, struct txn_quota *);
void	txn_facts(struct txn *, const struct txn_facts *);
int	txn_same(const struct txn *, const struct txn_facts *);
void	txn_reconf(struct txn *, struct rg_conf *);
void	txn_set_queue_id(struct txn *, const char *);
void	txn_rcpt(struct txn *, const char *rcpt, txn_done_fn, void *arg);
void	txn_eom(struct txn *, unsigned rcpt_count, txn_done_fn, void *arg);
void	txn_abort(struct txn *);
void	txn_free(struct txn *);

const char *txn_queue_id(const struct txn *);
const char *txn_instance(const struct txn *);
unsigned txn_accepted_count(const struct txn *);
const char *txn_rewrite(const struct txn *, const char **from);
const struct rg_conf *txn_conf(const struct txn *);
int	txn_busy(const struct txn *);
int	txn_idle(const struct txn *);
size_t	txn_size(const struct txn *);

#endif
