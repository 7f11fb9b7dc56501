/* sha256 of a file through src/digest.c, for comparing its cost with
 * `openssl dgst -sha256` (tests/bench/fetch.sh). */
#include <stdio.h>

#include "digest.h"

int main(int argc, char **argv)
{
	struct mb_err err = { 0 };
	char hex[MB_SHA256_HEX];

	if (argc != 2 || mb_sha256_file(argv[1], hex, &err) < 0) {
		fprintf(stderr, "hashfile: %s\n", argc == 2 ? err.msg : "usage: hashfile FILE");
		return 1;
	}
	printf("%s\n", hex);
	return 0;
}
