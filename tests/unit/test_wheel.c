/* Wheel tags against the plan's python and the host (pip's rules), and
 * the RECORD parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "wheel.h"

static const struct mb_host centos7 = { "2.17", "x86_64" };

static int check(const char *file, const char *py, const struct mb_host *h)
{
	struct mb_err err;
	return mb_wheel_check_tags(file, py, h, &err);
}

static void test_platform_tags(void **state)
{
	struct mb_err err;
	(void)state;
	assert_int_equal(check("numpy-1.26.4-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "3.10", &centos7), 0);
	assert_int_equal(check("x-1.0-cp310-cp310-manylinux2014_x86_64.whl", "3.10", &centos7), 0);
	assert_int_equal(check("x-1.0-cp310-cp310-manylinux1_x86_64.whl", "3.10", &centos7), 0);
	assert_int_equal(check("torch-2.1.2+cu118-cp310-cp310-linux_x86_64.whl", "3.10", &centos7), 0);
	assert_int_equal(mb_wheel_check_tags("pillow-10.2.0-cp310-cp310-manylinux_2_28_x86_64.whl", "3.10",
					     &centos7, &err), -MB_EINPUT);
	assert_non_null(strstr(err.msg, "needs glibc >= 2.28"));
	assert_non_null(strstr(err.msg, "glibc 2.17"));
	assert_int_equal(check("x-1.0-cp310-cp310-manylinux2014_aarch64.whl", "3.10", &centos7), -MB_EINPUT);
	assert_int_equal(check("x-1.0-cp310-cp310-win_amd64.whl", "3.10", &centos7), -MB_EINPUT);
	assert_int_equal(check("x-1.0-cp310-cp310-musllinux_1_1_x86_64.whl", "3.10", &centos7), -MB_EINPUT);
	assert_int_equal(check("x-1.0-py3-none-any.whl", "3.10", &centos7), 0);
}

static void test_python_tags(void **state)
{
	(void)state;
	assert_int_equal(check("x-1.0-py2.py3-none-any.whl", "3.10", &centos7), 0);
	assert_int_equal(check("x-1.0-py310-none-any.whl", "3.10", &centos7), 0);
	assert_int_equal(check("x-1.0-py311-none-any.whl", "3.10", &centos7), -MB_EINPUT);
	assert_int_equal(check("x-1.0-py2-none-any.whl", "3.10", &centos7), -MB_EINPUT);
	assert_int_equal(check("x-1.0-cp311-cp311-manylinux2014_x86_64.whl", "3.10", &centos7), -MB_EINPUT);
	assert_int_equal(check("x-1.0-cp36-abi3-manylinux2014_x86_64.whl", "3.10", &centos7), 0);
	assert_int_equal(check("x-1.0-cp311-abi3-manylinux2014_x86_64.whl", "3.10", &centos7), -MB_EINPUT);
	assert_int_equal(check("x-1.0-cp39-cp39-manylinux2014_x86_64.whl", "3.10", &centos7), -MB_EINPUT);
	assert_int_equal(check("x-1.0-1-py3-none-any.whl", "3.10", &centos7), 0);   /* build tag */
	assert_int_equal(check("not-a-wheel.whl", "3.10", &centos7), -MB_EINPUT);
}

static void test_record(void **state)
{
	static const char rec[] =
		"pkg/__init__.py,sha256=2RYza_zqmdRYNL8hpt9PsZimNSpvwcxAIEjHhu9HfpQ,38\n"
		"\"pkg/a,b.py\",sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\r\n"
		"pkg-1.0.dist-info/RECORD,,\n";
	struct mb_record_entry *v;
	long n;
	(void)state;

	n = mb_record_parse(rec, sizeof rec - 1, &v);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].path, "pkg/__init__.py");
	assert_string_equal(v[0].hash, "d916336bfcea99d45834bf21a6df4fb198a6352a6fc1cc402048c786ef477e94");
	assert_int_equal(v[0].size, 38);
	assert_string_equal(v[1].path, "pkg/a,b.py");
	assert_string_equal(v[1].hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_string_equal(v[2].hash, "");
	assert_int_equal(v[2].size, -1);
	mb_record_free(v, n);
	assert_int_equal(mb_record_parse("a,sha256=x,notanumber\n", 22, &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_platform_tags),
		cmocka_unit_test(test_python_tags),
		cmocka_unit_test(test_record),
	};
	return cmocka_run_group_tests_name("wheel", tests, NULL, NULL);
}
