/*
 * test_relay - unit tests for common/relay.c: the decision table of
 * DESIGN 3.1-3.3 with each exact reply text and class, relay_refuse()
 * and the log line.
 *
 * The configuration is tests/unit/fixtures/relay.conf (customers acme,
 * globex, initech); read it next to these tests.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include "unit.h"

#include <libgen.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "relay.h"

#define FIX	"tests/unit/fixtures/"

static struct rg_conf *conf;

/* The facts of one RCPT; unset fields read as a plain, unauthenticated client. */
struct facts {
	const char *client;
	const char *helo;
	const char *sasl;
	int	tls;
	const char *from;
	const char *to;
	unsigned nrcpt;
};

static struct rg_txn
txn(const struct facts *f)
{
	struct rg_txn t;

	memset(&t, 0, sizeof(t));
	t.queue_id = "";
	t.instance = "1a2b.3c4d.5e6f.0";
	t.client_addr = f->client;
	t.helo = f->helo ? f->helo : "";
	t.sasl_username = f->sasl ? f->sasl : "";
	t.tls = f->tls;
	t.sender = f->from ? f->from : "";
	t.recipient = f->to ? f->to : "someone@example.net";
	t.nrcpt = f->nrcpt;
	return (t);
}

static void
decide(const struct facts *f, struct rg_verdict *v)
{
	struct rg_txn t = txn(f);

	memset(v, 0x5a, sizeof(*v));		/* relay_decide must set everything it reports */
	relay_decide(conf, &t, v);
	assert_true(strchr(v->reply, '\r') == NULL && strchr(v->reply, '\n') == NULL);
}

/* Relay permitted for customer/setting, with the given rewrite ("" = none). */
static void
accepted(const struct facts *f, const char *customer, const char *setting,
	 const char *rewrite)
{
	struct rg_verdict v;

	decide(f, &v);
	if (v.code != 0)
		fail_msg("refused \"%s\" (reason: %s); expected accept by %s/%s", v.reply,
			 v.reason, customer, setting);
	assert_int_equal(v.cls, RG_ACCEPT);
	assert_string_equal(v.reply, "");
	assert_non_null(v.customer);
	assert_string_equal(v.customer->name, customer);
	assert_non_null(v.setting);
	assert_string_equal(v.setting->name, setting);
	assert_ptr_equal(v.setting->customer, v.customer);
	assert_string_equal(v.rewrite, rewrite);
}

/* Refused with this class and exactly this reply; customer NULL = none found. */
static void
refused(const struct facts *f, enum rg_class cls, const char *reply, const char *customer)
{
	struct rg_verdict v;

	decide(f, &v);
	if (v.code == 0)
		fail_msg("accepted by %s/%s; expected \"%s\"",
			 v.customer ? v.customer->name : "-", v.setting ? v.setting->name : "-",
			 reply);
	if (strcmp(v.reply, reply) != 0)
		fail_msg("reply \"%s\"\n  expected \"%s\"", v.reply, reply);
	assert_int_equal(v.cls, cls);
	assert_int_equal(v.code, atoi(reply));
	assert_string_equal(v.rewrite, "");
	assert_true(v.reason[0] != 0);			/* every refusal says why in the log */
	if (customer == NULL) {
		assert_null(v.customer);
	} else {
		assert_non_null(v.customer);
		assert_string_equal(v.customer->name, customer);
	}
}

#define DENIED(ip, domains) \
	"550 5.7.0 Mail relay denied [" ip "]. Invalid credentials for relay for one of the" \
	" domains in: " domains " (as obtained from HELO and MAIL FROM)."
#define INVALID(ip)	"550 5.7.1 Invalid credentials for relay [" ip "]."
#define AUTH_REQUIRED	"530 5.5.1 Authentication Required."
#define STARTTLS	"530 5.7.0 Must issue a STARTTLS command first."
#define SENDING_DENIED	"550 5.7.0 Mail sending denied."
#define TOO_MANY	"452 4.5.3 Your message has too many recipients."
#define NOT_REGISTERED	SENDING_DENIED " The sender is not a registered user."
#define NO_LICENCE	SENDING_DENIED " The sender has no mail licence."
#define FOREIGN_DOMAIN	" The sender's domain is not a domain of this organisation."

/* --- 3.1 which customer ------------------------------------------ */

static void
test_no_customer(void **state)
{
	(void) state;
	refused(&(struct facts) { .client = "8.8.8.8", .helo = "mail.example.org",
		.from = "joe@example.net" }, RG_RELAY_DENIED,
		DENIED("8.8.8.8", "mail.example.org, example.net"), NULL);
	/* The HELO name and the sender domain as sent, case-folded, once each. */
	refused(&(struct facts) { .client = "8.8.8.8", .helo = "Example.NET",
		.from = "Joe@Example.Net" }, RG_RELAY_DENIED,
		DENIED("8.8.8.8", "example.net"), NULL);
	refused(&(struct facts) { .client = "2001:db8:ffff::1", .helo = "mx.example.org",
		.from = "<joe@example.net>" }, RG_RELAY_DENIED,
		DENIED("2001:db8:ffff::1", "mx.example.org, example.net"), NULL);
	/* A customer's domain in HELO or MAIL FROM does not make the customer. */
	refused(&(struct facts) { .client = "8.8.8.8", .helo = "mx.acme.example",
		.from = "alice@acme.example" }, RG_RELAY_DENIED,
		DENIED("8.8.8.8", "mx.acme.example, acme.example"), NULL);
	/* SASL user unknown to every customer, from a foreign address. */
	refused(&(struct facts) { .client = "8.8.8.8", .helo = "laptop.example.org",
		.sasl = "alice@example.org", .tls = 1, .from = "alice@example.org" },
		RG_RELAY_DENIED, DENIED("8.8.8.8", "laptop.example.org, example.org"), NULL);
	/* An address that is no address. */
	refused(&(struct facts) { .client = "unknown", .helo = "h.example.org",
		.from = "joe@example.net" }, RG_RELAY_DENIED,
		DENIED("unknown", "h.example.org, example.net"), NULL);
}

/* Disabled ranges match nobody, and nothing just outside a range matches. */
static void
test_disabled_and_bounds(void **state)
{
	(void) state;
	refused(&(struct facts) { .client = "198.18.0.5", .helo = "old.acme.example",
		.from = "x@acme.example" }, RG_RELAY_DENIED,
		DENIED("198.18.0.5", "old.acme.example, acme.example"), NULL);
	accepted(&(struct facts) { .client = "192.0.2.0", .from = "x@acme.example" },
		 "acme", "printers", "");
	accepted(&(struct facts) { .client = "192.0.2.255", .from = "x@acme.example" },
		 "acme", "printers", "");
	refused(&(struct facts) { .client = "192.0.3.0", .helo = "p.acme.example",
		.from = "x@acme.example" }, RG_RELAY_DENIED,
		DENIED("192.0.3.0", "p.acme.example, acme.example"), NULL);
	refused(&(struct facts) { .client = "198.51.100.11", .helo = "a.acme.example",
		.from = "x@acme.example" }, RG_RELAY_DENIED,
		DENIED("198.51.100.11", "a.acme.example, acme.example"), NULL);
}

static void
test_ipv6_clients(void **state)
{
	(void) state;
	accepted(&(struct facts) { .client = "2001:db8:1::5", .from = "lab@acme.example" },
		 "acme", "printers", "");
	accepted(&(struct facts) { .client = "2001:db8:1::ffff", .from = "lab@acme.example" },
		 "acme", "printers", "");
	accepted(&(struct facts) { .client = "2001:0db8:0001:0000:0000:0000:0000:0005",
		.from = "lab@acme.example" }, "acme", "printers", "");
	accepted(&(struct facts) { .client = "IPv6:2001:db8:1::5", .from = "lab@acme.example" },
		 "acme", "printers", "");
	/* The IPv4 client written as IPv4-mapped IPv6. */
	accepted(&(struct facts) { .client = "::ffff:192.0.2.5", .from = "p@acme.example" },
		 "acme", "printers", "");
	refused(&(struct facts) { .client = "2001:db8:1::1:0", .helo = "lab.acme.example",
		.from = "lab@acme.example" }, RG_RELAY_DENIED,
		DENIED("2001:db8:1::1:0", "lab.acme.example, acme.example"), NULL);
	refused(&(struct facts) { .client = "2001:db8:1::5", .from = "x@vendor.example" },
		RG_INVALID_CREDENTIALS, INVALID("2001:db8:1::5") FOREIGN_DOMAIN, "acme");
}

/* A registered SASL user belongs to its customer, whatever the client address. */
static void
test_sasl_user_customer(void **state)
{
	(void) state;
	accepted(&(struct facts) { .client = "8.8.8.8", .helo = "laptop.home",
		.sasl = "alice@acme.example", .tls = 1, .from = "alice@acme.example" },
		 "acme", "roaming", "");
	/* SASL names are matched case-insensitively. */
	accepted(&(struct facts) { .client = "8.8.8.8", .sasl = "ALICE@Acme.Example",
		.tls = 1, .from = "alice@acme.example" }, "acme", "roaming", "");
	/* Even from inside another customer's range: the SASL user decides. */
	accepted(&(struct facts) { .client = "203.0.113.5", .sasl = "alice@acme.example",
		.tls = 1, .from = "alice@acme.example" }, "acme", "roaming", "");
	/* hank (globex) from acme's printers: globex has no setting for that address. */
	refused(&(struct facts) { .client = "192.0.2.5", .sasl = "hank@globex.example",
		.tls = 1, .from = "hank@globex.example" }, RG_INVALID_CREDENTIALS,
		INVALID("192.0.2.5"), "globex");
	refused(&(struct facts) { .client = "8.8.8.8", .sasl = "peter@initech.example",
		.tls = 1, .from = "peter@initech.example" }, RG_INVALID_CREDENTIALS,
		INVALID("8.8.8.8"), "initech");
	/* A nomail user still authenticates (registered), the sender rule refuses. */
	refused(&(struct facts) { .client = "8.8.8.8", .sasl = "dave@acme.example",
		.tls = 1, .from = "dave@acme.example" }, RG_SENDING_DENIED, NO_LICENCE, "acme");
}

/* --- 3.1 which setting ------------------------------------------- */

static void
test_setting_order(void **state)
{
	(void) state;
	/* printers (1st) and roaming (3rd) both hold: the first wins. */
	accepted(&(struct facts) { .client = "192.0.2.5", .sasl = "alice@acme.example",
		.tls = 1, .from = "alice@acme.example" }, "acme", "printers", "");
	/* roaming (3rd) holds before app (4th): its rule refuses a foreign sender,
	 * even though app alone would have accepted it. */
	refused(&(struct facts) { .client = "198.51.100.10", .helo = "app.acme.example",
		.sasl = "alice@acme.example", .tls = 1, .from = "x@vendor.example" },
		RG_SENDING_DENIED, NOT_REGISTERED, "acme");
	accepted(&(struct facts) { .client = "198.51.100.10", .helo = "app.acme.example",
		.from = "x@vendor.example" }, "acme", "app", "postmaster@acme.example");
	/* lab (6th) holds after the AUTH-only settings that would need AUTH. */
	accepted(&(struct facts) { .client = "198.51.100.70", .from = "alice@acme.example" },
		 "acme", "lab", "");
	refused(&(struct facts) { .client = "198.51.100.70", .from = "mallory@acme.example" },
		RG_SENDING_DENIED, NOT_REGISTERED, "acme");
}

static void
test_auth_required(void **state)
{
	(void) state;
	/* secure-app needs IP and AUTH: in the range without AUTH. */
	refused(&(struct facts) { .client = "198.51.100.30", .helo = "s.acme.example",
		.tls = 1, .from = "x@vendor.example" }, RG_AUTH_REQUIRED, AUTH_REQUIRED, "acme");
	refused(&(struct facts) { .client = "203.0.113.70", .helo = "hq.initech.example",
		.from = "peter@initech.example" }, RG_AUTH_REQUIRED, AUTH_REQUIRED, "initech");
	refused(&(struct facts) { .client = "203.0.113.70", .tls = 1,
		.from = "peter@initech.example" }, RG_AUTH_REQUIRED, AUTH_REQUIRED, "initech");
	/* Authenticated, but not as a registered user: AUTH would not help. */
	refused(&(struct facts) { .client = "203.0.113.70", .sasl = "intruder@initech.example",
		.tls = 1, .from = "peter@initech.example" }, RG_INVALID_CREDENTIALS,
		INVALID("203.0.113.70"), "initech");
	/* Registered user in range: accepted. */
	accepted(&(struct facts) { .client = "203.0.113.70", .sasl = "peter@initech.example",
		.tls = 1, .from = "peter@initech.example" }, "initech", "hq", "");
}

/* --- 3.2 TLS ----------------------------------------------------- */

static void
test_tls(void **state)
{
	(void) state;
	refused(&(struct facts) { .client = "198.51.100.20", .helo = "app.acme.example",
		.from = "x@acme.example" }, RG_STARTTLS_REQUIRED, STARTTLS, "acme");
	accepted(&(struct facts) { .client = "198.51.100.20", .helo = "app.acme.example",
		.tls = 1, .from = "x@acme.example" }, "acme", "app-tls", "");
	/* require_smtp_auth implies TLS. */
	refused(&(struct facts) { .client = "8.8.8.8", .sasl = "alice@acme.example",
		.from = "alice@acme.example" }, RG_STARTTLS_REQUIRED, STARTTLS, "acme");
	refused(&(struct facts) { .client = "203.0.113.70", .sasl = "peter@initech.example",
		.from = "peter@initech.example" }, RG_STARTTLS_REQUIRED, STARTTLS, "initech");
	refused(&(struct facts) { .client = "203.0.113.5", .from = "hank@globex.example" },
		RG_STARTTLS_REQUIRED, STARTTLS, "globex");
	accepted(&(struct facts) { .client = "203.0.113.5", .tls = 1,
		.from = "hank@globex.example" }, "globex", "office", "");
	/* TLS comes before the sender rules: even a null sender is told to STARTTLS. */
	refused(&(struct facts) { .client = "198.51.100.20", .helo = "app.acme.example",
		.from = "<>" }, RG_STARTTLS_REQUIRED, STARTTLS, "acme");
}

/* --- 3.3 senders ------------------------------------------------- */

static void
test_registered_users(void **state)
{
	struct rg_verdict v;
	struct facts f = { .client = "8.8.8.8", .sasl = "alice@acme.example", .tls = 1 };

	(void) state;
	f.from = "ALICE@ACME.EXAMPLE";
	accepted(&f, "acme", "roaming", "");
	decide(&f, &v);
	assert_non_null(v.user);
	assert_string_equal(v.user->address, "alice@acme.example");
	f.from = "<Bob@acme.example>";
	accepted(&f, "acme", "roaming", "");		/* listed as Bob@Acme.Example */
	f.from = "erin@SUB.acme.example";		/* from the users file */
	accepted(&f, "acme", "roaming", "");
	f.from = "\"carol\"@acme-mail.example";
	accepted(&f, "acme", "roaming", "");
	f.from = "mallory@acme.example";
	refused(&f, RG_SENDING_DENIED, NOT_REGISTERED, "acme");
	f.from = "alice@sub.acme.example";		/* not the same user */
	refused(&f, RG_SENDING_DENIED, NOT_REGISTERED, "acme");
	f.from = "hank@globex.example";			/* registered, to another customer */
	refused(&f, RG_SENDING_DENIED, NOT_REGISTERED, "acme");
	f.from = "dave@acme.example";			/* nomail */
	refused(&f, RG_SENDING_DENIED, NO_LICENCE, "acme");
	f.from = "DAVE@Acme.Example";
	refused(&f, RG_SENDING_DENIED, NO_LICENCE, "acme");
}

static void
test_domain_addresses(void **state)
{
	struct facts f = { .client = "192.0.2.5", .helo = "printer.acme.example" };

	(void) state;
	f.from = "scanner@acme.example";
	accepted(&f, "acme", "printers", "");
	f.from = "Scanner@ACME-MAIL.example";
	accepted(&f, "acme", "printers", "");
	f.from = "x@printers.floor2.acme-mail.example";	/* subdomain */
	accepted(&f, "acme", "printers", "");
	f.from = "x@vendor.example";
	refused(&f, RG_INVALID_CREDENTIALS, INVALID("192.0.2.5") FOREIGN_DOMAIN, "acme");
	f.from = "x@notacme.example";
	refused(&f, RG_INVALID_CREDENTIALS, INVALID("192.0.2.5") FOREIGN_DOMAIN, "acme");
	f.from = "x@acme.example.evil";
	refused(&f, RG_INVALID_CREDENTIALS, INVALID("192.0.2.5") FOREIGN_DOMAIN, "acme");
	f.from = "hank@globex.example";			/* another customer's domain */
	refused(&f, RG_INVALID_CREDENTIALS, INVALID("192.0.2.5") FOREIGN_DOMAIN, "acme");
	f.from = "x@[192.0.2.5]";
	refused(&f, RG_INVALID_CREDENTIALS, INVALID("192.0.2.5") FOREIGN_DOMAIN, "acme");
	f.from = "postmaster";				/* no domain at all */
	refused(&f, RG_INVALID_CREDENTIALS, INVALID("192.0.2.5") FOREIGN_DOMAIN, "acme");
	f.from = "dave@acme.example";			/* nomail */
	refused(&f, RG_SENDING_DENIED, NO_LICENCE, "acme");
}

static void
test_any(void **state)
{
	struct facts f = { .client = "198.51.100.10", .helo = "app.acme.example" };

	(void) state;
	/* Customer domains: accepted as they are. */
	f.from = "news@acme.example";
	accepted(&f, "acme", "app", "");
	f.from = "x@deep.sub.acme-mail.example";
	accepted(&f, "acme", "app", "");
	f.from = "alice@acme.example";
	accepted(&f, "acme", "app", "");
	/* Foreign: postmaster@ the registered domain HELO equals or lies under. */
	f.from = "news@vendor.example";
	accepted(&f, "acme", "app", "postmaster@acme.example");
	f.helo = "acme-mail.example";
	accepted(&f, "acme", "app", "postmaster@acme-mail.example");
	f.helo = "x.y.acme-mail.example";
	accepted(&f, "acme", "app", "postmaster@acme-mail.example");
	f.helo = "APP.ACME.EXAMPLE.";
	accepted(&f, "acme", "app", "postmaster@acme.example");
	/* Registered elsewhere is foreign here. */
	f.helo = "app.acme.example";
	f.from = "hank@globex.example";
	accepted(&f, "acme", "app", "postmaster@acme.example");
	/* No D: neither SASL nor HELO in a domain of this customer. */
	f.from = "news@vendor.example";
	f.helo = "app.local";
	refused(&f, RG_RELAY_DENIED, DENIED("198.51.100.10", "app.local, vendor.example"), "acme");
	f.helo = "notacme.example";
	refused(&f, RG_RELAY_DENIED,
		DENIED("198.51.100.10", "notacme.example, vendor.example"), "acme");
	f.helo = "";
	refused(&f, RG_RELAY_DENIED, DENIED("198.51.100.10", "vendor.example"), "acme");
	/* HELO in ANOTHER customer's domain never gives a rewrite. */
	f.helo = "mx.globex.example";
	refused(&f, RG_RELAY_DENIED,
		DENIED("198.51.100.10", "mx.globex.example, vendor.example"), "acme");
	f.helo = "globex.example";
	refused(&f, RG_RELAY_DENIED,
		DENIED("198.51.100.10", "globex.example, vendor.example"), "acme");
	/* nomail refused in this mode too. */
	f.helo = "app.acme.example";
	f.from = "dave@acme.example";
	refused(&f, RG_SENDING_DENIED, NO_LICENCE, "acme");
}

static void
test_any_sasl_domain(void **state)
{
	struct facts f = { .client = "198.51.100.30", .helo = "app.acme.example", .tls = 1,
		.from = "news@vendor.example" };

	(void) state;
	/* SASL's domain comes before HELO's (secure-app is before roaming). */
	f.sasl = "carol@acme-mail.example";
	accepted(&f, "acme", "secure-app", "postmaster@acme-mail.example");
	f.sasl = "erin@sub.acme.example";
	accepted(&f, "acme", "secure-app", "postmaster@sub.acme.example");
	f.helo = "";
	f.sasl = "alice@acme.example";
	accepted(&f, "acme", "secure-app", "postmaster@acme.example");
	/* initech: AUTH user's domain. */
	accepted(&(struct facts) { .client = "203.0.113.70", .helo = "pc17.lan",
		.sasl = "peter@initech.example", .tls = 1, .from = "newsletter@vendor.example" },
		 "initech", "hq", "postmaster@initech.example");
}

static void
test_nomail_every_mode(void **state)
{
	(void) state;
	/* domain_addresses, registered_users (two settings), any, any+AUTH. */
	refused(&(struct facts) { .client = "192.0.2.5", .from = "dave@acme.example" },
		RG_SENDING_DENIED, NO_LICENCE, "acme");
	refused(&(struct facts) { .client = "8.8.8.8", .sasl = "alice@acme.example", .tls = 1,
		.from = "dave@acme.example" }, RG_SENDING_DENIED, NO_LICENCE, "acme");
	refused(&(struct facts) { .client = "198.51.100.70", .from = "dave@acme.example" },
		RG_SENDING_DENIED, NO_LICENCE, "acme");
	refused(&(struct facts) { .client = "198.51.100.10", .helo = "app.acme.example",
		.from = "<Dave@acme.example>" }, RG_SENDING_DENIED, NO_LICENCE, "acme");
	refused(&(struct facts) { .client = "198.51.100.30", .sasl = "alice@acme.example",
		.tls = 1, .from = "dave@acme.example" }, RG_SENDING_DENIED, NO_LICENCE, "acme");
}

static void
test_null_sender(void **state)
{
	struct facts f = { .client = "192.0.2.5", .helo = "printer.acme.example" };
	struct rg_verdict v;

	(void) state;
	/* D from HELO: allowed, instead of the mode's own check, never rewritten. */
	f.from = "";
	accepted(&f, "acme", "printers", "");
	f.from = "<>";
	accepted(&f, "acme", "printers", "");
	decide(&f, &v);
	assert_int_equal(v.from.null, 1);
	assert_null(v.user);
	f.helo = "acme-mail.example";
	accepted(&f, "acme", "printers", "");
	/* In "any" mode too: no postmaster rewrite for <>. */
	accepted(&(struct facts) { .client = "198.51.100.10", .helo = "app.acme.example",
		.from = "<>" }, "acme", "app", "");
	/* In registered_users mode: <> is no registered user, yet allowed. */
	accepted(&(struct facts) { .client = "198.51.100.70", .helo = "lab.acme.example",
		.from = "<>" }, "acme", "lab", "");
	/* D from SASL. */
	accepted(&(struct facts) { .client = "8.8.8.8", .helo = "laptop.home",
		.sasl = "alice@acme.example", .tls = 1, .from = "<>" }, "acme", "roaming", "");
	/* No D: refused with the 5.7.0 "Mail relay denied" reply. */
	refused(&(struct facts) { .client = "192.0.2.5", .helo = "printer.local", .from = "<>" },
		RG_RELAY_DENIED, DENIED("192.0.2.5", "printer.local"), "acme");
	refused(&(struct facts) { .client = "192.0.2.5", .helo = "mx.globex.example",
		.from = "" }, RG_RELAY_DENIED, DENIED("192.0.2.5", "mx.globex.example"), "acme");
	refused(&(struct facts) { .client = "198.51.100.10", .helo = "[198.51.100.10]",
		.from = "<>" }, RG_RELAY_DENIED, DENIED("198.51.100.10", "[198.51.100.10]"),
		"acme");
	/* A second and later RCPT in the same transaction. */
	f.helo = "printer.acme.example";
	f.from = "<>";
	f.nrcpt = 1;
	refused(&f, RG_TOO_MANY_RECIPIENTS, TOO_MANY, "acme");
	f.nrcpt = 7;
	refused(&f, RG_TOO_MANY_RECIPIENTS, TOO_MANY, "acme");
	refused(&(struct facts) { .client = "8.8.8.8", .helo = "laptop.home",
		.sasl = "alice@acme.example", .tls = 1, .from = "<>", .nrcpt = 1 },
		RG_TOO_MANY_RECIPIENTS, TOO_MANY, "acme");
	/* ... which does not apply to a real sender. */
	f.from = "scanner@acme.example";
	accepted(&f, "acme", "printers", "");
}

/* The no-D reply with neither HELO nor sender domain. */
static void
test_null_sender_no_helo(void **state)
{
	struct rg_verdict v;

	(void) state;
	decide(&(struct facts) { .client = "192.0.2.5", .from = "<>" }, &v);
	assert_int_equal(v.cls, RG_RELAY_DENIED);
	assert_int_equal(v.code, 550);
	{
		static const char head[] = "550 5.7.0 Mail relay denied [192.0.2.5]. Invalid"
			" credentials for relay for one of the domains in: ";

		assert_true(strncmp(v.reply, head, sizeof(head) - 1) == 0);
	}
	assert_string_contains(v.reply, "(as obtained from HELO and MAIL FROM).");
}

static void
test_bad_input(void **state)
{
	struct rg_verdict v;

	(void) state;
	refused(&(struct facts) { .client = "192.0.2.5", .from = "a@b@" }, RG_BAD_INPUT,
		"553 5.1.7 Bad sender address syntax.", NULL);
	refused(&(struct facts) { .client = "192.0.2.5", .from = "<x@acme.example" },
		RG_BAD_INPUT, "553 5.1.7 Bad sender address syntax.", NULL);
	refused(&(struct facts) { .client = "192.0.2.5", .from = "x\x01@acme.example" },
		RG_BAD_INPUT, "553 5.1.7 Bad sender address syntax.", NULL);
	refused(&(struct facts) { .client = "192.0.2.5", .from = "x@acme.example",
		.to = "<bob@example.net" }, RG_BAD_INPUT, "501 5.1.3 Bad address syntax.", NULL);
	refused(&(struct facts) { .client = "192.0.2.5", .from = "x@acme.example",
		.to = "a@b@example..net" }, RG_BAD_INPUT, "501 5.1.3 Bad address syntax.", NULL);
	decide(&(struct facts) { .client = "192.0.2.5", .from = "a@b@" }, &v);
	assert_string_contains(v.reason, "unparsable sender");
	decide(&(struct facts) { .client = "192.0.2.5", .from = "x@acme.example",
		.to = "a@b@example..net" }, &v);
	assert_string_contains(v.reason, "unparsable recipient");
}

/* Client-supplied text cannot break the reply line. */
static void
test_reply_injection(void **state)
{
	struct rg_verdict v;

	(void) state;
	decide(&(struct facts) { .client = "8.8.8.8", .helo = "evil\"\r\n250 ok",
		.from = "joe@example.net" }, &v);
	assert_int_equal(v.cls, RG_RELAY_DENIED);
	assert_null(strchr(v.reply, '"'));
	assert_true(strncmp(v.reply, "550 5.7.0 Mail relay denied [8.8.8.8]. ", 39) == 0);
	decide(&(struct facts) { .client = "8.8.8.8\r\n250 ok", .from = "joe@example.net" },
	       &v);
	assert_int_equal(v.cls, RG_RELAY_DENIED);
	assert_true(strncmp(v.reply, "550 5.7.0 Mail relay denied [8.8.8.8??250?ok]. ", 47) == 0);
}

/* --- issue-9 hardening: uncut facts, one client text, fail closed ---- */

/* Overlong facts are refused, never cut into something valid (a user). */
static void
test_overlong_facts(void **state)
{
	char	helo[300], sasl[420];
	struct rg_verdict v;

	(void) state;
	memset(helo, 'a', 256);
	memcpy(helo + 256 - 13, ".acme.example", 14);
	refused(&(struct facts) { .client = "192.0.2.5", .helo = helo,
		.from = "x@acme.example" }, RG_BAD_INPUT, "501 5.5.4 HELO name too long.", NULL);
	/* 255 bytes is a possible name: decided as usual. */
	memset(helo, 'a', 255);
	memcpy(helo + 255 - 13, ".acme.example", 14);
	accepted(&(struct facts) { .client = "192.0.2.5", .helo = helo,
		 .from = "x@acme.example" }, "acme", "printers", "");
	/* A SASL name whose first 320 bytes are a registered user is not that user. */
	snprintf(sasl, sizeof(sasl), "alice@acme.example");
	memset(sasl + 18, 'x', 400 - 18);
	sasl[400] = 0;
	refused(&(struct facts) { .client = "203.0.113.200", .sasl = sasl, .tls = 1,
		.from = "alice@acme.example" }, RG_BAD_INPUT, "501 5.5.4 SASL username too long.",
		NULL);
	sasl[RG_SASL_MAX] = 0;
	decide(&(struct facts) { .client = "203.0.113.200", .sasl = sasl, .tls = 1,
	       .from = "alice@acme.example" }, &v);
	assert_int_not_equal(v.cls, RG_BAD_INPUT);
}

/* Sendmail's "IPv6:0:0:0:0:0:0:0:1" is the ::1 that Postfix sends. */
static void
test_client_canonical(void **state)
{
	struct rg_verdict v;
	struct rg_txn t;
	char	line[2048];

	(void) state;
	refused(&(struct facts) { .client = "IPv6:0:0:0:0:0:0:0:1", .from = "x@acme.example" },
		RG_RELAY_DENIED, DENIED("::1", "acme.example"), NULL);
	refused(&(struct facts) { .client = "IPv6:2001:DB8:2:0:0:0:0:1", .from = "x@acme.example" },
		RG_RELAY_DENIED, DENIED("2001:db8:2::1", "acme.example"), NULL);
	accepted(&(struct facts) { .client = "IPv6:2001:db8:1:0:0:0:0:5",
		 .from = "x@acme.example" }, "acme", "printers", "");
	t = txn(&(struct facts) { .client = "IPv6:0:0:0:0:0:0:0:1", .from = "x@acme.example" });
	relay_decide(conf, &t, &v);
	relay_format_log(&t, &v, line, sizeof(line));
	assert_string_contains(line, " client=[::1] ");
}

/* Postfix's internal form and the quoted form: one address, one verdict. */
static void
test_internal_form_sender(void **state)
{
	struct rg_verdict a, b;

	(void) state;
	accepted(&(struct facts) { .client = "192.0.2.5", .from = "john doe@acme.example" },
		 "acme", "printers", "");
	accepted(&(struct facts) { .client = "192.0.2.5", .from = "a@b@acme.example",
		 .to = "x y@example.net" }, "acme", "printers", "");
	decide(&(struct facts) { .client = "192.0.2.5", .from = "john doe@acme.example",
	       .to = "a@b@example.net" }, &a);
	decide(&(struct facts) { .client = "192.0.2.5", .from = "\"john doe\"@acme.example",
	       .to = "\"a@b\"@example.net" }, &b);
	assert_string_equal(a.from.text, b.from.text);
	assert_string_equal(a.to.text, b.to.text);
	assert_string_equal(a.from.text, "\"john doe\"@acme.example");
	/* The domain after the last '@' decides: not acme's. */
	refused(&(struct facts) { .client = "192.0.2.5", .from = "x@acme.example@evil.example" },
		RG_INVALID_CREDENTIALS, INVALID("192.0.2.5") FOREIGN_DOMAIN, "acme");
}

/* A value the configuration cannot hold fails closed, never accepts. */
static void
test_impossible_senders(void **state)
{
	struct rg_setting *s = (struct rg_setting *) &conf_customer(conf, "acme")->settings[0];
	enum rg_senders keep = s->senders;
	struct rg_verdict v;

	(void) state;
	s->senders = (enum rg_senders) 77;
	decide(&(struct facts) { .client = "192.0.2.5", .from = "x@acme.example" }, &v);
	s->senders = keep;
	assert_int_equal(v.cls, RG_BACKEND_ERROR);
	assert_int_equal(v.code, 451);
	assert_string_equal(relay_class_name((enum rg_class) 99), "unknown");
}

/* --- relay_refuse, class names, the log line ---------------------- */

static void
refuse_is(enum rg_class cls, const char *ip, const char *reason, const char *reply,
	  const char *name)
{
	struct rg_verdict v;

	memset(&v, 0, sizeof(v));
	relay_refuse(&v, cls, ip, reason);
	assert_int_equal(v.cls, cls);
	assert_int_equal(v.code, atoi(reply));
	assert_string_equal(v.reply, reply);
	assert_string_equal(v.rewrite, "");
	assert_string_equal(relay_class_name(cls), name);
	if (reason)
		assert_string_equal(v.reason, reason);
}

static void
test_relay_refuse(void **state)
{
	(void) state;
	refuse_is(RG_RELAY_DENIED, "192.0.2.1", "r", "550 5.7.0 Mail relay denied [192.0.2.1].",
		  "relay_denied");
	refuse_is(RG_AUTH_REQUIRED, "192.0.2.1", "r", AUTH_REQUIRED, "auth_required");
	refuse_is(RG_INVALID_CREDENTIALS, "2001:db8::1", "why", INVALID("2001:db8::1"),
		  "invalid_credentials");
	refuse_is(RG_STARTTLS_REQUIRED, "192.0.2.1", "r", STARTTLS, "starttls_required");
	refuse_is(RG_SENDING_DENIED, "192.0.2.1", "Because.", SENDING_DENIED " Because.",
		  "sending_denied");
	refuse_is(RG_SENDING_DENIED, "192.0.2.1", NULL, SENDING_DENIED, "sending_denied");
	refuse_is(RG_TOO_MANY_RECIPIENTS, "192.0.2.1", "r", TOO_MANY, "too_many_recipients");
	refuse_is(RG_QUOTA_USER, "192.0.2.1", "r",
		  "550 5.4.5 Daily SMTP relay limit exceeded for user.", "quota_user");
	refuse_is(RG_QUOTA_CUSTOMER_DAY, "192.0.2.1", "r",
		  "550 5.7.1 Daily SMTP relay limit exceeded for customer.", "quota_customer_day");
	refuse_is(RG_QUOTA_CUSTOMER_PEAK, "192.0.2.1", "r",
		  "450 4.2.1 Peak SMTP relay limit exceeded for customer.", "quota_customer_peak");
	refuse_is(RG_BACKEND_ERROR, "192.0.2.1", "r",
		  "451 4.3.0 Relay policy temporarily unavailable.", "backend_error");
	assert_string_equal(relay_class_name(RG_ACCEPT), "accept");
	assert_string_equal(relay_class_name(RG_BAD_INPUT), "bad_address");
	/* The address in a reply is cleaned. */
	refuse_is(RG_INVALID_CREDENTIALS, "1.2.3.4\r\n\"x", NULL, INVALID("1.2.3.4???x"),
		  "invalid_credentials");
}

static void
log_line(const struct facts *f, const char *qid, char *buf, size_t len)
{
	struct rg_txn t = txn(f);
	struct rg_verdict v;

	if (qid)
		t.queue_id = qid;
	relay_decide(conf, &t, &v);
	relay_format_log(&t, &v, buf, len);
	relay_log(&t, &v);			/* must not crash; goes to the quiet log */
}

static void
test_log_line(void **state)
{
	char	buf[2048];

	(void) state;
	log_line(&(struct facts) { .client = "192.0.2.5", .helo = "printer.acme.example",
		.from = "<>", .to = "<Bob@Example.NET>" }, NULL, buf, sizeof(buf));
	assert_true(strncmp(buf, "NOQUEUE: ", 9) == 0);
	assert_string_contains(buf, "action=OK");
	assert_string_contains(buf, "customer=acme");
	assert_string_contains(buf, "setting=printers");
	assert_string_contains(buf, "client=[192.0.2.5]");
	assert_string_contains(buf, "helo=printer.acme.example");
	assert_string_contains(buf, "sasl=-");
	assert_string_contains(buf, "from=<>");
	assert_string_contains(buf, "to=<Bob@example.net>");
	assert_string_contains(buf, "reason=\"");

	log_line(&(struct facts) { .client = "198.51.100.10", .helo = "app.acme.example",
		.from = "news@vendor.example", .to = "x@example.net" }, "4VxYz1AbC", buf,
		 sizeof(buf));
	assert_true(strncmp(buf, "4VxYz1AbC: action=OK ", 21) == 0);
	assert_string_contains(buf, "setting=app");
	assert_string_contains(buf, "from=<news@vendor.example>");
	assert_string_contains(buf, "rewrite=<postmaster@acme.example>");

	log_line(&(struct facts) { .client = "8.8.8.8", .helo = "mail.example.org",
		.sasl = "who@example.org", .from = "joe@example.net", .to = "a@example.com" },
		 NULL, buf, sizeof(buf));
	assert_string_contains(buf, "action=REJECT code=550 5.7.0");
	assert_string_contains(buf, "customer=-");
	assert_string_contains(buf, "setting=-");
	assert_string_contains(buf, "client=[8.8.8.8]");
	assert_string_contains(buf, "sasl=who@example.org");
	assert_string_contains(buf, "from=<joe@example.net>");
	assert_string_contains(buf, "to=<a@example.com>");

	log_line(&(struct facts) { .client = "192.0.2.5", .helo = "printer.acme.example",
		.from = "<>", .nrcpt = 1 }, "ABC", buf, sizeof(buf));
	assert_string_contains(buf, "action=DEFER code=452 4.5.3");
	assert_string_contains(buf, "customer=acme");

	/* Truncation is safe. */
	log_line(&(struct facts) { .client = "192.0.2.5", .from = "<>" }, NULL, buf, 20);
	assert_int_equal(strlen(buf), 19);
}

static int
setup(void **state)
{
	char	err[512];

	(void) state;
	conf = conf_load(FIX "relay.conf", err, sizeof(err));
	if (conf == NULL) {
		fprintf(stderr, "relay.conf: %s\n", err);
		return (-1);
	}
	return (0);
}

static int
teardown(void **state)
{
	(void) state;
	conf_unref(conf);
	return (0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_customer),
		cmocka_unit_test(test_disabled_and_bounds),
		cmocka_unit_test(test_ipv6_clients),
		cmocka_unit_test(test_sasl_user_customer),
		cmocka_unit_test(test_setting_order),
		cmocka_unit_test(test_auth_required),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_registered_users),
		cmocka_unit_test(test_domain_addresses),
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_any_sasl_domain),
		cmocka_unit_test(test_nomail_every_mode),
		cmocka_unit_test(test_null_sender),
		cmocka_unit_test(test_null_sender_no_helo),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_overlong_facts),
		cmocka_unit_test(test_client_canonical),
		cmocka_unit_test(test_internal_form_sender),
		cmocka_unit_test(test_impossible_senders),
		cmocka_unit_test(test_reply_injection),
		cmocka_unit_test(test_relay_refuse),
		cmocka_unit_test(test_log_line),
	};

	(void) argc;
	if (access(FIX "relay.conf", R_OK) != 0) {
		char	self[4096];

		snprintf(self, sizeof(self), "%s", argv[0]);
		if (chdir(dirname(self)) != 0 || chdir("../..") != 0
		    || access(FIX "relay.conf", R_OK) != 0) {
			fprintf(stderr, "test_relay: run from the top of the source tree\n");
			return (1);
		}
	}
	log_open("test_relay", 1, NULL);
	log_set_quiet(1);			/* relay_log() info lines */
	return (cmocka_run_group_tests(tests, setup, teardown));
}
