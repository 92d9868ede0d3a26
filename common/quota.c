/*
 * quota - PLACEHOLDER until the Redis implementation lands: every call
 * reports QUOTA_BACKEND_ERROR, so a config with quotas = true tempfails.
 */
#include <event2/event.h>
#include <stdlib.h>

#include "quota.h"
#include "xmem.h"

struct quota {
	struct event_base *base;
};

struct quota_sync {
	int	unused;
};

struct quota_call {
	quota_done_fn done;
	void   *arg;
};

static void
quota_fire(evutil_socket_t fd, short what, void *ctx)
{
	struct quota_call *c = ctx;

	(void) fd;
	(void) what;
	c->done(c->arg, QUOTA_BACKEND_ERROR);
	free(c);
}

static void
quota_later(struct quota *q, quota_done_fn done, void *arg)
{
	struct quota_call *c = xmalloc(sizeof(*c));

	c->done = done;
	c->arg = arg;
	event_base_once(q->base, -1, EV_TIMEOUT, quota_fire, c, NULL);
}

struct quota *
quota_create(struct event_base *base, const struct rg_conf *conf)
{
	struct quota *q = xcalloc(1, sizeof(*q));

	(void) conf;
	q->base = base;
	return (q);
}

void
quota_reconfigure(struct quota *q, const struct rg_conf *conf)
{
	(void) q;
	(void) conf;
}

void
quota_reserve(struct quota *q, const struct rg_conf *conf, const struct rg_txn *t,
	      const struct rg_verdict *v, quota_done_fn done, void *arg)
{
	(void) conf;
	(void) t;
	(void) v;
	quota_later(q, done, arg);
}

void
quota_commit(struct quota *q, const struct rg_conf *conf, const struct rg_txn *t,
	     const char *customer, quota_done_fn done, void *arg)
{
	(void) conf;
	(void) t;
	(void) customer;
	quota_later(q, done, arg);
}

void
quota_free(struct quota *q)
{
	free(q);
}

struct quota_sync *
quota_sync_create(const struct rg_conf *conf)
{
	(void) conf;
	return (xcalloc(1, sizeof(struct quota_sync)));
}

enum quota_result
quota_sync_reserve(struct quota_sync *qs, const struct rg_conf *conf,
		   const struct rg_txn *t, const struct rg_verdict *v)
{
	(void) qs; (void) conf; (void) t; (void) v;
	return (QUOTA_BACKEND_ERROR);
}

enum quota_result
quota_sync_commit(struct quota_sync *qs, const struct rg_conf *conf,
		  const struct rg_txn *t, const char *customer)
{
	(void) qs; (void) conf; (void) t; (void) customer;
	return (QUOTA_BACKEND_ERROR);
}

enum quota_result
quota_sync_release(struct quota_sync *qs, const struct rg_conf *conf,
		   const struct rg_txn *t, const char *customer)
{
	(void) qs; (void) conf; (void) t; (void) customer;
	return (QUOTA_BACKEND_ERROR);
}

void
quota_sync_free(struct quota_sync *qs)
{
	free(qs);
}

void
quota_apply(const struct rg_conf *conf, struct rg_verdict *v, enum quota_result r)
{
	switch (r) {
	case QUOTA_OK:
		return;
	case QUOTA_USER:
		relay_refuse(v, RG_QUOTA_USER, "", "user daily limit reached");
		return;
	case QUOTA_CUSTOMER_DAY:
		relay_refuse(v, RG_QUOTA_CUSTOMER_DAY, "", "customer daily limit reached");
		return;
	case QUOTA_CUSTOMER_PEAK:
		relay_refuse(v, RG_QUOTA_CUSTOMER_PEAK, "", "customer 10-minute limit reached");
		return;
	case QUOTA_BACKEND_ERROR:
		if (conf->on_backend_error == BACKEND_ACCEPT)
			return;
		relay_refuse(v, RG_BACKEND_ERROR, "", "quota backend unavailable");
		return;
	}
}

const char *
quota_result_name(enum quota_result r)
{
	static const char *const names[] = { "ok", "user", "customer_day",
	"customer_peak", "backend_error" };

	return (names[r]);
}
