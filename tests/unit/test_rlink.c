/*
 * test_rlink - the Sentinel side of the Redis link (common/rlink.c): the
 * parsing of get-master-addr-by-name answers and +switch-master messages,
 * -READONLY detection, and the sentinel settings of a loaded config.
 * Replies are built by hiredis' own reader from RESP bytes, as on a
 * connection.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include "unit.h"

#include <hiredis/hiredis.h>

#include "conf.h"
#include "rlink.h"

/* reply_n - the first reply hiredis reads from n bytes (the caller frees it) */
static redisReply *
reply_n(const char *resp, size_t n)
{
	redisReader *r = redisReaderCreate();
	void   *rp = NULL;

	rlink_reader_guard(r);
	assert_int_equal(redisReaderFeed(r, resp, n), REDIS_OK);
	assert_int_equal(redisReaderGetReply(r, &rp), REDIS_OK);
	assert_non_null(rp);
	redisReaderFree(r);
	return (rp);
}

static redisReply *
reply(const char *resp)
{
	return (reply_n(resp, strlen(resp)));
}

/* addr - rlink_sentinel_addr() on resp; host and port when it returns 0 */
static int
addr(const char *resp, char *host, size_t hostlen, int *port)
{
	redisReply *r = reply(resp);
	int	rc = rlink_sentinel_addr(r, host, hostlen, port);

	freeReplyObject(r);
	return (rc);
}

static void
test_sentinel_addr(void **state)
{
	char	host[64];
	int	port = 0;

	(void) state;
	assert_int_equal(addr("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n", host, sizeof(host),
			      &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 6380);
	assert_int_equal(addr("*2\r\n$11\r\n2001:db8::1\r\n$5\r\n65535\r\n", host, sizeof(host),
			      &port), 0);
	assert_string_equal(host, "2001:db8::1");
	assert_int_equal(port, 65535);
	/* refused: unknown master (nil), a name (no DNS in the loop), bad ports,
	 * wrong shapes, errors, a host that does not fit */
	assert_int_equal(addr("*-1\r\n", host, sizeof(host), &port), -1);
	assert_int_equal(addr("$-1\r\n", host, sizeof(host), &port), -1);
	assert_int_equal(addr("*2\r\n$9\r\nlocalhost\r\n$4\r\n6379\r\n", host, sizeof(host), &port), -1);
	assert_int_equal(addr("*2\r\n$8\r\n10.0.0.1\r\n$1\r\n0\r\n", host, sizeof(host), &port), -1);
	assert_int_equal(addr("*2\r\n$8\r\n10.0.0.1\r\n$5\r\n65536\r\n", host, sizeof(host), &port), -1);
	assert_int_equal(addr("*2\r\n$8\r\n10.0.0.1\r\n$3\r\n6a9\r\n", host, sizeof(host), &port), -1);
	assert_int_equal(addr("*2\r\n$8\r\n10.0.0.1\r\n$0\r\n\r\n", host, sizeof(host), &port), -1);
	assert_int_equal(addr("*2\r\n$8\r\n10.0.0.1\r\n:6379\r\n", host, sizeof(host), &port), -1);
	assert_int_equal(addr("*1\r\n$8\r\n10.0.0.1\r\n", host, sizeof(host), &port), -1);
	assert_int_equal(addr("*3\r\n$8\r\n10.0.0.1\r\n$4\r\n6379\r\n$1\r\nx\r\n", host,
			      sizeof(host), &port), -1);
	assert_int_equal(addr("-ERR unknown\r\n", host, sizeof(host), &port), -1);
	assert_int_equal(addr("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n", host, 9, &port), -1);
	{
		/* a NUL inside the address */
		static const char nul[] = "*2\r\n$10\r\n127.0.0.1\0\r\n$4\r\n6380\r\n";
		redisReply *r = reply_n(nul, sizeof(nul) - 1);

		assert_int_equal(rlink_sentinel_addr(r, host, sizeof(host), &port), -1);
		freeReplyObject(r);
	}
}

/* sw - rlink_sentinel_switch() on a pub/sub message with payload */
static int
sw(const char *channel, const char *payload, char *host, size_t hostlen, int *port)
{
	char	resp[600];
	redisReply *r;
	int	rc;

	snprintf(resp, sizeof(resp), "*3\r\n$7\r\nmessage\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n",
		 strlen(channel), channel, strlen(payload), payload);
	r = reply(resp);
	rc = rlink_sentinel_switch(r, "relayguard", host, hostlen, port);
	freeReplyObject(r);
	return (rc);
}

static void
test_sentinel_switch(void **state)
{
	char	host[64];
	int	port = 0;
	redisReply *r;

	(void) state;
	assert_int_equal(sw("+switch-master", "relayguard 127.0.0.1 6379 127.0.0.2 6380",
			    host, sizeof(host), &port), 1);
	assert_string_equal(host, "127.0.0.2");
	assert_int_equal(port, 6380);
	assert_int_equal(sw("+switch-master", "relayguard ::1 6379 ::2 7000", host, sizeof(host),
			    &port), 1);
	assert_string_equal(host, "::2");
	assert_int_equal(port, 7000);
	/* another master, another channel: not ours */
	assert_int_equal(sw("+switch-master", "other 127.0.0.1 6379 127.0.0.2 6380", host,
			    sizeof(host), &port), 0);
	assert_int_equal(sw("+switch-master", "relayguard2 127.0.0.1 6379 127.0.0.2 6380", host,
			    sizeof(host), &port), 0);
	assert_int_equal(sw("+sdown", "relayguard 127.0.0.1 6379 127.0.0.2 6380", host,
			    sizeof(host), &port), 0);
	/* malformed */
	assert_int_equal(sw("+switch-master", "relayguard 127.0.0.1 6379 127.0.0.2", host,
			    sizeof(host), &port), -1);
	assert_int_equal(sw("+switch-master", "relayguard 127.0.0.1 6379 127.0.0.2 6380 x", host,
			    sizeof(host), &port), -1);
	assert_int_equal(sw("+switch-master", "relayguard a 1 host.example 6380", host,
			    sizeof(host), &port), -1);
	assert_int_equal(sw("+switch-master", "relayguard 127.0.0.1 6379 127.0.0.2 99999", host,
			    sizeof(host), &port), -1);
	assert_int_equal(sw("+switch-master", "relayguard  127.0.0.1 6379 127.0.0.2", host,
			    sizeof(host), &port), -1);
	assert_int_equal(sw("+switch-master", "", host, sizeof(host), &port), -1);
	/* the subscription's confirmation and other shapes are not messages */
	r = reply("*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n");
	assert_int_equal(rlink_sentinel_switch(r, "relayguard", host, sizeof(host), &port), 0);
	freeReplyObject(r);
	r = reply("*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n:1\r\n");
	assert_int_equal(rlink_sentinel_switch(r, "relayguard", host, sizeof(host), &port), -1);
	freeReplyObject(r);
	r = reply("+OK\r\n");
	assert_int_equal(rlink_sentinel_switch(r, "relayguard", host, sizeof(host), &port), 0);
	freeReplyObject(r);
	assert_int_equal(rlink_sentinel_switch(NULL, "relayguard", host, sizeof(host), &port), 0);
}

static void
test_readonly(void **state)
{
	redisReply *r;
	static const struct {
		const char *resp;
		int	want;
	} t[] = {
		{ "-READONLY You can't write against a read only replica.\r\n", 1 },
		{ "-ERR Error running script (call to f_x): @user_script:1: "
		  "@user_script: 1: -READONLY You can't write against a read only replica.\r\n", 1 },
		{ "-ERR unknown command\r\n", 0 },
		{ "-NOSCRIPT No matching script.\r\n", 0 },
		{ "+READONLY\r\n", 0 },
		{ "$8\r\nREADONLY\r\n", 0 },
	};
	size_t	i;

	(void) state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		r = reply(t[i].resp);
		assert_int_equal(rlink_readonly(r), t[i].want);
		freeReplyObject(r);
	}
	assert_int_equal(rlink_readonly(NULL), 0);
}

static void
test_sentinel_cfg(void **state)
{
	static const char text[] =
	"redis { sentinels = { \"127.0.0.1:26379\", \"[::1]:26380\" }\n"
	"        sentinel_master = \"relayguard\" database = 2 }\n"
	"customer \"a\" { domains = { \"a.example\" } licenses = 1\n"
	"  relay \"r\" { ip \"i\" { range = \"192.0.2.0/24\" } } }\n";
	char	err[512];
	struct rg_conf *c = conf_load_buf(text, "t.conf", err, sizeof(err));
	struct rlink_cfg a, b;

	(void) state;
	assert_non_null(c);
	assert_int_equal(rlink_cfg_load(&a, c, err, sizeof(err)), 0);
	assert_int_equal(a.nsentinels, 2);
	assert_string_equal(a.sentinel[0].host, "127.0.0.1");
	assert_int_equal(a.sentinel[0].port, 26379);
	assert_string_equal(a.sentinel[1].host, "::1");
	assert_int_equal(a.sentinel[1].port, 26380);
	assert_string_equal(a.master, "relayguard");
	assert_string_equal(a.host, "");		/* not asked yet */
	assert_int_equal(a.port, 0);
	assert_string_equal(a.server, "master relayguard");
	/* the sentinels' answer, kept across a reload with the same sentinels */
	assert_int_equal(rlink_cfg_master(&a, "::2", 6390), 1);
	assert_int_equal(rlink_cfg_master(&a, "::2", 6390), 0);
	assert_string_equal(a.server, "[::2]:6390 (master relayguard)");
	assert_int_equal(rlink_cfg_load(&b, c, err, sizeof(err)), 0);
	assert_int_equal(rlink_cfg_same(&a, &b), 1);
	rlink_cfg_keep_master(&b, &a);
	assert_string_equal(b.host, "::2");
	assert_int_equal(b.port, 6390);
	/* another sentinel list or master name is another link */
	b.sentinel[1].port = 1;
	assert_int_equal(rlink_cfg_same(&a, &b), 0);
	b.sentinel[1].port = 26380;
	snprintf(b.master, sizeof(b.master), "other");
	assert_int_equal(rlink_cfg_same(&a, &b), 0);
	conf_unref(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sentinel_addr),
		cmocka_unit_test(test_sentinel_switch),
		cmocka_unit_test(test_readonly),
		cmocka_unit_test(test_sentinel_cfg),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
