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

#include "conf_fixture.h"

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
	free(text);	/* 500 batches of 3: the same result, the same line numbers. */
	conf_set_batch(3);
	text = big_config(1500, -1, NULL);
	c = conf_load_buf(text, "t.conf", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->ncustomers, 1500);
	assert_string_equal(c->customers[1499].name, "c1499");
	assert_ptr_equal(conf_customer_by_domain(c, "mx.c1234.example", NULL), &c->customers[1234]);
	assert_ptr_equal(conf_customer_by_ip(c, a), &c->customers[5 * 256 + 7]);
	conf_unref(c);
	free(text);
	text = big_config(1500, 1200, NULL);
	refuse(text, "t.conf:6007: invalid IP address \"x10.4.176.0\"");
	free(text);
	conf_set_batch(512);
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
		cmocka_unit_test(test_many_customers_batched),
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
	if (fixture_chdir(argv[0], "test_conf") < 0)
		return (1);
	log_open("test_conf", 1, NULL);		/* config warnings on stderr */
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
