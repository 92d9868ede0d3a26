/*
 * conf - relayguard.conf: loading, validation, lookups
 *
 * SYNOPSIS
 *	char err[512];
 *	struct rg_conf *c = conf_load("/etc/relayguard/relayguard.conf", err, sizeof(err));
 *	if (c == NULL) -- err holds "file:line: reason"
 *	conf_customer_by_domain(c, "mx.acme.example", &matched);
 *	conf_user(c, "alice@acme.example");
 *	conf_customer_by_ip(c, ip);
 *	conf_ref(c); conf_unref(c);	-- the last unref frees
 *
 * DESCRIPTION
 *	Every file the configuration names (users_file, the Redis
 *	password_file and sentinel_password_file) is read by the load, and
 *	the Redis host names (server, sentinels) are resolved by it, so a load succeeds or fails as one unit and the
 *	result needs no file and no DNS later (a daemon reloads after
 *	dropping privileges, and its event loop must never block).
 *
 *	One libconfuse option table describes every option with its default
 *	(relayguard.conf(5)).  Values are checked as they are parsed, so a bad
 *	value is reported at its own line; cross-checks (a domain claimed by
 *	two customers, overlapping ranges of two customers) run after the
 *	parse and name the lines involved.  The result is immutable and
 *	reference counted, so a reload builds a new object and swaps it in
 *	while requests in flight finish on the old one.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_CONF_H
#define RG_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipset.h"

enum rg_senders { SENDERS_REGISTERED, SENDERS_DOMAIN, SENDERS_ANY };
enum rg_billing { BILLING_PAID, BILLING_UNPAID, BILLING_TRIAL };
enum rg_backend_error { BACKEND_TEMPFAIL, BACKEND_ACCEPT, BACKEND_REJECT };
enum rg_milter_mode { MILTER_REWRITE, MILTER_ENFORCE };

/*
 * Limits are 64-bit whatever the platform (130 x licenses overflows a
 * 32-bit long) and never negative: a configured or computed limit is a
 * count from 0 up.  RG_LIMIT_NONE is only what a quota request says when
 * it knows no customer (a late commit or release); no rg_limits holds it.
 */
#define RG_LIMIT_NONE	((int64_t) -1)

struct rg_limits {
	int64_t	user_messages_per_day;
	int64_t	user_recipients_per_day;
	int64_t	customer_recipients_per_day;
	int64_t	customer_recipients_per_10min;
};

struct rg_iprange {
	char   *name;
	char   *text;
	struct ip_range r;
	int	enabled;
	int	line;
};

struct rg_customer;

/* A route of DESIGN 5.1: where mail leaves, and the TLS its hop needs. */
struct rg_route {
	char   *name;
	char   *host;			/* as configured; an IPv6 literal without brackets */
	long	port;
	int	mx_lookup;
	int	require_tls;
	int	require_ca_signed;
	int	validate_hostname;
	char   *tls_name;		/* "" = none */
	int	line;
	char   *nexthop;		/* Postfix's form: "[host]:port" or "host:port" */
	char   *tls_policy;		/* smtp_tls_policy_maps value: "may", "encrypt", ... */
};

/* An alternate sender address of a registered user (user_gateway). */
struct rg_gateway {
	char   *address;		/* lowercased */
	const struct rg_user *user;
	const struct rg_route *route;
	struct rg_customer *customer;
	int	active;			/* the customer's allow_user_gateways */
	int	line;
};

struct rg_setting {
	char   *name;
	struct rg_customer *customer;
	enum rg_senders senders;
	int	require_auth;
	int	require_tls;
	struct rg_iprange *ranges;
	size_t	nranges;
	struct ipset *enabled;		/* lookup over the enabled ranges */
	int	line;
};

struct rg_user {
	char   *address;		/* lowercased */
	struct rg_customer *customer;
	int	nomail;
};

struct rg_customer {
	char   *name;
	char  **domains;		/* lowercased; [0] is the primary */
	size_t	ndomains;
	long	licenses;
	enum rg_billing billing;
	struct rg_limits limits;
	struct rg_setting *settings;
	size_t	nsettings;
	size_t	nusers;
	int	line;
	const struct rg_route *outbound_route;	/* NULL = the MTA's own relayhost */
	const struct rg_route *secure_route;	/* NULL = none */
	int	outbound_tls;
	int	allow_user_gateways;
	struct rg_gateway *gateways;
	size_t	ngateways;
};

struct rg_conf {
	int	refs;
	char   *path;
	unsigned long generation;	/* unique per load, grows with each */
	struct {
		char   *server;		/* as configured, for log lines */
		char   *host;		/* numeric address, resolved by the load */
		int	port;		/* 0: the unix socket at path */
		char   *path;
		char   *password_file;
		char   *auth_user;	/* "" = AUTH with the password alone */
		char   *auth_pass;	/* "" = no AUTH */
		long	database;
		long	timeout_ms;
		char   *prefix;
		/* Sentinel (nsentinels > 0): the master is asked of them */
		size_t	nsentinels;
		char  **sentinel_host;	/* numeric addresses, resolved by the load */
		int    *sentinel_port;
		char   *sentinel_master;
		char   *sentinel_user;	/* from sentinel_password_file, like auth_* */
		char   *sentinel_pass;
		/* Cluster (ncluster > 0): seed nodes; the slot map is asked of them */
		size_t	ncluster;
		char  **cluster_host;	/* numeric addresses, resolved by the load */
		int    *cluster_port;
	}	redis;
	int	quotas;
	enum rg_backend_error on_backend_error;
	long	reservation_ttl;
	char   *user;
	char   *syslog_facility;
	char  **listen;
	size_t	nlisten;
	mode_t	socket_mode;
	long	max_connections;
	long	idle_timeout;
	char   *policyd_metrics;	/* "host:port" of GET /metrics, "" = off */
	char   *milter_socket;
	enum rg_milter_mode milter_mode;
	mode_t	milter_socket_mode;
	char   *milter_metrics;		/* as policyd_metrics */
	struct rg_customer *customers;
	size_t	ncustomers;
	size_t	nranges;
	size_t	nusers;
	struct rg_user **users;		/* owns the users; by_user indexes them */
	struct strmap *by_domain;
	struct strmap *by_user;
	struct strmap *by_name;
	struct ipset *by_ip;
	char  **socketmap;		/* policyd's socketmap listeners */
	size_t	nsocketmap;
	struct rg_route *routes;
	size_t	nroutes;
	struct strmap *by_route;	/* name -> route */
	struct strmap *by_nexthop;	/* next hop -> route (the tls map) */
	struct strmap *by_gateway;	/* address -> gateway, active or not */
};

#define RG_DEFAULT_CONF	"/etc/relayguard/relayguard.conf"

struct rg_conf *conf_load(const char *path, char *err, size_t errlen);
struct rg_conf *conf_load_buf(const char *text, const char *name, char *err, size_t errlen);
void	conf_ref(struct rg_conf *);
void	conf_unref(struct rg_conf *);
void	conf_set_batch(size_t);
void	conf_set_numeric_hosts(int);

const struct rg_customer *conf_customer(const struct rg_conf *, const char *name);
const struct rg_customer *conf_customer_by_domain(const struct rg_conf *,
		const char *domain, const char **matched);
const struct rg_customer *conf_customer_by_ip(const struct rg_conf *, rg_ip);
const struct rg_user *conf_user(const struct rg_conf *, const char *key);
int	setting_has_ip(const struct rg_setting *, rg_ip);

const char *senders_name(enum rg_senders);
const char *billing_name(enum rg_billing);
const char *backend_error_name(enum rg_backend_error);

#endif
