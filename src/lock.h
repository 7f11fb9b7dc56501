/* The lock file: DIR/lock.yaml beside the recipes, the digests that the
 * indexes publish for the artifacts that the recipes do not pin.
 *
 *   format: 1
 *   artifacts:                 # sorted by url, one entry per artifact
 *   - url: https://conda.anaconda.org/conda-forge/linux-64/x-1.0-0.conda
 *     sha256: <64 hex>
 *     size: 1234               # when the index gives one
 *     source: repodata         # repodata | shards (CEP 16) | pep691 | pep503
 *     index: https://conda.anaconda.org/conda-forge/linux-64/repodata.json.zst
 *                              # (for shards: the repodata_shards.msgpack.zst)
 *     date: 2026-12-04T20:41:07Z   # when this digest was first seen
 *
 * mb_recipe_set_load applies it: an artifact without sha256/tree_sha256
 * whose url has an entry gets the entry's sha256 and size and is marked
 * locked, so fetch, install, mirror and plan treat it as pinned and a
 * mismatch is an integrity error like any pin.  `mambaboot lock`
 * (mb_lock_update) fills it from the indexes. */
#ifndef MB_LOCK_H
#define MB_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "plan.h"
#include "recipe.h"

#define MB_LOCK_FILE "lock.yaml"
#define MB_LOCK_DEFAULT_INDEX "https://pypi.org/simple/"

struct mb_lock_entry {
	char *url;
	char sha256[65];
	int64_t size;    /* -1: the index gave none */
	char *source;    /* "repodata", "shards", "pep691" or "pep503" */
	char *index;     /* the URL the digest was read from */
	char *date;      /* UTC, ISO 8601 */
};

struct mb_lock {
	struct mb_lock_entry *v;
	size_t n, cap;
};

/* Read a lock file; a missing one is empty.  Errors name FILE:LINE:COL. */
int mb_lock_read(struct mb_lock *lk, const char *path, struct mb_err *err);
/* Write it sorted, atomically, and only when its bytes change
 * (*written says whether they did). */
int mb_lock_write(struct mb_lock *lk, const char *path, bool *written, struct mb_err *err);
const struct mb_lock_entry *mb_lock_find(const struct mb_lock *lk, const char *url);
void mb_lock_free(struct mb_lock *lk);

/* Apply set->dir/lock.yaml to the set's unpinned artifacts. */
int mb_lock_apply(struct mb_recipe_set *set, struct mb_err *err);

/* The one message for an artifact that nothing pins (fetch, install):
 * MB_EINPUT, telling to run `mambaboot lock` or pass --allow-unpinned. */
int mb_lock_unpinned_err(struct mb_err *err, const char *who, const char *filename);

struct mb_lock_opts {
	const char *const *index_urls;  /* simple indexes for wheels and sdists */
	size_t n_index_urls;            /* 0: MB_LOCK_DEFAULT_INDEX */
	const char *cacert;
	const struct mb_events *ev;
};

struct mb_lock_report {
	char *path;                     /* the lock file */
	size_t wanted;                  /* artifacts without a pin of their own */
	size_t locked;                  /* of those, found in an index */
	size_t added, changed, dropped; /* entries compared with the old file */
	char **unpinned;                /* "recipe: file name" that no index knows */
	size_t n_unpinned, cap_unpinned;
	bool written;
};

/* Look up every artifact of the plan that its recipe does not pin, and
 * rewrite the lock file.  Errors: an index that cannot be reached MB_EFETCH,
 * malformed repodata or index JSON MB_EFETCH naming the URL (the file is
 * left as it was), two indexes or the recipe's size disagreeing with an
 * index MB_EINTEGRITY.  Artifacts that no index knows are listed in the
 * report; the lock is written with the others. */
int mb_lock_update(const struct mb_recipe_set *set, const struct mb_plan *plan,
		   const struct mb_lock_opts *o, struct mb_lock_report *rep, struct mb_err *err);
void mb_lock_report_free(struct mb_lock_report *rep);

#endif
