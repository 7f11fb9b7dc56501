/* The linked build (`make LIBS=linked`, and `make static`, which has no
 * dlopen): the function tables point at the linked libraries.  The
 * Makefile picks this file or lazy.c: the one place where the builds
 * differ. */
#include "../archiveapi.h"
#include "../curlapi.h"
#include "../libs.h"

const char mb_libs_binding[] = "all libraries linked";

int mb_curl_bind(struct mb_curl *api, struct mb_err *err)
{
	(void)err;
#define MB_CURL_LINKED(f) api->f = curl_##f;
	MB_CURL_FUNCTIONS(MB_CURL_LINKED)
#undef MB_CURL_LINKED
	return 0;
}

int mb_la_open(struct mb_la *la, struct mb_err *err)
{
	(void)err;
#define MB_ARCHIVE_LINKED(f) la->f = archive_##f;
	MB_ARCHIVE_FUNCTIONS(MB_ARCHIVE_LINKED)
#undef MB_ARCHIVE_LINKED
	return 0;
}
