/* libFuzzer: a cache entry's manifest (info/.mambaboot-paths), which
 * linking reads instead of paths.json, on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "conda.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mb_conda_parse_manifest((const char *)data, size,
				"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	return 0;
}
