/*
 * test_metrics - unit tests for common/metrics.c (counters and their text)
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include "unit.h"

#include <pthread.h>

#include "conf.h"
#include "metrics.h"

static char text[METRICS_TEXT_MAX];

static const char *
render(void)
{
	size_t	n = metrics_render(text, sizeof(text));

	assert_true(n < sizeof(text));
	assert_int_equal(strlen(text), n);
	return (text);
}

/* The value of the series named exactly so, or -1 when it is missing. */
static double
value(const char *series)
{
	const char *p = text;
	size_t	n = strlen(series);

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return (strtod(p + n + 1, NULL));
		p += n;
	}
	return (-1);
}

static int
setup(void **state)
{
	(void) state;
	metrics_reset();
	return (0);
}

static void
test_every_name_at_zero(void **state)
{
	static const char *const families[] = {
		"relayguard_decisions_total counter", "relayguard_lookups_total counter",
		"relayguard_redis_calls_total counter",
		"relayguard_redis_call_duration_seconds histogram",
		"relayguard_connections gauge", "relayguard_config_generation gauge",
		"relayguard_config_reloads_total counter",
		"relayguard_config_last_reload_timestamp_seconds gauge",
	};
	char	line[200];
	size_t	i;

	(void) state;
	render();
	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		snprintf(line, sizeof(line), "\n# TYPE %s\n", families[i]);
		assert_string_contains(text, line);
		snprintf(line, sizeof(line), "# HELP %.*s ", (int) strcspn(families[i], " "),
			 families[i]);
		assert_string_contains(text, line);
	}
	assert_int_equal(value("relayguard_decisions_total{verdict=\"accept\"}"), 0);
	assert_int_equal(value("relayguard_decisions_total{verdict=\"bad_address\"}"), 0);
	assert_int_equal(value("relayguard_decisions_total{verdict=\"backend_error\"}"), 0);
	assert_int_equal(value("relayguard_lookups_total{map=\"relayhost\",result=\"ok\"}"), 0);
	assert_int_equal(value("relayguard_lookups_total{map=\"tls\",result=\"error\"}"), 0);
	assert_int_equal(value("relayguard_redis_calls_total{result=\"timeout\"}"), 0);
	assert_int_equal(value("relayguard_redis_call_duration_seconds_bucket{le=\"+Inf\"}"), 0);
	assert_int_equal(value("relayguard_redis_call_duration_seconds_count"), 0);
	assert_int_equal(value("relayguard_config_reloads_total{result=\"failed\"}"), 0);
	assert_int_equal(value("relayguard_connections"), 0);
	assert_int_equal(text[strlen(text) - 1], '\n');
}

static void
test_counts(void **state)
{
	(void) state;
	metrics_decision(RG_ACCEPT);
	metrics_decision(RG_ACCEPT);
	metrics_decision(RG_RELAY_DENIED);
	metrics_decision((enum rg_class) 999);		/* ignored, not a crash */
	metrics_lookup(METRICS_MAP_TRANSPORT, METRICS_LOOKUP_NOTFOUND);
	metrics_lookup((enum metrics_map) 7, METRICS_LOOKUP_OK);
	metrics_connections(3);
	metrics_connections(-1);
	render();
	assert_int_equal(value("relayguard_decisions_total{verdict=\"accept\"}"), 2);
	assert_int_equal(value("relayguard_decisions_total{verdict=\"relay_denied\"}"), 1);
	assert_int_equal(value("relayguard_decisions_total{verdict=\"auth_required\"}"), 0);
	assert_int_equal(value("relayguard_lookups_total{map=\"transport\",result=\"notfound\"}"), 1);
	assert_int_equal(value("relayguard_lookups_total{map=\"transport\",result=\"ok\"}"), 0);
	assert_int_equal(value("relayguard_connections"), 2);
}

static void
test_histogram(void **state)
{
	double	now = metrics_now();

	(void) state;
	metrics_redis_done(now, METRICS_REDIS_OK);		/* ~0 s: first bucket */
	metrics_redis_done(now - 0.03, METRICS_REDIS_OK);	/* 0.03 s: le 0.05 */
	metrics_redis_done(now - 0.2, METRICS_REDIS_TIMEOUT);	/* le 0.25 */
	metrics_redis_done(now - 10, METRICS_REDIS_ERROR);	/* +Inf only */
	render();
	assert_int_equal(value("relayguard_redis_calls_total{result=\"ok\"}"), 2);
	assert_int_equal(value("relayguard_redis_calls_total{result=\"error\"}"), 1);
	assert_int_equal(value("relayguard_redis_calls_total{result=\"timeout\"}"), 1);
	/* Buckets are cumulative; +Inf and _count are every call. */
	assert_int_equal(value("relayguard_redis_call_duration_seconds_bucket{le=\"0.0005\"}"), 1);
	assert_int_equal(value("relayguard_redis_call_duration_seconds_bucket{le=\"0.025\"}"), 1);
	assert_int_equal(value("relayguard_redis_call_duration_seconds_bucket{le=\"0.05\"}"), 2);
	assert_int_equal(value("relayguard_redis_call_duration_seconds_bucket{le=\"0.25\"}"), 3);
	assert_int_equal(value("relayguard_redis_call_duration_seconds_bucket{le=\"2.5\"}"), 3);
	assert_int_equal(value("relayguard_redis_call_duration_seconds_bucket{le=\"+Inf\"}"), 4);
	assert_int_equal(value("relayguard_redis_call_duration_seconds_count"), 4);
	assert_true(value("relayguard_redis_call_duration_seconds_sum") > 10.2);
	assert_true(value("relayguard_redis_call_duration_seconds_sum") < 11);
}

static void
test_config(void **state)
{
	(void) state;
	metrics_config(METRICS_CONF_LOADED, 1);
	render();
	assert_int_equal(value("relayguard_config_generation"), 1);
	assert_int_equal(value("relayguard_config_reloads_total{result=\"ok\"}"), 0);
	assert_true(value("relayguard_config_last_reload_timestamp_seconds") > 1.7e9);
	metrics_config(METRICS_CONF_FAILED, 0);
	metrics_config(METRICS_CONF_RELOADED, 3);
	render();
	assert_int_equal(value("relayguard_config_generation"), 3);
	assert_int_equal(value("relayguard_config_reloads_total{result=\"ok\"}"), 1);
	assert_int_equal(value("relayguard_config_reloads_total{result=\"failed\"}"), 1);
	metrics_config(METRICS_CONF_FAILED, 0);	/* a failure keeps the generation */
	render();
	assert_int_equal(value("relayguard_config_generation"), 3);
	assert_int_equal(value("relayguard_config_reloads_total{result=\"failed\"}"), 2);
}

/* A short buffer: cut, terminated, and the full length returned. */
static void
test_short_buffer(void **state)
{
	char	small[64];
	size_t	full, n;

	(void) state;
	full = metrics_render(text, sizeof(text));
	memset(small, 'x', sizeof(small));
	n = metrics_render(small, sizeof(small));
	assert_int_equal(n, full);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(metrics_render(NULL, 0), full);
}

static void *
counter_thread(void *arg)
{
	int	i;

	(void) arg;
	for (i = 0; i < 100000; i++) {
		metrics_decision(RG_QUOTA_USER);
		metrics_connections(1);
		metrics_connections(-1);
	}
	return (NULL);
}

/* No update is lost when threads count at once (no lock, atomics). */
static void
test_threads(void **state)
{
	pthread_t t[4];
	int	i;

	(void) state;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, counter_thread, NULL), 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	render();
	assert_int_equal(value("relayguard_decisions_total{verdict=\"quota_user\"}"), 400000);
	assert_int_equal(value("relayguard_connections"), 0);
}

/* The metrics option: host:port, [v6]:port or empty, in both sections. */
static void
test_conf_option(void **state)
{
	static const struct {
		const char *value;
		int	good;
	} cases[] = {
		{ "", 1 }, { "127.0.0.1:9465", 1 }, { "[::1]:9465", 1 }, { "localhost:80", 1 },
		{ "9465", 0 }, { "127.0.0.1:", 0 }, { "127.0.0.1:0", 0 }, { "127.0.0.1:65536", 0 },
		{ "::1:9465", 0 }, { "[::1]9465", 0 }, { "127.0.0.1:94x5", 0 },
	};
	char	cf[300], err[512];
	struct rg_conf *c;
	size_t	i, sec;

	(void) state;
	for (sec = 0; sec < 2; sec++) {
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			snprintf(cf, sizeof(cf), "user = \"\"\n%s { metrics = \"%s\" }\n",
				 sec ? "milter" : "policyd", cases[i].value);
			c = conf_load_buf(cf, "t.conf", err, sizeof(err));
			if (!cases[i].good) {
				assert_null(c);
				assert_string_contains(err, "t.conf:2: metrics");
				continue;
			}
			assert_non_null(c);
			assert_string_equal(sec ? c->milter_metrics : c->policyd_metrics,
					    cases[i].value);
			conf_unref(c);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_every_name_at_zero, setup),
		cmocka_unit_test_setup(test_counts, setup),
		cmocka_unit_test_setup(test_histogram, setup),
		cmocka_unit_test_setup(test_config, setup),
		cmocka_unit_test_setup(test_short_buffer, setup),
		cmocka_unit_test_setup(test_threads, setup),
		cmocka_unit_test(test_conf_option),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
