/*
 * test_addr - unit tests for common/addr.c (envelope address parsing)
 *
 * Each case states the canonical text (local part's case kept, domain
 * lowercased), the lookup key (all lowercase) and the domain, or the
 * refusal.  The key and domain decide which customer and which user an
 * address belongs to, so these are security properties, not cosmetics.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include "unit.h"

#include "addr.h"

/* Parse in and check all three outputs. */
static void
ok(const char *in, const char *text, const char *key, const char *domain)
{
	struct rg_addr a;
	const char *why = NULL;

	if (addr_parse(in, &a, &why) != 0)
		fail_msg("addr_parse(\"%s\") refused: %s", in, why ? why : "?");
	assert_string_equal(a.text, text);
	assert_string_equal(a.key, key);
	assert_string_equal(a.domain, domain);
	assert_int_equal(a.null, 0);
	/* The domain is the part of the key after its last '@'. */
	if (*domain) {
		assert_true(a.domain > a.key && a.domain < a.key + sizeof(a.key));
		assert_int_equal(a.domain[-1], '@');
	}
}

/* Parse in and expect a refusal with a reason. */
static void
bad(const char *in)
{
	struct rg_addr a;
	const char *why = NULL;

	if (addr_parse(in, &a, &why) == 0)
		fail_msg("addr_parse(\"%s\") accepted: text \"%s\"", in, a.text);
	assert_non_null(why);
	assert_true(*why != 0);
}

static void
test_case_folding(void **state)
{
	(void) state;
	ok("Alice@Acme.Example", "Alice@acme.example", "alice@acme.example", "acme.example");
	ok("ALICE@ACME.EXAMPLE", "ALICE@acme.example", "alice@acme.example", "acme.example");
	ok("alice@acme.example", "alice@acme.example", "alice@acme.example", "acme.example");
	ok("J.Doe+Tag@Mail.Acme.Example", "J.Doe+Tag@mail.acme.example",
	   "j.doe+tag@mail.acme.example", "mail.acme.example");
}

static void
test_brackets(void **state)
{
	(void) state;
	ok("<Alice@Acme.Example>", "Alice@acme.example", "alice@acme.example", "acme.example");
	ok("  <bob@acme.example>  ", "bob@acme.example", "bob@acme.example", "acme.example");
	ok("\tbob@acme.example\t", "bob@acme.example", "bob@acme.example", "acme.example");
	bad("<bob@acme.example");
	bad("<");
	bad("bob@acme.example>");
	bad("<<bob@acme.example>>");
}

static void
test_null_sender(void **state)
{
	struct rg_addr a;
	const char *why = NULL;

	(void) state;
	assert_int_equal(addr_parse("", &a, &why), 0);
	assert_int_equal(a.null, 1);
	assert_string_equal(a.text, "");
	assert_string_equal(a.key, "");
	assert_string_equal(a.domain, "");
	assert_int_equal(addr_parse("<>", &a, &why), 0);
	assert_int_equal(a.null, 1);
	assert_string_equal(a.text, "");
	assert_string_equal(a.domain, "");
	assert_int_equal(addr_parse("  <>  ", &a, &why), 0);
	assert_int_equal(a.null, 1);
	/* Not null: something inside the brackets. */
	bad("< >");
	bad("<<>>");
}

static void
test_quoted_local(void **state)
{
	(void) state;
	/* Quotes that are not needed are dropped: one user, one key. */
	ok("\"john\"@x.example", "john@x.example", "john@x.example", "x.example");
	ok("\"John\"@X.Example", "John@x.example", "john@x.example", "x.example");
	ok("<\"John\"@Acme.Example>", "John@acme.example", "john@acme.example", "acme.example");
	ok("\"j.doe\"@x.example", "j.doe@x.example", "j.doe@x.example", "x.example");
	/* Quotes that are needed stay. */
	ok("\"john doe\"@x.example", "\"john doe\"@x.example", "\"john doe\"@x.example", "x.example");
	ok("\"John Doe\"@X.example", "\"John Doe\"@x.example", "\"john doe\"@x.example", "x.example");
	ok("\"a@b\"@c.example", "\"a@b\"@c.example", "\"a@b\"@c.example", "c.example");
	ok("\".a\"@x.example", "\".a\"@x.example", "\".a\"@x.example", "x.example");
	ok("\"a.\"@x.example", "\"a.\"@x.example", "\"a.\"@x.example", "x.example");
	ok("\"\"@x.example", "\"\"@x.example", "\"\"@x.example", "x.example");
	/* Escapes: \" and \\ survive, re-escaped in the canonical form. */
	ok("\"a\\\"b\"@x.example", "\"a\\\"b\"@x.example", "\"a\\\"b\"@x.example", "x.example");
	ok("\"a\\\\b\"@x.example", "\"a\\\\b\"@x.example", "\"a\\\\b\"@x.example", "x.example");
	/* An escaped plain character needs no quotes. */
	ok("\"a\\b\"@x.example", "ab@x.example", "ab@x.example", "x.example");
	bad("\"john@x.example");		/* unterminated */
	bad("\"john\\\"@x.example");		/* the escape eats the closing quote */
	bad("\"x\"y@z.example");		/* junk after the quotes */
	bad("\"x\" @z.example");
}

static void
test_source_route(void **state)
{
	(void) state;
	ok("@a.example,@b.example:User@D.Example", "User@d.example", "user@d.example", "d.example");
	ok("<@relay.example:bob@acme.example>", "bob@acme.example", "bob@acme.example",
	   "acme.example");
	bad("@relay.example");			/* route without ':' */
	bad("@relay.example:");		/* a route to nobody */
}

static void
test_trailing_dot(void **state)
{
	(void) state;
	ok("a@Acme.Example.", "a@acme.example", "a@acme.example", "acme.example");
	ok("<a@acme.example.>", "a@acme.example", "a@acme.example", "acme.example");
	bad("a@acme.example..");
	bad("a@.");
	bad("a@");
	bad("a@.acme.example");
	bad("a@acme..example");
}

/*
 * Postfix's internal form (DESIGN 3): the quotes are gone, the domain is
 * what follows the last '@', and the address is the quoted one's twin.
 */
static void
test_internal_form(void **state)
{
	(void) state;
	ok("john doe@x.example", "\"john doe\"@x.example", "\"john doe\"@x.example", "x.example");
	ok("John Doe@X.example", "\"John Doe\"@x.example", "\"john doe\"@x.example", "x.example");
	ok("a@b@c.example", "\"a@b\"@c.example", "\"a@b\"@c.example", "c.example");
	ok("<a@b.example@c.example>", "\"a@b.example\"@c.example", "\"a@b.example\"@c.example",
	   "c.example");
	ok("a(b)@x.example", "\"a(b)\"@x.example", "\"a(b)\"@x.example", "x.example");
	ok("a,b@x.example", "\"a,b\"@x.example", "\"a,b\"@x.example", "x.example");
	ok("@relay.example:a@b@c.example", "\"a@b\"@c.example", "\"a@b\"@c.example",
	   "c.example");
	/* The twin of each: the quoted form gives the same text and key. */
	ok("\"a@b\"@c.example", "\"a@b\"@c.example", "\"a@b\"@c.example", "c.example");
	ok("\"a,b\"@x.example", "\"a,b\"@x.example", "\"a,b\"@x.example", "x.example");
	/* Still refused: what no quoting makes an address. */
	bad("\"a\"@b@c");			/* junk after a closing quote */
	bad("a@b@");				/* no domain after the last '@' */
	bad("a@b@c example");			/* space in the domain */
	bad("@x.example");			/* empty local part */
}

static void
test_control_chars(void **state)
{
	(void) state;
	bad("a\x01@x.example");
	bad("a\x7f@x.example");
	bad("a@x\x01.example");
	bad("a@x.example\r");
	bad("a\n@x.example");
	bad("\"a\x01\"@x.example");
	bad("\"a\\\x01\"@x.example");		/* not even escaped */
	bad("a\tb\x01@x.example");
	bad("a@x example");
}

static void
test_overlong(void **state)
{
	char	buf[1200];
	size_t	dl;

	(void) state;
	/* 64 local + '@' + 255 domain = RG_ADDR_MAX (320): the longest allowed. */
	memset(buf, 'l', 64);
	buf[64] = '@';
	/* 255-byte domain: labels of 63 + '.' */
	memcpy(buf + 65, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.", 64);
	memcpy(buf + 129, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.", 64);
	memcpy(buf + 193, "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.", 64);
	memset(buf + 257, 'd', 63);
	buf[320] = 0;
	dl = strlen(buf + 65);
	assert_int_equal(dl, 255);
	{
		struct rg_addr a;
		const char *why;

		assert_int_equal(addr_parse(buf, &a, &why), 0);
		assert_int_equal(strlen(a.text), RG_ADDR_MAX);
	}
	/* One more byte anywhere is too long. */
	memmove(buf + 1, buf, 321);
	buf[0] = 'l';
	bad(buf);
	/* Far too long. */
	memset(buf, 'a', 1100);
	buf[1100] = 0;
	buf[500] = '@';
	bad(buf);
	memset(buf, 'a', 1100);
	bad(buf);
	/* A label over 63 bytes. */
	snprintf(buf, sizeof(buf), "a@%064d.example", 0);
	bad(buf);
	/* A quoted local part that keeps its quotes counts them too. */
	buf[0] = '"';
	memset(buf + 1, ' ', 308);
	memcpy(buf + 309, "\"@x.example", 12);	/* 320 bytes in, 320 out */
	assert_int_equal(strlen(buf), 320);
	{
		struct rg_addr a;
		const char *why;

		assert_int_equal(addr_parse(buf, &a, &why), 0);
		assert_int_equal(strlen(a.text), 320);
	}
	buf[0] = '"';
	memset(buf + 1, ' ', 309);
	memcpy(buf + 310, "\"@x.example", 12);	/* 321 */
	bad(buf);
}

static void
test_domain_literal(void **state)
{
	(void) state;
	ok("u@[192.0.2.1]", "u@[192.0.2.1]", "u@[192.0.2.1]", "[192.0.2.1]");
	ok("<u@[192.0.2.1]>", "u@[192.0.2.1]", "u@[192.0.2.1]", "[192.0.2.1]");
	bad("u@[192.0.2.1");
	bad("u@[]");
	bad("u@[x y]");
}

/*
 * RFC 5321 4.1.3: IPv6-address-literal = "IPv6:" IPv6-addr.  The parser
 * lowercases the domain before checking it, and the check only allows the
 * letters "IPv", so the tag is refused in every spelling.
 */
static void
test_domain_literal_ipv6(void **state)
{
	struct rg_addr a;
	const char *why = "";

	(void) state;
	if (addr_parse("u@[IPv6:2001:db8::1]", &a, &why) != 0)
		fail_msg("u@[IPv6:2001:db8::1] refused: %s (RFC 5321 IPv6 address literal)", why);
	assert_string_equal(a.key, "u@[ipv6:2001:db8::1]");
	assert_string_equal(a.domain, "[ipv6:2001:db8::1]");
	assert_int_equal(addr_parse("u@[ipv6:2001:db8::1]", &a, &why), 0);
}

static void
test_utf8(void **state)
{
	(void) state;
	ok("J\xc3\xbcrgen@B\xc3\xbc" "cher.Example", "J\xc3\xbcrgen@b\xc3\xbc" "cher.example",
	   "j\xc3\xbcrgen@b\xc3\xbc" "cher.example", "b\xc3\xbc" "cher.example");
	ok("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a",
	   "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a",
	   "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a",
	   "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a");
}

static void
test_no_domain(void **state)
{
	(void) state;
	/* RCPT TO:<postmaster> is legal; the domain is empty. */
	ok("postmaster", "postmaster", "postmaster", "");
	ok("<Postmaster>", "Postmaster", "postmaster", "");
	ok("\"john\"", "john", "john", "");
	bad("@");
	bad("<@>");
}

/*
 * An '@' inside a quoted local part is not the domain separator: with no
 * domain after the quotes the domain is "" (it was the tail of the
 * quoted part, "b\"").
 */
static void
test_quoted_at_without_domain(void **state)
{
	(void) state;
	ok("\"a@b\"", "\"a@b\"", "\"a@b\"", "");
	ok("<\"x@acme.example\">", "\"x@acme.example\"", "\"x@acme.example\"", "");
}

/*
 * A source route followed by an empty local part: "@x" alone is refused,
 * so "@route:@x" must be too (RFC 5321: an Atom is 1*atext); accepting it
 * yields the canonical text "@x", which does not parse again.
 */
static void
test_route_empty_local(void **state)
{
	(void) state;
	bad("@x.example");
	bad("@relay.example:@acme.example");
	bad("<@relay.example:@acme.example>");
}

static void
test_domain_is_sub(void **state)
{
	(void) state;
	assert_true(domain_is_sub("acme.example", "acme.example"));
	assert_true(domain_is_sub("mx.acme.example", "acme.example"));
	assert_true(domain_is_sub("a.b.c.acme.example", "acme.example"));
	assert_false(domain_is_sub("notacme.example", "acme.example"));
	assert_false(domain_is_sub("acme.example.evil", "acme.example"));
	assert_false(domain_is_sub("cme.example", "acme.example"));
	assert_false(domain_is_sub("example", "acme.example"));
	assert_false(domain_is_sub("acme.example", "mx.acme.example"));
	assert_false(domain_is_sub("xacme.example", "acme.example"));
	assert_false(domain_is_sub("", "acme.example"));
}

static void
test_domain_valid_canon(void **state)
{
	char	out[300];

	(void) state;
	assert_true(domain_valid("acme.example"));
	assert_true(domain_valid("x_y.example"));
	assert_true(domain_valid("localhost"));
	assert_true(domain_valid("[192.0.2.1]"));
	assert_false(domain_valid(""));
	assert_false(domain_valid("."));
	assert_false(domain_valid("a..b"));
	assert_false(domain_valid(".a"));
	assert_false(domain_valid("a."));		/* canon drops it first */
	assert_false(domain_valid("a b"));
	assert_false(domain_valid("a@b"));
	assert_false(domain_valid("[]"));
	assert_int_equal(domain_canon("Mx.Acme.Example.", out, sizeof(out)), 15);
	assert_string_equal(out, "mx.acme.example");
	assert_int_equal(domain_canon("a", out, 1), 0);	/* does not fit */
	assert_int_equal(domain_canon("ab", out, 3), 2);
	assert_string_equal(out, "ab");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_case_folding),
		cmocka_unit_test(test_brackets),
		cmocka_unit_test(test_null_sender),
		cmocka_unit_test(test_quoted_local),
		cmocka_unit_test(test_source_route),
		cmocka_unit_test(test_trailing_dot),
		cmocka_unit_test(test_internal_form),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_domain_literal),
		cmocka_unit_test(test_domain_literal_ipv6),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_no_domain),
		cmocka_unit_test(test_quoted_at_without_domain),
		cmocka_unit_test(test_route_empty_local),
		cmocka_unit_test(test_domain_is_sub),
		cmocka_unit_test(test_domain_valid_canon),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
