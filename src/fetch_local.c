/* Fetching without a network: cache hits and directory / file:// mirrors,
 * each copy verified before it is renamed into the cache.  The libcurl
 * downloader (issue #3) takes this file's place. */
#define _XOPEN_SOURCE 700
#include "fetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

static int from_dir(const struct mb_fetch_opts *o, struct mb_fetch_item *it, const char *dir,
		    struct mb_err *err)
{
	const char *d = strncmp(dir, "file://", 7) == 0 ? dir + 7 : dir;
	char *src = xasprintf("%s/sha256/%s", d, it->artifact->sha256), hex[MB_SHA256_HEX];
	char *tmp, *dst;
	int rc;

	if (access(src, R_OK) != 0) {
		free(src);
		return 1;
	}
	tmp = xasprintf("%s/tmp/%s.%ld", o->cache->dir, it->artifact->sha256, (long)getpid());
	dst = mb_cache_blob_path(o->cache, it->artifact->sha256);
	unlink(tmp);
	rc = copy_file(src, tmp, err);
	if (rc == 0 && (rc = mb_sha256_file(tmp, hex, err)) == 0 && strcmp(hex, it->artifact->sha256))
		rc = 2;
	if (rc == 0 && rename(tmp, dst) < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot store %s", dst);
	unlink(tmp);
	free(src);
	free(dst);
	return rc;
}

int mb_fetch_artifacts(const struct mb_fetch_opts *o, struct mb_fetch_item *items, size_t n,
		       struct mb_err *err)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		struct mb_fetch_item *it = &items[i];
		int rc = 1;
		if (!it->artifact->sha256)
			return mb_errf(err, MB_EINPUT, "%s is unpinned", it->artifact->filename);
		memcpy(it->sha256, it->artifact->sha256, 65);
		if (!mb_cache_has_blob(o->cache, it->sha256))
			for (k = 0; rc > 0 && k < o->n_mirrors; k++)
				rc = from_dir(o, it, o->mirrors[k], err);
		else
			rc = 0, it->cached = true;
		if (rc < 0)
			return rc;
		if (rc > 0)
			return mb_errf(err, rc == 2 ? MB_EINTEGRITY : MB_EFETCH, "%s: not in the cache or any mirror",
				       it->artifact->filename);
		it->status = MB_FETCH_OK;
		it->blob_path = mb_cache_blob_path(o->cache, it->sha256);
	}
	return 0;
}

void mb_fetch_item_release(struct mb_fetch_item *item)
{
	free(item->blob_path);
	free(item->source);
	free(item->error);
	item->blob_path = item->source = item->error = NULL;
}
