/* Choosing and checking TORCH_CUDA_ARCH_LIST (cudaarch.h). */
#include "cudaarch.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"
#include "util.h"
#include "version.h"

#define ARCHS_MAX 32

/* Which nvcc can build which architectures: a GPU whose compute capability
 * is in `arch` needs an nvcc in `nvcc`.  From NVIDIA's CUDA release notes
 * (the "deprecated/dropped architectures" and "new architectures" lines);
 * a host outside the table is not judged. */
static const struct arch_limit {
	const char *arch, *nvcc, *why;
} arch_limits[] = {
	{ ">=8.9,<10", ">=11.8", "sm_89 and sm_90 need CUDA >= 11.8" },
	{ ">=10.0", ">=12.8", "Blackwell (sm_100 and later) needs CUDA >= 12.8" },
	{ "<7.5", "<13", "CUDA 13 dropped sm_50 to sm_72 (Maxwell, Pascal, Volta)" },
	{ "<5.0", "<12", "CUDA 12 dropped Kepler (sm_35, sm_37)" },
};

const char *mb_cuda_arch_source_name(enum mb_arch_source s)
{
	static const char *const names[] = { "none", "nvidia-smi", "TORCH_CUDA_ARCH_LIST",
					     "--cuda-arch" };
	return names[s];
}

/* "8.6", "9.0a", "8.6+PTX": digits '.' digits, one optional letter, +PTX. */
static bool entry_valid(const char *s, size_t n)
{
	size_t i = 0, digits;

	if (n > 4 && strncmp(s + n - 4, "+PTX", 4) == 0)
		n -= 4;
	for (digits = 0; i < n && isdigit((unsigned char)s[i]); i++)
		digits++;
	if (!digits || i >= n || s[i++] != '.')
		return false;
	for (digits = 0; i < n && isdigit((unsigned char)s[i]); i++)
		digits++;
	if (i < n && islower((unsigned char)s[i]))
		i++;
	return digits > 0 && i == n;
}

/* The numeric part of an entry, as a version ("9.0a+PTX" -> 9.0). */
static int entry_version(const char *entry, struct mb_version *v)
{
	char num[32];
	size_t n = strspn(entry, "0123456789.");

	if (n == 0 || n >= sizeof num)
		return -1;
	memcpy(num, entry, n);
	num[n] = '\0';
	return mb_version_parse(num, v);
}

static int cmp_entry(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	struct mb_version vx, vy;
	int c;

	if (entry_version(x, &vx) < 0 || entry_version(y, &vy) < 0)
		return strcmp(x, y);
	c = mb_version_cmp(&vx, &vy);
	return c ? c : strcmp(x, y);
}

/* Split, validate, deduplicate and sort; *out gets the normalized list. */
static int normalize(const char *text, const char *what, char **out, struct mb_err *err)
{
	char *v[ARCHS_MAX];
	size_t n = 0, i;
	const char *p = text;
	struct sbuf b = { 0 };
	int rc = 0;

	while (rc == 0 && *(p += strspn(p, "; ,"))) {
		size_t len = strcspn(p, "; ,");
		if (!entry_valid(p, len))
			rc = mb_errf(err, MB_EINPUT, "%s: '%.*s' is not a CUDA architecture (like 8.0, 8.6+PTX or 9.0a)",
				     what, (int)len, p);
		else if (n == ARCHS_MAX)
			rc = mb_errf(err, MB_EINPUT, "%s: more than %d architectures", what, ARCHS_MAX);
		else
			v[n++] = xstrndup(p, len);
		p += len;
	}
	if (rc == 0 && n == 0)
		rc = mb_errf(err, MB_EINPUT, "%s names no CUDA architecture", what);
	if (n)
		qsort(v, n, sizeof *v, cmp_entry);
	for (i = 0; rc == 0 && i < n; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
			sbuf_printf(&b, "%s%s", b.len ? ";" : "", v[i]);
	for (i = 0; i < n; i++)
		free(v[i]);
	*out = rc == 0 ? sbuf_steal(&b) : (sbuf_free(&b), NULL);
	return rc;
}

static char *joined(char *const *items, size_t n)
{
	struct sbuf b = { 0 };
	size_t i;

	for (i = 0; i < n; i++)
		sbuf_printf(&b, "%s%s", i ? ";" : "", items[i]);
	return sbuf_steal(&b);
}

int mb_cuda_arch_choose(const char *option, const char *env, char *const *gpu_cc,
			size_t n_gpus, const struct mb_events *ev, struct mb_cuda_arch *out,
			struct mb_err *err)
{
	char *found;
	int rc;

	memset(out, 0, sizeof *out);
	if (option && *option) {
		out->source = MB_ARCH_OPTION;
		return normalize(option, "--cuda-arch", &out->list, err);
	}
	if (env && *env) {
		out->source = MB_ARCH_ENV;
		return normalize(env, "TORCH_CUDA_ARCH_LIST", &out->list, err);
	}
	if (n_gpus == 0) {
		struct mb_event e = { .type = MB_EV_WARN,
				      .msg = "no GPU found (nvidia-smi) and no --cuda-arch or TORCH_CUDA_ARCH_LIST: "
					     "each CUDA build compiles the architectures its setup.py chooses" };
		mb_emit(ev, &e);
		return 0;
	}
	found = joined(gpu_cc, n_gpus);
	out->source = MB_ARCH_DETECTED;
	rc = normalize(found, "nvidia-smi's compute_cap", &out->list, err);
	free(found);
	return rc;
}

int mb_cuda_arch_here(const char *option, const struct mb_events *ev, struct mb_cuda_arch *out,
		      struct mb_err *err)
{
	struct mb_facts f;
	int rc;

	mb_facts_probe_gpus(&f);
	rc = mb_cuda_arch_choose(option, getenv("TORCH_CUDA_ARCH_LIST"), f.gpu_cc, f.n_gpus, ev,
				 out, err);
	mb_facts_free(&f);
	return rc;
}

void mb_cuda_arch_free(struct mb_cuda_arch *a)
{
	free(a->list);
	a->list = NULL;
}

static bool in_spec(const struct mb_version *v, const char *spec)
{
	struct mb_spec s;

	return mb_spec_parse(spec, &s, NULL, 0) == 0 && mb_spec_contains(&s, v);
}

/* The limit `entry` breaks with this nvcc, or NULL. */
static const struct arch_limit *broken_limit(const char *entry, const struct mb_version *nvcc)
{
	struct mb_version arch;
	size_t i;

	if (entry_version(entry, &arch) < 0)
		return NULL;
	for (i = 0; i < sizeof arch_limits / sizeof arch_limits[0]; i++)
		if (in_spec(&arch, arch_limits[i].arch) && !in_spec(nvcc, arch_limits[i].nvcc))
			return &arch_limits[i];
	return NULL;
}

int mb_cuda_arch_check(const char *list, const char *nvcc_version, struct mb_err *err)
{
	struct mb_version nvcc;
	const char *p = list;

	if (!list || !nvcc_version || mb_version_parse(nvcc_version, &nvcc) < 0)
		return 0;
	while (*(p += strspn(p, ";"))) {
		size_t len = strcspn(p, ";");
		char *entry = xstrndup(p, len);
		const struct arch_limit *bad = broken_limit(entry, &nvcc);
		int rc = bad ? mb_errf(err, MB_EHOST,
				       "CUDA architecture %s cannot be built by nvcc %s (%s); choose others with --cuda-arch",
				       entry, nvcc_version, bad->why)
			     : 0;
		free(entry);
		if (rc < 0)
			return rc;
		p += len;
	}
	return 0;
}
