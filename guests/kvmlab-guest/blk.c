/* kvmlab-guest blk: block-I/O load generator and verifier (blk.h,
 * docs/guest.md).
 *
 * A run is a set of workers sharing one file descriptor: with the io_uring
 * engine one worker (thread + ring) per job keeps --iodepth requests in
 * flight; with the threads engine each job is --iodepth threads doing one
 * pread/pwrite at a time.  Every worker claims its next request from the
 * shared run state (random block, next sequential block, the --bytes
 * budget, the --runtime deadline), so all engines and job counts stop on the
 * same conditions.  Workers keep their own counters and latency histogram;
 * the main thread merges them after joining. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/io_uring.h>

#include "blk.h"
#include "pattern.h"

#define PROG "kvmlab-guest blk"

#define EXIT_USAGE 2

#define KIB		1024ull
#define MIB		(1024ull * KIB)
#define DEFAULT_BS	(4 * KIB)
#define DEFAULT_BS_VFY	MIB
#define DEFAULT_RUNTIME 5.0
#define DEFAULT_SEED	1
#define MAX_BS		(64 * MIB)
#define MAX_IODEPTH	4096
#define MAX_JOBS	256
#define MAX_THREADS	4096 /* jobs * iodepth with --engine threads */
#define BUF_ALIGN	4096 /* O_DIRECT buffers */
#define DIRECT_ALIGN	512  /* --bs, --offset, --size with --direct */
#define THREAD_STACK	(256 * KIB)

enum blk_mode { M_RANDREAD, M_RANDWRITE, M_READ, M_WRITE, M_VERIFY_WRITE, M_VERIFY_READ };
static const char *const mode_names[] = {"randread", "randwrite",    "read",
					 "write",    "verify-write", "verify-read"};
#define NMODES (sizeof(mode_names) / sizeof(mode_names[0]))

enum blk_engine { E_URING, E_THREADS };
static const char *const engine_names[] = {"io_uring", "threads"};

struct blk_opts {
	const char *dev;
	enum blk_mode mode;
	enum blk_engine engine;
	uint64_t bs; /* 0: the mode's default */
	unsigned iodepth, jobs;
	double runtime; /* 0: none */
	uint64_t bytes; /* 0: none */
	bool runtime_set, bytes_set, size_set, direct;
	uint64_t seed, offset, size;
};

static bool is_write(enum blk_mode m)
{
	return m == M_RANDWRITE || m == M_WRITE || m == M_VERIFY_WRITE;
}

static bool is_verify(enum blk_mode m)
{
	return m == M_VERIFY_WRITE || m == M_VERIFY_READ;
}

/* ---- latency histogram ---- */

static unsigned hist_index(uint64_t v)
{
	unsigned k;

	if (v < (1u << BLK_HIST_SUB_BITS))
		return (unsigned)v;
	k = 63u - (unsigned)__builtin_clzll(v); /* >= BLK_HIST_SUB_BITS */
	return ((k - BLK_HIST_SUB_BITS + 1) << BLK_HIST_SUB_BITS) |
	       (unsigned)((v >> (k - BLK_HIST_SUB_BITS)) & ((1u << BLK_HIST_SUB_BITS) - 1));
}

/* The middle of bucket i. */
static uint64_t hist_value(unsigned i)
{
	unsigned g = i >> BLK_HIST_SUB_BITS, sub = i & ((1u << BLK_HIST_SUB_BITS) - 1);
	uint64_t low, width;

	if (!g)
		return i;
	low = ((uint64_t)(1u << BLK_HIST_SUB_BITS) + sub) << (g - 1);
	width = 1ull << (g - 1);
	return low + (width - 1) / 2;
}

void blk_hist_add(struct blk_hist *h, uint64_t ns)
{
	h->bucket[hist_index(ns)]++;
	h->count++;
}

void blk_hist_merge(struct blk_hist *dst, const struct blk_hist *src)
{
	for (unsigned i = 0; i < BLK_HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
}

uint64_t blk_hist_quantile(const struct blk_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (!h->count)
		return 0;
	want = (uint64_t)(q * (double)h->count); /* rounded up: */
	if ((double)want < q * (double)h->count)
		want++;
	if (want < 1)
		want = 1;
	if (want > h->count)
		want = h->count;
	for (unsigned i = 0; i < BLK_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= want)
			return hist_value(i);
	}
	return hist_value(BLK_HIST_BUCKETS - 1); /* not reached */
}

/* ---- options ---- */

int blk_parse_size(const char *s, uint64_t *v)
{
	uint64_t n = 0, mul = 1;
	unsigned base = 10;
	const char *p = s;
	int digits = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (;; p++, digits++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			break;
		if (__builtin_mul_overflow(n, base, &n) || __builtin_add_overflow(n, d, &n))
			return -1;
	}
	if (!digits)
		return -1;
	switch (*p) {
	case 'k':
	case 'K':
		mul = KIB;
		break;
	case 'm':
	case 'M':
		mul = MIB;
		break;
	case 'g':
	case 'G':
		mul = 1024 * MIB;
		break;
	case 't':
	case 'T':
		mul = 1024 * 1024 * MIB;
		break;
	default:
		break;
	}
	if (mul > 1) {
		p++;
		if (!strcmp(p, "iB") || !strcmp(p, "B"))
			p += strlen(p);
	}
	if (*p || __builtin_mul_overflow(n, mul, &n))
		return -1;
	*v = n;
	return 0;
}

static void help(FILE *f)
{
	fprintf(f,
		"Usage: kvmlab-guest blk DEV [OPTIONS]\n"
		"\n"
		"Block-I/O load generator and verifier for DEV, a block device or a regular file.\n"
		"Prints one JSON line with the counts, throughput and latency percentiles.\n"
		"\n"
		"  --mode M         randread (default), randwrite, read, write (sequential,\n"
		"                   wrapping at the end of the area), verify-write (write the\n"
		"                   pattern over the area once, then fdatasync), verify-read\n"
		"                   (read the area once, check every byte against the pattern)\n"
		"  --bs BYTES       request size (default 4k; 1M for the verify modes)\n"
		"  --iodepth N      requests in flight per job (default 1)\n"
		"  --engine E       io_uring (default: one ring per job) or threads (N threads\n"
		"                   per job, one pread/pwrite each)\n"
		"  --jobs N         jobs running in parallel (default 1)\n"
		"  --runtime SEC    stop after SEC seconds (default 5 unless --bytes is given)\n"
		"  --bytes BYTES    stop after BYTES bytes in all (whole requests)\n"
		"  --direct         open with O_DIRECT (bs, offset, size multiples of 512)\n"
		"  --seed N         pattern seed (default 1)\n"
		"  --offset BYTES   start of the area (default 0)\n"
		"  --size BYTES     length of the area (default: to the end of DEV)\n"
		"\n"
		"BYTES: a number, optionally with k, m, g or t (powers of 1024).\n"
		"Writes of every mode write the pattern: byte o of DEV is byte o%%8 of the\n"
		"little-endian word splitmix64(seed ^ (o/8)), so verify-read checks them all.\n"
		"verify-read adds a line \"verify: ok\" or \"verify: MISMATCH at offset X\".\n"
		"\n"
		"Exit status: 0 success; 1 setup failure, or for the verify modes any I/O\n"
		"error or mismatch; 2 bad usage.\n");
}

static int bad(const char *opt, const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": %s: ", opt);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

static int parse_uint(const char *opt, const char *s, unsigned min, unsigned max, unsigned *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (!*s || *end || errno || *s == '-' || *s == '+' || n < min || n > max) {
		fprintf(stderr, PROG ": %s: expected a number %u-%u, got '%s'\n", opt, min, max, s);
		return -1;
	}
	*v = (unsigned)n;
	return 0;
}

enum opt_id {
	OPT_MODE,
	OPT_BS,
	OPT_IODEPTH,
	OPT_ENGINE,
	OPT_JOBS,
	OPT_RUNTIME,
	OPT_BYTES,
	OPT_DIRECT,
	OPT_SEED,
	OPT_OFFSET,
	OPT_SIZE
};
static const struct {
	const char *name;
	bool has_arg;
} options[] = {
    [OPT_MODE] = {"--mode", true},	 [OPT_BS] = {"--bs", true},
    [OPT_IODEPTH] = {"--iodepth", true}, [OPT_ENGINE] = {"--engine", true},
    [OPT_JOBS] = {"--jobs", true},	 [OPT_RUNTIME] = {"--runtime", true},
    [OPT_BYTES] = {"--bytes", true},	 [OPT_DIRECT] = {"--direct", false},
    [OPT_SEED] = {"--seed", true},	 [OPT_OFFSET] = {"--offset", true},
    [OPT_SIZE] = {"--size", true},
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static int set_option(struct blk_opts *o, enum opt_id id, const char *val)
{
	const char *opt = options[id].name;
	char *end;
	size_t i;

	switch (id) {
	case OPT_MODE:
		for (i = 0; i < NMODES && strcmp(val, mode_names[i]); i++)
			;
		if (i == NMODES)
			return bad(opt,
				   "unknown mode '%s' (randread, randwrite, read, write, "
				   "verify-write, verify-read)",
				   val);
		o->mode = (enum blk_mode)i;
		return 0;
	case OPT_ENGINE:
		if (!strcmp(val, "io_uring"))
			o->engine = E_URING;
		else if (!strcmp(val, "threads"))
			o->engine = E_THREADS;
		else
			return bad(opt, "unknown engine '%s' (io_uring, threads)", val);
		return 0;
	case OPT_BS:
		if (blk_parse_size(val, &o->bs) || !o->bs || o->bs > MAX_BS)
			return bad(opt, "expected a size from 1 to 64M, got '%s'", val);
		return 0;
	case OPT_IODEPTH:
		return parse_uint(opt, val, 1, MAX_IODEPTH, &o->iodepth) ? EXIT_USAGE : 0;
	case OPT_JOBS:
		return parse_uint(opt, val, 1, MAX_JOBS, &o->jobs) ? EXIT_USAGE : 0;
	case OPT_RUNTIME:
		errno = 0;
		o->runtime = strtod(val, &end);
		if (!*val || *end || errno || !(o->runtime > 0) || o->runtime > 1e7)
			return bad(opt, "expected a number of seconds > 0, got '%s'", val);
		o->runtime_set = true;
		return 0;
	case OPT_BYTES:
		if (blk_parse_size(val, &o->bytes) || !o->bytes)
			return bad(opt, "expected a size > 0, got '%s'", val);
		o->bytes_set = true;
		return 0;
	case OPT_DIRECT:
		o->direct = true;
		return 0;
	case OPT_SEED:
		errno = 0;
		o->seed = strtoull(val, &end, 0);
		if (!*val || *end || errno || *val == '-' || *val == '+')
			return bad(opt, "expected a number 0 to 2^64-1, got '%s'", val);
		return 0;
	case OPT_OFFSET:
		if (blk_parse_size(val, &o->offset))
			return bad(opt, "expected a size, got '%s'", val);
		return 0;
	case OPT_SIZE:
		if (blk_parse_size(val, &o->size) || !o->size)
			return bad(opt, "expected a size > 0, got '%s'", val);
		o->size_set = true;
		return 0;
	}
	return EXIT_USAGE;
}

/* Returns 0, EXIT_USAGE, or -1 for --help. */
static int parse_args(int argc, char **argv, struct blk_opts *o)
{
	bool opts_done = false;
	int ret;

	*o = (struct blk_opts){
	    .mode = M_RANDREAD, .engine = E_URING, .iodepth = 1, .jobs = 1, .seed = DEFAULT_SEED};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *val = NULL;
		size_t nlen, id;

		if (opts_done || a[0] != '-' || !strcmp(a, "-")) {
			if (o->dev) {
				fprintf(stderr, PROG ": unexpected argument '%s' (DEV is '%s')\n",
					a, o->dev);
				return EXIT_USAGE;
			}
			o->dev = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			opts_done = true;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return -1;
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		for (id = 0; id < NOPTIONS; id++)
			if (strlen(options[id].name) == nlen && !strncmp(a, options[id].name, nlen))
				break;
		if (id == NOPTIONS) {
			fprintf(stderr, PROG ": unknown option '%.*s' (try " PROG " --help)\n",
				(int)nlen, a);
			return EXIT_USAGE;
		}
		if (options[id].has_arg) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				return bad(options[id].name, "%s", "missing value");
		} else if (eq) {
			return bad(options[id].name, "%s", "takes no value");
		}
		if ((ret = set_option(o, (enum opt_id)id, val)))
			return ret;
	}
	if (!o->dev) {
		fprintf(stderr, PROG ": missing DEV (try " PROG " --help)\n");
		return EXIT_USAGE;
	}
	if (!o->bs)
		o->bs = is_verify(o->mode) ? DEFAULT_BS_VFY : DEFAULT_BS;
	if (is_verify(o->mode)) {
		if (o->runtime_set)
			return bad("--runtime", "%s", "not with the verify modes (use --size)");
		if (o->bytes_set)
			return bad("--bytes", "%s", "not with the verify modes (use --size)");
	} else if (!o->runtime_set && !o->bytes_set) {
		o->runtime = DEFAULT_RUNTIME;
	}
	if (o->engine == E_THREADS && (uint64_t)o->jobs * o->iodepth > MAX_THREADS) {
		fprintf(stderr, PROG ": --iodepth: --jobs x --iodepth is at most %d threads\n",
			MAX_THREADS);
		return EXIT_USAGE;
	}
	if (o->direct) {
		if (o->bs % DIRECT_ALIGN)
			return bad("--bs", "%s", "must be a multiple of 512 with --direct");
		if (o->offset % DIRECT_ALIGN)
			return bad("--offset", "%s", "must be a multiple of 512 with --direct");
		if (o->size % DIRECT_ALIGN)
			return bad("--size", "%s", "must be a multiple of 512 with --direct");
	}
	return 0;
}

/* ---- io_uring, raw system calls ---- */

struct ring {
	int fd;
	unsigned *sq_tail, *sq_mask, *sq_array;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	void *sq_map, *cq_map, *sqe_map;
	size_t sq_len, cq_len, sqe_len;
};

static void ring_free(struct ring *r)
{
	if (r->sqe_map)
		munmap(r->sqe_map, r->sqe_len);
	if (r->cq_map && r->cq_map != r->sq_map)
		munmap(r->cq_map, r->cq_len);
	if (r->sq_map)
		munmap(r->sq_map, r->sq_len);
	if (r->fd >= 0)
		close(r->fd);
	*r = (struct ring){.fd = -1};
}

/* Returns 0, or -errno (of io_uring_setup or mmap). */
static int ring_init(struct ring *r, unsigned entries)
{
	struct io_uring_params p;
	long fd;
	int e;

	*r = (struct ring){.fd = -1};
	memset(&p, 0, sizeof(p));
	fd = syscall(__NR_io_uring_setup, entries, &p);
	if (fd < 0)
		return -errno;
	r->fd = (int)fd;
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (r->cq_len > r->sq_len)
			r->sq_len = r->cq_len;
		r->cq_len = r->sq_len;
	}
	r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
			 IORING_OFF_SQ_RING);
	if (r->sq_map == MAP_FAILED) {
		r->sq_map = NULL;
		goto fail;
	}
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		r->cq_map = r->sq_map;
	} else {
		r->cq_map = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
				 r->fd, IORING_OFF_CQ_RING);
		if (r->cq_map == MAP_FAILED) {
			r->cq_map = NULL;
			goto fail;
		}
	}
	r->sqe_len = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sqe_map = mmap(NULL, r->sqe_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			  r->fd, IORING_OFF_SQES);
	if (r->sqe_map == MAP_FAILED) {
		r->sqe_map = NULL;
		goto fail;
	}
	r->sq_tail = (unsigned *)((char *)r->sq_map + p.sq_off.tail);
	r->sq_mask = (unsigned *)((char *)r->sq_map + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)((char *)r->sq_map + p.sq_off.array);
	r->cq_head = (unsigned *)((char *)r->cq_map + p.cq_off.head);
	r->cq_tail = (unsigned *)((char *)r->cq_map + p.cq_off.tail);
	r->cq_mask = (unsigned *)((char *)r->cq_map + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)((char *)r->cq_map + p.cq_off.cqes);
	r->sqes = r->sqe_map;
	return 0;
fail:
	e = errno;
	ring_free(r);
	return -e;
}

static int ring_enter(struct ring *r, unsigned submit, unsigned wait)
{
	return (int)syscall(__NR_io_uring_enter, r->fd, submit, wait,
			    wait ? IORING_ENTER_GETEVENTS : 0, NULL, 0);
}

/* ---- the run ---- */

struct run {
	const struct blk_opts *o;
	int fd;
	uint64_t area_off, area_size;
	uint64_t nblocks;  /* load modes: whole blocks; verify: blocks incl. a short last one */
	uint64_t deadline; /* CLOCK_MONOTONIC ns; 0: none */
	uint64_t max_ios;  /* from --bytes; 0: none */
	atomic_uint_fast64_t next;   /* sequential modes: next block (before wrapping) */
	atomic_uint_fast64_t issued; /* requests claimed, against max_ios */
	atomic_bool stop;	     /* an engine failed: everyone stops */

	pthread_mutex_t lock; /* the first error and first mismatch below */
	uint64_t err_off;     /* first I/O error (in time) */
	int err_errno;	      /* 0: a short transfer of err_res bytes */
	long err_res;
	uint64_t bad_off; /* lowest mismatching byte; UINT64_MAX none */
	uint8_t bad_want, bad_got;
};

struct slot {
	void *buf;
	uint64_t off, t0;
	uint32_t len;
};

struct worker {
	struct run *run;
	pthread_t thread;
	bool started;
	uint64_t rng;
	struct ring ring; /* io_uring engine */
	struct slot *slots;
	unsigned nslots;
	unsigned *free, nfree; /* stack of idle slots */
	int fatal;	       /* errno of an engine failure (io_uring_enter) */

	uint64_t ios, bytes, errors, bad_blocks;
	struct blk_hist hist;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The next request of w, or false when the run is over. */
static bool claim(struct worker *w, uint64_t now, uint64_t *off, uint32_t *len)
{
	struct run *r = w->run;
	const struct blk_opts *o = r->o;
	uint64_t b;

	if (atomic_load_explicit(&r->stop, memory_order_relaxed))
		return false;
	if (r->deadline && now >= r->deadline)
		return false;
	if (r->max_ios &&
	    atomic_fetch_add_explicit(&r->issued, 1, memory_order_relaxed) >= r->max_ios)
		return false;
	switch (o->mode) {
	case M_RANDREAD:
	case M_RANDWRITE:
		w->rng += UINT64_C(0x9e3779b97f4a7c15);
		b = pattern_splitmix64(w->rng) % r->nblocks;
		break;
	case M_READ:
	case M_WRITE:
		b = atomic_fetch_add_explicit(&r->next, 1, memory_order_relaxed) % r->nblocks;
		break;
	default: /* verify: the area once */
		b = atomic_fetch_add_explicit(&r->next, 1, memory_order_relaxed);
		if (b >= r->nblocks)
			return false;
		*off = r->area_off + b * o->bs;
		*len = (uint32_t)o->bs;
		if (r->area_size - b * o->bs < o->bs) /* a short last block */
			*len = (uint32_t)(r->area_size - b * o->bs);
		return true;
	}
	*off = r->area_off + b * o->bs;
	*len = (uint32_t)o->bs;
	return true;
}

static void note_error(struct worker *w, uint64_t off, int err, long res)
{
	struct run *r = w->run;

	w->errors++;
	pthread_mutex_lock(&r->lock);
	if (r->err_off == UINT64_MAX) {
		r->err_off = off;
		r->err_errno = err;
		r->err_res = res;
	}
	pthread_mutex_unlock(&r->lock);
}

/* Account for the completion of s (res: bytes or -errno) at time now. */
static void complete(struct worker *w, struct slot *s, long res, uint64_t now)
{
	struct run *r = w->run;
	size_t i;

	if (res < 0) {
		note_error(w, s->off, (int)-res, res);
		return;
	}
	if ((uint64_t)res != s->len) {
		note_error(w, s->off, 0, res);
		return;
	}
	blk_hist_add(&w->hist, now - s->t0);
	w->ios++;
	w->bytes += s->len;
	if (r->o->mode != M_VERIFY_READ)
		return;
	i = pattern_check(s->buf, s->len, r->o->seed, s->off);
	if (i == s->len)
		return;
	w->bad_blocks++;
	pthread_mutex_lock(&r->lock);
	if (s->off + i < r->bad_off) {
		r->bad_off = s->off + i;
		r->bad_want = pattern_byte(r->o->seed, s->off + i);
		r->bad_got = ((const uint8_t *)s->buf)[i];
	}
	pthread_mutex_unlock(&r->lock);
}

static void *thread_worker(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	struct slot *s = &w->slots[0];
	bool wr = is_write(r->o->mode);
	uint64_t now = now_ns();

	while (claim(w, now, &s->off, &s->len)) {
		ssize_t n;
		if (wr)
			pattern_fill(s->buf, s->len, r->o->seed, s->off);
		s->t0 = now_ns();
		if (wr)
			n = pwrite(r->fd, s->buf, s->len, (off_t)s->off);
		else
			n = pread(r->fd, s->buf, s->len, (off_t)s->off);
		now = now_ns();
		complete(w, s, n < 0 ? -(long)errno : (long)n, now);
	}
	return NULL;
}

static void *uring_worker(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	struct ring *ring = &w->ring;
	const unsigned sq_mask = *ring->sq_mask, cq_mask = *ring->cq_mask;
	const bool wr = is_write(r->o->mode);
	unsigned inflight = 0, pending = 0; /* pending: in the SQ, not yet taken by the kernel */
	uint64_t now = now_ns();
	bool more = true;
	int ret;

	for (;;) {
		unsigned tail = *ring->sq_tail, first = tail, head, ctail; /* we own sq_tail */

		while (more && w->nfree) {
			struct slot *s = &w->slots[w->free[w->nfree - 1]];
			struct io_uring_sqe *sqe = &ring->sqes[tail & sq_mask];

			if (!claim(w, now, &s->off, &s->len)) {
				more = false;
				break;
			}
			if (wr)
				pattern_fill(s->buf, s->len, r->o->seed, s->off);
			memset(sqe, 0, sizeof(*sqe));
			sqe->opcode = wr ? IORING_OP_WRITE : IORING_OP_READ;
			sqe->fd = r->fd;
			sqe->addr = (uint64_t)(uintptr_t)s->buf;
			sqe->len = s->len;
			sqe->off = s->off;
			sqe->user_data = w->free[--w->nfree];
			ring->sq_array[tail & sq_mask] = tail & sq_mask;
			tail++;
		}
		if (tail != first) {
			uint64_t t0 = now_ns();
			for (unsigned t = first; t != tail; t++)
				w->slots[ring->sqes[t & sq_mask].user_data].t0 = t0;
			/* The SQEs and array entries before the new tail. */
			__atomic_store_n(ring->sq_tail, tail, __ATOMIC_RELEASE);
			pending += tail - first;
			inflight += tail - first;
		}
		if (!inflight)
			break;
		ret = ring_enter(ring, pending, 1);
		if (ret >= 0) {
			pending -= (unsigned)ret; /* the SQEs the kernel took */
		} else if (errno != EINTR && errno != EAGAIN && errno != EBUSY) {
			/* Requests may still be in flight: closing the ring
			 * (after the join) waits for them. */
			w->fatal = errno;
			atomic_store(&r->stop, true);
			break;
		}
		now = now_ns();
		head = *ring->cq_head; /* we own cq_head */
		/* The CQEs before the tail the kernel published. */
		ctail = __atomic_load_n(ring->cq_tail, __ATOMIC_ACQUIRE);
		for (; head != ctail; head++) {
			const struct io_uring_cqe *cqe = &ring->cqes[head & cq_mask];
			unsigned i = (unsigned)cqe->user_data;

			complete(w, &w->slots[i], cqe->res, now);
			w->free[w->nfree++] = i;
			inflight--;
		}
		/* Our reads of those CQEs are done before the kernel reuses them. */
		__atomic_store_n(ring->cq_head, head, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void worker_free(struct worker *w)
{
	if (w->slots)
		for (unsigned i = 0; i < w->nslots; i++)
			free(w->slots[i].buf);
	free(w->slots);
	free(w->free);
	ring_free(&w->ring);
}

/* Buffers (touched, so page faults stay out of the timings) and, for
 * io_uring, the ring.  Returns 0 or -errno; *what names the failing step. */
static int worker_init(struct worker *w, struct run *r, unsigned id, unsigned nslots,
		       const char **what)
{
	size_t buflen = (r->o->bs + BUF_ALIGN - 1) / BUF_ALIGN * BUF_ALIGN;
	int ret;

	*w = (struct worker){.run = r, .nslots = nslots, .ring = {.fd = -1}};
	w->rng = pattern_splitmix64(r->o->seed ^ ((uint64_t)(id + 1) << 32));
	*what = "out of memory";
	w->slots = calloc(nslots, sizeof(*w->slots));
	w->free = calloc(nslots, sizeof(*w->free));
	if (!w->slots || !w->free)
		return -ENOMEM;
	for (unsigned i = 0; i < nslots; i++) {
		if (!(w->slots[i].buf = aligned_alloc(BUF_ALIGN, buflen)))
			return -ENOMEM;
		memset(w->slots[i].buf, 0, buflen);
		w->free[i] = nslots - 1 - i;
	}
	w->nfree = nslots;
	if (r->o->engine != E_URING)
		return 0;
	*what = "io_uring_setup";
	if ((ret = ring_init(&w->ring, nslots)))
		return ret;
	return 0;
}

/* Open DEV and find the area.  Returns 0, 1 or EXIT_USAGE. */
static int open_dev(const struct blk_opts *o, struct run *r)
{
	int flags = (is_write(o->mode) ? O_WRONLY : O_RDONLY) | O_CLOEXEC;
	uint64_t devsize;
	struct stat st;

	if (o->direct)
		flags |= O_DIRECT;
	r->fd = open(o->dev, flags);
	if (r->fd < 0) {
		fprintf(stderr, PROG ": %s: %s%s\n", o->dev, strerror(errno),
			errno == EINVAL && o->direct ? " (no O_DIRECT on this file system?)" : "");
		return 1;
	}
	if (fstat(r->fd, &st)) {
		fprintf(stderr, PROG ": %s: fstat: %s\n", o->dev, strerror(errno));
		return 1;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(r->fd, BLKGETSIZE64, &devsize)) {
			fprintf(stderr, PROG ": %s: BLKGETSIZE64: %s\n", o->dev, strerror(errno));
			return 1;
		}
	} else if (S_ISREG(st.st_mode)) {
		devsize = (uint64_t)st.st_size;
	} else {
		fprintf(stderr, PROG ": %s: not a block device or regular file\n", o->dev);
		return 1;
	}
	if (o->offset > devsize) {
		fprintf(stderr,
			PROG ": --offset: %" PRIu64 " is beyond the end of %s (%" PRIu64
			     " bytes)\n",
			o->offset, o->dev, devsize);
		return EXIT_USAGE;
	}
	r->area_off = o->offset;
	r->area_size = o->size_set ? o->size : devsize - o->offset;
	if (o->size_set && o->size > devsize - o->offset) {
		fprintf(stderr,
			PROG ": --size: %" PRIu64 " bytes at offset %" PRIu64
			     " go beyond the end of %s (%" PRIu64 " bytes)\n",
			o->size, o->offset, o->dev, devsize);
		return EXIT_USAGE;
	}
	if (!r->area_size) {
		fprintf(stderr,
			PROG ": %s: nothing to do (%" PRIu64 " bytes, offset %" PRIu64 ")\n",
			o->dev, devsize, o->offset);
		return 1;
	}
	if (is_verify(o->mode)) {
		r->nblocks = (r->area_size + o->bs - 1) / o->bs;
	} else {
		r->nblocks = r->area_size / o->bs;
		if (!r->nblocks) {
			fprintf(stderr,
				PROG ": --bs: %" PRIu64 " is larger than the area (%" PRIu64
				     " bytes)\n",
				o->bs, r->area_size);
			return EXIT_USAGE;
		}
	}
	return 0;
}

static void print_result(const struct blk_opts *o, const struct worker *sum, double secs,
			 const struct blk_hist *h)
{
	double iops = secs > 0 ? (double)sum->ios / secs : 0;
	double mbps = secs > 0 ? (double)sum->bytes / secs / 1e6 : 0;

	printf("{\"tool\":\"kvmlab-guest blk\",\"mode\":\"%s\",\"engine\":\"%s\",\"bs\":%" PRIu64
	       ",\"iodepth\":%u,\"jobs\":%u,\"direct\":%s,\"ios\":%" PRIu64 ",\"bytes\":%" PRIu64
	       ",\"seconds\":%.3f,\"iops\":%.1f,\"mbps\":%.2f,\"lat_us\":{\"p50\":%.2f,"
	       "\"p99\":%.2f,\"p999\":%.2f},\"errors\":%" PRIu64 "}\n",
	       mode_names[o->mode], engine_names[o->engine], o->bs, o->iodepth, o->jobs,
	       o->direct ? "true" : "false", sum->ios, sum->bytes, secs, iops, mbps,
	       (double)blk_hist_quantile(h, 0.50) / 1e3, (double)blk_hist_quantile(h, 0.99) / 1e3,
	       (double)blk_hist_quantile(h, 0.999) / 1e3, sum->errors);
}

int blk_main(int argc, char **argv)
{
	struct blk_opts o;
	struct run r = {.fd = -1, .err_off = UINT64_MAX, .bad_off = UINT64_MAX};
	struct worker *ws = NULL, sum = {0};
	struct blk_hist *hist = NULL;
	unsigned nworkers, nslots;
	pthread_attr_t attr;
	const char *what;
	uint64_t t0, t1;
	int ret, fatal = 0;

	ret = parse_args(argc, argv, &o);
	if (ret < 0) {
		help(stdout);
		return fflush(stdout) ? 1 : 0;
	}
	if (ret)
		return ret;
	r.o = &o;
	pthread_mutex_init(&r.lock, NULL);
	if ((ret = open_dev(&o, &r)))
		goto out;
	if (o.bytes_set)
		r.max_ios = (o.bytes + o.bs - 1) / o.bs;

	ret = 1;
	nworkers = o.engine == E_URING ? o.jobs : o.jobs * o.iodepth;
	nslots = o.engine == E_URING ? o.iodepth : 1;
	ws = calloc(nworkers, sizeof(*ws));
	hist = calloc(1, sizeof(*hist));
	if (!ws || !hist) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	for (unsigned i = 0; i < nworkers; i++)
		ws[i].ring.fd = -1;
	for (unsigned i = 0; i < nworkers; i++) {
		int e = worker_init(&ws[i], &r, i, nslots, &what);
		bool no_uring = !strcmp(what, "io_uring_setup") && (e == -ENOSYS || e == -EPERM);

		if (no_uring) {
			fprintf(stderr,
				PROG ": io_uring is not available here (io_uring_setup: %s%s); "
				     "use --engine threads\n",
				strerror(-e),
				e == -EPERM ? ", see /proc/sys/kernel/io_uring_disabled" : "");
			goto out;
		}
		if (e) {
			fprintf(stderr, PROG ": %s: %s\n", what, strerror(-e));
			goto out;
		}
	}

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	t0 = now_ns();
	if (o.runtime > 0)
		r.deadline = t0 + (uint64_t)(o.runtime * 1e9);
	for (unsigned i = 0; i < nworkers; i++) {
		int e = pthread_create(&ws[i].thread, &attr,
				       o.engine == E_URING ? uring_worker : thread_worker, &ws[i]);
		if (e) {
			fprintf(stderr, PROG ": pthread_create: %s\n", strerror(e));
			atomic_store(&r.stop, true);
			fatal = e;
			break;
		}
		ws[i].started = true;
	}
	pthread_attr_destroy(&attr);
	for (unsigned i = 0; i < nworkers; i++) {
		if (!ws[i].started)
			continue;
		pthread_join(ws[i].thread, NULL);
		if (ws[i].fatal && !fatal) {
			fatal = ws[i].fatal;
			fprintf(stderr, PROG ": io_uring_enter: %s\n", strerror(fatal));
		}
		sum.ios += ws[i].ios;
		sum.bytes += ws[i].bytes;
		sum.errors += ws[i].errors;
		sum.bad_blocks += ws[i].bad_blocks;
		blk_hist_merge(hist, &ws[i].hist);
	}
	if (o.mode == M_VERIFY_WRITE && !fatal && fdatasync(r.fd)) {
		fprintf(stderr, PROG ": %s: fdatasync: %s\n", o.dev, strerror(errno));
		sum.errors++;
	}
	t1 = now_ns();

	print_result(&o, &sum, (double)(t1 - t0) / 1e9, hist);
	if (r.err_off != UINT64_MAX) {
		if (r.err_errno)
			fprintf(stderr,
				PROG ": %s: %s at offset %" PRIu64 ": %s (%" PRIu64 " errors)\n",
				o.dev, is_write(o.mode) ? "write" : "read", r.err_off,
				strerror(r.err_errno), sum.errors);
		else
			fprintf(stderr,
				PROG ": %s: short %s at offset %" PRIu64 ": %ld bytes (%" PRIu64
				     " errors)\n",
				o.dev, is_write(o.mode) ? "write" : "read", r.err_off, r.err_res,
				sum.errors);
	}
	ret = fatal ? 1 : 0;
	if (o.mode == M_VERIFY_WRITE && (sum.errors || sum.bytes != r.area_size))
		ret = 1;
	if (o.mode == M_VERIFY_READ) {
		if (r.bad_off != UINT64_MAX) {
			printf("verify: MISMATCH at offset %" PRIu64 "\n", r.bad_off);
			fprintf(stderr,
				PROG ": verify: first mismatch at offset %" PRIu64 " (0x%" PRIx64
				     "): expected 0x%02x, read 0x%02x; %" PRIu64 " of %" PRIu64
				     " blocks of %" PRIu64 " bytes differ\n",
				r.bad_off, r.bad_off, r.bad_want, r.bad_got, sum.bad_blocks,
				r.nblocks, o.bs);
			ret = 1;
		} else if (sum.errors || fatal || sum.bytes != r.area_size) {
			printf("verify: ERROR (%" PRIu64 " I/O errors, %" PRIu64 " of %" PRIu64
			       " bytes read)\n",
			       sum.errors, sum.bytes, r.area_size);
			ret = 1;
		} else {
			printf("verify: ok\n");
		}
	}
	if (fflush(stdout))
		ret = 1;
out:
	if (ws)
		for (unsigned i = 0; i < nworkers; i++)
			worker_free(&ws[i]);
	free(ws);
	free(hist);
	if (r.fd >= 0)
		close(r.fd);
	pthread_mutex_destroy(&r.lock);
	return ret;
}
