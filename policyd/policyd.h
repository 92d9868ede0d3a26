/*
 * policyd.h - private interface of relayguard-policyd
 *
 * main.c: options, configuration, signals, privileges.
 * server.c: listeners and connections on one libevent loop; turns each
 * policy request into one struct rg_txn, asks the engine, answers.
 * listen.c: opening inet: and unix: listening sockets.
 */
#ifndef RG_POLICYD_H
#define RG_POLICYD_H

#include <event2/event.h>

#include "conf.h"

struct pd_server;

int	pd_listen_open(const char *spec, mode_t mode, const char *user, char *err, size_t errlen);
struct pd_server *pd_server_create(struct event_base *, struct rg_conf *, const int *fds, size_t nfds);
void	pd_server_reload(struct pd_server *, struct rg_conf *);
int	pd_server_shutdown(struct pd_server *);
void	pd_server_free(struct pd_server *);
struct rg_conf *pd_server_conf(struct pd_server *);
void	pd_server_flush(struct pd_server *);	/* after each pass of the loop */

#endif
