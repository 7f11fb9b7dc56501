/* sha256 on a second thread: the caller hands bytes over (a copy into a
 * ring) and goes on receiving and writing while they are hashed, so a
 * download costs max(network, hash) rather than their sum. */
#ifndef MB_HASHPIPE_H
#define MB_HASHPIPE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"

struct mb_hashpipe {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t can_put, can_take;
	unsigned char *ring;
	size_t cap;
	uint64_t head, tail; /* bytes put, bytes hashed */
	bool closing, running;
	struct mb_sha256 h;
};

/* cap: ring size in bytes (memory held while running). */
int mb_hashpipe_start(struct mb_hashpipe *p, size_t cap, struct mb_err *err);
/* Copies buf into the ring; waits while the ring is full. */
void mb_hashpipe_put(struct mb_hashpipe *p, const void *buf, size_t len);
/* Waits for every byte put, then writes the digest and stops. */
void mb_hashpipe_finish(struct mb_hashpipe *p, char hex[MB_SHA256_HEX]);
/* Stops without a digest; harmless when not running. */
void mb_hashpipe_abort(struct mb_hashpipe *p);

#endif
