/* Drawing the core's events for a person (stderr) or a script (--json). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

void ui_init(struct ui *ui, const struct mb_opts *opts)
{
	const char *no_color = getenv("NO_COLOR");

	ui->quiet = opts->quiet;
	ui->verbose = opts->verbose;
	ui->json = opts->json;
	ui->tty = isatty(STDERR_FILENO) == 1;
	ui->color = ui->tty && !(no_color && *no_color);
	ui->bars = NULL;
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

/* ---- download progress ---- */

enum { BAR_WIDTH = 24, REDRAW_MS = 100, NAME_WIDTH = 28 };

struct bar {
	char *name;
	int64_t done, total, start_done;
	int64_t start_ms;
	bool active;
};

struct ui_bars {
	struct bar *v;
	size_t n, cap;
	int drawn;        /* lines of bars on screen */
	int64_t drawn_ms;
	int64_t start_ms;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct bar *bar_find(struct ui *ui, const char *name)
{
	struct ui_bars *b;
	struct bar *bar;
	size_t i;

	if (!ui->bars) {
		ui->bars = xcalloc(1, sizeof *ui->bars);
		ui->bars->start_ms = mono_ms();
	}
	b = ui->bars;
	for (i = 0; i < b->n; i++)
		if (strcmp(b->v[i].name, name) == 0)
			return &b->v[i];
	bar = VEC_PUSH(b->v, b->n, b->cap);
	memset(bar, 0, sizeof *bar);
	bar->name = xstrdup(name);
	bar->total = -1;
	return bar;
}

static void erase_bars(struct ui *ui)
{
	struct ui_bars *b = ui->bars;

	if (!b)
		return;
	for (; b->drawn > 0; b->drawn--)
		fputs("\033[1A\033[2K", stderr);
	fputs("\r\033[2K", stderr);
}

static void eta_text(int64_t left, double rate, char *out, size_t n)
{
	long s;

	if (left < 0 || rate <= 0) {
		snprintf(out, n, "--:--");
		return;
	}
	s = (long)((double)left / rate);
	if (s > 359999)
		s = 359999;
	if (s >= 3600)
		snprintf(out, n, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, n, "%02ld:%02ld", s / 60, s % 60);
}

static void draw_line(const char *name, int64_t done, int64_t total, double rate)
{
	char hashes[BAR_WIDTH + 1], d[32], t[32], r[32], eta[64];
	int fill = total > 0 ? (int)((double)done * BAR_WIDTH / (double)total) : 0, i;

	for (i = 0; i < BAR_WIDTH; i++)
		hashes[i] = i < fill ? '#' : (total > 0 ? '.' : ' ');
	hashes[BAR_WIDTH] = '\0';
	ui_size(done, d, sizeof d);
	if (total >= 0)
		ui_size(total, t, sizeof t);
	else
		snprintf(t, sizeof t, "?");
	ui_size((long long)rate, r, sizeof r);
	eta_text(total >= 0 ? total - done : -1, rate, eta, sizeof eta);
	fprintf(stderr, "%-*.*s [%s] %9s / %-9s %9s/s %s\n", NAME_WIDTH, NAME_WIDTH, name,
		hashes, d, t, r, eta);
}

static void draw_bars(struct ui *ui)
{
	struct ui_bars *b = ui->bars;
	int64_t t = mono_ms(), sum_done = 0, sum_total = 0;
	size_t i;

	erase_bars(ui);
	for (i = 0; i < b->n; i++) {
		struct bar *bar = &b->v[i];
		sum_done += bar->done;
		if (bar->total < 0 || sum_total < 0)
			sum_total = -1;
		else
			sum_total += bar->total;
		if (!bar->active)
			continue;
		double secs = (double)(t - bar->start_ms) / 1000;
		draw_line(bar->name, bar->done, bar->total,
			  secs > 0 ? (double)(bar->done - bar->start_done) / secs : 0);
		b->drawn++;
	}
	double secs = (double)(t - b->start_ms) / 1000;
	draw_line("total", sum_done, sum_total, secs > 0 ? (double)sum_done / secs : 0);
	b->drawn++;
	b->drawn_ms = t;
	fflush(stderr);
}

/* A line that stays: printed above the bars. */
static void print_above(struct ui *ui, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void print_above(struct ui *ui, const char *fmt, ...)
{
	va_list ap;

	if (ui->tty)
		erase_bars(ui);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (ui->tty && ui->bars)
		draw_bars(ui);
}

static void fetch_event(struct ui *ui, const struct mb_event *ev)
{
	struct bar *bar = bar_find(ui, ev->name);
	char size[32];

	switch (ev->type) {
	case MB_EV_FETCH_BEGIN:
		bar->active = true;
		bar->start_ms = mono_ms();
		bar->done = bar->start_done = ev->done;
		bar->total = ev->total;
		break;
	case MB_EV_FETCH_PROGRESS:
		bar->done = ev->done;
		if (ev->total >= 0)
			bar->total = ev->total;
		break;
	case MB_EV_FETCH_RETRY:
		if (!ui->quiet)
			print_above(ui, "mambaboot: %s: %s: %s\n", ev->name, ev->url ? ev->url : "",
				    ev->msg);
		return;
	case MB_EV_FETCH_CACHED:
	case MB_EV_FETCH_END:
		bar->active = false;
		bar->done = ev->done;
		bar->total = ev->done;
		ui_size(ev->done, size, sizeof size);
		if (ui->quiet || ev->msg)
			break;
		if (ev->type == MB_EV_FETCH_CACHED)
			print_above(ui, "cached  %s (%s)\n", ev->name, size);
		else
			print_above(ui, "fetched %s (%s) from %s\n", ev->name, size, ev->url);
		return;
	default:
		return;
	}
	if (ui->tty && !ui->quiet && mono_ms() - ui->bars->drawn_ms >= REDRAW_MS)
		draw_bars(ui);
}

void ui_done(struct ui *ui)
{
	size_t i;

	if (!ui->bars)
		return;
	if (ui->tty)
		erase_bars(ui);
	for (i = 0; i < ui->bars->n; i++)
		free(ui->bars->v[i].name);
	free(ui->bars->v);
	free(ui->bars);
	ui->bars = NULL;
}

/* A build's output: on a terminal one live line (the latest), else only
 * with -v; a failed build's last lines always. */
static void build_event(struct ui *ui, const struct mb_event *ev)
{
	if (ev->type == MB_EV_BUILD_TAIL) {
		if (ui->tty)
			fputs("\r\033[K", stderr);
		fprintf(stderr, "--- the last lines of the build log of %s ---\n%s", ev->name, ev->msg);
		if (*ev->msg && ev->msg[strlen(ev->msg) - 1] != '\n')
			fputc('\n', stderr);
		return;
	}
	if (ui->tty && !ui->quiet)
		fprintf(stderr, "\r\033[K  build %s: %.60s", ev->name, ev->msg);
	else if (ui->verbose)
		fprintf(stderr, "  %s| %s\n", ev->name, ev->msg);
}

static void step_event(struct ui *ui, const struct mb_event *ev)
{
	if (ui->quiet)
		return;
	if (ev->type == MB_EV_STEP_BEGIN)
		fprintf(stderr, "%s%-6s %s\n", ui->tty ? "\r\033[K" : "", ev->msg, ev->name);
	else if (ui->tty)
		fputs("\r\033[K", stderr);
}

void ui_event(void *ctx, const struct mb_event *ev)
{
	struct ui *ui = ctx;

	switch (ev->type) {
	case MB_EV_BUILD_LINE:
	case MB_EV_BUILD_TAIL:
		build_event(ui, ev);
		break;
	case MB_EV_STEP_BEGIN:
	case MB_EV_STEP_END:
		step_event(ui, ev);
		break;
	case MB_EV_WARN:
		fprintf(stderr, "mambaboot: warning: %s\n", ev->msg);
		break;
	case MB_EV_NOTE:
		if (!ui->quiet && !ui->json)
			fprintf(stderr, "%s%s%s\n", ev->name ? ev->name : "", ev->name ? ": " : "",
				ev->msg);
		break;
	case MB_EV_INFO:
		if (ui->verbose)
			fprintf(stderr, "%s%s%s\n", ev->name ? ev->name : "", ev->name ? ": " : "",
				ev->msg);
		break;
	case MB_EV_FETCH_BEGIN:
	case MB_EV_FETCH_PROGRESS:
	case MB_EV_FETCH_RETRY:
	case MB_EV_FETCH_END:
	case MB_EV_FETCH_CACHED:
		fetch_event(ui, ev);
		break;
	default:
		break;
	}
}
