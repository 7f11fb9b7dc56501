/* The pure parts of fetch: backoff, Retry-After, mirror URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "curlapi.h"
#include "fetch.h"

static void test_backoff_doubles_per_retry(void **state)
{
	(void)state;
	/* with the largest random value the delay is the full step */
	assert_int_equal(mb_fetch_backoff_ms(100, 1, 30000, UINT32_MAX), 100);
	assert_int_equal(mb_fetch_backoff_ms(100, 2, 30000, UINT32_MAX), 200);
	assert_int_equal(mb_fetch_backoff_ms(100, 3, 30000, UINT32_MAX), 400);
	assert_int_equal(mb_fetch_backoff_ms(100, 5, 30000, UINT32_MAX), 1600);
}

static void test_backoff_jitter_stays_in_the_upper_half(void **state)
{
	uint32_t r;
	(void)state;
	assert_int_equal(mb_fetch_backoff_ms(1000, 1, 30000, 0), 500);
	for (r = 0; r < UINT32_MAX - 65537u * 4096u; r += 65537u * 4096u) {
		long d = mb_fetch_backoff_ms(1000, 2, 30000, r);
		assert_true(d >= 1000 && d <= 2000);
	}
}

static void test_backoff_is_capped(void **state)
{
	(void)state;
	assert_int_equal(mb_fetch_backoff_ms(500, 40, 30000, UINT32_MAX), 30000);
	assert_int_equal(mb_fetch_backoff_ms(500, 1000000, 30000, 0), 15000);
	assert_int_equal(mb_fetch_backoff_ms(0, 1, 30000, UINT32_MAX), 1);
}

/* Through the libcurl that downloads would load (curlapi.h). */
static long retry_after(const char *value, int64_t now)
{
	struct mb_curl api;
	struct mb_err err;
	long v;

	assert_int_equal(mb_curl_open(&api, &err), 0);
	v = mb_fetch_parse_retry_after(value, now, &api);
	mb_curl_close(&api);
	return v;
}

static void test_retry_after_seconds(void **state)
{
	(void)state;
	assert_int_equal(retry_after(" 120\r\n", 0), 120);
	assert_int_equal(retry_after("0", 0), 0);
	assert_int_equal(retry_after("12abc", 0), -1);
	assert_int_equal(retry_after("99999999999999", 0), -1);
	assert_int_equal(retry_after("", 0), -1);
}

static void test_retry_after_http_date(void **state)
{
	/* Wed, 21 Oct 2015 07:28:00 GMT = 1445412480 */
	(void)state;
	assert_int_equal(retry_after("Wed, 21 Oct 2015 07:28:00 GMT\r\n", 1445412480 - 30), 30);
	assert_int_equal(retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 + 5), 0);
	assert_int_equal(retry_after("next tuesday-ish", 0), -1);
}

static void expect_url(const char *mirror, const char *cwd, const char *want)
{
	char *u = mb_fetch_mirror_url(mirror, "ab12", cwd);

	if (!want) {
		assert_null(u);
		return;
	}
	assert_non_null(u);
	assert_string_equal(u, want);
	free(u);
}

static void test_mirror_url_joins_without_doubling_slashes(void **state)
{
	(void)state;
	expect_url("https://m.example.org/mb", "/", "https://m.example.org/mb/sha256/ab12");
	expect_url("https://m.example.org/mb///", "/", "https://m.example.org/mb/sha256/ab12");
	expect_url("http://127.0.0.1:8080", "/", "http://127.0.0.1:8080/sha256/ab12");
	expect_url("file:///srv/mirror/", "/", "file:///srv/mirror/sha256/ab12");
}

static void test_mirror_url_of_a_directory(void **state)
{
	(void)state;
	expect_url("/srv/mirror", "/x", "file:///srv/mirror/sha256/ab12");
	expect_url("mirror", "/home/u", "file:///home/u/mirror/sha256/ab12");
	expect_url("m/", "/", "file:///m/sha256/ab12");
	expect_url("/", "/x", "file:///sha256/ab12");
	expect_url("/a dir/100%#x", "/", "file:///a%20dir/100%25%23x/sha256/ab12");
}

static void test_mirror_url_refuses_other_schemes(void **state)
{
	(void)state;
	expect_url("ftp://example.org/m", "/", NULL);
	expect_url("scp://host/m", "/", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_doubles_per_retry),
		cmocka_unit_test(test_backoff_jitter_stays_in_the_upper_half),
		cmocka_unit_test(test_backoff_is_capped),
		cmocka_unit_test(test_retry_after_seconds),
		cmocka_unit_test(test_retry_after_http_date),
		cmocka_unit_test(test_mirror_url_joins_without_doubling_slashes),
		cmocka_unit_test(test_mirror_url_of_a_directory),
		cmocka_unit_test(test_mirror_url_refuses_other_schemes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
