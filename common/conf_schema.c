/*
 * conf_schema - every option of relayguard.conf: name, type, default, bounds
 *
 * SYNOPSIS
 *	cfg_t *cfg = conf_cfg_new(errfunc);	-- then cfg_parse_buf()
 *	conf_enum(conf_senders_names, "any") == SENDERS_ANY
 *
 * DESCRIPTION
 *	One libconfuse table per section, and the validators that run as
 *	each value is parsed, so a bad value is reported at its own line.
 *	Line numbers: libconfuse records only where a section ends, so option
 *	validators stamp the line where a section's first option stands into
 *	a hidden "__line" option; cross-checks (conf_build.c) report it.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <sys/socket.h>
#include <confuse.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conf_priv.h"
#include "ipset.h"

static cfg_opt_t redis_opts[] = {
	CFG_STR("server", "127.0.0.1:6379", CFGF_NONE),
	CFG_STR("password_file", "", CFGF_NONE),
	CFG_INT("database", 0, CFGF_NONE),
	CFG_INT("timeout_ms", 100, CFGF_NONE),
	CFG_STR("prefix", "rg", CFGF_NONE),
	CFG_INT("__server_line", 0, CFGF_NONE),
	CFG_INT("__pw_line", 0, CFGF_NONE),
	CFG_STR_LIST("sentinels", NULL, CFGF_NONE),
	CFG_STR("sentinel_master", "", CFGF_NONE),
	CFG_STR("sentinel_password_file", "", CFGF_NONE),
	CFG_INT("__sentinels_line", 0, CFGF_NONE),
	CFG_INT("__spw_line", 0, CFGF_NONE),
	CFG_INT("__master_line", 0, CFGF_NONE),
	CFG_STR_LIST("cluster", NULL, CFGF_NONE),
	CFG_INT("__cluster_line", 0, CFGF_NONE),
	CFG_END()
};

static char listen_default[] = "{inet:127.0.0.1:10040}";

static cfg_opt_t policyd_opts[] = {
	CFG_STR_LIST("listen", listen_default, CFGF_NONE),
	CFG_STR("socket_mode", "0660", CFGF_NONE),
	CFG_INT("max_connections", 2048, CFGF_NONE),
	CFG_INT("idle_timeout", 600, CFGF_NONE),
	CFG_STR_LIST("socketmap", NULL, CFGF_NONE),
	CFG_STR("metrics", "", CFGF_NONE),
	CFG_END()
};

static cfg_opt_t milter_opts[] = {
	CFG_STR("socket", "inet:8891@127.0.0.1", CFGF_NONE),
	CFG_STR("socket_mode", "0660", CFGF_NONE),
	CFG_STR("mode", "enforce", CFGF_NONE),
	CFG_STR("metrics", "", CFGF_NONE),
	CFG_END()
};

static cfg_opt_t limits_opts[] = {
	CFG_INT("user_messages_per_day", LIMIT_UNSET, CFGF_NONE),
	CFG_INT("user_recipients_per_day", LIMIT_UNSET, CFGF_NONE),
	CFG_INT("customer_recipients_per_day", LIMIT_UNSET, CFGF_NONE),
	CFG_INT("customer_recipients_per_10min", LIMIT_UNSET, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t ip_opts[] = {
	CFG_STR("range", NULL, CFGF_NODEFAULT),
	CFG_BOOL("enabled", cfg_true, CFGF_NONE),
	CFG_INT("__line", 0, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t relay_opts[] = {
	CFG_STR("allowed_senders", "registered_users", CFGF_NONE),
	CFG_BOOL("require_smtp_auth", cfg_false, CFGF_NONE),
	CFG_BOOL("require_tls", cfg_false, CFGF_NONE),
	CFG_SEC("ip", ip_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_INT("__line", 0, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t route_opts[] = {
	CFG_STR("host", NULL, CFGF_NODEFAULT),
	CFG_INT("port", 25, CFGF_NONE),
	CFG_BOOL("mx_lookup", cfg_false, CFGF_NONE),
	CFG_BOOL("require_tls", cfg_false, CFGF_NONE),
	CFG_BOOL("require_ca_signed", cfg_false, CFGF_NONE),
	CFG_BOOL("validate_hostname", cfg_false, CFGF_NONE),
	CFG_STR("tls_name", "", CFGF_NONE),
	CFG_INT("__line", 0, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t gateway_opts[] = {
	CFG_STR("user", NULL, CFGF_NODEFAULT),
	CFG_STR("route", NULL, CFGF_NODEFAULT),
	CFG_INT("__line", 0, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t customer_opts[] = {
	CFG_STR_LIST("domains", NULL, CFGF_NONE),
	CFG_INT("licenses", 0, CFGF_NODEFAULT),
	CFG_STR("billing", "paid", CFGF_NONE),
	CFG_STR_LIST("users", NULL, CFGF_NONE),
	CFG_STR("users_file", "", CFGF_NONE),
	CFG_SEC("limits", limits_opts, CFGF_NONE),
	CFG_SEC("relay", relay_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_INT("__line", 0, CFGF_NONE),
	CFG_INT("__users_line", 0, CFGF_NONE),
	CFG_INT("__file_line", 0, CFGF_NONE),
	CFG_STR("outbound_route", "", CFGF_NONE),
	CFG_BOOL("outbound_tls", cfg_false, CFGF_NONE),
	CFG_STR("secure_route", "", CFGF_NONE),
	CFG_BOOL("allow_user_gateways", cfg_false, CFGF_NONE),
	CFG_SEC("user_gateway", gateway_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_INT("__route_line", 0, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t root_opts[] = {
	CFG_SEC("redis", redis_opts, CFGF_NONE),
	CFG_BOOL("quotas", cfg_true, CFGF_NONE),
	CFG_STR("on_backend_error", "tempfail", CFGF_NONE),
	CFG_INT("reservation_ttl", 900, CFGF_NONE),
	CFG_STR("user", "relayguard", CFGF_NONE),
	CFG_STR("syslog_facility", "mail", CFGF_NONE),
	CFG_SEC("policyd", policyd_opts, CFGF_NONE),
	CFG_SEC("milter", milter_opts, CFGF_NONE),
	CFG_SEC("route", route_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_SEC("customer", customer_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_BOOL("__end", cfg_false, CFGF_NONE),
	CFG_END()
};

const char *const conf_senders_names[] = {
	"registered_users", "domain_addresses", "any", NULL
};
const char *const conf_billing_names[] = { "paid", "unpaid", "trial", NULL };
const char *const conf_backend_names[] = { "tempfail", "accept", "reject", NULL };
const char *const conf_mode_names[] = { "rewrite", "enforce", NULL };

/* senders_name - the config word for an allowed_senders value */
const char *
senders_name(enum rg_senders s)
{
	return (conf_senders_names[s]);
}

/* billing_name - the config word for a billing value */
const char *
billing_name(enum rg_billing b)
{
	return (conf_billing_names[b]);
}

/* backend_error_name - the config word for an on_backend_error value */
const char *
backend_error_name(enum rg_backend_error b)
{
	return (conf_backend_names[b]);
}

static int
conf_word(const char *const *names, const char *value)
{
	int	i;

	for (i = 0; names[i]; i++)
		if (strcmp(names[i], value) == 0)
			return (i);
	return (-1);
}

/*
 * conf_enum - a value the validators have already accepted, as its enum;
 * one they let through unknown is a bug, never a default that accepts mail.
 */
int
conf_enum(const char *const *names, const char *value)
{
	int	i = conf_word(names, value);

	if (i < 0)
		msg_panic("configuration value \"%s\" passed validation unknown", value);
	return (i);
}

static const char *
conf_lastval(cfg_opt_t *opt)
{
	unsigned n = cfg_opt_size(opt);

	return (n ? cfg_opt_getnstr(opt, n - 1) : "");
}

static void
conf_stamp(cfg_t *cfg, const char *name)
{
	cfg_opt_t *opt;

	/* Not every section has the stamp (cfg_getopt() would complain). */
	for (opt = cfg->opts; opt->name; opt++)
		if (strcmp(opt->name, name) == 0)
			break;
	if (opt->name != NULL && cfg_opt_getnint(opt, 0) == 0)
		cfg_setint(cfg, name, conf_cfg_line(cfg));
}

/* Validators: run as each value is parsed, so cfg->line is its line. */

#define WORD_VALIDATOR(fn, names, what) \
static int \
fn(cfg_t *cfg, cfg_opt_t *opt) \
{ \
	const char *v = conf_lastval(opt); \
	if (conf_word(names, v) < 0) { \
		cfg_error(cfg, "%s: unknown value \"%s\" (%s)", opt->name, v, what); \
		return (-1); \
	} \
	conf_stamp(cfg, "__line"); \
	return (0); \
}

WORD_VALIDATOR(conf_v_senders, conf_senders_names, "registered_users, domain_addresses or any")
WORD_VALIDATOR(conf_v_billing, conf_billing_names, "paid, unpaid or trial")
WORD_VALIDATOR(conf_v_backend, conf_backend_names, "tempfail, accept or reject")
WORD_VALIDATOR(conf_v_mode, conf_mode_names, "rewrite or enforce")

static int
conf_v_stamp(cfg_t *cfg, cfg_opt_t *opt)
{
	(void) opt;
	conf_stamp(cfg, "__line");
	return (0);
}

static int
conf_v_range(cfg_t *cfg, cfg_opt_t *opt)
{
	struct ip_range r;
	char	err[200];

	if (range_parse(conf_lastval(opt), &r, err, sizeof(err)) < 0) {
		cfg_error(cfg, "%s", err);
		return (-1);
	}
	conf_stamp(cfg, "__line");
	return (0);
}

static int
conf_v_domains(cfg_t *cfg, cfg_opt_t *opt)
{
	char	d[300];
	const char *v = conf_lastval(opt);

	if (domain_canon(v, d, sizeof(d)) == 0 || !domain_valid(d) || d[0] == '[') {
		cfg_error(cfg, "invalid domain \"%s\"", v);
		return (-1);
	}
	conf_stamp(cfg, "__line");
	return (0);
}

static int
conf_v_users(cfg_t *cfg, cfg_opt_t *opt)
{
	struct rg_addr a;
	const char *why, *v = conf_lastval(opt);

	if (addr_parse_strict(v, &a, &why) < 0 || a.null || a.domain[0] == 0) {
		cfg_error(cfg, "invalid user address \"%s\"", v);
		return (-1);
	}
	conf_stamp(cfg, "__users_line");
	return (0);
}

static int
conf_v_users_file(cfg_t *cfg, cfg_opt_t *opt)
{
	(void) opt;
	conf_stamp(cfg, "__file_line");
	return (0);
}

static int
conf_v_customer_name(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t  *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
	const char *t = cfg_title(sec);

	/* The name is the Redis hash tag: no braces, colons or spaces. */
	if (t == NULL || *t == 0 || strlen(t) > 64
	    || strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")
	    != strlen(t)) {
		cfg_error(cfg, "customer name \"%s\": use 1-64 letters, digits, '.', '_', '-' or '@'",
			  t ? t : "");
		return (-1);
	}
	return (0);
}

static int
conf_v_positive(cfg_t *cfg, cfg_opt_t *opt, long min, long max)
{
	long	v = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

	if (v < min || v > max) {
		cfg_error(cfg, "%s: %ld is out of range (%ld..%ld)", opt->name, v, min, max);
		return (-1);
	}
	conf_stamp(cfg, "__line");
	return (0);
}

#define RANGE_VALIDATOR(fn, min, max) \
static int fn(cfg_t *cfg, cfg_opt_t *opt) { return (conf_v_positive(cfg, opt, min, max)); }

RANGE_VALIDATOR(conf_v_licenses, 1, 100000000L)
RANGE_VALIDATOR(conf_v_limit, 0, 1000000000L)
RANGE_VALIDATOR(conf_v_database, 0, 1000000L)
RANGE_VALIDATOR(conf_v_timeout, 1, 60000)
RANGE_VALIDATOR(conf_v_ttl, 1, 86400)
RANGE_VALIDATOR(conf_v_maxconn, 1, 1000000)
RANGE_VALIDATOR(conf_v_idle, 1, 86400)
RANGE_VALIDATOR(conf_v_port, 1, 65535)

/* "host:port" or "[v6addr]:port" (the host is resolved by the load) */
static int
conf_hostport_ok(const char *v)
{
	const char *colon = strrchr(v, ':');

	return (!(colon == NULL || colon == v || colon[1] == 0
		  || (v[0] != '[' && memchr(v, ':', (size_t) (colon - v)) != NULL)
		  || strspn(colon + 1, "0123456789") != strlen(colon + 1)
		  || atoi(colon + 1) < 1 || atoi(colon + 1) > 65535
		  || (v[0] == '[' && colon[-1] != ']')));
}

static int
conf_v_server(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = conf_lastval(opt);

	cfg_setint(cfg, "__server_line", conf_cfg_line(cfg));
	if (strncmp(v, "unix:", 5) == 0 && v[5] == '/') {
		if (strlen(v + 5) <= UNIX_PATH_MAX)
			return (0);
		cfg_error(cfg, "server \"%s\": socket path longer than %d bytes", v,
			  UNIX_PATH_MAX);
		return (-1);
	}
	if (!conf_hostport_ok(v)) {
		cfg_error(cfg, "server \"%s\": expected host:port, [v6addr]:port or unix:/path", v);
		return (-1);
	}
	return (0);
}

/* metrics = "host:port" | "[v6addr]:port" | "" (off) */
static int
conf_v_metrics(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = conf_lastval(opt);

	if (*v == 0 || (conf_hostport_ok(v) && strlen(v) < 256))
		return (0);
	cfg_error(cfg, "metrics \"%s\": expected host:port or [v6addr]:port", v);
	return (-1);
}

/* sentinels and cluster: host:port entries, at most SENTINELS_MAX (= seeds) */
static int
conf_v_nodes(cfg_t *cfg, cfg_opt_t *opt, const char *what, const char *list,
	     const char *lineopt)
{
	const char *v = conf_lastval(opt);

	cfg_setint(cfg, lineopt, conf_cfg_line(cfg));
	if (!conf_hostport_ok(v)) {
		cfg_error(cfg, "%s \"%s\": expected host:port or [v6addr]:port", what, v);
		return (-1);
	}
	if (cfg_opt_size(opt) > SENTINELS_MAX) {
		cfg_error(cfg, "%s: more than %d", list, SENTINELS_MAX);
		return (-1);
	}
	return (0);
}

static int
conf_v_sentinel(cfg_t *cfg, cfg_opt_t *opt)
{
	return (conf_v_nodes(cfg, opt, "sentinel", "sentinels", "__sentinels_line"));
}

static int
conf_v_cluster(cfg_t *cfg, cfg_opt_t *opt)
{
	return (conf_v_nodes(cfg, opt, "cluster seed", "cluster", "__cluster_line"));
}

static int
conf_v_sentinel_master(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = conf_lastval(opt);

	cfg_setint(cfg, "__master_line", conf_cfg_line(cfg));
	if (*v == 0 || strlen(v) > 100 || strpbrk(v, " \t\r\n") != NULL) {
		cfg_error(cfg, "sentinel_master \"%s\": expected a name of 1 to 100 characters "
			  "without blanks", v);
		return (-1);
	}
	return (0);
}

static int
conf_v_sentinel_password_file(cfg_t *cfg, cfg_opt_t *opt)
{
	(void) opt;
	cfg_setint(cfg, "__spw_line", conf_cfg_line(cfg));
	return (0);
}

static int
conf_v_password_file(cfg_t *cfg, cfg_opt_t *opt)
{
	(void) opt;
	cfg_setint(cfg, "__pw_line", conf_cfg_line(cfg));	/* the last one counts */
	return (0);
}

static int
conf_v_prefix(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = conf_lastval(opt);

	if (*v == 0 || strpbrk(v, "{} \t\r\n") || strlen(v) > 64) {
		cfg_error(cfg, "prefix \"%s\": 1-64 characters without braces or spaces", v);
		return (-1);
	}
	return (0);
}

static int
conf_v_listen(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = conf_lastval(opt), *colon;

	if (strncmp(v, "unix:", 5) == 0 && v[5] == '/' && strlen(v) < 100)
		return (0);
	if (strncmp(v, "inet:", 5) == 0 && (colon = strrchr(v + 5, ':')) != NULL
	    && colon > v + 5 && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)
	    && atoi(colon + 1) >= 1 && atoi(colon + 1) <= 65535)
		return (0);
	cfg_error(cfg, "%s \"%s\": expected inet:host:port or unix:/path", opt->name, v);
	return (-1);
}

static int
conf_v_route_name(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t  *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
	const char *t = cfg_title(sec);

	/* The name goes into a master.cf service name, relayguard-tls-NAME. */
	if (t == NULL || *t == 0 || strlen(t) > 48
	    || strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
	    != strlen(t)) {
		cfg_error(cfg, "route name \"%s\": use 1-48 letters, digits, '.', '_' or '-'",
			  t ? t : "");
		return (-1);
	}
	return (0);
}

static int
conf_v_route_stamp(cfg_t *cfg, cfg_opt_t *opt)
{
	(void) opt;
	conf_stamp(cfg, "__route_line");
	return (0);
}

static int
conf_v_mode_octal(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = conf_lastval(opt);

	if (*v == 0 || strlen(v) > 4 || strspn(v, "01234567") != strlen(v)) {
		cfg_error(cfg, "socket_mode \"%s\": expected an octal mode such as 0660", v);
		return (-1);
	}
	return (0);
}

static int
conf_v_milter_socket(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = conf_lastval(opt);

	if ((strncmp(v, "inet:", 5) == 0 && strchr(v, '@') && v[5] != '@')
	    || (strncmp(v, "inet6:", 6) == 0 && strchr(v, '@') && v[6] != '@')
	    || ((strncmp(v, "unix:", 5) == 0 || strncmp(v, "local:", 6) == 0)
		&& strchr(v, '/')))
		return (0);
	cfg_error(cfg, "socket \"%s\": expected inet:port@host, inet6:port@host or unix:/path", v);
	return (-1);
}

static int
conf_v_facility(cfg_t *cfg, cfg_opt_t *opt)
{
	if (log_facility(conf_lastval(opt)) < 0) {
		cfg_error(cfg, "syslog_facility \"%s\" is not a facility name", conf_lastval(opt));
		return (-1);
	}
	return (0);
}

static const struct {
	const char *path;
	cfg_validate_callback_t fn;
} conf_validators[] = {
	{ "redis|server", conf_v_server },
	{ "redis|password_file", conf_v_password_file },
	{ "redis|sentinels", conf_v_sentinel },
	{ "redis|cluster", conf_v_cluster },
	{ "redis|sentinel_master", conf_v_sentinel_master },
	{ "redis|sentinel_password_file", conf_v_sentinel_password_file },
	{ "redis|database", conf_v_database },
	{ "redis|timeout_ms", conf_v_timeout },
	{ "redis|prefix", conf_v_prefix },
	{ "on_backend_error", conf_v_backend },
	{ "reservation_ttl", conf_v_ttl },
	{ "syslog_facility", conf_v_facility },
	{ "policyd|listen", conf_v_listen },
	{ "policyd|socketmap", conf_v_listen },
	{ "route", conf_v_route_name },
	{ "route|host", conf_v_stamp },
	{ "route|port", conf_v_port },
	{ "route|mx_lookup", conf_v_stamp },
	{ "route|require_tls", conf_v_stamp },
	{ "route|require_ca_signed", conf_v_stamp },
	{ "route|validate_hostname", conf_v_stamp },
	{ "route|tls_name", conf_v_stamp },
	{ "customer|outbound_route", conf_v_route_stamp },
	{ "customer|outbound_tls", conf_v_route_stamp },
	{ "customer|secure_route", conf_v_route_stamp },
	{ "customer|allow_user_gateways", conf_v_route_stamp },
	{ "customer|user_gateway|user", conf_v_stamp },
	{ "customer|user_gateway|route", conf_v_stamp },
	{ "policyd|socket_mode", conf_v_mode_octal },
	{ "milter|socket_mode", conf_v_mode_octal },
	{ "policyd|max_connections", conf_v_maxconn },
	{ "policyd|idle_timeout", conf_v_idle },
	{ "milter|socket", conf_v_milter_socket },
	{ "milter|mode", conf_v_mode },
	{ "policyd|metrics", conf_v_metrics },
	{ "milter|metrics", conf_v_metrics },
	{ "customer", conf_v_customer_name },
	{ "customer|domains", conf_v_domains },
	{ "customer|licenses", conf_v_licenses },
	{ "customer|billing", conf_v_billing },
	{ "customer|users", conf_v_users },
	{ "customer|users_file", conf_v_users_file },
	{ "customer|limits|user_messages_per_day", conf_v_limit },
	{ "customer|limits|user_recipients_per_day", conf_v_limit },
	{ "customer|limits|customer_recipients_per_day", conf_v_limit },
	{ "customer|limits|customer_recipients_per_10min", conf_v_limit },
	{ "customer|relay|allowed_senders", conf_v_senders },
	{ "customer|relay|require_smtp_auth", conf_v_stamp },
	{ "customer|relay|require_tls", conf_v_stamp },
	{ "customer|relay|ip|range", conf_v_range },
	{ "customer|relay|ip|enabled", conf_v_stamp },
};

/* conf_cfg_new - an empty parse tree with every option and validator */
cfg_t *
conf_cfg_new(void (*errfunc)(cfg_t *, const char *, va_list))
{
	cfg_t  *cfg = cfg_init(root_opts, CFGF_NONE);
	size_t	i;

	cfg_set_error_function(cfg, errfunc);
	for (i = 0; i < sizeof(conf_validators) / sizeof(conf_validators[0]); i++)
		cfg_set_validate_func(cfg, conf_validators[i].path, conf_validators[i].fn);
	return (cfg);
}

