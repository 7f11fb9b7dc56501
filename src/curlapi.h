/* libcurl, bound when the first transfer starts (dl.h says why): fetch.c
 * calls it through this table. */
#ifndef MB_CURLAPI_H
#define MB_CURLAPI_H

#include <curl/curl.h>

#include "err.h"

/* The functions used, each as a member named without "curl_". */
#define MB_CURL_FUNCTIONS(X) \
	X(global_init) X(global_cleanup) X(getdate) \
	X(easy_init) X(easy_setopt) X(easy_getinfo) X(easy_cleanup) X(easy_strerror) \
	X(easy_perform) X(slist_append) X(slist_free_all) \
	X(multi_init) X(multi_add_handle) X(multi_remove_handle) X(multi_perform) \
	X(multi_poll) X(multi_info_read) X(multi_cleanup) X(version_info)

struct mb_curl {
#define MB_CURL_MEMBER(f) __typeof__(curl_##f) *f;
	MB_CURL_FUNCTIONS(MB_CURL_MEMBER)
#undef MB_CURL_MEMBER
};

/* Bind every function, and curl_global_init(): MB_EHOST naming the library
 * when it cannot be loaded (libcurl4 is not installed). */
int mb_curl_open(struct mb_curl *api, struct mb_err *err);
/* Fill the table only: src/link/lazy.c or linked.c, as the build chose. */
int mb_curl_bind(struct mb_curl *api, struct mb_err *err);
/* curl_global_cleanup(); the library stays loaded (dl.h). */
void mb_curl_close(struct mb_curl *api);

#endif
