/* A recipe's build key on this host, without a prefix: what
 * `mambaboot build-key` prints.  The same inputs install computes: the
 * externals of the recipe's plan as probed here, the architecture list
 * chosen here, glibc and the platform. */
#define _XOPEN_SOURCE 700

#include "buildhost.h"

#include <stdlib.h>
#include <string.h>

#include "cudaarch.h"
#include "doctor.h"
#include "external.h"
#include "plan.h"
#include "util.h"

struct host_inputs {
	struct mb_probe *probes;
	struct mb_tool *tools;
	size_t n;
	struct mb_cuda_arch arch;
};

static int probe_plan(const struct mb_plan *plan, const struct mb_cache *cache,
		      struct host_inputs *h, struct mb_err *err)
{
	size_t i;
	int rc = 0;

	h->probes = xcalloc(plan->n_steps + 1, sizeof *h->probes);
	h->tools = xcalloc(plan->n_steps + 1, sizeof *h->tools);
	for (i = 0; rc == 0 && i < plan->n_steps; i++) {
		const struct mb_recipe *rec = plan->steps[i].recipe;
		if (rec->kind != MB_KIND_EXTERNAL)
			continue;
		if ((rc = mb_external_probe(rec, cache, &h->probes[h->n], err)) < 0)
			break;
		h->tools[h->n].name = rec->name;
		h->tools[h->n].path = h->probes[h->n].path;
		h->tools[h->n].version = h->probes[h->n].version;
		h->n++;
	}
	return rc;
}

static int choose_arch(const struct mb_recipe *r, const char *option, struct host_inputs *h,
		       struct mb_err *err)
{
	if (!mb_recipe_depends_on(r, "cuda"))
		return 0;
	return mb_cuda_arch_here(option, NULL, &h->arch, err);
}

static void host_inputs_free(struct host_inputs *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		mb_probe_free(&h->probes[i]);
	free(h->probes);
	free(h->tools);
	mb_cuda_arch_free(&h->arch);
}

int mb_build_key_here(const struct mb_recipe_set *set, const char *name,
		      const struct mb_cache *cache, const char *cuda_arch,
		      struct mb_build_key *key, struct mb_err *err)
{
	const struct mb_recipe *r = mb_recipe_find(set, name);
	struct host_inputs h = { 0 };
	struct mb_plan plan;
	char *glibc = NULL, *platform = NULL, *target = (char *)name;
	int rc;

	if (!r || r->kind != MB_KIND_SOURCE)
		return mb_errf(err, MB_EINPUT, "'%s' is not a source recipe of the set", name);
	if ((rc = mb_plan_build(&plan, set, &target, 1, err)) < 0)
		return rc;
	if ((rc = probe_plan(&plan, cache, &h, err)) == 0 &&
	    (rc = choose_arch(r, cuda_arch, &h, err)) == 0) {
		struct mb_build_inputs in = { set, r, h.tools, h.n, h.arch.list,
					      glibc = mb_host_glibc(), platform = mb_build_platform() };
		rc = mb_build_key_make(&in, key, err);
	}
	free(glibc);
	free(platform);
	host_inputs_free(&h);
	mb_plan_free(&plan);
	return rc;
}
