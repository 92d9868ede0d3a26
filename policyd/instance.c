/*
 * instance - the transactions in progress, keyed by Postfix's "instance"
 *
 * SYNOPSIS
 *	struct pd_insts *t = pd_insts_create();
 *	x = pd_inst_find(t, instance, now)	-- NULL when unknown; now its newest
 *	pd_inst_add(t, instance, x, now)	-- the table owns x from now on
 *	pd_inst_end(t, instance)		-- END-OF-MESSAGE: txn_free() it
 *	pd_insts_expire(t, now, ttl)		-- drop entries idle for ttl seconds
 *	pd_insts_free(t)
 *
 * DESCRIPTION
 *	DESIGN 3: a transaction is its message instance, whichever policy
 *	connection its requests arrive on (Postfix replaces a connection
 *	after max_idle or max_ttl, or when another smtpd process takes
 *	over).  So the engine's struct txn lives here, server-wide, and not
 *	in a connection.
 *
 *	Memory is bounded: at most PD_INST_MAX entries and PD_INST_BYTES of
 *	entries and their transactions (txn_size(), facts included).
 *	Entries are kept oldest-first by last use; adding one to a full
 *	table drops the oldest idle one (counted in pd_insts_evicted()), and
 *	pd_insts_expire() drops those idle longer than reservation_ttl, when
 *	their Redis reservation is gone too.  A transaction waiting for
 *	Redis is never dropped: a connection waits for its answer.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "policyd.h"
#include "txn.h"
#include "xmem.h"

/*
 * The bucket array grows with the entries (load factor <= 1, powers of
 * two up to PD_INST_MAX): the few hundred transactions of a busy relay
 * keep it small enough to stay in the cache, where a table sized for
 * the cap (512 kB) cost a cache miss on every lookup.
 */
#define PD_INST_BUCKETS0	256

struct pd_inst {
	struct pd_inst *hnext;		/* hash chain */
	TAILQ_ENTRY(pd_inst) lru;	/* least recently used first */
	long	last;			/* seconds (monotonic) of the last request */
	struct txn *txn;
	size_t	cost;			/* bytes counted for it */
	size_t	keylen;
	char	key[];			/* the instance attribute */
};

struct pd_insts {
	struct pd_inst **bucket;
	size_t	nbucket;		/* a power of two */
	TAILQ_HEAD(, pd_inst) lru;
	size_t	n;
	size_t	bytes;
	unsigned long evicted;
};

static size_t
pd_inst_hash(const char *key, size_t len)
{
	size_t	h = 14695981039346656037ULL;	/* FNV-1a */
	size_t	i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char) key[i];
		h *= 1099511628211ULL;
	}
	return (h);
}

static struct pd_inst **
pd_inst_slot(struct pd_insts *t, const char *key, size_t len)
{
	struct pd_inst **pp = &t->bucket[pd_inst_hash(key, len) & (t->nbucket - 1)];

	while (*pp && ((*pp)->keylen != len || memcmp((*pp)->key, key, len) != 0))
		pp = &(*pp)->hnext;
	return (pp);
}

/* Count an entry again: its transaction's facts grow (queue id, ...). */
static void
pd_inst_recost(struct pd_insts *t, struct pd_inst *e)
{
	t->bytes -= e->cost;
	e->cost = sizeof(*e) + e->keylen + 1 + txn_size(e->txn);
	t->bytes += e->cost;
}

static void
pd_inst_drop(struct pd_insts *t, struct pd_inst **pp)
{
	struct pd_inst *e = *pp;

	*pp = e->hnext;
	TAILQ_REMOVE(&t->lru, e, lru);
	t->n--;
	t->bytes -= e->cost;
	txn_abort(e->txn);		/* give back now what it reserved */
	txn_free(e->txn);
	free(e);
}

/* pd_insts_create - an empty table */
struct pd_insts *
pd_insts_create(void)
{
	struct pd_insts *t = xcalloc(1, sizeof(*t));

	t->nbucket = PD_INST_BUCKETS0;
	t->bucket = xcalloc(t->nbucket, sizeof(*t->bucket));
	TAILQ_INIT(&t->lru);
	return (t);
}

/* pd_inst_find - the transaction of this instance, or NULL; used at now */
struct txn *
pd_inst_find(struct pd_insts *t, const char *key, long now)
{
	struct pd_inst *e = *pd_inst_slot(t, key, strlen(key));

	if (e == NULL)
		return (NULL);
	TAILQ_REMOVE(&t->lru, e, lru);
	TAILQ_INSERT_TAIL(&t->lru, e, lru);
	e->last = now;
	pd_inst_recost(t, e);
	return (e->txn);
}

/* pd_inst_end - the transaction is over: forget and free it */
void
pd_inst_end(struct pd_insts *t, const char *key)
{
	struct pd_inst **pp = pd_inst_slot(t, key, strlen(key));

	if (*pp)
		pd_inst_drop(t, pp);
}

/* pd_inst_grow - twice the buckets, every entry rehashed */
static void
pd_inst_grow(struct pd_insts *t)
{
	size_t	n = t->nbucket * 2, i, h;
	struct pd_inst **b = xcalloc(n, sizeof(*b)), *e, *next;

	for (i = 0; i < t->nbucket; i++)
		for (e = t->bucket[i]; e; e = next) {
			next = e->hnext;
			h = pd_inst_hash(e->key, e->keylen) & (n - 1);
			e->hnext = b[h];
			b[h] = e;
		}
	free(t->bucket);
	t->bucket = b;
	t->nbucket = n;
}

/* pd_inst_add - a new transaction; the oldest idle ones make room */
void
pd_inst_add(struct pd_insts *t, const char *key, struct txn *x, long now)
{
	size_t	len = strlen(key), h;
	struct pd_inst *e, *old, *next;

	pd_inst_end(t, key);
	e = xcalloc(1, sizeof(*e) + len + 1);
	memcpy(e->key, key, len + 1);
	e->keylen = len;
	e->last = now;
	e->txn = x;
	for (old = TAILQ_FIRST(&t->lru); old; old = next) {
		next = TAILQ_NEXT(old, lru);
		if (t->n < PD_INST_MAX && t->bytes + sizeof(*e) + len + txn_size(x) <= PD_INST_BYTES)
			break;
		if (txn_busy(old->txn))
			continue;
		pd_inst_drop(t, pd_inst_slot(t, old->key, old->keylen));
		t->evicted++;
	}
	if (t->n >= t->nbucket && t->nbucket < PD_INST_MAX)
		pd_inst_grow(t);
	h = pd_inst_hash(key, len) & (t->nbucket - 1);
	e->hnext = t->bucket[h];
	t->bucket[h] = e;
	TAILQ_INSERT_TAIL(&t->lru, e, lru);
	t->n++;
	pd_inst_recost(t, e);
}

/* pd_insts_expire - drop the idle transactions not seen for ttl seconds */
void
pd_insts_expire(struct pd_insts *t, long now, long ttl)
{
	struct pd_inst *e, *next;

	for (e = TAILQ_FIRST(&t->lru); e && e->last + ttl <= now; e = next) {
		next = TAILQ_NEXT(e, lru);
		if (!txn_busy(e->txn))
			pd_inst_drop(t, pd_inst_slot(t, e->key, e->keylen));
	}
}

/* pd_insts_count - entries in the table (tests, logs) */
size_t
pd_insts_count(const struct pd_insts *t)
{
	return (t->n);
}

/* pd_insts_evicted - entries dropped so far to stay within the caps */
unsigned long
pd_insts_evicted(const struct pd_insts *t)
{
	return (t->evicted);
}

/* pd_insts_free - release the table and every entry */
void
pd_insts_free(struct pd_insts *t)
{
	struct pd_inst *e;

	while ((e = TAILQ_FIRST(&t->lru)) != NULL)
		pd_inst_drop(t, pd_inst_slot(t, e->key, e->keylen));
	free(t->bucket);
	free(t);
}
