/* `verify`: every owned file re-hashed against the prefix's record. */
#ifndef MB_VERIFY_H
#define MB_VERIFY_H

#include <stddef.h>

#include "prefix.h"

/* MB_PROBLEM_REMOVED is no failure: a conda package of the recipe whose
 * conda-meta record (the path reported) another tool removed, with its
 * files (micromamba remove -p).  The recipe's missing files then count as
 * `removed`, not `missing`; its modified files are still modified. */
enum mb_problem { MB_PROBLEM_NONE, MB_PROBLEM_MODIFIED, MB_PROBLEM_MISSING, MB_PROBLEM_REMOVED };

typedef void (*mb_problem_fn)(void *ctx, const char *recipe, const char *path,
			      enum mb_problem problem);

struct mb_verify_counts {
	size_t checked, modified, missing;
	size_t removed_packages, removed; /* records another tool removed, and files */
};

int mb_prefix_verify(struct mb_prefix *p, mb_problem_fn report, void *ctx,
		     struct mb_verify_counts *counts, struct mb_err *err);

/* Conda packages another tool (conda, micromamba) linked into the prefix:
 * each PREFIX/conda-meta/ *.json record that no recipe owns, and every
 * file it lists, reported as not mambaboot's (not a problem).  After
 * mb_prefix_verify, which loads the recipes' files.  *n counts the files. */
typedef void (*mb_foreign_fn)(void *ctx, const char *package, const char *path);
void mb_prefix_foreign(const struct mb_prefix *p, mb_foreign_fn report, void *ctx, size_t *n);

#endif
