/* The build cache: entries under their key, local or from mirrors
 * (buildcache.h). */
#define _XOPEN_SOURCE 700

#include "buildcache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buildkey.h"
#include "conda.h"
#include "digest.h"
#include "fsutil.h"
#include "tarpack.h"
#include "util.h"

#define MANIFEST_MAX (1u << 20)
#define RECORD_MAX (1u << 20)

/* ---- the manifest ---- */

static bool has_file(const struct mb_build_manifest *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(m->files[i].name, name))
			return true;
	return false;
}

/* "file SHA256 SIZE NAME", the whole line: a name cut short at the
 * buffer, or named twice, is a damaged manifest, not another file. */
static int manifest_line(const char *line, struct mb_build_manifest *m, struct mb_err *err)
{
	char sha[65], name[256];
	long long size;
	int end = 0;

	if (strncmp(line, "prefix ", 7) == 0) {
		free(m->prefix);
		m->prefix = xstrdup(line + 7);
	} else if (strncmp(line, "embeds_prefix ", 14) == 0) {
		m->embeds_prefix = strcmp(line + 14, "no") != 0;
		m->binary_prefix = strcmp(line + 14, "binary") == 0;
	} else if (sscanf(line, "file %64s %lld %255s%n", sha, &size, name, &end) == 3) {
		struct mb_build_file *f;
		if (!is_hex64(sha) || strchr(name, '/') || name[0] == '.' || size < 0 || line[end] ||
		    has_file(m, name))
			return mb_errf(err, MB_EINTEGRITY, "build manifest: bad entry '%.200s'", line);
		f = VEC_PUSH(m->files, m->n, m->cap); /* only whole entries: free() reads them */
		f->name = xstrdup(name);
		memcpy(f->sha256, sha, 65);
		f->size = size;
	} else if (strcmp(line, "mambaboot-build-output 1") != 0 && *line) {
		return mb_errf(err, MB_EINTEGRITY, "build manifest: unknown line '%.200s'", line);
	}
	return 0;
}

int mb_build_manifest_parse(const char *text, struct mb_build_manifest *m, struct mb_err *err)
{
	const char *p = text;
	int rc = 0;

	memset(m, 0, sizeof *m);
	if (strncmp(text, "mambaboot-build-output 1\n", 25) != 0)
		return mb_errf(err, MB_EINTEGRITY, "not a mambaboot build manifest");
	while (rc == 0 && p && *p) {
		size_t n = strcspn(p, "\n");
		char *line = xstrndup(p, n);
		rc = manifest_line(line, m, err);
		free(line);
		p = p[n] ? p + n + 1 : NULL;
	}
	if (rc < 0)
		mb_build_manifest_free(m);
	return rc;
}

void mb_build_manifest_free(struct mb_build_manifest *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->files[i].name);
	free(m->files);
	free(m->prefix);
	memset(m, 0, sizeof *m);
}

static char *manifest_text(const struct mb_build_manifest *m)
{
	struct sbuf b = { 0 };
	size_t i;

	sbuf_puts(&b, "mambaboot-build-output 1\n");
	if (m->prefix)
		sbuf_printf(&b, "prefix %s\nembeds_prefix %s\n", m->prefix,
			    m->binary_prefix ? "binary" : m->embeds_prefix ? "text" : "no");
	for (i = 0; i < m->n; i++)
		sbuf_printf(&b, "file %s %lld %s\n", m->files[i].sha256,
			    (long long)m->files[i].size, m->files[i].name);
	return sbuf_steal(&b);
}

int mb_buildcache_read_manifest(const char *entry, struct mb_build_manifest *m, struct mb_err *err)
{
	char *path = path_join(entry, "manifest"), *text = NULL;
	size_t len;
	int rc = read_file(path, MANIFEST_MAX, &text, &len, err);

	if (rc == 0)
		rc = mb_build_manifest_parse(text, m, err);
	free(text);
	free(path);
	return rc;
}

int mb_buildcache_check(const char *entry, const struct mb_build_manifest *m,
			struct mb_err *err)
{
	char hex[MB_SHA256_HEX];
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < m->n; i++) {
		char *path = path_join(entry, m->files[i].name);
		if (access(path, F_OK) < 0 && errno == ENOENT)
			rc = mb_errf(err, MB_EINTEGRITY, "build output %s: missing, its manifest names it",
				     path);
		else
			rc = mb_sha256_file(path, hex, err);
		if (rc == 0 && strcmp(hex, m->files[i].sha256) != 0)
			rc = mb_errf(err, MB_EINTEGRITY, "build output %s: sha256 is %s, its manifest says %s",
				     path, hex, m->files[i].sha256);
		free(path);
	}
	return rc;
}

/* ---- looking up ---- */

char *mb_buildcache_entry(const struct mb_cache *cache, const char *key)
{
	return xasprintf("%s/builds/%s", cache->dir, key);
}

/* Text relocates into any prefix; a binary keeps its length, so only
 * into a prefix that is not longer (else the build is made again). */
static bool usable_in(const struct mb_build_manifest *m, const char *prefix)
{
	return !m->prefix || !m->binary_prefix || strlen(prefix) <= strlen(m->prefix);
}

char *mb_buildcache_find(const struct mb_cache *cache, const char *key, const char *prefix)
{
	char *entry = mb_buildcache_entry(cache, key);
	struct mb_build_manifest m;
	struct mb_err err;
	bool ok = mb_buildcache_read_manifest(entry, &m, &err) == 0;

	if (ok) {
		ok = usable_in(&m, prefix);
		mb_build_manifest_free(&m);
	}
	if (!ok) {
		free(entry);
		return NULL;
	}
	return entry;
}

static bool is_plain_dir(const char *mirror)
{
	return !strstr(mirror, "://");
}

static void sink_restart(void *ctx)
{
	((struct sbuf *)ctx)->len = 0;
}

static int sink_data(void *ctx, const char *p, size_t n, struct mb_err *err)
{
	struct sbuf *b = ctx;

	if (b->len + n > MANIFEST_MAX)
		return mb_errf(err, MB_EINTEGRITY, "a build record or manifest over %u bytes",
			       MANIFEST_MAX);
	sbuf_add(b, p, n);
	return 0;
}

/* MIRROR/builds/NAME into memory: 0, 1 when it is not there, or an error.
 * A directory is read directly: no libcurl for a local mirror. */
static int mirror_read(const struct mb_fetch_opts *fo, const char *mirror, const char *name,
		       struct sbuf *out, struct mb_err *err)
{
	struct mb_fetch_sink sink = { sink_restart, sink_data, out };
	char *url, *text = NULL;
	size_t len;
	int rc;

	out->len = 0;
	if (is_plain_dir(mirror)) {
		char *path = xasprintf("%s/builds/%s", mirror, name);
		rc = access(path, F_OK) < 0 ? 1 : read_file(path, MANIFEST_MAX, &text, &len, err);
		if (rc == 0)
			sbuf_add(out, text, len);
		free(text);
		free(path);
		sbuf_puts(out, "");
		return rc;
	}
	if (!(url = mb_fetch_mirror_file_url(mirror, "builds", name, NULL)))
		return 1;
	rc = mb_fetch_get(fo, url, NULL, &sink, err);
	sbuf_puts(out, "");
	free(url);
	return rc;
}

/* The files of the manifest, fetched and verified into the cache's blobs,
 * then linked into `dir`. */
static int fetch_files(const struct mb_fetch_opts *fo, const char *mirror, const char *key,
		       const struct mb_build_manifest *m, const char *dir, struct mb_err *err)
{
	struct mb_fetch_opts one = *fo;
	struct mb_artifact *a = xcalloc(m->n + 1, sizeof *a);
	struct mb_fetch_item *items = xcalloc(m->n + 1, sizeof *items);
	char cwd[4096];
	size_t i;
	int rc;

	if (!getcwd(cwd, sizeof cwd)) /* a relative mirror directory is below it */
		snprintf(cwd, sizeof cwd, "/");
	one.mirrors = NULL;
	one.n_mirrors = 0;
	one.offline = false; /* the URL is the mirror's */
	for (i = 0; i < m->n; i++) {
		char *name = xasprintf("%s/%s", key, m->files[i].name);
		a[i].url = mb_fetch_mirror_file_url(mirror, "builds", name, cwd);
		a[i].sha256 = m->files[i].sha256;
		a[i].size = m->files[i].size;
		a[i].filename = m->files[i].name;
		items[i].artifact = &a[i];
		items[i].label = key;
		free(name);
	}
	rc = mb_fetch_artifacts(&one, items, m->n, err);
	for (i = 0; i < m->n; i++) {
		char *to = path_join(dir, m->files[i].name);
		if (rc == 0) /* linked where it can be: the blob is verified and synced */
			rc = clone_file(items[i].blob_path, to, NULL, err);
		if (rc == 0)
			rc = fsync_path(to, err); /* cheap unless it had to be copied */
		free(to);
		mb_fetch_item_release(&items[i]);
		free(a[i].url);
	}
	free(items);
	free(a);
	return rc;
}

/* Rename a whole entry made in tmp into place: a racing twin is as good.
 * Its files were synced as they were added (add_output, fetch_files), the directory
 * is synced before the rename and the parent after it, so that a crash
 * leaves either no entry or a whole one. */
static int publish(const struct mb_cache *cache, const char *tmp, const char *key,
		   struct mb_err *err)
{
	char *entry = mb_buildcache_entry(cache, key), *parent = NULL;
	int rc = fsync_path(tmp, err);

	if (rc == 0 && mkdir_parents(entry, err) < 0)
		rc = -err->code;
	else if (rc == 0 && rename(tmp, entry) < 0 && errno != EEXIST && errno != ENOTEMPTY)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot store %s in the cache", entry);
	if (rc == 0) {
		parent = xstrdup(entry);
		*strrchr(parent, '/') = '\0';
		rc = fsync_path(parent, err);
	}
	free(parent);
	free(entry);
	return rc;
}

/* A damaged entry would fail every later install the same way: it is
 * moved out of the way (atomically, then deleted), so that the next run
 * builds or fetches it again. */
int mb_buildcache_discard(const struct mb_cache *cache, const char *entry)
{
	char *tmp = xasprintf("%s/tmp/discard-%ld", cache->dir, (long)getpid());
	int rc = mkdir_parents(tmp, NULL) == 0 && rename(entry, tmp) == 0 ? 0 : -MB_EFAIL;

	remove_tree(rc == 0 ? tmp : entry, NULL);
	free(tmp);
	return rc;
}

static char *tmp_entry(const struct mb_cache *cache, const char *key)
{
	return xasprintf("%s/tmp/build-%s.%ld", cache->dir, key, (long)getpid());
}

/* A record is its key's preimage: another is not this build's. */
static int check_record(const char *record, const char *key, struct mb_err *err)
{
	char hex[MB_SHA256_HEX];
	int rc = mb_sha256_buf(record, strlen(record), hex, err);

	if (rc == 0 && strcmp(hex, key) != 0)
		rc = mb_errf(err, MB_EINTEGRITY, "the record of build %s hashes to %s", key, hex);
	return rc;
}

static int fetch_from(const struct mb_fetch_opts *fo, const char *mirror, const char *key,
		      const char *prefix, struct mb_err *err)
{
	struct sbuf man = { 0 }, rec = { 0 };
	struct mb_build_manifest m = { 0 };
	char *name = xasprintf("%s/manifest", key), *tmp = tmp_entry(fo->cache, key);
	int rc = mirror_read(fo, mirror, name, &man, err);

	free(name);
	name = xasprintf("%s/record", key);
	if (rc == 0 && (rc = mirror_read(fo, mirror, name, &rec, err)) == 0 &&
	    (rc = check_record(rec.s, key, err)) == 0 &&
	    (rc = mb_build_manifest_parse(man.s, &m, err)) == 0 && !usable_in(&m, prefix))
		rc = 1;
	remove_tree(tmp, NULL);
	if (rc == 0 && (rc = mkdir_p(tmp, 0755, err)) == 0 &&
	    (rc = fetch_files(fo, mirror, key, &m, tmp, err)) == 0) {
		char *mp = path_join(tmp, "manifest"), *rp = path_join(tmp, "record");
		if ((rc = write_file_atomic(mp, man.s, man.len, err)) == 0 &&
		    (rc = write_file_atomic(rp, rec.s, rec.len, err)) == 0)
			rc = publish(fo->cache, tmp, key, err);
		free(mp);
		free(rp);
	}
	if (rc < 0)
		mb_err_wrap(err, "build %s from mirror %s", key, mirror);
	remove_tree(tmp, NULL);
	mb_build_manifest_free(&m);
	sbuf_free(&man);
	sbuf_free(&rec);
	free(name);
	free(tmp);
	return rc;
}

int mb_buildcache_fetch(const struct mb_fetch_opts *fo, const char *key, const char *prefix,
			char **entry, struct mb_err *err)
{
	size_t i;
	int rc = 1;

	*entry = NULL;
	for (i = 0; rc == 1 && i < fo->n_mirrors; i++) {
		rc = fetch_from(fo, fo->mirrors[i], key, prefix, err);
		if (rc < 0 && err->code != MB_EINTEGRITY) {
			/* As for artifacts: a mirror that cannot be read is skipped. */
			struct mb_event e = { .type = MB_EV_WARN, .msg = err->msg };
			mb_emit(fo->ev, &e);
			rc = 1;
		}
	}
	/* The entry now in place: a racing twin's, or one already there that
	 * this prefix cannot use (then there is none: build). */
	if (rc == 0 && !(*entry = mb_buildcache_find(fo->cache, key, prefix)))
		rc = 1;
	return rc;
}

/* ---- storing ---- */

static bool holds(const char *text, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; n && i + n <= len; i++)
		if (text[i] == needle[0] && memcmp(text + i, needle, n) == 0)
			return true;
	return false;
}

/* Which files the build added hold the prefix's path, text or binary (a
 * NUL byte): what relocating the output into another prefix takes. */
static void scan_prefix(const char *prefix, const struct mb_owned *files,
			struct mb_build_manifest *m)
{
	size_t i;

	for (i = 0; i < files->n; i++) {
		char *path = path_join(prefix, files->v[i].path), *text = NULL;
		size_t len;
		if (files->v[i].type == MB_OWNED_FILE &&
		    read_file(path, (size_t)1 << 31, &text, &len, NULL) == 0 &&
		    holds(text, len, prefix)) {
			m->embeds_prefix = true;
			m->binary_prefix = m->binary_prefix || memchr(text, 0, len);
		}
		free(text);
		free(path);
	}
}

static int add_output(struct mb_build_manifest *m, const char *dir, const char *name,
		      struct mb_err *err)
{
	struct mb_build_file *f = VEC_PUSH(m->files, m->n, m->cap);
	char *path = path_join(dir, name);
	struct stat st;
	int rc = fsync_path(path, err); /* on disk before the entry is published */

	if (rc == 0)
		rc = mb_sha256_file(path, f->sha256, err);
	f->name = xstrdup(name);
	f->size = rc == 0 && stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
	free(path);
	return rc;
}

struct kept {
	const char *tmp;
	struct mb_build_manifest *m;
	struct mb_err *err;
};

static int keep_wheel(void *ctx, const char *wheel)
{
	struct kept *k = ctx;
	const char *base = strrchr(wheel, '/') + 1;
	char *to = path_join(k->tmp, base);
	int rc = copy_file(wheel, to, k->err);

	if (rc == 0)
		rc = add_output(k->m, k->tmp, base, k->err);
	free(to);
	return rc;
}

static int store_wheels(const char *wheel_dir, const char *tmp, struct mb_build_manifest *m,
			struct mb_err *err)
{
	struct kept k = { tmp, m, err };
	char *pattern = path_join(wheel_dir, "*.whl");
	int rc = glob_each(pattern, keep_wheel, &k);

	free(pattern);
	return rc;
}

static int store_files(const struct mb_build_output *out, const char *tmp,
		       struct mb_build_manifest *m, struct mb_err *err)
{
	char *tar = path_join(tmp, MB_BUILD_FILES_TAR);
	int rc = mb_tarpack(out->prefix, out->files, out->mtime, tar, err);

	free(tar);
	if (rc < 0)
		return rc;
	m->prefix = xstrdup(out->prefix);
	scan_prefix(out->prefix, out->files, m);
	return add_output(m, tmp, MB_BUILD_FILES_TAR, err);
}

static int write_entry_text(const char *tmp, const char *name, const char *text,
			    struct mb_err *err)
{
	char *path = path_join(tmp, name);
	int rc = write_file_atomic(path, text, strlen(text), err);

	free(path);
	return rc;
}

int mb_buildcache_store(const struct mb_cache *cache, const struct mb_build_output *out,
			struct mb_err *err)
{
	struct mb_build_manifest m = { 0 };
	char *tmp = tmp_entry(cache, out->key), *text = NULL;
	int rc;

	remove_tree(tmp, NULL);
	if ((rc = mkdir_p(tmp, 0755, err)) == 0 && out->files->n)
		rc = store_files(out, tmp, &m, err);
	if (rc == 0)
		rc = store_wheels(out->wheel_dir, tmp, &m, err);
	if (rc == 0)
		text = manifest_text(&m);
	if (rc == 0 && (rc = write_entry_text(tmp, "record", out->record, err)) == 0 &&
	    (rc = write_entry_text(tmp, "manifest", text, err)) == 0)
		rc = publish(cache, tmp, out->key, err);
	remove_tree(tmp, NULL);
	mb_build_manifest_free(&m);
	free(text);
	free(tmp);
	return rc;
}

/* ---- the key's lock ---- */

int mb_buildcache_lock(const struct mb_cache *cache, const char *key, const char *name,
		       double timeout, const struct mb_events *ev, int *fd, struct mb_err *err)
{
	char *id = xasprintf("build-%s", key);
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	double waited = 0;
	int rc;

	while ((rc = mb_cache_try_lock(cache, id, fd, err)) == 1) {
		if (waited == 0) {
			struct mb_event e = { .type = MB_EV_NOTE, .name = name,
					      .msg = "waiting for another process building it" };
			mb_emit(ev, &e);
		}
		if (timeout >= 0 && waited >= timeout) {
			rc = mb_errf(err, MB_ELOCK, "%s: another process has been building it for %.0f s (build key %s); --lock-timeout",
				     name, waited, key);
			break;
		}
		if (mb_interrupted(ev)) {
			rc = mb_errf(err, MB_EFAIL, "interrupted");
			break;
		}
		nanosleep(&pause, NULL);
		waited += 0.05;
	}
	free(id);
	return rc;
}

void mb_buildcache_unlock(const struct mb_cache *cache, const char *key, int fd)
{
	char *id = xasprintf("build-%s", key);

	mb_cache_unlock(cache, id, fd);
	free(id);
}

/* ---- why a key missed ---- */

struct nearest {
	char *diff;
	size_t lines;
};

static void consider(struct nearest *best, const char *record, const char *other)
{
	char *d = mb_build_record_diff(record, other);
	size_t lines = 0;
	const char *p;

	for (p = d; *p; p++)
		lines += *p == '\n';
	if (!best->diff || lines < best->lines) {
		free(best->diff);
		best->diff = d;
		best->lines = lines;
	} else {
		free(d);
	}
}

struct candidates {
	struct nearest *best;
	const char *record, *recipe;
};

static int consider_file(void *ctx, const char *path)
{
	struct candidates *c = ctx;
	char *text;
	size_t len;

	if (read_file(path, RECORD_MAX, &text, &len, NULL) < 0)
		return 0;
	if (mb_build_record_is_of(text, c->recipe))
		consider(c->best, c->record, text);
	free(text);
	return 0;
}

static void local_records(const struct mb_cache *cache, const char *record, const char *recipe,
			  struct nearest *best)
{
	struct candidates c = { best, record, recipe };
	char *pattern = xasprintf("%s/builds/*/record", cache->dir);

	glob_each(pattern, consider_file, &c);
	free(pattern);
}

static void mirror_records(const struct mb_fetch_opts *fo, const char *mirror,
			   const char *record, const char *recipe, struct nearest *best)
{
	struct sbuf keys = { 0 }, rec = { 0 };
	char *norm = name_normalize(recipe), *name = xasprintf("%s.keys", norm);
	struct mb_err err;
	const char *p;

	if (mirror_read(fo, mirror, name, &keys, &err) == 0) {
		for (p = keys.s; p && *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != '\0')) {
			char *key = xstrndup(p, strcspn(p, "\n")), *rn = xasprintf("%s/record", key);
			if (is_hex64(key) && mirror_read(fo, mirror, rn, &rec, &err) == 0)
				consider(best, record, rec.s);
			free(rn);
			free(key);
		}
	}
	sbuf_free(&keys);
	sbuf_free(&rec);
	free(name);
	free(norm);
}

char *mb_buildcache_why_miss(const struct mb_fetch_opts *fo, const char *record,
			     const char *recipe)
{
	struct nearest best = { 0 };
	size_t i;

	local_records(fo->cache, record, recipe, &best);
	for (i = 0; i < fo->n_mirrors; i++)
		mirror_records(fo, fo->mirrors[i], record, recipe, &best);
	return best.diff;
}

/* ---- relocation ---- */

static int relocate_one(const char *old, const char *prefix, struct mb_owned_file *f,
			struct mb_err *err)
{
	char *path = path_join(prefix, f->path), *data = NULL;
	size_t len;
	int rc = read_file(path, (size_t)1 << 31, &data, &len, err);

	if (rc == 0 && holds(data, len, old) &&
	    (rc = mb_conda_relocate(&data, &len, old, prefix, memchr(data, 0, len) != NULL,
				    f->path, err)) == 0 &&
	    (rc = write_file_atomic(path, data, len, err)) == 0 &&
	    (rc = chmod(path, f->mode & 07777) < 0 ? mb_errno(err, MB_EFAIL, errno, "chmod %s", path) : 0) == 0 &&
	    (rc = mb_sha256_buf(data, len, f->sha256, err)) == 0)
		f->size = (int64_t)len;
	free(data);
	free(path);
	return rc;
}

int mb_buildcache_relocate(const struct mb_build_manifest *m, const char *prefix,
			   struct mb_owned_file *files, size_t n, struct mb_err *err)
{
	size_t i;
	int rc = 0;

	if (!m->prefix || !m->embeds_prefix || strcmp(m->prefix, prefix) == 0)
		return 0;
	for (i = 0; rc == 0 && i < n; i++)
		if (files[i].type == MB_OWNED_FILE)
			rc = relocate_one(m->prefix, prefix, &files[i], err);
	return rc;
}
