/*
 * test_conf_errors - unit tests for the configuration's refusals: unknown
 * options and words, bad types, syntax, files cut short, relay settings
 * without a method, ranges (syntax, the 65,536 cap, overlaps), domains,
 * licenses, customer names, users inline and in users_file.  Each
 * refusal is checked with its exact "file:line: reason".
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include "unit.h"

#include "conf_fixture.h"

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

/*
 * A file of many customers is parsed in batches; every line number in an
 * error is still the file's, whichever batch it falls in and whoever
 * finds it (libconfuse, a validator, the build).
 */
static void
batch_refused(const char *bad, const char *want)
{
	char	buf[4096];
	size_t	n = 0;
	int	i;

	for (i = 0; i < 7; i++)				/* lines 4i+1 .. 4i+4 */
		n += (size_t) snprintf(buf + n, sizeof(buf) - n,
				       "customer \"c%d\" {\n    domains = { \"c%d.example\" }\n"
				       "    licenses = 1\n}\n", i, i);
	snprintf(buf + n, sizeof(buf) - n, "%s", bad);	/* from line 29 */
	refuse(buf, want);
}

static void
test_batch_lines(void **state)
{
	(void) state;
	conf_set_batch(2);
	batch_refused("customer \"x\" {\n    domains = { \"x.example\" }\n"
		      "    licenses = -1\n}\n", "t.conf:31: licenses: -1 is out of range (1..100000000)");
	batch_refused("customer \"x\" {\n    domains = { \"x.example\" }\n"
		      "    licenses = 1\n    bogus = 1\n}\n",
		      "t.conf:32: no such option 'bogus'");
	batch_refused("customer \"x\" {\n    licenses = 1\n}\n",
		      "t.conf:31: customer \"x\": domains is required");
	batch_refused("customer \"x\" {\n    domains = { \"c1.example\" }\n"
		      "    licenses = 1\n}\n", "t.conf:30: domain c1.example of customer \"x\""
		      " already belongs to customer \"c1\" (line 6)");
	conf_set_batch(512);
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

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_bad_types),
		cmocka_unit_test(test_unknown_words),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_truncated_file),
		cmocka_unit_test(test_relay_without_method),
		cmocka_unit_test(test_range_syntax),
		cmocka_unit_test(test_range_cap),
		cmocka_unit_test(test_overlap_two_customers),
		cmocka_unit_test(test_overlap_many),
		cmocka_unit_test(test_overlap_one_customer),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_licenses),
		cmocka_unit_test(test_batch_lines),
		cmocka_unit_test(test_customer_names),
		cmocka_unit_test(test_users_inline),
		cmocka_unit_test(test_users_file),
	};

	(void) argc;
	if (fixture_chdir(argv[0], "test_conf_errors") < 0)
		return (1);
	log_open("test_conf_errors", 1, NULL);	/* config warnings on stderr */
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
