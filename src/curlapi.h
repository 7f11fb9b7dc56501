/* libcurl, bound when the first transfer starts instead of at every start
 * of the program.
 *
 * Debian's libcurl brings some thirty libraries with it (Kerberos, LDAP,
 * GnuTLS through librtmp, ICU...), all linked with BIND_NOW: loading them
 * costs ~10 ms, as much as a warm install of a small wheel does in all.
 * Most runs never download (warm installs, plan, doctor), so fetch.c
 * reaches libcurl through this table, filled by dlopen("libcurl.so.4").
 * Built with MB_CURL_STATIC (a static binary has no dlopen), the table
 * points at the linked functions instead. */
#ifndef MB_CURLAPI_H
#define MB_CURLAPI_H

#include <curl/curl.h>

#include "err.h"

/* The functions used, each as a member named without "curl_". */
#define MB_CURL_FUNCTIONS(X) \
	X(global_init) X(global_cleanup) X(getdate) \
	X(easy_init) X(easy_setopt) X(easy_getinfo) X(easy_cleanup) X(easy_strerror) \
	X(multi_init) X(multi_add_handle) X(multi_remove_handle) X(multi_perform) \
	X(multi_poll) X(multi_info_read) X(multi_cleanup)

struct mb_curl {
	void *lib;              /* the dlopen handle; NULL when linked */
#define MB_CURL_MEMBER(f) __typeof__(curl_##f) *f;
	MB_CURL_FUNCTIONS(MB_CURL_MEMBER)
#undef MB_CURL_MEMBER
};

/* Bind every function, and curl_global_init(): MB_EHOST naming the library
 * when it cannot be loaded (libcurl4 is not installed). */
int mb_curl_open(struct mb_curl *api, struct mb_err *err);
/* curl_global_cleanup(); the library stays loaded (curlapi.c says why). */
void mb_curl_close(struct mb_curl *api);

#endif
