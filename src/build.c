/* Source builds: the archive is verified (sha256 by the fetcher, tree_sha256
 * here), unpacked into a build directory, patched, and built by the recipe's
 * script lines in a clean environment. */
#define _XOPEN_SOURCE 700

#include "build.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "buildcache.h"
#include "buildkey.h"
#include "prefixenv.h"
#include "wheel.h"
#include "digest.h"
#include "doctor.h"
#include "fsutil.h"
#include "prefix.h"
#include "spawn.h"
#include "util.h"

#define TAIL_LINES 20

/* Variables the caller's environment may pass into a build. */
static const char *const passed_through[] = {
	"HOME", "USER", "LOGNAME", "TMPDIR", "TERM", "LANG", "LC_ALL", NULL,
};

/* ---- the environment ---- */

struct vars {
	const char *prefix, *src_dir, *jobs, *python, *cuda_home, *wheel_dir;
};

/* ${PREFIX} ${SRC_DIR} ${JOBS} ${PYTHON} ${CUDA_HOME} ${WHEEL_DIR}, expanded
 * here: nothing from a recipe is ever handed to a shell's eval. */
static char *expand(const char *value, const struct vars *v)
{
	static const char *const names[] = { "PREFIX", "SRC_DIR", "JOBS", "PYTHON", "CUDA_HOME",
					     "WHEEL_DIR" };
	const char *vals[] = { v->prefix, v->src_dir, v->jobs, v->python, v->cuda_home,
			       v->wheel_dir };
	struct sbuf b = { 0 };
	const char *p = value;
	size_t i;

	while (*p) {
		bool done = false;
		for (i = 0; !done && p[0] == '$' && p[1] == '{' && i < 6; i++) {
			size_t n = strlen(names[i]);
			if (strncmp(p + 2, names[i], n) == 0 && p[2 + n] == '}') {
				sbuf_puts(&b, vals[i] ? vals[i] : "");
				p += n + 3;
				done = true;
			}
		}
		if (!done)
			sbuf_add(&b, p++, 1);
	}
	return sbuf_steal(&b);
}

/* What makes two builds of one input give the same bytes: the same clock
 * for archives and __DATE__ (recipe, else a fixed one), zone and locale;
 * umask 022 is set by each step's shell (run_line). */
static void reproducible_env(struct mb_envv *e, const struct mb_recipe *r)
{
	char epoch[32];

	snprintf(epoch, sizeof epoch, "%lld", (long long)mb_build_epoch(r));
	mb_envv_set(e, "SOURCE_DATE_EPOCH", epoch);
	mb_envv_set(e, "TZ", "UTC");
	mb_envv_set(e, "LC_ALL", "C");
	mb_envv_set(e, "PYTHONHASHSEED", "0");
}

/* The prefix's environment (prefixenv.h, as `mambaboot run` has it) over
 * a clean base, then the build's own variables and the recipe's. */
static void build_env(struct mb_envv *e, const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
		      const struct vars *v)
{
	char *site = ctx->python_external && ctx->python_xy
		? xasprintf("%s/lib/python%s/site-packages", ctx->prefix, ctx->python_xy) : NULL;
	struct mb_prefix_env pe = { ctx->prefix, ctx->tool_path, v->cuda_home, site };
	size_t i;

	for (i = 0; passed_through[i]; i++)
		if (getenv(passed_through[i]))
			mb_envv_set(e, passed_through[i], getenv(passed_through[i]));
	/* The host's python was probed with the caller's PYTHONPATH and user
	 * site (a torch may live there): the build sees the same.  The prefix's
	 * own python sees only the prefix. */
	mb_prefix_env_apply(&pe, "/usr/local/bin:/usr/bin:/bin",
			    ctx->python_external ? getenv("PYTHONPATH") : NULL, e);
	mb_envv_set(e, "PREFIX", ctx->prefix);
	mb_envv_set(e, "SRC_DIR", v->src_dir);
	mb_envv_set(e, "WHEEL_DIR", v->wheel_dir);
	mb_envv_set(e, "JOBS", v->jobs);
	mb_envv_set(e, "MAX_JOBS", v->jobs);
	mb_envv_set(e, "PYTHON", v->python ? v->python : "python3");
	if (ctx->cuda_arch && mb_recipe_depends_on(r, "cuda"))
		mb_envv_set(e, "TORCH_CUDA_ARCH_LIST", ctx->cuda_arch);
	if (!ctx->python_external) /* a user's ~/.local must not leak into it */
		mb_envv_set(e, "PYTHONNOUSERSITE", "1");
	else if (getenv("LD_LIBRARY_PATH")) /* the libraries the probed torch loaded */
		mb_envv_set(e, "LD_LIBRARY_PATH", getenv("LD_LIBRARY_PATH"));
	mb_envv_set(e, "PIP_DISABLE_PIP_VERSION_CHECK", "1");
	reproducible_env(e, r);
	for (i = 0; i < r->n_env; i++) {
		char *val = expand(r->env[i].value, v);
		mb_envv_set(e, r->env[i].key, val);
		free(val);
	}
	free(site);
}

/* ---- logging ---- */

struct log {
	int fd;
	const char *name;
	const struct mb_events *ev;
	struct sbuf line;
};

static void log_sink(void *ctx, const char *buf, size_t n)
{
	struct log *l = ctx;
	size_t i;

	if (write_all(l->fd, buf, n) < 0)
		(void)0; /* a full disk shows up in the build itself */
	for (i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			sbuf_add(&l->line, &buf[i], 1);
			continue;
		}
		struct mb_event ev = { .type = MB_EV_BUILD_LINE, .name = l->name,
				       .msg = l->line.s ? l->line.s : "" };
		mb_emit(l->ev, &ev);
		l->line.len = 0;
		if (l->line.s)
			l->line.s[0] = '\0';
	}
}

static void log_note(struct log *l, const char *fmt, const char *arg)
{
	char *s = xasprintf(fmt, arg);
	log_sink(l, s, strlen(s));
	free(s);
}

/* The last lines of the log, for the failure report. */
static void emit_tail(const char *path, const char *name, const struct mb_events *ev)
{
	char *text = NULL, *start;
	size_t len, lines = 0;

	if (read_file(path, 64u << 20, &text, &len, NULL) < 0)
		return;
	start = text + len;
	while (start > text && lines <= TAIL_LINES)
		if (*--start == '\n' && start + 1 < text + len)
			lines++;
	if (lines > TAIL_LINES)
		start++;
	struct mb_event e = { .type = MB_EV_BUILD_TAIL, .name = name, .msg = start };
	mb_emit(ev, &e);
	free(text);
}

/* ---- patches ---- */

static int patch_failure(const struct mb_patch *p, const char *out, struct mb_err *err)
{
	const char *fail = strstr(out, "FAILED"), *file = NULL, *s;
	char hunk[160] = "", where[160] = "";

	for (s = out; fail && (s = strstr(s, "checking file ")) && s < fail; s++)
		file = s + 14;
	if (fail) {
		const char *bol = fail;
		while (bol > out && bol[-1] != '\n')
			bol--;
		snprintf(hunk, sizeof hunk, "%.*s", (int)strcspn(bol, "\n"), bol);
	}
	if (file)
		snprintf(where, sizeof where, " to %.*s", (int)strcspn(file, "\n"), file);
	return mb_errf(err, MB_EBUILD, "patch %s does not apply%s: %s", p->path, where,
		       hunk[0] ? hunk : "see patch(1) output with -v");
}

static int apply_patch(const char *patches_dir, const struct mb_patch *p, const char *src,
		       struct log *log, struct mb_err *err)
{
	char *file = path_join(patches_dir, p->path), hex[MB_SHA256_HEX];
	char *argv[] = { "patch", "-p1", "--forward", "--batch", "--no-backup-if-mismatch",
			 "--dry-run", "-d", (char *)src, "-i", file, NULL };
	struct sbuf out = { 0 };
	int rc, status = 0;

	rc = mb_sha256_file(file, hex, err);
	if (rc == 0 && strcmp(hex, p->sha256) != 0)
		rc = mb_errf(err, MB_EINTEGRITY, "patch %s: sha256 is %s, the recipe pins %s",
			     p->path, hex, p->sha256);
	if (rc == 0)
		rc = spawn_capture(argv, NULL, NULL, &out, 1 << 16, 60, &status, err);
	if (rc == 0 && status != 0)
		rc = patch_failure(p, out.s ? out.s : "", err);
	if (rc == 0) {
		argv[5] = "--silent"; /* the same command, for real this time */
		out.len = 0;
		rc = spawn_capture(argv, NULL, NULL, &out, 1 << 16, 60, &status, err);
		if (rc == 0 && status != 0)
			rc = patch_failure(p, out.s ? out.s : "", err);
	}
	if (rc == 0)
		log_note(log, "mambaboot: applied patch %s\n", p->path);
	sbuf_free(&out);
	free(file);
	return rc;
}

/* ---- running the script ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One script line, after the prefix's activate.d scripts, as `run` does;
 * its wall time goes to the log and to the caller's events. */
static int run_line(const struct mb_stage_ctx *ctx, const char *line, size_t n, char **envp,
		    const char *src, struct log *log, struct mb_err *err)
{
	char *script = xasprintf("umask 022\n%s", line);
	char **argv = mb_activation_argv(ctx->prefix, script, "mambaboot-build", NULL);
	double start = now_s();
	char took[160];
	int rc, status = 0;

	log_note(log, "\nmambaboot: $ %s\n", line);
	rc = spawn_stream(argv, envp, src, log_sink, log, ctx->ev ? ctx->ev->stop : NULL,
			  &status, err);
	if (rc == 0 && status != 0)
		rc = mb_errf(err, MB_EBUILD, "build of %s failed at step %zu (%s): exit %d",
			     log->name, n, line, status);
	snprintf(took, sizeof took, "build step %zu %s in %.1f s", n, rc == 0 ? "done" : "failed",
		 now_s() - start);
	log_note(log, "mambaboot: %s\n", took);
	struct mb_event e = { .type = MB_EV_NOTE, .name = log->name, .msg = took };
	mb_emit(ctx->ev, &e);
	mb_activation_argv_free(argv);
	free(script);
	return rc;
}

/* The first line of text that holds a version ("13.3.0"): nvcc prints
 * three lines before its own. */
static char *version_line(const char *text)
{
	const char *line = text;

	while (line && *line) {
		size_t len = strcspn(line, "\n"), i;
		for (i = 1; i + 1 < len; i++)
			if (line[i] == '.' && isdigit((unsigned char)line[i - 1]) &&
			    isdigit((unsigned char)line[i + 1]))
				return xstrndup(line, len);
		line = line[len] ? line + len + 1 : NULL;
	}
	return xstrdup("(no version printed)");
}

static void log_tool(const char *name, const char *path, struct log *log)
{
	char *found = spawn_which(name, path), *argv[] = { found, "--version", NULL }, *ver;
	struct sbuf out = { 0 };
	int status;

	if (!found) {
		log_note(log, "mambaboot: tool %s: not found\n", name);
		return;
	}
	spawn_capture(argv, NULL, NULL, &out, 1 << 14, 30, &status, NULL);
	ver = version_line(out.s ? out.s : "");
	sbuf_free(&out);
	sbuf_printf(&out, "mambaboot: tool %s: %s: %s\n", name, found, ver);
	log_sink(log, out.s, out.len);
	sbuf_free(&out);
	free(ver);
	free(found);
}

/* The log's first lines: the build's PATH, each external the plan found,
 * and what that PATH finds for the usual tools, with its version. */
static void log_tools(const struct mb_stage_ctx *ctx, const char *path, struct log *log)
{
	static const char *const names[] = { "gcc", "g++", "nvcc", "python3", "ninja", NULL };
	size_t i;

	log_note(log, "mambaboot: build PATH=%s\n", path);
	for (i = 0; i < ctx->n_tools; i++) {
		char *s = xasprintf("mambaboot: external %s %s: %s\n", ctx->tools[i].name,
				    ctx->tools[i].version, ctx->tools[i].path);
		log_sink(log, s, strlen(s));
		free(s);
	}
	for (i = 0; names[i]; i++)
		log_tool(names[i], path, log);
}

/* ---- the build ---- */

static int check_tree(const struct mb_recipe *r, const char *archive, struct mb_err *err)
{
	const struct mb_artifact *a = &r->artifacts[0];
	char hex[MB_SHA256_HEX];
	int rc;

	if (!a->tree_sha256)
		return 0;
	if ((rc = mb_tree_sha256_archive(archive, hex, err)) < 0)
		return rc;
	if (strcmp(hex, a->tree_sha256) != 0)
		return mb_errf(err, MB_EINTEGRITY, "%s: tree_sha256 of %s is %s, the recipe pins %s",
			       r->name, a->filename, hex, a->tree_sha256);
	return 0;
}

static int open_log(const struct mb_stage_ctx *ctx, const struct mb_recipe *r, char **path,
		    struct log *log, struct mb_err *err)
{
	char *norm = name_normalize(r->name);
	int rc;

	*path = xasprintf("%s/.mambaboot/logs/%s.log", ctx->prefix, norm);
	free(norm);
	if ((rc = mkdir_parents(*path, err)) < 0)
		return rc;
	log->fd = open(*path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log->fd < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot create %s", *path);
	log->name = r->name;
	log->ev = ctx->ev;
	return 0;
}

/* nvcc names internal symbols with random numbers and its temporary files
 * with its pid, so two builds of one tree differ in every object
 * (tests/gpu/nvcc-repro.sh).  An nvcc that takes -frandom-seed (13.0 does,
 * 11.8 does not) gets a fixed seed and --objdir-as-tempdir through
 * NVCC_APPEND_FLAGS, which nvcc itself reads: at one build path, two
 * builds then give the same objects.  A build path in other prefixes still
 * differs (nvcc hashes the source's path into the names). */
#define NVCC_REPRO_FLAGS "-frandom-seed=1577836800 --objdir-as-tempdir"

static void nvcc_repro_flags(struct mb_envv *e, const char *path, struct log *log)
{
	char *nvcc = spawn_which("nvcc", path), *argv[] = { nvcc, "--help", NULL };
	struct sbuf out = { 0 };
	int status = -1;

	if (nvcc && spawn_capture(argv, NULL, NULL, &out, 1 << 20, 30, &status, NULL) == 0 &&
	    status == 0 && out.s && strstr(out.s, "-frandom-seed")) {
		const char *old = mb_envv_get(e, "NVCC_APPEND_FLAGS");
		char *v = xasprintf("%s%s" NVCC_REPRO_FLAGS, old ? old : "", old ? " " : "");
		mb_envv_set(e, "NVCC_APPEND_FLAGS", v);
		log_note(log, "mambaboot: NVCC_APPEND_FLAGS=%s\n", v);
		free(v);
	}
	sbuf_free(&out);
	free(nvcc);
}

/* The build's environment, and the log's first lines saying what it
 * holds: the tools its PATH finds and the architectures. */
static void prepare_env(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
			const char *src, const char *wheel_dir, struct mb_envv *env, struct log *log)
{
	char jobs[16];
	struct vars v = { ctx->prefix, src, jobs, ctx->python_exe, ctx->cuda_home, wheel_dir };

	snprintf(jobs, sizeof jobs, "%d", ctx->jobs > 0 ? ctx->jobs : 1);
	build_env(env, ctx, r, &v);
	log_tools(ctx, mb_envv_get(env, "PATH"), log);
	if (mb_recipe_depends_on(r, "cuda"))
		nvcc_repro_flags(env, mb_envv_get(env, "PATH"), log);
	if (mb_envv_get(env, "TORCH_CUDA_ARCH_LIST"))
		log_note(log, "mambaboot: TORCH_CUDA_ARCH_LIST=%s\n",
			 mb_envv_get(env, "TORCH_CUDA_ARCH_LIST"));
}

static int run_script(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
		      const char *src, char **envp, struct log *log, struct mb_err *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < r->n_script; i++) {
		if (mb_interrupted(ctx->ev))
			rc = mb_errf(err, MB_EFAIL, "interrupted");
		else
			rc = run_line(ctx, r->script[i], i + 1, envp, src, log, err);
	}
	return rc;
}

/* One wheel the build left in WHEEL_DIR (or the build cache kept, its
 * sha256 known: NULL to compute it), installed by mambaboot's own
 * installer (staged, then placed through the transaction): its files are
 * owned, verified and removable like a downloaded wheel's. */
static int install_wheel(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
			 const char *wheel, const char *sha256, struct mb_owned *owned,
			 struct mb_err *err)
{
	struct mb_stage_ctx staged = *ctx;
	struct mb_owned files = { 0 };
	char hex[MB_SHA256_HEX];
	size_t i;
	int rc = sha256 ? (memcpy(hex, sha256, sizeof hex), 0) : mb_sha256_file(wheel, hex, err);

	if (rc == 0 && !(staged.root = mb_txn_stage_dir(ctx->txn, r->name, err)))
		rc = -err->code;
	if (rc == 0)
		rc = mb_wheel_install(&staged, wheel, strrchr(wheel, '/') + 1, hex, &files, err);
	if (rc == 0)
		rc = mb_txn_place(ctx->txn, staged.root, &files, err);
	for (i = 0; rc == 0 && i < files.n; i++)
		mb_owned_add(owned, files.v[i].path, files.v[i].type, files.v[i].sha256,
			     files.v[i].size, files.v[i].mode);
	mb_owned_free(&files);
	return rc;
}

struct built_wheels {
	const struct mb_stage_ctx *ctx;
	const struct mb_recipe *r;
	struct mb_owned *owned;
	struct log *log;
	struct mb_err *err;
};

static int install_built_wheel(void *ctx, const char *wheel)
{
	struct built_wheels *w = ctx;
	int rc = install_wheel(w->ctx, w->r, wheel, NULL, w->owned, w->err);

	if (rc == 0)
		log_note(w->log, "mambaboot: installed the built wheel %s\n", wheel);
	return rc;
}

static int install_wheels(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
			  const char *wheel_dir, struct mb_owned *owned, struct log *log,
			  struct mb_err *err)
{
	struct built_wheels w = { ctx, r, owned, log, err };
	char *pattern = path_join(wheel_dir, "*.whl");
	int rc = glob_each(pattern, install_built_wheel, &w);

	free(pattern);
	return rc < 0 ? mb_err_wrap(err, "%s: installing the wheel it built", r->name) : 0;
}

static int unpack_and_patch(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
			    const char *archive, const char *src, struct log *log,
			    struct mb_err *err)
{
	size_t i;
	int rc = mb_archive_extract(archive, src, MB_ARCHIVE_STRIP_TOP, err);

	for (i = 0; rc == 0 && i < r->n_patches; i++)
		rc = apply_patch(ctx->patches_dir, &r->patches[i], src, log, err);
	return rc;
}

/* Keep what the build made under its key; a failure to keep it only
 * costs the next install a build, so it is a note, not an error. */
static void store_output(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
			 const struct mb_owned *direct, const char *wheels, struct log *log)
{
	struct mb_build_output out = { ctx->build_key->hex, ctx->build_key->record, ctx->prefix,
				       direct, wheels, mb_build_epoch(r) };
	struct mb_err err;

	if (mb_buildcache_store(ctx->cache, &out, &err) == 0) {
		log_note(log, "mambaboot: kept as build %s\n", ctx->build_key->hex);
		return;
	}
	log_note(log, "mambaboot: the output is not kept: %s\n", err.msg);
	struct mb_event e = { .type = MB_EV_WARN, .name = r->name, .msg = err.msg };
	mb_emit(ctx->ev, &e);
}

/* In build directory `dir` (src/, wheels/), with the log open: describe
 * the environment, unpack and patch, run the script (journaled), install
 * the wheels it made, and keep them and the files it added in the build
 * cache. */
static int build_steps(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
		       const char *archive, const char *dir, struct mb_owned *owned,
		       struct log *log, struct mb_err *err)
{
	char *src = path_join(dir, "src"), *wheels = path_join(dir, "wheels");
	struct mb_envv env = { 0 };
	size_t first = owned->n, n_direct = 0;
	int rc;

	prepare_env(ctx, r, src, wheels, &env, log);
	if ((rc = unpack_and_patch(ctx, r, archive, src, log, err)) == 0 &&
	    (rc = mb_txn_begin_direct(ctx->txn, err)) == 0 &&
	    (rc = run_script(ctx, r, src, env.v, log, err)) == 0 &&
	    (rc = mb_txn_end_direct(ctx->txn, owned, err)) == 0) {
		n_direct = owned->n - first;
		rc = install_wheels(ctx, r, wheels, owned, log, err);
	}
	if (rc == 0 && ctx->build_key) {
		struct mb_owned direct = { owned->v + first, n_direct, n_direct };
		store_output(ctx, r, &direct, wheels, log);
	}
	mb_envv_free(&env);
	free(wheels);
	free(src);
	return rc;
}

static int build_fresh(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
		       const char *archive, struct mb_owned *owned, struct mb_err *err)
{
	char *norm = name_normalize(r->name);
	char *dir = xasprintf("%s/.mambaboot/build/%s", ctx->prefix, norm);
	char *src = path_join(dir, "src"), *wheels = path_join(dir, "wheels"), *log_path = NULL;
	struct log log = { .fd = -1 };
	int rc;

	free(norm);
	if ((rc = check_tree(r, archive, err)) == 0 && (rc = remove_tree(dir, err)) == 0 &&
	    (rc = mkdir_p(src, 0755, err)) == 0 && (rc = mkdir_p(wheels, 0755, err)) == 0 &&
	    (rc = open_log(ctx, r, &log_path, &log, err)) == 0)
		rc = build_steps(ctx, r, archive, dir, owned, &log, err);
	if (rc == -MB_EBUILD && log_path) {
		size_t n = strlen(err->msg);
		emit_tail(log_path, r->name, ctx->ev);
		snprintf(err->msg + n, sizeof err->msg - n, "; log: %s", log_path);
	}
	if (rc == 0)
		remove_tree(dir, NULL);
	if (log.fd >= 0)
		close(log.fd);
	sbuf_free(&log.line);
	free(log_path);
	free(wheels);
	free(src);
	free(dir);
	return rc;
}

int64_t mb_build_epoch(const struct mb_recipe *r)
{
	return r->source_date_epoch >= 0 ? r->source_date_epoch : MB_DEFAULT_SOURCE_DATE_EPOCH;
}

/* ---- a build from the cache ---- */

/* As the build wrote them, journaled the same way; then relocated when
 * they were built in another prefix. */
static int install_files(const struct mb_stage_ctx *ctx, const char *tar,
			 const struct mb_build_manifest *m, struct mb_owned *owned,
			 struct mb_err *err)
{
	size_t first = owned->n;
	int rc;

	if ((rc = mb_txn_begin_direct(ctx->txn, err)) == 0 &&
	    (rc = mb_archive_extract(tar, ctx->prefix, 0, err)) == 0 &&
	    (rc = mb_txn_end_direct(ctx->txn, owned, err)) == 0)
		rc = mb_buildcache_relocate(m, ctx->prefix, owned->v + first, owned->n - first, err);
	return rc;
}

/* files.tar goes into the prefix as the build wrote it (journaled the
 * same way), the wheels through the wheel installer. */
static int install_entry(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
			 const char *entry, const struct mb_build_manifest *m,
			 struct mb_owned *owned, struct mb_err *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < m->n; i++) {
		char *path = path_join(entry, m->files[i].name);
		if (strcmp(m->files[i].name, MB_BUILD_FILES_TAR) != 0)
			rc = install_wheel(ctx, r, path, m->files[i].sha256, owned, err); /* checked */
		else
			rc = install_files(ctx, path, m, owned, err);
		free(path);
	}
	return rc;
}

static int install_cached(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
			  const char *entry, struct mb_owned *owned, struct mb_err *err)
{
	struct mb_build_manifest m;
	int rc = mb_buildcache_read_manifest(entry, &m, err);

	if (rc == 0) {
		if ((rc = mb_buildcache_check(entry, &m, err)) == 0)
			rc = install_entry(ctx, r, entry, &m, owned, err);
		else if (rc == -MB_EINTEGRITY && ctx->cache &&
			 mb_buildcache_discard(ctx->cache, entry) == 0) {
			size_t n = strlen(err->msg);
			snprintf(err->msg + n, sizeof err->msg - n,
				 "; the damaged build was removed from the cache: run again to build it");
		}
		mb_build_manifest_free(&m);
	}
	if (rc == 0) {
		char *msg = xasprintf("installed from the build cache (%s), nothing compiled",
				      ctx->build_key ? ctx->build_key->hex : entry);
		struct mb_event e = { .type = MB_EV_NOTE, .name = r->name, .msg = msg };
		mb_emit(ctx->ev, &e);
		free(msg);
	}
	return rc < 0 ? mb_err_wrap(err, "%s: the cached build", r->name) : 0;
}

/* Under the key's lock: another process may have built it meanwhile. */
int mb_build_source(const struct mb_stage_ctx *ctx, const struct mb_recipe *r,
		    const char *archive, struct mb_owned *owned, struct mb_err *err)
{
	char *entry;
	int fd = -1, rc;

	if (ctx->build_entry)
		return install_cached(ctx, r, ctx->build_entry, owned, err);
	if (!ctx->build_key || !ctx->cache)
		return build_fresh(ctx, r, archive, owned, err);
	rc = mb_buildcache_lock(ctx->cache, ctx->build_key->hex, r->name, ctx->lock_timeout,
				ctx->ev, &fd, err);
	if (rc < 0)
		return rc;
	entry = mb_buildcache_find(ctx->cache, ctx->build_key->hex, ctx->prefix);
	rc = entry ? install_cached(ctx, r, entry, owned, err)
		   : build_fresh(ctx, r, archive, owned, err);
	free(entry);
	mb_buildcache_unlock(ctx->cache, ctx->build_key->hex, fd);
	return rc;
}
