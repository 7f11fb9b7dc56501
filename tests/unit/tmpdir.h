/* One fresh directory under /tmp for a test file's cases: pass
 * tmpdir_setup and tmpdir_teardown to cmocka_run_group_tests; `dir` names
 * it meanwhile.  Include after cmocka.h, fsutil.h and util.h. */
#ifndef MB_TEST_TMPDIR_H
#define MB_TEST_TMPDIR_H

#include <stdlib.h>

static char *dir;

static int tmpdir_setup(void **state)
{
	char tmpl[] = "/tmp/mbtest.XXXXXX";

	(void)state;
	if (!mkdtemp(tmpl))
		return -1;
	dir = xstrdup(tmpl);
	return 0;
}

static int tmpdir_teardown(void **state)
{
	(void)state;
	remove_tree(dir, NULL);
	free(dir);
	return 0;
}

#endif
