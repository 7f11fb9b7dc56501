/* Argument parsing and command dispatch; nothing else. */
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "err.h"
#include "libs.h"

#ifndef MB_VERSION_STRING
#define MB_VERSION_STRING "0.1.0"
#endif

static const struct mb_cmd *const commands[] = {
	&cmd_install,
	&cmd_plan,
	&cmd_mirror,
	&cmd_list,
	&cmd_verify,
	&cmd_remove,
	&cmd_digest,
	&cmd_doctor,
	&cmd_fetch,
	&cmd_lock,
	&cmd_run,
	&cmd_build_key,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
	size_t i;

	fputs("usage: mambaboot COMMAND [ARGS...] [OPTIONS]\n\n"
	      "Install a pinned, verified toolchain and Python stack into a prefix.\n\n"
	      "Commands:\n", out);
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
	fputs("\n'mambaboot COMMAND --help' describes a command and its options.\n"
	      "Exit codes: 0 ok, 1 failure, 2 bad input, 3 download, 4 integrity,\n"
	      "5 build, 6 host requirement, 7 lock.\n", out);
}

/* --version --verbose: how it was built, and each library's own version. */
static void print_version(bool verbose)
{
	struct mb_lib_version libs[MB_N_LIBS];
	size_t i;

	printf("mambaboot %s\n", MB_VERSION_STRING);
	if (!verbose)
		return;
	printf("build: %s, %s\n", mb_build_kind(), mb_libs_binding);
	mb_libs_versions(libs);
	for (i = 0; i < MB_N_LIBS; i++)
		printf("%s: %s\n", libs[i].name, libs[i].text);
}

static int fail(const struct mb_err *err)
{
	fprintf(stderr, "mambaboot: error: %s\n", err->msg);
	return err->code ? err->code : 1;
}

int main(int argc, char **argv)
{
	struct mb_err err = { 0 };
	struct mb_opts opts;
	size_t i;
	int rc;

	/* With TZ unset, glibc stats /etc/localtime at every mktime(), which
	 * libarchive calls for each zip member's DOS time: 20,000 system calls
	 * for a wheel of 20,000 files.  ":/etc/localtime" names the same zone
	 * and is read once. */
	if (!getenv("TZ"))
		setenv("TZ", ":/etc/localtime", 0);
	if (argc < 2) {
		usage(stderr);
		return MB_EINPUT;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		print_version(argc > 2 && (strcmp(argv[2], "--verbose") == 0 ||
					   strcmp(argv[2], "-v") == 0));
		return 0;
	}
	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(argv[1], commands[i]->name) == 0)
			break;
	if (i == N_COMMANDS) {
		mb_errf(&err, MB_EINPUT, "unknown command '%s' (see mambaboot --help)", argv[1]);
		return fail(&err);
	}
	cli_catch_signals();
	/* Archive member names are UTF-8: a C locale could not convert them. */
	if (!setlocale(LC_CTYPE, "") || !strcmp(setlocale(LC_CTYPE, NULL), "C") ||
	    !strcmp(setlocale(LC_CTYPE, NULL), "POSIX"))
		setlocale(LC_CTYPE, "C.UTF-8");
	rc = cli_parse(commands[i], argc - 1, argv + 1, &opts, &err);
	if (rc == 0)
		rc = commands[i]->run(&opts, &err);
	cli_opts_free(&opts);
	if (rc < 0)
		return fail(&err);
	return 0;
}
