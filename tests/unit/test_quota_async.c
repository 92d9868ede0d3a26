/*
 * test_quota_async - the event-driven quota client (quota.c) and the
 * reply reader, against a real redis-server started here: callbacks never
 * synchronous, timeouts with a SIGSTOPped server, recovery, restart, the
 * pending-call cap and quota_free(), reconfiguration; the reader's
 * element cap and replies of every type (RESP3 too) refused, also by
 * quota show and reset talking to a broken server.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include "unit.h"

#define FIXTURE_NAME "test_quota_async"
#include "quota_fixture.h"

/* ---------------------------------------------------------------- async */

struct done {
	int	calls;
	enum quota_result r;
	double	at;
};

static void
on_done(void *arg, enum quota_result r)
{
	struct done *d = arg;

	d->calls++;
	d->r = r;
	d->at = now_s();
}

/* Run the loop until d is answered or secs pass. */
static void
wait_done(struct event_base *base, struct done *d, double secs)
{
	double	end = now_s() + secs;

	while (d->calls == 0 && now_s() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
}

static enum quota_result
async_rcpt(struct event_base *base, struct quota *q, const struct rg_conf *c, struct msg *m,
	   const char *to, double *took)
{
	struct done d = { 0, QUOTA_OK, 0 };
	double	t0 = now_s();

	msg_decide(m, c, to);
	quota_reserve(q, c, &m->t, &m->v, on_done, &d);
	assert_int_equal(d.calls, 0);		/* never inside the call */
	wait_done(base, &d, 5);
	assert_int_equal(d.calls, 1);
	if (took)
		*took = d.at - t0;
	/* and never twice */
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(d.calls, 1);
	return (d.r);
}

/* Retry until OK (the daemon recovers by itself) or secs pass. */
static int
async_recovers(struct event_base *base, struct quota *q, const struct rg_conf *c,
	       struct msg *m, double secs)
{
	double	end = now_s() + secs;

	while (now_s() < end) {
		if (async_rcpt(base, q, c, m, "rec@dest.example", NULL) == QUOTA_OK)
			return (1);
		usleep(20000);
	}
	return (0);
}

static void
test_async(void **state)
{
	struct event_base *base = event_base_new();
	struct rg_conf *c = mkconf();
	struct quota *q = quota_create(base, c);
	struct msg m;
	struct done d = { 0, QUOTA_OK, 0 };
	double	took;

	msg_init(&m, "192.0.2.1", "alice@acme.example", "as1");
	assert_int_equal(async_rcpt(base, q, c, &m, "a@dest.example", NULL), QUOTA_OK);
	assert_int_equal(async_rcpt(base, q, c, &m, "b@dest.example", NULL), QUOTA_OK);
	m.t.rcpt_count = 2;
	quota_commit(q, c, &m.t, "acme", on_done, &d);
	assert_int_equal(d.calls, 0);
	wait_done(base, &d, 5);
	assert_int_equal(d.r, QUOTA_OK);
	assert_int_equal(live("t:{acme}:cust:day"), 2);
	assert_int_equal(live("t:{acme}:user:alice@acme.example:msgs"), 1);

	/* limits through the async path */
	msg_init(&m, "192.0.2.1", "alice@acme.example", "as2");
	assert_int_equal(async_rcpt(base, q, c, &m, "c@dest.example", NULL), QUOTA_OK);
	assert_int_equal(async_rcpt(base, q, c, &m, "d@dest.example", NULL), QUOTA_OK);
	assert_int_equal(async_rcpt(base, q, c, &m, "e@dest.example", NULL), QUOTA_USER);

	/* empty script cache */
	admin_cmd("SCRIPT FLUSH");
	assert_int_equal(async_rcpt(base, q, c, &m, "a@dest.example", NULL), QUOTA_OK);

	/* hanging Redis: an answer within timeout_ms, then recovery */
	kill(redis_pid, SIGSTOP);
	assert_int_equal(async_rcpt(base, q, c, &m, "a@dest.example", &took), QUOTA_BACKEND_ERROR);
	assert_true(took >= 0.25 && took < 0.300 + 0.3);
	/* no queueing behind the hung call: the next one is answered in time too */
	assert_int_equal(async_rcpt(base, q, c, &m, "a@dest.example", &took), QUOTA_BACKEND_ERROR);
	assert_true(took < 0.300 + 0.3);
	kill(redis_pid, SIGCONT);
	assert_true(async_recovers(base, q, c, &m, 3));

	/* Redis restarted with an empty data set and script cache */
	redis_stop();
	assert_int_equal(async_rcpt(base, q, c, &m, "a@dest.example", &took), QUOTA_BACKEND_ERROR);
	assert_true(took < 0.300 + 0.3);
	redis_start();
	assert_true(async_recovers(base, q, c, &m, 3));
	assert_int_equal(async_rcpt(base, q, c, &m, "b@dest.example", NULL), QUOTA_OK);

	quota_free(q);
	event_base_free(base);
	conf_unref(c);
}

/* Every call answered exactly once: cap, hang, quota_free. */
#define NCALLS	10050
static void
test_async_cap_and_free(void **state)
{
	struct event_base *base = event_base_new();
	struct rg_conf *c = mkconf();
	struct quota *q = quota_create(base, c);
	struct done *d = calloc(NCALLS, sizeof(*d));
	struct msg m;
	int	i, err = 0;
	double	end;

	msg_init(&m, "192.0.2.1", "alice@acme.example", "cap");
	msg_decide(&m, c, "a@dest.example");
	assert_int_equal(async_rcpt(base, q, c, &m, "a@dest.example", NULL), QUOTA_OK);
	kill(redis_pid, SIGSTOP);
	for (i = 0; i < NCALLS; i++)
		quota_reserve(q, c, &m.t, &m.v, on_done, &d[i]);
	end = now_s() + 5;
	while (now_s() < end) {
		int	n = 0;

		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		for (i = 0; i < NCALLS; i++)
			n += d[i].calls;
		if (n == NCALLS)
			break;
		usleep(1000);
	}
	for (i = 0; i < NCALLS; i++) {
		assert_int_equal(d[i].calls, 1);
		if (d[i].r == QUOTA_BACKEND_ERROR)
			err++;
	}
	assert_int_equal(err, NCALLS);
	kill(redis_pid, SIGCONT);
	assert_true(async_recovers(base, q, c, &m, 3));

	/* quota_free answers what is still open, once */
	memset(d, 0, NCALLS * sizeof(*d));
	for (i = 0; i < 5; i++)
		quota_reserve(q, c, &m.t, &m.v, on_done, &d[i]);
	quota_free(q);
	for (i = 0; i < 5; i++) {
		assert_int_equal(d[i].calls, 1);
		assert_int_equal(d[i].r, QUOTA_BACKEND_ERROR);
	}
	event_base_loop(base, EVLOOP_NONBLOCK);
	for (i = 0; i < 5; i++)
		assert_int_equal(d[i].calls, 1);
	free(d);
	event_base_free(base);
	conf_unref(c);
}

/* 400 racing reservations from distinct transactions: exactly the limit. */
static void
test_async_race(void **state)
{
	struct event_base *base = event_base_new();
	struct rg_conf *c = mkconf_full(NULL, 2000, NULL, 900, NULL);
	struct quota *q = quota_create(base, c);
	struct done d[400];
	struct msg m[400];
	int	i, n, ok = 0, peak = 0;
	double	end = now_s() + 10;

	memset(d, 0, sizeof(d));
	for (i = 0; i < 400; i++) {
		char	inst[16];

		snprintf(inst, sizeof(inst), "race%d", i);
		msg_init(&m[i], "192.0.2.1", "printer@acme.example", inst);
		msg_decide(&m[i], c, "x@dest.example");
		quota_reserve(q, c, &m[i].t, &m[i].v, on_done, &d[i]);
	}
	do {
		event_base_loop(base, EVLOOP_ONCE);
		for (i = n = 0; i < 400; i++)
			n += d[i].calls;
	} while (n < 400 && now_s() < end);
	for (i = 0; i < 400; i++) {
		assert_int_equal(d[i].calls, 1);
		ok += d[i].r == QUOTA_OK;
		peak += d[i].r == QUOTA_CUSTOMER_PEAK;
	}
	assert_int_equal(ok, 8);
	assert_int_equal(peak, 392);
	quota_free(q);
	event_base_free(base);
	conf_unref(c);
}

/* quota_reconfigure: a down server replaced by a good one, a new database */
static void
test_async_reconfigure(void **state)
{
	struct event_base *base = event_base_new();
	char	bad[400];
	struct rg_conf *c0, *c1, *c2;
	struct quota *q;
	struct msg m;

	snprintf(bad, sizeof(bad), "unix:%s/nothing.sock", tmpdir);
	c0 = mkconf_full(bad, 300, NULL, 900, NULL);
	c1 = mkconf();
	c2 = mkconf_full(NULL, 300, "database = 2", 900, NULL);
	q = quota_create(base, c0);
	msg_init(&m, "192.0.2.1", "alice@acme.example", "rc1");
	assert_int_equal(async_rcpt(base, q, c0, &m, "a@dest.example", NULL), QUOTA_BACKEND_ERROR);
	assert_int_equal(async_rcpt(base, q, c0, &m, "a@dest.example", NULL), QUOTA_BACKEND_ERROR);
	quota_reconfigure(q, c1);
	assert_true(async_recovers(base, q, c1, &m, 3));
	assert_int_equal(integer("EXISTS %s", "t:{acme}:rsv:rc1"), 1);
	quota_reconfigure(q, c2);
	msg_init(&m, "192.0.2.1", "alice@acme.example", "rc2");
	assert_true(async_recovers(base, q, c2, &m, 3));
	assert_int_equal(integer("EXISTS %s", "t:{acme}:rsv:rc2"), 0);	/* not in db 0 */
	quota_free(q);
	event_base_free(base);
	conf_unref(c0);
	conf_unref(c1);
	conf_unref(c2);
}

/* --------------------------------------------------------- reply reader */

/*
 * Feed bytes to a fresh reader guarded as every quota connection is:
 * 1 and *out = a reply, 0 = incomplete (the partial reply is freed by
 * the reader), -1 = refused.
 */
static int
reader_feed(const char *bytes, size_t len, redisReply **out)
{
	redisReader *r = redisReaderCreate();
	void   *reply = NULL;
	int	rc;

	assert_non_null(r);
	rlink_reader_guard(r);
	rlink_reader_guard(r);			/* a second call changes nothing */
	assert_non_null(r->fn);
	assert_non_null(r->fn->freeObject);
	if (redisReaderFeed(r, bytes, len) != REDIS_OK)
		rc = -1;
	else if (redisReaderGetReply(r, &reply) != REDIS_OK)
		rc = -1;
	else
		rc = reply != NULL;
	redisReaderFree(r);
	*out = reply;
	return (rc);
}

static void
test_reader_cap(void **state)
{
	static char big[16 + 1025 * 4];
	redisReply *rp;
	size_t	n;
	int	i;

	/* 1024 elements pass; 1025 are refused before they arrive. */
	n = (size_t) snprintf(big, sizeof(big), "*1024\r\n");
	for (i = 0; i < 1024; i++)
		n += (size_t) snprintf(big + n, sizeof(big) - n, ":%d\r\n", i % 10);
	assert_int_equal(reader_feed(big, n, &rp), 1);
	assert_int_equal(rp->type, REDIS_REPLY_ARRAY);
	assert_int_equal(rp->elements, 1024);
	freeReplyObject(rp);
	assert_int_equal(reader_feed("*1025\r\n", 7, &rp), -1);
	assert_int_equal(reader_feed("*1\r\n*4000000000\r\n", 18, &rp), -1);
	/* A map of 600 pairs (1.x: 1200 elements; 0.14: not RESP2). */
	assert_int_equal(reader_feed("%600\r\n", 6, &rp), -1);
	/* A nil array is no array. */
	assert_int_equal(reader_feed("*-1\r\n", 5, &rp), 1);
	assert_int_equal(rp->type, REDIS_REPLY_NIL);
	freeReplyObject(rp);
}

static void
test_reader_types(void **state)
{
	/* RESP3 types (hiredis 1.x parses them on any connection, 0.14
	 * refuses them) and RESP2 replies that are no script result. */
	static const char *const in[] = {
		",1.5\r\n", "#t\r\n", "#f\r\n", "_\r\n", "(123456789012345678901234567890\r\n",
		"=7\r\ntxt:abc\r\n", "~2\r\n:1\r\n#t\r\n", "%1\r\n+k\r\n,2.5\r\n",
		">2\r\n+message\r\n_\r\n", "*2\r\n_\r\n,1e400\r\n", "$-1\r\n", "+OK\r\n",
		":99\r\n", ":-1\r\n", "$3\r\nabc\r\n",
		"*3\r\n:1\r\n_\r\n",		/* incomplete: the reader frees it */
	};
	redisReply *rp;
	char	err[256];
	size_t	i;
	int	rc;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		rc = reader_feed(in[i], strlen(in[i]), &rp);
		if (rc != 1)
			continue;
		err[0] = 0;
		assert_false(quota_req_noscript(rp));
		assert_int_equal(quota_req_result(rp, err, sizeof(err)), QUOTA_BACKEND_ERROR);
		assert_true(err[0] != 0);
		freeReplyObject(rp);
	}
	/* The one reply that is a result still is. */
	assert_int_equal(reader_feed(":0\r\n", 4, &rp), 1);
	assert_int_equal(quota_req_result(rp, err, sizeof(err)), QUOTA_OK);
	freeReplyObject(rp);
}

/*
 * A broken server on a unix socket: the i-th read of a connection is
 * answered with reply[i] (the last one again after the end).
 */
static pid_t
fake_redis(const char *path, const char *const *reply, int n)
{
	struct sockaddr_un sa;
	char	buf[4096];
	pid_t	pid;
	int	fd, cfd, i;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 5), 0);
	if ((pid = fork()) == 0) {
		/* Never outlive the test, nor hold its output open. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(60);
		close(1);
		close(2);
		while ((cfd = accept(fd, NULL, NULL)) >= 0) {
			for (i = 0; read(cfd, buf, sizeof(buf)) > 0; i++)
				if (write(cfd, reply[i < n ? i : n - 1],
					  strlen(reply[i < n ? i : n - 1])) < 0)
					break;
			close(cfd);
		}
		_exit(0);
	}
	close(fd);
	return (pid);
}

/* quota show and reset refuse replies they cannot read, of any type. */
static void
test_show_reset_odd_replies(void **state)
{
#define TIME_OK "*2\r\n$10\r\n1700000000\r\n$1\r\n0\r\n"
	static const struct {
		int	reset;		/* quota reset, else quota show */
		const char *reply[2];
	} cases[] = {
		{ 0, { "*2\r\n$-1\r\n:5\r\n" } },			/* TIME: nil, integer */
		{ 0, { "*2\r\n*0\r\n*0\r\n" } },			/* TIME: arrays */
		{ 0, { "*2\r\n,1.5\r\n#t\r\n" } },			/* TIME: RESP3 */
		{ 0, { TIME_OK, "*2\r\n:1\r\n$-1\r\n" } },		/* HGETALL */
		{ 0, { TIME_OK, "*2\r\n$10\r\n1700000600\r\n_\r\n" } },	/* HGETALL, RESP3 */
		{ 1, { "*2\r\n:0\r\n*1\r\n$1\r\nk\r\n" } },		/* SCAN: cursor */
		{ 1, { "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nk\r\n:7\r\n" } },	/* SCAN: keys */
	};
	char	path[100], srv[120], buf[4096];
	struct rg_conf *c;
	struct rlink_sync l;
	size_t	i;
	pid_t	pid;
	FILE   *fp;
	int	st;

	snprintf(path, sizeof(path), "%.80s/fake.sock", tmpdir);
	snprintf(srv, sizeof(srv), "unix:%s", path);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pid = fake_redis(path, cases[i].reply, cases[i].reply[1] ? 2 : 1);
		c = mkconf_full(srv, 300, NULL, 2, NULL);
		memset(&l, 0, sizeof(l));
		fp = fmemopen(buf, sizeof(buf), "w");
		if (cases[i].reset)
			assert_int_equal(ctl_quota_reset(&l, c, "acme"), -1);
		else
			assert_int_equal(ctl_quota_show(&l, c, "acme", fp), -1);
		fclose(fp);
		rlink_sync_close(&l);
		conf_unref(c);
		kill(pid, SIGTERM);
		waitpid(pid, &st, 0);
	}
	unlink(path);
#undef TIME_OK
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_async, setup),
		cmocka_unit_test_setup(test_async_cap_and_free, setup),
		cmocka_unit_test_setup(test_async_race, setup),
		cmocka_unit_test_setup(test_async_reconfigure, setup),
		cmocka_unit_test(test_reader_cap),
		cmocka_unit_test(test_reader_types),
		cmocka_unit_test(test_show_reset_odd_replies),
	};

	return (cmocka_run_group_tests(tests, group_setup, group_teardown));
}
