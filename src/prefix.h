/* The prefix as a database (SPEC.md section 5).
 *
 *   PREFIX/.mambaboot/state.json      requested targets and installed recipes;
 *                                      replacing it (rename) is the commit point
 *   PREFIX/.mambaboot/files/NAME.TXN.json   the files a recipe owns
 *   PREFIX/.mambaboot/lock             flock()ed while a command works here
 *   PREFIX/.mambaboot/journal          what a transaction did, for rollback
 *   PREFIX/.mambaboot/staging/TXN/     new files, staged on the same file system
 *   PREFIX/.mambaboot/backup/TXN/      old files moved aside until the commit
 *   PREFIX/.mambaboot/logs/            build logs
 *
 * A transaction moves every file with rename(2) and writes a journal line
 * before each move, so that after a crash (even kill -9) the next command
 * undoes it, or finishes it if state.json already names it. */
#ifndef MB_PREFIX_H
#define MB_PREFIX_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "event.h"
#include "stage.h"

struct mb_state_artifact {
	char *filename, *url, *sha256;
};

struct mb_state_recipe {
	char *name, *version, *kind;
	char *recipe_sha256;    /* digest of the recipe file it was installed from */
	char *cuda_arch;        /* a CUDA build's TORCH_CUDA_ARCH_LIST, or NULL */
	char **depends;         /* recipe names */
	size_t n_depends;
	struct mb_state_artifact *artifacts;
	size_t n_artifacts;
	char *files_ref;        /* file name under .mambaboot/files/ */
	struct mb_owned files;  /* loaded on demand (mb_prefix_load_files) */
	bool files_loaded;
	bool removed_elsewhere; /* not saved: a conda package of it another tool
				 * removed (mb_conda_gone), so not in history's "before" */
};

struct mb_requested {
	char *name;             /* a stack or recipe name */
	char **closure;         /* the recipes it needs, itself included */
	size_t n_closure;
};

struct mb_state {
	char *txn;              /* the transaction that wrote this state */
	struct mb_requested *requested;
	size_t n_requested;
	struct mb_state_recipe *recipes;
	size_t n_recipes;
	char *tool_path;        /* the externals' directories, ':'-joined, as the
				   last install found them (mambaboot run); or NULL */
};

struct mb_prefix {
	char *path;             /* absolute, no trailing slash */
	char *dir;              /* path/.mambaboot */
	int lock_fd;
	struct mb_state state;
	const struct mb_events *ev;
};

/* Open PREFIX: take its lock (waiting up to lock_timeout seconds, <0 for
 * ever; MB_ELOCK naming the holder on time-out), finish or roll back an
 * interrupted transaction, and load the state.  `create`: make the prefix
 * if missing; otherwise a missing prefix is MB_EINPUT. */
int mb_prefix_open(struct mb_prefix *p, const char *path, bool create,
		   double lock_timeout, const struct mb_events *ev, struct mb_err *err);
void mb_prefix_close(struct mb_prefix *p);

struct mb_state_recipe *mb_state_find(const struct mb_state *s, const char *name);

/* Files mambaboot itself generates for a prefix (bin/activate) are owned by
 * a record of this kind, named MB_ACTIVATE_OWNER (no recipe can be: ':' is
 * not allowed in a recipe name): verified and journaled like a recipe's,
 * but never planned, listed or removed on its own. */
#define MB_KIND_GENERATED "generated"
#define MB_ACTIVATE_OWNER "mambaboot:activate"
bool mb_state_recipe_generated(const struct mb_state_recipe *r);
int mb_prefix_load_files(const struct mb_prefix *p, struct mb_state_recipe *r,
			 struct mb_err *err);

/* JSON of the state and of a file list (state.c). */
int mb_state_read(const char *path, struct mb_state *s, struct mb_err *err);
int mb_state_write(const char *path, const struct mb_state *s, struct mb_err *err);
int mb_files_read(const char *path, struct mb_owned *files, struct mb_err *err);
/* A transaction's lists in one file (one inode and one fsync for all, not
 * one each), one a line; at[i] gets where lists[i] went.  A recipe's
 * files_ref then reads "FILE:OFFSET:LENGTH". */
struct mb_files_at {
	size_t offset, length;
};
int mb_files_write_all(const char *path, const struct mb_owned *const *lists, size_t n,
		       struct mb_files_at *at, bool sync, struct mb_err *err);
int mb_files_read_at(const char *path, const struct mb_files_at *at, struct mb_owned *files,
		     struct mb_err *err);
/* files_ref's file, and where in it (whole file: length 0).  false: not a
 * name in files/ (a '/', or a malformed position). */
bool mb_files_ref_parse(const char *ref, char **file, struct mb_files_at *at);

void mb_state_recipe_free(struct mb_state_recipe *r);
void mb_state_free(struct mb_state *s);

/* ---- transactions (journal.c) ---- */

struct mb_txn;

/* force: replace paths in the prefix that no recipe owns (backed up). */
int mb_txn_begin(struct mb_txn **t, struct mb_prefix *p, bool force, struct mb_err *err);

/* A fresh staging directory for one recipe's files (under the prefix, so
 * that rename works); owned by the transaction. */
const char *mb_txn_stage_dir(struct mb_txn *t, const char *name, struct mb_err *err);

/* Move every file of an installed recipe aside (for removal or upgrade). */
int mb_txn_unlink_recipe(struct mb_txn *t, const struct mb_state_recipe *r,
			 struct mb_err *err);

/* Move the staged files of `files` from stage_dir into the prefix.  A path
 * that exists and is not being replaced is refused unless `force`. */
int mb_txn_place(struct mb_txn *t, const char *stage_dir, const struct mb_owned *files,
		 struct mb_err *err);

/* A program (a source build) is about to write into the prefix itself:
 * snapshot what is there, so that what it adds can be found and, on
 * failure or after a crash, removed.  end_direct() adds the new paths to
 * `added` (files and links hashed) and journals them. */
int mb_txn_begin_direct(struct mb_txn *t, struct mb_err *err);
int mb_txn_end_direct(struct mb_txn *t, struct mb_owned *added, struct mb_err *err);

/* Record what a recipe will own once committed (takes ownership of *files
 * and of rec's strings); or forget a recipe (removal). */
void mb_txn_set_recipe(struct mb_txn *t, struct mb_state_recipe *rec);
void mb_txn_drop_recipe(struct mb_txn *t, const char *name);
void mb_txn_set_requested(struct mb_txn *t, struct mb_requested *req, size_t n);
/* The state's tool_path from this transaction on (copied). */
void mb_txn_set_tool_path(struct mb_txn *t, const char *tool_path);

/* Write the new state (the commit point) and clean up; or undo it all. */
int mb_txn_commit(struct mb_txn *t, struct mb_err *err);
void mb_txn_abort(struct mb_txn *t);

/* Roll back or finish an interrupted transaction (called by open), and
 * drop file lists no state names (gc, after the state is loaded). */
int mb_txn_recover(struct mb_prefix *p, struct mb_err *err);
void mb_prefix_gc(const struct mb_prefix *p);

#endif
