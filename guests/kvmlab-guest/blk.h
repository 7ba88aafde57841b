/* kvmlab-guest blk: a block-I/O load generator and verifier for a block
 * device or a regular file (docs/guest.md, "kvmlab-guest blk").
 *
 * Random or sequential reads and writes with many requests in flight (an
 * io_uring per job, raw system calls, or a thread per request doing
 * pread/pwrite), reported as one JSON line; or a sequential write of the
 * seeded pattern of pattern.h over an area and a read that checks every
 * byte of it. */
#ifndef KVMLAB_GUEST_BLK_H
#define KVMLAB_GUEST_BLK_H

#include <stdint.h>

/* The subcommand: argv[0] is "blk", then DEV and options (see
 * `kvmlab-guest blk --help`).  Returns the exit status: 0 success, 1 an I/O,
 * setup or verification failure, 2 bad usage (a message naming the option
 * on stderr). */
int blk_main(int argc, char **argv);

/* Parse a byte count: decimal (or 0x-hex) digits, optionally followed by
 * k, m, g or t (powers of 1024, either case), itself optionally followed by
 * "iB" or "B".  Returns 0 and sets *v, or -1 (malformed or overflowing). */
int blk_parse_size(const char *s, uint64_t *v);

/* A log-linear latency histogram of nanosecond values with fixed buckets:
 * exact below 2^BLK_HIST_SUB_BITS, then 2^BLK_HIST_SUB_BITS buckets per
 * power of two (at most 1/32 = 3.1% relative width).  No allocation. */
#define BLK_HIST_SUB_BITS 5
#define BLK_HIST_BUCKETS  ((64 - BLK_HIST_SUB_BITS + 1) << BLK_HIST_SUB_BITS)

struct blk_hist {
	uint64_t count;
	uint64_t bucket[BLK_HIST_BUCKETS];
};

/* Count one value (in ns). */
void blk_hist_add(struct blk_hist *h, uint64_t ns);

/* Add the counts of src to dst. */
void blk_hist_merge(struct blk_hist *dst, const struct blk_hist *src);

/* The value (ns, the middle of its bucket) below or at which a fraction q
 * (0 < q <= 1) of the counted values lie; 0 if nothing was counted. */
uint64_t blk_hist_quantile(const struct blk_hist *h, double q);

#endif
