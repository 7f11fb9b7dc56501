/* mambaboot run: a command in the prefix's environment (prefixenv.h), as
 * `micromamba run` and `pixi run` do. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "commands.h"
#include "doctor.h"
#include "prefix.h"
#include "prefixenv.h"
#include "spawn.h"
#include "util.h"

/* The prefix, resolved, and its state (for the externals' directories
 * the install found: PATH gets them as bin/activate and builds do). */
static int read_prefix(const char *prefix, char *real, struct mb_state *st, struct mb_err *err)
{
	char *db;
	int rc;

	if (!realpath(prefix, real))
		return mb_errf(err, MB_EINPUT, "prefix %s does not exist", prefix);
	db = path_join(real, ".mambaboot/state.json");
	rc = access(db, R_OK) == 0 ? mb_state_read(db, st, err)
				   : mb_errf(err, MB_EINPUT,
					     "%s is not a mambaboot prefix (no .mambaboot/state.json)", real);
	free(db);
	return rc;
}

static int run(struct mb_opts *opts, struct mb_err *err)
{
	char real[PATH_MAX], *site, *cuda, **argv;
	struct mb_envv env = { 0 };
	struct mb_state st = { 0 };
	int rc;

	if (!opts->prefix)
		return mb_errf(err, MB_EINPUT, "--prefix DIR is required");
	if (opts->n_args == 0)
		return mb_errf(err, MB_EINPUT, "nothing to run: mambaboot run --prefix DIR -- COMMAND [ARGS...]");
	if ((rc = read_prefix(opts->prefix, real, &st, err)) < 0)
		return rc;
	site = mb_prefix_site_packages(real);
	cuda = mb_find_cuda_home();
	struct mb_prefix_env pe = { real, st.tool_path, cuda, site };
	mb_envv_from_environ(&env);
	mb_prefix_env_apply(&pe, getenv("PATH"), getenv("PYTHONPATH"), &env);
	argv = mb_activation_argv(real, "exec \"$@\"", "mambaboot-run", opts->args);
	fflush(NULL);
	rc = spawn_exec(argv, env.v, err); /* returns only when exec failed */
	mb_activation_argv_free(argv);
	mb_envv_free(&env);
	mb_state_free(&st);
	free(site);
	free(cuda);
	return rc;
}

const struct mb_cmd cmd_run = {
	.name = "run",
	.summary = "run a command in a prefix's environment",
	.usage =
	"usage: mambaboot run --prefix DIR -- COMMAND [ARGS...]\n"
	"\n"
	"Run COMMAND with DIR/bin first on PATH, then the directories of the host\n"
	"tools the last install found (external recipes: gcc, nvcc, python), as\n"
	"bin/activate and builds have them, CONDA_PREFIX=DIR, CUDA_HOME set\n"
	"(as install finds it: $CUDA_HOME, else nvcc's, else /usr/local/cuda), the\n"
	"prefix's site-packages on PYTHONPATH when its python is the host's, and\n"
	"DIR/etc/conda/activate.d/*.sh sourced first.  The exit status is\n"
	"COMMAND's.  Options end at COMMAND ('--' before it is accepted too).\n"
	"For an interactive shell: . DIR/bin/activate (deactivate undoes it).\n"
	"\n"
	"Options:\n"
	"  -p, --prefix DIR   the prefix\n",
	.opts = OPT_PREFIX | OPT_ARGS_LAST,
	.run = run,
};
