/* flock(2): exclusive per open file description, unlike fcntl locks;
 * mkdtemp; realpath. */
#define _DEFAULT_SOURCE
#include "cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

static char *default_dir(void)
{
	const char *env = getenv("MAMBABOOT_CACHE");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");

	if (env && *env)
		return xstrdup(env);
	if (xdg && *xdg == '/')
		return path_join(xdg, "mambaboot");
	if (home && *home)
		return path_join(home, ".cache/mambaboot");
	return NULL;
}

/* What a process killed at once (kill -9, a second Ctrl-C) left in
 * CACHE/tmp: half-unpacked entries, unfinished builds.  Nothing works in
 * there for a day (entries are made there and renamed out within the
 * run), and a pid says nothing on a cache other hosts share. */
#define TMP_STALE_SECONDS (24 * 3600)

static void sweep_tmp(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *de;
	time_t now = time(NULL);

	while (d && (de = readdir(d)) != NULL) {
		struct stat st;
		char *path;
		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    now - st.st_mtime < TMP_STALE_SECONDS)
			continue;
		path = path_join(tmp, de->d_name);
		remove_tree(path, NULL);
		free(path);
	}
	if (d)
		closedir(d);
}

int mb_cache_open(struct mb_cache *cache, const char *dir, struct mb_err *err)
{
	static const char *const subdirs[] = { "blobs/sha256", "blobs/md5", "partial", "unpacked", "tmp", "probes" };
	char *tmp, real[PATH_MAX];
	size_t i;
	int rc;

	cache->dir = dir ? xstrdup(dir) : default_dir();
	if (!cache->dir)
		return mb_errf(err, MB_EINPUT, "no cache directory: set --cache, MAMBABOOT_CACHE or HOME");
	for (i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
		char *p = path_join(cache->dir, subdirs[i]);
		rc = mkdir_p(p, 0755, err);
		free(p);
		if (rc < 0) {
			mb_cache_close(cache);
			return mb_err_wrap(err, "cache");
		}
	}
	if (!realpath(cache->dir, real)) {
		rc = mb_errno(err, MB_EFAIL, errno, "cannot resolve the cache %s", cache->dir);
		mb_cache_close(cache);
		return rc;
	}
	free(cache->dir);
	cache->dir = xstrdup(real); /* conda-meta records name entries by it, from any cwd */
	sweep_tmp(tmp = mb_cache_tmp_dir(cache));
	free(tmp);
	return 0;
}

void mb_cache_close(struct mb_cache *cache)
{
	free(cache->dir);
	cache->dir = NULL;
}

char *mb_cache_blob_path(const struct mb_cache *cache, const char *sha256)
{
	return xasprintf("%s/blobs/sha256/%s", cache->dir, sha256);
}

char *mb_cache_partial_path(const struct mb_cache *cache, const char *sha256)
{
	return xasprintf("%s/partial/%s.part", cache->dir, sha256);
}

char *mb_cache_unpacked_path(const struct mb_cache *cache, const char *sha256)
{
	return xasprintf("%s/unpacked/%s", cache->dir, sha256);
}

char *mb_cache_tmp_dir(const struct mb_cache *cache)
{
	return path_join(cache->dir, "tmp");
}

bool mb_cache_has_blob(const struct mb_cache *cache, const char *sha256)
{
	char *p = mb_cache_blob_path(cache, sha256);
	struct stat st;
	bool has = stat(p, &st) == 0 && S_ISREG(st.st_mode);

	free(p);
	return has;
}

static char *md5_path(const struct mb_cache *cache, const char *sha256)
{
	return xasprintf("%s/blobs/md5/%s", cache->dir, sha256);
}

static int fill_md5(int fd, void *md5)
{
	return write_all(fd, md5, MB_MD5_HEX - 1);
}

/* Not synced: a torn file fails read_md5's check and is made again. */
void mb_cache_put_md5(const struct mb_cache *cache, const char *sha256, const char *md5)
{
	char *path = md5_path(cache, sha256);

	if (strlen(md5) == MB_MD5_HEX - 1)
		write_file_atomic_fn(path, fill_md5, (void *)md5, false, NULL);
	free(path);
}

static bool read_md5(const char *path, char md5[MB_MD5_HEX])
{
	char *text = NULL;
	size_t len = 0, i;
	bool ok = read_file(path, 64, &text, &len, NULL) == 0 && len == MB_MD5_HEX - 1;

	for (i = 0; ok && i < len; i++)
		ok = (text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f');
	if (ok)
		memcpy(md5, text, MB_MD5_HEX);
	free(text);
	return ok;
}

int mb_cache_blob_md5(const struct mb_cache *cache, const char *sha256, char md5[MB_MD5_HEX],
		      struct mb_err *err)
{
	char *path = md5_path(cache, sha256), *blob, hex[MB_SHA256_HEX];
	int rc = 0;

	if (!read_md5(path, md5)) {
		blob = mb_cache_blob_path(cache, sha256);
		rc = mb_sha256_md5_file(blob, hex, md5, err);
		if (rc == 0 && strcmp(hex, sha256) != 0)
			rc = mb_errf(err, MB_EINTEGRITY, "%s: the cached blob has sha256 %s", blob, hex);
		if (rc == 0)
			mb_cache_put_md5(cache, sha256, md5);
		free(blob);
	}
	free(path);
	return rc;
}

static char *lock_path(const struct mb_cache *cache, const char *sha256)
{
	return xasprintf("%s/partial/%s.lock", cache->dir, sha256);
}

/* Is the file fd locks still the one the path names?  A holder unlinks
 * the path before it lets go, so a waiter that opened it before then
 * holds a lock on a file nobody else will ever open. */
static bool still_linked(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* 0: taken, 1: busy, -1 (errno): failed, 2: taken on an unlinked file. */
static int lock_once(const char *path, int *fd)
{
	int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (f < 0)
		return -1;
	if (flock(f, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(f);
		errno = e;
		return e == EWOULDBLOCK || e == EINTR ? 1 : -1;
	}
	if (!still_linked(f, path)) {
		close(f);
		return 2;
	}
	*fd = f;
	return 0;
}

int mb_cache_try_lock(const struct mb_cache *cache, const char *sha256, int *fd,
		      struct mb_err *err)
{
	char *p = lock_path(cache, sha256);
	int rc, tries = 0;

	while ((rc = lock_once(p, fd)) == 2 && ++tries < 100)
		; /* its holder let go as we opened it: open the new one */
	if (rc < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot lock %s", p);
	free(p);
	return rc == 2 ? 1 : rc;
}

void mb_cache_unlock(const struct mb_cache *cache, const char *sha256, int fd)
{
	char *p;

	if (fd < 0)
		return;
	p = lock_path(cache, sha256);
	unlink(p); /* while it is held: nobody else has it (still_linked) */
	free(p);
	close(fd); /* closing the only descriptor releases the flock */
}

int mb_cache_commit_blob(const struct mb_cache *cache, int fd, const char *src,
			 const char *sha256, struct mb_err *err)
{
	char *blob = mb_cache_blob_path(cache, sha256);
	char *dir = path_join(cache->dir, "blobs/sha256");
	int rc = 0;

	if (fsync(fd) < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot sync %s", src);
	else if (rename(src, blob) < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot rename %s to %s", src, blob);
	else
		rc = fsync_path(dir, err);
	if (rc < 0)
		unlink(src);
	free(blob);
	free(dir);
	return rc;
}

char *mb_cache_unpacked(const struct mb_cache *cache, const char *sha256,
			mb_cache_fill_fn fill, void *ctx, struct mb_err *err)
{
	char *entry = mb_cache_unpacked_path(cache, sha256), *tmp;
	struct stat st;
	int rc;

	if (stat(entry, &st) == 0)
		return entry;
	/* a name of its own: two threads or processes may make one entry */
	tmp = xasprintf("%s/tmp/%s.XXXXXX", cache->dir, sha256);
	if (!mkdtemp(tmp) || chmod(tmp, 0755) < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot create %s", tmp);
	else
		rc = fill(ctx, tmp, err);
	if (rc == 0 && rename(tmp, entry) < 0 && errno != EEXIST && errno != ENOTEMPTY)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot store %s in the cache", entry);
	remove_tree(tmp, NULL);
	free(tmp);
	if (rc < 0) {
		free(entry);
		return NULL;
	}
	return entry;
}
