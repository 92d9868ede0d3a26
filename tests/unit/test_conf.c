/*
 * test_conf - unit tests for common/conf.c: loading relayguard.conf,
 * every refusal with its exact "file:line: reason", derived limits,
 * lookups and reference counting.
 *
 * Config texts are written one line per string literal with the line
 * number in a comment, so an expected "t.conf:N:" can be checked by eye.
 * Paths are relative to the top of the source tree (make runs the tests
 * from there; main() moves there when started elsewhere).
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include "unit.h"

#include <errno.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "ipset.h"
#include "log.h"

#define FIX	"tests/unit/fixtures/"

static char tmpdir[64];

/* A private directory for the tests that write files; tmp_done removes it. */
static void
tmp_make(void)
{
	strcpy(tmpdir, "/tmp/rg-test-conf.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
}

static void
tmp_done(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
}

/* Load text as "t.conf"; must succeed. */
static struct rg_conf *
load_ok(const char *text)
{
	char	err[512] = "";
	struct rg_conf *c = conf_load_buf(text, "t.conf", err, sizeof(err));

	if (c == NULL)
		fail_msg("config refused: %s\n--- config ---\n%s", err, text);
	assert_string_equal(err, "");
	return (c);
}

/* Load text as "t.conf"; must be refused with exactly want. */
static void
refuse(const char *text, const char *want)
{
	char	err[512] = "";
	struct rg_conf *c = conf_load_buf(text, "t.conf", err, sizeof(err));

	if (c != NULL) {
		conf_unref(c);
		fail_msg("config accepted, expected \"%s\"\n--- config ---\n%s", want, text);
	}
	if (strcmp(err, want) != 0)
		fail_msg("error \"%s\"\n  expected \"%s\"", err, want);
}

/* Refused with an error that starts with "t.conf:" and a line > 0. */
static void
refuse_any(const char *text)
{
	char	err[512] = "";
	struct rg_conf *c = conf_load_buf(text, "t.conf", err, sizeof(err));

	if (c != NULL) {
		conf_unref(c);
		fail_msg("config accepted, expected a refusal\n--- config ---\n%s", text);
	}
	assert_true(strncmp(err, "t.conf:", 7) == 0);
	assert_true(atoi(err + 7) > 0);
}

/* A one-customer config with one relay "r" holding the given body lines (from line 5). */
static void
one_customer(char *buf, size_t len, const char *relay_body)
{
	snprintf(buf, len,
		 "customer \"a\" {\n"			/* 1 */
		 "    domains  = { \"a.example\" }\n"	/* 2 */
		 "    licenses = 1\n"			/* 3 */
		 "    relay \"r\" {\n"			/* 4 */
		 "%s"					/* 5... */
		 "    }\n"
		 "}\n", relay_body);
}

static rg_ip
ip(const char *text)
{
	rg_ip	v = 0;

	if (ip_parse(text, &v) != 0)
		fail_msg("bad test address %s", text);
	return (v);
}

static void
write_file(const char *path, const char *text)
{
	FILE   *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/* --- valid configurations ---------------------------------------- */

static void
test_sample_config(void **state)
{
	char	err[512];
	struct rg_conf *c = conf_load("conf/relayguard.conf", err, sizeof(err));
	const struct rg_customer *acme, *globex;
	const char *m = NULL;

	(void) state;
	if (c == NULL)
		fail_msg("sample config refused: %s", err);
	assert_string_equal(c->path, "conf/relayguard.conf");
	assert_int_equal(c->ncustomers, 2);
	assert_int_equal(c->nranges, 4);
	assert_int_equal(c->nusers, 3);
	acme = conf_customer(c, "acme");
	globex = conf_customer(c, "globex");
	assert_non_null(acme);
	assert_non_null(globex);
	assert_null(conf_customer(c, "ACME"));
	assert_int_equal(acme->ndomains, 2);
	assert_string_equal(acme->domains[0], "acme.example");
	assert_string_equal(acme->domains[1], "acme-mail.example");
	assert_int_equal(acme->licenses, 250);
	assert_int_equal(acme->billing, BILLING_PAID);
	assert_int_equal(acme->nusers, 2);
	assert_int_equal(acme->nsettings, 3);
	assert_string_equal(acme->settings[0].name, "printers");
	assert_int_equal(acme->settings[0].senders, SENDERS_DOMAIN);
	assert_int_equal(acme->settings[0].nranges, 2);
	assert_false(acme->settings[0].require_auth);
	assert_string_equal(acme->settings[1].name, "roaming");
	assert_int_equal(acme->settings[1].senders, SENDERS_REGISTERED);
	assert_true(acme->settings[1].require_auth);
	assert_int_equal(acme->settings[1].nranges, 0);
	assert_string_equal(acme->settings[2].name, "app");
	assert_int_equal(acme->settings[2].senders, SENDERS_ANY);
	assert_ptr_equal(acme->settings[2].customer, acme);
	assert_int_equal(acme->limits.user_messages_per_day, 10000);
	assert_int_equal(acme->limits.user_recipients_per_day, 32500);
	assert_int_equal(acme->limits.customer_recipients_per_day, 32500);
	assert_int_equal(acme->limits.customer_recipients_per_10min, 2250);
	assert_int_equal(globex->billing, BILLING_TRIAL);
	assert_true(globex->settings[0].require_tls);
	assert_int_equal(globex->limits.user_recipients_per_day, 1300);
	assert_int_equal(globex->limits.customer_recipients_per_day, 100);
	assert_int_equal(globex->limits.customer_recipients_per_10min, 50);
	/* Lookups. */
	assert_ptr_equal(conf_customer_by_domain(c, "mx.acme-mail.example", &m), acme);
	assert_string_equal(m, "acme-mail.example");
	assert_ptr_equal(conf_customer_by_domain(c, "acme.example", &m), acme);
	assert_string_equal(m, "acme.example");
	assert_null(conf_customer_by_domain(c, "notacme.example", NULL));
	assert_null(conf_customer_by_domain(c, "example", NULL));
	assert_ptr_equal(conf_customer_by_ip(c, ip("192.0.2.77")), acme);
	assert_ptr_equal(conf_customer_by_ip(c, ip("2001:db8:1::ffff")), acme);
	assert_ptr_equal(conf_customer_by_ip(c, ip("198.51.100.10")), acme);
	assert_null(conf_customer_by_ip(c, ip("198.51.100.11")));
	assert_ptr_equal(conf_customer_by_ip(c, ip("203.0.113.15")), globex);
	assert_null(conf_customer_by_ip(c, ip("203.0.113.16")));
	assert_non_null(conf_user(c, "alice@acme.example"));
	assert_ptr_equal(conf_user(c, "hank@globex.example")->customer, globex);
	assert_null(conf_user(c, "mallory@acme.example"));
	assert_true(setting_has_ip(&acme->settings[0], ip("192.0.2.0")));
	assert_false(setting_has_ip(&acme->settings[2], ip("192.0.2.0")));
	assert_ptr_equal(conf_customer_by_domain(c, "a.b.acme-mail.example", &m), acme);
	assert_string_equal(m, "acme-mail.example");
	assert_ptr_not_equal(conf_customer_by_domain(c, "globex.example", NULL), acme);
	/* Globals of the sample. */
	assert_string_equal(c->redis.server, "127.0.0.1:6379");
	assert_string_equal(c->redis.prefix, "rg");
	assert_int_equal(c->on_backend_error, BACKEND_TEMPFAIL);
	assert_int_equal(c->nlisten, 1);
	assert_string_equal(c->listen[0], "inet:127.0.0.1:10040");
	assert_int_equal(c->milter_mode, MILTER_REWRITE);
	conf_unref(c);
}

static void
test_full_fixture(void **state)
{
	char	err[512];
	struct rg_conf *c = conf_load(FIX "full.conf", err, sizeof(err));
	const struct rg_customer *acme, *globex, *initech;
	const struct rg_user *u;

	(void) state;
	if (c == NULL)
		fail_msg("full.conf refused: %s", err);
	assert_int_equal(c->ncustomers, 3);
	assert_int_equal(c->nranges, 7);		/* the disabled one counts */
	/* acme: 2 inline + 4 from the file; globex 1; initech 0. */
	assert_int_equal(c->nusers, 7);
	acme = conf_customer(c, "acme");
	globex = conf_customer(c, "globex");
	initech = conf_customer(c, "initech");
	assert_non_null(acme);
	assert_non_null(globex);
	assert_non_null(initech);
	assert_int_equal(acme->nusers, 6);
	assert_string_equal(acme->domains[0], "acme.example");	/* canonical */
	assert_true(c->quotas == 0);
	assert_string_equal(c->redis.server, "[::1]:6380");
	/* Relative to the config file's directory, read by the load. */
	assert_string_equal(c->redis.password_file, "redis.pw");
	assert_string_equal(c->redis.auth_user, "relay");
	assert_string_equal(c->redis.auth_pass, "s3cret with spaces");
	assert_string_equal(c->redis.host, "::1");
	assert_int_equal(c->redis.port, 6380);
	assert_int_equal(c->redis.database, 3);
	assert_int_equal(c->redis.timeout_ms, 250);
	assert_string_equal(c->redis.prefix, "rgtest");
	assert_int_equal(c->on_backend_error, BACKEND_REJECT);
	assert_int_equal(c->reservation_ttl, 600);
	assert_string_equal(c->user, "nobody");
	assert_string_equal(c->syslog_facility, "local3");
	assert_int_equal(c->nlisten, 2);
	assert_string_equal(c->listen[1], "unix:/run/relayguard/policy.sock");
	assert_null(c->listen[2]);
	assert_int_equal(c->socket_mode, 0660);
	assert_int_equal(c->max_connections, 100);
	assert_int_equal(c->idle_timeout, 30);
	assert_string_equal(c->milter_socket, "unix:/run/relayguard/milter.sock");
	assert_int_equal(c->milter_mode, MILTER_ENFORCE);
	/* Users: lowercased, from both sources, nomail from the file. */
	u = conf_user(c, "alice@acme.example");
	assert_non_null(u);
	assert_string_equal(u->address, "alice@acme.example");
	assert_false(u->nomail);
	u = conf_user(c, "dave@acme.example");
	assert_non_null(u);
	assert_true(u->nomail);
	assert_ptr_equal(u->customer, acme);
	assert_non_null(conf_user(c, "erin@sub.acme.example"));
	assert_non_null(conf_user(c, "frank@acme-mail.example"));
	assert_null(conf_user(c, "#"));
	/* Ranges: disabled ones match nothing; v6 full notation works. */
	assert_int_equal(acme->settings[0].nranges, 4);
	assert_false(acme->settings[0].ranges[2].enabled);
	assert_string_equal(acme->settings[0].ranges[2].name, "old office");
	assert_string_equal(acme->settings[0].ranges[2].text, "198.18.0.0/24");
	assert_null(conf_customer_by_ip(c, ip("198.18.0.1")));
	assert_false(setting_has_ip(&acme->settings[0], ip("198.18.0.1")));
	assert_ptr_equal(conf_customer_by_ip(c, ip("192.0.2.200")), acme);
	assert_ptr_equal(conf_customer_by_ip(c, ip("1050::5:600:300c:326b")), acme);
	assert_true(setting_has_ip(&acme->settings[2], ip("1050:0:0:0:5:600:300c:326b")));
	assert_ptr_equal(conf_customer_by_ip(c, ip("198.51.100.255")), initech);
	/* Limits: override and derived. */
	assert_int_equal(acme->limits.user_messages_per_day, 500);
	assert_int_equal(acme->limits.user_recipients_per_day, 32500);
	assert_int_equal(initech->billing, BILLING_UNPAID);
	assert_int_equal(initech->limits.user_recipients_per_day, 130L * 40000);
	assert_int_equal(initech->limits.customer_recipients_per_day, 0);
	assert_int_equal(initech->limits.customer_recipients_per_10min, 7);
	assert_int_equal(initech->limits.user_messages_per_day, 10000);
	conf_unref(c);
}

/* Comments do not move the line numbers of errors after them. */
static void
test_lines_after_comments(void **state)
{
	(void) state;
	refuse("# a\n# b\nredis {\n prefix = \"\"\n}\n",
	       "t.conf:4: prefix \"\": 1-64 characters without braces or spaces");
	refuse("/* a\n b */ // c\n# d\nredis {\n server = \"a#b\" }\n",
	       "t.conf:5: server \"a#b\": expected host:port, [v6addr]:port or unix:/path");
}

/* 130 x licenses in 64 bits: past 2^31 it is still a limit, not "none". */
static void
test_limits_64bit(void **state)
{
	struct rg_conf *c;
	const struct rg_customer *big;

	(void) state;
	c = load_ok("customer \"big\" {\n"
		    "    domains  = { \"big.example\" }\n"
		    "    licenses = 100000000\n"
		    "    relay \"r\" { ip \"x\" { range = \"192.0.2.0/24\" } }\n"
		    "}\n");
	big = conf_customer(c, "big");
	assert_non_null(big);
	assert_true(big->limits.user_recipients_per_day == INT64_C(13000000000));
	assert_true(big->limits.customer_recipients_per_day == 4600000);
	assert_true(big->limits.customer_recipients_per_10min == 319444);
	assert_true(sizeof(big->limits.user_recipients_per_day) == 8);
	conf_unref(c);
}

static void
test_defaults(void **state)
{
	struct rg_conf *c = load_ok("");

	(void) state;
	assert_int_equal(c->ncustomers, 0);
	assert_int_equal(c->nranges, 0);
	assert_int_equal(c->nusers, 0);
	assert_string_equal(c->redis.server, "127.0.0.1:6379");
	assert_string_equal(c->redis.password_file, "");
	assert_string_equal(c->redis.auth_user, "");
	assert_string_equal(c->redis.auth_pass, "");
	assert_string_equal(c->redis.host, "127.0.0.1");
	assert_int_equal(c->redis.port, 6379);
	assert_string_equal(c->redis.path, "");
	assert_int_equal(c->redis.database, 0);
	assert_int_equal(c->redis.timeout_ms, 100);
	assert_string_equal(c->redis.prefix, "rg");
	assert_true(c->quotas);
	assert_int_equal(c->on_backend_error, BACKEND_TEMPFAIL);
	assert_int_equal(c->reservation_ttl, 900);
	assert_string_equal(c->user, "relayguard");
	assert_string_equal(c->syslog_facility, "mail");
	assert_int_equal(c->nlisten, 1);
	assert_string_equal(c->listen[0], "inet:127.0.0.1:10040");
	assert_int_equal(c->socket_mode, 0660);
	assert_int_equal(c->max_connections, 2048);
	assert_int_equal(c->idle_timeout, 600);
	assert_string_equal(c->milter_socket, "inet:8891@127.0.0.1");
	assert_int_equal(c->milter_mode, MILTER_ENFORCE);
	assert_string_equal(c->path, "t.conf");
	assert_null(conf_customer_by_ip(c, ip("192.0.2.1")));
	assert_null(conf_customer_by_domain(c, "acme.example", NULL));
	assert_null(conf_user(c, "alice@acme.example"));
	conf_unref(c);
}

static void
test_names(void **state)
{
	(void) state;
	assert_string_equal(senders_name(SENDERS_REGISTERED), "registered_users");
	assert_string_equal(senders_name(SENDERS_DOMAIN), "domain_addresses");
	assert_string_equal(senders_name(SENDERS_ANY), "any");
	assert_string_equal(billing_name(BILLING_PAID), "paid");
	assert_string_equal(billing_name(BILLING_UNPAID), "unpaid");
	assert_string_equal(billing_name(BILLING_TRIAL), "trial");
	assert_string_equal(backend_error_name(BACKEND_TEMPFAIL), "tempfail");
	assert_string_equal(backend_error_name(BACKEND_ACCEPT), "accept");
	assert_string_equal(backend_error_name(BACKEND_REJECT), "reject");
}

static void
test_ref_unref(void **state)
{
	struct rg_conf *c = load_ok(
		"customer \"a\" {\n"
		"    domains  = { \"a.example\" }\n"
		"    licenses = 1\n"
		"    relay \"r\" { require_smtp_auth = true }\n"
		"}\n");

	(void) state;
	assert_int_equal(c->refs, 1);
	conf_ref(c);
	conf_ref(c);
	assert_int_equal(c->refs, 3);
	conf_unref(c);
	conf_unref(c);
	/* Still ours: the last reference has not gone. */
	assert_int_equal(c->refs, 1);
	assert_non_null(conf_customer(c, "a"));
	conf_unref(c);				/* frees (ASan checks) */
	conf_unref(NULL);
}

/* --- options and types ------------------------------------------- */

static void
test_unknown_option(void **state)
{
	(void) state;
	refuse("foo = 1\n", "t.conf:1: no such option 'foo'");
	refuse("quotas = false\n"			/* 1 */
	       "\n"					/* 2 */
	       "frobnicate = \"x\"\n",			/* 3 */
	       "t.conf:3: no such option 'frobnicate'");
	refuse("redis {\n"				/* 1 */
	       "    server = \"127.0.0.1:6379\"\n"	/* 2 */
	       "    host   = \"x\"\n"			/* 3 */
	       "}\n", "t.conf:3: no such option 'host'");
	refuse("customer \"a\" {\n"			/* 1 */
	       "    domains  = { \"a.example\" }\n"	/* 2 */
	       "    colour   = \"red\"\n"		/* 3 */
	       "}\n", "t.conf:3: no such option 'colour'");
	refuse("customer \"a\" {\n"			/* 1 */
	       "    domains  = { \"a.example\" }\n"	/* 2 */
	       "    licenses = 1\n"			/* 3 */
	       "    limits {\n"				/* 4 */
	       "        max_fun = 1\n"			/* 5 */
	       "    }\n"
	       "}\n", "t.conf:5: no such option 'max_fun'");
	{
		char	buf[1024];

		one_customer(buf, sizeof(buf), "        require_ssl = true\n");
		refuse(buf, "t.conf:5: no such option 'require_ssl'");
		one_customer(buf, sizeof(buf),
			     "        ip \"x\" { range = \"10.0.0.0/16\" mask = 16 }\n");
		refuse(buf, "t.conf:5: no such option 'mask'");
	}
}

static void
test_bad_types(void **state)
{
	char	buf[1024];

	(void) state;
	refuse("\n\nredis { database = \"x\" }\n",
	       "t.conf:3: invalid integer value for option 'database'");
	refuse("reservation_ttl = abc\n",
	       "t.conf:1: invalid integer value for option 'reservation_ttl'");
	refuse("quotas = maybe\n", "t.conf:1: invalid boolean value for option 'quotas'");
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\" }\n"
	       "    licenses = \"many\"\n"
	       "}\n", "t.conf:3: invalid integer value for option 'licenses'");
	one_customer(buf, sizeof(buf), "        require_tls = perhaps\n");
	refuse(buf, "t.conf:5: invalid boolean value for option 'require_tls'");
	one_customer(buf, sizeof(buf), "        require_smtp_auth = 2\n");
	refuse(buf, "t.conf:5: invalid boolean value for option 'require_smtp_auth'");
	one_customer(buf, sizeof(buf),
		     "        ip \"x\" { range = \"10.0.0.0/16\" enabled = sometimes }\n");
	refuse(buf, "t.conf:5: invalid boolean value for option 'enabled'");
	/* Numbers out of their bounds. */
	refuse("redis {\n    timeout_ms = 0\n}\n", "t.conf:2: timeout_ms: 0 is out of range (1..60000)");
	refuse("redis { timeout_ms = 60001 }\n",
	       "t.conf:1: timeout_ms: 60001 is out of range (1..60000)");
	refuse("redis { database = -1 }\n", "t.conf:1: database: -1 is out of range (0..1000000)");
	refuse("reservation_ttl = 0\n", "t.conf:1: reservation_ttl: 0 is out of range (1..86400)");
	refuse("reservation_ttl = 86401\n",
	       "t.conf:1: reservation_ttl: 86401 is out of range (1..86400)");
	refuse("policyd { max_connections = 0 }\n",
	       "t.conf:1: max_connections: 0 is out of range (1..1000000)");
	refuse("policyd { idle_timeout = 86401 }\n",
	       "t.conf:1: idle_timeout: 86401 is out of range (1..86400)");
	refuse("syslog_facility = \"kern\"\n",
	       "t.conf:1: syslog_facility \"kern\" is not a facility name");
	refuse("milter { socket = \"8891\" }\n",
	       "t.conf:1: socket \"8891\": expected inet:port@host, inet6:port@host or unix:/path");
}

static void
test_unknown_words(void **state)
{
	char	buf[1024];

	(void) state;
	refuse("on_backend_error = \"bounce\"\n",
	       "t.conf:1: on_backend_error: unknown value \"bounce\" (tempfail, accept or reject)");
	refuse("on_backend_error = \"Tempfail\"\n",
	       "t.conf:1: on_backend_error: unknown value \"Tempfail\" (tempfail, accept or reject)");
	refuse("milter {\n    mode = \"filter\"\n}\n",
	       "t.conf:2: mode: unknown value \"filter\" (rewrite or enforce)");
	refuse("customer \"a\" {\n"			/* 1 */
	       "    domains  = { \"a.example\" }\n"	/* 2 */
	       "    licenses = 1\n"			/* 3 */
	       "    billing  = \"free\"\n"		/* 4 */
	       "}\n", "t.conf:4: billing: unknown value \"free\" (paid, unpaid or trial)");
	one_customer(buf, sizeof(buf), "        allowed_senders = \"all\"\n");
	refuse(buf, "t.conf:5: allowed_senders: unknown value \"all\""
	       " (registered_users, domain_addresses or any)");
	one_customer(buf, sizeof(buf),
		     "        require_smtp_auth = true\n"
		     "        allowed_senders = \"\"\n");
	refuse(buf, "t.conf:6: allowed_senders: unknown value \"\""
	       " (registered_users, domain_addresses or any)");
	/* The known words load. */
	{
		struct rg_conf *c;

		c = load_ok("on_backend_error = \"accept\"\nmilter { mode = \"enforce\" }\n");
		assert_int_equal(c->on_backend_error, BACKEND_ACCEPT);
		assert_int_equal(c->milter_mode, MILTER_ENFORCE);
		conf_unref(c);
	}
}

static void
test_syntax_errors(void **state)
{
	(void) state;
	refuse("customer \"a\" {\n    domains = { \"a.example\"\n",
	       "t.conf:3: unexpected end of file: a section or list is not closed");
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\" }\n"
	       "    licenses = 1\n"
	       "}\n"
	       "}\n", "t.conf:5: unexpected closing brace");
	refuse("customer {\n    domains = { \"a.example\" }\n    licenses = 1\n}\n",
	       "t.conf:1: missing title for section 'customer'");
	refuse_any("redis = 1\n");
	refuse_any("quotas\n");
}

/*
 * A file cut short inside a section (a truncated write, a lost closing
 * brace) must be refused: libconfuse 3.3 returns success at end of file
 * inside a section, so everything after the cut silently disappears.
 */
static void
test_truncated_file(void **state)
{
	(void) state;
	refuse_any("customer \"a\" {\n"
		   "    domains  = { \"a.example\" }\n"
		   "    licenses = 1\n"
		   "    relay \"r\" {\n"
		   "        require_smtp_auth = true\n");
	refuse_any("customer \"a\" {\n"
		   "    domains  = { \"a.example\" }\n"
		   "    licenses = 1\n");
	refuse_any("redis {\n");
}

/* --- relay settings and ranges ----------------------------------- */

static void
test_relay_without_method(void **state)
{
	char	buf[1024];
	struct rg_conf *c;

	(void) state;
	/* Settings on the line after the title: the line of the first option. */
	one_customer(buf, sizeof(buf), "        allowed_senders = \"any\"\n");
	refuse(buf, "t.conf:5: relay \"r\": select at least one authentication method"
	       " (an ip range or require_smtp_auth = true)");
	one_customer(buf, sizeof(buf),
		     "        require_smtp_auth = false\n"
		     "        require_tls = true\n");
	refuse(buf, "t.conf:5: relay \"r\": select at least one authentication method"
	       " (an ip range or require_smtp_auth = true)");
	/* A one-line setting: its own line. */
	refuse("customer \"a\" {\n"				/* 1 */
	       "    domains  = { \"a.example\" }\n"		/* 2 */
	       "    licenses = 1\n"				/* 3 */
	       "    relay \"ok\" { require_smtp_auth = true }\n"	/* 4 */
	       "    relay \"bad\" { require_tls = true }\n"	/* 5 */
	       "}\n", "t.conf:5: relay \"bad\": select at least one authentication method"
	       " (an ip range or require_smtp_auth = true)");
	/* Either method alone is enough. */
	one_customer(buf, sizeof(buf), "        require_smtp_auth = true\n");
	c = load_ok(buf);
	assert_true(c->customers[0].settings[0].require_auth);
	assert_int_equal(c->customers[0].settings[0].senders, SENDERS_REGISTERED);
	conf_unref(c);
	one_customer(buf, sizeof(buf), "        ip \"x\" { range = \"10.0.0.0/24\" }\n");
	c = load_ok(buf);
	assert_int_equal(c->customers[0].settings[0].nranges, 1);
	conf_unref(c);
	/* An ip section without its range. */
	one_customer(buf, sizeof(buf), "        ip \"x\" { enabled = false }\n");
	refuse(buf, "t.conf:5: ip \"x\": range is required");
	/* Duplicate titles. */
	one_customer(buf, sizeof(buf),
		     "        ip \"x\" { range = \"10.1.0.0/16\" }\n"
		     "        ip \"x\" { range = \"10.2.0.0/16\" }\n");
	refuse(buf, "t.conf:6: found duplicate title 'x'");
	refuse("customer \"a\" {\n"					/* 1 */
	       "    domains  = { \"a.example\" }\n"			/* 2 */
	       "    licenses = 1\n"					/* 3 */
	       "    relay \"r\" { require_smtp_auth = true }\n"		/* 4 */
	       "    relay \"r\" { require_smtp_auth = true }\n"		/* 5 */
	       "}\n", "t.conf:5: found duplicate title 'r'");
}

static void
range_refused(const char *range, const char *reason)
{
	char	body[256], buf[1024], want[512];

	snprintf(body, sizeof(body), "        ip \"x\" { range = \"%s\" }\n", range);
	one_customer(buf, sizeof(buf), body);
	snprintf(want, sizeof(want), "t.conf:5: %s", reason);
	refuse(buf, want);
}

static void
range_loads(const char *range)
{
	char	body[256], buf[1024];
	struct rg_conf *c;

	snprintf(body, sizeof(body), "        ip \"x\" { range = \"%s\" }\n", range);
	one_customer(buf, sizeof(buf), body);
	c = load_ok(buf);
	assert_int_equal(c->nranges, 1);
	assert_string_equal(c->customers[0].settings[0].ranges[0].text, range);
	conf_unref(c);
}

static void
test_range_syntax(void **state)
{
	(void) state;
	range_refused("bad", "invalid IP address \"bad\"");
	range_refused("1.2.3", "invalid IP address \"1.2.3\"");
	range_refused("1.2.3/24", "invalid IP address \"1.2.3\"");
	range_refused("1::2::3", "invalid IP address \"1::2::3\"");
	range_refused("192.0.2.0-192.0.2.9", "invalid IP address \"192.0.2.0-192.0.2.9\"");
	range_refused("", "invalid IP range \"\"");
	range_refused("10.0.0.0/33", "invalid prefix length in \"10.0.0.0/33\"");
	range_refused("2001:db8::/129", "invalid prefix length in \"2001:db8::/129\"");
	range_refused("10.0.0.0/016", "invalid prefix length in \"10.0.0.0/016\"");
	range_refused("10.0.0.0/", "invalid prefix length in \"10.0.0.0/\"");
	range_refused("10.0.0.0/x", "invalid prefix length in \"10.0.0.0/x\"");
	range_refused("10.0.0.1/24", "IP range \"10.0.0.1/24\" has host bits set"
		      " (the network is 10.0.0.0/24)");
	range_refused("2001:db8:1::1/112", "IP range \"2001:db8:1::1/112\" has host bits set"
		      " (the network is 2001:db8:1::/112)");
	/* Every notation of DESIGN 2 loads. */
	range_loads("1050:0000:0000:0000:0005:0600:300c:326b");
	range_loads("1050:0:0:0:5:600:300c:326b");
	range_loads("1050::5:600:300c:326b");
	range_loads("1050::5:600:300c:0/112");
	range_loads("192.0.2.0/24");
	range_loads("192.0.2.10");
	range_loads("192.0.2.10/32");
}

static void
test_range_cap(void **state)
{
	(void) state;
	range_refused("10.0.0.0/15", "IP range \"10.0.0.0/15\" holds more than 65536 addresses"
		      " (at most an IPv4 /16 or an IPv6 /112)");
	range_refused("10.0.0.0/8", "IP range \"10.0.0.0/8\" holds more than 65536 addresses"
		      " (at most an IPv4 /16 or an IPv6 /112)");
	range_refused("2001:db8::/111", "IP range \"2001:db8::/111\" holds more than 65536"
		      " addresses (at most an IPv4 /16 or an IPv6 /112)");
	range_refused("2001:db8::/64", "IP range \"2001:db8::/64\" holds more than 65536"
		      " addresses (at most an IPv4 /16 or an IPv6 /112)");
	/* Exactly 65,536 addresses is allowed. */
	range_loads("10.0.0.0/16");
	range_loads("2001:db8::/112");
	range_loads("::ffff:10.0.0.0/112");
}

/* Two customers, one range each; the ip lines are 5 and 12. */
static void
two_customers(char *buf, size_t len, const char *ra, const char *ea, const char *rb,
	      const char *eb)
{
	snprintf(buf, len,
		 "customer \"a\" {\n"				/* 1 */
		 "    domains  = { \"a.example\" }\n"		/* 2 */
		 "    licenses = 1\n"				/* 3 */
		 "    relay \"r\" {\n"				/* 4 */
		 "        ip \"x\" { range = \"%s\" %s }\n"	/* 5 */
		 "    }\n"					/* 6 */
		 "}\n"						/* 7 */
		 "customer \"b\" {\n"				/* 8 */
		 "    domains  = { \"b.example\" }\n"		/* 9 */
		 "    licenses = 1\n"				/* 10 */
		 "    relay \"r\" {\n"				/* 11 */
		 "        ip \"y\" { range = \"%s\" %s }\n"	/* 12 */
		 "    }\n"
		 "}\n", ra, ea, rb, eb);
}

static void
overlap(const char *ra, const char *ea, const char *rb, const char *eb)
{
	char	buf[2048], want[512];

	two_customers(buf, sizeof(buf), ra, ea, rb, eb);
	snprintf(want, sizeof(want), "t.conf:12: IP range %s of customer \"b\" overlaps"
		 " range %s of customer \"a\" (line 5)", rb, ra);
	refuse(buf, want);
}

static void
test_overlap_two_customers(void **state)
{
	char	buf[2048];
	struct rg_conf *c;

	(void) state;
	/* Nested, both orders: the later line is reported, naming the earlier. */
	overlap("10.0.0.0/16", "", "10.0.5.0/24", "");
	overlap("10.0.5.0/24", "", "10.0.0.0/16", "");
	/* Partly outside: b's /23 covers a's /24 and more. */
	overlap("10.0.1.0/24", "", "10.0.0.0/23", "");
	overlap("10.0.0.0/23", "", "10.0.1.0/24", "");
	/* Identical, single address inside, last address of a range. */
	overlap("10.0.5.0/24", "", "10.0.5.0/24", "");
	overlap("10.0.5.0/24", "", "10.0.5.255", "");
	overlap("10.0.5.0/24", "", "10.0.5.0/32", "");
	/* Disabled ranges count too, on either side. */
	overlap("10.0.5.0/24", "enabled = false", "10.0.5.0/24", "");
	overlap("10.0.5.0/24", "", "10.0.5.0/24", "enabled = false");
	overlap("10.0.0.0/16", "enabled = false", "10.0.200.0/24", "enabled = false");
	/* IPv6, and the same IPv4 block written as IPv4-mapped IPv6. */
	overlap("2001:db8::/112", "", "2001:db8::ff", "");
	overlap("10.0.0.0/24", "", "::ffff:10.0.0.0/120", "");
	overlap("1050::5:600:300c:0/112", "", "1050:0000:0000:0000:0005:0600:300c:326b", "");
	/* Adjacent is not overlapping. */
	two_customers(buf, sizeof(buf), "10.0.5.0/24", "", "10.0.6.0/24", "");
	c = load_ok(buf);
	assert_string_equal(conf_customer_by_ip(c, ip("10.0.5.255"))->name, "a");
	assert_string_equal(conf_customer_by_ip(c, ip("10.0.6.0"))->name, "b");
	conf_unref(c);
}

static void
test_overlap_many(void **state)
{
	(void) state;
	/* Among several ranges, the overlap between the 2nd and 3rd customer is found. */
	refuse("customer \"a\" {\n"					/* 1 */
	       "    domains  = { \"a.example\" }\n"			/* 2 */
	       "    licenses = 1\n"					/* 3 */
	       "    relay \"r\" {\n"					/* 4 */
	       "        ip \"big\" { range = \"10.0.0.0/16\" }\n"	/* 5 */
	       "        ip \"small\" { range = \"10.0.1.0/24\" }\n"	/* 6 */
	       "    }\n"						/* 7 */
	       "}\n"							/* 8 */
	       "customer \"b\" {\n"					/* 9 */
	       "    domains  = { \"b.example\" }\n"			/* 10 */
	       "    licenses = 1\n"					/* 11 */
	       "    relay \"r\" {\n"					/* 12 */
	       "        ip \"x\" { range = \"10.1.0.0/24\" }\n"		/* 13 */
	       "        ip \"y\" { range = \"10.2.0.0/16\" }\n"		/* 14 */
	       "    }\n"						/* 15 */
	       "}\n"							/* 16 */
	       "customer \"c\" {\n"					/* 17 */
	       "    domains  = { \"c.example\" }\n"			/* 18 */
	       "    licenses = 1\n"					/* 19 */
	       "    relay \"r\" {\n"					/* 20 */
	       "        ip \"z\" { range = \"10.1.1.0/24\" }\n"		/* 21 */
	       "        ip \"w\" { range = \"10.2.7.0/24\" }\n"		/* 22 */
	       "    }\n"
	       "}\n",
	       "t.conf:22: IP range 10.2.7.0/24 of customer \"c\" overlaps"
	       " range 10.2.0.0/16 of customer \"b\" (line 14)");
	/* Across relay settings of two customers, the later line first in the file. */
	refuse("customer \"a\" {\n"					/* 1 */
	       "    domains  = { \"a.example\" }\n"			/* 2 */
	       "    licenses = 1\n"					/* 3 */
	       "    relay \"r\" { require_smtp_auth = true }\n"		/* 4 */
	       "    relay \"s\" {\n"					/* 5 */
	       "        ip \"x\" { range = \"192.0.2.128/25\" }\n"	/* 6 */
	       "    }\n"						/* 7 */
	       "}\n"							/* 8 */
	       "customer \"b\" {\n"					/* 9 */
	       "    domains  = { \"b.example\" }\n"			/* 10 */
	       "    licenses = 1\n"					/* 11 */
	       "    relay \"r\" {\n"					/* 12 */
	       "        ip \"y\" { range = \"192.0.2.0/24\" }\n"		/* 13 */
	       "    }\n"
	       "}\n",
	       "t.conf:13: IP range 192.0.2.0/24 of customer \"b\" overlaps"
	       " range 192.0.2.128/25 of customer \"a\" (line 6)");
}

static void
test_overlap_one_customer(void **state)
{
	struct rg_conf *c;
	const struct rg_customer *a;

	(void) state;
	c = load_ok("customer \"a\" {\n"
		    "    domains  = { \"a.example\" }\n"
		    "    licenses = 1\n"
		    "    relay \"r\" {\n"
		    "        ip \"big\" { range = \"10.0.0.0/16\" }\n"
		    "        ip \"small\" { range = \"10.0.1.0/24\" }\n"
		    "        ip \"same\" { range = \"10.0.1.0/24\" enabled = false }\n"
		    "    }\n"
		    "    relay \"s\" {\n"
		    "        require_tls = true\n"
		    "        ip \"again\" { range = \"10.0.0.0/24\" }\n"
		    "        ip \"host\" { range = \"10.0.0.7\" }\n"
		    "    }\n"
		    "}\n");
	a = conf_customer(c, "a");
	assert_int_equal(c->nranges, 5);
	assert_ptr_equal(conf_customer_by_ip(c, ip("10.0.0.7")), a);
	assert_ptr_equal(conf_customer_by_ip(c, ip("10.0.255.255")), a);
	assert_null(conf_customer_by_ip(c, ip("10.1.0.0")));
	assert_true(setting_has_ip(&a->settings[1], ip("10.0.0.255")));
	assert_false(setting_has_ip(&a->settings[1], ip("10.0.1.0")));
	assert_true(setting_has_ip(&a->settings[0], ip("10.0.1.0")));
	conf_unref(c);
}

/* --- customers, domains, licenses, users ------------------------- */

static void
test_domains(void **state)
{
	struct rg_conf *c;

	(void) state;
	refuse("customer \"a\" {\n"				/* 1 */
	       "    domains  = { \"a.example\" }\n"		/* 2 */
	       "    licenses = 1\n"				/* 3 */
	       "}\n"					/* 4 */
	       "customer \"b\" {\n"				/* 5 */
	       "    domains  = { \"b.example\", \"a.example\" }\n"	/* 6 */
	       "    licenses = 1\n"				/* 7 */
	       "}\n",
	       "t.conf:6: domain a.example of customer \"b\" already belongs to customer \"a\""
	       " (line 2)");
	/* The same domain in another spelling is the same domain. */
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\" }\n"
	       "    licenses = 1\n"
	       "}\n"
	       "customer \"b\" {\n"
	       "    domains  = { \"A.EXAMPLE.\" }\n"
	       "    licenses = 1\n"
	       "}\n",
	       "t.conf:6: domain a.example of customer \"b\" already belongs to customer \"a\""
	       " (line 2)");
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\", \"b.example\", \"A.Example\" }\n"
	       "    licenses = 1\n"
	       "}\n", "t.conf:2: customer \"a\": domain a.example is listed twice");
	/* Missing: reported where the customer block ends. */
	refuse("customer \"a\" {\n"
	       "    licenses = 1\n"
	       "    relay \"r\" { require_smtp_auth = true }\n"
	       "}\n", "t.conf:4: customer \"a\": domains is required");
	refuse("customer \"a\" {\n"
	       "    domains  = {}\n"
	       "    licenses = 1\n"
	       "}\n", "t.conf:4: customer \"a\": domains is required");
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a..example\" }\n"
	       "    licenses = 1\n"
	       "}\n", "t.conf:2: invalid domain \"a..example\"");
	/* Every element of a list is checked, not only the last. */
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a..example\", \"ok.example\" }\n"
	       "    licenses = 1\n"
	       "}\n", "t.conf:2: invalid domain \"a..example\"");
	refuse("customer \"a\" {\n"
	       "    domains  = { \"[192.0.2.1]\" }\n"
	       "    licenses = 1\n"
	       "}\n", "t.conf:2: invalid domain \"[192.0.2.1]\"");
	refuse("customer \"a\" {\n"
	       "    domains  = { \"\" }\n"
	       "    licenses = 1\n"
	       "}\n", "t.conf:2: invalid domain \"\"");
	refuse("customer \"a\" {\n"
	       "    domains  = { \"user@a.example\" }\n"
	       "    licenses = 1\n"
	       "}\n", "t.conf:2: invalid domain \"user@a.example\"");
	/* Canonical form kept: lowercased, no trailing dot, first = primary. */
	c = load_ok("customer \"a\" {\n"
		    "    domains  = { \"Mail.A.Example.\", \"a.test\" }\n"
		    "    licenses = 1\n"
		    "}\n");
	assert_string_equal(c->customers[0].domains[0], "mail.a.example");
	assert_string_equal(c->customers[0].domains[1], "a.test");
	assert_int_equal(c->customers[0].nsettings, 0);
	conf_unref(c);
}

static void
test_licenses(void **state)
{
	(void) state;
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\" }\n"
	       "    relay \"r\" { require_smtp_auth = true }\n"
	       "}\n", "t.conf:4: customer \"a\": licenses is required");
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\" }\n"
	       "    licenses = 0\n"
	       "}\n", "t.conf:3: licenses: 0 is out of range (1..100000000)");
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\" }\n"
	       "    licenses = -5\n"
	       "}\n", "t.conf:3: licenses: -5 is out of range (1..100000000)");
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\" }\n"
	       "    licenses = 100000001\n"
	       "}\n", "t.conf:3: licenses: 100000001 is out of range (1..100000000)");
}

static void
test_customer_names(void **state)
{
	static const char tail[] = " {\n    domains = { \"a.example\" }\n    licenses = 1\n}\n";
	static const char *const bad[] = {
		"a b", "{acme}", "a{b", "a}b", "a:b", "", "a\tb", "a/b", "a\"b",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",	/* 65 */
	};
	char	buf[512], want[512];
	size_t	i;
	struct rg_conf *c;

	(void) state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (strchr(bad[i], '"'))
			snprintf(buf, sizeof(buf), "customer \"a\\\"b\"%s", tail);
		else
			snprintf(buf, sizeof(buf), "customer \"%s\"%s", bad[i], tail);
		snprintf(want, sizeof(want), "t.conf:4: customer name \"%s\": use 1-64 letters,"
			 " digits, '.', '_', '-' or '@'", bad[i]);
		refuse(buf, want);
	}
	snprintf(buf, sizeof(buf), "customer \"%s\"%s",
		 "Acme.Corp_2-eu@x0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", tail);
	c = load_ok(buf);
	assert_int_equal(strlen(c->customers[0].name), 64);
	conf_unref(c);
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\" }\n"
	       "    licenses = 1\n"
	       "}\n"
	       "customer \"a\" {\n"
	       "    domains  = { \"b.example\" }\n"
	       "    licenses = 1\n"
	       "}\n", "t.conf:5: found duplicate title 'a'");
}

static void
test_users_inline(void **state)
{
	struct rg_conf *c;

	(void) state;
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\" }\n"
	       "    licenses = 1\n"
	       "    users    = { \"ok@a.example\", \"x@b.example\" }\n"
	       "}\n", "t.conf:4: user x@b.example is not in a domain of customer \"a\"");
	/* "notacme"-style: a suffix that is not a subdomain. */
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\" }\n"
	       "    licenses = 1\n"
	       "    users    = { \"x@nota.example\" }\n"
	       "}\n", "t.conf:4: user x@nota.example is not in a domain of customer \"a\"");
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\" }\n"
	       "    licenses = 1\n"
	       "    users    = { \"x@@a.example\" }\n"
	       "}\n", "t.conf:4: invalid user address \"x@@a.example\"");
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\" }\n"
	       "    licenses = 1\n"
	       "    users    = { \"x@@a.example\", \"y@a.example\" }\n"
	       "}\n", "t.conf:4: invalid user address \"x@@a.example\"");
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\" }\n"
	       "    licenses = 1\n"
	       "    users    = { \"nodomain\" }\n"
	       "}\n", "t.conf:4: invalid user address \"nodomain\"");
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\" }\n"
	       "    licenses = 1\n"
	       "    users    = { \"<>\" }\n"
	       "}\n", "t.conf:4: invalid user address \"<>\"");
	/* A user in two customers (b owns a subdomain of a's domain): the
	 * longest domain decides ownership, as in the relay decision. */
	refuse("customer \"a\" {\n"					/* 1 */
	       "    domains  = { \"a.example\" }\n"			/* 2 */
	       "    licenses = 1\n"					/* 3 */
	       "    users    = { \"carol@sub.a.example\" }\n"		/* 4 */
	       "}\n"							/* 5 */
	       "customer \"b\" {\n"					/* 6 */
	       "    domains  = { \"sub.a.example\" }\n"		/* 7 */
	       "    licenses = 1\n"					/* 8 */
	       "    users    = { \"Carol@Sub.A.Example\" }\n"		/* 9 */
	       "}\n", "t.conf:4: user carol@sub.a.example: domain sub.a.example belongs to customer \"b\"");
	/* Subdomains are fine; a user listed twice in one customer is one user. */
	c = load_ok("customer \"a\" {\n"
		    "    domains  = { \"a.example\" }\n"
		    "    licenses = 1\n"
		    "    users    = { \"x@sub.a.example\", \"Y@A.Example\", \"y@a.example\" }\n"
		    "}\n");
	assert_int_equal(c->nusers, 2);
	assert_int_equal(c->customers[0].nusers, 2);
	assert_non_null(conf_user(c, "y@a.example"));
	assert_null(conf_user(c, "Y@A.Example"));	/* keys are lowercase */
	conf_unref(c);
}

static void
users_file_refused(const char *users_path, const char *want)
{
	char	buf[1024];

	snprintf(buf, sizeof(buf),
		 "customer \"acme\" {\n"				/* 1 */
		 "    domains    = { \"acme.example\", \"acme-mail.example\" }\n"	/* 2 */
		 "    licenses   = 10\n"				/* 3 */
		 "    users_file = \"%s\"\n"				/* 4 */
		 "}\n", users_path);
	refuse(buf, want);
}

static void
test_users_file(void **state)
{
	char	buf[1024], path[128], want[512];
	struct rg_conf *c;
	const struct rg_user *u;

	(void) state;
	tmp_make();
	/* Comments, blank lines, "nomail", spacing, case. */
	c = load_ok("customer \"acme\" {\n"
		    "    domains    = { \"acme.example\", \"acme-mail.example\" }\n"
		    "    licenses   = 10\n"
		    "    users_file = \"" FIX "acme.users\"\n"
		    "}\n");
	assert_int_equal(c->nusers, 4);
	assert_false(conf_user(c, "carol@acme.example")->nomail);
	u = conf_user(c, "dave@acme.example");
	assert_non_null(u);
	assert_true(u->nomail);
	assert_non_null(conf_user(c, "erin@sub.acme.example"));
	assert_non_null(conf_user(c, "frank@acme-mail.example"));
	conf_unref(c);
	/* CRLF line ends. */
	c = load_ok("customer \"acme\" {\n"
		    "    domains    = { \"acme.example\" }\n"
		    "    licenses   = 10\n"
		    "    users_file = \"" FIX "crlf.users\"\n"
		    "}\n");
	assert_int_equal(c->nusers, 2);
	assert_true(conf_user(c, "dave@acme.example")->nomail);
	conf_unref(c);
	/* Listed inline and in the file with nomail: the stricter wins. */
	c = load_ok("customer \"acme\" {\n"
		    "    domains    = { \"acme.example\", \"acme-mail.example\" }\n"
		    "    licenses   = 10\n"
		    "    users      = { \"dave@acme.example\" }\n"
		    "    users_file = \"" FIX "acme.users\"\n"
		    "}\n");
	assert_int_equal(c->nusers, 4);
	assert_true(conf_user(c, "dave@acme.example")->nomail);
	conf_unref(c);
	/* Errors name the users file and its line. */
	users_file_refused(FIX "bad-flag.users",
			   FIX "bad-flag.users:3: expected \"address\" or \"address nomail\"");
	users_file_refused(FIX "extra.users",
			   FIX "extra.users:1: expected \"address\" or \"address nomail\"");
	users_file_refused(FIX "foreign.users", FIX "foreign.users:5: user mallory@evil.example"
			   " is not in a domain of customer \"acme\"");
	users_file_refused(FIX "bad-addr.users",
			   FIX "bad-addr.users:2: invalid user address \"dave@@acme.example\"");
	/* A missing file: the config line of users_file. */
	snprintf(path, sizeof(path), "%s/missing.users", tmpdir);
	snprintf(want, sizeof(want), "t.conf:4: users_file %s: No such file or directory", path);
	users_file_refused(path, want);
	/* Only a regular file: a directory, a FIFO or a device is refused. */
	snprintf(want, sizeof(want), "t.conf:4: users_file %s: not a regular file", tmpdir);
	users_file_refused(tmpdir, want);
	/* An overlong line. */
	snprintf(path, sizeof(path), "%s/long.users", tmpdir);
	{
		char	line[1200];

		memset(line, 'a', 1100);
		strcpy(line + 1100, "@acme.example\n");
		write_file(path, line);
	}
	snprintf(want, sizeof(want), "%s:1: line longer than 1024 bytes", path);
	users_file_refused(path, want);
	/* A user in the file of one customer and inline in another. */
	snprintf(path, sizeof(path), "%s/dup.users", tmpdir);
	write_file(path, "# one\n\nzoe@sub.acme.example nomail\n");
	snprintf(buf, sizeof(buf),
		 "customer \"acme\" {\n"				/* 1 */
		 "    domains    = { \"acme.example\" }\n"		/* 2 */
		 "    licenses   = 10\n"				/* 3 */
		 "    users      = { \"zoe@sub.acme.example\" }\n"	/* 4 */
		 "}\n"							/* 5 */
		 "customer \"sub\" {\n"					/* 6 */
		 "    domains    = { \"sub.acme.example\" }\n"		/* 7 */
		 "    licenses   = 10\n"				/* 8 */
		 "    users_file = \"%s\"\n"				/* 9 */
		 "}\n", path);
	snprintf(want, sizeof(want), "t.conf:4: user zoe@sub.acme.example: domain"
		 " sub.acme.example belongs to customer \"sub\"");
	refuse(buf, want);
	tmp_done();
}

/* conf_load of a file: errors name that file; a users_file error names its own. */
static void
test_conf_load_file(void **state)
{
	char	conf[128], users[128], err[512], want[512], text[1024];
	struct rg_conf *c;

	(void) state;
	tmp_make();
	snprintf(conf, sizeof(conf), "%s/relayguard.conf", tmpdir);
	snprintf(users, sizeof(users), "%s/x.users", tmpdir);
	c = conf_load(conf, err, sizeof(err));
	assert_null(c);
	snprintf(want, sizeof(want), "%s:0: No such file or directory", conf);
	assert_string_equal(err, want);

	write_file(users, "a@x.example\n# two\nb@x.example nomail\n");
	snprintf(text, sizeof(text),
		 "customer \"x\" {\n"
		 "    domains    = { \"x.example\" }\n"
		 "    licenses   = 3\n"
		 "    users_file = \"%s\"\n"
		 "    relay \"r\" { require_smtp_auth = true }\n"
		 "}\n", users);
	write_file(conf, text);
	c = conf_load(conf, err, sizeof(err));
	if (c == NULL)
		fail_msg("refused: %s", err);
	assert_string_equal(c->path, conf);
	assert_int_equal(c->nusers, 2);
	assert_true(conf_user(c, "b@x.example")->nomail);
	conf_unref(c);

	write_file(users, "a@x.example\n# two\nb@x.example nomail\nc@y.example\n");
	assert_null(conf_load(conf, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:4: user c@y.example is not in a domain of customer \"x\"",
		 users);
	assert_string_equal(err, want);

	write_file(conf, "\n\nlicenses = 3\n");
	assert_null(conf_load(conf, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:3: no such option 'licenses'", conf);
	assert_string_equal(err, want);
	unlink(conf);
	unlink(users);
	tmp_done();
}

/* --- redis, policyd, milter -------------------------------------- */

static void
server(const char *v, int good)
{
	char	buf[256], want[256];
	struct rg_conf *c;

	snprintf(buf, sizeof(buf), "redis {\n    server = \"%s\"\n}\n", v);
	if (good) {
		c = load_ok(buf);
		assert_string_equal(c->redis.server, v);
		conf_unref(c);
	} else {
		snprintf(want, sizeof(want), "t.conf:2: server \"%s\": expected host:port,"
			 " [v6addr]:port or unix:/path", v);
		refuse(buf, want);
	}
}

static void
test_redis_server(void **state)
{
	(void) state;
	server("127.0.0.1:6379", 1);
	server("localhost:6380", 1);
	server("[::1]:6379", 1);
	server("[2001:db8::10]:7000", 1);
	server("unix:/run/redis/redis.sock", 1);
	server("127.0.0.1:65535", 1);
	server("127.0.0.1", 0);
	server("127.0.0.1:", 0);
	server(":6379", 0);
	server("127.0.0.1:0", 0);
	server("127.0.0.1:65536", 0);
	server("127.0.0.1:63x", 0);
	server("[::1:6379", 0);
	server("[::1]x:6379", 0);
	server("unix:redis.sock", 0);
	server("", 0);
}

/*
 * The server is resolved by the load (issue 9): the clients connect to a
 * numeric address from their event loop.  IPv4 first, as hiredis does.
 */
static void
test_redis_resolve(void **state)
{
	char	err[512];
	struct rg_conf *c;

	(void) state;
	c = load_ok("redis { server = \"localhost:6390\" }\n");
	assert_string_equal(c->redis.server, "localhost:6390");
	assert_string_equal(c->redis.host, "127.0.0.1");
	assert_int_equal(c->redis.port, 6390);
	conf_unref(c);
	c = load_ok("redis { server = \"[::1]:7000\" }\n");
	assert_string_equal(c->redis.host, "::1");
	conf_unref(c);
	c = load_ok("redis { server = \"unix:/run/redis/redis.sock\" }\n");
	assert_int_equal(c->redis.port, 0);
	assert_string_equal(c->redis.path, "/run/redis/redis.sock");
	conf_unref(c);
	/* A name that does not resolve: the line of server. */
	c = conf_load_buf("\nredis {\n    database = 1\n    server = \"nohost.invalid:6379\"\n}\n",
			  "t.conf", err, sizeof(err));
	assert_null(c);
	assert_string_contains(err, "t.conf:4: server \"nohost.invalid:6379\": cannot resolve"
			       " nohost.invalid: ");
	/* A socket path that does not fit sun_path. */
	{
		char	buf[300], want[300], path[120];

		memset(path, 'p', 110);
		path[0] = '/';
		path[110] = 0;
		snprintf(buf, sizeof(buf), "redis {\n    server = \"unix:%s\"\n}\n", path);
		snprintf(want, sizeof(want), "t.conf:2: server \"unix:%s\": socket path longer"
			 " than 107 bytes", path);
		refuse(buf, want);
	}
}

/* Refused with password_file at line 3 of t.conf naming path. */
static void
password_refused(const char *path, const char *why)
{
	char	buf[600], want[600];

	snprintf(buf, sizeof(buf), "redis {\n    database = 1\n    password_file = \"%s\"\n}\n",
		 path);
	snprintf(want, sizeof(want), "t.conf:3: password_file %s: %s", path, why);
	refuse(buf, want);
}

/*
 * The password file is read by the load (issue 9): its contents are part
 * of the configuration, so a reload that cannot read it fails as a whole.
 */
static void
test_password_file(void **state)
{
	char	path[128], conf[128], buf[1024], err[512], want[600];
	struct rg_conf *c;

	(void) state;
	tmp_make();
	snprintf(path, sizeof(path), "%s/redis.pw", tmpdir);
	snprintf(buf, sizeof(buf), "redis { password_file = \"%s\" }\n", path);
	/* "password" */
	write_file(path, "  only-a-password \r\n");
	c = load_ok(buf);
	assert_string_equal(c->redis.auth_user, "");
	assert_string_equal(c->redis.auth_pass, "only-a-password");
	conf_unref(c);
	/* "user password"; only the first line counts */
	write_file(path, "relay\t s3cret\nsecond line\n");
	c = load_ok(buf);
	assert_string_equal(c->redis.auth_user, "relay");
	assert_string_equal(c->redis.auth_pass, "s3cret");
	conf_unref(c);
	/* no final newline */
	write_file(path, "alice pw");
	c = load_ok(buf);
	assert_string_equal(c->redis.auth_user, "alice");
	assert_string_equal(c->redis.auth_pass, "pw");
	conf_unref(c);
	/* refusals name the line of password_file */
	write_file(path, "");
	password_refused(path, "empty");
	write_file(path, " \t \n");
	password_refused(path, "no password");
	{
		char	line[800];

		memset(line, 'x', 750);
		line[750] = 0;
		write_file(path, line);
		password_refused(path, "line too long");
		memset(line, 'x', 600);
		strcpy(line + 600, "\n");
		write_file(path, line);
		password_refused(path, "password too long");
		memset(line, 'u', 200);
		strcpy(line + 200, " pw\n");
		write_file(path, line);
		password_refused(path, "user name too long");
	}
	unlink(path);
	password_refused(path, "No such file or directory");
	password_refused(tmpdir, "not a regular file");
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	password_refused(path, "not a regular file");	/* and no hang */
	unlink(path);
	if (geteuid() != 0) {
		/* root reads anything: the unreadable case is t-redis-auth.sh's */
		snprintf(path, sizeof(path), "%s/redis.pw", tmpdir);
		write_file(path, "pw\n");
		chmod(path, 0);
		password_refused(path, "Permission denied");
		unlink(path);
	}
	/* A relative path is relative to the configuration file. */
	snprintf(path, sizeof(path), "%s/rel.pw", tmpdir);
	write_file(path, "rel-pw\n");
	snprintf(conf, sizeof(conf), "%s/relayguard.conf", tmpdir);
	write_file(conf, "redis {\n    password_file = \"rel.pw\"\n}\n");
	c = conf_load(conf, err, sizeof(err));
	if (c == NULL)
		fail_msg("refused: %s", err);
	assert_string_equal(c->redis.auth_pass, "rel-pw");
	conf_unref(c);
	unlink(path);
	assert_null(conf_load(conf, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:2: password_file %s: No such file or directory", conf, path);
	assert_string_equal(err, want);
	unlink(conf);
	tmp_done();
}

/* Each load has its own generation, growing (quota_sync compares them). */
static void
test_generation(void **state)
{
	struct rg_conf *a = load_ok(""), *b = load_ok("");

	(void) state;
	assert_true(a->generation > 0);
	assert_true(b->generation > a->generation);
	conf_unref(a);
	conf_unref(b);
}

static void
test_redis_prefix(void **state)
{
	struct rg_conf *c;

	(void) state;
	refuse("redis { prefix = \"\" }\n",
	       "t.conf:1: prefix \"\": 1-64 characters without braces or spaces");
	refuse("redis { prefix = \"r{g}\" }\n",
	       "t.conf:1: prefix \"r{g}\": 1-64 characters without braces or spaces");
	refuse("redis { prefix = \"rg}\" }\n",
	       "t.conf:1: prefix \"rg}\": 1-64 characters without braces or spaces");
	refuse("redis {\n    prefix = \"r g\"\n}\n",
	       "t.conf:2: prefix \"r g\": 1-64 characters without braces or spaces");
	refuse("redis { prefix = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" }\n",
	       "t.conf:1: prefix \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":"
	       " 1-64 characters without braces or spaces");
	c = load_ok("redis { prefix = \"relayguard:prod\" }\n");
	assert_string_equal(c->redis.prefix, "relayguard:prod");
	conf_unref(c);
}

static void
listen_is(const char *v, int good)
{
	char	buf[256], want[256];
	struct rg_conf *c;

	snprintf(buf, sizeof(buf), "policyd {\n    listen = { \"inet:127.0.0.1:10040\", \"%s\" }\n}\n",
		 v);
	if (good) {
		c = load_ok(buf);
		assert_int_equal(c->nlisten, 2);
		assert_string_equal(c->listen[1], v);
		conf_unref(c);
	} else {
		snprintf(want, sizeof(want), "t.conf:2: listen \"%s\": expected inet:host:port"
			 " or unix:/path", v);
		refuse(buf, want);
	}
}

static void
test_listen(void **state)
{
	(void) state;
	listen_is("inet:127.0.0.1:10041", 1);
	listen_is("inet:[::1]:10040", 1);
	listen_is("inet:localhost:1", 1);
	listen_is("unix:/var/spool/postfix/private/relayguard", 1);
	listen_is("unix:private/relayguard", 0);
	listen_is("inet:127.0.0.1", 0);
	listen_is("inet::10040", 0);
	listen_is("inet:h:0", 0);
	listen_is("inet:h:65536", 0);
	listen_is("inet:h:1x", 0);
	listen_is("tcp:127.0.0.1:10040", 0);
	listen_is("127.0.0.1:10040", 0);
	listen_is("", 0);
	refuse("policyd {\n    listen = { \"bogus\", \"inet:127.0.0.1:10040\" }\n}\n",
	       "t.conf:2: listen \"bogus\": expected inet:host:port or unix:/path");
}

static void
test_socket_mode(void **state)
{
	struct rg_conf *c;

	(void) state;
	c = load_ok("policyd { socket_mode = \"0600\" }\n");
	assert_int_equal(c->socket_mode, 0600);
	conf_unref(c);
	c = load_ok("policyd { socket_mode = \"660\" }\n");
	assert_int_equal(c->socket_mode, 0660);
	conf_unref(c);
	refuse("policyd { socket_mode = \"0888\" }\n",
	       "t.conf:1: socket_mode \"0888\": expected an octal mode such as 0660");
	refuse("policyd { socket_mode = \"06660\" }\n",
	       "t.conf:1: socket_mode \"06660\": expected an octal mode such as 0660");
	refuse("policyd { socket_mode = \"rw\" }\n",
	       "t.conf:1: socket_mode \"rw\": expected an octal mode such as 0660");
	refuse("policyd {\n    socket_mode = \"\"\n}\n",
	       "t.conf:2: socket_mode \"\": expected an octal mode such as 0660");
}

static void
test_milter_socket(void **state)
{
	struct rg_conf *c;

	(void) state;
	c = load_ok("milter { socket = \"inet6:8891@[::1]\" }\n");
	assert_string_equal(c->milter_socket, "inet6:8891@[::1]");
	conf_unref(c);
	c = load_ok("milter { socket = \"local:/run/milter.sock\" }\n");
	conf_unref(c);
	refuse("milter { socket = \"inet:8891\" }\n",
	       "t.conf:1: socket \"inet:8891\": expected inet:port@host, inet6:port@host or unix:/path");
	refuse("milter { socket = \"inet:@127.0.0.1\" }\n",
	       "t.conf:1: socket \"inet:@127.0.0.1\": expected inet:port@host, inet6:port@host"
	       " or unix:/path");
}

/* --- limits ------------------------------------------------------ */

static struct rg_conf *
limits_conf(long licenses, const char *billing, const char *limits)
{
	char	buf[1024];

	snprintf(buf, sizeof(buf),
		 "customer \"a\" {\n"
		 "    domains  = { \"a.example\" }\n"
		 "    licenses = %ld\n"
		 "    billing  = \"%s\"\n"
		 "    limits { %s }\n"
		 "    relay \"r\" { require_smtp_auth = true }\n"
		 "}\n", licenses, billing, limits);
	return (load_ok(buf));
}

static void
limits_are(long licenses, const char *billing, const char *limits, long umsg, long urcpt,
	   long cday, long c10)
{
	struct rg_conf *c = limits_conf(licenses, billing, limits);
	const struct rg_limits *l = &c->customers[0].limits;

	assert_int_equal(l->user_messages_per_day, umsg);
	assert_int_equal(l->user_recipients_per_day, urcpt);
	assert_int_equal(l->customer_recipients_per_day, cday);
	assert_int_equal(l->customer_recipients_per_10min, c10);
	conf_unref(c);
}

static void
test_limits_derived(void **state)
{
	(void) state;
	/* Paid: 130 x licenses (max 4,600,000 for the customer), 9 x (max 319,444). */
	limits_are(1, "paid", "", 10000, 130, 130, 9);
	limits_are(250, "paid", "", 10000, 32500, 32500, 2250);
	limits_are(35384, "paid", "", 10000, 4599920, 4599920, 318456);
	limits_are(35385, "paid", "", 10000, 4600050, 4600000, 318465);
	limits_are(35493, "paid", "", 10000, 4614090, 4600000, 319437);
	limits_are(35494, "paid", "", 10000, 4614220, 4600000, 319444);
	limits_are(40000, "paid", "", 10000, 5200000, 4600000, 319444);
	limits_are(100000000, "paid", "", 10000, 13000000000L, 4600000, 319444);
	/* Unpaid and trial: 100 a day and 50 in 10 minutes for the customer. */
	limits_are(250, "unpaid", "", 10000, 32500, 100, 50);
	limits_are(250, "trial", "", 10000, 32500, 100, 50);
	limits_are(1, "trial", "", 10000, 130, 100, 50);
}

static void
test_limits_override(void **state)
{
	(void) state;
	limits_are(250, "paid", "user_messages_per_day = 5", 5, 32500, 32500, 2250);
	limits_are(250, "paid", "user_recipients_per_day = 7", 10000, 7, 32500, 2250);
	limits_are(250, "trial", "customer_recipients_per_day = 1000", 10000, 32500, 1000, 50);
	limits_are(250, "unpaid", "customer_recipients_per_10min = 0", 10000, 32500, 100, 0);
	limits_are(40000, "paid", "customer_recipients_per_day = 9000000"
		   " customer_recipients_per_10min = 400000", 10000, 5200000, 9000000, 400000);
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\" }\n"
	       "    licenses = 1\n"
	       "    limits {\n"
	       "        user_messages_per_day = -1\n"
	       "    }\n"
	       "}\n", "t.conf:5: user_messages_per_day: -1 is out of range (0..1000000000)");
	refuse("customer \"a\" {\n"
	       "    domains  = { \"a.example\" }\n"
	       "    licenses = 1\n"
	       "    limits { customer_recipients_per_day = 1000000001 }\n"
	       "}\n", "t.conf:4: customer_recipients_per_day: 1000000001 is out of range"
	       " (0..1000000000)");
}

/*
 * Range texts shorter than 8 characters ("1.2.3.4", "::1").  Kept last:
 * libcidr's cidr_from_str() reads before the start of such a string
 * (strcasecmp(addr + alen - 8, ".ip6.int")), which aborts an ASan build.
 */
static void
test_short_range_text(void **state)
{
	(void) state;
	range_loads("1.2.3.4");
	range_loads("::1");
	range_loads("1::/112");
}


/* A config of n customers; customer "bad" (when >= 0) gets a broken range. */
static char *
big_config(int n, int bad, const char *extra_at_end)
{
	size_t	cap = (size_t) n * 200 + 4096, len = 0;
	char   *buf = malloc(cap);
	int	i;

	len += (size_t) snprintf(buf + len, cap - len, "user = \"\"\nquotas = false\n");
	for (i = 0; i < n; i++) {
		len += (size_t) snprintf(buf + len, cap - len,
			"customer \"c%d\" {\n  domains = { \"c%d.example\" }\n  licenses = 5\n"
			"  relay \"r\" { ip \"n\" { range = \"%s10.%d.%d.0/24\" } }\n}\n",
			i, i, i == bad ? "x" : "", i / 256, i % 256);
		if (i == n / 2)		/* a global option among the customers */
			len += (size_t) snprintf(buf + len, cap - len, "redis { prefix = \"mid\" }\n");
	}
	if (extra_at_end)
		snprintf(buf + len, cap - len, "%s", extra_at_end);
	return (buf);
}

/*
 * Past 512 customers the file is parsed in batches (libconfuse's title
 * check is quadratic): the result and every line number must be the same.
 */
static void
test_many_customers_batched(void **state)
{
	char	err[512], want[128], *text;
	struct rg_conf *c;
	rg_ip	a;

	(void) state;
	text = big_config(1500, -1, NULL);
	c = conf_load_buf(text, "t.conf", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->ncustomers, 1500);
	assert_string_equal(c->customers[1499].name, "c1499");
	assert_string_equal(c->redis.prefix, "mid");
	assert_ptr_equal(conf_customer_by_domain(c, "mx.c1234.example", NULL), &c->customers[1234]);
	assert_int_equal(ip_parse("10.5.7.9", &a), 0);
	assert_ptr_equal(conf_customer_by_ip(c, a), &c->customers[5 * 256 + 7]);
	conf_unref(c);
	free(text);
	/* Customer 1200 starts at line 3 + 5 * 1200 + 1 (the redis line after
	 * customer 750); its range is the 4th line of the block. */
	text = big_config(1500, 1200, NULL);
	refuse(text, "t.conf:6007: invalid IP address \"x10.4.176.0\"");
	free(text);
	/* A name used again in a later batch. */
	text = big_config(1500, -1, "customer \"c7\" {\n  domains = { \"other.example\" }\n  licenses = 1\n}\n");
	snprintf(want, sizeof(want), "t.conf:%d: found duplicate title 'c7'", 2 + 5 * 1500 + 1 + 2);
	refuse(text, want);
	free(text);
	/* Cut short inside the last customer. */
	text = big_config(1500, -1, "customer \"cut\" {\n  domains = { \"cut.example\" }\n");
	refuse_any(text);
	free(text);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits_64bit),
		cmocka_unit_test(test_lines_after_comments),
		cmocka_unit_test(test_sample_config),
		cmocka_unit_test(test_full_fixture),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_ref_unref),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_bad_types),
		cmocka_unit_test(test_unknown_words),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_truncated_file),
		cmocka_unit_test(test_many_customers_batched),
		cmocka_unit_test(test_relay_without_method),
		cmocka_unit_test(test_range_syntax),
		cmocka_unit_test(test_range_cap),
		cmocka_unit_test(test_overlap_two_customers),
		cmocka_unit_test(test_overlap_many),
		cmocka_unit_test(test_overlap_one_customer),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_licenses),
		cmocka_unit_test(test_customer_names),
		cmocka_unit_test(test_users_inline),
		cmocka_unit_test(test_users_file),
		cmocka_unit_test(test_conf_load_file),
		cmocka_unit_test(test_redis_server),
		cmocka_unit_test(test_redis_resolve),
		cmocka_unit_test(test_password_file),
		cmocka_unit_test(test_generation),
		cmocka_unit_test(test_redis_prefix),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_socket_mode),
		cmocka_unit_test(test_milter_socket),
		cmocka_unit_test(test_limits_derived),
		cmocka_unit_test(test_limits_override),
		/* Last: aborts under ASan (libcidr bug, see there). */
		cmocka_unit_test(test_short_range_text),
	};

	(void) argc;
	/* Paths are relative to the source tree: build/unit(-asan)/X -> ../.. */
	if (access(FIX "full.conf", R_OK) != 0) {
		char	self[4096];

		snprintf(self, sizeof(self), "%s", argv[0]);
		if (chdir(dirname(self)) != 0 || chdir("../..") != 0
		    || access(FIX "full.conf", R_OK) != 0) {
			fprintf(stderr, "test_conf: run from the top of the source tree\n");
			return (1);
		}
	}
	log_open("test_conf", 1, NULL);		/* config warnings on stderr */
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
