/*
 * test_strmap - unit tests for common/strmap.c (string-keyed hash table)
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include "unit.h"

#include "strmap.h"

static void
test_put_get(void **state)
{
	struct strmap *m = strmap_create(0);
	int	a, b, c;

	(void) state;
	assert_int_equal(strmap_count(m), 0);
	assert_null(strmap_get(m, "alice"));
	assert_null(strmap_put(m, "alice", &a));
	assert_null(strmap_put(m, "bob", &b));
	assert_null(strmap_put(m, "", &c));		/* the empty key is a key */
	assert_int_equal(strmap_count(m), 3);
	assert_ptr_equal(strmap_get(m, "alice"), &a);
	assert_ptr_equal(strmap_get(m, "bob"), &b);
	assert_ptr_equal(strmap_get(m, ""), &c);
	assert_null(strmap_get(m, "Alice"));		/* case matters */
	assert_null(strmap_get(m, "alic"));
	assert_null(strmap_get(m, "alicee"));
	strmap_free(m);
	strmap_free(NULL);
}

static void
test_replace(void **state)
{
	struct strmap *m = strmap_create(4);
	int	a, b;

	(void) state;
	assert_null(strmap_put(m, "k", &a));
	assert_ptr_equal(strmap_put(m, "k", &b), &a);	/* old value back */
	assert_ptr_equal(strmap_get(m, "k"), &b);
	assert_int_equal(strmap_count(m), 1);
	assert_ptr_equal(strmap_put(m, "k", NULL), &b);
	assert_null(strmap_get(m, "k"));
	assert_int_equal(strmap_count(m), 1);
	strmap_free(m);
}

/* Keys are copied: the caller's buffer may change afterwards. */
static void
test_key_copied(void **state)
{
	struct strmap *m = strmap_create(1);
	char	key[16];
	int	a;

	(void) state;
	strcpy(key, "acme.example");
	strmap_put(m, key, &a);
	strcpy(key, "other.example");
	assert_ptr_equal(strmap_get(m, "acme.example"), &a);
	assert_null(strmap_get(m, "other.example"));
	strmap_free(m);
}

#define NKEYS	100000

/* Growth from a tiny table through 100,000 keys, then every key again. */
static void
test_growth(void **state)
{
	struct strmap *m = strmap_create(1);
	static int v[NKEYS];
	char	key[64];
	size_t	i;

	(void) state;
	for (i = 0; i < NKEYS; i++) {
		snprintf(key, sizeof(key), "user%zu@customer%zu.example", i, i % 97);
		v[i] = (int) i;
		assert_null(strmap_put(m, key, &v[i]));
		assert_int_equal(strmap_count(m), i + 1);
	}
	for (i = 0; i < NKEYS; i++) {
		snprintf(key, sizeof(key), "user%zu@customer%zu.example", i, i % 97);
		assert_ptr_equal(strmap_get(m, key), &v[i]);
	}
	for (i = 0; i < NKEYS; i += 7) {
		snprintf(key, sizeof(key), "user%zu@customer%zu.example", i, i % 97);
		assert_ptr_equal(strmap_put(m, key, &v[(i + 1) % NKEYS]), &v[i]);
	}
	assert_int_equal(strmap_count(m), NKEYS);
	for (i = 0; i < NKEYS; i++) {
		snprintf(key, sizeof(key), "user%zu@customer%zu.example", i, i % 97);
		assert_ptr_equal(strmap_get(m, key), i % 7 ? &v[i] : &v[(i + 1) % NKEYS]);
		snprintf(key, sizeof(key), "absent%zu@customer%zu.example", i, i % 97);
		assert_null(strmap_get(m, key));
	}
	strmap_free(m);
}

/* A table sized up front holds its keys the same way. */
static void
test_presized(void **state)
{
	struct strmap *m = strmap_create(NKEYS);
	static int v[1000];
	char	key[32];
	size_t	i;

	(void) state;
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "%zu", i);
		assert_null(strmap_put(m, key, &v[i]));
	}
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "%zu", i);
		assert_ptr_equal(strmap_get(m, key), &v[i]);
	}
	strmap_free(m);
}

/* getn: a key given by pointer and length, not NUL-terminated. */
static void
test_getn(void **state)
{
	struct strmap *m = strmap_create(8);
	const char *line = "sender=alice@acme.example\nrecipient=x";
	int	a, b, e;

	(void) state;
	strmap_put(m, "sender", &a);
	strmap_put(m, "send", &b);
	strmap_put(m, "", &e);
	assert_ptr_equal(strmap_getn(m, line, 6), &a);
	assert_ptr_equal(strmap_getn(m, line, 4), &b);
	assert_ptr_equal(strmap_getn(m, line, 0), &e);
	assert_null(strmap_getn(m, line, 5));
	assert_null(strmap_getn(m, line, 7));		/* "sender=" */
	assert_null(strmap_getn(m, line + 26, 9));	/* "recipient" */
	/* A key with an embedded NUL is not the shorter key. */
	assert_null(strmap_getn(m, "send\0er", 7));
	strmap_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_key_copied),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_presized),
		cmocka_unit_test(test_getn),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
