/*
 * test_quota - relay quotas against a real redis-server started here
 *
 * The server runs on a private unix socket and loopback port in a temp
 * directory; each test starts from an empty data set.  Covers every
 * limit and its reply, the unique-recipient example of DESIGN 3.4,
 * reservations (expiry, commit, release, late commit), NOSCRIPT, AUTH,
 * SELECT, TCP and IPv6 servers, the script's command count and key
 * upgrade, quota show and reset, through the blocking client.  The
 * event-driven client and the reply reader: test_quota_async.c.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include "unit.h"

#define FIXTURE_NAME "test_quota"
#include "quota_fixture.h"

/* ---------------------------------------------------------------- tests */

static void
test_sha(void **state)
{
	redisContext *a = admin();
	redisReply *r = redisCommand(a, "SCRIPT LOAD %s", quota_script);

	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	assert_string_equal(r->str, quota_script_sha());
	freeReplyObject(r);
	redisFree(a);
}

static void
test_cfg_parse(void **state)
{
	struct rg_conf *c = mkconf_full("[::1]:6380", 100, NULL, 900, NULL);
	struct rlink_cfg cfg;
	char	err[400], pw[400], path[300];
	FILE   *fp;

	assert_int_equal(rlink_cfg_load(&cfg, c, err, sizeof(err)), 0);
	assert_string_equal(cfg.host, "::1");
	assert_int_equal(cfg.port, 6380);
	conf_unref(c);
	/* a name: conf_load resolved it, the client gets the address */
	c = mkconf_full("localhost:6379", 100, NULL, 900, NULL);
	assert_int_equal(rlink_cfg_load(&cfg, c, err, sizeof(err)), 0);
	assert_string_equal(cfg.server, "localhost:6379");
	assert_string_equal(cfg.host, "127.0.0.1");
	assert_int_equal(cfg.port, 6379);
	assert_string_equal(cfg.pass, "");
	conf_unref(c);
	c = mkconf_full("unix:/run/redis.sock", 100, NULL, 900, NULL);
	assert_int_equal(rlink_cfg_load(&cfg, c, err, sizeof(err)), 0);
	assert_int_equal(cfg.port, 0);
	assert_string_equal(cfg.path, "/run/redis.sock");
	conf_unref(c);

	snprintf(path, sizeof(path), "%s/pw", tmpdir);
	snprintf(pw, sizeof(pw), "password_file = \"%s\"", path);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("  relay s3cret \n", fp);
	fclose(fp);
	c = mkconf_full(NULL, 100, pw, 900, NULL);
	assert_int_equal(rlink_cfg_load(&cfg, c, err, sizeof(err)), 0);
	assert_string_equal(cfg.user, "relay");
	assert_string_equal(cfg.pass, "s3cret");
	conf_unref(c);
	fp = fopen(path, "w");
	fputs("only-a-password\n", fp);
	fclose(fp);
	c = mkconf_full(NULL, 100, pw, 900, NULL);
	assert_int_equal(rlink_cfg_load(&cfg, c, err, sizeof(err)), 0);
	assert_string_equal(cfg.user, "");
	assert_string_equal(cfg.pass, "only-a-password");
	conf_unref(c);
	/* The file is read by the load, never by the client. */
	c = mkconf_full(NULL, 100, pw, 900, NULL);
	unlink(path);
	assert_int_equal(rlink_cfg_load(&cfg, c, err, sizeof(err)), 0);
	assert_string_equal(cfg.pass, "only-a-password");
	conf_unref(c);
}

/*
 * A blocking client re-reads the settings when the configuration's
 * generation changes, not its address: a new configuration allocated
 * where a freed one was must not be missed.  The slot stands for that
 * reused address.
 */
static void
test_sync_generation(void **state)
{
	struct rg_conf *dead = mkconf_full("127.0.0.1:1", 300, NULL, 900, NULL);
	struct rg_conf *live = mkconf();
	struct rg_conf slot;
	struct quota_sync *qs;
	struct msg m;

	memcpy(&slot, dead, sizeof(slot));
	qs = quota_sync_create(&slot);
	msg_init(&m, "192.0.2.1", "alice@acme.example", "gen1");
	assert_int_equal(rcpt(qs, &slot, &m, "a@dest.example"), QUOTA_BACKEND_ERROR);
	memcpy(&slot, live, sizeof(slot));
	assert_int_equal(rcpt(qs, &slot, &m, "b@dest.example"), QUOTA_OK);
	/* and back: the same address again, another generation */
	memcpy(&slot, dead, sizeof(slot));
	assert_int_equal(rcpt(qs, &slot, &m, "c@dest.example"), QUOTA_BACKEND_ERROR);
	quota_sync_free(qs);
	conf_unref(dead);
	conf_unref(live);
}

/* DESIGN 3.4: 1,000 messages to A and 1,000 to B = 2 toward the user's
 * unique-recipient limit, 2,000 toward the customer's. */
static void
test_unique_recipients(void **state)
{
	struct rg_conf *c = mkconf();
	struct quota_sync *qs = quota_sync_create(c);
	struct msg m;
	int	i;

	for (i = 0; i < 1000; i++) {
		assert_int_equal(send1(qs, c, "198.51.100.1", "carol@big.example", "a@dest.example", i),
				 QUOTA_OK);
		assert_int_equal(send1(qs, c, "198.51.100.1", "Carol@BIG.example", "A@Dest.Example", i),
				 QUOTA_OK);
		assert_int_equal(send1(qs, c, "198.51.100.1", "carol@big.example", "b@dest.example", i),
				 QUOTA_OK);
	}
	assert_int_equal(integer("ZCARD %s", "t:{big}:user:carol@big.example:rcpts"), 2);
	assert_int_equal(live("t:{big}:cust:day"), 3000);
	assert_int_equal(live("t:{big}:cust:10m"), 3000);
	assert_int_equal(live("t:{big}:user:carol@big.example:msgs"), 3000);

	/* A third recipient passes the user's limit of 2. */
	msg_init(&m, "198.51.100.1", "carol@big.example", "third");
	assert_int_equal(rcpt(qs, c, &m, "c@dest.example"), QUOTA_USER);
	assert_reply(c, &m, QUOTA_USER, "550 5.4.5 Daily SMTP relay limit exceeded for user.");
	assert_int_equal(m.v.cls, RG_QUOTA_USER);
	/* ... while a known one still passes, in the same message. */
	msg_init(&m, "198.51.100.1", "carol@big.example", "third");
	assert_int_equal(rcpt(qs, c, &m, "b@dest.example"), QUOTA_OK);
	assert_int_equal(commit(qs, c, &m, 1), QUOTA_OK);

	/* An unregistered sender has no user limits, but counts for the customer. */
	assert_int_equal(send1(qs, c, "198.51.100.1", "eve@big.example", "c@dest.example", 1),
			 QUOTA_OK);
	assert_int_equal(send1(qs, c, "198.51.100.1", "eve@big.example", "d@dest.example", 2),
			 QUOTA_OK);
	assert_int_equal(live("t:{big}:cust:day"), 3003);
	assert_int_equal(integer("EXISTS %s", "t:{big}:user:eve@big.example:rcpts"), 0);
	assert_int_equal(integer("ZCARD %s", "t:{big}:user:carol@big.example:rcpts"), 2);
	quota_sync_free(qs);
	conf_unref(c);
}

/* user_messages_per_day: counted once per message, checked at the first
 * RCPT, and reservations count so concurrent messages cannot overshoot. */
static void
test_user_messages(void **state)
{
	struct rg_conf *c = mkconf();
	struct quota_sync *qs = quota_sync_create(c);
	struct msg m[4];
	int	i;

	/* limit 3: three messages of two recipients each */
	for (i = 0; i < 3; i++) {
		char	inst[16];

		snprintf(inst, sizeof(inst), "msg%d", i);
		msg_init(&m[0], "192.0.2.1", "alice@acme.example", inst);
		assert_int_equal(rcpt(qs, c, &m[0], "x@dest.example"), QUOTA_OK);
		assert_int_equal(rcpt(qs, c, &m[0], "y@dest.example"), QUOTA_OK);
		assert_int_equal(commit(qs, c, &m[0], 2), QUOTA_OK);
	}
	assert_int_equal(live("t:{acme}:user:alice@acme.example:msgs"), 3);
	msg_init(&m[0], "192.0.2.1", "alice@acme.example", "msg3");
	assert_int_equal(rcpt(qs, c, &m[0], "x@dest.example"), QUOTA_USER);
	assert_reply(c, &m[0], QUOTA_USER, "550 5.4.5 Daily SMTP relay limit exceeded for user.");
	/* bob is another user of the same customer */
	assert_int_equal(send1(qs, c, "192.0.2.1", "bob@acme.example", "x@dest.example", 1),
			 QUOTA_OK);

	/* Reserved but uncommitted messages count: three open, the fourth is refused. */
	admin_cmd("FLUSHALL");
	for (i = 0; i < 3; i++) {
		char	inst[16];

		snprintf(inst, sizeof(inst), "open%d", i);
		msg_init(&m[i], "192.0.2.1", "alice@acme.example", inst);
		assert_int_equal(rcpt(qs, c, &m[i], "x@dest.example"), QUOTA_OK);
	}
	msg_init(&m[3], "192.0.2.1", "alice@acme.example", "open3");
	assert_int_equal(rcpt(qs, c, &m[3], "x@dest.example"), QUOTA_USER);
	/* a further RCPT of an open message is no new message */
	assert_int_equal(rcpt(qs, c, &m[0], "y@dest.example"), QUOTA_OK);
	assert_int_equal(live("t:{acme}:user:alice@acme.example:msgs"), 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(commit(qs, c, &m[i], 0), QUOTA_OK);
	assert_int_equal(live("t:{acme}:user:alice@acme.example:msgs"), 3);
	assert_int_equal(live("t:{acme}:cust:day"), 4);
	quota_sync_free(qs);
	conf_unref(c);
}

/* user_recipients_per_day = 4 at acme, checked before the customer limits. */
static void
test_user_recipients_order(void **state)
{
	struct rg_conf *c = mkconf();
	struct quota_sync *qs = quota_sync_create(c);
	struct msg m;
	char	to[64];
	int	i;

	msg_init(&m, "192.0.2.1", "alice@acme.example", "u1");
	for (i = 0; i < 4; i++) {
		snprintf(to, sizeof(to), "r%d@dest.example", i);
		assert_int_equal(rcpt(qs, c, &m, to), QUOTA_OK);
	}
	assert_int_equal(rcpt(qs, c, &m, "r9@dest.example"), QUOTA_USER);
	/* the same recipient twice counts once for the user, twice for the customer */
	assert_int_equal(rcpt(qs, c, &m, "r0@dest.example"), QUOTA_OK);
	assert_int_equal(live("t:{acme}:cust:10m"), 5);
	/* fill the customer's 10-minute limit (8) with an unregistered sender */
	msg_init(&m, "192.0.2.1", "printer@acme.example", "u2");
	for (i = 0; i < 3; i++)
		assert_int_equal(rcpt(qs, c, &m, "p@dest.example"), QUOTA_OK);
	assert_int_equal(rcpt(qs, c, &m, "p@dest.example"), QUOTA_CUSTOMER_PEAK);
	/* user first: alice at her recipient limit gets the user reply */
	msg_init(&m, "192.0.2.1", "alice@acme.example", "u3");
	assert_int_equal(rcpt(qs, c, &m, "new@dest.example"), QUOTA_USER);
	/* a known recipient of alice: now the customer limit speaks */
	assert_int_equal(rcpt(qs, c, &m, "r1@dest.example"), QUOTA_CUSTOMER_PEAK);
	quota_sync_free(qs);
	conf_unref(c);
}

static void
test_customer_limits(void **state)
{
	struct rg_conf *c = mkconf();
	struct quota_sync *qs = quota_sync_create(c);
	struct msg m;
	int	i;

	/* 10 minutes: 8 */
	msg_init(&m, "192.0.2.7", "scanner@acme.example", "c1");
	for (i = 0; i < 8; i++)
		assert_int_equal(rcpt(qs, c, &m, "x@dest.example"), QUOTA_OK);
	assert_int_equal(rcpt(qs, c, &m, "x@dest.example"), QUOTA_CUSTOMER_PEAK);
	assert_reply(c, &m, QUOTA_CUSTOMER_PEAK,
		     "450 4.2.1 Peak SMTP relay limit exceeded for customer.");
	assert_int_equal(m.v.cls, RG_QUOTA_CUSTOMER_PEAK);
	/* earlier recipients stand */
	assert_int_equal(commit(qs, c, &m, 8), QUOTA_OK);
	assert_int_equal(live("t:{acme}:cust:day"), 8);

	/* day: 10, with 5 from 23 hours ago outside the 10-minute window */
	admin_cmd("FLUSHALL");
	old_usage("acme", 5);
	msg_init(&m, "192.0.2.7", "scanner@acme.example", "c2");
	for (i = 0; i < 5; i++)
		assert_int_equal(rcpt(qs, c, &m, "x@dest.example"), QUOTA_OK);
	assert_int_equal(rcpt(qs, c, &m, "x@dest.example"), QUOTA_CUSTOMER_DAY);
	assert_reply(c, &m, QUOTA_CUSTOMER_DAY,
		     "550 5.7.1 Daily SMTP relay limit exceeded for customer.");
	assert_int_equal(m.v.cls, RG_QUOTA_CUSTOMER_DAY);
	/* other customers are not affected */
	assert_int_equal(send1(qs, c, "198.51.100.2", "x@big.example", "x@dest.example", 1),
			 QUOTA_OK);
	quota_sync_free(qs);
	conf_unref(c);
}

/* Unpaid and trial customers: 100 a day, 50 in 10 minutes. */
static void
test_unpaid_tier(void **state)
{
	struct rg_conf *c = mkconf();
	struct quota_sync *qs = quota_sync_create(c);
	const struct rg_customer *cu = conf_customer(c, "free");
	struct msg m;
	int	i;

	assert_int_equal(cu->limits.customer_recipients_per_day, 100);
	assert_int_equal(cu->limits.customer_recipients_per_10min, 50);
	msg_init(&m, "203.0.113.5", "dave@free.example", "f1");
	for (i = 0; i < 50; i++) {
		char	to[64];

		snprintf(to, sizeof(to), "r%d@dest.example", i);
		assert_int_equal(rcpt(qs, c, &m, to), QUOTA_OK);
	}
	assert_int_equal(rcpt(qs, c, &m, "r0@dest.example"), QUOTA_CUSTOMER_PEAK);
	assert_int_equal(commit(qs, c, &m, 50), QUOTA_OK);

	admin_cmd("FLUSHALL");
	old_usage("free", 60);
	msg_init(&m, "203.0.113.5", "someone@free.example", "f2");
	for (i = 0; i < 40; i++)
		assert_int_equal(rcpt(qs, c, &m, "x@dest.example"), QUOTA_OK);
	assert_int_equal(rcpt(qs, c, &m, "x@dest.example"), QUOTA_CUSTOMER_DAY);
	quota_sync_free(qs);
	conf_unref(c);
}

/* A reservation never committed frees after reservation_ttl (2 s here). */
static void
test_reservation_expires(void **state)
{
	struct rg_conf *c = mkconf();
	struct quota_sync *qs = quota_sync_create(c);
	struct msg m;
	char	inst[16];
	int	i;

	for (i = 0; i < 8; i++) {
		snprintf(inst, sizeof(inst), "e%d", i);
		msg_init(&m, "192.0.2.1", "scanner@acme.example", inst);
		assert_int_equal(rcpt(qs, c, &m, "x@dest.example"), QUOTA_OK);
	}
	msg_init(&m, "192.0.2.1", "scanner@acme.example", "e8");
	assert_int_equal(rcpt(qs, c, &m, "x@dest.example"), QUOTA_CUSTOMER_PEAK);
	assert_true(integer("TTL %s", "t:{acme}:rsv:e0") > 0);
	usleep(2100000);
	assert_int_equal(live("t:{acme}:cust:10m"), 0);
	for (i = 0; i < 8; i++) {
		snprintf(inst, sizeof(inst), "f%d", i);
		msg_init(&m, "192.0.2.1", "scanner@acme.example", inst);
		assert_int_equal(rcpt(qs, c, &m, "x@dest.example"), QUOTA_OK);
	}
	quota_sync_free(qs);
	conf_unref(c);
}

/* Commit counts the message once; a surplus reservation is given back. */
static void
test_commit(void **state)
{
	struct rg_conf *c = mkconf();
	struct quota_sync *qs = quota_sync_create(c);
	struct msg m;

	msg_init(&m, "192.0.2.1", "alice@acme.example", "k1");
	assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_OK);
	assert_int_equal(rcpt(qs, c, &m, "b@dest.example"), QUOTA_OK);
	assert_int_equal(rcpt(qs, c, &m, "c@dest.example"), QUOTA_OK);
	assert_int_equal(live("t:{acme}:user:alice@acme.example:msgs"), 1);
	assert_int_equal(commit(qs, c, &m, 3), QUOTA_OK);
	assert_int_equal(live("t:{acme}:user:alice@acme.example:msgs"), 1);
	assert_int_equal(live("t:{acme}:cust:day"), 3);
	assert_int_equal(live("t:{acme}:cust:10m"), 3);
	assert_int_equal(integer("EXISTS %s", "t:{acme}:rsv:k1"), 0);
	/* committed usage outlives the reservation: still there after ttl */
	assert_true(integer("TTL %s", "t:{acme}:cust:day") > 86000);
	assert_true(integer("TTL %s", "t:{acme}:user:alice@acme.example:rcpts") > 86000);

	/* 3 reserved, the MTA accepted 2: one goes back */
	msg_init(&m, "192.0.2.1", "alice@acme.example", "k2");
	assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_OK);
	assert_int_equal(rcpt(qs, c, &m, "b@dest.example"), QUOTA_OK);
	assert_int_equal(rcpt(qs, c, &m, "c@dest.example"), QUOTA_OK);
	assert_int_equal(live("t:{acme}:cust:day"), 6);
	assert_int_equal(commit(qs, c, &m, 2), QUOTA_OK);
	assert_int_equal(live("t:{acme}:cust:day"), 5);
	assert_int_equal(live("t:{acme}:cust:10m"), 5);
	/* the script's cached sums follow every move */
	assert_int_equal(cached("t:{acme}:cust:day"), 5);
	assert_int_equal(cached("t:{acme}:cust:10m"), 5);
	assert_int_equal(cached("t:{acme}:user:alice@acme.example:msgs"), 2);
	assert_int_equal(live("t:{acme}:user:alice@acme.example:msgs"), 2);
	quota_sync_free(qs);
	conf_unref(c);
}

static void
test_release(void **state)
{
	struct rg_conf *c = mkconf();
	struct quota_sync *qs = quota_sync_create(c);
	struct msg m;
	int	i;

	msg_init(&m, "192.0.2.1", "alice@acme.example", "r1");
	for (i = 0; i < 3; i++)
		assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_OK);
	assert_int_equal(live("t:{acme}:cust:10m"), 3);
	m.t.recipient = "";
	assert_int_equal(quota_sync_release(qs, c, &m.t, "acme"), QUOTA_OK);
	assert_int_equal(live("t:{acme}:cust:10m"), 0);
	assert_int_equal(cached("t:{acme}:cust:10m"), 0);
	assert_int_equal(live("t:{acme}:cust:day"), 0);
	assert_int_equal(live("t:{acme}:user:alice@acme.example:msgs"), 0);
	assert_int_equal(integer("EXISTS %s", "t:{acme}:rsv:r1"), 0);
	msg_init(&m, "192.0.2.1", "scanner@acme.example", "r2");
	for (i = 0; i < 8; i++)
		assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_OK);
	assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_CUSTOMER_PEAK);
	quota_sync_free(qs);
	conf_unref(c);
}

/* A commit after the reservation expired counts only what still fits. */
static void
test_late_commit(void **state)
{
	struct rg_conf *c = mkconf();
	struct quota_sync *qs = quota_sync_create(c);
	struct msg m, n;
	int	i;

	msg_init(&m, "192.0.2.1", "alice@acme.example", "late1");
	assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_OK);
	assert_int_equal(rcpt(qs, c, &m, "b@dest.example"), QUOTA_OK);
	usleep(2100000);
	assert_int_equal(live("t:{acme}:cust:10m"), 0);
	assert_int_equal(commit(qs, c, &m, 2), QUOTA_OK);
	assert_int_equal(live("t:{acme}:cust:10m"), 2);
	assert_int_equal(live("t:{acme}:user:alice@acme.example:msgs"), 1);
	assert_int_equal(integer("ZCARD %s", "t:{acme}:user:alice@acme.example:rcpts"), 2);

	/* expired again, and meanwhile others took the room: nothing counted */
	msg_init(&m, "192.0.2.1", "scanner@acme.example", "late2");
	for (i = 0; i < 3; i++)
		assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_OK);
	usleep(2100000);
	msg_init(&n, "192.0.2.1", "scanner@acme.example", "late3");
	for (i = 0; i < 6; i++)
		assert_int_equal(rcpt(qs, c, &n, "a@dest.example"), QUOTA_OK);
	/* day: 2 + 6 + 3 > 10 (checked before the 10 minutes: 8 + 3 > 8) */
	assert_int_equal(commit(qs, c, &m, 3), QUOTA_CUSTOMER_DAY);
	assert_int_equal(live("t:{acme}:cust:10m"), 8);

	/* a RCPT that finds its reservation expired claims the old ones again */
	admin_cmd("FLUSHALL");
	msg_init(&m, "192.0.2.1", "scanner@acme.example", "late4");
	for (i = 0; i < 3; i++)
		assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_OK);
	usleep(2100000);
	assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_OK);
	assert_int_equal(live("t:{acme}:cust:10m"), 4);
	assert_int_equal(commit(qs, c, &m, 4), QUOTA_OK);
	assert_int_equal(live("t:{acme}:cust:10m"), 4);
	assert_int_equal(cached("t:{acme}:cust:10m"), 4);
	quota_sync_free(qs);
	conf_unref(c);
}

/* Exactly one EVALSHA per decision; an empty script cache costs one EVAL. */
static void
test_noscript_and_commandstats(void **state)
{
	struct rg_conf *c = mkconf();
	struct quota_sync *qs = quota_sync_create(c);
	redisContext *a = admin();
	redisReply *r;
	struct msg m;

	msg_init(&m, "192.0.2.1", "alice@acme.example", "n1");
	assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_OK);
	freeReplyObject(redisCommand(a, "SCRIPT FLUSH"));
	freeReplyObject(redisCommand(a, "CONFIG RESETSTAT"));
	assert_int_equal(rcpt(qs, c, &m, "b@dest.example"), QUOTA_OK);
	r = redisCommand(a, "INFO commandstats");
	assert_string_contains(r->str, "cmdstat_evalsha:calls=1,");
	assert_string_contains(r->str, "cmdstat_eval:calls=1,");
	freeReplyObject(r);

	freeReplyObject(redisCommand(a, "CONFIG RESETSTAT"));
	assert_int_equal(rcpt(qs, c, &m, "c@dest.example"), QUOTA_OK);
	r = redisCommand(a, "INFO commandstats");
	assert_string_contains(r->str, "cmdstat_evalsha:calls=1,");
	assert_null(strstr(r->str, "cmdstat_eval:"));
	assert_null(strstr(r->str, "cmdstat_script"));
	freeReplyObject(r);

	freeReplyObject(redisCommand(a, "CONFIG RESETSTAT"));
	assert_int_equal(commit(qs, c, &m, 3), QUOTA_OK);
	r = redisCommand(a, "INFO commandstats");
	assert_string_contains(r->str, "cmdstat_evalsha:calls=1,");
	assert_null(strstr(r->str, "cmdstat_eval:"));
	freeReplyObject(r);
	redisFree(a);
	quota_sync_free(qs);
	conf_unref(c);
}

/* Commands the script ran since CONFIG RESETSTAT (EVALSHA itself not counted). */
static long
script_commands(redisContext *a)
{
	redisReply *r = redisCommand(a, "INFO commandstats");
	const char *p = r ? r->str : "";
	long	n = 0;

	while ((p = strstr(p, "cmdstat_")) != NULL) {
		const char *calls = strstr(p, ":calls=");

		if (strncmp(p, "cmdstat_evalsha:", 16) != 0 && strncmp(p, "cmdstat_config", 14) != 0
		    && strncmp(p, "cmdstat_info:", 13) != 0 && calls)
			n += strtol(calls + 7, NULL, 10);
		p += 8;
	}
	freeReplyObject(r);
	freeReplyObject(redisCommand(a, "CONFIG RESETSTAT"));
	return (n);
}

/* What one decision costs inside Redis (BENCHMARKS.md): at most 8 commands
 * for a RCPT or a commit of a sender that is not a registered user. */
static void
test_script_commands(void **state)
{
	struct rg_conf *c = mkconf_full(NULL, 300, NULL, 900, NULL);
	struct quota_sync *qs = quota_sync_create(c);
	redisContext *a = admin();
	struct msg m;
	long	n;

	msg_init(&m, "192.0.2.1", "news@acme.example", "c1");
	assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_OK);	/* warm: keys exist */
	assert_int_equal(commit(qs, c, &m, 1), QUOTA_OK);
	msg_init(&m, "192.0.2.1", "news@acme.example", "c2");
	freeReplyObject(redisCommand(a, "CONFIG RESETSTAT"));
	assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_OK);
	n = script_commands(a);
	assert_true(n >= 6 && n <= 8);
	assert_int_equal(rcpt(qs, c, &m, "b@dest.example"), QUOTA_OK);
	assert_true(script_commands(a) <= 7);
	assert_int_equal(commit(qs, c, &m, 2), QUOTA_OK);
	assert_true(script_commands(a) <= 8);
	/* a registered user whose keys exist: first RCPT, a later one, commit */
	msg_init(&m, "192.0.2.1", "alice@acme.example", "c3");
	assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_OK);
	assert_int_equal(commit(qs, c, &m, 1), QUOTA_OK);
	freeReplyObject(redisCommand(a, "CONFIG RESETSTAT"));
	msg_init(&m, "192.0.2.1", "alice@acme.example", "c4");
	assert_int_equal(rcpt(qs, c, &m, "b@dest.example"), QUOTA_OK);
	n = script_commands(a);
	if (n > 13)
		fail_msg("user first RCPT: %ld commands", n);
	assert_int_equal(rcpt(qs, c, &m, "c@dest.example"), QUOTA_OK);
	assert_true(script_commands(a) <= 10);
	assert_int_equal(commit(qs, c, &m, 2), QUOTA_OK);
	assert_true(script_commands(a) <= 11);
	assert_int_equal(live("t:{acme}:cust:day"), 6);
	redisFree(a);
	quota_sync_free(qs);
	conf_unref(c);
}

/*
 * Keys an older script wrote (no cached sum, no field x): the new one
 * counts them, and never shortens their expiry, so usage committed
 * before an upgrade keeps counting its full 24 h.
 */
static void
test_upgrade_keys(void **state)
{
	struct rg_conf *c = mkconf_full(NULL, 300, NULL, 900, NULL);
	struct quota_sync *qs = quota_sync_create(c);
	redisContext *a = admin();
	long	far = (long) redis_now(a) + 80000;
	redisReply *r;
	struct msg m;

	freeReplyObject(redisCommand(a, "HSET t:{acme}:cust:day %ld 4", far));
	freeReplyObject(redisCommand(a, "EXPIREAT t:{acme}:cust:day %ld", far));
	freeReplyObject(redisCommand(a, "HSET t:{acme}:cust:10m %ld 2 s 2 t %ld", far - 79600,
				     far - 79600));
	freeReplyObject(redisCommand(a, "EXPIREAT t:{acme}:cust:10m %ld", far - 79600));
	msg_init(&m, "192.0.2.1", "news@acme.example", "u1");
	assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_OK);
	r = redisCommand(a, "EXPIRETIME t:{acme}:cust:day");
	assert_int_equal(r->integer, far);	/* not shortened to the reservation's end */
	freeReplyObject(r);
	assert_int_equal(commit(qs, c, &m, 1), QUOTA_OK);
	assert_int_equal(live("t:{acme}:cust:day"), 5);
	assert_int_equal(cached("t:{acme}:cust:day"), 5);
	assert_int_equal(cached("t:{acme}:cust:10m"), 3);
	/* committed: the key now lives as long as the new 24 h bucket */
	assert_true(integer("TTL %s", "t:{acme}:cust:day") > 86000);
	/* 10 min: the reservation bucket lives longer, so the key does too */
	assert_true(integer("TTL %s", "t:{acme}:cust:10m") > 600);
	/* the limit still counts the old usage: 10 a day */
	assert_int_equal(send1(qs, c, "192.0.2.1", "news@acme.example", "b@dest.example", 2),
			 QUOTA_OK);
	assert_int_equal(send1(qs, c, "192.0.2.1", "news@acme.example", "c@dest.example", 3),
			 QUOTA_OK);
	assert_int_equal(live("t:{acme}:cust:day"), 7);
	redisFree(a);
	quota_sync_free(qs);
	conf_unref(c);
}

static void
test_apply(void **state)
{
	const char *modes[] = { "tempfail", "accept", "reject" };
	const char *want[] = { "451 4.3.0 Relay policy temporarily unavailable.", "",
	"550 5.3.0 Relay policy unavailable." };
	struct msg m;
	int	i;

	for (i = 0; i < 3; i++) {
		struct rg_conf *c = mkconf_full(NULL, 100, NULL, 900, modes[i]);

		msg_init(&m, "192.0.2.1", "alice@acme.example", "a");
		msg_decide(&m, c, "x@dest.example");
		quota_apply(c, &m.v, QUOTA_BACKEND_ERROR);
		assert_string_equal(m.v.reply, want[i]);
		assert_int_equal(m.v.code, i == 0 ? 451 : i == 1 ? 0 : 550);
		assert_int_equal(m.v.cls, i == 1 ? RG_ACCEPT : RG_BACKEND_ERROR);
		msg_decide(&m, c, "x@dest.example");
		quota_apply(c, &m.v, QUOTA_OK);
		assert_int_equal(m.v.code, 0);
		conf_unref(c);
	}
	assert_string_equal(quota_result_name(QUOTA_CUSTOMER_PEAK), "customer_peak");
	assert_string_equal(quota_result_name(QUOTA_BACKEND_ERROR), "backend_error");
}

/* Values no code path makes fail closed: a tempfail, never an accept. */
static void
test_apply_impossible(void **state)
{
	struct rg_conf *c = mkconf_full(NULL, 100, NULL, 900, "accept");
	struct msg m;

	msg_init(&m, "192.0.2.1", "alice@acme.example", "a");
	msg_decide(&m, c, "x@dest.example");
	c->on_backend_error = BACKEND_TEMPFAIL;
	quota_apply(c, &m.v, (enum quota_result) 42);
	assert_int_equal(m.v.code, 451);
	assert_int_equal(m.v.cls, RG_BACKEND_ERROR);
	msg_decide(&m, c, "x@dest.example");
	c->on_backend_error = (enum rg_backend_error) 9;
	quota_apply(c, &m.v, QUOTA_BACKEND_ERROR);
	assert_int_equal(m.v.code, 451);
	assert_string_equal(m.v.reply, "451 4.3.0 Relay policy temporarily unavailable.");
	assert_string_equal(quota_result_name((enum quota_result) 42), "unknown");
	conf_unref(c);
}

static void
test_show_reset(void **state)
{
	struct rg_conf *c = mkconf();
	struct quota_sync *qs = quota_sync_create(c);
	struct rlink_sync l = { 0 };		/* relayguardctl's link */
	char	buf[4096];
	FILE   *fp;
	int	i;

	for (i = 0; i < 3; i++)
		assert_int_equal(send1(qs, c, "192.0.2.1", "alice@acme.example", "a@dest.example", i),
				 QUOTA_OK);
	fp = fmemopen(buf, sizeof(buf), "w");
	assert_int_equal(ctl_quota_show(&l, c, "alice@acme.example", fp), 0);
	fclose(fp);
	assert_string_contains(buf, "user alice@acme.example (customer acme)\n  user_messages_per_day ");
	assert_string_contains(buf, " 3 of 3 used, 0 left; ");
	assert_string_contains(buf, " in 24h");
	assert_string_contains(buf, "user_recipients_per_day        1 of 4 used, 3 left; 1 free in 2");
	assert_string_contains(buf, "customer acme (paid, 10 licences)\n  customer_recipients_per_day ");
	assert_string_contains(buf, " 3 of 10 used, 7 left; ");
	assert_string_contains(buf, " 3 of 8 used, 5 left; ");
	assert_string_contains(buf, " in 10m");
	fp = fmemopen(buf, sizeof(buf), "w");
	assert_int_equal(ctl_quota_show(&l, c, "acme", fp), 0);
	fclose(fp);
	assert_null(strstr(buf, "user "));
	assert_string_contains(buf, "customer acme (paid, 10 licences)");
	assert_int_equal(ctl_quota_show(&l, c, "nobody@nowhere.example", stdout), -1);

	assert_int_equal(ctl_quota_reset(&l, c, "alice@acme.example"), 0);
	assert_int_equal(live("t:{acme}:user:alice@acme.example:msgs"), 0);
	assert_int_equal(live("t:{acme}:cust:day"), 3);
	assert_int_equal(send1(qs, c, "192.0.2.1", "alice@acme.example", "a@dest.example", 9),
			 QUOTA_OK);
	assert_int_equal(ctl_quota_reset(&l, c, "acme"), 0);
	assert_int_equal(integer("DBSIZE%s", ""), 0);
	quota_sync_free(qs);
	rlink_sync_close(&l);
	conf_unref(c);
}

/* A hanging Redis (SIGSTOP): the blocking API gives up after timeout_ms. */
static void
test_sync_timeout(void **state)
{
	struct rg_conf *c = mkconf();
	struct quota_sync *qs = quota_sync_create(c);
	struct msg m;
	double	t0, dt;

	msg_init(&m, "192.0.2.1", "alice@acme.example", "s1");
	assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_OK);
	kill(redis_pid, SIGSTOP);
	t0 = now_s();
	assert_int_equal(rcpt(qs, c, &m, "b@dest.example"), QUOTA_BACKEND_ERROR);
	dt = now_s() - t0;
	assert_true(dt < 0.300 + 0.3);
	/* a fresh connection to the stopped server too */
	t0 = now_s();
	assert_int_equal(rcpt(qs, c, &m, "b@dest.example"), QUOTA_BACKEND_ERROR);
	assert_true(now_s() - t0 < 0.300 * 2 + 0.3);
	kill(redis_pid, SIGCONT);
	assert_int_equal(rcpt(qs, c, &m, "c@dest.example"), QUOTA_OK);

	/* Redis restarted: the stale connection is replaced transparently. */
	redis_stop();
	redis_start();
	assert_int_equal(rcpt(qs, c, &m, "d@dest.example"), QUOTA_OK);
	/* Redis gone: an error, not a hang */
	redis_stop();
	t0 = now_s();
	assert_int_equal(rcpt(qs, c, &m, "e@dest.example"), QUOTA_BACKEND_ERROR);
	assert_true(now_s() - t0 < 0.5);
	redis_start();
	quota_sync_free(qs);
	conf_unref(c);
}

/* AUTH from password_file (both forms) and SELECT of database. */
static void
test_auth_database(void **state)
{
	char	path[300], extra[400];
	struct rg_conf *c;
	struct quota_sync *qs;
	struct msg m;
	FILE   *fp;

	snprintf(path, sizeof(path), "%s/pw", tmpdir);
	admin_cmd("ACL SETUSER relay on >relaypw ~* &* +@all");
	fp = fopen(path, "w");
	fputs("relay relaypw\n", fp);
	fclose(fp);
	snprintf(extra, sizeof(extra), "password_file = \"%s\" database = 3", path);
	c = mkconf_full(NULL, 300, extra, 900, NULL);
	admin_cmd("CONFIG SET requirepass defaultpw");
	qs = quota_sync_create(c);
	msg_init(&m, "192.0.2.1", "alice@acme.example", "auth1");
	assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_OK);
	quota_sync_free(qs);
	conf_unref(c);

	/* just a password: the default user */
	fp = fopen(path, "w");
	fputs("defaultpw\n", fp);
	fclose(fp);
	c = mkconf_full(NULL, 300, extra, 900, NULL);
	qs = quota_sync_create(c);
	assert_int_equal(rcpt(qs, c, &m, "b@dest.example"), QUOTA_OK);
	quota_sync_free(qs);
	conf_unref(c);

	/* no password: refused by the server */
	c = mkconf_full(NULL, 300, "database = 3", 900, NULL);
	qs = quota_sync_create(c);
	assert_int_equal(rcpt(qs, c, &m, "c@dest.example"), QUOTA_BACKEND_ERROR);
	quota_sync_free(qs);
	conf_unref(c);
	{
		redisContext *a = admin();
		redisReply *r;

		freeReplyObject(redisCommand(a, "AUTH defaultpw"));
		r = redisCommand(a, "SELECT 3");
		freeReplyObject(r);
		r = redisCommand(a, "EXISTS t:{acme}:rsv:auth1");
		assert_int_equal(r->integer, 1);
		freeReplyObject(r);
		freeReplyObject(redisCommand(a, "SELECT 0"));
		r = redisCommand(a, "DBSIZE");
		assert_int_equal(r->integer, 0);
		freeReplyObject(r);
		freeReplyObject(redisCommand(a, "CONFIG SET requirepass %s", ""));
		freeReplyObject(redisCommand(a, "ACL DELUSER relay"));
		redisFree(a);
	}
	unlink(path);
}

/* host:port and [v6]:port servers */
static void
test_tcp(void **state)
{
	char	srv[64];
	const char *fmt[] = { "127.0.0.1:%d", "[::1]:%d", "localhost:%d" };
	struct rg_conf *c;
	struct quota_sync *qs;
	struct msg m;
	int	i;

	for (i = 0; i < 3; i++) {
		snprintf(srv, sizeof(srv), fmt[i], port);
		c = mkconf_full(srv, 300, NULL, 900, NULL);
		qs = quota_sync_create(c);
		msg_init(&m, "192.0.2.1", "alice@acme.example", srv);
		assert_int_equal(rcpt(qs, c, &m, "a@dest.example"), QUOTA_OK);
		quota_sync_free(qs);
		conf_unref(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_sha, setup),
		cmocka_unit_test_setup(test_cfg_parse, setup),
		cmocka_unit_test_setup(test_sync_generation, setup),
		cmocka_unit_test_setup(test_unique_recipients, setup),
		cmocka_unit_test_setup(test_user_messages, setup),
		cmocka_unit_test_setup(test_user_recipients_order, setup),
		cmocka_unit_test_setup(test_customer_limits, setup),
		cmocka_unit_test_setup(test_unpaid_tier, setup),
		cmocka_unit_test_setup(test_reservation_expires, setup),
		cmocka_unit_test_setup(test_commit, setup),
		cmocka_unit_test_setup(test_release, setup),
		cmocka_unit_test_setup(test_late_commit, setup),
		cmocka_unit_test_setup(test_noscript_and_commandstats, setup),
		cmocka_unit_test_setup(test_script_commands, setup),
		cmocka_unit_test_setup(test_upgrade_keys, setup),
		cmocka_unit_test_setup(test_apply, setup),
		cmocka_unit_test_setup(test_apply_impossible, setup),
		cmocka_unit_test_setup(test_show_reset, setup),
		cmocka_unit_test_setup(test_sync_timeout, setup),
		cmocka_unit_test_setup(test_auth_database, setup),
		cmocka_unit_test_setup(test_tcp, setup),
	};

	return (cmocka_run_group_tests(tests, group_setup, group_teardown));
}
