/* The io_uring engine under the real virtio-blk model and virtio-pci
 * transport: a fake driver lays rings and requests out in a plain buffer
 * used as guest RAM, brings the device up through the BAR's register
 * handlers, kicks the queues by calling the transport as the IO thread
 * does, and the test plays the IO thread's epoll loop (poll the engine's
 * eventfd, call blk_uring_complete).  The image is a temporary file in
 * /tmp, read back with pread.
 *
 * io_uring may be missing or blocked (ENOSYS, EPERM): the tests then fail
 * with a clear message, unless KVMLAB_ALLOW_NO_IO_URING=1 lets them skip. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "fake_vring.h"
#include "mem/guest_mem.h"
#include "virtio/blk.h"
#include "virtio/blk_uring.h"
#include "virtio/virtio_pci.h"

#define RAM_SIZE  0x400000ULL
#define IMG_SIZE  (1ULL << 20)
#define QSIZE	  64
#define MAX_Q	  2
#define MAX_SLOTS 128

/* Guest memory layout of the fake driver. */
#define RING_GPA(q)   (0x10000ULL + (q)*0x4000ULL) /* desc; avail +0x1000; used +0x2000 */
#define TABLE_GPA(s)  (0x20000ULL + (s)*0x100ULL)  /* indirect table, 16 entries */
#define HDR_GPA(s)    (0x30000ULL + (s)*0x20ULL)
#define STATUS_GPA(s) (0x34000ULL + (s))
#define DATA_GPA(s)   (0x40000ULL + (s)*0x4000ULL) /* up to 16 KiB per request */
#define DATA_MAX      0x4000u

#define F_VERSION_1 (1ULL << VIRTIO_F_VERSION_1)
#define F_INDIRECT  (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_FLUSH	    (1ULL << VIRTIO_BLK_F_FLUSH)
#define F_WCE	    (1ULL << VIRTIO_BLK_F_CONFIG_WCE)

#define TIMEOUT_MS 10000

struct env {
	uint8_t *ram;
	struct guest_mem gm;
	char path[64];
	int fd;
	struct blk_uring u;
	bool u_ready;
	struct virtio_blk blk;
	bool blk_ready;
	struct virtio_pci t;
	bool t_ready;
	int eng_fd; /* the engine's own fd when it is not the image's, else -1 */
	unsigned int nq;
	struct fv fv[MAX_Q];
	uint16_t used_seen[MAX_Q];
	unsigned int slot_of[MAX_Q][QSIZE]; /* chain head -> request slot */
	uint16_t head_of[MAX_SLOTS];
	uint8_t want_status[MAX_SLOTS];
	uint32_t want_len[MAX_SLOTS]; /* used length */
	bool done[MAX_SLOTS];
	unsigned int kicks; /* host kicks (re-kicks after DRIVER_OK, starvation) */
};

/* ---- host side ---------------------------------------------------------- */

static int h_ioeventfd(void *opaque, unsigned int q, uint64_t gpa, bool assign)
{
	(void)opaque;
	(void)q;
	(void)gpa;
	(void)assign;
	return 0;
}

static void h_kick(void *opaque, unsigned int q)
{
	struct env *e = opaque;

	(void)q;
	e->kicks++;
}

static int h_update(void *opaque, unsigned int v, uint64_t addr, uint32_t data)
{
	(void)opaque;
	(void)v;
	(void)addr;
	(void)data;
	return 0;
}

static void h_fire(void *opaque, unsigned int v, uint64_t addr, uint32_t data)
{
	(void)opaque;
	(void)v;
	(void)addr;
	(void)data;
}

static const struct virtio_pci_host_ops host_ops = {.ioeventfd = h_ioeventfd, .kick = h_kick};
static const struct msix_ops msix_ops = {.update = h_update, .fire = h_fire};

/* ---- io_uring availability ---------------------------------------------- */

/* r came from blk_uring_init: fail (or skip when allowed) if the kernel
 * has no usable io_uring, fail on any other error. */
static void require_uring(int r)
{
	const char *allow = getenv("KVMLAB_ALLOW_NO_IO_URING");

	if (r == -ENOSYS || r == -EPERM) {
		if (allow && !strcmp(allow, "1")) {
			fprintf(stderr,
				"SKIP: io_uring unavailable (%s); skipped because "
				"KVMLAB_ALLOW_NO_IO_URING=1\n",
				strerror(-r));
			skip();
		}
		fail_msg("io_uring_setup failed: %s.  io_uring is missing or blocked on this "
			 "host (kernel.io_uring_disabled, seccomp, old kernel); set "
			 "KVMLAB_ALLOW_NO_IO_URING=1 to skip these tests",
			 strerror(-r));
	}
	if (r != 0)
		fail_msg("blk_uring_init: %s", strerror(-r));
}

/* ---- the image ---------------------------------------------------------- */

static int make_image(char *path, size_t len)
{
	int fd;

	snprintf(path, len, "/tmp/kvmlab-test-uring-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)IMG_SIZE), 0);
	return fd;
}

static uint8_t pat(unsigned int seed, uint64_t i)
{
	return (uint8_t)(seed * 31u + i * 7u + (i >> 9) + 1u);
}

/* The image holds pattern seed over [off, off + len). */
static void check_image(struct env *e, uint64_t off, uint32_t len, unsigned int seed)
{
	static uint8_t buf[DATA_MAX];

	assert_true(len <= DATA_MAX);
	assert_int_equal(pread(e->fd, buf, len, (off_t)off), (ssize_t)len);
	for (uint32_t i = 0; i < len; i++)
		if (buf[i] != pat(seed, i))
			fail_msg("image byte %llu: 0x%02x, want 0x%02x",
				 (unsigned long long)(off + i), buf[i], pat(seed, i));
}

/* ---- the driver --------------------------------------------------------- */

static void reg_write(struct env *e, uint64_t off, uint32_t len, uint64_t v)
{
	uint8_t b[8];

	memcpy(b, &v, len);
	virtio_pci_bar_ops.write(&e->t, off, b, len);
}

static void cc_write(struct env *e, uint32_t reg, uint32_t len, uint64_t v)
{
	reg_write(e, VPCI_COMMON_OFF + reg, len, v);
}

/* Feature negotiation, every queue set up, DRIVER_OK. */
static void driver_up(struct env *e)
{
	uint64_t f = F_VERSION_1 | F_INDIRECT | F_FLUSH | F_WCE;

	assert_int_equal(virtio_blk_features(&e->blk) & (f & ~F_VERSION_1), f & ~F_VERSION_1);
	cc_write(e, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	cc_write(e, VIRTIO_PCI_COMMON_STATUS, 1,
		 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	cc_write(e, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	cc_write(e, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)f);
	cc_write(e, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	cc_write(e, VIRTIO_PCI_COMMON_GF, 4, f >> 32);
	cc_write(e, VIRTIO_PCI_COMMON_STATUS, 1,
		 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		     VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int q = 0; q < e->nq; q++) {
		uint64_t base = RING_GPA(q);

		fv_init(&e->fv[q], &e->gm, QSIZE, base, base + 0x1000, base + 0x2000);
		cc_write(e, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
		cc_write(e, VIRTIO_PCI_COMMON_Q_SIZE, 2, QSIZE);
		cc_write(e, VIRTIO_PCI_COMMON_Q_DESCLO, 8, base);
		cc_write(e, VIRTIO_PCI_COMMON_Q_AVAILLO, 8, base + 0x1000);
		cc_write(e, VIRTIO_PCI_COMMON_Q_USEDLO, 8, base + 0x2000);
		cc_write(e, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	}
	cc_write(e, VIRTIO_PCI_COMMON_STATUS, 1,
		 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		     VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(virtio_pci_status(&e->t),
			 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			     VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* What the engine's fd is. */
enum eng_fd { ENG_IMAGE, ENG_WRITE_ONLY, ENG_CLOSED };

/* Build the device over a fresh image with nq queues served by one engine
 * of `entries` SQ entries over the image fd, a write-only open of the
 * image, or a number no file is open under. */
static struct env *env_start(unsigned int nq, unsigned int entries, enum eng_fd how)
{
	struct env *e = calloc(1, sizeof(*e));
	const struct blk_engine_ops *ops[MAX_Q];
	void *eng[MAX_Q];
	struct blk_disk disk;
	int r;

	assert_non_null(e);
	e->nq = nq;
	e->ram = calloc(1, RAM_SIZE);
	assert_non_null(e->ram);
	gm_init(&e->gm);
	assert_int_equal(gm_region_add(&e->gm, 0, RAM_SIZE, e->ram), 0);
	e->fd = make_image(e->path, sizeof(e->path));
	e->eng_fd = -1;
	if (how == ENG_WRITE_ONLY) {
		e->eng_fd = open(e->path, O_WRONLY | O_CLOEXEC);
		assert_true(e->eng_fd >= 0);
	}
	unlink(e->path); /* nothing left in /tmp, even when a test fails */

	if (how == ENG_CLOSED) {
		/* far above what the ring and the eventfd will get */
		int bad = fcntl(0, F_DUPFD_CLOEXEC, 900);

		assert_true(bad >= 900);
		close(bad);
		r = blk_uring_init(&e->u, entries, bad);
	} else {
		r = blk_uring_init(&e->u, entries, how == ENG_IMAGE ? e->fd : e->eng_fd);
	}
	if (r) {
		/* leave nothing behind when the test fails or skips here */
		close(e->fd);
		if (e->eng_fd >= 0)
			close(e->eng_fd);
		free(e->ram);
		free(e);
		require_uring(r);
	}
	e->u_ready = true;

	memset(&disk, 0, sizeof(disk));
	disk.fd = e->fd;
	disk.size = IMG_SIZE;
	disk.block_size = 512;
	disk.cache = BLK_CACHE_WRITEBACK;
	memcpy(disk.serial, "uring-test", 10);
	for (unsigned int i = 0; i < nq; i++) {
		ops[i] = &blk_uring_ops;
		eng[i] = &e->u;
	}
	assert_int_equal(virtio_blk_init(&e->blk, &disk, nq, ops, eng), 0);
	e->blk_ready = true;
	assert_int_equal(virtio_pci_init(&e->t, &e->gm, &virtio_blk_ops, &e->blk,
					 virtio_blk_features(&e->blk), nq, QSIZE,
					 virtio_blk_cfg_len(), &host_ops, &msix_ops, e),
			 0);
	e->t_ready = true;
	e->blk.t = &e->t;
	driver_up(e);
	return e;
}

static void env_stop(struct env *e)
{
	if (e->t_ready)
		virtio_pci_destroy(&e->t);
	if (e->blk_ready)
		virtio_blk_destroy(&e->blk);
	if (e->u_ready)
		blk_uring_destroy(&e->u);
	close(e->fd);
	if (e->eng_fd >= 0)
		close(e->eng_fd);
	free(e->ram);
	free(e);
}

/* Queue a request in slot s on queue q: header, nseg data buffers of len
 * bytes in all (OUT: pattern seed; IN: filled with 0xee), status byte, as
 * an indirect chain.  Not kicked. */
static void add_req(struct env *e, unsigned int q, unsigned int s, uint32_t type, uint64_t sector,
		    uint32_t len, unsigned int nseg, unsigned int seed)
{
	struct virtio_blk_outhdr hdr = {.type = type, .ioprio = 0, .sector = sector};
	struct fv_buf bufs[16];
	uint8_t st = 0xff;
	unsigned int n = 0;
	uint32_t off = 0;
	uint16_t head;

	assert_true(s < MAX_SLOTS && q < e->nq && len <= DATA_MAX && nseg <= 14);
	fv_write(&e->gm, HDR_GPA(s), &hdr, sizeof(hdr));
	fv_write(&e->gm, STATUS_GPA(s), &st, 1);
	bufs[n++] = (struct fv_buf){HDR_GPA(s), sizeof(hdr), false};
	if (type == VIRTIO_BLK_T_OUT) {
		for (uint32_t i = 0; i < len; i++)
			e->ram[DATA_GPA(s) + i] = pat(seed, i);
	} else if (len) {
		fv_fill(&e->gm, DATA_GPA(s), 0xee, len);
	}
	for (unsigned int i = 0; len && i < nseg; i++) {
		/* uneven pieces: the last one takes the rest */
		uint32_t piece = i + 1 < nseg ? (len / nseg) & ~7u : len - off;

		bufs[n++] = (struct fv_buf){DATA_GPA(s) + off, piece, type == VIRTIO_BLK_T_IN};
		off += piece;
	}
	bufs[n++] = (struct fv_buf){STATUS_GPA(s), 1, true};
	head = fv_add_indirect(&e->fv[q], TABLE_GPA(s), bufs, n);
	e->slot_of[q][head] = s;
	e->head_of[s] = head;
	e->want_status[s] = VIRTIO_BLK_S_OK;
	e->want_len[s] = 1 + (type == VIRTIO_BLK_T_IN ? len : 0);
	e->done[s] = false;
}

/* The IO thread saw queue q's kick. */
static void kick(struct env *e, unsigned int q)
{
	virtio_pci_queue_kicked(&e->t, q);
}

static uint64_t stat(_Atomic uint64_t *c)
{
	return atomic_load(c);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* CQEs posted and not yet reaped. */
static unsigned int cq_ready(struct env *e)
{
	return __atomic_load_n(e->u.cq.tail, __ATOMIC_ACQUIRE) - *e->u.cq.head;
}

/* Wait (without reaping) until n CQEs are posted. */
static void wait_cq(struct env *e, unsigned int n)
{
	uint64_t end = now_ms() + TIMEOUT_MS;

	while (cq_ready(e) < n) {
		if (now_ms() > end)
			fail_msg("only %u of %u completions posted", cq_ready(e), n);
		usleep(200);
	}
}

/* Play the IO thread until the engine has reaped `total` CQEs in all. */
static void run_until(struct env *e, uint64_t total)
{
	while (stat(&e->u.stats.completed) < total) {
		struct pollfd p = {.fd = blk_uring_eventfd(&e->u), .events = POLLIN};
		int r = poll(&p, 1, TIMEOUT_MS);

		if (r != 1)
			fail_msg("eventfd not readable (%d) with %llu of %llu reaped", r,
				 (unsigned long long)stat(&e->u.stats.completed),
				 (unsigned long long)total);
		blk_uring_complete(&e->u);
	}
	assert_int_equal(stat(&e->u.stats.completed), total);
}

/* Take n new used elements of queue q and check each against its slot:
 * status byte and used length as expected, no slot twice. */
static void expect_used(struct env *e, unsigned int q, unsigned int n)
{
	struct fv *fv = &e->fv[q];

	assert_int_equal((uint16_t)(fv_used_idx(fv) - e->used_seen[q]), n);
	for (unsigned int i = 0; i < n; i++) {
		uint32_t id, len;
		unsigned int s;

		fv_used_elem(fv, e->used_seen[q]++, &id, &len);
		assert_true(id < QSIZE);
		s = e->slot_of[q][id];
		assert_false(e->done[s]);
		e->done[s] = true;
		assert_int_equal(e->ram[STATUS_GPA(s)], e->want_status[s]);
		assert_int_equal(len, e->want_len[s]);
	}
}

/* The data of IN request slot s is pattern seed. */
static void check_read(struct env *e, unsigned int s, uint32_t len, unsigned int seed)
{
	for (uint32_t i = 0; i < len; i++)
		if (e->ram[DATA_GPA(s) + i] != pat(seed, i))
			fail_msg("slot %u byte %u: 0x%02x, want 0x%02x", s, i,
				 e->ram[DATA_GPA(s) + i], pat(seed, i));
}

/* The SQE prepared last. */
static const struct io_uring_sqe *last_sqe(struct env *e)
{
	return &e->u.sqes[(e->u.sq.local_tail - 1) & e->u.sq.mask];
}

/* ---- tests -------------------------------------------------------------- */

static void test_init(void **state)
{
	struct blk_uring u;
	char path[64];
	int fd, flags, r;

	(void)state;
	fd = make_image(path, sizeof(path));
	unlink(path);
	assert_int_equal(blk_uring_init(&u, 0, fd), -EINVAL);
	assert_int_equal(blk_uring_eventfd(&u), -1);
	assert_int_equal(blk_uring_init(&u, 8, -1), -EBADF);
	blk_uring_destroy(&u); /* safe after a failed init */

	r = blk_uring_init(&u, 60, fd);
	if (r)
		close(fd);
	require_uring(r);
	assert_int_equal(u.sq.entries, 64); /* rounded up to a power of two */
	assert_int_equal(u.sq.mask, 63);
	assert_true(u.cq.entries >= 64);
	assert_int_equal(u.cq.mask, u.cq.entries - 1);
	assert_int_equal(u.fd, fd);
	assert_true(u.ring_fd >= 0);
	for (unsigned int i = 0; i < u.sq.entries; i++)
		assert_int_equal(u.sq.array[i], i);
	if (u.features & IORING_FEAT_SINGLE_MMAP)
		assert_null(u.cq_map);
	else
		assert_non_null(u.cq_map);
	flags = fcntl(blk_uring_eventfd(&u), F_GETFL);
	assert_true(flags >= 0 && (flags & O_NONBLOCK));
	assert_true(fcntl(blk_uring_eventfd(&u), F_GETFD) & FD_CLOEXEC);
	/* nothing submitted: flush and complete are no-ops */
	blk_uring_ops.flush(&u);
	blk_uring_complete(&u);
	assert_int_equal(stat(&u.stats.enter_calls), 0);
	assert_int_equal(stat(&u.stats.completed), 0);
	assert_string_equal(blk_uring_ops.name, "io_uring");
	blk_uring_destroy(&u);
	assert_int_equal(u.ring_fd, -1);
	assert_int_equal(blk_uring_eventfd(&u), -1);
	blk_uring_destroy(&u); /* twice is fine */

	assert_int_equal(blk_uring_init(&u, 1, fd), 0);
	assert_int_equal(u.sq.entries, 1);
	blk_uring_destroy(&u);
	assert_int_equal(blk_uring_init(&u, 5, fd), 0);
	assert_int_equal(u.sq.entries, 8);
	blk_uring_destroy(&u);
	close(fd);
}

/* Writes land at their offsets, reads bring them back, with one and
 * several segments per request. */
static void test_write_read(void **state)
{
	struct env *e = env_start(1, QSIZE, ENG_IMAGE);

	(void)state;
	add_req(e, 0, 0, VIRTIO_BLK_T_OUT, 0, 4096, 1, 1);
	add_req(e, 0, 1, VIRTIO_BLK_T_OUT, 100, 8192, 3, 2);
	add_req(e, 0, 2, VIRTIO_BLK_T_OUT, 17, 512, 1, 3);
	add_req(e, 0, 3, VIRTIO_BLK_T_OUT, IMG_SIZE / 512 - 8, 4096, 5, 4); /* the last 4 KiB */
	kick(e, 0);
	assert_int_equal(stat(&e->u.stats.submitted), 4);
	assert_int_equal(stat(&e->u.stats.enter_calls), 1); /* one per batch */
	assert_int_equal(stat(&e->u.stats.batches), 1);
	assert_int_equal(last_sqe(e)->opcode, IORING_OP_WRITEV);
	assert_int_equal(last_sqe(e)->rw_flags, 0);
	assert_int_equal(last_sqe(e)->len, 5);
	assert_int_equal(last_sqe(e)->off, IMG_SIZE - 4096);
	run_until(e, 4);
	expect_used(e, 0, 4);
	check_image(e, 0, 4096, 1);
	check_image(e, 100 * 512, 8192, 2);
	check_image(e, 17 * 512, 512, 3);
	check_image(e, IMG_SIZE - 4096, 4096, 4);
	assert_int_equal(stat(&e->blk.q[0].stats.bytes[1]), 4096 + 8192 + 512 + 4096);

	add_req(e, 0, 4, VIRTIO_BLK_T_IN, 100, 8192, 4, 0);
	add_req(e, 0, 5, VIRTIO_BLK_T_IN, 0, 4096, 1, 0);
	add_req(e, 0, 6, VIRTIO_BLK_T_IN, 17, 512, 1, 0);
	add_req(e, 0, 7, VIRTIO_BLK_T_IN, IMG_SIZE / 512 - 8, 4096, 2, 0);
	kick(e, 0);
	assert_int_equal(last_sqe(e)->opcode, IORING_OP_READV);
	assert_int_equal(stat(&e->u.stats.enter_calls), 2);
	run_until(e, 8);
	expect_used(e, 0, 4);
	check_read(e, 4, 8192, 2);
	check_read(e, 5, 4096, 1);
	check_read(e, 6, 512, 3);
	check_read(e, 7, 4096, 4);
	assert_int_equal(stat(&e->blk.q[0].stats.errors), 0);
	assert_int_equal(e->blk.inflight_total, 0);
	env_stop(e);
}

/* FLUSH is an fdatasync SQE; with the write cache off writes carry
 * RWF_DSYNC. */
static void test_flush_and_dsync(void **state)
{
	struct env *e = env_start(1, QSIZE, ENG_IMAGE);
	uint8_t zero = 0;

	(void)state;
	add_req(e, 0, 0, VIRTIO_BLK_T_OUT, 8, 4096, 2, 9);
	add_req(e, 0, 1, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0);
	kick(e, 0);
	assert_int_equal(last_sqe(e)->opcode, IORING_OP_FSYNC);
	assert_int_equal(last_sqe(e)->fsync_flags, IORING_FSYNC_DATASYNC);
	run_until(e, 2);
	expect_used(e, 0, 2);
	check_image(e, 8 * 512, 4096, 9);
	assert_int_equal(stat(&e->blk.q[0].stats.reqs[2]), 1); /* one flush */

	/* the guest turns the write cache off (CONFIG_WCE) */
	virtio_pci_bar_ops.write(&e->t, VPCI_DEVICE_OFF + offsetof(struct virtio_blk_config, wce),
				 &zero, 1);
	add_req(e, 0, 2, VIRTIO_BLK_T_OUT, 64, 2048, 1, 10);
	kick(e, 0);
	assert_int_equal(last_sqe(e)->opcode, IORING_OP_WRITEV);
	assert_int_equal(last_sqe(e)->rw_flags, RWF_DSYNC);
	run_until(e, 3);
	expect_used(e, 0, 1);
	check_image(e, 64 * 512, 2048, 10);
	env_stop(e);
}

/* 64 requests on each of two queues, all in flight before any is reaped:
 * one io_uring_enter per queue batch, every CQE's user_data is its own
 * request, and one completion pass publishes each queue once. */
static void test_many_in_flight(void **state)
{
	struct env *e = env_start(2, 2 * QSIZE, ENG_IMAGE);
	const unsigned int per_q = QSIZE;
	unsigned int n = 2 * per_q;
	unsigned int head, tail;

	(void)state;
	for (unsigned int s = 0; s < n; s++)
		add_req(e, s % 2, s, VIRTIO_BLK_T_OUT, 16ULL * s, 4096 + 512 * (s % 8), 1 + s % 4,
			100 + s);
	kick(e, 0);
	kick(e, 1);
	assert_int_equal(stat(&e->u.stats.submitted), n);
	assert_int_equal(stat(&e->u.stats.enter_calls), 2);
	assert_int_equal(stat(&e->u.stats.batches), 2);
	assert_int_equal(stat(&e->u.stats.max_inflight), n);
	assert_int_equal(e->blk.q[0].inflight, per_q);
	assert_int_equal(e->blk.q[1].inflight, per_q);

	/* every CQE names a request slot of the right device, with the
	 * request's full length */
	wait_cq(e, n);
	head = *e->u.cq.head;
	tail = __atomic_load_n(e->u.cq.tail, __ATOMIC_ACQUIRE);
	assert_int_equal(tail - head, n);
	for (unsigned int i = head; i != tail; i++) {
		const struct io_uring_cqe *c = &e->u.cq.cqes[i & e->u.cq.mask];
		const struct blk_req *r = (const struct blk_req *)(uintptr_t)c->user_data;
		unsigned int q, s;

		assert_non_null(r);
		assert_true(r->q == &e->blk.q[0] || r->q == &e->blk.q[1]);
		q = r->q->idx;
		assert_true(r >= r->q->slots && r < r->q->slots + r->q->nslots);
		assert_int_equal(r->type, VIRTIO_BLK_T_OUT);
		s = e->slot_of[q][r->elem.head];
		assert_int_equal(s % 2, q);
		assert_int_equal(r->offset, 16ULL * 512 * s);
		assert_int_equal(c->res, (int32_t)r->len);
		assert_int_equal(r->len, 4096 + 512 * (s % 8));
	}

	/* one pass: each queue locked, published and interrupted once */
	blk_uring_complete(&e->u);
	assert_int_equal(stat(&e->u.stats.completed), n);
	assert_int_equal(*e->u.cq.head, tail);
	for (unsigned int q = 0; q < 2; q++) {
		assert_int_equal(stat(&e->t.queues[q].interrupts), 1);
		assert_int_equal(stat(&e->blk.q[q].stats.interrupts), 1);
		assert_int_equal(e->blk.q[q].inflight, 0);
		expect_used(e, q, per_q);
	}
	for (unsigned int s = 0; s < n; s++)
		check_image(e, 16ULL * 512 * s, 4096 + 512 * (s % 8), 100 + s);

	/* and all of it read back at once, into each request's own buffers */
	for (unsigned int s = 0; s < n; s++)
		add_req(e, s % 2, s, VIRTIO_BLK_T_IN, 16ULL * s, 4096 + 512 * (s % 8), 1 + s % 3,
			0);
	kick(e, 1);
	kick(e, 0);
	assert_int_equal(stat(&e->u.stats.enter_calls), 4);
	run_until(e, 2 * n);
	for (unsigned int q = 0; q < 2; q++)
		expect_used(e, q, per_q);
	for (unsigned int s = 0; s < n; s++)
		check_read(e, s, 4096 + 512 * (s % 8), 100 + s);
	assert_int_equal(stat(&e->blk.q[0].stats.errors) + stat(&e->blk.q[1].stats.errors), 0);
	env_stop(e);
}

/* An SQ smaller than the batch: submit hands the full SQ to the kernel
 * and goes on. */
static void test_sq_full(void **state)
{
	struct env *e = env_start(1, 4, ENG_IMAGE);

	(void)state;
	assert_int_equal(e->u.sq.entries, 4);
	for (unsigned int s = 0; s < 8; s++)
		add_req(e, 0, s, VIRTIO_BLK_T_OUT, 8ULL * s, 4096, 2, 50 + s);
	kick(e, 0);
	assert_int_equal(stat(&e->u.stats.sq_full), 1);
	assert_int_equal(stat(&e->u.stats.enter_calls), 2);
	assert_int_equal(stat(&e->u.stats.submitted), 8);
	run_until(e, 8);
	expect_used(e, 0, 8);
	for (unsigned int s = 0; s < 8; s++)
		check_image(e, 8ULL * 512 * s, 4096, 50 + s);
	env_stop(e);
}

/* More requests in flight than the CQ holds: completions that overflow
 * wait in the kernel and are still all delivered. */
static void test_cq_overflow(void **state)
{
	struct env *e = env_start(1, 2, ENG_IMAGE);
	unsigned int n = 48;

	(void)state;
	assert_true(e->u.cq.entries < n);
	for (unsigned int s = 0; s < n; s++)
		add_req(e, 0, s, VIRTIO_BLK_T_OUT, 8ULL * s, 512, 1, 7 + s);
	kick(e, 0);
	assert_true(stat(&e->u.stats.sq_full) > 0);
	run_until(e, n);
	assert_int_equal(stat(&e->u.stats.submitted), n);
	expect_used(e, 0, n);
	for (unsigned int s = 0; s < n; s++)
		check_image(e, 8ULL * 512 * s, 512, 7 + s);
	env_stop(e);
}

/* The first n posted CQEs all carry a negative result (read before they
 * are reaped). */
static void expect_cqe_errors(struct env *e, unsigned int n, int32_t res)
{
	unsigned int head = *e->u.cq.head;

	wait_cq(e, n);
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(e->u.cq.cqes[(head + i) & e->u.cq.mask].res, res);
}

/* Reads through a write-only fd fail with -EBADF; IOERR to the guest. */
static void test_read_on_write_only_fd(void **state)
{
	struct env *e = env_start(1, QSIZE, ENG_WRITE_ONLY);

	(void)state;

	add_req(e, 0, 0, VIRTIO_BLK_T_OUT, 0, 4096, 1, 21); /* writes work */
	kick(e, 0);
	run_until(e, 1);
	expect_used(e, 0, 1);
	check_image(e, 0, 4096, 21);

	add_req(e, 0, 1, VIRTIO_BLK_T_IN, 0, 4096, 2, 0);
	add_req(e, 0, 2, VIRTIO_BLK_T_IN, 8, 512, 1, 0);
	e->want_status[1] = e->want_status[2] = VIRTIO_BLK_S_IOERR;
	e->want_len[1] = e->want_len[2] = 1;
	kick(e, 0);
	expect_cqe_errors(e, 2, -EBADF);
	run_until(e, 3);
	expect_used(e, 0, 2);
	assert_int_equal(stat(&e->blk.q[0].stats.errors), 2);
	assert_int_equal(e->ram[DATA_GPA(1)], 0xee); /* untouched */
	env_stop(e);
}

/* An engine fd that is not open: every request fails with -EBADF. */
static void test_bad_fd(void **state)
{
	struct env *e = env_start(1, QSIZE, ENG_CLOSED);

	(void)state;
	add_req(e, 0, 0, VIRTIO_BLK_T_OUT, 0, 4096, 1, 1);
	add_req(e, 0, 1, VIRTIO_BLK_T_IN, 0, 4096, 1, 0);
	add_req(e, 0, 2, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0);
	for (unsigned int s = 0; s < 3; s++) {
		e->want_status[s] = VIRTIO_BLK_S_IOERR;
		e->want_len[s] = 1;
	}
	kick(e, 0);
	expect_cqe_errors(e, 3, -EBADF);
	run_until(e, 3);
	expect_used(e, 0, 3);
	assert_int_equal(stat(&e->blk.q[0].stats.errors), 3);
	assert_int_equal(e->blk.inflight_total, 0);
	env_stop(e);
}

/* A short read (the image shrank under the device) is an error, not a
 * partial success. */
static void test_short_read(void **state)
{
	struct env *e = env_start(1, QSIZE, ENG_IMAGE);

	(void)state;
	assert_int_equal(ftruncate(e->fd, 1024), 0);
	add_req(e, 0, 0, VIRTIO_BLK_T_IN, 0, 4096, 1, 0);   /* 1024 bytes, then EOF */
	add_req(e, 0, 1, VIRTIO_BLK_T_IN, 100, 4096, 2, 0); /* past EOF: 0 bytes */
	add_req(e, 0, 2, VIRTIO_BLK_T_IN, 0, 1024, 1, 0);   /* exactly what is left */
	e->want_status[0] = e->want_status[1] = VIRTIO_BLK_S_IOERR;
	e->want_len[0] = e->want_len[1] = 1;
	kick(e, 0);
	run_until(e, 3);
	expect_used(e, 0, 3);
	assert_int_equal(stat(&e->u.stats.short_io), 2);
	assert_int_equal(stat(&e->blk.q[0].stats.errors), 2);
	env_stop(e);
}

/* Requests the engine cannot take are refused at submit, with no SQE
 * used (the device model completes them itself). */
static void test_submit_refused(void **state)
{
	struct env *e = env_start(1, QSIZE, ENG_IMAGE);
	struct iovec iov = {e->ram + DATA_GPA(0), 512};
	struct blk_req r;
	unsigned int tail = e->u.sq.local_tail;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.q = &e->blk.q[0];
	r.type = VIRTIO_BLK_T_GET_ID;
	r.iov = &iov;
	r.iovcnt = 1;
	r.len = 512;
	assert_int_equal(blk_uring_ops.submit(&e->u, &r), -EOPNOTSUPP);
	r.type = VIRTIO_BLK_T_DISCARD;
	assert_int_equal(blk_uring_ops.submit(&e->u, &r), -EOPNOTSUPP);
	r.type = VIRTIO_BLK_T_IN;
	r.iovcnt = 0;
	assert_int_equal(blk_uring_ops.submit(&e->u, &r), -EINVAL);
	r.iovcnt = 1;
	r.iov = NULL;
	assert_int_equal(blk_uring_ops.submit(&e->u, &r), -EINVAL);
	assert_int_equal(e->u.sq.local_tail, tail);
	blk_uring_ops.flush(&e->u);
	assert_int_equal(stat(&e->u.stats.enter_calls), 0);
	env_stop(e);
}

/* With KVMLAB_ALLOW_NO_IO_URING=1 and no io_uring, say so and exit with
 * 77, which meson reports as SKIP (not as a pass). */
static bool skip_all(void)
{
	const char *allow = getenv("KVMLAB_ALLOW_NO_IO_URING");
	struct blk_uring u;
	int r;

	if (!allow || strcmp(allow, "1"))
		return false;
	r = blk_uring_init(&u, 1, 0);
	if (r == 0) {
		blk_uring_destroy(&u);
		return false;
	}
	if (r != -ENOSYS && r != -EPERM)
		return false;
	fprintf(stderr,
		"SKIP: io_uring unavailable (%s); all tests skipped because "
		"KVMLAB_ALLOW_NO_IO_URING=1\n",
		strerror(-r));
	return true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_write_read),
	    cmocka_unit_test(test_flush_and_dsync),
	    cmocka_unit_test(test_many_in_flight),
	    cmocka_unit_test(test_sq_full),
	    cmocka_unit_test(test_cq_overflow),
	    cmocka_unit_test(test_read_on_write_only_fd),
	    cmocka_unit_test(test_bad_fd),
	    cmocka_unit_test(test_short_read),
	    cmocka_unit_test(test_submit_refused),
	};

	if (skip_all())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
