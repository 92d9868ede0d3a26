/*
 * relayguard-policyd - the relay authority for Postfix (policy delegation)
 *
 * SYNOPSIS
 *	relayguard-policyd [-c FILE] [-f] [-t]
 *
 * DESCRIPTION
 *	Loads and validates the configuration, opens the listening sockets,
 *	drops privileges to the configured user, then serves Postfix's
 *	check_policy_service requests until SIGTERM.  SIGHUP reloads the
 *	configuration atomically: a file that does not validate is logged
 *	and the running configuration stays.  See relayguard-policyd(8).
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "policyd.h"
#include "privs.h"
#include "xmem.h"

static const char *pd_conf_path = RG_DEFAULT_CONF;
static struct pd_server *pd_server;
static struct event_base *pd_base;

static void
usage(void)
{
	fprintf(stderr, "usage: relayguard-policyd [-c FILE] [-f] [-t]\n");
	exit(2);
}

static void
pd_summary(const char *what, const struct rg_conf *c)
{
	size_t	i, nsettings = 0;

	for (i = 0; i < c->ncustomers; i++)
		nsettings += c->customers[i].nsettings;
	msg_info("%s %s: %zu customers, %zu relay settings, %zu IP ranges, %zu users, quotas %s",
		 what, c->path, c->ncustomers, nsettings, c->nranges, c->nusers,
		 c->quotas ? "on" : "off");
}

/*
 * Reload.  Parsing a large file takes a while (about 0.7 s at 10,000
 * customers), so it runs in a thread while the loop keeps answering; the
 * thread hands the result back through a pipe and the loop swaps it in.
 * A SIGHUP during a reload asks for one more after it.
 */
/* Every listening address: the policy ones, then the socketmap ones. */
static size_t
pd_naddr(const struct rg_conf *c)
{
	return (c->nlisten + c->nsocketmap);
}

static const char *
pd_addr(const struct rg_conf *c, size_t i)
{
	return (i < c->nlisten ? c->listen[i] : c->socketmap[i - c->nlisten]);
}

static int pd_reload_pipe[2] = { -1, -1 };
static int pd_reloading, pd_reload_again;
static int pd_stopping;		/* SIGTERM seen: drain, then end */

struct pd_reload {
	struct rg_conf *conf;
	char	err[512];
};

static void *
pd_reload_thread(void *arg)
{
	struct pd_reload *r = arg;
	ssize_t	n;

	r->conf = conf_load(pd_conf_path, r->err, sizeof(r->err));
	n = write(pd_reload_pipe[1], &r, sizeof(r));
	(void) n;				/* a pipe write of a pointer is atomic */
	return (NULL);
}

static void
pd_reload_start(void)
{
	struct pd_reload *r = xcalloc(1, sizeof(*r));
	pthread_t tid;

	pd_reloading = 1;
	if ((errno = pthread_create(&tid, NULL, pd_reload_thread, r)) != 0) {
		msg_error("reload: cannot start a thread: %m; keeping the running configuration");
		pd_reloading = 0;
		free(r);
		return;
	}
	pthread_detach(tid);
}

static void
pd_reload_done(evutil_socket_t fd, short what, void *arg)
{
	struct rg_conf *old = pd_server_conf(pd_server), *c;
	struct pd_reload *r;
	size_t	i;

	(void) what;
	(void) arg;
	if (read(fd, &r, sizeof(r)) != sizeof(r))
		return;
	pd_reloading = 0;
	if ((c = r->conf) == NULL) {
		msg_error("reload failed: %s; keeping the running configuration", r->err);
		metrics_config(METRICS_CONF_FAILED, 0);
	} else {
		metrics_config(METRICS_CONF_RELOADED, c->generation);
		if (strcmp(c->policyd_metrics, old->policyd_metrics) != 0)
			msg_warn("reload: metrics address changed; restart to apply");
		for (i = 0; i < pd_naddr(c) || i < pd_naddr(old); i++)
			if (i >= pd_naddr(c) || i >= pd_naddr(old)
			    || strcmp(pd_addr(c, i), pd_addr(old, i)) != 0) {
				msg_warn("reload: listen or socketmap addresses changed;"
					 " restart to apply");
				break;
			}
		if (strcmp(c->user, old->user) != 0)
			msg_warn("reload: user changed; restart to apply");
		pd_summary("reloaded configuration", c);
		pd_server_reload(pd_server, c);
	}
	free(r);
	if (pd_reload_again) {
		pd_reload_again = 0;
		pd_reload_start();
	}
}

static void
pd_on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void) sig;
	(void) what;
	(void) arg;
	if (pd_reloading)
		pd_reload_again = 1;
	else
		pd_reload_start();
}

static void
pd_on_term(evutil_socket_t sig, short what, void *arg)
{
	struct timeval grace = { 2, 0 };

	(void) what;
	(void) arg;
	msg_info("signal %d: stopping", (int) sig);
	/*
	 * Requests waiting for Redis, and the reservations of unfinished
	 * transactions being given back, get up to the grace period; the
	 * loop below ends sooner once all is done.
	 */
	pd_stopping = 1;
	if (pd_server_shutdown(pd_server) > 0)
		event_base_loopexit(pd_base, &grace);
	else
		event_base_loopbreak(pd_base);
}

int
main(int argc, char **argv)
{
	struct rg_conf *conf;
	struct event *ev_hup, *ev_term, *ev_int, *ev_reload;
	struct event_config *evcfg;
	struct metrics_http *mh = NULL;
	char	err[512];
	int	ch, foreground = 0, test_only = 0, *fds, mfd = -1;
	size_t	i;

	while ((ch = getopt(argc, argv, "c:ft")) != -1) {
		switch (ch) {
		case 'c':
			pd_conf_path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 't':
			test_only = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_open("relayguard-policyd", 1, NULL);
	if ((conf = conf_load(pd_conf_path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return (1);
	}
	if (test_only) {
		conf_unref(conf);
		return (0);
	}
	signal(SIGPIPE, SIG_IGN);
	fds = xcalloc(pd_naddr(conf), sizeof(*fds));
	for (i = 0; i < pd_naddr(conf); i++)
		if ((fds[i] = pd_listen_open(pd_addr(conf, i), conf->socket_mode, conf->user,
					  err, sizeof(err))) < 0)
			msg_fatal("%s", err);
	if (*conf->policyd_metrics
	    && (mfd = metrics_http_open(conf->policyd_metrics, err, sizeof(err))) < 0)
		msg_fatal("%s", err);
	privs_drop(conf->user);
	if (!foreground) {
		log_open("relayguard-policyd", 0, conf->syslog_facility);
		if (daemon(0, 0) < 0)
			msg_fatal("daemon: %m");
	}
	/* The changelist folds hiredis' arm-then-disarm of a pass into nothing. */
	if ((evcfg = event_config_new()) == NULL
	    || event_config_set_flag(evcfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) != 0
	    || (pd_base = event_base_new_with_config(evcfg)) == NULL)
		msg_fatal("cannot create the event loop");
	event_config_free(evcfg);
	pd_server = pd_server_create(pd_base, conf, fds, pd_naddr(conf), conf->nsocketmap);
	free(fds);
	metrics_config(METRICS_CONF_LOADED, conf->generation);
	if (mfd >= 0)
		mh = metrics_http_start(pd_base, mfd);
	if (pipe2(pd_reload_pipe, O_CLOEXEC) < 0)
		msg_fatal("pipe: %m");
	ev_reload = event_new(pd_base, pd_reload_pipe[0], EV_READ | EV_PERSIST, pd_reload_done, NULL);
	event_add(ev_reload, NULL);
	ev_hup = evsignal_new(pd_base, SIGHUP, pd_on_hup, NULL);
	ev_term = evsignal_new(pd_base, SIGTERM, pd_on_term, NULL);
	ev_int = evsignal_new(pd_base, SIGINT, pd_on_term, NULL);
	event_add(ev_hup, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	pd_summary("started with", conf);
	for (i = 0; i < pd_naddr(conf); i++)
		msg_info("listening on %s%s", pd_addr(conf, i),
			 i < conf->nlisten ? "" : " (socketmap)");
	if (mh)
		msg_info("metrics on http://%s/metrics", conf->policyd_metrics);
	/*
	 * One pass of the loop at a time: the quota calls of a pass go to
	 * Redis in one write at its end, and its decision lines to the log
	 * in another (log_batch, foreground only).
	 */
	log_batch(1);
	while (event_base_loop(pd_base, EVLOOP_ONCE) == 0) {
		pd_server_flush(pd_server);
		log_flush();
		if (event_base_got_exit(pd_base) || event_base_got_break(pd_base))
			break;
		if (pd_stopping) {
			if (pd_server_drain(pd_server) == 0)
				break;
			pd_server_flush(pd_server);	/* the releases it started */
		}
	}
	log_batch(0);
	/* The startup config may have been replaced (and freed) by a reload. */
	conf = pd_server_conf(pd_server);
	for (i = 0; i < pd_naddr(conf); i++)
		if (strncmp(pd_addr(conf, i), "unix:", 5) == 0)
			unlink(pd_addr(conf, i) + 5);
	event_free(ev_reload);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	pd_server_free(pd_server);
	metrics_http_free(mh);
	event_base_free(pd_base);
	msg_info("stopped");
	return (0);
}
