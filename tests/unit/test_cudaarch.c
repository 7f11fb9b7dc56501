/* TORCH_CUDA_ARCH_LIST: which source wins, how a list is normalized, and
 * which architectures an nvcc version refuses (issue #16). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cudaarch.h"

static int warnings;

static void count_warnings(void *ctx, const struct mb_event *ev)
{
	(void)ctx;
	warnings += ev->type == MB_EV_WARN;
}

static const struct mb_events events = { count_warnings, NULL, NULL };

static char *two_gpus[] = { "9.0", "8.0", "9.0" };

static void choose(const char *option, const char *env, size_t n_gpus, const char *want,
		   enum mb_arch_source source)
{
	struct mb_cuda_arch a;
	struct mb_err err = { 0 };

	assert_int_equal(mb_cuda_arch_choose(option, env, two_gpus, n_gpus, &events, &a, &err), 0);
	if (want)
		assert_string_equal(a.list, want);
	else
		assert_null(a.list);
	assert_int_equal(a.source, source);
	mb_cuda_arch_free(&a);
}

static void test_gpus_deduplicated_and_sorted(void **state)
{
	(void)state;
	choose(NULL, NULL, 3, "8.0;9.0", MB_ARCH_DETECTED);
}

static void test_env_wins_over_gpus(void **state)
{
	(void)state;
	choose(NULL, "8.6 7.5", 3, "7.5;8.6", MB_ARCH_ENV);
}

static void test_option_wins_over_env_and_gpus(void **state)
{
	(void)state;
	choose("7.0;8.0+PTX", "8.6", 3, "7.0;8.0+PTX", MB_ARCH_OPTION);
	choose("9.0a", "", 0, "9.0a", MB_ARCH_OPTION);
}

static void test_nothing_warns_and_sets_nothing(void **state)
{
	(void)state;
	warnings = 0;
	choose(NULL, "", 0, NULL, MB_ARCH_NONE);
	assert_int_equal(warnings, 1);
}

static void test_malformed_list_is_bad_input(void **state)
{
	static const char *const bad[] = { "sm_90", "9", "9.0;x", ";", "9.0+ptx", "90" };
	struct mb_cuda_arch a;
	struct mb_err err = { 0 };
	size_t i;
	(void)state;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (mb_cuda_arch_choose(bad[i], NULL, NULL, 0, &events, &a, &err) != -MB_EINPUT)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(strstr(err.msg, "--cuda-arch"));
	}
}

static void test_nvcc_limits(void **state)
{
	struct mb_err err = { 0 };
	(void)state;

	assert_int_equal(mb_cuda_arch_check("9.0", "11.6.124", &err), -MB_EHOST);
	assert_non_null(strstr(err.msg, "9.0"));
	assert_non_null(strstr(err.msg, "11.6.124"));
	assert_int_equal(mb_cuda_arch_check("8.0;9.0", "11.8.89", &err), 0);
	assert_int_equal(mb_cuda_arch_check("7.0;9.0", "13.0.48", &err), -MB_EHOST);
	assert_non_null(strstr(err.msg, "7.0"));
	assert_int_equal(mb_cuda_arch_check("7.5;9.0", "13.0.48", &err), 0);
	assert_int_equal(mb_cuda_arch_check("10.0", "12.4", &err), -MB_EHOST);
	assert_int_equal(mb_cuda_arch_check("9.0", NULL, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gpus_deduplicated_and_sorted),
		cmocka_unit_test(test_env_wins_over_gpus),
		cmocka_unit_test(test_option_wins_over_env_and_gpus),
		cmocka_unit_test(test_nothing_warns_and_sets_nothing),
		cmocka_unit_test(test_malformed_list_is_bad_input),
		cmocka_unit_test(test_nvcc_limits),
	};
	return cmocka_run_group_tests_name("cudaarch", tests, NULL, NULL);
}
