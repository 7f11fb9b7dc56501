/* Writing YAML with libyaml's emitter (quoting done right) into a string:
 * what index.yaml (mirror.c) and lock.yaml (lock.c) share. */
#ifndef MB_YEMIT_H
#define MB_YEMIT_H

#include <stdbool.h>
#include <yaml.h>

#include "util.h"

struct yemit {
	yaml_emitter_t em;
	yaml_event_t ev;
	struct sbuf *out;
	bool failed;
};

/* Start a stream and one document whose root is a block mapping. */
void yemit_begin(struct yemit *e, struct sbuf *out);
void yemit_scalar(struct yemit *e, const char *text);
void yemit_pair(struct yemit *e, const char *key, const char *value);
void yemit_map(struct yemit *e, bool start);
void yemit_seq(struct yemit *e, bool start);
/* Close the root mapping, the document and the stream; false if any event
 * could not be written. */
bool yemit_end(struct yemit *e);

#endif
