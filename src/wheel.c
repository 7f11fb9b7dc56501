/* Wheels, as pip installs them: tags checked, the one .dist-info found,
 * RECORD verified as the bytes are unpacked, the schemes mapped, `#!python`
 * rewritten, console and gui scripts written as pip writes them, and a new
 * RECORD, INSTALLER and REQUESTED so that pip can list, check and uninstall.
 *
 * A wheel is unpacked once into the cache (keyed by sha256, with a manifest
 * of digests and modes) and linked from there, like uv. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE /* MAP_POPULATE */

#include "wheel.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "cache.h"
#include "digest.h"
#include "fsutil.h"
#include "util.h"
#include "wtree.h"

#define META_MAX (16u << 20)

/* ---- the file name and its tags (PEP 425) ---- */

struct wheel_name {
	char *buf;
	const char *dist, *version, *py, *abi, *plat;
};

static int parse_name(const char *filename, struct wheel_name *w, struct mb_err *err)
{
	char *parts[6], *p;
	size_t n = 0;

	memset(w, 0, sizeof *w);
	if (!str_endswith(filename, ".whl"))
		return mb_errf(err, MB_EINPUT, "%s: not a wheel file name", filename);
	w->buf = xstrndup(filename, strlen(filename) - 4);
	for (p = w->buf; n < 6;) {
		parts[n++] = p;
		p = strchr(p, '-');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (p || (n != 5 && n != 6)) {
		free(w->buf);
		w->buf = NULL;
		return mb_errf(err, MB_EINPUT, "%s: not NAME-VERSION[-BUILD]-PY-ABI-PLATFORM.whl", filename);
	}
	w->dist = parts[0];
	w->version = parts[1];
	w->py = parts[n - 3];
	w->abi = parts[n - 2];
	w->plat = parts[n - 1];
	return 0;
}

/* Does one of the dot-separated tags in `set` satisfy ok(tag)? */
static bool any_tag(const char *set, bool (*ok)(const char *tag, const void *ctx),
		    const void *ctx)
{
	char *copy = xstrdup(set), *t, *save = NULL;
	bool found = false;

	for (t = strtok_r(copy, ".", &save); t && !found; t = strtok_r(NULL, ".", &save))
		found = ok(t, ctx);
	free(copy);
	return found;
}

struct pyabi {
	int major, minor;
	const char *abi;
};

/* pip's compatible tags for CPython X.Y: cpXY with its own ABI, abi3 or
 * none; cpXy (y <= Y) with abi3; pyX, pyXy (y <= Y) with none. */
static bool py_tag_ok(const char *tag, const void *ctx)
{
	const struct pyabi *t = ctx;
	int maj, min = -1, n = 0;
	bool cp = !strncmp(tag, "cp", 2), py = !strncmp(tag, "py", 2);

	if ((!cp && !py) || sscanf(tag + 2, "%1d%d%n", &maj, &min, &n) < 1)
		return false;
	if (maj != t->major || (min > t->minor))
		return false;
	if (!strcmp(t->abi, "none"))
		return py || (cp && min == t->minor);
	if (!strcmp(t->abi, "abi3"))
		return cp && min >= 2;
	/* cp310 / cp310m / cp310d ...: the interpreter's own ABI */
	return cp && min == t->minor && !strncmp(t->abi, tag, strlen(tag));
}

static bool abi_tag_ok(const char *abi, const void *ctx)
{
	struct pyabi t = *(const struct pyabi *)ctx;
	const char *py = t.abi; /* the python tag set, passed through */

	t.abi = abi;
	return any_tag(py, py_tag_ok, &t);
}

struct plat_ctx {
	const struct mb_host *host;
	int need_major, need_minor; /* the glibc a refused manylinux tag wanted */
};

static bool glibc_at_least(const char *have, int major, int minor)
{
	int a = 0, b = 0;
	return have && sscanf(have, "%d.%d", &a, &b) >= 1 && (a > major || (a == major && b >= minor));
}

static bool plat_tag_ok(const char *tag, const void *vctx)
{
	struct plat_ctx *ctx = (struct plat_ctx *)vctx;
	const char *m = ctx->host->machine;
	size_t ml = strlen(m);
	int maj = 0, min = 0, n = 0;

	if (!strcmp(tag, "any"))
		return true;
	if (strlen(tag) <= ml || strcmp(tag + strlen(tag) - ml, m) != 0 || tag[strlen(tag) - ml - 1] != '_')
		return false;
	if (!strncmp(tag, "linux_", 6))
		return strlen(tag) == 6 + ml;
	if (!strncmp(tag, "manylinux1_", 11))
		maj = 2, min = 5;
	else if (!strncmp(tag, "manylinux2010_", 14))
		maj = 2, min = 12;
	else if (!strncmp(tag, "manylinux2014_", 14))
		maj = 2, min = 17;
	else if (sscanf(tag, "manylinux_%d_%d_%n", &maj, &min, &n) != 2 || n == 0)
		return false;
	if (glibc_at_least(ctx->host->glibc, maj, min))
		return true;
	if (!ctx->need_major || maj < ctx->need_major || (maj == ctx->need_major && min < ctx->need_minor))
		ctx->need_major = maj, ctx->need_minor = min;
	return false;
}

int mb_wheel_check_tags(const char *filename, const char *python_xy,
			const struct mb_host *host, struct mb_err *err)
{
	struct plat_ctx pc = { host, 0, 0 };
	struct wheel_name w;
	struct pyabi t;
	int rc = parse_name(filename, &w, err);

	if (rc < 0)
		return rc;
	if (python_xy && sscanf(python_xy, "%d.%d", &t.major, &t.minor) == 2) {
		t.abi = w.py;
		if (!any_tag(w.abi, abi_tag_ok, &t))
			rc = mb_errf(err, MB_EINPUT,
				     "%s is built for %s-%s, which Python %s cannot load", filename,
				     w.py, w.abi, python_xy);
	}
	if (rc == 0 && !any_tag(w.plat, plat_tag_ok, &pc)) {
		if (pc.need_major)
			rc = mb_errf(err, MB_EINPUT,
				     "%s needs glibc >= %d.%d (%s), and this host has %s%s", filename,
				     pc.need_major, pc.need_minor, w.plat, host->glibc ? "glibc " : "no glibc",
				     host->glibc ? host->glibc : "");
		else
			rc = mb_errf(err, MB_EINPUT, "%s is built for %s, not for this %s Linux host",
				     filename, w.plat, host->machine);
	}
	free(w.buf);
	return rc;
}

/* ---- RECORD ---- */

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* "sha256=<urlsafe base64, no padding>" -> 64 hex digits. */
static bool decode_sha256(const char *field, size_t len, char hex[65])
{
	unsigned char raw[33];
	size_t i, n = 0;
	unsigned acc = 0;
	int bits = 0;

	if (len < 7 || strncmp(field, "sha256=", 7) != 0)
		return false;
	for (i = 7; i < len && field[i] != '='; i++) {
		int v = b64url_value(field[i]);
		if (v < 0 || n >= sizeof raw)
			return false;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			raw[n++] = (unsigned char)(acc >> bits);
		}
	}
	if (n != 32)
		return false;
	hex_encode(raw, 32, hex);
	return true;
}

/* One CSV field (RFC 4180 quoting, as Python's csv module writes). */
static const char *csv_field(const char *p, const char *end, struct sbuf *out)
{
	out->len = 0;
	sbuf_add(out, "", 0);
	if (p < end && *p == '"') {
		for (p++; p < end; p++) {
			if (*p == '"' && p + 1 < end && p[1] == '"')
				sbuf_add(out, p++, 1);
			else if (*p == '"')
				break;
			else
				sbuf_add(out, p, 1);
		}
		p++;
	} else {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		sbuf_add(out, p, (size_t)(stop - p));
		p = stop;
	}
	return p < end && *p == ',' ? p + 1 : end + 1;
}

long mb_record_parse(const char *text, size_t len, struct mb_record_entry **out)
{
	const char *p = text, *end = text + len;
	struct mb_record_entry *v = NULL;
	struct sbuf f = { 0 };
	size_t n = 0, cap = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *q;
		const char *stop = eol ? eol : end;
		struct mb_record_entry *e;

		if (stop > p && stop[-1] == '\r')
			stop--;
		if (stop == p) {
			p = (eol ? eol : end) + 1;
			continue;
		}
		e = VEC_PUSH(v, n, cap);
		memset(e, 0, sizeof *e);
		e->size = -1;
		q = csv_field(p, stop, &f);
		e->path = xstrdup(f.s);
		if (q <= stop) {
			q = csv_field(q, stop, &f);
			if (f.len && !decode_sha256(f.s, f.len, e->hash))
				e->hash[0] = '\0'; /* another algorithm: not checked */
		}
		if (q <= stop) {
			char *endp;
			csv_field(q, stop, &f);
			if (f.len)
				e->size = strtoll(f.s, &endp, 10);
			if (f.len && (*endp || e->size < 0)) {
				sbuf_free(&f);
				mb_record_free(v, (long)n);
				return -1;
			}
		}
		if (!e->path[0]) {
			sbuf_free(&f);
			mb_record_free(v, (long)n);
			return -1;
		}
		p = (eol ? eol : end) + 1;
	}
	sbuf_free(&f);
	*out = v;
	return (long)n;
}

void mb_record_free(struct mb_record_entry *v, long n)
{
	long i;

	for (i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

/* ---- which members the zip marks executable ----
 *
 * pip decides a file's mode from the high 16 bits of its central-directory
 * "external attributes", whatever system made the zip; libarchive does not
 * expose them, so the central directory is read here. */

static uint32_t le(const unsigned char *p, int n)
{
	uint32_t v = 0;
	while (n--)
		v = v << 8 | p[n];
	return v;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le(p, 4) | (uint64_t)le(p + 4, 4) << 32;
}

/* Offset and size of the central directory, from the (zip64) end record. */
static int find_central(FILE *f, uint64_t *off, uint64_t *size)
{
	unsigned char buf[65536 + 22], *p;
	long len, tail;

	if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 22)
		return -1;
	tail = len < (long)sizeof buf ? len : (long)sizeof buf;
	if (fseek(f, len - tail, SEEK_SET) < 0 || fread(buf, 1, (size_t)tail, f) != (size_t)tail)
		return -1;
	for (p = buf + tail - 22; p >= buf && le(p, 4) != 0x06054b50; p--)
		;
	if (p < buf)
		return -1;
	*size = le(p + 12, 4);
	*off = le(p + 16, 4);
	if (*off == 0xffffffffu && p - buf >= 20 && le(p - 20, 4) == 0x07064b50) {
		unsigned char z[56];
		if (fseek(f, (long)le64(p - 20 + 8), SEEK_SET) < 0 || fread(z, 1, 56, f) != 56 ||
		    le(z, 4) != 0x06064b50)
			return -1;
		*size = le64(z + 40);
		*off = le64(z + 48);
	}
	return *size <= (1u << 28) ? 0 : -1;
}

struct names {
	char **v;
	size_t n, cap;
};

static void names_free(struct names *nm)
{
	size_t i;

	for (i = 0; i < nm->n; i++)
		free(nm->v[i]);
	free(nm->v);
	memset(nm, 0, sizeof *nm);
}

/* The members whose external attributes say "regular file, executable"
 * (sorted, for bsearch).  An unreadable directory yields none. */
static void exec_members(const char *zip, struct names *out)
{
	FILE *f = fopen(zip, "rb");
	unsigned char *cd = NULL, *p, *end;
	uint64_t off, size;

	memset(out, 0, sizeof *out);
	if (!f || find_central(f, &off, &size) < 0 || fseek(f, (long)off, SEEK_SET) < 0)
		goto done;
	cd = xmalloc(size ? size : 1);
	if (fread(cd, 1, size, f) != size)
		goto done;
	for (p = cd, end = cd + size; p + 46 <= end && le(p, 4) == 0x02014b50;) {
		uint32_t nlen = le(p + 28, 2), xlen = le(p + 30, 2), clen = le(p + 32, 2);
		uint32_t mode = le(p + 38, 4) >> 16;
		if (p + 46 + nlen > end)
			break;
		if ((mode & 0170000) == 0100000 && (mode & 0111))
			*VEC_PUSH(out->v, out->n, out->cap) = xstrndup((const char *)p + 46, nlen);
		p += 46 + nlen + xlen + clen;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, strptr_cmp);
done:
	free(cd);
	if (f)
		fclose(f);
}


#define MANIFEST ".mambaboot-manifest"
#define MANIFEST_LINE_MIN (MB_SHA256_HEX + 6) /* digest, tab, size, tab, mode, tab, path, newline */

struct mfile {
	char *path;
	char *hex;                  /* sha256, 64 hex digits */
	long long size;
	unsigned mode;
};

/* An unpacked entry's files, sorted by path.  RECORD is checked against
 * them once, when the entry is made: `checked` says so, and `problems`
 * holds the mismatches found, reported again at every install. */
struct manifest {
	struct mfile *v;
	size_t n, cap;
	bool checked;
	char **problems;
	size_t n_problems, cap_problems;
	char *text;                 /* mapped from disk: the paths point into it */
	size_t text_len;
	bool writable;              /* version 1: NULs are written into the copy */
};

static void manifest_free(struct manifest *m)
{
	size_t i;

	for (i = 0; !m->text && i < m->n; i++) {
		free(m->v[i].path);
		free(m->v[i].hex);
	}
	if (m->text)
		munmap(m->text, m->text_len);
	for (i = 0; i < m->n_problems; i++)
		free(m->problems[i]);
	free(m->v);
	free(m->problems);
	memset(m, 0, sizeof *m);
}

struct hashing {
	struct names exec;          /* members the zip marks executable */
	struct manifest *m;
	struct mb_sha256 h;
	bool open;
	long long size;
	mode_t umask;
};

static void hash_data(void *ctx, const char *rel, const void *buf, size_t len)
{
	struct hashing *hs = ctx;

	(void)rel;
	if (!hs->open && mb_sha256_init(&hs->h, NULL) == 0)
		hs->open = true;
	if (hs->open)
		mb_sha256_update(&hs->h, buf, len);
	hs->size += (long long)len;
}

/* pip's modes: 0666 & ~umask, or 0777 & ~umask | 0111 for a file the zip
 * marks executable (libarchive's idea of the mode ignores non-Unix zips). */
static unsigned hash_mode(void *ctx, const char *rel, unsigned mode)
{
	const struct hashing *hs = ctx;

	(void)mode;
	return hs->exec.n && bsearch(&rel, hs->exec.v, hs->exec.n, sizeof *hs->exec.v, strptr_cmp)
		? ((0777 & ~hs->umask) | 0111) : (0666 & ~hs->umask);
}

static int hash_done(void *ctx, const char *rel, unsigned mode, struct mb_err *err)
{
	struct hashing *hs = ctx;
	char hex[MB_SHA256_HEX];
	struct mfile *f = VEC_PUSH(hs->m->v, hs->m->n, hs->m->cap);

	(void)err;
	if (!hs->open)
		hash_data(ctx, rel, "", 0);
	mb_sha256_final(&hs->h, hex);
	f->hex = xstrdup(hex);
	f->path = xstrdup(rel);
	f->size = hs->size;
	f->mode = mode;
	hs->open = false;
	hs->size = 0;
	return 0;
}

/* One line per file, "sha256 NUL size TAB mode TAB path", sorted by path;
 * before them "#manifest 2", "#checked" and a "! TAB message" line per
 * RECORD problem.  Every line ends in NUL, newline: a reader maps the file
 * and points into it without writing a byte (a written page of a mapping
 * is a copied page: 450 of them for 20,000 files).  Version 1 had a TAB
 * after the digest and no NULs; the reader still takes it. */
#define MANIFEST_V2 "#manifest 2\0\n"
#ifdef MAP_POPULATE
#define MAP_PREFAULT MAP_POPULATE /* one call, not a fault per 16 pages */
#else
#define MAP_PREFAULT 0
#endif
static int manifest_write(const char *dir, const struct manifest *m, struct mb_err *err)
{
	char *path = path_join(dir, MANIFEST);
	struct sbuf b = { 0 };
	size_t i;
	int rc;

	sbuf_add(&b, MANIFEST_V2, sizeof MANIFEST_V2 - 1);
	if (m->checked)
		sbuf_add(&b, "#checked\0\n", 10);
	for (i = 0; i < m->n_problems; i++) {
		sbuf_printf(&b, "!\t%s", m->problems[i]);
		sbuf_add(&b, "\0\n", 2);
	}
	for (i = 0; i < m->n; i++) {
		sbuf_add(&b, m->v[i].hex, MB_SHA256_HEX); /* with its NUL */
		sbuf_printf(&b, "%lld\t%o\t%s", m->v[i].size, m->v[i].mode, m->v[i].path);
		sbuf_add(&b, "\0\n", 2);
	}
	rc = write_file_atomic(path, b.s ? b.s : "", b.len, err);
	sbuf_free(&b);
	free(path);
	return rc;
}

/* A file's line, NUL-terminated; false for one that does not parse.  The
 * path stays in the line; a version 1 line gets its digest's NUL. */
static bool manifest_line(char *line, size_t len, bool writable, struct mfile *f)
{
	char *end;
	char sep = len >= MANIFEST_LINE_MIN - 1 ? line[MB_SHA256_HEX - 1] : 'x';

	if (sep != '\0' && (sep != '\t' || !writable))
		return false;
	f->hex = line;
	if (sep)
		line[MB_SHA256_HEX - 1] = '\0';
	f->size = strtoll(line + MB_SHA256_HEX, &end, 10);
	if (*end != '\t' || f->size < 0)
		return false;
	f->mode = (unsigned)strtoul(end + 1, &end, 8);
	if (*end != '\t' || !path_is_contained(end + 1, NULL))
		return false;
	f->path = end + 1;
	return true;
}

static int cmp_mfile(const void *a, const void *b);

static bool manifest_v2(const char *text, size_t len)
{
	return len >= sizeof MANIFEST_V2 - 1 && !memcmp(text, MANIFEST_V2, sizeof MANIFEST_V2 - 1);
}

/* Map the manifest, private: a version 2 file is only read (its pages are
 * the page cache's), a version 1 file gets NULs written into its copy. */
static int manifest_map(const char *dir, struct manifest *m, struct mb_err *err)
{
	char *path = path_join(dir, MANIFEST);
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot read %s", path);
	else if (st.st_size > (1 << 28))
		rc = mb_errf(err, MB_EFAIL, "%s: too large", path);
	else if (st.st_size > 0) {
		m->text_len = (size_t)st.st_size;
		m->text = mmap(NULL, m->text_len, PROT_READ, MAP_PRIVATE | MAP_PREFAULT, fd, 0);
		if (m->text == MAP_FAILED) {
			m->text = NULL;
			rc = mb_errno(err, MB_EFAIL, errno, "cannot map %s", path);
		} else if ((m->writable = !manifest_v2(m->text, m->text_len)) &&
			   mprotect(m->text, m->text_len, PROT_READ | PROT_WRITE) < 0) {
			rc = mb_errno(err, MB_EFAIL, errno, "cannot map %s", path);
		}
	}
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

/* The line at `line` as a C string, *next its newline: a version 2 line
 * ends in NUL, newline; a version 1 line's newline becomes a NUL (in the
 * private copy).  False for a last line without its newline. */
static bool manifest_cut(struct manifest *m, char *line, char **next)
{
	*next = memchr(line, '\n', (size_t)(m->text + m->text_len - line));
	if (!*next)
		return false;
	if (*next > line && (*next)[-1] == '\0')
		return true;
	if (!m->writable)
		return false;
	**next = '\0';
	return true;
}

/* One line into m; false for a file line that does not parse.  Lines
 * starting with '#' that it does not know are skipped (later versions may
 * add some). */
static bool manifest_take(struct manifest *m, char *line, size_t len, bool *sorted)
{
	struct mfile f = { 0 };

	if (!strcmp(line, "#checked"))
		m->checked = true;
	else if (!strncmp(line, "!\t", 2))
		*VEC_PUSH(m->problems, m->n_problems, m->cap_problems) = xstrdup(line + 2);
	else if (line[0] != '#') {
		if (!manifest_line(line, len, m->writable, &f))
			return false;
		*sorted = *sorted && (!m->n || strcmp(m->v[m->n - 1].path, f.path) < 0);
		*VEC_PUSH(m->v, m->n, m->cap) = f;
	}
	return true;
}

/* A damaged line (one that does not parse, or a last one without its
 * newline) is an error, not a wheel installed without the files it lost. */
static int manifest_read(const char *dir, struct manifest *m, struct mb_err *err)
{
	char *line, *next;
	bool sorted = true;
	size_t no = 0;
	int rc;

	memset(m, 0, sizeof *m);
	if ((rc = manifest_map(dir, m, err)) < 0 || !m->text)
		return rc;
	m->cap = m->text_len / MANIFEST_LINE_MIN + 1; /* at least this many bytes a line: no count pass */
	m->v = xmalloc(m->cap * sizeof *m->v); /* each is written whole */
	for (line = m->text; line < m->text + m->text_len; line = next + 1) {
		no++;
		if (!manifest_cut(m, line, &next) || !manifest_take(m, line, (size_t)(next - line), &sorted))
			return mb_errf(err, MB_EFAIL,
				       "the cache entry %s is damaged (line %zu of %s): remove it and run again",
				       dir, no, MANIFEST);
	}
	if (!sorted)
		qsort(m->v, m->n, sizeof *m->v, cmp_mfile);
	return 0;
}

static int cmp_mfile(const void *a, const void *b)
{
	return strcmp(((const struct mfile *)a)->path, ((const struct mfile *)b)->path);
}

static struct mfile *manifest_find(struct manifest *m, const char *path)
{
	struct mfile key = { .path = (char *)path };
	return m->n ? bsearch(&key, m->v, m->n, sizeof *m->v, cmp_mfile) : NULL;
}

/* ---- the RECORD check, made once per cache entry ---- */

/* The one X-V.dist-info directory whose X is the project `dist`. */
static int find_distinfo(const struct manifest *m, const char *dist, char **out, struct mb_err *err)
{
	char *want = name_normalize(dist), *found = NULL;
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < m->n; i++) {
		const char *p = m->v[i].path, *slash = strchr(p, '/');
		size_t top = slash ? (size_t)(slash - p) : 0;
		char *dash, *norm;

		if (top < 11 || strncmp(p + top - 10, ".dist-info", 10) != 0 ||
		    (found && strlen(found) == top && !strncmp(found, p, top)))
			continue;
		if (found) {
			rc = mb_errf(err, MB_EINTEGRITY, "more than one .dist-info directory");
			break;
		}
		found = xstrndup(p, top);
		dash = strchr(found, '-');
		norm = dash ? xstrndup(found, (size_t)(dash - found)) : xstrdup(found);
		if (!name_equal(norm, want))
			rc = mb_errf(err, MB_EINTEGRITY,
				     ".dist-info directory '%s' does not name the wheel's project", found);
		free(norm);
	}
	free(want);
	if (rc == 0 && !found)
		rc = mb_errf(err, MB_EINTEGRITY, "no .dist-info directory");
	if (rc < 0)
		free(found);
	else
		*out = found;
	return rc;
}

/* A metadata file of the entry at dir, or NULL. */
static char *read_meta(const char *dir, const char *rel, size_t *len)
{
	char *path = path_join(dir, rel), *text = NULL;
	int rc = read_file(path, META_MAX, &text, len, NULL);

	free(path);
	return rc < 0 ? NULL : text;
}

static void add_problem(struct manifest *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_problem(struct manifest *m, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	*VEC_PUSH(m->problems, m->n_problems, m->cap_problems) = xstrdup(msg);
}

/* RECORD against the files of the entry at dir.  No RECORD, a malformed
 * one, or a path outside the wheel is an error; a file missing or not
 * matching is a problem, kept in m->problems for every install to report
 * (the pinned sha256 of the wheel is the authority). */
static int check_record(struct manifest *m, const char *dir, const char *distinfo,
			const char *dist, struct mb_err *err)
{
	char *rel = xasprintf("%s/RECORD", distinfo), *text;
	struct mb_record_entry *rec = NULL;
	size_t len;
	long n, i;
	int rc = 0;

	if (!(text = read_meta(dir, rel, &len))) {
		free(rel);
		return mb_errf(err, MB_EINTEGRITY, "%s/RECORD is missing", distinfo);
	}
	n = mb_record_parse(text, len, &rec);
	free(text);
	if (n < 0)
		rc = mb_errf(err, MB_EINTEGRITY, "%s is malformed", rel);
	for (i = 0; rc == 0 && i < n; i++) {
		struct mfile *f;
		if (!path_is_contained(rec[i].path, NULL))
			rc = mb_errf(err, MB_EINTEGRITY, "RECORD names a path outside the wheel: %.200s",
				     rec[i].path);
		else if (!(f = manifest_find(m, rec[i].path))) {
			if (strcmp(rec[i].path, rel) != 0)
				add_problem(m, "%s: RECORD lists %s, which the wheel lacks", dist, rec[i].path);
		} else if ((rec[i].hash[0] && strcmp(rec[i].hash, f->hex)) ||
			   (rec[i].size >= 0 && rec[i].size != f->size))
			add_problem(m, "%s: %s does not match its RECORD entry", dist, rec[i].path);
	}
	mb_record_free(rec, n < 0 ? 0 : n);
	free(rel);
	m->checked = rc == 0;
	return rc;
}

struct unpack_job {
	const char *wheel;
	const char *dist;           /* the project, from the file name */
	mode_t umask;
	int jobs;
	struct manifest *made;      /* gets the manifest written, not read back */
};

/* Unpack the wheel into dir on job->jobs threads, each hashing what it
 * writes, check RECORD against them all, and write their manifest. */
static int unpack_wheel(void *ctx, const char *dir, struct mb_err *err)
{
	struct unpack_job *job = ctx;
	int k, jobs = job->jobs > 0 ? job->jobs : 1;
	struct manifest m = { 0 }, *parts = xcalloc((size_t)jobs, sizeof *parts);
	struct hashing *hs = xcalloc((size_t)jobs, sizeof *hs);
	struct mb_archive_hooks *hooks = xcalloc((size_t)jobs, sizeof *hooks);
	struct names exec;
	char *distinfo = NULL;
	size_t i;
	int rc;

	exec_members(job->wheel, &exec);
	for (k = 0; k < jobs; k++) {
		hs[k].exec = exec; /* shared, read only */
		hs[k].m = &parts[k];
		hs[k].umask = job->umask;
		hooks[k] = (struct mb_archive_hooks){ hash_mode, hash_data, hash_done, &hs[k] };
	}
	rc = mb_archive_extract_jobs(job->wheel, dir, MB_ARCHIVE_NO_TIMES, jobs, hooks, err);
	for (k = 0; k < jobs; k++) {
		if (hs[k].open)
			mb_sha256_abort(&hs[k].h);
		for (i = 0; i < parts[k].n; i++)
			*VEC_PUSH(m.v, m.n, m.cap) = parts[k].v[i];
		free(parts[k].v);
	}
	if (rc == 0 && m.n)
		qsort(m.v, m.n, sizeof *m.v, cmp_mfile);
	if (rc == 0 && (rc = find_distinfo(&m, job->dist, &distinfo, err)) == 0)
		rc = check_record(&m, dir, distinfo, job->dist, err);
	if (rc == 0)
		rc = manifest_write(dir, &m, err);
	free(distinfo);
	if (rc == 0) /* the caller's now, instead of reading the file back */
		*job->made = m;
	else
		manifest_free(&m);
	names_free(&exec);
	free(hooks);
	free(hs);
	free(parts);
	return rc;
}

/* ---- installing from the entry ---- */

static int strcasecmp_ascii(const char *a, const char *b)
{
	for (; *a && tolower((unsigned char)*a) == tolower((unsigned char)*b); a++, b++)
		;
	return tolower((unsigned char)*a) - tolower((unsigned char)*b);
}

struct inst {
	const struct mb_stage_ctx *ctx;
	struct wheel_name name;
	const char *entry;
	char *distinfo, *datadir;   /* "X-1.0.dist-info", "X-1.0.data" */
	char *site;                 /* lib/pythonX.Y/site-packages */
	struct manifest m;
	struct mb_owned *owned;
	size_t first;               /* where this wheel's owned files start */
	mode_t umask;
	enum mb_link_mode link;     /* how files get from the cache entry to the root */
	struct mb_wtree to;         /* the root, for the files written here */
	int jobs;                   /* threads for linking */
	char **ep_names, **ep_targets; /* console_scripts and gui_scripts */
	size_t n_ep, cap_ep, cap_ep2;
	struct mb_err *err;
};

/* setuptools' wrappers of an entry point EP (EP, EP.exe, EP-script.py,
 * EP.pya) are not installed: pip writes its own (pip's is_entrypoint_wrapper). */
static bool is_wrapper(const struct inst *in, const char *rel)
{
	const char *base = strrchr(rel, '/');
	size_t n, i, cut = 0;

	base = base ? base + 1 : rel;
	n = strlen(base);
	if (n > 4 && (!strcasecmp_ascii(base + n - 4, ".exe") || !strcasecmp_ascii(base + n - 4, ".pya")))
		cut = 4;
	else if (n > 10 && !strcasecmp_ascii(base + n - 10, "-script.py"))
		cut = 10;
	for (i = 0; i < in->n_ep; i++)
		if (strlen(in->ep_names[i]) == n - cut && !strncmp(in->ep_names[i], base, n - cut))
			return true;
	return false;
}

static int wheel_version_major(const char *text)
{
	const char *v = strstr(text, "Wheel-Version:");
	char *end;
	long major;

	if (!v)
		return -1;
	major = strtol(v + 14, &end, 10);
	return end == v + 14 || major < 0 || major > 99 ? -1 : (int)major;
}

/* WHEEL: "Wheel-Version: 1.x" (2.x and later are refused, as pip does). */
static int check_wheel_file(struct inst *in)
{
	char *rel = xasprintf("%s/WHEEL", in->distinfo), *text;
	size_t len;
	int major, rc = 0;

	text = read_meta(in->entry, rel, &len);
	free(rel);
	if (!text)
		return mb_errf(in->err, MB_EINTEGRITY, "%s/WHEEL is missing", in->distinfo);
	major = wheel_version_major(text);
	free(text);
	if (major < 0)
		rc = mb_errf(in->err, MB_EINTEGRITY, "%s/WHEEL has no Wheel-Version", in->distinfo);
	else if (major > 1)
		rc = mb_errf(in->err, MB_EINPUT, "Wheel-Version %d is not supported (1.x is)", major);
	return rc;
}

/* RECORD's problems: warnings, or with --strict an error. */
static int report_problems(struct inst *in)
{
	size_t i;

	for (i = 0; i < in->m.n_problems; i++) {
		struct mb_event ev = { .type = MB_EV_WARN, .msg = in->m.problems[i] };
		if (in->ctx->strict)
			return mb_errf(in->err, MB_EINTEGRITY, "%s (--strict)", in->m.problems[i]);
		mb_emit(in->ctx->ev, &ev);
	}
	return 0;
}

/* Where a wheel path goes (pip's scheme for a prefix); NULL when it does not
 * go anywhere: an unknown .data scheme is an error, set in *bad. */
static char *dest_of(const struct inst *in, const char *path, bool *script, bool *bad)
{
	size_t dl = strlen(in->datadir);
	const char *rest, *scheme;

	*script = *bad = false;
	if (strncmp(path, in->datadir, dl) != 0 || path[dl] != '/')
		return path_join(in->site, path);
	scheme = path + dl + 1;
	rest = strchr(scheme, '/');
	if (!rest || !rest[1]) {
		*bad = true;
		return NULL;
	}
	rest++;
	if (!strncmp(scheme, "purelib/", 8) || !strncmp(scheme, "platlib/", 8))
		return path_join(in->site, rest);
	if (!strncmp(scheme, "scripts/", 8)) {
		*script = true;
		return xasprintf("bin/%s", rest);
	}
	if (!strncmp(scheme, "headers/", 8))
		return xasprintf("include/python%s/%s/%s", in->ctx->python_xy, in->name.dist, rest);
	if (!strncmp(scheme, "data/", 5))
		return xstrdup(rest);
	*bad = true;
	return NULL;
}

/* A file of the wheel's own that is written here (not linked), owned with
 * its digest.  write(2) failures are kept in `werr` until close.  With a
 * buffer (buf, cap), small pieces are gathered before they are written;
 * without, each piece is written as it comes. */
struct owned_out {
	const char *rel;
	mode_t mode;
	int fd, werr;
	struct mb_sha256 h;
	int64_t len;
	char *buf;
	size_t used, cap;
};

static int out_open(struct inst *in, struct owned_out *o, const char *rel, mode_t mode,
		    char *buf, size_t cap)
{
	*o = (struct owned_out){ .rel = rel, .mode = mode, .buf = buf, .cap = cap };
	if ((o->fd = mb_wtree_create(&in->to, rel, mode, in->err)) < 0)
		return o->fd;
	if (mb_sha256_init(&o->h, in->err) < 0) {
		close(o->fd);
		return -in->err->code;
	}
	return 0;
}

static void out_flush(struct owned_out *o)
{
	if (o->used && !o->werr && write_all(o->fd, o->buf, o->used) < 0)
		o->werr = errno;
	o->used = 0;
}

static void out_add(struct owned_out *o, const char *s, size_t n)
{
	mb_sha256_update(&o->h, s, n);
	o->len += (int64_t)n;
	if (o->used + n > o->cap)
		out_flush(o);
	if (n >= o->cap) {
		if (!o->werr && write_all(o->fd, s, n) < 0)
			o->werr = errno;
		return;
	}
	memcpy(o->buf + o->used, s, n);
	o->used += n;
}

static int out_close(struct inst *in, struct owned_out *o)
{
	char hex[MB_SHA256_HEX];
	int rc = 0;

	out_flush(o);
	mb_sha256_final(&o->h, hex);
	if (o->werr)
		rc = mb_errno(in->err, MB_EFAIL, o->werr, "cannot write %s", o->rel);
	if (rc == 0 && (o->mode & in->umask) && fchmod(o->fd, o->mode) < 0) /* pip's mode, whatever the umask */
		rc = mb_errno(in->err, MB_EFAIL, errno, "cannot set the mode of %s", o->rel);
	if (close(o->fd) < 0 && rc == 0)
		rc = mb_errno(in->err, MB_EFAIL, errno, "cannot write %s", o->rel);
	if (rc == 0)
		mb_owned_add(in->owned, o->rel, MB_OWNED_FILE, hex, o->len, o->mode);
	return rc;
}

static int write_owned(struct inst *in, const char *rel, const char *data, size_t len,
		       mode_t mode)
{
	struct owned_out o;
	int rc = out_open(in, &o, rel, mode, NULL, 0); /* one piece: no buffer */

	if (rc == 0) {
		out_add(&o, data, len);
		rc = out_close(in, &o);
	}
	return rc;
}

/* A script whose first line is `#!python...` gets the prefix's python; its
 * mode is what the zip says, as with pip. */
static int install_script(struct inst *in, const struct mfile *f, const char *rel)
{
	mode_t exec = f->mode;
	char *src = path_join(in->entry, f->path), *data, *shebang, *out;
	size_t len, nl;
	int rc = read_file(src, 1u << 30, &data, &len, in->err);

	free(src);
	if (rc < 0)
		return rc;
	if (len < 8 || memcmp(data, "#!python", 8) != 0) {
		rc = write_owned(in, rel, data, len, exec);
		free(data);
		return rc;
	}
	nl = strcspn(data, "\n");
	shebang = mb_python_shebang(in->ctx->python_exe);
	out = xasprintf("%s%s", shebang, nl < len ? data + nl + 1 : "");
	rc = write_owned(in, rel, out, strlen(shebang) + (nl < len ? len - nl - 1 : 0), exec);
	free(shebang);
	free(out);
	free(data);
	return rc;
}

/* ---- linking from the cache entry, on several threads ---- */

struct link {
	const struct mfile *f;
	char *rel;                  /* where it goes; NULL: site-packages/<path> */
};

/* Links v[first..last) and records each in out[first..last) (slots of the
 * owned list that no other thread touches), making the destination paths
 * itself: 20,000 paths and records are no small part of a warm install. */
struct linker {
	const char *from, *to;      /* the cache entry, the root */
	const char *site;
	struct link *v;
	struct mb_owned_file *out;
	size_t first, last, done;   /* out[first, done) are set */
	enum mb_link_mode mode;
	struct mb_err err;
	int rc;
	pthread_t thread;
};

static void *link_run(void *arg)
{
	struct linker *l = arg;
	struct mb_wtree from = { .root = -1 }, to = { .root = -1 };
	const char *sbase, *dbase;
	int sdir, ddir;
	size_t i;

	if ((l->rc = mb_wtree_open(&from, l->from, false, &l->err)) == 0)
		l->rc = mb_wtree_open(&to, l->to, true, &l->err);
	for (i = l->first; l->rc == 0 && i < l->last; i++) {
		const struct mfile *f = l->v[i].f;
		char *rel = l->v[i].rel ? l->v[i].rel : path_join(l->site, f->path);

		l->v[i].rel = NULL; /* out[i] has it now */
		mb_owned_set(&l->out[i], rel, MB_OWNED_FILE, f->hex, f->size, f->mode);
		l->done = i + 1;
		if ((sdir = mb_wtree_parent(&from, f->path, &sbase, &l->err)) < 0 ||
		    (ddir = mb_wtree_parent(&to, rel, &dbase, &l->err)) < 0)
			l->rc = -l->err.code;
		else
			l->rc = clone_at(sdir, sbase, ddir, dbase, &l->mode, &l->err);
	}
	mb_wtree_close(&from);
	mb_wtree_close(&to);
	return NULL;
}

/* Link v[0..n) on up to ctx->jobs threads (a run of the sorted list each,
 * so that threads mostly work in different directories), owning them. */
static int link_all(struct inst *in, struct link *v, size_t n)
{
	size_t jobs = n / 1024 + 1, k, started, base = in->owned->n;
	struct mb_owned_file *out = mb_owned_extend(in->owned, n);
	struct linker *l;
	int rc = 0;

	if (jobs > (size_t)in->jobs)
		jobs = in->jobs > 0 ? (size_t)in->jobs : 1;
	l = xcalloc(jobs, sizeof *l);
	for (k = 0; k < jobs; k++)
		l[k] = (struct linker){ .from = in->entry, .to = in->ctx->root, .site = in->site,
					.v = v, .out = out, .first = n * k / jobs,
					.done = n * k / jobs, .last = n * (k + 1) / jobs,
					.mode = in->link };
	for (started = 1; started < jobs; started++)
		if (pthread_create(&l[started].thread, NULL, link_run, &l[started]) != 0)
			break;
	link_run(&l[0]);
	for (k = 1; k < started; k++)
		pthread_join(l[k].thread, NULL);
	for (k = started; k < jobs; k++) /* no thread for it: do it here */
		link_run(&l[k]);
	for (k = 0; rc == 0 && k < jobs; k++)
		if (l[k].rc < 0) {
			*in->err = l[k].err;
			rc = l[k].rc;
		}
	for (k = 0; rc < 0 && k < jobs; k++) { /* the slots go: the transaction is off */
		size_t i;
		for (i = l[k].first; i < l[k].done; i++)
			free(out[i].path);
	}
	if (rc < 0)
		in->owned->n = base;
	free(l);
	return rc;
}

/* Every file of the entry but RECORD: scripts written here, the rest linked. */
static int place_files(struct inst *in)
{
	struct link *v = xcalloc(in->m.n + 1, sizeof *v);
	char *skip = xasprintf("%s/RECORD", in->distinfo);
	size_t i, n = 0, dl = strlen(in->datadir);
	int rc = 0;

	for (i = 0; rc == 0 && i < in->m.n; i++) {
		const char *path = in->m.v[i].path;
		bool script, bad;
		char *rel;
		if (!strcmp(path, skip))
			continue;
		if (strncmp(path, in->datadir, dl) != 0 || path[dl] != '/') {
			v[n++].f = &in->m.v[i]; /* site-packages: the linker makes its path */
			continue;
		}
		rel = dest_of(in, path, &script, &bad);
		if (bad)
			rc = mb_errf(in->err, MB_EINTEGRITY, "%s: file outside the wheel's schemes", path);
		else if (script && !is_wrapper(in, rel))
			rc = install_script(in, &in->m.v[i], rel);
		else if (!script) {
			v[n].f = &in->m.v[i];
			v[n++].rel = rel;
			continue;
		}
		free(rel);
	}
	if (rc == 0)
		rc = link_all(in, v, n);
	for (i = 0; i < n; i++)
		free(v[i].rel);
	free(v);
	free(skip);
	return rc;
}

/* ---- console and gui scripts, as pip writes them ---- */

static int write_wrapper(struct inst *in, const char *name, const char *target)
{
	char module[512], attr[512], *shebang, *text, *rel;
	size_t root;
	int rc;

	if (sscanf(target, " %511[^: ] : %511[^ [\t]", module, attr) != 2 || strchr(name, '/') ||
	    !path_is_contained(name, NULL))
		return mb_errf(in->err, MB_EINTEGRITY, "entry_points.txt: bad entry '%s = %s'", name, target);
	root = strcspn(attr, ".");
	shebang = mb_python_shebang(in->ctx->python_exe);
	text = xasprintf("%s# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom %s import %.*s\n"
			 "if __name__ == '__main__':\n"
			 "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
			 "    sys.exit(%s())\n", shebang, module, (int)root, attr, attr);
	rel = xasprintf("bin/%s", name);
	rc = write_owned(in, rel, text, strlen(text), (0777 & ~in->umask) | 0111);
	free(shebang);
	free(text);
	free(rel);
	return rc;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* pip names pip's own script pip, pipX and pipX.Y (and easy_install
 * easy_install and easy_install-X.Y), and drops other versioned names. */
static int write_named(struct inst *in, const char *name, const char *target)
{
	const char *xy = in->ctx->python_xy;
	char alt[64];
	int rc;

	if (!strcmp(name, "pip")) {
		snprintf(alt, sizeof alt, "pip%.1s", xy);
		if ((rc = write_wrapper(in, "pip", target)) < 0 || (rc = write_wrapper(in, alt, target)) < 0)
			return rc;
		snprintf(alt, sizeof alt, "pip%s", xy);
		return write_wrapper(in, alt, target);
	}
	if (!strcmp(name, "easy_install")) {
		snprintf(alt, sizeof alt, "easy_install-%s", xy);
		if ((rc = write_wrapper(in, name, target)) < 0)
			return rc;
		return write_wrapper(in, alt, target);
	}
	if ((!strncmp(name, "pip", 3) && strspn(name + 3, "0123456789.") == strlen(name + 3)) ||
	    !strncmp(name, "easy_install-", 13))
		return 0;
	return write_wrapper(in, name, target);
}

/* [console_scripts] and [gui_scripts] of entry_points.txt. */
static void read_entry_points(struct inst *in)
{
	char *rel = xasprintf("%s/entry_points.txt", in->distinfo), *text, *line, *save = NULL;
	bool scripts = false;
	size_t len;

	text = read_meta(in->entry, rel, &len);
	free(rel);
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *l = trim(line), *eq;
		if (*l == '[') {
			scripts = !strcmp(l, "[console_scripts]") || !strcmp(l, "[gui_scripts]");
			continue;
		}
		if (!scripts || !*l || *l == '#' || *l == ';' || !(eq = strchr(l, '=')))
			continue;
		*eq = '\0';
		*VEC_PUSH(in->ep_targets, in->n_ep, in->cap_ep2) = xstrdup(trim(eq + 1));
		in->n_ep--;
		*VEC_PUSH(in->ep_names, in->n_ep, in->cap_ep) = xstrdup(trim(l));
	}
	free(text);
}

static int write_entry_points(struct inst *in)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < in->n_ep; i++)
		rc = write_named(in, in->ep_names[i], in->ep_targets[i]);
	return rc;
}

/* ---- INSTALLER, REQUESTED and a RECORD of what was installed ---- */

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0;
}

static void b64url(const char *hex, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[32];
	size_t i, o = 0;

	for (i = 0; i < 32; i++)
		raw[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	for (i = 0; i < 32; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 | (i + 1 < 32 ? (unsigned)raw[i + 1] << 8 : 0) |
			     (i + 2 < 32 ? raw[i + 2] : 0);
		out[o++] = abc[(v >> 18) & 63];
		out[o++] = abc[(v >> 12) & 63];
		if (i + 1 < 32)
			out[o++] = abc[(v >> 6) & 63];
		if (i + 2 < 32)
			out[o++] = abc[v & 63];
	}
	out[o] = '\0';
}

/* A RECORD path: relative to site-packages, CSV-quoted when it must be. */
static void record_path(struct owned_out *o, const struct inst *in, const char *rel)
{
	size_t sl = strlen(in->site);
	const char *p = rel, *q;
	bool quote;

	if (!strncmp(rel, in->site, sl) && rel[sl] == '/')
		p = rel + sl + 1;
	quote = strpbrk(p, ",\"\n") != NULL;
	out_add(o, "\"", quote);
	if (p == rel)
		out_add(o, "../../../", 9);
	while (quote && (q = strchr(p, '"'))) {
		out_add(o, p, (size_t)(q - p) + 1);
		out_add(o, "\"", 1); /* "" */
		p = q + 1;
	}
	out_add(o, p, strlen(p));
	out_add(o, "\"", quote);
}

/* INSTALLER, REQUESTED and RECORD, which lists every file this wheel
 * installed (2 MB for 20,000 files: written as it is made). */
static int write_metadata(struct inst *in)
{
	enum { RECORD_BUF = 1 << 16 };
	char *rel, *buf, line[128];
	struct owned_out o;
	size_t i, end;
	int rc;

	rel = xasprintf("%s/%s/INSTALLER", in->site, in->distinfo);
	rc = write_owned(in, rel, "mambaboot\n", 10, 0666 & ~in->umask);
	free(rel);
	rel = xasprintf("%s/%s/REQUESTED", in->site, in->distinfo);
	if (rc == 0)
		rc = write_owned(in, rel, "", 0, 0666 & ~in->umask);
	free(rel);
	if (rc < 0)
		return rc;
	buf = xmalloc(RECORD_BUF);
	rel = xasprintf("%s/%s/RECORD", in->site, in->distinfo);
	if ((rc = out_open(in, &o, rel, 0666 & ~in->umask, buf, RECORD_BUF)) == 0) {
		for (i = in->first, end = in->owned->n; i < end; i++) {
			const struct mb_owned_file *f = &in->owned->v[i];
			record_path(&o, in, f->path);
			memcpy(line, ",sha256=", 8);
			b64url(f->sha256, line + 8);
			out_add(&o, line, strlen(line));
			out_add(&o, line, (size_t)snprintf(line, sizeof line, ",%lld\n", (long long)f->size));
		}
		record_path(&o, in, rel);
		out_add(&o, ",,\n", 3);
		rc = out_close(in, &o);
	}
	free(rel);
	free(buf);
	return rc;
}

int mb_wheel_install(const struct mb_stage_ctx *ctx, const char *wheel, const char *filename,
		     const char *sha256, struct mb_owned *owned, struct mb_err *err)
{
	struct inst in = { .ctx = ctx, .owned = owned, .first = owned->n, .err = err,
			   .link = MB_LINK_REFLINK, .to.root = -1 };
	struct unpack_job job;
	char *entry = NULL;
	size_t i;
	int rc;

	in.umask = mb_process_umask();
	if (!ctx->python_xy || !ctx->python_exe)
		return mb_errf(err, MB_EINPUT, "%s: a wheel needs a python recipe in the plan", filename);
	if (!ctx->cache)
		return mb_errf(err, MB_EFAIL, "internal: wheels are unpacked into the cache");
	if ((rc = parse_name(filename, &in.name, err)) < 0)
		return rc;
	in.site = xasprintf("lib/python%s/site-packages", ctx->python_xy);
	job.wheel = wheel;
	job.dist = in.name.dist;
	job.umask = in.umask;
	job.jobs = ctx->jobs < mb_online_cpus() ? ctx->jobs : mb_online_cpus();
	job.made = &in.m;
	in.jobs = job.jobs;
	entry = mb_cache_unpacked(ctx->cache, sha256, unpack_wheel, &job, err);
	rc = entry ? 0 : -err->code;
	if (rc == 0 && in.m.n == 0) /* the entry was there already: read its manifest */
		rc = manifest_read(entry, &in.m, err);
	in.entry = entry;
	if (rc == 0 && (rc = find_distinfo(&in.m, in.name.dist, &in.distinfo, err)) == 0) {
		in.datadir = xasprintf("%.*s.data", (int)(strlen(in.distinfo) - 10), in.distinfo);
		rc = check_wheel_file(&in);
	}
	if (rc == 0 && !in.m.checked) /* an entry made before the check moved there */
		rc = check_record(&in.m, entry, in.distinfo, in.name.dist, err);
	if (rc == 0)
		rc = report_problems(&in);
	if (rc == 0)
		rc = mb_wtree_open(&in.to, ctx->root, true, err);
	if (rc == 0)
		read_entry_points(&in);
	if (rc == 0)
		rc = place_files(&in);
	if (rc == 0)
		rc = write_entry_points(&in);
	if (rc == 0)
		rc = write_metadata(&in);
	if (rc < 0)
		mb_err_wrap(err, "%s", filename);
	for (i = 0; i < in.n_ep; i++) {
		free(in.ep_names[i]);
		free(in.ep_targets[i]);
	}
	free(in.ep_names);
	free(in.ep_targets);
	mb_wtree_close(&in.to);
	manifest_free(&in.m);
	free(in.name.buf);
	free(in.distinfo);
	free(in.datadir);
	free(in.site);
	free(entry);
	return rc;
}
