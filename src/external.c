#include "external.h"

#include <fcntl.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "fsutil.h"
#include "spawn.h"
#include "util.h"

#define PROBE_OUTPUT_MAX (64 * 1024)
#define PROBE_TIMEOUT_S 30

static char *find_program(const char *name)
{
	const char *cuda = getenv("CUDA_HOME");
	char *found = spawn_which(name, NULL), *bin;

	if (found || !cuda || !*cuda)
		return found;
	bin = path_join(cuda, "bin");
	found = spawn_which(name, bin);
	free(bin);
	return found;
}

/* ---- remembering what a program printed ----
 *
 * Starting python to hear its version costs more than the rest of a warm
 * install's checks.  A program file that has not changed prints the same
 * version, so its answer is kept under a key naming the file (device,
 * inode, size, mtime, ctime) and the command.  Only ELF files: a script
 * (a pyenv shim) may answer differently from one call to the next. */

static char *memo_path(const struct mb_cache *cache, char *const *argv)
{
	char head[4], hex[MB_SHA256_HEX];
	struct sbuf key = { 0 };
	struct stat st;
	int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	bool elf;

	if (fd < 0)
		return NULL;
	elf = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, head, 4) == 4 &&
	      memcmp(head, "\x7f" "ELF", 4) == 0;
	close(fd);
	if (!elf)
		return NULL;
	sbuf_printf(&key, "%llu %llu %lld %lld.%09ld %lld.%09ld", (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		    st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	for (; *argv; argv++)
		sbuf_add(&key, *argv, strlen(*argv) + 1);
	elf = mb_sha256_buf(key.s, key.len, hex, NULL) == 0;
	sbuf_free(&key);
	return elf ? xasprintf("%s/probes/%s", cache->dir, hex) : NULL;
}

/* What argv prints on stdout and stderr, from the memo when there is one. */
static int run_probe(const struct mb_cache *cache, char **argv, struct sbuf *text,
		     char **memo, struct mb_err *err)
{
	char *saved;
	size_t len;
	int status;

	*memo = cache ? memo_path(cache, argv) : NULL;
	if (*memo && read_file(*memo, PROBE_OUTPUT_MAX, &saved, &len, NULL) == 0) {
		sbuf_add(text, saved, len);
		free(saved);
		free(*memo);
		*memo = NULL; /* nothing to save */
		return 0;
	}
	return spawn_capture(argv, NULL, NULL, text, PROBE_OUTPUT_MAX, PROBE_TIMEOUT_S, &status, err);
}

static int match_version(const struct mb_recipe *r, const char *text, struct mb_probe *out,
			 struct mb_err *err)
{
	regmatch_t m[2];
	regex_t re;
	int rc;

	if (regcomp(&re, r->detect_regex, REG_EXTENDED) != 0)
		return mb_errf(err, MB_EINPUT, "%s: invalid detect.regex", r->file);
	rc = regexec(&re, text, 2, m, 0);
	regfree(&re);
	if (rc != 0 || m[1].rm_so < 0)
		return mb_errf(err, MB_EHOST, "%s: '%s' printed no version matching /%s/",
			       r->name, out->path, r->detect_regex);
	out->version = xstrndup(text + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so));
	if (mb_version_parse(out->version, &out->ver) < 0)
		return mb_errf(err, MB_EHOST, "%s: '%s' reports version '%s', which is not PEP 440",
			       r->name, out->path, out->version);
	return 0;
}

int mb_external_probe(const struct mb_recipe *r, const struct mb_cache *cache,
		      struct mb_probe *out, struct mb_err *err)
{
	struct sbuf text = { 0 };
	char **argv, *memo = NULL;
	int rc;
	size_t i;

	memset(out, 0, sizeof *out);
	out->path = find_program(r->detect_argv[0]);
	if (!out->path)
		return mb_errf(err, MB_EHOST, "%s: '%s' not found on PATH%s; the recipe needs %s %s",
			       r->name, r->detect_argv[0], getenv("CUDA_HOME") ? " or in $CUDA_HOME/bin" : "",
			       r->name, r->version);
	argv = xcalloc(r->n_detect_argv + 1, sizeof *argv);
	argv[0] = out->path;
	for (i = 1; i < r->n_detect_argv; i++)
		argv[i] = r->detect_argv[i];
	rc = run_probe(cache, argv, &text, &memo, err);
	free(argv);
	if (rc == 0)
		rc = match_version(r, text.s ? text.s : "", out, err);
	if (rc == 0 && memo) /* an answer worth keeping; failing to keep it is no error */
		write_file_atomic(memo, text.s, text.len, NULL);
	free(memo);
	sbuf_free(&text);
	if (rc == 0 && !mb_spec_contains(&r->range, &out->ver))
		rc = mb_errf(err, MB_EHOST, "%s: found %s (%s), but the recipe needs %s",
			     r->name, out->version, out->path, r->version);
	if (rc < 0)
		mb_probe_free(out);
	return rc;
}

void mb_probe_free(struct mb_probe *p)
{
	free(p->path);
	free(p->version);
	p->path = p->version = NULL;
}
