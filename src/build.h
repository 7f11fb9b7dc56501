/* `kind: source`: verify, unpack, patch and build into the prefix. */
#ifndef MB_BUILD_H
#define MB_BUILD_H

#include "err.h"
#include "recipe.h"
#include "stage.h"

/* Build recipe r from its verified source archive `archive`, or install
 * it from the build cache: ctx->build_entry when one was found before
 * fetching; else, with ctx->build_key, the key's entry if another process
 * made it while this one waited on the key's lock; a build made here is
 * kept under the key.  The build's
 * scripts write into ctx->prefix; what they add is journaled in ctx->txn
 * and appended to `owned`.  A failing step is MB_EBUILD, naming the log. */
int mb_build_source(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
		    const char *archive, struct mb_owned *owned, struct mb_err *err);

/* The build's SOURCE_DATE_EPOCH: the recipe's build.source_date_epoch,
 * else MB_DEFAULT_SOURCE_DATE_EPOCH (buildkey.h). */
int64_t mb_build_epoch(const struct mb_recipe *r);

#endif
