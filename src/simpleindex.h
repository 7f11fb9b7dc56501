/* A project page of a Python simple index: PEP 691 JSON or PEP 503 HTML.
 *
 * JSON (application/vnd.pypi.simple.v1+json): files[] with filename,
 * hashes.sha256 and, since API 1.1, size.  HTML: one <a href="URL#sha256=HEX">
 * per file, the file name being the anchor's text or, failing that, the
 * last segment of the href.  The page is told apart by its first byte
 * ('{' is JSON), so a server that ignores the Accept header still works. */
#ifndef MB_SIMPLEINDEX_H
#define MB_SIMPLEINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct mb_simple_hit {
	char sha256[65];
	int64_t size;       /* -1: the page gives none (HTML always) */
	const char *format; /* "pep691" or "pep503" */
};

/* Find `filename` in the page.  Returns 1 (found, *hit filled), 0 (not on
 * the page, or listed without a sha256), or MB_EINPUT when a JSON page is
 * not a PEP 691 page. */
int mb_simple_find(const char *page, size_t len, const char *filename,
		   struct mb_simple_hit *hit, struct mb_err *err);

/* The project name as a simple index spells it in URLs (PEP 503): lower
 * case, runs of - _ . as one '-'.  A wheel's is its file name up to the
 * first '-'.  Returns a new string. */
char *mb_simple_project(const char *filename, const char *recipe_name);

#endif
