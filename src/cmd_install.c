/* mambaboot install: fetch, verify, unpack, link and build into a prefix. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "install.h"
#include "util.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *report_json(const struct mb_install_report *rep, bool dry_run)
{
	json_t *doc = json_object(), *acts = json_array();
	size_t i;

	for (i = 0; i < rep->n; i++) {
		const struct mb_install_item *it = &rep->items[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(it->name));
		json_object_set_new(o, "action", json_string(mb_action_name(it->action)));
		json_object_set_new(o, "from", it->from ? json_string(it->from) : json_null());
		json_object_set_new(o, "to", it->to ? json_string(it->to) : json_null());
		json_array_append_new(acts, o);
	}
	json_object_set_new(doc, "prefix", json_string(rep->prefix ? rep->prefix : ""));
	json_object_set_new(doc, "dry_run", json_boolean(dry_run));
	json_object_set_new(doc, "nothing_to_do", json_boolean(rep->nothing_to_do));
	json_object_set_new(doc, "build_cache_hits", json_integer((json_int_t)rep->build_cache_hits));
	json_object_set_new(doc, "builds", json_integer((json_int_t)rep->builds));
	json_object_set_new(doc, "actions", acts);
	return doc;
}

static void report_text(const struct mb_install_report *rep, bool dry_run, double secs)
{
	size_t i, count[4] = { 0 };

	if (rep->nothing_to_do) {
		fprintf(stderr, "%s is up to date: nothing to do\n", rep->prefix);
		return;
	}
	for (i = 0; i < rep->n; i++) {
		const struct mb_install_item *it = &rep->items[i];
		count[it->action]++;
		if (it->action == MB_ACT_UPGRADE)
			fprintf(stderr, "  %-8s %s %s -> %s\n", mb_action_name(it->action), it->name,
				it->from, it->to);
		else
			fprintf(stderr, "  %-8s %s %s\n", mb_action_name(it->action), it->name,
				it->to ? it->to : it->from);
	}
	if (dry_run)
		fprintf(stderr, "dry run: nothing was written to %s\n", rep->prefix);
	else
		fprintf(stderr, "%s: %zu installed, %zu upgraded, %zu removed (%zu built, %zu from the build cache) in %.1f s\n",
			rep->prefix, count[MB_ACT_INSTALL], count[MB_ACT_UPGRADE],
			count[MB_ACT_REMOVE], rep->builds, rep->build_cache_hits, secs);
}

static int run(struct mb_opts *opts, struct mb_err *err)
{
	struct mb_recipe_set set;
	struct mb_install_report rep;
	struct mb_install_opts io = { 0 };
	struct mb_events ev;
	struct ui ui;
	char *dir, *compat;
	double start = now_s();
	int rc;

	if (!opts->prefix)
		return mb_errf(err, MB_EINPUT, "--prefix DIR is required");
	ui_init(&ui, opts);
	ev = cli_events(&ui);
	dir = cli_recipes_dir(opts);
	rc = mb_recipe_set_load(&set, dir, opts->patches, err);
	free(dir);
	if (rc < 0)
		return rc;
	io.prefix = opts->prefix;
	io.cache_dir = opts->cache;
	io.mirrors = opts->mirrors;
	io.n_mirrors = opts->n_mirrors;
	io.cacert = opts->cacert;
	io.offline = opts->offline;
	io.dry_run = opts->dry_run;
	io.force = opts->force;
	io.strict = opts->strict;
	io.compile = opts->compile;
	io.allow_unpinned = opts->allow_unpinned;
	io.skip_checks = opts->skip_checks;
	io.jobs = opts->jobs;
	io.lock_timeout = opts->lock_timeout;
	io.cuda_arch = opts->cuda_arch;
	io.no_build = opts->no_build;
	io.ev = &ev;
	compat = getenv("MAMBABOOT_COMPAT") ? xstrdup(getenv("MAMBABOOT_COMPAT"))
					    : cli_share_file("compat.yaml");
	io.compat = access(compat, R_OK) == 0 ? compat : NULL;
	rc = mb_install(&set, opts->args, opts->n_args, &io, &rep, err);
	ui_done(&ui);
	if (rc == 0 && opts->json) {
		json_t *doc = report_json(&rep, opts->dry_run);
		rc = cli_print_json(doc, err);
		json_decref(doc);
	} else if (rc == 0 && (!opts->quiet || opts->dry_run)) {
		report_text(&rep, opts->dry_run, now_s() - start);
	}
	mb_install_report_free(&rep);
	mb_recipe_set_free(&set);
	free(compat);
	return rc;
}

const struct mb_cmd cmd_install = {
	.name = "install",
	.summary = "fetch, verify, unpack, link and build into a prefix",
	.usage =
	"usage: mambaboot install [TARGET...] --prefix DIR [options]\n"
	"\n"
	"Add TARGETs (stacks or recipes; default: the stack 'mamba') to the\n"
	"prefix's requested set and bring the prefix to their plan in one\n"
	"transaction: new recipes are installed, changed ones upgraded, and those\n"
	"nothing requested needs any more removed.  Every artifact is verified\n"
	"(sha256) before a byte reaches the prefix; any failure, SIGINT or SIGTERM\n"
	"leaves the prefix as it was.  Nothing to do: exit 0 without a download.\n"
	"\n"
	"Options:\n"
	"  -p, --prefix DIR        where to install (created if missing)\n"
	"  --recipes DIR           recipe set (default: $MAMBABOOT_RECIPES, else the\n"
	"                          installed share/mambaboot/recipes)\n"
	"  --patches DIR           patch directory (default: DIR/../patches)\n"
	"  --cache DIR             download cache (default: $MAMBABOOT_CACHE, else\n"
	"                          $XDG_CACHE_HOME/mambaboot, else ~/.cache/mambaboot)\n"
	"  --mirror DIR|URL        look for artifacts here first (repeatable)\n"
	"  --offline               never contact an upstream URL\n"
	"  --cacert FILE           CA bundle for HTTPS\n"
	"  -j, --jobs N            parallel downloads and unpacking\n"
	"  --allow-unpinned        accept artifacts without a sha256\n"
	"  --strict                a wheel RECORD mismatch is an error (exit 4)\n"
	"  --compile               byte-compile the .py files wheels install, as\n"
	"                          pip install --compile does (with the plan's python)\n"
	"  --force                 replace files in the prefix that no recipe owns\n"
	"  --skip-checks           skip the host compatibility checks\n"
	"  --cuda-arch LIST        GPU architectures of CUDA builds (TORCH_CUDA_ARCH_LIST,\n"
	"                          e.g. '8.0;9.0'); default: $TORCH_CUDA_ARCH_LIST, else\n"
	"                          the host's GPUs (nvidia-smi)\n"
	"  --no-build              compile nothing: a source recipe whose build is in\n"
	"                          neither the build cache nor a mirror is exit 5,\n"
	"                          naming what differs from the builds there are\n"
	"  --lock-timeout SECS     give up (exit 7) if another command holds the prefix,\n"
	"                          or is fetching an artifact, this long (default: wait)\n"
	"  -n, --dry-run           print what would change; write nothing\n"
	"  --json                  print one JSON document on stdout\n"
	"  -q, --quiet             print only errors\n"
	"  -v, --verbose           print more\n",
	.opts = OPT_RECIPES | OPT_PATCHES | OPT_CACHE | OPT_PREFIX | OPT_MIRROR | OPT_OFFLINE |
		OPT_JOBS | OPT_JSON | OPT_DRY_RUN | OPT_YES | OPT_UNPINNED | OPT_CACERT |
		OPT_STRICT | OPT_FORCE | OPT_SKIP_CHECKS | OPT_LOCK_TIMEOUT | OPT_COMPILE |
		OPT_CUDA_ARCH | OPT_NO_BUILD,
	.run = run,
};
