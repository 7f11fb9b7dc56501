/* Two consumers of one ring: the hasher takes every byte as soon as it is
 * put; the writer takes them in blocks of WRITE_MIN..WRITE_MAX.  The ring's
 * counters start at the file offset modulo ALIGN, so a block that is
 * aligned in the file is aligned in the ring too. */
#define _GNU_SOURCE
#include "hashpipe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

enum {
	ALIGN = 4096,
	WRITE_MIN = 4 << 20,
	WRITE_MAX = 16 << 20,
	DIRECT_MIN_CAP = 2 << 20,
	WRITEBACK_BYTES = 8 << 20,
	FLUSH_BYTES = 32 << 20,
};

static uint64_t oldest(const struct mb_hashpipe *p)
{
	return p->writing && p->written < p->hashed ? p->written : p->hashed;
}

/* ---- the writer ---- */

static int set_direct(struct mb_hashpipe *p, bool on)
{
#ifdef O_DIRECT
	int fl;

	if (p->direct == on)
		return 0;
	if ((fl = fcntl(p->fd, F_GETFL)) < 0 ||
	    fcntl(p->fd, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT) < 0)
		return -1;
	p->direct = on;
	return 0;
#else
	(void)p;
	return on ? -1 : 0;
#endif
}

static void start_writeback(struct mb_hashpipe *p)
{
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
	if (p->file_at - p->synced >= WRITEBACK_BYTES) {
		sync_file_range(p->fd, (off_t)p->synced, (off_t)(p->file_at - p->synced),
				SYNC_FILE_RANGE_WRITE);
		p->synced = p->file_at;
	}
#else
	(void)p;
#endif
}

/* Direct writes may still sit in the disk's own cache (a VM host's page
 * cache): flushing it as we go, while the network and the hasher keep the
 * ring filling, leaves the final fsync little to wait for. */
static void flush_early(struct mb_hashpipe *p)
{
	if (p->file_at - p->synced >= FLUSH_BYTES) {
		fdatasync(p->fd);
		p->synced = p->file_at;
	}
}

/* Writes the first bytes of ring[at, at + n): aligned whole blocks
 * directly, else (up to the next block boundary, or a last short block)
 * through the page cache.  Returns how many, or -1 with errno. */
static long write_some(struct mb_hashpipe *p, size_t at, size_t n)
{
	size_t lead = (size_t)(-(uint64_t)p->file_at % ALIGN);
	bool direct = false;

	if (p->may_direct) {
		if (lead)
			n = n < lead ? n : lead;
		else if (n >= ALIGN)
			direct = true, n -= n % ALIGN;
	}
	if (set_direct(p, direct) < 0)
		p->may_direct = direct = false;
	if (pwrite_all(p->fd, p->ring + at, n, (off_t)p->file_at) < 0) {
		if (!direct || errno != EINVAL)
			return -1;
		/* the file system takes the flag but not these writes */
		p->may_direct = false;
		if (set_direct(p, false) < 0 ||
		    pwrite_all(p->fd, p->ring + at, n, (off_t)p->file_at) < 0)
			return -1;
		direct = false;
	}
	p->file_at += (int64_t)n;
	if (direct)
		flush_early(p);
	else
		start_writeback(p);
	return (long)n;
}

/* ---- the two consumers ---- */

/* One consumer of the ring: waits for `want` bytes past *done (fewer at
 * the end), hands take() at most `max` of them that lie together, unlocked
 * (the producer never writes into [oldest, head)), and moves *done on by
 * what take() used.  take() < 0, with errno, stops it: a failed write,
 * which put and finish then report.  want >= 1. */
static void consume(struct mb_hashpipe *p, uint64_t *done, size_t want, size_t max,
		    long (*take)(struct mb_hashpipe *p, size_t at, size_t n))
{
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->head - *done < want && !p->closing && !p->dropping)
			pthread_cond_wait(&p->can_take, &p->mu);
		if (p->dropping || *done == p->head)
			break;
		size_t at = (size_t)(*done % p->cap);
		size_t n = (size_t)(p->head - *done);
		if (n > p->cap - at)
			n = p->cap - at;
		if (n > max)
			n = max;
		pthread_mutex_unlock(&p->mu);
		long used = take(p, at, n);
		int e = errno;
		pthread_mutex_lock(&p->mu);
		if (used < 0)
			p->werr = e ? e : EIO;
		else
			*done += (uint64_t)used;
		pthread_cond_signal(&p->can_put);
		if (used < 0)
			break;
	}
	pthread_mutex_unlock(&p->mu);
}

static long hash_some(struct mb_hashpipe *p, size_t at, size_t n)
{
	mb_sha256_update(&p->h, p->ring + at, n);
	return (long)n;
}

static void *hash_loop(void *arg)
{
	struct mb_hashpipe *p = arg;

	consume(p, &p->hashed, 1, SIZE_MAX, hash_some);
	return NULL;
}

static void *write_loop(void *arg)
{
	struct mb_hashpipe *p = arg;
	size_t want = p->cap / 2 < WRITE_MIN ? p->cap / 2 : WRITE_MIN;

	consume(p, &p->written, want ? want : 1, WRITE_MAX, write_some);
	return NULL;
}

/* ---- starting and stopping ---- */

/* Hash the bytes the file already holds, through the ring (no thread
 * runs yet); a file shorter than said is cut to what was read. */
static int hash_file_prefix(struct mb_hashpipe *p, int64_t *have, struct mb_err *err)
{
	int64_t done = 0;

	while (done < *have) {
		size_t want = *have - done < (int64_t)p->cap ? (size_t)(*have - done) : p->cap;
		ssize_t n = pread(p->fd, p->ring, want, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		mb_sha256_update(&p->h, p->ring, (size_t)n);
		done += n;
	}
	if (done != *have && ftruncate(p->fd, (off_t)done) < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot truncate a partial download");
	*have = done;
	return 0;
}

static void release(struct mb_hashpipe *p)
{
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->can_put);
	pthread_cond_destroy(&p->can_take);
	free(p->ring);
	p->ring = NULL;
	p->running = false;
}

static void stop(struct mb_hashpipe *p, bool drop)
{
	if (p->inline_) {
		release(p);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->closing = true;
	p->dropping = drop;
	pthread_cond_broadcast(&p->can_take);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->hasher, NULL);
	if (p->writing) {
		pthread_join(p->writer, NULL);
		set_direct(p, false); /* the caller may read the file again */
	}
	release(p);
}

int mb_hashpipe_start(struct mb_hashpipe *p, size_t cap, int fd, int64_t *have, unsigned flags,
		      struct mb_err *err)
{
	int64_t none = 0;
	int rc;

	memset(p, 0, sizeof *p);
	if (!have)
		have = &none;
	if (posix_memalign((void **)&p->ring, ALIGN, cap) != 0)
		return mb_errf(err, MB_EFAIL, "out of memory (%zu bytes for a download)", cap);
	if ((rc = mb_sha256_init(&p->h, err)) < 0 ||
	    ((flags & MB_HASHPIPE_MD5) && (rc = mb_sha256_add_md5(&p->h, err)) < 0)) {
		mb_sha256_abort(&p->h);
		free(p->ring);
		return rc;
	}
	p->cap = cap;
	p->fd = fd;
	if (fd >= 0 && *have > 0 && (rc = hash_file_prefix(p, have, err)) < 0) {
		free(p->ring);
		mb_sha256_abort(&p->h);
		return rc;
	}
	p->file_at = p->synced = *have;
	p->head = p->hashed = p->written = (uint64_t)(*have % ALIGN);
	p->may_direct = (flags & MB_HASHPIPE_DIRECT) && fd >= 0 && cap >= DIRECT_MIN_CAP && cap % ALIGN == 0;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->can_put, NULL);
	pthread_cond_init(&p->can_take, NULL);
	p->running = true;
	if ((p->inline_ = (flags & MB_HASHPIPE_INLINE) != 0)) {
		p->may_direct = false;
		return 0;
	}
	if ((rc = pthread_create(&p->hasher, NULL, hash_loop, p)) != 0) {
		release(p);
		mb_sha256_abort(&p->h);
		return mb_errno(err, MB_EFAIL, rc, "cannot start the hashing thread");
	}
	if (fd >= 0 && (rc = pthread_create(&p->writer, NULL, write_loop, p)) != 0) {
		stop(p, true);
		mb_sha256_abort(&p->h);
		return mb_errno(err, MB_EFAIL, rc, "cannot start the writing thread");
	}
	p->writing = fd >= 0;
	return 0;
}

/* MB_HASHPIPE_INLINE: the bytes hashed and written where they are. */
static int put_inline(struct mb_hashpipe *p, const void *buf, size_t len)
{
	if (p->werr) {
		errno = p->werr;
		return -1;
	}
	mb_sha256_update(&p->h, buf, len);
	if (p->fd >= 0 && pwrite_all(p->fd, buf, len, (off_t)p->file_at) < 0) {
		p->werr = errno ? errno : EIO;
		return -1;
	}
	p->file_at += (int64_t)len;
	start_writeback(p);
	return 0;
}

int mb_hashpipe_put(struct mb_hashpipe *p, const void *buf, size_t len)
{
	const unsigned char *b = buf;

	if (p->inline_)
		return put_inline(p, buf, len);

	pthread_mutex_lock(&p->mu);
	while (len > 0) {
		while (p->head - oldest(p) == p->cap && !p->werr)
			pthread_cond_wait(&p->can_put, &p->mu);
		if (p->werr) {
			errno = p->werr;
			pthread_mutex_unlock(&p->mu);
			return -1;
		}
		size_t at = (size_t)(p->head % p->cap);
		size_t n = p->cap - (size_t)(p->head - oldest(p));
		if (n > p->cap - at)
			n = p->cap - at;
		if (n > len)
			n = len;
		pthread_mutex_unlock(&p->mu);
		memcpy(p->ring + at, b, n); /* free space: no consumer reads it */
		pthread_mutex_lock(&p->mu);
		p->head += n;
		if (!p->writing)
			p->written = p->head;
		b += n;
		len -= n;
		pthread_cond_broadcast(&p->can_take);
	}
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int mb_hashpipe_finish(struct mb_hashpipe *p, char hex[MB_SHA256_HEX])
{
	int e;

	stop(p, false); /* the threads drain the ring before they see closing */
	if ((e = p->werr) != 0) {
		mb_sha256_abort(&p->h);
		errno = e;
		return -1;
	}
	mb_sha256_final_md5(&p->h, hex, p->md5);
	return 0;
}

void mb_hashpipe_abort(struct mb_hashpipe *p)
{
	if (!p->running)
		return;
	stop(p, true);
	mb_sha256_abort(&p->h);
}
