/*
 * rcluster - Redis Cluster routing: the slot of a key, the slot map,
 * MOVED and ASK, and the blocking client's per-node links (see rcluster.h)
 *
 * SYNOPSIS
 *	See rcluster.h.
 *
 * DESCRIPTION
 *	The hash slot is the cluster specification's: CRC16 (XMODEM) of the
 *	key, or of the text between the first '{' and the first '}' after it
 *	when that text is not empty, modulo 16384.  relayguard's keys carry
 *	the customer as that tag, so one customer's keys share one slot.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "rcluster.h"
#include "xmem.h"

struct rcluster_sync {
	struct rcluster_map map;
	int	loaded;			/* map holds CLUSTER SLOTS' answer */
	int	seed;			/* the seed to ask first */
	struct rlink_sync *node[RCLUSTER_NODES_MAX];
};

/* rcluster_crc16 - CRC16-CCITT (XMODEM): polynomial 0x1021, initial 0 */
uint16_t
rcluster_crc16(const char *buf, size_t len)
{
	uint16_t crc = 0;
	size_t	i;
	int	b;

	for (i = 0; i < len; i++) {
		crc ^= (uint16_t) ((unsigned char) buf[i] << 8);
		for (b = 0; b < 8; b++)
			crc = (uint16_t) (crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
	}
	return (crc);
}

/* rcluster_keyslot - the hash slot of a key (its {tag} when it has one) */
unsigned
rcluster_keyslot(const char *key, size_t len)
{
	const char *o = memchr(key, '{', len), *c;

	if (o != NULL && (c = memchr(o + 1, '}', len - (size_t) (o + 1 - key))) != NULL
	    && c > o + 1)
		return (rcluster_crc16(o + 1, (size_t) (c - o - 1)) & (RCLUSTER_SLOTS - 1));
	return (rcluster_crc16(key, len) & (RCLUSTER_SLOTS - 1));
}

/*
 * rcluster_redirect - "-MOVED slot host:port" (ask 0) or "-ASK slot
 * host:port" (ask 1): 1 with the slot and the node, 0 when the reply is
 * no redirection, -1 when it is one but malformed.
 */
int
rcluster_redirect(const redisReply *r, int *ask, unsigned *slot, char *host, size_t hostlen,
		  int *port)
{
	const char *s, *e, *sp, *colon;
	unsigned long v = 0;

	if (r == NULL || r->type != REDIS_REPLY_ERROR || r->str == NULL)
		return (0);
	s = r->str;
	e = s + r->len;
	if (r->len > 6 && memcmp(s, "MOVED ", 6) == 0) {
		*ask = 0;
		s += 6;
	} else if (r->len > 4 && memcmp(s, "ASK ", 4) == 0) {
		*ask = 1;
		s += 4;
	} else
		return (0);
	if ((sp = memchr(s, ' ', (size_t) (e - s))) == NULL || sp == s || sp - s > 5)
		return (-1);
	for (; s < sp; s++) {
		if (*s < '0' || *s > '9')
			return (-1);
		v = v * 10 + (unsigned long) (*s - '0');
	}
	if (v >= RCLUSTER_SLOTS)
		return (-1);
	s = sp + 1;
	for (colon = NULL, sp = s; sp < e; sp++)
		if (*sp == ':')
			colon = sp;
	if (colon == NULL)
		return (-1);
	if (rlink_addr_parse(s, (size_t) (colon - s), colon + 1, (size_t) (e - colon - 1), host,
			     hostlen, port) < 0)
		return (-1);
	*slot = (unsigned) v;
	return (1);
}

/* rcluster_map_clear - no nodes, no slots */
void
rcluster_map_clear(struct rcluster_map *m)
{
	m->nnodes = 0;
	memset(m->slot, RCLUSTER_NONE, sizeof(m->slot));
}

/* rcluster_map_node - the index of host:port, added when new; -1 when full */
int
rcluster_map_node(struct rcluster_map *m, const char *host, int port)
{
	int	i;

	for (i = 0; i < m->nnodes; i++)
		if (m->node[i].port == port && strcmp(m->node[i].host, host) == 0)
			return (i);
	if (m->nnodes == RCLUSTER_NODES_MAX || strlen(host) >= sizeof(m->node[0].host))
		return (-1);
	snprintf(m->node[i].host, sizeof(m->node[0].host), "%s", host);
	m->node[i].port = port;
	return (m->nnodes++);
}

static int
rcluster_is_int(const redisReply *r, long long max)
{
	return (r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer >= 0
		&& r->integer <= max);
}

/*
 * rcluster_map_parse - CLUSTER SLOTS: { start, end, { ip, port, id ... },
 * replicas ... } per range; the master (the first node) serves the
 * range.  An empty ip is the node that was asked.  The node list is
 * kept (its indices name open connections); the slots are replaced.
 */
int
rcluster_map_parse(struct rcluster_map *m, const redisReply *r, const char *asked)
{
	const redisReply *e, *n;
	const char *ip;
	char	host[64], port[8];
	int	i, p, k;
	size_t	j;

	memset(m->slot, RCLUSTER_NONE, sizeof(m->slot));
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0)
		return (-1);
	for (j = 0; j < r->elements; j++) {
		e = r->element[j];
		if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements < 3
		    || !rcluster_is_int(e->element[0], RCLUSTER_SLOTS - 1)
		    || !rcluster_is_int(e->element[1], RCLUSTER_SLOTS - 1)
		    || e->element[0]->integer > e->element[1]->integer)
			goto bad;
		n = e->element[2];
		if (n == NULL || n->type != REDIS_REPLY_ARRAY || n->elements < 2
		    || n->element[0]->type != REDIS_REPLY_STRING
		    || !rcluster_is_int(n->element[1], 65535))
			goto bad;
		snprintf(port, sizeof(port), "%lld", n->element[1]->integer);
		ip = n->element[0]->len ? n->element[0]->str : asked;
		if (rlink_addr_parse(ip, n->element[0]->len ? n->element[0]->len : strlen(asked),
				     port, strlen(port), host, sizeof(host), &p) < 0
		    || (i = rcluster_map_node(m, host, p)) < 0)
			goto bad;
		for (k = (int) e->element[0]->integer; k <= e->element[1]->integer; k++)
			m->slot[k] = (unsigned char) i;
	}
	return (0);
bad:
	memset(m->slot, RCLUSTER_NONE, sizeof(m->slot));
	return (-1);
}

/* --- the blocking client ------------------------------------------------ */

/* rcluster_sync_free - close every node's connection */
void
rcluster_sync_free(struct rcluster_sync *cs)
{
	int	i;

	if (cs == NULL)
		return;
	for (i = 0; i < RCLUSTER_NODES_MAX; i++)
		if (cs->node[i] != NULL) {
			rlink_sync_close(cs->node[i]);
			free(cs->node[i]);
		}
	free(cs);
}

/* The link to node i: the cluster link's settings with that address. */
static struct rlink_sync *
rcluster_link(const struct rlink_sync *l, struct rcluster_sync *cs, int i)
{
	struct rlink_sync *n = cs->node[i];

	if (n == NULL) {
		n = cs->node[i] = xcalloc(1, sizeof(*n));
		n->cfg = l->cfg;
		n->cfg.nseeds = 0;
		n->cfg.database = 0;
		n->gen = l->gen;
		snprintf(n->cfg.host, sizeof(n->cfg.host), "%s", cs->map.node[i].host);
		n->cfg.port = cs->map.node[i].port;
		snprintf(n->cfg.server, sizeof(n->cfg.server), "%s%s%s:%d (cluster)",
			 strchr(n->cfg.host, ':') ? "[" : "", n->cfg.host,
			 strchr(n->cfg.host, ':') ? "]" : "", n->cfg.port);
	}
	return (n);
}

/* The index of host:port; a full table starts over (closing every link). */
static int
rcluster_node(struct rcluster_sync *cs, const char *host, int port)
{
	int	i;

	if ((i = rcluster_map_node(&cs->map, host, port)) >= 0)
		return (i);
	for (i = 0; i < RCLUSTER_NODES_MAX; i++) {
		if (cs->node[i] != NULL) {
			rlink_sync_close(cs->node[i]);
			free(cs->node[i]);
		}
		cs->node[i] = NULL;
	}
	rcluster_map_clear(&cs->map);
	cs->loaded = 0;
	return (rcluster_map_node(&cs->map, host, port));
}

/* The slot map, asked of the seeds in turn. */
static int
rcluster_sync_load(struct rlink_sync *l, struct rcluster_sync *cs, char *err, size_t errlen)
{
	const char *argv[2] = { "CLUSTER", "SLOTS" };
	size_t	len[2] = { 7, 5 };
	redisReply *r;
	int	k, s, i;

	for (k = 0; k < l->cfg.nseeds; k++) {
		s = (cs->seed + k) % l->cfg.nseeds;
		if ((i = rcluster_node(cs, l->cfg.seed[s].host, l->cfg.seed[s].port)) < 0)
			break;
		r = rlink_sync_cmd(rcluster_link(l, cs, i), 2, argv, len, err, errlen);
		if (r != NULL && rcluster_map_parse(&cs->map, r, l->cfg.seed[s].host) == 0) {
			freeReplyObject(r);
			cs->loaded = 1;
			cs->seed = s;
			return (0);
		}
		if (r != NULL)
			snprintf(err, errlen, "CLUSTER SLOTS: %s",
				 r->type == REDIS_REPLY_ERROR ? r->str : "not a slot map");
		freeReplyObject(r);
		rlink_log_err(&l->log, &l->cfg, "seed", err);
	}
	snprintf(err, errlen, "no seed node answered with a slot map");
	return (-1);
}

/* One command on node i, after ASKING when ask is set. */
static redisReply *
rcluster_sync_send(struct rlink_sync *l, struct rcluster_sync *cs, int i, int ask, int argc,
		   const char **argv, const size_t *len, char *err, size_t errlen)
{
	struct rlink_sync *n = rcluster_link(l, cs, i);
	const char *asking = "ASKING";
	size_t	asklen = 6;
	redisReply *r;

	if (ask) {
		if ((r = rlink_sync_cmd(n, 1, &asking, &asklen, err, errlen)) == NULL)
			return (NULL);
		freeReplyObject(r);
	}
	return (rlink_sync_cmd(n, argc, argv, len, err, errlen));
}

/* One try of rcluster_sync_cmd(): MOVED and ASK followed once. */
static redisReply *
rcluster_sync_once(struct rlink_sync *l, const char *key, size_t keylen, int argc,
		   const char **argv, const size_t *len, char *err, size_t errlen)
{
	struct rcluster_sync *cs;
	redisReply *r;
	char	host[64];
	unsigned slot = rcluster_keyslot(key, keylen), s;
	int	i, ask = 0, port, attempt;

	if (l->cfg.nseeds == 0)
		return (rlink_sync_cmd(l, argc, argv, len, err, errlen));
	if ((cs = l->cl) == NULL) {
		cs = l->cl = xcalloc(1, sizeof(*cs));
		rcluster_map_clear(&cs->map);
	}
	if (!cs->loaded && rcluster_sync_load(l, cs, err, errlen) < 0)
		return (NULL);
	if ((i = cs->map.slot[slot]) == RCLUSTER_NONE) {
		snprintf(err, errlen, "no node serves slot %u", slot);
		cs->loaded = 0;
		return (NULL);
	}
	for (attempt = 0;; attempt++) {
		if ((r = rcluster_sync_send(l, cs, i, ask, argc, argv, len, err, errlen)) == NULL) {
			cs->loaded = 0;		/* a node failed: ask for the map again */
			return (NULL);
		}
		if (attempt > 0 || rcluster_redirect(r, &ask, &s, host, sizeof(host), &port) != 1)
			return (r);
		if (!ask)
			(void) rcluster_sync_load(l, cs, err, errlen);
		if ((i = rcluster_node(cs, host, port)) < 0)
			return (r);
		freeReplyObject(r);
	}
}

static long long
rcluster_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * rcluster_sync_cmd - one command, sent to the node serving key's slot.
 * -TRYAGAIN (a multi-key call whose slot is being migrated, its keys
 * split between two nodes) and a second redirect (the nodes disagree
 * while SETSLOT NODE reaches them) are tried again every 20 ms, routed
 * afresh, within redis.timeout_ms.
 */
redisReply *
rcluster_sync_cmd(struct rlink_sync *l, const char *key, size_t keylen, int argc,
		  const char **argv, const size_t *len, char *err, size_t errlen)
{
	struct timespec pause = { 0, 20 * 1000000 };
	long long until = rcluster_now_ms() + l->cfg.timeout_ms;
	redisReply *r;

	for (;;) {
		r = rcluster_sync_once(l, key, keylen, argc, argv, len, err, errlen);
		if (r == NULL || r->type != REDIS_REPLY_ERROR
		    || (strncmp(r->str, "TRYAGAIN", 8) != 0 && strncmp(r->str, "MOVED ", 6) != 0
			&& strncmp(r->str, "ASK ", 4) != 0)
		    || rcluster_now_ms() + 20 > until)
			return (r);
		freeReplyObject(r);
		nanosleep(&pause, NULL);
	}
}
