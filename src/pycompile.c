/* Byte-compiling a wheel's .py files with the prefix's python: one run of
 * python per call, told what to compile through a list file (no argv
 * limit, no shell), telling back what it wrote through another. */
#include "pycompile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "fsutil.h"
#include "spawn.h"
#include "util.h"

#define OUTPUT_MAX (64 * 1024)
#define DONE_MAX (256 * 1024 * 1024)

/* argv: LIST PREFIX OUT DONE.  LIST and DONE hold NUL-terminated paths
 * relative to PREFIX and OUT.  What pip's --compile does per file
 * (compileall.compile_file: py_compile, default invalidation mode, failures
 * skipped, warnings silenced), but with cfile under OUT and the source read
 * from its final place, so dfile is the installed path. */
static const char script[] =
	"import importlib.util, os, py_compile, sys, warnings\n"
	"warnings.filterwarnings('ignore')\n"
	"names, prefix, out, done = sys.argv[1:5]\n"
	"with open(names, 'rb') as f:\n"
	"    rels = [os.fsdecode(p) for p in f.read().split(b'\\0') if p]\n"
	"written = []\n"
	"for rel in rels:\n"
	"    src = os.path.join(prefix, rel)\n"
	"    pyc = importlib.util.cache_from_source(rel)\n"
	"    try:\n"
	"        py_compile.compile(src, cfile=os.path.join(out, pyc), dfile=src, doraise=True)\n"
	"    except (py_compile.PyCompileError, SyntaxError, UnicodeError, OSError):\n"
	"        continue\n"
	"    written.append(os.fsencode(pyc) + b'\\0')\n"
	"with open(done, 'wb') as f:\n"
	"    f.write(b''.join(written))\n";

static bool is_source(const struct mb_owned_file *f)
{
	return f->type == MB_OWNED_FILE && str_endswith(f->path, ".py");
}

static int write_list(const char *path, const struct mb_owned *files, size_t first,
		      size_t *n, struct mb_err *err)
{
	struct sbuf b = { 0 };
	size_t i;
	int rc;

	*n = 0;
	for (i = first; i < files->n; i++) {
		if (!is_source(&files->v[i]))
			continue;
		sbuf_add(&b, files->v[i].path, strlen(files->v[i].path) + 1);
		(*n)++;
	}
	rc = *n ? write_file_atomic(path, b.s, b.len, err) : 0;
	sbuf_free(&b);
	return rc;
}

static void keep_output(void *ctx, const char *buf, size_t len)
{
	struct sbuf *out = ctx;

	if (out->len < OUTPUT_MAX)
		sbuf_add(out, buf, out->len + len > OUTPUT_MAX ? OUTPUT_MAX - out->len : len);
}

/* The last non-empty line of a program's output (a traceback's verdict). */
static const char *last_line(struct sbuf *out)
{
	char *end, *start;

	if (!out->s)
		return "no output";
	end = out->s + out->len;
	while (end > out->s && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	start = end;
	while (start > out->s && start[-1] != '\n')
		start--;
	return *start ? start : "no output";
}

static int check_python(const char *python, struct mb_err *err)
{
	if (!python)
		return mb_errf(err, MB_EINPUT, "--compile needs a python recipe in the plan");
	if (access(python, X_OK) < 0)
		return mb_errno(err, MB_EHOST, errno,
				"--compile runs the plan's python, and %s cannot be run", python);
	return 0;
}

static int run_python(const char *python, const char *list, const char *prefix,
		      const char *out_dir, const char *done, const struct mb_events *ev,
		      struct mb_err *err)
{
	char *argv[] = { (char *)python, "-I", "-c", (char *)script, (char *)list,
			 (char *)prefix, (char *)out_dir, (char *)done, NULL };
	struct sbuf out = { 0 };
	int status = 0, rc;

	rc = spawn_stream(argv, NULL, NULL, keep_output, &out, ev ? ev->stop : NULL, &status,
			  err);
	if (rc == 0 && status != 0)
		rc = mb_errf(err, MB_EFAIL, "byte-compiling with %s failed (exit %d): %s", python,
			     status, last_line(&out));
	else if (rc == 0 && access(done, F_OK) < 0)
		rc = mb_errf(err, MB_EFAIL, "byte-compiling with %s wrote no list of results: %s",
			     python, last_line(&out));
	sbuf_free(&out);
	return rc;
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every path of files, sorted, to look up. */
static const char **sorted_paths(const struct mb_owned *files)
{
	const char **v = xcalloc(files->n + 1, sizeof *v);
	size_t i;

	for (i = 0; i < files->n; i++)
		v[i] = files->v[i].path;
	qsort(v, files->n, sizeof *v, path_cmp);
	return v;
}

static int own_pyc(const char *out_dir, const char *rel, struct mb_owned *pycs,
		   struct mb_err *err)
{
	char *full = path_join(out_dir, rel), hex[MB_SHA256_HEX];
	struct stat st;
	int rc = 0;

	if (stat(full, &st) < 0 || !S_ISREG(st.st_mode))
		rc = mb_errf(err, MB_EFAIL, "python said it wrote %s, which is not there", full);
	else if ((rc = mb_sha256_file(full, hex, err)) == 0)
		mb_owned_add(pycs, rel, MB_OWNED_FILE, hex, (int64_t)st.st_size,
			     st.st_mode & 07777);
	free(full);
	return rc;
}

/* Is the .pyc `rel` spoken for: shipped by the wheel (in `have`), or
 * already in the prefix (python's own cache, written by an import before
 * this install)?  Then it stays as it is: replacing a file no recipe owns
 * is refused, and python refreshes a stale cache itself. */
static bool taken(const char *prefix, const char **have, size_t n, const char *rel)
{
	char *full;
	struct stat st;
	bool there;

	if (bsearch(&rel, have, n, sizeof *have, path_cmp))
		return true;
	full = path_join(prefix, rel);
	there = lstat(full, &st) == 0;
	free(full);
	return there;
}

/* Read DONE: own each .pyc written but for those taken. */
static int collect(const char *prefix, const char *out_dir, const char *done,
		   const struct mb_owned *files, struct mb_owned *pycs, struct mb_err *err)
{
	const char **have = NULL;
	char *buf = NULL, *p;
	size_t len = 0;
	int rc = read_file(done, DONE_MAX, &buf, &len, err);

	if (rc < 0)
		return mb_err_wrap(err, "byte-compiling");
	have = sorted_paths(files);
	for (p = buf; rc == 0 && p < buf + len; p += strlen(p) + 1) {
		if (!*p)
			continue;
		if (taken(prefix, have, files->n, p)) {
			char *full = path_join(out_dir, p);
			unlink(full);
			free(full);
			continue;
		}
		rc = own_pyc(out_dir, p, pycs, err);
	}
	free(have);
	free(buf);
	return rc;
}

int mb_pycompile(const char *python, const char *prefix, const struct mb_owned *files,
		 size_t first, const char *out_dir, const struct mb_events *ev,
		 struct mb_owned *pycs, struct mb_err *err)
{
	char *list = path_join(out_dir, ".mambaboot-pycompile-list");
	char *done = path_join(out_dir, ".mambaboot-pycompile-done");
	size_t n;
	int rc = write_list(list, files, first, &n, err);

	if (rc == 0 && n)
		rc = check_python(python, err);
	if (rc == 0 && n)
		rc = run_python(python, list, prefix, out_dir, done, ev, err);
	if (rc == 0 && n)
		rc = collect(prefix, out_dir, done, files, pycs, err);
	unlink(list);
	unlink(done);
	free(list);
	free(done);
	return rc;
}
