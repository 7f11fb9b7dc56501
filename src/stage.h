/* The contract between the install stages (conda, wheel, build) and the
 * prefix transaction.
 *
 * A stage writes a recipe's files under `root` (a staging directory on the
 * prefix's filesystem, or the prefix itself) as if `root` were the prefix,
 * while every byte that names the prefix (relocation, shebangs, wrappers)
 * uses `prefix`, the final location.  It reports each file it wrote in an
 * mb_owned list; the transaction moves them into place and records them. */
#ifndef MB_STAGE_H
#define MB_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "event.h"
#include "fsutil.h"

struct mb_build_key;
struct mb_cache;
struct mb_txn;
struct mb_wtree_made;

/* A host program an external recipe found (for the build log). */
struct mb_tool {
	const char *name, *path, *version;
};

struct mb_stage_ctx {
	const char *prefix;     /* final prefix: absolute, no trailing slash */
	const char *root;       /* where to write; equal to prefix or a staging dir */
	const char *python_xy;  /* "3.10": the plan's python, or NULL if none */
	const char *python_exe; /* absolute path of the prefix's python, or NULL */
	struct mb_cache *cache; /* for unpacked cache entries; may be NULL */
	const struct mb_events *ev;
	int jobs;
	bool strict;            /* wheel RECORD mismatch is an error */
	bool compile;           /* install --compile: byte-compile wheels (mb_stage_compile) */
	/* For source builds, which write into the prefix itself: */
	struct mb_txn *txn;     /* journals what the build adds */
	const char *patches_dir;
	const char *cuda_home;  /* NULL if none was found */
	const char *cuda_arch;  /* TORCH_CUDA_ARCH_LIST for builds that depend on cuda, or NULL */
	const char *tool_path;  /* the externals' directories, ':'-joined, or NULL */
	const struct mb_tool *tools; /* the externals found, in plan order */
	size_t n_tools;
	bool python_external;   /* the plan's python is the host's */
	/* The build cache (buildcache.h): the recipe's key, or NULL for no
	 * caching; the entry found for it before fetching, or NULL. */
	const struct mb_build_key *build_key;
	const char *build_entry;
	double lock_timeout;    /* waiting for another build of the key; <0: for ever */
	/* What asked for the recipe being staged (mb_plan_constraint): "" for
	 * nothing but its name; conda records say it in requested_spec. */
	const char *constraint;
	/* Conda packages: how the next one starts linking, shared by the
	 * transaction's packages (linked one after another): hard links, once
	 * one package found that the file system makes no reflinks, so that the
	 * others skip the probe (a file made and removed each).  NULL: each
	 * package probes. */
	enum mb_link_mode *link_start;
	/* Conda packages: where to note each directory made under root (so
	 * that a package's staging can be taken back), or NULL. */
	struct mb_wtree_made *made_dirs;
};

enum mb_owned_type { MB_OWNED_FILE = 'f', MB_OWNED_LINK = 'l', MB_OWNED_DIR = 'd' };

struct mb_owned_file {
	char *path;            /* relative to the prefix, no leading "./" */
	enum mb_owned_type type;
	char sha256[65];       /* content (file) or link target (link); "" for dirs */
	int64_t size;
	mode_t mode;
};

struct mb_owned {
	struct mb_owned_file *v;
	size_t n, cap;
};

/* Adds a record; path is copied.  sha256 may be NULL. */
struct mb_owned_file *mb_owned_add(struct mb_owned *o, const char *path,
				   enum mb_owned_type type, const char *sha256,
				   int64_t size, mode_t mode);
/* n more records at the end, the first returned: for threads that fill
 * disjoint ones with mb_owned_set, which takes `path` (malloc'd) rather
 * than copying it.  They are not initialised: set every one, or cut the
 * list back (o->n) before it is used or freed. */
struct mb_owned_file *mb_owned_extend(struct mb_owned *o, size_t n);
void mb_owned_set(struct mb_owned_file *f, char *path, enum mb_owned_type type,
		  const char *sha256, int64_t size, mode_t mode);
void mb_owned_free(struct mb_owned *o);

/* The first line(s) of a script run by `python`: `#!python` when it fits in
 * the kernel's 127 bytes and has no space, else the /bin/sh trick that pip
 * and conda use. */
char *mb_python_shebang(const char *python);

#endif
