/* bzip2 decompressed by several threads, block by block (see bz2par.h).
 *
 * The reader's thread scans for magics and posts jobs into a ring; the
 * workers take the oldest posted job and decode it; the reader waits for
 * the oldest job and hands out its output.  Bit positions in the file are
 * uint64_t: a file over 512 MB has more bits than a 32-bit size_t holds. */
#include "bz2par.h"

#include <bzlib.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "util.h"

#define BLOCK_MAGIC 0x314159265359ULL
#define END_MAGIC 0x177245385090ULL
#define MARK_BITS 80             /* a magic and the 32-bit CRC after it */
#define NO_MARK UINT64_MAX
#define IN_MAX (32u << 20)       /* more than any block takes (~2.5 MB) */
#define OUT_MIN (1u << 20)
#define OUT_MAX (64u << 20)      /* more than one block can hold (~46 MB) */

enum job_state { JOB_FREE, JOB_READY, JOB_BUSY, JOB_DONE };

struct job {
	uint64_t start, end;     /* bits: [the block's magic, the next magic) */
	uint32_t crc;            /* the block's CRC, from its header */
	uint32_t stream_crc;     /* if last: the combined CRC after the end magic */
	int level;               /* the stream's "BZh" digit */
	bool last;               /* the last block of its stream */
	bool skip;               /* joined to the job before it */
	bool ok;                 /* decoded, and its data matched its CRC */
	enum job_state state;
	unsigned char *out;
	size_t len, cap;
};

/* Room to build a single-block stream in. */
struct inbuf {
	unsigned char *data;
	size_t cap;
};

struct worker {
	struct mb_bz2par *p;
	struct inbuf in;
	pthread_t thread;
};

struct mb_bz2par {
	const unsigned char *map;
	size_t size;
	/* the 16-bit values that two bytes wholly inside a magic can hold */
	unsigned char pairs[65536 / 8];

	/* the scanner, run by the reader's thread */
	uint64_t pos;            /* bits: the next block's magic, or a stream's end
				    magic; when level is 0, the next stream's header */
	int level;               /* of the stream being scanned; 0 between streams */
	unsigned stream_blocks;
	uint64_t rejected_end;   /* an end magic not followed by a stream or the end */
	bool split, at_split;    /* the test hook; pos is a made-up magic */
	bool scan_done;
	int scan_rc;
	struct mb_err scan_err;

	/* the jobs: a ring of n_jobs, numbered in the file's order */
	struct job *jobs;
	unsigned n_jobs;
	uint64_t posted, taken;  /* jobs posted; jobs handed out or skipped */
	bool held;               /* the caller holds job taken-1's output */
	uint32_t combined;
	struct inbuf in;         /* the reader's, to decode joined jobs */
	int rc;                  /* the first error, returned again */
	struct mb_err err;

	pthread_mutex_t mu;
	pthread_cond_t work, done;
	bool stop;
	struct worker *workers;
	unsigned n_workers;
};

/* ---- bits ---- */

/* n <= 56 bits at bit `bit`, most significant first; zeros past the end. */
static uint64_t bits_at(const unsigned char *map, size_t size, uint64_t bit, unsigned n)
{
	uint64_t v = 0, byte = bit / 8;
	unsigned i;

	if (n == 0)
		return 0;
	for (i = 0; i < 8; i++)
		v = v << 8 | (byte + i < size ? map[byte + i] : 0);
	return (v << (bit % 8)) >> (64 - n);
}

struct bitwriter {
	unsigned char *p;
	uint64_t acc;
	unsigned n;              /* bits in acc not yet written, < 8 */
};

static void put_bits(struct bitwriter *w, uint64_t v, unsigned n) /* n <= 56 */
{
	w->acc = w->acc << n | (v & ((1ULL << n) - 1));
	w->n += n;
	while (w->n >= 8) {
		w->n -= 8;
		*w->p++ = (unsigned char)(w->acc >> w->n);
	}
}

/* ---- finding magics ----
 *
 * A 48-bit magic at any bit offset covers 5 whole bytes, so 4 pairs of
 * whole bytes, one of which starts at a multiple of 4.  The scan looks up
 * only those 16-bit pairs in a bitmap of the 64 values they can hold, and
 * checks the 32 bit positions that a hit can come from. */

static void add_pairs(unsigned char *pairs, uint64_t magic)
{
	unsigned s, k;

	for (s = 0; s < 8; s++) {
		uint64_t x = magic << (8 - s); /* 7 bytes: the magic s bits in */
		for (k = 1; k <= 4; k++) {
			unsigned v = (unsigned)(x >> (40 - 8 * k)) & 0xffff;
			pairs[v >> 3] |= (unsigned char)(1u << (v & 7));
		}
	}
}

/* The first bit >= from where a magic begins (*magic says which), or NO_MARK. */
static uint64_t find_magic(const struct mb_bz2par *p, uint64_t from, uint64_t *magic)
{
	const unsigned char *m = p->map;
	uint64_t bits = (uint64_t)p->size * 8, bit;
	size_t i;

	for (i = (size_t)(from / 8) & ~(size_t)3; i + 1 < p->size; i += 4) {
		unsigned v = (unsigned)m[i] << 8 | m[i + 1];
		if (!(p->pairs[v >> 3] & (1u << (v & 7))))
			continue;
		for (bit = i >= 4 ? 8 * (uint64_t)(i - 4) : 0; bit < 8 * (uint64_t)i; bit++) {
			if (bit < from || bit + 48 > bits)
				continue;
			*magic = bits_at(m, p->size, bit, 48);
			if (*magic == BLOCK_MAGIC || *magic == END_MAGIC)
				return bit;
		}
	}
	return NO_MARK;
}

/* ---- the streams' layout ---- */

static bool is_header(const struct mb_bz2par *p, uint64_t byte)
{
	const unsigned char *m = p->map + byte;

	return byte + 4 <= p->size && m[0] == 'B' && m[1] == 'Z' && m[2] == 'h' &&
	       m[3] >= '1' && m[3] <= '9';
}

/* Nothing but zero bytes from `byte` on (padding some writers add). */
static bool at_end(const struct mb_bz2par *p, uint64_t byte)
{
	for (; byte < p->size; byte++)
		if (p->map[byte])
			return false;
	return true;
}

static uint64_t end_of_stream(uint64_t end_magic)
{
	return (end_magic + MARK_BITS + 7) / 8;
}

/* An end magic is taken for real when the stream's CRC fits in the file
 * and a stream header or only zeros follow; failing that, only when no
 * other magic follows at all (then the bytes after it are ignored, as
 * bzip2 and libarchive ignore them). */
static bool real_end(const struct mb_bz2par *p, uint64_t bit)
{
	uint64_t after = end_of_stream(bit);

	return after <= p->size && (is_header(p, after) || at_end(p, after));
}

/* The next block or end magic after `from`; *last when it is an end. */
static uint64_t next_mark(struct mb_bz2par *p, uint64_t from, bool *last)
{
	uint64_t magic, bit;

	while ((bit = find_magic(p, from, &magic)) != NO_MARK) {
		*last = magic == END_MAGIC;
		if (!*last || real_end(p, bit))
			return bit;
		if (end_of_stream(bit) <= p->size) /* else cut short */
			p->rejected_end = bit;
		from = bit + 1;
	}
	return NO_MARK;
}

static int stream_begin(struct mb_bz2par *p, struct mb_err *err)
{
	uint64_t byte = p->pos / 8, magic;

	if (byte > 0 && !is_header(p, byte))
		return 0; /* zeros or other trailing bytes, ignored as by bzip2 */
	p->level = p->map[byte + 3] - '0';
	p->pos = 8 * (byte + 4);
	p->stream_blocks = 0;
	magic = bits_at(p->map, p->size, p->pos, 48);
	if (p->pos + MARK_BITS > 8 * (uint64_t)p->size)
		return mb_errf(err, MB_EINTEGRITY, "truncated bzip2 data at byte %llu",
			       (unsigned long long)p->size);
	if (magic != BLOCK_MAGIC && magic != END_MAGIC)
		return mb_errf(err, MB_EINTEGRITY, "damaged bzip2 data at byte %llu",
			       (unsigned long long)byte + 4);
	return 1;
}

/* At an end magic: the CRC of a stream without blocks is 0 (one with
 * blocks is checked by the reader, as their CRCs are known to be right). */
static int stream_end(struct mb_bz2par *p, struct mb_err *err)
{
	if (p->stream_blocks == 0 && bits_at(p->map, p->size, p->pos + 48, 32) != 0)
		return mb_errf(err, MB_EINTEGRITY, "bzip2 stream CRC mismatch at byte %llu",
			       (unsigned long long)p->pos / 8);
	p->pos = 8 * end_of_stream(p->pos);
	p->level = 0;
	return 1;
}

static int block_job(struct mb_bz2par *p, struct job *j, struct mb_err *err)
{
	uint64_t next;
	bool last;

	next = next_mark(p, p->pos + MARK_BITS, &last);
	if (next == NO_MARK && p->rejected_end > p->pos) {
		next = p->rejected_end; /* the last stream, and trailing bytes */
		last = true;
	}
	if (next == NO_MARK)
		return mb_errf(err, MB_EINTEGRITY, "truncated bzip2 data at byte %llu",
			       (unsigned long long)p->size);
	p->at_split = p->split && !p->at_split && next - p->pos > 4 * MARK_BITS;
	if (p->at_split) {
		next = p->pos + (next - p->pos) / 2;
		last = false;
	}
	j->start = p->pos;
	j->end = next;
	j->crc = (uint32_t)bits_at(p->map, p->size, p->pos + 48, 32);
	j->last = last;
	j->stream_crc = last ? (uint32_t)bits_at(p->map, p->size, next + 48, 32) : 0;
	j->level = p->level;
	p->pos = next;
	p->stream_blocks++;
	return 1;
}

/* The next block as a job: 1, 0 at the end of the data, or an error. */
static int scan_next(struct mb_bz2par *p, struct job *j, struct mb_err *err)
{
	int rc;

	while (p->level == 0 ||
	       (!p->at_split && bits_at(p->map, p->size, p->pos, 48) == END_MAGIC)) {
		rc = p->level ? stream_end(p, err) : stream_begin(p, err);
		if (rc <= 0)
			return rc;
	}
	return block_job(p, j, err);
}

/* ---- decoding one job ---- */

/* "BZh", the job's bits from byte 4 on, an end magic and a combined CRC
 * equal to the block's: the block as a stream of its own. */
static size_t build_stream(const struct mb_bz2par *p, const struct job *j, struct inbuf *in)
{
	uint64_t bits = j->end - j->start;
	size_t whole = (size_t)(bits / 8), k;
	const unsigned char *src = p->map + j->start / 8;
	unsigned shift = (unsigned)(j->start % 8);
	struct bitwriter w;

	in->data = grow(in->data, &in->cap, whole + 16, 1);
	memcpy(in->data, "BZh", 3);
	in->data[3] = (unsigned char)('0' + j->level);
	if (shift == 0)
		memcpy(in->data + 4, src, whole);
	else
		for (k = 0; k < whole; k++)
			in->data[4 + k] = (unsigned char)(src[k] << shift | src[k + 1] >> (8 - shift));
	w = (struct bitwriter){ in->data + 4 + whole, 0, 0 };
	put_bits(&w, bits_at(p->map, p->size, j->start + 8 * (uint64_t)whole, bits % 8), bits % 8);
	put_bits(&w, END_MAGIC, 48);
	put_bits(&w, j->crc, 32);
	if (w.n)
		put_bits(&w, 0, 8 - w.n);
	return (size_t)(w.p - in->data);
}

static bool out_room(struct job *j)
{
	if (j->len < j->cap)
		return true;
	if (j->cap >= OUT_MAX)
		return false;
	j->cap = j->cap ? 2 * j->cap : OUT_MIN;
	j->out = xrealloc(j->out, j->cap);
	return true;
}

/* Decodes job j into j->out; true when libbz2 reached the end of the
 * stream, which it does only when the block's data matched its CRC. */
static bool decode(const struct mb_bz2par *p, struct job *j, struct inbuf *in)
{
	bz_stream s;
	int r = BZ_OK;

	if (j->end - j->start > 8 * (uint64_t)IN_MAX)
		return false;
	memset(&s, 0, sizeof s);
	s.avail_in = (unsigned)build_stream(p, j, in);
	s.next_in = (char *)in->data;
	j->len = 0;
	if (BZ2_bzDecompressInit(&s, 0, 0) != BZ_OK)
		return false;
	while (r == BZ_OK && out_room(j)) {
		unsigned before = s.avail_in;
		s.next_out = (char *)j->out + j->len;
		s.avail_out = (unsigned)(j->cap - j->len);
		r = BZ2_bzDecompress(&s);
		if (r == BZ_OK && s.avail_in == before && s.avail_out == j->cap - j->len)
			r = BZ_UNEXPECTED_EOF; /* wants more than the block holds */
		j->len = j->cap - s.avail_out;
	}
	BZ2_bzDecompressEnd(&s);
	return r == BZ_STREAM_END;
}

static struct job *job_at(const struct mb_bz2par *p, uint64_t seq)
{
	return &p->jobs[seq % p->n_jobs];
}

static struct job *next_ready(struct mb_bz2par *p)
{
	uint64_t seq;

	for (seq = p->taken; seq < p->posted; seq++)
		if (job_at(p, seq)->state == JOB_READY)
			return job_at(p, seq);
	return NULL;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct mb_bz2par *p = w->p;
	struct job *j;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		j = next_ready(p);
		if (!j) {
			pthread_cond_wait(&p->work, &p->mu);
			continue;
		}
		j->state = JOB_BUSY;
		pthread_mutex_unlock(&p->mu);
		j->ok = decode(p, j, &w->in);
		pthread_mutex_lock(&p->mu);
		j->state = JOB_DONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- the reader ---- */

/* Posts jobs until the ring is full or the scan is over. */
static void fill(struct mb_bz2par *p)
{
	while (!p->scan_done && p->posted - p->taken + p->held < p->n_jobs) {
		struct job *j = job_at(p, p->posted);
		int rc = scan_next(p, j, &p->scan_err);
		if (rc <= 0) {
			p->scan_done = true;
			p->scan_rc = rc;
			return;
		}
		pthread_mutex_lock(&p->mu);
		j->state = JOB_READY;
		j->skip = false;
		p->posted++;
		pthread_cond_signal(&p->work);
		pthread_mutex_unlock(&p->mu);
	}
}

static struct job *wait_done(struct mb_bz2par *p, uint64_t seq)
{
	struct job *j = job_at(p, seq);

	pthread_mutex_lock(&p->mu);
	while (j->state != JOB_DONE)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	return j;
}

/* Job j, the oldest, is done with, or held by the caller till the next read. */
static void take(struct mb_bz2par *p, struct job *j, bool hold)
{
	pthread_mutex_lock(&p->mu);
	p->taken++;
	if (!hold)
		j->state = JOB_FREE;
	pthread_mutex_unlock(&p->mu);
	p->held = hold;
}

static void release_held(struct mb_bz2par *p)
{
	if (!p->held)
		return;
	pthread_mutex_lock(&p->mu);
	job_at(p, p->taken - 1)->state = JOB_FREE;
	pthread_mutex_unlock(&p->mu);
	p->held = false;
}

static int damaged(struct mb_bz2par *p, const struct job *j)
{
	return mb_errf(&p->err, MB_EINTEGRITY, "damaged bzip2 data at byte %llu",
		       (unsigned long long)j->start / 8);
}

/* A job that did not decode may end at a false magic: decode it again up
 * to the end of the next job, whose output is then skipped. */
static int join_next(struct mb_bz2par *p, struct job *j)
{
	struct job *next;

	if (j->last || p->posted < p->taken + 2)
		return damaged(p, j);
	next = job_at(p, p->taken + 1);
	j->end = next->end;
	j->last = next->last;
	j->stream_crc = next->stream_crc;
	next->skip = true;
	j->ok = decode(p, j, &p->in);
	return j->ok ? 0 : damaged(p, j);
}

/* Job j decoded (joined to the next if need be): its CRC goes into its
 * stream's combined CRC, which is checked at the stream's last block. */
static int accept(struct mb_bz2par *p, struct job *j)
{
	int rc = j->ok ? 0 : join_next(p, j);

	if (rc < 0)
		return rc;
	p->combined = (p->combined << 1 | p->combined >> 31) ^ j->crc;
	if (!j->last)
		return 0;
	if (p->combined != j->stream_crc)
		return mb_errf(&p->err, MB_EINTEGRITY, "bzip2 stream CRC mismatch at byte %llu",
			       (unsigned long long)j->end / 8);
	p->combined = 0;
	return 0;
}

static long next_output(struct mb_bz2par *p, const void **buf)
{
	for (;;) {
		struct job *j;
		bool hold;
		fill(p);
		if (p->taken == p->posted) {
			p->err = p->scan_err;
			return p->scan_rc;
		}
		j = wait_done(p, p->taken);
		if (!j->skip) {
			int rc = accept(p, j);
			if (rc < 0)
				return rc;
		}
		hold = !j->skip && j->len > 0;
		take(p, j, hold);
		if (hold) {
			*buf = j->out;
			return (long)j->len;
		}
	}
}

long mb_bz2par_read(struct mb_bz2par *p, const void **buf, struct mb_err *err)
{
	long n;

	release_held(p);
	n = p->rc ? p->rc : next_output(p, buf);
	if (n < 0) {
		p->rc = (int)n;
		*err = p->err;
	}
	return n;
}

/* ---- starting and stopping ---- */

static void stop_workers(struct mb_bz2par *p)
{
	unsigned i;

	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->n_workers; i++) {
		pthread_join(p->workers[i].thread, NULL);
		free(p->workers[i].in.data);
	}
	p->n_workers = 0;
}

static unsigned start_workers(struct mb_bz2par *p, unsigned threads)
{
	p->workers = xcalloc(threads, sizeof *p->workers);
	for (p->n_workers = 0; p->n_workers < threads; p->n_workers++) {
		struct worker *w = &p->workers[p->n_workers];
		w->p = p;
		if (pthread_create(&w->thread, NULL, worker_run, w) != 0)
			break;
	}
	return p->n_workers;
}

void mb_bz2par_close(struct mb_bz2par *p)
{
	unsigned i;

	if (!p)
		return;
	stop_workers(p);
	for (i = 0; i < p->n_jobs; i++)
		free(p->jobs[i].out);
	free(p->jobs);
	free(p->workers);
	free(p->in.data);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	munmap((void *)p->map, p->size);
	free(p);
}

static int map_file(int fd, const unsigned char **map, size_t *size, struct mb_err *err)
{
	struct stat st;
	void *m;

	if (fstat(fd, &st) < 0)
		return mb_errno(err, MB_EFAIL, errno, "cannot read the bzip2 file");
	if (st.st_size < 4 || (uintmax_t)st.st_size > SIZE_MAX)
		return mb_errf(err, MB_EINTEGRITY, "not bzip2 data");
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		return mb_errno(err, MB_EFAIL, errno, "cannot map the bzip2 file");
	*map = m;
	*size = (size_t)st.st_size;
	return 0;
}

int mb_bz2par_open(struct mb_bz2par **out, int fd, unsigned threads, struct mb_err *err)
{
	struct mb_bz2par *p = xcalloc(1, sizeof *p);
	int rc = map_file(fd, &p->map, &p->size, err);

	*out = NULL;
	if (rc < 0) {
		free(p);
		return rc;
	}
	threads = threads ? threads : 1;
	p->n_jobs = 2 * threads;
	p->jobs = xcalloc(p->n_jobs, sizeof *p->jobs);
	add_pairs(p->pairs, BLOCK_MAGIC);
	add_pairs(p->pairs, END_MAGIC);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	if (!is_header(p, 0))
		rc = mb_errf(err, MB_EINTEGRITY, "not bzip2 data");
	else if (start_workers(p, threads) == 0)
		rc = mb_errf(err, MB_EFAIL, "cannot start a thread to decompress bzip2");
	if (rc < 0) {
		mb_bz2par_close(p);
		return rc;
	}
	*out = p;
	return 0;
}

void mb_bz2par_split_blocks_for_test(struct mb_bz2par *p)
{
	p->split = true;
}
