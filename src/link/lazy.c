/* The dynamic build: libcurl and libarchive are bound on first use (dl.h
 * says why).  The Makefile picks this file or linked.c: the one place
 * where the two builds differ. */
#include "../archiveapi.h"
#include "../curlapi.h"
#include "../dl.h"
#include "../libs.h"

#define CURL_SONAME "libcurl.so.4"
#define ARCHIVE_SONAME "libarchive.so.13"

const char mb_libs_binding[] = "libcurl and libarchive loaded on first use";

int mb_curl_bind(struct mb_curl *api, struct mb_err *err)
{
	void *lib = mb_dl_open(CURL_SONAME, "libcurl4", err);
	int rc = lib ? 0 : -err->code;

#define MB_CURL_BIND(f) \
	if (rc == 0) \
		rc = mb_dl_sym(lib, CURL_SONAME, "curl_" #f, &api->f, sizeof api->f, err);
	MB_CURL_FUNCTIONS(MB_CURL_BIND)
#undef MB_CURL_BIND
	return rc;
}

int mb_la_open(struct mb_la *la, struct mb_err *err)
{
	void *lib = mb_dl_open(ARCHIVE_SONAME, "libarchive13", err);
	int rc = lib ? 0 : -err->code;

#define MB_ARCHIVE_BIND(f) \
	if (rc == 0) \
		rc = mb_dl_sym(lib, ARCHIVE_SONAME, "archive_" #f, &la->f, sizeof la->f, err);
	MB_ARCHIVE_FUNCTIONS(MB_ARCHIVE_BIND)
#undef MB_ARCHIVE_BIND
	return rc;
}
