#include "stage.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct mb_owned_file *mb_owned_extend(struct mb_owned *o, size_t n)
{
	struct mb_owned_file *first;

	o->v = grow(o->v, &o->cap, o->n + n, sizeof *o->v);
	first = o->v + o->n;
	o->n += n; /* not zeroed: 2 MB for 20,000 files, each set whole anyway */
	return first;
}

void mb_owned_set(struct mb_owned_file *f, char *path, enum mb_owned_type type,
		  const char *sha256, int64_t size, mode_t mode)
{
	size_t skip = 0;

	while (path[skip] == '.' && path[skip + 1] == '/')
		skip += 2;
	if (skip)
		memmove(path, path + skip, strlen(path + skip) + 1);
	f->path = path;
	f->type = type;
	f->sha256[0] = f->sha256[64] = '\0';
	if (sha256)
		memcpy(f->sha256, sha256, 64);
	f->size = size;
	f->mode = mode;
}

struct mb_owned_file *mb_owned_add(struct mb_owned *o, const char *path,
				   enum mb_owned_type type, const char *sha256,
				   int64_t size, mode_t mode)
{
	struct mb_owned_file *f = mb_owned_extend(o, 1);

	mb_owned_set(f, xstrdup(path), type, sha256, size, mode);
	return f;
}

void mb_owned_free(struct mb_owned *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		free(o->v[i].path);
	free(o->v);
	memset(o, 0, sizeof *o);
}

char *mb_python_shebang(const char *python)
{
	if (strlen(python) + 2 <= 127 && !strchr(python, ' '))
		return xasprintf("#!%s\n", python);
	return xasprintf("#!/bin/sh\n'''exec' \"%s\" \"$0\" \"$@\"\n' '''\n", python);
}
