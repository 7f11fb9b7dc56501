/* Conda packages: unpacked once into the cache (keyed by sha256, never by
 * file name), then linked into the prefix as conda does it. */
#define _XOPEN_SOURCE 700

#include "conda.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "cache.h"
#include "digest.h"
#include "fsutil.h"
#include "prefix.h"
#include "spawn.h"
#include "util.h"
#include "wtree.h"

#define SHEBANG_MAX 127
#define META_MAX (64u << 20)
/* In each cache entry made by unpack_to: its paths as read_meta found
 * them, with lstat's mode and size (see write_manifest). */
#define MANIFEST "info/.mambaboot-paths"
#define MANIFEST_VERSION "mambaboot-paths 2"

struct pkg_path {
	char *path;          /* as the package names it */
	char type;           /* f (hardlink), l (softlink), d (directory) */
	char *sha256;        /* NULL if the metadata has none */
	char *placeholder;   /* NULL: no relocation */
	bool binary;
	bool no_link;        /* always copied */
	bool stat_known;     /* mode and size from the entry's manifest */
	mode_t mode;         /* st_mode, type bits included */
	int64_t size;
};

struct pkg {
	const char *entry;   /* the unpacked cache entry */
	const char *sha256;  /* of the package it was unpacked from; NULL: read no manifest */
	enum mb_link_mode link; /* what linking from it into the root can do */
	json_t *index;       /* info/index.json */
	const char *name, *version, *build;
	bool noarch_python;
	json_t *entry_points; /* from info/link.json, or NULL */
	struct pkg_path *paths;
	size_t n_paths, cap_paths;
	const struct pkg_path **origin; /* of each file linked (paths_data) */
	size_t n_origin, cap_origin;
	struct mb_wtree from, to; /* the cache entry, the root */
};

static void pkg_free(struct pkg *p)
{
	size_t i;

	for (i = 0; i < p->n_paths; i++) {
		free(p->paths[i].path);
		free(p->paths[i].sha256);
		free(p->paths[i].placeholder);
	}
	free(p->paths);
	free(p->origin);
	json_decref(p->index);
	json_decref(p->entry_points);
	mb_wtree_close(&p->from);
	mb_wtree_close(&p->to);
}

/* ---- the cache entry ---- */

struct unpack_job {
	const char *pkg, *filename, *sha256;
	unsigned threads; /* for a .tar.bz2: MB_ARCHIVE_THREADS (0: every CPU) */
};

static void write_manifest(const char *entry, const char *sha256);
static int write_new(const char *dst, const char *data, size_t len, mode_t mode,
		     struct mb_err *err);

static int unpack_to(void *ctx, const char *dir, struct mb_err *err)
{
	const struct unpack_job *job = ctx;
	int rc;

	if (str_endswith(job->filename, ".conda"))
		rc = mb_archive_extract_conda(job->pkg, dir, err);
	else if (str_endswith(job->filename, ".tar.bz2"))
		rc = mb_archive_extract(job->pkg, dir, MB_ARCHIVE_THREADS(job->threads), err);
	else
		rc = mb_errf(err, MB_EINPUT, "%s: not a conda package (.conda or .tar.bz2)", job->filename);
	if (rc == 0)
		write_manifest(dir, job->sha256);
	return rc;
}

int mb_conda_unpack(const struct mb_cache *cache, const char *blob, const char *sha256,
		    const char *filename, unsigned threads, struct mb_err *err)
{
	struct unpack_job job = { blob, filename, sha256, threads };
	char *entry = mb_cache_unpacked(cache, sha256, unpack_to, &job, err);

	free(entry);
	return entry ? 0 : -err->code;
}

/* ---- metadata ---- */

static json_t *load_info(const struct pkg *p, const char *name, bool required,
			 struct mb_err *err)
{
	char *path = xasprintf("%s/info/%s", p->entry, name);
	json_t *j = NULL;

	if (access(path, F_OK) == 0) {
		if (json_read_whole(path, META_MAX, MB_EINTEGRITY, &j, err) < 0)
			mb_err_wrap(err, "info/%s", name);
	} else if (required) {
		mb_errf(err, MB_EINTEGRITY, "the package has no info/%s", name);
	}
	free(path);
	return j;
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static struct pkg_path *add_path(struct pkg *p, const char *path, char type)
{
	struct pkg_path *pp = VEC_PUSH(p->paths, p->n_paths, p->cap_paths);

	memset(pp, 0, sizeof *pp);
	pp->path = xstrdup(path);
	pp->type = type;
	return pp;
}

static int read_paths_json(struct pkg *p, json_t *root, struct mb_err *err)
{
	json_t *list = json_object_get(root, "paths");
	size_t i;

	if (!json_is_array(list))
		return mb_errf(err, MB_EINTEGRITY, "info/paths.json: 'paths' is not a list");
	for (i = 0; i < json_array_size(list); i++) {
		json_t *e = json_array_get(list, i);
		const char *path = jstr(e, "_path"), *type = jstr(e, "path_type");
		const char *sha = jstr(e, "sha256"), *ph = jstr(e, "prefix_placeholder");
		const char *mode = jstr(e, "file_mode");
		struct pkg_path *pp;

		if (!path || !path_is_contained(path, NULL))
			return mb_errf(err, MB_EINTEGRITY, "info/paths.json: unsafe or missing path in entry %zu", i);
		pp = add_path(p, path, type && !strcmp(type, "softlink") ? 'l'
				       : type && !strcmp(type, "directory") ? 'd' : 'f');
		pp->sha256 = sha && is_hex64(sha) ? xstrdup(sha) : NULL;
		pp->placeholder = ph && *ph ? xstrdup(ph) : NULL;
		pp->binary = mode && !strcmp(mode, "binary");
		pp->no_link = json_is_true(json_object_get(e, "no_link"));
	}
	return 0;
}

/* A payload path among the prefix's own records could forge another
 * package's conda-meta record or the installer's state: refused. */
static int check_reserved(const struct pkg *p, struct mb_err *err)
{
	static const char *const dirs[] = { "conda-meta", ".mambaboot" };
	size_t i, k, n;
	int rc = 0;

	for (i = 0; rc == 0 && i < p->n_paths; i++) {
		char *norm = xmalloc(strlen(p->paths[i].path) + 1);
		if (path_is_contained(p->paths[i].path, norm))
			for (k = 0; rc == 0 && k < sizeof dirs / sizeof *dirs; k++) {
				n = strlen(dirs[k]);
				if (!strncmp(norm, dirs[k], n) && (norm[n] == '\0' || norm[n] == '/'))
					rc = mb_errf(err, MB_EINTEGRITY,
						     "%s: '%.200s' is under %s/, which holds the prefix's records",
						     p->name ? p->name : "package", p->paths[i].path, dirs[k]);
			}
		free(norm);
	}
	return rc;
}

/* info/has_prefix lines: `placeholder mode path`, or just `path` (text,
 * conda's old default placeholder). */
static void apply_has_prefix(struct pkg *p, char *text)
{
	char *line, *save = NULL;
	size_t i;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char ph[1024] = "/opt/anaconda1anaconda2anaconda3", mode[16] = "text", path[PATH_MAX];
		if (sscanf(line, "%1023s %15s %4095[^\n]", ph, mode, path) != 3) {
			snprintf(path, sizeof path, "%s", line);
			strcpy(ph, "/opt/anaconda1anaconda2anaconda3");
		}
		for (i = 0; i < p->n_paths; i++) {
			if (strcmp(p->paths[i].path, path) == 0) {
				free(p->paths[i].placeholder);
				p->paths[i].placeholder = xstrdup(ph);
				p->paths[i].binary = !strcmp(mode, "binary");
			}
		}
	}
}

long mb_conda_parse_paths(const char *paths_json, size_t len, const char *has_prefix,
			  struct mb_err *err)
{
	struct pkg p = { .from.root = -1, .to.root = -1 };
	json_error_t jerr;
	json_t *root = json_loadb(paths_json, len, 0, &jerr);
	long rc;

	if (!root)
		return mb_errf(err, MB_EINTEGRITY, "info/paths.json: %s (line %d)", jerr.text,
			       jerr.line);
	rc = read_paths_json(&p, root, err);
	if (rc == 0)
		rc = check_reserved(&p, err);
	if (rc == 0 && has_prefix) {
		char *text = xstrdup(has_prefix);
		apply_has_prefix(&p, text);
		free(text);
	}
	if (rc == 0)
		rc = (long)p.n_paths;
	json_decref(root);
	pkg_free(&p);
	return rc;
}

/* No metadata at all (some synthetic packages): the payload is every file
 * but info/, as unpacked. */
static void walk_payload(struct pkg *p, const char *rel)
{
	char *dir = *rel ? path_join(p->entry, rel) : xstrdup(p->entry);
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL) {
		char *child, *full;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (!*rel && !strcmp(de->d_name, "info")))
			continue;
		child = *rel ? path_join(rel, de->d_name) : xstrdup(de->d_name);
		full = path_join(p->entry, child);
		if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode))
			walk_payload(p, child);
		else if (lstat(full, &st) == 0)
			add_path(p, child, S_ISLNK(st.st_mode) ? 'l' : 'f');
		free(child);
		free(full);
	}
	if (d)
		closedir(d);
	free(dir);
}

/* Paths not read from JSON must be UTF-8 for the conda-meta record. */
static int check_utf8(const struct pkg *p, struct mb_err *err)
{
	size_t i;

	for (i = 0; i < p->n_paths; i++)
		if (!utf8_valid(p->paths[i].path))
			return mb_errf(err, MB_EINTEGRITY,
				       "the package names a path that is not UTF-8 ('%.200s'): a conda-meta "
				       "record cannot hold it", p->paths[i].path);
	return 0;
}

/* Before paths.json (2017): info/files, and info/has_prefix. */
static int read_legacy(struct pkg *p, struct mb_err *err)
{
	char *files = xasprintf("%s/info/files", p->entry), *hp = xasprintf("%s/info/has_prefix", p->entry);
	char *text = NULL, *line, *save = NULL;
	size_t len;
	int rc;

	if (access(files, F_OK) != 0) {
		walk_payload(p, "");
		free(files);
		free(hp);
		return check_utf8(p, err);
	}
	rc = read_file(files, META_MAX, &text, &len, err);

	for (line = rc == 0 ? strtok_r(text, "\n", &save) : NULL; line && rc == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!path_is_contained(line, NULL))
			rc = mb_errf(err, MB_EINTEGRITY, "info/files: unsafe path '%.200s'", line);
		else
			add_path(p, line, 'f');
	}
	free(text);
	text = NULL;
	if (rc == 0 && access(hp, F_OK) == 0 && read_file(hp, META_MAX, &text, &len, err) == 0)
		apply_has_prefix(p, text);
	free(text);
	free(files);
	free(hp);
	return rc == 0 ? check_utf8(p, err) : rc;
}

static void read_noarch(struct pkg *p, struct mb_err *err)
{
	json_t *link = load_info(p, "link.json", false, err);
	json_t *na = json_object_get(p->index, "noarch"), *lna = json_object_get(link, "noarch");
	const char *type = json_is_string(na) ? json_string_value(na) : jstr(lna, "type");

	p->noarch_python = type && !strcmp(type, "python");
	if (json_is_array(json_object_get(lna, "entry_points")))
		p->entry_points = json_incref(json_object_get(lna, "entry_points"));
	json_decref(link);
}

static bool has_info(const struct pkg *p, const char *name)
{
	char *path = xasprintf("%s/info/%s", p->entry, name);
	bool has = access(path, F_OK) == 0;

	free(path);
	return has;
}

static int read_manifest(struct pkg *p);

static int read_meta(struct pkg *p, struct mb_err *err)
{
	json_t *paths;
	int rc = 0;

	if (!(p->index = load_info(p, "index.json", true, err)))
		return -err->code;
	p->name = jstr(p->index, "name");
	p->version = jstr(p->index, "version");
	p->build = jstr(p->index, "build");
	if (!p->name || !p->version || !p->build || !name_valid(p->name))
		return mb_errf(err, MB_EINTEGRITY, "info/index.json: no valid name, version and build");
	read_noarch(p, err);
	if (read_manifest(p) == 0)
		return 0;
	if (!has_info(p, "paths.json"))
		return read_legacy(p, err);
	if (!(paths = load_info(p, "paths.json", true, err)))
		return -err->code;
	rc = read_paths_json(p, paths, err);
	json_decref(paths);
	return rc;
}

/* ---- the entry's manifest ----
 *
 * A warm install read and parsed paths.json (jansson: an object per path)
 * and stat'ed every file of each package again: a quarter of its CPU.  The
 * unpacking (on its worker threads) writes what read_meta finds, with each
 * path's lstat, as one line a path, and read_meta takes that when it is
 * there and whole:
 *   TYPE MODE SIZE SHA256|- FLAGS PLACEHOLDER PATH   (tab-separated)
 * with MODE in octal, FLAGS "b" (binary placeholder) and "n" (no_link) or
 * "-", then "end COUNT".  A package whose paths or placeholders hold a tab
 * or a newline, or that lists a path the entry lacks, gets none: linking
 * then reads paths.json and reports it as before.  The first line names
 * the sha256 of the package it was made from, and linking reads only a
 * manifest naming the entry's own: a package cannot hold its own digest,
 * so one it ships (kept in entries of older versions) is never read. */
static bool manifest_safe(const char *s)
{
	return !s || !strpbrk(s, "\t\n");
}

static bool manifest_line(struct sbuf *b, struct pkg *p, const struct pkg_path *pp)
{
	const char *base;
	struct stat st;
	int dir = mb_wtree_parent(&p->from, pp->path, &base, NULL);

	if (dir < 0 || fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !manifest_safe(pp->path) ||
	    !manifest_safe(pp->placeholder))
		return false;
	sbuf_printf(b, "%c\t%o\t%lld\t%s\t%s%s%s\t%s\t%s\n", pp->type, (unsigned)st.st_mode,
		    (long long)st.st_size, pp->sha256 ? pp->sha256 : "-", pp->binary ? "b" : "",
		    pp->no_link ? "n" : "", pp->binary || pp->no_link ? "" : "-",
		    pp->placeholder ? pp->placeholder : "", pp->path);
	return true;
}

/* Best effort: an entry without one links as before. */
static void write_manifest(const char *entry, const char *sha256)
{
	struct pkg p = { .entry = entry, .from.root = -1, .to.root = -1 };
	struct sbuf b = { 0 };
	struct mb_err e;
	char *path = path_join(entry, MANIFEST);
	size_t i;
	bool ok;

	unlink(path); /* one the package shipped is not ours to read */
	ok = read_meta(&p, &e) == 0 && mb_wtree_open(&p.from, entry, false, &e) == 0;
	sbuf_printf(&b, MANIFEST_VERSION " %s\n", sha256);
	for (i = 0; ok && i < p.n_paths; i++)
		ok = manifest_line(&b, &p, &p.paths[i]);
	sbuf_printf(&b, "end %zu\n", p.n_paths);
	if (ok) /* in a directory not yet published: no temporary name, no sync (as the payload) */
		write_new(path, b.s, b.len, 0644, &e);
	free(path);
	sbuf_free(&b);
	pkg_free(&p);
}

/* Does st_mode's file type agree with the type letter? */
static bool type_matches(char type, unsigned long mode)
{
	return type == 'f' ? S_ISREG(mode) : type == 'l' ? S_ISLNK(mode) : S_ISDIR(mode);
}

/* One line: fields split at tabs, the path the rest. */
static bool parse_manifest_line(struct pkg *p, char *line)
{
	char *f[7], *mode_end, *end;
	struct pkg_path *pp;
	unsigned long mode;
	long long size;
	size_t k;

	for (k = 0; k < 6; k++) {
		f[k] = line;
		if (!(line = strchr(line, '\t')))
			return false;
		*line++ = '\0';
	}
	f[6] = line;
	mode = strtoul(f[1], &mode_end, 8);
	size = strtoll(f[2], &end, 10);
	if (!f[0][0] || !strchr("fld", f[0][0]) || f[0][1] || mode_end == f[1] || *mode_end ||
	    !type_matches(f[0][0], mode) || end == f[2] || *end || size < 0 ||
	    !path_is_contained(f[6], NULL) || (strcmp(f[3], "-") && !is_hex64(f[3])))
		return false;
	pp = add_path(p, f[6], f[0][0]);
	pp->sha256 = strcmp(f[3], "-") ? xstrdup(f[3]) : NULL;
	pp->binary = strchr(f[4], 'b') != NULL;
	pp->no_link = strchr(f[4], 'n') != NULL;
	pp->placeholder = *f[5] ? xstrdup(f[5]) : NULL;
	pp->mode = (mode_t)mode;
	pp->size = size;
	pp->stat_known = true;
	return true;
}

/* text[0..len) must be writable and NUL-terminated; a NUL inside it (a
 * torn write's zeroes) makes it no manifest. */
static int parse_manifest(struct pkg *p, char *text, size_t len)
{
	char *head = p->sha256 ? xasprintf(MANIFEST_VERSION " %s\n", p->sha256) : NULL;
	char *line, *next = NULL;
	size_t n = 0, count;
	bool ok = head && len && !memchr(text, '\0', len) && text[len - 1] == '\n' &&
		  !strncmp(text, head, strlen(head));

	for (line = ok ? text + strlen(head) : NULL; ok && line < text + len; line = next) {
		next = memchr(line, '\n', (size_t)(text + len - line)); /* found: text ends with one */
		*next++ = '\0';
		if (!strncmp(line, "end ", 4))
			break;
		ok = parse_manifest_line(p, line);
		n++;
	}
	ok = ok && line < text + len && sscanf(line, "end %zu", &count) == 1 && count == n &&
	     next == text + len;
	while (!ok && p->n_paths > 0) { /* torn or foreign: paths.json decides */
		struct pkg_path *pp = &p->paths[--p->n_paths];
		free(pp->path), free(pp->sha256), free(pp->placeholder);
	}
	free(head);
	return ok ? 0 : -1;
}

static int read_manifest(struct pkg *p)
{
	char *path = path_join(p->entry, MANIFEST), *text = NULL;
	size_t len;
	int rc = read_file(path, META_MAX, &text, &len, NULL) == 0 ? parse_manifest(p, text, len) : -1;

	free(text);
	free(path);
	return rc;
}

long mb_conda_parse_manifest(const char *text, size_t len, const char *sha256)
{
	struct pkg p = { .sha256 = sha256, .from.root = -1, .to.root = -1 };
	char *copy = xmalloc(len + 1);
	long rc;

	memcpy(copy, text, len);
	copy[len] = '\0';
	rc = parse_manifest(&p, copy, len) == 0 ? (long)p.n_paths : -1;
	free(copy);
	pkg_free(&p);
	return rc;
}

/* ---- relocation ---- */

static char *memfind(char *hay, size_t n, const char *needle, size_t m)
{
	size_t i;

	for (i = 0; m && i + m <= n; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

static void relocate_text(char **data, size_t *len, const char *ph, const char *prefix)
{
	size_t m = strlen(ph), k = strlen(prefix);
	struct sbuf out = { 0 };
	char *p = *data, *end = *data + *len, *hit;

	while ((hit = memfind(p, (size_t)(end - p), ph, m)) != NULL) {
		sbuf_add(&out, p, (size_t)(hit - p));
		sbuf_add(&out, prefix, k);
		p = hit + m;
	}
	sbuf_add(&out, p, (size_t)(end - p));
	free(*data);
	*len = out.len;
	*data = sbuf_steal(&out);
}

/* Each C string holding the placeholder is rewritten in place and padded
 * with NULs: offsets inside the binary stay where they were. */
static void relocate_binary(char *data, size_t len, const char *ph, const char *prefix)
{
	size_t m = strlen(ph), k = strlen(prefix);
	char *p = data, *end = data + len, *hit;

	while ((hit = memfind(p, (size_t)(end - p), ph, m)) != NULL) {
		char *nul = memchr(hit, '\0', (size_t)(end - hit));
		char *stop = nul ? nul : end, *src = hit, *dst = hit;
		while (src < stop) {
			if ((size_t)(stop - src) >= m && memcmp(src, ph, m) == 0) {
				memcpy(dst, prefix, k);
				dst += k;
				src += m;
			} else {
				*dst++ = *src++;
			}
		}
		memset(dst, 0, (size_t)(stop - dst));
		p = stop;
	}
}

/* A #! line longer than the kernel reads becomes `#!/usr/bin/env NAME`. */
static void shorten_shebang(char **data, size_t *len)
{
	char *nl, *interp, *name, *line;
	size_t n;

	if (*len < 2 || memcmp(*data, "#!", 2) != 0)
		return;
	nl = memchr(*data, '\n', *len);
	n = nl ? (size_t)(nl - *data) : *len;
	if (n <= SHEBANG_MAX)
		return;
	interp = xstrndup(*data + 2, n - 2);
	interp[strcspn(interp, " \t")] = '\0';
	name = strrchr(interp, '/');
	line = xasprintf("#!/usr/bin/env %s", name ? name + 1 : interp);
	{
		struct sbuf out = { 0 };
		sbuf_puts(&out, line);
		sbuf_add(&out, *data + n, *len - n);
		free(*data);
		*len = out.len;
		*data = sbuf_steal(&out);
	}
	free(line);
	free(interp);
}

int mb_conda_relocate(char **data, size_t *len, const char *placeholder, const char *prefix,
		      bool binary, const char *name, struct mb_err *err)
{
	if (binary) {
		if (strlen(prefix) > strlen(placeholder))
			return mb_errf(err, MB_EINPUT,
				       "%s: the prefix (%zu bytes) is longer than the package's placeholder (%zu bytes); choose a shorter --prefix",
				       name, strlen(prefix), strlen(placeholder));
		relocate_binary(*data, *len, placeholder, prefix);
		return 0;
	}
	relocate_text(data, len, placeholder, prefix);
	shorten_shebang(data, len);
	return 0;
}

/* ---- linking ---- */

/* Where a package path goes: noarch: python packages keep site-packages/
 * and python-scripts/ for the installer to place. */
static char *dest_path(const struct mb_stage_ctx *ctx, const struct pkg *p, const char *path)
{
	if (p->noarch_python && !strncmp(path, "site-packages/", 14))
		return xasprintf("lib/python%s/%s", ctx->python_xy, path);
	if (p->noarch_python && !strncmp(path, "python-scripts/", 15))
		return xasprintf("bin/%s", path + 15);
	return xstrdup(path);
}

static int write_new(const char *dst, const char *data, size_t len, mode_t mode,
		     struct mb_err *err)
{
	int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot create %s", dst);
	if (write_all(fd, data, len) < 0) {
		int e = errno;
		close(fd);
		unlink(dst);
		return mb_errno(err, MB_EFAIL, e, "cannot write %s", dst);
	}
	if (close(fd) < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot write %s", dst);
	return 0;
}

/* A file that names the prefix is always written fresh, never linked. */
static int write_relocated(const struct mb_stage_ctx *ctx, const struct pkg_path *pp,
			   const char *src, const char *dst, const char *rel, mode_t mode,
			   struct mb_owned *owned, struct mb_err *err)
{
	char *data, hex[MB_SHA256_HEX];
	size_t len;
	int rc = read_file(src, 1u << 31, &data, &len, err);

	if (rc == 0)
		rc = mb_conda_relocate(&data, &len, pp->placeholder, ctx->prefix, pp->binary, rel, err);
	if (rc == 0)
		rc = write_new(dst, data, len, mode, err);
	if (rc == 0 && (rc = mb_sha256_buf(data, len, hex, err)) == 0)
		mb_owned_add(owned, rel, MB_OWNED_FILE, hex, (int64_t)len, mode);
	free(data);
	return rc;
}

static int link_symlink(int sdir, const char *sbase, int ddir, const char *dbase,
			const char *rel, struct mb_owned *owned, struct mb_err *err)
{
	char target[PATH_MAX], hex[MB_SHA256_HEX];
	ssize_t n = readlinkat(sdir, sbase, target, sizeof target - 1);

	if (n < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot read link %s", rel);
	target[n] = '\0';
	if (symlinkat(target, ddir, dbase) < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot create link %s", rel);
	mb_sha256_buf(target, (size_t)n, hex, NULL);
	mb_owned_add(owned, rel, MB_OWNED_LINK, hex, n, 0777);
	return 0;
}

static int link_file(struct pkg *p, const struct pkg_path *pp, int sdir, const char *sbase,
		     int ddir, const char *dbase, const char *rel, const struct stat *st,
		     struct mb_owned *owned, struct mb_err *err)
{
	char hex[MB_SHA256_HEX], *src;
	enum mb_link_mode copy = MB_LINK_COPY;
	int rc = clone_at(sdir, sbase, ddir, dbase, pp->no_link ? &copy : &p->link, err);

	if (rc == 0 && !pp->sha256) {
		src = path_join(p->entry, pp->path);
		rc = mb_sha256_file(src, hex, err);
		free(src);
	}
	if (rc == 0)
		mb_owned_add(owned, rel, MB_OWNED_FILE, pp->sha256 ? pp->sha256 : hex,
			     st->st_size, st->st_mode & 07777);
	return rc;
}

/* One path of the package from the cache entry into the root, through the
 * package's two wtrees (no lookup of the whole path per file). */
static int link_one(const struct mb_stage_ctx *ctx, struct pkg *p,
		    const struct pkg_path *pp, struct mb_owned *owned, struct mb_err *err)
{
	char *rel = dest_path(ctx, p, pp->path), *src = NULL, *dst = NULL;
	const char *sbase, *dbase;
	int sdir = mb_wtree_parent(&p->from, pp->path, &sbase, err), ddir = -1, rc = 0;
	struct stat st = { .st_mode = pp->mode, .st_size = pp->size };

	if (sdir < 0 || (!pp->stat_known && fstatat(sdir, sbase, &st, AT_SYMLINK_NOFOLLOW) < 0))
		rc = mb_errf(err, MB_EINTEGRITY, "%s-%s lists '%s' but does not contain it",
			     p->name, p->version, pp->path);
	else if (pp->type == 'd')
		rc = mb_wtree_mkdir(&p->to, rel, err);
	else if ((ddir = mb_wtree_parent(&p->to, rel, &dbase, err)) < 0)
		rc = ddir;
	else if (S_ISLNK(st.st_mode))
		rc = link_symlink(sdir, sbase, ddir, dbase, rel, owned, err);
	else if (!S_ISREG(st.st_mode))
		rc = mb_errf(err, MB_EINTEGRITY, "%s: '%s' is not a regular file", p->name, pp->path);
	else if (pp->placeholder) {
		src = path_join(p->entry, pp->path);
		dst = path_join(ctx->root, rel);
		rc = write_relocated(ctx, pp, src, dst, rel, st.st_mode & 0777, owned, err);
	} else {
		rc = link_file(p, pp, sdir, sbase, ddir, dbase, rel, &st, owned, err);
	}
	free(src);
	free(dst);
	free(rel);
	return rc;
}

/* Refuse before writing anything: a binary placeholder shorter than the
 * prefix cannot be relocated. */
static int check_placeholders(const struct mb_stage_ctx *ctx, const struct pkg *p,
			      struct mb_err *err)
{
	size_t i;

	for (i = 0; i < p->n_paths; i++) {
		const struct pkg_path *pp = &p->paths[i];
		if (pp->placeholder && pp->binary && strlen(ctx->prefix) > strlen(pp->placeholder))
			return mb_errf(err, MB_EINPUT,
				       "%s (%s): the prefix %s (%zu bytes) is longer than its binary placeholder (%zu bytes); choose a shorter --prefix",
				       pp->path, p->name, ctx->prefix, strlen(ctx->prefix),
				       strlen(pp->placeholder));
	}
	if (p->noarch_python && !ctx->python_xy)
		return mb_errf(err, MB_EINPUT,
			       "%s is a noarch: python package, but the plan has no python recipe",
			       p->name);
	return 0;
}

/* ---- noarch: python entry points ---- */

static int write_entry_point(const struct mb_stage_ctx *ctx, const char *spec,
			     struct mb_owned *owned, struct mb_err *err)
{
	char name[256], module[256], func[256], hex[MB_SHA256_HEX];
	char *shebang, *text, *rel, *dst;
	size_t root_len;
	int rc;

	if (sscanf(spec, " %255[^= ] = %255[^: ] : %255s", name, module, func) != 3 ||
	    !path_is_contained(name, NULL) || strchr(name, '/'))
		return mb_errf(err, MB_EINTEGRITY, "info/link.json: bad entry point '%.100s'", spec);
	root_len = strcspn(func, ".");
	shebang = mb_python_shebang(ctx->python_exe ? ctx->python_exe : "/usr/bin/env python3");
	text = xasprintf("%s# -*- coding: utf-8 -*-\nimport re\nimport sys\n\nfrom %s import %.*s\n\n"
			 "if __name__ == '__main__':\n"
			 "    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])\n"
			 "    sys.exit(%s())\n", shebang, module, (int)root_len, func, func);
	rel = xasprintf("bin/%s", name);
	dst = path_join(ctx->root, rel);
	rc = mkdir_parents(dst, err);
	if (rc == 0)
		rc = write_new(dst, text, strlen(text), 0755, err);
	if (rc == 0 && (rc = mb_sha256_buf(text, strlen(text), hex, err)) == 0)
		mb_owned_add(owned, rel, MB_OWNED_FILE, hex, (int64_t)strlen(text), 0755);
	free(shebang);
	free(text);
	free(rel);
	free(dst);
	return rc;
}

static int write_entry_points(const struct mb_stage_ctx *ctx, const struct pkg *p,
			      struct mb_owned *owned, struct mb_err *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < json_array_size(p->entry_points); i++) {
		json_t *e = json_array_get(p->entry_points, i);
		if (json_is_string(e))
			rc = write_entry_point(ctx, json_string_value(e), owned, err);
	}
	return rc;
}

/* ---- conda-meta/<name>-<version>-<build>.json, as conda writes it ---- */

static char *channel_of(const char *url, const char *subdir)
{
	char *c = xstrdup(url), *slash = strrchr(c, '/');

	if (slash)
		*slash = '\0';
	slash = strrchr(c, '/');
	if (slash && subdir && !strcmp(slash + 1, subdir))
		*slash = '\0';
	return c;
}

/* The record's two long lists, `files` and `paths_data`, written as
 * text in jansson's layout (JSON_INDENT(2)) rather than built as 100s of
 * objects and dumped: a third of a warm install's CPU went there.  For
 * paths_data, each file as the package has it (sha256) and as the prefix
 * has it (sha256_in_prefix, size_in_bytes, after relocation); origin[i] is
 * the package path of owned->v[first + i], NULL for generated files. */
static void field(struct sbuf *b, const char *key, const char *value, bool last)
{
	sbuf_puts(b, "        \"");
	sbuf_puts(b, key);
	sbuf_puts(b, "\": ");
	sbuf_json_string(b, value);
	sbuf_puts(b, last ? "\n" : ",\n");
}

static void path_entry(struct sbuf *b, const struct mb_owned_file *f, const struct pkg_path *pp)
{
	bool ph = pp && pp->placeholder, nl = pp && pp->no_link;

	sbuf_puts(b, "      {\n");
	field(b, "_path", f->path, false);
	field(b, "path_type", f->type == MB_OWNED_LINK ? "softlink" : "hardlink", false);
	field(b, "sha256", pp && pp->sha256 ? pp->sha256 : f->sha256, false);
	field(b, "sha256_in_prefix", f->sha256, false);
	sbuf_puts(b, "        \"size_in_bytes\": ");
	sbuf_int(b, f->size);
	sbuf_puts(b, ph || nl ? ",\n" : "\n");
	if (ph) {
		field(b, "file_mode", pp->binary ? "binary" : "text", false);
		field(b, "prefix_placeholder", pp->placeholder, !nl);
	}
	if (nl)
		sbuf_puts(b, "        \"no_link\": true\n");
	sbuf_puts(b, "      }");
}

static void record_lists(struct sbuf *b, const struct pkg *p, const struct mb_owned *owned,
			 size_t first)
{
	size_t i;

	sbuf_puts(b, ",\n  \"files\": [");
	for (i = first; i < owned->n; i++) {
		sbuf_puts(b, i > first ? ",\n    " : "\n    ");
		sbuf_json_string(b, owned->v[i].path);
	}
	sbuf_puts(b, owned->n > first ? "\n  ],\n" : "],\n");
	sbuf_puts(b, "  \"paths_data\": {\n    \"paths_version\": 1,\n    \"paths\": [");
	for (i = first; i < owned->n; i++) {
		sbuf_puts(b, i > first ? ",\n" : "\n");
		path_entry(b, &owned->v[i], p->origin[i - first]);
	}
	sbuf_puts(b, owned->n > first ? "\n    ]\n  }\n}" : "]\n  }\n}");
}

/* What conda writes when index.json leaves a key out. */
static void set_default(json_t *rec, const char *key, json_t *value)
{
	if (!json_object_get(rec, key))
		json_object_set(rec, key, value);
	json_decref(value);
}

/* The spec that asked for the package: the recipe's constraint for the
 * package it names (its first artifact), name==version=build for the
 * dependencies it brings. */
static char *requested_spec(const struct pkg *p, const struct mb_conda_artifact *a)
{
	if (!a->requested)
		return xasprintf("%s==%s=%s", p->name, p->version, p->build);
	return *a->requested ? xasprintf("%s %s", p->name, a->requested) : xstrdup(p->name);
}

/* The package's own fields (index.json), then where it came from. */
static json_t *record_head(const struct mb_stage_ctx *ctx, const struct pkg *p,
			   const struct mb_conda_artifact *a, struct mb_err *err)
{
	json_t *rec = json_deep_copy(p->index);
	char *channel = channel_of(a->url, jstr(p->index, "subdir")), *spec, md5[MB_MD5_HEX];
	struct stat st;

	if (mb_cache_blob_md5(ctx->cache, a->sha256, md5, err) < 0) {
		json_decref(rec);
		free(channel);
		return NULL;
	}
	spec = requested_spec(p, a);
	json_object_set_new(rec, "build_string", json_string(p->build));
	set_default(rec, "build_number", json_integer(0));
	set_default(rec, "depends", json_array());
	set_default(rec, "constrains", json_array());
	set_default(rec, "track_features", json_string(""));
	set_default(rec, "features", json_string(""));
	set_default(rec, "license", json_string(""));
	set_default(rec, "timestamp", json_integer(0));
	json_object_set_new(rec, "fn", json_string(a->filename));
	json_object_set_new(rec, "url", json_string(a->url));
	json_object_set_new(rec, "channel", json_string(channel));
	json_object_set_new(rec, "md5", json_string(md5));
	json_object_set_new(rec, "sha256", json_string(a->sha256));
	json_object_set_new(rec, "size", json_integer(stat(a->blob, &st) == 0 ? st.st_size : 0));
	json_object_set_new(rec, "requested_spec", json_string(spec));
	free(spec);
	free(channel);
	return rec;
}

static int write_record(const struct mb_stage_ctx *ctx, const struct pkg *p,
			const struct mb_conda_artifact *a, struct mb_owned *owned, size_t first,
			struct mb_err *err)
{
	json_t *rec = record_head(ctx, p, a, err), *link = json_object();
	char *rel = xasprintf("conda-meta/%s-%s-%s.json", p->name, p->version, p->build);
	char *dst = path_join(ctx->root, rel), *head = NULL, hex[MB_SHA256_HEX];
	struct sbuf text = { 0 };
	int rc = rec ? 0 : -err->code;

	json_object_set_new(link, "source", json_string(p->entry));
	json_object_set_new(link, "type", json_integer(1));
	if (rc == 0) {
		json_object_set_new(rec, "link", link);
		json_object_set_new(rec, "extracted_package_dir", json_string(p->entry));
		json_object_set_new(rec, "package_tarball_full_path", json_string(a->blob));
		json_object_set_new(rec, "installer", json_string("mambaboot"));
		head = json_dumps(rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER); /* ends "\n}" */
		sbuf_add(&text, head, strlen(head) - 2);
		record_lists(&text, p, owned, first);
		rc = mkdir_parents(dst, err);
	} else {
		json_decref(link);
	}
	if (rc == 0)
		rc = write_new(dst, text.s, text.len, 0644, err);
	if (rc == 0 && (rc = mb_sha256_buf(text.s, text.len, hex, err)) == 0)
		mb_owned_add(owned, rel, MB_OWNED_FILE, hex, (int64_t)text.len, 0644);
	sbuf_free(&text);
	free(head);
	free(rel);
	free(dst);
	json_decref(rec);
	return rc;
}

/* ---- the stage ---- */

/* owned->v[first + k] came from p->origin[k]: each file link_one or the
 * entry points added since the last call, from pp (NULL: generated). */
static void note_origin(struct pkg *p, const struct pkg_path *pp, const struct mb_owned *owned,
			size_t first)
{
	while (p->n_origin < owned->n - first)
		*VEC_PUSH(p->origin, p->n_origin, p->cap_origin) = pp;
}

static int link_all(const struct mb_stage_ctx *ctx, struct pkg *p, struct mb_owned *owned,
		    size_t first, struct mb_err *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < p->n_paths; i++) {
		if (mb_interrupted(ctx->ev))
			rc = mb_errf(err, MB_EFAIL, "interrupted");
		else
			rc = link_one(ctx, p, &p->paths[i], owned, err);
		note_origin(p, &p->paths[i], owned, first);
	}
	if (rc == 0 && p->noarch_python)
		rc = write_entry_points(ctx, p, owned, err);
	note_origin(p, NULL, owned, first);
	return rc;
}

int mb_conda_install(const struct mb_stage_ctx *ctx, const struct mb_conda_artifact *a,
		     struct mb_owned *owned, struct mb_err *err)
{
	struct pkg p = { .link = MB_LINK_REFLINK, .from.root = -1, .to.root = -1 };
	struct unpack_job job = { a->blob, a->filename, a->sha256, 0 };
	size_t first = owned->n;
	char *entry;
	int rc;

	if (!ctx->cache)
		return mb_errf(err, MB_EFAIL, "internal: conda packages are unpacked into the cache");
	if (!(entry = mb_cache_unpacked(ctx->cache, a->sha256, unpack_to, &job, err)))
		return -err->code;
	p.entry = entry;
	p.sha256 = a->sha256;
	if (ctx->link_start)
		p.link = *ctx->link_start;
	rc = read_meta(&p, err);
	if (rc == 0)
		rc = check_reserved(&p, err);
	if (rc == 0 && (rc = mb_wtree_open(&p.from, entry, false, err)) == 0 &&
	    (rc = mb_wtree_open(&p.to, ctx->root, true, err)) == 0)
		p.to.made = ctx->made_dirs;
	if (rc == 0)
		rc = check_placeholders(ctx, &p, err);
	if (rc == 0)
		rc = link_all(ctx, &p, owned, first, err);
	if (rc == 0 && ctx->link_start && p.link == MB_LINK_HARDLINK)
		*ctx->link_start = MB_LINK_HARDLINK; /* never copies: one EMLINK is no rule */
	if (rc == 0)
		rc = write_record(ctx, &p, a, owned, first, err);
	if (rc < 0)
		mb_err_wrap(err, "%s", a->filename);
	pkg_free(&p);
	free(entry);
	return rc;
}

/* ---- link scripts ---- */

static int run_post_link(const struct mb_stage_ctx *ctx, const char *script, json_t *rec,
			 struct mb_err *err)
{
	char *argv[] = { "/bin/sh", (char *)script, NULL }, *env[8];
	const char *name = jstr(rec, "name");
	struct sbuf out = { 0 };
	int status = 0, rc, k = 0;

	env[k++] = xasprintf("PREFIX=%s", ctx->prefix);
	env[k++] = xasprintf("PKG_NAME=%s", name);
	env[k++] = xasprintf("PKG_VERSION=%s", jstr(rec, "version"));
	env[k++] = xasprintf("PKG_BUILDNUM=%lld",
			     (long long)json_integer_value(json_object_get(rec, "build_number")));
	env[k++] = xstrdup("PATH=/usr/bin:/bin");
	env[k++] = xasprintf("HOME=%s", getenv("HOME") ? getenv("HOME") : "/");
	env[k] = NULL;
	rc = spawn_capture(argv, env, ctx->prefix, &out, 1 << 16, 600, &status, err);
	if (rc == 0 && status != 0)
		rc = mb_errf(err, MB_EFAIL, "the post-link script of %s failed (exit %d): %.200s",
			     name, status, out.s ? out.s : "");
	while (k--)
		free(env[k]);
	sbuf_free(&out);
	return rc;
}

static bool owns(const struct mb_owned *owned, const char *path)
{
	size_t i;

	for (i = 0; i < owned->n; i++)
		if (!strcmp(owned->v[i].path, path))
			return true;
	return false;
}

/* Whether any of the files can be a post-link script (bin/.NAME-post-link.sh):
 * without one, no record needs reading. */
static bool any_post_link(const struct mb_owned *owned)
{
	size_t i;

	for (i = 0; i < owned->n; i++)
		if (!strncmp(owned->v[i].path, "bin/.", 5) &&
		    str_endswith(owned->v[i].path, "-post-link.sh"))
			return true;
	return false;
}

/* For each conda-meta record among the files: its bin/.NAME-post-link.sh. */
int mb_conda_post_link(const struct mb_stage_ctx *ctx, const struct mb_owned *owned,
		       struct mb_err *err)
{
	size_t i;
	int rc = 0;

	if (!any_post_link(owned))
		return 0;
	for (i = 0; rc == 0 && i < owned->n; i++) {
		const char *path = owned->v[i].path;
		char *full, *script;
		json_t *rec;

		if (strncmp(path, "conda-meta/", 11) || !str_endswith(path, ".json"))
			continue;
		full = path_join(ctx->prefix, path);
		json_read_whole(full, META_MAX, MB_EFAIL, &rec, NULL);
		free(full);
		if (!rec || !jstr(rec, "name") || !jstr(rec, "version")) {
			json_decref(rec);
			continue;
		}
		script = xasprintf("bin/.%s-post-link.sh", jstr(rec, "name"));
		if (owns(owned, script)) {
			full = path_join(ctx->prefix, script);
			rc = run_post_link(ctx, full, rec, err);
			free(full);
		}
		free(script);
		json_decref(rec);
	}
	return rc;
}

/* ---- packages another tool removed ---- */

/* The length of a package file name without its .tar.bz2 or .conda. */
static size_t dist_len(const char *filename)
{
	static const char *const exts[] = { ".tar.bz2", ".conda" };
	size_t len = strlen(filename), e;

	for (e = 0; e < 2; e++)
		if (len > strlen(exts[e]) && !strcmp(filename + len - strlen(exts[e]), exts[e]))
			len -= strlen(exts[e]);
	return len;
}

static bool in_prefix_exists(const char *prefix, const char *rel)
{
	char *full = path_join(prefix, rel);
	struct stat st;
	bool there = lstat(full, &st) == 0;

	free(full);
	return there;
}

/* The common case, without reading the file list: every artifact's file
 * name (name-version-build) names a record that is there. */
static bool records_by_filename(const char *prefix, const struct mb_state_recipe *r)
{
	size_t k;

	for (k = 0; k < r->n_artifacts; k++) {
		const char *f = r->artifacts[k].filename;
		char *rel = xasprintf("conda-meta/%.*s.json", (int)dist_len(f), f);
		bool there = in_prefix_exists(prefix, rel);
		free(rel);
		if (!there)
			return false;
	}
	return r->n_artifacts > 0;
}

bool mb_conda_is_record(const char *path)
{
	return !strncmp(path, "conda-meta/", 11) && !strchr(path + 11, '/') &&
	       str_endswith(path, ".json");
}

size_t mb_conda_gone(const struct mb_prefix *p, struct mb_state_recipe *r, char ***gone)
{
	struct mb_err err = { 0 };
	size_t i, n = 0, cap = 0;

	*gone = NULL;
	if (strcmp(r->kind, "conda") != 0 || records_by_filename(p->path, r) ||
	    mb_prefix_load_files(p, r, &err) < 0)
		return 0;
	for (i = 0; i < r->files.n; i++)
		if (r->files.v[i].type == MB_OWNED_FILE && mb_conda_is_record(r->files.v[i].path) &&
		    !in_prefix_exists(p->path, r->files.v[i].path))
			*VEC_PUSH(*gone, n, cap) = xstrdup(r->files.v[i].path);
	r->removed_elsewhere = n > 0;
	return n;
}

bool mb_conda_removed_elsewhere(const struct mb_prefix *p, struct mb_state_recipe *r)
{
	char **gone;
	size_t n = mb_conda_gone(p, r, &gone);

	strv_free(gone, n);
	return n > 0;
}

/* ---- conda-meta/history ---- */

/* "conda-forge/linux-64::name-version-build" for each conda artifact of s
 * (with `asked`, only each recipe's first: the package it asks for), as
 * conda names a package in its history; none of a recipe another tool
 * removed packages of (that tool wrote their "-" lines). */
static void dists(const struct mb_state *s, bool asked, char ***out, size_t *n)
{
	static const char anaconda[] = "https://conda.anaconda.org/";
	size_t i, k, cap = 0;

	*out = NULL;
	*n = 0;
	for (i = 0; i < s->n_recipes; i++) {
		size_t n_art = s->recipes[i].n_artifacts;
		if (strcmp(s->recipes[i].kind, "conda") != 0 || s->recipes[i].removed_elsewhere)
			continue;
		for (k = 0; k < (asked && n_art ? 1 : n_art); k++) {
			const struct mb_state_artifact *a = &s->recipes[i].artifacts[k];
			const char *url = a->url ? a->url : "", *slash = strrchr(url, '/');
			size_t len = dist_len(a->filename), skip = 0;
			if (!strncmp(url, anaconda, sizeof anaconda - 1))
				skip = sizeof anaconda - 1;
			*VEC_PUSH(*out, *n, cap) = xasprintf("%.*s::%.*s",
				slash ? (int)(slash - url - skip) : 0, url + skip, (int)len, a->filename);
		}
	}
	if (*n)
		qsort(*out, *n, sizeof **out, strptr_cmp);
}

static bool has(char **v, size_t n, const char *s)
{
	return n && bsearch(&s, v, n, sizeof *v, strptr_cmp);
}

/* A transaction's conda packages, before and after. */
struct history {
	char **was, **now;             /* every dist */
	size_t n_was, n_now;
	char **asked_was, **asked_now; /* the packages the recipes ask for */
	size_t n_asked_was, n_asked_now;
};

static void history_read(struct history *h, const struct mb_state *before,
			 const struct mb_state *after)
{
	dists(before, false, &h->was, &h->n_was);
	dists(after, false, &h->now, &h->n_now);
	dists(before, true, &h->asked_was, &h->n_asked_was);
	dists(after, true, &h->asked_now, &h->n_asked_now);
}

static void history_free(struct history *h)
{
	strv_free(h->was, h->n_was);
	strv_free(h->now, h->n_now);
	strv_free(h->asked_was, h->n_asked_was);
	strv_free(h->asked_now, h->n_asked_now);
}

static bool history_changed(const struct history *h)
{
	size_t i;

	for (i = 0; h->n_was == h->n_now && i < h->n_now; i++)
		if (strcmp(h->was[i], h->now[i]) != 0)
			return true;
	return h->n_was != h->n_now;
}

/* The package name of "channel::name-version-build". */
static char *dist_name(const char *dist)
{
	const char *stem = strstr(dist, "::");
	char *name = xstrdup(stem ? stem + 2 : dist), *dash;
	int k;

	for (k = 0; k < 2 && (dash = strrchr(name, '-')) != NULL; k++)
		*dash = '\0';
	return name;
}

/* The top-level "requested_spec" of a record as write_record lays it out
 * (JSON_INDENT(2): a top-level key alone starts a line with two spaces, and
 * no string holds a raw newline), decoded by jansson; the record's files
 * and paths_data that follow it are not parsed.  NULL: not found so. */
static json_t *spec_by_layout(char *text, size_t len)
{
	static const char key[] = "\n  \"requested_spec\": ";
	char *at = memfind(text, len, key, sizeof key - 1);
	json_t *v;

	if (!at)
		return NULL;
	at += sizeof key - 1;
	v = json_loadb(at, len - (size_t)(at - text), JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, NULL);
	if (v && !json_is_string(v)) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

/* A record's requested_spec (a new reference), or NULL. */
static json_t *record_spec(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	json_t *rec = NULL, *v;

	if (read_file(path, META_MAX, &text, &len, NULL) < 0)
		return NULL;
	if (!(v = spec_by_layout(text, len)) && (rec = json_loadb(text, len, 0, NULL))) {
		v = json_object_get(rec, "requested_spec");
		v = json_is_string(v) ? json_incref(v) : NULL;
	}
	json_decref(rec);
	free(text);
	return v;
}

/* What the record of a linked dist says asked for it, else its name. */
static char *linked_spec(const char *prefix, const char *dist)
{
	const char *stem = strstr(dist, "::");
	char *path = xasprintf("%s/conda-meta/%s.json", prefix, stem ? stem + 2 : dist), *spec;
	json_t *given = record_spec(path);

	spec = given && *json_string_value(given) ? xstrdup(json_string_value(given))
						  : dist_name(dist);
	json_decref(given);
	free(path);
	return spec;
}

/* conda's "# update specs: ['a', 'b >=1']": the packages asked for that
 * came in (their records' requested_spec), or "# remove specs: [...]":
 * those that went (their names). */
static void history_specs(struct sbuf *b, const char *prefix, bool remove,
			  const struct history *h)
{
	char **from = remove ? h->asked_was : h->asked_now, **other = remove ? h->asked_now : h->asked_was;
	size_t n_from = remove ? h->n_asked_was : h->n_asked_now;
	size_t n_other = remove ? h->n_asked_now : h->n_asked_was, i, n = 0;

	for (i = 0; i < n_from; i++) {
		char *spec;
		if (has(other, n_other, from[i]))
			continue;
		spec = remove ? dist_name(from[i]) : linked_spec(prefix, from[i]);
		sbuf_printf(b, "%s'%s'", n++ ? ", " : remove ? "# remove specs: [" : "# update specs: [",
			    spec);
		free(spec);
	}
	if (n)
		sbuf_puts(b, "]\n");
}

static int append_history(const char *prefix, const struct history *h, const char *cmd,
			  bool remove, struct mb_err *err)
{
	char *dir = path_join(prefix, "conda-meta"), *path = path_join(dir, "history"), when[32];
	struct sbuf b = { 0 };
	time_t t = time(NULL);
	struct tm tm;
	size_t i;
	int fd, rc = mkdir_p(dir, 0755, err);

	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	sbuf_printf(&b, "==> %s <==\n# cmd: %s\n# mambaboot version: %s\n", when, cmd,
		    MB_VERSION_STRING);
	for (i = 0; i < h->n_was; i++)
		if (!has(h->now, h->n_now, h->was[i]))
			sbuf_printf(&b, "-%s\n", h->was[i]);
	for (i = 0; i < h->n_now; i++)
		if (!has(h->was, h->n_was, h->now[i]))
			sbuf_printf(&b, "+%s\n", h->now[i]);
	history_specs(&b, prefix, remove, h);
	fd = rc < 0 ? -1 : open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (rc == 0 && (fd < 0 || write_all(fd, b.s, b.len) < 0))
		rc = mb_errno(err, MB_EFAIL, errno, "cannot write %s", path);
	if (fd >= 0)
		close(fd);
	sbuf_free(&b);
	free(path);
	free(dir);
	return rc;
}

void mb_conda_history(struct mb_prefix *p, const char *verb, char *const *names, size_t n)
{
	struct mb_state before = p->state;
	struct mb_err err = { 0 };
	struct sbuf cmd = { 0 };
	struct history h;
	char *state = path_join(p->dir, "state.json");
	size_t i;
	int rc;

	memset(&p->state, 0, sizeof p->state);
	rc = mb_state_read(state, &p->state, &err);
	free(state);
	if (rc < 0) {
		p->state = before;
		return;
	}
	history_read(&h, &before, &p->state);
	sbuf_printf(&cmd, "mambaboot %s", verb);
	for (i = 0; i < n; i++)
		sbuf_printf(&cmd, " %s", names[i]);
	if (history_changed(&h) &&
	    append_history(p->path, &h, cmd.s, !strcmp(verb, "remove"), &err) < 0) {
		struct mb_event e = { .type = MB_EV_WARN, .msg = err.msg };
		mb_emit(p->ev, &e);
	}
	sbuf_free(&cmd);
	history_free(&h);
	mb_state_free(&before);
}
