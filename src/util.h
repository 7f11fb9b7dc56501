/* Small helpers shared by every module: memory, strings, paths. */
#ifndef MB_UTIL_H
#define MB_UTIL_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

/* Allocation failure is not recoverable for a command-line installer:
 * these print one line and exit(1). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow an array so that it holds at least `need` items of `size` bytes. */
void *grow(void *p, size_t *cap, size_t need, size_t size);
/* Frees the n strings of v, then v (NULL: nothing). */
void strv_free(char **v, size_t n);
#define VEC_PUSH(arr, n, cap) \
	((arr) = grow((arr), &(cap), (n) + 1, sizeof *(arr)), &(arr)[(n)++])

/* A growable string. */
struct sbuf {
	char *s;
	size_t len, cap;
};
void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* v in decimal, without printf (hot lists of sizes and modes). */
void sbuf_int(struct sbuf *b, long long v);
char *sbuf_steal(struct sbuf *b);
/* s as a JSON string, quoted and escaped as jansson writes it (UTF-8 kept);
 * s must be valid UTF-8 (utf8_valid). */
void sbuf_json_string(struct sbuf *b, const char *s);
/* Is s valid UTF-8, as a JSON string must be?  (jansson's check.) */
bool utf8_valid(const char *s);
void sbuf_free(struct sbuf *b);

/* Package names compare case-insensitively with runs of - _ . equal
 * (PEP 503).  Returns a new string. */
char *name_normalize(const char *name);
bool name_equal(const char *a, const char *b);
bool name_valid(const char *name);

bool is_hex64(const char *s);
void hex_encode(const unsigned char *in, size_t n, char *out);
void str_lower(char *s);
bool str_endswith(const char *s, const char *suffix);
/* qsort/bsearch comparator for arrays of char *. */
int strptr_cmp(const void *a, const void *b);

/* Edit distance, for did-you-mean suggestions. */
size_t edit_distance(const char *a, const char *b);

/* The last path segment of a URL ("scheme://host/a/b?q#f" gives "b") or
 * of a relative reference ("../b#f"), %-decoded; NULL if it is empty. */
char *url_last_segment(const char *url);

/* "a" + "/" + "b", without doubling a slash. */
char *path_join(const char *a, const char *b);

/* Is the relative path below the directory dir ("a/b" is below "a")?
 * False when dir is NULL. */
bool path_below(const char *path, const char *dir);

#include "err.h"
/* Read a whole file of at most `max` bytes; *buf is NUL-terminated. */
int read_file(const char *path, size_t max, char **buf, size_t *len, struct mb_err *err);

/* The process's umask, read once (umask(2) can only be read by setting
 * it: two threads doing that at once could leave 022 behind).  The first
 * call must come before any thread that creates files is started. */
mode_t mb_process_umask(void);

/* Online CPUs, 1 to 64. */
int mb_online_cpus(void);

struct json_t;
/* A JSON file of at most `max` bytes, read in one go and parsed from the
 * buffer (json_loadb): json_load_file reads a character at a time, through
 * stdio's locked getc.  A file that cannot be read is MB_EFAIL (MB_EINPUT
 * when missing), one that does not parse is `code`, "PATH:LINE: why". */
int json_read_whole(const char *path, size_t max, int code, struct json_t **out,
		    struct mb_err *err);
#endif
