/* Byte-compiling the .py files a wheel installed, as `pip install
 * --compile` does: py_compile with its default invalidation mode
 * (timestamp; checked-hash when SOURCE_DATE_EPOCH is set), a file that does
 * not compile (Python 2 syntax, say) skipped, warnings silenced.
 *
 * The sources are read where they are installed (under `prefix`), so each
 * .pyc embeds its final path and the source's real mtime and size; the
 * .pyc files are written under `out_dir` at the same relative paths
 * (DIR/__pycache__/NAME.<cache tag>.pyc), for the caller to move into place. */
#ifndef MB_PYCOMPILE_H
#define MB_PYCOMPILE_H

#include <stddef.h>

#include "err.h"
#include "event.h"
#include "stage.h"

/* Compile the regular files ending in .py among files->v[first..] (paths
 * relative to prefix) with one run of `python`, and add each .pyc written
 * to `pycs` (path relative to out_dir, sha256, size, mode).  A .pyc that
 * `files` already holds (a wheel that ships its own) or that is in the
 * prefix already (python's cache, written by an import) is left alone.
 * MB_EHOST when python cannot be run; MB_EFAIL when it fails or ev asks
 * to stop. */
int mb_pycompile(const char *python, const char *prefix, const struct mb_owned *files,
		 size_t first, const char *out_dir, const struct mb_events *ev,
		 struct mb_owned *pycs, struct mb_err *err);

#endif
