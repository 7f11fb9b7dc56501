/* `kind: conda`: conda packages (.tar.bz2 and .conda) linked into a prefix
 * as conda links them, with prefix relocation and conda-meta records. */
#ifndef MB_CONDA_H
#define MB_CONDA_H

#include "err.h"
#include "stage.h"

struct mb_conda_artifact {
	const char *blob;      /* the verified package: CACHE/blobs/sha256/<sha256> */
	const char *sha256, *filename, *url;
	/* The package the recipe asks for (its first artifact): the constraint
	 * that asked for it ("" for none); NULL for a dependency it brings. */
	const char *requested;
};

/* Unpack the verified package into its cache entry, once, then link it
 * under ctx->root for the prefix ctx->prefix, with its conda-meta record;
 * every file written is added to owned. */
int mb_conda_install(const struct mb_stage_ctx *ctx, const struct mb_conda_artifact *a,
		     struct mb_owned *owned, struct mb_err *err);

/* Only the cache entry of a verified package (what mb_conda_install
 * makes first): for unpacking ahead of linking (unpackq.h).  A .tar.bz2
 * decodes on at most `threads` threads (0: one per CPU, up to 8). */
struct mb_cache;
int mb_conda_unpack(const struct mb_cache *cache, const char *blob, const char *sha256,
		    const char *filename, unsigned threads, struct mb_err *err);

/* Once the files are in the prefix: run bin/.NAME-post-link.sh if the
 * package has one (with PREFIX, PKG_NAME, PKG_VERSION, PKG_BUILDNUM). */
int mb_conda_post_link(const struct mb_stage_ctx *ctx, const struct mb_owned *owned,
		       struct mb_err *err);

/* Rewrite one file's bytes for a new prefix (exposed for tests and fuzzing):
 * text mode replaces every occurrence; binary mode rewrites each C string
 * holding the placeholder and pads it with NULs, so the length is kept.
 * MB_EINPUT if binary and the prefix is longer than the placeholder. */
int mb_conda_relocate(char **data, size_t *len, const char *placeholder, const char *prefix,
		      bool binary, const char *name, struct mb_err *err);

/* Parse info/paths.json bytes, then apply info/has_prefix text (may be
 * NULL) to the result, as an install does (exposed for fuzzing): the
 * number of paths, or a negative MB_E* code. */
long mb_conda_parse_paths(const char *paths_json, size_t len, const char *has_prefix,
			  struct mb_err *err);

/* A cache entry's info/.mambaboot-paths (conda.c: the manifest unpacking
 * writes) of the package with that sha256: the number of paths, or -1
 * where linking would read paths.json instead.  For fuzzing. */
long mb_conda_parse_manifest(const char *text, size_t len, const char *sha256);

/* After a committed transaction: reload p's state and append to
 * PREFIX/conda-meta/history, as conda does, the conda packages it unlinked
 * (-) and linked (+), under "# cmd: mambaboot VERB NAMES...".  Not a
 * failure of the transaction if it cannot be written: a warning. */
struct mb_prefix;
void mb_conda_history(struct mb_prefix *p, const char *verb, char *const *names, size_t n);

/* The conda-meta records (paths under the prefix) of a conda recipe that
 * are gone: another tool (micromamba remove, conda remove) unlinked those
 * packages.  Returns how many, in *gone (free with strv_free);
 * 0 for other kinds, and where the recipe's file list cannot be read.
 * Sets r->removed_elsewhere: the history then leaves r out of "before". */
struct mb_state_recipe;
/* Is path a conda-meta record (conda-meta/NAME.json)?  A conda recipe's
 * file list holds each package's files, then its record. */
bool mb_conda_is_record(const char *path);
size_t mb_conda_gone(const struct mb_prefix *p, struct mb_state_recipe *r, char ***gone);
/* The same, when only whether any is gone matters (r's flag is set too). */
bool mb_conda_removed_elsewhere(const struct mb_prefix *p, struct mb_state_recipe *r);

#endif
