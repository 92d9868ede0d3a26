/*
 * listen - open the policy daemon's listening sockets
 *
 * SYNOPSIS
 *	fd = pd_listen_open("inet:127.0.0.1:10040", mode, user, err, errlen);
 *
 * DESCRIPTION
 *	pd_listen_open("inet:127.0.0.1:10040" | "inet:[::1]:10040" |
 *	"unix:/path", mode, user, err, errlen) returns a non-blocking listening
 *	descriptor or -1 with a reason.  A stale unix socket is removed first.
 *	The new one is created with the configured mode (socket_mode, 0660 by
 *	default) through the umask, so it never exists with wider permissions,
 *	and when we run as root it is then given to user and user's group: the
 *	daemon's user and group, and root, may connect; Postfix gets in through
 *	that group (relayguard-policyd(8)).
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "policyd.h"

static int
pd_listen_unix(const char *path, mode_t mode, const char *user, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	struct passwd *pw = NULL;
	mode_t	old;
	int	fd, rc;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "unix socket path too long: %s", path);
		return (-1);
	}
	if (user && *user && geteuid() == 0 && (pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user \"%s\" does not exist: create it or set user = \"\"", user);
		return (-1);
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			return (-1);
		}
		unlink(path);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "listen on unix:%s: %s", path, strerror(errno));
		return (-1);
	}
	/* bind(2) creates the file with 0777 & ~umask: the mode from birth. */
	old = umask((mode_t) (~mode & 0777));
	rc = bind(fd, (struct sockaddr *) &sun, sizeof(sun));
	umask(old);
	if (rc < 0 || (pw && chown(path, pw->pw_uid, pw->pw_gid) < 0)
	    || listen(fd, 1024) < 0) {
		snprintf(err, errlen, "listen on unix:%s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	return (fd);
}

static int
pd_listen_inet(const char *hostport, char *err, size_t errlen)
{
	char	host[256];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints, *ai;
	size_t	hlen;
	int	fd, on = 1, rc;

	if (colon == NULL || (hlen = (size_t) (colon - hostport)) >= sizeof(host)) {
		snprintf(err, errlen, "bad inet address: %s", hostport);
		return (-1);
	}
	memcpy(host, hostport, hlen);
	host[hlen] = 0;
	if (host[0] == '[' && hlen > 1 && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(*host ? host : NULL, colon + 1, &hints, &ai)) != 0) {
		snprintf(err, errlen, "inet:%s: %s", hostport, gai_strerror(rc));
		return (-1);
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0
	    || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
		snprintf(err, errlen, "listen on inet:%s: %s", hostport, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return (fd);
}

/* pd_listen_open - a listening socket for "inet:host:port" or "unix:/path" */
int
pd_listen_open(const char *spec, mode_t mode, const char *user, char *err, size_t errlen)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return (pd_listen_unix(spec + 5, mode, user, err, errlen));
	if (strncmp(spec, "inet:", 5) == 0)
		return (pd_listen_inet(spec + 5, err, errlen));
	snprintf(err, errlen, "unsupported listen address: %s", spec);
	return (-1);
}
