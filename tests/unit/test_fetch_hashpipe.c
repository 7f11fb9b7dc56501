/* A download's sink gives the digest a plain sha256 gives, across ring
 * wrap-arounds, odd chunk sizes, resets and aborts, and leaves in the file
 * exactly the bytes put: from the start, after a prefix it read back,
 * through O_DIRECT or the page cache; a failed write is reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "hashpipe.h"
#include "util.h"
#include "tmpdir.h"

static unsigned char *pattern(size_t n)
{
	unsigned char *b = calloc(n ? n : 1, 1);
	uint32_t x = 12345;
	size_t i;

	for (i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (unsigned char)(x >> 16);
	}
	return b;
}

static void hash_in_chunks(size_t ring, size_t total, size_t chunk)
{
	struct mb_err err = { 0 };
	struct mb_hashpipe p;
	unsigned char *b = pattern(total);
	char want[MB_SHA256_HEX], got[MB_SHA256_HEX];
	size_t off;

	assert_int_equal(mb_sha256_buf(b, total, want, &err), 0);
	assert_int_equal(mb_hashpipe_start(&p, ring, -1, NULL, 0, &err), 0);
	for (off = 0; off < total; off += chunk)
		assert_int_equal(mb_hashpipe_put(&p, b + off, total - off < chunk ? total - off : chunk), 0);
	assert_int_equal(mb_hashpipe_finish(&p, got), 0);
	assert_string_equal(got, want);
	free(b);
}

static void test_same_digest_as_one_pass(void **state)
{
	(void)state;
	hash_in_chunks(4096, 1 << 20, 1000);    /* many wrap-arounds */
	hash_in_chunks(4096, 100000, 4096);     /* chunks the size of the ring */
	hash_in_chunks(4096, 100000, 10000);    /* chunks larger than the ring */
	hash_in_chunks(1 << 20, 12345, 7);
	hash_in_chunks(64, 0, 1);               /* nothing at all */
}

/* Asked for, the md5 of the bytes comes with the sha256, from one pass
 * that resumes a file as it does for the sha256. */
static void test_md5_in_the_same_pass(void **state)
{
	struct mb_err err = { 0 };
	struct mb_hashpipe p;
	char path[] = "/tmp/mbhp.XXXXXX", got[MB_SHA256_HEX];
	int fd = mkstemp(path);
	int64_t have = 3;
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	assert_int_equal(mb_hashpipe_start(&p, 4096, fd, &have, MB_HASHPIPE_MD5, &err), 0);
	assert_int_equal(mb_hashpipe_put(&p, "def", 3), 0);
	assert_int_equal(mb_hashpipe_finish(&p, got), 0);
	assert_string_equal(got, "bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721");
	assert_string_equal(p.md5, "e80b5017098950fc58aad83c8c14978e");
	assert_int_equal(mb_hashpipe_start(&p, 4096, -1, NULL, 0, &err), 0);
	assert_int_equal(mb_hashpipe_finish(&p, got), 0);
	assert_string_equal(p.md5, "");
	close(fd);
	unlink(path);
}

static void test_abort_then_restart(void **state)
{
	struct mb_err err = { 0 };
	struct mb_hashpipe p;
	unsigned char *b = pattern(50000);
	char want[MB_SHA256_HEX], got[MB_SHA256_HEX];
	(void)state;

	assert_int_equal(mb_hashpipe_start(&p, 1024, -1, NULL, 0, &err), 0);
	mb_hashpipe_put(&p, b, 30000);
	mb_hashpipe_abort(&p);
	mb_hashpipe_abort(&p); /* twice is harmless */
	assert_int_equal(mb_hashpipe_start(&p, 1024, -1, NULL, 0, &err), 0);
	mb_hashpipe_put(&p, b, 50000);
	assert_int_equal(mb_hashpipe_finish(&p, got), 0);
	assert_int_equal(mb_sha256_buf(b, 50000, want, &err), 0);
	assert_string_equal(got, want);
	free(b);
}

/* The file at path holds exactly want[0, len). */
static void assert_file_is(const char *path, const unsigned char *want, size_t len)
{
	struct stat st;
	unsigned char *got;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal((size_t)st.st_size, len);
	got = malloc(len ? len : 1);
	assert_int_equal(pread(fd, got, len, 0), (ssize_t)len);
	assert_memory_equal(got, want, len);
	free(got);
	close(fd);
}

/* Continue a file holding `have` bytes of b (said to hold `claim`), putting
 * the rest of b's total bytes in chunks. */
static void write_through(size_t ring, size_t total, size_t have, size_t claim, size_t chunk,
			  unsigned flags)
{
	struct mb_err err = { 0 };
	struct mb_hashpipe p;
	unsigned char *b = pattern(total);
	char want[MB_SHA256_HEX], got[MB_SHA256_HEX];
	char *path = xasprintf("%s/part", dir);
	int64_t at = (int64_t)claim;
	size_t off;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(pwrite_all(fd, b, have, 0), 0);
	assert_int_equal(mb_hashpipe_start(&p, ring, fd, &at, flags, &err), 0);
	assert_int_equal(at, (int64_t)have);
	for (off = have; off < total; off += chunk)
		assert_int_equal(mb_hashpipe_put(&p, b + off, total - off < chunk ? total - off : chunk), 0);
	assert_int_equal(mb_hashpipe_finish(&p, got), 0);
	assert_int_equal(mb_sha256_buf(b, total, want, &err), 0);
	assert_string_equal(got, want);
	assert_int_equal(pread(fd, got, 1, 0), total ? 1 : 0); /* still readable */
	close(fd);
	assert_file_is(path, b, total);
	free(path);
	free(b);
}

/* Through the page cache, O_DIRECT where it can, and with no threads. */
static const unsigned modes[] = { 0, MB_HASHPIPE_DIRECT, MB_HASHPIPE_INLINE };
#define N_MODES (sizeof modes / sizeof *modes)

static void test_writes_the_file(void **state)
{
	size_t m;
	(void)state;

	for (m = 0; m < N_MODES; m++) {
		unsigned flags = modes[m];

		write_through(4 << 20, (9 << 20) + 123, 0, 0, 65536, flags); /* blocks, a short tail */
		write_through(4 << 20, 9 << 20, 0, 0, 100000, flags);        /* ends on a boundary */
		write_through(4096, 300000, 0, 0, 777, flags);               /* a small ring */
		write_through(2 << 20, 0, 0, 0, 1, flags);                   /* nothing at all */
	}
}

static void test_continues_a_file(void **state)
{
	size_t m;
	(void)state;

	for (m = 0; m < N_MODES; m++) {
		unsigned flags = modes[m];

		write_through(4 << 20, (6 << 20) + 5, 10001, 10001, 50000, flags); /* unaligned prefix */
		write_through(4 << 20, 6 << 20, 8192, 8192, 1 << 20, flags);       /* an aligned one */
		write_through(4 << 20, 1 << 20, 5000, 8000, 4096, flags);          /* said 8000, holds 5000 */
	}
}

static void test_abort_leaves_a_prefix(void **state)
{
	struct mb_err err = { 0 };
	struct mb_hashpipe p;
	unsigned char *b = pattern(8 << 20);
	char *path = xasprintf("%s/part", dir);
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(mb_hashpipe_start(&p, 2 << 20, fd, NULL, MB_HASHPIPE_DIRECT, &err), 0);
	assert_int_equal(mb_hashpipe_put(&p, b, 8 << 20), 0);
	mb_hashpipe_abort(&p);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_size <= 8 << 20);
	close(fd);
	assert_file_is(path, b, (size_t)st.st_size);
	free(path);
	free(b);
}

static void test_write_error_is_reported(void **state)
{
	struct mb_err err = { 0 };
	struct mb_hashpipe p;
	unsigned char *b = pattern(1 << 20);
	char *path = xasprintf("%s/ro", dir);
	char got[MB_SHA256_HEX];
	int fd, rc = 0, i;
	(void)state;

	close(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
	fd = open(path, O_RDONLY); /* every write fails: EBADF */
	assert_true(fd >= 0);
	/* small: only finish can tell */
	assert_int_equal(mb_hashpipe_start(&p, 2 << 20, fd, NULL, MB_HASHPIPE_DIRECT, &err), 0);
	assert_int_equal(mb_hashpipe_put(&p, b, 1000), 0);
	assert_int_equal(mb_hashpipe_finish(&p, got), -1);
	assert_int_equal(errno, EBADF);
	/* more than the ring: put stops taking bytes */
	assert_int_equal(mb_hashpipe_start(&p, 2 << 20, fd, NULL, MB_HASHPIPE_DIRECT, &err), 0);
	for (i = 0; i < 64 && rc == 0; i++)
		rc = mb_hashpipe_put(&p, b, 1 << 20);
	assert_int_equal(rc, -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(mb_hashpipe_finish(&p, got), -1);
	/* inline: the put that fails says so, and so does finish */
	assert_int_equal(mb_hashpipe_start(&p, 64 << 10, fd, NULL, MB_HASHPIPE_INLINE, &err), 0);
	assert_int_equal(mb_hashpipe_put(&p, b, 1000), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(mb_hashpipe_put(&p, b, 1000), -1);
	assert_int_equal(mb_hashpipe_finish(&p, got), -1);
	assert_int_equal(errno, EBADF);
	close(fd);
	free(path);
	free(b);
}

/* Inline, the md5 comes out of the same pass as with threads, and no
 * thread is started. */
static void test_inline_md5_no_threads(void **state)
{
	struct mb_err err = { 0 };
	struct mb_hashpipe a, b;
	unsigned char *data = pattern(300000);
	char ha[MB_SHA256_HEX], hb[MB_SHA256_HEX];
	(void)state;

	assert_int_equal(mb_hashpipe_start(&a, 4096, -1, NULL, MB_HASHPIPE_MD5, &err), 0);
	assert_int_equal(mb_hashpipe_start(&b, 4096, -1, NULL, MB_HASHPIPE_MD5 | MB_HASHPIPE_INLINE, &err), 0);
	assert_true(b.inline_);
	assert_int_equal(mb_hashpipe_put(&a, data, 300000), 0);
	assert_int_equal(mb_hashpipe_put(&b, data, 300000), 0);
	assert_int_equal(mb_hashpipe_finish(&a, ha), 0);
	assert_int_equal(mb_hashpipe_finish(&b, hb), 0);
	assert_memory_equal(ha, hb, MB_SHA256_HEX);
	assert_memory_equal(a.md5, b.md5, MB_MD5_HEX);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_digest_as_one_pass),
		cmocka_unit_test(test_md5_in_the_same_pass),
		cmocka_unit_test(test_abort_then_restart),
		cmocka_unit_test(test_writes_the_file),
		cmocka_unit_test(test_continues_a_file),
		cmocka_unit_test(test_abort_leaves_a_prefix),
		cmocka_unit_test(test_write_error_is_reported),
		cmocka_unit_test(test_inline_md5_no_threads),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
