/* Removing recipes from a prefix (`mambaboot remove`). */
#ifndef MB_REMOVE_H
#define MB_REMOVE_H

#include <stdbool.h>
#include <stddef.h>

#include "prefix.h"

struct mb_removal {
	char **removed;   /* recipe names, in the order removed */
	size_t n_removed, cap;
};

/* Take names (requested targets or installed recipes) out of the prefix,
 * with every recipe that nothing requested still needs.  Refused (MB_EINPUT)
 * while another installed recipe depends on one of them, unless force. */
int mb_prefix_remove(struct mb_prefix *p, char *const *names, size_t n, bool force,
		     struct mb_removal *out, struct mb_err *err);
void mb_removal_free(struct mb_removal *r);

#endif
