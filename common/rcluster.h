/*
 * rcluster - Redis Cluster routing on top of rlink (hiredis 0.14 has none)
 *
 * SYNOPSIS
 *	slot = rcluster_keyslot(key, len);	-- CRC16 of the {hash tag} mod 16384
 *	rc = rcluster_redirect(reply, &ask, &slot, host, sizeof(host), &port);
 *						-- -MOVED / -ASK slot host:port
 *	rc = rcluster_map_parse(&map, reply, asked_host);	-- CLUSTER SLOTS
 *	i = rcluster_map_node(&map, host, port);	-- a node's index, added if new
 *
 *	-- blocking (relayguard-milter, relayguardctl): route by a key
 *	r = rcluster_sync_cmd(&link, key, keylen, argc, argv, len, err, sizeof(err));
 *	rcluster_sync_free(link.cl);		-- rlink_sync_close() does it
 *
 * DESCRIPTION
 *	The slot map comes from CLUSTER SLOTS, asked of the seed nodes each
 *	in turn (the one that answered last first).  Every node gets its own
 *	connection, opened on first use and reopened after a failure, with
 *	the settings of the link (timeout, AUTH; database is 0).  A -MOVED
 *	reply reloads the map and sends the command once more to the node it
 *	names; -ASK sends ASKING and then the command to that node, once.  A
 *	node that cannot be reached makes the map be asked again before the
 *	next command.  Without cluster settings rcluster_sync_cmd() is
 *	rlink_sync_cmd().
 *
 * DIAGNOSTICS
 *	rcluster_redirect() returns 1 for a redirection, 0 for any other
 *	reply, -1 for a malformed one.  rcluster_map_parse() returns -1 for
 *	a reply that is not a slot map (the map is then empty).
 *	rcluster_sync_cmd() returns NULL with err set, as rlink_sync_cmd().
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_RCLUSTER_H
#define RG_RCLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "rlink.h"

#define RCLUSTER_SLOTS		16384
#define RCLUSTER_NODES_MAX	64
#define RCLUSTER_NONE		0xff		/* a slot no node serves */

struct rcluster_map {
	int	nnodes;
	struct {
		char	host[64];		/* numeric */
		int	port;
	}	node[RCLUSTER_NODES_MAX];
	unsigned char slot[RCLUSTER_SLOTS];	/* node index, or RCLUSTER_NONE */
};

uint16_t rcluster_crc16(const char *, size_t);
unsigned rcluster_keyslot(const char *key, size_t len);
int	rcluster_redirect(const redisReply *, int *ask, unsigned *slot, char *host,
		size_t hostlen, int *port);
void	rcluster_map_clear(struct rcluster_map *);
int	rcluster_map_node(struct rcluster_map *, const char *host, int port);
int	rcluster_map_parse(struct rcluster_map *, const redisReply *, const char *asked);

redisReply *rcluster_sync_cmd(struct rlink_sync *, const char *key, size_t keylen,
		int argc, const char **argv, const size_t *len, char *err, size_t errlen);
void	rcluster_sync_free(struct rcluster_sync *);

#endif
