/*
 * strmap - string-keyed hash table (open addressing, linear probing)
 *
 * SYNOPSIS
 *	struct strmap *m = strmap_create(expected);
 *	void *old = strmap_put(m, key, value);	-- NULL when key was new
 *	void *v = strmap_get(m, key);		-- NULL when absent
 *	strmap_free(m);
 *
 * DESCRIPTION
 *	Keys are copied.  Lookup is O(1) on average; the table doubles when
 *	it is 70% full.  Values are the caller's: strmap_free() leaves them.
 *	strmap_getn() looks up a key given as pointer and length.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_STRMAP_H
#define RG_STRMAP_H

#include <stddef.h>

struct strmap;

struct strmap *strmap_create(size_t expected);
void   *strmap_put(struct strmap *, const char *key, void *value);
void   *strmap_get(const struct strmap *, const char *key);
void   *strmap_getn(const struct strmap *, const char *key, size_t len);
size_t	strmap_count(const struct strmap *);
void	strmap_free(struct strmap *);

#endif
