/* A download's sink: bytes handed over (a copy into a ring) are hashed
 * (sha256) on one thread and appended to the partial file on another, so
 * a download costs max(network, hash, disk) rather than their sum.
 *
 * Asked to, the file is written with O_DIRECT where the file system
 * allows it, in large aligned blocks: on a VM's virtual disk that is
 * several times faster than dirtying the page cache and fsyncing it, and
 * it leaves the page cache to the programs that use it, but a reader that
 * comes next must go to the disk.  The last partial block, everything on a
 * file system that refuses O_DIRECT, and everything when not asked goes
 * through the page cache, with writeback started early (sync_file_range).
 * A small file (MB_HASHPIPE_INLINE) is hashed and written by the caller. */
#ifndef MB_HASHPIPE_H
#define MB_HASHPIPE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"

struct mb_hashpipe {
	pthread_t hasher, writer;
	pthread_mutex_t mu;
	pthread_cond_t can_put, can_take;
	unsigned char *ring;  /* aligned for O_DIRECT */
	size_t cap;
	uint64_t head;        /* bytes put */
	uint64_t hashed;      /* bytes hashed */
	uint64_t written;     /* bytes written (head while there is no file) */
	int fd;               /* the file, or -1 */
	int64_t file_at;      /* where the next written byte goes */
	int64_t synced;       /* writeback started up to here */
	bool direct;          /* O_DIRECT is set on fd now */
	bool may_direct;      /* not refused so far */
	int werr;             /* errno of a failed write, else 0 */
	char md5[MB_MD5_HEX]; /* with MB_HASHPIPE_MD5: the md5, once finished */
	bool closing, dropping, running, writing;
	bool inline_;         /* MB_HASHPIPE_INLINE: no threads */
	struct mb_sha256 h;
};

enum {
	MB_HASHPIPE_DIRECT = 1, /* write with O_DIRECT where possible */
	MB_HASHPIPE_MD5 = 2,    /* take an md5 too, in the same pass (p->md5) */
	MB_HASHPIPE_INLINE = 4, /* hash and write on the caller's thread, through the
				 * page cache: for a small file, whose two threads
				 * cost more than they overlap */
};

/* Starts the threads (none with MB_HASHPIPE_INLINE).  fd (or -1: hash
 * only) is the file to continue: its first *have bytes (have may be NULL:
 * none) are read back and hashed here, and bytes put are written after
 * them.  When fewer can be read, the file is cut to what was read and
 * *have says how much.  cap: ring size
 * (memory held while running).  flags: MB_HASHPIPE_*; DIRECT needs
 * cap >= 2 MiB; fd carries the flag while the pipe runs, so use it
 * for nothing but ftruncate, fsync and close meanwhile. */
int mb_hashpipe_start(struct mb_hashpipe *p, size_t cap, int fd, int64_t *have, unsigned flags,
		      struct mb_err *err);
/* Copies buf into the ring; waits while the ring is full.  -1 with errno
 * when an earlier write to the file failed (nothing more is taken). */
int mb_hashpipe_put(struct mb_hashpipe *p, const void *buf, size_t len);
/* Waits for every byte put to be hashed and written, then writes the
 * digest and stops.  -1 with errno (and no digest) when a write failed. */
int mb_hashpipe_finish(struct mb_hashpipe *p, char hex[MB_SHA256_HEX]);
/* Stops at once: bytes not yet written are dropped (the file stays a
 * prefix of what was put).  Harmless when not running. */
void mb_hashpipe_abort(struct mb_hashpipe *p);

#endif
