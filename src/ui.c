/* Drawing the core's events for a person (stderr) or a script (--json). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

void ui_init(struct ui *ui, const struct mb_opts *opts)
{
	const char *no_color = getenv("NO_COLOR");

	ui->quiet = opts->quiet;
	ui->verbose = opts->verbose;
	ui->json = opts->json;
	ui->tty = isatty(STDERR_FILENO) == 1;
	ui->color = ui->tty && !(no_color && *no_color);
}

void ui_size(long long bytes, char *out, size_t outlen)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(out, outlen, "%lld B", bytes);
	else
		snprintf(out, outlen, "%.1f %s", v, units[u]);
}

void ui_event(void *ctx, const struct mb_event *ev)
{
	struct ui *ui = ctx;

	switch (ev->type) {
	case MB_EV_WARN:
		fprintf(stderr, "mambaboot: warning: %s\n", ev->msg);
		break;
	case MB_EV_INFO:
		if (ui->verbose)
			fprintf(stderr, "%s\n", ev->msg);
		break;
	default:
		break;
	}
}
