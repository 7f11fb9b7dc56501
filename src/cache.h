/* The download cache (SPEC.md section 1): content-addressed by sha256.
 *
 *   CACHE/blobs/sha256/<hex>       verified artifact bytes, never partial
 *   CACHE/blobs/md5/<hex>          the md5 of that blob (32 hex digits)
 *   CACHE/partial/<hex>.part       an interrupted download, resumable
 *   CACHE/unpacked/<hex>/          an artifact unpacked once, linked many times
 *   CACHE/tmp/                     temporary names, renamed into place
 *   CACHE/probes/<hex>             what a host program printed (external.h)
 *
 * Location: --cache, else $MAMBABOOT_CACHE, else $XDG_CACHE_HOME/mambaboot,
 * else ~/.cache/mambaboot. */
#ifndef MB_CACHE_H
#define MB_CACHE_H

#include <stdbool.h>

#include "digest.h"
#include "err.h"

struct mb_cache {
	char *dir;
};

/* Resolve the location (dir may be NULL), create the directories, and
 * keep the directory as an absolute path (realpath). */
int mb_cache_open(struct mb_cache *cache, const char *dir, struct mb_err *err);
void mb_cache_close(struct mb_cache *cache);

/* Paths inside the cache; the caller frees them. */
char *mb_cache_blob_path(const struct mb_cache *cache, const char *sha256);
char *mb_cache_partial_path(const struct mb_cache *cache, const char *sha256);
char *mb_cache_unpacked_path(const struct mb_cache *cache, const char *sha256);
char *mb_cache_tmp_dir(const struct mb_cache *cache);

bool mb_cache_has_blob(const struct mb_cache *cache, const char *sha256);

/* The md5 of a blob, for conda records: kept beside it when a download
 * hashed it (mb_cache_put_md5), else read from the blob now and kept. */
int mb_cache_blob_md5(const struct mb_cache *cache, const char *sha256, char md5[MB_MD5_HEX],
		      struct mb_err *err);
/* Keep the md5 of the bytes whose sha256 is `sha256`; best effort (a
 * missing one is computed again when asked for). */
void mb_cache_put_md5(const struct mb_cache *cache, const char *sha256, const char *md5);

/* CACHE/unpacked/<sha256>, made once: fill() writes the entry into a fresh
 * temporary directory, which is renamed into place, so a half entry never
 * exists and two processes racing for it both end with a whole one.
 * Returns the entry's path (the caller frees it), or NULL with err set. */
typedef int (*mb_cache_fill_fn)(void *ctx, const char *dir, struct mb_err *err);
char *mb_cache_unpacked(const struct mb_cache *cache, const char *sha256,
			mb_cache_fill_fn fill, void *ctx, struct mb_err *err);

/* The lock of one entry, CACHE/partial/<hex>.lock (flock, so it is also
 * exclusive between two opens in one process, and the kernel drops it when
 * its holder dies).  Never waits: returns 0 with *fd set when taken, 1 when
 * another holder has it, or a negative MB_E* code.  The file exists only
 * while someone holds or waits for it: mb_cache_unlock unlinks it before
 * letting go, and a lock taken on a file that is no longer the one linked
 * (its holder let go as this one opened it) is dropped and taken again on
 * the new one, so two holders never meet on two files of one name. */
int mb_cache_try_lock(const struct mb_cache *cache, const char *sha256, int *fd,
		      struct mb_err *err);
/* Removes the lock file and lets go; fd < 0 is harmless. */
void mb_cache_unlock(const struct mb_cache *cache, const char *sha256, int fd);

/* Publish a verified file: fsync `src` (an open fd of it), rename it to the
 * blob of `sha256` and fsync the directory.  An existing blob is replaced
 * atomically by the same bytes; on failure src is removed. */
int mb_cache_commit_blob(const struct mb_cache *cache, int fd, const char *src,
			 const char *sha256, struct mb_err *err);

#endif
