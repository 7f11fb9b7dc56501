#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Messages are one line by contract: fold any newline a caller let in. */
static void one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

int mb_errf(struct mb_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	one_line(err->msg);
	return -code;
}

int mb_errno(struct mb_err *err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err)
		return -code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof err->msg - n, ": %s", strerror(errnum));
	one_line(err->msg);
	return -code;
}

int mb_err_wrap(struct mb_err *err, const char *fmt, ...)
{
	char old[MB_ERR_MSG_MAX];
	va_list ap;
	size_t n;

	if (!err)
		return -MB_EFAIL;
	memcpy(old, err->msg, sizeof old);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	if (n + 2 < sizeof err->msg) {
		memcpy(err->msg + n, ": ", 3);
		strncat(err->msg, old, sizeof err->msg - n - 3);
	}
	one_line(err->msg);
	return -err->code;
}

void mb_err_clear(struct mb_err *err)
{
	err->code = MB_OK;
	err->msg[0] = '\0';
}
