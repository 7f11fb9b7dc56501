#include "curlapi.h"

#include <string.h>

#include "dl.h"

#define SONAME "libcurl.so.4"

static int bind_all(struct mb_curl *api, struct mb_err *err)
{
#ifdef MB_LINKED_LIBS
	(void)err;
#define MB_CURL_LINKED(f) api->f = curl_##f;
	MB_CURL_FUNCTIONS(MB_CURL_LINKED)
#undef MB_CURL_LINKED
	return 0;
#else
	void *lib = mb_dl_open(SONAME, "libcurl4", err);
	int rc = lib ? 0 : -err->code;

#define MB_CURL_BIND(f) \
	if (rc == 0) \
		rc = mb_dl_sym(lib, SONAME, "curl_" #f, &api->f, sizeof api->f, err);
	MB_CURL_FUNCTIONS(MB_CURL_BIND)
#undef MB_CURL_BIND
	return rc;
#endif
}

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

void mb_curl_close(struct mb_curl *api)
{
	if (api->global_cleanup)
		api->global_cleanup();
	memset(api, 0, sizeof *api);
}
