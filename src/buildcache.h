/* The build cache (issue #18): a source recipe's output, kept under its
 * key (buildkey.h), so that a second prefix or a second node installs it
 * without compiling.
 *
 *   CACHE/builds/<key>/record     the key's canonical record
 *   CACHE/builds/<key>/manifest   "mambaboot-build-output 1", "prefix P",
 *                                 "embeds_prefix no|text|binary", then one
 *                                 "file SHA256 SIZE NAME" per output
 *   CACHE/builds/<key>/NAME       the wheels the build made, and files.tar:
 *                                 what it added to the prefix (tarpack.h)
 *
 * A mirror has the same entries under MIRROR/builds/<key>/, and
 * MIRROR/builds/<recipe>.keys listing the keys it holds for each recipe.
 * Entries are made in CACHE/tmp and renamed into place, so they are whole. */
#ifndef MB_BUILDCACHE_H
#define MB_BUILDCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
#include "err.h"
#include "event.h"
#include "fetch.h"
#include "stage.h"

#define MB_BUILD_FILES_TAR "files.tar"

struct mb_build_file {
	char *name;
	char sha256[65];
	int64_t size;
};

struct mb_build_manifest {
	char *prefix;              /* where files.tar's files were built */
	bool embeds_prefix;        /* some file of files.tar holds that path */
	bool binary_prefix;        /* some binary file does (then only a prefix not longer) */
	struct mb_build_file *files;
	size_t n, cap;
};

int mb_build_manifest_parse(const char *text, struct mb_build_manifest *m, struct mb_err *err);
void mb_build_manifest_free(struct mb_build_manifest *m);

char *mb_buildcache_entry(const struct mb_cache *cache, const char *key);
/* The manifest of the entry at `entry` (a directory), parsed. */
int mb_buildcache_read_manifest(const char *entry, struct mb_build_manifest *m,
				struct mb_err *err);

/* The local entry of `key`, usable in `prefix`: its path, or NULL.  An
 * output whose binaries embed a prefix path shorter than `prefix` is not
 * (it is rebuilt); text is relocated (mb_buildcache_relocate). */
char *mb_buildcache_find(const struct mb_cache *cache, const char *key, const char *prefix);
/* Removes a damaged local entry, so that the next run builds it again. */
int mb_buildcache_discard(const struct mb_cache *cache, const char *entry);

/* Copy the entry of `key` from the first of fo->mirrors that has it into
 * the local cache, every file verified against its manifest (other bytes:
 * MB_EINTEGRITY).  0 with *entry set, 1 when no mirror has it; a mirror
 * that cannot be read is skipped with a warning. */
int mb_buildcache_fetch(const struct mb_fetch_opts *fo, const char *key, const char *prefix,
			char **entry, struct mb_err *err);

/* What one build made, to keep under its key. */
struct mb_build_output {
	const char *key, *record;
	const char *prefix;          /* files are read from here */
	const struct mb_owned *files; /* what the build added to the prefix */
	const char *wheel_dir;        /* the wheels it left */
	int64_t mtime;                /* SOURCE_DATE_EPOCH */
};

int mb_buildcache_store(const struct mb_cache *cache, const struct mb_build_output *out,
			struct mb_err *err);

/* Take the key's lock (CACHE/partial/build-<key>.lock), waiting up to
 * timeout seconds (<0: for ever; then MB_ELOCK naming `name`). */
int mb_buildcache_lock(const struct mb_cache *cache, const char *key, const char *name,
		       double timeout, const struct mb_events *ev, int *fd, struct mb_err *err);
/* Let go of the key's lock (and remove its file while it is held). */
void mb_buildcache_unlock(const struct mb_cache *cache, const char *key, int fd);

/* Why `record` has no entry: the lines that differ from the nearest
 * record of the same recipe in the local cache or the mirrors (malloc'd),
 * or NULL when none is known. */
char *mb_buildcache_why_miss(const struct mb_fetch_opts *fo, const char *record,
			     const char *recipe);

/* The files an entry's files.tar put in `prefix` (files[0..n)), built in
 * m->prefix: each holding that path is relocated as conda packages are
 * (text: every occurrence; binary: C strings padded with NULs), and its
 * digest and size updated. */
int mb_buildcache_relocate(const struct mb_build_manifest *m, const char *prefix,
			   struct mb_owned_file *files, size_t n, struct mb_err *err);

/* Re-hash every file of the entry against its manifest: 0, or
 * MB_EINTEGRITY naming the first that differs. */
int mb_buildcache_check(const char *entry, const struct mb_build_manifest *m,
			struct mb_err *err);

#endif
