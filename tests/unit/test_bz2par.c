/* bzip2 decoded block by block on several threads gives the bytes that
 * were compressed (by the bzip2 command), and damage gives MB_EINTEGRITY. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "bz2par.h"
#include "fsutil.h"
#include "util.h"
#include "tmpdir.h"

struct bytes {
	unsigned char *data;
	size_t len;
};

static char *path_of(const char *name)
{
	return path_join(dir, name);
}

static void put_file(const char *name, const void *data, size_t len)
{
	char *path = path_of(name);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_true(len == 0 || fwrite(data, 1, len, f) == len);
	assert_int_equal(fclose(f), 0);
	free(path);
}

static struct bytes get_file(const char *name)
{
	char *path = path_of(name), *buf = NULL;
	size_t len = 0;

	assert_int_equal(read_file(path, 1 << 30, &buf, &len, NULL), 0);
	free(path);
	return (struct bytes){ (unsigned char *)buf, len };
}

/* Runs a shell command in the test's directory. */
static void __attribute__((format(printf, 1, 2))) run(const char *fmt, ...)
{
	char cmd[512];
	int n = snprintf(cmd, sizeof cmd, "cd '%s' && ", dir);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

/* `name` compressed by `bzip2 -<level>` into name.bz2. */
static void compress(const char *name, int level)
{
	run("bzip2 -c -%d %s > %s.bz2", level, name, name);
}

/* Decodes `name` on `threads` workers; returns 0 and the bytes, or the
 * (negative) code of the first failure. */
static int decode(const char *name, unsigned threads, bool split, struct bytes *out)
{
	char *path = path_of(name);
	int fd = open(path, O_RDONLY), rc;
	struct mb_bz2par *p;
	struct mb_err err = { 0 };
	const void *buf;
	long n;

	assert_true(fd >= 0);
	free(path);
	rc = mb_bz2par_open(&p, fd, threads, &err);
	close(fd);
	if (rc < 0)
		return rc;
	if (split)
		mb_bz2par_split_blocks_for_test(p);
	*out = (struct bytes){ NULL, 0 };
	while ((n = mb_bz2par_read(p, &buf, &err)) > 0) {
		out->data = xrealloc(out->data, out->len + (size_t)n);
		memcpy(out->data + out->len, buf, (size_t)n);
		out->len += (size_t)n;
	}
	if (n < 0) {
		assert_true(err.msg[0] != '\0');
		assert_null(strchr(err.msg, '\n'));
		assert_int_equal(mb_bz2par_read(p, &buf, &err), n); /* and again */
	}
	mb_bz2par_close(p);
	return (int)n;
}

static void expect_decodes_to(const char *name, unsigned threads, bool split,
			      const struct bytes *want)
{
	struct bytes got;

	assert_int_equal(decode(name, threads, split, &got), 0);
	assert_int_equal(got.len, want->len);
	assert_true(want->len == 0 || memcmp(got.data, want->data, want->len) == 0);
	free(got.data);
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random bytes and text lines in turn: several blocks at any level. */
static struct bytes random_and_text(size_t len)
{
	struct bytes b = { xmalloc(len), len };
	uint64_t seed = 88172645463325252ULL;
	size_t i = 0;

	while (i < len) {
		size_t run = 1000 + next_rand(&seed) % 200000, k;
		bool text = next_rand(&seed) & 1;
		for (k = 0; k < run && i < len; k++, i++)
			b.data[i] = text ? (unsigned char)("line of text, %d\n"[k % 17])
					 : (unsigned char)next_rand(&seed);
	}
	return b;
}

/* Long runs of one byte, which bzip2's first stage shrinks 51 to 1: a
 * block decodes to tens of MB. */
static struct bytes runs(size_t len)
{
	struct bytes b = { xmalloc(len), len };
	uint64_t seed = 7;
	size_t i = 0;

	while (i < len) {
		size_t run = 1 + next_rand(&seed) % (4 << 20);
		unsigned char c = (unsigned char)next_rand(&seed);
		for (; run > 0 && i < len; run--)
			b.data[i++] = c;
	}
	return b;
}

static void expect_round_trip(const char *name, const struct bytes *data, int level)
{
	char *bz = xasprintf("%s.bz2", name);

	put_file(name, data->data, data->len);
	compress(name, level);
	expect_decodes_to(bz, 2, false, data);
	expect_decodes_to(bz, 5, false, data);
	free(bz);
}

static void test_many_blocks_level_9(void **state)
{
	struct bytes data = random_and_text(6 << 20);

	(void)state;
	expect_round_trip("mixed9", &data, 9);
	free(data.data);
}

static void test_many_blocks_level_1(void **state)
{
	struct bytes data = random_and_text(3 << 20);

	(void)state;
	expect_round_trip("mixed1", &data, 1);
	free(data.data);
}

static void test_long_runs_expand_far(void **state)
{
	struct bytes data = runs(80 << 20);

	(void)state;
	expect_round_trip("runs", &data, 9);
	free(data.data);
}

static void test_tiny_file(void **state)
{
	struct bytes data = { (unsigned char *)"hello\n", 6 };

	(void)state;
	expect_round_trip("tiny", &data, 9);
}

static void test_empty_file(void **state)
{
	struct bytes data = { NULL, 0 };

	(void)state;
	expect_round_trip("empty", &data, 9);
}

/* pbzip2 writes one stream per piece; cat does the same. */
static void test_concatenated_streams(void **state)
{
	struct bytes a = random_and_text(2 << 20), b = runs(3 << 20), both;

	(void)state;
	put_file("a", a.data, a.len);
	put_file("b", b.data, b.len);
	compress("a", 1);
	compress("b", 9);
	run("cat a.bz2 b.bz2 > ab.bz2");
	both = (struct bytes){ xmalloc(a.len + b.len), a.len + b.len };
	memcpy(both.data, a.data, a.len);
	memcpy(both.data + a.len, b.data, b.len);
	expect_decodes_to("ab.bz2", 3, false, &both);
	free(both.data);
	free(a.data);
	free(b.data);
}

/* Zeros and other bytes after the last stream are ignored (bzip2 and
 * libarchive do the same). */
static void test_bytes_after_the_end_ignored(void **state)
{
	struct bytes data = random_and_text(3 << 20), bz;

	(void)state;
	put_file("tail", data.data, data.len);
	compress("tail", 9);
	bz = get_file("tail.bz2");
	bz.data = xrealloc(bz.data, bz.len + 100);
	memset(bz.data + bz.len, 0, 100);
	put_file("zeros.bz2", bz.data, bz.len + 100);
	memcpy(bz.data + bz.len, "trailing garbage\n", 17);
	put_file("garbage.bz2", bz.data, bz.len + 17);
	expect_decodes_to("zeros.bz2", 2, false, &data);
	expect_decodes_to("garbage.bz2", 2, false, &data);
	free(bz.data);
	free(data.data);
}

/* A false block magic (48 bits of compressed data that match it) cuts a
 * block in two: the first part does not decode, the second is garbage.
 * Such data cannot be made to order, so the test hook cuts every block in
 * the middle as such a magic would; the output must still be exact, which
 * it is only if each first part is decoded again joined to the second and
 * the second's output (and CRC) left out. */
static void test_false_magic_joined_to_next(void **state)
{
	struct bytes data = random_and_text(4 << 20);

	(void)state;
	put_file("split", data.data, data.len);
	compress("split", 1);
	expect_decodes_to("split.bz2", 2, true, &data);
	expect_decodes_to("split.bz2", 1, true, &data);
	free(data.data);
}

static void expect_damaged(const char *name, const unsigned char *data, size_t len)
{
	struct bytes got = { NULL, 0 };

	put_file(name, data, len);
	assert_int_equal(decode(name, 2, false, &got), -MB_EINTEGRITY);
	free(got.data);
}

static void test_truncated_fails(void **state)
{
	struct bytes data = random_and_text(4 << 20), bz;

	(void)state;
	put_file("cut", data.data, data.len);
	compress("cut", 9);
	bz = get_file("cut.bz2");
	expect_damaged("cut-half.bz2", bz.data, bz.len / 2);
	expect_damaged("cut-end.bz2", bz.data, bz.len - 3); /* in the combined CRC */
	expect_damaged("cut-head.bz2", bz.data, 7);
	free(bz.data);
	free(data.data);
}

static void test_flipped_bit_fails(void **state)
{
	struct bytes data = random_and_text(4 << 20), bz;

	(void)state;
	put_file("flip", data.data, data.len);
	compress("flip", 9);
	bz = get_file("flip.bz2");
	bz.data[bz.len / 2] ^= 0x10;
	expect_damaged("flip-middle.bz2", bz.data, bz.len);
	bz.data[bz.len / 2] ^= 0x10;
	bz.data[bz.len - 2] ^= 0x01; /* in the stream's combined CRC */
	expect_damaged("flip-crc.bz2", bz.data, bz.len);
	free(bz.data);
	free(data.data);
}

static void test_not_bzip2_refused(void **state)
{
	struct bytes got;

	(void)state;
	put_file("plain", "just some text, not bzip2\n", 26);
	assert_int_equal(decode("plain", 2, false, &got), -MB_EINTEGRITY);
	put_file("bzh0", "BZh0xxxxxxxxxxxxxxxxxxxxxxxxx", 29);
	assert_int_equal(decode("bzh0", 2, false, &got), -MB_EINTEGRITY);
	put_file("short", "BZ", 2);
	assert_int_equal(decode("short", 2, false, &got), -MB_EINTEGRITY);
}

/* Closing after one read stops the workers that are still decoding. */
static void test_close_early(void **state)
{
	struct bytes data = random_and_text(6 << 20);
	char *path;
	struct mb_bz2par *p;
	struct mb_err err = { 0 };
	const void *buf;
	int fd;

	(void)state;
	put_file("early", data.data, data.len);
	compress("early", 1);
	path = path_of("early.bz2");
	fd = open(path, O_RDONLY);
	assert_int_equal(mb_bz2par_open(&p, fd, 4, &err), 0);
	close(fd);
	assert_true(mb_bz2par_read(p, &buf, &err) > 0);
	mb_bz2par_close(p);
	free(path);
	free(data.data);
}

/* The threads this process has beyond its own (a sanitizer may run one)
 * when the first file's bytes arrive. */
struct threads_seen {
	int n;
};

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void on_data(void *ctx, const char *rel, const void *buf, size_t len)
{
	struct threads_seen *t = ctx;

	(void)rel, (void)buf, (void)len;
	if (!t->n)
		t->n = count_threads();
}

static int threads_unpacking(const char *tar, const char *to, unsigned flags)
{
	struct threads_seen t = { 0 };
	struct mb_archive_hooks hooks = { NULL, on_data, NULL, &t };
	char *path = path_of(tar), *dest = path_of(to);
	struct mb_err err;
	int before = count_threads();

	assert_int_equal(mkdir(dest, 0755), 0);
	assert_int_equal(mb_archive_extract_hooked(path, dest, flags, &hooks, &err), 0);
	free(dest);
	free(path);
	return t.n - before;
}

/* A .tar.bz2 over 2 MiB decodes on every CPU, unless the caller (several
 * unpacks at once, unpackq.c) gives it a share: MB_ARCHIVE_THREADS(1) is
 * one decoding thread beside the caller's, which writes the files. */
static void test_archive_threads_capped(void **state)
{
	struct bytes data = random_and_text(8 << 20); /* over 2 MiB once compressed */

	(void)state;
	if (mb_online_cpus() < 2)
		skip();
	put_file("big.bin", data.data, data.len);
	run("tar -cjf big.tar.bz2 big.bin");
	assert_true(threads_unpacking("big.tar.bz2", "all-cpus", 0) >= 2);
	assert_int_equal(threads_unpacking("big.tar.bz2", "one", MB_ARCHIVE_THREADS(1)), 1);
	free(data.data);
}

/* One under 1 MiB compressed decodes on the caller's thread, whatever its
 * share: a thread and its buffers cost more than they overlap there. */
static void test_small_archive_inline(void **state)
{
	struct bytes data = random_and_text(256 << 10);

	(void)state;
	put_file("small.bin", data.data, data.len);
	run("tar -cjf small.tar.bz2 small.bin");
	assert_int_equal(threads_unpacking("small.tar.bz2", "small-all", 0), 0);
	assert_int_equal(threads_unpacking("small.tar.bz2", "small-one", MB_ARCHIVE_THREADS(1)), 0);
	free(data.data);
}

/* Cut short, a big one fails through the inflater thread as it does
 * inline: MB_EINTEGRITY, and no thread left behind. */
static void test_archive_cut_inflater(void **state)
{
	struct bytes data = random_and_text(8 << 20), bz;
	char *path, *dest;
	struct mb_err err;
	int before = count_threads();

	(void)state;
	put_file("cutbig.bin", data.data, data.len);
	run("tar -cjf cutbig.tar.bz2 cutbig.bin");
	bz = get_file("cutbig.tar.bz2");
	put_file("cutbig-half.tar.bz2", bz.data, bz.len / 2);
	path = path_of("cutbig-half.tar.bz2");
	dest = path_of("cutbig-out");
	assert_int_equal(mkdir(dest, 0755), 0);
	assert_int_equal(mb_archive_extract(path, dest, MB_ARCHIVE_THREADS(1), &err), -MB_EINTEGRITY);
	assert_int_equal(count_threads(), before);
	free(dest);
	free(path);
	free(bz.data);
	free(data.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_blocks_level_9),
		cmocka_unit_test(test_many_blocks_level_1),
		cmocka_unit_test(test_long_runs_expand_far),
		cmocka_unit_test(test_tiny_file),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_concatenated_streams),
		cmocka_unit_test(test_bytes_after_the_end_ignored),
		cmocka_unit_test(test_false_magic_joined_to_next),
		cmocka_unit_test(test_truncated_fails),
		cmocka_unit_test(test_flipped_bit_fails),
		cmocka_unit_test(test_not_bzip2_refused),
		cmocka_unit_test(test_close_early),
		cmocka_unit_test(test_archive_threads_capped),
		cmocka_unit_test(test_small_archive_inline),
		cmocka_unit_test(test_archive_cut_inflater),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
