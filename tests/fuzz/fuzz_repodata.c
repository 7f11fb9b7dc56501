/* libFuzzer: the streaming repodata scanner, the simple index page reader
 * and the CEP 16 msgpack readers (shard index, shard) on arbitrary bytes.  The scanner is fed in chunks whose sizes come
 * from the first byte, so that keys, strings and copied-out entries are cut
 * at every place a network read could cut them; the same bytes are then
 * read as a PEP 691/503 project page. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repodata.h"
#include "shards.h"
#include "simpleindex.h"

static int found(void *ctx, const char *filename, const char *sha256, int64_t size,
		 struct mb_err *err)
{
	(void)ctx;
	(void)err;
	/* what the scanner reports is always a wanted name and 64 hex digits */
	if (strlen(sha256) != 64 || size < -1 || !filename[0])
		__builtin_trap();
	return 0;
}

static void fuzz_shards(const uint8_t *data, size_t size)
{
	struct mb_err err = { 0 };
	char hex[65], *base = NULL;
	int64_t n;

	if (mb_shards_index_find(data, size, "a", hex, &base, &err) == 1 && strlen(hex) != 64)
		__builtin_trap();
	free(base);
	mb_shards_shard_find(data, size, "a-1.0-0.conda", hex, &n, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const wanted[] = { "a-1.0-0.conda", "b-2-0.tar.bz2", "x" };
	struct mb_repodata_scan *s;
	struct mb_simple_hit hit;
	struct mb_err err = { 0 };
	size_t step, off = 0;
	int rc = 0;

	if (size == 0)
		return 0;
	step = (size_t)(data[0] % 17) + 1;
	data++;
	size--;
	s = mb_repodata_scan_new(wanted, 3, found, NULL);
	while (rc == 0 && off < size) {
		size_t n = size - off < step ? size - off : step;
		rc = mb_repodata_scan_feed(s, (const char *)data + off, n, &err);
		off += n;
	}
	if (rc == 0)
		mb_repodata_scan_finish(s, &err);
	mb_repodata_scan_free(s);
	mb_simple_find((const char *)data, size, "a-1.0-0.conda", &hit, &err);
	fuzz_shards(data, size);
	return 0;
}
