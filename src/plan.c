#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

enum color { WHITE, GREY, BLACK };

struct walk {
	struct mb_plan *plan;
	const struct mb_recipe_set *set;
	enum color *color;    /* per recipe in the set */
	size_t *step_of;      /* recipe index -> step index, when BLACK */
	size_t *path;         /* recipes on the DFS path, for naming a cycle */
	size_t depth, cap_steps;
	struct mb_err *err;
};

static size_t recipe_index(const struct mb_recipe_set *set, const struct mb_recipe *r)
{
	size_t i;

	for (i = 0; i < set->n_recipes; i++)
		if (set->recipes[i] == r)
			break;
	return i;
}

static int cycle_err(struct walk *w, size_t from)
{
	struct sbuf b = { 0 };
	size_t i = w->depth;
	int rc;

	while (i > 0 && w->path[i - 1] != from)
		i--;
	for (i = i ? i - 1 : 0; i < w->depth; i++)
		sbuf_printf(&b, "%s -> ", w->set->recipes[w->path[i]]->name);
	sbuf_puts(&b, w->set->recipes[from]->name);
	rc = mb_errf(w->err, MB_EINPUT, "dependency cycle: %s", b.s);
	sbuf_free(&b);
	return rc;
}

static int missing_err(struct walk *w, const struct mb_recipe *r, const struct mb_dep *d)
{
	return mb_errf(w->err, MB_EINPUT,
		       "%s:%d:%d: '%s' depends on '%s', which no recipe in %s provides",
		       r->file, d->line, d->col, r->name, d->name, w->set->dir);
}

static int visit(struct walk *w, size_t idx)
{
	const struct mb_recipe *r = w->set->recipes[idx];
	struct mb_step *step;
	size_t i, *deps;
	int rc;

	if (w->color[idx] == BLACK)
		return 0;
	if (w->color[idx] == GREY)
		return cycle_err(w, idx);
	w->color[idx] = GREY;
	w->path[w->depth++] = idx;
	deps = xcalloc(r->n_deps, sizeof *deps);
	for (i = 0; i < r->n_deps; i++) {
		const struct mb_recipe *dep = mb_recipe_find(w->set, r->deps[i].name);
		size_t j;

		if (!dep) {
			free(deps);
			return missing_err(w, r, &r->deps[i]);
		}
		j = recipe_index(w->set, dep);
		if ((rc = visit(w, j)) < 0) {
			free(deps);
			return rc;
		}
		deps[i] = w->step_of[j];
	}
	w->depth--;
	w->color[idx] = BLACK;
	w->step_of[idx] = w->plan->n_steps;
	step = VEC_PUSH(w->plan->steps, w->plan->n_steps, w->cap_steps);
	step->recipe = r;
	step->deps = deps;
	step->n_deps = r->n_deps;
	return 0;
}

static int unknown_target(struct walk *w, const char *name)
{
	const char *best = NULL;
	size_t best_d = 3, i;

	for (i = 0; i < w->set->n_recipes + w->set->n_stacks; i++) {
		const char *cand = i < w->set->n_recipes ? w->set->recipes[i]->name
			: w->set->stacks[i - w->set->n_recipes]->name;
		size_t d = edit_distance(name, cand);
		if (d < best_d && d < strlen(name)) {
			best_d = d;
			best = cand;
		}
	}
	if (best)
		return mb_errf(w->err, MB_EINPUT,
			       "unknown target '%s' (did you mean '%s'?)", name, best);
	return mb_errf(w->err, MB_EINPUT,
		       "unknown target '%s': no stack or recipe of that name in %s",
		       name, w->set->dir);
}

static int visit_target(struct walk *w, const char *name)
{
	const struct mb_stack *s = mb_stack_find(w->set, name);
	const struct mb_recipe *r;
	size_t i;
	int rc;

	if (s) {
		for (i = 0; i < s->n_targets; i++) {
			r = mb_recipe_find(w->set, s->targets[i]);
			if (!r)
				return mb_errf(w->err, MB_EINPUT,
					       "%s: stack '%s' lists '%s', which no recipe in %s provides",
					       s->file, s->name, s->targets[i], w->set->dir);
			if ((rc = visit(w, recipe_index(w->set, r))) < 0)
				return rc;
		}
		return 0;
	}
	r = mb_recipe_find(w->set, name);
	if (!r)
		return unknown_target(w, name);
	return visit(w, recipe_index(w->set, r));
}

static const struct mb_step *find_step(const struct mb_plan *plan, const char *name)
{
	size_t i;

	for (i = 0; i < plan->n_steps; i++)
		if (name_equal(plan->steps[i].recipe->name, name))
			return &plan->steps[i];
	return NULL;
}

/* Externals carry a range, not a version: the host probe checks those. */
static int check_stack_constraints(const struct mb_plan *plan, const struct mb_stack *s,
				   struct mb_err *err)
{
	size_t i;

	for (i = 0; i < s->n_constraints; i++) {
		const struct mb_constraint *c = &s->constraints[i];
		const struct mb_step *st = find_step(plan, c->name);

		if (!st || st->recipe->kind == MB_KIND_EXTERNAL)
			continue;
		if (!mb_spec_contains(&c->spec, &st->recipe->ver))
			return mb_errf(err, MB_EINPUT,
				       "%s:%d:%d: stack '%s' needs %s %s, but the recipe in %s is %s %s",
				       s->file, c->line, c->col, s->name, c->name, c->spec_text,
				       st->recipe->file, st->recipe->name, st->recipe->version);
	}
	return 0;
}

static int check_dep_constraints(const struct mb_plan *plan, struct mb_err *err)
{
	size_t i, j;

	for (i = 0; i < plan->n_steps; i++) {
		const struct mb_recipe *r = plan->steps[i].recipe;

		for (j = 0; j < r->n_deps; j++) {
			const struct mb_dep *d = &r->deps[j];
			const struct mb_recipe *dep = plan->steps[plan->steps[i].deps[j]].recipe;

			if (dep->kind == MB_KIND_EXTERNAL)
				continue;
			if (!mb_spec_contains(&d->spec, &dep->ver))
				return mb_errf(err, MB_EINPUT,
					       "%s:%d:%d: '%s' needs %s %s, but the recipe in %s is %s %s",
					       r->file, d->line, d->col, r->name, d->name,
					       d->spec_text, dep->file, dep->name, dep->version);
		}
	}
	return 0;
}

static int check_constraints(const struct mb_plan *plan, struct mb_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < plan->n_targets; i++) {
		const struct mb_stack *s = mb_stack_find(plan->set, plan->targets[i]);
		if (s && (rc = check_stack_constraints(plan, s, err)) < 0)
			return rc;
	}
	return check_dep_constraints(plan, err);
}

static void add_constraint(struct sbuf *b, const char *text)
{
	size_t n = strlen(text);
	const char *at = b->s;

	if (!n)
		return;
	while (at && (at = strstr(at, text)) != NULL) {
		if ((at == b->s || at[-1] == ',') && (at[n] == '\0' || at[n] == ','))
			return; /* already there */
		at += n;
	}
	if (b->len)
		sbuf_puts(b, ",");
	sbuf_puts(b, text);
}

char *mb_plan_constraint(const struct mb_plan *plan, const struct mb_recipe *r)
{
	struct sbuf b = { 0 };
	size_t i, k;

	for (i = 0; i < plan->n_targets; i++) {
		const struct mb_stack *s = mb_stack_find(plan->set, plan->targets[i]);
		for (k = 0; s && k < s->n_constraints; k++)
			if (name_equal(s->constraints[k].name, r->name))
				add_constraint(&b, s->constraints[k].spec_text);
	}
	for (i = 0; i < plan->n_steps; i++)
		for (k = 0; k < plan->steps[i].recipe->n_deps; k++)
			if (name_equal(plan->steps[i].recipe->deps[k].name, r->name))
				add_constraint(&b, plan->steps[i].recipe->deps[k].spec_text);
	return sbuf_steal(&b);
}

int mb_plan_build(struct mb_plan *plan, const struct mb_recipe_set *set,
		  char *const *targets, size_t n_targets, struct mb_err *err)
{
	static char *const default_targets[] = { MB_DEFAULT_STACK };
	struct walk w = { 0 };
	size_t i;
	int rc = 0;

	memset(plan, 0, sizeof *plan);
	plan->set = set;
	if (n_targets == 0) {
		targets = default_targets;
		n_targets = 1;
	}
	plan->targets = xcalloc(n_targets, sizeof *plan->targets);
	for (i = 0; i < n_targets; i++)
		plan->targets[i] = xstrdup(targets[i]);
	plan->n_targets = n_targets;
	w.plan = plan;
	w.set = set;
	w.err = err;
	w.color = xcalloc(set->n_recipes, sizeof *w.color);
	w.step_of = xcalloc(set->n_recipes, sizeof *w.step_of);
	w.path = xcalloc(set->n_recipes, sizeof *w.path);
	for (i = 0; rc == 0 && i < n_targets; i++)
		rc = visit_target(&w, targets[i]);
	free(w.color);
	free(w.step_of);
	free(w.path);
	if (rc == 0)
		rc = check_constraints(plan, err);
	if (rc < 0) {
		mb_plan_free(plan);
		return rc;
	}
	if (find_step(plan, "python"))
		plan->python = find_step(plan, "python")->recipe;
	return 0;
}

void mb_plan_free(struct mb_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->n_steps; i++)
		free(plan->steps[i].deps);
	for (i = 0; i < plan->n_targets; i++)
		free(plan->targets[i]);
	free(plan->steps);
	free(plan->targets);
	memset(plan, 0, sizeof *plan);
}

long long mb_plan_known_size(const struct mb_plan *plan, size_t *unknown)
{
	long long total = 0;
	size_t i, j;

	*unknown = 0;
	for (i = 0; i < plan->n_steps; i++) {
		const struct mb_recipe *r = plan->steps[i].recipe;
		for (j = 0; j < r->n_artifacts; j++) {
			if (r->artifacts[j].size >= 0)
				total += r->artifacts[j].size;
			else
				(*unknown)++;
		}
	}
	return total;
}
