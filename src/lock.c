/* The lock file (lock.h): reading, writing, and applying it to a recipe set. */
#include "lock.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"
#include "yemit.h"
#include "ytree.h"

static const char *const lock_sources[] = { "repodata", "shards", "pep691", "pep503", NULL };

void mb_lock_free(struct mb_lock *lk)
{
	size_t i;

	for (i = 0; i < lk->n; i++) {
		free(lk->v[i].url);
		free(lk->v[i].source);
		free(lk->v[i].index);
		free(lk->v[i].date);
	}
	free(lk->v);
	memset(lk, 0, sizeof *lk);
}

const struct mb_lock_entry *mb_lock_find(const struct mb_lock *lk, const char *url)
{
	size_t i;

	for (i = 0; i < lk->n; i++)
		if (strcmp(lk->v[i].url, url) == 0)
			return &lk->v[i];
	return NULL;
}

int mb_lock_unpinned_err(struct mb_err *err, const char *who, const char *filename)
{
	return mb_errf(err, MB_EINPUT,
		       "%s%s%s is unpinned (no sha256 in its recipe nor in lock.yaml): run 'mambaboot lock' or pass --allow-unpinned",
		       who ? who : "", who ? ": " : "", filename);
}

/* ---- reading ---- */

static const char *entry_string(const struct ynode *m, const char *key)
{
	const struct ynode *n = ymap_get(m, key);
	return n && n->type == YNODE_SCALAR && n->value[0] ? n->value : NULL;
}

static bool known_source(const char *s)
{
	size_t i;

	for (i = 0; s && lock_sources[i]; i++)
		if (strcmp(s, lock_sources[i]) == 0)
			return true;
	return false;
}

static int read_entry(const char *path, const struct ynode *m, struct mb_lock *lk,
		      struct mb_err *err)
{
	const char *url, *sha, *size, *source, *index, *date;
	struct mb_lock_entry *e;
	char *end = NULL;

	if (m->type != YNODE_MAP)
		return ynode_err(err, path, m, "a lock entry must be a mapping");
	url = entry_string(m, "url");
	sha = entry_string(m, "sha256");
	size = entry_string(m, "size");
	source = entry_string(m, "source");
	index = entry_string(m, "index");
	date = entry_string(m, "date");
	if (!url || !sha || !is_hex64(sha) || !known_source(source) || !index || !date)
		return ynode_err(err, path, m,
				 "a lock entry needs url, sha256 (64 hex digits), source (repodata, shards, pep691 or pep503), index and date; run 'mambaboot lock' again");
	errno = 0;
	if (size && (!isdigit((unsigned char)size[0]) || strtoll(size, &end, 10) < 0 || *end ||
		     errno == ERANGE))
		return ynode_err(err, path, m, "'size' must be a non-negative integer");
	if (mb_lock_find(lk, url))
		return ynode_err(err, path, m, "a second entry for %s", url);
	e = VEC_PUSH(lk->v, lk->n, lk->cap);
	e->url = xstrdup(url);
	snprintf(e->sha256, sizeof e->sha256, "%s", sha);
	str_lower(e->sha256);
	e->size = size ? strtoll(size, NULL, 10) : -1;
	e->source = xstrdup(source);
	e->index = xstrdup(index);
	e->date = xstrdup(date);
	return 0;
}

static int read_doc(const char *path, const struct ydoc *doc, struct mb_lock *lk,
		    struct mb_err *err)
{
	const struct ynode *arts;
	size_t i;
	int rc = 0;

	if (!doc->root)
		return 0;
	if (doc->root->type != YNODE_MAP)
		return ynode_err(err, path, doc->root, "a lock file is a mapping");
	arts = ymap_get(doc->root, "artifacts");
	if (arts && arts->type != YNODE_SEQ)
		return ynode_err(err, path, arts, "'artifacts' must be a list");
	for (i = 0; arts && rc == 0 && i < arts->n; i++)
		rc = read_entry(path, arts->item[i], lk, err);
	return rc;
}

int mb_lock_read(struct mb_lock *lk, const char *path, struct mb_err *err)
{
	struct ydoc doc;
	char *buf;
	size_t len;
	int rc;

	memset(lk, 0, sizeof *lk);
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	if ((rc = read_file(path, YTREE_FILE_MAX, &buf, &len, err)) < 0)
		return rc;
	rc = ydoc_parse(&doc, path, buf, len, err);
	free(buf);
	if (rc < 0)
		return rc;
	rc = read_doc(path, &doc, lk, err);
	ydoc_free(&doc);
	if (rc < 0)
		mb_lock_free(lk);
	return rc;
}

/* ---- writing ---- */

static int by_url(const void *a, const void *b)
{
	return strcmp(((const struct mb_lock_entry *)a)->url,
		      ((const struct mb_lock_entry *)b)->url);
}

static void emit_entry(struct yemit *e, const struct mb_lock_entry *x)
{
	char size[32];

	yemit_map(e, true);
	yemit_pair(e, "url", x->url);
	yemit_pair(e, "sha256", x->sha256);
	if (x->size >= 0) {
		snprintf(size, sizeof size, "%" PRId64, x->size);
		yemit_pair(e, "size", size);
	}
	yemit_pair(e, "source", x->source);
	yemit_pair(e, "index", x->index);
	yemit_pair(e, "date", x->date);
	yemit_map(e, false);
}

static bool same_bytes(const char *path, const struct sbuf *b)
{
	struct mb_err ignored;
	char *old;
	size_t len;
	bool same;

	if (read_file(path, YTREE_FILE_MAX, &old, &len, &ignored) < 0)
		return false;
	same = len == b->len && memcmp(old, b->s, len) == 0;
	free(old);
	return same;
}

int mb_lock_write(struct mb_lock *lk, const char *path, bool *written, struct mb_err *err)
{
	struct sbuf out = { 0 };
	struct yemit e;
	size_t i;
	int rc = 0;

	*written = false;
	if (lk->n)
		qsort(lk->v, lk->n, sizeof *lk->v, by_url);
	sbuf_puts(&out, "# Written by 'mambaboot lock': the sha256 each index publishes for the\n"
			"# artifacts whose recipes do not pin one.  Run it again to refresh.\n");
	yemit_begin(&e, &out);
	yemit_pair(&e, "format", "1");
	yemit_scalar(&e, "artifacts");
	yemit_seq(&e, true);
	for (i = 0; i < lk->n; i++)
		emit_entry(&e, &lk->v[i]);
	yemit_seq(&e, false);
	if (!yemit_end(&e))
		rc = mb_errf(err, MB_EFAIL, "cannot write %s", path);
	else if (!same_bytes(path, &out) && (rc = write_file_atomic(path, out.s, out.len, err)) == 0)
		*written = true;
	sbuf_free(&out);
	return rc;
}

/* ---- applying ---- */

static int apply_entry(const char *path, const struct mb_recipe *r, struct mb_artifact *a,
		       const struct mb_lock_entry *e, struct mb_err *err)
{
	if (a->size >= 0 && e->size >= 0 && a->size != e->size)
		return mb_errf(err, MB_EINTEGRITY,
			       "%s: %s has size %lld in %s but %lld in %s; run 'mambaboot lock' again",
			       path, a->filename, (long long)e->size, path, (long long)a->size, r->file);
	a->sha256 = xstrdup(e->sha256);
	if (e->size >= 0)
		a->size = e->size;
	a->locked = true;
	return 0;
}

int mb_lock_apply(struct mb_recipe_set *set, struct mb_err *err)
{
	char *path = path_join(set->dir, MB_LOCK_FILE);
	struct mb_lock lk;
	size_t i, k;
	int rc = mb_lock_read(&lk, path, err);

	for (i = 0; rc == 0 && i < set->n_recipes; i++) {
		struct mb_recipe *r = set->recipes[i];
		for (k = 0; rc == 0 && k < r->n_artifacts; k++) {
			struct mb_artifact *a = &r->artifacts[k];
			const struct mb_lock_entry *e;
			if (mb_artifact_pinned(a) || !(e = mb_lock_find(&lk, a->url)))
				continue;
			rc = apply_entry(path, r, a, e, err);
		}
	}
	mb_lock_free(&lk);
	free(path);
	return rc;
}
