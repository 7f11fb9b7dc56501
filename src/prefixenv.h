/* The environment programs of a prefix run in: one definition for source
 * builds, `mambaboot run` and PREFIX/bin/activate (issue #16).
 *
 *   PATH         PREFIX/bin, the directories of the externals the plan
 *                detected (gcc, nvcc, python), CUDA_HOME/bin, then the base
 *   CONDA_PREFIX PREFIX (conda's activate.d scripts read it)
 *   CUDA_HOME    when a CUDA toolkit is known
 *   PYTHONPATH   the prefix's site-packages, when the python is the host's
 *                (external): what was installed is importable
 *
 * and PREFIX/etc/conda/activate.d/NAME.sh sourced, by /bin/sh with the script
 * paths and the command as arguments: nothing is interpolated into the
 * shell's text. */
#ifndef MB_PREFIXENV_H
#define MB_PREFIXENV_H

#include <stddef.h>

#include "err.h"

struct mb_prefix_env {
	const char *prefix;
	const char *tool_path;     /* ':'-joined directories, or NULL */
	const char *cuda_home;     /* or NULL */
	const char *site_packages; /* ':'-joined, or NULL (python not external) */
};

/* An environment being built: "KEY=VALUE" strings, NULL-terminated. */
struct mb_envv {
	char **v;
	size_t n, cap;
};

void mb_envv_set(struct mb_envv *e, const char *key, const char *value);
const char *mb_envv_get(const struct mb_envv *e, const char *key);
/* Start from environ (the caller's environment). */
void mb_envv_from_environ(struct mb_envv *e);
void mb_envv_free(struct mb_envv *e);

/* Set the prefix's variables in e.  base_path and base_pythonpath are what
 * PATH and PYTHONPATH continue with (NULL: nothing). */
void mb_prefix_env_apply(const struct mb_prefix_env *pe, const char *base_path,
			 const char *base_pythonpath, struct mb_envv *e);

/* The prefix's site-packages directories (lib/python*\/site-packages),
 * ':'-joined, when its python is not its own (no bin/python); else NULL. */
char *mb_prefix_site_packages(const char *prefix);

/* argv that runs `line` (a shell line) with /bin/sh after sourcing every
 * PREFIX/etc/conda/activate.d/NAME.sh; `args` (may be NULL) become "$@" of
 * the line, $0 is `name`.  Free with mb_activation_argv_free. */
char **mb_activation_argv(const char *prefix, const char *line, const char *name,
			  char *const *args);
void mb_activation_argv_free(char **argv);

/* The text of PREFIX/bin/activate: `. PREFIX/bin/activate` sets what
 * mb_prefix_env_apply sets and sources activate.d; `deactivate` restores
 * the variables as they were. */
char *mb_activate_script(const struct mb_prefix_env *pe);


#endif
