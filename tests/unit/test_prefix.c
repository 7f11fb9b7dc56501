/* The prefix database: transactions commit, abort, recover after a crash,
 * refuse unowned paths, and the lock times out naming its holder. */
#define _DEFAULT_SOURCE /* syscall() */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "prefix.h"
#include "util.h"

static char *tmp_prefix(void)
{
	char tmpl[] = "/tmp/mbprefix.XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return xstrdup(d);
}

static void write_text(const char *path, const char *text)
{
	FILE *f;
	assert_int_equal(mkdir_parents(path, NULL), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *slurp(const char *prefix, const char *rel)
{
	char *path = path_join(prefix, rel), *buf = NULL;
	size_t len;
	int rc = read_file(path, 1 << 20, &buf, &len, NULL);
	free(path);
	return rc == 0 ? buf : NULL;
}

static void assert_text(const char *prefix, const char *rel, const char *want)
{
	char *got = slurp(prefix, rel);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static bool exists(const char *prefix, const char *rel)
{
	char *path = path_join(prefix, rel);
	struct stat st;
	bool ok = lstat(path, &st) == 0;
	free(path);
	return ok;
}

enum fault {
	NO_FAULT,
	CRASH_MIDWAY,     /* killed while placing files: no commit, no abort */
	LISTS_BLOCKED,    /* a file where the commit writes the file lists */
	STATE_DIR_SYNC,   /* state.json renamed into place, then its directory's fsync fails */
};

/* This binary's fsync (it takes the place of libc's for the code under
 * test): while set, syncing PREFIX/.mambaboot fails with EIO, the one
 * step of the commit after state.json's rename. */
static bool fail_state_dir_sync;

int fsync(int fd)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	if (fail_state_dir_sync && (n = readlink(link, target, sizeof target - 1)) > 0) {
		target[n] = '\0';
		if (str_endswith(target, "/.mambaboot")) {
			errno = EIO;
			return -1;
		}
	}
	return (int)syscall(SYS_fsync, fd);
}

/* Install recipe `name` owning the given files with the given contents. */
static int install_files(struct mb_prefix *p, const char *name, const char *version,
			 const char *const *paths, const char *content, enum fault fault)
{
	struct mb_txn *t;
	struct mb_err err;
	struct mb_owned owned = { 0 };
	struct mb_state_recipe rec = { 0 };
	struct mb_state_recipe *old = mb_state_find(&p->state, name);
	const char *stage;
	size_t i;
	int rc;

	if ((rc = mb_txn_begin(&t, p, false, &err)) < 0)
		return rc;
	stage = mb_txn_stage_dir(t, name, &err);
	for (i = 0; paths[i]; i++) {
		char *f = path_join(stage, paths[i]);
		write_text(f, content);
		free(f);
		mb_owned_add(&owned, paths[i], MB_OWNED_FILE, NULL, (int64_t)strlen(content), 0644);
	}
	if (old && (rc = mb_txn_unlink_recipe(t, old, &err)) < 0)
		goto fail;
	if (fault == CRASH_MIDWAY) {
		struct mb_owned half = owned;
		half.n = owned.n / 2;
		mb_txn_place(t, stage, &half, &err);
		_exit(9);
	}
	if ((rc = mb_txn_place(t, stage, &owned, &err)) < 0)
		goto fail;
	rec.name = xstrdup(name);
	rec.version = xstrdup(version);
	rec.kind = xstrdup("conda");
	rec.files = owned;
	mb_txn_set_recipe(t, &rec);
	if (fault == LISTS_BLOCKED) {
		char *files = path_join(p->dir, "files");
		assert_int_equal(remove_tree(files, NULL), 0);
		write_text(files, "not a directory");
		free(files);
	}
	fail_state_dir_sync = fault == STATE_DIR_SYNC;
	rc = mb_txn_commit(t, &err);
	fail_state_dir_sync = false;
	return rc;
fail:
	mb_owned_free(&owned);
	mb_txn_abort(t);
	return rc;
}

static void reopen(struct mb_prefix *p, const char *path)
{
	struct mb_err err;
	mb_prefix_close(p);
	assert_int_equal(mb_prefix_open(p, path, false, 5, NULL, &err), 0);
}

static const char *const v1_files[] = { "bin/tool", "lib/libx.so", "share/doc/x.txt", NULL };
static const char *const v2_files[] = { "bin/tool", "lib/libx.so.2", NULL };

static void test_commit_installs_and_records(void **state)
{
	char *dir = tmp_prefix();
	struct mb_prefix p;
	struct mb_err err;
	(void)state;

	assert_int_equal(mb_prefix_open(&p, dir, true, 5, NULL, &err), 0);
	assert_int_equal(install_files(&p, "x", "1.0", v1_files, "one", NO_FAULT), 0);
	reopen(&p, dir);
	assert_non_null(mb_state_find(&p.state, "x"));
	assert_text(dir, "bin/tool", "one");
	assert_false(exists(dir, ".mambaboot/journal"));
	mb_prefix_close(&p);
	remove_tree(dir, NULL);
	free(dir);
}

static void test_upgrade_replaces_and_drops_old_files(void **state)
{
	char *dir = tmp_prefix();
	struct mb_prefix p;
	struct mb_err err;
	(void)state;

	assert_int_equal(mb_prefix_open(&p, dir, true, 5, NULL, &err), 0);
	assert_int_equal(install_files(&p, "x", "1.0", v1_files, "one", NO_FAULT), 0);
	reopen(&p, dir);
	assert_int_equal(install_files(&p, "x", "2.0", v2_files, "two", NO_FAULT), 0);
	reopen(&p, dir);
	assert_string_equal(mb_state_find(&p.state, "x")->version, "2.0");
	assert_text(dir, "bin/tool", "two");
	assert_false(exists(dir, "lib/libx.so"));
	assert_false(exists(dir, "share/doc"));   /* emptied directory pruned */
	mb_prefix_close(&p);
	remove_tree(dir, NULL);
	free(dir);
}

/* The file lists are written and synced at commit, before state.json
 * names them: when they cannot be, the commit fails and the install is
 * undone. */
static void test_commit_writes_file_lists(void **state)
{
	char *dir = tmp_prefix();
	struct mb_prefix p;
	struct mb_err err;
	(void)state;

	assert_int_equal(mb_prefix_open(&p, dir, true, 5, NULL, &err), 0);
	assert_int_equal(install_files(&p, "x", "1.0", v1_files, "one", LISTS_BLOCKED), -MB_EFAIL);
	reopen(&p, dir);
	assert_null(mb_state_find(&p.state, "x"));
	assert_false(exists(dir, "bin/tool"));
	assert_false(exists(dir, ".mambaboot/journal"));
	mb_prefix_close(&p);
	remove_tree(dir, NULL);
	free(dir);
}

/* A commit whose state.json is in place when a later step fails (the
 * directory's fsync) is not undone: the prefix matches the state that
 * names it.  Undoing it left the new state over the old files. */
static void test_state_in_place_is_not_rolled_back(void **state)
{
	char *dir = tmp_prefix();
	struct mb_prefix p;
	struct mb_err err;
	(void)state;

	assert_int_equal(mb_prefix_open(&p, dir, true, 5, NULL, &err), 0);
	assert_int_equal(install_files(&p, "x", "1.0", v1_files, "one", STATE_DIR_SYNC), -MB_EFAIL);
	reopen(&p, dir);
	assert_non_null(mb_state_find(&p.state, "x"));
	assert_text(dir, "bin/tool", "one");
	assert_int_equal(mb_prefix_load_files(&p, mb_state_find(&p.state, "x"), &err), 0);
	assert_false(exists(dir, ".mambaboot/journal"));
	mb_prefix_close(&p);
	remove_tree(dir, NULL);
	free(dir);
}

static void test_unowned_path_refused_and_rolled_back(void **state)
{
	char *dir = tmp_prefix(), *user = path_join(dir, "lib/libx.so");
	struct mb_prefix p;
	struct mb_err err;
	(void)state;

	write_text(user, "mine");
	assert_int_equal(mb_prefix_open(&p, dir, true, 5, NULL, &err), 0);
	assert_int_equal(install_files(&p, "x", "1.0", v1_files, "one", NO_FAULT), -MB_EINPUT);
	assert_text(dir, "lib/libx.so", "mine");
	assert_false(exists(dir, "bin/tool"));
	assert_false(exists(dir, "bin"));
	reopen(&p, dir);
	assert_null(mb_state_find(&p.state, "x"));
	mb_prefix_close(&p);
	remove_tree(dir, NULL);
	free(user);
	free(dir);
}

static void test_crash_is_rolled_back_on_next_open(void **state)
{
	char *dir = tmp_prefix();
	struct mb_prefix p;
	struct mb_err err;
	pid_t pid;
	int status;
	(void)state;

	assert_int_equal(mb_prefix_open(&p, dir, true, 5, NULL, &err), 0);
	assert_int_equal(install_files(&p, "x", "1.0", v1_files, "one", NO_FAULT), 0);
	mb_prefix_close(&p);
	pid = fork();
	if (pid == 0) {
		struct mb_prefix c;
		if (mb_prefix_open(&c, dir, false, 5, NULL, &err) == 0)
			install_files(&c, "x", "2.0", v2_files, "two", CRASH_MIDWAY);
		_exit(1);
	}
	waitpid(pid, &status, 0);
	assert_true(exists(dir, ".mambaboot/journal"));
	assert_int_equal(mb_prefix_open(&p, dir, false, 5, NULL, &err), 0);
	assert_string_equal(mb_state_find(&p.state, "x")->version, "1.0");
	assert_text(dir, "bin/tool", "one");
	assert_text(dir, "share/doc/x.txt", "one");
	assert_false(exists(dir, "lib/libx.so.2"));
	assert_false(exists(dir, ".mambaboot/journal"));
	mb_prefix_close(&p);
	remove_tree(dir, NULL);
	free(dir);
}

static void test_lock_timeout_names_holder(void **state)
{
	char *dir = tmp_prefix();
	struct mb_prefix p, q;
	struct mb_err err;
	int fds[2];
	pid_t pid;
	char c;
	(void)state;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		if (mb_prefix_open(&q, dir, true, 5, NULL, &err) == 0 && write(fds[1], "x", 1) == 1)
			sleep(3);
		_exit(0);
	}
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(mb_prefix_open(&p, dir, true, 0.2, NULL, &err), -MB_ELOCK);
	assert_non_null(strstr(err.msg, "pid"));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(mb_prefix_open(&p, dir, true, 1, NULL, &err), 0);
	mb_prefix_close(&p);
	remove_tree(dir, NULL);
	free(dir);
}

/* A build writes into the prefix itself, between begin/end_direct. */
static int direct_install(struct mb_prefix *p, bool fail_after, bool crash_inside)
{
	struct mb_state_recipe rec = { 0 };
	struct mb_owned added = { 0 };
	struct mb_txn *t;
	struct mb_err err;
	char *f;
	int rc;

	if ((rc = mb_txn_begin(&t, p, false, &err)) < 0 || (rc = mb_txn_begin_direct(t, &err)) < 0)
		return rc;
	f = path_join(p->path, "lib/built/mod.so");
	write_text(f, "built");
	free(f);
	if (crash_inside)
		_exit(9);
	if ((rc = mb_txn_end_direct(t, &added, &err)) < 0 || fail_after) {
		mb_owned_free(&added);
		mb_txn_abort(t);
		return rc < 0 ? rc : -MB_EBUILD;
	}
	rec.name = xstrdup("built");
	rec.version = xstrdup("1.0");
	rec.kind = xstrdup("source");
	rec.files = added;
	mb_txn_set_recipe(t, &rec);
	return mb_txn_commit(t, &err);
}

static void test_direct_write_is_owned(void **state)
{
	char *dir = tmp_prefix();
	struct mb_prefix p;
	struct mb_err err;
	struct mb_state_recipe *r;
	(void)state;

	assert_int_equal(mb_prefix_open(&p, dir, true, 5, NULL, &err), 0);
	assert_int_equal(install_files(&p, "x", "1.0", v1_files, "one", NO_FAULT), 0);
	reopen(&p, dir);
	assert_int_equal(direct_install(&p, false, false), 0);
	reopen(&p, dir);
	r = mb_state_find(&p.state, "built");
	assert_non_null(r);
	assert_int_equal(mb_prefix_load_files(&p, r, &err), 0);
	assert_int_equal(r->files.n, 1);
	assert_string_equal(r->files.v[0].path, "lib/built/mod.so");
	mb_prefix_close(&p);
	remove_tree(dir, NULL);
	free(dir);
}

static void test_failed_direct_write_is_removed(void **state)
{
	char *dir = tmp_prefix();
	struct mb_prefix p;
	struct mb_err err;
	pid_t pid;
	(void)state;

	assert_int_equal(mb_prefix_open(&p, dir, true, 5, NULL, &err), 0);
	assert_int_equal(install_files(&p, "x", "1.0", v1_files, "one", NO_FAULT), 0);
	reopen(&p, dir);
	assert_int_equal(direct_install(&p, true, false), -MB_EBUILD);
	assert_false(exists(dir, "lib/built"));
	assert_true(exists(dir, "lib/libx.so"));
	mb_prefix_close(&p);
	pid = fork();
	if (pid == 0) {
		struct mb_prefix c;
		if (mb_prefix_open(&c, dir, false, 5, NULL, &err) == 0)
			direct_install(&c, false, true);
		_exit(1);
	}
	waitpid(pid, NULL, 0);
	assert_true(exists(dir, "lib/built/mod.so"));
	assert_int_equal(mb_prefix_open(&p, dir, false, 5, NULL, &err), 0);
	assert_false(exists(dir, "lib/built"));
	assert_true(exists(dir, "lib/libx.so"));
	assert_null(mb_state_find(&p.state, "built"));
	mb_prefix_close(&p);
	remove_tree(dir, NULL);
	free(dir);
}

/* The file list is written by hand, not through jansson values: names that
 * need escaping must come back as they went in, and one that is not UTF-8
 * is refused rather than recorded wrongly. */
static void test_file_list_round_trip(void **state)
{
	static const char *names[] = {
		"lib/plain.py", "lib/quo\"te", "lib/back\\slash", "lib/tab\there",
		"lib/caf\xc3\xa9.txt", "lib/\xe6\x97\xa5\xe6\x9c\xac/n.py", "lib/ctl\x01x",
	};
	struct mb_owned in = { 0 }, out = { 0 }, other = { 0 };
	const struct mb_owned *lists[] = { &other, &in };
	struct mb_files_at at[2];
	struct mb_err err;
	char *dir = tmp_prefix(), *path = path_join(dir, "files.json");
	size_t i;
	(void)state;

	mb_owned_add(&other, "lib/first.py", MB_OWNED_FILE, NULL, 1, 0644); /* `in` is not at 0 */
	for (i = 0; i < sizeof names / sizeof *names; i++)
		mb_owned_add(&in, names[i], i % 2 ? MB_OWNED_FILE : MB_OWNED_LINK,
			     i % 2 ? "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" : NULL,
			     (int64_t)i * 1000000007LL, (mode_t)(0644 | (i % 2) * 0111));
	assert_int_equal(mb_files_write_all(path, lists, 2, at, true, &err), 0);
	assert_int_equal(mb_files_read_at(path, &at[1], &out, &err), 0);
	assert_int_equal(out.n, in.n);
	for (i = 0; i < in.n; i++) {
		assert_string_equal(out.v[i].path, in.v[i].path);
		assert_int_equal(out.v[i].type, in.v[i].type);
		assert_string_equal(out.v[i].sha256, in.v[i].sha256);
		assert_int_equal(out.v[i].size, in.v[i].size);
		assert_int_equal(out.v[i].mode, in.v[i].mode);
	}
	mb_owned_free(&out);
	mb_owned_add(&in, "lib/bad\xff", MB_OWNED_FILE, NULL, 1, 0644);
	assert_true(mb_files_write_all(path, lists, 2, at, true, &err) < 0);
	assert_int_equal(mb_files_read_at(path, &at[1], &out, &err), 0); /* the old list is intact */
	assert_int_equal(out.n, in.n - 1);
	mb_owned_free(&out);
	mb_owned_free(&other);
	mb_owned_free(&in);
	remove_tree(dir, NULL);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_installs_and_records),
		cmocka_unit_test(test_upgrade_replaces_and_drops_old_files),
		cmocka_unit_test(test_commit_writes_file_lists),
		cmocka_unit_test(test_state_in_place_is_not_rolled_back),
		cmocka_unit_test(test_unowned_path_refused_and_rolled_back),
		cmocka_unit_test(test_crash_is_rolled_back_on_next_open),
		cmocka_unit_test(test_lock_timeout_names_holder),
		cmocka_unit_test(test_direct_write_is_owned),
		cmocka_unit_test(test_failed_direct_write_is_removed),
		cmocka_unit_test(test_file_list_round_trip),
	};
	return cmocka_run_group_tests_name("prefix", tests, NULL, NULL);
}
