/* Writing through directory descriptors (wtree) and unpacking a zip on
 * several threads: the same files as on one, nothing through a symlink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "fsutil.h"
#include "util.h"
#include "wtree.h"

static char *tmp_dir(void)
{
	char tmpl[] = "/tmp/mbwtree.XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return xstrdup(d);
}

static void put(struct mb_wtree *t, const char *rel, const char *text)
{
	struct mb_err err = { 0 };
	int fd = mb_wtree_create(t, rel, 0644, &err);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void expect_text(const char *root, const char *rel, const char *text)
{
	char *path = path_join(root, rel), *buf = NULL;
	size_t len;

	assert_int_equal(read_file(path, 1 << 20, &buf, &len, NULL), 0);
	assert_string_equal(buf, text);
	free(buf);
	free(path);
}

/* Jumping between directories in any order lands every file where it belongs. */
static void test_files_in_any_order(void **state)
{
	static const char *paths[] = { "a/b/c/one", "a/x", "a/b/d/two", "z", "a/b/c/three",
				       "q/r/s/t/u", "a/bb/four", "a/b/five" };
	struct mb_wtree t;
	struct mb_err err = { 0 };
	char *root = tmp_dir();
	size_t i;

	(void)state;
	assert_int_equal(mb_wtree_open(&t, root, true, &err), 0);
	for (i = 0; i < sizeof paths / sizeof *paths; i++)
		put(&t, paths[i], paths[i]);
	assert_int_equal(mb_wtree_mkdir(&t, "a/empty/dir", &err), 0);
	mb_wtree_close(&t);
	for (i = 0; i < sizeof paths / sizeof *paths; i++)
		expect_text(root, paths[i], paths[i]);
	remove_tree(root, NULL);
	free(root);
}

/* A symlinked directory is never gone through; an existing file is not
 * replaced; a tree opened without `create` makes nothing. */
static void test_symlink_and_existing_refused(void **state)
{
	struct mb_wtree t;
	struct mb_err err = { 0 };
	char *root = tmp_dir(), *outside = tmp_dir(), *link = path_join(root, "out");
	const char *base;

	(void)state;
	assert_int_equal(symlink(outside, link), 0);
	assert_int_equal(mb_wtree_open(&t, root, true, &err), 0);
	assert_true(mb_wtree_create(&t, "out/evil", 0644, &err) < 0);
	assert_int_equal(err.code, MB_EINTEGRITY);
	assert_true(mb_wtree_create(&t, "out", 0644, &err) < 0);
	put(&t, "f", "first");
	assert_true(mb_wtree_create(&t, "f", 0644, &err) < 0);
	mb_wtree_close(&t);
	expect_text(root, "f", "first");

	assert_int_equal(mb_wtree_open(&t, root, false, &err), 0);
	assert_true(mb_wtree_parent(&t, "missing/f", &base, &err) < 0);
	mb_wtree_close(&t);
	{
		char *evil = path_join(outside, "evil"), *missing = path_join(root, "missing");
		assert_int_not_equal(access(evil, F_OK), 0);
		assert_int_not_equal(access(missing, F_OK), 0);
		free(evil);
		free(missing);
	}
	remove_tree(root, NULL);
	remove_tree(outside, NULL);
	free(root);
	free(outside);
	free(link);
}

#define MEMBERS 300

static void make_zip(const char *path)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	char name[64], data[256];
	int i;

	archive_write_set_format_zip(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (i = 0; i < MEMBERS; i++) {
		/* a few big members first, so that runs split by size, not count */
		size_t len = i < 3 ? sizeof data : (size_t)snprintf(data, sizeof data, "member %d\n", i);
		if (i < 3)
			memset(data, 'a' + i, sizeof data);
		snprintf(name, sizeof name, "pkg/d%d/m%d.py", i / 40, i);
		archive_entry_clear(e);
		archive_entry_set_pathname(e, name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)len);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
	}
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
}

static int count_done(void *ctx, const char *rel, unsigned mode, struct mb_err *err)
{
	(void)rel, (void)mode, (void)err;
	++*(int *)ctx;
	return 0;
}

static void test_zip_on_threads_matches_one(void **state)
{
	char *dir = tmp_dir(), *zip = path_join(dir, "w.zip");
	char *one = path_join(dir, "one"), *three = path_join(dir, "three");
	int counts[3] = { 0 }, single = 0, i;
	struct mb_archive_hooks hooks[3], h1 = { NULL, NULL, count_done, &single };
	struct mb_err err = { 0 };

	(void)state;
	for (i = 0; i < 3; i++)
		hooks[i] = (struct mb_archive_hooks){ NULL, NULL, count_done, &counts[i] };
	make_zip(zip);
	assert_int_equal(mkdir(one, 0755), 0);
	assert_int_equal(mkdir(three, 0755), 0);
	assert_int_equal(mb_archive_extract_jobs(zip, one, 0, 1, &h1, &err), 0);
	assert_int_equal(mb_archive_extract_jobs(zip, three, 0, 3, hooks, &err), 0);
	assert_int_equal(single, MEMBERS);
	assert_int_equal(counts[0] + counts[1] + counts[2], MEMBERS);
	for (i = 0; i < 3; i++)
		assert_true(counts[i] > 0); /* every thread had a run */
	for (i = 0; i < MEMBERS; i++) {
		char rel[64], *pa, *pb, *a, *b;
		size_t la, lb;
		snprintf(rel, sizeof rel, "pkg/d%d/m%d.py", i / 40, i);
		pa = path_join(one, rel);
		pb = path_join(three, rel);
		assert_int_equal(read_file(pa, 1 << 20, &a, &la, NULL), 0);
		assert_int_equal(read_file(pb, 1 << 20, &b, &lb, NULL), 0);
		assert_int_equal(la, lb);
		assert_memory_equal(a, b, la);
		free(a);
		free(b);
		free(pa);
		free(pb);
	}
	remove_tree(dir, NULL);
	free(dir);
	free(zip);
	free(one);
	free(three);
}

/* The directories a tree makes are noted, parents first; ones already
 * there are not (a package's staging takes back only its own). */
static void test_made_directories_noted(void **state)
{
	char *root = tmp_dir(), *have = path_join(root, "share");
	struct mb_wtree_made made = { 0 };
	struct mb_wtree t;
	struct mb_err err = { 0 };
	(void)state;

	assert_int_equal(mkdir(have, 0755), 0);
	assert_int_equal(mb_wtree_open(&t, root, true, &err), 0);
	t.made = &made;
	put(&t, "share/pkg/sub/a.txt", "a");
	put(&t, "share/pkg/b.txt", "b");
	put(&t, "bin/x", "x");
	assert_int_equal(made.n, 3);
	assert_string_equal(made.v[0], "share/pkg");
	assert_string_equal(made.v[1], "share/pkg/sub");
	assert_string_equal(made.v[2], "bin");
	mb_wtree_close(&t);
	strv_free(made.v, made.n);
	remove_tree(root, NULL);
	free(have);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_in_any_order),
		cmocka_unit_test(test_symlink_and_existing_refused),
		cmocka_unit_test(test_zip_on_threads_matches_one),
		cmocka_unit_test(test_made_directories_noted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
