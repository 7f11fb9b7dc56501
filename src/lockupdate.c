/* mambaboot lock's core (lock.h, mb_lock_update): ask each index for the
 * digests of the artifacts that their recipes do not pin. */
#include "lock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "fetch.h"
#include "repodata.h"
#include "shards.h"
#include "simpleindex.h"
#include "util.h"

enum { PAGE_MAX = 64 << 20, SHARDS_MAX = 256 << 20 };

/* An artifact to lock, and what the indexes said of it. */
struct want {
	const struct mb_recipe *recipe;
	const struct mb_artifact *a;
	bool have;
	char sha256[65];
	int64_t size;
	const char *source;
	char *index;
};

struct run {
	const struct mb_lock_opts *o;
	struct mb_fetch_opts fo;
	struct mb_getter *get;         /* one connection for every index page */
	struct want *w;
	size_t n, cap;
	struct mb_err *err;
};

/* GET through the run's getter, opened on the first page. */
static int get(struct run *r, const char *url, const char *accept,
	       const struct mb_fetch_sink *sink)
{
	int rc = r->get ? 0 : mb_getter_open(&r->get, &r->fo, r->err);

	return rc < 0 ? rc : mb_getter_get(r->get, url, accept, sink, r->err);
}

static void info(const struct run *r, const char *url, const char *msg)
{
	struct mb_event e = { MB_EV_INFO, "lock", url, msg, 0, 0 };
	char line[2048];

	snprintf(line, sizeof line, "%s %s", msg, url);
	e.msg = line;
	mb_emit(r->o->ev, &e);
}

/* ---- what the indexes said ---- */

static int record(struct run *r, struct want *w, const char *sha, int64_t size,
		  const char *source, const char *index)
{
	if (w->have && strcmp(w->sha256, sha) != 0)
		return mb_errf(r->err, MB_EINTEGRITY,
			       "%s: the indexes disagree: %s gives sha256 %s, %s gives %s",
			       w->a->filename, w->index, w->sha256, index, sha);
	if (size >= 0 && w->a->size >= 0 && size != w->a->size)
		return mb_errf(r->err, MB_EINTEGRITY,
			       "%s: %s gives size %lld, the recipe %s says %lld", w->a->filename,
			       index, (long long)size, w->recipe->file, (long long)w->a->size);
	if (w->have)
		return 0;
	w->have = true;
	snprintf(w->sha256, sizeof w->sha256, "%s", sha);
	w->size = size;
	w->source = source;
	w->index = xstrdup(index);
	return 0;
}

/* ---- conda: the channel subdir's repodata ---- */

struct repo_query {
	struct run *r;
	const char *base;     /* the subdir URL, ending in '/' */
	const char *index;    /* the repodata URL being read */
	struct mb_repodata_scan *scan;
	const char **names;
	size_t n_names;
};

static bool same_dir(const char *url, const char *base)
{
	size_t n = strlen(base);
	return strncmp(url, base, n) == 0 && !strchr(url + n, '/');
}

static int repo_found(void *ctx, const char *filename, const char *sha, int64_t size,
		      struct mb_err *err)
{
	struct repo_query *q = ctx;
	size_t i;
	int rc = 0;

	(void)err;
	for (i = 0; rc == 0 && i < q->r->n; i++) {
		struct want *w = &q->r->w[i];
		if (w->recipe->kind == MB_KIND_CONDA && same_dir(w->a->url, q->base) &&
		    strcmp(w->a->filename, filename) == 0)
			rc = record(q->r, w, sha, size, "repodata", q->index);
	}
	return rc;
}

static void scan_restart(void *ctx)
{
	struct repo_query *q = ctx;

	mb_repodata_scan_free(q->scan);
	q->scan = mb_repodata_scan_new(q->names, q->n_names, repo_found, q);
}

static int scan_data(void *ctx, const char *p, size_t n, struct mb_err *err)
{
	struct repo_query *q = ctx;
	return mb_repodata_scan_feed(q->scan, p, n, err);
}

static void tmp_restart(void *ctx)
{
	FILE *f = ctx;

	rewind(f);
	if (ftruncate(fileno(f), 0) < 0)
		clearerr(f);
}

static int tmp_data(void *ctx, const char *p, size_t n, struct mb_err *err)
{
	if (fwrite(p, 1, n, ctx) != n)
		return mb_errno(err, MB_EFAIL, errno, "cannot write a temporary file");
	return 0;
}

/* GET url into a new temporary file (*path, to unlink): 0, 1 when the
 * server has no such file, or an error. */
static int fetch_to_tmp(struct run *r, const char *url, char **path)
{
	const char *tmpdir = getenv("TMPDIR");
	struct mb_fetch_sink sink = { tmp_restart, tmp_data, NULL };
	int fd, rc;

	*path = xasprintf("%s/mambaboot-index-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if ((fd = mkstemp(*path)) < 0)
		return mb_errno(r->err, MB_EFAIL, errno, "cannot create %s", *path);
	if (!(sink.ctx = fdopen(fd, "w+"))) {
		close(fd);
		return mb_errno(r->err, MB_EFAIL, errno, "cannot open %s", *path);
	}
	rc = get(r, url, NULL, &sink);
	if (fclose(sink.ctx) != 0 && rc == 0)
		rc = mb_errno(r->err, MB_EFAIL, errno, "cannot write %s", *path);
	return rc;
}

static int bad_index(struct run *r, const char *url)
{
	char why[MB_ERR_MSG_MAX];

	snprintf(why, sizeof why, "%s", r->err->msg);
	return mb_errf(r->err, MB_EFETCH, "%s: %s", url, why);
}

/* repodata.json.zst: downloaded to a temporary file, then decompressed
 * through libarchive into the scanner.  Returns 1 when the channel has none. */
static int read_zst(struct repo_query *q, const char *url)
{
	char *tpath;
	int rc = fetch_to_tmp(q->r, url, &tpath);

	if (rc == 0) {
		scan_restart(q);
		rc = mb_archive_decode(tpath, scan_data, q, q->r->err);
		if (rc == 0)
			rc = mb_repodata_scan_finish(q->scan, q->r->err);
		if (rc == -MB_EINPUT)
			rc = bad_index(q->r, url);
	}
	unlink(tpath);
	free(tpath);
	return rc;
}

static int read_json(struct repo_query *q, const char *url)
{
	struct mb_fetch_sink sink = { scan_restart, scan_data, q };
	int rc = get(q->r, url, NULL, &sink);

	if (rc == 0)
		rc = mb_repodata_scan_finish(q->scan, q->r->err);
	return rc == -MB_EINPUT ? bad_index(q->r, url) : rc;
}

/* ---- conda: CEP 16 sharded repodata ---- */

static char *dir_of(const char *url)
{
	const char *slash = strrchr(url, '/');
	return xstrndup(url, (size_t)(slash - url) + 1);
}


static int buf_data(void *ctx, const char *p, size_t n, struct mb_err *err)
{
	struct sbuf *b = ctx;

	if (b->len + n > SHARDS_MAX)
		return mb_errf(err, MB_EINPUT, "larger than %d MB once decompressed", SHARDS_MAX >> 20);
	sbuf_add(b, p, n);
	return 0;
}

/* GET a .msgpack.zst and decompress it into *out: 0, 1 (not there), or an error. */
static int fetch_decoded(struct run *r, const char *url, struct sbuf *out)
{
	char *tpath;
	int rc = fetch_to_tmp(r, url, &tpath);

	out->len = 0;
	if (rc == 0 && (rc = mb_archive_decode(tpath, buf_data, out, r->err)) == -MB_EINPUT)
		rc = bad_index(r, url);
	unlink(tpath);
	free(tpath);
	return rc;
}

/* <shards_base_url><hex>.msgpack.zst, the base resolved against the index's URL. */
static char *shard_url(const char *index_url, const char *base, const char *hex)
{
	const char *host_end;
	char *dir, *url;

	if (!base)
		base = "./shards/";
	if (strstr(base, "://"))
		return xasprintf("%s%s.msgpack.zst", base, hex);
	if (base[0] == '/') {
		host_end = strchr(strstr(index_url, "://") + 3, '/');
		return xasprintf("%.*s%s%s.msgpack.zst", (int)(host_end - index_url), index_url, base, hex);
	}
	dir = dir_of(index_url);
	url = xasprintf("%s%s%s.msgpack.zst", dir, strncmp(base, "./", 2) ? base : base + 2, hex);
	free(dir);
	return url;
}

static int shard_lookup(struct run *r, struct want *w, const char *index_url,
			const struct sbuf *index)
{
	char *name = mb_shards_package_name(w->a->filename), *base = NULL, *url;
	char hash[65], sha[65];
	struct sbuf shard = { 0 };
	int64_t size;
	int rc = name ? mb_shards_index_find(index->s, index->len, name, hash, &base, r->err) : 0;

	free(name);
	if (rc <= 0) {
		free(base);
		return rc == -MB_EINPUT ? bad_index(r, index_url) : rc;
	}
	url = shard_url(index_url, base, hash);
	info(r, url, "reading shard");
	rc = fetch_decoded(r, url, &shard);
	if (rc == 1) /* the index names a shard the channel does not serve: no pin */
		rc = 0;
	else if (rc == 0 && (rc = mb_shards_shard_find(shard.s, shard.len, w->a->filename, sha,
						       &size, r->err)) == -MB_EINPUT)
		rc = bad_index(r, url);
	if (rc == 1) /* the index, not the shard: a shard's URL changes with every new build */
		rc = record(r, w, sha, size, "shards", index_url);
	sbuf_free(&shard);
	free(base);
	free(url);
	return rc < 0 ? rc : 0;
}

/* Returns 1 when the channel has no shard index. */
static int query_shards(struct run *r, const char *base)
{
	char *url = xasprintf("%srepodata_shards.msgpack.zst", base);
	struct sbuf index = { 0 };
	size_t i;
	int rc;

	info(r, url, "reading");
	rc = fetch_decoded(r, url, &index);
	for (i = 0; rc == 0 && i < r->n; i++)
		if (r->w[i].recipe->kind == MB_KIND_CONDA && same_dir(r->w[i].a->url, base))
			rc = shard_lookup(r, &r->w[i], url, &index);
	sbuf_free(&index);
	free(url);
	return rc;
}

/* repodata.json.zst, else repodata.json */
static int query_repodata(struct run *r, const char *base)
{
	struct repo_query q = { r, base, NULL, NULL, NULL, 0 };
	char *zst = xasprintf("%srepodata.json.zst", base);
	char *json = xasprintf("%srepodata.json", base);
	size_t i;
	int rc;

	q.names = xcalloc(r->n + 1, sizeof *q.names);
	for (i = 0; i < r->n; i++)
		if (r->w[i].recipe->kind == MB_KIND_CONDA && same_dir(r->w[i].a->url, base))
			q.names[q.n_names++] = r->w[i].a->filename;
	info(r, zst, "no sharded repodata; reading");
	q.index = zst;
	rc = read_zst(&q, zst);
	if (rc == 1) {
		info(r, json, "no repodata.json.zst; reading");
		q.index = json;
		rc = read_json(&q, json);
	}
	mb_repodata_scan_free(q.scan);
	free(q.names);
	free(zst);
	free(json);
	return rc;
}

/* CEP 16 shards, else the whole repodata. */
static int query_channel(struct run *r, const char *base)
{
	int rc = query_shards(r, base);

	if (rc == 1)
		rc = query_repodata(r, base);
	return rc < 0 ? rc : 0;
}

static int lock_conda(struct run *r)
{
	size_t i, k;
	int rc = 0;

	for (i = 0; rc == 0 && i < r->n; i++) {
		char *base;
		bool seen = false;
		if (r->w[i].recipe->kind != MB_KIND_CONDA)
			continue;
		base = dir_of(r->w[i].a->url);
		for (k = 0; k < i && !seen; k++) /* each channel subdir once */
			seen = r->w[k].recipe->kind == MB_KIND_CONDA && same_dir(r->w[k].a->url, base);
		if (!seen)
			rc = query_channel(r, base);
		free(base);
	}
	return rc;
}

/* ---- wheels and sdists: simple index project pages ---- */

struct page {
	struct sbuf b;
};

static void page_restart(void *ctx)
{
	((struct page *)ctx)->b.len = 0;
}

static int page_data(void *ctx, const char *p, size_t n, struct mb_err *err)
{
	struct page *pg = ctx;

	if (pg->b.len + n > PAGE_MAX)
		return mb_errf(err, MB_EINPUT, "the page is larger than %d MB", PAGE_MAX >> 20);
	sbuf_add(&pg->b, p, n);
	return 0;
}

static char *page_url(const char *index, const struct want *w)
{
	char *project = mb_simple_project(w->a->filename, w->recipe->name);
	size_t n = strlen(index);
	char *url = xasprintf("%s%s%s/", index, n && index[n - 1] == '/' ? "" : "/", project);

	free(project);
	return url;
}

static int query_page(struct run *r, struct want *w, const char *index)
{
	static const char accept[] = "application/vnd.pypi.simple.v1+json, text/html;q=0.1";
	struct page pg = { { 0 } };
	struct mb_fetch_sink sink = { page_restart, page_data, &pg };
	struct mb_simple_hit hit;
	char *url = page_url(index, w);
	int rc;

	info(r, url, "reading");
	rc = get(r, url, accept, &sink);
	if (rc == 0) {
		rc = mb_simple_find(pg.b.s ? pg.b.s : "", pg.b.len, w->a->filename, &hit, r->err);
		if (rc == 1)
			rc = record(r, w, hit.sha256, hit.size, hit.format, url);
	}
	if (rc == -MB_EINPUT)
		rc = bad_index(r, url);
	sbuf_free(&pg.b);
	free(url);
	return rc < 0 ? rc : 0;
}

static int lock_python(struct run *r)
{
	static const char *const dflt[] = { MB_LOCK_DEFAULT_INDEX };
	const char *const *idx = r->o->n_index_urls ? r->o->index_urls : dflt;
	size_t n_idx = r->o->n_index_urls ? r->o->n_index_urls : 1, i, k;
	int rc = 0;

	for (i = 0; rc == 0 && i < r->n; i++) {
		struct want *w = &r->w[i];
		if (w->recipe->kind == MB_KIND_CONDA)
			continue;
		if (w->a->index)
			rc = query_page(r, w, w->a->index);
		for (k = 0; rc == 0 && !w->a->index && k < n_idx; k++)
			rc = query_page(r, w, idx[k]);
	}
	return rc;
}

/* ---- the new lock ---- */

static void now_utc(char *out, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const struct mb_artifact *set_artifact(const struct mb_recipe_set *set, const char *url)
{
	size_t i, k;

	for (i = 0; i < set->n_recipes; i++)
		for (k = 0; k < set->recipes[i]->n_artifacts; k++)
			if (strcmp(set->recipes[i]->artifacts[k].url, url) == 0)
				return &set->recipes[i]->artifacts[k];
	return NULL;
}

static void entry_free(struct mb_lock_entry *e)
{
	free(e->url);
	free(e->source);
	free(e->index);
	free(e->date);
}

/* Drop the entries of artifacts that their recipe pins now, or that no
 * recipe of the set has any more. */
static void drop_stale(const struct mb_recipe_set *set, struct mb_lock *lk,
		       struct mb_lock_report *rep)
{
	size_t i, kept = 0;

	for (i = 0; i < lk->n; i++) {
		const struct mb_artifact *a = set_artifact(set, lk->v[i].url);
		if (a && !mb_artifact_pinned(a)) {
			lk->v[kept++] = lk->v[i];
			continue;
		}
		entry_free(&lk->v[i]);
		rep->dropped++;
	}
	lk->n = kept;
}

static bool entry_same(const struct mb_lock_entry *e, const struct want *w)
{
	return strcmp(e->sha256, w->sha256) == 0 && e->size == w->size &&
	       strcmp(e->source, w->source) == 0 && strcmp(e->index, w->index) == 0;
}

static void put_want(struct run *r, struct mb_lock *lk, const struct want *w, const char *date,
		     struct mb_lock_report *rep)
{
	struct mb_lock_entry *e = (struct mb_lock_entry *)mb_lock_find(lk, w->a->url);
	bool same_sha = e && strcmp(e->sha256, w->sha256) == 0;
	char msg[512], *when;

	if (e && entry_same(e, w))
		return; /* unchanged: its date stays */
	if (e && !same_sha) {
		struct mb_event ev = { MB_EV_WARN, "lock", w->a->url, msg, 0, 0 };
		snprintf(msg, sizeof msg, "%s: the index now gives sha256 %.16s..., the lock had %.16s...",
			 w->a->filename, w->sha256, e->sha256);
		mb_emit(r->o->ev, &ev);
	}
	/* the same pin read from another index keeps the date it was first seen */
	when = xstrdup(same_sha && e->size == w->size ? e->date : date);
	if (e) {
		entry_free(e);
		rep->changed++;
	} else {
		e = VEC_PUSH(lk->v, lk->n, lk->cap);
		rep->added++;
	}
	e->url = xstrdup(w->a->url);
	snprintf(e->sha256, sizeof e->sha256, "%s", w->sha256);
	e->size = w->size;
	e->source = xstrdup(w->source);
	e->index = xstrdup(w->index);
	e->date = when;
}

static void collect(struct run *r, const struct mb_plan *plan)
{
	size_t i, k;

	for (i = 0; i < plan->n_steps; i++) {
		const struct mb_recipe *rec = plan->steps[i].recipe;
		for (k = 0; k < rec->n_artifacts; k++) {
			const struct mb_artifact *a = &rec->artifacts[k];
			struct want *w;
			if (mb_artifact_pinned(a))
				continue;
			w = VEC_PUSH(r->w, r->n, r->cap);
			memset(w, 0, sizeof *w);
			w->recipe = rec;
			w->a = a;
		}
	}
}

static int write_lock(struct run *r, const struct mb_recipe_set *set,
		      struct mb_lock_report *rep)
{
	struct mb_lock lk;
	char date[32];
	size_t i;
	int rc = mb_lock_read(&lk, rep->path, r->err);

	if (rc < 0 && r->err->code == MB_EINPUT) { /* damaged: this run writes it anew */
		struct mb_event ev = { MB_EV_WARN, "lock", NULL, r->err->msg, 0, 0 };
		mb_emit(r->o->ev, &ev);
		rc = 0;
	}
	if (rc < 0)
		return rc;
	now_utc(date, sizeof date);
	drop_stale(set, &lk, rep);
	for (i = 0; i < r->n; i++) {
		if (r->w[i].have) {
			rep->locked++;
			put_want(r, &lk, &r->w[i], date, rep);
		} else if (!mb_lock_find(&lk, r->w[i].a->url)) {
			*VEC_PUSH(rep->unpinned, rep->n_unpinned, rep->cap_unpinned) =
				xasprintf("%s: %s", r->w[i].recipe->name, r->w[i].a->filename);
		}
	}
	rc = mb_lock_write(&lk, rep->path, &rep->written, r->err);
	mb_lock_free(&lk);
	return rc;
}

int mb_lock_update(const struct mb_recipe_set *set, const struct mb_plan *plan,
		   const struct mb_lock_opts *o, struct mb_lock_report *rep, struct mb_err *err)
{
	struct run r = { 0 };
	size_t i;
	int rc;

	memset(rep, 0, sizeof *rep);
	rep->path = path_join(set->dir, MB_LOCK_FILE);
	r.o = o;
	r.err = err;
	r.fo.cacert = o->cacert;
	r.fo.ev = o->ev;
	collect(&r, plan);
	rep->wanted = r.n;
	rc = lock_conda(&r);
	if (rc == 0)
		rc = lock_python(&r);
	if (rc == 0)
		rc = write_lock(&r, set, rep);
	mb_getter_close(r.get);
	for (i = 0; i < r.n; i++)
		free(r.w[i].index);
	free(r.w);
	return rc;
}

void mb_lock_report_free(struct mb_lock_report *rep)
{
	size_t i;

	for (i = 0; i < rep->n_unpinned; i++)
		free(rep->unpinned[i]);
	free(rep->unpinned);
	free(rep->path);
	memset(rep, 0, sizeof *rep);
}
