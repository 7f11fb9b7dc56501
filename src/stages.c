/* Dispatch of the install stages on a recipe's kind. */
#include "stages.h"

#include "build.h"
#include "conda.h"

int mb_stage_check(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
		   struct mb_err *err)
{
	(void)ctx, (void)r, (void)err;
	return 0;
}

int mb_stage_artifact(const struct mb_stage_ctx *ctx, const struct mb_recipe *r, size_t i,
		      const char *blob, const char *sha256, struct mb_owned *owned,
		      struct mb_err *err)
{
	const struct mb_artifact *a = &r->artifacts[i];

	switch (r->kind) {
	case MB_KIND_CONDA:
		return mb_conda_install(ctx, blob, sha256, a->filename, a->url, owned, err);
	default:
		return mb_errf(err, MB_EFAIL, "internal: %s artifacts are not staged", mb_kind_name(r->kind));
	}
}

int mb_stage_after_place(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
			 const struct mb_owned *owned, struct mb_err *err)
{
	return r->kind == MB_KIND_CONDA ? mb_conda_post_link(ctx, owned, err) : 0;
}

int mb_stage_build(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
		   const char *blob, struct mb_owned *owned, struct mb_err *err)
{
	return mb_build_source(ctx, r, blob, owned, err);
}
