#include "cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

static char *default_dir(void)
{
	const char *env = getenv("MAMBABOOT_CACHE");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");

	if (env && *env)
		return xstrdup(env);
	if (xdg && *xdg == '/')
		return path_join(xdg, "mambaboot");
	if (home && *home)
		return path_join(home, ".cache/mambaboot");
	return NULL;
}

int mb_cache_open(struct mb_cache *cache, const char *dir, struct mb_err *err)
{
	static const char *const subdirs[] = { "blobs/sha256", "partial", "unpacked", "tmp" };
	size_t i;
	int rc;

	cache->dir = dir ? xstrdup(dir) : default_dir();
	if (!cache->dir)
		return mb_errf(err, MB_EINPUT, "no cache directory: set --cache, MAMBABOOT_CACHE or HOME");
	for (i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
		char *p = path_join(cache->dir, subdirs[i]);
		rc = mkdir_p(p, 0755, err);
		free(p);
		if (rc < 0) {
			mb_cache_close(cache);
			return mb_err_wrap(err, "cache");
		}
	}
	return 0;
}

void mb_cache_close(struct mb_cache *cache)
{
	free(cache->dir);
	cache->dir = NULL;
}

char *mb_cache_blob_path(const struct mb_cache *cache, const char *sha256)
{
	return xasprintf("%s/blobs/sha256/%s", cache->dir, sha256);
}

char *mb_cache_partial_path(const struct mb_cache *cache, const char *sha256)
{
	return xasprintf("%s/partial/%s.part", cache->dir, sha256);
}

char *mb_cache_unpacked_path(const struct mb_cache *cache, const char *sha256)
{
	return xasprintf("%s/unpacked/%s", cache->dir, sha256);
}

char *mb_cache_tmp_dir(const struct mb_cache *cache)
{
	return path_join(cache->dir, "tmp");
}

bool mb_cache_has_blob(const struct mb_cache *cache, const char *sha256)
{
	char *p = mb_cache_blob_path(cache, sha256);
	struct stat st;
	bool has = stat(p, &st) == 0 && S_ISREG(st.st_mode);

	free(p);
	return has;
}
