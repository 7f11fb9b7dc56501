/* Deterministic ustar writer (tarpack.h). */
#define _XOPEN_SOURCE 700

#include "tarpack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "fsutil.h"
#include "util.h"

#define BLOCK 512

static int cmp_owned_path(const void *a, const void *b)
{
	const struct mb_owned_file *const *x = a, *const *y = b;
	return strcmp((*x)->path, (*y)->path);
}

/* name (<= 100) and, for a longer path, the ustar prefix (<= 155). */
static int split_name(const char *path, char *hdr, struct mb_err *err)
{
	size_t len = strlen(path), cut;

	if (len <= 100) {
		memcpy(hdr, path, len);
		return 0;
	}
	for (cut = len > 256 ? 0 : len - 101; cut < len && cut <= 155; cut++)
		if (path[cut] == '/' && len - cut - 1 <= 100 && cut > 0)
			break;
	if (cut >= len || cut > 155 || path[cut] != '/')
		return mb_errf(err, MB_EINPUT, "%s: path too long for a ustar archive", path);
	memcpy(hdr + 345, path, cut);
	memcpy(hdr, path + cut + 1, len - cut - 1);
	return 0;
}

static void put_octal(char *field, size_t width, uint64_t v)
{
	snprintf(field, width, "%0*llo", (int)width - 1, (unsigned long long)v);
}

static int header(const struct mb_owned_file *f, const char *target, int64_t mtime,
		  char hdr[BLOCK], struct mb_err *err)
{
	unsigned sum = 0;
	size_t i;
	int rc;

	memset(hdr, 0, BLOCK);
	if (f->type == MB_OWNED_FILE && (uint64_t)f->size > 077777777777ull) /* 11 octal digits */
		return mb_errf(err, MB_EINPUT, "%s: over 8 GiB, too big for ustar", f->path);
	if ((rc = split_name(f->path, hdr, err)) < 0)
		return rc;
	put_octal(hdr + 100, 8, f->type == MB_OWNED_DIR && !(f->mode & 0777) ? 0755 : f->mode & 07777);
	put_octal(hdr + 108, 8, 0);
	put_octal(hdr + 116, 8, 0);
	put_octal(hdr + 124, 12, f->type == MB_OWNED_FILE ? (uint64_t)f->size : 0);
	put_octal(hdr + 136, 12, (uint64_t)mtime);
	hdr[156] = f->type == MB_OWNED_FILE ? '0' : f->type == MB_OWNED_LINK ? '2' : '5';
	if (target && strlen(target) > 100)
		return mb_errf(err, MB_EINPUT, "%s: link target too long for ustar", f->path);
	if (target)
		memcpy(hdr + 157, target, strlen(target));
	memcpy(hdr + 257, "ustar", 6);
	memcpy(hdr + 263, "00", 2);
	memset(hdr + 148, ' ', 8);
	for (i = 0; i < BLOCK; i++)
		sum += (unsigned char)hdr[i];
	snprintf(hdr + 148, 8, "%06o", sum);
	return 0;
}

static int copy_body(int out, const char *path, int64_t size, struct mb_err *err)
{
	char buf[1 << 16];
	int64_t left = size;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot open %s", path);
	while (rc == 0 && left > 0) {
		ssize_t n = read(fd, buf, sizeof buf < (size_t)left ? sizeof buf : (size_t)left);
		if (n <= 0)
			rc = mb_errf(err, MB_EFAIL, "%s changed while it was packed", path);
		else if (write_all(out, buf, (size_t)n) < 0)
			rc = mb_errno(err, MB_EFAIL, errno, "cannot write the build output");
		left -= n > 0 ? n : 0;
	}
	close(fd);
	memset(buf, 0, BLOCK);
	if (rc == 0 && size % BLOCK && write_all(out, buf, (size_t)(BLOCK - size % BLOCK)) < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot write the build output");
	return rc;
}

static int pack_one(int out, const char *root, const struct mb_owned_file *f, int64_t mtime,
		    struct mb_err *err)
{
	char hdr[BLOCK], target[4096] = "", *path = path_join(root, f->path);
	int rc = 0;

	if (f->type == MB_OWNED_LINK) {
		ssize_t n = readlink(path, target, sizeof target - 1);
		if (n < 0)
			rc = mb_errno(err, MB_EFAIL, errno, "cannot read the link %s", path);
		else if ((target[n] = '\0', !mb_archive_link_inside(f->path, target)))
			/* the unpacker would refuse it on every install */
			rc = mb_errf(err, MB_EINPUT, "the link %s points outside the prefix (%s)",
				     f->path, target);
	}
	if (rc == 0)
		rc = header(f, f->type == MB_OWNED_LINK ? target : NULL, mtime, hdr, err);
	if (rc == 0 && write_all(out, hdr, BLOCK) < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot write the build output");
	if (rc == 0 && f->type == MB_OWNED_FILE)
		rc = copy_body(out, path, f->size, err);
	free(path);
	return rc;
}

int mb_tarpack(const char *root, const struct mb_owned *files, int64_t mtime, const char *out,
	       struct mb_err *err)
{
	const struct mb_owned_file **v = xcalloc(files->n + 1, sizeof *v);
	char end[2 * BLOCK] = { 0 };
	size_t i;
	int rc = 0, fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0) {
		free(v);
		return mb_errno(err, MB_EFAIL, errno, "cannot create %s", out);
	}
	for (i = 0; i < files->n; i++)
		v[i] = &files->v[i];
	if (files->n)
		qsort(v, files->n, sizeof *v, cmp_owned_path);
	for (i = 0; rc == 0 && i < files->n; i++)
		rc = pack_one(fd, root, v[i], mtime, err);
	if (rc == 0 && write_all(fd, end, sizeof end) < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot write %s", out);
	if (close(fd) < 0 && rc == 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot write %s", out);
	free(v);
	return rc;
}
