/* Cache entries of many conda packages made ahead of their linking, on up
 * to `jobs` threads, while the caller links each package as soon as its
 * entry is there: unpacking overlaps linking, and every core unpacks.
 *
 * Only the cache is written (CACHE/unpacked/<sha256>, each made under a
 * temporary name and renamed whole: cache.h), from blobs already verified;
 * the prefix sees nothing until the caller links and its transaction
 * commits.  Memory: at most `jobs` packages are being unpacked at once,
 * each within its unpacker's own bound (archive.c, bz2par.c); entries made
 * ahead wait on disk, not in memory.  A worker's failure is not reported:
 * the caller's own unpack of that package (mb_conda_install) then fails,
 * or finds the entry, as it would have without the queue. */
#ifndef MB_UNPACKQ_H
#define MB_UNPACKQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "cache.h"

struct mb_unpack_item {
	const char *blob, *sha256, *filename;
};

struct mb_unpackq {
	pthread_mutex_t mu;
	pthread_cond_t changed;
	const struct mb_cache *cache;
	const struct mb_unpack_item *items; /* the caller's, in the order it links them */
	bool *done;
	size_t n, next;
	bool stop;
	pthread_t *threads;
	int n_threads;
	unsigned bz2_threads;  /* each worker's share of the CPUs, for bzip2 */
};

/* Starts min(jobs, n) workers (none for jobs <= 1: the caller unpacks). */
void mb_unpackq_start(struct mb_unpackq *q, const struct mb_cache *cache,
		      const struct mb_unpack_item *items, size_t n, int jobs);
/* Waits until item i has been tried (at once when no worker runs). */
void mb_unpackq_wait(struct mb_unpackq *q, size_t i);
/* Lets the workers finish the packages they are on, skips the rest, joins. */
void mb_unpackq_stop(struct mb_unpackq *q);

#endif
