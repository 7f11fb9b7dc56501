#include "simpleindex.h"

#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

char *mb_simple_project(const char *filename, const char *recipe_name)
{
	char *name, *out;

	if (!str_endswith(filename, ".whl"))
		return name_normalize(recipe_name);
	name = xstrndup(filename, strcspn(filename, "-"));
	out = name_normalize(name);
	free(name);
	return out;
}

static void set_hit(struct mb_simple_hit *hit, const char *sha, int64_t size,
		    const char *format)
{
	snprintf(hit->sha256, sizeof hit->sha256, "%s", sha);
	str_lower(hit->sha256);
	hit->size = size;
	hit->format = format;
}

/* ---- PEP 691 ---- */

static int find_json(const char *page, size_t len, const char *filename,
		     struct mb_simple_hit *hit, struct mb_err *err)
{
	json_error_t jerr;
	json_t *doc = json_loadb(page, len, 0, &jerr), *files, *f;
	size_t i;
	int rc = 0;

	if (!doc)
		return mb_errf(err, MB_EINPUT, "malformed JSON at line %d: %s", jerr.line, jerr.text);
	files = json_object_get(doc, "files");
	if (!json_is_array(files))
		rc = mb_errf(err, MB_EINPUT, "not a PEP 691 project page (no 'files' list)");
	json_array_foreach(files, i, f) {
		json_t *name = json_object_get(f, "filename"), *size = json_object_get(f, "size");
		const char *sha = json_string_value(json_object_get(json_object_get(f, "hashes"),
								    "sha256"));
		if (rc != 0 || !json_is_string(name) || strcmp(json_string_value(name), filename))
			continue;
		if (sha && is_hex64(sha)) {
			set_hit(hit, sha, json_is_integer(size) ? json_integer_value(size) : -1,
				"pep691");
			rc = 1;
		}
	}
	json_decref(doc);
	return rc;
}

/* ---- PEP 503 ---- */

/* The value of attribute `name` in a tag's text [p, end), unquoted; NULL if absent. */
static char *attr_value(const char *p, const char *end, const char *name)
{
	size_t n = strlen(name);

	for (; p + n < end; p++) {
		const char *v;
		size_t vlen;
		if (strncasecmp(p, name, n) != 0 || !isspace((unsigned char)p[-1]))
			continue;
		v = p + n;
		while (v < end && isspace((unsigned char)*v))
			v++;
		if (v >= end || *v != '=')
			continue;
		for (v++; v < end && isspace((unsigned char)*v); v++)
			;
		if (v < end && (*v == '"' || *v == '\'')) {
			const char *q = memchr(v + 1, *v, (size_t)(end - v - 1));
			return q ? xstrndup(v + 1, (size_t)(q - v - 1)) : NULL;
		}
		for (vlen = 0; v + vlen < end && !isspace((unsigned char)v[vlen]); vlen++)
			;
		return xstrndup(v, vlen);
	}
	return NULL;
}

/* &amp; &lt; &gt; &quot; &#39; and &#NN; (ASCII) decoded in place. */
/* "NNN;" of a numeric character reference: the code when it is ASCII (1 to
 * 127), else 0; *end is left at the ';'. */
static long ascii_entity(const char *s, char **end)
{
	long v = 0;
	const char *p = s;

	while (isdigit((unsigned char)*p) && p - s < 4)
		v = v * 10 + (*p++ - '0');
	*end = (char *)p;
	return p > s && *p == ';' && v > 0 && v < 128 ? v : 0;
}

static void html_unescape(char *s)
{
	static const struct { const char *name; char c; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&#39;", '\'' },
	};
	char *o = s, *end;
	size_t i;

	while (*s) {
		for (i = 0; *s == '&' && i < sizeof ents / sizeof ents[0]; i++)
			if (strncmp(s, ents[i].name, strlen(ents[i].name)) == 0)
				break;
		if (*s == '&' && i < sizeof ents / sizeof ents[0]) {
			*o++ = ents[i].c;
			s += strlen(ents[i].name);
		} else if (s[0] == '&' && s[1] == '#' && ascii_entity(s + 2, &end) > 0) {
			*o++ = (char)ascii_entity(s + 2, &end);
			s = end + 1;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

static char *trimmed(const char *p, const char *end)
{
	char *s;

	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	s = xstrndup(p, (size_t)(end - p));
	html_unescape(s);
	return s;
}

/* One anchor: tag text [tag, tag_end), link text [text, text_end). */
static bool anchor_matches(const char *tag, const char *tag_end, const char *text,
			   const char *text_end, const char *filename, char sha[65])
{
	char *href = attr_value(tag, tag_end, "href"), *name, *frag;
	bool hit = false;

	if (!href)
		return false;
	html_unescape(href);
	name = trimmed(text, text_end);
	if (!name[0] || strchr(name, '<')) {
		free(name);
		name = url_last_segment(href);
	}
	frag = strstr(href, "#sha256=");
	if (name && frag && strcmp(name, filename) == 0 && strlen(frag + 8) >= 64) {
		snprintf(sha, 65, "%.64s", frag + 8);
		hit = is_hex64(sha);
	}
	free(name);
	free(href);
	return hit;
}

static const char *find_ci(const char *p, const char *end, const char *what)
{
	size_t n = strlen(what);

	for (; p + n <= end; p++)
		if (strncasecmp(p, what, n) == 0)
			return p;
	return NULL;
}

static int find_html(const char *page, size_t len, const char *filename,
		     struct mb_simple_hit *hit)
{
	const char *end = page + len, *p = page;
	char sha[65];

	while ((p = find_ci(p, end, "<a")) != NULL) {
		const char *tag_end = memchr(p, '>', (size_t)(end - p)), *close;
		if (!tag_end)
			break;
		if (!isspace((unsigned char)p[2])) {
			p += 2;
			continue;
		}
		close = find_ci(tag_end, end, "</a");
		if (!close)
			close = end;
		if (anchor_matches(p + 2, tag_end, tag_end + 1, close, filename, sha)) {
			set_hit(hit, sha, -1, "pep503");
			return 1;
		}
		p = close;
	}
	return 0;
}

int mb_simple_find(const char *page, size_t len, const char *filename,
		   struct mb_simple_hit *hit, struct mb_err *err)
{
	size_t i = 0;

	while (i < len && isspace((unsigned char)page[i]))
		i++;
	if (i < len && page[i] == '{')
		return find_json(page, len, filename, hit, err);
	return find_html(page, len, filename, hit);
}
