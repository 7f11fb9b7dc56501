/* One error convention for the whole program.
 *
 * A function that can fail returns 0 on success or a negative MB_E* code,
 * and fills the caller's struct mb_err with a one-line message.  The code
 * is the error's class; main() turns it into the exit code of SPEC.md.
 */
#ifndef MB_ERR_H
#define MB_ERR_H

#include <stddef.h>

enum mb_code {
	MB_OK = 0,
	MB_EFAIL = 1,      /* I/O, disk full, internal */
	MB_EINPUT = 2,     /* usage, invalid recipe, cycle, constraint */
	MB_EFETCH = 3,     /* download failed after retries and mirrors */
	MB_EINTEGRITY = 4, /* digest/size mismatch, unsafe archive entry */
	MB_EBUILD = 5,     /* a source build step failed */
	MB_EHOST = 6,      /* host requirement not met */
	MB_ELOCK = 7,      /* lock not taken in time */
};

#define MB_ERR_MSG_MAX 1024

struct mb_err {
	int code;                 /* enum mb_code, positive */
	char msg[MB_ERR_MSG_MAX]; /* one line, no trailing newline */
};

/* Record an error and return -code, so callers can write
 * `return mb_errf(err, MB_EINPUT, "...", ...);`. */
int mb_errf(struct mb_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like mb_errf, appending ": strerror(errnum)". */
int mb_errno(struct mb_err *err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefix the existing message with more context ("while X: <msg>"). */
int mb_err_wrap(struct mb_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void mb_err_clear(struct mb_err *err);

#endif
