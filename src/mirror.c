/* Offline mirrors: content-addressed blobs, an index, and the recipes. */
#define _XOPEN_SOURCE 700

#include "mirror.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "fsutil.h"
#include "mirrorbuilds.h"
#include "util.h"
#include "yemit.h"
#include "ytree.h"

/* One line of index.yaml, owned strings. */
struct index_entry {
	char *sha256, *filename, *recipe, *version;
	char *pin;            /* recipe, lock, or seen (fetched with --allow-unpinned) */
	int64_t size;
	char **urls;
	size_t n_urls;
};

struct index {
	struct index_entry *v;
	size_t n, cap;
};

static void index_free(struct index *ix)
{
	size_t i, k;

	for (i = 0; i < ix->n; i++) {
		struct index_entry *e = &ix->v[i];
		for (k = 0; k < e->n_urls; k++)
			free(e->urls[k]);
		free(e->urls);
		free(e->sha256);
		free(e->filename);
		free(e->recipe);
		free(e->version);
		free(e->pin);
	}
	free(ix->v);
	memset(ix, 0, sizeof *ix);
}

static struct index_entry *index_find(struct index *ix, const char *sha)
{
	size_t i;

	for (i = 0; i < ix->n; i++)
		if (strcmp(ix->v[i].sha256, sha) == 0)
			return &ix->v[i];
	return NULL;
}

static char *scalar(const struct ynode *map, const char *key)
{
	const struct ynode *n = ymap_get(map, key);
	return n && n->type == YNODE_SCALAR ? xstrdup(n->value) : NULL;
}

static void read_entry(const struct ynode *m, struct index *ix)
{
	const struct ynode *urls = ymap_get(m, "urls");
	struct index_entry e = { 0 };
	char *size;
	size_t k;

	e.sha256 = scalar(m, "sha256");
	if (!e.sha256 || !is_hex64(e.sha256)) {
		free(e.sha256);
		return;
	}
	e.filename = scalar(m, "filename");
	e.recipe = scalar(m, "recipe");
	e.version = scalar(m, "version");
	e.pin = scalar(m, "pin");
	size = scalar(m, "size");
	e.size = size ? strtoll(size, NULL, 10) : -1;
	free(size);
	if (urls && urls->type == YNODE_SEQ) {
		e.urls = xcalloc(urls->n + 1, sizeof *e.urls);
		for (k = 0; k < urls->n; k++)
			if (urls->item[k]->type == YNODE_SCALAR)
				e.urls[e.n_urls++] = xstrdup(urls->item[k]->value);
	}
	*VEC_PUSH(ix->v, ix->n, ix->cap) = e;
}

/* A missing index is an empty one. */
static int index_read(const char *path, struct index *ix, struct mb_err *err)
{
	const struct ynode *arts;
	struct ydoc doc;
	char *buf;
	size_t len, i;
	int rc;

	memset(ix, 0, sizeof *ix);
	if (access(path, F_OK) != 0)
		return 0;
	if ((rc = read_file(path, 64u << 20, &buf, &len, err)) < 0)
		return rc;
	rc = ydoc_parse(&doc, path, buf, len, err);
	free(buf);
	if (rc < 0)
		return rc;
	arts = doc.root && doc.root->type == YNODE_MAP ? ymap_get(doc.root, "artifacts") : NULL;
	for (i = 0; arts && arts->type == YNODE_SEQ && i < arts->n; i++)
		if (arts->item[i]->type == YNODE_MAP)
			read_entry(arts->item[i], ix);
	ydoc_free(&doc);
	return 0;
}

/* ---- writing index.yaml ---- */

static void emit_entry(struct yemit *e, const struct index_entry *x)
{
	char size[32];
	size_t k;

	snprintf(size, sizeof size, "%" PRId64, x->size);
	yemit_map(e, true);
	yemit_pair(e, "sha256", x->sha256);
	yemit_pair(e, "size", size);
	yemit_pair(e, "filename", x->filename);
	yemit_pair(e, "recipe", x->recipe);
	yemit_pair(e, "version", x->version);
	if (x->pin)
		yemit_pair(e, "pin", x->pin);
	yemit_scalar(e, "urls");
	yemit_seq(e, true);
	for (k = 0; k < x->n_urls; k++)
		yemit_scalar(e, x->urls[k]);
	yemit_seq(e, false);
	yemit_map(e, false);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct index_entry *x = a, *y = b;
	int r = strcmp(x->recipe ? x->recipe : "", y->recipe ? y->recipe : "");
	return r ? r : strcmp(x->filename ? x->filename : "", y->filename ? y->filename : "");
}

static int index_write(const char *dir, const char *path, struct index *ix, struct mb_err *err)
{
	struct sbuf out = { 0 };
	struct yemit e;
	size_t i;
	int rc;

	if (ix->n)
		qsort(ix->v, ix->n, sizeof *ix->v, cmp_entry);
	yemit_begin(&e, &out);
	yemit_pair(&e, "format", "1");
	yemit_scalar(&e, "artifacts");
	yemit_seq(&e, true);
	for (i = 0; i < ix->n; i++)
		emit_entry(&e, &ix->v[i]);
	yemit_seq(&e, false);
	mb_mirror_emit_builds(&e, dir);
	rc = !yemit_end(&e) ? mb_errf(err, MB_EFAIL, "cannot write %s", path)
			    : write_file_atomic(path, out.s, out.len, err);
	sbuf_free(&out);
	return rc;
}

/* ---- blobs ---- */

static bool blob_good(const char *path, const char *sha)
{
	char hex[MB_SHA256_HEX];
	return access(path, F_OK) == 0 && mb_sha256_file(path, hex, NULL) == 0 &&
	       strcmp(hex, sha) == 0;
}

/* Put a verified file at dir/sha256/<hex>: a temporary name, then rename,
 * so a reader never sees a partial blob. */
static int put_blob(const char *dir, const struct mb_mirror_entry *e, bool *added,
		    struct mb_err *err)
{
	char *dest = xasprintf("%s/sha256/%s", dir, e->sha256);
	char *tmp = xasprintf("%s/sha256/.%s.%ld.tmp", dir, e->sha256, (long)getpid());
	int rc = 0;

	*added = false;
	if (!blob_good(dest, e->sha256)) {
		unlink(tmp);
		rc = clone_file(e->blob, tmp, NULL, err);
		if (rc == 0 && !blob_good(tmp, e->sha256))
			rc = mb_errf(err, MB_EINTEGRITY, "%s changed while being copied", e->blob);
		if (rc == 0 && rename(tmp, dest) < 0)
			rc = mb_errno(err, MB_EFAIL, errno, "cannot write %s", dest);
		if (rc < 0)
			unlink(tmp);
		*added = rc == 0;
	}
	free(dest);
	free(tmp);
	return rc;
}

/* An artifact pinned by its tree alone is looked up as tree_sha256/<tree>
 * (fetch.c): a relative symlink to its blob, replaced by a rename. */
static int put_tree_link(const char *dir, const struct mb_mirror_entry *e, struct mb_err *err)
{
	const struct mb_artifact *a = e->artifact;
	char *links = path_join(dir, "tree_sha256"), *target, *dest, *tmp;
	int rc;

	if (!a->tree_sha256 || a->sha256) {
		free(links);
		return 0;
	}
	target = xasprintf("../sha256/%s", e->sha256);
	dest = xasprintf("%s/%s", links, a->tree_sha256);
	tmp = xasprintf("%s/.%s.%ld.tmp", links, a->tree_sha256, (long)getpid());
	unlink(tmp);
	if ((rc = mkdir_p(links, 0755, err)) == 0 && symlink(target, tmp) < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot write %s", tmp);
	if (rc == 0 && rename(tmp, dest) < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot write %s", dest);
	free(links);
	free(target);
	free(dest);
	free(tmp);
	return rc;
}

static void index_put(struct index *ix, const struct mb_mirror_entry *m)
{
	struct index_entry *e = index_find(ix, m->sha256);
	size_t k;

	if (!e) {
		e = VEC_PUSH(ix->v, ix->n, ix->cap);
		memset(e, 0, sizeof *e);
		e->sha256 = xstrdup(m->sha256);
	} else {
		for (k = 0; k < e->n_urls; k++)
			free(e->urls[k]);
		free(e->urls);
		free(e->filename);
		free(e->recipe);
		free(e->version);
		free(e->pin);
	}
	e->pin = xstrdup(!m->artifact->sha256 ? "seen" : m->artifact->locked ? "lock" : "recipe");
	e->filename = xstrdup(m->artifact->filename);
	e->recipe = xstrdup(m->recipe->name);
	e->version = xstrdup(m->recipe->version);
	e->size = m->size;
	e->urls = xcalloc(m->artifact->n_mirrors + 2, sizeof *e->urls);
	e->n_urls = 0;
	e->urls[e->n_urls++] = xstrdup(m->artifact->url);
	for (k = 0; k < m->artifact->n_mirrors; k++)
		e->urls[e->n_urls++] = xstrdup(m->artifact->mirrors[k]);
}

/* ---- the recipe set ---- */

static int copy_tree(const char *from, const char *to, struct mb_err *err)
{
	DIR *d = opendir(from);
	int open_errno = errno;
	struct dirent *de;
	int rc = mkdir_p(to, 0755, err);

	if (!d) /* a recipe set without patches/ gets an empty one */
		return open_errno == ENOENT ? rc
			: mb_errno(err, MB_EFAIL, open_errno, "cannot read %s", from);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char *src, *dst;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		src = path_join(from, de->d_name);
		dst = path_join(to, de->d_name);
		if (stat(src, &st) < 0)
			rc = mb_errno(err, MB_EFAIL, errno, "cannot read %s", src);
		else if (S_ISDIR(st.st_mode))
			rc = copy_tree(src, dst, err);
		else if (S_ISREG(st.st_mode))
			rc = copy_file(src, dst, err);
		free(src);
		free(dst);
	}
	closedir(d);
	return rc;
}

/* Replace dir/name with a copy of `from`, built aside then renamed in. */
static int replace_tree(const char *dir, const char *name, const char *from,
			struct mb_err *err)
{
	char *dest = path_join(dir, name);
	char *tmp = xasprintf("%s/.%s.%ld.tmp", dir, name, (long)getpid());
	char *old = xasprintf("%s/.%s.%ld.old", dir, name, (long)getpid());
	int rc = remove_tree(tmp, err);

	if (rc == 0)
		rc = copy_tree(from, tmp, err);
	if (rc == 0 && rename(dest, old) < 0 && errno != ENOENT)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot replace %s", dest);
	if (rc == 0 && rename(tmp, dest) < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot replace %s", dest);
	remove_tree(tmp, NULL);
	remove_tree(old, NULL);
	free(dest);
	free(tmp);
	free(old);
	return rc;
}

int mb_mirror_write(const char *dir, const struct mb_recipe_set *set,
		    const struct mb_mirror_entry *entries, size_t n,
		    struct mb_mirror_stats *stats, const struct mb_events *ev,
		    struct mb_err *err)
{
	char *blobs = path_join(dir, "sha256"), *index_path = path_join(dir, "index.yaml");
	struct index ix;
	size_t i;
	int rc;

	memset(stats, 0, sizeof *stats);
	if ((rc = mkdir_p(blobs, 0755, err)) < 0 || (rc = index_read(index_path, &ix, err)) < 0)
		goto out;
	for (i = 0; rc == 0 && i < n; i++) {
		bool added;
		if (mb_interrupted(ev)) {
			rc = mb_errf(err, MB_EFAIL, "interrupted");
			break;
		}
		if ((rc = put_blob(dir, &entries[i], &added, err)) == 0 &&
		    (rc = put_tree_link(dir, &entries[i], err)) == 0) {
			index_put(&ix, &entries[i]);
			added ? stats->added++ : stats->kept++;
		}
	}
	if (rc == 0)
		rc = index_write(dir, index_path, &ix, err);
	if (rc == 0)
		rc = replace_tree(dir, "recipes", set->dir, err);
	if (rc == 0)
		rc = replace_tree(dir, "patches", set->patches_dir, err);
	index_free(&ix);
out:
	free(blobs);
	free(index_path);
	return rc;
}

/* ---- verify ---- */

static void bad(struct mb_mirror_report *rep, const char *fmt, const char *a, const char *b)
{
	*VEC_PUSH(rep->bad, rep->n_bad, rep->cap) = xasprintf(fmt, a, b);
}

static void verify_blob(const char *blobs, const char *name, struct mb_mirror_report *rep)
{
	char *path = path_join(blobs, name), hex[MB_SHA256_HEX];

	rep->checked++;
	if (!is_hex64(name))
		bad(rep, "sha256/%s: %s", name, "not named by a sha256");
	else if (mb_sha256_file(path, hex, NULL) < 0)
		bad(rep, "sha256/%s: %s", name, "unreadable");
	else if (strcmp(hex, name) != 0)
		bad(rep, "sha256/%s: content hashes to %s", name, hex);
	free(path);
}

int mb_mirror_verify(const char *dir, struct mb_mirror_report *rep, const struct mb_events *ev,
		     struct mb_err *err)
{
	char *blobs = path_join(dir, "sha256"), *index_path = path_join(dir, "index.yaml");
	struct index ix = { 0 };
	struct dirent *de;
	DIR *d;
	size_t i;
	int rc = 0;

	memset(rep, 0, sizeof *rep);
	d = opendir(blobs);
	if (!d)
		rc = mb_errno(err, MB_EINPUT, errno, "%s is not a mirror (no sha256/)", dir);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (mb_interrupted(ev))
			rc = mb_errf(err, MB_EFAIL, "interrupted");
		else
			verify_blob(blobs, de->d_name, rep);
	}
	if (d)
		closedir(d);
	if (rc == 0)
		rc = index_read(index_path, &ix, err);
	for (i = 0; rc == 0 && i < ix.n; i++) {
		char *p = path_join(blobs, ix.v[i].sha256);
		if (access(p, F_OK) != 0)
			bad(rep, "sha256/%s: missing (%s in index.yaml)", ix.v[i].sha256,
			    ix.v[i].filename ? ix.v[i].filename : "?");
		free(p);
	}
	if (rc == 0)
		mb_mirror_verify_builds(dir, rep);
	index_free(&ix);
	free(blobs);
	free(index_path);
	return rc;
}

void mb_mirror_report_free(struct mb_mirror_report *rep)
{
	size_t i;

	for (i = 0; i < rep->n_bad; i++)
		free(rep->bad[i]);
	free(rep->bad);
	memset(rep, 0, sizeof *rep);
}
