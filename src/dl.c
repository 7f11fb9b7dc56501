#include "dl.h"

#include <string.h>

#ifndef MB_LINKED_LIBS
#include <dlfcn.h>

void *mb_dl_open(const char *soname, const char *package, struct mb_err *err)
{
	void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!lib)
		mb_errf(err, MB_EHOST, "cannot load %s (install %s): %s", soname, package, dlerror());
	return lib;
}

int mb_dl_sym(void *lib, const char *soname, const char *name, void *slot, size_t size,
	      struct mb_err *err)
{
	void *sym = dlsym(lib, name);

	if (!sym)
		return mb_errf(err, MB_EHOST, "%s lacks %s: %s", soname, name, dlerror());
	memcpy(slot, &sym, size < sizeof sym ? size : sizeof sym);
	return 0;
}
#else
void *mb_dl_open(const char *soname, const char *package, struct mb_err *err)
{
	return mb_errf(err, MB_EFAIL, "internal: %s (%s) is linked, not loaded", soname, package),
	       NULL;
}

int mb_dl_sym(void *lib, const char *soname, const char *name, void *slot, size_t size,
	      struct mb_err *err)
{
	(void)lib, (void)slot, (void)size;
	return mb_errf(err, MB_EFAIL, "internal: %s is linked, not loaded (%s)", soname, name);
}
#endif
