#include "archiveapi.h"

#include "dl.h"

#define SONAME "libarchive.so.13"

int mb_la_open(struct mb_la *la, struct mb_err *err)
{
#ifdef MB_LINKED_LIBS
	(void)err;
#define MB_ARCHIVE_LINKED(f) la->f = archive_##f;
	MB_ARCHIVE_FUNCTIONS(MB_ARCHIVE_LINKED)
#undef MB_ARCHIVE_LINKED
	return 0;
#else
	void *lib = mb_dl_open(SONAME, "libarchive13", err);
	int rc = lib ? 0 : -err->code;

#define MB_ARCHIVE_BIND(f) \
	if (rc == 0) \
		rc = mb_dl_sym(lib, SONAME, "archive_" #f, &la->f, sizeof la->f, err);
	MB_ARCHIVE_FUNCTIONS(MB_ARCHIVE_BIND)
#undef MB_ARCHIVE_BIND
	return rc;
#endif
}
