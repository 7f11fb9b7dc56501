/* Transactions on a prefix: staged files renamed into place, every move
 * journaled first, so that an interrupted transaction can be undone.
 *
 * Journal lines ("OP PATH\n", PATH relative to the prefix):
 *   B  PATH moved from the prefix into backup/TXN/PATH
 *   P  PATH moved from staging into the prefix
 *   D  directory PATH created in the prefix
 *   M  directory PATH (new to the prefix) moved whole from staging into it
 *   R  directory PATH removed from the prefix
 * Each line is written (write(2), no buffering) before its operation, so
 * after a crash the journal holds at least every operation that happened;
 * undoing an operation that did not happen is harmless. */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "fsutil.h"
#include "prefix.h"
#include "util.h"

struct mb_txn {
	struct mb_prefix *p;
	char id[40];
	char *staging, *backup, *journal;
	int journal_fd;
	bool force;
	char **stage_dirs;
	size_t n_stages, cap_stages;
	struct mb_state_recipe *set;   /* recipes installed or upgraded */
	size_t n_set, cap_set;
	char **dropped;                /* recipes removed */
	size_t n_dropped, cap_dropped;
	struct mb_requested *requested; /* NULL: keep the current set */
	size_t n_requested;
	char *tool_path;               /* set_tool_path's, if has_tool_path */
	bool has_tool_path;
	char *snapshot;                /* of a direct write in progress */
	size_t n_snapshots;
};

static int journal_write(struct mb_txn *t, char op, const char *path, struct mb_err *err)
{
	char *line = xasprintf("%c %s\n", op, path);
	int rc = 0;

	if (write_all(t->journal_fd, line, strlen(line)) < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot write the journal of %s", t->p->path);
	free(line);
	return rc;
}

int mb_txn_begin(struct mb_txn **out, struct mb_prefix *p, bool force, struct mb_err *err)
{
	struct mb_txn *t = xcalloc(1, sizeof *t);
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(t->id, sizeof t->id, "%lld-%ld", (long long)ts.tv_sec, (long)getpid());
	t->p = p;
	t->force = force;
	t->staging = xasprintf("%s/staging/%s", p->dir, t->id);
	t->backup = xasprintf("%s/backup/%s", p->dir, t->id);
	t->journal = path_join(p->dir, "journal");
	if ((rc = mkdir_p(t->staging, 0755, err)) < 0 || (rc = mkdir_p(t->backup, 0755, err)) < 0)
		goto fail;
	t->journal_fd = open(t->journal, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (t->journal_fd < 0) {
		rc = mb_errno(err, MB_EFAIL, errno, "cannot create %s", t->journal);
		goto fail;
	}
	if ((rc = journal_write(t, 'T', t->id, err)) < 0)
		goto fail;
	*out = t;
	return 0;
fail:
	*out = t;
	mb_txn_abort(t);
	*out = NULL;
	return rc;
}

const char *mb_txn_stage_dir(struct mb_txn *t, const char *name, struct mb_err *err)
{
	char *norm = name_normalize(name);
	char *dir = xasprintf("%s/%zu-%s", t->staging, t->n_stages, norm);

	free(norm);
	if (mkdir_p(dir, 0755, err) < 0) {
		free(dir);
		return NULL;
	}
	*VEC_PUSH(t->stage_dirs, t->n_stages, t->cap_stages) = dir;
	return dir;
}

/* ---- moving files ---- */

static char *in_prefix(const struct mb_txn *t, const char *rel)
{
	return path_join(t->p->path, rel);
}

static bool inside(const char *real, const char *root)
{
	size_t n = strlen(root);
	return strncmp(real, root, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

/* A directory component that is a symlink (lib64 -> lib) is followed only
 * when it leads to a directory inside the prefix. */
static int check_dir_link(const struct mb_txn *t, const char *full, struct mb_err *err)
{
	char real[PATH_MAX];
	struct stat st;

	if (!realpath(full, real) || stat(real, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    !inside(real, t->p->path))
		return mb_errf(err, MB_EINTEGRITY,
			       "%s is a symlink that does not lead to a directory inside the prefix",
			       full);
	return 0;
}

/* While placing: the deepest directory of the prefix known to be there
 * (and checked), so that the files of one directory cost no lstat of
 * their parents. */
static bool known_covers(const char *known, const char *rel, size_t len)
{
	return known && strncmp(known, rel, len) == 0 && (known[len] == '\0' || known[len] == '/');
}

/* Check rel's parents in the prefix, top down.  *missing gets the length
 * of the first that does not exist (0 if all do); a symlinked one must
 * lead to a directory inside the prefix. */
static int check_parents(struct mb_txn *t, char **known, const char *rel, size_t *missing,
			 struct mb_err *err)
{
	const char *s;
	int rc = 0;

	*missing = 0;
	for (s = strchr(rel, '/'); rc == 0 && s; s = strchr(s + 1, '/')) {
		size_t len = (size_t)(s - rel);
		struct stat st;
		char *full;

		if (known_covers(*known, rel, len))
			continue;
		full = xasprintf("%s/%.*s", t->p->path, (int)len, rel);
		if (lstat(full, &st) < 0)
			rc = errno == ENOENT ? (*missing = len, 0)
					     : mb_errno(err, MB_EFAIL, errno, "cannot stat %s", full);
		else if (S_ISLNK(st.st_mode))
			rc = check_dir_link(t, full, err);
		else if (!S_ISDIR(st.st_mode))
			rc = mb_errf(err, MB_EINPUT,
				     "cannot install %s: %s is a file, not a directory", rel, full);
		free(full);
		if (*missing)
			break;
		if (rc == 0) {
			free(*known);
			*known = xstrndup(rel, len);
		}
	}
	return rc;
}

/* Move prefix/rel into backup/TXN/rel, journaled. */
static int back_up(struct mb_txn *t, const char *rel, struct mb_err *err)
{
	char *from = in_prefix(t, rel), *to = path_join(t->backup, rel);
	int rc = mkdir_parents(to, err);

	if (rc == 0)
		rc = journal_write(t, 'B', rel, err);
	if (rc == 0 && rename(from, to) < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot move %s aside", from);
	free(from);
	free(to);
	return rc;
}

static int place_one(struct mb_txn *t, const char *stage_dir, const char *rel,
		     struct mb_err *err)
{
	char *src = path_join(stage_dir, rel), *dst = in_prefix(t, rel);
	struct stat st;
	int rc = 0;

	if (lstat(dst, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			rc = mb_errf(err, MB_EINPUT, "cannot install %s: a directory is in the way", dst);
		else if (!t->force)
			rc = mb_errf(err, MB_EINPUT,
				     "%s exists and no installed recipe owns it (--force replaces it)",
				     dst);
		else
			rc = back_up(t, rel, err);
	}
	if (rc == 0)
		rc = journal_write(t, 'P', rel, err);
	if (rc == 0 && rename(src, dst) < 0)
		rc = mb_errno(err, MB_EFAIL, errno,
			      "cannot move %s into the prefix", rel);
	free(src);
	free(dst);
	return rc;
}

/* A directory the prefix does not have moves in whole, with one rename. */
static int place_dir(struct mb_txn *t, const char *stage_dir, const char *dir,
		     struct mb_err *err)
{
	char *src = path_join(stage_dir, dir), *dst = in_prefix(t, dir);
	int rc = journal_write(t, 'M', dir, err);

	if (rc == 0 && rename(src, dst) < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot move %s into the prefix", dir);
	free(src);
	free(dst);
	return rc;
}

int mb_txn_place(struct mb_txn *t, const char *stage_dir, const struct mb_owned *files,
		 struct mb_err *err)
{
	char **paths = xcalloc(files->n + 1, sizeof *paths), *known = NULL, *moved = NULL;
	size_t i, n = 0, missing;
	int rc = 0;

	for (i = 0; i < files->n; i++)
		if (files->v[i].type != MB_OWNED_DIR)
			paths[n++] = files->v[i].path;
	qsort(paths, n, sizeof *paths, strptr_cmp);
	for (i = 0; rc == 0 && i < n; i++) {
		if (path_below(paths[i], moved))
			continue;
		if (mb_interrupted(t->p->ev))
			rc = mb_errf(err, MB_EFAIL, "interrupted");
		else if ((rc = check_parents(t, &known, paths[i], &missing, err)) < 0)
			break;
		else if (missing) {
			free(moved);
			moved = xstrndup(paths[i], missing);
			rc = place_dir(t, stage_dir, moved, err);
		} else {
			rc = place_one(t, stage_dir, paths[i], err);
		}
	}
	free(known);
	free(moved);
	free(paths);
	return rc;
}

static int cmp_depth_desc(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
	int r = (la < lb) - (la > lb);
	return r ? r : strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove the directories left empty by a recipe's files, deepest first. */
static int prune_dirs(struct mb_txn *t, const struct mb_owned *files, struct mb_err *err)
{
	char **dirs = NULL;
	size_t n = 0, cap = 0, i;
	int rc = 0;

	for (i = 0; i < files->n; i++) {
		char *d = xstrdup(files->v[i].path), *s;
		while ((s = strrchr(d, '/')) != NULL) {
			*s = '\0';
			*VEC_PUSH(dirs, n, cap) = xstrdup(d);
		}
		free(d);
	}
	if (n)
		qsort(dirs, n, sizeof *dirs, cmp_depth_desc);
	for (i = 0; i < n; i++) {
		char *full;
		if (rc < 0 || (i > 0 && strcmp(dirs[i], dirs[i - 1]) == 0) ||
		    strcmp(dirs[i], ".mambaboot") == 0)
			continue;
		full = in_prefix(t, dirs[i]);
		if (access(full, F_OK) == 0 && (rc = journal_write(t, 'R', dirs[i], err)) == 0)
			(void)rmdir(full); /* not empty: another recipe's files are there */
		free(full);
	}
	for (i = 0; i < n; i++)
		free(dirs[i]);
	free(dirs);
	return rc;
}

int mb_txn_unlink_recipe(struct mb_txn *t, const struct mb_state_recipe *r,
			 struct mb_err *err)
{
	struct mb_state_recipe *rec = mb_state_find(&t->p->state, r->name);
	size_t i;
	int rc;

	if (!rec)
		return 0;
	if ((rc = mb_prefix_load_files(t->p, rec, err)) < 0)
		return rc;
	for (i = 0; i < rec->files.n; i++) {
		struct stat st;
		char *full = in_prefix(t, rec->files.v[i].path);
		bool present = lstat(full, &st) == 0 && !S_ISDIR(st.st_mode);

		free(full);
		if (present && (rc = back_up(t, rec->files.v[i].path, err)) < 0)
			return rc;
	}
	return prune_dirs(t, &rec->files, err);
}

/* ---- the next state ---- */

/* The recipe's file list is written at commit, with the others. */
void mb_txn_set_recipe(struct mb_txn *t, struct mb_state_recipe *rec)
{
	struct mb_state_recipe *slot = VEC_PUSH(t->set, t->n_set, t->cap_set);

	*slot = *rec;
	slot->files_loaded = true;
	memset(rec, 0, sizeof *rec);
}

void mb_txn_drop_recipe(struct mb_txn *t, const char *name)
{
	*VEC_PUSH(t->dropped, t->n_dropped, t->cap_dropped) = xstrdup(name);
}

void mb_txn_set_tool_path(struct mb_txn *t, const char *tool_path)
{
	free(t->tool_path);
	t->tool_path = tool_path ? xstrdup(tool_path) : NULL;
	t->has_tool_path = true;
}

void mb_txn_set_requested(struct mb_txn *t, struct mb_requested *req, size_t n)
{
	t->requested = req;
	t->n_requested = n;
}

static bool is_dropped(const struct mb_txn *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n_dropped; i++)
		if (name_equal(t->dropped[i], name))
			return true;
	for (i = 0; i < t->n_set; i++)
		if (name_equal(t->set[i].name, name))
			return true;
	return false;
}

/* The state to commit, as shallow copies of current and new records. */
static void next_state(const struct mb_txn *t, struct mb_state *out)
{
	const struct mb_state *cur = &t->p->state;
	size_t i;

	memset(out, 0, sizeof *out);
	out->txn = (char *)t->id;
	out->tool_path = t->has_tool_path ? t->tool_path : cur->tool_path;
	out->requested = t->requested ? t->requested : cur->requested;
	out->n_requested = t->requested ? t->n_requested : cur->n_requested;
	out->recipes = xcalloc(cur->n_recipes + t->n_set + 1, sizeof *out->recipes);
	for (i = 0; i < cur->n_recipes; i++)
		if (!is_dropped(t, cur->recipes[i].name))
			out->recipes[out->n_recipes++] = cur->recipes[i];
	for (i = 0; i < t->n_set; i++)
		out->recipes[out->n_recipes++] = t->set[i];
}

static void txn_free(struct mb_txn *t)
{
	size_t i;

	if (t->journal_fd > 0)
		close(t->journal_fd);
	for (i = 0; i < t->n_set; i++)
		mb_state_recipe_free(&t->set[i]);
	for (i = 0; i < t->n_dropped; i++)
		free(t->dropped[i]);
	for (i = 0; i < t->n_stages; i++)
		free(t->stage_dirs[i]);
	free(t->stage_dirs);
	free(t->set);
	free(t->dropped);
	free(t->staging);
	free(t->snapshot);
	free(t->tool_path);
	free(t->backup);
	free(t->journal);
	free(t);
}

/* A transaction's staging: the conda packages' shared tree and one per
 * other recipe, emptied of their files by mb_txn_place but not of the
 * directories the prefix already had, each removed on a thread of its own
 * (remove_trees: rmdir can wait on the disk). */
static void remove_staging(const char *staging)
{
	DIR *d = opendir(staging);
	struct dirent *de;
	char **trees = NULL;
	size_t n = 0, cap = 0;

	while (d && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			*VEC_PUSH(trees, n, cap) = path_join(staging, de->d_name);
	if (d)
		closedir(d);
	remove_trees(trees, n);
	while (n > 0)
		free(trees[--n]);
	free(trees);
	remove_tree(staging, NULL);
}

/* Once state.json names the transaction: drop the leftovers. */
static void finish(const struct mb_prefix *p, const char *id)
{
	char *staging = xasprintf("%s/staging/%s", p->dir, id);
	char *backup = xasprintf("%s/backup/%s", p->dir, id);
	char *journal = path_join(p->dir, "journal");

	remove_staging(staging);
	remove_tree(backup, NULL);
	unlink(journal);
	free(staging);
	free(backup);
	free(journal);
}

static void drop_lists(const struct mb_prefix *p, const struct mb_state *s);

/* A dot name: older mambaboots' clean-up keeps dot files, where it would
 * delete a name that no reference spells whole (they read no offsets). */
static char *lists_path(const struct mb_txn *t)
{
	return xasprintf("%s/files/.%s.lists", t->p->dir, t->id);
}

/* The file lists of the recipes set, in one file (one new inode and one
 * fsync, where a file each cost 200 of both for 200 conda packages: on
 * ext4 without a journal ~2 ms an fsync, and each new inode a search of
 * the inode bitmap), made durable with its directory before state.json
 * names it. */
static int write_file_lists(struct mb_txn *t, struct mb_err *err)
{
	const struct mb_owned **lists = xcalloc(t->n_set + 1, sizeof *lists);
	struct mb_files_at *at = xcalloc(t->n_set + 1, sizeof *at);
	char *path = lists_path(t), *dir = path_join(t->p->dir, "files");
	size_t i;
	int rc = 0;

	for (i = 0; i < t->n_set; i++)
		lists[i] = &t->set[i].files;
	if (t->n_set && (rc = mkdir_p(dir, 0755, err)) == 0) /* synced with its directory */
		rc = mb_files_write_all(path, lists, t->n_set, at, true, err);
	for (i = 0; rc == 0 && i < t->n_set; i++) {
		free(t->set[i].files_ref);
		t->set[i].files_ref = xasprintf(".%s.lists:%zu:%zu", t->id, at[i].offset, at[i].length);
	}
	free(lists);
	free(at);
	free(path);
	free(dir);
	return rc;
}

/* Does state.json on disk name transaction t?  After a failed write it
 * may: the rename happened and a later step (its directory's sync) did not. */
static bool state_names(const struct mb_txn *t, const char *path)
{
	struct mb_state s;
	bool named = mb_state_read(path, &s, NULL) == 0 && s.txn && !strcmp(s.txn, t->id);

	mb_state_free(&s);
	return named;
}

int mb_txn_commit(struct mb_txn *t, struct mb_err *err)
{
	struct mb_state next;
	char *path = path_join(t->p->dir, "state.json");
	bool committed = false;
	int rc;

	memset(&next, 0, sizeof next);
	if ((rc = write_file_lists(t, err)) == 0 && fsync(t->journal_fd) < 0)
		rc = mb_errno(err, MB_EFAIL, errno, "cannot sync the journal");
	if (rc == 0) {
		next_state(t, &next); /* shallow copies: after files_ref is set */
		rc = mb_state_write(path, &next, err);
		committed = rc == 0 || state_names(t, path);
	}
	if (committed)
		drop_lists(t->p, &next);
	free(next.recipes);
	free(path);
	if (!committed) {
		mb_txn_abort(t);
		return rc;
	}
	finish(t->p, t->id); /* the prefix matches the state that names it, synced or not */
	txn_free(t);
	return rc < 0 ? mb_err_wrap(err, "the new state is in place but may not be on disk yet") : 0;
}

/* ---- undoing ---- */

static void remove_added(const struct mb_prefix *p, const char *snapshot_rel);

static void undo_line(const struct mb_prefix *p, const char *backup, char op, const char *rel)
{
	char *full = path_join(p->path, rel), *saved;
	struct stat st;

	switch (op) {
	case 'P':
		if (lstat(full, &st) == 0 && !S_ISDIR(st.st_mode))
			unlink(full);
		break;
	case 'B':
		saved = path_join(backup, rel);
		if (lstat(saved, &st) == 0) {
			mkdir_parents(full, NULL);
			rmdir(full); /* an empty directory made in its place */
			rename(saved, full);
		}
		free(saved);
		break;
	case 'D':
		rmdir(full);
		break;
	case 'M':
		remove_tree(full, NULL);
		break;
	case 'R':
		mkdir(full, 0755);
		break;
	case 'S':
		remove_added(p, rel);
		break;
	}
	free(full);
}

/* Undo the journal's operations, last first. */
static void roll_back(const struct mb_prefix *p, char *text, const char *id)
{
	char *backup = xasprintf("%s/backup/%s", p->dir, id);
	char **lines = NULL, *s, *save = NULL;
	size_t n = 0, cap = 0;

	for (s = strtok_r(text, "\n", &save); s; s = strtok_r(NULL, "\n", &save))
		*VEC_PUSH(lines, n, cap) = s;
	while (n-- > 0)
		if (strlen(lines[n]) > 2 && lines[n][1] == ' ' && path_is_contained(lines[n] + 2, NULL))
			undo_line(p, backup, lines[n][0], lines[n] + 2);
	free(lines);
	free(backup);
}

void mb_txn_abort(struct mb_txn *t)
{
	char *text = NULL, *lists;
	size_t len;

	if (t->journal_fd > 0 && read_file(t->journal, 64u << 20, &text, &len, NULL) == 0) {
		roll_back(t->p, text, t->id);
		free(text);
	}
	lists = lists_path(t);
	unlink(lists);
	free(lists);
	finish(t->p, t->id);
	txn_free(t);
}

/* Remove everything under dir. */
static void sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *child = path_join(dir, de->d_name);
		remove_tree(child, NULL);
		free(child);
	}
	closedir(d);
}

static void sweep_sub(const struct mb_prefix *p, const char *sub)
{
	char *dir = path_join(p->dir, sub);
	sweep(dir);
	free(dir);
}

/* Drop file lists that state s does not name: a removed recipe's, or
 * what an aborted run left. */
static void drop_lists(const struct mb_prefix *p, const struct mb_state *s)
{
	char *dir = path_join(p->dir, "files");
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t i;

	while (d && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		bool used = de->d_name[0] == '.' && !strstr(de->d_name, ".lists"); /* ., .., ... */
		for (i = 0; !used && i < s->n_recipes; i++) {
			const char *ref = s->recipes[i].files_ref;
			used = !strncmp(ref, de->d_name, n) && (ref[n] == '\0' || ref[n] == ':');
		}
		if (!used) {
			char *f = path_join(dir, de->d_name);
			unlink(f);
			free(f);
		}
	}
	if (d)
		closedir(d);
	free(dir);
}

void mb_prefix_gc(const struct mb_prefix *p)
{
	drop_lists(p, &p->state);
}

int mb_txn_recover(struct mb_prefix *p, struct mb_err *err)
{
	char *journal = path_join(p->dir, "journal"), *text = NULL, *state_path, id[64] = "";
	struct mb_state st = { 0 };
	size_t len;
	int rc = 0;

	if (access(journal, F_OK) == 0) {
		if ((rc = read_file(journal, 64u << 20, &text, &len, err)) < 0)
			goto out;
		if (sscanf(text, "T %63s", id) != 1 || !path_is_contained(id, NULL))
			id[0] = '\0';
		state_path = path_join(p->dir, "state.json");
		if (access(state_path, F_OK) == 0 && mb_state_read(state_path, &st, err) < 0)
			rc = -MB_EFAIL;
		free(state_path);
		if (rc < 0)
			goto out;
		if (id[0] && !(st.txn && strcmp(st.txn, id) == 0))
			roll_back(p, text, id);
		mb_state_free(&st);
		unlink(journal);
	}
	/* No transaction runs while we hold the lock: anything staged is stale. */
	sweep_sub(p, "staging");
	sweep_sub(p, "backup");
out:
	free(text);
	free(journal);
	return rc;
}

/* ---- direct writes (source builds) ---- */

struct entry {
	char *path;
	char type; /* d, f or l */
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static void entries_free(struct entries *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i].path);
	free(e->v);
	memset(e, 0, sizeof *e);
}

/* Every path under the prefix but .mambaboot/, parents before children. */
static void walk_prefix(const char *root, const char *rel, struct entries *out)
{
	char *dir = *rel ? path_join(root, rel) : xstrdup(root);
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL) {
		struct stat st;
		char *child, *full;
		struct entry *e;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (!*rel && !strcmp(de->d_name, ".mambaboot")))
			continue;
		child = *rel ? path_join(rel, de->d_name) : xstrdup(de->d_name);
		full = path_join(root, child);
		if (lstat(full, &st) == 0 && path_is_contained(child, NULL)) {
			e = VEC_PUSH(out->v, out->n, out->cap);
			e->path = xstrdup(child);
			e->type = S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : 'f';
			if (e->type == 'd')
				walk_prefix(root, child, out);
		}
		free(child);
		free(full);
	}
	if (d)
		closedir(d);
	free(dir);
}

static int write_snapshot(const char *path, const struct entries *e, struct mb_err *err)
{
	struct sbuf b = { 0 };
	size_t i;
	int rc;

	for (i = 0; i < e->n; i++) {
		sbuf_puts(&b, e->v[i].path);
		sbuf_add(&b, "\n", 1);
	}
	rc = write_file_atomic(path, b.s ? b.s : "", b.len, err);
	sbuf_free(&b);
	return rc;
}

/* The snapshot's paths, sorted, for bsearch. */
static char **read_snapshot(const char *path, size_t *n, char **text)
{
	char **v = NULL, *s, *save = NULL;
	size_t cap = 0, len;

	*n = 0;
	if (read_file(path, 1u << 30, text, &len, NULL) < 0)
		return NULL;
	for (s = strtok_r(*text, "\n", &save); s; s = strtok_r(NULL, "\n", &save))
		*VEC_PUSH(v, *n, cap) = s;
	if (*n)
		qsort(v, *n, sizeof *v, strptr_cmp);
	return v;
}

static bool in_snapshot(char **v, size_t n, const char *path)
{
	return n && bsearch(&path, v, n, sizeof *v, strptr_cmp) != NULL;
}

/* Paths present now that the snapshot does not list. */
static void added_since(const struct mb_prefix *p, const char *snapshot, struct entries *out)
{
	struct entries now = { 0 };
	char *text = NULL, **v;
	size_t n, i;

	v = read_snapshot(snapshot, &n, &text);
	walk_prefix(p->path, "", &now);
	for (i = 0; i < now.n; i++) {
		if (v && in_snapshot(v, n, now.v[i].path)) {
			free(now.v[i].path);
			continue;
		}
		*VEC_PUSH(out->v, out->n, out->cap) = now.v[i];
	}
	free(now.v);
	free(v);
	free(text);
}

static void remove_added(const struct mb_prefix *p, const char *snapshot_rel)
{
	char *snapshot = path_join(p->dir, snapshot_rel);
	struct entries added = { 0 };
	size_t i;

	if (access(snapshot, F_OK) == 0)
		added_since(p, snapshot, &added);
	i = added.n;
	while (i-- > 0) { /* children before their parents */
		char *full = path_join(p->path, added.v[i].path);
		if (added.v[i].type == 'd')
			rmdir(full);
		else
			unlink(full);
		free(full);
	}
	entries_free(&added);
	free(snapshot);
}

int mb_txn_begin_direct(struct mb_txn *t, struct mb_err *err)
{
	struct entries now = { 0 };
	char *rel;
	int rc;

	rel = xasprintf("staging/%s/snapshot-%zu", t->id, ++t->n_snapshots);
	free(t->snapshot);
	t->snapshot = path_join(t->p->dir, rel);
	walk_prefix(t->p->path, "", &now);
	rc = write_snapshot(t->snapshot, &now, err);
	entries_free(&now);
	if (rc == 0)
		rc = journal_write(t, 'S', rel, err);
	free(rel);
	return rc;
}

static int own_added(struct mb_txn *t, const struct entry *e, struct mb_owned *added,
		     struct mb_err *err)
{
	char *full = path_join(t->p->path, e->path), hex[MB_SHA256_HEX] = "", target[PATH_MAX];
	struct stat st;
	ssize_t n;
	int rc = 0;

	if (lstat(full, &st) < 0) {
		free(full);
		return 0;
	}
	if (e->type == 'l') {
		n = readlink(full, target, sizeof target);
		rc = n < 0 ? mb_errno(err, MB_EFAIL, errno, "cannot read link %s", full)
			   : mb_sha256_buf(target, (size_t)n, hex, err);
	} else {
		rc = mb_sha256_file(full, hex, err);
	}
	if (rc == 0)
		mb_owned_add(added, e->path, e->type == 'l' ? MB_OWNED_LINK : MB_OWNED_FILE, hex,
			     st.st_size, st.st_mode & 07777);
	free(full);
	return rc;
}

int mb_txn_end_direct(struct mb_txn *t, struct mb_owned *added, struct mb_err *err)
{
	struct entries fresh = { 0 };
	size_t i;
	int rc = 0;

	if (!t->snapshot)
		return mb_errf(err, MB_EFAIL, "internal: no direct write in progress");
	added_since(t->p, t->snapshot, &fresh);
	for (i = 0; rc == 0 && i < fresh.n; i++)
		if (fresh.v[i].type == 'd')
			rc = journal_write(t, 'D', fresh.v[i].path, err);
	for (i = 0; rc == 0 && i < fresh.n; i++)
		if (fresh.v[i].type != 'd' && (rc = journal_write(t, 'P', fresh.v[i].path, err)) == 0)
			rc = own_added(t, &fresh.v[i], added, err);
	entries_free(&fresh);
	return rc;
}
