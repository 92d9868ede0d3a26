/*
 * relayguard-milter - the relay decision as a Sendmail/Postfix milter
 *
 * SYNOPSIS
 *	relayguard-milter [-c FILE] [-f] [-t]
 *
 * DESCRIPTION
 *	Loads the configuration (-t: check it and exit 0, or 1 after
 *	printing "file:line: reason"), opens the milter socket of
 *	milter { socket }, detaches unless -f, drops root privileges to
 *	the configured user, and runs libmilter's loop.  SIGHUP reloads the
 *	configuration (a bad file keeps the running one), SIGTERM and SIGINT
 *	stop: no new connections, and those open get up to ten seconds to
 *	end.
 *
 *	Signals: libmilter's smfi_main() starts a thread of its own that
 *	sigwait()s for HUP, TERM and INT and stops the milter on any of them,
 *	so a second sigwait()ing thread would get SIGHUP only some of the
 *	time.  This program therefore defines sigwait() itself, which the
 *	dynamic linker binds libmilter's call to: that thread just parks
 *	until shutdown, and the one thread that takes signals is ours
 *	(sigwaitinfo(), which libmilter does not call).
 *
 * DIAGNOSTICS
 *	Startup problems go to stderr and exit 1; once running, everything
 *	is logged (stderr with -f, else syslog).
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "milter.h"
#include "privs.h"

#define MLT_DRAIN_SECONDS	10

static const char *mlt_path = RG_DEFAULT_CONF;
static sigset_t mlt_sigs;

static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond = PTHREAD_COND_INITIALIZER;
static int park_done;

/*
 * sigwait - park libmilter's signal thread until we stop (see above);
 * it then sees SIGTERM and stops the listener as smfi_stop() would.
 */
int
sigwait(const sigset_t *set, int *sig)
{
	(void) set;
	pthread_mutex_lock(&park_lock);
	while (!park_done)
		pthread_cond_wait(&park_cond, &park_lock);
	pthread_mutex_unlock(&park_lock);
	*sig = SIGTERM;
	return (0);
}

static void
park_release(void)
{
	pthread_mutex_lock(&park_lock);
	park_done = 1;
	pthread_cond_broadcast(&park_cond);
	pthread_mutex_unlock(&park_lock);
}

/*
 * Stop: libmilter's signal thread, let go, does what smfi_stop() does.
 * That takes up to five seconds (it waits for the lock the listener holds
 * while it polls), so nothing here waits for it: new connections are
 * answered with a temporary failure meanwhile, the open ones get up to
 * MLT_DRAIN_SECONDS to finish, then everything is freed and we exit.
 * The first caller does the work; a second one waits for the exit.
 */
static void mlt_shutdown(int) __attribute__((noreturn));

static void
mlt_shutdown(int status)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	int	i;

	if (pthread_mutex_trylock(&lock) != 0)
		for (;;)
			pause();
	mlt_callbacks_stop();
	park_release();
	for (i = 0; i < MLT_DRAIN_SECONDS * 20 && mlt_conn_count() > 0; i++)
		usleep(50000);
	if (mlt_conn_count() > 0) {
		unsigned n = mlt_callbacks_sweep();

		msg_warn("exiting with %u connections still open; the reservations of"
			 " their %u unfinished messages given back", mlt_conn_count(), n);
		exit(status);
	}
	mlt_callbacks_done();
	mlt_qpool_free();
	mlt_conf_done();
	msg_info("stopped");
	exit(status);
}

/* The one thread that takes HUP, TERM and INT. */
static void *
mlt_signal_thread(void *arg)
{
	int	sig;

	(void) arg;
	for (;;) {
		if ((sig = sigwaitinfo(&mlt_sigs, NULL)) < 0) {
			if (errno != EINTR)
				msg_error("sigwaitinfo: %m");
			continue;
		}
		if (sig == SIGHUP) {
			mlt_conf_reload(mlt_path);
			continue;
		}
		msg_info("stopping on %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		mlt_shutdown(0);
	}
}

/*
 * A unix socket made by root must belong to the user we become; it is
 * made mode 0660, so the MTA's user needs that user's group.
 */
static void
mlt_socket_owner(const char *sock, const char *user)
{
	struct passwd *pw;
	const char *path = NULL;

	if (strncmp(sock, "unix:", 5) == 0)
		path = sock + 5;
	else if (strncmp(sock, "local:", 6) == 0)
		path = sock + 6;
	if (path == NULL || getuid() != 0 || user == NULL || *user == 0
	    || (pw = getpwnam(user)) == NULL)
		return;
	if (chown(path, pw->pw_uid, pw->pw_gid) < 0)
		msg_warn("chown %s to %s: %m", path, user);
}

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-c FILE] [-f] [-t]\n", MLT_PROG);
	exit(2);
}

int
main(int argc, char **argv)
{
	struct rg_conf *conf;
	char	err[512];
	int	ch, fg = 0, check = 0, mfd = -1;
	mode_t	old_mask;
	pthread_t tid;

	while ((ch = getopt(argc, argv, "c:ft")) != -1) {
		switch (ch) {
		case 'c':
			mlt_path = optarg;
			break;
		case 'f':
			fg = 1;
			break;
		case 't':
			check = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_open(MLT_PROG, 1, "mail");
	if ((conf = conf_load(mlt_path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return (1);
	}
	if (check) {
		conf_unref(conf);
		return (0);
	}

	mlt_conf_init(conf);
	mlt_callbacks_init();
	if (smfi_setconn(conf->milter_socket) != MI_SUCCESS)
		msg_fatal("bad milter socket %s", conf->milter_socket);
	if (smfi_register(mlt_desc) != MI_SUCCESS)
		msg_fatal("smfi_register failed");
	old_mask = umask(~conf->milter_socket_mode & 0777);	/* a unix socket */
	if (smfi_opensocket(1) != MI_SUCCESS)
		msg_fatal("cannot open milter socket %s", conf->milter_socket);
	umask(old_mask);
	mlt_socket_owner(conf->milter_socket, conf->user);
	if (*conf->milter_metrics
	    && (mfd = metrics_http_open(conf->milter_metrics, err, sizeof(err))) < 0)
		msg_fatal("%s", err);
	if (!fg && daemon(0, 0) < 0)
		msg_fatal("daemon: %m");
	log_open(MLT_PROG, fg, conf->syslog_facility);
	privs_drop(conf->user);

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mlt_sigs);
	sigaddset(&mlt_sigs, SIGHUP);
	sigaddset(&mlt_sigs, SIGTERM);
	sigaddset(&mlt_sigs, SIGINT);
	if ((errno = pthread_sigmask(SIG_BLOCK, &mlt_sigs, NULL)) != 0)
		msg_fatal("pthread_sigmask: %m");
	if ((errno = pthread_create(&tid, NULL, mlt_signal_thread, NULL)) != 0)
		msg_fatal("pthread_create: %m");
	pthread_detach(tid);
	if (mfd >= 0)
		metrics_http_thread(mfd);	/* signals stay blocked in it */

	msg_info("listening on %s, mode %s, %zu customers", conf->milter_socket,
		 conf->milter_mode == MILTER_REWRITE ? "rewrite" : "enforce",
		 conf->ncustomers);
	conf = NULL;				/* mltconf owns it now */
	if (smfi_main() != MI_SUCCESS) {
		msg_error("smfi_main failed");
		mlt_shutdown(1);
	}
	mlt_shutdown(0);
}
