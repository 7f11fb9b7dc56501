/* mambaboot remove: take recipes or stacks out of a prefix. */
#include <stdio.h>

#include "commands.h"
#include "remove.h"

static int run(struct mb_opts *opts, struct mb_err *err)
{
	struct mb_removal out;
	struct mb_events ev;
	struct mb_prefix p;
	struct ui ui;
	size_t i;
	int rc;

	if (opts->n_args == 0)
		return mb_errf(err, MB_EINPUT, "remove needs the NAME of a recipe or stack");
	ui_init(&ui, opts);
	ev = cli_events(&ui);
	if ((rc = cli_open_prefix(opts, &ev, false, &p, err)) < 0)
		return rc;
	rc = mb_prefix_remove(&p, opts->args, opts->n_args, opts->force, &out, err);
	if (rc == 0 && !opts->quiet) {
		for (i = 0; i < out.n_removed; i++)
			fprintf(stderr, "removed %s\n", out.removed[i]);
		if (out.n_removed == 0)
			fprintf(stderr, "nothing to remove\n");
	}
	mb_removal_free(&out);
	mb_prefix_close(&p);
	return rc;
}

const struct mb_cmd cmd_remove = {
	.name = "remove",
	.summary = "remove recipes or stacks from a prefix",
	.usage =
	"usage: mambaboot remove NAME... --prefix DIR [--force]\n"
	"\n"
	"Take each NAME (a requested stack or recipe, or an installed recipe) out of\n"
	"DIR, with every recipe that nothing still requested needs: their files,\n"
	"emptied directories, conda-meta records and dist-info.  Refused (exit 2)\n"
	"while another installed recipe depends on NAME, unless --force.\n"
	"\n"
	"Options:\n"
	"  -p, --prefix DIR      the prefix\n"
	"  --force               remove even if other recipes depend on NAME\n"
	"  --lock-timeout SECS   give up (exit 7) if another command holds the prefix\n"
	"  -q, --quiet           print nothing on success\n",
	.opts = OPT_PREFIX | OPT_FORCE | OPT_LOCK_TIMEOUT,
	.run = run,
};
