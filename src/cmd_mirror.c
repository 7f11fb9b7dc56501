/* mambaboot mirror create|verify: offline mirrors for air-gapped sites. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "cache.h"
#include "fetch.h"
#include "mirror.h"
#include "mirrorbuilds.h"
#include "util.h"

static int verify(struct mb_opts *opts, const struct mb_events *ev, struct mb_err *err)
{
	struct mb_mirror_report rep;
	size_t i;
	int rc;

	if (opts->n_args != 2)
		return mb_errf(err, MB_EINPUT, "usage: mambaboot mirror verify DIR");
	if ((rc = mb_mirror_verify(opts->args[1], &rep, ev, err)) < 0)
		return rc;
	if (opts->json) {
		json_t *doc = json_object(), *bad = json_array();
		for (i = 0; i < rep.n_bad; i++)
			json_array_append_new(bad, json_string(rep.bad[i]));
		json_object_set_new(doc, "checked", json_integer((json_int_t)rep.checked));
		json_object_set_new(doc, "bad", bad);
		rc = cli_print_json(doc, err);
		json_decref(doc);
	} else {
		for (i = 0; i < rep.n_bad; i++)
			printf("bad  %s\n", rep.bad[i]);
		printf("%zu blobs checked, %zu bad\n", rep.checked, rep.n_bad);
	}
	if (rc == 0 && rep.n_bad)
		rc = mb_errf(err, MB_EINTEGRITY, "mirror %s: %zu bad or missing blob%s", opts->args[1],
			     rep.n_bad, rep.n_bad == 1 ? "" : "s");
	mb_mirror_report_free(&rep);
	return rc;
}

/* Entries for every fetched artifact of the plan. */
static struct mb_mirror_entry *entries_of(const struct mb_plan *plan,
					  const struct mb_fetch_list *list, size_t *n)
{
	struct mb_mirror_entry *v = xcalloc(list->n + 1, sizeof *v);
	size_t i, k, j = 0;

	for (i = 0; i < plan->n_steps; i++) {
		const struct mb_recipe *r = plan->steps[i].recipe;
		for (k = 0; k < r->n_artifacts && j < list->n; k++, j++) {
			v[j].recipe = r;
			v[j].artifact = &r->artifacts[k];
			memcpy(v[j].sha256, list->items[j].sha256, sizeof v[j].sha256);
			v[j].size = list->items[j].size;
			v[j].blob = list->items[j].blob_path;
		}
	}
	*n = j;
	return v;
}

static int mirror_create(struct mb_opts *opts, struct ui *ui, const struct mb_events *ev,
			 struct mb_err *err)
{
	struct mb_fetch_opts fo;
	struct mb_fetch_list list = { 0 };
	struct mb_mirror_stats stats;
	struct mb_mirror_entry *entries = NULL;
	struct mb_recipe_set set;
	struct mb_cache cache = { 0 };
	struct mb_plan plan;
	const char *dir;
	size_t n = 0, builds = 0;
	int rc;

	if (opts->n_args < 2)
		return mb_errf(err, MB_EINPUT, "usage: mambaboot mirror create DIR [TARGET...]");
	dir = opts->args[1];
	opts->args += 2; /* the targets */
	opts->n_args -= 2;
	rc = cli_load_plan(opts, &set, &plan, err);
	opts->args -= 2;
	opts->n_args += 2;
	if (rc < 0)
		return rc;
	if ((rc = mb_cache_open(&cache, opts->cache, err)) == 0) {
		cli_fetch_opts(opts, &cache, ev, &fo);
		rc = mb_fetch_plan(&fo, &plan, &list, err);
		ui_done(ui);
	}
	/* The builds first: index.yaml lists what builds/ holds. */
	if (rc == 0 && !opts->no_builds)
		rc = mb_mirror_put_builds(dir, &cache, &plan, &builds, err);
	if (rc == 0) {
		entries = entries_of(&plan, &list, &n);
		rc = mb_mirror_write(dir, &set, entries, n, &stats, ev, err);
	}
	if (rc == 0 && !opts->quiet)
		fprintf(stderr, "mirror %s: %zu blobs added, %zu already there; %zu builds added\n",
			dir, stats.added, stats.kept, builds);
	free(entries);
	mb_fetch_list_free(&list);
	if (cache.dir)
		mb_cache_close(&cache);
	mb_plan_free(&plan);
	mb_recipe_set_free(&set);
	return rc;
}

static int run(struct mb_opts *opts, struct mb_err *err)
{
	struct mb_events ev;
	struct ui ui;

	ui_init(&ui, opts);
	ev = cli_events(&ui);
	if (opts->n_args >= 1 && strcmp(opts->args[0], "verify") == 0)
		return verify(opts, &ev, err);
	if (opts->n_args >= 1 && strcmp(opts->args[0], "create") == 0)
		return mirror_create(opts, &ui, &ev, err);
	return mb_errf(err, MB_EINPUT, "mirror needs 'create DIR [TARGET...]' or 'verify DIR'");
}

const struct mb_cmd cmd_mirror = {
	.name = "mirror",
	.summary = "create or verify an offline mirror",
	.usage =
	"usage: mambaboot mirror create DIR [TARGET...] [options]\n"
	"       mambaboot mirror verify DIR [--json]\n"
	"\n"
	"create: fetch every artifact of the targets' plans (from the cache when\n"
	"there) and write them to DIR/sha256/<hex>, with DIR/index.yaml (sha256,\n"
	"size, filename, recipe, version, upstream urls) and the recipe set and its\n"
	"patches under DIR/recipes and DIR/patches.  Run again, it adds only what\n"
	"is missing and never rewrites a good blob.  Serve DIR with any static HTTP\n"
	"server, or copy it; install on air-gapped nodes with\n"
	"  mambaboot install --recipes DIR/recipes --mirror DIR --offline --prefix P\n"
	"\n"
	"The build cache's outputs of the plan's source recipes (their name and\n"
	"version) go to DIR/builds/<key>/, listed in index.yaml's builds (key,\n"
	"recipe, each file's sha256): nodes that install from DIR with the same\n"
	"inputs install them without compiling.  --no-builds leaves them out.\n"
	"\n"
	"verify: re-hash every blob against its name and check that every index\n"
	"entry has one, and every build's files against its manifest and its\n"
	"record against its key; list the bad or missing ones and exit 4 if any.\n"
	"\n"
	"Options (create):\n"
	"  --recipes DIR, --patches DIR, --cache DIR, --mirror DIR|URL, --offline,\n"
	"  --jobs N, --cacert FILE, --allow-unpinned (record the digest first seen),\n"
	"  --lock-timeout SECS (for an artifact another process is fetching; exit 7)\n"
	"  --no-builds   copy no build outputs\n"
	"  --json   (verify) one JSON document on stdout\n",
	.opts = OPT_RECIPES | OPT_PATCHES | OPT_CACHE | OPT_MIRROR | OPT_OFFLINE | OPT_JOBS |
		OPT_JSON | OPT_UNPINNED | OPT_CACERT | OPT_LOCK_TIMEOUT | OPT_NO_BUILDS,
	.run = run,
};
