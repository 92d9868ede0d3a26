/*
 * conf - relayguard.conf parsing and validation with libconfuse
 *
 * DIAGNOSTICS
 *	conf_load() returns NULL and writes the first problem as
 *	"file:line: reason" (a users_file problem names that file and line).
 *
 * Line numbers: libconfuse records only where a section ends, so option
 * validators stamp the line where a section's first option stands into a
 * hidden "__line" option; cross-checks report that line.
 */
#include <confuse.h>
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "log.h"
#include "strmap.h"
#include "xmem.h"

#define LIMIT_UNSET	(-1)
#define USERS_LINE_MAX	1024

static cfg_opt_t redis_opts[] = {
	CFG_STR("server", "127.0.0.1:6379", CFGF_NONE),
	CFG_STR("password_file", "", CFGF_NONE),
	CFG_INT("database", 0, CFGF_NONE),
	CFG_INT("timeout_ms", 100, CFGF_NONE),
	CFG_STR("prefix", "rg", CFGF_NONE),
	CFG_END()
};

static char listen_default[] = "{inet:127.0.0.1:10040}";

static cfg_opt_t policyd_opts[] = {
	CFG_STR_LIST("listen", listen_default, CFGF_NONE),
	CFG_STR("socket_mode", "0666", CFGF_NONE),
	CFG_INT("max_connections", 2048, CFGF_NONE),
	CFG_INT("idle_timeout", 600, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t milter_opts[] = {
	CFG_STR("socket", "inet:8891@127.0.0.1", CFGF_NONE),
	CFG_STR("socket_mode", "0660", CFGF_NONE),
	CFG_STR("mode", "enforce", CFGF_NONE),
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
	CFG_SEC("customer", customer_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_BOOL("__end", cfg_false, CFGF_NONE),
	CFG_END()
};

/*
 * libconfuse 3.3 accepts a file that ends inside a section, silently
 * dropping what the cut removed.  We append this line to the text: parsed
 * at top level it proves the file was complete; inside a section it is an
 * unknown option, reported as the truncation it is.
 */
#define CONF_SENTINEL	"__end = true\n"

/* The parse in progress: where libconfuse's error callback writes. */
struct conf_parse {
	char   *err;
	size_t	errlen;
	int	failed;
	const char *file;
	int	lines;			/* lines in the file */
};

static struct conf_parse *conf_current;	/* parsing is single-threaded */

static void
conf_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	struct conf_parse *p = conf_current;
	char	msg[400];

	if (p == NULL || p->failed)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (strstr(msg, "'__end'") != NULL)
		snprintf(msg, sizeof(msg), "unexpected end of file: a section or list is not closed");
	snprintf(p->err, p->errlen, "%s:%d: %s", p->file, cfg ? cfg->line : 0, msg);
	p->failed = 1;
}

static void
conf_fail(struct conf_parse *p, int line, const char *fmt, ...) RG_PRINTF(3, 4);

static void
conf_fail(struct conf_parse *p, int line, const char *fmt, ...)
{
	char	msg[400];
	va_list	ap;

	if (p->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%d: %s", p->file, line, msg);
	p->failed = 1;
}

static const char *const senders_names[] = {
	"registered_users", "domain_addresses", "any", NULL
};
static const char *const billing_names[] = { "paid", "unpaid", "trial", NULL };
static const char *const backend_names[] = { "tempfail", "accept", "reject", NULL };
static const char *const mode_names[] = { "rewrite", "enforce", NULL };

/* senders_name - the config word for an allowed_senders value */
const char *
senders_name(enum rg_senders s)
{
	return (senders_names[s]);
}

/* billing_name - the config word for a billing value */
const char *
billing_name(enum rg_billing b)
{
	return (billing_names[b]);
}

/* backend_error_name - the config word for an on_backend_error value */
const char *
backend_error_name(enum rg_backend_error b)
{
	return (backend_names[b]);
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
		cfg_setint(cfg, name, cfg->line);
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

WORD_VALIDATOR(conf_v_senders, senders_names, "registered_users, domain_addresses or any")
WORD_VALIDATOR(conf_v_billing, billing_names, "paid, unpaid or trial")
WORD_VALIDATOR(conf_v_backend, backend_names, "tempfail, accept or reject")
WORD_VALIDATOR(conf_v_mode, mode_names, "rewrite or enforce")

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

	if (addr_parse(v, &a, &why) < 0 || a.null || a.domain[0] == 0) {
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

static int
conf_v_server(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = conf_lastval(opt), *colon;

	if (strncmp(v, "unix:", 5) == 0 && v[5] == '/')
		return (0);
	colon = strrchr(v, ':');
	if (colon == NULL || colon == v || colon[1] == 0
	    || (v[0] != '[' && memchr(v, ':', (size_t) (colon - v)) != NULL)
	    || strspn(colon + 1, "0123456789") != strlen(colon + 1)
	    || atoi(colon + 1) < 1 || atoi(colon + 1) > 65535
	    || (v[0] == '[' && colon[-1] != ']')) {
		cfg_error(cfg, "server \"%s\": expected host:port, [v6addr]:port or unix:/path", v);
		return (-1);
	}
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
	cfg_error(cfg, "listen \"%s\": expected inet:host:port or unix:/path", v);
	return (-1);
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
	{ "redis|database", conf_v_database },
	{ "redis|timeout_ms", conf_v_timeout },
	{ "redis|prefix", conf_v_prefix },
	{ "on_backend_error", conf_v_backend },
	{ "reservation_ttl", conf_v_ttl },
	{ "syslog_facility", conf_v_facility },
	{ "policyd|listen", conf_v_listen },
	{ "policyd|socket_mode", conf_v_mode_octal },
	{ "milter|socket_mode", conf_v_mode_octal },
	{ "policyd|max_connections", conf_v_maxconn },
	{ "policyd|idle_timeout", conf_v_idle },
	{ "milter|socket", conf_v_milter_socket },
	{ "milter|mode", conf_v_mode },
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

/* Building the immutable object from the parse tree. */

static int
conf_sec_line(cfg_t *sec)
{
	long	l = cfg_getint(sec, "__line");

	return (l > 0 ? (int) l : sec->line);
}

static void
conf_add_user(struct conf_parse *p, struct rg_conf *c, struct rg_customer *cu,
	      const char *text, int nomail, const char *file, int line)
{
	struct rg_addr a;
	struct rg_user *u;
	const struct rg_customer *owner;
	const char *why, *matched = "";

	if (addr_parse(text, &a, &why) < 0 || a.null || a.domain[0] == 0) {
		if (!p->failed) {
			snprintf(p->err, p->errlen, "%s:%d: invalid user address \"%s\"",
				 file, line, text);
			p->failed = 1;
		}
		return;
	}
	/*
	 * The longest registered domain decides, as in the relay decision: a
	 * user of a subdomain another customer owns is that customer's.  So a
	 * user can never belong to two customers.
	 */
	if ((owner = conf_customer_by_domain(c, a.domain, &matched)) != cu) {
		if (!p->failed) {
			if (owner)
				snprintf(p->err, p->errlen, "%s:%d: user %s: domain %s belongs"
					 " to customer \"%s\"", file, line, a.key, matched, owner->name);
			else
				snprintf(p->err, p->errlen, "%s:%d: user %s is not in a domain"
					 " of customer \"%s\"", file, line, a.key, cu->name);
			p->failed = 1;
		}
		return;
	}
	if ((u = strmap_get(c->by_user, a.key)) != NULL) {
		u->nomail |= nomail;		/* listed twice: the stricter wins */
		return;
	}
	u = xcalloc(1, sizeof(*u));
	u->address = xstrdup(a.key);
	u->customer = cu;
	u->nomail = nomail;
	strmap_put(c->by_user, u->address, u);
	if ((c->nusers & (c->nusers - 1)) == 0)
		c->users = xreallocarray(c->users, c->nusers ? c->nusers * 2 : 1, sizeof(*c->users));
	c->users[c->nusers] = u;
	cu->nusers++;
	c->nusers++;
}

static void
conf_users_file(struct conf_parse *p, struct rg_conf *c, struct rg_customer *cu,
		const char *path, int optline)
{
	char	line[USERS_LINE_MAX + 2];
	FILE   *fp;
	int	lineno = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		conf_fail(p, optline, "users_file %s: %s", path, strerror(errno));
		return;
	}
	while (!p->failed && fgets(line, sizeof(line), fp) != NULL) {
		char   *s, *addr, *flag, *extra, *save = NULL;
		size_t	len = strlen(line);

		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			snprintf(p->err, p->errlen, "%s:%d: line longer than %d bytes",
				 path, lineno, USERS_LINE_MAX);
			p->failed = 1;
			break;
		}
		if ((s = strchr(line, '#')) != NULL)
			*s = 0;
		addr = strtok_r(line, " \t\r\n", &save);
		if (addr == NULL)
			continue;
		flag = strtok_r(NULL, " \t\r\n", &save);
		extra = strtok_r(NULL, " \t\r\n", &save);
		if ((flag && strcmp(flag, "nomail") != 0) || extra) {
			snprintf(p->err, p->errlen, "%s:%d: expected \"address\" or \"address nomail\"",
				 path, lineno);
			p->failed = 1;
			break;
		}
		conf_add_user(p, c, cu, addr, flag != NULL, path, lineno);
	}
	if (ferror(fp) && !p->failed)
		conf_fail(p, optline, "users_file %s: read error", path);
	fclose(fp);
}

static long
conf_limit(cfg_t *lim, const char *name, long dflt)
{
	long	v = lim ? cfg_getint(lim, name) : LIMIT_UNSET;

	return (v == LIMIT_UNSET ? dflt : v);
}

static long
lmin(long a, long b)
{
	return (a < b ? a : b);
}

static void
conf_limits(struct rg_customer *cu, cfg_t *lim)
{
	long	n = cu->licenses;
	int	free_tier = cu->billing != BILLING_PAID;

	cu->limits.user_messages_per_day = conf_limit(lim, "user_messages_per_day", 10000);
	cu->limits.user_recipients_per_day = conf_limit(lim, "user_recipients_per_day", 130 * n);
	cu->limits.customer_recipients_per_day = conf_limit(lim, "customer_recipients_per_day",
				 free_tier ? 100 : lmin(130 * n, 4600000));
	cu->limits.customer_recipients_per_10min = conf_limit(lim, "customer_recipients_per_10min",
				 free_tier ? 50 : lmin(9 * n, 319444));
}

static void
conf_setting(struct conf_parse *p, struct rg_setting *s, cfg_t *rs)
{
	struct ipset_entry *e;
	size_t	i, ne = 0;

	s->name = xstrdup(cfg_title(rs));
	s->line = conf_sec_line(rs);
	s->senders = conf_word(senders_names, cfg_getstr(rs, "allowed_senders"));
	s->require_auth = cfg_getbool(rs, "require_smtp_auth");
	s->require_tls = cfg_getbool(rs, "require_tls");
	s->nranges = cfg_size(rs, "ip");
	s->ranges = xcalloc(s->nranges, sizeof(*s->ranges));
	e = xcalloc(s->nranges, sizeof(*e));
	for (i = 0; i < s->nranges; i++) {
		cfg_t  *ip = cfg_getnsec(rs, "ip", i);
		struct rg_iprange *r = &s->ranges[i];
		const char *text = cfg_getstr(ip, "range");
		char	err[200];

		r->name = xstrdup(cfg_title(ip));
		r->line = conf_sec_line(ip);
		r->enabled = cfg_getbool(ip, "enabled");
		if (text == NULL) {
			conf_fail(p, ip->line, "ip \"%s\": range is required", r->name);
			r->text = xstrdup("");
			continue;
		}
		r->text = xstrdup(text);
		if (range_parse(text, &r->r, err, sizeof(err)) < 0) {
			conf_fail(p, r->line, "%s", err);
			continue;
		}
		if (r->enabled) {
			e[ne].lo = r->r.lo;
			e[ne].hi = r->r.hi;
			e[ne].data = s;
			ne++;
		}
	}
	s->enabled = ipset_create(e, ne);
	free(e);
	if (s->nranges == 0 && !s->require_auth)
		conf_fail(p, s->line, "relay \"%s\": select at least one authentication method"
			  " (an ip range or require_smtp_auth = true)", s->name);
	else if (s->nranges > 0 && ne == 0 && !s->require_auth)
		msg_warn("%s:%d: relay \"%s\": every ip range is disabled; the setting"
			 " matches no client", p->file, s->line, s->name);
}

/* conf_customer_domains - first pass: every customer's domains */
static void
conf_customer_domains(struct conf_parse *p, struct rg_conf *c, struct rg_customer *cu,
		      cfg_t *cs)
{
	size_t	i;

	cu->name = xstrdup(cfg_title(cs));
	cu->line = conf_sec_line(cs);
	cu->ndomains = cfg_size(cs, "domains");
	if (cu->ndomains == 0) {
		conf_fail(p, cs->line, "customer \"%s\": domains is required", cu->name);
		return;
	}
	cu->domains = xcalloc(cu->ndomains, sizeof(*cu->domains));
	for (i = 0; i < cu->ndomains; i++) {
		char	d[300];
		struct rg_customer *other;

		domain_canon(cfg_getnstr(cs, "domains", i), d, sizeof(d));
		cu->domains[i] = xstrdup(d);
		if ((other = strmap_put(c->by_domain, d, cu)) != NULL) {
			if (other == cu)
				conf_fail(p, cu->line, "customer \"%s\": domain %s is listed twice",
					  cu->name, d);
			else
				conf_fail(p, cu->line, "domain %s of customer \"%s\" already"
					  " belongs to customer \"%s\" (line %d)",
					  d, cu->name, other->name, other->line);
		}
	}
}

/* conf_customer_build - second pass: users, limits and relay settings */
static void
conf_customer_build(struct conf_parse *p, struct rg_conf *c, struct rg_customer *cu,
		    cfg_t *cs)
{
	size_t	i;
	const char *file;
	char	path[4096];

	if (cu->ndomains == 0)
		return;
	if (cfg_size(cs, "licenses") == 0 || cfg_getint(cs, "licenses") < 1) {
		conf_fail(p, cs->line, "customer \"%s\": licenses is required", cu->name);
		return;
	}
	cu->licenses = cfg_getint(cs, "licenses");
	cu->billing = conf_word(billing_names, cfg_getstr(cs, "billing"));
	conf_limits(cu, cfg_getsec(cs, "limits"));
	for (i = 0; i < cfg_size(cs, "users"); i++)
		conf_add_user(p, c, cu, cfg_getnstr(cs, "users", i), 0, p->file,
			      (int) cfg_getint(cs, "__users_line"));
	file = cfg_getstr(cs, "users_file");
	if (file && *file) {
		/* A relative path is relative to the configuration file. */
		const char *slash = strrchr(p->file, '/');

		if (file[0] != '/' && slash != NULL)
			snprintf(path, sizeof(path), "%.*s/%s", (int) (slash - p->file), p->file, file);
		else
			snprintf(path, sizeof(path), "%s", file);
		conf_users_file(p, c, cu, path, (int) cfg_getint(cs, "__file_line"));
	}
	cu->nsettings = cfg_size(cs, "relay");
	if (cu->nsettings == 0)
		msg_warn("%s:%d: customer \"%s\" has no relay setting: it can relay nothing",
			 p->file, cu->line, cu->name);
	cu->settings = xcalloc(cu->nsettings, sizeof(*cu->settings));
	for (i = 0; i < cu->nsettings; i++) {
		cu->settings[i].customer = cu;
		conf_setting(p, &cu->settings[i], cfg_getnsec(cs, "relay", i));
	}
}

/* One range with its owner, for the overlap sweep. */
struct conf_rref {
	rg_ip	lo;
	rg_ip	hi;
	const struct rg_iprange *r;
	struct rg_customer *cu;
};

static int
conf_rref_cmp(const void *a, const void *b)
{
	const struct conf_rref *x = a, *y = b;

	if (x->lo != y->lo)
		return (x->lo < y->lo ? -1 : 1);
	if (x->hi != y->hi)
		return (x->hi > y->hi ? -1 : 1);	/* the wider first */
	return (x->r->line - y->r->line);
}

/*
 * conf_index_ranges - refuse ranges of two customers that overlap (enabled
 * or not), then index the enabled ones by customer.  Sorted by start, an
 * entry overlaps an earlier one exactly when it starts before the furthest
 * end seen so far.
 */
static void
conf_index_ranges(struct conf_parse *p, struct rg_conf *c)
{
	struct conf_rref *v;
	struct ipset_entry *on;
	size_t	n = 0, non = 0, i, j, k, cover;

	for (i = 0; i < c->ncustomers; i++)
		for (j = 0; j < c->customers[i].nsettings; j++)
			n += c->customers[i].settings[j].nranges;
	c->nranges = n;
	v = xcalloc(n, sizeof(*v));
	on = xcalloc(n, sizeof(*on));
	for (n = 0, i = 0; i < c->ncustomers; i++) {
		struct rg_customer *cu = &c->customers[i];

		for (j = 0; j < cu->nsettings; j++)
			for (k = 0; k < cu->settings[j].nranges; k++) {
				const struct rg_iprange *r = &cu->settings[j].ranges[k];

				v[n].lo = r->r.lo;
				v[n].hi = r->r.hi;
				v[n].r = r;
				v[n].cu = cu;
				n++;
				if (r->enabled) {
					on[non].lo = r->r.lo;
					on[non].hi = r->r.hi;
					on[non].data = cu;
					non++;
				}
			}
	}
	qsort(v, n, sizeof(*v), conf_rref_cmp);
	for (cover = 0, i = 1; i < n; i++) {
		if (v[i].lo <= v[cover].hi && v[i].cu != v[cover].cu) {
			const struct conf_rref *first = &v[cover], *second = &v[i];

			if (first->r->line > second->r->line) {
				first = &v[i];
				second = &v[cover];
			}
			conf_fail(p, second->r->line, "IP range %s of customer \"%s\" overlaps"
				  " range %s of customer \"%s\" (line %d)",
				  second->r->text, second->cu->name, first->r->text,
				  first->cu->name, first->r->line);
			break;
		}
		if (v[i].hi > v[cover].hi)
			cover = i;
	}
	c->by_ip = ipset_create(on, non);
	free(v);
	free(on);
}

static void
conf_global(struct rg_conf *c, cfg_t *cfg)
{
	cfg_t  *r = cfg_getsec(cfg, "redis"), *pd = cfg_getsec(cfg, "policyd");
	cfg_t  *mt = cfg_getsec(cfg, "milter");
	size_t	i;

	c->redis.server = xstrdup(cfg_getstr(r, "server"));
	c->redis.password_file = xstrdup(cfg_getstr(r, "password_file"));
	c->redis.database = cfg_getint(r, "database");
	c->redis.timeout_ms = cfg_getint(r, "timeout_ms");
	c->redis.prefix = xstrdup(cfg_getstr(r, "prefix"));
	c->quotas = cfg_getbool(cfg, "quotas");
	c->on_backend_error = conf_word(backend_names, cfg_getstr(cfg, "on_backend_error"));
	c->reservation_ttl = cfg_getint(cfg, "reservation_ttl");
	c->user = xstrdup(cfg_getstr(cfg, "user"));
	c->syslog_facility = xstrdup(cfg_getstr(cfg, "syslog_facility"));
	c->nlisten = cfg_size(pd, "listen");
	c->listen = xcalloc(c->nlisten + 1, sizeof(char *));
	for (i = 0; i < c->nlisten; i++)
		c->listen[i] = xstrdup(cfg_getnstr(pd, "listen", i));
	c->socket_mode = (mode_t) strtol(cfg_getstr(pd, "socket_mode"), NULL, 8);
	c->max_connections = cfg_getint(pd, "max_connections");
	c->idle_timeout = cfg_getint(pd, "idle_timeout");
	c->milter_socket = xstrdup(cfg_getstr(mt, "socket"));
	c->milter_mode = conf_word(mode_names, cfg_getstr(mt, "mode"));
	c->milter_socket_mode = (mode_t) strtol(cfg_getstr(mt, "socket_mode"), NULL, 8);
}

static struct rg_conf *
conf_build(cfg_t *cfg, cfg_t **cs, size_t n, struct conf_parse *p)
{
	struct rg_conf *c = xcalloc(1, sizeof(*c));
	size_t	i;

	c->refs = 1;
	conf_global(c, cfg);
	c->by_domain = strmap_create(n * 2);
	c->by_user = strmap_create(n * 4);
	c->by_name = strmap_create(n);
	c->ncustomers = n;
	c->customers = xcalloc(n, sizeof(*c->customers));
	for (i = 0; i < n && !p->failed; i++) {
		conf_customer_domains(p, c, &c->customers[i], cs[i]);
		/* Within one libconfuse parse duplicates are refused already. */
		if (strmap_put(c->by_name, c->customers[i].name, &c->customers[i]) != NULL)
			conf_fail(p, c->customers[i].line, "found duplicate title '%s'",
				  c->customers[i].name);
	}
	for (i = 0; i < n && !p->failed; i++)
		conf_customer_build(p, c, &c->customers[i], cs[i]);
	if (!p->failed)
		conf_index_ranges(p, c);
	if (p->failed) {
		conf_unref(c);
		return (NULL);
	}
	return (c);
}

#define CONF_FILE_MAX	(256L << 20)

/* conf_read - a whole file as a string; NULL with "file:0: reason" */
static char *
conf_read(const char *path, char *err, size_t errlen)
{
	FILE   *fp;
	char   *buf = NULL;
	size_t	len = 0, cap = 0, n;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s:0: %s", path, strerror(errno));
		return (NULL);
	}
	do {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 65536;
			buf = xrealloc(buf, cap + 1);
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
	} while (n > 0 && len <= CONF_FILE_MAX);
	if (ferror(fp) || len > CONF_FILE_MAX || memchr(buf, 0, len) != NULL) {
		snprintf(err, errlen, "%s:0: %s", path, ferror(fp) ? strerror(errno)
			 : len > CONF_FILE_MAX ? "file too large" : "NUL byte in file");
		fclose(fp);
		free(buf);
		return (NULL);
	}
	fclose(fp);
	buf[len] = 0;
	return (buf);
}

static cfg_t *
conf_cfg_new(void)
{
	cfg_t  *cfg = cfg_init(root_opts, CFGF_NONE);
	size_t	i;

	cfg_set_error_function(cfg, conf_errfunc);
	for (i = 0; i < sizeof(conf_validators) / sizeof(conf_validators[0]); i++)
		cfg_set_validate_func(cfg, conf_validators[i].path, conf_validators[i].fn);
	return (cfg);
}

/*
 * conf_parse_text - one libconfuse parse of text, which starts at line
 * pad + 1 of the file: pad newlines go first so that every line number
 * libconfuse reports is the file's.  NULL with the error set.
 */
static cfg_t *
conf_parse_text(struct conf_parse *p, const char *text, size_t len, size_t pad)
{
	char   *buf = xmalloc(pad + len + sizeof(CONF_SENTINEL) + 2), *q;
	cfg_t  *cfg;
	size_t	i;
	int	rc, lines = (int) pad;

	memset(buf, '\n', pad);
	q = buf + pad;
	memcpy(q, text, len);
	for (i = 0; i < len; i++)
		lines += q[i] == '\n';
	if (len && text[len - 1] != '\n')
		q[len++] = '\n';
	memcpy(q + len, CONF_SENTINEL, sizeof(CONF_SENTINEL));
	cfg = conf_cfg_new();
	rc = cfg_parse_buf(cfg, buf);
	free(buf);
	if (rc != CFG_SUCCESS && !p->failed)
		conf_fail(p, lines, "parse error");
	else if (rc == CFG_SUCCESS && !cfg_getbool(cfg, "__end"))
		conf_fail(p, lines, "unexpected end of file: a string or comment is not closed");
	if (p->failed) {
		cfg_free(cfg);
		return (NULL);
	}
	return (cfg);
}

/* A top-level customer block of the text. */
struct conf_block {
	size_t	start;			/* the 'c' of "customer" */
	size_t	end;			/* after its closing brace */
	size_t	line;
};

/*
 * conf_split - find the top-level customer blocks: a scan that knows
 * libconfuse's comments (#, //, slash-star), quoted strings ("" and '')
 * and braces.  Returns the count, or -1 when the text does not scan
 * cleanly (unbalanced, unterminated): then the caller parses it whole
 * and libconfuse says what is wrong.
 */
static long
conf_split(const char *t, size_t len, struct conf_block **out)
{
	struct conf_block *v = NULL;
	size_t	i = 0, n = 0, cap = 0, line = 1, pend = 0, pend_line = 0;
	int	depth = 0, pending = 0, inblock = 0;

	while (i < len) {
		char	ch = t[i];

		if (ch == '\n') {
			line++;
			i++;
		} else if (ch == ' ' || ch == '\t' || ch == '\r') {
			i++;
		} else if (ch == '#' || (ch == '/' && i + 1 < len && t[i + 1] == '/')) {
			while (i < len && t[i] != '\n')
				i++;
		} else if (ch == '/' && i + 1 < len && t[i + 1] == '*') {
			for (i += 2; i + 1 < len && !(t[i] == '*' && t[i + 1] == '/'); i++)
				line += t[i] == '\n';
			if (i + 1 >= len)
				break;
			i += 2;
		} else if (ch == '"' || ch == '\'') {
			for (i++; i < len && t[i] != ch; i++) {
				if (t[i] == '\\' && i + 1 < len)
					i++;
				line += t[i] == '\n';
			}
			if (i >= len)
				break;
			i++;
		} else if (ch == '{') {
			if (depth == 0 && pending) {
				inblock = 1;
				pending = 0;
			}
			depth++;
			i++;
		} else if (ch == '}') {
			if (--depth < 0)
				break;
			if (depth == 0 && inblock) {
				if (n == cap)
					v = xreallocarray(v, cap = cap ? cap * 2 : 64, sizeof(*v));
				v[n].start = pend;
				v[n].end = i + 1;
				v[n].line = pend_line;
				n++;
				inblock = 0;
			}
			i++;
		} else if (isalnum((unsigned char) ch) || ch == '_') {
			size_t	w = i;

			while (i < len && (isalnum((unsigned char) t[i]) || strchr("_-.@:/", t[i])))
				i++;
			if (depth == 0 && !inblock) {
				if (i - w == 8 && memcmp(t + w, "customer", 8) == 0 && !pending) {
					pending = 1;
					pend = w;
					pend_line = line;
				}
			}
		} else {
			if (depth == 0 && (ch == '=' || ch == ','))
				pending = 0;		/* "customer = ...": not a section */
			i++;
		}
	}
	if (i < len || depth != 0 || inblock) {
		free(v);
		return (-1);
	}
	*out = v;
	return ((long) n);
}

static size_t conf_batch = 512;		/* customers per libconfuse parse */

/* conf_set_batch - customers per parse (tests and fuzzing use small ones) */
void
conf_set_batch(size_t n)
{
	conf_batch = n ? n : 1;
}

/*
 * conf_parse_any - the whole load.  libconfuse compares each titled
 * section with every earlier one of its kind, so one parse of 100,000
 * customers costs 5 billion comparisons (minutes).  A file with many
 * customers is therefore parsed in pieces: the global options once (the
 * customer blocks blanked out, newlines kept), then the customers in
 * batches of conf_batch, each batch padded so its line numbers are the
 * file's.  Duplicate names across batches are caught in conf_build().
 */
static struct rg_conf *
conf_parse_any(const char *path, const char *text, char *err, size_t errlen)
{
	struct conf_parse p = { err, errlen, 0, path, 0 };
	struct rg_conf *c = NULL;
	struct conf_block *blk = NULL;
	cfg_t  *global = NULL, **parts = NULL, **cs = NULL;
	char   *owned = NULL, *blank;
	size_t	i, j, len, nparts = 0, ncs = 0;
	long	nblk;

	err[0] = 0;
	if (text == NULL && (text = owned = conf_read(path, err, errlen)) == NULL)
		return (NULL);
	len = strlen(text);
	conf_current = &p;
	nblk = conf_split(text, len, &blk);
	if (nblk <= (long) conf_batch) {
		if ((global = conf_parse_text(&p, text, len, 0)) != NULL) {
			ncs = cfg_size(global, "customer");
			cs = xcalloc(ncs, sizeof(*cs));
			for (i = 0; i < ncs; i++)
				cs[i] = cfg_getnsec(global, "customer", i);
		}
	} else {
		blank = xstrdup(text);
		for (i = 0; i < (size_t) nblk; i++)
			for (j = blk[i].start; j < blk[i].end; j++)
				if (blank[j] != '\n')
					blank[j] = ' ';
		global = conf_parse_text(&p, blank, len, 0);
		free(blank);
		parts = xcalloc((size_t) nblk / conf_batch + 1, sizeof(*parts));
		cs = xcalloc((size_t) nblk, sizeof(*cs));
		for (i = 0; global && i < (size_t) nblk && !p.failed; i += conf_batch) {
			size_t	last = i + conf_batch < (size_t) nblk ? i + conf_batch : (size_t) nblk;
			cfg_t  *part = conf_parse_text(&p, text + blk[i].start,
					     blk[last - 1].end - blk[i].start, blk[i].line - 1);

			if (part == NULL)
				break;
			parts[nparts++] = part;
			for (j = 0; j < cfg_size(part, "customer"); j++)
				cs[ncs++] = cfg_getnsec(part, "customer", j);
		}
	}
	if (global && !p.failed)
		c = conf_build(global, cs, ncs, &p);
	conf_current = NULL;
	for (i = 0; i < nparts; i++)
		cfg_free(parts[i]);
	if (global)
		cfg_free(global);
	free(parts);
	free(cs);
	free(blk);
	free(owned);
	/*
	 * The parse trees dwarf the result (1.2 GB against 140 MB at 100,000
	 * customers) and glibc keeps freed memory: give it back.
	 */
	malloc_trim(0);
	if (c)
		c->path = xstrdup(path);
	return (c);
}

/* conf_load - parse and validate a file; NULL with "file:line: reason" */
struct rg_conf *
conf_load(const char *path, char *err, size_t errlen)
{
	return (conf_parse_any(path, NULL, err, errlen));
}

/* conf_load_buf - the same from memory (tests, fuzzing); name is for errors */
struct rg_conf *
conf_load_buf(const char *text, const char *name, char *err, size_t errlen)
{
	return (conf_parse_any(name, text, err, errlen));
}

/* conf_ref - one more user of this configuration */
void
conf_ref(struct rg_conf *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
}

static void
conf_free_customer(struct rg_customer *cu)
{
	size_t	i, j;

	for (i = 0; i < cu->ndomains; i++)
		free(cu->domains[i]);
	free(cu->domains);
	for (i = 0; i < cu->nsettings; i++) {
		struct rg_setting *s = &cu->settings[i];

		for (j = 0; j < s->nranges; j++) {
			free(s->ranges[j].name);
			free(s->ranges[j].text);
		}
		free(s->ranges);
		ipset_free(s->enabled);
		free(s->name);
	}
	free(cu->settings);
	free(cu->name);
}

static void
conf_free_users(struct rg_conf *c)
{
	size_t	i;

	for (i = 0; i < c->nusers; i++) {
		free(c->users[i]->address);
		free(c->users[i]);
	}
	free(c->users);
}

/* conf_unref - drop a user; the last one frees everything */
void
conf_unref(struct rg_conf *c)
{
	size_t	i;

	if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	conf_free_users(c);
	for (i = 0; i < c->ncustomers; i++)
		conf_free_customer(&c->customers[i]);
	free(c->customers);
	strmap_free(c->by_domain);
	strmap_free(c->by_user);
	strmap_free(c->by_name);
	ipset_free(c->by_ip);
	for (i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	free(c->listen);
	free(c->redis.server);
	free(c->redis.password_file);
	free(c->redis.prefix);
	free(c->user);
	free(c->syslog_facility);
	free(c->milter_socket);
	free(c->path);
	free(c);
}

/* conf_customer - a customer by name */
const struct rg_customer *
conf_customer(const struct rg_conf *c, const char *name)
{
	return (strmap_get(c->by_name, name));
}

/*
 * conf_customer_by_domain - the customer owning domain or a parent of it;
 * *matched (optional) is set to the registered domain that matched.
 * O(labels): one hash lookup per label.
 */
const struct rg_customer *
conf_customer_by_domain(const struct rg_conf *c, const char *domain,
			const char **matched)
{
	const char *d = domain;
	const struct rg_customer *cu;
	size_t	i;

	while (d && *d) {
		if ((cu = strmap_get(c->by_domain, d)) != NULL) {
			if (matched)
				for (i = 0; i < cu->ndomains; i++)
					if (strcmp(cu->domains[i], d) == 0)
						*matched = cu->domains[i];
			return (cu);
		}
		d = strchr(d, '.');
		if (d)
			d++;
	}
	return (NULL);
}

/* conf_customer_by_ip - the customer with an enabled range holding ip */
const struct rg_customer *
conf_customer_by_ip(const struct rg_conf *c, rg_ip ip)
{
	return (ipset_lookup(c->by_ip, ip));
}

/* conf_user - a registered user by lowercased address */
const struct rg_user *
conf_user(const struct rg_conf *c, const char *key)
{
	return (strmap_get(c->by_user, key));
}

/* setting_has_ip - ip is inside one of the setting's enabled ranges */
int
setting_has_ip(const struct rg_setting *s, rg_ip ip)
{
	return (ipset_lookup(s->enabled, ip) != NULL);
}
