/* Libraries loaded on first use: a missing one, or one without a function
 * we need, is an MB_EHOST error (exit 6) that names the library and the
 * Debian package to install; a present one binds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dl.h"

static void test_missing_library(void **state)
{
	struct mb_err err = { 0 };
	(void)state;

	assert_null(mb_dl_open("libmambaboot-missing.so.404", "libmissing404", &err));
	assert_int_equal(err.code, MB_EHOST);
	assert_non_null(strstr(err.msg, "cannot load libmambaboot-missing.so.404 (install libmissing404)"));
}

static void test_missing_function(void **state)
{
	struct mb_err err = { 0 };
	void *lib, (*fn)(void) = NULL;
	(void)state;

	lib = mb_dl_open("libc.so.6", "libc6", &err);
	assert_non_null(lib);
	assert_int_equal(mb_dl_sym(lib, "libc.so.6", "strlen", &fn, sizeof fn, &err), 0);
	assert_non_null(fn);
	assert_int_equal(mb_dl_sym(lib, "libc.so.6", "mb_no_such_function", &fn, sizeof fn, &err),
			 -MB_EHOST);
	assert_int_equal(err.code, MB_EHOST);
	assert_non_null(strstr(err.msg, "libc.so.6 lacks mb_no_such_function"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_library),
		cmocka_unit_test(test_missing_function),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
