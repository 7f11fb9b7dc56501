/* The build cache's key (issue #18): the sha256 of a canonical record of
 * everything that decides what a source recipe's build makes.
 *
 * The record is text, one input a line, in a fixed order, values escaped
 * (\\ \n \t), so that two records can be compared line by line to say why
 * two keys differ:
 *
 *   mambaboot-build-record 1
 *   recipe NAME VERSION
 *   platform linux-x86_64          glibc 2.36       cuda_arch 8.0;9.0 | -
 *   source_date_epoch N
 *   source sha256:HEX | tree_sha256:HEX
 *   patch PATH SHA256               (in order)
 *   env KEY=VALUE                   (in order, unexpanded)
 *   script LINE                     (in order)
 *   dep NAME recipe:SHA256 artifact:SHA256...   (every recipe it needs, by name)
 *   external NAME VERSION           (every host program it needs, as probed)
 */
#ifndef MB_BUILDKEY_H
#define MB_BUILDKEY_H

#include "digest.h"
#include "err.h"
#include "recipe.h"
#include "stage.h"

/* SOURCE_DATE_EPOCH of a build whose recipe sets none: 2020-01-01. */
#define MB_DEFAULT_SOURCE_DATE_EPOCH 1577836800LL

struct mb_build_inputs {
	const struct mb_recipe_set *set;
	const struct mb_recipe *recipe;
	const struct mb_tool *tools;   /* the probed externals (name, version) */
	size_t n_tools;
	const char *cuda_arch;         /* for builds that depend on cuda; else ignored */
	const char *glibc;             /* NULL: not glibc */
	const char *platform;          /* "linux-x86_64" */
};

struct mb_build_key {
	char hex[MB_SHA256_HEX];
	char *record;
};

int mb_build_key_make(const struct mb_build_inputs *in, struct mb_build_key *key,
		      struct mb_err *err);
void mb_build_key_free(struct mb_build_key *key);

/* "linux-x86_64": the kernel's name and machine, lowercased. */
char *mb_build_platform(void);

/* The lines of `want` that `have` lacks, each "  LINE\n" (malloc'd; "" when
 * none): what makes two records' keys differ. */
char *mb_build_record_diff(const char *want, const char *have);

/* The record's recipe line's name, for matching records of one recipe. */
bool mb_build_record_is_of(const char *record, const char *name);

#endif
