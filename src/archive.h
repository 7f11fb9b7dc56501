/* Reading archives with libarchive, safely: nothing an archive holds can
 * be written outside the directory it is unpacked into. */
#ifndef MB_ARCHIVE_H
#define MB_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

enum {
	MB_ARCHIVE_STRIP_TOP = 1 << 0, /* drop the single top directory, if there is one (source tarballs) */
	MB_ARCHIVE_NO_TIMES = 1 << 1,  /* leave files' mtimes at now (as pip does) */
};
/* Or'ed into flags: a .tar.bz2 decodes on at most n threads (0: one per
 * online CPU, up to 8), for a caller that runs several unpacks at once.
 * An archive under 1 MiB decodes on the calling thread whatever n is. */
#define MB_ARCHIVE_THREADS(n) (((unsigned)(n) & 0xffu) << 8)

/* Unpack the archive at `path` (tar.*, zip) into `dest`, which must exist.
 * Refused (MB_EINTEGRITY, naming the entry): absolute paths, "..", symlinks
 * whose target leaves dest, hard links to outside, device nodes, fifos,
 * sockets, a second entry for a path already unpacked, an entry whose path
 * goes through a symlink.  setuid/setgid bits are dropped; directory
 * modes are applied last. */
int mb_archive_extract(const char *path, const char *dest, unsigned flags, struct mb_err *err);

/* Does a symlink at rel (relative to dest) pointing at target stay inside
 * dest?  What mb_archive_extract requires of every symlink it makes. */
bool mb_archive_link_inside(const char *rel, const char *target);

/* Called for each regular file as it is written: mode() picks its mode
 * (given the archive's, without setuid/setgid), then its bytes in order,
 * then done() with its path inside dest and its mode.  Lets a caller hash
 * what it unpacks in the same pass.  Any hook may be NULL. */
struct mb_archive_hooks {
	unsigned (*mode)(void *ctx, const char *rel, unsigned mode);
	void (*data)(void *ctx, const char *rel, const void *buf, size_t len);
	int (*done)(void *ctx, const char *rel, unsigned mode, struct mb_err *err);
	void *ctx;
};

int mb_archive_extract_hooked(const char *path, const char *dest, unsigned flags,
			      const struct mb_archive_hooks *hooks, struct mb_err *err);

/* The same with up to `jobs` threads, for a zip (a wheel): a first pass
 * checks every name and splits the entries into runs of about equal size,
 * one per thread, each reading the zip by itself (zip members inflate
 * independently).  hooks, if not NULL, is an array of `jobs` hooks: thread
 * k calls hooks[k].  Other formats, and jobs <= 1, use one thread. */
int mb_archive_extract_jobs(const char *path, const char *dest, unsigned flags, int jobs,
			    const struct mb_archive_hooks *hooks, struct mb_err *err);

/* A .conda: every info-*.tar.* and pkg-*.tar.* member of the outer zip,
 * wherever it sits and in whatever order, is unpacked into dest as it
 * streams by (no temporary copy). */
int mb_archive_extract_conda(const char *path, const char *dest, struct mb_err *err);

/* Decompress the file at path (zstd, gzip, bzip2, xz: libarchive's
 * filters; a file that is not compressed passes as it is), handing the
 * bytes to data() in order, 1 MiB at a time: repodata.json.zst.  A data()
 * error stops it; corrupt input is MB_EINPUT. */
typedef int (*mb_archive_data_fn)(void *ctx, const char *p, size_t n, struct mb_err *err);
int mb_archive_decode(const char *path, mb_archive_data_fn data, void *ctx,
		      struct mb_err *err);

#endif
