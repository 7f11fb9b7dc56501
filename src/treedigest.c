/* tree_sha256: a digest of what an archive unpacks to, not of its bytes,
 * so that a source pin survives a host re-compressing its tarballs. */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archiveapi.h"
#include "digest.h"
#include "fsutil.h"
#include "util.h"

struct tree_line {
	char *path;
	char type;           /* f, x or l */
	char hex[MB_SHA256_HEX];
};

struct tree {
	struct tree_line *v;
	size_t n, cap;
};

static void tree_free(struct tree *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].path);
	free(t->v);
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct tree_line *)a)->path, ((const struct tree_line *)b)->path);
}

/* The one top directory every path starts with, or 0 if there is none. */
static size_t common_top(const struct tree *t)
{
	const char *first;
	size_t len, i;

	if (t->n == 0 || !strchr(t->v[0].path, '/'))
		return 0;
	first = t->v[0].path;
	len = strcspn(first, "/") + 1;
	for (i = 1; i < t->n; i++)
		if (strncmp(t->v[i].path, first, len) != 0)
			return 0;
	return len;
}

static int tree_finish(struct tree *t, size_t strip, char hex[MB_SHA256_HEX],
		       struct mb_err *err)
{
	struct mb_sha256 h;
	size_t i;
	int rc;

	for (i = 0; i < t->n; i++)
		memmove(t->v[i].path, t->v[i].path + strip, strlen(t->v[i].path + strip) + 1);
	if (t->n)
		qsort(t->v, t->n, sizeof *t->v, cmp_line);
	if ((rc = mb_sha256_init(&h, err)) < 0)
		return rc;
	for (i = 0; i < t->n; i++) {
		char type[4] = { '\t', t->v[i].type, '\t', 0 };
		mb_sha256_update(&h, t->v[i].path, strlen(t->v[i].path));
		mb_sha256_update(&h, type, 3);
		mb_sha256_update(&h, t->v[i].hex, 64);
		mb_sha256_update(&h, "\n", 1);
	}
	mb_sha256_final(&h, hex);
	return 0;
}

static struct tree_line *tree_add(struct tree *t, const char *path, char type)
{
	struct tree_line *l = VEC_PUSH(t->v, t->n, t->cap);

	l->path = xstrdup(path);
	l->type = type;
	l->hex[0] = '\0';
	return l;
}

/* ---- from an archive ---- */

static int hash_entry_data(const struct mb_la *la, struct archive *a, char hex[MB_SHA256_HEX],
			   struct mb_err *err)
{
	struct mb_sha256 h;
	const void *buf;
	size_t len;
	la_int64_t off;
	int r, rc = mb_sha256_init(&h, err);

	if (rc < 0)
		return rc;
	while ((r = la->read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK)
		mb_sha256_update(&h, buf, len);
	if (r != ARCHIVE_EOF) {
		mb_sha256_abort(&h);
		return mb_errf(err, MB_EINTEGRITY, "damaged archive: %s", la->error_string(a));
	}
	mb_sha256_final(&h, hex);
	return 0;
}

static const struct tree_line *tree_find(const struct tree *t, const char *path)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].path, path) == 0)
			return &t->v[i];
	return NULL;
}

static int add_archive_entry(const struct mb_la *la, struct tree *t, struct archive *a,
			     struct archive_entry *e, struct mb_err *err)
{
	const char *raw = la->entry_pathname(e), *hard = la->entry_hardlink(e);
	char *path = xmalloc(strlen(raw ? raw : "") + 1);
	struct tree_line *l;
	mode_t type = la->entry_filetype(e);
	int rc = 0;

	if (type == AE_IFDIR && !hard) { /* directories are implied */
		free(path);
		return 0;
	}
	if (!raw || !path_is_contained(raw, path)) {
		free(path);
		return mb_errf(err, MB_EINTEGRITY, "unsafe path in archive: %s", raw ? raw : "?");
	}
	if (hard) {
		char *target = xmalloc(strlen(hard) + 1);
		const struct tree_line *src = path_is_contained(hard, target) ? tree_find(t, target) : NULL;
		free(target);
		if (!src)
			rc = mb_errf(err, MB_EINTEGRITY, "hard link %s to a file not in the archive", raw);
		else
			memcpy(tree_add(t, path, src->type)->hex, src->hex, MB_SHA256_HEX);
	} else if (type == AE_IFLNK) {
		const char *target = la->entry_symlink(e);
		l = tree_add(t, path, 'l');
		rc = mb_sha256_buf(target, strlen(target), l->hex, err);
	} else if (type == AE_IFREG) {
		l = tree_add(t, path, la->entry_perm(e) & 0111 ? 'x' : 'f');
		rc = hash_entry_data(la, a, l->hex, err);
	}
	free(path);
	return rc;
}

int mb_tree_sha256_archive(const char *path, char hex[MB_SHA256_HEX], struct mb_err *err)
{
	struct mb_la la;
	struct archive *a;
	struct archive_entry *e;
	struct tree t = { 0 };
	int r, rc = mb_la_open(&la, err);

	if (rc < 0)
		return rc;
	a = la.read_new();
	la.read_support_filter_all(a);
	la.read_support_format_all(a);
	if (la.read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		rc = mb_errf(err, MB_EINPUT, "%s: not an archive mambaboot can read: %s", path,
			     la.error_string(a));
		goto out;
	}
	while (rc == 0 && (r = la.read_next_header(a, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN) {
			rc = mb_errf(err, MB_EINTEGRITY, "%s: damaged archive: %s", path,
				     la.error_string(a));
			break;
		}
		rc = add_archive_entry(&la, &t, a, e, err);
	}
	if (rc == 0)
		rc = tree_finish(&t, common_top(&t), hex, err);
out:
	la.read_free(a);
	tree_free(&t);
	return rc;
}

/* ---- from a directory ---- */

static int walk(struct tree *t, const char *root, const char *rel, struct mb_err *err);

static int add_dir_entry(struct tree *t, const char *root, const char *rel,
			 struct mb_err *err)
{
	char *full = path_join(root, rel), target[PATH_MAX];
	struct stat st;
	ssize_t n;
	int rc = 0;

	if (lstat(full, &st) < 0) {
		rc = mb_errno(err, MB_EFAIL, errno, "cannot stat %s", full);
	} else if (S_ISDIR(st.st_mode)) {
		rc = walk(t, root, rel, err);
	} else if (S_ISLNK(st.st_mode)) {
		n = readlink(full, target, sizeof target);
		if (n < 0)
			rc = mb_errno(err, MB_EFAIL, errno, "cannot read link %s", full);
		else
			rc = mb_sha256_buf(target, (size_t)n, tree_add(t, rel, 'l')->hex, err);
	} else if (S_ISREG(st.st_mode)) {
		rc = mb_sha256_file(full, tree_add(t, rel, st.st_mode & 0111 ? 'x' : 'f')->hex, err);
	}
	free(full);
	return rc;
}

static int walk(struct tree *t, const char *root, const char *rel, struct mb_err *err)
{
	char *dir = *rel ? path_join(root, rel) : xstrdup(root);
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		rc = mb_errno(err, MB_EINPUT, errno, "cannot open %s", dir);
		free(dir);
		return rc;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char *child;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		child = *rel ? path_join(rel, de->d_name) : xstrdup(de->d_name);
		rc = add_dir_entry(t, root, child, err);
		free(child);
	}
	closedir(d);
	free(dir);
	return rc;
}

int mb_tree_sha256_dir(const char *dir, char hex[MB_SHA256_HEX], struct mb_err *err)
{
	struct tree t = { 0 };
	int rc = walk(&t, dir, "", err);

	if (rc == 0)
		rc = tree_finish(&t, 0, hex, err);
	tree_free(&t);
	return rc;
}
