/*
 * ctl.h - private interface of relayguardctl
 *
 * relayguardctl.c: options and subcommands.
 * quota_admin.c: quota show and reset over the engine's Redis link.
 * routing.c: postfix-config, and the routes check prints.
 * tlstest.c: tls-test, the TLS check of a route.
 * smtpreply.c: its SMTP reply reader.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_CTL_H
#define RG_CTL_H

#include <stdio.h>

#include "conf.h"

struct rlink_sync;

int	ctl_quota_show(struct rlink_sync *, const struct rg_conf *, const char *who, FILE *);
int	ctl_quota_reset(struct rlink_sync *, const struct rg_conf *, const char *who);
int	ctl_postfix_config(const struct rg_conf *, FILE *);
void	ctl_print_routes(const struct rg_conf *, FILE *);

/* A route as tls-test sees it (DESIGN 5.1); host without brackets. */
struct tlstest_opts {
	const char *host;
	unsigned port;
	const char *tls_name;		/* NULL or "": none */
	const char *ca_file;		/* NULL or "": the system's CAs */
	int	require_tls;
	int	require_ca_signed;
	int	validate_hostname;
	int	mx_lookup;
};

const char *tlstest_check(const struct tlstest_opts *);
void	tlstest_policy(const struct tlstest_opts *, char *, size_t);
int	tlstest_run(const struct tlstest_opts *, FILE *);
int	ctl_tls_test(const struct rg_conf *, int argc, char **argv);

/* One SMTP reply, as smtp_reply_parse reads it. */
#define SMTP_REPLY_LINE_MAX	1000	/* bytes of a line with its CRLF */
#define SMTP_REPLY_LINES_MAX	50	/* lines of a multi-line reply */
struct smtp_reply {
	int	code;
	int	lines;
	int	starttls;		/* a line after the first says STARTTLS */
	char	text[256];		/* the first line, control bytes masked */
	const char *error;		/* why the input is no reply */
};

int	smtp_reply_parse(const char *, size_t, struct smtp_reply *);
void	smtp_text_copy(char *, size_t, const char *, size_t);

#endif
