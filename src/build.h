/* `kind: source`: verify, unpack, patch and build into the prefix. */
#ifndef MB_BUILD_H
#define MB_BUILD_H

#include "err.h"
#include "recipe.h"
#include "stage.h"

/* Build recipe r from its verified source archive `archive`.  The build's
 * scripts write into ctx->prefix; what they add is journaled in ctx->txn
 * and appended to `owned`.  A failing step is MB_EBUILD, naming the log. */
int mb_build_source(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
		    const char *archive, struct mb_owned *owned, struct mb_err *err);

#endif
