/* libFuzzer: PEP 440 versions and specifiers; checks that ordering is
 * antisymmetric and that a parsed version formats to one that parses equal. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[256], out[512], why[128];
	struct mb_version a, b;
	struct mb_spec spec;
	size_t half;

	if (size >= sizeof buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (mb_version_parse(buf, &a) == 0) {
		mb_version_format(&a, out, sizeof out);
		if (mb_version_parse(out, &b) != 0 || mb_version_cmp(&a, &b) != 0)
			abort();
	}
	if (mb_spec_parse(buf, &spec, why, sizeof why) == 0 && mb_version_parse("1.0", &a) == 0)
		(void)mb_spec_contains(&spec, &a);
	half = size / 2;
	buf[half] = '\0';
	if (mb_version_parse(buf, &a) == 0 && mb_version_parse(buf + half + 1, &b) == 0) {
		int x = mb_version_cmp(&a, &b), y = mb_version_cmp(&b, &a);
		if ((x > 0) != (y < 0) || (x == 0) != (y == 0))
			abort();
	}
	return 0;
}
