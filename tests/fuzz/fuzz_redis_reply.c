/*
 * fuzz_redis_reply - what Redis sends back to the quota module: the bytes
 * go through hiredis' reply reader, as on a real connection, and every
 * reply it produces through quota_req_noscript() and quota_req_result(),
 * and through the Sentinel parsers (rlink_sentinel_addr(),
 * rlink_sentinel_switch(), rlink_readonly()) and the Cluster parsers
 * (rcluster_redirect(), rcluster_map_parse()).  Whatever a broken or
 * hostile server or sentinel says, the result is one of the quota
 * results, an accepted address is a NUL-terminated numeric one with a
 * port, and nothing crashes.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quota_priv.h"
#include "rcluster.h"
#include "rlink.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a sentinel parser accepts is an address that fits, and a port. */
static void
sentinel_check(const redisReply *reply)
{
	char	host[64];
	int	port = 0, rc;

	memset(host, 'x', sizeof(host));
	if (rlink_sentinel_addr(reply, host, sizeof(host), &port) == 0
	    && (memchr(host, 0, sizeof(host)) == NULL || port < 1 || port > 65535))
		abort();
	memset(host, 'x', sizeof(host));
	rc = rlink_sentinel_switch(reply, "relayguard", host, sizeof(host), &port);
	if (rc < -1 || rc > 1
	    || (rc == 1 && (memchr(host, 0, sizeof(host)) == NULL || port < 1 || port > 65535)))
		abort();
	if (rlink_readonly(reply) && reply->type != REDIS_REPLY_ERROR)
		abort();
}

/* Cluster: a redirection names a slot and a node; a map only known nodes. */
static void
cluster_check(const redisReply *reply)
{
	static struct rcluster_map m;
	char	host[64];
	unsigned slot = 0;
	int	ask, port = 0, i;

	memset(host, 'x', sizeof(host));
	if (rcluster_redirect(reply, &ask, &slot, host, sizeof(host), &port) == 1
	    && (slot >= RCLUSTER_SLOTS || memchr(host, 0, sizeof(host)) == NULL || port < 1))
		abort();
	rcluster_map_clear(&m);
	(void) rcluster_map_parse(&m, reply, "127.0.0.1");
	for (i = 0; i < RCLUSTER_SLOTS; i++)
		if (m.slot[i] != RCLUSTER_NONE && m.slot[i] >= m.nnodes)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	redisReader *r = redisReaderCreate();

	rlink_reader_guard(r);			/* as on every quota connection */
	void   *reply;
	char	err[256];
	int	n = 0;

	if (redisReaderFeed(r, (const char *) data, size) == REDIS_OK) {
		while (n++ < 64 && redisReaderGetReply(r, &reply) == REDIS_OK && reply) {
			enum quota_result q;

			(void) quota_req_noscript(reply);
			q = quota_req_result(reply, err, sizeof(err));
			if ((int) q < QUOTA_OK || q > QUOTA_BACKEND_ERROR)
				abort();
			sentinel_check(reply);
			cluster_check(reply);
			freeReplyObject(reply);
		}
	}
	redisReaderFree(r);
	return (0);
}
