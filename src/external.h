/* `kind: external` recipes: provided by the host, probed, never installed. */
#ifndef MB_EXTERNAL_H
#define MB_EXTERNAL_H

#include "cache.h"
#include "err.h"
#include "recipe.h"

struct mb_probe {
	char *path;        /* the program that answered (detect.command[0]) */
	char *version;     /* what the regex's first group captured */
	struct mb_version ver;
};

/* Run the recipe's detect.command (looked up on PATH, then in
 * $CUDA_HOME/bin), parse its output with detect.regex and check the
 * recipe's range.  Not found, unparsable or out of range: MB_EHOST.
 * With a cache (may be NULL), what an ELF program printed is remembered
 * in CACHE/probes/, keyed by the program file's identity (device, inode,
 * size, times) and the command, and not asked again. */
int mb_external_probe(const struct mb_recipe *r, const struct mb_cache *cache,
		      struct mb_probe *out, struct mb_err *err);
void mb_probe_free(struct mb_probe *p);

#endif
