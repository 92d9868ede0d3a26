/*
 * milter.h - private interface of relayguard-milter
 *
 * SYNOPSIS
 *	main.c		options, config check, socket, privileges, signals
 *	mltconf.c	the current configuration: reload and reference
 *	callbacks.c	the libmilter callbacks: connection and message state
 *	reply.c		an engine verdict as a milter reply
 *	qpool.c		blocking quota connections shared by worker threads
 *
 * DESCRIPTION
 *	libmilter runs callbacks of one connection one at a time but on any
 *	worker thread, so all per-connection state lives behind smfi_setpriv()
 *	and everything shared (the configuration, the quota connections) is
 *	reached through the locked functions below.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_MILTER_H
#define RG_MILTER_H

#include <libmilter/mfapi.h>

#include "conf.h"
#include "quota.h"
#include "relay.h"

#define MLT_PROG	"relayguard-milter"

/* mltconf.c */
void	mlt_conf_init(struct rg_conf *);
struct rg_conf *mlt_conf_get(unsigned *gen);
int	mlt_conf_reload(const char *path);
void	mlt_conf_done(void);

/* callbacks.c */
extern struct smfiDesc mlt_desc;
void	mlt_callbacks_init(void);
void	mlt_callbacks_done(void);
void	mlt_callbacks_stop(void);
unsigned mlt_callbacks_sweep(void);
unsigned mlt_conn_count(void);

/* reply.c */
sfsistat mlt_reply_set(SMFICTX *, const struct rg_verdict *);
size_t	mlt_reply_text(char *out, size_t outlen, const char *in);

/* qpool.c */
struct quota_sync *mlt_qpool_get(const struct rg_conf *, unsigned gen, unsigned *qgen);
void	mlt_qpool_put(struct quota_sync *, unsigned qgen);
struct quota_sync *mlt_qpool_lend(const struct rg_conf *, void **token);
void	mlt_qpool_return(struct quota_sync *, void *token);
void	mlt_qpool_free(void);

#endif
