/*
 * test_request - unit tests for policyd/request.c: the Postfix policy
 * delegation request parser (policy_parse) and the incremental end
 * finder (policy_scan) with their caps.
 *
 * request.c belongs to the policy daemon, not to the engine library the
 * unit tests link, so it is compiled in here.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include "unit.h"

#include "../../policyd/request.c"

/* Every attribute Postfix 3.7 sends (REFERENCE.md), as smtpd sends it at RCPT. */
static const char postfix37[] =
	"request=smtpd_access_policy\n"
	"protocol_state=RCPT\n"
	"protocol_name=ESMTP\n"
	"helo_name=printer.acme.example\n"
	"queue_id=\n"
	"sender=alice@acme.example\n"
	"recipient=bob@example.net\n"
	"recipient_count=0\n"
	"client_address=192.0.2.10\n"
	"client_name=printer.acme.example\n"
	"reverse_client_name=printer.acme.example\n"
	"instance=3e5c.6523f1a2.9b1d4.0\n"
	"sasl_method=PLAIN\n"
	"sasl_username=alice@acme.example\n"
	"sasl_sender=\n"
	"size=12345\n"
	"ccert_subject=\n"
	"ccert_issuer=\n"
	"ccert_fingerprint=\n"
	"encryption_protocol=TLSv1.3\n"
	"encryption_cipher=TLS_AES_256_GCM_SHA384\n"
	"encryption_keysize=256\n"
	"etrn_domain=\n"
	"stress=\n"
	"ccert_pubkey_fingerprint=\n"
	"client_port=53412\n"
	"policy_context=\n"
	"server_address=192.0.2.1\n"
	"server_port=25\n"
	"\n";

/* policy_parse on a private copy; returns the parse result. */
static int
parse(const char *text, size_t len, char **copy, struct policy_req *r, const char **why)
{
	*copy = malloc(len ? len : 1);
	memcpy(*copy, text, len);
	*why = NULL;
	return (policy_parse(*copy, len, r, why));
}

/* Scan all of data at once. */
static long
scan_all(const char *data, size_t len, const char **why)
{
	struct policy_scan s;
	long	n;

	policy_scan_init(&s);
	n = policy_scan(&s, data, len);
	*why = s.why;
	return (n);
}

/* Scan data as it would arrive in pieces of "step" bytes. */
static long
scan_steps(const char *data, size_t len, size_t step, const char **why)
{
	struct policy_scan s;
	size_t	have = 0;
	long	n = POLICY_SCAN_MORE;

	policy_scan_init(&s);
	while (have < len) {
		have = have + step < len ? have + step : len;
		n = policy_scan(&s, data, have);
		if (n != POLICY_SCAN_MORE)
			break;
	}
	*why = s.why;
	return (n);
}

static void
test_full_postfix37(void **state)
{
	struct policy_req r;
	const char *why;
	char   *copy;

	(void) state;
	assert_int_equal(parse(postfix37, strlen(postfix37), &copy, &r, &why), 0);
	assert_string_equal(r.request, "smtpd_access_policy");
	assert_string_equal(r.protocol_state, "RCPT");
	assert_string_equal(r.helo_name, "printer.acme.example");
	assert_string_equal(r.queue_id, "");
	assert_string_equal(r.sender, "alice@acme.example");
	assert_string_equal(r.recipient, "bob@example.net");
	assert_string_equal(r.recipient_count, "0");
	assert_string_equal(r.client_address, "192.0.2.10");
	assert_string_equal(r.instance, "3e5c.6523f1a2.9b1d4.0");
	assert_string_equal(r.sasl_username, "alice@acme.example");
	assert_string_equal(r.encryption_protocol, "TLSv1.3");
	assert_int_equal(r.nattrs, 29);
	/* Values point into the caller's buffer. */
	assert_true(r.sender > copy && r.sender < copy + strlen(postfix37));
	free(copy);
}

static void
test_unknown_ignored(void **state)
{
	static const char req[] =
		"compatibility_level=3.6\n"
		"request=smtpd_access_policy\n"
		"mail_version=3.8.1\n"
		"x_future_attribute=whatever=with=equals\n"
		"protocol_state=END-OF-MESSAGE\n"
		"recipient_count=3\n"
		"\n";
	struct policy_req r;
	const char *why;
	char   *copy;

	(void) state;
	assert_int_equal(parse(req, strlen(req), &copy, &r, &why), 0);
	assert_string_equal(r.request, "smtpd_access_policy");
	assert_string_equal(r.protocol_state, "END-OF-MESSAGE");
	assert_string_equal(r.recipient_count, "3");
	assert_int_equal(r.nattrs, 6);
	free(copy);
}

/*
 * Names are looked up by their length: a name of the length of one of
 * ours (or of two: recipient and helo_name), a longer one, and one past
 * the lookup table's 31 bytes are told apart from ours.
 */
static void
test_names_by_length(void **state)
{
	static const char req[] =
		"request=smtpd_access_policy\n"
		"helo_namf=not.helo\n"
		"recipient=r@example.com\n"
		"helo_name=helo.example\n"
		"recipientt=not.recipient\n"
		"sender_but_longer_than_thirty_one_bytes=no\n"
		"instance=abc.1\n"
		"instanc=not.instance\n"
		"\n";
	struct policy_req r;
	const char *why;
	char   *copy;

	(void) state;
	assert_int_equal(parse(req, strlen(req), &copy, &r, &why), 0);
	assert_string_equal(r.recipient, "r@example.com");
	assert_string_equal(r.helo_name, "helo.example");
	assert_string_equal(r.instance, "abc.1");
	assert_string_equal(r.sender, "");
	assert_int_equal(r.nattrs, 8);
	free(copy);
}

static void
test_missing_read_empty(void **state)
{
	static const char req[] = "request=smtpd_access_policy\nprotocol_state=RCPT\n\n";
	struct policy_req r;
	const char *why;
	char   *copy;

	(void) state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(parse(req, strlen(req), &copy, &r, &why), 0);
	assert_string_equal(r.protocol_state, "RCPT");
	assert_non_null(r.helo_name);
	assert_string_equal(r.helo_name, "");
	assert_string_equal(r.queue_id, "");
	assert_string_equal(r.sender, "");
	assert_string_equal(r.recipient, "");
	assert_string_equal(r.recipient_count, "");
	assert_string_equal(r.client_address, "");
	assert_string_equal(r.instance, "");
	assert_string_equal(r.sasl_username, "");
	assert_string_equal(r.encryption_protocol, "");
	free(copy);
}

static void
test_values(void **state)
{
	static const char req[] =
		"request=smtpd_access_policy\n"
		"sender=\n"				/* the null sender */
		"recipient=a=b@example.net\n"		/* '=' in a value */
		"helo_name= spaced \n"			/* kept as sent */
		"\n";
	struct policy_req r;
	const char *why;
	char   *copy;

	(void) state;
	assert_int_equal(parse(req, strlen(req), &copy, &r, &why), 0);
	assert_string_equal(r.sender, "");
	assert_string_equal(r.recipient, "a=b@example.net");
	assert_string_equal(r.helo_name, " spaced ");
	free(copy);
}

static void
test_crlf_parse(void **state)
{
	static const char req[] =
		"request=smtpd_access_policy\r\n"
		"protocol_state=RCPT\r\n"
		"sender=alice@acme.example\r\n"
		"\r\n";
	struct policy_req r;
	const char *why;
	char   *copy;

	(void) state;
	assert_int_equal(parse(req, strlen(req), &copy, &r, &why), 0);
	assert_string_equal(r.request, "smtpd_access_policy");
	assert_string_equal(r.protocol_state, "RCPT");
	assert_string_equal(r.sender, "alice@acme.example");
	free(copy);
}

/*
 * The daemon only parses what policy_scan() says is a whole request, so
 * the CRLF that policy_parse() tolerates must end a request for the
 * scanner too; otherwise a CRLF client waits until the idle timeout.
 */
static void
test_crlf_scan(void **state)
{
	static const char req[] = "request=smtpd_access_policy\r\nprotocol_state=RCPT\r\n\r\n";
	const char *why;

	(void) state;
	assert_int_equal(scan_all(req, strlen(req), &why), (long) strlen(req));
	assert_int_equal(scan_steps(req, strlen(req), 1, &why), (long) strlen(req));
}

static void
bad_parse_n(const char *req, size_t len, const char *want)
{
	struct policy_req r;
	const char *why;
	char   *copy;

	if (parse(req, len, &copy, &r, &why) == 0)
		fail_msg("policy_parse accepted a bad request (expected \"%s\")", want);
	assert_non_null(why);
	assert_string_equal(why, want);
	free(copy);
}

static void
bad_parse(const char *req, const char *want)
{
	bad_parse_n(req, strlen(req), want);
}

static void
test_malformed(void **state)
{
	static const char nul[] = "request=smtpd_access_policy\nsender=a\0b@x\n\n";

	(void) state;
	bad_parse("request=smtpd_access_policy\nno equals sign\n\n", "line without '='");
	bad_parse("request=smtpd_access_policy\nSender=x\n\n", "invalid attribute name");
	bad_parse("request=smtpd_access_policy\n=x\n\n", "invalid attribute name");
	bad_parse("request=smtpd_access_policy\nsen der=x\n\n", "invalid attribute name");
	bad_parse("request=smtpd_access_policy\nsender-x=y\n\n", "invalid attribute name");
	bad_parse_n(nul, sizeof(nul) - 1, "NUL byte in request");
	bad_parse("\n", "empty request");
	bad_parse("\r\n", "empty request");
	bad_parse("request=smtpd_access_policy\n", "request does not end with an empty line");
	bad_parse("request=smtpd_access_policy", "request does not end with an empty line");
	bad_parse("request=smtpd_access_policy\n\nx=y\n\n", "data after the empty line");
}

static void
test_empty_input(void **state)
{
	struct policy_req r;
	const char *why = NULL;
	char	buf[1];

	(void) state;
	assert_int_equal(policy_parse(buf, 0, &r, &why), -1);
	assert_non_null(why);
	assert_int_equal(scan_all("", 0, &why), POLICY_SCAN_MORE);
}

/* A request split across many feeds finds the same end, for every split. */
static void
test_scan_split(void **state)
{
	const char *why;
	long	whole, n;
	size_t	step;

	(void) state;
	whole = scan_all(postfix37, strlen(postfix37), &why);
	assert_int_equal(whole, (long) strlen(postfix37));
	for (step = 1; step <= strlen(postfix37); step++) {
		n = scan_steps(postfix37, strlen(postfix37), step, &why);
		assert_int_equal(n, whole);
	}
}

/* Byte by byte: more, more, ..., then the end exactly at the empty line. */
static void
test_scan_byte_by_byte(void **state)
{
	struct policy_scan s;
	size_t	len = strlen(postfix37), i;

	(void) state;
	policy_scan_init(&s);
	for (i = 1; i < len; i++)
		assert_int_equal(policy_scan(&s, postfix37, i), POLICY_SCAN_MORE);
	assert_int_equal(policy_scan(&s, postfix37, len), (long) len);
}

/* Two pipelined requests in one buffer: each found and parsed in turn. */
static void
test_pipelined(void **state)
{
	static const char two[] =
		"request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=a@x.example\n\n"
		"request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=b@x.example\n\n"
		"request=smtpd";
	struct policy_scan s;
	struct policy_req r;
	const char *why;
	char	buf[sizeof(two)];
	long	n1, n2;

	(void) state;
	memcpy(buf, two, sizeof(two));
	policy_scan_init(&s);
	n1 = policy_scan(&s, buf, sizeof(two) - 1);
	assert_int_equal(n1, 71);
	assert_int_equal(policy_parse(buf, (size_t) n1, &r, &why), 0);
	assert_string_equal(r.recipient, "a@x.example");
	policy_scan_init(&s);
	n2 = policy_scan(&s, buf + n1, sizeof(two) - 1 - (size_t) n1);
	assert_int_equal(n2, 71);
	assert_int_equal(policy_parse(buf + n1, (size_t) n2, &r, &why), 0);
	assert_string_equal(r.recipient, "b@x.example");
	policy_scan_init(&s);
	assert_int_equal(policy_scan(&s, buf + n1 + n2, 13), POLICY_SCAN_MORE);
}

/*
 * Request builders return static buffers (no leak when an assertion
 * jumps out of a test).
 */

/* Build "request=...\n" + one attribute line of exactly linelen bytes + "\n\n". */
static char *
long_line_request(size_t linelen, size_t *len)
{
	static const char head[] = "request=smtpd_access_policy\n";
	static char b[64 + POLICY_LINE_MAX * 2];
	size_t	h = sizeof(head) - 1;

	memcpy(b, head, h);
	memcpy(b + h, "sender=", 7);
	memset(b + h + 7, 'a', linelen - 7);
	b[h + linelen] = '\n';
	b[h + linelen + 1] = '\n';
	*len = h + linelen + 2;
	return (b);
}

static void
test_line_cap(void **state)
{
	struct policy_scan s;
	struct policy_req r;
	const char *why;
	char   *b, *partial;
	size_t	len;

	(void) state;
	/* POLICY_LINE_MAX bytes is fine, in parse and in scan. */
	b = long_line_request(POLICY_LINE_MAX, &len);
	assert_int_equal(scan_all(b, len, &why), (long) len);
	assert_int_equal(scan_steps(b, len, 1, &why), (long) len);
	assert_int_equal(policy_parse(b, len, &r, &why), 0);
	assert_int_equal(strlen(r.sender), POLICY_LINE_MAX - 7);
	/* One more byte is refused by both. */
	b = long_line_request(POLICY_LINE_MAX + 1, &len);
	assert_int_equal(scan_all(b, len, &why), POLICY_SCAN_ERROR);
	assert_string_equal(why, "line too long");
	assert_int_equal(scan_steps(b, len, 100, &why), POLICY_SCAN_ERROR);
	assert_string_equal(why, "line too long");
	assert_int_equal(policy_parse(b, len, &r, &why), -1);
	assert_string_equal(why, "line too long");
	/* A partial line still in the buffer counts: no newline yet. */
	partial = malloc(POLICY_LINE_MAX + 1);
	assert_non_null(partial);
	memset(partial, 'x', POLICY_LINE_MAX + 1);
	policy_scan_init(&s);
	assert_int_equal(policy_scan(&s, partial, POLICY_LINE_MAX), POLICY_SCAN_MORE);
	assert_int_equal(policy_scan(&s, partial, POLICY_LINE_MAX + 1), POLICY_SCAN_ERROR);
	assert_string_equal(s.why, "line too long");
	assert_int_equal(scan_all(partial, POLICY_LINE_MAX + 1, &why), POLICY_SCAN_ERROR);
	/* ... also after complete lines. */
	b = malloc(100 + POLICY_LINE_MAX + 1);
	memcpy(b, "request=smtpd_access_policy\n", 28);
	memset(b + 28, 'y', POLICY_LINE_MAX + 1);
	assert_int_equal(scan_all(b, 28 + POLICY_LINE_MAX, &why), POLICY_SCAN_MORE);
	assert_int_equal(scan_all(b, 28 + POLICY_LINE_MAX + 1, &why), POLICY_SCAN_ERROR);
	assert_string_equal(why, "line too long");
	free(b);
	free(partial);
}

/* n attribute lines "aNNN=v" and the empty line. */
static char *
attrs_request(int n, size_t *len)
{
	static char b[(POLICY_ATTR_MAX + 10) * 16];
	size_t	l = 0;
	int	i;

	for (i = 0; i < n; i++)
		l += (size_t) sprintf(b + l, "a%04d=v\n", i);
	b[l++] = '\n';
	*len = l;
	return (b);
}

static void
test_attr_cap(void **state)
{
	struct policy_req r;
	const char *why;
	char   *b;
	size_t	len;

	(void) state;
	b = attrs_request(POLICY_ATTR_MAX, &len);
	assert_int_equal(scan_all(b, len, &why), (long) len);
	assert_int_equal(scan_steps(b, len, 3, &why), (long) len);
	assert_int_equal(policy_parse(b, len, &r, &why), 0);
	assert_int_equal(r.nattrs, POLICY_ATTR_MAX);
	b = attrs_request(POLICY_ATTR_MAX + 1, &len);
	assert_int_equal(scan_all(b, len, &why), POLICY_SCAN_ERROR);
	assert_string_equal(why, "too many attributes");
	assert_int_equal(scan_steps(b, len, 1, &why), POLICY_SCAN_ERROR);
	assert_string_equal(why, "too many attributes");
	assert_int_equal(policy_parse(b, len, &r, &why), -1);
	assert_string_equal(why, "too many attributes");
}

/* Lines of 4000 bytes: under the line and attribute caps, over the size cap. */
static char *
big_request(size_t nlines, int with_end, size_t *len)
{
	static char b[16 * 4001 + 2];
	size_t	i, l = 0;

	for (i = 0; i < nlines; i++) {
		l += (size_t) sprintf(b + l, "x%03zu=", i);
		memset(b + l, 'v', 3995);
		l += 3995;
		b[l++] = '\n';
	}
	if (with_end)
		b[l++] = '\n';
	*len = l;
	return (b);
}

static void
test_size_cap_partial(void **state)
{
	const char *why;
	char   *b;
	size_t	len;

	(void) state;
	/* 8 lines = 32,008 bytes: under the cap, still waiting. */
	b = big_request(8, 0, &len);
	assert_true(len <= POLICY_REQ_MAX);
	assert_int_equal(scan_all(b, len, &why), POLICY_SCAN_MORE);
	/* 9 lines = 36,009 bytes and no end yet: refused, however it arrives. */
	b = big_request(9, 0, &len);
	assert_true(len > POLICY_REQ_MAX);
	assert_int_equal(scan_all(b, len, &why), POLICY_SCAN_ERROR);
	assert_string_equal(why, "request too large");
	assert_int_equal(scan_steps(b, len, 1000, &why), POLICY_SCAN_ERROR);
	assert_string_equal(why, "request too large");
}

/*
 * A complete request larger than POLICY_REQ_MAX is over the cap whether
 * it arrives in one read or in many; the scanner must not accept it when
 * the whole of it happens to be in the buffer (it refuses the same bytes
 * fed in pieces).
 */
static void
test_size_cap_complete(void **state)
{
	const char *why;
	char   *b;
	size_t	len;
	long	pieces;

	(void) state;
	b = big_request(9, 1, &len);
	assert_true(len > POLICY_REQ_MAX);
	pieces = scan_steps(b, len, 1000, &why);
	assert_int_equal(pieces, POLICY_SCAN_ERROR);
	assert_int_equal(scan_all(b, len, &why), pieces);
	assert_string_equal(why, "request too large");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_postfix37),
		cmocka_unit_test(test_unknown_ignored),
		cmocka_unit_test(test_names_by_length),
		cmocka_unit_test(test_missing_read_empty),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_crlf_parse),
		cmocka_unit_test(test_crlf_scan),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_scan_split),
		cmocka_unit_test(test_scan_byte_by_byte),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_line_cap),
		cmocka_unit_test(test_attr_cap),
		cmocka_unit_test(test_size_cap_partial),
		cmocka_unit_test(test_size_cap_complete),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
