/* Opening a prefix: its lock, recovery of an interrupted transaction, and
 * its state. */
#define _DEFAULT_SOURCE /* flock(2): BSD, in glibc and musl alike */
#define _XOPEN_SOURCE 700

#include "prefix.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

#define LOCK_POLL_MS 50

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the holder wrote into the lock file: "pid N: command". */
static void lock_holder(int fd, char *out, size_t outlen)
{
	ssize_t n = pread(fd, out, outlen - 1, 0);

	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	if (!out[0])
		snprintf(out, outlen, "another process");
}

static void announce_wait(const struct mb_prefix *p, int fd)
{
	char holder[128], msg[256];
	struct mb_event ev = { .type = MB_EV_WARN, .msg = msg };

	lock_holder(fd, holder, sizeof holder);
	snprintf(msg, sizeof msg, "waiting for the lock on %s, held by %s", p->path, holder);
	mb_emit(p->ev, &ev);
}

static int take_lock(struct mb_prefix *p, double timeout, struct mb_err *err)
{
	char *path = path_join(p->dir, "lock"), holder[128], me[64];
	double start = now_s();
	bool announced = false;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	free(path);
	if (fd < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot open the lock of %s", p->path);
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			close(fd);
			return mb_errno(err, MB_EFAIL, errno, "cannot lock %s", p->path);
		}
		if (timeout >= 0 && now_s() - start >= timeout) {
			lock_holder(fd, holder, sizeof holder);
			close(fd);
			return mb_errf(err, MB_ELOCK,
				       "%s is locked by %s; gave up after %g s (--lock-timeout)",
				       p->path, holder, timeout);
		}
		if (!announced)
			announce_wait(p, fd);
		announced = true;
		sleep_ms(LOCK_POLL_MS);
	}
	snprintf(me, sizeof me, "pid %ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, me, strlen(me), 0) < 0)
		(void)0; /* the holder's name is a courtesy, not a need */
	p->lock_fd = fd;
	return 0;
}

static int make_dirs(struct mb_prefix *p, bool create, struct mb_err *err)
{
	struct stat st;
	char real[PATH_MAX];
	int rc;

	if (stat(p->path, &st) < 0) {
		if (errno != ENOENT || !create)
			return mb_errno(err, MB_EINPUT, errno, "prefix %s", p->path);
		if ((rc = mkdir_p(p->path, 0755, err)) < 0)
			return rc;
	} else if (!S_ISDIR(st.st_mode)) {
		return mb_errf(err, MB_EINPUT, "prefix %s is not a directory", p->path);
	}
	if (!realpath(p->path, real))
		return mb_errno(err, MB_EFAIL, errno, "cannot resolve %s", p->path);
	free(p->path);
	p->path = xstrdup(real);
	p->dir = path_join(p->path, ".mambaboot");
	if (stat(p->dir, &st) < 0 && !create)
		return mb_errf(err, MB_EINPUT, "%s is not a mambaboot prefix (no .mambaboot/)",
			       p->path);
	return mkdir_p(p->dir, 0755, err);
}

static int load_state(struct mb_prefix *p, struct mb_err *err)
{
	char *path = path_join(p->dir, "state.json");
	int rc = 0;

	if (access(path, F_OK) == 0)
		rc = mb_state_read(path, &p->state, err);
	free(path);
	return rc;
}

int mb_prefix_open(struct mb_prefix *p, const char *path, bool create,
		   double lock_timeout, const struct mb_events *ev, struct mb_err *err)
{
	int rc;

	memset(p, 0, sizeof *p);
	p->lock_fd = -1;
	p->ev = ev;
	p->path = xstrdup(path);
	if ((rc = make_dirs(p, create, err)) < 0 || (rc = take_lock(p, lock_timeout, err)) < 0 ||
	    (rc = mb_txn_recover(p, err)) < 0 || (rc = load_state(p, err)) < 0) {
		mb_prefix_close(p);
		return rc;
	}
	mb_prefix_gc(p);
	return 0;
}

void mb_prefix_close(struct mb_prefix *p)
{
	if (p->lock_fd >= 0)
		close(p->lock_fd); /* releases the flock */
	mb_state_free(&p->state);
	free(p->path);
	free(p->dir);
	memset(p, 0, sizeof *p);
	p->lock_fd = -1;
}

/* Plain digits (at most 18: no overflow) up to `end`; *s moves past it. */
static bool number(const char **s, char end, size_t *out)
{
	size_t n = strspn(*s, "0123456789");

	if (n == 0 || n > 18 || (*s)[n] != end)
		return false;
	*out = (size_t)strtoull(*s, NULL, 10);
	*s += n + 1;
	return true;
}

bool mb_files_ref_parse(const char *ref, char **file, struct mb_files_at *at)
{
	const char *colon = strchr(ref, ':'), *pos = colon ? colon + 1 : NULL;
	size_t name_len = colon ? (size_t)(colon - ref) : strlen(ref);

	*file = NULL;
	memset(at, 0, sizeof *at);
	if (name_len == 0 || memchr(ref, '/', name_len) || (name_len == 1 && ref[0] == '.') ||
	    (name_len == 2 && !strncmp(ref, "..", 2)))
		return false;
	if (colon && (!number(&pos, ':', &at->offset) || !number(&pos, '\0', &at->length) ||
		      at->length == 0))
		return false;
	*file = xstrndup(ref, name_len);
	return true;
}

int mb_prefix_load_files(const struct mb_prefix *p, struct mb_state_recipe *r,
			 struct mb_err *err)
{
	struct mb_files_at at;
	char *file, *path;
	int rc;

	if (r->files_loaded)
		return 0;
	if (!mb_files_ref_parse(r->files_ref, &file, &at))
		return mb_errf(err, MB_EFAIL, "damaged state file: '%s' names no file list of %s",
			       r->name, p->dir);
	path = xasprintf("%s/files/%s", p->dir, file);
	rc = at.length ? mb_files_read_at(path, &at, &r->files, err)
		       : mb_files_read(path, &r->files, err);
	free(path);
	free(file);
	if (rc == 0)
		r->files_loaded = true;
	return rc;
}
