#include "ytree.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util.h"

struct anchor {
	char *name;
	struct ynode *node;
};

struct builder {
	struct ydoc *doc;
	yaml_parser_t parser;
	struct ynode *stack[YTREE_DEPTH_MAX + 1];
	size_t depth;
	struct anchor *anchors;
	size_t n_anchors, cap_anchors;
	size_t expanded;
	int documents;
	struct mb_err *err;
};

int ynode_err(struct mb_err *err, const char *file, const struct ynode *n,
	      const char *fmt, ...)
{
	char msg[MB_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return mb_errf(err, MB_EINPUT, "%s:%d:%d: %s", file, n ? n->line : 1,
		       n ? n->col : 1, msg);
}

static int mark_err(struct builder *b, yaml_mark_t mark, const char *msg)
{
	return mb_errf(b->err, MB_EINPUT, "%s:%zu:%zu: %s", b->doc->file,
		       mark.line + 1, mark.column + 1, msg);
}

const char *ynode_type_name(const struct ynode *n)
{
	static const char *const names[] = { "a scalar", "a list", "a mapping" };
	return names[n->type];
}

static struct ynode *node_new(struct builder *b, enum ynode_type type, yaml_mark_t mark)
{
	struct ynode *n = xcalloc(1, sizeof *n);

	n->type = type;
	n->line = (int)mark.line + 1;
	n->col = (int)mark.column + 1;
	n->weight = 1;
	*VEC_PUSH(b->doc->all, b->doc->n_all, b->doc->cap_all) = n;
	return n;
}

static int remember_anchor(struct builder *b, const yaml_char_t *name, struct ynode *n)
{
	struct anchor *a;

	if (!name)
		return 0;
	a = VEC_PUSH(b->anchors, b->n_anchors, b->cap_anchors);
	a->name = xstrdup((const char *)name);
	a->node = n;
	return 0;
}

static struct ynode *find_anchor(struct builder *b, const char *name)
{
	size_t i = b->n_anchors;

	while (i--) /* the latest definition wins */
		if (strcmp(b->anchors[i].name, name) == 0)
			return b->anchors[i].node;
	return NULL;
}

static bool key_equal(const struct ynode *a, const struct ynode *b)
{
	return a->type == YNODE_SCALAR && b->type == YNODE_SCALAR &&
	       strcmp(a->value, b->value) == 0;
}

/* Attach a finished node to the open container, or make it the root. */
static int attach(struct builder *b, struct ynode *n, yaml_mark_t mark)
{
	struct ynode *parent;
	size_t i;

	if (b->depth == 0) {
		b->doc->root = n;
		return 0;
	}
	parent = b->stack[b->depth - 1];
	if (parent->type == YNODE_MAP && parent->n % 2 == 0) {
		if (n->type != YNODE_SCALAR)
			return mark_err(b, mark, "a mapping key must be a plain value");
		for (i = 0; i < parent->n; i += 2) {
			if (key_equal(parent->item[i], n)) {
				char msg[256];
				snprintf(msg, sizeof msg,
					 "duplicate key '%.64s' (first at line %d)",
					 n->value, parent->item[i]->line);
				return mark_err(b, mark, msg);
			}
		}
	}
	*VEC_PUSH(parent->item, parent->n, parent->cap) = n;
	parent->weight += n->weight;
	return 0;
}

/* Only the core schema's own tags (!!str and friends) are accepted. */
static int check_tag(struct builder *b, const yaml_char_t *tag, yaml_mark_t mark)
{
	static const char *const core[] = { "str", "int", "float", "bool", "null",
					    "seq", "map", NULL };
	const char *t = (const char *)tag;
	size_t i;

	if (!t)
		return 0;
	if (strncmp(t, "tag:yaml.org,2002:", 18) == 0)
		for (i = 0; core[i]; i++)
			if (strcmp(t + 18, core[i]) == 0)
				return 0;
	return mark_err(b, mark, "YAML tags are not allowed in recipes");
}

static int on_scalar(struct builder *b, yaml_event_t *ev)
{
	struct ynode *n;

	if (check_tag(b, ev->data.scalar.tag, ev->start_mark) < 0)
		return -1;
	n = node_new(b, YNODE_SCALAR, ev->start_mark);
	n->value = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
	if (strlen(n->value) != ev->data.scalar.length)
		return mark_err(b, ev->start_mark, "NUL byte in a value");
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	remember_anchor(b, ev->data.scalar.anchor, n);
	return attach(b, n, ev->start_mark);
}

static int on_open(struct builder *b, yaml_event_t *ev, enum ynode_type type)
{
	const yaml_char_t *tag = type == YNODE_SEQ ? ev->data.sequence_start.tag
						   : ev->data.mapping_start.tag;
	const yaml_char_t *anchor = type == YNODE_SEQ ? ev->data.sequence_start.anchor
						      : ev->data.mapping_start.anchor;
	struct ynode *n;

	if (check_tag(b, tag, ev->start_mark) < 0)
		return -1;
	if (b->depth == YTREE_DEPTH_MAX)
		return mark_err(b, ev->start_mark, "nesting deeper than 32 levels");
	n = node_new(b, type, ev->start_mark);
	remember_anchor(b, anchor, n);
	b->stack[b->depth++] = n;
	return 0;
}

static int on_close(struct builder *b, yaml_event_t *ev)
{
	struct ynode *n = b->stack[--b->depth];
	return attach(b, n, ev->start_mark);
}

static int on_alias(struct builder *b, yaml_event_t *ev)
{
	struct ynode *n = find_anchor(b, (const char *)ev->data.alias.anchor);
	size_t i;

	if (!n)
		return mark_err(b, ev->start_mark, "unknown alias");
	for (i = 0; i < b->depth; i++)
		if (b->stack[i] == n)
			return mark_err(b, ev->start_mark, "alias refers to its own parent");
	b->expanded += n->weight;
	if (b->expanded > YTREE_EXPANDED_MAX)
		return mark_err(b, ev->start_mark,
				"aliases expand to too many nodes (limit 20000)");
	return attach(b, n, ev->start_mark);
}

static int on_event(struct builder *b, yaml_event_t *ev)
{
	if (b->doc->n_all > YTREE_NODES_MAX)
		return mark_err(b, ev->start_mark, "too many YAML nodes (limit 100000)");
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->documents > 1)
			return mark_err(b, ev->start_mark,
					"more than one YAML document in the file");
		return 0;
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_open(b, ev, YNODE_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_open(b, ev, YNODE_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_close(b, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(b, ev);
	default:
		return 0;
	}
}

static int syntax_err(struct builder *b)
{
	yaml_parser_t *p = &b->parser;
	char msg[512];

	if (!p->context) {
		snprintf(msg, sizeof msg, "YAML syntax error: %s",
			 p->problem ? p->problem : "unreadable input");
		return mark_err(b, p->problem_mark, msg);
	}
	snprintf(msg, sizeof msg, "YAML syntax error: %s %s", p->problem, p->context);
	/* Running off the end names where the unfinished thing began. */
	if (p->problem && strstr(p->problem, "end of stream"))
		return mark_err(b, p->context_mark, msg);
	return mark_err(b, p->problem_mark, msg);
}

static int run_parser(struct builder *b)
{
	yaml_event_t ev;
	int r;

	for (;;) {
		if (!yaml_parser_parse(&b->parser, &ev))
			return syntax_err(b);
		r = ev.type == YAML_STREAM_END_EVENT ? 1 : on_event(b, &ev);
		yaml_event_delete(&ev);
		if (r)
			return r < 0 ? r : 0;
	}
}

int ydoc_parse(struct ydoc *doc, const char *file, const char *buf, size_t len,
	       struct mb_err *err)
{
	struct builder b;
	size_t i;
	int r;

	memset(doc, 0, sizeof *doc);
	doc->file = file;
	if (len > YTREE_FILE_MAX)
		return mb_errf(err, MB_EINPUT, "%s: file larger than 1 MiB", file);
	memset(&b, 0, sizeof b);
	b.doc = doc;
	b.err = err;
	if (!yaml_parser_initialize(&b.parser))
		return mb_errf(err, MB_EFAIL, "%s: cannot start the YAML parser", file);
	yaml_parser_set_input_string(&b.parser, (const unsigned char *)buf, len);
	r = run_parser(&b);
	yaml_parser_delete(&b.parser);
	for (i = 0; i < b.n_anchors; i++)
		free(b.anchors[i].name);
	free(b.anchors);
	if (r < 0)
		ydoc_free(doc);
	return r;
}

void ydoc_free(struct ydoc *doc)
{
	size_t i;

	for (i = 0; i < doc->n_all; i++) {
		free(doc->all[i]->value);
		free(doc->all[i]->item);
		free(doc->all[i]);
	}
	free(doc->all);
	doc->all = NULL;
	doc->n_all = doc->cap_all = 0;
	doc->root = NULL;
}

size_t ymap_len(const struct ynode *map)
{
	return map->n / 2;
}

const struct ynode *ymap_key(const struct ynode *map, size_t i)
{
	return map->item[2 * i];
}

const struct ynode *ymap_value(const struct ynode *map, size_t i)
{
	return map->item[2 * i + 1];
}

const struct ynode *ymap_get(const struct ynode *map, const char *key)
{
	size_t i;

	for (i = 0; i < ymap_len(map); i++)
		if (strcmp(ymap_key(map, i)->value, key) == 0)
			return ymap_value(map, i);
	return NULL;
}
