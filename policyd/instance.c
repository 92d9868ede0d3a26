/*
 * instance - the transactions in progress, keyed by Postfix's "instance"
 *
 * SYNOPSIS
 *	struct pd_insts *t = pd_insts_create();
 *	e = pd_inst_find(t, instance)		-- NULL when unknown
 *	e = pd_inst_get(t, instance, now)	-- find or add; now its newest
 *	e->accepted, e->customer		-- the transaction's state
 *	pd_inst_set_customer(e, name)
 *	pd_inst_end(t, e)			-- END-OF-MESSAGE
 *	pd_insts_expire(t, now, ttl)		-- drop entries idle for ttl seconds
 *	pd_insts_free(t)
 *
 * DESCRIPTION
 *	DESIGN 3: a transaction is its message instance, whichever policy
 *	connection its requests arrive on (Postfix replaces a connection
 *	after max_idle or max_ttl, or when another smtpd process takes
 *	over).  So the state that spans requests - recipients accepted so
 *	far, the customer chosen - lives here, server-wide, and not in the
 *	connection.
 *
 *	Memory is bounded: at most PD_INST_MAX entries and PD_INST_BYTES of
 *	keys and names.  Entries are kept oldest-first by last use; adding
 *	one to a full table drops the oldest (counted in t->evicted), and
 *	pd_insts_expire() drops those idle longer than reservation_ttl, when
 *	their Redis reservation is gone too.  Lookups are one hash probe.
 */
#include <stdlib.h>
#include <string.h>

#include "policyd.h"
#include "xmem.h"

#define PD_INST_BUCKETS	PD_INST_MAX	/* a power of two: load factor <= 1 */

struct pd_insts {
	struct pd_inst **bucket;
	struct pd_inst *head, *tail;	/* head = least recently used */
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
	return (h & (PD_INST_BUCKETS - 1));
}

static size_t
pd_inst_cost(const struct pd_inst *e)
{
	return (sizeof(*e) + e->keylen + 1 + (e->customer ? strlen(e->customer) + 1 : 0));
}

static void
pd_inst_unlink(struct pd_insts *t, struct pd_inst *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		t->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		t->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
pd_inst_append(struct pd_insts *t, struct pd_inst *e)
{
	e->prev = t->tail;
	e->next = NULL;
	if (t->tail)
		t->tail->next = e;
	else
		t->head = e;
	t->tail = e;
}

/* pd_insts_create - an empty table */
struct pd_insts *
pd_insts_create(void)
{
	struct pd_insts *t = xcalloc(1, sizeof(*t));

	t->bucket = xcalloc(PD_INST_BUCKETS, sizeof(*t->bucket));
	return (t);
}

/* pd_inst_find - the entry of this instance, or NULL */
struct pd_inst *
pd_inst_find(struct pd_insts *t, const char *key)
{
	size_t	len = strlen(key);
	struct pd_inst *e;

	for (e = t->bucket[pd_inst_hash(key, len)]; e; e = e->hnext)
		if (e->keylen == len && memcmp(e->key, key, len) == 0)
			return (e);
	return (NULL);
}

/* pd_inst_end - forget one transaction */
void
pd_inst_end(struct pd_insts *t, struct pd_inst *e)
{
	struct pd_inst **pp = &t->bucket[pd_inst_hash(e->key, e->keylen)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	pd_inst_unlink(t, e);
	t->n--;
	t->bytes -= pd_inst_cost(e);
	free(e->customer);
	free(e);
}

/* pd_inst_get - the entry of this instance, added when new; used at now */
struct pd_inst *
pd_inst_get(struct pd_insts *t, const char *key, long now)
{
	struct pd_inst *e;
	size_t	len, h;

	if ((e = pd_inst_find(t, key)) != NULL) {
		pd_inst_unlink(t, e);
		pd_inst_append(t, e);
		e->last = now;
		return (e);
	}
	len = strlen(key);
	e = xcalloc(1, sizeof(*e) + len + 1);
	memcpy(e->key, key, len + 1);
	e->keylen = len;
	e->last = now;
	while (t->head && (t->n >= PD_INST_MAX || t->bytes + pd_inst_cost(e) > PD_INST_BYTES)) {
		pd_inst_end(t, t->head);
		t->evicted++;
	}
	h = pd_inst_hash(key, len);
	e->hnext = t->bucket[h];
	t->bucket[h] = e;
	pd_inst_append(t, e);
	t->n++;
	t->bytes += pd_inst_cost(e);
	return (e);
}

/* pd_inst_set_customer - remember the customer the transaction relays for */
void
pd_inst_set_customer(struct pd_insts *t, struct pd_inst *e, const char *name)
{
	if (e->customer && strcmp(e->customer, name) == 0)
		return;
	t->bytes -= pd_inst_cost(e);
	free(e->customer);
	e->customer = xstrdup(name);
	t->bytes += pd_inst_cost(e);
}

/* pd_insts_expire - drop the transactions not seen for ttl seconds */
void
pd_insts_expire(struct pd_insts *t, long now, long ttl)
{
	while (t->head && t->head->last + ttl <= now)
		pd_inst_end(t, t->head);
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
	while (t->head)
		pd_inst_end(t, t->head);
	free(t->bucket);
	free(t);
}
