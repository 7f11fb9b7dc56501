/* mambaboot verify: re-hash every owned file against the record. */
#include <jansson.h>
#include <stdio.h>

#include "commands.h"
#include "verify.h"

struct report {
	json_t *problems; /* with --json */
	json_t *foreign;  /* with --json */
	json_t *removed;  /* with --json */
};

/* A conda package of `recipe` another tool removed: no failure, but what
 * to do about it. */
static void on_removed(struct report *rep, const char *recipe, const char *record)
{
	if (rep->removed) {
		json_t *o = json_object();
		json_object_set_new(o, "recipe", json_string(recipe));
		json_object_set_new(o, "record", json_string(record));
		json_array_append_new(rep->removed, o);
		return;
	}
	printf("%-9s %s (%s: another tool removed this conda package; 'mambaboot install' "
	       "puts it back, 'mambaboot remove %s' forgets it)\n", "removed", record, recipe, recipe);
}

static void on_problem(void *ctx, const char *recipe, const char *path, enum mb_problem pr)
{
	struct report *rep = ctx;
	const char *what = pr == MB_PROBLEM_MISSING ? "missing" : "modified";

	if (pr == MB_PROBLEM_REMOVED) {
		on_removed(rep, recipe, path);
		return;
	}
	if (rep->problems) {
		json_t *o = json_object();
		json_object_set_new(o, "recipe", json_string(recipe));
		json_object_set_new(o, "path", json_string(path));
		json_object_set_new(o, "problem", json_string(what));
		json_array_append_new(rep->problems, o);
	} else {
		printf("%-9s %s (%s)\n", what, path, recipe);
	}
}

static void on_foreign(void *ctx, const char *package, const char *path)
{
	struct report *rep = ctx;

	if (rep->foreign) {
		json_t *o = json_object();
		json_object_set_new(o, "package", json_string(package));
		json_object_set_new(o, "path", json_string(path));
		json_array_append_new(rep->foreign, o);
	} else {
		printf("%-9s %s (%s, not mambaboot's)\n", "foreign", path, package);
	}
}

static int print_summary(const struct mb_opts *opts, struct report *rep,
			 const struct mb_verify_counts *c, size_t n_foreign, struct mb_err *err)
{
	json_t *doc;
	int rc;

	if (!opts->json) {
		printf("%zu files checked: %zu modified, %zu missing", c->checked, c->modified,
		       c->missing);
		if (c->removed_packages)
			printf("; %zu conda package%s removed by another tool (%zu files)",
			       c->removed_packages, c->removed_packages == 1 ? "" : "s", c->removed);
		if (n_foreign)
			printf("; %zu files of other tools' conda packages", n_foreign);
		printf("\n");
		return 0;
	}
	doc = json_object();
	json_object_set_new(doc, "ok", json_boolean(c->modified + c->missing == 0));
	json_object_set_new(doc, "checked", json_integer((json_int_t)c->checked));
	json_object_set_new(doc, "problems", rep->problems);
	json_object_set_new(doc, "foreign", rep->foreign);
	json_object_set_new(doc, "removed", rep->removed);
	rep->problems = rep->foreign = rep->removed = NULL;
	rc = cli_print_json(doc, err);
	json_decref(doc);
	return rc;
}

static int run(struct mb_opts *opts, struct mb_err *err)
{
	struct report rep = { opts->json ? json_array() : NULL, opts->json ? json_array() : NULL,
			      opts->json ? json_array() : NULL };
	struct mb_verify_counts counts;
	size_t n_foreign = 0;
	struct mb_events ev;
	struct mb_prefix p;
	struct ui ui;
	int rc;

	ui_init(&ui, opts);
	ev = cli_events(&ui);
	rc = cli_open_prefix(opts, &ev, false, &p, err);
	if (rc == 0) {
		rc = mb_prefix_verify(&p, on_problem, &rep, &counts, err);
		if (rc == 0)
			mb_prefix_foreign(&p, on_foreign, &rep, &n_foreign);
		if (rc == 0)
			rc = print_summary(opts, &rep, &counts, n_foreign, err);
		if (rc == 0 && counts.modified + counts.missing)
			rc = mb_errf(err, MB_EINTEGRITY,
				     "%s: %zu modified and %zu missing files (reinstall to repair)",
				     p.path, counts.modified, counts.missing);
		mb_prefix_close(&p);
	}
	json_decref(rep.problems);
	json_decref(rep.foreign);
	json_decref(rep.removed);
	return rc;
}

const struct mb_cmd cmd_verify = {
	.name = "verify",
	.summary = "re-hash installed files against the record",
	.usage =
	"usage: mambaboot verify --prefix DIR [--json]\n"
	"\n"
	"Re-hash every file the installed recipes own and report those that are\n"
	"modified or missing; exit 4 if any.  The files of conda packages another\n"
	"tool linked (conda-meta records no recipe owns) are named as foreign,\n"
	"not mambaboot's: no failure.  A recipe's conda package whose conda-meta\n"
	"record another tool removed (micromamba remove) is named as removed, and\n"
	"its missing files are no failure either; `install` puts it back.\n"
	"\n"
	"Options:\n"
	"  -p, --prefix DIR      the prefix\n"
	"  --lock-timeout SECS   give up (exit 7) if another command holds the prefix\n"
	"  --json                print one JSON document on stdout\n",
	.opts = OPT_PREFIX | OPT_JSON | OPT_LOCK_TIMEOUT,
	.run = run,
};
