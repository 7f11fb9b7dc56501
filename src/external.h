/* `kind: external` recipes: provided by the host, probed, never installed. */
#ifndef MB_EXTERNAL_H
#define MB_EXTERNAL_H

#include "err.h"
#include "recipe.h"

struct mb_probe {
	char *path;        /* the program that answered (detect.command[0]) */
	char *version;     /* what the regex's first group captured */
	struct mb_version ver;
};

/* Run the recipe's detect.command (looked up on PATH, then in
 * $CUDA_HOME/bin), parse its output with detect.regex and check the
 * recipe's range.  Not found, unparsable or out of range: MB_EHOST. */
int mb_external_probe(const struct mb_recipe *r, struct mb_probe *out, struct mb_err *err);
void mb_probe_free(struct mb_probe *p);

#endif
