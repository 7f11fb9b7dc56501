/* mambaboot doctor: host checks, each ok/warn/fail with a one-line fix. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "commands.h"
#include "doctor.h"
#include "plan.h"
#include "prefix.h"
#include "util.h"

#include <unistd.h>

static json_t *facts_json(const struct mb_facts *f)
{
	json_t *o = json_object(), *gpus = json_array();
	size_t i;

#define STR(k, v) json_object_set_new(o, k, (v) ? json_string(v) : json_null())
	STR("glibc", f->glibc);
	STR("kernel", f->kernel);
	STR("arch", f->arch);
	STR("nvcc", f->nvcc_path);
	STR("nvcc_version", f->nvcc_version);
	STR("driver", f->driver_version);
	STR("gcc", f->gcc_path);
	STR("gcc_version", f->gcc_version);
#undef STR
	for (i = 0; i < f->n_gpus; i++)
		json_array_append_new(gpus, json_string(f->gpu_cc[i]));
	json_object_set_new(o, "gpu_compute_capabilities", gpus);
	json_object_set_new(o, "free_prefix", json_integer(f->free_prefix));
	json_object_set_new(o, "free_cache", json_integer(f->free_cache));
	return o;
}

static int print_json(const struct mb_facts *f, const struct mb_checks *c, struct mb_err *err)
{
	json_t *doc = json_object(), *list = json_array();
	size_t i;
	int rc;

	for (i = 0; i < c->n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(c->v[i].name));
		json_object_set_new(o, "status", json_string(mb_check_status_name(c->v[i].status)));
		json_object_set_new(o, "found", json_string(c->v[i].found));
		json_object_set_new(o, "fix", c->v[i].fix ? json_string(c->v[i].fix) : json_null());
		json_array_append_new(list, o);
	}
	json_object_set_new(doc, "facts", facts_json(f));
	json_object_set_new(doc, "checks", list);
	rc = cli_print_json(doc, err);
	json_decref(doc);
	return rc;
}

static void print_text(const struct mb_checks *c)
{
	static const char *const tags[] = { "ok  ", "WARN", "FAIL" };
	size_t i;

	for (i = 0; i < c->n; i++) {
		printf("%s  %-16s %s\n", tags[c->v[i].status], c->v[i].name, c->v[i].found);
		if (c->v[i].fix)
			printf("      fix: %s\n", c->v[i].fix);
	}
}

/* The stacks whose rules apply: the arguments, else the prefix's
 * requested targets, else the default stack. */
static void add_stacks(const struct mb_opts *opts, const struct mb_state *st, struct mb_facts *f)
{
	size_t i;

	for (i = 0; i < opts->n_args; i++)
		mb_facts_add_stack(f, opts->args[i]);
	f->stacks_named = opts->n_args > 0;
	for (i = 0; opts->n_args == 0 && i < st->n_requested; i++)
		mb_facts_add_stack(f, st->requested[i].name);
	if (f->n_stacks == 0)
		mb_facts_add_stack(f, MB_DEFAULT_STACK);
}

/* What the prefix's CUDA builds were made for, against this host's GPUs. */
static void judge_built(const struct mb_facts *f, const struct mb_state *st, struct mb_checks *c)
{
	size_t i;

	for (i = 0; i < st->n_recipes; i++)
		if (st->recipes[i].cuda_arch)
			mb_doctor_judge_built(f, st->recipes[i].name, st->recipes[i].cuda_arch, c);
}

static void read_state(const struct mb_opts *opts, struct mb_state *st)
{
	char *path = opts->prefix ? xasprintf("%s/.mambaboot/state.json", opts->prefix) : NULL;

	memset(st, 0, sizeof *st);
	if (path && access(path, R_OK) == 0 && mb_state_read(path, st, NULL) < 0)
		memset(st, 0, sizeof *st);
	free(path);
}

static int run(struct mb_opts *opts, struct mb_err *err)
{
	struct mb_state st;
	char *compat = getenv("MAMBABOOT_COMPAT") ? strdup(getenv("MAMBABOOT_COMPAT"))
						  : cli_share_file("compat.yaml");
	struct mb_cache cache = { 0 };
	struct mb_checks checks;
	struct mb_facts facts;
	size_t i, failed = 0;
	int rc;

	if (mb_cache_open(&cache, opts->cache, NULL) < 0)
		cache.dir = NULL;
	mb_facts_probe(&facts, opts->prefix, cache.dir, true);
	read_state(opts, &st);
	add_stacks(opts, &st, &facts);
	rc = mb_doctor_judge(&facts, compat, true, &checks, err);
	if (rc == 0) {
		judge_built(&facts, &st, &checks);
		for (i = 0; i < checks.n; i++)
			failed += checks.v[i].status == MB_CHECK_FAIL;
		rc = opts->json ? print_json(&facts, &checks, err) : (print_text(&checks), 0);
		if (rc == 0 && failed)
			rc = mb_errf(err, MB_EHOST, "%zu host check%s failed (see the fixes above)",
				     failed, failed == 1 ? "" : "s");
		mb_checks_free(&checks);
	}
	mb_facts_free(&facts);
	mb_state_free(&st);
	mb_cache_close(&cache);
	free(compat);
	return rc;
}

const struct mb_cmd cmd_doctor = {
	.name = "doctor",
	.summary = "check the host: glibc, nvcc, driver, GPUs, gcc, disk",
	.usage =
	"usage: mambaboot doctor [STACK...] [--prefix DIR] [--cache DIR] [--json]\n"
	"\n"
	"Probe the host (glibc, kernel, CPU arch, nvcc and its version, NVIDIA driver,\n"
	"GPU compute capabilities, the gcc a build would use, free disk at the prefix\n"
	"and the cache, write access, proxy and CA settings) and judge the facts\n"
	"against share/mambaboot/compat.yaml ($MAMBABOOT_COMPAT overrides it).  Each\n"
	"check is ok, warn or fail with a one-line fix; any fail exits 6.  Rules\n"
	"scoped to stacks apply to the STACKs named, else to the prefix's requested\n"
	"ones, else to 'mamba'; a STACK no rule names is a warning (a typo judges\n"
	"only the host-wide rules).  With --prefix, each CUDA build's recorded\n"
	"architecture list (TORCH_CUDA_ARCH_LIST) is shown and checked against\n"
	"this host's GPUs.\n"
	"\n"
	"Options:\n"
	"  -p, --prefix DIR   the prefix to check (disk, write access, its conda gcc)\n"
	"  --cache DIR        the cache to check\n"
	"  --json             print one JSON document on stdout\n",
	.opts = OPT_PREFIX | OPT_CACHE | OPT_JSON,
	.run = run,
};
