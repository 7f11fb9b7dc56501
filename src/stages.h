/* One entry point per install stage, dispatched on the recipe's kind. */
#ifndef MB_STAGES_H
#define MB_STAGES_H

#include "plan.h"
#include "recipe.h"
#include "stage.h"

/* Plan-time checks of one recipe's artifacts (wheel tags against the
 * python and the host).  ctx->root may be NULL. */
int mb_stage_check(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
		   struct mb_err *err);

/* Plan time (plan, install --dry-run): every wheel of the plan against the
 * plan's python (the conda recipe's version, or the external one probed)
 * and this host; MB_EINPUT naming the first that cannot be installed. */
int mb_plan_check_wheels(const struct mb_plan *plan, struct mb_err *err);

/* Unpack artifact i (verified blob `blob` of digest `sha256`) under ctx->root. */
int mb_stage_artifact(const struct mb_stage_ctx *ctx, const struct mb_recipe *r, size_t i,
		      const char *blob, const char *sha256, struct mb_owned *owned,
		      struct mb_err *err);

/* After the recipe's files are in the prefix (conda post-link scripts). */
int mb_stage_after_place(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
			 const struct mb_owned *owned, struct mb_err *err);

/* install --compile, once a wheel recipe's files are in the prefix:
 * byte-compile its .py files with ctx->python_exe into stage_dir (its
 * emptied staging directory), move the .pyc files into place through
 * ctx->txn and add them to `owned`.  After placing rather than while
 * staging because the plan's python may be placed in the same transaction:
 * only then can it run, and only the final .py paths give each .pyc its
 * source path. */
int mb_stage_compile(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
		     const char *stage_dir, struct mb_owned *owned, struct mb_err *err);

/* Build a source recipe into the prefix (journaled through ctx->txn). */
int mb_stage_build(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
		   const char *blob, struct mb_owned *owned, struct mb_err *err);

#endif
