/*
 * privs - drop root privileges after the daemons have opened their sockets
 *
 * SYNOPSIS
 *	privs_drop(conf->user);
 *
 * DIAGNOSTICS
 *	Does nothing when user is empty or we are not root.  An unknown user,
 *	a failed setuid/setgid, or root still reachable afterwards is fatal:
 *	a daemon must never go on running as root by accident.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_PRIVS_H
#define RG_PRIVS_H

void	privs_drop(const char *user);

#endif
