#include "curlapi.h"

#include <string.h>

int mb_curl_open(struct mb_curl *api, struct mb_err *err)
{
	int rc;

	memset(api, 0, sizeof *api);
	if ((rc = mb_curl_bind(api, err)) < 0)
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
