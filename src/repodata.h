/* A conda channel's repodata.json, read as a stream in bounded memory.
 *
 * conda-forge's linux-64 repodata.json is hundreds of MB: a tree of JSON
 * values for it would take gigabytes.  The scanner walks the bytes once,
 * keeping only a stack of brackets and the key being read.  It follows the
 * top-level object into its "packages" and "packages.conda" objects; an
 * entry there whose key is one of the wanted file names is copied out (a
 * few hundred bytes) and parsed alone with jansson; every other entry is
 * skipped without building a value.  The structure is checked as it goes
 * (brackets, strings, key/colon/comma order), so a truncated or malformed
 * file is an error, not a short answer; scalars are checked only inside
 * the entries that are parsed. */
#ifndef MB_REPODATA_H
#define MB_REPODATA_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* One wanted entry: its sha256 (64 lowercase hex) and size (-1 when the
 * entry has none).  An entry without a sha256 (old channels give md5
 * only) is not reported.  Returning < 0 stops the scan with that error. */
typedef int (*mb_repodata_found_fn)(void *ctx, const char *filename, const char *sha256,
				    int64_t size, struct mb_err *err);

struct mb_repodata_scan;

/* wanted: the file names to look for (copied). */
struct mb_repodata_scan *mb_repodata_scan_new(const char *const *wanted, size_t n,
					      mb_repodata_found_fn found, void *ctx);
/* Feed the next bytes.  Errors: MB_EINPUT "byte N: what is wrong". */
int mb_repodata_scan_feed(struct mb_repodata_scan *s, const char *p, size_t n,
			  struct mb_err *err);
/* The input has ended: is the document complete? */
int mb_repodata_scan_finish(struct mb_repodata_scan *s, struct mb_err *err);
void mb_repodata_scan_free(struct mb_repodata_scan *s);

/* The largest entry copied out for parsing; a wanted entry larger than
 * this is an error (real ones are under 10 kB). */
#define MB_REPODATA_ENTRY_MAX (4u << 20)

#endif
