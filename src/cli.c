#define _XOPEN_SOURCE 700 /* realpath */
#include "cli.h"

#include <getopt.h>
#include <errno.h>
#include <signal.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetch.h"
#include "prefix.h"
#include "util.h"

enum { LONG_ONLY = 256 };

struct optdef {
	const char *name;
	int has_arg;
	int val;          /* short letter or LONG_ONLY + n */
	unsigned flag;    /* OPT_* bit, 0 = every command */
};

static const struct optdef optdefs[] = {
	{ "help", no_argument, 'h', 0 },
	{ "quiet", no_argument, 'q', 0 },
	{ "verbose", no_argument, 'v', 0 },
	{ "json", no_argument, LONG_ONLY + 0, OPT_JSON },
	{ "recipes", required_argument, LONG_ONLY + 1, OPT_RECIPES },
	{ "patches", required_argument, LONG_ONLY + 2, OPT_PATCHES },
	{ "cache", required_argument, LONG_ONLY + 3, OPT_CACHE },
	{ "prefix", required_argument, 'p', OPT_PREFIX },
	{ "mirror", required_argument, LONG_ONLY + 4, OPT_MIRROR },
	{ "offline", no_argument, LONG_ONLY + 5, OPT_OFFLINE },
	{ "jobs", required_argument, 'j', OPT_JOBS },
	{ "dry-run", no_argument, 'n', OPT_DRY_RUN },
	{ "yes", no_argument, 'y', OPT_YES },
	{ "allow-unpinned", no_argument, LONG_ONLY + 6, OPT_UNPINNED },
	{ "cacert", required_argument, LONG_ONLY + 7, OPT_CACERT },
	{ "strict", no_argument, LONG_ONLY + 8, OPT_STRICT },
	{ "force", no_argument, LONG_ONLY + 9, OPT_FORCE },
	{ "skip-checks", no_argument, LONG_ONLY + 10, OPT_SKIP_CHECKS },
	{ "lock-timeout", required_argument, LONG_ONLY + 11, OPT_LOCK_TIMEOUT },
	{ "compile", no_argument, LONG_ONLY + 12, OPT_COMPILE },
	{ "index-url", required_argument, LONG_ONLY + 13, OPT_INDEX_URL },
	{ "cuda-arch", required_argument, LONG_ONLY + 14, OPT_CUDA_ARCH },
	{ "no-build", no_argument, LONG_ONLY + 15, OPT_NO_BUILD },
	{ "no-builds", no_argument, LONG_ONLY + 16, OPT_NO_BUILDS },
};
#define N_OPTDEFS (sizeof optdefs / sizeof optdefs[0])

static int parse_jobs(const char *s, struct mb_opts *o, struct mb_err *err)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (*end || n < 1 || n > 256)
		return mb_errf(err, MB_EINPUT, "--jobs takes a number from 1 to 256, not '%s'", s);
	o->jobs = (int)n;
	return 0;
}

static int parse_seconds(const char *s, struct mb_opts *o, struct mb_err *err)
{
	char *end;
	double d = strtod(s, &end);

	if (*end || d < 0 || d > 1e6)
		return mb_errf(err, MB_EINPUT, "--lock-timeout takes seconds, not '%s'", s);
	o->lock_timeout = d;
	return 0;
}

static int apply(int val, const char *arg, struct mb_opts *o, struct mb_err *err)
{
	switch (val) {
	case 'q': o->quiet = true; return 0;
	case 'v': o->verbose = true; return 0;
	case LONG_ONLY + 0: o->json = true; return 0;
	case LONG_ONLY + 1: o->recipes = arg; return 0;
	case LONG_ONLY + 2: o->patches = arg; return 0;
	case LONG_ONLY + 3: o->cache = arg; return 0;
	case 'p': o->prefix = arg; return 0;
	case LONG_ONLY + 4:
		*VEC_PUSH(o->mirrors, o->n_mirrors, o->cap_mirrors) = arg;
		return 0;
	case LONG_ONLY + 5: o->offline = true; return 0;
	case 'j': return parse_jobs(arg, o, err);
	case 'n': o->dry_run = true; return 0;
	case 'y': o->yes = true; return 0;
	case LONG_ONLY + 6: o->allow_unpinned = true; return 0;
	case LONG_ONLY + 7: o->cacert = arg; return 0;
	case LONG_ONLY + 8: o->strict = true; return 0;
	case LONG_ONLY + 9: o->force = true; return 0;
	case LONG_ONLY + 10: o->skip_checks = true; return 0;
	case LONG_ONLY + 11: return parse_seconds(arg, o, err);
	case LONG_ONLY + 12: o->compile = true; return 0;
	case LONG_ONLY + 13:
		*VEC_PUSH(o->index_urls, o->n_index_urls, o->cap_index_urls) = arg;
		return 0;
	case LONG_ONLY + 14: o->cuda_arch = arg; return 0;
	case LONG_ONLY + 15: o->no_build = true; return 0;
	case LONG_ONLY + 16: o->no_builds = true; return 0;
	}
	return mb_errf(err, MB_EFAIL, "internal: unhandled option %d", val);
}

/* The getopt tables for one command: only the options it accepts. */
static void build_tables(const struct mb_cmd *cmd, struct option *longs, char *shorts)
{
	size_t i, n = 0, s = 0;

	if (cmd->opts & OPT_ARGS_LAST)
		shorts[s++] = '+';
	shorts[s++] = ':'; /* report a missing value as ':' */
	for (i = 0; i < N_OPTDEFS; i++) {
		const struct optdef *d = &optdefs[i];
		if (d->flag && !(cmd->opts & d->flag))
			continue;
		longs[n].name = d->name;
		longs[n].has_arg = d->has_arg;
		longs[n].flag = NULL;
		longs[n].val = d->val;
		n++;
		if (d->val < LONG_ONLY) {
			shorts[s++] = (char)d->val;
			if (d->has_arg)
				shorts[s++] = ':';
		}
	}
	memset(&longs[n], 0, sizeof longs[n]);
	shorts[s] = '\0';
}

static int usage_err(const struct mb_cmd *cmd, struct mb_err *err, const char *what,
		     const char *name)
{
	return mb_errf(err, MB_EINPUT, "%s %s for '%s' (see mambaboot %s --help)", what,
		       name, cmd->name, cmd->name);
}

int cli_parse(const struct mb_cmd *cmd, int argc, char **argv, struct mb_opts *opts,
	      struct mb_err *err)
{
	struct option longs[N_OPTDEFS + 1];
	char shorts[2 * N_OPTDEFS + 3], bad[64];
	int c, rc, i;

	memset(opts, 0, sizeof *opts);
	opts->lock_timeout = -1;
	build_tables(cmd, longs, shorts);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (c == 'h') {
			fputs(cmd->usage, stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			const char *arg = argv[optind - 1];
			if (optopt && optopt < LONG_ONLY)
				snprintf(bad, sizeof bad, "-%c", optopt);
			else
				snprintf(bad, sizeof bad, "%.60s", arg);
			return usage_err(cmd, err, c == ':' ? "missing value of" : "unknown option",
					 bad);
		}
		if ((rc = apply(c, optarg, opts, err)) < 0)
			return rc;
	}
	opts->args = xcalloc((size_t)(argc - optind) + 1, sizeof *opts->args);
	for (i = optind; i < argc; i++)
		opts->args[opts->n_args++] = argv[i];
	return 0;
}

void cli_opts_free(struct mb_opts *opts)
{
	free(opts->mirrors);
	free(opts->index_urls);
	free(opts->args);
}

/* The directory holding the running binary, or NULL. */
static char *exe_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return xstrdup(buf);
}

static bool is_dir(const char *path)
{
	return access(path, X_OK) == 0;
}

char *cli_recipes_dir(const struct mb_opts *opts)
{
	const char *env = getenv("MAMBABOOT_RECIPES");
	char *dir, *cand;

	if (opts->recipes)
		return xstrdup(opts->recipes);
	if (env && *env)
		return xstrdup(env);
	dir = exe_dir();
	if (!dir)
		return xstrdup("recipes");
	cand = path_join(dir, "../share/mambaboot/recipes");
	if (is_dir(cand)) {
		char real[PATH_MAX];
		if (realpath(cand, real)) {
			free(cand);
			cand = xstrdup(real);
		}
	} else {
		free(cand);
		cand = path_join(dir, "recipes");
	}
	free(dir);
	return cand;
}

char *cli_share_file(const char *name)
{
	char *dir = exe_dir(), *cand, *rel;

	if (!dir)
		return path_join("share/mambaboot", name);
	rel = path_join("../share/mambaboot", name);
	cand = path_join(dir, rel);
	free(rel);
	if (access(cand, R_OK) != 0) {
		free(cand);
		rel = path_join("share/mambaboot", name);
		cand = path_join(dir, rel);
		free(rel);
	}
	free(dir);
	return cand;
}

static int load_plan(const struct mb_opts *opts, bool with_lock, struct mb_recipe_set *set,
		     struct mb_plan *plan, struct mb_err *err)
{
	char *dir = cli_recipes_dir(opts);
	int rc = with_lock ? mb_recipe_set_load(set, dir, opts->patches, err)
			   : mb_recipe_set_load_unlocked(set, dir, opts->patches, err);

	free(dir);
	if (rc < 0)
		return rc;
	rc = mb_plan_build(plan, set, opts->args, opts->n_args, err);
	if (rc < 0)
		mb_recipe_set_free(set);
	return rc;
}

int cli_load_plan(const struct mb_opts *opts, struct mb_recipe_set *set,
		  struct mb_plan *plan, struct mb_err *err)
{
	return load_plan(opts, true, set, plan, err);
}

int cli_load_plan_unlocked(const struct mb_opts *opts, struct mb_recipe_set *set,
			   struct mb_plan *plan, struct mb_err *err)
{
	return load_plan(opts, false, set, plan, err);
}

int cli_print_json(void *json, struct mb_err *err)
{
	int rc = json_dumpf((json_t *)json, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (rc < 0 || fputc('\n', stdout) == EOF || fflush(stdout) == EOF)
		return mb_errf(err, MB_EFAIL, "cannot write JSON to standard output");
	return 0;
}

/* The one piece of global state: what a signal handler may touch. */
static volatile sig_atomic_t stop_requested;

const volatile sig_atomic_t *cli_stop_flag(void)
{
	return &stop_requested;
}

static void on_signal(int sig)
{
	static const char msg[] = "\nmambaboot: stopping once the step under way ends "
				  "(again: stop now, and the next run finishes the rollback)\n";
	int saved = errno; /* the interrupted code may be about to read it */
	ssize_t n;

	(void)sig;
	stop_requested = 1;
	n = write(STDERR_FILENO, msg, sizeof msg - 1); /* async-signal-safe */
	(void)n;
	errno = saved;
}

/* SIGINT and SIGTERM ask the running command to stop; it rolls back.  A
 * second one takes the default action (SA_RESETHAND) and ends the process
 * at once: the journal makes the next command finish the rollback, as
 * after a kill -9. */
void cli_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

struct mb_events cli_events(struct ui *ui)
{
	struct mb_events ev = { ui_event, ui, cli_stop_flag() };
	return ev;
}

int cli_open_prefix(const struct mb_opts *opts, const struct mb_events *ev, bool create,
		    struct mb_prefix *p, struct mb_err *err)
{
	if (!opts->prefix)
		return mb_errf(err, MB_EINPUT, "--prefix DIR is required");
	return mb_prefix_open(p, opts->prefix, create, opts->lock_timeout, ev, err);
}

void cli_fetch_opts(const struct mb_opts *opts, struct mb_cache *cache,
		    const struct mb_events *ev, struct mb_fetch_opts *fo)
{
	memset(fo, 0, sizeof *fo);
	fo->cache = cache;
	fo->mirrors = opts->mirrors;
	fo->n_mirrors = opts->n_mirrors;
	fo->offline = opts->offline;
	fo->allow_unpinned = opts->allow_unpinned;
	fo->jobs = opts->jobs;
	fo->cacert = opts->cacert;
	fo->lock_timeout = opts->lock_timeout;
	fo->ev = ev;
}
