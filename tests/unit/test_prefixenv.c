/* The prefix's environment (prefixenv.h): what run and builds set, the
 * argv that sources activate.d, and bin/activate with a prefix whose name
 * a shell would misread. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "fsutil.h"
#include "prefixenv.h"
#include "spawn.h"
#include "util.h"
#include "tmpdir.h"

static void test_path_order_and_pythonpath(void **state)
{
	struct mb_prefix_env pe = { "/p", "/opt/gcc/bin:/venv/bin", "/cuda", "/p/lib/python3.12/site-packages" };
	struct mb_envv e = { 0 };
	(void)state;

	mb_prefix_env_apply(&pe, "/usr/bin:/bin", "/old", &e);
	assert_string_equal(mb_envv_get(&e, "PATH"), "/p/bin:/opt/gcc/bin:/venv/bin:/cuda/bin:/usr/bin:/bin");
	assert_string_equal(mb_envv_get(&e, "PYTHONPATH"), "/p/lib/python3.12/site-packages:/old");
	assert_string_equal(mb_envv_get(&e, "CUDA_HOME"), "/cuda");
	assert_string_equal(mb_envv_get(&e, "CONDA_PREFIX"), "/p");
	mb_envv_free(&e);
}

static void test_no_pythonpath_for_the_prefix_python(void **state)
{
	struct mb_prefix_env pe = { "/p", NULL, NULL, NULL };
	struct mb_envv e = { 0 };
	(void)state;

	mb_prefix_env_apply(&pe, NULL, "/old", &e);
	assert_string_equal(mb_envv_get(&e, "PATH"), "/p/bin");
	assert_null(mb_envv_get(&e, "PYTHONPATH"));
	assert_null(mb_envv_get(&e, "CUDA_HOME"));
	mb_envv_free(&e);
}

/* The scripts' paths and the arguments are argv entries, never shell text. */
static void test_activation_argv_passes_paths_as_arguments(void **state)
{
	char *d = path_join(dir, "pre'fix $(x)"), *ad = path_join(d, "etc/conda/activate.d");
	char *script = path_join(ad, "a.sh"), *args[] = { "echo", "it's", NULL };
	char **argv;
	(void)state;

	assert_int_equal(mkdir_p(ad, 0755, NULL), 0);
	assert_int_equal(write_file_atomic(script, "X=1\n", 4, NULL), 0);
	argv = mb_activation_argv(d, "exec \"$@\"", "t", args);
	assert_string_equal(argv[0], "/bin/sh");
	assert_null(strstr(argv[2], d));
	assert_string_equal(argv[4], "1");
	assert_string_equal(argv[5], script);
	assert_string_equal(argv[6], "echo");
	assert_string_equal(argv[7], "it's");
	assert_null(argv[8]);
	mb_activation_argv_free(argv);
	free(script);
	free(ad);
	free(d);
}

static void test_activate_script_quotes_and_restores(void **state)
{
	char *p = path_join(dir, "it's $HOME"), *file = path_join(dir, "activate");
	struct mb_prefix_env pe = { p, NULL, "/cuda dir", NULL };
	char *text = mb_activate_script(&pe), *want;
	char *argv[] = { "/bin/sh", "-c",
			 "PATH=/usr/bin:/bin; unset CUDA_HOME; . \"$1\"; printf '%s\\n' \"$PATH\" \"$CUDA_HOME\"; deactivate; "
			 "printf '%s|%s\\n' \"$PATH\" \"${CUDA_HOME-unset}\"",
			 "sh", file, NULL };
	struct sbuf out = { 0 };
	int status = -1;
	(void)state;

	assert_int_equal(write_file_atomic(file, text, strlen(text), NULL), 0);
	assert_int_equal(spawn_capture(argv, NULL, NULL, &out, 1 << 16, 10, &status, NULL), 0);
	assert_int_equal(status, 0);
	want = xasprintf("%s/bin:/cuda dir/bin:/usr/bin:/bin\n/cuda dir\n/usr/bin:/bin|unset\n", p);
	assert_string_equal(out.s, want);
	free(want);
	sbuf_free(&out);
	free(text);
	free(file);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_order_and_pythonpath),
		cmocka_unit_test(test_no_pythonpath_for_the_prefix_python),
		cmocka_unit_test(test_activation_argv_passes_paths_as_arguments),
		cmocka_unit_test(test_activate_script_quotes_and_restores),
	};
	return cmocka_run_group_tests_name("prefixenv", tests, tmpdir_setup, tmpdir_teardown);
}
