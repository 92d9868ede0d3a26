/*
 * privs - the one privilege drop of relayguard-policyd and relayguard-milter
 *
 * SYNOPSIS
 *	See privs.h.
 *
 * DESCRIPTION
 *	initgroups() rather than the primary group alone, so that an operator
 *	can grant access (a Redis socket, a password file) through a
 *	supplementary group of the daemon's user.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "log.h"
#include "privs.h"

/* privs_drop - become user (when root and user is not empty) */
void
privs_drop(const char *user)
{
	struct passwd *pw;

	if (user == NULL || *user == 0 || geteuid() != 0)
		return;
	if ((pw = getpwnam(user)) == NULL)
		msg_fatal("user \"%s\" does not exist: create it or set user = \"\"", user);
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0
	    || setuid(pw->pw_uid) < 0)
		msg_fatal("cannot drop privileges to %s: %m", user);
	if (setuid(0) == 0)
		msg_fatal("privileges not dropped: still able to become root");
}
