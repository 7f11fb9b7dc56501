/* Writing (or reading) many files under one root through directory file
 * descriptors.
 *
 * Every directory is opened with O_NOFOLLOW from the root down, and every
 * file is created with O_EXCL|O_NOFOLLOW in its directory, so that nothing
 * reached through a wtree can lie outside its root, whatever symlinks the
 * tree holds: the kernel checks it, not a string compare.  The chain of
 * open directories is kept between calls, so that the files of one
 * directory cost one system call each (an archive, a RECORD and a manifest
 * list files directory by directory), where a path-based write pays a
 * lookup, and a safe one an lstat, per component. */
#ifndef MB_WTREE_H
#define MB_WTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* The directories a tree made, relative to its root, parents first. */
struct mb_wtree_made {
	char **v;
	size_t n, cap;
};

struct mb_wtree {
	int root;            /* the root directory */
	struct mb_wtree_made *made; /* NULL, or where to note each directory made */
	bool create;         /* make missing directories (0755) */
	const char *what;    /* the root, for messages */
	char *dir;           /* the directory the chain leads to, relative; "" = root */
	size_t dir_len, dir_cap;
	int *fds;            /* fds[i]: the directory of the first i+1 components */
	size_t depth, cap;
};

int mb_wtree_open(struct mb_wtree *t, const char *root, bool create, struct mb_err *err);
void mb_wtree_close(struct mb_wtree *t);

/* The directory holding `rel` (a contained relative path: path_is_contained),
 * reached or made as needed; the fd is the tree's, valid until the next
 * call.  *base gets rel's last component. */
int mb_wtree_parent(struct mb_wtree *t, const char *rel, const char **base, struct mb_err *err);

/* Make the directory rel (and its parents); an existing directory is fine. */
int mb_wtree_mkdir(struct mb_wtree *t, const char *rel, struct mb_err *err);

/* Create the file rel for writing: it must not exist.  Returns the fd. */
int mb_wtree_create(struct mb_wtree *t, const char *rel, mode_t mode, struct mb_err *err);

#endif
