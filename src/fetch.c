/* Downloads: one job per artifact, driven by one libcurl multi handle.
 *
 * A job walks its sources; each request hands its bytes to the job's sink
 * (hashpipe.h), which hashes them and appends them to the partial file on
 * threads of its own, so a retry resumes (Range) without hashing anything
 * twice.  Only a partial file left by an earlier process is read back
 * once, to bring the hash up to its length. */
#include "fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cacert.h"
#include "curlapi.h"
#include "hashpipe.h"
#include "lock.h"
#include "util.h"

#ifndef MB_VERSION_STRING
#define MB_VERSION_STRING "0.1.0"
#endif

enum {
	RETRY_CAP_MS = 30000,
	MAX_REDIRECTS = 10,
	LOW_SPEED_BYTES = 1024,
	CONNECT_TIMEOUT_S = 30,
	PROGRESS_EVERY_MS = 100,
	LOCK_POLL_MS = 100,
	BUFFER_BYTES = 256 * 1024,
	SINK_MIN = 2 << 20,          /* the least that writes O_DIRECT */
	SINK_MAX = 32 << 20,
	SINK_INLINE_MAX = 1 << 20,   /* known to be this small: hashed and written inline */
	SINK_INLINE_RING = 64 << 10, /* then the ring only reads a partial file back */
};

struct tuning {
	long base_ms, stall_s, retry_after_max;
	int retries;
};

enum job_state { ST_START, ST_READY, ST_ACTIVE, ST_DONE };

/* Why a request stopped early, beyond what curl says. */
enum why { W_NONE, W_HTTP, W_TOO_BIG, W_IO, W_RESTART };

struct fetch_ctx;

struct job {
	struct fetch_ctx *ctx;
	struct mb_fetch_item *item;
	const struct mb_artifact *a;
	const char *hex;            /* the pinned sha256, or NULL */
	char **sources;
	size_t n_sources, src;
	int tries;                  /* requests made to the current source */
	enum job_state state;
	int64_t wake_ms;            /* not before this: backoff, lock polling */
	int lock_fd, fd;
	char *part_path;
	struct mb_hashpipe hash;     /* running while the partial file is open */
	int64_t offset;             /* bytes handed to the sink (hashed and written) */
	bool mixed;                 /* the partial file holds earlier bytes of unknown origin */
	bool wrong_bytes;           /* some source gave bytes that did not verify */
	bool lock_waited;           /* another process held the entry's lock */
	int64_t lock_since_ms;      /* since when */
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	/* the request in flight */
	int64_t range_from;
	int64_t total;              /* the recipe's size, else what the server announced, else -1 */
	bool body_started;
	long http_code;
	int64_t content_range_from;
	long retry_after;
	enum why why;
	int io_errno;
	int64_t progress_ms;
	struct sbuf log;            /* "source: what happened; ..." */
};

struct fetch_ctx {
	struct mb_curl api;
	CURLM *multi;               /* NULL until the first transfer */
	struct mb_err curl_err;     /* why libcurl could not be loaded */
	const struct mb_fetch_opts *o;
	struct tuning t;
	uint32_t rng;
	struct mb_ca ca;
	struct mb_err ca_err;       /* why there is no CA bundle: HTTPS sources fail */
	int active;
};

/* ---- pure helpers ---- */

long mb_fetch_backoff_ms(long base_ms, int retry, long cap_ms, uint32_t random)
{
	long d = base_ms > 0 ? base_ms : 1;
	int i;

	for (i = 1; i < retry && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	/* "equal jitter": half fixed, half random, so retries of many clients spread */
	return d / 2 + (long)((uint64_t)(d - d / 2) * random / UINT32_MAX);
}

long mb_fetch_parse_retry_after(const char *value, int64_t now, const struct mb_curl *api)
{
	const char *p = value;
	long secs = 0;
	time_t when;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p >= '0' && *p <= '9') {
		for (; *p >= '0' && *p <= '9'; p++) {
			if (secs > 100000000)
				return -1;
			secs = secs * 10 + (*p - '0');
		}
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		return *p ? -1 : secs;
	}
	when = api->getdate(p, NULL);
	if (when == (time_t)-1)
		return -1;
	return when <= now ? 0 : (long)(when - now);
}

static bool has_scheme(const char *s)
{
	const char *p = s;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return false;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
	       *p == '+' || *p == '-' || *p == '.')
		p++;
	return strncmp(p, "://", 3) == 0;
}

static bool scheme_is(const char *url, const char *scheme)
{
	size_t n = strlen(scheme);

	return strncasecmp(url, scheme, n) == 0 && strncmp(url + n, "://", 3) == 0;
}

static void add_percent_encoded(struct sbuf *b, const char *path)
{
	static const char hexd[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("/-._~", *p)) {
			sbuf_add(b, (const char *)p, 1);
		} else {
			char e[3] = { '%', hexd[*p >> 4], hexd[*p & 15] };
			sbuf_add(b, e, 3);
		}
	}
}

static char *mirror_url(const char *mirror, const char *dir, const char *hex, const char *cwd);

char *mb_fetch_mirror_url(const char *mirror, const char *hex, const char *cwd)
{
	return mirror_url(mirror, "sha256", hex, cwd);
}

char *mb_fetch_mirror_file_url(const char *mirror, const char *dir, const char *name,
			       const char *cwd)
{
	return mirror_url(mirror, dir, name, cwd);
}

/* MIRROR/DIR/HEX as a URL. */
static char *mirror_url(const char *mirror, const char *dir_name, const char *hex, const char *cwd)
{
	struct sbuf b = { 0 };
	size_t n = strlen(mirror);

	while (n > 1 && mirror[n - 1] == '/')
		n--;
	if (has_scheme(mirror)) {
		if (!scheme_is(mirror, "http") && !scheme_is(mirror, "https") &&
		    !scheme_is(mirror, "file"))
			return NULL;
		sbuf_add(&b, mirror, n);
	} else {
		char *dir = xstrndup(mirror, n);
		sbuf_puts(&b, "file://");
		if (dir[0] != '/') {
			add_percent_encoded(&b, cwd ? cwd : "/");
			if (!cwd || cwd[strlen(cwd) - 1] != '/')
				sbuf_puts(&b, "/");
		}
		add_percent_encoded(&b, strcmp(dir, "/") == 0 ? "" : dir);
		free(dir);
	}
	sbuf_printf(&b, "/%s/%s", dir_name, hex);
	return sbuf_steal(&b);
}

/* ---- small helpers ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t next_random(uint32_t *s)
{
	uint32_t x = *s ? *s : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static long env_long(const char *name, long given, long dflt, long min, long max)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (given > 0)
		return given;
	if (!v || !*v)
		return dflt;
	n = strtol(v, &end, 10);
	return (*end || n < min || n > max) ? dflt : n;
}

static void load_tuning(const struct mb_fetch_opts *o, struct tuning *t)
{
	t->base_ms = env_long("MAMBABOOT_RETRY_BASE_MS", o->retry_base_ms, 500, 0, 600000);
	t->retries = (int)env_long("MAMBABOOT_RETRIES", o->retries, 3, 0, 100);
	t->stall_s = env_long("MAMBABOOT_STALL_SECONDS", o->stall_seconds, 30, 1, 3600);
	t->retry_after_max = env_long("MAMBABOOT_RETRY_AFTER_MAX", o->retry_after_max, 120, 0,
				      86400);
}

static const char *job_name(const struct job *j)
{
	return j->a->filename;
}

static void emit(const struct job *j, enum mb_event_type type, const char *url,
		 const char *msg, int64_t done, int64_t total)
{
	struct mb_event e = { type, job_name(j), url, msg, done, total };

	mb_emit(j->ctx->o->ev, &e);
}

static void log_source(struct job *j, const char *what)
{
	if (j->log.len)
		sbuf_puts(&j->log, "; ");
	sbuf_printf(&j->log, "%s: %s", j->sources[j->src], what);
}

/* ---- the partial file ---- */

/* The sink's ring: a quarter of the file, between the least that writes
 * O_DIRECT and SINK_MAX, so a large file gets big writes while the network
 * runs ahead.  Pages are touched only as bytes arrive: a small file costs
 * little of it.  A file known to be under SINK_INLINE_MAX is hashed and
 * written on the fetching thread (40 packages of 12 kB spent 0.5 ms of CPU
 * each on two threads and a 2 MiB ring). */
static bool sink_inline(const struct job *j)
{
	return j->a->size >= 0 && j->a->size <= SINK_INLINE_MAX;
}

static size_t sink_bytes(const struct job *j)
{
	int64_t size = j->a->size;

	if (sink_inline(j))
		return SINK_INLINE_RING;
	if (size < 0)
		return SINK_MAX / 4;
	if (size / 4 > SINK_MAX)
		return SINK_MAX;
	return size / 4 < SINK_MIN ? SINK_MIN : (size_t)(size / 4 + 4095) / 4096 * 4096;
}

static unsigned hash_flags(const struct job *j)
{
	return (j->ctx->o->read_soon ? 0 : MB_HASHPIPE_DIRECT) | (j->item->md5 ? MB_HASHPIPE_MD5 : 0) |
	       (sink_inline(j) ? MB_HASHPIPE_INLINE : 0);
}

static int reset_partial(struct job *j)
{
	struct mb_err err;

	mb_hashpipe_abort(&j->hash);
	j->offset = 0;
	j->mixed = false;
	if (ftruncate(j->fd, 0) < 0) {
		j->io_errno = errno;
		return -1;
	}
	if (mb_hashpipe_start(&j->hash, sink_bytes(j), j->fd, NULL, hash_flags(j), &err) < 0) {
		j->io_errno = ENOMEM;
		return -1;
	}
	return 0;
}

static int open_partial(struct job *j, struct mb_err *err)
{
	struct mb_cache *cache = j->ctx->o->cache;
	struct stat st;
	int rc;

	if (j->hex) {
		j->part_path = mb_cache_partial_path(cache, j->hex);
		j->fd = open(j->part_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	} else {
		char *tmp = mb_cache_tmp_dir(cache);
		j->part_path = xasprintf("%s/unpinned-XXXXXX", tmp);
		free(tmp);
		j->fd = mkstemp(j->part_path);
		if (j->fd >= 0)
			fchmod(j->fd, 0644); /* a blob like any other, not mkstemp's 0600 */
	}
	if (j->fd < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot create %s", j->part_path);
	if (fstat(j->fd, &st) < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot stat %s", j->part_path);
	if (st.st_size > 0 && j->a->size >= 0 && st.st_size > j->a->size) {
		if (ftruncate(j->fd, 0) < 0)
			return mb_errno(err, MB_EFAIL, errno, "cannot truncate %s", j->part_path);
		st.st_size = 0;
	}
	j->offset = st.st_size; /* brought up to what can be read back */
	if ((rc = mb_hashpipe_start(&j->hash, sink_bytes(j), j->fd, &j->offset, hash_flags(j),
				    err)) < 0)
		return rc;
	if (j->offset > 0) {
		j->mixed = true;
		emit(j, MB_EV_INFO, NULL, "resuming from a partial download", j->offset,
		     j->a->size);
	}
	return 0;
}

static void close_partial(struct job *j, bool discard)
{
	mb_hashpipe_abort(&j->hash);
	if (j->fd >= 0) {
		close(j->fd);
		if (discard || !j->hex || j->offset == 0)
			unlink(j->part_path);
	}
	j->fd = -1;
	mb_cache_unlock(j->ctx->o->cache, j->hex, j->lock_fd);
	j->lock_fd = -1;
}

/* ---- ending a job ---- */

static void job_finish(struct job *j)
{
	if (j->easy) {
		j->ctx->api.multi_remove_handle(j->ctx->multi, j->easy);
		j->ctx->api.easy_cleanup(j->easy);
		j->easy = NULL;
	}
	j->state = ST_DONE;
}

static void job_ok_cached(struct job *j)
{
	struct mb_fetch_item *it = j->item;
	struct stat st;

	it->status = MB_FETCH_OK;
	it->cached = true;
	snprintf(it->sha256, sizeof it->sha256, "%s", j->hex);
	it->blob_path = mb_cache_blob_path(j->ctx->o->cache, j->hex);
	it->size = stat(it->blob_path, &st) == 0 ? st.st_size : j->a->size;
	close_partial(j, false);
	emit(j, MB_EV_FETCH_CACHED, it->blob_path, NULL, it->size, it->size);
	job_finish(j);
}

static void job_fail(struct job *j, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void job_fail(struct job *j, int code, const char *fmt, ...)
{
	struct mb_fetch_item *it = j->item;
	va_list ap;
	char buf[MB_ERR_MSG_MAX];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	it->status = MB_FETCH_FAILED;
	it->error_code = code;
	it->error = xstrdup(buf);
	close_partial(j, code == MB_EINTEGRITY);
	emit(j, MB_EV_FETCH_END, NULL, it->error, j->offset, j->a->size);
	job_finish(j);
}

static void job_fail_sources(struct job *j)
{
	int code = j->wrong_bytes ? MB_EINTEGRITY : MB_EFETCH;

	if (j->n_sources == 0)
		job_fail(j, MB_EFETCH, "%s is not in the cache%s", job_name(j),
			 j->ctx->o->n_mirrors ? " nor in any mirror (offline)" :
						" and no mirror was given (offline)");
	else
		job_fail(j, code, "%s: %s: %s", job_name(j),
			 code == MB_EINTEGRITY ? "no source gave the right bytes" :
						 "every source failed",
			 j->log.s);
}

/* ---- requests ---- */

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct job *j = ud;
	size_t len = size * n;
	char line[256];

	if (len >= sizeof line)
		return len;
	memcpy(line, p, len);
	line[len] = '\0';
	if (strncmp(line, "HTTP/", 5) == 0) {
		j->content_range_from = -1; /* a new response: after a redirect, say */
		j->retry_after = -1;
	} else if (strncasecmp(line, "content-range:", 14) == 0) {
		long long from;
		if (sscanf(line + 14, " bytes %lld-", &from) == 1)
			j->content_range_from = from;
	} else if (strncasecmp(line, "retry-after:", 12) == 0) {
		j->retry_after = mb_fetch_parse_retry_after(line + 12, (int64_t)time(NULL), &j->ctx->api);
	}
	return len;
}

/* The first bytes of a body: is it the right one, and where does it go? */
static int body_begins(struct job *j)
{
	j->ctx->api.easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &j->http_code);
	j->body_started = true;
	if (j->a->size < 0) {
		curl_off_t cl = -1;
		j->ctx->api.easy_getinfo(j->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		j->total = cl < 0 ? -1 : (j->http_code == 206 ? j->range_from : 0) + (int64_t)cl;
	}
	if (j->http_code >= 400) {
		j->why = W_HTTP;
		return -1;
	}
	if (j->range_from == 0 || j->http_code == 0) /* file:// honours the range */
		return 0;
	if (j->http_code == 206 && j->content_range_from == j->range_from)
		return 0;
	if (j->http_code == 200) { /* Range ignored: the whole file follows */
		emit(j, MB_EV_INFO, j->sources[j->src], "the server ignored the range; starting over",
		     0, j->a->size);
		return reset_partial(j) < 0 ? (j->why = W_IO, -1) : 0;
	}
	j->why = W_RESTART;
	return -1;
}

static void maybe_progress(struct job *j)
{
	int64_t t = now_ms();

	if (t - j->progress_ms < PROGRESS_EVERY_MS)
		return;
	j->progress_ms = t;
	emit(j, MB_EV_FETCH_PROGRESS, j->sources[j->src], NULL, j->offset, j->total);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct job *j = ud;
	size_t len = size * n;

	if (!j->body_started && body_begins(j) < 0)
		return 0;
	if (j->a->size >= 0 && j->offset + (int64_t)len > j->a->size) {
		j->why = W_TOO_BIG;
		return 0;
	}
	if (mb_hashpipe_put(&j->hash, p, len) < 0) { /* an earlier write failed */
		j->why = W_IO;
		j->io_errno = errno;
		return 0;
	}
	j->offset += (int64_t)len;
	maybe_progress(j);
	return len;
}

static void set_protocols(const struct mb_curl *api, CURL *e)
{
#if LIBCURL_VERSION_NUM >= 0x075500
	api->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file");
	api->easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	api->easy_setopt(e, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS | CURLPROTO_FILE);
	api->easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
}

/* What every transfer sets: TLS verified, redirects, stalls, timeouts. */
static void set_common(const struct mb_curl *api, CURL *e, const struct mb_ca *ca, long stall_s,
		       char *errbuf)
{
	api->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	api->easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	api->easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	api->easy_setopt(e, CURLOPT_MAXREDIRS, (long)MAX_REDIRECTS);
	set_protocols(api, e);
	api->easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	api->easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca->file)
		api->easy_setopt(e, CURLOPT_CAINFO, ca->file);
	if (ca->dir)
		api->easy_setopt(e, CURLOPT_CAPATH, ca->dir);
	api->easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, (long)LOW_SPEED_BYTES);
	api->easy_setopt(e, CURLOPT_LOW_SPEED_TIME, stall_s);
	api->easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
	api->easy_setopt(e, CURLOPT_BUFFERSIZE, (long)BUFFER_BYTES);
	api->easy_setopt(e, CURLOPT_USERAGENT, "mambaboot/" MB_VERSION_STRING);
}

static CURL *make_easy(struct job *j, const char *url)
{
	const struct fetch_ctx *c = j->ctx;
	const struct mb_curl *api = &c->api;
	CURL *e = api->easy_init();
	char range[32];

	if (!e)
		return NULL;
	api->easy_setopt(e, CURLOPT_URL, url);
	api->easy_setopt(e, CURLOPT_PRIVATE, j);
	api->easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	api->easy_setopt(e, CURLOPT_WRITEDATA, j);
	api->easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	api->easy_setopt(e, CURLOPT_HEADERDATA, j);
	set_common(api, e, &c->ca, c->t.stall_s, j->errbuf);
	if (j->offset > 0) {
		snprintf(range, sizeof range, "%lld-", (long long)j->offset);
		api->easy_setopt(e, CURLOPT_RANGE, range);
	}
	return e;
}

/* libcurl is loaded for the first transfer: a run that finds everything
 * in the cache never loads it (curlapi.h). */
static int open_curl(struct fetch_ctx *c)
{
	if (c->multi)
		return 0;
	if (c->curl_err.code)
		return -c->curl_err.code;
	if (mb_curl_open(&c->api, &c->curl_err) < 0)
		return -c->curl_err.code;
	if (!(c->multi = c->api.multi_init())) {
		mb_curl_close(&c->api);
		return mb_errf(&c->curl_err, MB_EFAIL, "cannot initialise libcurl");
	}
	return 0;
}

static void next_source(struct job *j, const char *why);

static void start_request(struct job *j)
{
	const char *url;

	if (j->src >= j->n_sources) {
		job_fail_sources(j);
		return;
	}
	if (open_curl(j->ctx) < 0) {
		job_fail(j, j->ctx->curl_err.code, "%s", j->ctx->curl_err.msg);
		return;
	}
	url = j->sources[j->src];
	if (j->ctx->ca_err.code && scheme_is(url, "https")) {
		next_source(j, j->ctx->ca_err.msg);
		return;
	}
	j->easy = make_easy(j, url);
	if (!j->easy) {
		job_fail(j, MB_EFAIL, "%s: cannot create a transfer (libcurl)", job_name(j));
		return;
	}
	j->errbuf[0] = '\0';
	j->range_from = j->offset;
	j->total = j->a->size;
	j->body_started = false;
	j->http_code = 0;
	j->content_range_from = -1;
	j->retry_after = -1;
	j->why = W_NONE;
	j->tries++;
	j->item->attempts++;
	if (j->ctx->api.multi_add_handle(j->ctx->multi, j->easy) != CURLM_OK) {
		job_fail(j, MB_EFAIL, "%s: cannot start a transfer (libcurl)", job_name(j));
		return;
	}
	j->state = ST_ACTIVE;
	j->ctx->active++;
	emit(j, MB_EV_FETCH_BEGIN, url, NULL, j->offset, j->a->size);
}

/* Leave the current source, noting why, and go on with the next one. */
static void next_source(struct job *j, const char *why)
{
	char what[512];

	if (j->tries > 1)
		snprintf(what, sizeof what, "%s (%d attempts)", why, j->tries);
	else
		snprintf(what, sizeof what, "%s", why);
	log_source(j, what);
	if (j->src + 1 < j->n_sources)
		emit(j, MB_EV_FETCH_RETRY, j->sources[j->src], what, j->offset, j->a->size);
	j->src++;
	j->tries = 0;
	j->wake_ms = now_ms();
	j->state = ST_READY;
}

/* The wait before retry number `tries`: the backoff, or the server's
 * Retry-After (seconds; -1: none) when longer.  -1 when that is longer
 * than the tuning allows: *msg then says why, and the source is given up. */
static long retry_delay_ms(const struct tuning *t, int tries, long retry_after, uint32_t random,
			   const char *why, char *msg, size_t len)
{
	long delay = mb_fetch_backoff_ms(t->base_ms, tries, RETRY_CAP_MS, random);

	if (retry_after > t->retry_after_max) {
		snprintf(msg, len, "%s, Retry-After %ld s is too long", why, retry_after);
		return -1;
	}
	return retry_after >= 0 && retry_after * 1000 > delay ? retry_after * 1000 : delay;
}

static void retry_later(struct job *j, const char *why)
{
	struct fetch_ctx *c = j->ctx;
	char msg[600];
	long delay = retry_delay_ms(&c->t, j->tries, j->retry_after, next_random(&c->rng), why,
				    msg, sizeof msg);

	if (delay < 0) {
		next_source(j, msg);
		return;
	}
	snprintf(msg, sizeof msg, "%s; retry %d of %d in %.1f s", why, j->tries, c->t.retries,
		 (double)delay / 1000);
	emit(j, MB_EV_FETCH_RETRY, j->sources[j->src], msg, j->offset, j->a->size);
	j->wake_ms = now_ms() + delay;
	j->state = ST_READY;
}

static void job_commit(struct job *j, const char *hex)
{
	struct mb_fetch_item *it = j->item;
	struct mb_err err = { 0 };

	if (j->hash.md5[0])
		mb_cache_put_md5(j->ctx->o->cache, hex, j->hash.md5);
	if (mb_cache_commit_blob(j->ctx->o->cache, j->fd, j->part_path, hex, &err) < 0) {
		job_fail(j, MB_EFAIL, "%s: %s", job_name(j), err.msg);
		return;
	}
	it->status = MB_FETCH_OK;
	snprintf(it->sha256, sizeof it->sha256, "%s", hex);
	it->blob_path = mb_cache_blob_path(j->ctx->o->cache, hex);
	it->size = j->offset;
	it->source = it->attempts ? xstrdup(j->sources[j->src]) : NULL;
	it->unverified = j->hex == NULL;
	close(j->fd);
	j->fd = -1;
	close_partial(j, false);
	emit(j, MB_EV_FETCH_END, it->source, NULL, it->size, it->size);
	job_finish(j);
}

/* The source sent a whole body: does it verify? */
static void verify_body(struct job *j)
{
	char hex[MB_SHA256_HEX], why[160];
	int64_t size = j->offset;
	bool mixed;

	if (j->a->size >= 0 && size != j->a->size) {
		snprintf(why, sizeof why, "%lld bytes, expected %lld", (long long)size,
			 (long long)j->a->size);
	} else {
		if (mb_hashpipe_finish(&j->hash, hex) < 0) {
			job_fail(j, MB_EFAIL, "%s: cannot write %s: %s", job_name(j), j->part_path,
				 strerror(errno));
			return;
		}
		if (!j->hex || strcmp(hex, j->hex) == 0) {
			job_commit(j, hex);
			return;
		}
		snprintf(why, sizeof why, "wrong sha256 %.16s...", hex);
	}
	mixed = j->mixed;
	if (reset_partial(j) < 0) {
		job_fail(j, MB_EFAIL, "%s: cannot truncate %s: %s", job_name(j), j->part_path,
			 strerror(j->io_errno));
		return;
	}
	if (mixed) { /* earlier bytes came from elsewhere: give this source a clean try */
		emit(j, MB_EV_INFO, j->sources[j->src], "the partial file was wrong; starting over",
		     0, j->a->size);
		j->wake_ms = now_ms();
		j->state = ST_READY;
		return;
	}
	j->wrong_bytes = true;
	next_source(j, why);
}

static bool curl_retryable(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static void on_http_error(struct job *j)
{
	char why[64];
	long code = j->http_code;

	snprintf(why, sizeof why, "HTTP %ld", code);
	if (code == 416 && j->range_from > 0) { /* our partial file is off: start over */
		if (reset_partial(j) < 0) {
			job_fail(j, MB_EFAIL, "%s: cannot truncate %s", job_name(j), j->part_path);
			return;
		}
		j->state = ST_READY;
		j->wake_ms = now_ms();
		return;
	}
	if ((code >= 500 || code == 429 || code == 408) && j->tries <= j->ctx->t.retries)
		retry_later(j, why);
	else
		next_source(j, why);
}

static void on_done(struct job *j, CURLcode rc)
{
	char why[CURL_ERROR_SIZE + 64];

	if (rc == CURLE_OK && !j->body_started)
		j->ctx->api.easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &j->http_code);
	j->ctx->api.multi_remove_handle(j->ctx->multi, j->easy);
	j->ctx->api.easy_cleanup(j->easy);
	j->easy = NULL;
	j->ctx->active--;
	if (j->why == W_IO || (j->why == W_NONE && j->io_errno)) {
		job_fail(j, MB_EFAIL, "%s: cannot write %s: %s", job_name(j), j->part_path,
			 strerror(j->io_errno));
		return;
	}
	if (j->why == W_TOO_BIG) {
		j->why = W_NONE;
		snprintf(why, sizeof why, "more than the %lld bytes expected", (long long)j->a->size);
		if (reset_partial(j) == 0)
			j->wrong_bytes = true;
		next_source(j, why);
		return;
	}
	if (j->why == W_RESTART) {
		if (reset_partial(j) == 0 && j->tries <= j->ctx->t.retries)
			retry_later(j, "unexpected Content-Range");
		else
			next_source(j, "unexpected Content-Range");
		return;
	}
	if (j->why == W_HTTP || (rc == CURLE_OK && j->http_code >= 400)) {
		on_http_error(j);
		return;
	}
	if (rc == CURLE_OK) {
		verify_body(j);
		return;
	}
	snprintf(why, sizeof why, "%s", j->errbuf[0] ? j->errbuf : j->ctx->api.easy_strerror(rc));
	if (curl_retryable(rc) && j->tries <= j->ctx->t.retries)
		retry_later(j, why);
	else
		next_source(j, why);
}

/* ---- starting a job: cache hit, lock, partial file ---- */

/* Another process holds the entry's lock: poll again later, up to
 * --lock-timeout from the first refusal. */
static void wait_for_lock(struct job *j)
{
	double limit = j->ctx->o->lock_timeout;
	int64_t t = now_ms(), deadline;

	if (!j->lock_waited) {
		emit(j, MB_EV_INFO, NULL, "another process is fetching it; waiting", 0,
		     j->a->size);
		j->lock_waited = true;
		j->lock_since_ms = t;
	}
	if (limit < 0) {
		j->wake_ms = t + LOCK_POLL_MS;
		return;
	}
	deadline = j->lock_since_ms + (int64_t)(limit * 1000);
	if (t >= deadline) {
		job_fail(j, MB_ELOCK,
			 "%s: another process is fetching it and holds %s/partial/%s.lock; gave up after %g s (--lock-timeout)",
			 job_name(j), j->ctx->o->cache->dir, j->hex, limit);
		return;
	}
	j->wake_ms = t + LOCK_POLL_MS < deadline ? t + LOCK_POLL_MS : deadline;
}

static void job_begin(struct job *j)
{
	struct mb_cache *cache = j->ctx->o->cache;
	struct mb_err err = { 0 };
	int rc;

	if (j->hex) {
		if (mb_cache_has_blob(cache, j->hex)) {
			job_ok_cached(j);
			return;
		}
		rc = mb_cache_try_lock(cache, j->hex, &j->lock_fd, &err);
		if (rc == 1) { /* another process is fetching it: wait for its result */
			wait_for_lock(j);
			return;
		}
		if (rc < 0) {
			job_fail(j, MB_EFAIL, "%s", err.msg);
			return;
		}
		if (mb_cache_has_blob(cache, j->hex)) {
			job_ok_cached(j);
			return;
		}
	}
	if (j->n_sources == 0) {
		job_fail_sources(j);
		return;
	}
	if (open_partial(j, &err) < 0) {
		job_fail(j, MB_EFAIL, "%s", err.msg);
		return;
	}
	if (j->a->size >= 0 && j->offset == j->a->size) { /* complete, never renamed */
		verify_body(j);
		if (j->state == ST_DONE)
			return;
	}
	j->state = ST_READY;
	j->wake_ms = now_ms();
}

/* ---- sources ---- */

static void add_source(struct job *j, char *url)
{
	size_t cap = j->n_sources;

	*VEC_PUSH(j->sources, j->n_sources, cap) = url;
}

static void build_sources(struct job *j, const char *cwd)
{
	const struct mb_fetch_opts *o = j->ctx->o;
	size_t i;

	/* A source archive pinned by its tree only is looked up in a mirror
	 * as tree_sha256/<hex>; the build checks that tree before unpacking. */
	for (i = 0; (j->hex || j->a->tree_sha256) && i < o->n_mirrors; i++) {
		char *u = j->hex ? mb_fetch_mirror_url(o->mirrors[i], j->hex, cwd)
				 : mirror_url(o->mirrors[i], "tree_sha256", j->a->tree_sha256, cwd);
		if (u)
			add_source(j, u);
	}
	if (o->offline)
		return;
	add_source(j, xstrdup(j->a->url));
	for (i = 0; i < j->a->n_mirrors; i++)
		add_source(j, xstrdup(j->a->mirrors[i]));
}

static void job_init(struct fetch_ctx *c, struct job *j, struct mb_fetch_item *it,
		     const char *cwd)
{
	memset(j, 0, sizeof *j);
	j->ctx = c;
	j->item = it;
	j->a = it->artifact;
	j->hex = it->artifact->sha256;
	j->fd = j->lock_fd = -1;
	j->state = ST_START;
	memset(it->sha256, 0, sizeof it->sha256);
	it->status = MB_FETCH_PENDING;
	it->blob_path = it->source = it->error = NULL;
	it->size = it->artifact->size;
	it->cached = it->unverified = false;
	it->attempts = 0;
	it->error_code = 0;
	build_sources(j, cwd);
}

static void job_free(struct job *j)
{
	size_t i;

	if (j->state != ST_DONE) {
		close_partial(j, false);
		job_finish(j);
	}
	for (i = 0; i < j->n_sources; i++)
		free(j->sources[i]);
	free(j->sources);
	free(j->part_path);
	sbuf_free(&j->log);
}

/* ---- the loop ---- */

/* Largest first, so the longest transfer starts at once; unknown sizes last. */
static int by_size_desc(const void *pa, const void *pb)
{
	const struct job *a = *(struct job *const *)pa, *b = *(struct job *const *)pb;
	int64_t x = a->a->size, y = b->a->size;

	return (x < y) - (x > y);
}

/* Returns how many transfers ended. */
static int collect_done(struct fetch_ctx *c)
{
	CURLMsg *m;
	int left, ended = 0;

	while ((m = c->api.multi_info_read(c->multi, &left))) {
		struct job *j = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		c->api.easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
		if (j)
			on_done(j, m->data.result);
		ended++;
	}
	return ended;
}

/* Start what is due, as far as the slots allow; returns the ms until the
 * next job is due (or 1000). */
static long schedule(struct fetch_ctx *c, struct job **order, size_t n, int jobs,
		     size_t *left)
{
	int64_t t = now_ms(), next = t + 1000;
	size_t i;

	*left = 0;
	for (i = 0; i < n; i++) {
		struct job *j = order[i];
		if (j->state == ST_DONE || j->state == ST_ACTIVE) {
			*left += j->state == ST_ACTIVE;
			continue;
		}
		if (j->wake_ms <= t && c->active < jobs) {
			if (j->state == ST_START)
				job_begin(j);
			if (j->state == ST_READY && j->wake_ms <= now_ms())
				start_request(j);
			t = now_ms();
		}
		if (j->state != ST_DONE) {
			(*left)++;
			if (j->state != ST_ACTIVE && j->wake_ms < next)
				next = j->wake_ms;
		}
	}
	return next > t ? (long)(next - t) : 0;
}

static void run_jobs(struct fetch_ctx *c, struct job **order, size_t n, int jobs)
{
	size_t left;
	int running;

	for (;;) {
		long wait = schedule(c, order, n, jobs, &left);
		if (left == 0)
			break;
		if (c->active == 0) { /* only waiting: a lock, a backoff */
			poll(NULL, 0, (int)wait);
			continue;
		}
		c->api.multi_perform(c->multi, &running);
		/* A transfer that ended may have been the last, or freed a slot:
		 * schedule again before waiting (wait is stale by now). */
		if (collect_done(c) == 0)
			c->api.multi_poll(c->multi, NULL, 0, wait > 100 ? 100 : (int)wait, NULL);
	}
}

static int summarize(struct mb_fetch_item *items, size_t n, struct mb_err *err)
{
	size_t i, failed = 0, first = n;
	int code = 0;

	for (i = 0; i < n; i++) {
		if (items[i].status == MB_FETCH_OK)
			continue;
		failed++;
		if (first == n)
			first = i;
		if (items[i].error_code == MB_EINTEGRITY || !code)
			code = items[i].error_code ? items[i].error_code : MB_EFETCH;
	}
	if (!failed)
		return 0;
	if (failed == 1)
		return mb_errf(err, code, "%s", items[first].error);
	return mb_errf(err, code, "%zu of %zu artifacts failed; first: %s", failed, n,
		       items[first].error);
}

static int check_inputs(const struct mb_fetch_opts *o, struct mb_fetch_item *items, size_t n,
			struct mb_err *err)
{
	size_t i;

	if (!o->cache || !o->cache->dir)
		return mb_errf(err, MB_EFAIL, "internal: fetch without an open cache");
	for (i = 0; i < o->n_mirrors; i++) {
		char *u = mb_fetch_mirror_url(o->mirrors[i], "x", "/");
		if (!u)
			return mb_errf(err, MB_EINPUT,
				       "mirror '%s': only directories, file://, http:// and https:// are supported",
				       o->mirrors[i]);
		free(u);
	}
	if (o->cacert && access(o->cacert, R_OK) < 0)
		return mb_errno(err, MB_EINPUT, errno, "--cacert %s", o->cacert);
	for (i = 0; i < n; i++) {
		const struct mb_artifact *a = items[i].artifact;
		if (!mb_artifact_pinned(a) && !o->allow_unpinned)
			return mb_lock_unpinned_err(err, items[i].label, a->filename);
	}
	return 0;
}

int mb_fetch_artifacts(const struct mb_fetch_opts *o, struct mb_fetch_item *items,
		       size_t n, struct mb_err *err)
{
	struct fetch_ctx c = { 0 };
	struct job *jobs;
	struct job **order;
	char cwd[4096];
	size_t i;
	int rc;

	if ((rc = check_inputs(o, items, n, err)) < 0)
		return rc;
	c.o = o;
	load_tuning(o, &c.t);
	mb_ca_find(o->cacert, &c.ca, &c.ca_err);
	c.rng = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16) ^ (uint32_t)(uintptr_t)&c;
	if (!getcwd(cwd, sizeof cwd))
		snprintf(cwd, sizeof cwd, "/");
	jobs = xcalloc(n ? n : 1, sizeof *jobs);
	order = xcalloc(n ? n : 1, sizeof *order);
	for (i = 0; i < n; i++) {
		job_init(&c, &jobs[i], &items[i], cwd);
		order[i] = &jobs[i];
	}
	qsort(order, n, sizeof *order, by_size_desc);
	run_jobs(&c, order, n, o->jobs > 0 ? o->jobs : MB_FETCH_DEFAULT_JOBS);
	for (i = 0; i < n; i++)
		job_free(&jobs[i]);
	free(order);
	free(jobs);
	if (c.multi) {
		c.api.multi_cleanup(c.multi);
		mb_curl_close(&c.api);
	}
	return summarize(items, n, err);
}

void mb_fetch_item_release(struct mb_fetch_item *item)
{
	free(item->blob_path);
	free(item->source);
	free(item->error);
	item->blob_path = item->source = item->error = NULL;
}

int mb_fetch_plan(const struct mb_fetch_opts *o, const struct mb_plan *plan,
		  struct mb_fetch_list *out, struct mb_err *err)
{
	size_t i, k, cap = 0;

	out->items = NULL;
	out->n = 0;
	for (i = 0; i < plan->n_steps; i++) {
		const struct mb_recipe *r = plan->steps[i].recipe;
		for (k = 0; k < r->n_artifacts; k++) {
			struct mb_fetch_item *it = VEC_PUSH(out->items, out->n, cap);
			memset(it, 0, sizeof *it);
			it->artifact = &r->artifacts[k];
			it->label = r->name;
			it->md5 = r->kind == MB_KIND_CONDA;
		}
	}
	return mb_fetch_artifacts(o, out->items, out->n, err);
}

void mb_fetch_list_free(struct mb_fetch_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		mb_fetch_item_release(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

/* ---- a GET into a sink (index pages, repodata) ---- */

enum get_result { GET_OK, GET_GONE, GET_RETRY, GET_FAIL, GET_SINK };

/* One easy handle for all of a getter's requests, so that pages of one
 * server share a connection (and a TLS session) as a browser's do. */
struct mb_getter {
	const struct mb_fetch_opts *o;
	struct mb_curl api;
	CURL *e;
	struct mb_ca ca;
	struct mb_err no_ca;       /* why there is no CA bundle, for https */
	struct tuning t;
	uint32_t rng;
	/* the request under way: */
	const struct mb_fetch_sink *sink;
	struct mb_err *err;
	long http_code, retry_after;
	bool started;
	int sink_rc;
	char errbuf[CURL_ERROR_SIZE];
};

static bool http_ok(long code)
{
	return code == 0 || (code >= 200 && code < 300); /* 0: file:// */
}

static size_t get_body(char *p, size_t size, size_t n, void *ud)
{
	struct mb_getter *g = ud;

	if (!g->started) {
		g->api.easy_getinfo(g->e, CURLINFO_RESPONSE_CODE, &g->http_code);
		g->started = true;
	}
	if (!http_ok(g->http_code))
		return size * n; /* an error page: read and dropped */
	if ((g->sink_rc = g->sink->data(g->sink->ctx, p, size * n, g->err)) < 0)
		return 0;
	return size * n;
}

static size_t get_header(char *p, size_t size, size_t n, void *ud)
{
	struct mb_getter *g = ud;
	size_t len = size * n;
	char line[256];

	if (len < sizeof line) {
		memcpy(line, p, len);
		line[len] = '\0';
		if (strncmp(line, "HTTP/", 5) == 0)
			g->retry_after = -1; /* a new response */
		else if (strncasecmp(line, "retry-after:", 12) == 0)
			g->retry_after = mb_fetch_parse_retry_after(line + 12, (int64_t)time(NULL), &g->api);
	}
	return len;
}

static enum get_result get_classify(struct mb_getter *g, CURLcode rc, char *why, size_t len)
{
	if (g->sink_rc < 0)
		return GET_SINK;
	if (rc == CURLE_OK && !g->started)
		g->api.easy_getinfo(g->e, CURLINFO_RESPONSE_CODE, &g->http_code);
	if (rc == CURLE_OK && http_ok(g->http_code))
		return GET_OK;
	if (rc == CURLE_OK && (g->http_code == 404 || g->http_code == 410))
		return GET_GONE;
	if (rc == CURLE_FILE_COULDNT_READ_FILE)
		return GET_GONE;
	if (rc == CURLE_OK) {
		snprintf(why, len, "HTTP %ld", g->http_code);
		return g->http_code >= 500 || g->http_code == 429 || g->http_code == 408
			       ? GET_RETRY : GET_FAIL;
	}
	snprintf(why, len, "%s", g->errbuf[0] ? g->errbuf : g->api.easy_strerror(rc));
	return curl_retryable(rc) ? GET_RETRY : GET_FAIL;
}

/* Every option is set again for each request: the handle is reused. */
static enum get_result get_once(struct mb_getter *g, const char *url, struct curl_slist *headers,
				char *why, size_t len)
{
	enum get_result res;

	if (!g->e && !(g->e = g->api.easy_init())) {
		snprintf(why, len, "cannot create a transfer (libcurl)");
		return GET_FAIL;
	}
	g->started = false;
	g->http_code = 0;
	g->retry_after = -1;
	g->sink_rc = 0;
	g->errbuf[0] = '\0';
	g->api.easy_setopt(g->e, CURLOPT_URL, url);
	g->api.easy_setopt(g->e, CURLOPT_WRITEFUNCTION, get_body);
	g->api.easy_setopt(g->e, CURLOPT_WRITEDATA, g);
	g->api.easy_setopt(g->e, CURLOPT_HEADERFUNCTION, get_header);
	g->api.easy_setopt(g->e, CURLOPT_HEADERDATA, g);
	g->api.easy_setopt(g->e, CURLOPT_HTTPHEADER, headers);
	set_common(&g->api, g->e, &g->ca, g->t.stall_s, g->errbuf);
	g->sink->restart(g->sink->ctx);
	res = get_classify(g, g->api.easy_perform(g->e), why, len);
	if (res != GET_OK && res != GET_GONE) { /* a connection in doubt is not kept */
		g->api.easy_cleanup(g->e);
		g->e = NULL;
	}
	return res;
}

static int get_tries(struct mb_getter *g, const char *url, struct curl_slist *headers,
		     struct mb_err *err)
{
	char why[CURL_ERROR_SIZE + 64], msg[CURL_ERROR_SIZE + 128];
	int tries = 0;
	long delay;

	if (!g->ca.file && !g->ca.dir && g->no_ca.code && scheme_is(url, "https"))
		return mb_errf(err, MB_EFETCH, "cannot read %s: %s", url, g->no_ca.msg);
	for (;;) {
		enum get_result r = get_once(g, url, headers, why, sizeof why);
		if (r == GET_OK || r == GET_GONE)
			return r == GET_GONE;
		if (r == GET_SINK)
			return g->sink_rc;
		if (r == GET_FAIL || ++tries > g->t.retries || mb_interrupted(g->o->ev))
			return mb_errf(err, MB_EFETCH, "cannot read %s: %s%s", url, why,
				       tries > 1 ? " (after retries)" : "");
		delay = retry_delay_ms(&g->t, tries, g->retry_after, next_random(&g->rng), why,
				       msg, sizeof msg);
		if (delay < 0)
			return mb_errf(err, MB_EFETCH, "cannot read %s: %s", url, msg);
		poll(NULL, 0, (int)delay);
	}
}

int mb_getter_open(struct mb_getter **out, const struct mb_fetch_opts *o, struct mb_err *err)
{
	struct mb_getter *g = xcalloc(1, sizeof *g);
	int rc;

	*out = NULL;
	if (o->cacert && access(o->cacert, R_OK) < 0)
		rc = mb_errno(err, MB_EINPUT, errno, "--cacert %s", o->cacert);
	else
		rc = mb_curl_open(&g->api, err);
	if (rc < 0) {
		free(g);
		return rc;
	}
	g->o = o;
	g->rng = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	if (mb_ca_find(o->cacert, &g->ca, &g->no_ca) < 0)
		memset(&g->ca, 0, sizeof g->ca);
	load_tuning(o, &g->t);
	*out = g;
	return 0;
}

int mb_getter_get(struct mb_getter *g, const char *url, const char *accept,
		  const struct mb_fetch_sink *sink, struct mb_err *err)
{
	struct curl_slist *headers = NULL;
	char *line = accept ? xasprintf("Accept: %s", accept) : NULL;
	int rc;

	g->sink = sink;
	g->err = err;
	if (line)
		headers = g->api.slist_append(NULL, line);
	rc = get_tries(g, url, headers, err);
	if (g->e) /* the handle keeps a pointer to the list */
		g->api.easy_setopt(g->e, CURLOPT_HTTPHEADER, NULL);
	g->api.slist_free_all(headers);
	free(line);
	return rc;
}

void mb_getter_close(struct mb_getter *g)
{
	if (!g)
		return;
	if (g->e)
		g->api.easy_cleanup(g->e);
	mb_curl_close(&g->api);
	free(g);
}

int mb_fetch_get(const struct mb_fetch_opts *o, const char *url, const char *accept,
		 const struct mb_fetch_sink *sink, struct mb_err *err)
{
	struct mb_getter *g;
	int rc = mb_getter_open(&g, o, err);

	if (rc == 0)
		rc = mb_getter_get(g, url, accept, sink, err);
	mb_getter_close(g);
	return rc;
}
