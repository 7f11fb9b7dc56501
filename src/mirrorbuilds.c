/* Build outputs in a mirror (mirrorbuilds.h). */
#define _XOPEN_SOURCE 700

#include "mirrorbuilds.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buildcache.h"
#include "buildkey.h"
#include "digest.h"
#include "fsutil.h"
#include "util.h"

#define TEXT_MAX (1u << 20)

/* Each dir/builds/<key>/ (or a cache's), in key order: fn(ctx, entry, key). */
typedef void (*entry_fn)(void *ctx, const char *entry, const char *key);

struct each {
	entry_fn fn;
	void *ctx;
};

static int visit_entry(void *ctx, const char *manifest)
{
	struct each *e = ctx;
	char *entry = xstrndup(manifest, strlen(manifest) - 9);
	const char *key = strrchr(entry, '/') + 1;

	if (is_hex64(key))
		e->fn(e->ctx, entry, key);
	free(entry);
	return 0;
}

static void each_entry(const char *root, entry_fn fn, void *ctx)
{
	struct each e = { fn, ctx };
	char *pattern = xasprintf("%s/builds/*/manifest", root);

	glob_each(pattern, visit_entry, &e);
	free(pattern);
}

static char *entry_text(const char *entry, const char *name)
{
	char *path = path_join(entry, name), *text = NULL;
	size_t len;

	if (read_file(path, TEXT_MAX, &text, &len, NULL) < 0)
		text = NULL;
	free(path);
	return text;
}

/* "recipe NAME VERSION" of a record: the plan's source recipe it is of. */
static const struct mb_recipe *record_recipe(const char *record, const struct mb_plan *plan)
{
	size_t i;

	for (i = 0; record && i < plan->n_steps; i++) {
		const struct mb_recipe *r = plan->steps[i].recipe;
		char *line = xasprintf("\nrecipe %s %s\n", r->name, r->version);
		bool match = r->kind == MB_KIND_SOURCE && strstr(record, line);
		free(line);
		if (match)
			return r;
	}
	return NULL;
}

/* ---- create ---- */

struct put {
	const char *dir;
	const struct mb_plan *plan;
	size_t copied;
	int rc;
	struct mb_err *err;
};

struct copy {
	const char *to;
	struct mb_err *err;
};

static int copy_into(void *ctx, const char *path)
{
	struct copy *c = ctx;
	char *dst = path_join(c->to, strrchr(path, '/') + 1);
	int rc = copy_file(path, dst, c->err);

	free(dst);
	return rc;
}

static int copy_entry(const char *from, const char *to, struct mb_err *err)
{
	char *tmp = xasprintf("%s.tmp%ld", to, (long)getpid()), *pattern = path_join(from, "*");
	struct copy c = { tmp, err };
	int rc = mkdir_p(tmp, 0755, err);

	if (rc == 0)
		rc = glob_each(pattern, copy_into, &c);
	if (rc == 0 && rename(tmp, to) < 0 && errno != EEXIST && errno != ENOTEMPTY)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot write %s", to);
	remove_tree(tmp, NULL);
	free(pattern);
	free(tmp);
	return rc;
}

static void put_one(void *ctx, const char *entry, const char *key)
{
	struct put *p = ctx;
	char *record = entry_text(entry, "record"), *to;

	if (p->rc < 0 || !record_recipe(record, p->plan)) {
		free(record);
		return;
	}
	to = xasprintf("%s/builds/%s", p->dir, key);
	if (access(to, F_OK) != 0) {
		p->rc = copy_entry(entry, to, p->err);
		p->copied += p->rc == 0;
	}
	free(to);
	free(record);
}

struct keys {
	const struct mb_recipe *recipe;
	struct sbuf list;
};

static void list_key(void *ctx, const char *entry, const char *key)
{
	struct keys *k = ctx;
	char *record = entry_text(entry, "record");

	if (record && mb_build_record_is_of(record, k->recipe->name))
		sbuf_printf(&k->list, "%s\n", key);
	free(record);
}

static int write_keys(const char *dir, const struct mb_recipe *r, struct mb_err *err)
{
	struct keys k = { r, { 0 } };
	char *norm = name_normalize(r->name), *path = xasprintf("%s/builds/%s.keys", dir, norm);
	int rc;

	sbuf_puts(&k.list, "");
	each_entry(dir, list_key, &k);
	rc = write_file_atomic(path, k.list.s, k.list.len, err);
	sbuf_free(&k.list);
	free(path);
	free(norm);
	return rc;
}

int mb_mirror_put_builds(const char *dir, const struct mb_cache *cache,
			 const struct mb_plan *plan, size_t *copied, struct mb_err *err)
{
	struct put p = { dir, plan, 0, 0, err };
	char *builds = path_join(dir, "builds");
	size_t i;

	p.rc = mkdir_p(builds, 0755, err);
	free(builds);
	if (p.rc == 0)
		each_entry(cache->dir, put_one, &p);
	for (i = 0; p.rc == 0 && i < plan->n_steps; i++)
		if (plan->steps[i].recipe->kind == MB_KIND_SOURCE)
			p.rc = write_keys(dir, plan->steps[i].recipe, err);
	*copied = p.copied;
	return p.rc;
}

/* ---- index.yaml ---- */

static void emit_entry(void *ctx, const char *entry, const char *key)
{
	struct yemit *e = ctx;
	char *text = entry_text(entry, "manifest"), *record = entry_text(entry, "record");
	const char *rl = record ? strstr(record, "\nrecipe ") : NULL;
	struct mb_build_manifest m;
	struct mb_err err;
	size_t i;

	if (text && rl && mb_build_manifest_parse(text, &m, &err) == 0) {
		char *line = xstrndup(rl + 8, strcspn(rl + 8, "\n")), *sp = strchr(line, ' ');
		if (sp)
			*sp++ = '\0';
		yemit_map(e, true);
		yemit_pair(e, "key", key);
		yemit_pair(e, "recipe", line);
		yemit_pair(e, "version", sp ? sp : "");
		yemit_scalar(e, "files");
		yemit_seq(e, true);
		for (i = 0; i < m.n; i++) {
			char size[32];
			snprintf(size, sizeof size, "%" PRId64, m.files[i].size);
			yemit_map(e, true);
			yemit_pair(e, "name", m.files[i].name);
			yemit_pair(e, "sha256", m.files[i].sha256);
			yemit_pair(e, "size", size);
			yemit_map(e, false);
		}
		yemit_seq(e, false);
		yemit_map(e, false);
		mb_build_manifest_free(&m);
		free(line);
	}
	free(text);
	free(record);
}

void mb_mirror_emit_builds(struct yemit *e, const char *dir)
{
	yemit_scalar(e, "builds");
	yemit_seq(e, true);
	each_entry(dir, emit_entry, e);
	yemit_seq(e, false);
}

/* ---- verify ---- */

static void verify_entry(void *ctx, const char *entry, const char *key)
{
	struct mb_mirror_report *rep = ctx;
	char *text = entry_text(entry, "manifest"), *record = entry_text(entry, "record");
	char hex[MB_SHA256_HEX] = "";
	struct mb_build_manifest m;
	struct mb_err err;

	rep->checked++;
	if (!record || mb_sha256_buf(record, strlen(record), hex, NULL) < 0 || strcmp(hex, key))
		*VEC_PUSH(rep->bad, rep->n_bad, rep->cap) =
			xasprintf("builds/%s: its record does not hash to its key", key);
	else if (!text || mb_build_manifest_parse(text, &m, &err) < 0)
		*VEC_PUSH(rep->bad, rep->n_bad, rep->cap) =
			xasprintf("builds/%s: no readable manifest", key);
	else {
		if (mb_buildcache_check(entry, &m, &err) < 0)
			*VEC_PUSH(rep->bad, rep->n_bad, rep->cap) = xasprintf("builds/%s: %s", key, err.msg);
		mb_build_manifest_free(&m);
	}
	free(text);
	free(record);
}

void mb_mirror_verify_builds(const char *dir, struct mb_mirror_report *rep)
{
	each_entry(dir, verify_entry, rep);
}
