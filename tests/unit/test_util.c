/* Small helpers of util.h that the install's fast paths lean on: JSON
 * strings written by hand (conda-meta records) must read back as jansson
 * writes them. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"
#include "tmpdir.h"

static void same_as_jansson(const char *s)
{
	json_t *j = json_string(s);
	char *want = json_dumps(j, JSON_ENCODE_ANY);
	struct sbuf b = { 0 };

	sbuf_json_string(&b, s);
	assert_non_null(want);
	assert_string_equal(b.s, want);
	free(want);
	json_decref(j);
	sbuf_free(&b);
}

static void test_json_string_matches_jansson(void **state)
{
	char every[40];
	int c;
	(void)state;

	same_as_jansson("");
	same_as_jansson("share/synth000/f0000.txt");
	same_as_jansson("a \"quoted\" back\\slash/and slash");
	same_as_jansson("lib/python3.10/site-packages/caf\xc3\xa9/\xe2\x82\xac.py");
	same_as_jansson("del \x7f and tab\tnewline\n");
	for (c = 1; c < 0x20; c++) { /* every control character, one at a time */
		snprintf(every, sizeof every, "x%cy", c);
		same_as_jansson(every);
	}
}

static void test_json_string_round_trips(void **state)
{
	const char *s = "\x01\x1f\"\\\b\f\n\r\t end";
	struct sbuf b = { 0 };
	json_t *j;
	(void)state;

	sbuf_json_string(&b, s);
	j = json_loads(b.s, JSON_DECODE_ANY, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(j), s);
	json_decref(j);
	sbuf_free(&b);
}

/* sbuf_int writes what printf's %lld does, at the ends of the range. */
static void test_int_matches_printf(void **state)
{
	const long long v[] = { 0, 7, -1, 10, 3000, 2147483648LL, LLONG_MAX, LLONG_MIN };
	char want[32];
	size_t i;
	(void)state;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct sbuf b = { 0 };
		sbuf_puts(&b, "n=");
		sbuf_int(&b, v[i]);
		snprintf(want, sizeof want, "n=%lld", v[i]);
		assert_string_equal(b.s, want);
		assert_int_equal(b.len, strlen(want));
		sbuf_free(&b);
	}
}

/* sbuf_printf formats in place when the text fits, and grows and formats
 * again when it does not: both must give the whole text. */
static void test_printf_fits_and_grows(void **state)
{
	char big[300];
	struct sbuf b = { 0 };
	(void)state;

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	sbuf_printf(&b, "%s", "");
	assert_int_equal(b.len, 0);
	sbuf_printf(&b, "a%d", 1); /* grows from nothing */
	sbuf_printf(&b, "b%d", 2); /* fits the room left */
	assert_string_equal(b.s, "a1b2");
	sbuf_printf(&b, "[%s]", big); /* does not fit: grows */
	assert_int_equal(b.len, 4 + 2 + strlen(big));
	assert_int_equal(b.s[4], '[');
	assert_int_equal(b.s[b.len - 1], ']');
	assert_int_equal(b.s[b.len], '\0');
	sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_string_matches_jansson),
		cmocka_unit_test(test_json_string_round_trips),
		cmocka_unit_test(test_int_matches_printf),
		cmocka_unit_test(test_printf_fits_and_grows),
	};
	return cmocka_run_group_tests_name("util", tests, tmpdir_setup, tmpdir_teardown);
}
