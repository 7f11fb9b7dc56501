/* CEP 16 sharded repodata: a channel subdir's repodata_shards.msgpack.zst
 * maps each package name to the sha256 of its shard, which lives at
 * <shards_base_url><hex>.msgpack.zst and holds that name's entries of
 * "packages" and "packages.conda" (sha256 as 32 raw bytes).  Both are
 * msgpack, read here (after zstd, archive.h) by a small reader of our own
 * that walks the bytes without building values. */
#ifndef MB_SHARDS_H
#define MB_SHARDS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* In a decoded shard index: the shard hash of package `name` as hex, and
 * info.shards_base_url (NULL when absent; a new string).  Returns 1 when
 * the name is there, 0 when not, MB_EINPUT when the bytes are not a shard
 * index. */
int mb_shards_index_find(const void *buf, size_t len, const char *name, char hash[65],
			 char **base_url, struct mb_err *err);

/* In a decoded shard: the sha256 (hex) and size (-1 if none) of `filename`.
 * Returns 1, 0 or MB_EINPUT as above. */
int mb_shards_shard_find(const void *buf, size_t len, const char *filename, char sha256[65],
			 int64_t *size, struct mb_err *err);

/* A conda file name's package name: "numpy-1.26.4-py310h_0.conda" gives
 * "numpy".  A new string, NULL when the name has no version and build. */
char *mb_shards_package_name(const char *filename);

#endif
