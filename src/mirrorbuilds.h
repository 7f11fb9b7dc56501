/* A mirror's build outputs (issue #18): MIRROR/builds/<key>/ as in the
 * build cache (buildcache.h), MIRROR/builds/<recipe>.keys, and the
 * `builds:` list of index.yaml (key, recipe, version, each file's name,
 * sha256 and size), made from what builds/ holds. */
#ifndef MB_MIRRORBUILDS_H
#define MB_MIRRORBUILDS_H

#include "cache.h"
#include "err.h"
#include "mirror.h"
#include "plan.h"
#include "yemit.h"

/* Copy every build in the cache of a source recipe of the plan (its name
 * and version) into dir/builds/, and list each recipe's keys.  *copied:
 * the entries written now. */
int mb_mirror_put_builds(const char *dir, const struct mb_cache *cache,
			 const struct mb_plan *plan, size_t *copied, struct mb_err *err);

/* index.yaml's `builds:` key and list. */
void mb_mirror_emit_builds(struct yemit *e, const char *dir);

/* Each entry's files against its manifest, and its record against its
 * key; problems are added to the report. */
void mb_mirror_verify_builds(const char *dir, struct mb_mirror_report *rep);

#endif
