/* Downloads into the cache: parallel (libcurl multi), verified while the
 * bytes arrive (sha256, size), resumable, retried, with mirrors.
 *
 * For each artifact the sources are tried in order: every --mirror as
 * <mirror>/sha256/<hex>, then the recipe's url and its mirrors (not with
 * offline).  A source is retried with exponential backoff and jitter on
 * connection errors, resets, stalls, 5xx, 408 and 429 (Retry-After is
 * honoured); other failures move on to the next source at once.  Bytes go
 * to CACHE/partial/<hex>.part under a lock (CACHE/partial/<hex>.lock, flock)
 * and are fsync'd and renamed to CACHE/blobs/sha256/<hex> only once they
 * verify, so a final name never holds a partial or wrong file and two
 * processes fetching the same artifact both end well (the second waits for
 * the first, up to lock_timeout, then fails that artifact with MB_ELOCK).
 *
 * libcurl's global state: mb_fetch_artifacts calls curl_global_init and
 * curl_global_cleanup around its work; libcurl reference-counts them (and
 * makes them thread-safe since 7.84), so callers need no set-up of their own
 * and the module keeps no state between calls. */
#ifndef MB_FETCH_H
#define MB_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "digest.h"
#include "err.h"
#include "event.h"
#include "plan.h"
#include "recipe.h"

#define MB_FETCH_DEFAULT_JOBS 4

struct mb_fetch_opts {
	struct mb_cache *cache;       /* opened by the caller */
	const char *const *mirrors;   /* directories, file://, http(s):// */
	size_t n_mirrors;
	bool offline;                 /* cache and mirrors only */
	bool allow_unpinned;          /* else an artifact without sha256 is refused */
	int jobs;                     /* transfers at once; 0: MB_FETCH_DEFAULT_JOBS */
	const char *cacert;           /* CA bundle; NULL: the environment, then the host's (cacert.h) */
	/* How long to wait for an entry another process is fetching (it holds
	 * CACHE/partial/<hex>.lock), in seconds; <0: for ever.  Not "0 means
	 * the default": 0 gives up at once, so set it (cli_fetch_opts does). */
	double lock_timeout;
	/* The caller reads the blobs at once (install): write them through the
	 * page cache, where the reader finds them.  Otherwise (fetch, mirror)
	 * they go to disk with O_DIRECT where the file system allows it. */
	bool read_soon;
	const struct mb_events *ev;   /* may be NULL */
	/* Tuning; 0 means the default or the environment:
	 * MAMBABOOT_RETRY_BASE_MS (500), MAMBABOOT_RETRIES (3 retries per
	 * source), MAMBABOOT_STALL_SECONDS (30: below 1 kB/s that long is a
	 * stall), MAMBABOOT_RETRY_AFTER_MAX (120 s: a longer Retry-After gives
	 * up on that source). */
	long retry_base_ms;
	int retries;
	long stall_seconds;
	long retry_after_max;
};

enum mb_fetch_status { MB_FETCH_PENDING, MB_FETCH_OK, MB_FETCH_FAILED };

struct mb_fetch_item {
	const struct mb_artifact *artifact; /* in: what to fetch */
	const char *label;                  /* in: for events, e.g. the recipe name; may be NULL */
	bool md5;                           /* in: keep its md5 too (CACHE/blobs/md5), for conda records */
	/* out */
	enum mb_fetch_status status;
	char sha256[MB_SHA256_HEX]; /* the verified digest (for an unpinned artifact: the one seen) */
	char *blob_path;            /* CACHE/blobs/sha256/<sha256> */
	int64_t size;
	bool cached;                /* it was in the cache already */
	bool unverified;            /* no sha256 in the recipe: digest as seen (unpinned or tree_sha256 only) */
	char *source;               /* the URL the bytes came from; NULL when cached */
	int attempts;               /* requests made, over every source */
	int error_code;             /* MB_EFETCH, MB_EINTEGRITY or MB_ELOCK when FAILED */
	char *error;                /* one line, when FAILED */
};

/* Fetch every item into the cache.  Each item ends OK or FAILED; the
 * others go on when one fails.  Returns 0 when all are OK; else the first
 * failure's class (-MB_EINTEGRITY if any item failed on integrity) with a
 * message that summarises.  An unpinned artifact without allow_unpinned is
 * refused (-MB_EINPUT) before anything is fetched. */
int mb_fetch_artifacts(const struct mb_fetch_opts *o, struct mb_fetch_item *items,
		       size_t n, struct mb_err *err);
void mb_fetch_item_release(struct mb_fetch_item *item);

/* Every artifact of a plan, in plan order. */
struct mb_fetch_list {
	struct mb_fetch_item *items;
	size_t n;
};
int mb_fetch_plan(const struct mb_fetch_opts *o, const struct mb_plan *plan,
		  struct mb_fetch_list *out, struct mb_err *err);
void mb_fetch_list_free(struct mb_fetch_list *list);

/* Where a GET's body goes (mb_fetch_get). */
struct mb_fetch_sink {
	void (*restart)(void *ctx);  /* before each try: forget what an earlier one gave */
	/* The next bytes of a 2xx body; < 0 (with err filled) stops the transfer. */
	int (*data)(void *ctx, const char *p, size_t n, struct mb_err *err);
	void *ctx;
};

/* GET url (http, https, file) with an optional Accept header, its body
 * handed to the sink as it arrives, in bounded memory: for index pages
 * and repodata.  TLS is verified (o->cacert and the usual variables),
 * redirects are followed, and failures are retried as downloads are
 * (connection errors, stalls, 5xx, 408, 429), from the first byte again.
 * Only o->cacert, o->ev (interruption) and the tuning are read.  Returns 0
 * when the whole body was given, 1 when the server says the file is not
 * there (404, 410; a missing file://), the sink's own error, or
 * MB_EFETCH naming the URL and why. */
int mb_fetch_get(const struct mb_fetch_opts *o, const char *url, const char *accept,
		 const struct mb_fetch_sink *sink, struct mb_err *err);

/* The same for many GETs (lock reads index pages one after another): one
 * libcurl handle, so that a server's pages share a connection and its TLS
 * session; a failed request drops the connection.  A 429 or 503 with
 * Retry-After waits that long (at most the tuning's retry_after_max, else
 * the GET fails at once), as downloads do.  o must outlive the getter. */
struct mb_getter;
int mb_getter_open(struct mb_getter **g, const struct mb_fetch_opts *o, struct mb_err *err);
int mb_getter_get(struct mb_getter *g, const char *url, const char *accept,
		  const struct mb_fetch_sink *sink, struct mb_err *err);
void mb_getter_close(struct mb_getter *g);

struct mb_curl;

/* Pure helpers, exposed for the unit tests. */

/* Delay before retry number `retry` (1, 2, ...): base * 2^(retry-1), at
 * most cap, scaled into [1/2, 1] of itself by `random` (jitter). */
long mb_fetch_backoff_ms(long base_ms, int retry, long cap_ms, uint32_t random);

/* A Retry-After value (delta seconds or an HTTP date, read by libcurl's
 * curl_getdate) as seconds from now; -1 when it cannot be read.  A date in
 * the past gives 0. */
long mb_fetch_parse_retry_after(const char *value, int64_t now, const struct mb_curl *api);

/* <mirror>/sha256/<hex> as a URL: http(s):// and file:// are joined as
 * they are; a plain directory becomes a %-encoded file:// URL (made
 * absolute against cwd).  NULL for a scheme that is not supported. */
char *mb_fetch_mirror_url(const char *mirror, const char *hex, const char *cwd);
/* <mirror>/DIR/NAME as a URL, the same way (the build cache's builds/). */
char *mb_fetch_mirror_file_url(const char *mirror, const char *dir, const char *name,
			       const char *cwd);
/* (An artifact pinned by tree_sha256 alone is looked up as
 * MIRROR/tree_sha256/<hex> instead.) */

#endif
