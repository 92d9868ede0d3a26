/*
 * xmem - die-on-failure allocation wrappers
 *
 * SYNOPSIS
 *	See xmem.h: xmalloc(), xcalloc(), xrealloc(), xstrdup() ...
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmem.h"

/* xmalloc - malloc or die */
void *
xmalloc(size_t n)
{
	void   *p = malloc(n ? n : 1);

	if (p == NULL)
		msg_fatal("out of memory allocating %zu bytes", n);
	return (p);
}

/* xcalloc - calloc or die */
void *
xcalloc(size_t nmemb, size_t size)
{
	void   *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		msg_fatal("out of memory allocating %zu x %zu bytes", nmemb, size);
	return (p);
}

/* xrealloc - realloc or die */
void *
xrealloc(void *old, size_t n)
{
	void   *p = realloc(old, n ? n : 1);

	if (p == NULL)
		msg_fatal("out of memory allocating %zu bytes", n);
	return (p);
}

/* xreallocarray - realloc of nmemb * size with an overflow check */
void *
xreallocarray(void *old, size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size)
		msg_fatal("allocation overflow: %zu x %zu", nmemb, size);
	return (xrealloc(old, nmemb * size));
}

/* xstrdup - strdup or die */
char *
xstrdup(const char *s)
{
	return (xstrndup(s, strlen(s)));
}

/* xstrndup - copy at most n bytes and terminate */
char *
xstrndup(const char *s, size_t n)
{
	size_t	len = strnlen(s, n);
	char   *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = 0;
	return (p);
}
