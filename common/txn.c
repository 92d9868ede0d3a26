/*
 * txn - one SMTP transaction for every front end (see txn.h)
 *
 * SYNOPSIS
 *	See txn.h: txn_new(), txn_rcpt(), txn_eom(), txn_abort(), and the two
 *	quota interfaces txn_quota_async() and txn_quota_blocking().
 *
 * DESCRIPTION
 *	A RCPT is decided by relay_decide() on the transaction's facts and the
 *	number of recipients accepted so far; in TXN_DECIDE an accepting
 *	verdict then reserves quota, and the quota answer can still turn it
 *	into a refusal.  End of message commits the reservation: a commit
 *	that comes after its reservation expired and no longer fits is
 *	refused with the limit's reply (the limit stays exact), a Redis
 *	failure is answered as on_backend_error says, and a refused message
 *	gives its reservation back.  Abort gives it back at once.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "txn.h"
#include "xmem.h"

struct txn {
	struct rg_conf *conf;		/* one reference for the whole transaction */
	enum txn_mode mode;
	struct txn_quota *quota;	/* NULL: no quota work */
	char   *instance;
	char   *queue_id;
	char   *client;
	char   *helo;
	char   *sasl;
	char   *sender;
	char   *facts;			/* the buffer all six facts live in */
	size_t	nfacts;			/* its size */
	int	tls;
	size_t	size;			/* bytes held, facts included (txn_size) */
	unsigned nrcpt;			/* recipients accepted */
	char   *customer;		/* the customer of the accepted recipients */
	int	reserved;		/* its reservation is in Redis */
	long	reserved_at;		/* when (monotonic s) it was first made */
	char   *rewrite;		/* the first new sender asked for, or NULL */
	char   *rewrite_from;
	/* The call in progress. */
	int	busy;
	int	dead;			/* freed while busy */
	enum txn_qop op;
	struct rg_txn rt;
	const char *rcpt;		/* the RCPT being decided (the caller's, valid until done) */
	txn_done_fn done;
	void   *arg;
	struct rg_verdict v;		/* last: 2.7 kB that txn_new() does not zero */
};

static char txn_empty[] = "";		/* every fact until set: no allocation */

#define TXN_NFACTS	6

/*
 * Set the facts (NULL: keep).  They live in one buffer, so a message's
 * first request costs one allocation, and a request that changes none of
 * them (every later RCPT) costs none.
 */
static void
txn_store(struct txn *x, const char *const in[TXN_NFACTS])
{
	char  **slot[TXN_NFACTS] = { &x->instance, &x->queue_id, &x->client, &x->helo,
	&x->sasl, &x->sender };
	const char *want[TXN_NFACTS];
	size_t	len[TXN_NFACTS], total = 0;
	int	i, same = 1;
	char   *buf, *p;

	for (i = 0; i < TXN_NFACTS; i++) {
		want[i] = in[i] ? in[i] : *slot[i];
		same &= strcmp(want[i], *slot[i]) == 0;
		total += (len[i] = strlen(want[i])) + 1;
	}
	if (same)
		return;
	p = buf = xmalloc(total);
	for (i = 0; i < TXN_NFACTS; i++) {
		memcpy(p, want[i], len[i] + 1);
		*slot[i] = p;
		p += len[i] + 1;
	}
	free(x->facts);
	x->size += total - x->nfacts;
	x->facts = buf;
	x->nfacts = total;
}

/* txn_new - a transaction on this configuration (referenced until freed) */
struct txn *
txn_new(struct rg_conf *conf, enum txn_mode mode, struct txn_quota *quota)
{
	struct txn *x = xmalloc(sizeof(*x));

	memset(x, 0, offsetof(struct txn, v));
	relay_verdict_init(&x->v);
	conf_ref(conf);
	x->conf = conf;
	x->mode = mode;
	x->quota = mode == TXN_DECIDE && conf->quotas ? quota : NULL;
	x->instance = x->queue_id = x->client = txn_empty;
	x->helo = x->sasl = x->sender = txn_empty;
	x->size = sizeof(*x);
	return (x);
}

/* txn_facts - set the facts; fields left NULL keep their value */
void
txn_facts(struct txn *x, const struct txn_facts *f)
{
	const char *in[TXN_NFACTS] = {
		f->instance, f->queue_id && *f->queue_id ? f->queue_id : NULL, f->client,
		f->helo, f->sasl, f->sender
	};

	txn_store(x, in);
	x->tls = x->tls || f->tls;
}

/* txn_same - the facts could be this transaction's (same client and sender) */
int
txn_same(const struct txn *x, const struct txn_facts *f)
{
	return ((f->client == NULL || strcmp(f->client, x->client) == 0)
		&& (f->sender == NULL || strcmp(f->sender, x->sender) == 0));
}

/*
 * txn_reconf - decide later recipients on this configuration.  policyd
 * keeps a transaction across requests and connections: it follows a
 * reload, so no client can pin an old configuration in memory.
 */
void
txn_reconf(struct txn *x, struct rg_conf *conf)
{
	if (conf == x->conf)
		return;
	conf_ref(conf);
	conf_unref(x->conf);
	x->conf = conf;
	if (x->quota && !conf->quotas)
		x->quota = NULL;
}

/* txn_set_queue_id - the queue id, once the MTA has one */
void
txn_set_queue_id(struct txn *x, const char *qid)
{
	const char *in[TXN_NFACTS] = { NULL, qid, NULL, NULL, NULL, NULL };

	if (qid && *qid)
		txn_store(x, in);
}

/* The facts of one RCPT (or of end of message) for relay_decide(). */
static void
txn_fill(struct txn *x, const char *rcpt, unsigned rcpt_count)
{
	struct rg_txn *t = &x->rt;

	memset(t, 0, sizeof(*t));
	t->queue_id = x->queue_id;
	t->instance = x->instance;
	t->client_addr = x->client;
	t->helo = x->helo;
	t->sasl_username = x->sasl;
	t->tls = x->tls;
	t->sender = x->sender;
	t->recipient = rcpt ? rcpt : "";
	t->nrcpt = x->nrcpt;
	t->rcpt_count = rcpt_count;
}

/* The decision line; a refusal also shows the reply the client gets. */
static void
txn_log(struct txn *x, const struct rg_verdict *v, const char *note)
{
	char	line[2048];
	size_t	n;

	if (v->code == 0 && note == NULL) {
		relay_log(&x->rt, v);
		return;
	}
	relay_format_log(&x->rt, v, line, sizeof(line));
	n = strlen(line);
	snprintf(line + n, sizeof(line) - n, " reply=\"%s\"%s", v->reply, note ? note : "");
	msg_info("%s", line);
}

/* An accepted RCPT: count it, note its customer and a rewrite it asks for. */
static void
txn_accepted(struct txn *x, const struct rg_verdict *v)
{
	x->nrcpt++;
	if (v->customer && x->customer == NULL) {
		x->customer = xstrdup(v->customer->name);
		x->size += strlen(x->customer) + 1;
	}
	if (v->rewrite[0] && !v->from.null) {
		if (x->rewrite == NULL) {
			x->rewrite = xstrdup(v->rewrite);
			x->rewrite_from = xstrdup(v->from.text);
			x->size += strlen(x->rewrite) + strlen(x->rewrite_from) + 2;
		} else if (strcmp(x->rewrite, v->rewrite) != 0) {
			msg_warn("%s: recipients ask for different senders <%s> and <%s>;"
				 " keeping the first", txn_queue_id(x), x->rewrite, v->rewrite);
		}
	}
}

static long
txn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long) ts.tv_sec);
}

/*
 * A reservation certainly alive: its commit only moves counts (it cannot
 * find a limit reached), so nobody need wait for it.  The margin covers
 * the script's bucket rounding (ttl / 100) and the clocks of two hosts.
 */
static int
txn_fresh(const struct txn *x)
{
	long	ttl = x->conf->reservation_ttl;

	return (x->reserved_at > 0 && txn_now() < x->reserved_at + ttl - ttl / 100 - 2);
}

/* Answer the call in progress; free the transaction if it was let go. */
static void
txn_answer(struct txn *x)
{
	txn_done_fn done = x->done;
	void   *arg = x->arg;

	x->busy = 0;
	x->done = NULL;
	if (x->rcpt && !x->dead)	/* a RCPT's verdict is final here */
		metrics_decision(x->v.cls);
	x->rcpt = NULL;
	if (x->dead) {
		x->dead = 0;
		txn_free(x);
		return;
	}
	if (done)
		done(arg, x, &x->v);
}

static void
txn_reserved(void *arg, enum quota_result r)
{
	struct txn *x = arg;

	if (!x->dead) {
		quota_apply(x->conf, &x->v, r);
		if (r != QUOTA_OK)
			snprintf(x->v.reason + strlen(x->v.reason),
				 sizeof(x->v.reason) - strlen(x->v.reason),
				 " (quota: %s)", quota_result_name(r));
		if (r == QUOTA_OK && x->v.customer) {
			x->reserved = 1;
			if (x->reserved_at == 0)
				x->reserved_at = txn_now();
		}
		if (x->v.code == 0)
			txn_accepted(x, &x->v);
		txn_log(x, &x->v, NULL);
	}
	txn_answer(x);
}

/* txn_rcpt - decide one recipient; done gets the verdict */
void
txn_rcpt(struct txn *x, const char *rcpt, txn_done_fn done, void *arg)
{
	struct rg_verdict *v = &x->v;

	if (x->busy)
		msg_panic("txn_rcpt: a call is already in progress");
	x->done = done;
	x->arg = arg;
	x->busy = 1;
	x->rcpt = rcpt ? rcpt : "";
	txn_fill(x, x->rcpt, 0);
	relay_decide(x->conf, &x->rt, v);
	if (x->mode == TXN_REWRITE) {
		if (v->cls == RG_TOO_MANY_RECIPIENTS || v->cls == RG_STARTTLS_REQUIRED) {
			txn_log(x, v, NULL);
		} else if (v->code != 0) {
			/* The policy service decides: what it let through passes. */
			txn_log(x, v, " (not enforced: rewrite mode, the policy service decides)");
			x->nrcpt++;
			v->code = 0;
			v->cls = RG_ACCEPT;
			v->reply[0] = 0;
		} else {
			if (v->rewrite[0])
				txn_log(x, v, NULL);
			txn_accepted(x, v);
		}
		txn_answer(x);
		return;
	}
	if (v->code == 0 && x->quota && v->customer) {
		/* One customer per transaction: a reservation of another is a bug. */
		if (x->customer && strcmp(x->customer, v->customer->name) != 0) {
			relay_refuse(v, RG_BACKEND_ERROR, v->client,
				     "customer changed within the transaction");
			txn_log(x, v, NULL);
			txn_answer(x);
			return;
		}
		x->op = TXN_RESERVE;
		x->quota->call(x->quota, TXN_RESERVE, x->conf, &x->rt, v, NULL, txn_reserved, x);
		return;
	}
	if (v->code == 0)
		txn_accepted(x, v);
	txn_log(x, v, NULL);
	txn_answer(x);
}

static void
txn_released(void *arg, enum quota_result r)
{
	struct txn *x = arg;

	if (r != QUOTA_OK)
		msg_warn("%s: quota release for customer %s: %s", txn_queue_id(x),
			 x->customer ? x->customer : "-", quota_result_name(r));
	txn_answer(x);
}

static void
txn_committed(void *arg, enum quota_result r)
{
	struct txn *x = arg;
	struct rg_verdict *v = &x->v;
	const char *qid = txn_queue_id(x);

	if (x->dead) {
		txn_answer(x);
		return;
	}
	if (r == QUOTA_OK) {
		x->reserved = 0;
		txn_answer(x);
		return;
	}
	if (r == QUOTA_BACKEND_ERROR)
		msg_warn("%s: quota commit for customer %s failed (Redis)", qid, x->customer);
	else
		msg_warn("%s: quota commit for customer %s came after the reservation expired and"
			 " the %s limit is reached", qid, x->customer, quota_result_name(r));
	quota_apply(x->conf, v, r);
	if (v->code == 0) {
		/* on_backend_error = accept: the reservation expires by itself */
		x->reserved = 0;
		txn_answer(x);
		return;
	}
	msg_info("%s: end of message refused: %s", qid, v->reply);
	/* A refused message gives back what it reserved. */
	x->op = TXN_RELEASE;
	x->reserved = 0;
	txn_fill(x, "", 0);
	x->quota->call(x->quota, TXN_RELEASE, x->conf, &x->rt, NULL, x->customer,
		       txn_released, x);
}

/* A commit nobody waits for: only its failure is worth a line. */
static void
txn_committed_later(void *arg, enum quota_result r)
{
	struct txn *x = arg;

	if (r != QUOTA_OK)
		msg_warn("%s: quota commit for customer %s: %s; the reservation will expire",
			 txn_queue_id(x), x->customer, quota_result_name(r));
	txn_answer(x);
}

/*
 * txn_eom - end of message: commit the reservation.  rcpt_count is the
 * number of recipients the MTA accepted (0 = as reserved; a surplus is
 * given back).  A transaction that saw no RCPT here (Postfix replaced its
 * policy connection, or the daemon restarted) finds its customer from
 * the same facts, and its reservation in Redis.
 */
void
txn_eom(struct txn *x, unsigned rcpt_count, txn_done_fn done, void *arg)
{
	struct rg_verdict *v = &x->v;

	if (x->busy)
		msg_panic("txn_eom: a call is already in progress");
	x->done = done;
	x->arg = arg;
	x->busy = 1;
	relay_verdict_init(v);
	if (x->quota == NULL) {
		txn_answer(x);
		return;
	}
	if (x->customer == NULL && rcpt_count > 0) {
		txn_fill(x, "", 0);
		relay_decide(x->conf, &x->rt, v);
		if (v->customer) {
			x->customer = xstrdup(v->customer->name);
			x->nrcpt = rcpt_count;
			x->reserved = 1;
		}
		relay_verdict_init(v);
	}
	if (x->customer == NULL || !x->reserved || x->nrcpt == 0) {
		txn_answer(x);
		return;
	}
	/*
	 * "As reserved" is what this transaction accepted: said outright, so
	 * a commit whose reservation expired still counts its recipients.
	 */
	x->op = TXN_COMMIT;
	txn_fill(x, "", rcpt_count ? rcpt_count : x->nrcpt);
	if (txn_fresh(x)) {
		/* Accepted now; the commit goes on by itself (txn_free waits). */
		x->done = NULL;
		x->reserved = 0;
		x->quota->call(x->quota, TXN_COMMIT, x->conf, &x->rt, NULL, x->customer,
			       txn_committed_later, x);
		if (done)
			done(arg, x, v);
		return;
	}
	x->quota->call(x->quota, TXN_COMMIT, x->conf, &x->rt, NULL, x->customer,
		       txn_committed, x);
}

/* txn_abort - the transaction ends without end of message: give back now */
void
txn_abort(struct txn *x)
{
	if (x->busy || !x->reserved || x->quota == NULL || x->customer == NULL)
		return;
	x->reserved = 0;
	x->busy = 1;
	x->done = NULL;			/* nobody waits for this answer */
	x->op = TXN_RELEASE;
	txn_fill(x, "", 0);
	x->quota->call(x->quota, TXN_RELEASE, x->conf, &x->rt, NULL, x->customer,
		       txn_released, x);
}

/* txn_free - let the transaction go; a busy one goes when its call answers */
void
txn_free(struct txn *x)
{
	if (x == NULL)
		return;
	if (x->busy) {
		x->dead = 1;
		x->done = NULL;
		return;
	}
	conf_unref(x->conf);
	free(x->facts);
	free(x->customer);
	free(x->rewrite);
	free(x->rewrite_from);
	free(x);
}

/* txn_queue_id - the queue id for log lines ("NOQUEUE" before one exists) */
const char *
txn_queue_id(const struct txn *x)
{
	return (*x->queue_id ? x->queue_id : "NOQUEUE");
}

const char *
txn_instance(const struct txn *x)
{
	return (x->instance);
}

/* txn_accepted_count - the recipients accepted so far */
unsigned
txn_accepted_count(const struct txn *x)
{
	return (x->nrcpt);
}

/* txn_rewrite - the new envelope sender the recipients ask for, or NULL */
const char *
txn_rewrite(const struct txn *x, const char **from)
{
	if (from)
		*from = x->rewrite_from;
	return (x->rewrite);
}

const struct rg_conf *
txn_conf(const struct txn *x)
{
	return (x->conf);
}

int
txn_busy(const struct txn *x)
{
	return (x->busy);
}

/*
 * txn_idle - nothing to remember: no call out, nothing accepted or
 * reserved.  Such a transaction is what a new one from the same facts
 * would be, so a front end need not keep it between requests.
 */
int
txn_idle(const struct txn *x)
{
	return (!x->busy && x->nrcpt == 0 && !x->reserved && x->customer == NULL
		&& x->rewrite == NULL);
}

/* txn_size - bytes the transaction holds, its facts included (for caps) */
size_t
txn_size(const struct txn *x)
{
	return (x->size);
}

/* --- the two quota interfaces ------------------------------------------ */

struct txn_quota_async {
	struct txn_quota base;
	struct quota *q;
};

static void
txn_async_call(struct txn_quota *tq, enum txn_qop op, const struct rg_conf *conf,
	       const struct rg_txn *t, const struct rg_verdict *v, const char *customer,
	       quota_done_fn done, void *arg)
{
	struct quota *q = ((struct txn_quota_async *) tq)->q;

	switch (op) {
	case TXN_RESERVE:
		quota_reserve(q, conf, t, v, done, arg);
		return;
	case TXN_COMMIT:
		quota_commit(q, conf, t, customer, done, arg);
		return;
	case TXN_RELEASE:
		quota_release(q, conf, t, customer, done, arg);
		return;
	}
	msg_panic("txn_async_call: operation %d", (int) op);
}

static void
txn_quota_plain_free(struct txn_quota *tq)
{
	free(tq);
}

/* txn_quota_async - quota calls on policyd's libevent Redis client */
struct txn_quota *
txn_quota_async(struct quota *q)
{
	struct txn_quota_async *a = xcalloc(1, sizeof(*a));

	a->base.call = txn_async_call;
	a->base.free = txn_quota_plain_free;
	a->q = q;
	return (&a->base);
}

struct txn_quota_blocking {
	struct txn_quota base;
	struct quota_sync *(*get)(const struct rg_conf *, void **);
	void	(*put)(struct quota_sync *, void *);
};

static void
txn_blocking_call(struct txn_quota *tq, enum txn_qop op, const struct rg_conf *conf,
		  const struct rg_txn *t, const struct rg_verdict *v, const char *customer,
		  quota_done_fn done, void *arg)
{
	struct txn_quota_blocking *b = (struct txn_quota_blocking *) tq;
	enum quota_result r = QUOTA_BACKEND_ERROR;
	struct quota_sync *qs;
	void   *token = NULL;

	if ((qs = b->get(conf, &token)) != NULL) {
		switch (op) {
		case TXN_RESERVE:
			r = quota_sync_reserve(qs, conf, t, v);
			break;
		case TXN_COMMIT:
			r = quota_sync_commit(qs, conf, t, customer);
			break;
		case TXN_RELEASE:
			r = quota_sync_release(qs, conf, t, customer);
			break;
		}
		b->put(qs, token);
	}
	done(arg, r);
}

/* txn_quota_blocking - quota calls on blocking clients lent by get/put */
struct txn_quota *
txn_quota_blocking(struct quota_sync *(*get)(const struct rg_conf *, void **),
		   void (*put)(struct quota_sync *, void *))
{
	struct txn_quota_blocking *b = xcalloc(1, sizeof(*b));

	b->base.call = txn_blocking_call;
	b->base.free = txn_quota_plain_free;
	b->get = get;
	b->put = put;
	return (&b->base);
}

/* txn_quota_free - free either kind */
void
txn_quota_free(struct txn_quota *tq)
{
	if (tq)
		tq->free(tq);
}
