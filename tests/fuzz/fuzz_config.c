/*
 * fuzz_config - libFuzzer target for conf_load_buf() (common/conf.c)
 *
 * Arbitrary text as relayguard.conf.  A refusal must say
 * "fuzz.conf:LINE: reason"; an accepted configuration must be
 * consistent (every domain and every enabled range finds its customer,
 * every user its customer) and is freed again (LeakSanitizer checks).
 * Inputs naming a users_file or password_file are skipped: the path
 * would be opened, and reading files (or /dev/stdin) is not what this
 * target tests.  Redis server names are not looked up in DNS here.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	log_open("fuzz_config", 1, NULL);	/* config warnings to stderr, not syslog */
	log_set_quiet(1);
	conf_set_batch(2);		/* reach the batched parse of big files too */
	conf_set_numeric_hosts(1);	/* a fuzzed host name must not wait on DNS */
	return (0);
}

static void
check(const struct rg_conf *c)
{
	size_t	i, j, k, nranges = 0, nusers = 0;

	for (i = 0; i < c->ncustomers; i++) {
		const struct rg_customer *cu = &c->customers[i];

		if (conf_customer(c, cu->name) != cu || cu->ndomains == 0 || cu->licenses < 1)
			abort();
		for (j = 0; j < cu->ndomains; j++)
			if (conf_customer_by_domain(c, cu->domains[j], NULL) != cu)
				abort();
		for (j = 0; j < cu->nsettings; j++) {
			const struct rg_setting *s = &cu->settings[j];

			if (s->customer != cu || (s->nranges == 0 && !s->require_auth))
				abort();
			for (k = 0; k < s->nranges; k++) {
				const struct rg_iprange *r = &s->ranges[k];

				if (r->r.hi < r->r.lo || r->r.hi - r->r.lo > 65535)
					abort();
				if (r->enabled
				    && (conf_customer_by_ip(c, r->r.lo) != cu
					|| conf_customer_by_ip(c, r->r.hi) != cu
					|| !setting_has_ip(s, r->r.lo) || !setting_has_ip(s, r->r.hi)))
					abort();
			}
			nranges += s->nranges;
		}
		nusers += cu->nusers;
	}
	for (i = 0; i < c->nusers; i++) {
		const struct rg_user *u = c->users[i];

		/* A user belongs to the customer owning its domain (longest match). */
		if (conf_user(c, u->address) != u || conf_customer_by_domain(c,
			strrchr(u->address, '@') + 1, NULL) != u->customer)
			abort();
	}
	if (nranges != c->nranges || nusers != c->nusers)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	err[512];
	char   *text;
	struct rg_conf *c;

	if (size > 65536 || memmem(data, size, "users_file", 10) != NULL
	    || memmem(data, size, "password_file", 13) != NULL)
		return (0);
	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	c = conf_load_buf(text, "fuzz.conf", err, sizeof(err));
	if (c != NULL) {
		check(c);
		conf_ref(c);
		conf_unref(c);
		conf_unref(c);
	} else if (strncmp(err, "fuzz.conf:", 10) != 0 || strlen(err) < 12) {
		abort();
	}
	free(text);
	return (0);
}
