/* mambaboot fetch: download and verify a plan's artifacts into the cache. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "fetch.h"
#include "util.h"

static const char *item_status(const struct mb_fetch_item *it)
{
	if (it->status != MB_FETCH_OK)
		return "failed";
	return it->cached ? "cached" : "downloaded";
}

static json_t *item_json(const struct mb_fetch_item *it)
{
	json_t *o = json_object();

	json_object_set_new(o, "recipe", json_string(it->label));
	json_object_set_new(o, "filename", json_string(it->artifact->filename));
	json_object_set_new(o, "status", json_string(item_status(it)));
	json_object_set_new(o, "sha256", it->sha256[0] ? json_string(it->sha256) : json_null());
	json_object_set_new(o, "pinned", json_boolean(!it->unverified));
	json_object_set_new(o, "size", it->size >= 0 ? json_integer(it->size) : json_null());
	json_object_set_new(o, "blob", it->blob_path ? json_string(it->blob_path) : json_null());
	json_object_set_new(o, "source", it->source ? json_string(it->source) : json_null());
	json_object_set_new(o, "attempts", json_integer(it->attempts));
	if (it->error)
		json_object_set_new(o, "error", json_string(it->error));
	return o;
}

static int print_json(const struct mb_fetch_list *l, const struct mb_cache *cache,
		      struct mb_err *err)
{
	json_t *doc = json_object(), *arts = json_array();
	size_t i, n_down = 0, n_cached = 0, n_failed = 0;
	int rc;

	for (i = 0; i < l->n; i++) {
		const struct mb_fetch_item *it = &l->items[i];
		json_array_append_new(arts, item_json(it));
		if (it->status != MB_FETCH_OK)
			n_failed++;
		else if (it->cached)
			n_cached++;
		else
			n_down++;
	}
	json_object_set_new(doc, "cache", json_string(cache->dir));
	json_object_set_new(doc, "artifacts", arts);
	json_object_set_new(doc, "downloaded", json_integer((json_int_t)n_down));
	json_object_set_new(doc, "cached", json_integer((json_int_t)n_cached));
	json_object_set_new(doc, "failed", json_integer((json_int_t)n_failed));
	rc = cli_print_json(doc, err);
	json_decref(doc);
	return rc;
}

static void print_summary(const struct mb_fetch_list *l)
{
	size_t i, n_down = 0, n_cached = 0;
	long long bytes = 0;
	char size[32];

	for (i = 0; i < l->n; i++) {
		if (l->items[i].status != MB_FETCH_OK)
			continue;
		if (l->items[i].cached) {
			n_cached++;
		} else {
			n_down++;
			bytes += l->items[i].size;
		}
		if (l->items[i].unverified && l->items[i].artifact->sha256 == NULL &&
		    !l->items[i].artifact->tree_sha256)
			fprintf(stderr, "unpinned %s: sha256 %s\n", l->items[i].artifact->filename,
				l->items[i].sha256);
	}
	ui_size(bytes, size, sizeof size);
	fprintf(stderr, "%zu artifact%s: %zu downloaded (%s), %zu cached\n", l->n,
		l->n == 1 ? "" : "s", n_down, size, n_cached);
}

static int run(struct mb_opts *opts, struct mb_err *err)
{
	struct mb_recipe_set set;
	struct mb_plan plan;
	struct mb_cache cache = { 0 };
	struct mb_fetch_list list = { 0 };
	struct ui ui;
	struct mb_events ev;
	struct mb_fetch_opts fo;
	int rc = cli_load_plan(opts, &set, &plan, err);

	if (rc < 0)
		return rc;
	if ((rc = mb_cache_open(&cache, opts->cache, err)) < 0)
		goto out;
	ui_init(&ui, opts);
	ev = cli_events(&ui);
	cli_fetch_opts(opts, &cache, &ev, &fo);
	rc = mb_fetch_plan(&fo, &plan, &list, err);
	ui_done(&ui);
	if (list.n && (rc == 0 || rc == -MB_EFETCH || rc == -MB_EINTEGRITY || rc == -MB_ELOCK)) {
		struct mb_err jerr = { 0 };
		if (opts->json && print_json(&list, &cache, &jerr) < 0 && rc == 0)
			rc = mb_errf(err, jerr.code, "%s", jerr.msg);
		else if (!opts->json && !opts->quiet && rc == 0)
			print_summary(&list);
	}
	mb_fetch_list_free(&list);
	mb_cache_close(&cache);
out:
	mb_plan_free(&plan);
	mb_recipe_set_free(&set);
	return rc;
}

const struct mb_cmd cmd_fetch = {
	.name = "fetch",
	.summary = "download and verify artifacts into the cache only",
	.usage =
	"usage: mambaboot fetch [TARGET...] [--cache DIR] [--mirror DIR|URL]...\n"
	"                       [--offline] [--jobs N] [--cacert FILE]\n"
	"                       [--allow-unpinned] [--lock-timeout SECS] [--json]\n"
	"\n"
	"Download every artifact of the plan of TARGETs (default: the stack 'mamba')\n"
	"into the cache, checking sha256 (and size, when the recipe gives it) while\n"
	"the bytes arrive.  A file reaches CACHE/blobs/sha256/<hex> only once it\n"
	"verifies; an interrupted download resumes from CACHE/partial/ next time.\n"
	"Sources, in order: each --mirror as <mirror>/sha256/<hex>, then the\n"
	"recipe's url and mirrors.  Connection errors, resets, stalls, HTTP 5xx,\n"
	"408 and 429 (Retry-After honoured) are retried with backoff; then the next\n"
	"source is tried.  Exit 3 when every source failed, 4 when no source gave\n"
	"the right bytes, 7 when another process was fetching an artifact for\n"
	"longer than --lock-timeout.\n"
	"\n"
	"Options:\n"
	"  --recipes DIR      recipe set (default: $MAMBABOOT_RECIPES, else the\n"
	"                     installed share/mambaboot/recipes)\n"
	"  --patches DIR      patch directory (default: DIR/../patches)\n"
	"  --cache DIR        cache (default: $MAMBABOOT_CACHE, else\n"
	"                     $XDG_CACHE_HOME/mambaboot, else ~/.cache/mambaboot)\n"
	"  --mirror DIR|URL   a mirror (directory, file://, http://, https://);\n"
	"                     repeatable, tried in order before upstream URLs\n"
	"  --offline          contact no upstream URL: cache and mirrors only\n"
	"  -j, --jobs N       transfers at once (default 4), largest first\n"
	"  --cacert FILE      CA bundle (default: $SSL_CERT_FILE, $CURL_CA_BUNDLE,\n"
	"                     $SSL_CERT_DIR, else the host's usual bundle paths);\n"
	"                     TLS is always verified\n"
	"  --allow-unpinned   fetch artifacts without sha256, recording the digest seen\n"
	"  --lock-timeout SECS\n"
	"                     wait at most this long for an artifact that another\n"
	"                     process is fetching (default: for ever), then exit 7\n"
	"  --json             print a summary document on stdout (per artifact:\n"
	"                     filename, sha256, size, source, attempts, status)\n"
	"  -q, --quiet        no progress and no summary\n"
	"  -v, --verbose      say more (resumes, restarts)\n"
	"  -h, --help         show this help\n"
	"\n"
	"Environment: https_proxy, http_proxy, no_proxy (libcurl's usual proxy\n"
	"variables); MAMBABOOT_RETRY_BASE_MS (first backoff, default 500),\n"
	"MAMBABOOT_RETRIES (retries per source, default 3), MAMBABOOT_STALL_SECONDS\n"
	"(below 1 kB/s this long is a stall, default 30), MAMBABOOT_RETRY_AFTER_MAX\n"
	"(longest Retry-After waited for, default 120 s).\n",
	.opts = OPT_RECIPES | OPT_PATCHES | OPT_CACHE | OPT_MIRROR | OPT_OFFLINE | OPT_JOBS |
		OPT_JSON | OPT_UNPINNED | OPT_CACERT | OPT_LOCK_TIMEOUT,
	.run = run,
};
