/* libarchive, bound when the first archive is opened (dl.h says why):
 * archive.c and treedigest.c call it through this table, one per call of
 * theirs (binding costs microseconds once the library is loaded). */
#ifndef MB_ARCHIVEAPI_H
#define MB_ARCHIVEAPI_H

#include <archive.h>
#include <archive_entry.h>

#include "err.h"

/* The functions used, each as a member named without "archive_". */
#define MB_ARCHIVE_FUNCTIONS(X) \
	X(read_new) X(read_free) X(read_support_filter_all) X(read_support_format_all) \
	X(read_support_format_tar) X(read_support_format_zip) X(read_support_format_raw) \
	X(read_open) X(read_open_filename) X(read_next_header) X(read_data) \
	X(read_data_block) X(error_string) X(set_error) X(format) X(filter_count) \
	X(entry_filetype) X(entry_pathname) X(entry_pathname_utf8) X(entry_hardlink) \
	X(entry_symlink) X(entry_perm) X(entry_size) X(entry_mtime) X(entry_mtime_nsec) \
	X(entry_mtime_is_set) X(version_details)

struct mb_la {
#define MB_ARCHIVE_MEMBER(f) __typeof__(archive_##f) *f;
	MB_ARCHIVE_FUNCTIONS(MB_ARCHIVE_MEMBER)
#undef MB_ARCHIVE_MEMBER
};

/* Bind every function (src/link/lazy.c or linked.c, as the build chose): MB_EHOST naming the library when it cannot be
 * loaded (libarchive13 is not installed). */
int mb_la_open(struct mb_la *la, struct mb_err *err);

#endif
