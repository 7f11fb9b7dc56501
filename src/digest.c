#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include "util.h"

static EVP_MD_CTX *md_new(const EVP_MD *md)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx && !EVP_DigestInit_ex(ctx, md, NULL)) {
		EVP_MD_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static void md_final(EVP_MD_CTX *ctx, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_DigestFinal_ex(ctx, md, &n);
	hex_encode(md, n, hex);
}

int mb_sha256_init(struct mb_sha256 *h, struct mb_err *err)
{
	h->md5 = NULL;
	if (!(h->ctx = md_new(EVP_sha256())))
		return mb_errf(err, MB_EFAIL, "cannot start sha256 (OpenSSL)");
	return 0;
}

int mb_sha256_add_md5(struct mb_sha256 *h, struct mb_err *err)
{
	if (!h->md5 && !(h->md5 = md_new(EVP_md5())))
		return mb_errf(err, MB_EFAIL, "cannot start md5 (OpenSSL)");
	return 0;
}

void mb_sha256_update(struct mb_sha256 *h, const void *buf, size_t len)
{
	EVP_DigestUpdate(h->ctx, buf, len);
	if (h->md5)
		EVP_DigestUpdate(h->md5, buf, len);
}

void mb_sha256_final_md5(struct mb_sha256 *h, char hex[MB_SHA256_HEX], char md5[MB_MD5_HEX])
{
	md_final(h->ctx, hex);
	if (md5 && h->md5)
		md_final(h->md5, md5);
	else if (md5)
		md5[0] = '\0';
	mb_sha256_abort(h);
}

void mb_sha256_final(struct mb_sha256 *h, char hex[MB_SHA256_HEX])
{
	mb_sha256_final_md5(h, hex, NULL);
}

void mb_sha256_abort(struct mb_sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_CTX_free(h->md5);
	h->ctx = h->md5 = NULL;
}

int mb_sha256_buf(const void *buf, size_t len, char hex[MB_SHA256_HEX], struct mb_err *err)
{
	struct mb_sha256 h;
	int r = mb_sha256_init(&h, err);

	if (r < 0)
		return r;
	mb_sha256_update(&h, buf, len);
	mb_sha256_final(&h, hex);
	return 0;
}

static int hash_fd(int fd, const char *path, struct mb_sha256 *h, struct mb_err *err)
{
	static const size_t bufsize = 1 << 17;
	unsigned char *buf = xmalloc(bufsize);
	ssize_t n;
	int r = 0;

	while ((n = read(fd, buf, bufsize)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = mb_errno(err, MB_EFAIL, errno, "cannot read %s", path);
			break;
		}
		mb_sha256_update(h, buf, (size_t)n);
	}
	free(buf);
	return r;
}

int mb_sha256_md5_file(const char *path, char hex[MB_SHA256_HEX], char md5[MB_MD5_HEX],
		       struct mb_err *err)
{
	struct mb_sha256 h;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot open %s", path);
	if ((r = mb_sha256_init(&h, err)) == 0 && md5)
		r = mb_sha256_add_md5(&h, err);
	if (r == 0)
		r = hash_fd(fd, path, &h, err);
	close(fd);
	if (r < 0) {
		mb_sha256_abort(&h);
		return r;
	}
	mb_sha256_final_md5(&h, hex, md5);
	return 0;
}

int mb_sha256_file(const char *path, char hex[MB_SHA256_HEX], struct mb_err *err)
{
	return mb_sha256_md5_file(path, hex, NULL, err);
}
