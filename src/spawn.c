#define _XOPEN_SOURCE 700

#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

char *spawn_which(const char *name, const char *path)
{
	const char *p;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
	if (!path)
		path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	for (p = path; *p;) {
		size_t len = strcspn(p, ":");
		char *cand = len ? xasprintf("%.*s/%s", (int)len, p, name) : xasprintf("./%s", name);
		struct stat st;

		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
			return cand;
		free(cand);
		p += len;
		if (*p == ':')
			p++;
	}
	return NULL;
}

/* In the child: wire the pipe to stdout and stderr, then exec. */
static void child(char *const argv[], char *const envp[], const char *cwd, int fd,
		  const char *exe)
{
	int devnull = open("/dev/null", O_RDONLY);

	setpgid(0, 0); /* so that a stop reaches everything it starts */
	if (devnull >= 0)
		dup2(devnull, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (cwd && chdir(cwd) < 0)
		_exit(127);
	execve(exe, argv, envp ? envp : environ);
	_exit(127);
}

static int wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 127;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

struct capture {
	struct sbuf *out;
	size_t limit;
};

static void capture_sink(void *ctx, const char *buf, size_t n)
{
	struct capture *c = ctx;

	if (c->out->len < c->limit)
		sbuf_add(c->out, buf, c->out->len + n > c->limit ? c->limit - c->out->len : n);
}

/* 0: the program closed its output; 1: timed out; 2: stopped. */
static int drain(int fd, spawn_sink sink, void *ctx, int timeout_s,
		 const volatile sig_atomic_t *stop, pid_t pid)
{
	time_t deadline = timeout_s ? time(NULL) + timeout_s : 0;
	struct timespec grace = { 0, 200000000L };
	char buf[4096];

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int r = poll(&pfd, 1, 200);
		ssize_t n;

		if ((deadline && time(NULL) > deadline) || (stop && *stop)) {
			kill(-pid, SIGTERM);
			kill(pid, SIGTERM);
			nanosleep(&grace, NULL);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			return stop && *stop ? 2 : 1;
		}
		if (r < 0 && errno != EINTR)
			return 0;
		if (r <= 0)
			continue;
		n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		sink(ctx, buf, (size_t)n);
	}
}

static int spawn_run(char *const argv[], char *const envp[], const char *cwd,
		     spawn_sink sink, void *ctx, int timeout_s, const volatile sig_atomic_t *stop,
		     int *status, struct mb_err *err)
{
	char *exe = spawn_which(argv[0], NULL);
	int fds[2], ended;
	pid_t pid;

	if (!exe)
		return mb_errf(err, MB_EHOST, "%s: command not found", argv[0]);
	if (pipe(fds) < 0) {
		free(exe);
		return mb_errno(err, MB_EFAIL, errno, "pipe");
	}
	pid = fork();
	if (pid < 0) {
		free(exe);
		close(fds[0]);
		close(fds[1]);
		return mb_errno(err, MB_EFAIL, errno, "cannot run %s", argv[0]);
	}
	if (pid == 0) {
		close(fds[0]);
		child(argv, envp, cwd, fds[1], exe);
	}
	free(exe);
	close(fds[1]);
	setpgid(pid, pid); /* also here: no race with the child's own call */
	ended = drain(fds[0], sink, ctx, timeout_s, stop, pid);
	close(fds[0]);
	*status = wait_status(pid);
	if (ended == 1)
		return mb_errf(err, MB_EFAIL, "%s did not finish within %d s", argv[0], timeout_s);
	if (ended == 2)
		return mb_errf(err, MB_EFAIL, "interrupted; %s was stopped", argv[0]);
	return 0;
}

int spawn_capture(char *const argv[], char *const envp[], const char *cwd,
		  struct sbuf *out, size_t limit, int timeout_s, int *status,
		  struct mb_err *err)
{
	struct capture c = { out, limit };
	return spawn_run(argv, envp, cwd, capture_sink, &c, timeout_s, NULL, status, err);
}

int spawn_stream(char *const argv[], char *const envp[], const char *cwd,
		 spawn_sink sink, void *ctx, const volatile sig_atomic_t *stop,
		 int *status, struct mb_err *err)
{
	return spawn_run(argv, envp, cwd, sink, ctx, 0, stop, status, err);
}

int spawn_exec(char *const argv[], char *const envp[], struct mb_err *err)
{
	char *exe = spawn_which(argv[0], NULL);

	if (!exe)
		return mb_errf(err, MB_EHOST, "%s: command not found", argv[0]);
	execve(exe, argv, envp ? envp : environ);
	free(exe);
	return mb_errno(err, MB_EFAIL, errno, "cannot run %s", argv[0]);
}
