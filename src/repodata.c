/* The repodata.json scanner (repodata.h): a push parser of JSON structure
 * that copies out only the wanted entries. */
#include "repodata.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum { DEPTH_MAX = 256, KEY_MAX = 1024 };

/* What the grammar allows next. */
enum expect { X_VALUE, X_KEY_OR_END, X_KEY, X_COLON, X_COMMA_OR_END, X_VALUE_OR_END, X_DONE };

struct mb_repodata_scan {
	char **wanted;               /* sorted */
	size_t n_wanted;
	mb_repodata_found_fn found;
	void *ctx;
	char stack[DEPTH_MAX];       /* '{' or '[' of each open container */
	int depth;
	enum expect x;
	bool in_str, esc, in_scalar;
	bool str_is_key, key_collect, key_long, key_esc;
	char key[KEY_MAX + 1];
	size_t key_len;
	bool pkgs_key;               /* the top-level key just read names a packages object */
	bool in_pkgs;                /* the object at depth 2 is a packages object */
	const char *want;            /* the wanted file name whose value comes next */
	const char *capturing;       /* the entry being copied out, or NULL */
	size_t cap_from;             /* where in this chunk the copy resumes */
	struct sbuf cap;
	uint64_t offset;             /* bytes fed before this chunk */
};

struct mb_repodata_scan *mb_repodata_scan_new(const char *const *wanted, size_t n,
					      mb_repodata_found_fn found, void *ctx)
{
	struct mb_repodata_scan *s = xcalloc(1, sizeof *s);
	size_t i;

	s->wanted = xcalloc(n ? n : 1, sizeof *s->wanted);
	for (i = 0; i < n; i++)
		s->wanted[i] = xstrdup(wanted[i]);
	s->n_wanted = n;
	if (n)
		qsort(s->wanted, n, sizeof *s->wanted, strptr_cmp);
	s->found = found;
	s->ctx = ctx;
	s->x = X_VALUE;
	return s;
}

void mb_repodata_scan_free(struct mb_repodata_scan *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n_wanted; i++)
		free(s->wanted[i]);
	free(s->wanted);
	sbuf_free(&s->cap);
	free(s);
}

static int bad(struct mb_repodata_scan *s, size_t i, const char *what, struct mb_err *err)
{
	return mb_errf(err, MB_EINPUT, "malformed JSON at byte %llu: %s",
		       (unsigned long long)(s->offset + i), what);
}

/* ---- keys ---- */

static void key_add(struct mb_repodata_scan *s, const char *p, size_t n)
{
	if (!s->key_collect || s->key_long)
		return;
	if (s->key_len + n > KEY_MAX) {
		s->key_long = true;
		return;
	}
	memcpy(s->key + s->key_len, p, n);
	s->key_len += n;
}

/* The key as text: escapes decoded by jansson (rare in file names). */
static char *key_text(struct mb_repodata_scan *s)
{
	char *quoted;
	json_t *v;
	char *out = NULL;

	s->key[s->key_len] = '\0';
	if (!s->key_esc)
		return xstrdup(s->key);
	quoted = xasprintf("\"%s\"", s->key);
	v = json_loads(quoted, JSON_DECODE_ANY, NULL);
	if (json_is_string(v))
		out = xstrdup(json_string_value(v));
	json_decref(v);
	free(quoted);
	return out;
}

static void key_done(struct mb_repodata_scan *s)
{
	char *k, **hit;

	s->x = X_COLON;
	if (s->depth == 1 && s->key_long)
		s->pkgs_key = false; /* a long key is neither "packages" nor "packages.conda" */
	if (!s->key_collect || s->key_long)
		return;
	if (s->depth == 1) {
		s->key[s->key_len] = '\0';
		s->pkgs_key = !s->key_esc && (strcmp(s->key, "packages") == 0 ||
					      strcmp(s->key, "packages.conda") == 0);
		return;
	}
	if (!(k = key_text(s)))
		return;
	hit = bsearch(&k, s->wanted, s->n_wanted, sizeof *s->wanted, strptr_cmp);
	s->want = hit ? *hit : NULL;
	free(k);
}

/* ---- strings and scalars ---- */

static void after_value(struct mb_repodata_scan *s)
{
	s->x = s->depth == 0 ? X_DONE : X_COMMA_OR_END;
}

/* Consume string bytes from p[i]; returns where scanning goes on. */
static size_t string_run(struct mb_repodata_scan *s, const char *p, size_t i, size_t n)
{
	while (i < n) {
		size_t j = i;
		if (s->esc) { /* the byte after a backslash is never the end */
			s->esc = false;
			key_add(s, p + i, 1);
			i++;
			continue;
		}
		while (j < n && p[j] != '"' && p[j] != '\\')
			j++;
		key_add(s, p + i, j - i);
		if (j == n)
			return n;
		if (p[j] == '\\') {
			s->esc = s->key_esc = true;
			key_add(s, p + j, 1);
			i = j + 1;
			continue;
		}
		s->in_str = false;
		if (s->str_is_key)
			key_done(s);
		else
			after_value(s);
		return j + 1;
	}
	return n;
}

static bool scalar_byte(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '-' || c == '+' || c == '.';
}

static bool want_value(const struct mb_repodata_scan *s)
{
	return s->x == X_VALUE || s->x == X_VALUE_OR_END;
}

static int open_string(struct mb_repodata_scan *s, size_t i, struct mb_err *err)
{
	if (s->x == X_KEY_OR_END || s->x == X_KEY) {
		s->str_is_key = true;
		s->key_collect = s->depth == 1 || (s->depth == 2 && s->in_pkgs);
		s->key_len = 0;
		s->key_long = s->key_esc = false;
		if (s->depth == 2)
			s->want = NULL;
	} else if (want_value(s) && s->depth > 0) {
		s->str_is_key = s->key_collect = false;
	} else {
		return bad(s, i, "unexpected string", err);
	}
	s->in_str = true;
	return 0;
}

/* ---- entries copied out ---- */

static int cap_add(struct mb_repodata_scan *s, const char *p, size_t n, struct mb_err *err)
{
	if (s->cap.len + n > MB_REPODATA_ENTRY_MAX)
		return mb_errf(err, MB_EINPUT, "the entry for %s is larger than %u bytes",
			       s->capturing, MB_REPODATA_ENTRY_MAX);
	sbuf_add(&s->cap, p, n);
	return 0;
}

static int entry_done(struct mb_repodata_scan *s, struct mb_err *err)
{
	json_error_t jerr;
	json_t *e = json_loadb(s->cap.s, s->cap.len, 0, &jerr), *sha, *size;
	char hex[65];
	int rc = 0;

	if (!e)
		return mb_errf(err, MB_EINPUT, "the entry for %s: %s", s->capturing, jerr.text);
	sha = json_object_get(e, "sha256");
	size = json_object_get(e, "size");
	if (json_is_string(sha) && is_hex64(json_string_value(sha))) {
		snprintf(hex, sizeof hex, "%s", json_string_value(sha));
		str_lower(hex);
		rc = s->found(s->ctx, s->capturing, hex,
			      json_is_integer(size) && json_integer_value(size) >= 0
				      ? (int64_t)json_integer_value(size) : -1, err);
	}
	json_decref(e);
	s->cap.len = 0;
	s->capturing = NULL;
	return rc;
}

/* ---- brackets and punctuation ---- */

static int open_container(struct mb_repodata_scan *s, const char *p, size_t i,
			  struct mb_err *err)
{
	if (!want_value(s))
		return bad(s, i, "unexpected bracket", err);
	if (s->depth == 0 && p[i] != '{')
		return bad(s, i, "the document is not a JSON object", err);
	if (s->depth == DEPTH_MAX)
		return bad(s, i, "nested too deeply", err);
	if (p[i] == '{' && s->depth == 1 && s->pkgs_key)
		s->in_pkgs = true;
	if (p[i] == '{' && s->depth == 2 && s->in_pkgs && s->want) {
		s->capturing = s->want;
		s->cap_from = i;
		s->cap.len = 0;
	}
	s->stack[s->depth++] = p[i];
	s->x = p[i] == '{' ? X_KEY_OR_END : X_VALUE_OR_END;
	return 0;
}

static int close_container(struct mb_repodata_scan *s, const char *p, size_t i,
			   struct mb_err *err)
{
	char open = p[i] == '}' ? '{' : '[';
	bool ok_state = s->x == X_COMMA_OR_END ||
			(open == '{' ? s->x == X_KEY_OR_END : s->x == X_VALUE_OR_END);
	int rc = 0;

	if (s->depth == 0 || s->stack[s->depth - 1] != open || !ok_state)
		return bad(s, i, "unexpected closing bracket", err);
	s->depth--;
	if (s->depth == 1)
		s->in_pkgs = false;
	if (s->depth == 2 && s->capturing) {
		rc = cap_add(s, p + s->cap_from, i + 1 - s->cap_from, err);
		if (rc == 0)
			rc = entry_done(s, err);
	}
	after_value(s);
	return rc;
}

static int punctuation(struct mb_repodata_scan *s, const char *p, size_t i,
		       struct mb_err *err)
{
	switch (p[i]) {
	case ':':
		if (s->x != X_COLON)
			return bad(s, i, "unexpected ':'", err);
		s->x = X_VALUE;
		return 0;
	case ',':
		if (s->x != X_COMMA_OR_END)
			return bad(s, i, "unexpected ','", err);
		s->x = s->stack[s->depth - 1] == '{' ? X_KEY : X_VALUE;
		return 0;
	}
	if (!scalar_byte(p[i]) || !want_value(s) || s->depth == 0)
		return bad(s, i, "unexpected character", err);
	s->in_scalar = true;
	return 0;
}

static int structural(struct mb_repodata_scan *s, const char *p, size_t i,
		      struct mb_err *err)
{
	switch (p[i]) {
	case ' ': case '\t': case '\n': case '\r':
		return 0;
	case '{': case '[':
		return open_container(s, p, i, err);
	case '}': case ']':
		return close_container(s, p, i, err);
	case '"':
		return open_string(s, i, err);
	}
	if (s->x == X_DONE)
		return bad(s, i, "bytes after the end of the document", err);
	return punctuation(s, p, i, err);
}

int mb_repodata_scan_feed(struct mb_repodata_scan *s, const char *p, size_t n,
			  struct mb_err *err)
{
	size_t i = 0;
	int rc;

	s->cap_from = 0;
	while (i < n) {
		if (s->in_str) {
			i = string_run(s, p, i, n);
			continue;
		}
		if (s->in_scalar) {
			if (scalar_byte(p[i])) {
				i++;
				continue;
			}
			s->in_scalar = false;
			after_value(s);
		}
		if ((rc = structural(s, p, i, err)) < 0)
			return rc;
		i++;
	}
	if (s->capturing && (rc = cap_add(s, p + s->cap_from, n - s->cap_from, err)) < 0)
		return rc;
	s->offset += n;
	return 0;
}

int mb_repodata_scan_finish(struct mb_repodata_scan *s, struct mb_err *err)
{
	if (s->in_str || s->in_scalar || s->depth > 0 || s->x != X_DONE)
		return bad(s, 0, "the document ends early", err);
	return 0;
}
