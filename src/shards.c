/* CEP 16 shards (shards.h) and the msgpack reader they need. */
#include "shards.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum { MP_DEPTH_MAX = 64 };

/* ---- msgpack ---- */

enum mp_type { MP_NIL, MP_BOOL, MP_INT, MP_FLOAT, MP_STR, MP_BIN, MP_ARRAY, MP_MAP, MP_EXT };

struct mp {
	const unsigned char *p, *end;
};

struct mp_obj {
	enum mp_type type;
	const unsigned char *data; /* str, bin, ext: the payload */
	uint64_t n;                /* str, bin, ext: bytes; array: items; map: pairs */
	int64_t i;                 /* int (a uint above INT64_MAX is clamped) */
};

static int mp_uint(struct mp *m, unsigned bytes, uint64_t *v)
{
	unsigned k;

	if ((size_t)(m->end - m->p) < bytes)
		return -1;
	for (*v = 0, k = 0; k < bytes; k++)
		*v = *v << 8 | *m->p++;
	return 0;
}

/* A payload of n bytes follows: str, bin, ext. */
static int mp_payload(struct mp *m, struct mp_obj *o, enum mp_type type, uint64_t n)
{
	o->type = type;
	o->n = n;
	if ((uint64_t)(m->end - m->p) < n)
		return -1;
	o->data = m->p;
	m->p += n;
	return 0;
}

static int mp_sized(struct mp *m, struct mp_obj *o, unsigned char c)
{
	static const unsigned char widths[] = { 1, 2, 4 };
	uint64_t n;

	if (c >= 0xc4 && c <= 0xc6)
		return mp_uint(m, widths[c - 0xc4], &n) < 0 ? -1 : mp_payload(m, o, MP_BIN, n);
	if (c >= 0xd9 && c <= 0xdb)
		return mp_uint(m, widths[c - 0xd9], &n) < 0 ? -1 : mp_payload(m, o, MP_STR, n);
	if (c >= 0xc7 && c <= 0xc9) /* ext: length, type byte, data */
		return mp_uint(m, widths[c - 0xc7], &n) < 0 ? -1 : mp_payload(m, o, MP_EXT, n + 1);
	if (c >= 0xd4 && c <= 0xd8)
		return mp_payload(m, o, MP_EXT, 1 + (1u << (c - 0xd4)) + 0);
	if (c == 0xdc || c == 0xdd || c == 0xde || c == 0xdf) {
		if (mp_uint(m, c & 1 ? 4 : 2, &n) < 0)
			return -1;
		o->type = c <= 0xdd ? MP_ARRAY : MP_MAP;
		o->n = n;
		return 0;
	}
	return -1; /* 0xc1: never used */
}

static int mp_number(struct mp *m, struct mp_obj *o, unsigned char c)
{
	uint64_t v;

	if (c == 0xca || c == 0xcb) {
		o->type = MP_FLOAT;
		return mp_uint(m, c == 0xca ? 4 : 8, &v);
	}
	o->type = MP_INT;
	if (c >= 0xcc && c <= 0xcf) {
		if (mp_uint(m, 1u << (c - 0xcc), &v) < 0)
			return -1;
		o->i = v > INT64_MAX ? INT64_MAX : (int64_t)v;
		return 0;
	}
	if (mp_uint(m, 1u << (c - 0xd0), &v) < 0)
		return -1;
	if (c == 0xd0)
		o->i = (int8_t)v;
	else if (c == 0xd1)
		o->i = (int16_t)v;
	else if (c == 0xd2)
		o->i = (int32_t)v;
	else
		o->i = (int64_t)v;
	return 0;
}

/* Read one value's header (and a str/bin/ext payload). */
static int mp_next(struct mp *m, struct mp_obj *o)
{
	unsigned char c;

	if (m->p >= m->end)
		return -1;
	c = *m->p++;
	memset(o, 0, sizeof *o);
	if (c <= 0x7f || c >= 0xe0) {
		o->type = MP_INT;
		o->i = c <= 0x7f ? c : (int8_t)c;
		return 0;
	}
	if (c <= 0x8f || (c >= 0x90 && c <= 0x9f)) {
		o->type = c <= 0x8f ? MP_MAP : MP_ARRAY;
		o->n = c & 0x0f;
		return 0;
	}
	if (c <= 0xbf)
		return mp_payload(m, o, MP_STR, c & 0x1f);
	if (c == 0xc0 || c == 0xc2 || c == 0xc3) {
		o->type = c == 0xc0 ? MP_NIL : MP_BOOL;
		o->i = c == 0xc3;
		return 0;
	}
	if ((c >= 0xca && c <= 0xd3))
		return mp_number(m, o, c);
	return mp_sized(m, o, c);
}

/* Skip the rest of a value whose header o was just read. */
static int mp_skip_rest(struct mp *m, const struct mp_obj *o, int depth)
{
	uint64_t k, items;

	if (o->type != MP_ARRAY && o->type != MP_MAP)
		return 0;
	if (depth >= MP_DEPTH_MAX)
		return -1;
	items = o->type == MP_MAP ? o->n * 2 : o->n;
	for (k = 0; k < items; k++) {
		struct mp_obj c;
		if ((uint64_t)(m->end - m->p) < items - k) /* every item takes a byte */
			return -1;
		if (mp_next(m, &c) < 0 || mp_skip_rest(m, &c, depth + 1) < 0)
			return -1;
	}
	return 0;
}

static bool mp_is(const struct mp_obj *o, const char *s)
{
	return o->type == MP_STR && o->n == strlen(s) && memcmp(o->data, s, o->n) == 0;
}

/* In the map whose header is `map`, find `key`: *val is its value's header
 * and m points after it.  Returns 1, 0 (m then after the map) or -1. */
static int mp_map_get(struct mp *m, const struct mp_obj *map, const char *key,
		      struct mp_obj *val)
{
	uint64_t k;

	if (map->type != MP_MAP)
		return -1;
	for (k = 0; k < map->n; k++) {
		struct mp_obj kobj;
		if (mp_next(m, &kobj) < 0 || mp_skip_rest(m, &kobj, 1) < 0 || mp_next(m, val) < 0)
			return -1;
		if (mp_is(&kobj, key))
			return 1; /* m is where the caller reads the value */
		if (mp_skip_rest(m, val, 1) < 0)
			return -1;
	}
	return 0;
}

/* ---- shards ---- */

static int not_msgpack(struct mb_err *err, const char *what)
{
	return mb_errf(err, MB_EINPUT, "malformed %s (msgpack)", what);
}

/* Look up key in the top-level map of buf: 1 with *val and m at it. */
static int top_get(struct mp *m, const void *buf, size_t len, const char *key,
		   struct mp_obj *val)
{
	struct mp_obj top;

	m->p = buf;
	m->end = m->p + len;
	if (mp_next(m, &top) < 0 || top.type != MP_MAP)
		return -1;
	return mp_map_get(m, &top, key, val);
}

static void hex_of(const struct mp_obj *o, char out[65])
{
	if (o->type == MP_BIN && o->n == 32) {
		hex_encode(o->data, 32, out);
		out[64] = '\0';
	} else if (o->type == MP_STR && o->n == 64) {
		memcpy(out, o->data, 64);
		out[64] = '\0';
		if (!is_hex64(out))
			out[0] = '\0';
		str_lower(out);
	} else {
		out[0] = '\0';
	}
}

int mb_shards_index_find(const void *buf, size_t len, const char *name, char hash[65],
			 char **base_url, struct mb_err *err)
{
	struct mp m;
	struct mp_obj info, shards, v;
	int rc;

	*base_url = NULL;
	rc = top_get(&m, buf, len, "info", &info);
	if (rc == 1 && info.type == MP_MAP && mp_map_get(&m, &info, "shards_base_url", &v) == 1 &&
	    v.type == MP_STR)
		*base_url = xstrndup((const char *)v.data, v.n);
	if (rc < 0 || (rc = top_get(&m, buf, len, "shards", &shards)) < 0 ||
	    (rc == 1 && shards.type != MP_MAP)) {
		free(*base_url);
		*base_url = NULL;
		return not_msgpack(err, "shard index");
	}
	if (rc == 0)
		return not_msgpack(err, "shard index (no 'shards')");
	if ((rc = mp_map_get(&m, &shards, name, &v)) < 0)
		return not_msgpack(err, "shard index");
	if (rc == 1) {
		hex_of(&v, hash);
		return hash[0] ? 1 : not_msgpack(err, "shard index (a hash is not 32 bytes)");
	}
	return 0;
}

static int shard_section(const void *buf, size_t len, const char *section, const char *filename,
			 char sha256[65], int64_t *size)
{
	struct mp m;
	struct mp_obj pkgs, entry, v;
	const unsigned char *at;
	int rc = top_get(&m, buf, len, section, &pkgs);

	if (rc <= 0)
		return rc;
	if (pkgs.type != MP_MAP || (rc = mp_map_get(&m, &pkgs, filename, &entry)) <= 0)
		return pkgs.type != MP_MAP ? -1 : rc;
	if (entry.type != MP_MAP)
		return -1;
	at = m.p;
	switch (mp_map_get(&m, &entry, "sha256", &v)) {
	case 1:
		hex_of(&v, sha256);
		break;
	case 0:
		sha256[0] = '\0'; /* no digest: this shard pins nothing for it */
		break;
	default:
		return -1;
	}
	m.p = at;
	*size = mp_map_get(&m, &entry, "size", &v) == 1 && v.type == MP_INT && v.i >= 0 ? v.i : -1;
	return sha256[0] ? 1 : 0;
}

int mb_shards_shard_find(const void *buf, size_t len, const char *filename, char sha256[65],
			 int64_t *size, struct mb_err *err)
{
	int rc = shard_section(buf, len, "packages", filename, sha256, size);

	if (rc == 0)
		rc = shard_section(buf, len, "packages.conda", filename, sha256, size);
	return rc < 0 ? not_msgpack(err, "shard") : rc;
}

char *mb_shards_package_name(const char *filename)
{
	size_t n = strlen(filename);
	char *name;
	int dashes;

	if (str_endswith(filename, ".conda"))
		n -= 6;
	else if (str_endswith(filename, ".tar.bz2"))
		n -= 8;
	name = xstrndup(filename, n);
	for (dashes = 0; dashes < 2; dashes++) {
		char *d = strrchr(name, '-');
		if (!d || d == name) {
			free(name);
			return NULL;
		}
		*d = '\0';
	}
	return name;
}
