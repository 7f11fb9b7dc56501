/* A bounded YAML tree built from libyaml's event stream.
 *
 * Every node keeps its line and column so that recipe errors can name
 * FILE:LINE:COLUMN.  Aliases share the anchored node (no copies) and the
 * size they would expand to is bounded, so a billion-laughs file is refused
 * instead of walked. */
#ifndef MB_YTREE_H
#define MB_YTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define YTREE_FILE_MAX (1u << 20)   /* bytes */
#define YTREE_DEPTH_MAX 32
#define YTREE_NODES_MAX 100000
#define YTREE_EXPANDED_MAX 20000    /* nodes reachable through aliases */

enum ynode_type { YNODE_SCALAR, YNODE_SEQ, YNODE_MAP };

struct ynode {
	enum ynode_type type;
	int line, col;      /* 1-based */
	char *value;        /* scalar text */
	bool plain;         /* scalar written without quotes */
	struct ynode **item; /* seq: items; map: key, value, key, value... */
	size_t n, cap;
	size_t weight;      /* nodes in this subtree, aliases expanded */
};

struct ydoc {
	const char *file;   /* borrowed, for messages */
	struct ynode *root; /* NULL for an empty document */
	struct ynode **all; /* owns every node */
	size_t n_all, cap_all;
};

int ydoc_parse(struct ydoc *doc, const char *file, const char *buf, size_t len,
	       struct mb_err *err);
void ydoc_free(struct ydoc *doc);

/* Map helpers: pairs are item[2i] (key) and item[2i+1] (value). */
size_t ymap_len(const struct ynode *map);
const struct ynode *ymap_key(const struct ynode *map, size_t i);
const struct ynode *ymap_value(const struct ynode *map, size_t i);
const struct ynode *ymap_get(const struct ynode *map, const char *key);

/* Record "FILE:LINE:COL: message" for a node. */
int ynode_err(struct mb_err *err, const char *file, const struct ynode *n,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

const char *ynode_type_name(const struct ynode *n);

#endif
