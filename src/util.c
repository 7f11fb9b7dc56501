#include "util.h"

#include <ctype.h>
#include <jansson.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void out_of_memory(void)
{
	fputs("mambaboot: error: out of memory\n", stderr);
	exit(1);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		out_of_memory();
	p = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void strv_free(char **v, size_t n)
{
	if (!v)
		return;
	while (n-- > 0)
		free(v[n]);
	free(v);
}

void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap;

	if (need <= c)
		return p;
	c = c ? c : 4;
	while (c < need) {
		if (c > SIZE_MAX / 2 / size)
			out_of_memory();
		c *= 2;
	}
	*cap = c;
	return xrealloc(p, c * size);
}

void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	b->s = grow(b->s, &b->cap, b->len + n + 1, 1);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void sbuf_json_string(struct sbuf *b, const char *s)
{
	static const char short_esc[] = "btn\0fr"; /* \b \t \n (\v has none) \f \r */
	const char *run = s;

	sbuf_add(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sbuf_add(b, run, (size_t)(s - run));
		run = s + 1;
		if (c == '"' || c == '\\')
			snprintf(esc, sizeof esc, "\\%c", c);
		else if (c >= 8 && c <= 13 && short_esc[c - 8])
			snprintf(esc, sizeof esc, "\\%c", short_esc[c - 8]);
		else
			snprintf(esc, sizeof esc, "\\u%04X", c);
		sbuf_puts(b, esc);
	}
	sbuf_add(b, run, (size_t)(s - run));
	sbuf_add(b, "\"", 1);
}

bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	json_t *j;

	while (*p && *p < 0x80)
		p++;
	if (!*p)
		return true;
	j = json_string(s); /* NULL: not UTF-8 */
	json_decref(j);
	return j != NULL;
}

/* One pass when the text fits the room already there (most calls), a
 * second only after growing. */
void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	size_t room = b->cap > b->len ? b->cap - b->len : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? b->s + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (room)
			b->s[b->len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		b->s = grow(b->s, &b->cap, b->len + (size_t)n + 1, 1);
		va_start(ap, fmt);
		vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void sbuf_int(struct sbuf *b, long long v)
{
	char digits[24], *d = digits + sizeof digits;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	do
		*--d = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--d = '-';
	sbuf_add(b, d, (size_t)(digits + sizeof digits - d));
}

char *sbuf_steal(struct sbuf *b)
{
	char *s = b->s ? b->s : xstrdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void sbuf_free(struct sbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

static bool is_sep(char c)
{
	return c == '-' || c == '_' || c == '.';
}

char *name_normalize(const char *name)
{
	char *out = xmalloc(strlen(name) + 1), *o = out;

	while (*name) {
		if (is_sep(*name)) {
			while (is_sep(*name))
				name++;
			*o++ = '-';
			continue;
		}
		*o++ = (char)tolower((unsigned char)*name++);
	}
	*o = '\0';
	return out;
}

bool name_equal(const char *a, const char *b)
{
	while (*a && *b) {
		if (is_sep(*a) && is_sep(*b)) {
			while (is_sep(*a))
				a++;
			while (is_sep(*b))
				b++;
			continue;
		}
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++, b++;
	}
	return *a == *b;
}

bool name_valid(const char *name)
{
	if (!*name)
		return false;
	for (; *name; name++)
		if (!isalnum((unsigned char)*name) && !is_sep(*name))
			return false;
	return true;
}

bool is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return s[64] == '\0';
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void str_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

bool str_endswith(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int strptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t edit_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b), i, j, *row, best;

	if (n > 64 || m > 64)
		return 99;
	row = xmalloc((m + 1) * sizeof *row);
	for (j = 0; j <= m; j++)
		row[j] = j;
	for (i = 1; i <= n; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (j = 1; j <= m; j++) {
			size_t up = row[j], cost = a[i - 1] != b[j - 1];
			size_t v = diag + cost;
			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
		}
	}
	best = row[m];
	free(row);
	return best;
}

bool path_below(const char *path, const char *dir)
{
	size_t n = dir ? strlen(dir) : 0;
	return dir && strncmp(path, dir, n) == 0 && path[n] == '/';
}

char *path_join(const char *a, const char *b)
{
	size_t n = strlen(a);

	if (n && a[n - 1] == '/')
		return xasprintf("%s%s", a, b);
	return xasprintf("%s/%s", a, b);
}

int read_file(const char *path, size_t max, char **buf, size_t *len, struct mb_err *err)
{
	struct stat st;
	size_t cap = 8192, n = 0;
	char *b;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return mb_errno(err, errno == ENOENT ? MB_EINPUT : MB_EFAIL, errno,
				"cannot open %s", path);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		cap = (uintmax_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1; /* +1: sees the end */
	b = xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			cap = cap > max / 2 ? max + 1 : cap * 2;
			b = xrealloc(b, cap + 1);
		}
		got = read(fd, b + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
		if (n > max)
			break;
	}
	close(fd);
	if (got < 0 || n > max) {
		int e = errno;
		free(b);
		return got < 0 ? mb_errno(err, MB_EFAIL, e, "cannot read %s", path)
			       : mb_errf(err, MB_EINPUT, "%s: file larger than %zu bytes", path, max);
	}
	b[n] = '\0';
	*len = n;
	*buf = b;
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)tolower((unsigned char)ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

char *url_last_segment(const char *url)
{
	const char *path = strstr(url, "://"), *end, *seg;
	char *out, *o;

	path = path ? strchr(path + 3, '/') : url;
	if (!path)
		return NULL;
	end = path + strcspn(path, "?#");
	seg = end;
	while (seg > path && seg[-1] != '/')
		seg--;
	if (seg == end)
		return NULL;
	out = o = xmalloc((size_t)(end - seg) + 1);
	for (; seg < end; seg++) {
		if (*seg == '%' && seg + 2 < end && hexval(seg[1]) >= 0 &&
		    hexval(seg[2]) >= 0) {
			*o++ = (char)(hexval(seg[1]) * 16 + hexval(seg[2]));
			seg += 2;
		} else {
			*o++ = *seg;
		}
	}
	*o = '\0';
	return out;
}

int json_read_whole(const char *path, size_t max, int code, json_t **out, struct mb_err *err)
{
	json_error_t je;
	char *text = NULL;
	size_t len = 0;
	int rc = read_file(path, max, &text, &len, err);

	*out = NULL;
	if (rc == 0 && !(*out = json_loadb(text, len, 0, &je)))
		rc = mb_errf(err, code, "%s:%d: %s", path, je.line, je.text);
	free(text);
	return rc;
}

/* A cache of the process's umask: it is the process's own attribute, never
 * changed by mambaboot, and reading it means setting it. */
static pthread_once_t umask_once = PTHREAD_ONCE_INIT;
static mode_t umask_value;

static void read_umask(void)
{
	umask_value = umask(022);
	umask(umask_value);
}

mode_t mb_process_umask(void)
{
	pthread_once(&umask_once, read_umask);
	return umask_value;
}

int mb_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}
