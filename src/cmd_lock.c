/* mambaboot lock: the digests the indexes publish, into DIR/lock.yaml. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "lock.h"
#include "util.h"

static json_t *report_json(const struct mb_lock_report *rep)
{
	json_t *doc = json_object(), *unpinned = json_array();
	size_t i;

	for (i = 0; i < rep->n_unpinned; i++)
		json_array_append_new(unpinned, json_string(rep->unpinned[i]));
	json_object_set_new(doc, "lock_file", json_string(rep->path));
	json_object_set_new(doc, "written", json_boolean(rep->written));
	json_object_set_new(doc, "wanted", json_integer((json_int_t)rep->wanted));
	json_object_set_new(doc, "locked", json_integer((json_int_t)rep->locked));
	json_object_set_new(doc, "added", json_integer((json_int_t)rep->added));
	json_object_set_new(doc, "changed", json_integer((json_int_t)rep->changed));
	json_object_set_new(doc, "dropped", json_integer((json_int_t)rep->dropped));
	json_object_set_new(doc, "unpinned", unpinned);
	return doc;
}

static void report_text(const struct mb_lock_report *rep)
{
	size_t i;

	for (i = 0; i < rep->n_unpinned; i++)
		fprintf(stderr, "unpinned (no index knows it): %s\n", rep->unpinned[i]);
	fprintf(stderr, "%s: %zu of %zu unpinned artifacts found in an index; %zu added, %zu changed, %zu dropped; %s\n",
		rep->path, rep->locked, rep->wanted, rep->added, rep->changed, rep->dropped,
		rep->written ? "written" : "unchanged");
}

static int run(struct mb_opts *opts, struct mb_err *err)
{
	struct mb_recipe_set set;
	struct mb_plan plan;
	struct mb_lock_report rep;
	struct mb_lock_opts lo = { 0 };
	struct ui ui;
	struct mb_events ev;
	int rc = cli_load_plan_unlocked(opts, &set, &plan, err);

	if (rc < 0)
		return rc;
	ui_init(&ui, opts);
	ev = cli_events(&ui);
	lo.index_urls = opts->index_urls;
	lo.n_index_urls = opts->n_index_urls;
	lo.cacert = opts->cacert;
	lo.ev = &ev;
	rc = mb_lock_update(&set, &plan, &lo, &rep, err);
	ui_done(&ui);
	if (rc == 0 && opts->json) {
		json_t *doc = report_json(&rep);
		rc = cli_print_json(doc, err);
		json_decref(doc);
	} else if (rc == 0 && !opts->quiet) {
		report_text(&rep);
	}
	if (rc == 0 && rep.n_unpinned)
		rc = mb_errf(err, MB_EFAIL,
			     "%zu artifact%s no index knows stay%s unpinned (first: %s): give %s a sha256 or an 'index:' key",
			     rep.n_unpinned, rep.n_unpinned == 1 ? "" : "s",
			     rep.n_unpinned == 1 ? "s" : "", rep.unpinned[0],
			     rep.n_unpinned == 1 ? "its recipe" : "their recipes");
	mb_lock_report_free(&rep);
	mb_plan_free(&plan);
	mb_recipe_set_free(&set);
	return rc;
}

const struct mb_cmd cmd_lock = {
	.name = "lock",
	.summary = "pin unpinned artifacts from the indexes' digests (DIR/lock.yaml)",
	.usage =
	"usage: mambaboot lock [TARGET...] [--recipes DIR] [--index-url URL]... [--json]\n"
	"\n"
	"For every artifact of the plan of TARGETs (default: the stack 'mamba') whose\n"
	"recipe gives neither sha256 nor tree_sha256, find the sha256 and size that\n"
	"its index publishes, and write them to DIR/lock.yaml (sorted by url, written\n"
	"atomically, untouched when nothing changed).  fetch, install, plan and\n"
	"mirror create read that file: a locked artifact is verified like a pinned one.\n"
	"\n"
	"  conda artifacts   the repodata of the channel subdir in their URL: CEP 16\n"
	"                    shards (repodata_shards.msgpack.zst), else\n"
	"                    repodata.json.zst, else repodata.json (read as a stream)\n"
	"  wheels, sdists    the project page of a simple index (PEP 691 JSON, else\n"
	"                    PEP 503 HTML): the artifact's 'index:' key, else each\n"
	"                    --index-url (default https://pypi.org/simple/)\n"
	"\n"
	"Exit codes: 0 every artifact is pinned or locked; 1 some artifact no index\n"
	"knows stays unpinned (named; the others are written); 3 an index could not\n"
	"be reached or served malformed data (named; the lock file is unchanged);\n"
	"4 two indexes, or an index and the recipe's size, disagree.\n"
	"\n"
	"Options:\n"
	"  --recipes DIR      recipe set (default: $MAMBABOOT_RECIPES, else the\n"
	"                     installed share/mambaboot/recipes)\n"
	"  --index-url URL    a simple index for artifacts without 'index:' (repeatable;\n"
	"                     every one is asked, and they must agree)\n"
	"  --cacert FILE      CA bundle for HTTPS (default: $SSL_CERT_FILE, $CURL_CA_BUNDLE)\n"
	"  --json             print one JSON document on stdout\n"
	"  -q, --quiet        no summary    -v, --verbose  each index read\n"
	"  -h, --help         show this help\n",
	.opts = OPT_RECIPES | OPT_PATCHES | OPT_INDEX_URL | OPT_CACERT | OPT_JSON,
	.run = run,
};
