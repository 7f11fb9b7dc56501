/* Re-hashing a prefix's owned files against the record, and removing
 * recipes (the parts of `verify` and `remove` that are not CLI). */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int mb_prefix_verify(struct mb_prefix *p, mb_problem_fn report, void *ctx,
		     struct mb_verify_counts *counts, struct mb_err *err)
{
	size_t i, j;
	int rc;

	memset(counts, 0, sizeof *counts);
	for (i = 0; i < p->state.n_recipes; i++) {
		struct mb_state_recipe *r = &p->state.recipes[i];

		if ((rc = mb_prefix_load_files(p, r, err)) < 0)
			return rc;
		for (j = 0; j < r->files.n; j++) {
			const struct mb_owned_file *f = &r->files.v[j];
			char *full = path_join(p->path, f->path);
			enum mb_problem pr = f->type == MB_OWNED_DIR ? MB_PROBLEM_NONE
								  : check_file(full, f);
			free(full);
			counts->checked++;
			if (pr == MB_PROBLEM_NONE)
				continue;
			if (pr == MB_PROBLEM_MISSING)
				counts->missing++;
			else
				counts->modified++;
			report(ctx, r->name, f->path, pr);
		}
	}
	return 0;
}
