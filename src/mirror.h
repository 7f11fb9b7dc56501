/* Offline mirrors (SPEC.md section 4):
 *
 *   MIRROR/index.yaml          sha256, size, filename, recipe, version, urls
 *   MIRROR/sha256/<hex>        the artifact's bytes, named by their digest
 *   MIRROR/recipes/ MIRROR/patches/   the recipe set the mirror was made from
 */
#ifndef MB_MIRROR_H
#define MB_MIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "plan.h"

struct mb_mirror_entry {
	const struct mb_recipe *recipe;
	const struct mb_artifact *artifact;
	char sha256[65];      /* pinned, or seen on first download */
	int64_t size;
	const char *blob;     /* the verified file to copy in (cache) */
};

struct mb_mirror_stats {
	size_t added, kept;   /* blobs written now, blobs already good */
};

/* Write the entries' blobs (never rewriting a good one), index.yaml, and
 * the recipe set with its patches into dir. */
int mb_mirror_write(const char *dir, const struct mb_recipe_set *set,
		    const struct mb_mirror_entry *entries, size_t n,
		    struct mb_mirror_stats *stats, const struct mb_events *ev,
		    struct mb_err *err);

struct mb_mirror_report {
	size_t checked;
	char **bad;           /* "sha256/<hex>: why" */
	size_t n_bad, cap;
};

/* Re-hash every blob against its name, and check that every index.yaml
 * entry has one.  Problems are listed in the report, not errors. */
int mb_mirror_verify(const char *dir, struct mb_mirror_report *rep, const struct mb_events *ev,
		     struct mb_err *err);
void mb_mirror_report_free(struct mb_mirror_report *rep);

#endif
