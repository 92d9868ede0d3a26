/*
 * test_log - unit tests for common/log.c (foreground lines, batching)
 *
 * Each test points stderr at a fresh temporary file and reads back what
 * reached it; cmocka itself writes to stdout.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include "unit.h"

#include <errno.h>
#include <unistd.h>

#include "log.h"

static int saved_stderr = -1;
static FILE *capture;

static int
setup(void **state)
{
	(void) state;
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	capture = tmpfile();
	if (saved_stderr < 0 || capture == NULL)
		return (-1);
	dup2(fileno(capture), STDERR_FILENO);
	log_open("t", 1, NULL);
	log_set_quiet(0);
	return (0);
}

static int
teardown(void **state)
{
	(void) state;
	log_batch(0);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	fclose(capture);
	return (0);
}

/* captured - everything written to stderr so far */
static const char *
captured(void)
{
	static char buf[1 << 18];
	size_t	n;

	rewind(capture);
	n = fread(buf, 1, sizeof(buf) - 1, capture);
	buf[n] = 0;
	return (buf);
}

static void
test_unbatched(void **state)
{
	(void) state;
	msg_info("one %d", 1);
	assert_string_equal(captured(), "t: one 1\n");
	msg_warn("two");
	assert_string_equal(captured(), "t: one 1\nt: warning: two\n");
}

static void
test_errno_kept(void **state)
{
	(void) state;
	errno = ENOENT;
	msg_info("x: %m");
	assert_int_equal(errno, ENOENT);
	assert_string_equal(captured(), "t: x: No such file or directory\n");
	log_batch(1);
	errno = EACCES;
	msg_info("y");
	log_flush();
	assert_int_equal(errno, EACCES);
}

static void
test_batch_holds_until_flush(void **state)
{
	(void) state;
	log_batch(1);
	msg_info("a");
	msg_info("b");
	assert_string_equal(captured(), "");
	log_flush();
	assert_string_equal(captured(), "t: a\nt: b\n");
	log_flush();				/* nothing held: nothing written */
	assert_string_equal(captured(), "t: a\nt: b\n");
}

/* A warning goes out at once, after the lines held before it. */
static void
test_batch_warning_keeps_order(void **state)
{
	(void) state;
	log_batch(1);
	msg_info("first");
	msg_error("second");
	assert_string_equal(captured(), "t: first\nt: error: second\n");
	msg_info("third");
	log_batch(0);				/* turning it off flushes */
	assert_string_equal(captured(), "t: first\nt: error: second\nt: third\n");
	msg_info("fourth");
	assert_string_equal(captured(),
			    "t: first\nt: error: second\nt: third\nt: fourth\n");
}

/* More than the buffer holds: written as it fills, nothing lost or cut. */
static void
test_batch_overflow(void **state)
{
	const char *out;
	char	want[32];
	int	i, lines = 0;

	(void) state;
	log_batch(1);
	for (i = 0; i < 5000; i++)
		msg_info("line %05d %s", i, "padding-padding-padding");
	assert_true(strlen(captured()) > 0);	/* a full buffer went out */
	log_flush();
	out = captured();
	for (i = 0; i < 5000; i++) {
		snprintf(want, sizeof(want), "t: line %05d ", i);
		assert_string_contains(out, want);
	}
	for (; *out; out++)
		lines += *out == '\n';
	assert_int_equal(lines, 5000);
}

/* A line longer than the formatting buffer is cut but stays one line. */
static void
test_long_line(void **state)
{
	char	big[5000];
	const char *out;

	(void) state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	log_batch(1);
	msg_info("%s", big);
	msg_info("next");
	log_flush();
	out = captured();
	assert_true(strlen(out) < 3000);
	assert_string_contains(out, "xxx\nt: next\n");
}

static void
test_quiet(void **state)
{
	(void) state;
	log_set_quiet(1);
	msg_info("hidden");
	msg_warn("shown");
	log_set_quiet(0);
	assert_string_equal(captured(), "t: warning: shown\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unbatched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errno_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_holds_until_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_warning_keeps_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quiet, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
