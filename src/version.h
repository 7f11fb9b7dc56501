/* PEP 440 versions and specifiers, plus the conda forms `=10` and `10.*`.
 *
 * Parsing allocates nothing, so versions can be copied by value and the
 * parser can be fuzzed without a leak checker getting in the way. */
#ifndef MB_VERSION_H
#define MB_VERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MB_VER_RELEASE_MAX 16
#define MB_VER_LOCAL_MAX 64
#define MB_SPEC_CLAUSES_MAX 16

enum mb_pre { MB_PRE_NONE = 0, MB_PRE_A, MB_PRE_B, MB_PRE_RC };

struct mb_version {
	uint64_t epoch;
	uint64_t release[MB_VER_RELEASE_MAX];
	size_t n_release;
	enum mb_pre pre;
	uint64_t pre_num;
	bool has_post, has_dev;
	uint64_t post, dev;
	char local[MB_VER_LOCAL_MAX]; /* normalized ("ubuntu.1"), "" if none */
};

/* 0 on success, -1 if `s` is not a PEP 440 version. */
int mb_version_parse(const char *s, struct mb_version *v);

/* <0, 0, >0 as PEP 440 orders a and b, local labels included. */
int mb_version_cmp(const struct mb_version *a, const struct mb_version *b);

/* The normalized form ("1.0a1.post2.dev3+local"). */
void mb_version_format(const struct mb_version *v, char *out, size_t outlen);

bool mb_version_is_pre(const struct mb_version *v); /* a, b, rc or dev */

enum mb_op {
	MB_OP_EQ, MB_OP_NE, MB_OP_LT, MB_OP_LE, MB_OP_GT, MB_OP_GE,
	MB_OP_COMPAT,     /* ~= */
	MB_OP_EQ_PREFIX,  /* ==1.2.*, conda =1.2 */
	MB_OP_NE_PREFIX,  /* !=1.2.* */
	MB_OP_ARBITRARY,  /* === */
};

struct mb_clause {
	enum mb_op op;
	struct mb_version v;
	char raw[MB_VER_LOCAL_MAX]; /* the version text, for === */
};

struct mb_spec {
	struct mb_clause clause[MB_SPEC_CLAUSES_MAX];
	size_t n; /* 0: any version */
};

/* Parse "`>=2.1,<2.2`", "`=10`", "`==1.2.*`", "`~=1.4`", "" (any).
 * On failure returns -1 and writes a short reason to why. */
int mb_spec_parse(const char *s, struct mb_spec *spec, char *why, size_t whylen);

/* Does v satisfy every clause?  A pinned pre-release is accepted: a recipe
 * naming one has asked for it. */
bool mb_spec_contains(const struct mb_spec *spec, const struct mb_version *v);

#endif
