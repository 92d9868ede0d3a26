/*
 * test_txn - the engine's transaction, through both quota interfaces
 *
 * The same-verdicts table (tests/milter/verdicts.table, one RCPT a row,
 * rows of one transaction together) is run through txn_rcpt() with the
 * asynchronous quota client (policyd's, on a libevent loop) and the
 * blocking one (the milter's), quotas on, against a real redis-server,
 * with the configuration tests/milter/lib.sh writes for the integration
 * runs of the same table.  Every class of DESIGN 3 is covered: the
 * table's, and here the quota limits, Redis down, a late commit over the
 * limit at end of message (refused in both), abort, and rewrite mode.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include "unit.h"

#include <event2/event.h>
#include <sys/time.h>
#include <time.h>

#include "conf.h"
#include "quota.h"
#include "relay.h"
#include "txn.h"

#define FIXTURE_NAME "test_txn"
#include "redis_fixture.h"

/* ------------------------------------------------------------ harness */

enum impl { ASYNC, BLOCKING };

static struct event_base *base;
static struct quota *aq;		/* the async client of the current conf */
static struct quota_sync *bq;		/* the blocking client */

static struct quota_sync *
lend(const struct rg_conf *c, void **token)
{
	(void) c;
	*token = NULL;
	return (bq);
}

static void
give_back(struct quota_sync *qs, void *token)
{
	(void) qs;
	(void) token;
}

struct answer {
	int	calls;
	struct rg_verdict v;
};

static void
on_answer(void *arg, struct txn *x, const struct rg_verdict *v)
{
	struct answer *a = arg;

	(void) x;
	a->calls++;
	a->v = *v;
}

static double
now_s(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (tv.tv_sec + tv.tv_usec / 1e6);
}

static void
wait_answer(struct answer *a)
{
	double	end = now_s() + 5;

	if (base == NULL)
		return;
	quota_flush(aq);
	while (a->calls == 0 && now_s() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(500);
}

/* A quota interface of the kind asked for, on this configuration. */
static struct txn_quota *
impl_new(enum impl k, struct rg_conf *c)
{
	if (k == ASYNC) {
		base = event_base_new();
		aq = quota_create(base, c);
		return (txn_quota_async(aq));
	}
	bq = quota_sync_create(c);
	return (txn_quota_blocking(lend, give_back));
}

static void
impl_free(struct txn_quota *tq)
{
	txn_quota_free(tq);
	if (aq)
		quota_free(aq);
	if (base)
		event_base_free(base);
	if (bq)
		quota_sync_free(bq);
	aq = NULL;
	base = NULL;
	bq = NULL;
}

/* The reply of one RCPT: "OK" or the refusal text. */
static const char *
rcpt(struct txn *x, const char *to, char *buf, size_t len)
{
	struct answer a = { 0 };

	txn_rcpt(x, to, on_answer, &a);
	wait_answer(&a);
	assert_int_equal(a.calls, 1);
	snprintf(buf, len, "%s", a.v.code == 0 ? "OK" : a.v.reply);
	return (buf);
}

static const char *
eom(struct txn *x, unsigned count, char *buf, size_t len)
{
	struct answer a = { 0 };

	txn_eom(x, count, on_answer, &a);
	wait_answer(&a);
	assert_int_equal(a.calls, 1);
	snprintf(buf, len, "%s", a.v.code == 0 ? "OK" : a.v.reply);
	return (buf);
}

static struct txn *
begin(struct rg_conf *c, enum txn_mode mode, struct txn_quota *tq, const char *inst,
      const char *client, const char *helo, const char *sasl, int tls, const char *from)
{
	struct txn *x = txn_new(c, mode, tq);

	txn_facts(x, &(struct txn_facts) { .instance = inst, .client = client, .helo = helo,
		  .sasl = sasl, .tls = tls, .sender = from });
	return (x);
}

static void
flush_redis(void)
{
	redisContext *a = admin();
	redisReply *r = redisCommand(a, "FLUSHALL");

	freeReplyObject(r);
	redisFree(a);
}

/* ------------------------------------------------------------ the table */

#define TABLE	"tests/milter/verdicts.table"
#define MAXROWS	200

struct row {
	char	txn[16], client[64], helo[128], sasl[128], sender[256], rcpt[256];
	int	tls;
	char	want[600];
};

static struct row rows[MAXROWS];
static size_t nrows;
static char confdir[300];

static void
table_load(void)
{
	FILE   *fp = fopen(TABLE, "r");
	char	line[2048];

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) && nrows < MAXROWS) {
		struct row *r = &rows[nrows];
		char   *f[8], *p = line;
		int	i;

		line[strcspn(line, "\n")] = 0;
		if (*line == '#' || *line == 0)
			continue;
		for (i = 0; i < 8; i++)
			f[i] = strsep(&p, "|");
		assert_non_null(f[7]);
		snprintf(r->txn, sizeof(r->txn), "%s", f[0]);
		snprintf(r->client, sizeof(r->client), "%s", f[1]);
		snprintf(r->helo, sizeof(r->helo), "%s", f[2]);
		snprintf(r->sasl, sizeof(r->sasl), "%s", f[3]);
		r->tls = atoi(f[4]);
		snprintf(r->sender, sizeof(r->sender), "%s", f[5]);
		snprintf(r->rcpt, sizeof(r->rcpt), "%s", f[6]);
		snprintf(r->want, sizeof(r->want), "%s", f[7]);
		nrows++;
	}
	fclose(fp);
	assert_true(nrows > 20);
}

/* The table's configuration, as tests/milter/lib.sh writes it, quotas on. */
static struct rg_conf *
table_conf(void)
{
	char	cmd[1200], path[400], err[512];
	struct rg_conf *c;
	FILE   *fp;

	snprintf(confdir, sizeof(confdir), "%s/table", tmpdir);
	snprintf(path, sizeof(path), "%s/extra", confdir);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", confdir);
	assert_int_equal(system(cmd), 0);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "redis { server = \"unix:%s\" prefix = \"t\" timeout_ms = 2000 }\n", sock);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "TMP='%s' bash -c '. tests/lib/common.sh; . tests/milter/lib.sh;"
		 " milter_conf enforce unix:/nonexistent %s' > '%s/t.conf'", confdir, path, confdir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/t.conf", confdir);
	c = conf_load(path, err, sizeof(err));
	if (c == NULL)
		fail_msg("table config: %s", err);
	assert_true(c->quotas);
	return (c);
}

/* Rewrite mode enforces the null-sender limit and the TLS rule only. */
static const char *
rewrite_want(const struct row *r)
{
	if (strncmp(r->want, "452 4.5.3", 9) == 0 || strncmp(r->want, "530 5.7.0", 9) == 0)
		return (r->want);
	return ("OK");
}

static void
run_table(enum impl k, enum txn_mode mode)
{
	struct rg_conf *c = table_conf();
	struct txn_quota *tq = impl_new(k, c);
	struct txn *x = NULL;
	char	buf[700], inst[96];
	const char *cur = "", *want;
	size_t	i;

	flush_redis();
	for (i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		if (strcmp(cur, r->txn) != 0) {
			if (x) {
				eom(x, 0, buf, sizeof(buf));
				txn_free(x);
			}
			snprintf(inst, sizeof(inst), "%.16s.%d.%d", r->txn, (int) k, (int) mode);
			x = begin(c, mode, tq, inst, r->client, r->helo, r->sasl, r->tls,
				  strcmp(r->sender, "<>") == 0 ? "" : r->sender);
			cur = r->txn;
		}
		want = mode == TXN_DECIDE ? r->want : rewrite_want(r);
		rcpt(x, r->rcpt, buf, sizeof(buf));
		if (strcmp(buf, want) != 0)
			fail_msg("%s %s (%s, %s): got \"%s\"\n  expected \"%s\"", r->txn, r->rcpt,
				 k == ASYNC ? "async" : "blocking",
				 mode == TXN_DECIDE ? "decide" : "rewrite", buf, want);
	}
	eom(x, 0, buf, sizeof(buf));
	txn_free(x);
	impl_free(tq);
	conf_unref(c);
}

static void
test_table_async(void **state)
{
	(void) state;
	run_table(ASYNC, TXN_DECIDE);
}

static void
test_table_blocking(void **state)
{
	(void) state;
	run_table(BLOCKING, TXN_DECIDE);
}

static void
test_table_rewrite(void **state)
{
	(void) state;
	run_table(BLOCKING, TXN_REWRITE);
}

/* ------------------------------------------------------------ quotas */

static const char quota_conf[] =
"redis { server = \"unix:%s\" prefix = \"t\" timeout_ms = 2000 }\n"
"reservation_ttl = %d\n"
"customer \"q\" {\n"
"  domains = { \"q.example\" }\n"
"  licenses = 10\n"
"  users = { \"alice@q.example\" }\n"
"  limits { user_recipients_per_day = 2 customer_recipients_per_day = 3\n"
"           customer_recipients_per_10min = 100 }\n"
"  relay \"office\" { allowed_senders = \"domain_addresses\"\n"
"                   ip \"office\" { range = \"192.0.2.0/24\" } }\n"
"}\n"
"customer \"p\" {\n"
"  domains = { \"p.example\" }\n"
"  licenses = 10\n"
"  limits { customer_recipients_per_day = 100 customer_recipients_per_10min = 1 }\n"
"  relay \"office\" { allowed_senders = \"domain_addresses\"\n"
"                   ip \"office\" { range = \"198.51.100.0/24\" } }\n"
"}\n";

#define Q_USER	"550 5.4.5 Daily SMTP relay limit exceeded for user."
#define Q_DAY	"550 5.7.1 Daily SMTP relay limit exceeded for customer."
#define Q_PEAK	"450 4.2.1 Peak SMTP relay limit exceeded for customer."
#define Q_DOWN	"451 4.3.0 Relay policy temporarily unavailable."

static struct rg_conf *
qconf(const char *server_sock, int ttl)
{
	char	text[4096], err[512];
	struct rg_conf *c;

	snprintf(text, sizeof(text), quota_conf, server_sock, ttl);
	c = conf_load_buf(text, "q.conf", err, sizeof(err));
	if (c == NULL)
		fail_msg("config: %s", err);
	return (c);
}

static void
run_limits(enum impl k)
{
	struct rg_conf *c = qconf(sock, 900);
	struct txn_quota *tq = impl_new(k, c);
	struct txn *x;
	char	b[700];

	flush_redis();
	/* user: two unique recipients; then the customer's day: three */
	x = begin(c, TXN_DECIDE, tq, "u1", "192.0.2.1", "h.q.example", "", 0, "alice@q.example");
	assert_string_equal(rcpt(x, "a@dest.example", b, sizeof(b)), "OK");
	assert_string_equal(rcpt(x, "b@dest.example", b, sizeof(b)), "OK");
	assert_string_equal(rcpt(x, "c@dest.example", b, sizeof(b)), Q_USER);
	assert_int_equal(txn_accepted_count(x), 2);
	assert_string_equal(eom(x, 0, b, sizeof(b)), "OK");
	txn_free(x);
	x = begin(c, TXN_DECIDE, tq, "u2", "192.0.2.1", "h.q.example", "", 0, "other@q.example");
	assert_string_equal(rcpt(x, "d@dest.example", b, sizeof(b)), "OK");
	assert_string_equal(rcpt(x, "e@dest.example", b, sizeof(b)), Q_DAY);
	assert_string_equal(eom(x, 0, b, sizeof(b)), "OK");
	txn_free(x);
	/* the 10-minute window: one */
	x = begin(c, TXN_DECIDE, tq, "p1", "198.51.100.1", "h.p.example", "", 0, "x@p.example");
	assert_string_equal(rcpt(x, "a@dest.example", b, sizeof(b)), "OK");
	assert_string_equal(rcpt(x, "b@dest.example", b, sizeof(b)), Q_PEAK);
	txn_free(x);			/* no end of message: the reservation expires */
	impl_free(tq);
	conf_unref(c);
}

static void
test_limits_async(void **state)
{
	(void) state;
	run_limits(ASYNC);
}

static void
test_limits_blocking(void **state)
{
	(void) state;
	run_limits(BLOCKING);
}

/* Redis unreachable: on_backend_error (tempfail) answers, in both. */
static void
run_down(enum impl k)
{
	char	dead[400];
	struct rg_conf *c;
	struct txn_quota *tq;
	struct txn *x;
	char	b[700];

	snprintf(dead, sizeof(dead), "%s/nobody.sock", tmpdir);
	c = qconf(dead, 900);
	tq = impl_new(k, c);
	x = begin(c, TXN_DECIDE, tq, "d1", "192.0.2.1", "h.q.example", "", 0, "x@q.example");
	assert_string_equal(rcpt(x, "a@dest.example", b, sizeof(b)), Q_DOWN);
	assert_int_equal(txn_accepted_count(x), 0);
	assert_string_equal(eom(x, 0, b, sizeof(b)), "OK");	/* nothing to commit */
	txn_free(x);
	impl_free(tq);
	conf_unref(c);
}

static void
test_down_async(void **state)
{
	(void) state;
	run_down(ASYNC);
}

static void
test_down_blocking(void **state)
{
	(void) state;
	run_down(BLOCKING);
}

/*
 * A commit after its reservation expired, when the recipients no longer
 * fit, is refused at end of message by both (policyd used to log it and
 * accept); abort gives a reservation back at once.
 */
static void
run_late_commit(enum impl k)
{
	struct rg_conf *c = qconf(sock, 1);
	struct txn_quota *tq = impl_new(k, c);
	struct txn *a, *b;
	char	buf[700];

	flush_redis();
	a = begin(c, TXN_DECIDE, tq, "late-a", "192.0.2.1", "h.q.example", "", 0, "x@q.example");
	assert_string_equal(rcpt(a, "1@dest.example", buf, sizeof(buf)), "OK");
	assert_string_equal(rcpt(a, "2@dest.example", buf, sizeof(buf)), "OK");
	sleep(3);				/* a's reservation (ttl 1 s) is gone */
	b = begin(c, TXN_DECIDE, tq, "late-b", "192.0.2.1", "h.q.example", "", 0, "y@q.example");
	assert_string_equal(rcpt(b, "3@dest.example", buf, sizeof(buf)), "OK");
	assert_string_equal(rcpt(b, "4@dest.example", buf, sizeof(buf)), "OK");
	assert_string_equal(eom(b, 0, buf, sizeof(buf)), "OK");
	txn_free(b);
	assert_string_equal(eom(a, 0, buf, sizeof(buf)), Q_DAY);
	txn_free(a);
	/* abort: the reservation comes back at once (3 of 3 would be full) */
	a = begin(c, TXN_DECIDE, tq, "ab-a", "192.0.2.1", "h.q.example", "", 0, "x@q.example");
	assert_string_equal(rcpt(a, "5@dest.example", buf, sizeof(buf)), "OK");
	b = begin(c, TXN_DECIDE, tq, "ab-b", "192.0.2.1", "h.q.example", "", 0, "x@q.example");
	assert_string_equal(rcpt(b, "6@dest.example", buf, sizeof(buf)), Q_DAY);
	txn_abort(a);
	if (base)
		for (int i = 0; i < 200 && txn_busy(a); i++)
			quota_flush(aq), event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK),
				usleep(1000);
	assert_false(txn_busy(a));
	txn_free(a);
	assert_string_equal(rcpt(b, "7@dest.example", buf, sizeof(buf)), "OK");
	txn_free(b);
	impl_free(tq);
	conf_unref(c);
}

static void
test_late_commit_async(void **state)
{
	(void) state;
	run_late_commit(ASYNC);
}

static void
test_late_commit_blocking(void **state)
{
	(void) state;
	run_late_commit(BLOCKING);
}

/* End of message on a connection that saw no RCPT finds the customer anew. */
static void
test_eom_elsewhere(void **state)
{
	struct rg_conf *c = qconf(sock, 900);
	struct txn_quota *tq = impl_new(ASYNC, c);
	struct txn *a, *b;
	char	buf[700];
	redisContext *r;
	redisReply *rep;

	(void) state;
	flush_redis();
	a = begin(c, TXN_DECIDE, tq, "moved", "192.0.2.1", "h.q.example", "", 0, "x@q.example");
	assert_string_equal(rcpt(a, "1@dest.example", buf, sizeof(buf)), "OK");
	txn_free(a);				/* the connection went away */
	b = begin(c, TXN_DECIDE, tq, "moved", "192.0.2.1", "h.q.example", "", 0, "x@q.example");
	assert_string_equal(eom(b, 1, buf, sizeof(buf)), "OK");
	txn_free(b);
	r = admin();
	rep = redisCommand(r, "EXISTS t:{q}:rsv:moved");
	assert_int_equal(rep->integer, 0);	/* committed, not left to expire */
	freeReplyObject(rep);
	redisFree(r);
	impl_free(tq);
	conf_unref(c);
}

/*
 * End of message with a reservation certainly alive: answered at once,
 * the commit goes on by itself (even after txn_free) and lands.
 */
static void
test_eom_fresh(void **state)
{
	struct rg_conf *c = qconf(sock, 900);
	struct txn_quota *tq = impl_new(ASYNC, c);
	struct answer a = { 0 };
	char	buf[700];
	struct txn *x;
	redisContext *r;
	redisReply *rep;
	int	i;

	(void) state;
	flush_redis();
	x = begin(c, TXN_DECIDE, tq, "fresh", "192.0.2.1", "h.q.example", "", 0, "x@q.example");
	assert_string_equal(rcpt(x, "1@dest.example", buf, sizeof(buf)), "OK");
	txn_eom(x, 0, on_answer, &a);
	assert_int_equal(a.calls, 1);		/* no wait for Redis */
	assert_int_equal(a.v.code, 0);
	assert_true(txn_busy(x));		/* the commit is still out */
	txn_free(x);
	quota_flush(aq);
	for (i = 0; i < 200; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
	r = admin();
	rep = redisCommand(r, "EXISTS t:{q}:rsv:fresh");
	assert_int_equal(rep->integer, 0);	/* committed */
	freeReplyObject(rep);
	/* the committed recipient counts in the day window: its one bucket */
	rep = redisCommand(r, "EVAL %s 1 t:{q}:cust:day",
			   "local h = redis.call('HGETALL', KEYS[1]); local n = 0"
			   " for i = 1, #h, 2 do if tonumber(h[i]) then"
			   " n = n + tonumber(h[i + 1]) end end return n");
	assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
	assert_int_equal(rep->integer, 1);
	freeReplyObject(rep);
	redisFree(r);
	impl_free(tq);
	conf_unref(c);
}

/* A transaction let go while its quota call is out goes when it answers. */
static void
test_free_while_busy(void **state)
{
	struct rg_conf *c = qconf(sock, 900);
	struct txn_quota *tq = impl_new(ASYNC, c);
	struct answer a = { 0 };
	struct txn *x;
	int	i;

	(void) state;
	x = begin(c, TXN_DECIDE, tq, "busy", "192.0.2.1", "h.q.example", "", 0, "x@q.example");
	txn_rcpt(x, "1@dest.example", on_answer, &a);
	assert_true(txn_busy(x));
	txn_free(x);				/* ASan: nothing used after this */
	quota_flush(aq);
	for (i = 0; i < 200; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
	assert_int_equal(a.calls, 0);		/* nobody left to tell */
	impl_free(tq);
	conf_unref(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_table_async, setup),
		cmocka_unit_test_setup(test_table_blocking, setup),
		cmocka_unit_test_setup(test_table_rewrite, setup),
		cmocka_unit_test_setup(test_limits_async, setup),
		cmocka_unit_test_setup(test_limits_blocking, setup),
		cmocka_unit_test_setup(test_down_async, setup),
		cmocka_unit_test_setup(test_down_blocking, setup),
		cmocka_unit_test_setup(test_late_commit_async, setup),
		cmocka_unit_test_setup(test_late_commit_blocking, setup),
		cmocka_unit_test_setup(test_eom_elsewhere, setup),
		cmocka_unit_test_setup(test_free_while_busy, setup),
		cmocka_unit_test_setup(test_eom_fresh, setup),
	};

	table_load();
	return (cmocka_run_group_tests(tests, group_setup, group_teardown));
}
