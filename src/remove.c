/* `remove`: take names out of the requested set and remove what nothing
 * else needs (SPEC.md section 5). */
#include <stdlib.h>
#include <string.h>

#include "conda.h"
#include "prefix.h"
#include "remove.h"
#include "util.h"

static bool in_list(char *const *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (name_equal(v[i], name))
			return true;
	return false;
}

/* An installed recipe, not itself going, that depends on `name`. */
static const struct mb_state_recipe *dependent(const struct mb_state *s, const char *name,
					       char *const *going, size_t n_going)
{
	size_t i;

	for (i = 0; i < s->n_recipes; i++) {
		const struct mb_state_recipe *r = &s->recipes[i];
		if (!in_list(going, n_going, r->name) && in_list(r->depends, r->n_depends, name))
			return r;
	}
	return NULL;
}

static bool needed(const struct mb_requested *req, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (in_list(req[i].closure, req[i].n_closure, name))
			return true;
	return false;
}

/* The requested entries that survive; shallow copies into p's state. */
static struct mb_requested *kept_requests(const struct mb_state *s, char *const *names,
					  size_t n, size_t *n_kept)
{
	struct mb_requested *kept = xcalloc(s->n_requested + 1, sizeof *kept);
	size_t i;

	*n_kept = 0;
	for (i = 0; i < s->n_requested; i++)
		if (!in_list(names, n, s->requested[i].name))
			kept[(*n_kept)++] = s->requested[i];
	return kept;
}

static int check_names(const struct mb_state *s, char *const *names, size_t n,
		       struct mb_err *err)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		bool known = mb_state_find(s, names[i]) != NULL;
		for (j = 0; !known && j < s->n_requested; j++)
			known = name_equal(s->requested[j].name, names[i]);
		if (!known)
			return mb_errf(err, MB_EINPUT, "'%s' is not installed in this prefix", names[i]);
	}
	return 0;
}

int mb_prefix_remove(struct mb_prefix *p, char *const *names, size_t n, bool force,
		     struct mb_removal *out, struct mb_err *err)
{
	const struct mb_state *s = &p->state;
	struct mb_requested *kept;
	struct mb_txn *t;
	size_t n_kept, i;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = check_names(s, names, n, err)) < 0)
		return rc;
	for (i = 0; i < n && !force; i++) {
		const struct mb_state_recipe *d = dependent(s, names[i], names, n);
		if (d && mb_state_find(s, names[i]))
			return mb_errf(err, MB_EINPUT,
				       "cannot remove '%s': '%s' depends on it (--force removes it anyway)",
				       names[i], d->name);
	}
	kept = kept_requests(s, names, n, &n_kept);
	if ((rc = mb_txn_begin(&t, p, false, err)) < 0) {
		free(kept);
		return rc;
	}
	for (i = 0; rc == 0 && i < s->n_recipes; i++) {
		struct mb_state_recipe *r = &s->recipes[i];
		bool generated = mb_state_recipe_generated(r);
		if (generated ? n_kept > 0 : needed(kept, n_kept, r->name) && !in_list(names, n, r->name))
			continue; /* bin/activate goes with the last recipe */
		mb_conda_removed_elsewhere(p, r); /* flags it: then no "-" line twice */
		rc = mb_txn_unlink_recipe(t, r, err);
		mb_txn_drop_recipe(t, r->name);
		if (!generated)
			*VEC_PUSH(out->removed, out->n_removed, out->cap) = xstrdup(r->name);
	}
	mb_txn_set_requested(t, kept, n_kept);
	rc = rc < 0 ? (mb_txn_abort(t), rc) : mb_txn_commit(t, err);
	if (rc == 0)
		mb_conda_history(p, "remove", names, n);
	free(kept);
	return rc;
}

void mb_removal_free(struct mb_removal *r)
{
	size_t i;

	for (i = 0; i < r->n_removed; i++)
		free(r->removed[i]);
	free(r->removed);
	memset(r, 0, sizeof *r);
}
