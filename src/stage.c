#include "stage.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct mb_owned_file *mb_owned_add(struct mb_owned *o, const char *path,
				   enum mb_owned_type type, const char *sha256,
				   int64_t size, mode_t mode)
{
	struct mb_owned_file *f = VEC_PUSH(o->v, o->n, o->cap);

	memset(f, 0, sizeof *f);
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	f->path = xstrdup(path);
	f->type = type;
	if (sha256)
		memcpy(f->sha256, sha256, 64);
	f->size = size;
	f->mode = mode;
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
