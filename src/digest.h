/* sha256 with OpenSSL EVP: streaming, so bytes are hashed as they pass. */
#ifndef MB_DIGEST_H
#define MB_DIGEST_H

#include <stddef.h>

#include "err.h"

#define MB_SHA256_HEX 65 /* 64 hex digits and a NUL */

struct mb_sha256 {
	void *ctx; /* EVP_MD_CTX */
};

int mb_sha256_init(struct mb_sha256 *h, struct mb_err *err);
void mb_sha256_update(struct mb_sha256 *h, const void *buf, size_t len);
/* Writes 64 lowercase hex digits and frees the context. */
void mb_sha256_final(struct mb_sha256 *h, char hex[MB_SHA256_HEX]);
void mb_sha256_abort(struct mb_sha256 *h);

int mb_sha256_buf(const void *buf, size_t len, char hex[MB_SHA256_HEX], struct mb_err *err);
int mb_sha256_file(const char *path, char hex[MB_SHA256_HEX], struct mb_err *err);


/* tree_sha256 (SPEC.md section 3): the sha256 of a listing with one line
 * per regular file or symlink, sorted bytewise by path, the single top
 * directory stripped: "<path>\t<f|x|l>\t<sha256 of content or link target>\n".
 * From an archive libarchive can read (tar.*, zip) or from a directory. */
int mb_tree_sha256_archive(const char *path, char hex[MB_SHA256_HEX], struct mb_err *err);
int mb_tree_sha256_dir(const char *dir, char hex[MB_SHA256_HEX], struct mb_err *err);
#endif
