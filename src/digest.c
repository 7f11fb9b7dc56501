#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include "util.h"

int mb_sha256_init(struct mb_sha256 *h, struct mb_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return mb_errf(err, MB_EFAIL, "cannot start sha256 (OpenSSL)");
	}
	h->ctx = ctx;
	return 0;
}

void mb_sha256_update(struct mb_sha256 *h, const void *buf, size_t len)
{
	EVP_DigestUpdate(h->ctx, buf, len);
}

void mb_sha256_final(struct mb_sha256 *h, char hex[MB_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_DigestFinal_ex(h->ctx, md, &n);
	hex_encode(md, n, hex);
	mb_sha256_abort(h);
}

void mb_sha256_abort(struct mb_sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
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

int mb_sha256_file(const char *path, char hex[MB_SHA256_HEX], struct mb_err *err)
{
	static const size_t bufsize = 1 << 17;
	struct mb_sha256 h;
	unsigned char *buf;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot open %s", path);
	if ((r = mb_sha256_init(&h, err)) < 0) {
		close(fd);
		return r;
	}
	buf = xmalloc(bufsize);
	while ((n = read(fd, buf, bufsize)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = mb_errno(err, MB_EFAIL, errno, "cannot read %s", path);
			break;
		}
		mb_sha256_update(&h, buf, (size_t)n);
	}
	free(buf);
	close(fd);
	if (r < 0) {
		mb_sha256_abort(&h);
		return r;
	}
	mb_sha256_final(&h, hex);
	return 0;
}
