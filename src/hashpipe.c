#include "hashpipe.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static void *hash_loop(void *arg)
{
	struct mb_hashpipe *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->tail == p->head && !p->closing)
			pthread_cond_wait(&p->can_take, &p->mu);
		if (p->tail == p->head)
			break;
		size_t at = (size_t)(p->tail % p->cap);
		size_t n = (size_t)(p->head - p->tail);
		if (n > p->cap - at)
			n = p->cap - at;
		/* the producer never writes into [tail, head): hash it unlocked */
		pthread_mutex_unlock(&p->mu);
		mb_sha256_update(&p->h, p->ring + at, n);
		pthread_mutex_lock(&p->mu);
		p->tail += n;
		pthread_cond_signal(&p->can_put);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int mb_hashpipe_start(struct mb_hashpipe *p, size_t cap, struct mb_err *err)
{
	int rc;

	memset(p, 0, sizeof *p);
	if ((rc = mb_sha256_init(&p->h, err)) < 0)
		return rc;
	p->cap = cap;
	p->ring = xmalloc(cap);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->can_put, NULL);
	pthread_cond_init(&p->can_take, NULL);
	if ((rc = pthread_create(&p->thread, NULL, hash_loop, p)) != 0) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->can_put);
		pthread_cond_destroy(&p->can_take);
		free(p->ring);
		mb_sha256_abort(&p->h);
		return mb_errno(err, MB_EFAIL, rc, "cannot start the hashing thread");
	}
	p->running = true;
	return 0;
}

void mb_hashpipe_put(struct mb_hashpipe *p, const void *buf, size_t len)
{
	const unsigned char *b = buf;

	pthread_mutex_lock(&p->mu);
	while (len > 0) {
		while (p->head - p->tail == p->cap)
			pthread_cond_wait(&p->can_put, &p->mu);
		size_t at = (size_t)(p->head % p->cap);
		size_t n = p->cap - (size_t)(p->head - p->tail);
		if (n > p->cap - at)
			n = p->cap - at;
		if (n > len)
			n = len;
		pthread_mutex_unlock(&p->mu);
		memcpy(p->ring + at, b, n); /* free space: the hasher does not read it */
		pthread_mutex_lock(&p->mu);
		p->head += n;
		b += n;
		len -= n;
		pthread_cond_signal(&p->can_take);
	}
	pthread_mutex_unlock(&p->mu);
}

static void stop(struct mb_hashpipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->closing = true;
	pthread_cond_signal(&p->can_take);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->can_put);
	pthread_cond_destroy(&p->can_take);
	free(p->ring);
	p->ring = NULL;
	p->running = false;
}

void mb_hashpipe_finish(struct mb_hashpipe *p, char hex[MB_SHA256_HEX])
{
	stop(p); /* the thread drains the ring before it sees closing */
	mb_sha256_final(&p->h, hex);
}

void mb_hashpipe_abort(struct mb_hashpipe *p)
{
	if (!p->running)
		return;
	stop(p);
	mb_sha256_abort(&p->h);
}
