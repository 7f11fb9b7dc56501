#include "curlapi.h"

#include <string.h>

#ifndef MB_CURL_STATIC
#include <dlfcn.h>
#endif

#ifndef MB_CURL_SONAME
#define MB_CURL_SONAME "libcurl.so.4"
#endif

#ifdef MB_CURL_STATIC
static int bind_all(struct mb_curl *api, struct mb_err *err)
{
	(void)err;
	api->lib = NULL;
#define MB_CURL_LINKED(f) api->f = curl_##f;
	MB_CURL_FUNCTIONS(MB_CURL_LINKED)
#undef MB_CURL_LINKED
	return 0;
}
#else
/* dlsym() gives a void *, which ISO C does not convert to a function
 * pointer; POSIX guarantees the bits are the same, so they are copied. */
static int bind_one(void *lib, const char *name, void *slot, size_t size, struct mb_err *err)
{
	void *sym = dlsym(lib, name);

	if (!sym)
		return mb_errf(err, MB_EHOST, "%s lacks %s: %s", MB_CURL_SONAME, name, dlerror());
	memcpy(slot, &sym, size < sizeof sym ? size : sizeof sym);
	return 0;
}

static int bind_all(struct mb_curl *api, struct mb_err *err)
{
	int rc = 0;

	api->lib = dlopen(MB_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!api->lib)
		return mb_errf(err, MB_EHOST, "cannot load %s (install libcurl4): %s",
			       MB_CURL_SONAME, dlerror());
#define MB_CURL_BIND(f) \
	if (rc == 0) \
		rc = bind_one(api->lib, "curl_" #f, &api->f, sizeof api->f, err);
	MB_CURL_FUNCTIONS(MB_CURL_BIND)
#undef MB_CURL_BIND
	return rc;
}
#endif

int mb_curl_open(struct mb_curl *api, struct mb_err *err)
{
	int rc;

	memset(api, 0, sizeof *api);
	if ((rc = bind_all(api, err)) < 0)
		return rc;
	if (api->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		memset(api, 0, sizeof *api);
		return mb_errf(err, MB_EFAIL, "cannot initialise libcurl");
	}
	return 0;
}

/* The library stays mapped: its dependencies (OpenSSL, GnuTLS) register
 * exit handlers, which must not outlive their code; a second open finds
 * it loaded. */
void mb_curl_close(struct mb_curl *api)
{
	if (api->global_cleanup)
		api->global_cleanup();
	memset(api, 0, sizeof *api);
}
