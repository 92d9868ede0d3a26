/*
 * qpool - blocking quota connections shared by libmilter's worker threads
 *
 * SYNOPSIS
 *	qs = mlt_qpool_get(conf, gen, &qgen);	-- exclusive use until put back
 *	r = quota_sync_reserve(qs, conf, &txn, &verdict);
 *	mlt_qpool_put(qs, qgen);
 *	mlt_qpool_free();		-- at exit
 *
 * DESCRIPTION
 *	A quota_sync holds one Redis connection and is not thread safe, and a
 *	milter connection's callbacks hop between worker threads, so each
 *	call borrows an idle quota_sync from a locked free list (making one
 *	when none is idle) and gives it back right after.  The list never
 *	holds more than the largest number of calls that ran at once.  Each
 *	entry remembers the configuration generation it was made from; one
 *	from before a reload is freed when it comes back, so a changed Redis
 *	server takes effect without a restart.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "milter.h"
#include "xmem.h"

struct qpool_ent {
	struct quota_sync *qs;
	unsigned gen;
	struct qpool_ent *next;
};

static pthread_mutex_t qpool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct qpool_ent *qpool_idle;		/* entries holding a quota_sync */
static struct qpool_ent *qpool_spare;		/* empty entries for reuse */
static unsigned qpool_newest;			/* highest generation seen */

/* mlt_qpool_get - an idle quota connection, or a new one from conf */
struct quota_sync *
mlt_qpool_get(const struct rg_conf *conf, unsigned gen, unsigned *qgen)
{
	struct qpool_ent *e;
	struct quota_sync *qs = NULL, *stale = NULL;

	pthread_mutex_lock(&qpool_lock);
	if (gen > qpool_newest)
		qpool_newest = gen;
	while ((e = qpool_idle) != NULL) {
		qpool_idle = e->next;
		e->next = qpool_spare;
		qpool_spare = e;
		if (e->gen >= qpool_newest) {
			qs = e->qs;
			*qgen = e->gen;
			break;
		}
		/* From an older configuration: free it outside the lock. */
		stale = e->qs;
		pthread_mutex_unlock(&qpool_lock);
		quota_sync_free(stale);
		pthread_mutex_lock(&qpool_lock);
	}
	pthread_mutex_unlock(&qpool_lock);
	if (qs == NULL) {
		qs = quota_sync_create(conf);
		*qgen = gen;
	}
	return (qs);
}

/* mlt_qpool_put - give a quota connection back; qgen as get returned it */
void
mlt_qpool_put(struct quota_sync *qs, unsigned gen)
{
	struct qpool_ent *e;

	if (qs == NULL)
		return;
	pthread_mutex_lock(&qpool_lock);
	if (gen < qpool_newest) {
		pthread_mutex_unlock(&qpool_lock);
		quota_sync_free(qs);
		return;
	}
	if ((e = qpool_spare) != NULL)
		qpool_spare = e->next;
	else
		e = xmalloc(sizeof(*e));
	e->qs = qs;
	e->gen = gen;
	e->next = qpool_idle;
	qpool_idle = e;
	pthread_mutex_unlock(&qpool_lock);
}

/* mlt_qpool_lend, mlt_qpool_return - get and put for txn_quota_blocking() */
struct quota_sync *
mlt_qpool_lend(const struct rg_conf *conf, void **token)
{
	unsigned qgen;
	struct quota_sync *qs = mlt_qpool_get(conf, (unsigned) conf->generation, &qgen);

	*token = (void *) (uintptr_t) qgen;
	return (qs);
}

void
mlt_qpool_return(struct quota_sync *qs, void *token)
{
	mlt_qpool_put(qs, (unsigned) (uintptr_t) token);
}

/* mlt_qpool_free - close every idle quota connection (at exit) */
void
mlt_qpool_free(void)
{
	struct qpool_ent *e, *next;

	pthread_mutex_lock(&qpool_lock);
	for (e = qpool_idle; e; e = next) {
		next = e->next;
		quota_sync_free(e->qs);
		free(e);
	}
	for (e = qpool_spare; e; e = next) {
		next = e->next;
		free(e);
	}
	qpool_idle = qpool_spare = NULL;
	pthread_mutex_unlock(&qpool_lock);
}
