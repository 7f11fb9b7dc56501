/* How this binary was built, and which libraries it runs with: for
 * `mambaboot --version --verbose`, and for bug reports. */
#ifndef MB_LIBS_H
#define MB_LIBS_H

/* How libcurl and libarchive are bound: src/link/lazy.c or linked.c. */
extern const char mb_libs_binding[];

/* "static" or "dynamic", with the C library it was built against. */
const char *mb_build_kind(void);

struct mb_lib_version {
	const char *name;
	char text[192]; /* its version, or why it cannot be loaded */
};

enum { MB_N_LIBS = 6 };

/* The version of each library, as the library itself reports it. */
void mb_libs_versions(struct mb_lib_version out[MB_N_LIBS]);

#endif
