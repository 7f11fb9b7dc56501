/* Recipes and stacks (SPEC.md section 3): YAML in, validated structs out.
 *
 * Every check happens here, at load time, so that later stages can trust
 * what they are given.  Errors name FILE:LINE:COLUMN and are MB_EINPUT. */
#ifndef MB_RECIPE_H
#define MB_RECIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "version.h"

enum mb_kind { MB_KIND_CONDA, MB_KIND_WHEEL, MB_KIND_SOURCE, MB_KIND_EXTERNAL };

const char *mb_kind_name(enum mb_kind kind);

struct mb_artifact {
	char *url;
	char **mirrors;
	size_t n_mirrors;
	char *sha256;      /* 64 lowercase hex, or NULL */
	char *tree_sha256; /* source archives only, or NULL */
	int64_t size;      /* -1 when not given */
	char *filename;    /* given, or the URL's last segment %-decoded */
	char *index;       /* wheels and sdists: the simple index (PEP 503) to lock from, or NULL */
	bool locked;       /* sha256 (and size) came from the lock file, not the recipe */
	int line, col;
};

static inline bool mb_artifact_pinned(const struct mb_artifact *a)
{
	return a->sha256 || a->tree_sha256;
}

struct mb_patch {
	char *path;   /* relative to the patches directory */
	char *sha256;
	int line, col;
};

struct mb_dep {
	char *name;
	char *spec_text;     /* "" when unconstrained */
	struct mb_spec spec;
	int line, col;
};

struct mb_env {
	char *key, *value;   /* value still holds ${VAR} references */
};

struct mb_recipe {
	char *file;          /* path it was loaded from */
	char sha256[65];     /* digest of the recipe file's bytes */
	char *name;
	char *version;       /* a version, or a range for kind external */
	struct mb_version ver;   /* parsed version (not for external) */
	struct mb_spec range;    /* external: the range the host must satisfy */
	enum mb_kind kind;
	char *summary;
	struct mb_dep *deps;
	size_t n_deps;
	struct mb_artifact *artifacts;
	size_t n_artifacts;
	struct mb_patch *patches;
	size_t n_patches;
	struct mb_env *env;
	size_t n_env;
	char **script;
	size_t n_script;
	int64_t source_date_epoch; /* build.source_date_epoch; -1: none given */
	char **detect_argv;  /* external: NULL-terminated */
	size_t n_detect_argv;
	char *detect_regex;
	int line, col;       /* of the name key, for plan errors */
};

struct mb_constraint {
	char *name;
	char *spec_text;
	struct mb_spec spec;
	int line, col;
};

struct mb_stack {
	char *file;
	char *name;
	char *summary;
	char **targets;
	size_t n_targets;
	struct mb_constraint *constraints;
	size_t n_constraints;
	int line, col;
};

struct mb_recipe_set {
	char *dir;
	char *patches_dir;
	struct mb_recipe **recipes;
	size_t n_recipes, cap_recipes;
	struct mb_stack **stacks;
	size_t n_stacks, cap_stacks;
};

/* Parse one recipe or stack document held in memory.  `file` names it in
 * messages.  Exactly one of *recipe / *stack is set on success. */
int mb_recipe_parse(const char *file, const char *buf, size_t len,
		    struct mb_recipe **recipe, struct mb_stack **stack,
		    struct mb_err *err);

/* Load DIR/NAME.yaml (recipes) and DIR/stacks/NAME.yaml (stacks), then the
 * lock file DIR/lock.yaml (lock.h) into the artifacts that do not pin
 * themselves: this is where every command learns an artifact's digest.
 * patches_dir may be NULL: then DIR/../patches, else DIR/patches. */
int mb_recipe_set_load(struct mb_recipe_set *set, const char *dir,
		       const char *patches_dir, struct mb_err *err);
/* The same without the lock file: for `lock`, which rewrites it (and so
 * must work when it is stale or damaged). */
int mb_recipe_set_load_unlocked(struct mb_recipe_set *set, const char *dir,
				const char *patches_dir, struct mb_err *err);
void mb_recipe_set_free(struct mb_recipe_set *set);

/* Does r list `name` among its depends? */
bool mb_recipe_depends_on(const struct mb_recipe *r, const char *name);

const struct mb_recipe *mb_recipe_find(const struct mb_recipe_set *set, const char *name);
const struct mb_stack *mb_stack_find(const struct mb_recipe_set *set, const char *name);

void mb_recipe_free(struct mb_recipe *r);
void mb_stack_free(struct mb_stack *s);

/* Split "torch >=2.1,<2.2" into a name and a constraint. */
int mb_dep_parse(const char *text, struct mb_dep *dep, char *why, size_t whylen);

#endif
