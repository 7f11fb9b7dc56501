/* The events the core reports.  The core never prints: it calls the
 * caller's callback, and the CLI (ui.c) decides how to draw each event:
 * a progress bar on a terminal, a line in a log, a JSON field. */
#ifndef MB_EVENT_H
#define MB_EVENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

enum mb_event_type {
	MB_EV_INFO,           /* msg: something a -v user wants to see */
	MB_EV_WARN,           /* msg: a warning, always shown */
	MB_EV_STEP_BEGIN,     /* name, msg: a pipeline step begins */
	MB_EV_STEP_END,       /* name */
	MB_EV_FETCH_BEGIN,    /* name, url, total (-1 unknown) */
	MB_EV_FETCH_PROGRESS, /* name, done, total */
	MB_EV_FETCH_RETRY,    /* name, url, msg: why, and what comes next */
	MB_EV_FETCH_END,      /* name, url, done, msg: NULL on success */
	MB_EV_BUILD_LINE,     /* name, msg: one line of build output */
	MB_EV_BUILD_TAIL,     /* name, msg: the last lines of a failed build's log */
	MB_EV_FETCH_CACHED,   /* name, url: the blob path, done: size; already in the cache */
	MB_EV_NOTE,           /* name (may be NULL), msg: a fact worth a line unless -q
			       * (the CUDA architectures chosen, a build step's time) */
};

struct mb_event {
	enum mb_event_type type;
	const char *name;  /* recipe or artifact */
	const char *url;
	const char *msg;
	int64_t done, total;
};

struct mb_events {
	void (*cb)(void *ctx, const struct mb_event *ev);
	void *ctx;
	/* Set (by the CLI's SIGINT/SIGTERM handler) when the user asked to
	 * stop; long loops poll it with mb_interrupted() and fail cleanly. */
	const volatile sig_atomic_t *stop;
};

static inline void mb_emit(const struct mb_events *ev, const struct mb_event *e)
{
	if (ev && ev->cb)
		ev->cb(ev->ctx, e);
}

static inline bool mb_interrupted(const struct mb_events *ev)
{
	return ev && ev->stop && *ev->stop;
}

#endif
