/*
 * conf_priv - what the four parts of the configuration code share
 *
 * SYNOPSIS
 *	conf_schema.c	the option tables and their validators (cfg_t factory)
 *	conf_parse.c	reading and parsing, batched for large files; conf_load()
 *	conf_build.c	the immutable struct rg_conf from a parse, cross-checks
 *	conf_redis.c	the redis { } section: names resolved, password files read
 *	conf.c		the reference-counted object and its lookups
 *	route.c		routes and user gateways (route.h)
 *
 * DESCRIPTION
 *	A parse in progress is a struct conf_parse: the first problem found
 *	goes into its err as "file:line: reason" (conf_fail()) and later
 *	ones are dropped.  Nothing here is for use outside common/conf*.c.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_CONF_PRIV_H
#define RG_CONF_PRIV_H

#include <confuse.h>
#include <stdarg.h>
#include <stdio.h>

#include "conf.h"
#include "log.h"

#define LIMIT_UNSET	(-1)
#define USERS_LINE_MAX	1024
#define PASS_LINE_MAX	700		/* "user password", the first line */
#define AUTH_USER_MAX	127
#define AUTH_PASS_MAX	511
#define SENTINELS_MAX	16		/* redis.sentinels */
#define UNIX_PATH_MAX	107		/* sun_path less its NUL */

/* The parse in progress: where libconfuse's error callback writes. */
struct conf_parse {
	char   *err;
	size_t	errlen;
	int	failed;
	const char *file;
	int	lines;			/* lines in the file */
	int	lineoff;		/* the piece being parsed starts after this line */
};

void	conf_fail(struct conf_parse *, int line, const char *fmt, ...) RG_PRINTF(3, 4);
int	conf_cfg_line(const cfg_t *);

extern const char *const conf_senders_names[];
extern const char *const conf_billing_names[];
extern const char *const conf_backend_names[];
extern const char *const conf_mode_names[];

int	conf_enum(const char *const *names, const char *value);
cfg_t  *conf_cfg_new(void (*errfunc)(cfg_t *, const char *, va_list));
/* conf_redis.c: the redis { } section, files read and names resolved */
void	conf_redis_build(struct conf_parse *, struct rg_conf *, cfg_t *redis);

/* conf_build.c helpers conf_redis.c uses too */
void	conf_relpath(const struct conf_parse *, const char *file, char *path, size_t len);
FILE   *conf_open(const char *path, const char **why);

struct conf_builder;
struct conf_builder *conf_build_start(cfg_t *global, size_t ncustomers, struct conf_parse *);
void	conf_build_add(struct conf_builder *, cfg_t **customers, size_t n);
struct rg_conf *conf_build_end(struct conf_builder *);

/* route.c: the routing part of the build (DESIGN 5.1) */
void	route_conf_build(struct conf_parse *, struct rg_conf *, cfg_t *global);
char  **route_customer_options(struct conf_parse *, struct rg_conf *, struct rg_customer *,
		cfg_t *);
void	route_customer_gateways(struct conf_parse *, struct rg_conf *, struct rg_customer *,
		char **users);
void	route_conf_free(struct rg_conf *);

#endif
