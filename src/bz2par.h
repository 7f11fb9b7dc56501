/* bzip2 decompressed by several threads, block by block.
 *
 * A bzip2 stream is "BZh1".."BZh9", then blocks that each start with the
 * 48-bit magic 0x314159265359 and the block's CRC, at any bit offset, then
 * 0x177245385090 and the stream's combined CRC, padded to a byte.  Blocks
 * do not depend on each other, so the file is mapped, the magics are found
 * by a scan, and worker threads each decode one block with libbz2 as a
 * stream of its own ("BZh", the block moved to a byte boundary, an end
 * whose combined CRC is the block's).  The reader gets the outputs in
 * order and checks each stream's combined CRC.  48 bits of compressed data
 * can look like a magic by chance: a block that does not decode is decoded
 * again joined to the next one, and only then called damaged.  Bytes
 * after the last stream are ignored, as bzip2 and libarchive ignore them.
 *
 * About 2 jobs per thread are in flight, each holding one block's output:
 * usually under 1 MB, up to ~46 MB for data that bzip2's run-length stage
 * shrinks the most (long runs of one byte). */
#ifndef MB_BZ2PAR_H
#define MB_BZ2PAR_H

#include "err.h"

struct mb_bz2par;

/* Start decoding the bzip2 file open on fd (a regular file; fd may be
 * closed once this returns) with up to `threads` worker threads.  Returns
 * 0, -MB_EINTEGRITY if it does not begin with "BZh1".."BZh9", -MB_EFAIL on
 * I/O or when no thread starts. */
int mb_bz2par_open(struct mb_bz2par **out, int fd, unsigned threads, struct mb_err *err);

/* The next decompressed bytes, in order: >0 bytes with *buf set (valid
 * until the next call), 0 at the end, or a negative MB_E* code (message in
 * err) on damaged or truncated data; an error is returned again by every
 * later call. */
long mb_bz2par_read(struct mb_bz2par *p, const void **buf, struct mb_err *err);

/* Stops and joins the workers (early too), frees everything; NULL is fine. */
void mb_bz2par_close(struct mb_bz2par *p);

/* For tests: cut every block in two from now on, as a false magic in the
 * middle of each would, so that the recovery by joining runs.  Call before
 * the first read. */
void mb_bz2par_split_blocks_for_test(struct mb_bz2par *p);

#endif
