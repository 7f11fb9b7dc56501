/* Host probes for `doctor` and for install's pre-flight checks. */
#define _XOPEN_SOURCE 700

#include "doctor.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cacert.h"
#include "spawn.h"
#include "util.h"
#include "version.h"
#include "ytree.h"

#define PROBE_TIMEOUT_S 20

char *mb_find_cuda_home(void)
{
	const char *env = getenv("CUDA_HOME");
	char *nvcc, *slash;
	struct stat st;

	if (env && *env)
		return xstrdup(env);
	nvcc = spawn_which("nvcc", NULL);
	if (nvcc) {
		slash = strrchr(nvcc, '/');
		*slash = '\0';                 /* .../bin */
		slash = strrchr(nvcc, '/');
		if (slash && slash != nvcc) {
			*slash = '\0';         /* ... */
			return nvcc;
		}
		free(nvcc);
	}
	return stat("/usr/local/cuda", &st) == 0 ? xstrdup("/usr/local/cuda") : NULL;
}

/* Run argv and return its output (NULL if it could not run or failed). */
static char *output_of(char *const argv[])
{
	struct sbuf out = { 0 };
	int status = -1;

	if (spawn_capture(argv, NULL, NULL, &out, 1 << 16, PROBE_TIMEOUT_S, &status, NULL) < 0 ||
	    status != 0) {
		sbuf_free(&out);
		return NULL;
	}
	return sbuf_steal(&out);
}

/* The first "N.N[.N...]" after `marker` in text (or anywhere if NULL). */
static char *version_after(const char *text, const char *marker)
{
	const char *p = marker ? strstr(text, marker) : text;
	size_t n;

	if (!p)
		return NULL;
	p += marker ? strlen(marker) : 0;
	while (*p && !isdigit((unsigned char)*p))
		p++;
	n = strspn(p, "0123456789.");
	while (n && p[n - 1] == '.')
		n--;
	return n ? xstrndup(p, n) : NULL;
}

/* A static binary has no glibc of its own: the host's is the one that its
 * dynamic loader, at the path the x86_64 ABI fixes, belongs to.  The
 * loader names it: "ld.so (GNU libc) stable release version 2.17". */
static char *loader_glibc(void)
{
	static const char loader[] = "/lib64/ld-linux-x86-64.so.2", tag[] = " release version ";
	struct mb_err err = { 0 };
	char *buf, *p, *found = NULL;
	size_t len;

	if (read_file(loader, (size_t)16 << 20, &buf, &len, &err) < 0)
		return NULL; /* no glibc here (Alpine): nothing to report */
	for (p = buf; !found && (p = memchr(p, tag[0], len - (size_t)(p - buf))); p++)
		if ((size_t)(buf + len - p) > sizeof tag && !memcmp(p, tag, sizeof tag - 1))
			found = version_after(p, tag + 1);
	free(buf);
	return found;
}

char *mb_host_glibc(void)
{
	/* For tests, and for judging a target host from another machine. */
	const char *fake = getenv("MAMBABOOT_FAKE_GLIBC");

	if (fake && *fake)
		return xstrdup(fake);
#ifdef _CS_GNU_LIBC_VERSION
	char buf[64];
	size_t n = confstr(_CS_GNU_LIBC_VERSION, buf, sizeof buf);
	if (n > 0 && n <= sizeof buf)
		return version_after(buf, "glibc");
#endif
	return loader_glibc();
}

static void probe_nvcc(struct mb_facts *f)
{
	char *home = mb_find_cuda_home(), *bin = home ? path_join(home, "bin") : NULL;
	char *argv[] = { NULL, "--version", NULL }, *out;

	f->nvcc_path = spawn_which("nvcc", NULL);
	if (!f->nvcc_path && bin)
		f->nvcc_path = spawn_which("nvcc", bin);
	free(home);
	free(bin);
	if (!f->nvcc_path)
		return;
	argv[0] = f->nvcc_path;
	out = output_of(argv);
	if (out) /* "release 11.6, V11.6.124": the V number tells 11.4.0 from 11.4.1 */
		f->nvcc_version = version_after(out, ", V");
	if (out && !f->nvcc_version)
		f->nvcc_version = version_after(out, "release");
	free(out);
}

static void probe_gpus(struct mb_facts *f)
{
	char *argv[] = { "nvidia-smi", "--query-gpu=driver_version,compute_cap",
			 "--format=csv,noheader", NULL };
	char *out = output_of(argv), *line, *save = NULL;
	size_t cap = 0;

	if (!out) { /* drivers before R510 know no compute_cap */
		argv[1] = "--query-gpu=driver_version";
		out = output_of(argv);
	}
	for (line = out ? strtok_r(out, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *comma = strchr(line, ',');
		if (!f->driver_version)
			f->driver_version = version_after(line, NULL);
		if (comma)
			*VEC_PUSH(f->gpu_cc, f->n_gpus, cap) = version_after(comma, NULL);
	}
	free(out);
}

/* The compiler a build would use: the prefix's conda gcc, else the host's. */
static void probe_gcc(struct mb_facts *f, const char *prefix)
{
	char *conda = prefix ? xasprintf("%s/bin/x86_64-conda-linux-gnu-gcc", prefix) : NULL;
	char *argv[] = { NULL, "-dumpfullversion", "-dumpversion", NULL };
	char *out;

	if (conda && access(conda, X_OK) == 0)
		f->gcc_path = conda;
	else {
		free(conda);
		f->gcc_path = spawn_which("gcc", NULL);
	}
	if (!f->gcc_path)
		return;
	argv[0] = f->gcc_path;
	out = output_of(argv);
	if (out)
		f->gcc_version = version_after(out, NULL);
	free(out);
}

/* Free bytes on the file system of path or of its nearest existing parent. */
static long long free_bytes(const char *path, bool *writable)
{
	char *p = xstrdup(path), *slash;
	struct statvfs vfs;
	long long bytes = -1;

	while (access(p, F_OK) != 0 && (slash = strrchr(p, '/')) != NULL && slash != p)
		*slash = '\0';
	if (statvfs(p, &vfs) == 0)
		bytes = (long long)vfs.f_bavail * (long long)vfs.f_frsize;
	if (writable)
		*writable = access(p, W_OK) == 0;
	free(p);
	return bytes;
}

void mb_facts_probe_gpus(struct mb_facts *f)
{
	memset(f, 0, sizeof *f);
	f->free_prefix = f->free_cache = -1;
	probe_gpus(f);
}

void mb_facts_probe_rest(struct mb_facts *f, const char *prefix, const char *cache,
			 bool toolchain)
{
	struct utsname u;

	f->glibc = mb_host_glibc();
	if (uname(&u) == 0) {
		f->kernel = xstrdup(u.release);
		f->arch = xstrdup(u.machine);
	}
	if (toolchain) {
		probe_nvcc(f);
		probe_gcc(f, prefix);
	}
	if (prefix)
		f->free_prefix = free_bytes(prefix, &f->prefix_writable);
	if (cache)
		f->free_cache = free_bytes(cache, NULL);
}

void mb_facts_probe(struct mb_facts *f, const char *prefix, const char *cache, bool toolchain)
{
	mb_facts_probe_gpus(f);
	mb_facts_probe_rest(f, prefix, cache, toolchain);
}

void mb_facts_add(struct mb_facts *f, const char *name, const char *value)
{
	struct mb_fact *x = VEC_PUSH(f->extra, f->n_extra, f->cap_extra);

	x->name = xstrdup(name);
	x->value = xstrdup(value);
}

void mb_facts_add_stack(struct mb_facts *f, const char *stack)
{
	*VEC_PUSH(f->stacks, f->n_stacks, f->cap_stacks) = xstrdup(stack);
}

void mb_facts_free(struct mb_facts *f)
{
	size_t i;

	for (i = 0; i < f->n_extra; i++) {
		free(f->extra[i].name);
		free(f->extra[i].value);
	}
	for (i = 0; i < f->n_stacks; i++)
		free(f->stacks[i]);
	free(f->extra);
	free(f->stacks);
	for (i = 0; i < f->n_gpus; i++)
		free(f->gpu_cc[i]);
	free(f->gpu_cc);
	free(f->glibc);
	free(f->kernel);
	free(f->arch);
	free(f->nvcc_path);
	free(f->nvcc_version);
	free(f->driver_version);
	free(f->gcc_path);
	free(f->gcc_version);
	memset(f, 0, sizeof *f);
}

/* ---- judging the facts against compat.yaml ---- */

const char *mb_check_status_name(enum mb_check_status s)
{
	static const char *const names[] = { "ok", "warn", "fail" };
	return names[s];
}

static void add_check(struct mb_checks *c, const char *name, enum mb_check_status st,
		      const char *found, const char *fix)
{
	struct mb_check *k = VEC_PUSH(c->v, c->n, c->cap);

	k->name = xstrdup(name);
	k->status = st;
	k->found = xstrdup(found ? found : "");
	k->fix = st == MB_CHECK_OK || !fix ? NULL : xstrdup(fix);
}

/* The values of a fact: one, none, or one per GPU for gpu_cc. */
static size_t fact_values(const struct mb_facts *f, const char *name, const char **out,
			  size_t max)
{
	const char *one = !strcmp(name, "glibc") ? f->glibc : !strcmp(name, "nvcc") ? f->nvcc_version
		: !strcmp(name, "driver") ? f->driver_version : !strcmp(name, "gcc") ? f->gcc_version
		: NULL;
	size_t i;

	for (i = 0; !one && i < f->n_extra; i++)
		if (name_equal(f->extra[i].name, name))
			one = f->extra[i].value;
	if (strcmp(name, "gpu_cc") != 0) {
		out[0] = one;
		return one ? 1 : 0;
	}
	for (i = 0; i < f->n_gpus && i < max; i++)
		out[i] = f->gpu_cc[i];
	return i;
}

static bool in_range(const char *value, const char *range)
{
	struct mb_version v;
	struct mb_spec s;

	return mb_version_parse(value, &v) == 0 && mb_spec_parse(range, &s, NULL, 0) == 0 &&
	       mb_spec_contains(&s, &v);
}

/* Every `when` fact known and in range. */
static bool applies(const struct mb_facts *f, const struct ynode *when)
{
	const char *vals[16];
	size_t i, k, n;

	for (i = 0; when && i < ymap_len(when); i++) {
		n = fact_values(f, ymap_key(when, i)->value, vals, 16);
		if (n == 0)
			return false;
		for (k = 0; k < n; k++)
			if (!in_range(vals[k], ymap_value(when, i)->value))
				return false;
	}
	return true;
}

/* "{gcc}" in a fix becomes the fact's value; {gpu_cc}, the GPU at fault. */
static char *fill(const char *fix, const struct mb_facts *f, const char *bad_value)
{
	struct sbuf b = { 0 };
	const char *p = fix, *vals[16];

	while (*p) {
		size_t n = *p == '{' ? strspn(p + 1, "abcdefghijklmnopqrstuvwxyz0123456789_-") : 0;
		if (n && p[1 + n] == '}') {
			char *name = xstrndup(p + 1, n);
			const char *v = !strcmp(name, "gpu_cc") ? bad_value
				: fact_values(f, name, vals, 16) ? vals[0] : NULL;
			sbuf_puts(&b, v ? v : "(none)");
			free(name);
			p += n + 2;
		} else {
			sbuf_add(&b, p++, 1);
		}
	}
	return sbuf_steal(&b);
}

/* Does a rule's `stacks:` list name `stack`? */
static bool names_stack(const struct ynode *stacks, const char *stack)
{
	size_t i;

	for (i = 0; stacks && stacks->type == YNODE_SEQ && i < stacks->n; i++)
		if (stacks->item[i]->value && name_equal(stacks->item[i]->value, stack))
			return true;
	return false;
}

/* A rule with `stacks: [...]` belongs to those stacks only. */
static bool for_these_stacks(const struct mb_facts *f, const struct ynode *stacks)
{
	size_t k;

	if (!stacks || stacks->type != YNODE_SEQ)
		return true;
	for (k = 0; k < f->n_stacks; k++)
		if (names_stack(stacks, f->stacks[k]))
			return true;
	return false;
}

static const struct ynode *rule_stacks(const struct ynode *rules, size_t i)
{
	return rules->item[i]->type == YNODE_MAP ? ymap_get(rules->item[i], "stacks") : NULL;
}

/* The stacks compat.yaml's rules name, each once: "mamba, mamba-host". */
static char *known_stacks(const struct ynode *rules)
{
	const char **seen = NULL;
	struct sbuf b = { 0 };
	size_t i, k, j, n = 0, cap = 0;

	sbuf_puts(&b, "");
	for (i = 0; i < rules->n; i++) {
		const struct ynode *s = rule_stacks(rules, i);
		for (k = 0; s && s->type == YNODE_SEQ && k < s->n; k++) {
			const char *v = s->item[k]->value;
			for (j = 0; v && j < n && strcmp(seen[j], v); j++)
				;
			if (v && j == n) {
				sbuf_printf(&b, "%s%s", n ? ", " : "", v);
				*VEC_PUSH(seen, n, cap) = v;
			}
		}
	}
	free(seen);
	return sbuf_steal(&b);
}

/* A stack the user named that no rule is scoped to: only the host-wide
 * rules judged it, which is right for a stack of one's own and silent
 * for a typo, so it is said, with the stacks the rules know. */
static void judge_stack_names(const struct mb_facts *f, const struct ynode *rules,
			      struct mb_checks *out)
{
	size_t i, k;

	for (k = 0; f->stacks_named && k < f->n_stacks; k++) {
		char *known, *fix;
		for (i = 0; i < rules->n && !names_stack(rule_stacks(rules, i), f->stacks[k]); i++)
			;
		if (i < rules->n)
			continue;
		known = known_stacks(rules);
		fix = xasprintf("no rule of compat.yaml names this stack: only the rules for every "
				"stack were judged (a typo? its rules name %s)", *known ? known : "none");
		add_check(out, "stack", MB_CHECK_WARN, f->stacks[k], fix);
		free(fix);
		free(known);
	}
}

static void judge_rule(const struct mb_facts *f, const struct ynode *rule, bool for_build,
		       struct mb_checks *out)
{
	const struct ynode *name = ymap_get(rule, "name"), *req = ymap_get(rule, "require");
	const struct ynode *level = ymap_get(rule, "level"), *scope = ymap_get(rule, "scope");
	const struct ynode *fix = ymap_get(rule, "fix");
	enum mb_check_status bad = level && !strcmp(level->value, "warn") ? MB_CHECK_WARN
									  : MB_CHECK_FAIL;
	const char *vals[16], *fact, *miss = NULL;
	size_t n, k;
	char *msg;

	if (!name || !req || req->type != YNODE_MAP || ymap_len(req) != 1)
		return;
	if ((!for_build && scope && !strcmp(scope->value, "build")) ||
	    !for_these_stacks(f, ymap_get(rule, "stacks")) || !applies(f, ymap_get(rule, "when")))
		return;
	fact = ymap_key(req, 0)->value;
	n = fact_values(f, fact, vals, 16);
	for (k = 0; k < n && !miss; k++)
		if (!in_range(vals[k], ymap_value(req, 0)->value))
			miss = vals[k];
	if (n == 0 && strcmp(fact, "gpu_cc") == 0)
		return; /* no GPU here: nothing to say about its architecture */
	if (n == 0) {
		const struct ynode *lv = ymap_get(rule, "missing"), *mfix = ymap_get(rule, "missing_fix");
		if (lv && !strcmp(lv->value, "skip"))
			return;
		if (lv)
			bad = !strcmp(lv->value, "warn") ? MB_CHECK_WARN : MB_CHECK_FAIL;
		msg = fill(mfix ? mfix->value : fix ? fix->value : "not found", f, NULL);
		add_check(out, name->value, bad, "not found", msg);
		free(msg);
	} else if (miss) {
		msg = fill(fix ? fix->value : "out of range", f, miss);
		add_check(out, name->value, bad, miss, msg);
		free(msg);
	} else {
		add_check(out, name->value, MB_CHECK_OK, vals[0], NULL);
	}
}

static void judge_arch(const struct mb_facts *f, const struct ynode *archs, struct mb_checks *out)
{
	size_t i;

	if (!archs || archs->type != YNODE_SEQ || !f->arch)
		return;
	for (i = 0; i < archs->n; i++)
		if (!strcmp(archs->item[i]->value, f->arch)) {
			add_check(out, "arch", MB_CHECK_OK, f->arch, NULL);
			return;
		}
	add_check(out, "arch", MB_CHECK_FAIL, f->arch,
		  "the stack's wheels and conda packages are built for x86_64 only");
}

static void judge_disk(const char *what, long long bytes, const struct ynode *min_gb,
		       struct mb_checks *out)
{
	double need = min_gb ? strtod(min_gb->value, NULL) : 0, have = (double)bytes / 1e9;
	char found[64], fix[160];

	if (bytes < 0)
		return;
	snprintf(found, sizeof found, "%.1f GB free", have);
	snprintf(fix, sizeof fix, "free at least %.0f GB there, or choose another %s", need,
		 strchr(what, 'c') ? "--cache" : "--prefix");
	add_check(out, what, have < need ? MB_CHECK_WARN : MB_CHECK_OK, found, fix);
}

/* Proxies and CA bundles: reported, and a bundle that is not there fails. */
static void judge_network(struct mb_checks *out)
{
	static const char *const proxies[] = { "https_proxy", "HTTPS_PROXY", "http_proxy",
					       "no_proxy", NULL };
	struct mb_ca ca;
	struct mb_err err = { 0 };
	char found[600];
	size_t i;

	for (i = 0; proxies[i]; i++)
		if (getenv(proxies[i]))
			add_check(out, proxies[i], MB_CHECK_OK, getenv(proxies[i]), NULL);
	if (mb_ca_find(NULL, &ca, &err) < 0) {
		add_check(out, "CA bundle", MB_CHECK_WARN, "none",
			  "HTTPS downloads fail without one: pass --cacert FILE or set SSL_CERT_FILE");
		return;
	}
	snprintf(found, sizeof found, "%s (%s)", ca.file ? ca.file : ca.dir, ca.from);
	add_check(out, "CA bundle",
		  access(ca.file ? ca.file : ca.dir, R_OK) == 0 ? MB_CHECK_OK : MB_CHECK_FAIL, found,
		  "the CA bundle named there cannot be read: fix the path or unset it");
}

static void judge_host(const struct mb_facts *f, const struct ynode *root, struct mb_checks *out)
{
	const struct ynode *min_gb = ymap_get(root, "min_free_gb");

	judge_arch(f, ymap_get(root, "archs"), out);
	judge_disk("disk (prefix)", f->free_prefix, min_gb, out);
	judge_disk("disk (cache)", f->free_cache, min_gb, out);
	if (f->free_prefix >= 0)
		add_check(out, "prefix writable", f->prefix_writable ? MB_CHECK_OK : MB_CHECK_FAIL,
			  f->prefix_writable ? "yes" : "no",
			  "choose a --prefix you can write to (no root needed: e.g. $HOME/mamba)");
	judge_network(out);
}

int mb_doctor_judge(const struct mb_facts *f, const char *compat_path, bool for_build,
		    struct mb_checks *out, struct mb_err *err)
{
	const struct ynode *rules;
	struct ydoc doc;
	char *buf;
	size_t len, i;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = read_file(compat_path, YTREE_FILE_MAX, &buf, &len, err)) < 0)
		return rc;
	rc = ydoc_parse(&doc, compat_path, buf, len, err);
	free(buf);
	if (rc < 0)
		return rc;
	rules = doc.root && doc.root->type == YNODE_MAP ? ymap_get(doc.root, "rules") : NULL;
	if (!rules || rules->type != YNODE_SEQ)
		rc = mb_errf(err, MB_EINPUT, "%s: no 'rules' list", compat_path);
	if (rc == 0) {
		judge_host(f, doc.root, out);
		judge_stack_names(f, rules, out);
	}
	for (i = 0; rc == 0 && i < rules->n; i++)
		if (rules->item[i]->type == YNODE_MAP)
			judge_rule(f, rules->item[i], for_build, out);
	ydoc_free(&doc);
	return rc;
}

void mb_checks_free(struct mb_checks *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].found);
		free(c->v[i].fix);
	}
	free(c->v);
	memset(c, 0, sizeof *c);
}

/* Does arch_list have a kernel for a GPU of compute capability cc? */
static bool arch_covers(const char *arch_list, const char *cc)
{
	const char *p = arch_list;
	size_t n = strlen(cc);

	while (*(p += strspn(p, ";"))) {
		size_t len = strcspn(p, ";");
		bool ptx = len > 4 && !strncmp(p + len - 4, "+PTX", 4);
		if ((!strncmp(p, cc, n) && !isdigit((unsigned char)p[n])) ||
		    (ptx && strtod(p, NULL) <= strtod(cc, NULL)))
			return true;
		p += len;
	}
	return false;
}

void mb_doctor_judge_built(const struct mb_facts *f, const char *name, const char *arch_list,
			   struct mb_checks *out)
{
	char *check = xasprintf("cuda-arch %s", name), *fix;
	size_t i;

	for (i = 0; i < f->n_gpus && arch_covers(arch_list, f->gpu_cc[i]); i++)
		;
	fix = i < f->n_gpus ? xasprintf("%s was built for %s: this host's GPU of compute capability %s has no kernel; reinstall it with --cuda-arch '%s;%s'",
					name, arch_list, f->gpu_cc[i], arch_list, f->gpu_cc[i])
			    : NULL;
	add_check(out, check, fix ? MB_CHECK_WARN : MB_CHECK_OK, arch_list, fix);
	free(fix);
	free(check);
}
