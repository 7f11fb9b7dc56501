/* mambaboot plan: the resolved install order; nothing is written. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "cudaarch.h"
#include "stages.h"
#include "util.h"

/* pinned (by its recipe), locked (by lock.yaml) or unpinned */
static const char *pin_state(const struct mb_artifact *a)
{
	if (!mb_artifact_pinned(a))
		return "unpinned";
	return a->locked ? "locked" : "pinned";
}

static json_t *artifact_json(const struct mb_artifact *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "url", json_string(a->url));
	json_object_set_new(o, "filename", json_string(a->filename));
	json_object_set_new(o, "sha256", a->sha256 ? json_string(a->sha256) : json_null());
	if (a->tree_sha256)
		json_object_set_new(o, "tree_sha256", json_string(a->tree_sha256));
	json_object_set_new(o, "size", a->size >= 0 ? json_integer(a->size) : json_null());
	json_object_set_new(o, "pinned", json_boolean(mb_artifact_pinned(a)));
	json_object_set_new(o, "pin", json_string(pin_state(a)));
	return o;
}

static json_t *step_json(const struct mb_plan *plan, const struct mb_step *s)
{
	const struct mb_recipe *r = s->recipe;
	json_t *o = json_object(), *deps = json_array(), *arts = json_array();
	size_t i;

	for (i = 0; i < s->n_deps; i++)
		json_array_append_new(deps, json_string(plan->steps[s->deps[i]].recipe->name));
	for (i = 0; i < r->n_artifacts; i++)
		json_array_append_new(arts, artifact_json(&r->artifacts[i]));
	json_object_set_new(o, "name", json_string(r->name));
	json_object_set_new(o, "version", json_string(r->version));
	json_object_set_new(o, "kind", json_string(mb_kind_name(r->kind)));
	json_object_set_new(o, "depends", deps);
	json_object_set_new(o, "artifacts", arts);
	return o;
}

static int print_json(const struct mb_plan *plan, const struct mb_cuda_arch *arch,
		      struct mb_err *err)
{
	json_t *doc = json_object(), *targets = json_array(), *steps = json_array();
	size_t i, unknown;
	long long known = mb_plan_known_size(plan, &unknown);
	int rc;

	for (i = 0; i < plan->n_targets; i++)
		json_array_append_new(targets, json_string(plan->targets[i]));
	for (i = 0; i < plan->n_steps; i++)
		json_array_append_new(steps, step_json(plan, &plan->steps[i]));
	json_object_set_new(doc, "targets", targets);
	json_object_set_new(doc, "steps", steps);
	json_object_set_new(doc, "known_size", json_integer(known));
	json_object_set_new(doc, "unknown_sizes", json_integer((json_int_t)unknown));
	json_object_set_new(doc, "cuda_arch", arch->list ? json_string(arch->list) : json_null());
	json_object_set_new(doc, "cuda_arch_from", json_string(mb_cuda_arch_source_name(arch->source)));
	rc = cli_print_json(doc, err);
	json_decref(doc);
	return rc;
}

static void print_step(size_t n, const struct mb_step *s)
{
	const struct mb_recipe *r = s->recipe;
	long long bytes = 0;
	size_t i, unknown = 0;
	char size[32];

	for (i = 0; i < r->n_artifacts; i++) {
		if (r->artifacts[i].size >= 0)
			bytes += r->artifacts[i].size;
		else
			unknown++;
	}
	ui_size(bytes, size, sizeof size);
	printf("%3zu. %-24s %-20s %-8s", n, r->name, r->version, mb_kind_name(r->kind));
	if (r->n_artifacts)
		printf(" %zu artifact%s, %s%s", r->n_artifacts, r->n_artifacts == 1 ? "" : "s",
		       size, unknown ? "+" : "");
	putchar('\n');
	for (i = 0; i < r->n_artifacts; i++)
		printf("       %s: %s\n", pin_state(&r->artifacts[i]), r->artifacts[i].filename);
}

static void print_text(const struct mb_plan *plan, const struct mb_cuda_arch *arch)
{
	size_t i, unknown, unpinned = 0, locked = 0, j;
	long long known = mb_plan_known_size(plan, &unknown);
	char size[32];

	for (i = 0; i < plan->n_steps; i++) {
		print_step(i + 1, &plan->steps[i]);
		for (j = 0; j < plan->steps[i].recipe->n_artifacts; j++) {
			const struct mb_artifact *a = &plan->steps[i].recipe->artifacts[j];
			unpinned += !mb_artifact_pinned(a);
			locked += a->locked;
		}
	}
	ui_size(known, size, sizeof size);
	printf("%zu step%s, %s to download", plan->n_steps, plan->n_steps == 1 ? "" : "s", size);
	if (unknown)
		printf(" (+%zu artifact%s of unknown size)", unknown, unknown == 1 ? "" : "s");
	if (locked)
		printf("; %zu locked (lock.yaml)", locked);
	if (unpinned)
		printf("; %zu unpinned (run 'mambaboot lock', or install needs --allow-unpinned)",
		       unpinned);
	putchar('\n');
	if (arch->list)
		printf("CUDA architectures: %s (from %s)\n", arch->list,
		       mb_cuda_arch_source_name(arch->source));
}

/* Does the plan build a source recipe that depends on cuda? */
static bool builds_cuda(const struct mb_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->n_steps; i++)
		if (plan->steps[i].recipe->kind == MB_KIND_SOURCE &&
		    mb_recipe_depends_on(plan->steps[i].recipe, "cuda"))
			return true;
	return false;
}

/* The architectures install would choose (cudaarch.h); NULL list: none. */
static int plan_arch(const struct mb_opts *opts, const struct mb_plan *plan,
		     const struct mb_events *ev, struct mb_cuda_arch *arch, struct mb_err *err)
{
	memset(arch, 0, sizeof *arch);
	if (!builds_cuda(plan))
		return 0;
	return mb_cuda_arch_here(opts->cuda_arch, ev, arch, err);
}

static int run(struct mb_opts *opts, struct mb_err *err)
{
	struct mb_recipe_set set;
	struct mb_plan plan;
	struct mb_cuda_arch arch = { 0 };
	struct ui ui;
	struct mb_events ev;
	int rc = cli_load_plan(opts, &set, &plan, err);

	if (rc < 0)
		return rc;
	ui_init(&ui, opts);
	ev = cli_events(&ui);
	rc = mb_plan_check_wheels(&plan, err);
	if (rc == 0)
		rc = plan_arch(opts, &plan, &ev, &arch, err);
	if (rc == 0 && opts->json)
		rc = print_json(&plan, &arch, err);
	else if (rc == 0)
		print_text(&plan, &arch);
	ui_done(&ui);
	mb_cuda_arch_free(&arch);
	mb_plan_free(&plan);
	mb_recipe_set_free(&set);
	return rc;
}

const struct mb_cmd cmd_plan = {
	.name = "plan",
	.summary = "show the resolved install order; nothing is written",
	.usage =
	"usage: mambaboot plan [TARGET...] [--recipes DIR] [--cuda-arch LIST] [--json]\n"
	"\n"
	"Resolve TARGETs (stack or recipe names; default: the stack 'mamba') into\n"
	"the steps of an install, in order: name, version, kind, artifacts, their\n"
	"known total size, and each artifact's pin: pinned (a sha256 or tree_sha256\n"
	"in its recipe), locked (a sha256 from DIR/lock.yaml, written by\n"
	"'mambaboot lock') or unpinned.  Unknown targets, missing recipes,\n"
	"dependency cycles and violated constraints exit 2.  When it builds CUDA\n"
	"sources, the GPU architectures install would build for.\n"
	"\n"
	"Options:\n"
	"  --recipes DIR   recipe set (default: $MAMBABOOT_RECIPES, else the\n"
	"                  installed share/mambaboot/recipes)\n"
	"  --patches DIR   patch directory (default: DIR/../patches)\n"
	"  --cuda-arch LIST  GPU architectures of CUDA builds (default:\n"
	"                  $TORCH_CUDA_ARCH_LIST, else the host's GPUs)\n"
	"  --json          print one JSON document on stdout\n"
	"  -h, --help      show this help\n",
	.opts = OPT_RECIPES | OPT_PATCHES | OPT_JSON | OPT_CUDA_ARCH,
	.run = run,
};
