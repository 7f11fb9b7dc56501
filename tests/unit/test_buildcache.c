/* The build cache's manifest (buildcache.h), read back from a cache or a
 * mirror that may be damaged: every line whole, every name once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "buildcache.h"
#include "util.h"

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEAD "mambaboot-build-output 1\n"

static int parse(const char *text)
{
	struct mb_build_manifest m;
	struct mb_err err = { 0 };
	int rc = mb_build_manifest_parse(text, &m, &err);

	if (rc == 0)
		mb_build_manifest_free(&m);
	return rc;
}

static void test_whole_manifest_reads(void **state)
{
	struct mb_build_manifest m;
	struct mb_err err = { 0 };
	(void)state;

	assert_int_equal(mb_build_manifest_parse(HEAD "prefix /opt/p\nembeds_prefix no\n"
						 "file " SHA " 12 a-1.0-py3-none-any.whl\n"
						 "file " SHA " 0 b.whl\n", &m, &err), 0);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.files[0].name, "a-1.0-py3-none-any.whl");
	assert_int_equal(m.files[0].size, 12);
	assert_string_equal(m.prefix, "/opt/p");
	mb_build_manifest_free(&m);
}

static void test_damaged_lines_refused(void **state)
{
	char long_name[400], *text;
	(void)state;

	memset(long_name, 'x', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	text = xasprintf(HEAD "file " SHA " 1 %s\n", long_name); /* cut at 255 before */
	assert_int_equal(parse(text), -MB_EINTEGRITY);
	free(text);
	assert_int_equal(parse(HEAD "file " SHA " 1 a.whl\nfile " SHA " 2 a.whl\n"), -MB_EINTEGRITY);
	assert_int_equal(parse(HEAD "file " SHA " 1 a.whl trailing\n"), -MB_EINTEGRITY);
	assert_int_equal(parse(HEAD "file " SHA " -1 a.whl\n"), -MB_EINTEGRITY);
	assert_int_equal(parse(HEAD "file " SHA " 1 ../a.whl\n"), -MB_EINTEGRITY);
	assert_int_equal(parse(HEAD "file 0123 1 a.whl\n"), -MB_EINTEGRITY);
	assert_int_equal(parse("mambaboot-build-output 2\n"), -MB_EINTEGRITY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_manifest_reads),
		cmocka_unit_test(test_damaged_lines_refused),
	};
	return cmocka_run_group_tests_name("buildcache", tests, NULL, NULL);
}
