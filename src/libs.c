#include "libs.h"

#include <bzlib.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <yaml.h>

#include "archiveapi.h"
#include "curlapi.h"

/* The Makefile says which build this is (static or not, and its libc). */
#ifndef MB_BUILD_KIND
#define MB_BUILD_KIND "dynamic"
#endif

const char *mb_build_kind(void)
{
	return MB_BUILD_KIND;
}

static void curl_text(char *buf, size_t size)
{
	struct mb_curl api;
	struct mb_err err = { 0 };
	const curl_version_info_data *v;

	if (mb_curl_bind(&api, &err) < 0) {
		snprintf(buf, size, "not loadable: %.170s", err.msg);
		return;
	}
	v = api.version_info(CURLVERSION_NOW);
	snprintf(buf, size, "%s (%s, zlib %s)", v->version, v->ssl_version ? v->ssl_version : "no TLS",
		 v->libz_version ? v->libz_version : "none");
}

static void archive_text(char *buf, size_t size)
{
	struct mb_la la;
	struct mb_err err = { 0 };

	if (mb_la_open(&la, &err) < 0)
		snprintf(buf, size, "not loadable: %.170s", err.msg);
	else
		snprintf(buf, size, "%s", la.version_details());
}

void mb_libs_versions(struct mb_lib_version out[MB_N_LIBS])
{
	out[0].name = "libcurl";
	curl_text(out[0].text, sizeof out[0].text);
	out[1].name = "libarchive";
	archive_text(out[1].text, sizeof out[1].text);
	out[2].name = "OpenSSL";
	snprintf(out[2].text, sizeof out[2].text, "%s", OpenSSL_version(OPENSSL_VERSION));
	out[3].name = "libyaml";
	snprintf(out[3].text, sizeof out[3].text, "%s", yaml_get_version_string());
	out[4].name = "jansson";
	snprintf(out[4].text, sizeof out[4].text, "%s", jansson_version_str());
	out[5].name = "libbz2";
	snprintf(out[5].text, sizeof out[5].text, "%s", BZ2_bzlibVersion());
}
