/* mambaboot list: what a prefix holds. */
#include <jansson.h>
#include <stdio.h>

#include "commands.h"
#include "conda.h"
#include "prefix.h"
#include "util.h"

static long long owned_bytes(const struct mb_state_recipe *r)
{
	long long total = 0;
	size_t i;

	for (i = 0; i < r->files.n; i++)
		if (r->files.v[i].type == MB_OWNED_FILE && r->files.v[i].size > 0)
			total += r->files.v[i].size;
	return total;
}

/* The records of r's conda packages another tool removed (micromamba
 * remove -p), as a JSON array. */
static json_t *removed_json(const struct mb_prefix *p, struct mb_state_recipe *r)
{
	json_t *a = json_array();
	char **gone;
	size_t n = mb_conda_gone(p, r, &gone), i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(gone[i]));
	strv_free(gone, n);
	return a;
}

/* "  (removed by another tool: conda-meta/x.json)", or "". */
static void print_removed(const struct mb_prefix *p, struct mb_state_recipe *r)
{
	char **gone;
	size_t n = mb_conda_gone(p, r, &gone), i;

	for (i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "  (removed by another tool: ", gone[i]);
	printf("%s\n", n ? ")" : "");
	strv_free(gone, n);
}

static json_t *list_json(const struct mb_prefix *p)
{
	json_t *doc = json_object(), *req = json_array(), *recs = json_array();
	size_t i;

	for (i = 0; i < p->state.n_requested; i++)
		json_array_append_new(req, json_string(p->state.requested[i].name));
	for (i = 0; i < p->state.n_recipes; i++) {
		struct mb_state_recipe *r = &p->state.recipes[i];
		json_t *o;
		if (mb_state_recipe_generated(r))
			continue;
		o = json_object();
		json_object_set_new(o, "name", json_string(r->name));
		json_object_set_new(o, "version", json_string(r->version));
		json_object_set_new(o, "kind", json_string(r->kind));
		json_object_set_new(o, "files", json_integer((json_int_t)r->files.n));
		json_object_set_new(o, "size", json_integer(owned_bytes(r)));
		json_object_set_new(o, "removed_by_another_tool", removed_json(p, r));
		json_array_append_new(recs, o);
	}
	json_object_set_new(doc, "prefix", json_string(p->path));
	json_object_set_new(doc, "requested", req);
	json_object_set_new(doc, "recipes", recs);
	return doc;
}

static void list_text(const struct mb_prefix *p)
{
	char size[32];
	size_t i, n = 0;

	for (i = 0; i < p->state.n_recipes; i++)
		n += !mb_state_recipe_generated(&p->state.recipes[i]);
	printf("prefix %s: %zu recipe%s", p->path, n, n == 1 ? "" : "s");
	for (i = 0; i < p->state.n_requested; i++)
		printf("%s%s", i ? ", " : " (requested: ", p->state.requested[i].name);
	printf("%s\n", p->state.n_requested ? ")" : "");
	for (i = 0; i < p->state.n_recipes; i++) {
		struct mb_state_recipe *r = &p->state.recipes[i];
		if (mb_state_recipe_generated(r))
			continue;
		ui_size(owned_bytes(r), size, sizeof size);
		printf("  %-24s %-20s %-8s %6zu files  %s", r->name, r->version, r->kind,
		       r->files.n, size);
		print_removed(p, r);
	}
}

static int run(struct mb_opts *opts, struct mb_err *err)
{
	struct ui ui;
	struct mb_events ev;
	struct mb_prefix p;
	size_t i;
	int rc;

	ui_init(&ui, opts);
	ev = cli_events(&ui);
	if ((rc = cli_open_prefix(opts, &ev, false, &p, err)) < 0)
		return rc;
	for (i = 0; rc == 0 && i < p.state.n_recipes; i++)
		rc = mb_prefix_load_files(&p, &p.state.recipes[i], err);
	if (rc == 0 && opts->json) {
		json_t *doc = list_json(&p);
		rc = cli_print_json(doc, err);
		json_decref(doc);
	} else if (rc == 0) {
		list_text(&p);
	}
	mb_prefix_close(&p);
	return rc;
}

const struct mb_cmd cmd_list = {
	.name = "list",
	.summary = "show what a prefix holds",
	.usage =
	"usage: mambaboot list --prefix DIR [--json]\n"
	"\n"
	"List the recipes installed in DIR (version, kind, files, size) and the\n"
	"requested targets.  A conda package another tool removed (micromamba\n"
	"remove) is named after its recipe: `install` puts it back.\n"
	"\n"
	"Options:\n"
	"  -p, --prefix DIR      the prefix\n"
	"  --lock-timeout SECS   give up (exit 7) if another command holds the prefix\n"
	"  --json                print one JSON document on stdout\n",
	.opts = OPT_PREFIX | OPT_JSON | OPT_LOCK_TIMEOUT,
	.run = run,
};
