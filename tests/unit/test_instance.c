/*
 * test_instance - unit tests for policyd/instance.c, the table of the
 * transactions in progress by Postfix instance (DESIGN 3): lookups while
 * the bucket array grows, end, expiry, and the entry and byte caps.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include "unit.h"

#include "conf.h"
#include "txn.h"

#include "../../policyd/instance.c"

static struct rg_conf *conf;

static int
setup(void **state)
{
	char	err[512];

	(void) state;
	conf = conf_load_buf("quotas = false\n"
			     "customer \"a\" {\n  domains = { \"a.example\" }\n  licenses = 1\n}\n",
			     "t.conf", err, sizeof(err));
	if (conf == NULL)
		fail_msg("%s", err);
	return (0);
}

static int
teardown(void **state)
{
	(void) state;
	conf_unref(conf);
	return (0);
}

static struct txn *
add(struct pd_insts *t, unsigned i, long now)
{
	char	key[32];
	struct txn *x = txn_new(conf, TXN_DECIDE, NULL);

	snprintf(key, sizeof(key), "%X.%u", i * 2654435761u, i);
	pd_inst_add(t, key, x, now);
	return (x);
}

static struct txn *
find(struct pd_insts *t, unsigned i, long now)
{
	char	key[32];

	snprintf(key, sizeof(key), "%X.%u", i * 2654435761u, i);
	return (pd_inst_find(t, key, now));
}

/* Every entry is found, before and after the buckets grow under it. */
static void
test_grow(void **state)
{
	struct pd_insts *t = pd_insts_create();
	struct txn **x = calloc(5000, sizeof(*x));
	unsigned i;

	(void) state;
	assert_int_equal(t->nbucket, PD_INST_BUCKETS0);
	for (i = 0; i < 5000; i++) {
		x[i] = add(t, i, 100);
		assert_ptr_equal(find(t, i / 2, 100), x[i / 2]);
	}
	assert_int_equal(pd_insts_count(t), 5000);
	assert_int_equal(t->nbucket, 8192);		/* load factor <= 1 */
	for (i = 0; i < 5000; i++)
		assert_ptr_equal(find(t, i, 100), x[i]);
	assert_null(find(t, 5000, 100));
	/* End the even ones: the odd ones are still there. */
	for (i = 0; i < 5000; i += 2) {
		char	key[32];

		snprintf(key, sizeof(key), "%X.%u", i * 2654435761u, i);
		pd_inst_end(t, key);
	}
	assert_int_equal(pd_insts_count(t), 2500);
	for (i = 0; i < 5000; i++)
		if (i % 2)
			assert_ptr_equal(find(t, i, 100), x[i]);
		else
			assert_null(find(t, i, 100));
	assert_int_equal(pd_insts_evicted(t), 0);
	pd_insts_free(t);
	free(x);
}

/* Idle entries go after ttl; the newer ones stay. */
static void
test_expire(void **state)
{
	struct pd_insts *t = pd_insts_create();
	unsigned i;

	(void) state;
	for (i = 0; i < 100; i++)
		add(t, i, i < 60 ? 10 : 50);
	pd_insts_expire(t, 40, 30);		/* 10 + 30 <= 40: the first 60 go */
	assert_int_equal(pd_insts_count(t), 40);
	assert_null(find(t, 0, 45));
	assert_non_null(find(t, 99, 45));
	pd_insts_expire(t, 1000, 30);
	assert_int_equal(pd_insts_count(t), 0);
	pd_insts_free(t);
}

/* A full table drops its oldest entries; bytes and entries stay capped. */
static void
test_caps(void **state)
{
	struct pd_insts *t = pd_insts_create();
	unsigned i, n = PD_INST_MAX + 1000;

	(void) state;
	for (i = 0; i < n; i++)
		add(t, i, 100);
	assert_true(pd_insts_count(t) <= PD_INST_MAX);
	assert_true(t->bytes <= PD_INST_BYTES);
	assert_int_equal(pd_insts_evicted(t) + pd_insts_count(t), n);
	assert_true(t->nbucket <= PD_INST_MAX);
	assert_null(find(t, 0, 100));		/* the oldest went first */
	assert_non_null(find(t, n - 1, 100));
	pd_insts_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_caps),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
