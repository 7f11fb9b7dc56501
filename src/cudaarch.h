/* The GPU architectures a CUDA source build compiles for: the value of
 * TORCH_CUDA_ARCH_LIST in its environment (issue #16).
 *
 *   --cuda-arch LIST            wins over everything
 *   TORCH_CUDA_ARCH_LIST        the user's environment, next
 *   the host's GPUs             nvidia-smi's compute_cap of each, deduplicated
 *   none of these               a warning; setup.py chooses (no variable set)
 *
 * A list holds entries "X.Y", optionally "X.Ya" and "+PTX" as torch reads
 * them, separated by ';' (spaces and ',' are accepted); it is normalized
 * to ascending order, ';'-joined.  Nothing here reads the environment or
 * runs a program: the caller passes what it found, so that the choice can
 * be tested alone. */
#ifndef MB_CUDAARCH_H
#define MB_CUDAARCH_H

#include <stddef.h>

#include "err.h"
#include "event.h"

enum mb_arch_source {
	MB_ARCH_NONE,     /* nothing set and no GPU: setup.py chooses */
	MB_ARCH_DETECTED, /* the host's GPUs */
	MB_ARCH_ENV,      /* TORCH_CUDA_ARCH_LIST */
	MB_ARCH_OPTION,   /* --cuda-arch */
};

struct mb_cuda_arch {
	char *list;       /* "8.0;9.0", or NULL with MB_ARCH_NONE */
	enum mb_arch_source source;
};

/* Choose the list.  option and env may be NULL or empty (unset); gpu_cc
 * holds each GPU's compute capability ("9.0").  A malformed option or env
 * is MB_EINPUT naming it.  With nothing at all, a warning goes to ev. */
int mb_cuda_arch_choose(const char *option, const char *env, char *const *gpu_cc,
			size_t n_gpus, const struct mb_events *ev, struct mb_cuda_arch *out,
			struct mb_err *err);
/* The same on this host: the option, TORCH_CUDA_ARCH_LIST, then its GPUs
 * (nvidia-smi, asked once). */
int mb_cuda_arch_here(const char *option, const struct mb_events *ev, struct mb_cuda_arch *out,
		      struct mb_err *err);
void mb_cuda_arch_free(struct mb_cuda_arch *a);

/* "--cuda-arch", "TORCH_CUDA_ARCH_LIST", "nvidia-smi" or "none". */
const char *mb_cuda_arch_source_name(enum mb_arch_source s);

/* Can the nvcc of version nvcc_version ("11.6.124") build every entry of
 * list?  MB_EHOST naming the first that it cannot, and the nvcc.  An
 * unknown nvcc version (NULL) is not judged. */
int mb_cuda_arch_check(const char *list, const char *nvcc_version, struct mb_err *err);

#endif
