/*
 * fuzz_redis_reply - what Redis sends back to the quota module: the bytes
 * go through hiredis' reply reader, as on a real connection, and every
 * reply it produces through quota_req_noscript() and quota_req_result().
 * Whatever a broken or hostile server says, the result is one of the
 * quota results and nothing crashes.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "quota_priv.h"
#include "rlink.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
			freeReplyObject(reply);
		}
	}
	redisReaderFree(r);
	return (0);
}
