/* The cache entry's lock (cache.h): its file is gone once let go, and
 * holders never meet, though each lets go by unlinking the file that a
 * waiter may have opened an instant before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cache.h"
#include "fsutil.h"
#include "util.h"
#include "tmpdir.h"

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define RACERS 3
#define RACE_MS 1500

static void open_cache(struct mb_cache *c, const char *name)
{
	struct mb_err err = { 0 };
	char *path = path_join(dir, name);

	assert_int_equal(mb_cache_open(c, path, &err), 0);
	free(path);
}

static void test_unlock_leaves_no_file(void **state)
{
	struct mb_cache c;
	struct mb_err err = { 0 };
	char *lock;
	int fd = -1, other = -1;
	(void)state;

	open_cache(&c, "one");
	lock = xasprintf("%s/partial/%s.lock", c.dir, HEX);
	assert_int_equal(mb_cache_try_lock(&c, HEX, &fd, &err), 0);
	assert_int_equal(access(lock, F_OK), 0);
	assert_int_equal(mb_cache_try_lock(&c, HEX, &other, &err), 1);
	mb_cache_unlock(&c, HEX, fd);
	assert_int_equal(access(lock, F_OK), -1);
	assert_int_equal(mb_cache_try_lock(&c, HEX, &fd, &err), 0);
	mb_cache_unlock(&c, HEX, fd);
	assert_int_equal(access(lock, F_OK), -1);
	mb_cache_unlock(&c, HEX, -1); /* harmless */
	free(lock);
	mb_cache_close(&c);
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* Takes the lock again and again; inside, a marker made with O_EXCL
 * proves nobody else is inside.  Exit 1 when two met, 2 on an error, 3
 * when it never got the lock. */
static int race(const struct mb_cache *c, const char *marker)
{
	struct mb_err err = { 0 };
	long end = now_ms() + RACE_MS, got = 0;
	int fd, m, rc;

	while (now_ms() < end) {
		if ((rc = mb_cache_try_lock(c, HEX, &fd, &err)) == 1) {
			sched_yield();
			continue;
		}
		if (rc < 0)
			return 2;
		if ((m = open(marker, O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0)
			return errno == EEXIST ? 1 : 2;
		close(m);
		got++;
		unlink(marker);
		mb_cache_unlock(c, HEX, fd);
	}
	return got ? 0 : 3;
}

static void test_holders_never_meet(void **state)
{
	struct mb_cache c;
	char *marker, *lock;
	pid_t pids[RACERS];
	int i, status;
	(void)state;

	open_cache(&c, "race");
	marker = path_join(c.dir, "inside");
	lock = xasprintf("%s/partial/%s.lock", c.dir, HEX);
	for (i = 0; i < RACERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(race(&c, marker));
	}
	for (i = 0; i < RACERS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(access(lock, F_OK), -1);
	free(marker);
	free(lock);
	mb_cache_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unlock_leaves_no_file),
		cmocka_unit_test(test_holders_never_meet),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
