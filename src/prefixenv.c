/* The environment of a prefix's programs (prefixenv.h). */
#define _XOPEN_SOURCE 700

#include "prefixenv.h"

#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

extern char **environ;

void mb_envv_set(struct mb_envv *e, const char *key, const char *value)
{
	size_t len = strlen(key), i;
	char *kv = xasprintf("%s=%s", key, value);

	for (i = 0; i < e->n; i++) {
		if (strncmp(e->v[i], key, len) == 0 && e->v[i][len] == '=') {
			free(e->v[i]);
			e->v[i] = kv;
			return;
		}
	}
	*VEC_PUSH(e->v, e->n, e->cap) = kv;
	e->v = grow(e->v, &e->cap, e->n + 1, sizeof *e->v);
	e->v[e->n] = NULL;
}

const char *mb_envv_get(const struct mb_envv *e, const char *key)
{
	size_t len = strlen(key), i;

	for (i = 0; i < e->n; i++)
		if (strncmp(e->v[i], key, len) == 0 && e->v[i][len] == '=')
			return e->v[i] + len + 1;
	return NULL;
}

void mb_envv_from_environ(struct mb_envv *e)
{
	char **p;

	for (p = environ; *p; p++) {
		char *eq = strchr(*p, '=');
		if (eq) {
			char *key = xstrndup(*p, (size_t)(eq - *p));
			mb_envv_set(e, key, eq + 1);
			free(key);
		}
	}
}

void mb_envv_free(struct mb_envv *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	memset(e, 0, sizeof *e);
}

/* What PATH starts with: PREFIX/bin, the externals' directories, CUDA's. */
static char *path_head(const struct mb_prefix_env *pe)
{
	struct sbuf b = { 0 };

	sbuf_printf(&b, "%s/bin", pe->prefix);
	if (pe->tool_path && *pe->tool_path)
		sbuf_printf(&b, ":%s", pe->tool_path);
	if (pe->cuda_home)
		sbuf_printf(&b, ":%s/bin", pe->cuda_home);
	return sbuf_steal(&b);
}

static void set_joined(struct mb_envv *e, const char *key, const char *head, const char *base)
{
	char *v = base && *base ? xasprintf("%s:%s", head, base) : xstrdup(head);

	mb_envv_set(e, key, v);
	free(v);
}

void mb_prefix_env_apply(const struct mb_prefix_env *pe, const char *base_path,
			 const char *base_pythonpath, struct mb_envv *e)
{
	char *head = path_head(pe);

	set_joined(e, "PATH", head, base_path);
	mb_envv_set(e, "CONDA_PREFIX", pe->prefix);
	if (pe->cuda_home)
		mb_envv_set(e, "CUDA_HOME", pe->cuda_home);
	if (pe->site_packages)
		set_joined(e, "PYTHONPATH", pe->site_packages, base_pythonpath);
	free(head);
}

static bool is_exe(const char *prefix, const char *rel)
{
	char *p = path_join(prefix, rel);
	bool yes = access(p, X_OK) == 0;

	free(p);
	return yes;
}

char *mb_prefix_site_packages(const char *prefix)
{
	char *pattern;
	struct sbuf b = { 0 };
	glob_t g;
	size_t i;

	if (is_exe(prefix, "bin/python") || is_exe(prefix, "bin/python3"))
		return NULL;
	pattern = xasprintf("%s/lib/python*/site-packages", prefix);
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++)
			sbuf_printf(&b, "%s%s", i ? ":" : "", g.gl_pathv[i]);
		globfree(&g);
	}
	free(pattern);
	return b.len ? sbuf_steal(&b) : (sbuf_free(&b), NULL);
}

/* Sources the N scripts that follow $1 = N, then runs the line with what
 * is left as "$@". */
static const char sourcing_prelude[] =
	"_mb_n=$1; shift; while [ \"$_mb_n\" -gt 0 ]; do . \"$1\" || exit 1; shift; "
	"_mb_n=$((_mb_n - 1)); done; unset _mb_n\n";

char **mb_activation_argv(const char *prefix, const char *line, const char *name,
			  char *const *args)
{
	char *pattern = xasprintf("%s/etc/conda/activate.d/*.sh", prefix);
	size_t n_args = 0, i, k = 0;
	char **argv;
	glob_t g;

	memset(&g, 0, sizeof g);
	if (glob(pattern, 0, NULL, &g) != 0)
		g.gl_pathc = 0;
	while (args && args[n_args])
		n_args++;
	argv = xcalloc(g.gl_pathc + n_args + 6, sizeof *argv);
	argv[k++] = xstrdup("/bin/sh");
	argv[k++] = xstrdup("-c");
	argv[k++] = xasprintf("%s%s", sourcing_prelude, line);
	argv[k++] = xstrdup(name);
	argv[k++] = xasprintf("%zu", g.gl_pathc);
	for (i = 0; i < g.gl_pathc; i++)
		argv[k++] = xstrdup(g.gl_pathv[i]);
	for (i = 0; i < n_args; i++)
		argv[k++] = xstrdup(args[i]);
	if (g.gl_pathc)
		globfree(&g);
	free(pattern);
	return argv;
}

void mb_activation_argv_free(char **argv)
{
	size_t i;

	for (i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* s in single quotes, for a shell to read back as it is. */
static void put_quoted(struct sbuf *b, const char *s)
{
	sbuf_add(b, "'", 1);
	for (; *s; s++) {
		if (*s == '\'')
			sbuf_puts(b, "'\\''");
		else
			sbuf_add(b, s, 1);
	}
	sbuf_add(b, "'", 1);
}

/* Save VAR (and whether it was set), then set it to VALUE[:$VAR]. */
static void put_var(struct sbuf *b, const char *var, const char *value, bool append)
{
	sbuf_printf(b, "_MB_HAD_%s=${%s+x}; _MB_OLD_%s=${%s-}\n%s=", var, var, var, var, var);
	put_quoted(b, value);
	if (append)
		sbuf_printf(b, "${%s:+:$%s}", var, var);
	sbuf_printf(b, "; export %s\n", var);
}

static void put_restore(struct sbuf *b, const char *var)
{
	sbuf_printf(b, "    if [ -n \"${_MB_HAD_%s-}\" ]; then %s=$_MB_OLD_%s; export %s; else unset %s; fi\n"
		    "    unset _MB_HAD_%s _MB_OLD_%s\n", var, var, var, var, var, var, var);
}

/* The first line of every bin/activate mambaboot writes. */
#define ACTIVATE_MARK "# Written by mambaboot install."

char *mb_activate_script(const struct mb_prefix_env *pe)
{
	static const char *const vars[] = { "PATH", "CONDA_PREFIX", "CUDA_HOME", "PYTHONPATH" };
	const char *vals[] = { NULL, pe->prefix, pe->cuda_home, pe->site_packages };
	char *head = path_head(pe);
	struct sbuf b = { 0 };
	size_t i;

	vals[0] = head;
	sbuf_puts(&b, ACTIVATE_MARK "  In sh, bash or zsh: `. THIS_FILE`;\n"
		      "# `deactivate` puts PATH, CONDA_PREFIX, CUDA_HOME and PYTHONPATH back.\n"
		      "if [ -n \"${_MB_ACTIVE-}\" ]; then deactivate; fi\n_MB_ACTIVE=1\n");
	for (i = 0; i < 4; i++)
		if (vals[i])
			put_var(&b, vars[i], vals[i], i == 0 || i == 3);
	sbuf_puts(&b, "for _mb_f in ");
	put_quoted(&b, pe->prefix);
	sbuf_puts(&b, "/etc/conda/activate.d/*.sh; do if [ -f \"$_mb_f\" ]; then . \"$_mb_f\"; fi; done; unset _mb_f\n"
		      "deactivate() {\n");
	for (i = 0; i < 4; i++)
		if (vals[i])
			put_restore(&b, vars[i]);
	sbuf_puts(&b, "    unset _MB_ACTIVE; unset -f deactivate\n    hash -r 2>/dev/null || true\n}\n"
		      "hash -r 2>/dev/null || true\n");
	free(head);
	return sbuf_steal(&b);
}
