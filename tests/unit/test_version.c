/* PEP 440: parsing, normalization, ordering and specifiers, checked against
 * the examples PEP 440 itself gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "version.h"

static struct mb_version V(const char *s)
{
	struct mb_version v;
	if (mb_version_parse(s, &v) != 0)
		fail_msg("cannot parse '%s'", s);
	return v;
}

/* The full ordering example of PEP 440's "Summary of permitted suffixes
 * and relative ordering", plus epochs and local labels. */
static void test_pep440_total_order(void **state)
{
	static const char *const order[] = {
		"1.dev0", "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456",
		"1.0a12", "1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456",
		"1.0b2.post345", "1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5",
		"1.0+abc.7", "1.0+5", "1.0.post456.dev34", "1.0.post456", "1.0.15",
		"1.1.dev1", "1!0.1",
	};
	size_t n = sizeof order / sizeof order[0], i, j;
	(void)state;

	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			struct mb_version a = V(order[i]), b = V(order[j]);
			int c = mb_version_cmp(&a, &b);
			int want = (i > j) - (i < j);
			if ((c > 0) - (c < 0) != want)
				fail_msg("%s vs %s: got %d, want %d", order[i], order[j], c, want);
		}
	}
}

static void expect_norm(const char *in, const char *want)
{
	struct mb_version v = V(in);
	char out[128];

	mb_version_format(&v, out, sizeof out);
	if (strcmp(out, want) != 0)
		fail_msg("'%s' normalized to '%s', want '%s'", in, out, want);
}

static void test_normalization(void **state)
{
	(void)state;
	expect_norm("1.0ALPHA1", "1.0a1");
	expect_norm("1.0-beta.2", "1.0b2");
	expect_norm("1.0c1", "1.0rc1");
	expect_norm("1.0pre", "1.0rc0");
	expect_norm("1.0preview2", "1.0rc2");
	expect_norm("1.0-1", "1.0.post1");
	expect_norm("1.0.rev3", "1.0.post3");
	expect_norm("1.0r", "1.0.post0");
	expect_norm("1.0-dev", "1.0.dev0");
	expect_norm("v1.0", "1.0");
	expect_norm(" 1.0 ", "1.0");
	expect_norm("1.0+ubuntu-1", "1.0+ubuntu.1");
	expect_norm("2.1.2+cu118", "2.1.2+cu118");
	expect_norm("0!1.0", "1.0");
	expect_norm("1.2.0.post1", "1.2.0.post1");
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"", "1.", ".1", "1..0", "1.0+", "1.0+a..b", "a1.0", "1.0x", "1.0-",
		"1.2.x", "1.0a1a2", "99999999999999999999", "1.0+" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17",
	};
	struct mb_version v;
	size_t i;
	(void)state;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (mb_version_parse(bad[i], &v) == 0)
			fail_msg("'%s' parsed but is not a PEP 440 version", bad[i]);
}

static void test_trailing_zeros_equal(void **state)
{
	struct mb_version a = V("1.0"), b = V("1.0.0"), c = V("1");
	(void)state;
	assert_int_equal(mb_version_cmp(&a, &b), 0);
	assert_int_equal(mb_version_cmp(&a, &c), 0);
}

static int contains(const char *spec, const char *version)
{
	struct mb_spec s;
	struct mb_version v = V(version);
	char why[128];

	if (mb_spec_parse(spec, &s, why, sizeof why) != 0)
		fail_msg("cannot parse spec '%s': %s", spec, why);
	return mb_spec_contains(&s, &v);
}

static void test_specifiers(void **state)
{
	(void)state;
	assert_true(contains(">=2.1,<2.2", "2.1.2"));
	assert_true(contains(">=2.1,<2.2", "2.1.2+cu118"));
	assert_false(contains(">=2.1,<2.2", "2.2.0"));
	assert_false(contains(">=2.1,<2.2", "2.0.9"));
	assert_true(contains("==2.1.2", "2.1.2+cu118"));   /* local ignored */
	assert_false(contains("==2.1.2+cu121", "2.1.2+cu118"));
	assert_true(contains("==2.1.2+cu118", "2.1.2+cu118"));
	assert_true(contains("!=1.0", "1.1"));
	assert_false(contains("!=1.0", "1.0.0"));
	assert_true(contains("<2", "1.26.4"));
	assert_false(contains("<2", "2.0.0"));
	assert_false(contains("<2.0", "2.0rc1"));          /* no pre-release of 2.0 */
	assert_true(contains("<2.0rc2", "2.0rc1"));
	assert_false(contains(">1.7", "1.7.post2"));        /* no post-release of 1.7 */
	assert_true(contains(">1.7.post2", "1.7.post3"));
	assert_false(contains(">1.7", "1.7+local"));
	assert_true(contains("<=1.7", "1.7+local"));
	assert_true(contains("~=2.2", "2.3"));
	assert_false(contains("~=2.2", "3.0"));
	assert_true(contains("~=1.4.5", "1.4.9"));
	assert_false(contains("~=1.4.5", "1.5.0"));
	assert_true(contains("==1.1.*", "1.1.post1"));
	assert_true(contains("==1.1.*", "1.1a1"));
	assert_false(contains("==1.1.*", "1.10"));
	assert_true(contains("!=1.1.*", "1.2"));
	assert_true(contains("=10", "10.4.0"));             /* conda form */
	assert_false(contains("=10", "11.1.0"));
	assert_true(contains("10.*", "10.1"));
	assert_true(contains("1.2", "1.2.0"));              /* bare = exact */
	assert_true(contains("", "99"));
	assert_true(contains(">=11.6,<12", "11.8"));
	assert_true(contains("===1.0", "1.0"));
	assert_false(contains("===1.0", "1.0.0"));
}

static void test_bad_specifiers(void **state)
{
	static const char *const bad[] = {
		">=2.x", "~=1", "==1.*.2", ">=1.*", "<2|>3", ",", ">=1,", "==1.0a1.*",
		"1.0+local.*",
	};
	struct mb_spec s;
	char why[128];
	size_t i;
	(void)state;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (mb_spec_parse(bad[i], &s, why, sizeof why) == 0)
			fail_msg("'%s' parsed but is not a valid specifier", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pep440_total_order),
		cmocka_unit_test(test_normalization),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_trailing_zeros_equal),
		cmocka_unit_test(test_specifiers),
		cmocka_unit_test(test_bad_specifiers),
	};
	return cmocka_run_group_tests_name("version", tests, NULL, NULL);
}
