/* The dependency graph of the requested targets, in install order.
 *
 * Everything that can be known from the recipes alone is checked here,
 * before a byte is fetched or written: unknown targets, missing recipes,
 * cycles (named), and the constraints of stacks and of depends. */
#ifndef MB_PLAN_H
#define MB_PLAN_H

#include <stddef.h>

#include "err.h"
#include "recipe.h"

struct mb_step {
	const struct mb_recipe *recipe;
	size_t *deps;     /* indices of earlier steps this one depends on */
	size_t n_deps;
};

struct mb_plan {
	const struct mb_recipe_set *set;
	char **targets;   /* the names asked for, as given */
	size_t n_targets;
	struct mb_step *steps; /* a recipe comes after all it depends on */
	size_t n_steps;
	const struct mb_recipe *python; /* the recipe named python, or NULL */
};

/* targets: stack or recipe names; none means the default stack "mamba". */
int mb_plan_build(struct mb_plan *plan, const struct mb_recipe_set *set,
		  char *const *targets, size_t n_targets, struct mb_err *err);
void mb_plan_free(struct mb_plan *plan);

/* What asked for r: the constraints on it of the plan's stacks and of the
 * depends of its recipes, ","-joined ("" when none); the caller frees it. */
char *mb_plan_constraint(const struct mb_plan *plan, const struct mb_recipe *r);

/* Sum of the sizes the recipes give; *unknown counts artifacts without one. */
long long mb_plan_known_size(const struct mb_plan *plan, size_t *unknown);

#define MB_DEFAULT_STACK "mamba"

#endif
