/*
 * fuzz_users_file - a customer's users_file with arbitrary contents: the
 * input is written to a temporary file that a fixed configuration names.
 * A file is either refused with "file:line: reason" or loaded with every
 * user inside the customer's domains.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64], conf[256];
	char	err[512];
	struct rg_conf *c;
	FILE   *fp;
	size_t	i;

	if (path[0] == 0) {
		snprintf(path, sizeof(path), "/tmp/fuzz-users.%d", (int) getpid());
		snprintf(conf, sizeof(conf), "customer \"a\" {\n domains = { \"a.example\" }\n"
			 " licenses = 1\n users_file = \"%s\"\n}\n", path);
		log_set_quiet(1);
	}
	if ((fp = fopen(path, "w")) == NULL)
		return (0);
	fwrite(data, 1, size, fp);
	fclose(fp);
	if ((c = conf_load_buf(conf, "fuzz.conf", err, sizeof(err))) != NULL) {
		for (i = 0; i < c->nusers; i++)
			if (conf_user(c, c->users[i]->address) != c->users[i]
			    || c->users[i]->customer != &c->customers[0])
				abort();
		conf_unref(c);
	} else if (strncmp(err, path, strlen(path)) != 0 && strncmp(err, "fuzz.conf:", 10) != 0) {
		abort();		/* every refusal names a file and line */
	}
	return (0);
}
