/* jsonload FILE N: parse a JSON file N times with json_load_file (stdio,
 * a character at a time) and with json_read_whole (src/util.c: one read,
 * json_loadb), printing the best time of each, in ms.  For info/paths.json
 * of a large conda package (docs/benchmarks.md). */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util.h"

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	double best_file = 1e9, best_whole = 1e9, t;
	int i, n = argc == 3 ? atoi(argv[2]) : 0;
	json_t *j;

	if (n <= 0) {
		fprintf(stderr, "usage: jsonload FILE N\n");
		return 2;
	}
	for (i = 0; i < n; i++) {
		t = now_ms();
		j = json_load_file(argv[1], 0, NULL);
		t = now_ms() - t;
		best_file = t < best_file ? t : best_file;
		json_decref(j);
		t = now_ms();
		if (json_read_whole(argv[1], (size_t)1 << 30, 1, &j, NULL) < 0)
			return 1;
		t = now_ms() - t;
		best_whole = t < best_whole ? t : best_whole;
		json_decref(j);
	}
	printf("json_load_file %.2f ms, json_read_whole %.2f ms (best of %d)\n", best_file,
	       best_whole, n);
	return 0;
}
