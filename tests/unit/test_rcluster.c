/*
 * test_rcluster - Redis Cluster routing (common/rcluster.c): the CRC16 and
 * key slot vectors of the cluster specification, -MOVED and -ASK
 * parsing, CLUSTER SLOTS parsing, and the cluster settings of a config.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include "unit.h"

#include <hiredis/hiredis.h>

#include "conf.h"
#include "rcluster.h"
#include "rlink.h"

static redisReply *
reply(const char *resp)
{
	redisReader *r = redisReaderCreate();
	void   *rp = NULL;

	rlink_reader_guard(r);
	assert_int_equal(redisReaderFeed(r, resp, strlen(resp)), REDIS_OK);
	assert_int_equal(redisReaderGetReply(r, &rp), REDIS_OK);
	assert_non_null(rp);
	redisReaderFree(r);
	return (rp);
}

static unsigned
slot(const char *key)
{
	return (rcluster_keyslot(key, strlen(key)));
}

static void
test_crc16(void **state)
{
	(void) state;
	assert_int_equal(rcluster_crc16("123456789", 9), 0x31C3);
	assert_int_equal(rcluster_crc16("", 0), 0);
	assert_int_equal(slot("123456789"), 0x31C3 % 16384);
	/* hash tags, as in the specification */
	assert_int_equal(slot("{user1000}.following"), slot("{user1000}.followers"));
	assert_int_equal(slot("{user1000}.following"), slot("user1000"));
	assert_int_equal(slot("foo{}{bar}"), rcluster_crc16("foo{}{bar}", 10) % 16384);
	assert_int_equal(slot("foo{{bar}}zap"), slot("{bar"));
	assert_int_equal(slot("foo{bar}{zap}"), slot("bar"));
	assert_int_equal(slot("{"), rcluster_crc16("{", 1) % 16384);
	/* Redis' own answers: CLUSTER KEYSLOT foo = 12182, bar = 5061 */
	assert_int_equal(slot("foo"), 12182);
	assert_int_equal(slot("rg:{bar}:cust:day"), 5061);
}

static int
redirect(const char *resp, int *ask, unsigned *s, char *host, size_t hostlen, int *port)
{
	redisReply *r = reply(resp);
	int	rc = rcluster_redirect(r, ask, s, host, hostlen, port);

	freeReplyObject(r);
	return (rc);
}

static void
test_redirect(void **state)
{
	char	host[64];
	unsigned s = 0;
	int	ask = -1, port = 0;

	(void) state;
	assert_int_equal(redirect("-MOVED 3999 127.0.0.1:6381\r\n", &ask, &s, host, sizeof(host),
				  &port), 1);
	assert_int_equal(ask, 0);
	assert_int_equal(s, 3999);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 6381);
	assert_int_equal(redirect("-ASK 16383 ::1:7002\r\n", &ask, &s, host, sizeof(host),
				  &port), 1);
	assert_int_equal(ask, 1);
	assert_int_equal(s, 16383);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 7002);
	/* not redirections */
	assert_int_equal(redirect("-ERR MOVED 1 127.0.0.1:1\r\n", &ask, &s, host, sizeof(host),
				  &port), 0);
	assert_int_equal(redirect("+MOVED 1 127.0.0.1:1\r\n", &ask, &s, host, sizeof(host),
				  &port), 0);
	assert_int_equal(redirect("-MOVED\r\n", &ask, &s, host, sizeof(host), &port), 0);
	/* malformed */
	assert_int_equal(redirect("-MOVED 16384 127.0.0.1:1\r\n", &ask, &s, host, sizeof(host),
				  &port), -1);
	assert_int_equal(redirect("-MOVED 1 127.0.0.1\r\n", &ask, &s, host, sizeof(host),
				  &port), -1);
	assert_int_equal(redirect("-MOVED 1 host.example:7000\r\n", &ask, &s, host,
				  sizeof(host), &port), -1);
	assert_int_equal(redirect("-ASK x1 127.0.0.1:7000\r\n", &ask, &s, host, sizeof(host),
				  &port), -1);
	assert_int_equal(redirect("-ASK 1 127.0.0.1:0\r\n", &ask, &s, host, sizeof(host),
				  &port), -1);
}

static void
test_slots(void **state)
{
	struct rcluster_map *m = malloc(sizeof(*m));
	redisReply *r;

	(void) state;
	rcluster_map_clear(m);
	/* two ranges, one with a replica and an empty ip (the node asked) */
	r = reply("*2\r\n"
		  "*3\r\n:0\r\n:8191\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n"
		  "*4\r\n:8192\r\n:16383\r\n*3\r\n$0\r\n\r\n:7001\r\n$2\r\nid\r\n"
		  "*3\r\n$9\r\n127.0.0.9\r\n:7009\r\n$2\r\nid\r\n");
	assert_int_equal(rcluster_map_parse(m, r, "10.0.0.1"), 0);
	freeReplyObject(r);
	assert_int_equal(m->nnodes, 2);
	assert_int_equal(m->slot[0], 0);
	assert_int_equal(m->slot[8191], 0);
	assert_int_equal(m->slot[8192], 1);
	assert_int_equal(m->slot[16383], 1);
	assert_string_equal(m->node[1].host, "10.0.0.1");
	assert_int_equal(m->node[1].port, 7001);
	assert_int_equal(rcluster_map_node(m, "127.0.0.1", 7000), 0);
	/* a gap is no node's */
	r = reply("*1\r\n*3\r\n:10\r\n:20\r\n*2\r\n$9\r\n127.0.0.1\r\n:7001\r\n");
	assert_int_equal(rcluster_map_parse(m, r, "x"), 0);
	freeReplyObject(r);
	assert_int_equal(m->slot[9], RCLUSTER_NONE);
	assert_int_equal(m->slot[10], 2);
	/* malformed: empty map, -1 */
	r = reply("*1\r\n*3\r\n:20\r\n:10\r\n*2\r\n$9\r\n127.0.0.1\r\n:7001\r\n");
	assert_int_equal(rcluster_map_parse(m, r, "x"), -1);
	freeReplyObject(r);
	assert_int_equal(m->slot[15], RCLUSTER_NONE);
	r = reply("*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$9\r\n127.0.0.1\r\n:7001\r\n");
	assert_int_equal(rcluster_map_parse(m, r, "x"), -1);
	freeReplyObject(r);
	r = reply("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$12\r\nhost.example\r\n:7001\r\n");
	assert_int_equal(rcluster_map_parse(m, r, "x"), -1);
	freeReplyObject(r);
	r = reply("-ERR This instance has cluster support disabled\r\n");
	assert_int_equal(rcluster_map_parse(m, r, "x"), -1);
	freeReplyObject(r);
	r = reply("*0\r\n");
	assert_int_equal(rcluster_map_parse(m, r, "x"), -1);
	freeReplyObject(r);
	free(m);
}

static struct rg_conf *
load(const char *redis, char *err, size_t errlen)
{
	char	text[2048];

	snprintf(text, sizeof(text), "redis { %s }\n"
		 "customer \"a\" { domains = { \"a.example\" } licenses = 1\n"
		 "  relay \"r\" { ip \"x\" { range = \"192.0.2.1\" } } }\n", redis);
	return (conf_load_buf(text, "t.conf", err, errlen));
}

static void
test_cluster_cfg(void **state)
{
	struct rlink_cfg a;
	struct rg_conf *c;
	char	err[512];

	(void) state;
	c = load("cluster = { \"127.0.0.1:7000\", \"[::1]:7001\" }", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(rlink_cfg_load(&a, c, err, sizeof(err)), 0);
	assert_int_equal(a.nseeds, 2);
	assert_string_equal(a.seed[1].host, "::1");
	assert_int_equal(a.seed[1].port, 7001);
	conf_unref(c);
	assert_null(load("cluster = { \"127.0.0.1:7000\" } server = \"127.0.0.1:6379\"", err,
			 sizeof(err)));
	assert_non_null(strstr(err, "cluster: not with server"));
	assert_null(load("cluster = { \"127.0.0.1:7000\" } sentinels = { \"127.0.0.1:26379\" }"
			 " sentinel_master = \"m\"", err, sizeof(err)));
	assert_non_null(strstr(err, "not with sentinels"));
	assert_null(load("cluster = { \"127.0.0.1:7000\" } database = 1", err, sizeof(err)));
	assert_non_null(strstr(err, "database must be 0"));
	assert_null(load("cluster = { \"127.0.0.1\" }", err, sizeof(err)));
	assert_non_null(strstr(err, "expected host:port"));
	assert_null(load("cluster = { \"1.0.0.1:1\", \"1.0.0.1:2\", \"1.0.0.1:3\", \"1.0.0.1:4\","
			 "\"1.0.0.1:5\", \"1.0.0.1:6\", \"1.0.0.1:7\", \"1.0.0.1:8\", \"1.0.0.1:9\","
			 "\"1.0.0.1:10\", \"1.0.0.1:11\", \"1.0.0.1:12\", \"1.0.0.1:13\","
			 "\"1.0.0.1:14\", \"1.0.0.1:15\", \"1.0.0.1:16\", \"1.0.0.1:17\" }",
			 err, sizeof(err)));
	assert_non_null(strstr(err, "more than 16"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc16),
		cmocka_unit_test(test_redirect),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_cluster_cfg),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
