/* File system helpers shared by the cache, the stages and the prefix. */
#ifndef MB_FSUTIL_H
#define MB_FSUTIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

/* mkdir -p; existing directories are fine. */
int mkdir_p(const char *path, mode_t mode, struct mb_err *err);

/* Make the parent directories of a file path. */
int mkdir_parents(const char *path, struct mb_err *err);

/* rm -rf; a missing path is fine.  Never follows symlinks. */
int remove_tree(const char *path, struct mb_err *err);

/* fsync a file or directory by path. */
int fsync_path(const char *path, struct mb_err *err);

/* remove_tree of every path, several at a time (where freeing a directory's
 * block waits on the disk: a mount with -o discard takes 1-4 ms per rmdir
 * here).  Best effort: -1 if any failed. */
int remove_trees(char *const *paths, size_t n);

/* Copy src to dst (dst must not exist), keeping the mode bits. */
int copy_file(const char *src, const char *dst, struct mb_err *err);

enum mb_link_mode { MB_LINK_REFLINK, MB_LINK_HARDLINK, MB_LINK_COPY };

/* Place src at dst as cheaply as the file system allows: a reflink, else a
 * hardlink, else a copy.  *mode (may be NULL) says which was used; passed
 * back in, it skips what already failed (probe once per install, not once
 * per file: a failed reflink costs two opens and an unlink). */
int clone_file(const char *src, const char *dst, enum mb_link_mode *mode,
	       struct mb_err *err);

/* The same, each name relative to a directory descriptor (or AT_FDCWD). */
int clone_at(int sdir, const char *src, int ddir, const char *dst, enum mb_link_mode *mode,
	     struct mb_err *err);


/* Write a whole file durably: a temporary name beside it, fsync, rename,
 * fsync of the directory.  Readers see the old bytes or the new ones. */
int write_file_atomic(const char *path, const void *data, size_t len, struct mb_err *err);

/* The same, the bytes written by fill(fd, ctx) (returns <0 with errno set).
 * Without `sync`, nothing is synced: the caller makes the file durable
 * (fsync_path of it and of its directory) before anything depends on it,
 * so that many files written together cost one journal commit, not one
 * each. */
int write_file_atomic_fn(const char *path, int (*fill)(int fd, void *ctx), void *ctx,
			 bool sync, struct mb_err *err);

/* write(2) / pwrite(2) until done; -1 with errno on failure. */
int write_all(int fd, const void *data, size_t len);
int pwrite_all(int fd, const void *data, size_t len, off_t off);

/* fn(ctx, path) for each path glob(3) finds for `pattern`, in sorted
 * order, until fn returns non-zero (returned).  No match: 0. */
int glob_each(const char *pattern, int (*fn)(void *ctx, const char *path), void *ctx);

/* Is `path` (from an archive, a RECORD, paths.json...) a relative path that
 * stays below its root?  Refuses "", absolute paths, ".." components, and
 * NUL/newline bytes; "./a//b" is fine.  Normalized form written to out
 * (same size as path + 1) when out is not NULL. */
bool path_is_contained(const char *path, char *out);
#endif
