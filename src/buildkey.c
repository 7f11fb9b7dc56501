/* The build cache's key: a canonical record of a source build's inputs
 * and its sha256 (buildkey.h). */
#define _XOPEN_SOURCE 700

#include "buildkey.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "util.h"

static void put_escaped(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			sbuf_puts(b, "\\\\");
		else if (*s == '\n')
			sbuf_puts(b, "\\n");
		else if (*s == '\t')
			sbuf_puts(b, "\\t");
		else
			sbuf_add(b, s, 1);
	}
}

static void put_line(struct sbuf *b, const char *field, const char *value)
{
	sbuf_printf(b, "%s ", field);
	put_escaped(b, value);
	sbuf_puts(b, "\n");
}

/* Every recipe r needs, directly or not, once (found by name). */
static void closure(const struct mb_recipe_set *set, const struct mb_recipe *r,
		    const struct mb_recipe ***v, size_t *n, size_t *cap)
{
	size_t i, k;

	for (i = 0; i < r->n_deps; i++) {
		const struct mb_recipe *d = mb_recipe_find(set, r->deps[i].name);
		bool seen = !d;
		for (k = 0; !seen && k < *n; k++)
			seen = (*v)[k] == d;
		if (seen)
			continue;
		*VEC_PUSH(*v, *n, *cap) = d;
		closure(set, d, v, n, cap);
	}
}

static int cmp_recipe_name(const void *a, const void *b)
{
	const struct mb_recipe *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

static const char *probed_version(const struct mb_build_inputs *in, const char *name)
{
	size_t i;

	for (i = 0; i < in->n_tools; i++)
		if (name_equal(in->tools[i].name, name))
			return in->tools[i].version;
	return "(not probed)";
}

static void put_dep(struct sbuf *b, const struct mb_build_inputs *in, const struct mb_recipe *d)
{
	size_t k;

	if (d->kind == MB_KIND_EXTERNAL) {
		sbuf_printf(b, "external %s ", d->name);
		put_escaped(b, probed_version(in, d->name));
		sbuf_puts(b, "\n");
		return;
	}
	sbuf_printf(b, "dep %s recipe:%s", d->name, d->sha256);
	for (k = 0; k < d->n_artifacts; k++)
		sbuf_printf(b, " artifact:%s", d->artifacts[k].sha256 ? d->artifacts[k].sha256
				: d->artifacts[k].tree_sha256 ? d->artifacts[k].tree_sha256 : "unpinned");
	sbuf_puts(b, "\n");
}

static void put_deps(struct sbuf *b, const struct mb_build_inputs *in)
{
	const struct mb_recipe **v = NULL;
	size_t n = 0, cap = 0, i;

	closure(in->set, in->recipe, &v, &n, &cap);
	if (n)
		qsort(v, n, sizeof *v, cmp_recipe_name);
	for (i = 0; i < n; i++)
		put_dep(b, in, v[i]);
	free(v);
}

static void put_source(struct sbuf *b, const struct mb_recipe *r)
{
	const struct mb_artifact *a = r->n_artifacts ? &r->artifacts[0] : NULL;

	if (a && a->sha256)
		sbuf_printf(b, "source sha256:%s\n", a->sha256);
	else if (a && a->tree_sha256)
		sbuf_printf(b, "source tree_sha256:%s\n", a->tree_sha256);
	else
		sbuf_puts(b, "source unpinned\n");
}

static char *record_text(const struct mb_build_inputs *in)
{
	const struct mb_recipe *r = in->recipe;
	struct sbuf b = { 0 };
	size_t i;
	bool cuda = mb_recipe_depends_on(r, "cuda");

	/* Free-form strings are escaped: a newline in one cannot forge a line. */
	sbuf_printf(&b, "mambaboot-build-record 1\nrecipe %s ", r->name);
	put_escaped(&b, r->version);
	sbuf_puts(&b, "\n");
	put_line(&b, "platform", in->platform ? in->platform : "-");
	put_line(&b, "glibc", in->glibc ? in->glibc : "-");
	put_line(&b, "cuda_arch", cuda && in->cuda_arch ? in->cuda_arch : "-");
	sbuf_printf(&b, "source_date_epoch %lld\n", (long long)(r->source_date_epoch >= 0
			? r->source_date_epoch : MB_DEFAULT_SOURCE_DATE_EPOCH));
	put_source(&b, r);
	for (i = 0; i < r->n_patches; i++) {
		sbuf_puts(&b, "patch ");
		put_escaped(&b, r->patches[i].path);
		sbuf_printf(&b, " %s\n", r->patches[i].sha256);
	}
	for (i = 0; i < r->n_env; i++) {
		sbuf_puts(&b, "env ");
		put_escaped(&b, r->env[i].key);
		sbuf_puts(&b, "=");
		put_escaped(&b, r->env[i].value);
		sbuf_puts(&b, "\n");
	}
	for (i = 0; i < r->n_script; i++)
		put_line(&b, "script", r->script[i]);
	put_deps(&b, in);
	return sbuf_steal(&b);
}

int mb_build_key_make(const struct mb_build_inputs *in, struct mb_build_key *key,
		      struct mb_err *err)
{
	key->record = record_text(in);
	return mb_sha256_buf(key->record, strlen(key->record), key->hex, err);
}

void mb_build_key_free(struct mb_build_key *key)
{
	free(key->record);
	key->record = NULL;
}

char *mb_build_platform(void)
{
	struct utsname u;
	char *s;

	if (uname(&u) < 0)
		return xstrdup("unknown");
	s = xasprintf("%s-%s", u.sysname, u.machine);
	str_lower(s);
	return s;
}

static bool has_line(const char *text, const char *line, size_t len)
{
	const char *p = text;

	while (p && *p) {
		size_t n = strcspn(p, "\n");
		if (n == len && strncmp(p, line, len) == 0)
			return true;
		p = p[n] ? p + n + 1 : NULL;
	}
	return false;
}

char *mb_build_record_diff(const char *want, const char *have)
{
	struct sbuf b = { 0 };
	const char *p = want;

	sbuf_puts(&b, "");
	while (p && *p) {
		size_t n = strcspn(p, "\n");
		if (!has_line(have, p, n))
			sbuf_printf(&b, "  %.*s\n", (int)n, p);
		p = p[n] ? p + n + 1 : NULL;
	}
	return sbuf_steal(&b);
}

bool mb_build_record_is_of(const char *record, const char *name)
{
	const char *line = strstr(record, "\nrecipe ");
	size_t n;

	if (!line)
		return false;
	line += 8;
	n = strcspn(line, " \n");
	return strlen(name) == n && strncmp(line, name, n) == 0;
}
