/* mambaboot build-key: a source recipe's build cache key and its inputs. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "buildhost.h"
#include "cache.h"
#include "commands.h"

static int print_key(const struct mb_build_key *key, bool json, struct mb_err *err)
{
	json_t *doc;
	int rc;

	if (!json) {
		printf("key: %s\n%s", key->hex, key->record);
		return 0;
	}
	doc = json_object();
	json_object_set_new(doc, "key", json_string(key->hex));
	json_object_set_new(doc, "record", json_string(key->record));
	rc = cli_print_json(doc, err);
	json_decref(doc);
	return rc;
}

static int run(struct mb_opts *opts, struct mb_err *err)
{
	struct mb_recipe_set set;
	struct mb_build_key key = { 0 };
	struct mb_cache cache = { 0 };
	char *dir;
	int rc;

	if (opts->n_args != 1)
		return mb_errf(err, MB_EINPUT, "build-key needs one RECIPE");
	dir = cli_recipes_dir(opts);
	rc = mb_recipe_set_load(&set, dir, opts->patches, err);
	free(dir);
	if (rc < 0)
		return rc;
	if (mb_cache_open(&cache, opts->cache, NULL) < 0)
		cache.dir = NULL; /* the probes are only not remembered */
	rc = mb_build_key_here(&set, opts->args[0], cache.dir ? &cache : NULL, opts->cuda_arch,
			       &key, err);
	if (rc == 0)
		rc = print_key(&key, opts->json, err);
	mb_build_key_free(&key);
	if (cache.dir)
		mb_cache_close(&cache);
	mb_recipe_set_free(&set);
	return rc;
}

const struct mb_cmd cmd_build_key = {
	.name = "build-key",
	.summary = "print a source recipe's build cache key and its inputs",
	.usage =
	"usage: mambaboot build-key RECIPE [--recipes DIR] [--cuda-arch LIST] [--json]\n"
	"\n"
	"Print the key under which the build cache keeps RECIPE's build on this\n"
	"host, then the record it is the sha256 of: one input a line (the build\n"
	"script and env, the source's and patches' digests, the digests of every\n"
	"recipe it needs, the versions of the host programs it needs as probed\n"
	"here, glibc, the CUDA architectures, the platform).  Two nodes that\n"
	"print different keys differ in the lines that differ.\n"
	"\n"
	"Options:\n"
	"  --recipes DIR           recipe set\n"
	"  --patches DIR           patch directory (default: DIR/../patches)\n"
	"  --cache DIR             where probes are remembered\n"
	"  --cuda-arch LIST        as install's (default: $TORCH_CUDA_ARCH_LIST, else\n"
	"                          the host's GPUs)\n"
	"  --json                  {\"key\": ..., \"record\": ...} on stdout\n",
	.opts = OPT_RECIPES | OPT_PATCHES | OPT_CACHE | OPT_CUDA_ARCH | OPT_JSON,
	.run = run,
};
