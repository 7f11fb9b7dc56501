/* libFuzzer: the recipe loader (YAML tree + validation) on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "recipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_recipe *r;
	struct mb_stack *s;
	struct mb_err err;

	if (mb_recipe_parse("fuzz.yaml", (const char *)data, size, &r, &s, &err) == 0) {
		mb_recipe_free(r);
		mb_stack_free(s);
	}
	return 0;
}
