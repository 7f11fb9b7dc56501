/* `install`: bring a prefix to the plan of its requested targets, in one
 * transaction (SPEC.md sections 1 and 5). */
#ifndef MB_INSTALL_H
#define MB_INSTALL_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "event.h"
#include "recipe.h"

struct mb_install_opts {
	const char *prefix;
	const char *cache_dir;     /* NULL: the default cache */
	const char *const *mirrors;
	size_t n_mirrors;
	const char *cacert;
	bool offline, dry_run, force, strict, compile, allow_unpinned, skip_checks;
	bool no_build;             /* a source build missing from the build cache is an error */
	int jobs;
	double lock_timeout;       /* seconds; <0: wait */
	const char *compat;        /* doctor's rules; NULL: no host checks */
	const char *cuda_arch;     /* --cuda-arch, or NULL (cudaarch.h) */
	const struct mb_events *ev;
};

enum mb_action { MB_ACT_KEEP, MB_ACT_INSTALL, MB_ACT_UPGRADE, MB_ACT_REMOVE };

struct mb_install_item {
	char *name, *from, *to;    /* versions; NULL where none */
	enum mb_action action;
};

struct mb_install_report {
	char *prefix;
	struct mb_install_item *items;
	size_t n, cap;
	bool nothing_to_do;
	size_t build_cache_hits;   /* source recipes installed from the build cache */
	size_t builds;             /* source recipes to compile */
};

int mb_install(const struct mb_recipe_set *set, char *const *targets, size_t n_targets,
	       const struct mb_install_opts *o, struct mb_install_report *rep,
	       struct mb_err *err);
void mb_install_report_free(struct mb_install_report *rep);

const char *mb_action_name(enum mb_action a);

#endif
