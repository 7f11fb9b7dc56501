#include "recipe.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "lock.h"
#include "util.h"
#include "ytree.h"

/* What the validators share: the file name for messages and the error. */
struct ctx {
	const char *file;
	struct mb_err *err;
};

#define FAIL(c, node, ...) ynode_err((c)->err, (c)->file, (node), __VA_ARGS__)

static const char *const kind_names[] = { "conda", "wheel", "source", "external" };

const char *mb_kind_name(enum mb_kind kind)
{
	return kind_names[kind];
}

/* ---- generic checks ---- */

static const char *closest(const char *word, const char *const *allowed)
{
	const char *best = NULL;
	size_t best_d = 3, i; /* suggest only close matches */

	for (i = 0; allowed[i]; i++) {
		size_t d = edit_distance(word, allowed[i]);
		if (d < best_d && d < strlen(word)) {
			best_d = d;
			best = allowed[i];
		}
	}
	return best;
}

static int check_keys(struct ctx *c, const struct ynode *map, const char *what,
		      const char *const *allowed)
{
	size_t i, j;

	for (i = 0; i < ymap_len(map); i++) {
		const struct ynode *key = ymap_key(map, i);
		const char *hint;

		for (j = 0; allowed[j]; j++)
			if (strcmp(key->value, allowed[j]) == 0)
				break;
		if (allowed[j])
			continue;
		hint = closest(key->value, allowed);
		if (hint)
			return FAIL(c, key, "unknown key '%.64s' in %s (did you mean '%s'?)",
				    key->value, what, hint);
		return FAIL(c, key, "unknown key '%.64s' in %s", key->value, what);
	}
	return 0;
}

static int want_type(struct ctx *c, const struct ynode *n, const char *key,
		     enum ynode_type type)
{
	static const char *const names[] = { "a string", "a list", "a mapping" };

	if (n->type != type)
		return FAIL(c, n, "'%s' must be %s, not %s", key, names[type],
			    ynode_type_name(n));
	return 0;
}

static bool is_null(const struct ynode *n)
{
	return n->type == YNODE_SCALAR && n->plain &&
	       (!n->value[0] || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0);
}

/* An optional key written with no value ("depends:") counts as absent. */
static int get_node(struct ctx *c, const struct ynode *map, const char *key,
		    enum ynode_type type, bool required, const struct ynode **out)
{
	*out = ymap_get(map, key);
	if (*out && !required && type != YNODE_SCALAR && is_null(*out))
		*out = NULL;
	if (!*out)
		return required ? FAIL(c, map, "missing required key '%s'", key) : 0;
	return want_type(c, *out, key, type);
}

/* A string value; "" and YAML null (~) are refused for required keys. */
static int get_string(struct ctx *c, const struct ynode *map, const char *key,
		      bool required, const struct ynode **node, char **out)
{
	const struct ynode *n;
	int r = get_node(c, map, key, YNODE_SCALAR, required, &n);

	if (node)
		*node = n;
	if (r < 0 || !n)
		return r;
	if (is_null(n))
		return FAIL(c, n, "'%s' must not be empty", key);
	*out = xstrdup(n->value);
	return 0;
}

static int get_string_list(struct ctx *c, const struct ynode *map, const char *key,
			   char ***out, size_t *count)
{
	const struct ynode *n;
	size_t i;
	int r = get_node(c, map, key, YNODE_SEQ, false, &n);

	if (r < 0 || !n)
		return r;
	*out = xcalloc(n->n + 1, sizeof **out);
	for (i = 0; i < n->n; i++) {
		if (n->item[i]->type != YNODE_SCALAR)
			return FAIL(c, n->item[i], "items of '%s' must be strings, not %s",
				    key, ynode_type_name(n->item[i]));
		(*out)[i] = xstrdup(n->item[i]->value);
		*count = i + 1;
	}
	return 0;
}

static int check_hex64(struct ctx *c, const struct ynode *n, const char *key, char *value)
{
	if (!is_hex64(value))
		return FAIL(c, n, "'%s' must be 64 hex digits", key);
	str_lower(value);
	return 0;
}

/* ---- artifacts ---- */

static bool url_ok(const char *url)
{
	return strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0 ||
	       strncmp(url, "file:///", 8) == 0;
}

static bool filename_ok(const char *name)
{
	return name[0] && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/') &&
	       strlen(name) == strcspn(name, "\n\r\t");
}

/* An optional non-negative integer under `key`; *out stays `none` without it. */
static int get_count(struct ctx *c, const struct ynode *map, const char *key, const char *unit,
		     int64_t none, int64_t *out)
{
	const struct ynode *n;
	char *end;
	int r = get_node(c, map, key, YNODE_SCALAR, false, &n);

	*out = none;
	if (r < 0 || !n)
		return r;
	errno = 0;
	if (!n->plain || !isdigit((unsigned char)n->value[0]))
		return FAIL(c, n, "'%s' must be a non-negative integer (%s)", key, unit);
	*out = (int64_t)strtoll(n->value, &end, 10);
	if (*end || errno)
		return FAIL(c, n, "'%s' must be a non-negative integer (%s)", key, unit);
	return 0;
}

static int parse_size(struct ctx *c, const struct ynode *map, struct mb_artifact *a)
{
	return get_count(c, map, "size", "bytes", -1, &a->size);
}

static int check_artifact_name(struct ctx *c, const struct ynode *n, enum mb_kind kind,
			       const char *filename)
{
	if (kind == MB_KIND_WHEEL && !str_endswith(filename, ".whl"))
		return FAIL(c, n, "a wheel artifact must be a .whl file, not '%.128s'",
			    filename);
	if (kind == MB_KIND_CONDA && !str_endswith(filename, ".conda") &&
	    !str_endswith(filename, ".tar.bz2"))
		return FAIL(c, n, "a conda artifact must be a .conda or .tar.bz2 file, not '%.128s'",
			    filename);
	return 0;
}

static int parse_artifact(struct ctx *c, const struct ynode *n, enum mb_kind kind,
			  struct mb_artifact *a)
{
	static const char *const keys[] = {
		"url", "mirrors", "sha256", "tree_sha256", "size", "filename", "index", NULL,
	};
	const struct ynode *url, *sha, *tree, *fname, *index;
	size_t i;
	int r;

	a->line = n->line;
	a->col = n->col;
	if ((r = want_type(c, n, "artifacts item", YNODE_MAP)) < 0 ||
	    (r = check_keys(c, n, "an artifact", keys)) < 0 ||
	    (r = get_string(c, n, "url", true, &url, &a->url)) < 0 ||
	    (r = get_string_list(c, n, "mirrors", &a->mirrors, &a->n_mirrors)) < 0 ||
	    (r = get_string(c, n, "sha256", false, &sha, &a->sha256)) < 0 ||
	    (r = get_string(c, n, "tree_sha256", false, &tree, &a->tree_sha256)) < 0 ||
	    (r = get_string(c, n, "filename", false, &fname, &a->filename)) < 0 ||
	    (r = get_string(c, n, "index", false, &index, &a->index)) < 0 ||
	    (r = parse_size(c, n, a)) < 0)
		return r;
	if (a->index && kind == MB_KIND_CONDA)
		return FAIL(c, index, "'index' is for wheels and sdists; a conda artifact is locked from its channel's repodata");
	if (a->index && !url_ok(a->index))
		return FAIL(c, index, "index must start with https://, http:// or file:///");
	if (!url_ok(a->url))
		return FAIL(c, url, "url must start with https://, http:// or file:///");
	for (i = 0; i < a->n_mirrors; i++)
		if (!url_ok(a->mirrors[i]))
			return FAIL(c, ymap_get(n, "mirrors"),
				    "mirror '%.128s' must start with https://, http:// or file:///",
				    a->mirrors[i]);
	if (a->sha256 && (r = check_hex64(c, sha, "sha256", a->sha256)) < 0)
		return r;
	if (a->tree_sha256 && (r = check_hex64(c, tree, "tree_sha256", a->tree_sha256)) < 0)
		return r;
	if (a->tree_sha256 && kind != MB_KIND_SOURCE)
		return FAIL(c, tree, "'tree_sha256' is only for source archives");
	if (!a->filename && !(a->filename = url_last_segment(a->url)))
		return FAIL(c, url, "the url has no file name; add 'filename'");
	if (!filename_ok(a->filename))
		return FAIL(c, fname ? fname : url, "invalid file name '%.128s'", a->filename);
	return check_artifact_name(c, fname ? fname : url, kind, a->filename);
}

static int parse_artifacts(struct ctx *c, const struct ynode *map, struct mb_recipe *r)
{
	const struct ynode *n;
	size_t i;
	int rc = get_node(c, map, "artifacts", YNODE_SEQ, false, &n);

	if (rc < 0)
		return rc;
	if (r->kind == MB_KIND_EXTERNAL)
		return n ? FAIL(c, n, "an external recipe has no 'artifacts'") : 0;
	if (!n)
		return FAIL(c, map, "missing required key 'artifacts' (kind %s)",
			    mb_kind_name(r->kind));
	if (n->n == 0)
		return FAIL(c, n, "'artifacts' is empty");
	if (r->kind == MB_KIND_SOURCE && n->n != 1)
		return FAIL(c, n, "a source recipe has exactly one artifact, not %zu", n->n);
	r->artifacts = xcalloc(n->n, sizeof *r->artifacts);
	for (i = 0; i < n->n; i++) {
		r->n_artifacts = i + 1;
		if ((rc = parse_artifact(c, n->item[i], r->kind, &r->artifacts[i])) < 0)
			return rc;
	}
	return 0;
}

/* ---- depends, patches, build, detect ---- */

int mb_dep_parse(const char *text, struct mb_dep *dep, char *why, size_t whylen)
{
	const char *p = text, *name;
	size_t len;

	while (isspace((unsigned char)*p))
		p++;
	name = p;
	while (isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.')
		p++;
	len = (size_t)(p - name);
	if (len == 0 || !isalnum((unsigned char)name[len - 1])) {
		snprintf(why, whylen, "'%.64s' does not start with a recipe name", text);
		return -1;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (mb_spec_parse(p, &dep->spec, why, whylen) < 0)
		return -1;
	dep->name = xstrndup(name, len);
	dep->spec_text = xstrdup(p);
	return 0;
}

static int parse_depends(struct ctx *c, const struct ynode *map, struct mb_recipe *r)
{
	const struct ynode *n;
	char why[256];
	size_t i, j;
	int rc = get_node(c, map, "depends", YNODE_SEQ, false, &n);

	if (rc < 0 || !n)
		return rc;
	r->deps = xcalloc(n->n, sizeof *r->deps);
	for (i = 0; i < n->n; i++) {
		const struct ynode *item = n->item[i];
		struct mb_dep *d = &r->deps[i];

		if (item->type != YNODE_SCALAR)
			return FAIL(c, item, "items of 'depends' must be strings, not %s",
				    ynode_type_name(item));
		if (mb_dep_parse(item->value, d, why, sizeof why) < 0)
			return FAIL(c, item, "invalid dependency: %s", why);
		r->n_deps = i + 1;
		d->line = item->line;
		d->col = item->col;
		if (name_equal(d->name, r->name))
			return FAIL(c, item, "'%s' depends on itself", r->name);
		for (j = 0; j < i; j++)
			if (name_equal(r->deps[j].name, d->name))
				return FAIL(c, item, "'%s' is listed twice in 'depends'", d->name);
	}
	return 0;
}

static int parse_patches(struct ctx *c, const struct ynode *map, struct mb_recipe *r)
{
	static const char *const keys[] = { "path", "sha256", NULL };
	const struct ynode *n, *sha, *path;
	size_t i;
	int rc = get_node(c, map, "patches", YNODE_SEQ, false, &n);

	if (rc < 0 || !n)
		return rc;
	if (r->kind != MB_KIND_SOURCE)
		return FAIL(c, n, "'patches' is only for kind source");
	r->patches = xcalloc(n->n, sizeof *r->patches);
	for (i = 0; i < n->n; i++) {
		struct mb_patch *p = &r->patches[i];
		const struct ynode *item = n->item[i];

		r->n_patches = i + 1;
		p->line = item->line;
		p->col = item->col;
		if ((rc = want_type(c, item, "patches item", YNODE_MAP)) < 0 ||
		    (rc = check_keys(c, item, "a patch", keys)) < 0 ||
		    (rc = get_string(c, item, "path", true, &path, &p->path)) < 0 ||
		    (rc = get_string(c, item, "sha256", true, &sha, &p->sha256)) < 0 ||
		    (rc = check_hex64(c, sha, "sha256", p->sha256)) < 0)
			return rc;
		if (p->path[0] == '/' || strstr(p->path, "..") )
			return FAIL(c, path, "patch path '%.128s' must stay inside patches/",
				    p->path);
	}
	return 0;
}

/* ${NAME} references in build.env values: only these are expanded. */
static int check_env_refs(struct ctx *c, const struct ynode *n)
{
	static const char *const known[] = {
		"PREFIX", "SRC_DIR", "JOBS", "PYTHON", "CUDA_HOME", NULL,
	};
	const char *p = n->value;
	size_t i, len;

	while ((p = strstr(p, "${")) != NULL) {
		p += 2;
		len = strcspn(p, "}");
		if (!p[len])
			return FAIL(c, n, "unterminated '${' in an env value");
		for (i = 0; known[i]; i++)
			if (strlen(known[i]) == len && strncmp(p, known[i], len) == 0)
				break;
		if (!known[i])
			return FAIL(c, n, "unknown variable '${%.*s}' (known: PREFIX, SRC_DIR, JOBS, PYTHON, CUDA_HOME)",
				    (int)(len > 64 ? 64 : len), p);
		p += len;
	}
	return 0;
}

static bool env_key_ok(const char *k)
{
	if (!isalpha((unsigned char)*k) && *k != '_')
		return false;
	for (; *k; k++)
		if (!isalnum((unsigned char)*k) && *k != '_')
			return false;
	return true;
}

static int parse_env(struct ctx *c, const struct ynode *build, struct mb_recipe *r)
{
	const struct ynode *n;
	size_t i;
	int rc = get_node(c, build, "env", YNODE_MAP, false, &n);

	if (rc < 0 || !n)
		return rc;
	r->env = xcalloc(ymap_len(n), sizeof *r->env);
	for (i = 0; i < ymap_len(n); i++) {
		const struct ynode *k = ymap_key(n, i), *v = ymap_value(n, i);

		if (!env_key_ok(k->value))
			return FAIL(c, k, "invalid environment variable name '%.64s'", k->value);
		if (v->type != YNODE_SCALAR)
			return FAIL(c, v, "env value of '%s' must be a string, not %s",
				    k->value, ynode_type_name(v));
		if ((rc = check_env_refs(c, v)) < 0)
			return rc;
		r->env[i].key = xstrdup(k->value);
		r->env[i].value = xstrdup(v->value);
		r->n_env = i + 1;
	}
	return 0;
}

static int parse_build(struct ctx *c, const struct ynode *map, struct mb_recipe *r)
{
	static const char *const keys[] = { "env", "script", "source_date_epoch", NULL };
	const struct ynode *n;
	int rc = get_node(c, map, "build", YNODE_MAP, false, &n);

	r->source_date_epoch = -1;

	if (rc < 0 || !n)
		return rc;
	if (r->kind != MB_KIND_SOURCE)
		return FAIL(c, n, "'build' is only for kind source");
	if ((rc = check_keys(c, n, "build", keys)) < 0 || (rc = parse_env(c, n, r)) < 0 ||
	    (rc = get_string_list(c, n, "script", &r->script, &r->n_script)) < 0 ||
	    (rc = get_count(c, n, "source_date_epoch", "seconds since 1970", -1,
			    &r->source_date_epoch)) < 0)
		return rc;
	return 0;
}

static int parse_detect(struct ctx *c, const struct ynode *map, struct mb_recipe *r)
{
	static const char *const keys[] = { "command", "regex", NULL };
	const struct ynode *n, *re, *cmd;
	regex_t compiled;
	int rc = get_node(c, map, "detect", YNODE_MAP, r->kind == MB_KIND_EXTERNAL, &n);

	if (rc < 0 || !n)
		return rc;
	if (r->kind != MB_KIND_EXTERNAL)
		return FAIL(c, n, "'detect' is only for kind external");
	if ((rc = check_keys(c, n, "detect", keys)) < 0 ||
	    (rc = get_node(c, n, "command", YNODE_SEQ, true, &cmd)) < 0 ||
	    (rc = get_string_list(c, n, "command", &r->detect_argv, &r->n_detect_argv)) < 0 ||
	    (rc = get_string(c, n, "regex", true, &re, &r->detect_regex)) < 0)
		return rc;
	if (r->n_detect_argv == 0)
		return FAIL(c, cmd, "'command' is empty");
	if (regcomp(&compiled, r->detect_regex, REG_EXTENDED) != 0)
		return FAIL(c, re, "invalid regular expression (POSIX extended)");
	if (compiled.re_nsub < 1) {
		regfree(&compiled);
		return FAIL(c, re, "the regex needs a group '( )' around the version");
	}
	regfree(&compiled);
	return 0;
}

/* ---- the recipe ---- */

static bool looks_numeric(const struct ynode *n)
{
	const char *p = n->value;

	if (!n->plain)
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	return p != n->value && *p == '\0';
}

static int parse_kind(struct ctx *c, const struct ynode *map, struct mb_recipe *r)
{
	const struct ynode *n;
	char *kind = NULL;
	int rc = get_string(c, map, "kind", true, &n, &kind);
	unsigned i;

	if (rc < 0)
		return rc;
	for (i = 0; i < 4; i++) {
		if (strcmp(kind, kind_names[i]) == 0) {
			r->kind = (enum mb_kind)i;
			free(kind);
			return 0;
		}
	}
	rc = FAIL(c, n, "unknown kind '%.32s' (expected conda, wheel, source or external)", kind);
	free(kind);
	return rc;
}

static int parse_version(struct ctx *c, const struct ynode *map, struct mb_recipe *r)
{
	const struct ynode *n;
	char why[256];
	int rc = get_string(c, map, "version", true, &n, &r->version);

	if (rc < 0)
		return rc;
	if (looks_numeric(n))
		return FAIL(c, n, "quote the version (\"%s\"): YAML reads %s as a number",
			    n->value, n->value);
	if (r->kind == MB_KIND_EXTERNAL) {
		if (mb_spec_parse(r->version, &r->range, why, sizeof why) < 0)
			return FAIL(c, n, "invalid version range: %s", why);
		return 0;
	}
	if (mb_version_parse(r->version, &r->ver) < 0)
		return FAIL(c, n, "invalid version '%.64s' (PEP 440)", r->version);
	return 0;
}

static int parse_recipe_map(struct ctx *c, const struct ynode *root, struct mb_recipe *r)
{
	static const char *const keys[] = {
		"name", "version", "kind", "summary", "depends", "artifacts",
		"patches", "build", "detect", NULL,
	};
	const struct ynode *name;
	int rc;

	if ((rc = check_keys(c, root, "a recipe", keys)) < 0 ||
	    (rc = get_string(c, root, "name", true, &name, &r->name)) < 0)
		return rc;
	r->line = name->line;
	r->col = name->col;
	if (!name_valid(r->name))
		return FAIL(c, name, "invalid name '%.64s': use letters, digits, '.', '_' and '-'",
			    r->name);
	if ((rc = parse_kind(c, root, r)) < 0 || (rc = parse_version(c, root, r)) < 0 ||
	    (rc = get_string(c, root, "summary", false, NULL, &r->summary)) < 0 ||
	    (rc = parse_depends(c, root, r)) < 0 || (rc = parse_artifacts(c, root, r)) < 0 ||
	    (rc = parse_patches(c, root, r)) < 0 || (rc = parse_build(c, root, r)) < 0 ||
	    (rc = parse_detect(c, root, r)) < 0)
		return rc;
	return 0;
}

/* ---- the stack ---- */

static int parse_constraints(struct ctx *c, const struct ynode *root, struct mb_stack *s)
{
	const struct ynode *n;
	char why[256];
	size_t i;
	int rc = get_node(c, root, "constraints", YNODE_MAP, false, &n);

	if (rc < 0 || !n)
		return rc;
	s->constraints = xcalloc(ymap_len(n), sizeof *s->constraints);
	for (i = 0; i < ymap_len(n); i++) {
		const struct ynode *k = ymap_key(n, i), *v = ymap_value(n, i);
		struct mb_constraint *con = &s->constraints[i];

		if (!name_valid(k->value))
			return FAIL(c, k, "invalid recipe name '%.64s'", k->value);
		if (v->type != YNODE_SCALAR)
			return FAIL(c, v, "the constraint on '%s' must be a string, not %s",
				    k->value, ynode_type_name(v));
		if (mb_spec_parse(v->value, &con->spec, why, sizeof why) < 0)
			return FAIL(c, v, "invalid constraint on '%s': %s", k->value, why);
		con->name = xstrdup(k->value);
		con->spec_text = xstrdup(v->value);
		con->line = v->line;
		con->col = v->col;
		s->n_constraints = i + 1;
	}
	return 0;
}

static int parse_stack_map(struct ctx *c, const struct ynode *root, struct mb_stack *s)
{
	static const char *const keys[] = { "stack", "summary", "targets", "constraints", NULL };
	const struct ynode *name, *targets;
	size_t i;
	int rc;

	if ((rc = check_keys(c, root, "a stack", keys)) < 0 ||
	    (rc = get_string(c, root, "stack", true, &name, &s->name)) < 0)
		return rc;
	s->line = name->line;
	s->col = name->col;
	if (!name_valid(s->name))
		return FAIL(c, name, "invalid stack name '%.64s'", s->name);
	if ((rc = get_string(c, root, "summary", false, NULL, &s->summary)) < 0 ||
	    (rc = get_node(c, root, "targets", YNODE_SEQ, true, &targets)) < 0 ||
	    (rc = get_string_list(c, root, "targets", &s->targets, &s->n_targets)) < 0 ||
	    (rc = parse_constraints(c, root, s)) < 0)
		return rc;
	if (s->n_targets == 0)
		return FAIL(c, targets, "'targets' is empty");
	for (i = 0; i < s->n_targets; i++)
		if (!name_valid(s->targets[i]))
			return FAIL(c, targets->item[i], "invalid target name '%.64s'",
				    s->targets[i]);
	return 0;
}

int mb_recipe_parse(const char *file, const char *buf, size_t len,
		    struct mb_recipe **recipe, struct mb_stack **stack, struct mb_err *err)
{
	struct ctx c = { file, err };
	struct ydoc doc;
	int rc;

	*recipe = NULL;
	*stack = NULL;
	if ((rc = ydoc_parse(&doc, file, buf, len, err)) < 0)
		return rc;
	if (!doc.root) {
		rc = mb_errf(err, MB_EINPUT, "%s:1:1: empty file", file);
	} else if (doc.root->type != YNODE_MAP) {
		rc = FAIL(&c, doc.root, "a recipe must be a mapping, not %s",
			  ynode_type_name(doc.root));
	} else if (ymap_get(doc.root, "stack")) {
		*stack = xcalloc(1, sizeof **stack);
		(*stack)->file = xstrdup(file);
		rc = parse_stack_map(&c, doc.root, *stack);
	} else {
		*recipe = xcalloc(1, sizeof **recipe);
		(*recipe)->file = xstrdup(file);
		rc = parse_recipe_map(&c, doc.root, *recipe);
		if (rc == 0)
			rc = mb_sha256_buf(buf, len, (*recipe)->sha256, err);
	}
	ydoc_free(&doc);
	if (rc < 0) {
		mb_recipe_free(*recipe);
		mb_stack_free(*stack);
		*recipe = NULL;
		*stack = NULL;
	}
	return rc;
}

/* ---- freeing ---- */

void mb_recipe_free(struct mb_recipe *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n_deps; i++) {
		free(r->deps[i].name);
		free(r->deps[i].spec_text);
	}
	for (i = 0; i < r->n_artifacts; i++) {
		struct mb_artifact *a = &r->artifacts[i];
		free(a->url);
		strv_free(a->mirrors, a->n_mirrors);
		free(a->sha256);
		free(a->tree_sha256);
		free(a->filename);
		free(a->index);
	}
	for (i = 0; i < r->n_patches; i++) {
		free(r->patches[i].path);
		free(r->patches[i].sha256);
	}
	for (i = 0; i < r->n_env; i++) {
		free(r->env[i].key);
		free(r->env[i].value);
	}
	free(r->deps);
	free(r->artifacts);
	free(r->patches);
	free(r->env);
	strv_free(r->script, r->n_script);
	strv_free(r->detect_argv, r->n_detect_argv);
	free(r->detect_regex);
	free(r->file);
	free(r->name);
	free(r->version);
	free(r->summary);
	free(r);
}

void mb_stack_free(struct mb_stack *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n_constraints; i++) {
		free(s->constraints[i].name);
		free(s->constraints[i].spec_text);
	}
	free(s->constraints);
	strv_free(s->targets, s->n_targets);
	free(s->file);
	free(s->name);
	free(s->summary);
	free(s);
}

/* ---- recipe sets ---- */

/* The sorted *.yaml names in dir; a missing dir yields none. */
static int list_yaml(const char *dir, char ***names, size_t *count, bool required,
		     struct mb_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;

	*names = NULL;
	*count = 0;
	if (!d) {
		if (errno == ENOENT && !required)
			return 0;
		return mb_errno(err, errno == ENOENT ? MB_EINPUT : MB_EFAIL, errno,
				"cannot open recipe directory %s", dir);
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && str_endswith(de->d_name, ".yaml") &&
		    strcmp(de->d_name, MB_LOCK_FILE) != 0)
			*VEC_PUSH(*names, *count, cap) = xstrdup(de->d_name);
	closedir(d);
	if (*count)
		qsort(*names, *count, sizeof **names, strptr_cmp);
	return 0;
}

static int load_one(struct mb_recipe_set *set, const char *path, struct mb_err *err)
{
	struct mb_recipe *r;
	struct mb_stack *s;
	char *buf;
	size_t len;
	int rc = read_file(path, YTREE_FILE_MAX, &buf, &len, err);

	if (rc < 0)
		return rc;
	rc = mb_recipe_parse(path, buf, len, &r, &s, err);
	free(buf);
	if (rc < 0)
		return rc;
	if (r)
		*VEC_PUSH(set->recipes, set->n_recipes, set->cap_recipes) = r;
	else
		*VEC_PUSH(set->stacks, set->n_stacks, set->cap_stacks) = s;
	return 0;
}

static int load_dir(struct mb_recipe_set *set, const char *dir, bool stacks,
		    struct mb_err *err)
{
	char **names;
	size_t n, i;
	int rc = list_yaml(dir, &names, &n, !stacks, err);

	for (i = 0; rc == 0 && i < n; i++) {
		char *path = path_join(dir, names[i]);
		size_t before = set->n_stacks;

		rc = load_one(set, path, err);
		if (rc == 0 && stacks && set->n_stacks == before)
			rc = mb_errf(err, MB_EINPUT, "%s:1:1: files in stacks/ must be stacks (a 'stack:' key)",
				     path);
		if (rc == 0 && !stacks && set->n_stacks != before)
			rc = mb_errf(err, MB_EINPUT, "%s:1:1: stacks belong in the stacks/ directory",
				     path);
		free(path);
	}
	strv_free(names, n);
	return rc;
}

static int check_unique(const struct mb_recipe_set *set, struct mb_err *err)
{
	size_t i, j;

	for (i = 0; i < set->n_recipes; i++)
		for (j = 0; j < i; j++)
			if (name_equal(set->recipes[i]->name, set->recipes[j]->name))
				return mb_errf(err, MB_EINPUT,
					       "%s:%d:%d: recipe '%s' is also defined in %s",
					       set->recipes[i]->file, set->recipes[i]->line,
					       set->recipes[i]->col, set->recipes[i]->name,
					       set->recipes[j]->file);
	for (i = 0; i < set->n_stacks; i++) {
		const struct mb_stack *s = set->stacks[i];
		const struct mb_recipe *r = mb_recipe_find(set, s->name);
		for (j = 0; j < i; j++)
			if (name_equal(s->name, set->stacks[j]->name))
				return mb_errf(err, MB_EINPUT,
					       "%s:%d:%d: stack '%s' is also defined in %s",
					       s->file, s->line, s->col, s->name,
					       set->stacks[j]->file);
		if (r)
			return mb_errf(err, MB_EINPUT,
				       "%s:%d:%d: stack '%s' has the name of the recipe in %s",
				       s->file, s->line, s->col, s->name, r->file);
	}
	return 0;
}

int mb_recipe_set_load_unlocked(struct mb_recipe_set *set, const char *dir,
				const char *patches_dir, struct mb_err *err)
{
	char *stacks = path_join(dir, "stacks");
	int rc;

	memset(set, 0, sizeof *set);
	set->dir = xstrdup(dir);
	set->patches_dir = patches_dir ? xstrdup(patches_dir) : path_join(dir, "../patches");
	rc = load_dir(set, dir, false, err);
	if (rc == 0)
		rc = load_dir(set, stacks, true, err);
	if (rc == 0)
		rc = check_unique(set, err);
	free(stacks);
	if (rc < 0)
		mb_recipe_set_free(set);
	return rc;
}

int mb_recipe_set_load(struct mb_recipe_set *set, const char *dir,
		       const char *patches_dir, struct mb_err *err)
{
	int rc = mb_recipe_set_load_unlocked(set, dir, patches_dir, err);

	if (rc == 0 && (rc = mb_lock_apply(set, err)) < 0)
		mb_recipe_set_free(set);
	return rc;
}

void mb_recipe_set_free(struct mb_recipe_set *set)
{
	size_t i;

	for (i = 0; i < set->n_recipes; i++)
		mb_recipe_free(set->recipes[i]);
	for (i = 0; i < set->n_stacks; i++)
		mb_stack_free(set->stacks[i]);
	free(set->recipes);
	free(set->stacks);
	free(set->dir);
	free(set->patches_dir);
	memset(set, 0, sizeof *set);
}

const struct mb_recipe *mb_recipe_find(const struct mb_recipe_set *set, const char *name)
{
	size_t i;

	for (i = 0; i < set->n_recipes; i++)
		if (name_equal(set->recipes[i]->name, name))
			return set->recipes[i];
	return NULL;
}

const struct mb_stack *mb_stack_find(const struct mb_recipe_set *set, const char *name)
{
	size_t i;

	for (i = 0; i < set->n_stacks; i++)
		if (name_equal(set->stacks[i]->name, name))
			return set->stacks[i];
	return NULL;
}

bool mb_recipe_depends_on(const struct mb_recipe *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_deps; i++)
		if (name_equal(r->deps[i].name, name))
			return true;
	return false;
}
