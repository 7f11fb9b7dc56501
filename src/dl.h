/* Shared libraries bound when first needed instead of at program start.
 *
 * Debian's libcurl and libarchive bring some forty libraries between them
 * (Kerberos, LDAP, GnuTLS, libxml2, ICU...), all linked with BIND_NOW:
 * loading them costs ~15 ms at every start, as much as a warm install's
 * own work on a small package, and most runs need neither (a warm install
 * links from the cache; plan and doctor touch no archive).  Each user
 * keeps a table of the functions it calls (curlapi.h, archiveapi.h) and
 * fills it on first use.  Built with MB_LINKED_LIBS (a static binary has
 * no dlopen), the tables point at the linked functions instead. */
#ifndef MB_DL_H
#define MB_DL_H

#include <stddef.h>

#include "err.h"

/* dlopen(soname); MB_EHOST naming the Debian package when it fails.  The
 * handle is never closed: the libraries register exit handlers. */
void *mb_dl_open(const char *soname, const char *package, struct mb_err *err);

/* Copy the address of `name` into the function pointer at slot (size
 * bytes: ISO C does not convert void * to a function pointer, POSIX
 * guarantees the bits are the same). */
int mb_dl_sym(void *lib, const char *soname, const char *name, void *slot, size_t size,
	      struct mb_err *err);

#endif
