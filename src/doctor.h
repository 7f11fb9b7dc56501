/* `doctor`: what the host has (glibc, kernel, nvcc, driver, GPUs, gcc,
 * disk, access, proxies), and which combinations cannot work, from the
 * facts in share/mambaboot/compat.yaml. */
#ifndef MB_DOCTOR_H
#define MB_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

enum mb_check_status { MB_CHECK_OK, MB_CHECK_WARN, MB_CHECK_FAIL };

struct mb_check {
	char *name;      /* "glibc", "nvcc", "nvcc+gcc" ... */
	enum mb_check_status status;
	char *found;     /* what the host has, "" if nothing */
	char *fix;       /* one line: what to do, NULL when ok */
};

struct mb_facts {
	char *glibc, *kernel, *arch;
	char *nvcc_path, *nvcc_version;
	char *driver_version;
	char **gpu_cc;          /* compute capabilities, "8.0" */
	size_t n_gpus;
	char *gcc_path, *gcc_version;   /* the compiler a build would use */
	long long free_prefix, free_cache; /* bytes, -1 unknown */
	bool prefix_writable;
	/* More facts by name: what the plan's externals reported ("torch-cuda"). */
	struct mb_fact { char *name, *value; } *extra;
	size_t n_extra, cap_extra;
	/* The stacks being judged: a rule with `stacks:` fires only for them. */
	char **stacks;
	size_t n_stacks, cap_stacks;
	bool stacks_named;    /* the user named them (doctor STACK): one no rule
				 knows gets a warning (a typo judges nothing) */
};

/* Add a fact by name (copied), and a stack being judged. */
void mb_facts_add(struct mb_facts *f, const char *name, const char *value);
void mb_facts_add_stack(struct mb_facts *f, const char *stack);

struct mb_checks {
	struct mb_check *v;
	size_t n, cap;
};

/* Probe the host.  prefix and cache may be NULL.  `toolchain`: also run
 * nvcc and gcc (the facts of build-scope rules; tens of milliseconds that
 * an install without CUDA builds does not need to spend). */
void mb_facts_probe(struct mb_facts *f, const char *prefix, const char *cache, bool toolchain);
/* The same in two steps, for a caller that needs the GPUs first and may
 * never need the rest: start f with the GPUs and the driver (nvidia-smi,
 * which can take a second), then add the rest to that f. */
void mb_facts_probe_gpus(struct mb_facts *f);
void mb_facts_probe_rest(struct mb_facts *f, const char *prefix, const char *cache,
			 bool toolchain);
void mb_facts_free(struct mb_facts *f);

/* Judge the facts against compat.yaml (path); `for_build`: only what an
 * install with source builds needs.  Fails only on unreadable data. */
int mb_doctor_judge(const struct mb_facts *f, const char *compat_path, bool for_build,
		    struct mb_checks *out, struct mb_err *err);
void mb_checks_free(struct mb_checks *c);

/* A CUDA build of recipe `name` was made for arch_list (its recorded
 * TORCH_CUDA_ARCH_LIST): ok when every GPU here has a kernel in it (its
 * own architecture, or a lower one's PTX), else a warning. */
void mb_doctor_judge_built(const struct mb_facts *f, const char *name, const char *arch_list,
			   struct mb_checks *out);

const char *mb_check_status_name(enum mb_check_status s);

/* The host's glibc version ("2.17"); NULL when the C library is not
 * glibc.  MAMBABOOT_FAKE_GLIBC overrides it (tests, judging another host). */
char *mb_host_glibc(void);

/* The CUDA toolkit: $CUDA_HOME, else the directory above the nvcc on
 * PATH, else /usr/local/cuda if it exists; NULL if none. */
char *mb_find_cuda_home(void);

#endif
