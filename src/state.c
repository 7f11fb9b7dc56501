/* The prefix state as JSON (jansson): state.json and the per-recipe file
 * lists.  Both are read back as untrusted: every field is type-checked. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "prefix.h"
#include "util.h"

/* 2: file lists are FILE:OFFSET:LENGTH references into one file per
 * transaction.  A state of a later format is refused, not misread. */
#define STATE_FORMAT 2

static char *str_field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static char **str_array(json_t *a, size_t *n)
{
	char **out;
	size_t i;

	*n = 0;
	if (!json_is_array(a))
		return NULL;
	out = xcalloc(json_array_size(a) + 1, sizeof *out);
	for (i = 0; i < json_array_size(a); i++)
		if (json_is_string(json_array_get(a, i)))
			out[(*n)++] = xstrdup(json_string_value(json_array_get(a, i)));
	return out;
}

static json_t *str_array_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *load_json(const char *path, struct mb_err *err)
{
	json_t *root;

	if (json_read_whole(path, (size_t)1 << 30, MB_EFAIL, &root, err) < 0 && err) {
		err->code = MB_EFAIL; /* a missing file too: the state was expected */
		mb_err_wrap(err, "damaged state file");
	}
	return root;
}

static int read_recipe(json_t *o, struct mb_state_recipe *r)
{
	json_t *arts = json_object_get(o, "artifacts");
	size_t i;

	memset(r, 0, sizeof *r);
	r->name = str_field(o, "name");
	r->version = str_field(o, "version");
	r->kind = str_field(o, "kind");
	r->recipe_sha256 = str_field(o, "recipe_sha256");
	r->cuda_arch = str_field(o, "cuda_arch");
	r->files_ref = str_field(o, "files");
	r->depends = str_array(json_object_get(o, "depends"), &r->n_depends);
	if (json_is_array(arts)) {
		r->artifacts = xcalloc(json_array_size(arts) + 1, sizeof *r->artifacts);
		for (i = 0; i < json_array_size(arts); i++) {
			json_t *a = json_array_get(arts, i);
			struct mb_state_artifact *sa = &r->artifacts[r->n_artifacts++];
			sa->filename = str_field(a, "filename");
			sa->url = str_field(a, "url");
			sa->sha256 = str_field(a, "sha256");
		}
	}
	return r->name && r->version && r->kind && r->files_ref ? 0 : -1;
}

int mb_state_read(const char *path, struct mb_state *s, struct mb_err *err)
{
	json_t *root = load_json(path, err), *reqs, *recs;
	json_int_t format;
	size_t i;

	memset(s, 0, sizeof *s);
	if (!root)
		return -MB_EFAIL;
	if ((format = json_integer_value(json_object_get(root, "format"))) > STATE_FORMAT) {
		json_decref(root);
		return mb_errf(err, MB_EFAIL, "%s: written by a newer mambaboot (state format %lld; this "
			       "one reads up to %d): use that version", path, (long long)format, STATE_FORMAT);
	}
	s->txn = str_field(root, "txn");
	s->tool_path = str_field(root, "tool_path");
	reqs = json_object_get(root, "requested");
	recs = json_object_get(root, "recipes");
	s->requested = xcalloc(json_array_size(reqs) + 1, sizeof *s->requested);
	for (i = 0; i < json_array_size(reqs); i++) {
		json_t *q = json_array_get(reqs, i);
		struct mb_requested *rq = &s->requested[s->n_requested];
		rq->name = str_field(q, "name");
		rq->closure = str_array(json_object_get(q, "recipes"), &rq->n_closure);
		s->n_requested++;
	}
	s->recipes = xcalloc(json_array_size(recs) + 1, sizeof *s->recipes);
	for (i = 0; i < json_array_size(recs); i++) {
		int bad = read_recipe(json_array_get(recs, i), &s->recipes[s->n_recipes]);
		s->n_recipes++;
		if (bad) {
			json_decref(root);
			mb_state_free(s);
			return mb_errf(err, MB_EFAIL, "%s: damaged state file (recipe %zu)", path, i);
		}
	}
	json_decref(root);
	return 0;
}

static json_t *recipe_json(const struct mb_state_recipe *r)
{
	json_t *o = json_object(), *arts = json_array();
	size_t i;

	for (i = 0; i < r->n_artifacts; i++) {
		const struct mb_state_artifact *a = &r->artifacts[i];
		json_t *j = json_object();
		json_object_set_new(j, "filename", json_string(a->filename));
		json_object_set_new(j, "url", a->url ? json_string(a->url) : json_null());
		json_object_set_new(j, "sha256", a->sha256 ? json_string(a->sha256) : json_null());
		json_array_append_new(arts, j);
	}
	json_object_set_new(o, "name", json_string(r->name));
	json_object_set_new(o, "version", json_string(r->version));
	json_object_set_new(o, "kind", json_string(r->kind));
	json_object_set_new(o, "recipe_sha256",
			    r->recipe_sha256 ? json_string(r->recipe_sha256) : json_null());
	if (r->cuda_arch)
		json_object_set_new(o, "cuda_arch", json_string(r->cuda_arch));
	json_object_set_new(o, "depends", str_array_json(r->depends, r->n_depends));
	json_object_set_new(o, "artifacts", arts);
	json_object_set_new(o, "files", json_string(r->files_ref));
	return o;
}

/* JSON streamed to the file through a 64 KiB buffer: a list of 20,000
 * files is never one string in memory.  `put` writes the document: a
 * jansson value, or the file list written entry by entry. */
struct dump {
	int (*put)(struct dump *d);
	json_t *root;
	size_t flags;
	const struct mb_owned *const *lists; /* put_lists: n_lists of them */
	size_t n_lists;
	struct mb_files_at *at;              /* put_lists: where each went */
	int fd;
	size_t len, total;                   /* buffered; written or buffered in all */
	char *buf;              /* DUMP_BUF bytes */
	struct sbuf scratch;    /* put_file's */
};

#define DUMP_BUF (1 << 16)

static int dump_flush(struct dump *d)
{
	int rc = write_all(d->fd, d->buf, d->len);
	d->len = 0;
	return rc;
}

static int dump_bytes(const char *text, size_t len, void *ctx)
{
	struct dump *d = ctx;

	d->total += len;
	if (d->len + len > DUMP_BUF && dump_flush(d) < 0)
		return -1;
	if (len > DUMP_BUF)
		return write_all(d->fd, text, len);
	memcpy(d->buf + d->len, text, len);
	d->len += len;
	return 0;
}

static int put_root(struct dump *d)
{
	return json_dump_callback(d->root, dump_bytes, d, d->flags | JSON_PRESERVE_ORDER);
}

/* One entry, {"path":..,"type":..,"sha256":..,"size":..,"mode":..},
 * formatted in the scratch buffer without printf (a list has an entry
 * per file of the prefix); a name that is not UTF-8 cannot be recorded. */
static int put_file(struct dump *d, const struct mb_owned_file *f, bool first)
{
	struct sbuf *b = &d->scratch;
	char type = (char)f->type;

	if (!utf8_valid(f->path) || !utf8_valid(f->sha256)) {
		errno = EILSEQ;
		return -1;
	}
	b->len = 0;
	sbuf_puts(b, first ? "{\"path\":" : ",{\"path\":");
	sbuf_json_string(b, f->path);
	sbuf_puts(b, ",\"type\":\"");
	sbuf_add(b, &type, 1);
	sbuf_puts(b, "\",\"sha256\":");
	sbuf_json_string(b, f->sha256);
	sbuf_puts(b, ",\"size\":");
	sbuf_int(b, f->size);
	sbuf_puts(b, ",\"mode\":");
	sbuf_int(b, (long long)f->mode);
	sbuf_puts(b, "}");
	return dump_bytes(b->s, b->len, d);
}

/* {"files":[entry,...]}, written as it goes: building it as jansson
 * values first cost a 20,000-file wheel 70 ms. */
static int put_files(struct dump *d, const struct mb_owned *files)
{
	static const char head[] = "{\"files\":[";
	size_t i;

	if (dump_bytes(head, sizeof head - 1, d) < 0)
		return -1;
	for (i = 0; i < files->n; i++)
		if (put_file(d, &files->v[i], i == 0) < 0)
			return -1;
	return dump_bytes("]}", 2, d);
}

/* Every list of a transaction, one a line: the offset and length of each
 * go to at[i], for mb_files_read_at. */
static int put_lists(struct dump *d)
{
	size_t i;

	for (i = 0; i < d->n_lists; i++) {
		d->at[i].offset = d->total;
		if (put_files(d, d->lists[i]) < 0 || (i + 1 < d->n_lists && dump_bytes("\n", 1, d) < 0))
			return -1;
		d->at[i].length = d->total - d->at[i].offset;
	}
	return 0;
}

static int dump_fill(int fd, void *ctx)
{
	struct dump *d = ctx;

	d->fd = fd;
	d->len = d->total = 0;
	if (d->put(d) < 0) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	if (dump_flush(d) < 0 || write_all(fd, "\n", 1) < 0)
		return -1;
	return 0;
}

static int dump_atomic(const char *path, struct dump *d, bool sync, struct mb_err *err)
{
	int rc;

	d->buf = xmalloc(DUMP_BUF);
	errno = 0;
	rc = write_file_atomic_fn(path, dump_fill, d, sync, err);
	free(d->buf);
	sbuf_free(&d->scratch);
	return rc;
}

int mb_state_write(const char *path, const struct mb_state *s, struct mb_err *err)
{
	json_t *root = json_object(), *reqs = json_array(), *recs = json_array();
	size_t i;
	int rc;

	for (i = 0; i < s->n_requested; i++) {
		json_t *q = json_object();
		json_object_set_new(q, "name", json_string(s->requested[i].name));
		json_object_set_new(q, "recipes", str_array_json(s->requested[i].closure,
								 s->requested[i].n_closure));
		json_array_append_new(reqs, q);
	}
	for (i = 0; i < s->n_recipes; i++)
		json_array_append_new(recs, recipe_json(&s->recipes[i]));
	json_object_set_new(root, "format", json_integer(STATE_FORMAT));
	json_object_set_new(root, "txn", json_string(s->txn ? s->txn : ""));
	if (s->tool_path)
		json_object_set_new(root, "tool_path", json_string(s->tool_path));
	json_object_set_new(root, "requested", reqs);
	json_object_set_new(root, "recipes", recs);
	rc = dump_atomic(path, &(struct dump){ .put = put_root, .root = root, .flags = JSON_INDENT(1) }, true, err);
	json_decref(root);
	return rc;
}

static int files_parse(json_t *root, const char *path, struct mb_owned *files,
		       struct mb_err *err)
{
	json_t *list = json_object_get(root, "files");
	size_t i;

	for (i = 0; i < json_array_size(list); i++) {
		json_t *f = json_array_get(list, i);
		const char *p = json_string_value(json_object_get(f, "path"));
		const char *type = json_string_value(json_object_get(f, "type"));
		const char *sha = json_string_value(json_object_get(f, "sha256"));

		if (!p || !type || !path_is_contained(p, NULL)) {
			mb_owned_free(files);
			return mb_errf(err, MB_EFAIL, "%s: damaged file list (entry %zu)", path, i);
		}
		mb_owned_add(files, p, (enum mb_owned_type)type[0],
			     sha && is_hex64(sha) ? sha : NULL,
			     json_integer_value(json_object_get(f, "size")),
			     (mode_t)json_integer_value(json_object_get(f, "mode")));
	}
	return 0;
}

int mb_files_read(const char *path, struct mb_owned *files, struct mb_err *err)
{
	json_t *root = load_json(path, err);
	int rc;

	memset(files, 0, sizeof *files);
	if (!root)
		return -MB_EFAIL;
	rc = files_parse(root, path, files, err);
	json_decref(root);
	return rc;
}

int mb_files_read_at(const char *path, const struct mb_files_at *at, struct mb_owned *files,
		     struct mb_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -MB_EFAIL;
	char *buf = at->length < (size_t)1 << 30 ? malloc(at->length + 1) : NULL;
	json_t *root = NULL;

	memset(files, 0, sizeof *files);
	if (fd < 0 || !buf || pread(fd, buf, at->length, (off_t)at->offset) != (ssize_t)at->length)
		mb_errf(err, MB_EFAIL, "damaged state file: %s: cannot read %zu bytes at %zu",
			path, at->length, at->offset);
	else if (!(root = json_loadb(buf, at->length, 0, NULL)))
		mb_errf(err, MB_EFAIL, "damaged state file: %s: no file list at %zu", path, at->offset);
	else
		rc = files_parse(root, path, files, err);
	json_decref(root);
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

int mb_files_write_all(const char *path, const struct mb_owned *const *lists, size_t n,
		       struct mb_files_at *at, bool sync, struct mb_err *err)
{
	return dump_atomic(path, &(struct dump){ .put = put_lists, .lists = lists, .n_lists = n, .at = at },
			   sync, err);
}

void mb_state_recipe_free(struct mb_state_recipe *r)
{
	size_t i;

	for (i = 0; i < r->n_depends; i++)
		free(r->depends[i]);
	for (i = 0; i < r->n_artifacts; i++) {
		free(r->artifacts[i].filename);
		free(r->artifacts[i].url);
		free(r->artifacts[i].sha256);
	}
	free(r->depends);
	free(r->artifacts);
	free(r->cuda_arch);
	free(r->name);
	free(r->version);
	free(r->kind);
	free(r->recipe_sha256);
	free(r->files_ref);
	mb_owned_free(&r->files);
	memset(r, 0, sizeof *r);
}

void mb_state_free(struct mb_state *s)
{
	size_t i, j;

	for (i = 0; i < s->n_requested; i++) {
		for (j = 0; j < s->requested[i].n_closure; j++)
			free(s->requested[i].closure[j]);
		free(s->requested[i].closure);
		free(s->requested[i].name);
	}
	for (i = 0; i < s->n_recipes; i++)
		mb_state_recipe_free(&s->recipes[i]);
	free(s->requested);
	free(s->recipes);
	free(s->txn);
	free(s->tool_path);
	memset(s, 0, sizeof *s);
}

struct mb_state_recipe *mb_state_find(const struct mb_state *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n_recipes; i++)
		if (name_equal(s->recipes[i].name, name))
			return &s->recipes[i];
	return NULL;
}

bool mb_state_recipe_generated(const struct mb_state_recipe *r)
{
	return r->kind && strcmp(r->kind, MB_KIND_GENERATED) == 0;
}
