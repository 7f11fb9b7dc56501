/* Directory-descriptor trees: see wtree.h. */
#define _XOPEN_SOURCE 700

#include "wtree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

int mb_wtree_open(struct mb_wtree *t, const char *root, bool create, struct mb_err *err)
{
	memset(t, 0, sizeof *t);
	t->what = root;
	t->create = create;
	t->root = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->root < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot open %s", root);
	t->dir = xstrdup("");
	t->dir_cap = 1;
	return 0;
}

void mb_wtree_close(struct mb_wtree *t)
{
	while (t->depth > 0)
		close(t->fds[--t->depth]);
	if (t->root >= 0)
		close(t->root);
	t->root = -1;
	free(t->fds);
	free(t->dir);
	t->fds = NULL;
	t->dir = NULL;
}

static int top(const struct mb_wtree *t)
{
	return t->depth ? t->fds[t->depth - 1] : t->root;
}

/* Open (or make) the component name[0..len) below the chain's end. */
static int push(struct mb_wtree *t, const char *name, size_t len, struct mb_err *err)
{
	char comp[256];
	int fd;

	if (len == 0 || len >= sizeof comp || (len <= 2 && !strncmp(name, "..", len)))
		return mb_errf(err, MB_EINTEGRITY, "%s: bad path component '%.*s'", t->what,
			       (int)len, name);
	memcpy(comp, name, len);
	comp[len] = '\0';
	fd = openat(top(t), comp, DIR_FLAGS);
	if (fd < 0 && errno == ENOENT && t->create) {
		int made = mkdirat(top(t), comp, 0755);
		if (made < 0 && errno != EEXIST)
			return mb_errno(err, MB_EFAIL, errno, "cannot create directory %s/%s/%s",
					t->what, t->dir, comp);
		if (made == 0 && t->made)
			*VEC_PUSH(t->made->v, t->made->n, t->made->cap) =
				xasprintf("%s%s%s", t->dir, *t->dir ? "/" : "", comp);
		fd = openat(top(t), comp, DIR_FLAGS);
	}
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return mb_errf(err, MB_EINTEGRITY,
			       "%s/%s%s%s is a symlink or a file, not a directory", t->what,
			       t->dir, *t->dir ? "/" : "", comp);
	if (fd < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot open %s/%s%s%s", t->what, t->dir,
				*t->dir ? "/" : "", comp);
	*VEC_PUSH(t->fds, t->depth, t->cap) = fd;
	return 0;
}

/* Make the chain lead to dir[0..len): keep the components it shares with
 * where the chain is, close the rest, open the new ones. */
static int descend(struct mb_wtree *t, const char *dir, size_t len, struct mb_err *err)
{
	size_t same = 0, comps = 0, pos;
	int rc = 0;

	/* Components in common: equal bytes up to a '/' or an end in both. */
	for (pos = 0; pos <= len && pos <= t->dir_len; pos++) {
		bool end_a = pos == len || dir[pos] == '/';
		bool end_b = pos == t->dir_len || t->dir[pos] == '/';
		if (end_a && end_b) {
			if (pos > 0) {
				same = pos;
				comps++;
			}
			if (pos == len || pos == t->dir_len)
				break;
			continue;
		}
		if (end_a || end_b || dir[pos] != t->dir[pos])
			break;
	}
	while (t->depth > comps)
		close(t->fds[--t->depth]);
	t->dir_len = same;
	t->dir[same] = '\0';
	for (pos = same; rc == 0 && pos < len;) {
		size_t n;
		if (dir[pos] == '/')
			pos++;
		n = strcspn(dir + pos, "/");
		if (n > len - pos)
			n = len - pos;
		if ((rc = push(t, dir + pos, n, err)) == 0) {
			if (t->dir_len + n + 2 > t->dir_cap) {
				t->dir_cap = (t->dir_len + n + 2) * 2;
				t->dir = xrealloc(t->dir, t->dir_cap);
			}
			if (t->dir_len)
				t->dir[t->dir_len++] = '/';
			memcpy(t->dir + t->dir_len, dir + pos, n);
			t->dir_len += n;
			t->dir[t->dir_len] = '\0';
		}
		pos += n;
	}
	return rc;
}

int mb_wtree_parent(struct mb_wtree *t, const char *rel, const char **base, struct mb_err *err)
{
	const char *slash = strrchr(rel, '/');
	int rc = descend(t, rel, slash ? (size_t)(slash - rel) : 0, err);

	*base = slash ? slash + 1 : rel;
	return rc < 0 ? rc : top(t);
}

int mb_wtree_mkdir(struct mb_wtree *t, const char *rel, struct mb_err *err)
{
	int rc = descend(t, rel, strlen(rel), err);
	return rc < 0 ? rc : 0;
}

int mb_wtree_create(struct mb_wtree *t, const char *rel, mode_t mode, struct mb_err *err)
{
	const char *base;
	int dir = mb_wtree_parent(t, rel, &base, err), fd;

	if (dir < 0)
		return dir;
	fd = openat(dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot create %s/%s", t->what, rel);
	return fd;
}
