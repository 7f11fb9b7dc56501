/* Re-hashing a prefix's owned files against the record, and removing
 * recipes (the parts of `verify` and `remove` that are not CLI). */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conda.h"
#include "digest.h"
#include "prefix.h"
#include "util.h"
#include "verify.h"

static enum mb_problem check_file(const char *full, const struct mb_owned_file *f)
{
	char hex[MB_SHA256_HEX], target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (lstat(full, &st) < 0)
		return MB_PROBLEM_MISSING;
	if (f->type == MB_OWNED_LINK) {
		if (!S_ISLNK(st.st_mode))
			return MB_PROBLEM_MODIFIED;
		n = readlink(full, target, sizeof target - 1);
		if (n < 0)
			return MB_PROBLEM_MISSING;
		if (!f->sha256[0])
			return MB_PROBLEM_NONE;
		target[n] = '\0';
		if (mb_sha256_buf(target, (size_t)n, hex, NULL) < 0)
			return MB_PROBLEM_MODIFIED;
		return strcmp(hex, f->sha256) ? MB_PROBLEM_MODIFIED : MB_PROBLEM_NONE;
	}
	if (!S_ISREG(st.st_mode) || (f->size >= 0 && st.st_size != f->size))
		return MB_PROBLEM_MODIFIED;
	if (!f->sha256[0])
		return MB_PROBLEM_NONE;
	if (mb_sha256_file(full, hex, NULL) < 0)
		return MB_PROBLEM_MISSING;
	return strcmp(hex, f->sha256) ? MB_PROBLEM_MODIFIED : MB_PROBLEM_NONE;
}

static bool listed(char *const *v, size_t n, const char *s)
{
	while (n-- > 0)
		if (strcmp(v[n], s) == 0)
			return true;
	return false;
}

/* Which of r's files belong to a conda package another tool removed (its
 * record reported): in r's list each package's files come before its
 * record, so a file is the package's whose record comes next.  Their
 * absence is no problem; other packages' missing files still are.  NULL
 * when no package is gone. */
static bool *removed_files(const struct mb_prefix *p, struct mb_state_recipe *r,
			   mb_problem_fn report, void *ctx, size_t *n_removed)
{
	char **gone;
	size_t n = mb_conda_gone(p, r, &gone), j;
	bool *out = NULL, in_gone = false;

	*n_removed = n;
	for (j = 0; j < n; j++)
		report(ctx, r->name, gone[j], MB_PROBLEM_REMOVED);
	if (n) {
		out = xcalloc(r->files.n + 1, sizeof *out);
		for (j = r->files.n; j-- > 0;) {
			if (mb_conda_is_record(r->files.v[j].path))
				in_gone = listed(gone, n, r->files.v[j].path);
			out[j] = in_gone;
		}
	}
	strv_free(gone, n);
	return out;
}

static void check_recipe(struct mb_prefix *p, struct mb_state_recipe *r, mb_problem_fn report,
			 void *ctx, struct mb_verify_counts *counts)
{
	size_t removed, j;
	bool *gone = removed_files(p, r, report, ctx, &removed);

	counts->removed_packages += removed;
	for (j = 0; j < r->files.n; j++) {
		const struct mb_owned_file *f = &r->files.v[j];
		char *full = path_join(p->path, f->path);
		enum mb_problem pr = f->type == MB_OWNED_DIR ? MB_PROBLEM_NONE : check_file(full, f);
		free(full);
		counts->checked++;
		if (pr == MB_PROBLEM_NONE)
			continue;
		if (pr == MB_PROBLEM_MISSING && gone && gone[j]) {
			counts->removed++;
			continue;
		}
		if (pr == MB_PROBLEM_MISSING)
			counts->missing++;
		else
			counts->modified++;
		report(ctx, r->name, f->path, pr);
	}
	free(gone);
}

int mb_prefix_verify(struct mb_prefix *p, mb_problem_fn report, void *ctx,
		     struct mb_verify_counts *counts, struct mb_err *err)
{
	size_t i;
	int rc;

	memset(counts, 0, sizeof *counts);
	for (i = 0; i < p->state.n_recipes; i++) {
		if ((rc = mb_prefix_load_files(p, &p->state.recipes[i], err)) < 0)
			return rc;
		check_recipe(p, &p->state.recipes[i], report, ctx, counts);
	}
	return 0;
}

/* The conda-meta records the recipes own, sorted. */
static void owned_records(const struct mb_prefix *p, char ***out, size_t *n)
{
	size_t i, j, cap = 0;

	*out = NULL;
	*n = 0;
	for (i = 0; i < p->state.n_recipes; i++)
		for (j = 0; j < p->state.recipes[i].files.n; j++)
			if (!strncmp(p->state.recipes[i].files.v[j].path, "conda-meta/", 11))
				*VEC_PUSH(*out, *n, cap) = p->state.recipes[i].files.v[j].path;
	if (*n)
		qsort(*out, *n, sizeof **out, strptr_cmp);
}

/* Every file a foreign record lists; the package is its file name. */
static void report_record(const char *prefix, const char *name, mb_foreign_fn report,
			  void *ctx, size_t *n)
{
	char *path = xasprintf("%s/conda-meta/%s", prefix, name);
	char *package = xstrndup(name, strlen(name) - 5);
	json_t *rec = NULL, *files;
	size_t i;

	json_read_whole(path, (size_t)1 << 28, MB_EFAIL, &rec, NULL);
	files = json_object_get(rec, "files");
	for (i = 0; i < json_array_size(files); i++) {
		if (!json_is_string(json_array_get(files, i)))
			continue;
		report(ctx, package, json_string_value(json_array_get(files, i)));
		(*n)++;
	}
	json_decref(rec);
	free(package);
	free(path);
}

void mb_prefix_foreign(const struct mb_prefix *p, mb_foreign_fn report, void *ctx, size_t *n)
{
	char *dir = path_join(p->path, "conda-meta"), **owned;
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n_owned;

	*n = 0;
	owned_records(p, &owned, &n_owned);
	while (d && (de = readdir(d)) != NULL) {
		char *rel;
		if (!str_endswith(de->d_name, ".json") || strlen(de->d_name) <= 5)
			continue;
		rel = xasprintf("conda-meta/%s", de->d_name);
		if (!n_owned || !bsearch(&rel, owned, n_owned, sizeof *owned, strptr_cmp))
			report_record(p->path, de->d_name, report, ctx, n);
		free(rel);
	}
	if (d)
		closedir(d);
	free(owned);
	free(dir);
}
