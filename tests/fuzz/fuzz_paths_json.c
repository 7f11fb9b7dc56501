/* libFuzzer: a conda package's info/paths.json, then info/has_prefix
 * applied to its entries, on arbitrary bytes (the input splits at its
 * first NUL: paths.json before, has_prefix after). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conda.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t json_len = nul ? (size_t)(nul - data) : size;
	char *has_prefix = NULL;
	struct mb_err err = { 0 };

	if (nul) {
		size_t rest = size - json_len - 1;
		has_prefix = malloc(rest + 1);
		if (!has_prefix)
			return 0;
		memcpy(has_prefix, nul + 1, rest);
		has_prefix[rest] = '\0';
	}
	mb_conda_parse_paths((const char *)data, json_len, has_prefix, &err);
	free(has_prefix);
	return 0;
}
