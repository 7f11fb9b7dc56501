#include "external.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

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

int mb_external_probe(const struct mb_recipe *r, struct mb_probe *out, struct mb_err *err)
{
	struct sbuf text = { 0 };
	char **argv;
	int status, rc;
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
	rc = spawn_capture(argv, NULL, NULL, &text, PROBE_OUTPUT_MAX, PROBE_TIMEOUT_S, &status, err);
	free(argv);
	if (rc == 0)
		rc = match_version(r, text.s ? text.s : "", out, err);
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
