/* A deterministic tar (ustar) of some files of a directory: entries sorted
 * by path, every mtime the same, owner and group 0 with no names, only the
 * permission bits kept.  The same files give the same bytes, on any host:
 * the build cache stores a non-Python build's output this way. */
#ifndef MB_TARPACK_H
#define MB_TARPACK_H

#include <stdint.h>

#include "err.h"
#include "stage.h"

/* Write the files, links and directories of `files` (paths relative to
 * `root`) to a new file `out`.  A path too long for ustar (100 bytes of
 * name after up to 155 of directory) is MB_EINPUT. */
int mb_tarpack(const char *root, const struct mb_owned *files, int64_t mtime, const char *out,
	       struct mb_err *err);

#endif
