/* The readers behind mambaboot lock: the streaming repodata scanner (every
 * chunk size gives the same answer as a whole-file read, malformed and
 * truncated documents are errors) and the PEP 691 / 503 page reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repodata.h"
#include "shards.h"
#include "simpleindex.h"

#define H64(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
	c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c

struct seen {
	char names[8][128];
	char sha[8][65];
	long long size[8];
	int n;
};

static int on_found(void *ctx, const char *filename, const char *sha256, int64_t size,
		    struct mb_err *err)
{
	struct seen *s = ctx;
	(void)err;
	if (s->n == 8)
		fail_msg("too many entries reported");
	snprintf(s->names[s->n], sizeof s->names[0], "%s", filename);
	snprintf(s->sha[s->n], sizeof s->sha[0], "%s", sha256);
	s->size[s->n++] = size;
	return 0;
}

/* Scan doc in chunks of `step` bytes; returns the rc of the first failure. */
static int scan(const char *doc, size_t step, struct seen *seen, struct mb_err *err)
{
	static const char *const wanted[] = { "a-1-0.conda", "b-2-0.tar.bz2", "e\"q-1-0.conda" };
	struct mb_repodata_scan *s = mb_repodata_scan_new(wanted, 3, on_found, seen);
	size_t len = strlen(doc), off = 0;
	int rc = 0;

	memset(seen, 0, sizeof *seen);
	while (rc == 0 && off < len) {
		size_t n = len - off < step ? len - off : step;
		rc = mb_repodata_scan_feed(s, doc + off, n, err);
		off += n;
	}
	if (rc == 0)
		rc = mb_repodata_scan_finish(s, err);
	mb_repodata_scan_free(s);
	return rc;
}

static const char good[] =
	"{\"info\": {\"subdir\": \"noarch\", \"packages\": {\"a-1-0.conda\": {\"sha256\": \"" H64("0") "\"}}},\n"
	" \"packages\": {\"x-1-0.tar.bz2\": {\"sha256\": \"" H64("1") "\", \"depends\": [\"a {}[]\\\"\"]},\n"
	"   \"b-2-0.tar.bz2\": {\"depends\": [[], {}], \"sha256\": \"" H64("B") "\", \"size\": 42, \"n\": -1.5e3, \"t\": true, \"z\": null}},\n"
	" \"packages.conda\": {\"a-1-0.conda\": {\"sha256\": \"" H64("a") "\", \"size\": 7},\n"
	"   \"e\\\"q-1-0.conda\": {\"size\": 1, \"sha256\": \"" H64("e") "\"}, \"nosha-1-0.conda\": {\"md5\": \"x\"}},\n"
	" \"removed\": [\"a-1-0.conda\"], \"repodata_version\": 1}\n";

/* Only the wanted entries of packages and packages.conda, at any chunk size. */
static void test_repodata_every_chunk_size(void **state)
{
	struct mb_err err = { 0 };
	struct seen s;
	size_t step;
	(void)state;

	for (step = 1; step <= sizeof good; step++) {
		if (scan(good, step, &s, &err) != 0)
			fail_msg("step %zu: %s", step, err.msg);
		assert_int_equal(s.n, 3);
		assert_string_equal(s.names[0], "b-2-0.tar.bz2");
		assert_string_equal(s.sha[0], H64("b")); /* lower-cased */
		assert_int_equal(s.size[0], 42);
		assert_string_equal(s.names[1], "a-1-0.conda");
		assert_string_equal(s.sha[1], H64("a"));
		assert_string_equal(s.names[2], "e\"q-1-0.conda"); /* an escaped key */
	}
}

static void test_repodata_malformed(void **state)
{
	static const char *const bad[] = {
		"", "[]", "{", "{\"packages\": {\"a-1-0.conda\": {}}", "{\"a\" 1}", "{\"a\": 1,}",
		"{\"a\": 1} x", "{\"a\": [1, 2}", "{\"a\": \"unterminated}", "{,}", "{\"a\": 1 \"b\": 2}",
		"{\"packages\": {\"a-1-0.conda\": {\"sha256\": tru}}}", "{\"a\": @}", "{:1}",
	};
	struct mb_err err;
	struct seen s;
	size_t i;
	(void)state;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&err, 0, sizeof err);
		if (scan(bad[i], 3, &s, &err) != -MB_EINPUT)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(strstr(err.msg, "malformed JSON") || strstr(err.msg, "the entry for"));
	}
}

static void test_pep691(void **state)
{
	static const char page[] =
		"{\"meta\": {\"api-version\": \"1.1\"}, \"name\": \"sample\", \"files\": ["
		"{\"filename\": \"other.whl\", \"hashes\": {\"sha256\": \"" H64("1") "\"}},"
		"{\"filename\": \"s-1-py3-none-any.whl\", \"url\": \"x\", \"hashes\": {\"sha256\": \"" H64("C") "\"}, \"size\": 9}]}";
	struct mb_simple_hit hit;
	struct mb_err err = { 0 };
	(void)state;

	assert_int_equal(mb_simple_find(page, sizeof page - 1, "s-1-py3-none-any.whl", &hit, &err), 1);
	assert_string_equal(hit.sha256, H64("c"));
	assert_int_equal(hit.size, 9);
	assert_string_equal(hit.format, "pep691");
	assert_int_equal(mb_simple_find(page, sizeof page - 1, "nope.whl", &hit, &err), 0);
	assert_int_equal(mb_simple_find("{\"files\": 1}", 12, "x", &hit, &err), -MB_EINPUT);
	assert_int_equal(mb_simple_find("{\"files\": [", 11, "x", &hit, &err), -MB_EINPUT);
}

static void test_pep503(void **state)
{
	static const char page[] =
		"<html><body>\n<A HREF='/whl/t-2.1%2Bcu118-x.whl#sha256=" H64("d") "'>t-2.1+cu118-x.whl</A><br>\n"
		"<a data-x=\"1\" href=\"../../f/u_v-1-py3-none-any.whl#sha256=" H64("e") "\" data-requires-python=\"&gt;=3\">"
		"  u_v-1-py3-none-any.whl </a>\n"
		"<a href=\"w-1.whl#md5=abc\">w-1.whl</a><abbr>no</abbr>\n"
		"<a href=\"/x/y-1.whl#sha256=" H64("f") "\"><img src=x></a>\n"
		"</body></html>";
	struct mb_simple_hit hit;
	struct mb_err err = { 0 };
	(void)state;

	assert_int_equal(mb_simple_find(page, sizeof page - 1, "t-2.1+cu118-x.whl", &hit, &err), 1);
	assert_string_equal(hit.sha256, H64("d"));
	assert_int_equal(hit.size, -1);
	assert_string_equal(hit.format, "pep503");
	assert_int_equal(mb_simple_find(page, sizeof page - 1, "u_v-1-py3-none-any.whl", &hit, &err), 1);
	assert_string_equal(hit.sha256, H64("e"));
	assert_int_equal(mb_simple_find(page, sizeof page - 1, "w-1.whl", &hit, &err), 0);
	/* no text: the href's last segment names the file */
	assert_int_equal(mb_simple_find(page, sizeof page - 1, "y-1.whl", &hit, &err), 1);
}

static void test_project_names(void **state)
{
	char *p;
	(void)state;

	p = mb_simple_project("complex.dist-0.1-py2.py3-none-any.whl", "ignored");
	assert_string_equal(p, "complex-dist");
	free(p);
	p = mb_simple_project("PyYAML-6.0.1.tar.gz", "PyYAML");
	assert_string_equal(p, "pyyaml");
	free(p);
	p = mb_simple_project("typing_extensions-4.9.0-py3-none-any.whl", "x");
	assert_string_equal(p, "typing-extensions");
	free(p);
}

/* A CEP 16 shard index in the msgpack forms a writer may choose (map16,
 * str8, bin8, uint16, float32, array16, ext) and a truncated one. */
static void test_shard_index(void **state)
{
	static const char idx[] =
		"\xde\x00\x04\xa7\x76\x65\x72\x73\x69\x6f\x6e\xcd\x00\x01\xa4\x69\x6e\x66\x6f\x82\xd9\x0f\x73\x68\x61\x72\x64\x73\x5f\x62\x61\x73\x65\x5f\x75\x72\x6c\xac\x68\x74\x74\x70\x73\x3a\x2f\x2f\x78\x2f\x73\x2f\xa1\x66\xca\x3f\x80\x00\x00"
		"\xa4\x6a\x75\x6e\x6b\xdc\x00\x02\xd4\x01\x02\xc7\x02\x05\x61\x62\xa6\x73\x68\x61\x72\x64\x73\x82\xa5\x6e\x75\x6d\x70\x79\xc4\x20"
		"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"
		"\xd9\x03\x61\x2d\x62\xc4\x20\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
	struct mb_err err = { 0 };
	char hex[65], *base = NULL, *name;
	size_t i;
	(void)state;

	assert_int_equal(mb_shards_index_find(idx, sizeof idx - 1, "numpy", hex, &base, &err), 1);
	assert_string_equal(hex, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	assert_string_equal(base, "https://x/s/");
	free(base);
	assert_int_equal(mb_shards_index_find(idx, sizeof idx - 1, "scipy", hex, &base, &err), 0);
	free(base);
	for (i = 0; i < sizeof idx - 1; i++) { /* every truncation is an error or not found */
		int rc = mb_shards_index_find(idx, i, "a-b", hex, &base, &err);
		free(base);
		if (rc == 1)
			fail_msg("found in %zu of %zu bytes", i, sizeof idx - 1);
	}
	name = mb_shards_package_name("ca-certificates-2024.7.4-hbcca054_0.conda");
	assert_string_equal(name, "ca-certificates");
	free(name);
	assert_null(mb_shards_package_name("nodash.conda"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repodata_every_chunk_size),
		cmocka_unit_test(test_repodata_malformed),
		cmocka_unit_test(test_pep691),
		cmocka_unit_test(test_pep503),
		cmocka_unit_test(test_project_names),
		cmocka_unit_test(test_shard_index),
	};
	return cmocka_run_group_tests_name("lockread", tests, NULL, NULL);
}
