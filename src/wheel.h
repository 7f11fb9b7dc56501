/* `kind: wheel`: wheels installed as pip installs them (PEP 427/491), from
 * an unpacked cache entry that later installs link from, like uv. */
#ifndef MB_WHEEL_H
#define MB_WHEEL_H

#include "err.h"
#include "stage.h"

/* The host a wheel must run on: glibc ("2.17", NULL if not glibc) and
 * machine ("x86_64"). */
struct mb_host {
	const char *glibc;
	const char *machine;
};

/* Can this wheel file name be installed for python X.Y on this host?
 * MB_EINPUT with the reason (pip's rules: python and ABI tags, manylinux
 * against glibc, linux_<arch>). */
int mb_wheel_check_tags(const char *filename, const char *python_xy,
			const struct mb_host *host, struct mb_err *err);

/* Install the verified wheel (file name `filename`, digest sha256) under
 * ctx->root into lib/pythonX.Y/site-packages and the other schemes. */
int mb_wheel_install(const struct mb_stage_ctx *ctx, const char *wheel, const char *filename,
		     const char *sha256, struct mb_owned *owned, struct mb_err *err);

/* RECORD lines "path,sha256=<urlsafe b64>,size", parsed (exposed for
 * fuzzing).  Returns the number of entries, or -1 for a malformed line. */
struct mb_record_entry {
	char *path;
	char hash[65]; /* hex sha256, "" when the line has none */
	long long size; /* -1 when absent */
};
long mb_record_parse(const char *text, size_t len, struct mb_record_entry **out);
void mb_record_free(struct mb_record_entry *v, long n);

#endif
