/* sha256 with OpenSSL EVP: streaming, so bytes are hashed as they pass. */
#ifndef MB_DIGEST_H
#define MB_DIGEST_H

#include <stddef.h>

#include "err.h"

#define MB_SHA256_HEX 65 /* 64 hex digits and a NUL */
#define MB_MD5_HEX 33    /* 32 hex digits and a NUL */

struct mb_sha256 {
	void *ctx; /* EVP_MD_CTX */
	void *md5; /* EVP_MD_CTX of an md5 of the same bytes, or NULL */
};

int mb_sha256_init(struct mb_sha256 *h, struct mb_err *err);
/* After init: an md5 is taken too, in the same pass over the bytes
 * (conda records carry both; old channels publish only md5). */
int mb_sha256_add_md5(struct mb_sha256 *h, struct mb_err *err);
void mb_sha256_update(struct mb_sha256 *h, const void *buf, size_t len);
/* Writes 64 lowercase hex digits and frees the context. */
void mb_sha256_final(struct mb_sha256 *h, char hex[MB_SHA256_HEX]);
/* The same, and the md5 (32 hex digits; "" when none was asked for). */
void mb_sha256_final_md5(struct mb_sha256 *h, char hex[MB_SHA256_HEX], char md5[MB_MD5_HEX]);
void mb_sha256_abort(struct mb_sha256 *h);

int mb_sha256_buf(const void *buf, size_t len, char hex[MB_SHA256_HEX], struct mb_err *err);
int mb_sha256_file(const char *path, char hex[MB_SHA256_HEX], struct mb_err *err);
/* sha256 and md5 of a file, in one read. */
int mb_sha256_md5_file(const char *path, char hex[MB_SHA256_HEX], char md5[MB_MD5_HEX],
		       struct mb_err *err);


/* tree_sha256 (SPEC.md section 3): the sha256 of a listing with one line
 * per regular file or symlink, sorted bytewise by path, the single top
 * directory stripped: "<path>\t<f|x|l>\t<sha256 of content or link target>\n".
 * From an archive libarchive can read (tar.*, zip) or from a directory. */
int mb_tree_sha256_archive(const char *path, char hex[MB_SHA256_HEX], struct mb_err *err);
int mb_tree_sha256_dir(const char *dir, char hex[MB_SHA256_HEX], struct mb_err *err);
#endif
