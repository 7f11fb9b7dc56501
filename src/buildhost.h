/* A source recipe's build key on this host (buildkey.h), for
 * `mambaboot build-key`. */
#ifndef MB_BUILDHOST_H
#define MB_BUILDHOST_H

#include "buildkey.h"
#include "cache.h"

/* Probes the externals of the recipe's plan (cache: for the probe memo,
 * may be NULL) and chooses the CUDA architectures (--cuda-arch, else the
 * environment, else the GPUs) as install does. */
int mb_build_key_here(const struct mb_recipe_set *set, const char *name,
		      const struct mb_cache *cache, const char *cuda_arch,
		      struct mb_build_key *key, struct mb_err *err);

#endif
