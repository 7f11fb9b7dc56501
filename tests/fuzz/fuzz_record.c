/* libFuzzer: the wheel RECORD parser on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "wheel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_record_entry *v = NULL;
	long n = mb_record_parse((const char *)data, size, &v);

	if (n >= 0)
		mb_record_free(v, n);
	return 0;
}
