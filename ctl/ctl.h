/*
 * ctl.h - private interface of relayguardctl
 *
 * relayguardctl.c: options and subcommands.
 * quota_admin.c: quota show and reset over the engine's Redis link.
 * routing.c: postfix-config, and the routes check prints.
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

#endif
