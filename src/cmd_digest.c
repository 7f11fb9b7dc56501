/* mambaboot digest: the digests a recipe pins, for writing recipes. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <sys/stat.h>

#include "commands.h"
#include "digest.h"

static int digest_one(const char *path, bool json, json_t *out, struct mb_err *err)
{
	char sha[MB_SHA256_HEX] = "", tree[MB_SHA256_HEX] = "";
	struct mb_err ignored;
	struct stat st;
	int rc;

	if (stat(path, &st) < 0)
		return mb_errno(err, MB_EINPUT, errno, "%s", path);
	if (S_ISDIR(st.st_mode)) {
		rc = mb_tree_sha256_dir(path, tree, err);
	} else {
		rc = mb_sha256_file(path, sha, err);
		/* Not every file is an archive: then there is no tree digest. */
		if (rc == 0 && mb_tree_sha256_archive(path, tree, &ignored) < 0)
			tree[0] = '\0';
	}
	if (rc < 0)
		return rc;
	if (json) {
		json_t *o = json_object();
		json_object_set_new(o, "path", json_string(path));
		json_object_set_new(o, "sha256", sha[0] ? json_string(sha) : json_null());
		json_object_set_new(o, "tree_sha256", tree[0] ? json_string(tree) : json_null());
		json_array_append_new(out, o);
		return 0;
	}
	printf("# %s\n", path);
	if (sha[0])
		printf("sha256: %s\n", sha);
	if (tree[0])
		printf("tree_sha256: %s\n", tree);
	return 0;
}

static int run(struct mb_opts *opts, struct mb_err *err)
{
	json_t *list = opts->json ? json_array() : NULL;
	size_t i;
	int rc = 0;

	if (opts->n_args == 0)
		rc = mb_errf(err, MB_EINPUT, "digest needs a FILE or DIR");
	for (i = 0; rc == 0 && i < opts->n_args; i++)
		rc = digest_one(opts->args[i], opts->json, list, err);
	if (rc == 0 && list)
		rc = cli_print_json(list, err);
	json_decref(list);
	return rc;
}

const struct mb_cmd cmd_digest = {
	.name = "digest",
	.summary = "print sha256 and tree_sha256, for writing recipes",
	.usage =
	"usage: mambaboot digest FILE|DIR... [--json]\n"
	"\n"
	"Print the digests a recipe can pin: for a FILE its sha256 and, when it is\n"
	"an archive, its tree_sha256; for a DIR its tree_sha256.  tree_sha256 is the\n"
	"sha256 of a listing of the unpacked tree (SPEC.md section 3), so it\n"
	"survives re-compression of a source tarball.\n"
	"\n"
	"Options:\n"
	"  --json   print one JSON document on stdout\n",
	.opts = OPT_JSON,
	.run = run,
};
