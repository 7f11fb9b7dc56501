/* Small helpers of util.h and fsutil.h that the install's fast paths lean
 * on: JSON strings written by hand (conda-meta records) must read back
 * as jansson writes them, and prune_empty_dirs must stop where told. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
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

static char *mk(const char *rel)
{
	char *p = path_join(dir, rel);
	assert_int_equal(mkdir_p(p, 0755, NULL), 0);
	return p;
}

static void test_prune_empty_dirs_stops_at_root_and_full_dirs(void **state)
{
	char *root = mk("prune"), *deep = mk("prune/a/b/c"), *other = mk("prune/a/keep");
	char *solo = mk("prune/s/t"), *file = path_join(dir, "prune/s/t/f");
	char *dirs[] = { deep, solo };
	(void)state;

	assert_int_equal(write_file_atomic(file, "x", 1, NULL), 0);
	prune_empty_dirs(dirs, 2, root);
	assert_int_equal(access(deep, F_OK), -1);
	assert_int_equal(access(other, F_OK), 0); /* a/ still holds keep/ */
	assert_int_equal(access(file, F_OK), 0);  /* t/ is not empty */
	assert_int_equal(access(root, F_OK), 0);
	unlink(file);
	prune_empty_dirs(dirs + 1, 1, root);
	assert_int_equal(access(solo, F_OK), -1);
	free(root), free(deep), free(other), free(solo), free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_string_matches_jansson),
		cmocka_unit_test(test_json_string_round_trips),
		cmocka_unit_test(test_prune_empty_dirs_stops_at_root_and_full_dirs),
	};
	return cmocka_run_group_tests_name("util", tests, tmpdir_setup, tmpdir_teardown);
}
