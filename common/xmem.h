/*
 * xmem - allocation that never returns NULL
 *
 * Out of memory is an environment problem: msg_fatal() ends the process
 * (a daemon's supervisor restarts it; Postfix retries meanwhile).
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_XMEM_H
#define RG_XMEM_H

#include <stddef.h>

void   *xmalloc(size_t);
void   *xcalloc(size_t, size_t);
void   *xrealloc(void *, size_t);
void   *xreallocarray(void *, size_t, size_t);
char   *xstrdup(const char *);
char   *xstrndup(const char *, size_t);

#endif
