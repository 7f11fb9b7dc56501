/* The build key's record (buildkey.h) and the deterministic tar of a
 * build's files (tarpack.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utime.h>

#include "buildkey.h"
#include "digest.h"
#include "fsutil.h"
#include "recipe.h"
#include "tarpack.h"
#include "util.h"
#include "tmpdir.h"

static const char recipe_text[] =
	"name: greet\nversion: \"1.0\"\nkind: source\ndepends: [cc]\n"
	"artifacts:\n  - url: https://x.invalid/greet.tar.gz\n"
	"    sha256: 1111111111111111111111111111111111111111111111111111111111111111\n"
	"build:\n  env:\n    A: \"x\"\n  script:\n    - make\n";

static struct mb_recipe *parse(const char *text)
{
	struct mb_recipe *r = NULL;
	struct mb_stack *s = NULL;
	struct mb_err err;

	assert_int_equal(mb_recipe_parse("greet.yaml", text, strlen(text), &r, &s, &err), 0);
	return r;
}

static const char cc_text[] =
	"name: cc\nkind: external\nversion: \">=4\"\n"
	"detect:\n  command: [cc, --version]\n  regex: \"([0-9]+\\\\.[0-9]+)\"\n";

static struct mb_recipe *parse(const char *text);

static void key_of(const struct mb_recipe *r, const char *cc, struct mb_build_key *key)
{
	struct mb_recipe *ext = parse(cc_text), *list[] = { ext };
	struct mb_recipe_set set = { .recipes = list, .n_recipes = 1 };
	struct mb_tool tools[] = { { "cc", "/usr/bin/cc", cc } };
	struct mb_build_inputs in = { &set, r, tools, 1, "8.0", "2.17", "linux-x86_64" };
	struct mb_err err;

	assert_int_equal(mb_build_key_make(&in, key, &err), 0);
	mb_recipe_free(ext);
}

static void test_same_inputs_same_key(void **state)
{
	struct mb_recipe *r = parse(recipe_text);
	struct mb_build_key a, b;

	(void)state;
	key_of(r, "12.2", &a);
	key_of(r, "12.2", &b);
	assert_string_equal(a.hex, b.hex);
	assert_non_null(strstr(a.record, "\nscript make\n"));
	assert_non_null(strstr(a.record, "\nsource_date_epoch 1577836800\n"));
	assert_non_null(strstr(a.record, "\ncuda_arch -\n")); /* no cuda dependency */
	mb_build_key_free(&a);
	mb_build_key_free(&b);
	mb_recipe_free(r);
}

static void test_probed_version_changes_key(void **state)
{
	struct mb_recipe *r = parse(recipe_text);
	struct mb_build_key a, b;
	char *diff;

	(void)state;
	key_of(r, "12.2", &a);
	key_of(r, "13.1", &b);
	assert_string_not_equal(a.hex, b.hex);
	diff = mb_build_record_diff(b.record, a.record);
	assert_string_equal(diff, "  external cc 13.1\n");
	free(diff);
	mb_build_key_free(&a);
	mb_build_key_free(&b);
	mb_recipe_free(r);
}

static void test_script_lines_are_escaped(void **state)
{
	char *text = xasprintf("%s    - \"echo a\\nscript b\"\n", recipe_text);
	struct mb_recipe *r = parse(text);
	struct mb_build_key k;

	(void)state;
	key_of(r, "12.2", &k);
	/* a line break in a value cannot forge another input line */
	assert_null(strstr(k.record, "\nscript b\n"));
	assert_non_null(strstr(k.record, "\nscript echo a\\nscript b\n"));
	assert_true(mb_build_record_is_of(k.record, "greet"));
	assert_false(mb_build_record_is_of(k.record, "gree"));
	mb_build_key_free(&k);
	mb_recipe_free(r);
	free(text);
}

static char *tar_digest(const char *root, time_t file_mtime)
{
	struct mb_owned files = { 0 };
	char *p = path_join(root, "bin/tool"), *out = path_join(dir, "out.tar"), hex[MB_SHA256_HEX];
	struct utimbuf t = { file_mtime, file_mtime };
	struct mb_err err;

	assert_int_equal(mkdir_parents(p, &err), 0);
	assert_int_equal(write_file_atomic(p, "#!/bin/sh\n", 10, &err), 0);
	assert_int_equal(utime(p, &t), 0);
	mb_owned_add(&files, "bin/tool", MB_OWNED_FILE, NULL, 10, 0755);
	mb_owned_add(&files, "bin", MB_OWNED_DIR, NULL, 0, 0755);
	assert_int_equal(mb_tarpack(root, &files, 1577836800, out, &err), 0);
	assert_int_equal(mb_sha256_file(out, hex, &err), 0);
	mb_owned_free(&files);
	free(out);
	free(p);
	return xstrdup(hex);
}

static void test_tarpack_ignores_file_times(void **state)
{
	char *a_root = path_join(dir, "a"), *b_root = path_join(dir, "b");
	char *a = tar_digest(a_root, 1000), *b = tar_digest(b_root, 2000000000);

	(void)state;
	assert_string_equal(a, b);
	free(a);
	free(b);
	free(a_root);
	free(b_root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_inputs_same_key),
		cmocka_unit_test(test_probed_version_changes_key),
		cmocka_unit_test(test_script_lines_are_escaped),
		cmocka_unit_test(test_tarpack_ignores_file_times),
	};
	return cmocka_run_group_tests_name("buildkey", tests, tmpdir_setup, tmpdir_teardown);
}
