/*
 * conf_fixture.h - what the configuration unit tests share: loading a
 * text as "t.conf" (load_ok, refuse, refuse_any), small configurations
 * (one_customer), a temp directory, files.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_CONF_FIXTURE_H
#define RG_CONF_FIXTURE_H

#include <errno.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "ipset.h"
#include "log.h"

#define FIX	"tests/unit/fixtures/"

static char tmpdir[64];

/* A private directory for the tests that write files; tmp_done removes it. */
static __attribute__((unused)) void
tmp_make(void)
{
	strcpy(tmpdir, "/tmp/rg-test-conf.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
}

static __attribute__((unused)) void
tmp_done(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
}

/* Load text as "t.conf"; must succeed. */
static __attribute__((unused)) struct rg_conf *
load_ok(const char *text)
{
	char	err[512] = "";
	struct rg_conf *c = conf_load_buf(text, "t.conf", err, sizeof(err));

	if (c == NULL)
		fail_msg("config refused: %s\n--- config ---\n%s", err, text);
	assert_string_equal(err, "");
	return (c);
}

/* Load text as "t.conf"; must be refused with exactly want. */
static __attribute__((unused)) void
refuse(const char *text, const char *want)
{
	char	err[512] = "";
	struct rg_conf *c = conf_load_buf(text, "t.conf", err, sizeof(err));

	if (c != NULL) {
		conf_unref(c);
		fail_msg("config accepted, expected \"%s\"\n--- config ---\n%s", want, text);
	}
	if (strcmp(err, want) != 0)
		fail_msg("error \"%s\"\n  expected \"%s\"", err, want);
}

/* Refused with an error that starts with "t.conf:" and a line > 0. */
static __attribute__((unused)) void
refuse_any(const char *text)
{
	char	err[512] = "";
	struct rg_conf *c = conf_load_buf(text, "t.conf", err, sizeof(err));

	if (c != NULL) {
		conf_unref(c);
		fail_msg("config accepted, expected a refusal\n--- config ---\n%s", text);
	}
	assert_true(strncmp(err, "t.conf:", 7) == 0);
	assert_true(atoi(err + 7) > 0);
}

/* A one-customer config with one relay "r" holding the given body lines (from line 5). */
static __attribute__((unused)) void
one_customer(char *buf, size_t len, const char *relay_body)
{
	snprintf(buf, len,
		 "customer \"a\" {\n"			/* 1 */
		 "    domains  = { \"a.example\" }\n"	/* 2 */
		 "    licenses = 1\n"			/* 3 */
		 "    relay \"r\" {\n"			/* 4 */
		 "%s"					/* 5... */
		 "    }\n"
		 "}\n", relay_body);
}

static __attribute__((unused)) rg_ip
ip(const char *text)
{
	rg_ip	v = 0;

	if (ip_parse(text, &v) != 0)
		fail_msg("bad test address %s", text);
	return (v);
}

static __attribute__((unused)) void
write_file(const char *path, const char *text)
{
	FILE   *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}


/* A configuration with this one range loads, and keeps its text. */
static __attribute__((unused)) void
range_loads(const char *range)
{
	char	body[256], buf[1024];
	struct rg_conf *c;

	snprintf(body, sizeof(body), "        ip \"x\" { range = \"%s\" }\n", range);
	one_customer(buf, sizeof(buf), body);
	c = load_ok(buf);
	assert_int_equal(c->nranges, 1);
	assert_string_equal(c->customers[0].settings[0].ranges[0].text, range);
	conf_unref(c);
}

/* fixture_chdir - run from the top of the source tree, wherever started */
static __attribute__((unused)) int
fixture_chdir(const char *argv0, const char *name)
{
	char	self[4096];

	if (access(FIX "full.conf", R_OK) == 0)
		return (0);
	snprintf(self, sizeof(self), "%s", argv0);
	if (chdir(dirname(self)) != 0 || chdir("../..") != 0 || access(FIX "full.conf", R_OK) != 0) {
		fprintf(stderr, "%s: run from the top of the source tree\n", name);
		return (-1);
	}
	return (0);
}

#endif
