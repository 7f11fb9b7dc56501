#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Linux 4.5's ioctl that shares a file's blocks (linux/fs.h, whose
 * headers clash with musl's).  Any failure, as on older kernels or file
 * systems without it, falls back to a hard link or a copy. */
#define MB_FICLONE _IOW(0x94, 9, int)

int mkdir_p(const char *path, mode_t mode, struct mb_err *err)
{
	int rc;

	/* The common cases first: it is there, or only it is missing. */
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return mb_errno(err, MB_EFAIL, errno, "cannot create directory %s", path);
	if ((rc = mkdir_parents(path, err)) < 0)
		return rc;
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return mb_errno(err, MB_EFAIL, errno, "cannot create directory %s", path);
	return 0;
}

int mkdir_parents(const char *path, struct mb_err *err)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int rc = 0;

	if (slash && slash != dir) {
		*slash = '\0';
		rc = mkdir_p(dir, 0755, err);
	}
	free(dir);
	return rc;
}

static int remove_entries(const char *path, struct mb_err *err)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return mb_errno(err, MB_EFAIL, errno, "cannot open %s", path);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *child = path_join(path, de->d_name);
		rc = remove_tree(child, err);
		free(child);
	}
	closedir(d);
	return rc;
}

/* An empty directory (what a transaction's staging holds once its files
 * are placed) goes with one rmdir, a file or symlink with rmdir's ENOTDIR
 * and an unlink; anything else takes the walk below. */
static int remove_quick(const char *path, struct mb_err *err)
{
	if (rmdir(path) == 0 || errno == ENOENT)
		return 0;
	if (errno != ENOTDIR)
		return 1;
	if (unlink(path) < 0 && errno != ENOENT)
		return mb_errno(err, MB_EFAIL, errno, "cannot remove %s", path);
	return 0;
}

int remove_tree(const char *path, struct mb_err *err)
{
	struct stat st;
	int rc;

	if ((rc = remove_quick(path, err)) <= 0)
		return rc;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : mb_errno(err, MB_EFAIL, errno, "cannot stat %s", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return mb_errno(err, MB_EFAIL, errno, "cannot remove %s", path);
		return 0;
	}
	if ((st.st_mode & 0700) != 0700)
		chmod(path, st.st_mode | 0700); /* read-only trees still go */
	if ((rc = remove_entries(path, err)) < 0)
		return rc;
	if (rmdir(path) < 0 && errno != ENOENT)
		return mb_errno(err, MB_EFAIL, errno, "cannot remove %s", path);
	return 0;
}

int fsync_path(const char *path, struct mb_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot open %s", path);
	if (fsync(fd) < 0 && errno != EINVAL) {
		int e = errno;
		close(fd);
		return mb_errno(err, MB_EFAIL, e, "cannot sync %s", path);
	}
	close(fd);
	return 0;
}

/* ---- several paths at a time ---- */

enum { PATH_THREADS = 8, PATHS_PER_THREAD = 4 };

struct path_slice {
	char *const *paths;
	size_t n, from, step;   /* paths[from], paths[from + step], ... */
	bool failed;
	pthread_t thread;
};

static void *remove_slice(void *arg)
{
	struct path_slice *s = arg;
	size_t i;

	for (i = s->from; i < s->n; i += s->step)
		if (remove_tree(s->paths[i], NULL) < 0) /* NULL: no strerror off the main thread */
			s->failed = true;
	return NULL;
}

int remove_trees(char *const *paths, size_t n)
{
	struct path_slice s[PATH_THREADS];
	size_t k, want = n / PATHS_PER_THREAD;
	bool failed = false;

	want = want < 1 ? 1 : want > PATH_THREADS ? PATH_THREADS : want;
	for (k = 0; k < want; k++) {
		s[k] = (struct path_slice){ .paths = paths, .n = n, .from = k, .step = want };
		/* slice 0, and any a thread could not take, run here */
		if (k == 0 || pthread_create(&s[k].thread, NULL, remove_slice, &s[k]) != 0)
			s[k].step = 0;
	}
	for (k = 0; k < want; k++) {
		if (s[k].step == 0) {
			s[k].step = want;
			remove_slice(&s[k]);
		} else {
			pthread_join(s[k].thread, NULL);
		}
		failed = failed || s[k].failed;
	}
	return failed ? -1 : 0;
}

static int copy_fd(int in, int out, const char *src, const char *dst, struct mb_err *err)
{
	char buf[1 << 16];
	ssize_t n;

	while ((n = read(in, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mb_errno(err, MB_EFAIL, errno, "cannot read %s", src);
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return mb_errno(err, MB_EFAIL, errno, "cannot write %s", dst);
			off += w;
		}
	}
	return 0;
}

static int open_pair(int sdir, const char *src, int ddir, const char *dst, int *in, int *out,
		     struct mb_err *err)
{
	struct stat st;

	*in = openat(sdir, src, O_RDONLY | O_CLOEXEC);
	if (*in < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot open %s", src);
	if (fstat(*in, &st) < 0) {
		close(*in);
		return mb_errno(err, MB_EFAIL, errno, "cannot stat %s", src);
	}
	*out = openat(ddir, dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      st.st_mode & 07777);
	if (*out < 0) {
		int e = errno;
		close(*in);
		return mb_errno(err, MB_EFAIL, e, "cannot create %s", dst);
	}
	return 0;
}

static int close_out(int out, int ddir, const char *dst, int rc, struct mb_err *err)
{
	if (close(out) < 0 && rc == 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot write %s", dst);
	if (rc < 0)
		unlinkat(ddir, dst, 0);
	return rc;
}

static int copy_at(int sdir, const char *src, int ddir, const char *dst, struct mb_err *err)
{
	int in, out, rc = open_pair(sdir, src, ddir, dst, &in, &out, err);

	if (rc < 0)
		return rc;
	rc = copy_fd(in, out, src, dst, err);
	close(in);
	return close_out(out, ddir, dst, rc, err);
}

int copy_file(const char *src, const char *dst, struct mb_err *err)
{
	return copy_at(AT_FDCWD, src, AT_FDCWD, dst, err);
}

static int try_reflink(int sdir, const char *src, int ddir, const char *dst,
		       struct mb_err *err)
{
	int in, out, rc = open_pair(sdir, src, ddir, dst, &in, &out, err);

	if (rc < 0)
		return rc;
	rc = ioctl(out, MB_FICLONE, in) < 0 ? -1 : 0;
	close(in);
	if (rc < 0) {
		close(out);
		unlinkat(ddir, dst, 0);
		return 1; /* not supported here: try the next way */
	}
	return close_out(out, ddir, dst, 0, err);
}

int clone_at(int sdir, const char *src, int ddir, const char *dst, enum mb_link_mode *mode,
	     struct mb_err *err)
{
	enum mb_link_mode start = mode ? *mode : MB_LINK_REFLINK;
	int rc;

	if (start == MB_LINK_REFLINK) {
		rc = try_reflink(sdir, src, ddir, dst, err);
		if (rc <= 0) {
			if (mode)
				*mode = MB_LINK_REFLINK;
			return rc;
		}
	}
	if (start != MB_LINK_COPY && linkat(sdir, src, ddir, dst, 0) == 0) {
		if (mode)
			*mode = MB_LINK_HARDLINK;
		return 0;
	}
	if (mode)
		*mode = MB_LINK_COPY;
	return copy_at(sdir, src, ddir, dst, err);
}

int clone_file(const char *src, const char *dst, enum mb_link_mode *mode,
	       struct mb_err *err)
{
	return clone_at(AT_FDCWD, src, AT_FDCWD, dst, mode, err);
}

bool path_is_contained(const char *path, char *out)
{
	const char *p = path;
	char *o = out;
	bool any = false;

	if (!*p || *p == '/')
		return false;
	while (*p) {
		size_t len = strcspn(p, "/");

		if (len == 2 && p[0] == '.' && p[1] == '.')
			return false;
		if (memchr(p, '\n', len) || memchr(p, '\r', len))
			return false;
		if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (o) {
				if (any)
					*o++ = '/';
				memcpy(o, p, len);
				o += len;
			}
			any = true;
		}
		p += len;
		while (*p == '/')
			p++;
	}
	if (o)
		*o = '\0';
	return any;
}

int pwrite_all(int fd, const void *data, size_t len, off_t off)
{
	const char *p = data;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_parent(const char *path, struct mb_err *err)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int rc;

	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		strcpy(dir, ".");
	rc = fsync_path(dir, err);
	free(dir);
	return rc;
}

int write_file_atomic_fn(const char *path, int (*fill)(int fd, void *ctx), void *ctx,
			 bool sync, struct mb_err *err)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = 0;

	if (fd < 0) {
		rc = mb_errno(err, MB_EFAIL, errno, "cannot create %s", tmp);
		free(tmp);
		return rc;
	}
	if (fill(fd, ctx) < 0 || (sync && fsync(fd) < 0))
		rc = mb_errno(err, MB_EFAIL, errno, "cannot write %s", tmp);
	if (close(fd) < 0 && rc == 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot write %s", tmp);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot rename %s", tmp);
	if (rc < 0)
		unlink(tmp);
	else if (sync)
		rc = fsync_parent(path, err);
	free(tmp);
	return rc;
}

struct bytes {
	const void *data;
	size_t len;
};

static int fill_bytes(int fd, void *ctx)
{
	const struct bytes *b = ctx;
	return write_all(fd, b->data, b->len);
}

int write_file_atomic(const char *path, const void *data, size_t len, struct mb_err *err)
{
	struct bytes b = { data, len };
	return write_file_atomic_fn(path, fill_bytes, &b, true, err);
}

int glob_each(const char *pattern, int (*fn)(void *ctx, const char *path), void *ctx)
{
	glob_t g;
	size_t i;
	int rc = 0;

	if (glob(pattern, 0, NULL, &g) != 0)
		return 0;
	for (i = 0; rc == 0 && i < g.gl_pathc; i++)
		rc = fn(ctx, g.gl_pathv[i]);
	globfree(&g);
	return rc;
}
