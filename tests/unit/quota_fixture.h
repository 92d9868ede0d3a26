/*
 * quota_fixture.h - what the quota unit tests share (test_quota,
 * test_quota_async): the private redis-server (redis_fixture.h), the
 * test configuration, one message's facts and decisions, Redis reads.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_QUOTA_FIXTURE_H
#define RG_QUOTA_FIXTURE_H

#include <errno.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "quota.h"
#include "quota_priv.h"
#include "relay.h"
#include "rlink.h"

/* relayguardctl quota show/reset, tested with the keys they read. */
#include "../../ctl/quota_admin.c"

#include "redis_fixture.h"

/* ---------------------------------------------------------------- config */

static const char conf_text[] =
"redis { server = \"%s\" timeout_ms = %d prefix = \"t\" %s }\n"
"reservation_ttl = %d\n"
"on_backend_error = \"%s\"\n"
"customer \"acme\" {\n"
"  domains = { \"acme.example\" }\n"
"  licenses = 10\n"
"  users = { \"alice@acme.example\", \"bob@acme.example\" }\n"
"  limits { user_messages_per_day = 3 user_recipients_per_day = 4\n"
"           customer_recipients_per_day = 10 customer_recipients_per_10min = 8 }\n"
"  relay \"office\" { allowed_senders = \"domain_addresses\"\n"
"                   ip \"office\" { range = \"192.0.2.0/24\" } }\n"
"}\n"
"customer \"big\" {\n"
"  domains = { \"big.example\" }\n"
"  licenses = 100\n"
"  users = { \"carol@big.example\" }\n"
"  limits { user_messages_per_day = 5000 user_recipients_per_day = 2\n"
"           customer_recipients_per_day = 5000 customer_recipients_per_10min = 5000 }\n"
"  relay \"office\" { allowed_senders = \"domain_addresses\"\n"
"                   ip \"office\" { range = \"198.51.100.0/24\" } }\n"
"}\n"
"customer \"free\" {\n"
"  domains = { \"free.example\" }\n"
"  licenses = 10\n"
"  billing = \"unpaid\"\n"
"  users = { \"dave@free.example\" }\n"
"  relay \"office\" { allowed_senders = \"domain_addresses\"\n"
"                   ip \"office\" { range = \"203.0.113.0/24\" } }\n"
"}\n";

static __attribute__((unused)) struct rg_conf *
mkconf_full(const char *server, int timeout_ms, const char *extra, int ttl, const char *onerr)
{
	char	text[4096], err[512], srv[400];
	struct rg_conf *c;

	if (server == NULL) {
		snprintf(srv, sizeof(srv), "unix:%s", sock);
		server = srv;
	}
	snprintf(text, sizeof(text), conf_text, server, timeout_ms, extra ? extra : "", ttl,
		 onerr ? onerr : "tempfail");
	c = conf_load_buf(text, "test.conf", err, sizeof(err));
	if (c == NULL)
		fail_msg("config: %s", err);
	return (c);
}

static __attribute__((unused)) struct rg_conf *
mkconf(void)
{
	return (mkconf_full(NULL, 300, NULL, 2, NULL));
}

/* ---------------------------------------------------------------- helpers */

struct msg {
	struct rg_txn t;
	struct rg_verdict v;
	char	instance[64];
	const char *client;
	const char *from;
};

static __attribute__((unused)) void
msg_init(struct msg *m, const char *client, const char *from, const char *instance)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->instance, sizeof(m->instance), "%s", instance);
	m->client = client;
	m->from = from;
	m->t.instance = m->instance;
	m->t.queue_id = "";
	m->t.client_addr = client;
	m->t.helo = "client.example";
	m->t.sasl_username = "";
	m->t.sender = from;
}

/* The verdict for one RCPT; it must accept. */
static __attribute__((unused)) void
msg_decide(struct msg *m, const struct rg_conf *c, const char *to)
{
	m->t.recipient = to;
	relay_decide(c, &m->t, &m->v);
	if (m->v.code != 0)
		fail_msg("relay_decide refused %s -> %s: %s (%s)", m->from, to, m->v.reply,
			 m->v.reason);
}

static __attribute__((unused)) enum quota_result
rcpt(struct quota_sync *qs, const struct rg_conf *c, struct msg *m, const char *to)
{
	enum quota_result r;

	msg_decide(m, c, to);
	r = quota_sync_reserve(qs, c, &m->t, &m->v);
	if (r == QUOTA_OK)
		m->t.nrcpt++;
	return (r);
}

static __attribute__((unused)) enum quota_result
commit(struct quota_sync *qs, const struct rg_conf *c, struct msg *m, unsigned accepted)
{
	m->t.rcpt_count = accepted;
	m->t.recipient = "";
	return (quota_sync_commit(qs, c, &m->t, m->v.customer->name));
}

/* One message with one recipient, committed. */
static __attribute__((unused)) enum quota_result
send1(struct quota_sync *qs, const struct rg_conf *c, const char *client, const char *from,
      const char *to, int n)
{
	struct msg m;
	char	inst[64];
	enum quota_result r;

	snprintf(inst, sizeof(inst), "I%d.%ld", n, (long) random());
	msg_init(&m, client, from, inst);
	if ((r = rcpt(qs, c, &m, to)) != QUOTA_OK)
		return (r);
	return (commit(qs, c, &m, 1));
}

static __attribute__((unused)) double
now_s(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (tv.tv_sec + tv.tv_usec / 1e6);
}

static __attribute__((unused)) double
redis_now(redisContext *a)
{
	redisReply *r = redisCommand(a, "TIME");
	double	t = strtod(r->element[0]->str, NULL) + strtod(r->element[1]->str, NULL) / 1e6;

	freeReplyObject(r);
	return (t);
}

/* Live sum of a bucket hash, as the script counts it. */
static __attribute__((unused)) long
live(const char *key)
{
	redisContext *a = admin();
	double	now = redis_now(a);
	redisReply *r = redisCommand(a, "HGETALL %s", key);
	long	sum = 0;
	size_t	i;

	for (i = 0; r && i + 1 < r->elements; i += 2)
		if (strtod(r->element[i]->str, NULL) > now)
			sum += strtol(r->element[i + 1]->str, NULL, 10);
	freeReplyObject(r);
	redisFree(a);
	return (sum);
}

/* The script's cached sum of a bucket hash (field s); when the script
 * dropped the cache (it rebuilds it on the next check), the live sum. */
static __attribute__((unused)) long
cached(const char *key)
{
	redisContext *a = admin();
	redisReply *r = redisCommand(a, "HGET %s s", key);
	long	v = r && r->type == REDIS_REPLY_STRING ? strtol(r->str, NULL, 10) : -1;

	freeReplyObject(r);
	redisFree(a);
	return (v == -1 ? live(key) : v);
}

static __attribute__((unused)) long long
integer(const char *fmt, const char *arg)
{
	redisContext *a = admin();
	redisReply *r = redisCommand(a, fmt, arg);
	long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -999;

	freeReplyObject(r);
	redisFree(a);
	return (v);
}

static __attribute__((unused)) void
admin_cmd(const char *cmd)
{
	redisContext *a = admin();
	redisReply *r = redisCommand(a, cmd);

	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		fail_msg("%s: %s", cmd, r ? r->str : a->errstr);
	freeReplyObject(r);
	redisFree(a);
}

/* Put n recipients into the customer day window, 23 h old. */
static __attribute__((unused)) void
old_usage(const char *customer, long n)
{
	redisContext *a = admin();
	long	e = (long) redis_now(a) + 3600;
	redisReply *r = redisCommand(a, "HINCRBY t:{%s}:cust:day %ld %ld", customer, e, n);

	freeReplyObject(r);
	r = redisCommand(a, "EXPIRE t:{%s}:cust:day 7200", customer);
	freeReplyObject(r);
	redisFree(a);
}

static __attribute__((unused)) void
assert_reply(const struct rg_conf *c, struct msg *m, enum quota_result r, const char *reply)
{
	quota_apply(c, &m->v, r);
	assert_string_equal(m->v.reply, reply);
}

#endif
