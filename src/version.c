/* PEP 440 by hand: no C library implements it. */
#include "version.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define NUM_DIGITS_MAX 18 /* keeps every number below 10^18 < 2^63 */

struct cursor {
	const char *p;
};

static bool at_digit(const struct cursor *c)
{
	return isdigit((unsigned char)*c->p) != 0;
}

static int read_num(struct cursor *c, uint64_t *out)
{
	uint64_t n = 0;
	size_t digits = 0;

	if (!at_digit(c))
		return -1;
	while (at_digit(c)) {
		if (++digits > NUM_DIGITS_MAX)
			return -1;
		n = n * 10 + (uint64_t)(*c->p++ - '0');
	}
	*out = n;
	return 0;
}

static bool is_sep(char ch)
{
	return ch == '-' || ch == '_' || ch == '.';
}

/* Match a word case-insensitively, not followed by a letter. */
static bool take_word(struct cursor *c, const char *w)
{
	size_t n = strlen(w), i;

	for (i = 0; i < n; i++)
		if (tolower((unsigned char)c->p[i]) != w[i])
			return false;
	if (isalpha((unsigned char)c->p[n]))
		return false;
	c->p += n;
	return true;
}

/* An optional separator, then a label from `words`; *which gets its index. */
static bool take_label(struct cursor *c, const char *const *words, int *which)
{
	struct cursor t = *c;
	int i;

	if (is_sep(*t.p))
		t.p++;
	for (i = 0; words[i]; i++) {
		if (take_word(&t, words[i])) {
			*which = i;
			*c = t;
			return true;
		}
	}
	return false;
}

/* The number after a label: optional separator, digits; absent means 0. */
static int label_number(struct cursor *c, uint64_t *out)
{
	struct cursor t = *c;

	if (is_sep(*t.p))
		t.p++;
	if (isdigit((unsigned char)*t.p)) {
		*c = t;
		return read_num(c, out);
	}
	*out = 0;
	return 0;
}

static int parse_release(struct cursor *c, struct mb_version *v)
{
	for (;;) {
		if (v->n_release == MB_VER_RELEASE_MAX)
			return -1;
		if (read_num(c, &v->release[v->n_release++]) < 0)
			return -1;
		if (c->p[0] != '.' || !isdigit((unsigned char)c->p[1]))
			return 0;
		c->p++;
	}
}

static int parse_pre(struct cursor *c, struct mb_version *v)
{
	static const char *const words[] = {
		"alpha", "a", "beta", "b", "preview", "pre", "rc", "c", NULL,
	};
	static const enum mb_pre kinds[] = {
		MB_PRE_A, MB_PRE_A, MB_PRE_B, MB_PRE_B,
		MB_PRE_RC, MB_PRE_RC, MB_PRE_RC, MB_PRE_RC,
	};
	int which;

	if (!take_label(c, words, &which))
		return 0;
	v->pre = kinds[which];
	return label_number(c, &v->pre_num);
}

static int parse_post(struct cursor *c, struct mb_version *v)
{
	static const char *const words[] = { "post", "rev", "r", NULL };
	int which;

	/* "1.0-1" is an implicit post-release. */
	if (c->p[0] == '-' && isdigit((unsigned char)c->p[1])) {
		c->p++;
		v->has_post = true;
		return read_num(c, &v->post);
	}
	if (!take_label(c, words, &which))
		return 0;
	v->has_post = true;
	return label_number(c, &v->post);
}

static int parse_dev(struct cursor *c, struct mb_version *v)
{
	static const char *const words[] = { "dev", NULL };
	int which;

	if (!take_label(c, words, &which))
		return 0;
	v->has_dev = true;
	return label_number(c, &v->dev);
}

/* "+ubuntu-1_a" -> "ubuntu.1.a"; segments are [a-z0-9]+. */
static int parse_local(struct cursor *c, struct mb_version *v)
{
	size_t n = 0;

	if (*c->p != '+')
		return 0;
	c->p++;
	for (;;) {
		if (!isalnum((unsigned char)*c->p))
			return -1;
		while (isalnum((unsigned char)*c->p)) {
			if (n + 1 >= sizeof v->local)
				return -1;
			v->local[n++] = (char)tolower((unsigned char)*c->p++);
		}
		if (!is_sep(*c->p))
			break;
		c->p++;
		if (n + 1 >= sizeof v->local)
			return -1;
		v->local[n++] = '.';
	}
	v->local[n] = '\0';
	return 0;
}

int mb_version_parse(const char *s, struct mb_version *v)
{
	struct cursor c = { s };
	struct cursor t;

	memset(v, 0, sizeof *v);
	while (isspace((unsigned char)*c.p))
		c.p++;
	if (*c.p == 'v' || *c.p == 'V')
		c.p++;
	/* An epoch is digits followed by '!'. */
	t = c;
	if (read_num(&t, &v->epoch) == 0 && *t.p == '!')
		c.p = t.p + 1;
	else
		v->epoch = 0;
	if (parse_release(&c, v) < 0 || parse_pre(&c, v) < 0 ||
	    parse_post(&c, v) < 0 || parse_dev(&c, v) < 0 ||
	    parse_local(&c, v) < 0)
		return -1;
	while (isspace((unsigned char)*c.p))
		c.p++;
	return *c.p ? -1 : 0;
}

bool mb_version_is_pre(const struct mb_version *v)
{
	return v->pre != MB_PRE_NONE || v->has_dev;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

/* Release segments compare as if padded with zeros: 1.0 == 1.0.0. */
static int cmp_release(const struct mb_version *a, const struct mb_version *b)
{
	size_t n = a->n_release > b->n_release ? a->n_release : b->n_release;
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t x = i < a->n_release ? a->release[i] : 0;
		uint64_t y = i < b->n_release ? b->release[i] : 0;
		int r = cmp_u64(x, y);
		if (r)
			return r;
	}
	return 0;
}

/* The pre-release key: a dev release of a final sorts before its alphas
 * (1.0.dev0 < 1.0a1), a final after every pre-release. */
static int pre_rank(const struct mb_version *v, uint64_t *num)
{
	*num = v->pre_num;
	if (v->pre != MB_PRE_NONE)
		return (int)v->pre;
	if (!v->has_post && v->has_dev)
		return -1;
	return 99;
}

static int cmp_local_segment(const char *a, size_t na, const char *b, size_t nb)
{
	bool da = strspn(a, "0123456789") >= na, db = strspn(b, "0123456789") >= nb;
	int r;

	if (da && db) {
		while (na > 1 && *a == '0')
			a++, na--;
		while (nb > 1 && *b == '0')
			b++, nb--;
		if (na != nb)
			return na < nb ? -1 : 1;
		return memcmp(a, b, na) < 0 ? -1 : memcmp(a, b, na) > 0;
	}
	if (da != db) /* numeric segments sort after alphanumeric ones */
		return da ? 1 : -1;
	r = strncmp(a, b, na < nb ? na : nb);
	if (r)
		return r < 0 ? -1 : 1;
	return (na > nb) - (na < nb);
}

static int cmp_local(const char *a, const char *b)
{
	if (!*a || !*b)
		return (*a != 0) - (*b != 0);
	for (;;) {
		size_t na = strcspn(a, "."), nb = strcspn(b, ".");
		int r = cmp_local_segment(a, na, b, nb);
		if (r)
			return r;
		a += na, b += nb;
		if (!*a || !*b)
			return (*a != 0) - (*b != 0);
		a++, b++;
	}
}

static int cmp_public(const struct mb_version *a, const struct mb_version *b)
{
	uint64_t na, nb;
	int r, ra, rb;

	if ((r = cmp_u64(a->epoch, b->epoch)) || (r = cmp_release(a, b)))
		return r;
	ra = pre_rank(a, &na);
	rb = pre_rank(b, &nb);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	if ((r = cmp_u64(na, nb)))
		return r;
	if (a->has_post != b->has_post)
		return a->has_post ? 1 : -1;
	if ((r = cmp_u64(a->post, b->post)))
		return r;
	if (a->has_dev != b->has_dev)
		return a->has_dev ? -1 : 1;
	return cmp_u64(a->dev, b->dev);
}

int mb_version_cmp(const struct mb_version *a, const struct mb_version *b)
{
	int r = cmp_public(a, b);
	return r ? r : cmp_local(a->local, b->local);
}

void mb_version_format(const struct mb_version *v, char *out, size_t outlen)
{
	static const char *const pre[] = { "", "a", "b", "rc" };
	size_t n = 0, i;

#define PUT(...) \
	do { \
		int k_ = snprintf(out + n, n < outlen ? outlen - n : 0, __VA_ARGS__); \
		if (k_ > 0) \
			n += (size_t)k_; \
	} while (0)
	if (outlen)
		out[0] = '\0';
	if (v->epoch)
		PUT("%llu!", (unsigned long long)v->epoch);
	for (i = 0; i < v->n_release; i++)
		PUT(i ? ".%llu" : "%llu", (unsigned long long)v->release[i]);
	if (v->pre)
		PUT("%s%llu", pre[v->pre], (unsigned long long)v->pre_num);
	if (v->has_post)
		PUT(".post%llu", (unsigned long long)v->post);
	if (v->has_dev)
		PUT(".dev%llu", (unsigned long long)v->dev);
	if (v->local[0])
		PUT("+%s", v->local);
#undef PUT
}

/* ---- specifiers ---- */

static void why_set(char *why, size_t whylen, const char *msg, const char *clause)
{
	if (why && whylen)
		snprintf(why, whylen, "%s in '%s'", msg, clause);
}

static size_t take_op(const char *s, enum mb_op *op)
{
	static const struct { const char *text; enum mb_op op; } ops[] = {
		{ "===", MB_OP_ARBITRARY }, { "==", MB_OP_EQ }, { "!=", MB_OP_NE },
		{ "<=", MB_OP_LE }, { ">=", MB_OP_GE }, { "~=", MB_OP_COMPAT },
		{ "<", MB_OP_LT }, { ">", MB_OP_GT }, { "=", MB_OP_EQ_PREFIX },
	};
	size_t i;

	for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		size_t n = strlen(ops[i].text);
		if (strncmp(s, ops[i].text, n) == 0) {
			*op = ops[i].op;
			return n;
		}
	}
	*op = MB_OP_EQ; /* a bare version: conda's exact match */
	return 0;
}

/* Strip a trailing ".*" and turn the operator into its prefix form. */
static int take_wildcard(char *text, enum mb_op *op)
{
	size_t n = strlen(text);

	if (n < 2 || strcmp(text + n - 2, ".*") != 0)
		return strchr(text, '*') ? -1 : 0;
	text[n - 2] = '\0';
	if (*op == MB_OP_EQ || *op == MB_OP_EQ_PREFIX)
		*op = MB_OP_EQ_PREFIX;
	else if (*op == MB_OP_NE)
		*op = MB_OP_NE_PREFIX;
	else
		return -1;
	return 0;
}

static int parse_clause(const char *s, size_t len, struct mb_clause *cl,
			char *why, size_t whylen)
{
	char text[MB_VER_LOCAL_MAX], clause[MB_VER_LOCAL_MAX];
	size_t k;

	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0 || len >= sizeof clause) {
		why_set(why, whylen, len ? "clause too long" : "empty clause", "");
		return -1;
	}
	memcpy(clause, s, len);
	clause[len] = '\0';
	k = take_op(clause, &cl->op);
	while (isspace((unsigned char)clause[k]))
		k++;
	snprintf(text, sizeof text, "%s", clause + k);
	snprintf(cl->raw, sizeof cl->raw, "%s", text);
	if (cl->op == MB_OP_ARBITRARY)
		return 0;
	if (take_wildcard(text, &cl->op) < 0) {
		why_set(why, whylen, "misplaced '*'", clause);
		return -1;
	}
	if (mb_version_parse(text, &cl->v) < 0) {
		why_set(why, whylen, "invalid version", clause);
		return -1;
	}
	if (cl->op == MB_OP_COMPAT && cl->v.n_release < 2) {
		why_set(why, whylen, "'~=' needs at least two release numbers", clause);
		return -1;
	}
	if ((cl->op == MB_OP_EQ_PREFIX || cl->op == MB_OP_NE_PREFIX) &&
	    (cl->v.local[0] || cl->v.pre || cl->v.has_post || cl->v.has_dev)) {
		why_set(why, whylen, "a '.*' match takes release numbers only", clause);
		return -1;
	}
	return 0;
}

int mb_spec_parse(const char *s, struct mb_spec *spec, char *why, size_t whylen)
{
	const char *p = s;

	spec->n = 0;
	while (isspace((unsigned char)*p))
		p++;
	if (!*p)
		return 0;
	if (strchr(p, '|')) {
		why_set(why, whylen, "'|' (or) is not supported", s);
		return -1;
	}
	for (;;) {
		size_t len = strcspn(p, ",");
		if (spec->n == MB_SPEC_CLAUSES_MAX) {
			why_set(why, whylen, "too many clauses", s);
			return -1;
		}
		if (parse_clause(p, len, &spec->clause[spec->n++], why, whylen) < 0)
			return -1;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

/* Does v's release start with prefix's release (zero-padded)? */
static bool prefix_match(const struct mb_version *v, const struct mb_version *prefix,
			 size_t n)
{
	size_t i;

	if (v->epoch != prefix->epoch)
		return false;
	for (i = 0; i < n; i++) {
		uint64_t x = i < v->n_release ? v->release[i] : 0;
		if (x != prefix->release[i])
			return false;
	}
	return true;
}

static struct mb_version public_of(const struct mb_version *v)
{
	struct mb_version p = *v;
	p.local[0] = '\0';
	return p;
}

static bool same_base(const struct mb_version *a, const struct mb_version *b)
{
	return a->epoch == b->epoch && cmp_release(a, b) == 0;
}

static bool clause_contains(const struct mb_clause *cl, const struct mb_version *v)
{
	struct mb_version pub = public_of(v);
	const struct mb_version *s = &cl->v;

	switch (cl->op) {
	case MB_OP_EQ:
		/* A local label is ignored unless the specifier names one. */
		return s->local[0] ? mb_version_cmp(v, s) == 0 : cmp_public(&pub, s) == 0;
	case MB_OP_NE:
		return s->local[0] ? mb_version_cmp(v, s) != 0 : cmp_public(&pub, s) != 0;
	case MB_OP_LE:
		return cmp_public(&pub, s) <= 0;
	case MB_OP_GE:
		return cmp_public(&pub, s) >= 0;
	case MB_OP_LT:
		/* <2.0 excludes 2.0's own pre-releases. */
		if (cmp_public(&pub, s) >= 0)
			return false;
		return mb_version_is_pre(s) || !mb_version_is_pre(v) || !same_base(v, s);
	case MB_OP_GT:
		/* >1.7 excludes 1.7's post-releases and 1.7+local. */
		if (cmp_public(&pub, s) <= 0)
			return false;
		if (!s->has_post && v->has_post && same_base(v, s))
			return false;
		return true;
	case MB_OP_COMPAT:
		return cmp_public(&pub, s) >= 0 && prefix_match(v, s, s->n_release - 1);
	case MB_OP_EQ_PREFIX:
		return prefix_match(v, s, s->n_release);
	case MB_OP_NE_PREFIX:
		return !prefix_match(v, s, s->n_release);
	case MB_OP_ARBITRARY: {
		char text[MB_VER_LOCAL_MAX * 2];
		size_t i;
		mb_version_format(v, text, sizeof text);
		for (i = 0; text[i] && tolower((unsigned char)text[i]) ==
				       tolower((unsigned char)cl->raw[i]); i++)
			;
		return text[i] == '\0' && cl->raw[i] == '\0';
	}
	}
	return false;
}

bool mb_spec_contains(const struct mb_spec *spec, const struct mb_version *v)
{
	size_t i;

	for (i = 0; i < spec->n; i++)
		if (!clause_contains(&spec->clause[i], v))
			return false;
	return true;
}
