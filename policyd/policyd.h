/*
 * policyd.h - private interface of relayguard-policyd
 *
 * main.c: options, configuration, signals, privileges.
 * server.c: listeners and connections on one libevent loop; turns each
 * policy request into one struct rg_txn, asks the engine, answers.
 * listen.c: opening inet: and unix: listening sockets.
 * instance.c: the transactions in progress, server-wide, by instance.
 * socketmap.c: Postfix socketmap lookups (routing), on the same connections;
 * netstring.c: their framing.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_POLICYD_H
#define RG_POLICYD_H

#include <event2/event.h>

#include "conf.h"

struct pd_server;

int	pd_listen_open(const char *spec, mode_t mode, const char *user, char *err, size_t errlen);
struct pd_server *pd_server_create(struct event_base *, struct rg_conf *, const int *fds,
		size_t nfds, size_t nsocketmap);
void	pd_server_reload(struct pd_server *, struct rg_conf *);
int	pd_server_shutdown(struct pd_server *);
int	pd_server_drain(struct pd_server *);
void	pd_server_free(struct pd_server *);
struct rg_conf *pd_server_conf(struct pd_server *);
void	pd_server_flush(struct pd_server *);	/* after each pass of the loop */

struct evbuffer;
int	sm_process(const struct rg_conf *, struct evbuffer *in, struct evbuffer *out,
		const char *peer);

/* The transactions in progress, by Postfix's instance; see instance.c. */
#define PD_INST_MAX	65536		/* entries; a power of two */
#define PD_INST_BYTES	(64UL << 20)	/* of entries and their transactions' facts */

struct txn;
struct pd_insts;

struct pd_insts *pd_insts_create(void);
struct txn *pd_inst_find(struct pd_insts *, const char *instance, long now);
void	pd_inst_add(struct pd_insts *, const char *instance, struct txn *, long now);
void	pd_inst_end(struct pd_insts *, const char *instance);
void	pd_insts_expire(struct pd_insts *, long now, long ttl);
size_t	pd_insts_count(const struct pd_insts *);
unsigned long pd_insts_evicted(const struct pd_insts *);
void	pd_insts_free(struct pd_insts *);

#endif
