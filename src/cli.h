/* What every subcommand shares: its options, the recipe set, the plan,
 * and the drawing of events (ui.c). */
#ifndef MB_CLI_H
#define MB_CLI_H

#include <stdbool.h>
#include <signal.h>
#include <stddef.h>

#include "err.h"
#include "event.h"
#include "plan.h"
#include "recipe.h"

/* Options a command accepts (bit flags). */
enum {
	OPT_RECIPES = 1 << 0, OPT_PATCHES = 1 << 1, OPT_CACHE = 1 << 2,
	OPT_PREFIX = 1 << 3, OPT_MIRROR = 1 << 4, OPT_OFFLINE = 1 << 5,
	OPT_JOBS = 1 << 6, OPT_JSON = 1 << 7, OPT_DRY_RUN = 1 << 8,
	OPT_YES = 1 << 9, OPT_UNPINNED = 1 << 10, OPT_CACERT = 1 << 11,
	OPT_STRICT = 1 << 12, OPT_FORCE = 1 << 13, OPT_SKIP_CHECKS = 1 << 14,
	OPT_LOCK_TIMEOUT = 1 << 15, OPT_COMPILE = 1 << 16, OPT_INDEX_URL = 1 << 17,
	OPT_CUDA_ARCH = 1 << 18,
	OPT_ARGS_LAST = 1 << 19, /* options end at the first argument (run: its command's own) */
	OPT_NO_BUILD = 1 << 20, OPT_NO_BUILDS = 1 << 21,
};
#define OPT_COMMON (OPT_JSON)

struct mb_opts {
	const char *recipes, *patches, *cache, *prefix, *cacert, *cuda_arch;
	const char **mirrors;
	size_t n_mirrors, cap_mirrors;
	const char **index_urls;  /* --index-url, in order */
	size_t n_index_urls, cap_index_urls;
	bool offline, json, quiet, verbose, yes, dry_run, allow_unpinned;
	bool strict, force, skip_checks, compile;
	bool no_build;      /* install: never compile; a build-cache miss is an error */
	bool no_builds;     /* mirror create: leave the build cache's outputs out */
	int jobs;           /* 0: the command's default */
	double lock_timeout; /* seconds; <0: wait forever */
	char **args;        /* positional arguments */
	size_t n_args;
};

struct mb_cmd {
	const char *name;
	const char *summary;
	const char *usage;  /* the text of `mambaboot NAME --help` */
	unsigned opts;      /* OPT_* accepted */
	int (*run)(struct mb_opts *opts, struct mb_err *err);
};

/* Parse argv (after the command name).  Returns 1 when --help was shown. */
int cli_parse(const struct mb_cmd *cmd, int argc, char **argv, struct mb_opts *opts,
	      struct mb_err *err);
void cli_opts_free(struct mb_opts *opts);

/* The recipe directory: --recipes, $MAMBABOOT_RECIPES, the installed
 * share/mambaboot/recipes, or recipes/ beside the binary. */
char *cli_recipes_dir(const struct mb_opts *opts);

struct mb_cache;
struct mb_fetch_opts;
/* The fetch options a command's flags give (--mirror, --offline, ...). */
void cli_fetch_opts(const struct mb_opts *opts, struct mb_cache *cache,
		    const struct mb_events *ev, struct mb_fetch_opts *fo);

/* A data file: the installed share/mambaboot/NAME, or the source tree's. */
char *cli_share_file(const char *name);

/* Load the recipe set and plan opts->args. */
int cli_load_plan(const struct mb_opts *opts, struct mb_recipe_set *set,
		  struct mb_plan *plan, struct mb_err *err);
/* The same without DIR/lock.yaml applied (`lock`, which rewrites it). */
int cli_load_plan_unlocked(const struct mb_opts *opts, struct mb_recipe_set *set,
			   struct mb_plan *plan, struct mb_err *err);

/* Event drawing. */
struct ui_bars;
struct ui {
	bool quiet, verbose, json, tty, color;
	struct ui_bars *bars; /* download progress drawn so far (ui.c) */
};
void ui_init(struct ui *ui, const struct mb_opts *opts);

/* Events drawn by ui, with the SIGINT/SIGTERM flag main() installed. */
struct mb_events cli_events(struct ui *ui);
const volatile sig_atomic_t *cli_stop_flag(void);
/* SIGINT and SIGTERM set the stop flag; SIGPIPE is ignored. */
void cli_catch_signals(void);

struct mb_prefix;
/* Open --prefix (required): lock, recover, load.  create: make it. */
int cli_open_prefix(const struct mb_opts *opts, const struct mb_events *ev, bool create,
		    struct mb_prefix *p, struct mb_err *err);
void ui_event(void *ctx, const struct mb_event *ev);
/* Erase the progress bars and free what ui_event kept. */
void ui_done(struct ui *ui);

/* Human-readable byte counts ("1.5 MB"). */
void ui_size(long long bytes, char *out, size_t outlen);

/* Write a JSON value (jansson json_t*) to stdout, indented. */
int cli_print_json(void *json, struct mb_err *err);


#endif
