/* Dispatch of the install stages on a recipe's kind. */
#include "stages.h"

#include <stdlib.h>
#include <sys/utsname.h>

#include "build.h"
#include "conda.h"
#include "doctor.h"
#include "external.h"
#include "prefix.h"
#include "pycompile.h"
#include "util.h"
#include "wheel.h"

/* Every wheel of the recipe against the plan's python and this host. */
static int check_wheels(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
			struct mb_err *err)
{
	struct utsname u;
	struct mb_host host;
	char *glibc = mb_host_glibc();
	size_t i;
	int rc = 0;

	host.glibc = glibc;
	host.machine = uname(&u) == 0 ? u.machine : "unknown";
	for (i = 0; rc == 0 && i < r->n_artifacts; i++)
		rc = mb_wheel_check_tags(r->artifacts[i].filename, ctx->python_xy, &host, err);
	free(glibc);
	return rc;
}

int mb_stage_check(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
		   struct mb_err *err)
{
	return r->kind == MB_KIND_WHEEL ? check_wheels(ctx, r, err) : 0;
}

/* X.Y of the plan's python, or NULL when it cannot be told. */
static char *plan_python_xy(const struct mb_plan *plan)
{
	const struct mb_recipe *py = plan->python;
	struct mb_version v;
	struct mb_probe probe;
	struct mb_err ignored;
	char *xy = NULL;

	if (!py)
		return NULL;
	if (py->kind != MB_KIND_EXTERNAL) {
		v = py->ver;
	} else if (mb_external_probe(py, NULL, &probe, &ignored) == 0) {
		int bad = mb_version_parse(probe.version, &v);
		mb_probe_free(&probe);
		if (bad)
			return NULL;
	} else {
		return NULL;
	}
	if (v.n_release >= 2)
		xy = xasprintf("%llu.%llu", (unsigned long long)v.release[0],
			       (unsigned long long)v.release[1]);
	return xy;
}

int mb_plan_check_wheels(const struct mb_plan *plan, struct mb_err *err)
{
	struct mb_stage_ctx ctx = { 0 };
	char *xy = plan_python_xy(plan);
	size_t i;
	int rc = 0;

	ctx.python_xy = xy;
	for (i = 0; rc == 0 && i < plan->n_steps; i++)
		rc = mb_stage_check(&ctx, plan->steps[i].recipe, err);
	free(xy);
	return rc;
}

int mb_stage_artifact(const struct mb_stage_ctx *ctx, const struct mb_recipe *r, size_t i,
		      const char *blob, const char *sha256, struct mb_owned *owned,
		      struct mb_err *err)
{
	const struct mb_artifact *a = &r->artifacts[i];
	struct mb_conda_artifact ca = { blob, sha256, a->filename, a->url, NULL };

	switch (r->kind) {
	case MB_KIND_CONDA:
		if (i == 0)
			ca.requested = ctx->constraint ? ctx->constraint : "";
		return mb_conda_install(ctx, &ca, owned, err);
	case MB_KIND_WHEEL:
		return mb_wheel_install(ctx, blob, a->filename, sha256, owned, err);
	default:
		return mb_errf(err, MB_EFAIL, "internal: %s artifacts are not staged",
			       mb_kind_name(r->kind));
	}
}

int mb_stage_after_place(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
			 const struct mb_owned *owned, struct mb_err *err)
{
	return r->kind == MB_KIND_CONDA ? mb_conda_post_link(ctx, owned, err) : 0;
}

int mb_stage_compile(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
		     const char *stage_dir, struct mb_owned *owned, struct mb_err *err)
{
	struct mb_owned pycs = { 0 };
	size_t i;
	int rc;

	if (r->kind != MB_KIND_WHEEL || !ctx->compile)
		return 0;
	rc = mb_pycompile(ctx->python_exe, ctx->prefix, owned, 0, stage_dir, ctx->ev, &pycs, err);
	if (rc == 0 && pycs.n)
		rc = mb_txn_place(ctx->txn, stage_dir, &pycs, err);
	for (i = 0; rc == 0 && i < pycs.n; i++)
		mb_owned_add(owned, pycs.v[i].path, pycs.v[i].type, pycs.v[i].sha256,
			     pycs.v[i].size, pycs.v[i].mode);
	mb_owned_free(&pycs);
	return rc < 0 ? mb_err_wrap(err, "%s", r->name) : 0;
}

int mb_stage_build(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
		   const char *blob, struct mb_owned *owned, struct mb_err *err)
{
	return mb_build_source(ctx, r, blob, owned, err);
}
