/*
 * redis_fixture.h - a private redis-server for the cmocka tests that need
 * one (test_quota, test_txn): a unix socket and a loopback port in a temp
 * directory, started once per test program and checked before each test.
 *
 * SYNOPSIS
 *	#define FIXTURE_NAME "test_quota"
 *	#include "redis_fixture.h"
 *	cmocka_run_group_tests(tests, group_setup, group_teardown);
 *	admin();	-- a blocking connection to it, for checks
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_REDIS_FIXTURE_H
#define RG_REDIS_FIXTURE_H

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

static char tmpdir[256], sock[300], logpath[300];
static int port;
static pid_t redis_pid;

/* ---------------------------------------------------------------- server */

static int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int	fd = socket(AF_INET, SOCK_STREAM, 0), p;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0
	    || getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
		return (0);
	p = ntohs(sa.sin_port);
	close(fd);
	return (p);
}

static redisContext *
admin(void)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectUnixWithTimeout(sock, tv);

	if (c && !c->err)
		redisSetTimeout(c, tv);
	return (c);
}

static int
redis_ping(void)
{
	redisContext *c = admin();
	redisReply *r;
	int	ok = 0;

	if (c && !c->err && (r = redisCommand(c, "PING")) != NULL) {
		ok = r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
	}
	if (c)
		redisFree(c);
	return (ok);
}

static void
redis_start(void)
{
	char	portstr[16];
	int	i;

	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((redis_pid = fork()) == 0) {
		execlp("redis-server", "redis-server", "--port", portstr,
		       "--bind", "127.0.0.1", "-::1", "--unixsocket", sock,
		       "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
		       "--dir", tmpdir, "--logfile", logpath, "--daemonize", "no",
		       "--protected-mode", "no", (char *) NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		if (redis_ping())
			return;
		usleep(50000);
	}
	fprintf(stderr, "redis-server did not start; see %s\n", logpath);
	abort();
}

static void
redis_stop(void)
{
	int	st;

	if (redis_pid <= 0)
		return;
	kill(redis_pid, SIGCONT);
	kill(redis_pid, SIGTERM);
	waitpid(redis_pid, &st, 0);
	redis_pid = 0;
	unlink(sock);
}

static int
group_setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/rg-" FIXTURE_NAME ".XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return (-1);
	snprintf(sock, sizeof(sock), "%s/redis.sock", tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/redis.log", tmpdir);
	port = free_port();
	signal(SIGPIPE, SIG_IGN);
	log_set_quiet(1);
	redis_start();
	return (0);
}

static int
group_teardown(void **state)
{
	char	cmd[400];

	redis_stop();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return (system(cmd));
}

/* Each test: a running, empty server. */
static int
setup(void **state)
{
	redisContext *c;
	redisReply *r;

	if (redis_pid > 0)
		kill(redis_pid, SIGCONT);
	if (redis_pid <= 0 || !redis_ping()) {
		redis_stop();
		redis_start();
	}
	c = admin();
	/* a failed test may have left a password or an ACL user behind */
	r = redisCommand(c, "AUTH defaultpw");
	freeReplyObject(r);
	r = redisCommand(c, "CONFIG SET requirepass %s", "");
	freeReplyObject(r);
	r = redisCommand(c, "ACL DELUSER relay");
	freeReplyObject(r);
	r = redisCommand(c, "FLUSHALL");
	freeReplyObject(r);
	redisFree(c);
	return (0);
}

#endif
