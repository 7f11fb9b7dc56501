/* The hashing thread of fetch gives the digest a plain sha256 gives, across
 * ring wrap-arounds, odd chunk sizes, resets and aborts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "hashpipe.h"

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
	assert_int_equal(mb_hashpipe_start(&p, ring, &err), 0);
	for (off = 0; off < total; off += chunk)
		mb_hashpipe_put(&p, b + off, total - off < chunk ? total - off : chunk);
	mb_hashpipe_finish(&p, got);
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

static void test_abort_then_restart(void **state)
{
	struct mb_err err = { 0 };
	struct mb_hashpipe p;
	unsigned char *b = pattern(50000);
	char want[MB_SHA256_HEX], got[MB_SHA256_HEX];
	(void)state;

	assert_int_equal(mb_hashpipe_start(&p, 1024, &err), 0);
	mb_hashpipe_put(&p, b, 30000);
	mb_hashpipe_abort(&p);
	mb_hashpipe_abort(&p); /* twice is harmless */
	assert_int_equal(mb_hashpipe_start(&p, 1024, &err), 0);
	mb_hashpipe_put(&p, b, 50000);
	mb_hashpipe_finish(&p, got);
	assert_int_equal(mb_sha256_buf(b, 50000, want, &err), 0);
	assert_string_equal(got, want);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_digest_as_one_pass),
		cmocka_unit_test(test_abort_then_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
