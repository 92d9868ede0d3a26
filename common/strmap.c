/*
 * strmap - string-keyed hash table, open addressing with linear probing
 *
 * SYNOPSIS
 *	See strmap.h.
 *
 * DESCRIPTION
 *	FNV-1a hashing; the hash of each slot is kept to skip most key
 *	comparisons.  No deletion: the engine's maps are built once per config.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "xmem.h"

struct strmap_slot {
	char   *key;
	size_t	keylen;
	uint64_t hash;
	void   *value;
};

struct strmap {
	struct strmap_slot *slots;
	size_t	size;			/* power of two */
	size_t	count;
};

static uint64_t
strmap_hash(const char *key, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	size_t	i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char) key[i];
		h *= 1099511628211ULL;
	}
	return (h);
}

/* strmap_create - an empty table sized for about "expected" keys */
struct strmap *
strmap_create(size_t expected)
{
	struct strmap *m = xcalloc(1, sizeof(*m));

	m->size = 16;
	while (m->size < expected * 2)
		m->size <<= 1;
	m->slots = xcalloc(m->size, sizeof(*m->slots));
	return (m);
}

static struct strmap_slot *
strmap_find(const struct strmap *m, const char *key, size_t len, uint64_t h)
{
	size_t	i = h & (m->size - 1);

	for (;;) {
		struct strmap_slot *s = &m->slots[i];

		if (s->key == NULL
		    || (s->hash == h && s->keylen == len
			&& memcmp(s->key, key, len) == 0))
			return (s);
		i = (i + 1) & (m->size - 1);
	}
}

static void
strmap_grow(struct strmap *m)
{
	struct strmap_slot *old = m->slots;
	size_t	oldsize = m->size, i;

	m->size <<= 1;
	m->slots = xcalloc(m->size, sizeof(*m->slots));
	for (i = 0; i < oldsize; i++)
		if (old[i].key)
			*strmap_find(m, old[i].key, old[i].keylen, old[i].hash) = old[i];
	free(old);
}

/* strmap_put - insert or replace; returns the old value or NULL */
void *
strmap_put(struct strmap *m, const char *key, void *value)
{
	size_t	len = strlen(key);
	uint64_t h = strmap_hash(key, len);
	struct strmap_slot *s;
	void   *old;

	if ((m->count + 1) * 10 > m->size * 7)
		strmap_grow(m);
	s = strmap_find(m, key, len, h);
	if (s->key) {
		old = s->value;
		s->value = value;
		return (old);
	}
	s->key = xstrndup(key, len);
	s->keylen = len;
	s->hash = h;
	s->value = value;
	m->count++;
	return (NULL);
}

/* strmap_getn - look up a key given by pointer and length */
void *
strmap_getn(const struct strmap *m, const char *key, size_t len)
{
	struct strmap_slot *s = strmap_find(m, key, len, strmap_hash(key, len));

	return (s->key ? s->value : NULL);
}

/* strmap_get - look up a NUL-terminated key */
void *
strmap_get(const struct strmap *m, const char *key)
{
	return (strmap_getn(m, key, strlen(key)));
}

/* strmap_count - number of keys */
size_t
strmap_count(const struct strmap *m)
{
	return (m->count);
}

/* strmap_free - free the table and its key copies, not the values */
void
strmap_free(struct strmap *m)
{
	size_t	i;

	if (m == NULL)
		return;
	for (i = 0; i < m->size; i++)
		free(m->slots[i].key);
	free(m->slots);
	free(m);
}
