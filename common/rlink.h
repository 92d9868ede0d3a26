/*
 * rlink - the one Redis connection layer of relayguard
 *
 * SYNOPSIS
 *	struct rlink_cfg cfg;
 *	rlink_cfg_load(&cfg, conf, err, sizeof(err));	-- redis { } of a loaded conf
 *	rlink_reader_guard(ctx->reader);		-- cap replies (hiredis 0.14 and 1.x)
 *	rlink_hello(&cfg, send, ctx);			-- AUTH and SELECT, through send()
 *	rlink_log_err(&log, &cfg, "what", "why");	-- at most once a second
 *
 *	-- Sentinel (cfg.nsentinels > 0; cfg.host and port are the master
 *	-- the sentinels named last, "" and 0 before they were asked):
 *	rlink_sentinel_ask(&cfg, send, ctx);		-- AUTH, SENTINEL get-master-addr-by-name
 *	rlink_sentinel_addr(reply, host, sizeof(host), &port);	-- its answer
 *	rlink_sentinel_switch(reply, cfg.master, host, sizeof(host), &port);
 *							-- a +switch-master message
 *	rlink_readonly(reply);				-- a replica refused a write
 *	rlink_addr_parse(h, hl, p, pl, host, sizeof(host), &port);
 *							-- a numeric address and port
 *
 *	-- Cluster (cfg.nseeds > 0): see rcluster.h; host and port are unset.
 *
 *	-- a blocking link (relayguard-milter's worker threads, relayguardctl):
 *	struct rlink_sync l = { 0 };
 *	rlink_sync_settings(&l, conf);			-- again after each reload
 *	r = rlink_sync_cmd(&l, argc, argv, len, err, sizeof(err));
 *	rlink_sync_close(&l);
 *
 * DESCRIPTION
 *	Server, credentials and database come from the loaded configuration
 *	(conf_load() resolved the host and read the password file), so a
 *	link never waits on DNS or opens a file.  AUTH ("user password" or
 *	"password") and SELECT are sent ahead of the first command, pipelined:
 *	a fresh connection costs no extra round trip.  The reader guard is
 *	the only place that knows the difference between hiredis 0.14 and
 *	1.x.  The asynchronous client (quota.c) uses the settings, the guard,
 *	the hello and the logging; the blocking link is all of it.
 *
 *	A blocking link opens on first use and again after any failure;
 *	redis.timeout_ms bounds every read and write.  A reused connection
 *	that turns out closed (Redis restarted) is reopened and the command
 *	sent once more; a timeout is never retried.  Settings are re-read
 *	when a call passes a configuration of another generation.
 *
 *	With sentinels, a blocking link asks them (each in turn, the one
 *	that answered last first) for the master when it connects and
 *	again when its answer is a second old, so it follows a failover
 *	within a second without a subscription of its own; a connection
 *	lost or a -READONLY reply (the master became a replica) makes it
 *	ask at once, and a -READONLY command is sent once more to the new
 *	master.  Sentinels only name numeric addresses here: a name would
 *	need DNS in an event loop.
 *
 * DIAGNOSTICS
 *	rlink_sync_cmd() returns NULL with err set when the connection
 *	failed; an error reply is a reply.  AUTH/SELECT refusals are logged.
 *	rlink_sentinel_addr() returns -1 and rlink_sentinel_switch() -1 or 0
 *	for any reply that is not what they parse (a master the sentinel
 *	does not know is a nil reply).
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_RLINK_H
#define RG_RLINK_H

#include <stddef.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "conf.h"

#define RLINK_SENTINELS_MAX	16
#define RLINK_SEEDS_MAX		16

struct rcluster_sync;

struct rlink_cfg {
	char	server[300];		/* as configured, for log lines */
	char	host[256];		/* numeric address, no brackets */
	int	port;			/* 0: unix socket at path */
	char	path[256];
	char	user[128];		/* AUTH user pass, or AUTH pass */
	char	pass[512];		/* "" = no AUTH */
	long	database;
	long	timeout_ms;
	int	nsentinels;		/* > 0: host and port come from them */
	struct {
		char	host[64];	/* numeric */
		int	port;
	}	sentinel[RLINK_SENTINELS_MAX];
	char	master[128];		/* sentinel_master */
	char	suser[128];		/* AUTH for the sentinels */
	char	spass[512];
	int	nseeds;			/* > 0: Redis Cluster (rcluster.c) */
	struct {
		char	host[64];	/* numeric */
		int	port;
	}	seed[RLINK_SEEDS_MAX];
};

int	rlink_cfg_load(struct rlink_cfg *, const struct rg_conf *, char *err, size_t errlen);
int	rlink_cfg_same(const struct rlink_cfg *, const struct rlink_cfg *);
void	rlink_cfg_keep_master(struct rlink_cfg *now, const struct rlink_cfg *before);
int	rlink_cfg_master(struct rlink_cfg *, const char *host, int port);

void	rlink_reader_guard(redisReader *);

typedef int (*rlink_send_fn)(void *ctx, int argc, const char **argv, const size_t *len);
int	rlink_hello(const struct rlink_cfg *, rlink_send_fn, void *ctx);
int	rlink_sentinel_ask(const struct rlink_cfg *, rlink_send_fn, void *ctx);
int	rlink_sentinel_addr(const redisReply *, char *host, size_t hostlen, int *port);
int	rlink_sentinel_switch(const redisReply *, const char *master, char *host,
		size_t hostlen, int *port);
int	rlink_readonly(const redisReply *);
int	rlink_addr_parse(const char *h, size_t hl, const char *p, size_t pl, char *host,
		size_t hostlen, int *port);

struct rlink_log {
	time_t	last;			/* of the last rate-limited line */
	int	down;			/* an outage was logged */
};

void	rlink_log_err(struct rlink_log *, const struct rlink_cfg *, const char *what,
		const char *why);
void	rlink_log_down(struct rlink_log *, const struct rlink_cfg *, const char *why);
void	rlink_log_up(struct rlink_log *, const struct rlink_cfg *);

struct rlink_sync {
	struct rlink_cfg cfg;
	unsigned long gen;		/* the settings came from this load */
	redisContext *c;
	int	hello;			/* AUTH/SELECT replies still to read */
	int	used;			/* c has answered a command */
	struct rlink_log log;
	long long asked_ms;		/* sentinels asked (monotonic); 0 = ask */
	int	si;			/* the sentinel to ask first */
	struct rcluster_sync *cl;	/* with seeds: the nodes and slot map */
};

void	rlink_sync_settings(struct rlink_sync *, const struct rg_conf *);
redisReply *rlink_sync_cmd(struct rlink_sync *, int argc, const char **argv,
		const size_t *len, char *err, size_t errlen);
void	rlink_sync_close(struct rlink_sync *);

#endif
