/* Safe extraction.  libarchive's SECURE_* flags are on, and every entry is
 * checked here too before it is written. */
#define _XOPEN_SOURCE 700

#include "archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "util.h"

/* The paths already unpacked: an open-addressing set of strings. */
struct seen {
	char **slot;
	size_t cap, n;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Adds s; false if it was there already. */
static bool seen_add(struct seen *set, const char *s)
{
	size_t i;

	if ((set->n + 1) * 2 > set->cap) {
		struct seen bigger = { xcalloc(set->cap ? set->cap * 2 : 1024, sizeof(char *)),
				       set->cap ? set->cap * 2 : 1024, 0 };
		for (i = 0; i < set->cap; i++)
			if (set->slot[i])
				seen_add(&bigger, set->slot[i]), free(set->slot[i]);
		free(set->slot);
		*set = bigger;
	}
	for (i = fnv1a(s) & (set->cap - 1); set->slot[i]; i = (i + 1) & (set->cap - 1))
		if (strcmp(set->slot[i], s) == 0)
			return false;
	set->slot[i] = xstrdup(s);
	set->n++;
	return true;
}

static void seen_free(struct seen *set)
{
	size_t i;

	for (i = 0; i < set->cap; i++)
		free(set->slot[i]);
	free(set->slot);
}

struct unpack {
	char *dest;             /* canonical, no symlinks */
	unsigned flags;
	size_t strip;           /* bytes of a top directory to drop */
	char *top;              /* that directory, "name/" */
	struct archive *disk;
	struct seen seen;
	const char *what;       /* the archive, for messages */
	const struct mb_archive_hooks *hooks;
	struct mb_err *err;
};

static int unsafe(struct unpack *u, const char *entry, const char *why)
{
	return mb_errf(u->err, MB_EINTEGRITY, "%s: unsafe entry '%.200s': %s", u->what, entry, why);
}

/* Does a link at rel (relative to dest) pointing at target stay inside? */
static bool link_inside(const char *rel, const char *target)
{
	char *joined, *norm;
	const char *slash = strrchr(rel, '/');
	bool ok;

	if (target[0] == '/' || !target[0])
		return false;
	joined = slash ? xasprintf("%.*s/%s", (int)(slash - rel), rel, target) : xstrdup(target);
	/* Walk the components, tracking depth: never above the root. */
	norm = joined;
	ok = true;
	{
		long depth = 0;
		char *p = norm;
		while (*p && ok) {
			size_t len = strcspn(p, "/");
			if (len == 2 && p[0] == '.' && p[1] == '.')
				ok = --depth >= 0;
			else if (len && !(len == 1 && p[0] == '.'))
				depth++;
			p += len;
			while (*p == '/')
				p++;
		}
	}
	free(joined);
	return ok;
}

/* The entry's path inside dest, after the checks; NULL to skip it. */
static int entry_path(struct unpack *u, struct archive_entry *e, char **rel)
{
	const char *raw = archive_entry_pathname(e);
	char *norm;

	if (!raw) /* not representable in the C locale: take the UTF-8 bytes */
		raw = archive_entry_pathname_utf8(e);

	*rel = NULL;
	if (!raw)
		return unsafe(u, "?", "no name");
	norm = xmalloc(strlen(raw) + 1);
	if (!path_is_contained(raw, norm)) {
		free(norm);
		if (raw[0] == '/' || strstr(raw, ".."))
			return unsafe(u, raw, raw[0] == '/' ? "absolute path" : "'..' in the path");
		return 0; /* "./" itself */
	}
	if (u->flags & MB_ARCHIVE_STRIP_TOP) {
		if (strncmp(norm, u->top, u->strip) != 0 && strncmp(norm, u->top, u->strip - 1) != 0) {
			free(norm);
			return unsafe(u, raw, "outside the archive's top directory");
		}
		if (strlen(norm) <= u->strip) {
			free(norm);
			return 0; /* the top directory itself */
		}
		memmove(norm, norm + u->strip, strlen(norm + u->strip) + 1);
	}
	*rel = norm;
	return 0;
}

static int check_type(struct unpack *u, struct archive_entry *e, const char *rel)
{
	mode_t t = archive_entry_filetype(e);
	const char *hard = archive_entry_hardlink(e);

	if (hard) {
		char *target = xmalloc(strlen(hard) + 1);
		bool ok = path_is_contained(hard, target);
		if (ok && (u->flags & MB_ARCHIVE_STRIP_TOP))
			ok = strncmp(target, u->top, u->strip) == 0;
		if (ok) {
			char *full = xasprintf("%s/%s", u->dest,
					       target + ((u->flags & MB_ARCHIVE_STRIP_TOP) ? u->strip : 0));
			archive_entry_set_hardlink(e, full);
			free(full);
		}
		free(target);
		return ok ? 0 : unsafe(u, rel, "hard link to outside the archive");
	}
	if (t == AE_IFLNK) {
		const char *target = archive_entry_symlink(e);
		return target && link_inside(rel, target) ? 0
			: unsafe(u, rel, "symlink pointing outside the archive");
	}
	if (t != AE_IFREG && t != AE_IFDIR)
		return unsafe(u, rel, "device node, fifo or socket");
	return 0;
}

static int copy_data(struct unpack *u, struct archive *in, const char *rel)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK) {
		if (archive_write_data_block(u->disk, buf, len, off) < ARCHIVE_OK)
			return mb_errf(u->err, MB_EFAIL, "cannot write %s: %s", rel,
				       archive_error_string(u->disk));
		if (u->hooks && u->hooks->data)
			u->hooks->data(u->hooks->ctx, rel, buf, len);
	}
	if (r != ARCHIVE_EOF)
		return mb_errf(u->err, MB_EINTEGRITY, "%s: damaged archive at '%s': %s", u->what,
			       rel, archive_error_string(in));
	return 0;
}

static int unpack_entry(struct unpack *u, struct archive *in, struct archive_entry *e)
{
	char *rel, *full;
	int rc = entry_path(u, e, &rel);

	if (rc < 0 || !rel)
		return rc;
	if ((rc = check_type(u, e, rel)) == 0 && archive_entry_filetype(e) != AE_IFDIR &&
	    !seen_add(&u->seen, rel))
		rc = unsafe(u, rel, "a second entry for the same path");
	if (rc == 0) {
		full = xasprintf("%s/%s", u->dest, rel);
		archive_entry_set_pathname(e, full);
		archive_entry_set_perm(e, archive_entry_perm(e) & 0777); /* no setuid/setgid/sticky */
		free(full);
		if (archive_write_header(u->disk, e) < ARCHIVE_OK)
			rc = mb_errf(u->err, MB_EINTEGRITY, "%s: cannot unpack '%s': %s", u->what, rel,
				     archive_error_string(u->disk));
		else if (archive_entry_size(e) > 0)
			rc = copy_data(u, in, rel);
		if (rc == 0 && archive_write_finish_entry(u->disk) < ARCHIVE_OK)
			rc = mb_errf(u->err, MB_EFAIL, "cannot write %s: %s", rel,
				     archive_error_string(u->disk));
		if (rc == 0 && u->hooks && u->hooks->done && archive_entry_filetype(e) == AE_IFREG &&
		    !archive_entry_hardlink(e))
			rc = u->hooks->done(u->hooks->ctx, rel, archive_entry_perm(e), u->err);
	}
	free(rel);
	return rc;
}

static int unpack_all(struct unpack *u, struct archive *in)
{
	struct archive_entry *e;
	int r, rc = 0;

	while (rc == 0 && (r = archive_read_next_header(in, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN)
			return mb_errf(u->err, MB_EINTEGRITY, "%s: damaged archive: %s", u->what,
				       archive_error_string(in));
		rc = unpack_entry(u, in, e);
	}
	return rc;
}

static struct archive *reader(void)
{
	struct archive *a = archive_read_new();

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_zip(a);
	return a;
}

static int unpack_init(struct unpack *u, const char *what, const char *dest, unsigned flags,
		       struct mb_err *err)
{
	char real[PATH_MAX];

	memset(u, 0, sizeof *u);
	if (!realpath(dest, real))
		return mb_errno(err, MB_EFAIL, errno, "cannot resolve %s", dest);
	u->dest = xstrdup(real);
	u->flags = flags;
	u->what = what;
	u->err = err;
	u->disk = archive_write_disk_new();
	archive_write_disk_set_options(u->disk, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
					ARCHIVE_EXTRACT_SECURE_NODOTDOT |
					ARCHIVE_EXTRACT_SECURE_SYMLINKS);
	return 0;
}

static void unpack_free(struct unpack *u)
{
	if (u->disk) {
		archive_write_close(u->disk);
		archive_write_free(u->disk);
	}
	seen_free(&u->seen);
	free(u->top);
	free(u->dest);
}

/* The one top directory of an archive, found by a first pass. */
static int find_top(struct unpack *u, const char *path)
{
	struct archive *a = reader();
	struct archive_entry *e;
	char *top = NULL;
	int rc = 0;

	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK)
		rc = mb_errf(u->err, MB_EINTEGRITY, "%s: %s", path, archive_error_string(a));
	while (rc == 0 && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);
		size_t len;
		while (p && p[0] == '.' && p[1] == '/')
			p += 2;
		if (!p || !*p)
			continue;
		len = strcspn(p, "/");
		if (!top)
			top = xasprintf("%.*s/", (int)len, p);
		else if (strncmp(p, top, len) != 0 || strlen(top) != len + 1)
			rc = mb_errf(u->err, MB_EINPUT, "%s: has no single top directory", path);
	}
	archive_read_free(a);
	if (rc == 0 && !top)
		rc = mb_errf(u->err, MB_EINPUT, "%s: empty archive", path);
	u->top = top;
	u->strip = top ? strlen(top) : 0;
	return rc;
}

int mb_archive_extract(const char *path, const char *dest, unsigned flags, struct mb_err *err)
{
	return mb_archive_extract_hooked(path, dest, flags, NULL, err);
}

int mb_archive_extract_hooked(const char *path, const char *dest, unsigned flags,
			      const struct mb_archive_hooks *hooks, struct mb_err *err)
{
	struct unpack u;
	struct archive *in;
	int rc = unpack_init(&u, path, dest, flags, err);

	u.hooks = hooks;
	if (rc == 0 && (flags & MB_ARCHIVE_STRIP_TOP))
		rc = find_top(&u, path);
	if (rc < 0) {
		unpack_free(&u);
		return rc;
	}
	in = reader();
	if (archive_read_open_filename(in, path, 1 << 16) != ARCHIVE_OK)
		rc = mb_errf(err, MB_EINTEGRITY, "%s: not an archive: %s", path, archive_error_string(in));
	else
		rc = unpack_all(&u, in);
	archive_read_free(in);
	unpack_free(&u);
	return rc;
}

/* ---- .conda: tar.zst members read straight out of the outer zip ---- */

struct member {
	struct archive *outer;
	char buf[1 << 16];
};

static la_ssize_t member_read(struct archive *a, void *ctx, const void **out)
{
	struct member *m = ctx;
	la_ssize_t n = archive_read_data(m->outer, m->buf, sizeof m->buf);

	(void)a;
	*out = m->buf;
	return n;
}

static bool conda_member(const char *name)
{
	const char *base = strrchr(name, '/');

	base = base ? base + 1 : name;
	return (strncmp(base, "info-", 5) == 0 || strncmp(base, "pkg-", 4) == 0) &&
	       strstr(base, ".tar");
}

static int unpack_member(struct unpack *u, struct archive *outer)
{
	struct member *m = xmalloc(sizeof *m);
	struct archive *in = archive_read_new();
	int rc;

	m->outer = outer;
	archive_read_support_filter_all(in);
	archive_read_support_format_tar(in);
	if (archive_read_open(in, m, NULL, member_read, NULL) != ARCHIVE_OK)
		rc = mb_errf(u->err, MB_EINTEGRITY, "%s: damaged member: %s", u->what,
			     archive_error_string(in));
	else
		rc = unpack_all(u, in);
	archive_read_free(in);
	free(m);
	return rc;
}

int mb_archive_extract_conda(const char *path, const char *dest, struct mb_err *err)
{
	struct archive *outer = archive_read_new();
	struct archive_entry *e;
	struct unpack u;
	int r, rc = unpack_init(&u, path, dest, 0, err), members = 0;

	archive_read_support_format_zip(outer);
	if (rc == 0 && archive_read_open_filename(outer, path, 1 << 16) != ARCHIVE_OK)
		rc = mb_errf(err, MB_EINTEGRITY, "%s: not a .conda (zip): %s", path,
			     archive_error_string(outer));
	while (rc == 0 && (r = archive_read_next_header(outer, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN) {
			rc = mb_errf(err, MB_EINTEGRITY, "%s: damaged zip: %s", path,
				     archive_error_string(outer));
			break;
		}
		if (archive_entry_filetype(e) == AE_IFREG && conda_member(archive_entry_pathname(e))) {
			rc = unpack_member(&u, outer);
			members++;
		}
	}
	if (rc == 0 && members == 0)
		rc = mb_errf(err, MB_EINTEGRITY, "%s: no info-*.tar.zst or pkg-*.tar.zst member", path);
	archive_read_free(outer);
	unpack_free(&u);
	return rc;
}
