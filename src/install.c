/* The install pipeline: plan -> diff with the prefix -> host probes ->
 * fetch -> stage -> conflict check -> place (and build) -> commit.
 * Nothing reaches the prefix before every artifact is verified and every
 * staged path is known not to clash. */
#define _XOPEN_SOURCE 700

#include "install.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "conda.h"
#include "cudaarch.h"
#include "build.h"
#include "buildcache.h"
#include "buildkey.h"
#include "doctor.h"
#include "external.h"
#include "fetch.h"
#include "lock.h"
#include "plan.h"
#include "digest.h"
#include "fsutil.h"
#include "prefixenv.h"
#include "prefix.h"
#include "stage.h"
#include "stages.h"
#include "unpackq.h"
#include "util.h"
#include "wtree.h"

/* One step of the plan, as the transaction sees it. */
struct job {
	const struct mb_recipe *recipe;
	enum mb_action action;
	struct mb_state_recipe *old;   /* installed version, if any */
	const char *stage_dir;         /* owned by the transaction */
	bool shared;                   /* staged in the conda packages' shared tree */
	struct mb_wtree_made made;     /* the directories it made there */
	struct mb_owned owned;
	char **blobs, **shas;          /* per artifact, after fetching */
	struct mb_build_key key;       /* source recipes: the build cache's key */
	bool has_key;
	char *entry;                   /* its cache entry, found before fetching */
};

struct run {
	const struct mb_install_opts *o;
	const struct mb_recipe_set *set;
	struct mb_prefix prefix;
	bool have_prefix;
	struct mb_plan plan;
	struct mb_requested *requested;
	size_t n_requested;
	bool requested_changed;
	struct job *jobs;              /* one per plan step */
	struct mb_cache cache;
	char *python_xy, *python_exe;
	char *cuda_home;
	struct mb_probe *probes;       /* one per external of the plan */
	struct mb_tool *tools;         /* the same, for the build log */
	size_t n_probes;
	char *tool_path;               /* their directories, ':'-joined */
	struct mb_facts facts;         /* the host, when checks or builds need it */
	bool have_facts;
	bool have_gpus;                /* facts holds the GPUs (preselect_arch) */
	struct mb_cuda_arch arch;      /* TORCH_CUDA_ARCH_LIST of CUDA builds */
	char *glibc, *platform;        /* build keys' host inputs */
	struct mb_txn *txn;
	struct mb_unpackq unpackq;     /* conda cache entries made ahead of linking */
	size_t unpack_at;              /* the next of its items stage_job links */
	const char *conda_stage;       /* the tree the conda packages share (stage_job) */
	bool conda_placed;             /* it has been moved into the prefix */
	enum mb_link_mode link_start;  /* conda packages' (mb_stage_ctx) */
	struct mb_install_report *rep;
	struct mb_err *err;
};

const char *mb_action_name(enum mb_action a)
{
	static const char *const names[] = { "keep", "install", "upgrade", "remove" };
	return names[a];
}

static void emit(const struct run *r, enum mb_event_type type, const char *name,
		 const char *msg)
{
	struct mb_event ev = { .type = type, .name = name, .msg = msg };
	mb_emit(r->o->ev, &ev);
}

/* ---- the requested set and its plan ---- */

static bool has_name(char *const *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (name_equal(v[i], name))
			return true;
	return false;
}

/* Already requested targets, then the new ones; none at all: "mamba". */
static char **requested_names(const struct run *r, char *const *targets, size_t n,
			      size_t *count)
{
	const struct mb_state *s = &r->prefix.state;
	char **names = xcalloc(s->n_requested + n + 2, sizeof *names);
	size_t i;

	*count = 0;
	for (i = 0; i < s->n_requested; i++)
		names[(*count)++] = s->requested[i].name;
	for (i = 0; i < n; i++)
		if (!has_name(names, *count, targets[i]))
			names[(*count)++] = targets[i];
	if (*count == 0)
		names[(*count)++] = MB_DEFAULT_STACK;
	return names;
}

static int closure_of(const struct run *r, char *name, struct mb_requested *out)
{
	struct mb_plan p;
	size_t i;
	int rc = mb_plan_build(&p, r->set, &name, 1, r->err);

	if (rc < 0)
		return rc;
	out->name = xstrdup(name);
	out->closure = xcalloc(p.n_steps + 1, sizeof *out->closure);
	for (i = 0; i < p.n_steps; i++)
		if (p.steps[i].recipe->kind != MB_KIND_EXTERNAL)
			out->closure[out->n_closure++] = xstrdup(p.steps[i].recipe->name);
	mb_plan_free(&p);
	return 0;
}

static int resolve(struct run *r, char *const *targets, size_t n)
{
	size_t count, i;
	char **names = requested_names(r, targets, n, &count);
	int rc = mb_plan_build(&r->plan, r->set, names, count, r->err);

	r->requested = xcalloc(count, sizeof *r->requested);
	for (i = 0; rc == 0 && i < count; i++, r->n_requested++)
		rc = closure_of(r, names[i], &r->requested[i]);
	r->requested_changed = count != r->prefix.state.n_requested;
	free(names);
	return rc;
}

/* ---- what changes ---- */

static bool same_install(const struct mb_recipe *rec, const struct mb_state_recipe *old)
{
	return strcmp(rec->version, old->version) == 0 && old->recipe_sha256 &&
	       strcmp(rec->sha256, old->recipe_sha256) == 0;
}

static bool cuda_build(const struct mb_recipe *rec)
{
	return rec->kind == MB_KIND_SOURCE && mb_recipe_depends_on(rec, "cuda");
}

/* Was a CUDA build made for the architectures chosen now?  With none
 * chosen (no GPU, nothing set), what is there stays. */
static bool same_arch(const struct run *r, const struct mb_recipe *rec,
		      const struct mb_state_recipe *old)
{
	return !cuda_build(rec) || !r->arch.list ||
	       (old->cuda_arch && strcmp(old->cuda_arch, r->arch.list) == 0);
}

/* The architectures, chosen before the diff so that a changed list (a new
 * GPU, --cuda-arch) rebuilds what was built for another; choose_arch()
 * chooses again, warning and checking, once it is known what is built. */
static int preselect_arch(struct run *r)
{
	bool any = false;
	size_t i;

	for (i = 0; i < r->plan.n_steps; i++)
		any = any || cuda_build(r->plan.steps[i].recipe);
	if (!any)
		return 0;
	mb_facts_probe_gpus(&r->facts); /* kept: probe_host does not ask nvidia-smi again */
	r->have_gpus = true;
	return mb_cuda_arch_choose(r->o->cuda_arch, getenv("TORCH_CUDA_ARCH_LIST"), r->facts.gpu_cc,
				   r->facts.n_gpus, NULL, &r->arch, r->err);
}

static void report_item(struct run *r, const char *name, const char *from, const char *to,
			enum mb_action a)
{
	struct mb_install_item *it = VEC_PUSH(r->rep->items, r->rep->n, r->rep->cap);

	it->name = xstrdup(name);
	it->from = from ? xstrdup(from) : NULL;
	it->to = to ? xstrdup(to) : NULL;
	it->action = a;
}

/* Returns how many recipes change. */
static size_t diff(struct run *r)
{
	struct mb_state *s = &r->prefix.state;
	size_t i, changes = 0;

	r->jobs = xcalloc(r->plan.n_steps + 1, sizeof *r->jobs);
	for (i = 0; i < r->plan.n_steps; i++) {
		struct job *j = &r->jobs[i];
		j->recipe = r->plan.steps[i].recipe;
		if (j->recipe->kind == MB_KIND_EXTERNAL)
			continue;
		j->old = mb_state_find(s, j->recipe->name);
		j->action = !j->old ? MB_ACT_INSTALL
			  : same_install(j->recipe, j->old) && same_arch(r, j->recipe, j->old) &&
			    !mb_conda_removed_elsewhere(&r->prefix, j->old) /* installing puts it back */
			  ? MB_ACT_KEEP : MB_ACT_UPGRADE;
		if (j->action == MB_ACT_KEEP)
			continue;
		changes++;
		report_item(r, j->recipe->name, j->old ? j->old->version : NULL,
			    j->recipe->version, j->action);
	}
	for (i = 0; i < s->n_recipes; i++) {
		bool planned = mb_state_recipe_generated(&s->recipes[i]); /* made again */
		size_t k;
		for (k = 0; !planned && k < r->plan.n_steps; k++)
			planned = name_equal(r->plan.steps[k].recipe->name, s->recipes[i].name);
		if (!planned) {
			changes++;
			report_item(r, s->recipes[i].name, s->recipes[i].version, NULL,
				    MB_ACT_REMOVE);
		}
	}
	return changes;
}

static bool changing(const struct job *j)
{
	return j->action == MB_ACT_INSTALL || j->action == MB_ACT_UPGRADE;
}

static int check_pins(const struct run *r)
{
	size_t i, k;

	for (i = 0; i < r->plan.n_steps && !r->o->allow_unpinned; i++) {
		const struct mb_recipe *rec = r->jobs[i].recipe;
		if (!changing(&r->jobs[i]))
			continue;
		for (k = 0; k < rec->n_artifacts; k++)
			if (!mb_artifact_pinned(&rec->artifacts[k]))
				return mb_lock_unpinned_err(r->err, rec->name,
							    rec->artifacts[k].filename);
	}
	return 0;
}

/* ---- the host: externals and the python ---- */

static char *major_minor(const char *version)
{
	struct mb_version v;

	if (mb_version_parse(version, &v) < 0 || v.n_release < 2)
		return NULL;
	return xasprintf("%llu.%llu", (unsigned long long)v.release[0],
			 (unsigned long long)v.release[1]);
}

/* Each external's directory once, in plan order: what a build's PATH
 * puts after PREFIX/bin, so that it finds the tools that were checked. */
static char *tool_dirs(const struct mb_probe *probes, size_t n)
{
	struct sbuf b = { 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		const char *slash = strrchr(probes[i].path, '/');
		char *dir = slash ? xstrndup(probes[i].path, (size_t)(slash - probes[i].path)) : NULL;
		size_t len = dir ? strlen(dir) : 0;
		const char *p = b.s;
		bool seen = false;

		while (dir && !seen && p && *p) {
			seen = strncmp(p, dir, len) == 0 && (p[len] == ':' || p[len] == '\0');
			p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL;
		}
		if (dir && *dir && !seen)
			sbuf_printf(&b, "%s%s", b.len ? ":" : "", dir);
		free(dir);
	}
	return b.len ? sbuf_steal(&b) : (sbuf_free(&b), NULL);
}

static int probe_one(struct run *r, const struct mb_recipe *rec)
{
	struct mb_probe *probe = &r->probes[r->n_probes];
	struct mb_tool *tool = &r->tools[r->n_probes];
	int rc = mb_external_probe(rec, &r->cache, probe, r->err);

	if (rc < 0)
		return rc;
	tool->name = rec->name;
	tool->path = probe->path;
	tool->version = probe->version;
	r->n_probes++;
	if (rec == r->plan.python) {
		r->python_xy = major_minor(probe->version);
		r->python_exe = xstrdup(probe->path);
	}
	return 0;
}

static int probe_externals(struct run *r)
{
	size_t i;
	int rc;

	r->probes = xcalloc(r->plan.n_steps + 1, sizeof *r->probes);
	r->tools = xcalloc(r->plan.n_steps + 1, sizeof *r->tools);
	for (i = 0; i < r->plan.n_steps; i++)
		if (r->plan.steps[i].recipe->kind == MB_KIND_EXTERNAL &&
		    (rc = probe_one(r, r->plan.steps[i].recipe)) < 0)
			return rc;
	r->tool_path = tool_dirs(r->probes, r->n_probes);
	if (r->plan.python && r->plan.python->kind != MB_KIND_EXTERNAL) {
		r->python_xy = major_minor(r->plan.python->version);
		r->python_exe = path_join(r->prefix.path, "bin/python");
	}
	r->cuda_home = mb_find_cuda_home();
	if (r->plan.python && !r->python_xy)
		return mb_errf(r->err, MB_EHOST, "cannot tell the python version from '%s'",
			       r->plan.python->version);
	return 0;
}

static void stage_ctx(const struct run *r, const char *root, struct mb_stage_ctx *ctx);

/* ---- host checks (doctor's rules), before anything is downloaded ---- */

/* The build-scoped rules (nvcc, its gcc, sm_90) matter when the plan builds
 * sources with CUDA: a recipe named cuda is in it. */
static bool builds_with_cuda(const struct run *r)
{
	bool cuda = false, builds = false;
	size_t i;

	for (i = 0; i < r->plan.n_steps; i++) {
		cuda = cuda || name_equal(r->jobs[i].recipe->name, "cuda");
		builds = builds || (changing(&r->jobs[i]) && r->jobs[i].recipe->kind == MB_KIND_SOURCE);
	}
	return cuda && builds;
}

/* The gcc a build will use is the plan's own gcc recipe when it has one
 * (the host's gcc only matters without it). */
static void plan_gcc(const struct run *r, struct mb_facts *f)
{
	const struct mb_recipe *gcc = mb_recipe_find(r->set, "gcc");
	size_t i;

	for (i = 0; gcc && i < r->plan.n_steps; i++) {
		if (r->plan.steps[i].recipe == gcc && gcc->kind != MB_KIND_EXTERNAL) {
			free(f->gcc_version);
			f->gcc_version = xstrdup(gcc->version);
		}
	}
}

/* What the externals reported is a fact too, under the recipe's name
 * (compat.yaml rules on torch-cuda, say); and the stacks requested. */
static void external_facts(const struct run *r, struct mb_facts *f)
{
	size_t i;

	for (i = 0; i < r->n_probes; i++)
		mb_facts_add(f, r->tools[i].name, r->tools[i].version);
	for (i = 0; i < r->n_requested; i++)
		if (mb_stack_find(r->set, r->requested[i].name))
			mb_facts_add_stack(f, r->requested[i].name);
}

static void probe_host(struct run *r)
{
	if (r->have_facts || ((r->o->skip_checks || !r->o->compat) && !builds_with_cuda(r)))
		return;
	if (!r->have_gpus)
		mb_facts_probe_gpus(&r->facts);
	r->have_gpus = true;
	mb_facts_probe_rest(&r->facts, r->prefix.path, r->cache.dir, builds_with_cuda(r));
	plan_gcc(r, &r->facts);
	external_facts(r, &r->facts);
	r->have_facts = true;
}

static int host_checks(struct run *r)
{
	const char *compat = r->o->compat;
	struct mb_checks checks;
	size_t i;
	int rc;

	if (r->o->skip_checks || !compat)
		return 0;
	probe_host(r);
	rc = mb_doctor_judge(&r->facts, compat, builds_with_cuda(r), &checks, r->err);
	for (i = 0; rc == 0 && i < checks.n; i++)
		if (checks.v[i].status == MB_CHECK_FAIL)
			rc = mb_errf(r->err, MB_EHOST, "host check '%s' failed (found %s): %s; --skip-checks overrides",
				     checks.v[i].name, checks.v[i].found, checks.v[i].fix);
	mb_checks_free(&checks);
	return rc;
}

/* ---- the GPU architectures of CUDA builds, before anything is fetched ---- */

static const char *plan_nvcc_version(const struct run *r)
{
	size_t i;

	if (r->facts.nvcc_version)
		return r->facts.nvcc_version;
	for (i = 0; i < r->n_probes; i++)
		if (name_equal(r->tools[i].name, "cuda"))
			return r->tools[i].version;
	return NULL;
}

static int choose_arch(struct run *r)
{
	const char *nvcc;
	char *msg;
	int rc;

	if (!builds_with_cuda(r))
		return 0;
	probe_host(r);
	mb_cuda_arch_free(&r->arch);
	rc = mb_cuda_arch_choose(r->o->cuda_arch, getenv("TORCH_CUDA_ARCH_LIST"), r->facts.gpu_cc,
				 r->facts.n_gpus, r->o->ev, &r->arch, r->err);
	if (rc < 0 || !r->arch.list)
		return rc;
	nvcc = plan_nvcc_version(r);
	msg = xasprintf("CUDA architectures: %s (from %s)", r->arch.list,
			mb_cuda_arch_source_name(r->arch.source));
	emit(r, MB_EV_NOTE, NULL, msg);
	free(msg);
	rc = mb_cuda_arch_check(r->arch.list, nvcc, r->err);
	return rc < 0 ? mb_err_wrap(r->err, "%s", mb_cuda_arch_source_name(r->arch.source)) : 0;
}

/* ---- fetching ---- */

static void fetch_opts(const struct run *r, struct mb_fetch_opts *fo)
{
	memset(fo, 0, sizeof *fo);
	fo->cache = (struct mb_cache *)&r->cache;
	fo->mirrors = r->o->mirrors;
	fo->n_mirrors = r->o->n_mirrors;
	fo->offline = r->o->offline;
	fo->allow_unpinned = r->o->allow_unpinned;
	fo->jobs = r->o->jobs;
	fo->cacert = r->o->cacert;
	fo->lock_timeout = r->o->lock_timeout;
	fo->read_soon = true; /* unpacked next */
	fo->ev = r->o->ev;
}

/* A build found in the cache needs no source. */
static bool needs_artifacts(const struct job *j)
{
	return changing(j) && !j->entry;
}

static int fetch_all(struct run *r)
{
	struct mb_fetch_opts fo;
	struct mb_fetch_item *items;
	size_t i, k, n = 0;
	int rc;

	for (i = 0; i < r->plan.n_steps; i++)
		if (needs_artifacts(&r->jobs[i]))
			n += r->jobs[i].recipe->n_artifacts;
	items = xcalloc(n + 1, sizeof *items);
	for (i = 0, n = 0; i < r->plan.n_steps; i++) {
		for (k = 0; needs_artifacts(&r->jobs[i]) && k < r->jobs[i].recipe->n_artifacts; k++) {
			items[n].artifact = &r->jobs[i].recipe->artifacts[k];
			items[n].md5 = r->jobs[i].recipe->kind == MB_KIND_CONDA;
			items[n++].label = r->jobs[i].recipe->name;
		}
	}
	fetch_opts(r, &fo);
	rc = mb_fetch_artifacts(&fo, items, n, r->err);
	for (i = 0, n = 0; i < r->plan.n_steps; i++) {
		struct job *j = &r->jobs[i];
		if (!changing(j))
			continue;
		j->blobs = xcalloc(j->recipe->n_artifacts + 1, sizeof *j->blobs);
		j->shas = xcalloc(j->recipe->n_artifacts + 1, sizeof *j->shas);
		for (k = 0; needs_artifacts(j) && k < j->recipe->n_artifacts; k++, n++) {
			if (rc == 0) {
				j->blobs[k] = xstrdup(items[n].blob_path);
				j->shas[k] = xstrdup(items[n].sha256);
			}
			mb_fetch_item_release(&items[n]);
		}
	}
	free(items);
	return rc;
}

/* ---- the build cache, before fetching: a hit needs no source ---- */

static int build_key_of(const struct run *r, struct job *j)
{
	struct mb_build_inputs in = { r->set, j->recipe, r->tools, r->n_probes, r->arch.list,
				      r->glibc, r->platform };
	int rc = mb_build_key_make(&in, &j->key, r->err);

	j->has_key = rc == 0;
	return rc;
}

static int no_build_err(const struct run *r, const struct job *j)
{
	struct mb_fetch_opts fo;
	char *why;
	int rc;

	fetch_opts(r, &fo);
	why = mb_buildcache_why_miss(&fo, j->key.record, j->recipe->name);
	rc = mb_errf(r->err, MB_EBUILD, "%s: no build with key %s in the cache or the mirrors, and --no-build; %s%s",
		     j->recipe->name, j->key.hex,
		     why ? "what differs from the nearest one:" : "none of this recipe at all",
		     why ? why : "");
	free(why); /* mb_errf made the message one line */
	return rc;
}

static int find_build(struct run *r, struct job *j)
{
	struct mb_fetch_opts fo;
	int rc;

	if ((rc = build_key_of(r, j)) < 0)
		return rc;
	j->entry = mb_buildcache_find(&r->cache, j->key.hex, r->prefix.path);
	fetch_opts(r, &fo);
	if (!j->entry && (rc = mb_buildcache_fetch(&fo, j->key.hex, r->prefix.path, &j->entry,
						   r->err)) < 0)
		return rc;
	if (!j->entry && r->o->no_build)
		return no_build_err(r, j);
	r->rep->builds += !j->entry;
	r->rep->build_cache_hits += j->entry != NULL;
	return 0;
}

static int find_builds(struct run *r)
{
	size_t i;
	int rc = 0;

	r->glibc = mb_host_glibc();
	r->platform = mb_build_platform();
	for (i = 0; rc == 0 && i < r->plan.n_steps; i++)
		if (changing(&r->jobs[i]) && r->jobs[i].recipe->kind == MB_KIND_SOURCE)
			rc = find_build(r, &r->jobs[i]);
	return rc;
}

static int check_stages(struct run *r)
{
	struct mb_stage_ctx ctx;
	size_t i;
	int rc = 0;

	stage_ctx(r, NULL, &ctx);
	for (i = 0; rc == 0 && i < r->plan.n_steps; i++)
		if (changing(&r->jobs[i]))
			rc = mb_stage_check(&ctx, r->jobs[i].recipe, r->err);
	return rc;
}

/* ---- staging ---- */

static void stage_ctx(const struct run *r, const char *root, struct mb_stage_ctx *ctx)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->prefix = r->prefix.path;
	ctx->root = root;
	ctx->python_xy = r->python_xy;
	ctx->python_exe = r->python_exe;
	ctx->cache = (struct mb_cache *)&r->cache;
	ctx->ev = r->o->ev;
	ctx->jobs = r->o->jobs > 0 ? r->o->jobs : 2;
	ctx->strict = r->o->strict;
	ctx->compile = r->o->compile;
	ctx->txn = r->txn;
	ctx->patches_dir = r->set->patches_dir;
	ctx->cuda_home = r->cuda_home;
	ctx->cuda_arch = r->arch.list;
	ctx->tool_path = r->tool_path;
	ctx->tools = r->tools;
	ctx->n_tools = r->n_probes;
	ctx->python_external = r->plan.python && r->plan.python->kind == MB_KIND_EXTERNAL;
	ctx->lock_timeout = r->o->lock_timeout;
	ctx->link_start = (enum mb_link_mode *)&r->link_start;
}

/* Link (or write) a job's artifacts under root. */
static int link_job(struct run *r, struct job *j, const char *root)
{
	struct mb_stage_ctx ctx;
	char *constraint = mb_plan_constraint(&r->plan, j->recipe);
	size_t k;
	int rc = 0;

	stage_ctx(r, root, &ctx);
	ctx.constraint = constraint;
	ctx.made_dirs = root == r->conda_stage ? &j->made : NULL;
	for (k = 0; rc == 0 && k < j->recipe->n_artifacts; k++) {
		if (mb_interrupted(r->o->ev))
			rc = mb_errf(r->err, MB_EFAIL, "interrupted");
		else
			rc = mb_stage_artifact(&ctx, j->recipe, k, j->blobs[k], j->shas[k],
					       &j->owned, r->err);
	}
	free(constraint);
	return rc;
}

/* Take back what a job linked into the shared tree: its files, then the
 * directories it made, children before parents (those others filled stay). */
static void unlink_job(const struct run *r, struct job *j)
{
	size_t i;

	for (i = 0; i < j->owned.n; i++) {
		char *full = path_join(r->conda_stage, j->owned.v[i].path);
		if (j->owned.v[i].type != MB_OWNED_DIR)
			unlink(full);
		free(full);
	}
	while (j->made.n > 0) {
		char *full = path_join(r->conda_stage, j->made.v[--j->made.n]);
		rmdir(full);
		free(full);
		free(j->made.v[j->made.n]);
	}
	mb_owned_free(&j->owned);
	memset(&j->owned, 0, sizeof j->owned);
}

/* Conda packages link into one staging tree that they share, so that
 * each directory is made once for all (where `cp -al` would make it) and
 * a new top directory moves into the prefix with one rename
 * (place_shared).  A package that cannot link there (a path another one
 * has: the conflict check names both) takes it back and stages alone. */
static int stage_shared(struct run *r, struct job *j)
{
	int rc;

	if (!r->conda_stage && !(r->conda_stage = mb_txn_stage_dir(r->txn, "conda", r->err)))
		return -r->err->code;
	if ((rc = link_job(r, j, r->conda_stage)) == 0) {
		j->stage_dir = r->conda_stage;
		j->shared = true;
		return 0;
	}
	if (mb_interrupted(r->o->ev))
		return rc;
	unlink_job(r, j);
	mb_err_clear(r->err);
	return 1;
}

static int stage_job(struct run *r, struct job *j)
{
	size_t k;
	int rc = 1;

	if (j->recipe->kind == MB_KIND_SOURCE)
		return 0; /* built in place, once its dependencies are there */
	emit(r, MB_EV_STEP_BEGIN, j->recipe->name, "unpack");
	if (j->recipe->kind == MB_KIND_CONDA) {
		for (k = 0; k < j->recipe->n_artifacts; k++)
			mb_unpackq_wait(&r->unpackq, r->unpack_at++);
		rc = stage_shared(r, j);
	}
	if (rc > 0) {
		j->stage_dir = mb_txn_stage_dir(r->txn, j->recipe->name, r->err);
		rc = j->stage_dir ? link_job(r, j, j->stage_dir) : -r->err->code;
	}
	emit(r, MB_EV_STEP_END, j->recipe->name, NULL);
	return rc;
}

/* ---- conflicts, found before anything is written ---- */

struct claim {
	const char *path, *owner;
	bool dir_only;
};

static int cmp_claim(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;
	return strcmp(x->path, y->path);
}

static void claim_files(struct claim **v, size_t *n, size_t *cap, const char *owner,
			const struct mb_owned *files)
{
	size_t i;

	for (i = 0; i < files->n; i++) {
		struct claim *c = VEC_PUSH(*v, *n, *cap);
		c->path = files->v[i].path;
		c->owner = owner;
		c->dir_only = files->v[i].type == MB_OWNED_DIR;
	}
}

/* Is some claimed file a parent directory of `path`? */
static const struct claim *file_above(const struct claim *v, size_t n, const char *path,
				      const char *owner)
{
	char *p = xstrdup(path), *s;
	const struct claim *hit = NULL;

	while (!hit && (s = strrchr(p, '/')) != NULL) {
		struct claim key = { p, NULL, false };
		*s = '\0';
		hit = bsearch(&key, v, n, sizeof *v, cmp_claim);
		if (hit && (hit->dir_only || name_equal(hit->owner, owner)))
			hit = NULL;
	}
	free(p);
	return hit;
}

/* Does v[i] sit in the directory of v[i - 1], for the same owner?  Then
 * file_above() has the same answer for both. */
static bool same_dir_as_last(const struct claim *v, size_t i)
{
	const char *a, *b;

	if (i == 0 || v[i].owner != v[i - 1].owner)
		return false;
	a = strrchr(v[i].path, '/');
	b = strrchr(v[i - 1].path, '/');
	return a && b && a - v[i].path == b - v[i - 1].path &&
	       !strncmp(v[i].path, v[i - 1].path, (size_t)(a - v[i].path));
}

static int find_clashes(const struct run *r, struct claim *v, size_t n)
{
	size_t i;

	if (n)
		qsort(v, n, sizeof *v, cmp_claim);
	for (i = 0; i < n; i++) {
		const struct claim *up;
		if (i > 0 && strcmp(v[i].path, v[i - 1].path) == 0 && !v[i].dir_only &&
		    !v[i - 1].dir_only && !name_equal(v[i].owner, v[i - 1].owner))
			return mb_errf(r->err, MB_EINPUT, "'%s' and '%s' both install %s",
				       v[i - 1].owner, v[i].owner, v[i].path);
		up = same_dir_as_last(v, i) ? NULL : file_above(v, n, v[i].path, v[i].owner);
		if (up)
			return mb_errf(r->err, MB_EINPUT,
				       "'%s' installs the file %s, where '%s' needs a directory for %s",
				       up->owner, up->path, v[i].owner, v[i].path);
	}
	return 0;
}

/* A staged path that exists in the prefix and that no recipe on its way out
 * owns is someone else's file: refused now, unless --force, before the
 * first rename.  `leaving` is sorted. */
/* Is prefix/path taken by a file?  *gone caches a directory found missing,
 * so that the other files of a new directory cost nothing (v is sorted). */
static bool taken(const struct run *r, const char *path, char **gone)
{
	struct stat st;
	char *full, *slash;
	bool hit;

	if (path_below(path, *gone))
		return false;
	full = path_join(r->prefix.path, path);
	hit = lstat(full, &st) == 0 && !S_ISDIR(st.st_mode);
	if (!hit && errno == ENOENT && (slash = strrchr(full, '/')) != NULL) {
		*slash = '\0';
		if (lstat(full, &st) < 0 && errno == ENOENT && strrchr(path, '/')) {
			free(*gone);
			*gone = xstrndup(path, (size_t)(strrchr(path, '/') - path));
		}
	}
	free(full);
	return hit;
}

static int find_strangers(const struct run *r, const struct claim *v, size_t n,
			  char **leaving, size_t n_leaving)
{
	char *gone = NULL;
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < n && !r->o->force; i++) {
		if (v[i].dir_only ||
		    (n_leaving && bsearch(&v[i].path, leaving, n_leaving, sizeof *leaving, strptr_cmp)))
			continue;
		if (taken(r, v[i].path, &gone) && !mb_state_find(&r->prefix.state, v[i].owner))
			rc = mb_errf(r->err, MB_EINPUT,
				     "%s/%s exists and no installed recipe owns it (--force replaces it)",
				     r->prefix.path, v[i].path);
	}
	free(gone);
	return rc;
}

static bool keeps(const struct run *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->plan.n_steps; i++)
		if (name_equal(r->jobs[i].recipe->name, name))
			return r->jobs[i].action == MB_ACT_KEEP;
	return false; /* not planned: being removed */
}

static int check_conflicts(struct run *r)
{
	struct mb_state *s = &r->prefix.state;
	struct claim *v = NULL;
	char **leaving = NULL;
	size_t n = 0, cap = 0, n_leaving = 0, cap_leaving = 0, i, k, owners = 0;
	int rc = 0;

	for (i = 0; rc == 0 && i < s->n_recipes; i++) {
		struct mb_state_recipe *old = &s->recipes[i];
		if ((rc = mb_prefix_load_files(&r->prefix, old, r->err)) < 0)
			break;
		if (keeps(r, old->name)) {
			claim_files(&v, &n, &cap, old->name, &old->files);
			owners += old->files.n > 0;
			continue;
		}
		for (k = 0; k < old->files.n; k++)
			*VEC_PUSH(leaving, n_leaving, cap_leaving) = old->files.v[k].path;
	}
	for (i = 0; i < r->plan.n_steps; i++)
		if (changing(&r->jobs[i])) {
			claim_files(&v, &n, &cap, r->jobs[i].recipe->name, &r->jobs[i].owned);
			owners += r->jobs[i].owned.n > 0;
		}
	if (n_leaving)
		qsort(leaving, n_leaving, sizeof *leaving, strptr_cmp);
	if (rc == 0 && owners > 1) /* one owner cannot clash with itself: its tree was made */
		rc = find_clashes(r, v, n);
	if (rc == 0)
		rc = find_strangers(r, v, n, leaving, n_leaving);
	free(v);
	free(leaving);
	return rc;
}

/* ---- applying ---- */

/* Move every outgoing recipe's files aside first, so that a path moving
 * from one recipe to another is free when its new owner is placed. */
static int unlink_outgoing(struct run *r)
{
	struct mb_state *s = &r->prefix.state;
	size_t i;
	int rc;

	for (i = 0; i < s->n_recipes; i++) {
		const char *name = s->recipes[i].name;
		bool planned = false;
		size_t k;

		if (keeps(r, name))
			continue;
		if ((rc = mb_txn_unlink_recipe(r->txn, &s->recipes[i], r->err)) < 0)
			return rc;
		for (k = 0; !planned && k < r->plan.n_steps; k++)
			planned = name_equal(r->jobs[k].recipe->name, name);
		if (!planned)
			mb_txn_drop_recipe(r->txn, name);
	}
	return 0;
}

static void record(struct run *r, struct job *j)
{
	const struct mb_recipe *rec = j->recipe;
	struct mb_state_recipe st = { 0 };
	size_t k;

	st.name = xstrdup(rec->name);
	st.version = xstrdup(rec->version);
	st.kind = xstrdup(mb_kind_name(rec->kind));
	st.recipe_sha256 = xstrdup(rec->sha256);
	if (rec->kind == MB_KIND_SOURCE && r->arch.list && mb_recipe_depends_on(rec, "cuda"))
		st.cuda_arch = xstrdup(r->arch.list);
	st.depends = xcalloc(rec->n_deps + 1, sizeof *st.depends);
	for (k = 0; k < rec->n_deps; k++)
		st.depends[st.n_depends++] = xstrdup(rec->deps[k].name);
	st.artifacts = xcalloc(rec->n_artifacts + 1, sizeof *st.artifacts);
	for (k = 0; k < rec->n_artifacts; k++, st.n_artifacts++) {
		st.artifacts[k].filename = xstrdup(rec->artifacts[k].filename);
		st.artifacts[k].url = xstrdup(rec->artifacts[k].url);
		st.artifacts[k].sha256 = j->shas && j->shas[k] ? xstrdup(j->shas[k]) : NULL;
	}
	st.files = j->owned;
	memset(&j->owned, 0, sizeof j->owned);
	mb_txn_set_recipe(r->txn, &st);
}

/* The shared tree's files, every package's, move in together when the
 * first of them is applied: a directory new to the prefix goes whole. */
static int place_shared(struct run *r)
{
	struct mb_owned all = { 0 };
	size_t i, k;
	int rc;

	if (r->conda_placed)
		return 0;
	r->conda_placed = true;
	for (i = 0; i < r->plan.n_steps; i++)
		if (r->jobs[i].shared)
			all.n += r->jobs[i].owned.n;
	all.v = xcalloc(all.n + 1, sizeof *all.v);
	for (i = 0, all.n = 0; i < r->plan.n_steps; i++)
		for (k = 0; r->jobs[i].shared && k < r->jobs[i].owned.n; k++)
			all.v[all.n++] = r->jobs[i].owned.v[k]; /* shallow: paths stay theirs */
	rc = mb_txn_place(r->txn, r->conda_stage, &all, r->err);
	free(all.v);
	return rc;
}

static int apply_job(struct run *r, struct job *j)
{
	struct mb_stage_ctx ctx;
	int rc;

	if (mb_interrupted(r->o->ev))
		return mb_errf(r->err, MB_EFAIL, "interrupted; the prefix is left as it was");
	stage_ctx(r, r->prefix.path, &ctx);
	if (j->recipe->kind == MB_KIND_SOURCE) {
		emit(r, MB_EV_STEP_BEGIN, j->recipe->name, j->entry ? "cached build" : "build");
		ctx.build_key = j->has_key ? &j->key : NULL;
		ctx.build_entry = j->entry;
		rc = mb_stage_build(&ctx, j->recipe, j->blobs[0], &j->owned, r->err);
	} else {
		emit(r, MB_EV_STEP_BEGIN, j->recipe->name, "link");
		rc = j->shared ? place_shared(r) : mb_txn_place(r->txn, j->stage_dir, &j->owned, r->err);
		if (rc == 0)
			rc = mb_stage_after_place(&ctx, j->recipe, &j->owned, r->err);
		if (rc == 0)
			rc = mb_stage_compile(&ctx, j->recipe, j->stage_dir, &j->owned, r->err);
	}
	emit(r, MB_EV_STEP_END, j->recipe->name, NULL);
	if (rc == 0)
		record(r, j);
	return rc;
}

/* ---- PREFIX/bin/activate, the shell's side of `mambaboot run` ---- */

/* Its text for this plan (externals' directories, CUDA, the python). */
static char *activate_text(const struct run *r)
{
	bool external = r->plan.python && r->plan.python->kind == MB_KIND_EXTERNAL;
	char *site = external && r->python_xy
		? xasprintf("%s/lib/python%s/site-packages", r->prefix.path, r->python_xy) : NULL;
	struct mb_prefix_env pe = { r->prefix.path, r->tool_path, r->cuda_home, site };
	char *text = mb_activate_script(&pe);

	free(site);
	return text;
}

/* Staged and placed in the transaction, owned by a generated record, so
 * that it is verified, rolled back and removed (with the last recipe)
 * like a recipe's file.  The previous one went with unlink_outgoing.
 * Written only where the prefix has no bin/activate: a venv's, or one a
 * recipe installs, stays. */
static int place_activate(struct run *r)
{
	struct mb_state_recipe st = { 0 };
	char *path = path_join(r->prefix.path, "bin/activate"), *text, *staged, hex[MB_SHA256_HEX];
	const char *stage;
	size_t i, installed = 0;
	int rc;

	for (i = 0; i < r->plan.n_steps; i++)
		installed += r->plan.steps[i].recipe->kind != MB_KIND_EXTERNAL;
	rc = access(path, F_OK) == 0 || !installed;
	free(path);
	if (rc)
		return 0;
	if (!(stage = mb_txn_stage_dir(r->txn, MB_ACTIVATE_OWNER, r->err)))
		return -r->err->code;
	text = activate_text(r);
	staged = path_join(stage, "bin/activate");
	if ((rc = mkdir_parents(staged, r->err)) == 0 &&
	    (rc = write_file_atomic(staged, text, strlen(text), r->err)) == 0 &&
	    (rc = mb_sha256_buf(text, strlen(text), hex, r->err)) == 0) {
		mb_owned_add(&st.files, "bin/activate", MB_OWNED_FILE, hex, (int64_t)strlen(text), 0644);
		rc = mb_txn_place(r->txn, stage, &st.files, r->err);
	}
	st.name = xstrdup(MB_ACTIVATE_OWNER);
	st.version = xstrdup("1");
	st.kind = xstrdup(MB_KIND_GENERATED);
	if (rc == 0)
		mb_txn_set_recipe(r->txn, &st);
	mb_state_recipe_free(&st); /* what set_recipe did not take */
	free(staged);
	free(text);
	return rc;
}

/* Every conda artifact to stage, in the order stage_job links them, is
 * unpacked into the cache ahead, on --jobs threads (default: every CPU). */
static struct mb_unpack_item *start_unpacking(struct run *r)
{
	struct mb_unpack_item *items;
	size_t i, k, n = 0;

	for (i = 0; i < r->plan.n_steps; i++)
		if (changing(&r->jobs[i]) && r->jobs[i].recipe->kind == MB_KIND_CONDA)
			n += r->jobs[i].recipe->n_artifacts;
	items = xcalloc(n + 1, sizeof *items);
	for (i = 0, n = 0; i < r->plan.n_steps; i++) {
		const struct job *j = &r->jobs[i];
		for (k = 0; changing(j) && j->recipe->kind == MB_KIND_CONDA &&
			    k < j->recipe->n_artifacts; k++, n++) {
			items[n].blob = j->blobs[k];
			items[n].sha256 = j->shas[k];
			items[n].filename = j->recipe->artifacts[k].filename;
		}
	}
	r->unpack_at = 0;
	mb_unpackq_start(&r->unpackq, &r->cache, items, n,
			 r->o->jobs > 0 ? r->o->jobs : mb_online_cpus());
	return items;
}

static int stage_all(struct run *r)
{
	struct mb_unpack_item *items = start_unpacking(r);
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < r->plan.n_steps; i++)
		if (changing(&r->jobs[i]))
			rc = stage_job(r, &r->jobs[i]);
	mb_unpackq_stop(&r->unpackq);
	free(items);
	return rc;
}

static int transact(struct run *r)
{
	size_t i;
	int rc;

	if ((rc = mb_txn_begin(&r->txn, &r->prefix, r->o->force, r->err)) < 0)
		return rc;
	rc = stage_all(r);
	if (rc == 0)
		rc = check_conflicts(r);
	if (rc == 0)
		rc = unlink_outgoing(r);
	for (i = 0; rc == 0 && i < r->plan.n_steps; i++)
		if (changing(&r->jobs[i]))
			rc = apply_job(r, &r->jobs[i]);
	if (rc == 0)
		rc = place_activate(r);
	if (rc == 0 && mb_interrupted(r->o->ev))
		rc = mb_errf(r->err, MB_EFAIL, "interrupted; the prefix is left as it was");
	if (rc < 0) {
		mb_txn_abort(r->txn);
		r->txn = NULL;
		return rc;
	}
	mb_txn_set_requested(r->txn, r->requested, r->n_requested);
	mb_txn_set_tool_path(r->txn, r->tool_path); /* this plan's, as bin/activate has them */
	rc = mb_txn_commit(r->txn, r->err);
	r->txn = NULL;
	return rc;
}

/* ---- the whole run ---- */

static void run_free(struct run *r)
{
	size_t i, k;

	for (i = 0; r->jobs && i < r->plan.n_steps; i++) {
		struct job *j = &r->jobs[i];
		for (k = 0; j->blobs && k < j->recipe->n_artifacts; k++) {
			free(j->blobs[k]);
			free(j->shas[k]);
		}
		free(j->blobs);
		free(j->shas);
		mb_owned_free(&j->owned);
		strv_free(j->made.v, j->made.n);
		mb_build_key_free(&j->key);
		free(j->entry);
	}
	for (i = 0; i < r->n_requested; i++) {
		for (k = 0; k < r->requested[i].n_closure; k++)
			free(r->requested[i].closure[k]);
		free(r->requested[i].closure);
		free(r->requested[i].name);
	}
	free(r->requested);
	free(r->jobs);
	free(r->python_xy);
	free(r->python_exe);
	free(r->cuda_home);
	for (i = 0; i < r->n_probes; i++)
		mb_probe_free(&r->probes[i]);
	free(r->probes);
	free(r->tools);
	free(r->tool_path);
	if (r->have_gpus)
		mb_facts_free(&r->facts);
	mb_cuda_arch_free(&r->arch);
	free(r->glibc);
	free(r->platform);
	mb_plan_free(&r->plan);
	if (r->cache.dir)
		mb_cache_close(&r->cache);
	if (r->have_prefix)
		mb_prefix_close(&r->prefix);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* --dry-run on a prefix that does not exist yet must not create it. */
static int open_prefix(struct run *r)
{
	int rc;

	if (r->o->dry_run && !exists(r->o->prefix)) {
		r->prefix.path = xstrdup(r->o->prefix);
		return 0;
	}
	rc = mb_prefix_open(&r->prefix, r->o->prefix, !r->o->dry_run, r->o->lock_timeout,
			    r->o->ev, r->err);
	r->have_prefix = rc == 0;
	return rc;
}

int mb_install(const struct mb_recipe_set *set, char *const *targets, size_t n_targets,
	       const struct mb_install_opts *o, struct mb_install_report *rep,
	       struct mb_err *err)
{
	struct run r = { .o = o, .set = set, .rep = rep, .err = err };
	size_t changes;
	int rc;

	memset(rep, 0, sizeof *rep);
	if ((rc = open_prefix(&r)) < 0)
		goto out;
	rep->prefix = xstrdup(r.prefix.path);
	if ((rc = resolve(&r, targets, n_targets)) < 0 || (rc = preselect_arch(&r)) < 0)
		goto out;
	changes = diff(&r);
	rep->nothing_to_do = changes == 0 && !r.requested_changed;
	if (rep->nothing_to_do)
		goto out;
	if (o->dry_run) { /* report what could not be installed, as install would */
		rc = mb_plan_check_wheels(&r.plan, err);
		goto out;
	}
	if ((rc = check_pins(&r)) < 0 || (rc = mb_cache_open(&r.cache, o->cache_dir, err)) < 0 ||
	    (rc = probe_externals(&r)) < 0 ||
	    (rc = check_stages(&r)) < 0 || (rc = host_checks(&r)) < 0 ||
	    (rc = choose_arch(&r)) < 0 || (rc = find_builds(&r)) < 0 || (rc = fetch_all(&r)) < 0)
		goto out;
	if ((rc = transact(&r)) == 0)
		mb_conda_history(&r.prefix, "install", targets, n_targets);
out:
	if (!r.have_prefix)
		free(r.prefix.path);
	run_free(&r);
	return rc;
}

void mb_install_report_free(struct mb_install_report *rep)
{
	size_t i;

	for (i = 0; i < rep->n; i++) {
		free(rep->items[i].name);
		free(rep->items[i].from);
		free(rep->items[i].to);
	}
	free(rep->items);
	free(rep->prefix);
	memset(rep, 0, sizeof *rep);
}
