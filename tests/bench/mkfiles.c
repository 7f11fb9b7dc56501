/* The file system's own floor for a cold install (issue #19): DIRS
 * directories of FILES files of BYTES bytes each under ROOT, made with
 * nothing else (mkdir, open, write, close), for comparing with what an
 * unpacker spends on the same tree.
 *   cc -O2 -o mkfiles tests/bench/mkfiles.c
 *   time sh -c './mkfiles A 100 100 3000 & ./mkfiles B 100 100 3000; wait' */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[4096], *buf;
	int dirs, files, i, j;
	size_t bytes;

	if (argc != 5)
		return fprintf(stderr, "usage: mkfiles ROOT DIRS FILES BYTES\n"), 2;
	dirs = atoi(argv[2]), files = atoi(argv[3]), bytes = (size_t)atol(argv[4]);
	if (!(buf = calloc(1, bytes ? bytes : 1)) || mkdir(argv[1], 0755) < 0)
		return perror(argv[1]), 1;
	for (i = 0; i < dirs; i++) {
		snprintf(path, sizeof path, "%s/d%d", argv[1], i);
		if (mkdir(path, 0755) < 0)
			return perror(path), 1;
		for (j = 0; j < files; j++) {
			int fd;
			snprintf(path, sizeof path, "%s/d%d/f%d", argv[1], i, j);
			if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0 ||
			    write(fd, buf, bytes) != (ssize_t)bytes || close(fd) < 0)
				return perror(path), 1;
		}
	}
	free(buf);
	return 0;
}
