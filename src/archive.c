/* Safe extraction: libarchive reads, and every entry is checked here and
 * written through a wtree (directory descriptors opened with O_NOFOLLOW,
 * files created with O_EXCL|O_NOFOLLOW), so that the kernel itself refuses
 * a path through a symlink.  libarchive's own writer (archive_write_disk
 * with ARCHIVE_EXTRACT_SECURE_*) gives the same guarantee by an lstat of
 * every component of every path, and costs 3-4x unzip's time on a wheel of
 * 20,000 small files; this one costs about unzip's. */
#define _XOPEN_SOURCE 700

#include "archive.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archiveapi.h"
#include "bz2par.h"
#include "fsutil.h"
#include "util.h"
#include "wtree.h"

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

struct dirmode {
	char *rel;
	mode_t mode;
};

struct unpack {
	struct mb_la la;        /* libarchive, bound by unpack_init */
	struct mb_wtree out;    /* dest, through directory descriptors */
	struct mb_wtree links;  /* a second walk, for the targets of hard links */
	bool links_open;
	unsigned flags;
	mode_t umask;
	size_t strip;           /* bytes of a top directory to drop */
	char *top;              /* that directory, "name/" */
	struct seen seen;
	bool checked;           /* names were checked (and de-duplicated) by a first pass */
	atomic_int *stop;       /* another thread failed: stop (parallel runs only) */
	struct dirmode *dirs;   /* directory entries whose mode is not 0755 */
	size_t n_dirs, cap_dirs;
	const char *what;       /* the archive, for messages */
	const struct mb_archive_hooks *hooks;
	struct mb_err *err;
};

static int unsafe(struct unpack *u, const char *entry, const char *why)
{
	char copy[MB_ERR_MSG_MAX];

	snprintf(copy, sizeof copy, "%s", why); /* why may be u->err->msg */
	return mb_errf(u->err, MB_EINTEGRITY, "%s: unsafe entry '%.200s': %s", u->what, entry,
		       copy);
}

bool mb_archive_link_inside(const char *rel, const char *target)
{
	const char *slash = strrchr(rel, '/'), *p;
	long depth = 0;
	bool ok = true;

	if (target[0] == '/' || !target[0])
		return false;
	for (p = rel; slash && p <= slash; p++) /* the link's own directory */
		depth += *p == '/';
	/* Walk the target's components from there, never above the root. */
	for (p = target; *p && ok;) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			ok = --depth >= 0;
		else if (len && !(len == 1 && p[0] == '.'))
			depth++;
		p += len;
		while (*p == '/')
			p++;
	}
	return ok;
}

/* Drop the top directory (MB_ARCHIVE_STRIP_TOP) from a normalized path in
 * place; 1 if nothing is left (the top directory itself). */
static int strip_top(struct unpack *u, const char *raw, char *norm)
{
	if (!(u->flags & MB_ARCHIVE_STRIP_TOP))
		return 0;
	if (strncmp(norm, u->top, u->strip) != 0 && strncmp(norm, u->top, u->strip - 1) != 0)
		return unsafe(u, raw, "outside the archive's top directory");
	if (strlen(norm) <= u->strip)
		return 1;
	memmove(norm, norm + u->strip, strlen(norm + u->strip) + 1);
	return 0;
}

/* The entry's path inside dest, after the checks; NULL to skip it. */
static int entry_path(struct unpack *u, struct archive_entry *e, char **rel)
{
	const struct mb_la *la = &u->la;
	const char *raw = la->entry_pathname(e);
	char *norm;
	int rc;

	if (!raw) /* not representable in the C locale: take the UTF-8 bytes */
		raw = la->entry_pathname_utf8(e);
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
	if ((rc = strip_top(u, raw, norm)) != 0) {
		free(norm);
		return rc < 0 ? rc : 0;
	}
	*rel = norm;
	return 0;
}

static int check_type(struct unpack *u, struct archive_entry *e, const char *rel)
{
	const struct mb_la *la = &u->la;
	mode_t t = la->entry_filetype(e);

	if (la->entry_hardlink(e))
		return 0; /* checked when it is made */
	if (t == AE_IFLNK) {
		const char *target = la->entry_symlink(e);
		return target && mb_archive_link_inside(rel, target) ? 0
			: unsafe(u, rel, "symlink pointing outside the archive");
	}
	if (t != AE_IFREG && t != AE_IFDIR)
		return unsafe(u, rel, "device node, fifo or socket");
	return 0;
}

/* A path component that is a symlink or a file is refused by the wtree
 * (MB_EINTEGRITY): say which entry tried to go through it. */
static int parent_of(struct unpack *u, const char *rel, const char **base)
{
	int fd = mb_wtree_parent(&u->out, rel, base, u->err);

	if (fd < 0 && u->err->code == MB_EINTEGRITY)
		return unsafe(u, rel, u->err->msg);
	return fd;
}

static int make_hardlink(struct unpack *u, const char *rel, const char *raw_target)
{
	char *target = xmalloc(strlen(raw_target) + 1);
	const char *tbase, *base;
	struct stat st;
	int tdir, dir, rc = 0;

	if (!path_is_contained(raw_target, target) || strip_top(u, raw_target, target) != 0) {
		free(target);
		return unsafe(u, rel, "hard link to outside the archive");
	}
	if (!u->links_open && (rc = mb_wtree_open(&u->links, u->out.what, false, u->err)) == 0)
		u->links_open = true;
	if (rc == 0 && (tdir = mb_wtree_parent(&u->links, target, &tbase, u->err)) < 0)
		rc = unsafe(u, rel, "hard link to a path the archive did not make");
	else if (rc == 0 && (fstatat(tdir, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			     !S_ISREG(st.st_mode)))
		rc = unsafe(u, rel, "hard link to something not a file the archive made");
	else if (rc == 0 && (dir = parent_of(u, rel, &base)) < 0)
		rc = dir;
	else if (rc == 0 && linkat(tdir, tbase, dir, base, 0) < 0)
		rc = mb_errno(u->err, MB_EFAIL, errno, "%s: cannot link '%s'", u->what, rel);
	free(target);
	return rc;
}

static int make_symlink(struct unpack *u, const char *rel, const char *target)
{
	const char *base;
	int dir = parent_of(u, rel, &base);

	if (dir < 0)
		return dir;
	if (symlinkat(target, dir, base) < 0)
		return mb_errno(u->err, MB_EFAIL, errno, "%s: cannot make the symlink '%s'",
				u->what, rel);
	return 0;
}

static int make_dir(struct unpack *u, const char *rel, mode_t mode)
{
	int rc = mb_wtree_mkdir(&u->out, rel, u->err);

	if (rc < 0 && u->err->code == MB_EINTEGRITY)
		return unsafe(u, rel, u->err->msg);
	if (rc == 0 && mode != 0755) {
		struct dirmode *d = VEC_PUSH(u->dirs, u->n_dirs, u->cap_dirs);
		d->rel = xstrdup(rel);
		d->mode = mode;
	}
	return rc;
}

/* The bytes of a regular file, holes (sparse entries) kept as holes. */
static int copy_data(struct unpack *u, struct archive *in, int fd, const char *rel,
		     int64_t size)
{
	const struct mb_la *la = &u->la;
	const void *buf;
	size_t len;
	la_int64_t off, end = 0;
	int r;

	while ((r = la->read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK) {
		if (pwrite_all(fd, buf, len, (off_t)off) < 0)
			return mb_errno(u->err, MB_EFAIL, errno, "cannot write %s/%s", u->out.what,
					rel);
		if (u->hooks && u->hooks->data)
			u->hooks->data(u->hooks->ctx, rel, buf, len);
		end = off + (la_int64_t)len;
	}
	if (r != ARCHIVE_EOF)
		return mb_errf(u->err, MB_EINTEGRITY, "%s: damaged archive at '%s': %s", u->what,
			       rel, la->error_string(in));
	if (size > end && ftruncate(fd, (off_t)size) < 0)
		return mb_errno(u->err, MB_EFAIL, errno, "cannot write %s/%s", u->out.what, rel);
	return 0;
}

static int make_file(struct unpack *u, struct archive *in, struct archive_entry *e,
		     const char *rel)
{
	const struct mb_la *la = &u->la;
	mode_t mode = la->entry_perm(e) & 0777; /* no setuid/setgid/sticky */
	int fd, rc;

	if (u->hooks && u->hooks->mode)
		mode = u->hooks->mode(u->hooks->ctx, rel, mode) & 0777;
	if ((fd = mb_wtree_create(&u->out, rel, mode, u->err)) < 0)
		return u->err->code == MB_EINTEGRITY ? unsafe(u, rel, u->err->msg) : fd;
	rc = copy_data(u, in, fd, rel, la->entry_size(e));
	if (rc == 0 && (mode & u->umask) && fchmod(fd, mode) < 0)
		rc = mb_errno(u->err, MB_EFAIL, errno, "cannot set the mode of %s", rel);
	if (rc == 0 && !(u->flags & MB_ARCHIVE_NO_TIMES) && la->entry_mtime_is_set(e)) {
		struct timespec ts[2];
		ts[0].tv_sec = ts[1].tv_sec = la->entry_mtime(e);
		ts[0].tv_nsec = ts[1].tv_nsec = la->entry_mtime_nsec(e);
		futimens(fd, ts);
	}
	if (close(fd) < 0 && rc == 0)
		rc = mb_errno(u->err, MB_EFAIL, errno, "cannot write %s/%s", u->out.what, rel);
	if (rc == 0 && u->hooks && u->hooks->done)
		rc = u->hooks->done(u->hooks->ctx, rel, mode, u->err);
	return rc;
}

/* Every check an entry gets before anything is written: its path, its
 * type, and that no earlier entry had the same path (unless a first pass
 * did that already).  *rel is NULL for an entry to skip. */
static int check_entry(struct unpack *u, struct archive_entry *e, char **rel)
{
	const struct mb_la *la = &u->la;
	int rc = entry_path(u, e, rel);

	if (rc == 0 && *rel && (rc = check_type(u, e, *rel)) == 0 && !u->checked &&
	    (la->entry_hardlink(e) || la->entry_filetype(e) != AE_IFDIR) &&
	    !seen_add(&u->seen, *rel))
		rc = unsafe(u, *rel, "a second entry for the same path");
	if (rc < 0) {
		free(*rel);
		*rel = NULL;
	}
	return rc;
}

static int unpack_entry(struct unpack *u, struct archive *in, struct archive_entry *e)
{
	const struct mb_la *la = &u->la;
	mode_t type = la->entry_filetype(e);
	const char *hard = la->entry_hardlink(e);
	char *rel;
	int rc = check_entry(u, e, &rel);

	if (rc < 0 || !rel)
		return rc;
	if (hard)
		rc = make_hardlink(u, rel, hard);
	else if (type == AE_IFLNK)
		rc = make_symlink(u, rel, la->entry_symlink(e));
	else if (type == AE_IFDIR)
		rc = make_dir(u, rel, la->entry_perm(e) & 0777);
	else
		rc = make_file(u, in, e, rel);
	free(rel);
	return rc;
}

static int unpack_all(struct unpack *u, struct archive *in)
{
	const struct mb_la *la = &u->la;
	struct archive_entry *e;
	int r, rc = 0;

	while (rc == 0 && (r = la->read_next_header(in, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN)
			return mb_errf(u->err, MB_EINTEGRITY, "%s: damaged archive: %s", u->what,
				       la->error_string(in));
		rc = unpack_entry(u, in, e);
	}
	return rc;
}

/* Directory modes last, deepest first, so that a read-only directory is
 * filled before it is closed. */
static int cmp_dirmode(const void *a, const void *b)
{
	return -strcmp(((const struct dirmode *)a)->rel, ((const struct dirmode *)b)->rel);
}

static int apply_dir_modes(struct unpack *u)
{
	size_t i;
	int rc = 0;

	if (u->n_dirs)
		qsort(u->dirs, u->n_dirs, sizeof *u->dirs, cmp_dirmode);
	for (i = 0; rc == 0 && i < u->n_dirs; i++) {
		const char *base;
		int dir = mb_wtree_parent(&u->out, u->dirs[i].rel, &base, u->err), fd;
		if (dir < 0)
			return dir;
		fd = openat(dir, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fchmod(fd, u->dirs[i].mode) < 0)
			rc = mb_errno(u->err, MB_EFAIL, errno, "cannot set the mode of %s",
				      u->dirs[i].rel);
		if (fd >= 0)
			close(fd);
	}
	return rc;
}

static struct archive *reader(const struct mb_la *la)
{
	struct archive *a = la->read_new();

	la->read_support_filter_all(a);
	la->read_support_format_tar(a);
	la->read_support_format_zip(a);
	return a;
}

static int unpack_init(struct unpack *u, const char *what, const char *dest, unsigned flags,
		       struct mb_err *err)
{
	int rc;

	memset(u, 0, sizeof *u);
	u->out.root = u->links.root = -1;
	u->flags = flags;
	u->what = what;
	u->err = err;
	u->umask = mb_process_umask();
	if ((rc = mb_la_open(&u->la, err)) < 0)
		return rc;
	return mb_wtree_open(&u->out, dest, true, err);
}

static void unpack_free(struct unpack *u)
{
	size_t i;

	mb_wtree_close(&u->out);
	if (u->links_open)
		mb_wtree_close(&u->links);
	for (i = 0; i < u->n_dirs; i++)
		free(u->dirs[i].rel);
	free(u->dirs);
	seen_free(&u->seen);
	free(u->top);
}

/* The one top directory of an archive, found by a first pass.  An archive
 * without one (`git archive` output) is unpacked as it is, as tree_sha256
 * reads it (SPEC.md section 3). */
static int find_top(struct unpack *u, const char *path)
{
	const struct mb_la *la = &u->la;
	struct archive *a = reader(la);
	struct archive_entry *e;
	char *top = NULL;
	bool several = false;
	int rc = 0;

	if (la->read_open_filename(a, path, 1 << 16) != ARCHIVE_OK)
		rc = mb_errf(u->err, MB_EINTEGRITY, "%s: %s", path, la->error_string(a));
	while (rc == 0 && !several && la->read_next_header(a, &e) == ARCHIVE_OK) {
		const char *p = la->entry_pathname(e);
		size_t len;
		while (p && p[0] == '.' && p[1] == '/')
			p += 2;
		if (!p || !*p)
			continue;
		len = strcspn(p, "/");
		if (!top)
			top = xasprintf("%.*s/", (int)len, p);
		else if (strncmp(p, top, len) != 0 || strlen(top) != len + 1)
			several = true;
	}
	la->read_free(a);
	if (several) {
		free(top);
		top = xstrdup("");
		u->flags &= ~(unsigned)MB_ARCHIVE_STRIP_TOP;
	}
	if (rc == 0 && !top)
		rc = mb_errf(u->err, MB_EINPUT, "%s: empty archive", path);
	u->top = top;
	u->strip = top ? strlen(top) : 0;
	return rc;
}

/* ---- decompressing on a thread of its own ----
 *
 * A .tar.bz2 spends as long in bunzip2 as in making its files; a second
 * thread decompresses into a few buffers while the first unpacks, so that
 * the two overlap.  The unpacking side hands libarchive each buffer as it
 * is (no copy) and gives it back on its next read. */

#define SLOTS 4
#define SLOT_BYTES (1 << 20)

struct slot {
	char *data;
	la_ssize_t len;          /* <0: the decompressor failed */
	bool full;
};

struct inflater {
	const struct mb_la *la;
	struct archive *raw;     /* filters only, the "raw" format */
	struct slot slot[SLOTS];
	unsigned next_fill, next_take;
	bool held, stop;         /* the reader holds next_take-1; the reader quit */
	char error[256];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
};

static void *inflater_run(void *arg)
{
	struct inflater *f = arg;
	bool last = false;

	while (!last) { /* the last slot posted holds 0 bytes (the end) or -1 */
		struct slot *s = &f->slot[f->next_fill % SLOTS];
		la_ssize_t n = 1;
		bool stop;

		pthread_mutex_lock(&f->mu);
		while (s->full && !f->stop)
			pthread_cond_wait(&f->cv, &f->mu);
		stop = f->stop;
		pthread_mutex_unlock(&f->mu);
		if (stop)
			break;
		s->len = 0;
		while (s->len < SLOT_BYTES &&
		       (n = f->la->read_data(f->raw, s->data + s->len, SLOT_BYTES - (size_t)s->len)) > 0)
			s->len += n;
		if (n < 0) {
			snprintf(f->error, sizeof f->error, "%s", f->la->error_string(f->raw));
			s->len = -1;
		}
		last = s->len <= 0;
		pthread_mutex_lock(&f->mu);
		s->full = true;
		f->next_fill++;
		pthread_cond_broadcast(&f->cv);
		pthread_mutex_unlock(&f->mu);
	}
	return NULL;
}

static la_ssize_t inflater_read(struct archive *a, void *ctx, const void **out)
{
	struct inflater *f = ctx;
	struct slot *s;

	pthread_mutex_lock(&f->mu);
	if (f->held) { /* libarchive is done with the last buffer */
		f->slot[(f->next_take - 1) % SLOTS].full = false;
		f->held = false;
		pthread_cond_broadcast(&f->cv);
	}
	s = &f->slot[f->next_take % SLOTS];
	while (!s->full)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
	if (s->len < 0) {
		f->la->set_error(a, EIO, "%s", f->error);
		return -1;
	}
	if (s->len == 0)
		return 0; /* the end; the slot stays full, so the thread has stopped */
	f->next_take++;
	f->held = true;
	*out = s->data;
	return s->len;
}

static void inflater_free(struct inflater *f)
{
	unsigned i;

	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	for (i = 0; i < SLOTS; i++)
		free(f->slot[i].data);
	f->la->read_free(f->raw);
	free(f);
}

/* A thread decompressing `path`, or NULL when it is not compressed (a
 * zip, a plain tar) or the thread cannot start: read it directly. */
static struct inflater *inflater_start(const char *path, const struct mb_la *la)
{
	struct inflater *f = xcalloc(1, sizeof *f);
	struct archive_entry *e;
	unsigned i;

	f->la = la;
	f->raw = la->read_new();
	la->read_support_filter_all(f->raw);
	la->read_support_format_raw(f->raw);
	if (la->read_open_filename(f->raw, path, 1 << 16) != ARCHIVE_OK ||
	    la->read_next_header(f->raw, &e) != ARCHIVE_OK || la->filter_count(f->raw) < 2) {
		la->read_free(f->raw);
		free(f);
		return NULL;
	}
	for (i = 0; i < SLOTS; i++)
		f->slot[i].data = xmalloc(SLOT_BYTES);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if (pthread_create(&f->thread, NULL, inflater_run, f) != 0) {
		inflater_free(f);
		return NULL;
	}
	return f;
}

static void inflater_stop(struct inflater *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	inflater_free(f);
}

/* ---- bzip2 on several threads ---- */

#define BZ2PAR_MIN_BYTES (2 << 20)   /* below this, the threads cost more than they save */
#define BZ2PAR_MAX_THREADS 8
#define INFLATER_MIN_BYTES (1 << 20) /* compressed */

/* bzip2 decoded block by block (bz2par.h) when it is big enough and there
 * are CPUs to decode on; else NULL: use the inflater, or nothing. */
static struct mb_bz2par *bz2par_start(const char *path, off_t size, unsigned threads)
{
	struct mb_bz2par *p = NULL;
	struct mb_err err;
	int fd;

	if (threads < 2 || size <= BZ2PAR_MIN_BYTES || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	mb_bz2par_open(&p, fd, threads, &err); /* not bzip2: NULL, and the inflater */
	close(fd);
	return p;
}

/* Where an unpack's bytes come from: bzip2 decoded on several threads, a
 * thread decompressing anything else, or the file itself (zip, tar). */
struct source {
	const struct mb_la *la;
	struct mb_bz2par *bz2;
	struct inflater *pipe;
};

static la_ssize_t bz2par_read(struct archive *a, void *ctx, const void **out)
{
	struct source *s = ctx;
	struct mb_err err;
	long n = mb_bz2par_read(s->bz2, out, &err);

	if (n < 0) {
		s->la->set_error(a, EIO, "%s", err.msg);
		return -1;
	}
	return n;
}

/* The threads an unpack may decode bzip2 on: its share of the CPUs
 * (flags' MB_ARCHIVE_THREADS; 0: all of them), at most BZ2PAR_MAX_THREADS. */
static unsigned decode_threads(unsigned flags)
{
	unsigned cpus = (unsigned)mb_online_cpus(), cap = (flags >> 8) & 0xffu;
	unsigned threads = cpus > BZ2PAR_MAX_THREADS ? BZ2PAR_MAX_THREADS : cpus;

	return cap && threads > cap ? cap : threads;
}

/* A big bzip2 file decodes on several threads, another big one on the
 * inflater's; a small one (under INFLATER_MIN_BYTES) inline: a thread and
 * its buffers cost more than they overlap, and many small packages
 * unpacked a few at once spent a tenth of their CPU on them. */
static int source_open(struct source *s, struct archive *in, const char *path,
		       unsigned flags, const struct mb_la *la)
{
	struct stat st;
	off_t size = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;

	s->la = la;
	s->bz2 = bz2par_start(path, size, decode_threads(flags));
	s->pipe = s->bz2 || size < INFLATER_MIN_BYTES ? NULL : inflater_start(path, la);
	if (s->bz2)
		return la->read_open(in, s, NULL, bz2par_read, NULL);
	if (s->pipe)
		return la->read_open(in, s->pipe, NULL, inflater_read, NULL);
	return la->read_open_filename(in, path, 1 << 16);
}

static void source_close(struct source *s)
{
	mb_bz2par_close(s->bz2);
	inflater_stop(s->pipe);
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
	struct source src;
	int rc = unpack_init(&u, path, dest, flags, err);

	u.hooks = hooks;
	if (rc == 0 && (flags & MB_ARCHIVE_STRIP_TOP))
		rc = find_top(&u, path);
	if (rc < 0) {
		unpack_free(&u);
		return rc;
	}
	in = reader(&u.la);
	if (source_open(&src, in, path, flags, &u.la) != ARCHIVE_OK)
		rc = mb_errf(err, MB_EINTEGRITY, "%s: not an archive: %s", path, u.la.error_string(in));
	else
		rc = unpack_all(&u, in);
	if (rc == 0)
		rc = apply_dir_modes(&u);
	u.la.read_free(in);
	source_close(&src);
	unpack_free(&u);
	return rc;
}

/* ---- a zip by several threads ---- */

/* Entries [first, last) of the archive, in the order libarchive gives them. */
struct part {
	struct unpack u;
	struct mb_err err;
	const char *path;
	long first, last;
	int rc;
	pthread_t thread;
};

/* First pass: every name checked (paths, types, duplicates) and the
 * entries split into `jobs` runs of about equal cost (bytes plus a fixed
 * cost per file).  Returns how many parts to use: 1 if not a zip. */
static int plan_parts(struct unpack *u, const char *path, int jobs, long *bounds)
{
	const struct mb_la *la = &u->la;
	struct archive *a = reader(la);
	struct archive_entry *e;
	int64_t *cost = NULL, total = 0, acc = 0;
	size_t n = 0, cap = 0, i;
	int r = ARCHIVE_OK, rc = 0, k = 1;

	if (la->read_open_filename(a, path, 1 << 16) != ARCHIVE_OK)
		rc = mb_errf(u->err, MB_EINTEGRITY, "%s: not an archive: %s", path,
			     la->error_string(a));
	while (rc == 0 && (r = la->read_next_header(a, &e)) != ARCHIVE_EOF) {
		char *rel;
		if (r < ARCHIVE_WARN) {
			rc = mb_errf(u->err, MB_EINTEGRITY, "%s: damaged archive: %s", path,
				     la->error_string(a));
			break;
		}
		if ((la->format(a) & ARCHIVE_FORMAT_BASE_MASK) != ARCHIVE_FORMAT_ZIP)
			break; /* a stream: one thread */
		rc = check_entry(u, e, &rel);
		free(rel);
		*VEC_PUSH(cost, n, cap) = la->entry_size(e) + (16 << 10);
		total += cost[n - 1];
	}
	if (rc == 0 && r == ARCHIVE_EOF && n > 0) {
		bounds[0] = 0;
		for (i = 0; i < n && k < jobs; i++) {
			acc += cost[i];
			if (acc * jobs >= total * k)
				bounds[k++] = (long)i + 1;
		}
		bounds[k] = (long)n;
	}
	la->read_free(a);
	free(cost);
	return rc < 0 ? rc : (r == ARCHIVE_EOF ? k : 1);
}

static void *part_run(void *arg)
{
	const struct mb_la *la = &((struct part *)arg)->u.la;
	struct part *p = arg;
	struct archive *in = reader(la);
	struct archive_entry *e;
	long i = 0;
	int r;

	if (la->read_open_filename(in, p->path, 1 << 16) != ARCHIVE_OK)
		p->rc = mb_errf(&p->err, MB_EINTEGRITY, "%s: %s", p->path, la->error_string(in));
	while (p->rc == 0 && i < p->last && !atomic_load(p->u.stop) &&
	       (r = la->read_next_header(in, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN)
			p->rc = mb_errf(&p->err, MB_EINTEGRITY, "%s: damaged archive: %s", p->path,
					la->error_string(in));
		else if (i >= p->first)
			p->rc = unpack_entry(&p->u, in, e);
		i++;
	}
	if (p->rc < 0)
		atomic_store(p->u.stop, 1);
	la->read_free(in);
	return NULL;
}

static int run_parts(const char *path, const char *dest, unsigned flags, int n,
		     const long *bounds, const struct mb_archive_hooks *hooks, struct mb_err *err)
{
	struct part *parts = xcalloc((size_t)n, sizeof *parts);
	atomic_int stop = 0;
	int k, started = 0, rc = 0;

	for (k = 0; k < n; k++) {
		struct part *p = &parts[k];
		p->path = path;
		p->first = bounds[k];
		p->last = bounds[k + 1];
		p->rc = unpack_init(&p->u, path, dest, flags, &p->err);
		p->u.hooks = hooks ? &hooks[k] : NULL;
		p->u.checked = true;
		p->u.stop = &stop;
		if (rc == 0)
			rc = p->rc;
	}
	for (k = 0; rc == 0 && k < n; k++) {
		if (pthread_create(&parts[k].thread, NULL, part_run, &parts[k]) != 0) {
			rc = mb_errf(&parts[k].err, MB_EFAIL, "cannot start a thread");
			break;
		}
		started++;
	}
	atomic_store(&stop, rc < 0);
	for (k = 0; k < started; k++)
		pthread_join(parts[k].thread, NULL);
	for (k = 0; k < n; k++) {
		if (rc == 0 && parts[k].rc == 0)
			parts[k].rc = apply_dir_modes(&parts[k].u);
		if (rc == 0 && parts[k].rc < 0)
			rc = parts[k].rc;
		unpack_free(&parts[k].u);
	}
	for (k = 0; k < n; k++)
		if (parts[k].err.code) {
			*err = parts[k].err;
			break;
		}
	free(parts);
	return rc;
}

int mb_archive_extract_jobs(const char *path, const char *dest, unsigned flags, int jobs,
			    const struct mb_archive_hooks *hooks, struct mb_err *err)
{
	struct unpack u;
	long *bounds;
	int n, rc;

	if (jobs <= 1 || (flags & MB_ARCHIVE_STRIP_TOP))
		return mb_archive_extract_hooked(path, dest, flags, hooks, err);
	if ((rc = unpack_init(&u, path, dest, flags, err)) < 0) {
		unpack_free(&u);
		return rc;
	}
	bounds = xcalloc((size_t)jobs + 1, sizeof *bounds);
	n = plan_parts(&u, path, jobs, bounds);
	unpack_free(&u);
	if (n == 1)
		rc = mb_archive_extract_hooked(path, dest, flags, hooks, err);
	else if (n > 1)
		rc = run_parts(path, dest, flags, n, bounds, hooks, err);
	else
		rc = n;
	free(bounds);
	return rc;
}

/* ---- .conda: tar.zst members read straight out of the outer zip ---- */

struct member {
	const struct mb_la *la;
	struct archive *outer;
	char buf[1 << 16];
};

static la_ssize_t member_read(struct archive *a, void *ctx, const void **out)
{
	struct member *m = ctx;
	la_ssize_t n = m->la->read_data(m->outer, m->buf, sizeof m->buf);

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
	const struct mb_la *la = &u->la;
	struct member *m = xmalloc(sizeof *m);
	struct archive *in = la->read_new();
	int rc;

	m->la = la;
	m->outer = outer;
	la->read_support_filter_all(in);
	la->read_support_format_tar(in);
	if (la->read_open(in, m, NULL, member_read, NULL) != ARCHIVE_OK)
		rc = mb_errf(u->err, MB_EINTEGRITY, "%s: damaged member: %s", u->what,
			     la->error_string(in));
	else
		rc = unpack_all(u, in);
	la->read_free(in);
	free(m);
	return rc;
}

int mb_archive_extract_conda(const char *path, const char *dest, struct mb_err *err)
{
	const struct mb_la *la;
	struct archive *outer;
	struct archive_entry *e;
	struct unpack u;
	int r, rc = unpack_init(&u, path, dest, 0, err), members = 0;

	if (rc < 0) {
		unpack_free(&u);
		return rc;
	}
	la = &u.la;
	outer = la->read_new();
	la->read_support_format_zip(outer);
	if (la->read_open_filename(outer, path, 1 << 16) != ARCHIVE_OK)
		rc = mb_errf(err, MB_EINTEGRITY, "%s: not a .conda (zip): %s", path,
			     la->error_string(outer));
	while (rc == 0 && (r = la->read_next_header(outer, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN) {
			rc = mb_errf(err, MB_EINTEGRITY, "%s: damaged zip: %s", path,
				     la->error_string(outer));
			break;
		}
		if (la->entry_filetype(e) == AE_IFREG && conda_member(la->entry_pathname(e))) {
			rc = unpack_member(&u, outer);
			members++;
		}
	}
	if (rc == 0 && members == 0)
		rc = mb_errf(err, MB_EINTEGRITY, "%s: no info-*.tar.zst or pkg-*.tar.zst member", path);
	if (rc == 0)
		rc = apply_dir_modes(&u);
	la->read_free(outer);
	unpack_free(&u);
	return rc;
}

/* ---- a compressed stream, not an archive ---- */

int mb_archive_decode(const char *path, mb_archive_data_fn data, void *ctx,
		      struct mb_err *err)
{
	struct mb_la la;
	struct archive *a;
	struct archive_entry *e;
	char *buf;
	la_ssize_t n;
	int rc;

	if ((rc = mb_la_open(&la, err)) < 0)
		return rc;
	a = la.read_new();
	la.read_support_filter_all(a);
	la.read_support_format_raw(a);
	if (la.read_open_filename(a, path, 1 << 16) != ARCHIVE_OK ||
	    la.read_next_header(a, &e) != ARCHIVE_OK) {
		rc = mb_errf(err, MB_EINPUT, "cannot decompress %s: %s", path,
			     la.error_string(a) ? la.error_string(a) : "unknown format");
		la.read_free(a);
		return rc;
	}
	buf = xmalloc(1 << 20);
	while (rc == 0 && (n = la.read_data(a, buf, 1 << 20)) > 0)
		rc = data(ctx, buf, (size_t)n, err);
	if (rc == 0 && n < 0)
		rc = mb_errf(err, MB_EINPUT, "cannot decompress %s: %s", path,
			     la.error_string(a) ? la.error_string(a) : "corrupt data");
	free(buf);
	la.read_free(a);
	return rc;
}
