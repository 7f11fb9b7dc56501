#include "yemit.h"

#include <string.h>

static void emit_ok(struct yemit *e, int made)
{
	if (!made || !yaml_emitter_emit(&e->em, &e->ev))
		e->failed = true;
}

static int write_to_sbuf(void *ctx, unsigned char *buf, size_t n)
{
	sbuf_add(ctx, (const char *)buf, n);
	return 1;
}

void yemit_scalar(struct yemit *e, const char *text)
{
	emit_ok(e, yaml_scalar_event_initialize(&e->ev, NULL, NULL, (yaml_char_t *)text,
						(int)strlen(text), 1, 1, YAML_ANY_SCALAR_STYLE));
}

void yemit_pair(struct yemit *e, const char *key, const char *value)
{
	yemit_scalar(e, key);
	yemit_scalar(e, value ? value : "");
}

void yemit_map(struct yemit *e, bool start)
{
	if (start)
		emit_ok(e, yaml_mapping_start_event_initialize(&e->ev, NULL, NULL, 1,
							       YAML_BLOCK_MAPPING_STYLE));
	else
		emit_ok(e, yaml_mapping_end_event_initialize(&e->ev));
}

void yemit_seq(struct yemit *e, bool start)
{
	if (start)
		emit_ok(e, yaml_sequence_start_event_initialize(&e->ev, NULL, NULL, 1,
								YAML_BLOCK_SEQUENCE_STYLE));
	else
		emit_ok(e, yaml_sequence_end_event_initialize(&e->ev));
}

void yemit_begin(struct yemit *e, struct sbuf *out)
{
	memset(e, 0, sizeof *e);
	e->out = out;
	yaml_emitter_initialize(&e->em);
	yaml_emitter_set_output(&e->em, write_to_sbuf, out);
	yaml_emitter_set_unicode(&e->em, 1);
	emit_ok(e, yaml_stream_start_event_initialize(&e->ev, YAML_UTF8_ENCODING));
	emit_ok(e, yaml_document_start_event_initialize(&e->ev, NULL, NULL, NULL, 1));
	yemit_map(e, true);
}

bool yemit_end(struct yemit *e)
{
	yemit_map(e, false);
	emit_ok(e, yaml_document_end_event_initialize(&e->ev, 1));
	emit_ok(e, yaml_stream_end_event_initialize(&e->ev));
	yaml_emitter_delete(&e->em);
	return !e->failed;
}
