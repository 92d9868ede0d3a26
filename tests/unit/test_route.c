/*
 * test_route - unit tests for common/route.c and the routing parts of the
 * decision: every validation rule of DESIGN 5.1 with its exact
 * "file:line: reason", next hop and TLS policy for every flag combination
 * of 5.3 (IP literals included), the socketmap answers and their key
 * matching (case, subdomains, <>, *), an active user gateway in the relay
 * decision of 5.2 in every mode, and in quota accounting.
 *
 * Config texts are one line per string literal with the line number in
 * a comment, so an expected "t.conf:N:" can be checked by eye.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include "unit.h"

#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "quota_priv.h"
#include "relay.h"
#include "route.h"

static struct rg_conf *
load_ok(const char *text)
{
	char	err[512] = "";
	struct rg_conf *c = conf_load_buf(text, "t.conf", err, sizeof(err));

	if (c == NULL)
		fail_msg("config refused: %s\n--- config ---\n%s", err, text);
	return (c);
}

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

/* A route "r" with body (from line 2), then customer "a" with extra lines (from line 4). */
static void
route_conf(char *buf, size_t len, const char *route_body, const char *customer_extra)
{
	snprintf(buf, len,
		 "route \"r\" {\n"				/* 1 */
		 "%s\n"						/* 2 */
		 "}\n"						/* 3 */
		 "route \"plain\" { host = \"plain.example\" }\n"	/* 4 */
		 "route \"tls\" { host = \"tls.example\"  require_tls = true }\n"	/* 5 */
		 "customer \"a\" {\n"				/* 6 */
		 "    domains  = { \"a.example\" }\n"		/* 7 */
		 "    licenses = 1\n"				/* 8 */
		 "    users = { \"u@a.example\" }\n"		/* 9 */
		 "%s\n"						/* 10 */
		 "    relay \"x\" { require_smtp_auth = true }\n"
		 "}\n"
		 "customer \"b\" {\n"
		 "    domains  = { \"b.example\" }\n"
		 "    licenses = 1\n"
		 "    users = { \"w@b.example\" }\n"
		 "    relay \"x\" { require_smtp_auth = true }\n"
		 "}\n", route_body, customer_extra);
}

static void
refuse_route(const char *body, const char *extra, const char *want)
{
	char	buf[4096];

	route_conf(buf, sizeof(buf), body, extra);
	refuse(buf, want);
}

static void
test_validation(void **state)
{
	(void) state;
	refuse_route("port = 25", "", "t.conf:2: route \"r\": host is required");
	refuse_route("host = \"bad host!\"", "",
		     "t.conf:2: route \"r\": host \"bad host!\" is neither a host name nor an IP address");
	refuse_route("host = \"g.example\"  port = 0", "",
		     "t.conf:2: port: 0 is out of range (1..65535)");
	refuse_route("host = \"g.example\"  require_ca_signed = true  tls_name = \"n.example\"", "",
		     "t.conf:2: route \"r\": require_ca_signed needs require_tls = true");
	refuse_route("host = \"g.example\"  require_tls = true  validate_hostname = true", "",
		     "t.conf:2: route \"r\": validate_hostname needs require_ca_signed = true");
	refuse_route("host = \"192.0.2.1\"  mx_lookup = true", "",
		     "t.conf:2: route \"r\": an IP-literal host cannot use mx_lookup");
	refuse_route("host = \"2001:db8::1\"  require_tls = true  require_ca_signed = true"
		     "  validate_hostname = true", "",
		     "t.conf:2: route \"r\": an IP-literal host needs tls_name when certificates"
		     " are checked");
	refuse_route("host = \"g.example\"  require_tls = true  require_ca_signed = true", "",
		     "t.conf:2: route \"r\": require_ca_signed without validate_hostname needs"
		     " tls_name (Postfix checks a CA chain only together with a name)");
	refuse_route("host = \"g.example\"  tls_name = \"a b\"", "",
		     "t.conf:2: route \"r\": tls_name \"a b\" is not a host name");
	refuse_route("host = \"plain.example\"  require_tls = true", "",
		     "t.conf:4: route \"plain\": next hop [plain.example]:25 is also route \"r\"'s"
		     " (line 2), with another TLS policy");
	/* A customer's routes. */
	refuse_route("host = \"g.example\"", "    outbound_route = \"nope\"",
		     "t.conf:10: customer \"a\": outbound_route \"nope\" is not a route");
	refuse_route("host = \"g.example\"", "    outbound_tls = true  secure_route = \"nope\"",
		     "t.conf:10: customer \"a\": secure_route \"nope\" is not a route");
	refuse_route("host = \"g.example\"", "    secure_route = \"tls\"",
		     "t.conf:10: customer \"a\": secure_route needs outbound_tls = true");
	refuse_route("host = \"g.example\"", "    outbound_tls = true  secure_route = \"plain\"",
		     "t.conf:10: customer \"a\": secure_route \"plain\" must have require_tls = true");
	refuse_route("host = \"g.example\"", "    outbound_tls = true  outbound_route = \"plain\"",
		     "t.conf:10: customer \"a\": with outbound_tls, outbound_route \"plain\" must"
		     " have require_tls = true");
	/* User gateways. */
	refuse_route("host = \"g.example\"",
		     "    user_gateway \"g@p.example\" { user = \"nobody@a.example\"  route = \"r\" }",
		     "t.conf:10: user_gateway \"g@p.example\": nobody@a.example is not a registered"
		     " user of customer \"a\"");
	refuse_route("host = \"g.example\"",
		     "    user_gateway \"g@p.example\" { user = \"w@b.example\"  route = \"r\" }",
		     "t.conf:10: user_gateway \"g@p.example\": w@b.example is not a registered"
		     " user of customer \"a\"");
	refuse_route("host = \"g.example\"",
		     "    user_gateway \"g@p.example\" { user = \"u@a.example\"  route = \"nope\" }",
		     "t.conf:10: user_gateway \"g@p.example\": route \"nope\" is not a route");
	refuse_route("host = \"g.example\"",
		     "    user_gateway \"g@p.example\" { user = \"u@a.example\" }",
		     "t.conf:10: user_gateway \"g@p.example\": route is required");
	refuse_route("host = \"g.example\"",
		     "    user_gateway \"g@mx.B.example\" { user = \"u@a.example\"  route = \"r\" }",
		     "t.conf:10: user_gateway \"g@mx.B.example\": domain b.example belongs to"
		     " customer \"b\"");
	refuse_route("host = \"g.example\"",
		     "    user_gateway \"g@p.example\" { user = \"u@a.example\"  route = \"r\" }"
		     "  user_gateway \"G@P.example\" { user = \"u@a.example\"  route = \"r\" }",
		     "t.conf:10: user_gateway \"G@P.example\" is already a gateway of customer"
		     " \"a\" (line 10)");
	refuse_route("host = \"g.example\"",
		     "    user_gateway \"not an address\" { user = \"u@a.example\"  route = \"r\" }",
		     "t.conf:10: user_gateway \"not an address\": not an address");
	refuse("route \"bad name\" { host = \"g.example\" }\n",
	       "t.conf:1: route name \"bad name\": use 1-48 letters, digits, '.', '_' or '-'");
	refuse("policyd { socketmap = { \"tcp:1.2.3.4\" } }\n",
	       "t.conf:1: socketmap \"tcp:1.2.3.4\": expected inet:host:port or unix:/path");
}

struct combo {
	const char *body;
	const char *nexthop;
	const char *policy;
};

static void
test_nexthop_and_policy(void **state)
{
	static const struct combo v[] = {
		{ "host = \"GW.Example\"", "[gw.example]:25", "may" },
		{ "host = \"gw.example\"  port = 587", "[gw.example]:587", "may" },
		{ "host = \"gw.example\"  require_tls = true", "[gw.example]:25", "encrypt" },
		{ "host = \"gw.example\"  require_tls = true  require_ca_signed = true"
		  "  validate_hostname = true", "[gw.example]:25", "secure match=gw.example" },
		{ "host = \"gw.example\"  require_tls = true  require_ca_signed = true"
		  "  validate_hostname = true  tls_name = \"N.example\"", "[gw.example]:25",
		  "secure match=n.example" },
		{ "host = \"gw.example\"  require_tls = true  require_ca_signed = true"
		  "  tls_name = \"n.example\"", "[gw.example]:25", "secure match=n.example" },
		{ "host = \"gw.example\"  mx_lookup = true", "gw.example:25", "may" },
		{ "host = \"gw.example\"  mx_lookup = true  require_tls = true", "gw.example:25",
		  "encrypt" },
		{ "host = \"gw.example\"  mx_lookup = true  require_tls = true"
		  "  require_ca_signed = true  validate_hostname = true", "gw.example:25", "verify" },
		{ "host = \"gw.example\"  mx_lookup = true  require_tls = true"
		  "  require_ca_signed = true  validate_hostname = true  tls_name = \"n.example\"",
		  "gw.example:25", "verify match=n.example" },
		{ "host = \"gw.example\"  mx_lookup = true  require_tls = true"
		  "  require_ca_signed = true  tls_name = \"n.example\"", "gw.example:25",
		  "verify match=n.example" },
		{ "host = \"192.0.2.1\"  port = 2525", "[192.0.2.1]:2525", "may" },
		{ "host = \"[192.0.2.1]\"  require_tls = true", "[192.0.2.1]:25", "encrypt" },
		{ "host = \"192.0.2.1\"  require_tls = true  require_ca_signed = true"
		  "  validate_hostname = true  tls_name = \"gw.example\"", "[192.0.2.1]:25",
		  "secure match=gw.example" },
		{ "host = \"2001:DB8:0:0:0:0:0:1\"", "[ipv6:2001:db8::1]:25", "may" },
		{ "host = \"[2001:db8::1]\"  port = 587  require_tls = true", "[ipv6:2001:db8::1]:587",
		  "encrypt" },
		{ "host = \"::ffff:192.0.2.1\"  require_tls = true  require_ca_signed = true"
		  "  tls_name = \"gw.example\"", "[ipv6:::ffff:192.0.2.1]:25", "secure match=gw.example" },
	};
	char	buf[4096], val[ROUTE_VALUE_MAX];
	size_t	i;

	(void) state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct rg_conf *c;
		const struct rg_route *r;

		route_conf(buf, sizeof(buf), v[i].body, "");
		c = load_ok(buf);
		r = conf_route(c, "r");
		assert_non_null(r);
		assert_string_equal(r->nexthop, v[i].nexthop);
		assert_string_equal(r->tls_policy, v[i].policy);
		assert_int_equal(route_lookup(c, "tls", r->nexthop, strlen(r->nexthop), val,
					      sizeof(val)), ROUTE_FOUND);
		assert_string_equal(val, v[i].policy);
		conf_unref(c);
	}
}

static const char lookup_conf[] =
	"route \"gw\" { host = \"gw.example\"  port = 2525 }\n"
	"route \"sec\" { host = \"sec.example\"  require_tls = true }\n"
	"route \"p\" { host = \"p.example\"  require_tls = true }\n"
	"customer \"a\" {\n"
	"    domains = { \"a.example\" }  licenses = 1\n"
	"    users = { \"u@a.example\" }\n"
	"    outbound_route = \"gw\"\n"
	"    allow_user_gateways = true\n"
	"    user_gateway \"U.Name@Partner.example\" { user = \"u@a.example\"  route = \"p\" }\n"
	"    relay \"any\" { allowed_senders = \"any\"  ip \"lo\" { range = \"127.0.0.1\" } }\n"
	"}\n"
	"customer \"b\" {\n"
	"    domains = { \"b.example\" }  licenses = 1  users = { \"w@b.example\" }\n"
	"    outbound_tls = true  secure_route = \"sec\"\n"
	"    user_gateway \"w@q.example\" { user = \"w@b.example\"  route = \"p\" }\n"
	"    relay \"reg\" { ip \"lo\" { range = \"127.0.0.2\" } }\n"
	"}\n"
	"customer \"c\" {\n"
	"    domains = { \"c.example\" }  licenses = 1  outbound_tls = true\n"
	"    relay \"reg\" { ip \"lo\" { range = \"127.0.0.3\" } }\n"
	"}\n";

static const char *
look(const struct rg_conf *c, const char *map, const char *key)
{
	static char val[ROUTE_VALUE_MAX + 16];
	char	v[ROUTE_VALUE_MAX];

	switch (route_lookup(c, map, key, strlen(key), v, sizeof(v))) {
	case ROUTE_FOUND:
		assert_true(v[0] != 0);		/* never "OK " with nothing */
		snprintf(val, sizeof(val), "OK %s", v);
		return (val);
	case ROUTE_NOTFOUND:
		return ("NOTFOUND");
	default:
		return ("NOMAP");
	}
}

static void
test_lookups(void **state)
{
	struct rg_conf *c = load_ok(lookup_conf);

	(void) state;
	assert_string_equal(look(c, "relayhost", "u@a.example"), "OK [gw.example]:2525");
	assert_string_equal(look(c, "relayhost", "U@A.EXAMPLE"), "OK [gw.example]:2525");
	assert_string_equal(look(c, "relayhost", "x@mx.eu.a.example"), "OK [gw.example]:2525");
	assert_string_equal(look(c, "relayhost", "<u@a.example>"), "OK [gw.example]:2525");
	assert_string_equal(look(c, "relayhost", "x@a.example.org"), "NOTFOUND");
	assert_string_equal(look(c, "relayhost", "x@xa.example"), "NOTFOUND");
	assert_string_equal(look(c, "relayhost", "u.name@partner.EXAMPLE"), "OK [p.example]:25");
	assert_string_equal(look(c, "relayhost", "w@q.example"), "NOTFOUND");	/* inactive */
	assert_string_equal(look(c, "relayhost", "w@b.example"), "NOTFOUND");
	assert_string_equal(look(c, "relayhost", "<>"), "NOTFOUND");
	assert_string_equal(look(c, "relayhost", "\"<>\""), "NOTFOUND");
	assert_string_equal(look(c, "relayhost", ""), "NOTFOUND");
	assert_string_equal(look(c, "relayhost", "*"), "NOTFOUND");
	assert_string_equal(look(c, "relayhost", "a.example"), "NOTFOUND");
	assert_string_equal(look(c, "relayhost", "@a.example"), "NOTFOUND");
	assert_string_equal(look(c, "transport", "w@b.example"), "OK relayguard-tls-sec");
	assert_string_equal(look(c, "transport", "W@Sub.B.Example"), "OK relayguard-tls-sec");
	assert_string_equal(look(c, "transport", "z@c.example"), "OK relayguard-tls");
	assert_string_equal(look(c, "transport", "u@a.example"), "NOTFOUND");
	assert_string_equal(look(c, "transport", "u.name@partner.example"), "NOTFOUND");
	assert_string_equal(look(c, "transport", "*"), "NOTFOUND");
	assert_string_equal(look(c, "transport", "<>"), "NOTFOUND");
	assert_string_equal(look(c, "tls", "[gw.example]:2525"), "OK may");
	assert_string_equal(look(c, "tls", "[GW.example]:2525"), "OK may");
	assert_string_equal(look(c, "tls", "[gw.example]"), "NOTFOUND");
	assert_string_equal(look(c, "tls", "gw.example:2525"), "NOTFOUND");
	assert_string_equal(look(c, "tls", "[sec.example]:25"), "OK encrypt");
	assert_string_equal(look(c, "tls", "*"), "NOTFOUND");
	assert_string_equal(look(c, "virtual", "u@a.example"), "NOMAP");
	assert_int_equal(route_lookup(c, "relayhost", "u@a.example\0x", 13, (char[8]) { 0 }, 8),
			 ROUTE_NOTFOUND);
	conf_unref(c);
}

static void
decide(const struct rg_conf *c, const char *client, const char *from, struct rg_verdict *v)
{
	struct rg_txn t;

	memset(&t, 0, sizeof(t));
	t.queue_id = "";
	t.instance = "i";
	t.client_addr = client;
	t.helo = "h.a.example";
	t.sasl_username = "";
	t.sender = from;
	t.recipient = "r@example.net";
	relay_decide(c, &t, v);
}

static void
test_gateway_decision(void **state)
{
	struct rg_conf *c = load_ok(lookup_conf);
	struct rg_verdict v;

	(void) state;
	/* "any": an active gateway is its user, accepted and not rewritten. */
	decide(c, "127.0.0.1", "U.Name@partner.example", &v);
	assert_int_equal(v.code, 0);
	assert_string_equal(v.rewrite, "");
	assert_non_null(v.user);
	assert_string_equal(v.user->address, "u@a.example");
	assert_string_contains(v.reason, "user gateway of u@a.example");
	/* A foreign sender next to it still is rewritten. */
	decide(c, "127.0.0.1", "other@partner.example", &v);
	assert_int_equal(v.code, 0);
	assert_string_equal(v.rewrite, "postmaster@a.example");
	/* registered_users: an inactive gateway is a foreign address. */
	decide(c, "127.0.0.2", "w@q.example", &v);
	assert_int_equal(v.cls, RG_SENDING_DENIED);
	/* Another customer's active gateway is foreign here. */
	decide(c, "127.0.0.2", "u.name@partner.example", &v);
	assert_int_equal(v.cls, RG_SENDING_DENIED);
	conf_unref(c);
}

static void
test_gateway_every_mode(void **state)
{
	static const char *const modes[] = { "registered_users", "domain_addresses", "any" };
	char	buf[2048], users_file[64];
	size_t	i;
	FILE   *fp;

	(void) state;
	snprintf(users_file, sizeof(users_file), "/tmp/rg-test-route.%d", (int) getpid());
	assert_non_null(fp = fopen(users_file, "w"));
	fputs("u@a.example\nn@a.example nomail\n", fp);
	assert_int_equal(fclose(fp), 0);
	for (i = 0; i < 3; i++) {
		struct rg_conf *c;
		struct rg_verdict v;

		snprintf(buf, sizeof(buf),
			 "route \"p\" { host = \"p.example\" }\n"
			 "customer \"a\" {\n"
			 "    domains = { \"a.example\" }  licenses = 1\n"
			 "    users_file = \"%s\"\n"
			 "    allow_user_gateways = true\n"
			 "    user_gateway \"g@p.example\" { user = \"u@a.example\"  route = \"p\" }\n"
			 "    user_gateway \"n@p.example\" { user = \"n@a.example\"  route = \"p\" }\n"
			 "    relay \"r\" { allowed_senders = \"%s\"  ip \"lo\" { range = \"127.0.0.1\" } }\n"
			 "}\n", users_file, modes[i]);
		c = load_ok(buf);
		decide(c, "127.0.0.1", "<G@P.Example>", &v);
		if (v.code != 0)
			fail_msg("%s: gateway refused: %s", modes[i], v.reply);
		assert_string_equal(v.rewrite, "");
		assert_ptr_equal(v.user, conf_user(c, "u@a.example"));
		/* The user's licence check applies to its gateway. */
		decide(c, "127.0.0.1", "n@p.example", &v);
		assert_int_equal(v.cls, RG_SENDING_DENIED);
		assert_string_contains(v.reply, "no mail licence");
		/* Quota: the gateway counts toward its user. */
		assert_ptr_equal(quota_sender_user(c, "G@p.example", "a"), conf_user(c, "u@a.example"));
		assert_null(quota_sender_user(c, "G@p.example", "b"));
		conf_unref(c);
	}
	unlink(users_file);
}

static void
test_gateway_inactive_quota(void **state)
{
	struct rg_conf *c = load_ok(lookup_conf);

	(void) state;
	assert_null(quota_sender_user(c, "w@q.example", "b"));
	assert_non_null(quota_sender_user(c, "w@b.example", "b"));
	assert_null(conf_gateway_active(c, "w@q.example"));
	assert_non_null(conf_gateway(c, "w@q.example"));
	assert_non_null(conf_gateway_active(c, "<U.NAME@partner.example>"));
	conf_unref(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_nexthop_and_policy),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_gateway_decision),
		cmocka_unit_test(test_gateway_every_mode),
		cmocka_unit_test(test_gateway_inactive_quota),
	};

	log_open("test_route", 1, NULL);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
