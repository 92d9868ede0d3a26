/*
 * mltconf - the configuration the milter currently runs with
 *
 * SYNOPSIS
 *	mlt_conf_init(conf);		-- at startup, takes over the reference
 *	c = mlt_conf_get(&gen);		-- a message takes its own reference
 *	conf_unref(c);			-- ... and drops it when it ends
 *	mlt_conf_reload(path);		-- SIGHUP
 *	mlt_conf_done();		-- at exit
 *
 * DESCRIPTION
 *	The current object sits behind a mutex; a reload parses and validates
 *	a new object outside the lock and swaps it in, so a message in flight
 *	finishes on the object it started with and the old one is freed by
 *	its last user.  The generation number grows with every swap; the
 *	quota connection pool uses it to retire connections made from an
 *	older configuration.
 *
 * DIAGNOSTICS
 *	A file that fails to load keeps the running configuration; the reason
 *	("file:line: reason") is logged and mlt_conf_reload() returns -1.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "milter.h"

static pthread_mutex_t mlt_conf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rg_conf *mlt_conf;
static unsigned mlt_conf_gen;

/* mlt_conf_init - install the first configuration (takes its reference) */
void
mlt_conf_init(struct rg_conf *c)
{
	pthread_mutex_lock(&mlt_conf_lock);
	mlt_conf = c;
	mlt_conf_gen = 1;
	pthread_mutex_unlock(&mlt_conf_lock);
	metrics_config(METRICS_CONF_LOADED, c->generation);
}

/* mlt_conf_get - a new reference to the current configuration */
struct rg_conf *
mlt_conf_get(unsigned *gen)
{
	struct rg_conf *c;

	pthread_mutex_lock(&mlt_conf_lock);
	c = mlt_conf;
	conf_ref(c);
	if (gen)
		*gen = mlt_conf_gen;
	pthread_mutex_unlock(&mlt_conf_lock);
	return (c);
}

/* mlt_conf_reload - load path again; swap it in only when it is valid */
int
mlt_conf_reload(const char *path)
{
	struct rg_conf *c, *old;
	char	err[512];

	if ((c = conf_load(path, err, sizeof(err))) == NULL) {
		msg_error("reload failed, keeping the running configuration: %s", err);
		metrics_config(METRICS_CONF_FAILED, 0);
		return (-1);
	}
	pthread_mutex_lock(&mlt_conf_lock);
	old = mlt_conf;
	mlt_conf = c;
	mlt_conf_gen++;
	pthread_mutex_unlock(&mlt_conf_lock);
	metrics_config(METRICS_CONF_RELOADED, c->generation);
	if (old && strcmp(old->milter_socket, c->milter_socket) != 0)
		msg_warn("reload: milter socket %s stays until a restart (new: %s)",
			 old->milter_socket, c->milter_socket);
	if (old && strcmp(old->milter_metrics, c->milter_metrics) != 0)
		msg_warn("reload: metrics address changed; restart to apply");
	conf_unref(old);
	msg_info("configuration reloaded from %s: %zu customers, mode %s", path,
		 c->ncustomers, c->milter_mode == MILTER_REWRITE ? "rewrite" : "enforce");
	return (0);
}

/* mlt_conf_done - drop the current configuration at exit */
void
mlt_conf_done(void)
{
	pthread_mutex_lock(&mlt_conf_lock);
	conf_unref(mlt_conf);
	mlt_conf = NULL;
	pthread_mutex_unlock(&mlt_conf_lock);
}
