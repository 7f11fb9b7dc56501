/* Running a program by argv (never through a shell string). */
#ifndef MB_SPAWN_H
#define MB_SPAWN_H

#include <signal.h>
#include <stddef.h>

#include "err.h"
#include "util.h"

/* Find an executable on PATH (or the given search path); NULL if none. */
char *spawn_which(const char *name, const char *path);

/* Run argv (argv[0] resolved on PATH when it has no '/'), with envp (NULL:
 * the current environment) and cwd (NULL: unchanged); its stdout and
 * stderr together are appended to *out, up to `limit` bytes.  *status gets
 * the exit code (128+N for a signal).  Gives up after timeout_s seconds
 * (0: no limit), killing the program. */
int spawn_capture(char *const argv[], char *const envp[], const char *cwd,
		  struct sbuf *out, size_t limit, int timeout_s, int *status,
		  struct mb_err *err);

/* Like spawn_capture, but every byte of output goes to `sink` as it comes
 * (for build logs), and no time limit.  The program runs in a process
 * group of its own; when *stop becomes set (SIGINT/SIGTERM reached us) the
 * whole group is terminated and MB_EFAIL returned. */
typedef void (*spawn_sink)(void *ctx, const char *buf, size_t len);
int spawn_stream(char *const argv[], char *const envp[], const char *cwd,
		 spawn_sink sink, void *ctx, const volatile sig_atomic_t *stop,
		 int *status, struct mb_err *err);

/* Replace this process with argv[0] (resolved on the current PATH when it
 * has no '/'), in environment envp.  Returns only on failure. */
int spawn_exec(char *const argv[], char *const envp[], struct mb_err *err);

#endif
