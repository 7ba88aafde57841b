/* virtio-blk over the virtio-pci transport: a fake driver lays rings and
 * requests out in a plain buffer used as guest RAM, the image is a memfd,
 * registers are reached through the BAR handlers, and the I/O engine is a
 * recorder in front of the sync engine (or holding requests, to play an
 * async engine that completes later). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "fake_vring.h"
#include "fake_vpci.h"
#include "mem/guest_mem.h"
#include "virtio/blk.h"
#include "virtio/blk_sync.h"
#include "virtio/virtio_pci.h"

#define RAM_SIZE (16ULL << 20)
/* Rings of queue q. */
#define DESC_GPA(q)  (0x10000ULL + 0x10000ULL * (q))
#define AVAIL_GPA(q) (DESC_GPA(q) + 0x4000)
#define USED_GPA(q)  (DESC_GPA(q) + 0x8000)
#define TABLE_GPA    0x40000ULL /* indirect tables, 0x1000 each */
#define HDR_GPA	     0x50000ULL /* request headers, 0x200 apart */
#define STATUS_GPA   0x58000ULL /* status bytes, 0x10 apart */
#define PAYLOAD_GPA  0x60000ULL /* discard ranges */
#define DATA_GPA     0x100000ULL
#define DATA2_GPA    0x800000ULL

#define IMG_SIZE ((1ULL << 20) + 300) /* a partial sector at the end is not exposed */
#define SECTORS	 ((IMG_SIZE) / 512)
#define SERIAL	 "kvmlab-serial-0001"

#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV VIRTIO_CONFIG_S_DRIVER
#define S_FOK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR  VIRTIO_CONFIG_S_NEEDS_RESET

#define F(b)	     (1ULL << (b))
#define F_ALL_DRIVER (~0ULL)

#define T_IN  VIRTIO_BLK_T_IN
#define T_OUT VIRTIO_BLK_T_OUT
#define T_FL  VIRTIO_BLK_T_FLUSH
#define T_ID  VIRTIO_BLK_T_GET_ID
#define T_DIS VIRTIO_BLK_T_DISCARD
#define T_WZ  VIRTIO_BLK_T_WRITE_ZEROES
#define S_OK  VIRTIO_BLK_S_OK
#define S_IOE VIRTIO_BLK_S_IOERR
#define S_UNS VIRTIO_BLK_S_UNSUPP

#define MAXQ	 2
#define MAX_HELD 64

/* ---- the engine: a recorder in front of the sync engine --------------- */

struct rec {
	struct blk_sync sync;
	bool hold; /* keep requests (an async engine) instead of doing them */
	struct blk_req *held[MAX_HELD];
	unsigned int nheld;
	int submit_err;
	unsigned int submits, flushes, flush_reqs;
	uint32_t last_type;
	bool last_dsync, last_bounced;
	uint64_t last_offset;
	uint32_t last_len;
};

static int rec_submit(void *eng, struct blk_req *r)
{
	struct rec *c = eng;

	c->submits++;
	c->last_type = r->type;
	c->last_dsync = r->dsync;
	c->last_offset = r->offset;
	c->last_len = r->len;
	c->last_bounced = r->iov == &r->bounce_iov;
	if (r->type == T_FL)
		c->flush_reqs++;
	if (c->submit_err)
		return c->submit_err;
	if (c->hold) {
		assert_true(c->nheld < MAX_HELD);
		c->held[c->nheld++] = r;
		return 0;
	}
	return blk_sync_ops.submit(&c->sync, r);
}

static void rec_flush(void *eng)
{
	((struct rec *)eng)->flushes++;
}

static const struct blk_engine_ops rec_ops = {
    .name = "rec", .submit = rec_submit, .flush = rec_flush};

/* A fake clock for the latency histogram: every reading is 3 us later. */
static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now += 3000;
}

static uint64_t slow_clock(void)
{
	return fake_now += 1000000;
}

/* ---- the environment ---------------------------------------------------- */

struct cfg {
	enum blk_cache cache;
	bool readonly, discard;
	uint32_t block_size, dio_align;
	unsigned int nq;
	uint16_t qsize;
	uint64_t features; /* the driver's; F_ALL_DRIVER: all offered */
	uint64_t img_size;
};

static const struct cfg default_cfg = {
    .cache = BLK_CACHE_WRITEBACK,
    .discard = true,
    .block_size = 512,
    .nq = 1,
    .qsize = 16,
    .features = F_ALL_DRIVER,
    .img_size = IMG_SIZE,
};

struct env {
	struct cfg cfg;
	uint8_t *ram;
	struct guest_mem gm;
	int fd;
	struct blk_disk disk;
	struct virtio_blk blk;
	struct virtio_pci t;
	struct fvp_host h;
	struct fvp drv; /* straight into the BAR handlers */
	struct rec rec[MAXQ];
	struct fv fv[MAXQ];
	uint8_t *snap, *cur; /* image copies, allocated once (page faults are slow) */
};

static uint8_t img_byte(uint64_t off)
{
	return (uint8_t)(off * 7 + off / 512 + 1);
}

/* Fill the image with a position-dependent pattern (never all zero). */
static void img_fill(struct env *e)
{
	static uint8_t buf[65536];

	for (uint64_t off = 0; off < e->cfg.img_size; off += sizeof(buf)) {
		uint64_t n =
		    e->cfg.img_size - off < sizeof(buf) ? e->cfg.img_size - off : sizeof(buf);

		if (off >= (8ULL << 20))
			break; /* big images stay sparse past 8 MiB */
		for (uint64_t i = 0; i < n; i++)
			buf[i] = img_byte(off + i);
		assert_int_equal(pwrite(e->fd, buf, n, (off_t)off), (ssize_t)n);
	}
}

static void img_read_all(struct env *e, uint8_t **buf)
{
	if (!*buf)
		*buf = malloc(e->cfg.img_size);
	assert_non_null(*buf);
	assert_int_equal(pread(e->fd, *buf, e->cfg.img_size, 0), (ssize_t)e->cfg.img_size);
}

/* The whole image now (valid until the next snapshot). */
static uint8_t *img_snapshot(struct env *e)
{
	img_read_all(e, &e->snap);
	return e->snap;
}

static void assert_img_unchanged(struct env *e, const uint8_t *snap)
{
	img_read_all(e, &e->cur);
	assert_memory_equal(e->cur, snap, e->cfg.img_size);
}

static long img_blocks(struct env *e)
{
	struct stat st;

	assert_int_equal(fstat(e->fd, &st), 0);
	return (long)st.st_blocks;
}

/* ---- registers ---------------------------------------------------------- */

/* Device configuration space. */
#define CFG_OFF(field) offsetof(struct virtio_blk_config, field)
#define CFG_RD(e, field)                                                                           \
	fvp_bar_rd(&(e)->drv, VPCI_DEVICE_OFF + CFG_OFF(field),                                    \
		   sizeof(((struct virtio_blk_config *)0)->field))

/* The driver's probe: reset, negotiate, queues of cfg.qsize, DRIVER_OK. */
static void driver_start(struct env *e)
{
	uint64_t feat = fvp_device_features(&e->drv);

	if (e->cfg.features != F_ALL_DRIVER)
		feat &= e->cfg.features;
	fvp_set_status(&e->drv, 0);
	assert_int_equal(fvp_negotiate(&e->drv, feat), S_ACK | S_DRV | S_FOK);
	for (unsigned int q = 0; q < e->cfg.nq; q++) {
		fv_init(&e->fv[q], &e->gm, e->cfg.qsize, DESC_GPA(q), AVAIL_GPA(q), USED_GPA(q));
		assert_int_equal(fvp_setup_queue(&e->drv, q, &e->fv[q], VPCI_NO_VECTOR), 1);
	}
	fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV | S_FOK | S_DOK);
}

/* Build the device for cfg (no driver yet). */
static struct env *env_new(void **state, const struct cfg *cfg)
{
	struct env *e = calloc(1, sizeof(*e));
	const struct blk_engine_ops *ops[MAXQ] = {&rec_ops, &rec_ops};
	void *engs[MAXQ];

	assert_non_null(e);
	*state = e;
	e->cfg = *cfg;
	e->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(e->ram != MAP_FAILED);
	gm_init(&e->gm);
	assert_int_equal(gm_region_add(&e->gm, 0, RAM_SIZE, e->ram), 0);
	e->fd = memfd_create("blk-image", MFD_CLOEXEC);
	assert_true(e->fd >= 0);
	assert_int_equal(ftruncate(e->fd, (off_t)cfg->img_size), 0);
	img_fill(e);

	e->disk.fd = e->fd;
	e->disk.size = cfg->img_size;
	e->disk.block_size = cfg->block_size;
	e->disk.dio_align = cfg->dio_align;
	e->disk.readonly = cfg->readonly;
	e->disk.discard = cfg->discard;
	e->disk.cache = cfg->cache;
	memcpy(e->disk.serial, SERIAL, strlen(SERIAL));
	for (unsigned int i = 0; i < MAXQ; i++) {
		e->rec[i].sync.fd = e->fd;
		engs[i] = &e->rec[i];
	}
	assert_int_equal(virtio_blk_init(&e->blk, &e->disk, cfg->nq, ops, engs), 0);
	assert_int_equal(virtio_pci_init(&e->t, &e->gm, &virtio_blk_ops, &e->blk,
					 virtio_blk_features(&e->blk), cfg->nq, 256,
					 virtio_blk_cfg_len(), fvp_host_ops(), fvp_msix_ops(),
					 &e->h),
			 0);
	e->blk.t = &e->t;
	fvp_init_direct(&e->drv, &e->t);
	return e;
}

/* Device and driver up. */
static struct env *env_start(void **state, const struct cfg *cfg)
{
	struct env *e = env_new(state, cfg);

	driver_start(e);
	return e;
}

static int teardown(void **state)
{
	struct env *e = *state;

	if (!e)
		return 0;
	virtio_pci_destroy(&e->t);
	virtio_blk_destroy(&e->blk);
	close(e->fd);
	free(e->snap);
	free(e->cur);
	munmap(e->ram, RAM_SIZE);
	free(e);
	*state = NULL;
	return 0;
}

/* ---- requests ------------------------------------------------------------ */

static void put_hdr(struct env *e, uint64_t gpa, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = {.type = type, .ioprio = 0, .sector = sector};

	fv_write(&e->gm, gpa, &h, sizeof(h));
}

static void put_range(struct env *e, uint64_t gpa, uint64_t sector, uint32_t num, uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes r = {
	    .sector = sector, .num_sectors = num, .flags = flags};

	fv_write(&e->gm, gpa, &r, sizeof(r));
}

/* Publish chain b[0, n) on queue q (indirect through TABLE_GPA if asked),
 * serve the queue and check one element came back with the chain's head.
 * Returns the status byte (the last byte of the last buffer, which must
 * be writable), or -1 when the last buffer is readable; *used gets the
 * used length. */
static int run_q(struct env *e, unsigned int q, const struct fv_buf *b, unsigned int n,
		 bool indirect, uint32_t *used)
{
	uint16_t idx = fv_used_idx(&e->fv[q]);
	uint64_t sgpa = b[n - 1].addr + b[n - 1].len - 1;
	uint32_t id, len;
	uint16_t head;

	if (b[n - 1].write)
		e->ram[sgpa] = 0xaa;
	head =
	    indirect ? fv_add_indirect(&e->fv[q], TABLE_GPA, b, n) : fv_add_chain(&e->fv[q], b, n);
	virtio_pci_queue_kicked(&e->t, q);
	assert_int_equal(fv_used_idx(&e->fv[q]), (uint16_t)(idx + 1));
	fv_used_elem(&e->fv[q], idx, &id, &len);
	assert_int_equal(id, head);
	if (used)
		*used = len;
	return b[n - 1].write ? e->ram[sgpa] : -1;
}

static int run(struct env *e, const struct fv_buf *b, unsigned int n, uint32_t *used)
{
	return run_q(e, 0, b, n, false, used);
}

/* IN or OUT of len bytes at sector through one data buffer at gpa. */
static int rw(struct env *e, uint32_t type, uint64_t sector, uint64_t gpa, uint32_t len,
	      uint32_t *used)
{
	struct fv_buf b[3] = {
	    {HDR_GPA, 16, false}, {gpa, len, type == T_IN || type == T_ID}, {STATUS_GPA, 1, true}};

	put_hdr(e, HDR_GPA, type, sector);
	return run(e, b, 3, used);
}

/* A request with no data: header and status. */
static int simple(struct env *e, uint32_t type, uint64_t sector, uint32_t *used)
{
	struct fv_buf b[2] = {{HDR_GPA, 16, false}, {STATUS_GPA, 1, true}};

	put_hdr(e, HDR_GPA, type, sector);
	return run(e, b, 2, used);
}

/* DISCARD / WRITE_ZEROES with nseg ranges already at PAYLOAD_GPA. */
static int dwz(struct env *e, uint32_t type, unsigned int nseg)
{
	struct fv_buf b[3] = {
	    {HDR_GPA, 16, false}, {PAYLOAD_GPA, 16 * nseg, false}, {STATUS_GPA, 1, true}};

	put_hdr(e, HDR_GPA, type, 0);
	return run(e, b, 3, NULL);
}

static void fill_guest(struct env *e, uint64_t gpa, uint64_t len, uint8_t seed)
{
	for (uint64_t i = 0; i < len; i++)
		e->ram[gpa + i] = (uint8_t)(seed + i * 13 + i / 251);
}

static void assert_img_matches_guest(struct env *e, uint64_t off, uint64_t gpa, uint64_t len)
{
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	assert_int_equal(pread(e->fd, buf, len, (off_t)off), (ssize_t)len);
	assert_memory_equal(buf, e->ram + gpa, len);
	free(buf);
}

static void assert_img_zero(struct env *e, uint64_t off, uint64_t len)
{
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	assert_int_equal(pread(e->fd, buf, len, (off_t)off), (ssize_t)len);
	for (uint64_t i = 0; i < len; i++)
		if (buf[i])
			fail_msg("image byte 0x%llx is 0x%02x", (unsigned long long)(off + i),
				 buf[i]);
	free(buf);
}

static void assert_img_pattern(struct env *e, uint64_t off, uint64_t len)
{
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	assert_int_equal(pread(e->fd, buf, len, (off_t)off), (ssize_t)len);
	for (uint64_t i = 0; i < len; i++)
		if (buf[i] != img_byte(off + i))
			fail_msg("image byte 0x%llx changed", (unsigned long long)(off + i));
	free(buf);
}

static uint64_t errors(struct env *e, unsigned int q)
{
	return atomic_load(&e->blk.q[q].stats.errors);
}

/* ---- tests: setup, features, configuration --------------------------------- */

static void test_cache_modes_and_init(void **state)
{
	struct virtio_blk blk;
	struct blk_disk d = {.fd = 0, .size = 4096, .block_size = 512, .cache = BLK_CACHE_NONE};
	const struct blk_engine_ops *ops[2] = {&blk_sync_ops, NULL};
	static const struct blk_engine_ops no_flush = {.name = "x", .submit = rec_submit};
	const struct blk_engine_ops *bad_ops[1] = {&no_flush};
	struct blk_disk bad;

	(void)state;
	assert_string_equal(blk_cache_name(BLK_CACHE_NONE), "none");
	assert_string_equal(blk_cache_name(BLK_CACHE_WRITEBACK), "writeback");
	assert_string_equal(blk_cache_name(BLK_CACHE_WRITETHROUGH), "writethrough");
	assert_string_equal(blk_cache_name(BLK_CACHE_DIRECTSYNC), "directsync");
	assert_string_equal(blk_cache_name(BLK_CACHE_UNSAFE), "unsafe");
	assert_true(blk_cache_has_wce(BLK_CACHE_NONE));
	assert_true(blk_cache_has_wce(BLK_CACHE_WRITEBACK));
	assert_false(blk_cache_has_wce(BLK_CACHE_WRITETHROUGH));
	assert_false(blk_cache_has_wce(BLK_CACHE_DIRECTSYNC));
	assert_true(blk_cache_has_wce(BLK_CACHE_UNSAFE));

	assert_int_equal(virtio_blk_init(&blk, &d, 0, ops, NULL), -EINVAL);
	assert_int_equal(virtio_blk_init(&blk, &d, BLK_MAX_QUEUES + 1, ops, NULL), -EINVAL);
	assert_int_equal(virtio_blk_init(&blk, &d, 2, ops, NULL), -EINVAL); /* engine 1 missing */
	assert_int_equal(virtio_blk_init(&blk, &d, 1, bad_ops, NULL), -EINVAL);
	bad = d;
	bad.fd = -1;
	assert_int_equal(virtio_blk_init(&blk, &bad, 1, ops, NULL), -EINVAL);
	bad = d;
	bad.block_size = 1000;
	assert_int_equal(virtio_blk_init(&blk, &bad, 1, ops, NULL), -EINVAL);
	bad = d;
	bad.dio_align = 3;
	assert_int_equal(virtio_blk_init(&blk, &bad, 1, ops, NULL), -EINVAL);
	bad = d;
	bad.cache = (enum blk_cache)9;
	assert_int_equal(virtio_blk_init(&blk, &bad, 1, ops, NULL), -EINVAL);

	assert_int_equal(virtio_blk_init(&blk, &d, 1, ops, NULL), 0);
	assert_int_equal(blk.nq, 1);
	assert_int_equal(blk.wce, 1);
	assert_non_null(blk.now_ns);
	assert_true(blk.now_ns() > 0);
	assert_ptr_equal(blk.q[0].eng_ops, &blk_sync_ops);
	assert_int_equal(virtio_blk_cfg_len(), sizeof(struct virtio_blk_config));
	virtio_blk_destroy(&blk);
}

/* Feature bits and configuration values for every cache mode, readonly
 * and discard setting, read through the BAR as a driver does. */
static void test_features_and_config(void **state)
{
	for (int c = BLK_CACHE_NONE; c <= BLK_CACHE_UNSAFE; c++) {
		for (int ro = 0; ro < 2; ro++) {
			for (int dis = 0; dis < 2; dis++) {
				struct cfg cfg = default_cfg;
				bool wce = c == BLK_CACHE_NONE || c == BLK_CACHE_WRITEBACK ||
					   c == BLK_CACHE_UNSAFE;
				bool has_dis = dis && !ro;
				struct env *e;
				uint64_t f;

				cfg.cache = (enum blk_cache)c;
				cfg.readonly = ro;
				cfg.discard = dis;
				cfg.block_size = ro ? 4096 : 512;
				cfg.nq = 1 + (unsigned int)dis;
				e = env_new(state, &cfg);
				f = fvp_device_features(&e->drv);
				assert_int_equal(f, virtio_blk_features(&e->blk) |
							F(VIRTIO_F_VERSION_1));
				assert_true(f & F(VIRTIO_BLK_F_SEG_MAX));
				assert_true(f & F(VIRTIO_BLK_F_BLK_SIZE));
				assert_true(f & F(VIRTIO_BLK_F_MQ));
				assert_true(f & F(VIRTIO_RING_F_EVENT_IDX));
				assert_true(f & F(VIRTIO_RING_F_INDIRECT_DESC));
				assert_int_equal(!!(f & F(VIRTIO_BLK_F_FLUSH)), wce);
				assert_int_equal(!!(f & F(VIRTIO_BLK_F_CONFIG_WCE)), wce);
				assert_int_equal(!!(f & F(VIRTIO_BLK_F_RO)), ro);
				assert_int_equal(!!(f & F(VIRTIO_BLK_F_DISCARD)), has_dis);
				assert_int_equal(!!(f & F(VIRTIO_BLK_F_WRITE_ZEROES)), has_dis);
				assert_false(f & F(VIRTIO_BLK_F_SIZE_MAX));
				assert_false(f & F(VIRTIO_BLK_F_GEOMETRY));
				assert_false(f & F(VIRTIO_BLK_F_SECURE_ERASE));

				assert_int_equal(CFG_RD(e, capacity), SECTORS);
				assert_int_equal(CFG_RD(e, seg_max), BLK_SEG_MAX);
				assert_int_equal(CFG_RD(e, blk_size), cfg.block_size);
				assert_int_equal(CFG_RD(e, wce), wce);
				assert_int_equal(CFG_RD(e, num_queues), cfg.nq);
				assert_int_equal(CFG_RD(e, max_discard_sectors),
						 has_dis ? BLK_MAX_DISCARD_SECTORS : 0);
				assert_int_equal(CFG_RD(e, max_discard_seg),
						 has_dis ? BLK_MAX_DISCARD_SEG : 0);
				assert_int_equal(CFG_RD(e, discard_sector_alignment),
						 has_dis ? cfg.block_size / 512 : 0);
				assert_int_equal(CFG_RD(e, max_write_zeroes_sectors),
						 has_dis ? BLK_MAX_WRITE_ZEROES_SECTORS : 0);
				assert_int_equal(CFG_RD(e, max_write_zeroes_seg),
						 has_dis ? BLK_MAX_DISCARD_SEG : 0);
				assert_int_equal(CFG_RD(e, write_zeroes_may_unmap), has_dis);
				/* capacity read as two halves, as some drivers do */
				assert_int_equal(fvp_bar_rd(&e->drv, VPCI_DEVICE_OFF, 4) |
						     fvp_bar_rd(&e->drv, VPCI_DEVICE_OFF + 4, 4)
							 << 32,
						 SECTORS);
				teardown(state);
			}
		}
	}
}

/* The limits are enforced: an offered maximum is a multiple of the
 * largest discard alignment. */
static void test_limits_are_consistent(void **state)
{
	(void)state;
	assert_int_equal(BLK_MAX_DISCARD_SECTORS % 8, 0);
	assert_int_equal(BLK_MAX_WRITE_ZEROES_SECTORS % 8, 0);
	assert_true(BLK_SEG_MAX + 2 <= VQ_MAX_IOV);
}

/* CONFIG_WCE: the driver turns the write cache off and on; writes become
 * RWF_DSYNC while it is off; a reset restores the default. */
static void test_wce_toggle(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	uint64_t wce_off = VPCI_DEVICE_OFF + CFG_OFF(wce);

	assert_true(virtio_pci_features(&e->t) & F(VIRTIO_BLK_F_CONFIG_WCE));
	fill_guest(e, DATA_GPA, 512, 1);
	assert_int_equal(rw(e, T_OUT, 2, DATA_GPA, 512, NULL), S_OK);
	assert_false(e->rec[0].last_dsync);

	fvp_bar_wr(&e->drv, wce_off, 1, 0);
	assert_int_equal(CFG_RD(e, wce), 0);
	fill_guest(e, DATA_GPA, 512, 2);
	assert_int_equal(rw(e, T_OUT, 3, DATA_GPA, 512, NULL), S_OK);
	assert_true(e->rec[0].last_dsync);
	assert_img_matches_guest(e, 3 * 512, DATA_GPA, 512);
	/* reads are never dsync */
	assert_int_equal(rw(e, T_IN, 3, DATA2_GPA, 512, NULL), S_OK);
	assert_false(e->rec[0].last_dsync);

	/* a write of another width or at another offset is ignored */
	fvp_bar_wr(&e->drv, wce_off, 2, 1);
	assert_int_equal(CFG_RD(e, wce), 0);
	fvp_bar_wr(&e->drv, VPCI_DEVICE_OFF, 8, 0);
	assert_int_equal(CFG_RD(e, capacity), SECTORS);

	fvp_bar_wr(&e->drv, wce_off, 1, 7); /* any non-zero value means on */
	assert_int_equal(CFG_RD(e, wce), 1);
	assert_int_equal(rw(e, T_OUT, 3, DATA_GPA, 512, NULL), S_OK);
	assert_false(e->rec[0].last_dsync);

	fvp_bar_wr(&e->drv, wce_off, 1, 0);
	assert_int_equal(CFG_RD(e, wce), 0);
	fvp_set_status(&e->drv, 0); /* reset: back to the mode's default */
	assert_int_equal(CFG_RD(e, wce), 1);
	teardown(state);

	/* CONFIG_WCE not negotiated: the byte is read-only */
	{
		struct cfg cfg = default_cfg;

		cfg.features = ~F(VIRTIO_BLK_F_CONFIG_WCE);
		e = env_start(state, &cfg);
		assert_false(virtio_pci_features(&e->t) & F(VIRTIO_BLK_F_CONFIG_WCE));
		fvp_bar_wr(&e->drv, wce_off, 1, 0);
		assert_int_equal(CFG_RD(e, wce), 1);
		assert_int_equal(rw(e, T_OUT, 3, DATA_GPA, 512, NULL), S_OK);
		assert_false(e->rec[0].last_dsync);
		teardown(state);
	}
	/* unsafe never syncs, even with the cache turned off */
	{
		struct cfg cfg = default_cfg;

		cfg.cache = BLK_CACHE_UNSAFE;
		e = env_start(state, &cfg);
		fvp_bar_wr(&e->drv, wce_off, 1, 0);
		assert_int_equal(CFG_RD(e, wce), 0);
		assert_int_equal(rw(e, T_OUT, 3, DATA_GPA, 512, NULL), S_OK);
		assert_false(e->rec[0].last_dsync);
		teardown(state);
	}
}

/* ---- tests: I/O ---------------------------------------------------------- */

static void test_write_then_read(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	uint8_t *snap = img_snapshot(e);
	uint32_t used;

	/* OUT: 3 sectors at sector 5 from two buffers */
	{
		struct fv_buf b[4] = {{HDR_GPA, 16, false},
				      {DATA_GPA, 512, false},
				      {DATA_GPA + 0x1000, 1024, false},
				      {STATUS_GPA, 1, true}};

		fill_guest(e, DATA_GPA, 512, 10);
		fill_guest(e, DATA_GPA + 0x1000, 1024, 20);
		put_hdr(e, HDR_GPA, T_OUT, 5);
		assert_int_equal(run(e, b, 4, &used), S_OK);
		assert_int_equal(used, 1);
		assert_img_matches_guest(e, 5 * 512, DATA_GPA, 512);
		assert_img_matches_guest(e, 6 * 512, DATA_GPA + 0x1000, 1024);
		assert_int_equal(e->rec[0].last_type, T_OUT);
		assert_int_equal(e->rec[0].last_offset, 5 * 512);
		assert_int_equal(e->rec[0].last_len, 1536);
		/* nothing else changed */
		memcpy(snap + 5 * 512, e->ram + DATA_GPA, 512);
		memcpy(snap + 6 * 512, e->ram + DATA_GPA + 0x1000, 1024);
		assert_img_unchanged(e, snap);
	}
	/* IN: the same 3 sectors into three buffers and a separate status */
	{
		struct fv_buf b[5] = {{HDR_GPA, 16, false},
				      {DATA2_GPA, 1024, true},
				      {DATA2_GPA + 0x2000, 256, true},
				      {DATA2_GPA + 0x3000, 256, true},
				      {STATUS_GPA, 1, true}};

		memset(e->ram + DATA2_GPA, 0xee, 0x4000);
		put_hdr(e, HDR_GPA, T_IN, 5);
		assert_int_equal(run(e, b, 5, &used), S_OK);
		assert_int_equal(used, 1536 + 1);
		assert_memory_equal(e->ram + DATA2_GPA, e->ram + DATA_GPA, 512);
		assert_memory_equal(e->ram + DATA2_GPA + 512, e->ram + DATA_GPA + 0x1000, 512);
		assert_memory_equal(e->ram + DATA2_GPA + 0x2000, e->ram + DATA_GPA + 0x1200, 256);
		assert_memory_equal(e->ram + DATA2_GPA + 0x3000, e->ram + DATA_GPA + 0x1300, 256);
		assert_int_equal(e->ram[DATA2_GPA + 1024], 0xee);
		assert_int_equal(e->ram[DATA2_GPA + 0x2000 + 256], 0xee);
		assert_int_equal(e->ram[DATA2_GPA + 0x3000 + 256], 0xee);
	}
	/* IN with the status byte at the end of the data buffer */
	{
		struct fv_buf b[2] = {{HDR_GPA, 16, false}, {DATA2_GPA, 513, true}};

		memset(e->ram + DATA2_GPA, 0xee, 0x1000);
		put_hdr(e, HDR_GPA, T_IN, 0);
		assert_int_equal(run(e, b, 2, &used), S_OK);
		assert_int_equal(used, 513);
		assert_memory_equal(e->ram + DATA2_GPA, snap, 512);
		assert_int_equal(e->ram[DATA2_GPA + 513], 0xee);
	}
	/* the last whole sector is readable; an indirect chain works */
	{
		struct fv_buf b[3] = {
		    {HDR_GPA, 16, false}, {DATA2_GPA, 512, true}, {STATUS_GPA, 1, true}};

		put_hdr(e, HDR_GPA, T_IN, SECTORS - 1);
		assert_int_equal(run_q(e, 0, b, 3, true, &used), S_OK);
		assert_int_equal(used, 513);
		assert_memory_equal(e->ram + DATA2_GPA, snap + (SECTORS - 1) * 512, 512);
	}
	assert_int_equal(errors(e, 0), 0);
	assert_int_equal(fvp_status(&e->drv) & S_NR, 0);
	teardown(state);
}

/* The header may come in pieces, and may share a buffer with the data. */
static void test_split_header(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	struct virtio_blk_outhdr h = {.type = T_OUT, .sector = 9};
	uint32_t used;

	/* 5 + 11 bytes, in buffers far apart */
	{
		struct fv_buf b[4] = {{HDR_GPA, 5, false},
				      {HDR_GPA + 0x300, 11, false},
				      {DATA_GPA, 512, false},
				      {STATUS_GPA, 1, true}};

		fv_write(&e->gm, HDR_GPA, &h, 5);
		fv_write(&e->gm, HDR_GPA + 0x300, (uint8_t *)&h + 5, 11);
		fill_guest(e, DATA_GPA, 512, 33);
		assert_int_equal(run(e, b, 4, &used), S_OK);
		assert_img_matches_guest(e, 9 * 512, DATA_GPA, 512);
		assert_int_equal(e->rec[0].last_offset, 9 * 512);
	}
	/* header and two sectors of data in one buffer */
	{
		struct fv_buf b[2] = {{DATA_GPA, 16 + 1024, false}, {STATUS_GPA, 1, true}};

		h.sector = 20;
		fv_write(&e->gm, DATA_GPA, &h, sizeof(h));
		fill_guest(e, DATA_GPA + 16, 1024, 44);
		assert_int_equal(run(e, b, 2, &used), S_OK);
		assert_img_matches_guest(e, 20 * 512, DATA_GPA + 16, 1024);
	}
	/* header in 16 one-byte pieces for a read */
	{
		struct fv_buf b[18];

		h.type = T_IN;
		h.sector = 20;
		for (unsigned int i = 0; i < 16; i++) {
			b[i] = (struct fv_buf){HDR_GPA + 0x10 * i, 1, false};
			fv_write(&e->gm, HDR_GPA + 0x10 * i, (uint8_t *)&h + i, 1);
		}
		b[16] = (struct fv_buf){DATA2_GPA, 1024, true};
		b[17] = (struct fv_buf){STATUS_GPA, 1, true};
		assert_int_equal(run_q(e, 0, b, 18, true, &used), S_OK);
		assert_int_equal(used, 1025);
		assert_memory_equal(e->ram + DATA2_GPA, e->ram + DATA_GPA + 16, 1024);
	}
	teardown(state);
}

static void test_flush(void **state)
{
	static const enum blk_cache modes[] = {BLK_CACHE_NONE, BLK_CACHE_WRITEBACK,
					       BLK_CACHE_WRITETHROUGH, BLK_CACHE_DIRECTSYNC,
					       BLK_CACHE_UNSAFE};

	for (unsigned int i = 0; i < 5; i++) {
		struct cfg cfg = default_cfg;
		struct env *e;
		bool to_engine = modes[i] == BLK_CACHE_NONE || modes[i] == BLK_CACHE_WRITEBACK;
		uint32_t used;

		cfg.cache = modes[i];
		e = env_start(state, &cfg);
		assert_int_equal(simple(e, T_FL, 0, &used), S_OK);
		assert_int_equal(used, 1);
		assert_int_equal(e->rec[0].flush_reqs, to_engine ? 1 : 0);
		assert_int_equal(atomic_load(&e->blk.q[0].stats.reqs[2]), 1);
		/* a failing fdatasync is an I/O error */
		if (to_engine) {
			e->rec[0].sync.fd = -1;
			assert_int_equal(simple(e, T_FL, 0, NULL), S_IOE);
			assert_int_equal(errors(e, 0), 1);
		}
		teardown(state);
	}
}

static void test_get_id(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	uint8_t want[BLK_ID_BYTES] = {0};
	uint32_t used;

	memcpy(want, SERIAL, strlen(SERIAL));
	/* exactly 20 bytes */
	{
		struct fv_buf b[3] = {
		    {HDR_GPA, 16, false}, {DATA2_GPA, 20, true}, {STATUS_GPA, 1, true}};

		memset(e->ram + DATA2_GPA, 0xee, 64);
		put_hdr(e, HDR_GPA, T_ID, 0);
		assert_int_equal(run(e, b, 3, &used), S_OK);
		assert_int_equal(used, 21);
		assert_memory_equal(e->ram + DATA2_GPA, want, 20);
	}
	/* a short buffer gets a prefix */
	{
		struct fv_buf b[3] = {
		    {HDR_GPA, 16, false}, {DATA2_GPA, 8, true}, {STATUS_GPA, 1, true}};

		memset(e->ram + DATA2_GPA, 0xee, 64);
		assert_int_equal(run(e, b, 3, &used), S_OK);
		assert_int_equal(used, 9);
		assert_memory_equal(e->ram + DATA2_GPA, want, 8);
		assert_int_equal(e->ram[DATA2_GPA + 8], 0xee);
	}
	/* a long one split in two: 20 bytes and no more */
	{
		struct fv_buf b[4] = {{HDR_GPA, 16, false},
				      {DATA2_GPA, 6, true},
				      {DATA2_GPA + 0x100, 40, true},
				      {STATUS_GPA, 1, true}};

		memset(e->ram + DATA2_GPA, 0xee, 0x200);
		assert_int_equal(run(e, b, 4, &used), S_OK);
		assert_int_equal(used, 21);
		assert_memory_equal(e->ram + DATA2_GPA, want, 6);
		assert_memory_equal(e->ram + DATA2_GPA + 0x100, want + 6, 14);
		assert_int_equal(e->ram[DATA2_GPA + 0x100 + 14], 0xee);
	}
	assert_int_equal(e->rec[0].submits, 0); /* answered by the device */
	assert_int_equal(atomic_load(&e->blk.q[0].stats.reqs[3]), 3);
	teardown(state);
}

static void test_discard(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	long before = img_blocks(e);

	/* two ranges: 8 KiB at 4 KiB, 4 KiB at 32 KiB */
	put_range(e, PAYLOAD_GPA, 8, 16, 0);
	put_range(e, PAYLOAD_GPA + 16, 64, 8, 0);
	assert_int_equal(dwz(e, T_DIS, 2), S_OK);
	assert_int_equal(lseek(e->fd, 0, SEEK_HOLE), 4096);
	assert_int_equal(lseek(e->fd, 4096, SEEK_DATA), 12288);
	assert_int_equal(lseek(e->fd, 12288, SEEK_HOLE), 32768);
	assert_int_equal(img_blocks(e), before - (12288 / 512));
	assert_img_zero(e, 4096, 8192);
	assert_img_zero(e, 32768, 4096);
	assert_img_pattern(e, 0, 4096);
	assert_img_pattern(e, 12288, 32768 - 12288);
	assert_img_pattern(e, 36864, 65536);
	assert_int_equal(atomic_load(&e->blk.q[0].stats.reqs[4]), 1);
	/* a zero-length range is nothing to do */
	put_range(e, PAYLOAD_GPA, 200, 0, 0);
	assert_int_equal(dwz(e, T_DIS, 1), S_OK);
	assert_img_pattern(e, 200 * 512, 4096);
	assert_int_equal(e->rec[0].submits, 0);
	teardown(state);
}

static void test_write_zeroes(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	long before = img_blocks(e);

	/* with UNMAP: deallocated */
	put_range(e, PAYLOAD_GPA, 16, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	assert_int_equal(dwz(e, T_WZ, 1), S_OK);
	assert_img_zero(e, 8192, 4096);
	assert_int_equal(lseek(e->fd, 0, SEEK_HOLE), 8192);
	assert_int_equal(img_blocks(e), before - 8);
	assert_img_pattern(e, 0, 8192);
	assert_img_pattern(e, 12288, 4096);

	/* without: zeroes written (tmpfs cannot ZERO_RANGE: the fallback),
	 * nothing deallocated; odd sizes and two ranges */
	before = img_blocks(e);
	put_range(e, PAYLOAD_GPA, 40, 3, 0);
	put_range(e, PAYLOAD_GPA + 16, 100, 200, 0);
	assert_int_equal(dwz(e, T_WZ, 2), S_OK);
	assert_img_zero(e, 40 * 512, 3 * 512);
	assert_img_zero(e, 100 * 512, 200 * 512);
	assert_img_pattern(e, 39 * 512, 512);
	assert_img_pattern(e, 43 * 512, 512);
	assert_img_pattern(e, 99 * 512, 512);
	assert_img_pattern(e, 300 * 512, 512);
	assert_true(img_blocks(e) >= before);
	assert_int_equal(lseek(e->fd, 12288, SEEK_HOLE), (off_t)(SECTORS * 512 + 300));
	assert_int_equal(atomic_load(&e->blk.q[0].stats.reqs[5]), 2);
	assert_int_equal(errors(e, 0), 0);
	teardown(state);
}

/* ---- tests: refusals ---------------------------------------------------- */

/* One refused request: the expected status, nothing written to the image
 * or to the guest's data buffer, one more error, the device still fine. */
static void expect_refused(struct env *e, int want, const struct fv_buf *b, unsigned int n,
			   bool indirect)
{
	uint8_t *snap = img_snapshot(e);
	uint64_t err = errors(e, 0);
	unsigned int submits = e->rec[0].submits;
	uint64_t sgpa = b[n - 1].addr + b[n - 1].len - 1;
	uint32_t used;

	memset(e->ram + DATA2_GPA, 0xee, 0x40000);
	assert_int_equal(run_q(e, 0, b, n, indirect, &used), want);
	if (b[n - 1].write && sgpa >= DATA2_GPA && sgpa < DATA2_GPA + 0x40000)
		e->ram[sgpa] = 0xee; /* the status byte may sit in the window */
	assert_int_equal(used, want < 0 ? 0 : 1);
	assert_int_equal(errors(e, 0), err + 1);
	assert_int_equal(e->rec[0].submits, submits);
	assert_img_unchanged(e, snap);
	for (unsigned int i = 0; i < 0x40000; i++)
		if (e->ram[DATA2_GPA + i] != 0xee)
			fail_msg("guest data byte %u written", i);
	assert_int_equal(fvp_status(&e->drv) & S_NR, 0);
}

static void refuse_rw(struct env *e, int want, uint32_t type, uint64_t sector, uint32_t len)
{
	struct fv_buf b[3] = {{HDR_GPA, 16, false},
			      {type == T_IN ? DATA2_GPA : DATA_GPA, len, type == T_IN},
			      {STATUS_GPA, 1, true}};

	put_hdr(e, HDR_GPA, type, sector);
	expect_refused(e, want, b, 3, false);
}

static void refuse_dwz(struct env *e, int want, uint32_t type, unsigned int nseg)
{
	struct fv_buf b[3] = {
	    {HDR_GPA, 16, false}, {PAYLOAD_GPA, 16 * nseg, false}, {STATUS_GPA, 1, true}};

	put_hdr(e, HDR_GPA, type, 0);
	expect_refused(e, want, b, 3, false);
}

static void test_refuse_malformed_requests(void **state)
{
	struct env *e = env_start(state, &default_cfg);

	fill_guest(e, DATA_GPA, 0x40000, 5);
	/* fewer than 16 readable bytes: no header (a flush or GET_ID that
	 * would succeed with a whole one) */
	{
		struct fv_buf b[2] = {{HDR_GPA, 8, false}, {STATUS_GPA, 1, true}};
		struct fv_buf c[3] = {
		    {HDR_GPA, 15, false}, {DATA2_GPA, 20, true}, {STATUS_GPA, 1, true}};

		put_hdr(e, HDR_GPA, T_FL, 0);
		expect_refused(e, S_IOE, b, 2, false);
		put_hdr(e, HDR_GPA, T_ID, 0);
		expect_refused(e, S_IOE, c, 3, false);
	}
	/* an 8-byte header buffer followed by data: the header is the first
	 * 16 readable bytes, which leaves 504 bytes of data */
	{
		struct fv_buf b[3] = {
		    {HDR_GPA, 8, false}, {DATA_GPA, 512, false}, {STATUS_GPA, 1, true}};

		put_hdr(e, HDR_GPA, T_OUT, 0);
		expect_refused(e, S_IOE, b, 3, false);
	}
	/* no header at all */
	{
		struct fv_buf b[2] = {{DATA2_GPA + 0x1000, 512, true}, {STATUS_GPA, 1, true}};

		expect_refused(e, S_IOE, b, 2, false);
	}
	/* no status byte: nothing to write the answer to, used length 0 */
	{
		struct fv_buf b[2] = {{HDR_GPA, 16, false}, {DATA_GPA, 512, false}};

		put_hdr(e, HDR_GPA, T_OUT, 0);
		expect_refused(e, -1, b, 2, false);
	}
	/* IN with readable data after the header */
	{
		struct fv_buf b[4] = {{HDR_GPA, 16, false},
				      {DATA_GPA, 512, false},
				      {DATA2_GPA, 512, true},
				      {STATUS_GPA, 1, true}};

		put_hdr(e, HDR_GPA, T_IN, 0);
		expect_refused(e, S_IOE, b, 4, false);
	}
	/* IN with the header and readable data in one buffer */
	{
		struct fv_buf b[3] = {
		    {HDR_GPA, 16 + 512, false}, {DATA2_GPA, 512, true}, {STATUS_GPA, 1, true}};

		put_hdr(e, HDR_GPA, T_IN, 0);
		expect_refused(e, S_IOE, b, 3, false);
	}
	/* OUT with writable bytes before the status */
	{
		struct fv_buf b[4] = {{HDR_GPA, 16, false},
				      {DATA_GPA, 512, false},
				      {DATA2_GPA + 0x30000, 512, true},
				      {STATUS_GPA, 1, true}};

		put_hdr(e, HDR_GPA, T_OUT, 0);
		expect_refused(e, S_IOE, b, 4, false);
		/* or sharing the status buffer */
		b[2] = (struct fv_buf){STATUS_GPA, 2, true};
		expect_refused(e, S_IOE, b, 3, false);
	}
	/* lengths that are not whole sectors */
	refuse_rw(e, S_IOE, T_OUT, 0, 100);
	refuse_rw(e, S_IOE, T_OUT, 0, 513);
	refuse_rw(e, S_IOE, T_IN, 0, 700);
	refuse_rw(e, S_IOE, T_IN, 0, 511);
	/* outside the image, and arithmetic that would wrap */
	refuse_rw(e, S_IOE, T_OUT, SECTORS - 1, 1024);
	refuse_rw(e, S_IOE, T_IN, SECTORS, 512);
	refuse_rw(e, S_IOE, T_OUT, SECTORS, 512);
	refuse_rw(e, S_IOE, T_IN, UINT64_MAX, 512);
	refuse_rw(e, S_IOE, T_OUT, 1ULL << 55, 512); /* sector * 512 wraps */
	refuse_rw(e, S_IOE, T_OUT, UINT64_MAX / 512 + 1, 512);
	/* unknown and unsupported types */
	refuse_rw(e, S_UNS, VIRTIO_BLK_T_SCSI_CMD, 0, 512);
	refuse_rw(e, S_UNS, VIRTIO_BLK_T_SECURE_ERASE, 0, 512);
	refuse_rw(e, S_UNS, 99, 0, 512);
	refuse_rw(e, S_UNS, T_OUT | VIRTIO_BLK_T_BARRIER, 0, 512);
	{
		struct fv_buf b[2] = {{HDR_GPA, 16, false}, {STATUS_GPA, 1, true}};

		put_hdr(e, HDR_GPA, 0xffffffffu, 0);
		expect_refused(e, S_UNS, b, 2, false);
	}
	/* five of unknown type, and four whose type was never read */
	assert_int_equal(atomic_load(&e->blk.q[0].stats.reqs[6]), 9);
	/* the positive controls: the same chains, well formed, succeed */
	assert_int_equal(rw(e, T_OUT, SECTORS - 2, DATA_GPA, 1024, NULL), S_OK);
	assert_int_equal(rw(e, T_IN, SECTORS - 1, DATA2_GPA, 512, NULL), S_OK);
	teardown(state);
}

/* BLK_SEG_MAX data buffers are fine, one more is refused (IN with the
 * status sharing the last data buffer, OUT with the header sharing the
 * first). */
static void test_refuse_too_many_segments(void **state)
{
	struct cfg cfg = default_cfg;
	struct env *e;
	static struct fv_buf b[VQ_MAX_IOV];
	unsigned int n;

	cfg.qsize = 256; /* an indirect table of up to 256 entries */
	e = env_start(state, &cfg);
	fill_guest(e, DATA_GPA, 0x40000, 9);

	/* IN: header, BLK_SEG_MAX buffers, status: OK */
	put_hdr(e, HDR_GPA, T_IN, 0);
	n = 0;
	b[n++] = (struct fv_buf){HDR_GPA, 16, false};
	for (unsigned int i = 0; i < BLK_SEG_MAX; i++)
		b[n++] = (struct fv_buf){DATA2_GPA + 0x400 * i, 512, true};
	b[n++] = (struct fv_buf){STATUS_GPA, 1, true};
	assert_int_equal(run_q(e, 0, b, n, true, NULL), S_OK);
	{
		uint8_t *snap = img_snapshot(e);

		assert_memory_equal(e->ram + DATA2_GPA + 0x400 * 7, snap + 7 * 512, 512);
	}
	/* IN: one more data buffer, the status at the end of the last */
	n = 0;
	b[n++] = (struct fv_buf){HDR_GPA, 16, false};
	for (unsigned int i = 0; i < BLK_SEG_MAX + 1; i++)
		b[n++] = (struct fv_buf){DATA2_GPA + 0x400 * i, i == BLK_SEG_MAX ? 513 : 512, true};
	assert_int_equal(n, VQ_MAX_IOV);
	expect_refused(e, S_IOE, b, n, true);

	/* OUT: header sharing the first data buffer, BLK_SEG_MAX + 1 data
	 * buffers in all */
	put_hdr(e, DATA_GPA, T_OUT, 0);
	n = 0;
	b[n++] = (struct fv_buf){DATA_GPA, 16 + 512, false};
	for (unsigned int i = 1; i < BLK_SEG_MAX + 1; i++)
		b[n++] = (struct fv_buf){DATA_GPA + 0x400 * i, 512, false};
	b[n++] = (struct fv_buf){STATUS_GPA, 1, true};
	assert_int_equal(n, VQ_MAX_IOV);
	expect_refused(e, S_IOE, b, n, true);
	/* one buffer fewer: accepted */
	b[n - 2] = b[n - 1];
	assert_int_equal(run_q(e, 0, b, n - 1, true, NULL), S_OK);
	assert_img_matches_guest(e, 0, DATA_GPA + 16, 512);
	assert_img_matches_guest(e, 512, DATA_GPA + 0x400, 512);
	teardown(state);
}

static void test_refuse_discard_ranges(void **state)
{
	struct cfg cfg = default_cfg;
	struct env *e;

	cfg.img_size = 20ULL << 20; /* larger than one write-zeroes range */
	e = env_start(state, &cfg);
	/* payload not a whole number of ranges, or empty */
	put_range(e, PAYLOAD_GPA, 0, 8, 0);
	{
		struct fv_buf b[3] = {
		    {HDR_GPA, 16, false}, {PAYLOAD_GPA, 8, false}, {STATUS_GPA, 1, true}};

		put_hdr(e, HDR_GPA, T_DIS, 0);
		expect_refused(e, S_IOE, b, 3, false);
		b[1].len = 24;
		expect_refused(e, S_IOE, b, 3, false);
	}
	{
		struct fv_buf b[2] = {{HDR_GPA, 16, false}, {STATUS_GPA, 1, true}};

		put_hdr(e, HDR_GPA, T_WZ, 0);
		expect_refused(e, S_IOE, b, 2, false);
	}
	/* too many ranges */
	for (unsigned int i = 0; i < BLK_MAX_DISCARD_SEG + 1; i++)
		put_range(e, PAYLOAD_GPA + 16 * i, 8 * i, 8, 0);
	refuse_dwz(e, S_IOE, T_DIS, BLK_MAX_DISCARD_SEG + 1);
	refuse_dwz(e, S_IOE, T_WZ, BLK_MAX_DISCARD_SEG + 1);
	/* a range past the end, or wrapping */
	put_range(e, PAYLOAD_GPA, cfg.img_size / 512 - 8, 16, 0);
	refuse_dwz(e, S_IOE, T_DIS, 1);
	refuse_dwz(e, S_IOE, T_WZ, 1);
	put_range(e, PAYLOAD_GPA, UINT64_MAX - 3, 8, 0);
	refuse_dwz(e, S_IOE, T_DIS, 1);
	put_range(e, PAYLOAD_GPA, 1ULL << 56, 8, 0);
	refuse_dwz(e, S_IOE, T_WZ, 1);
	/* longer than the offered maximum */
	put_range(e, PAYLOAD_GPA, 0, BLK_MAX_WRITE_ZEROES_SECTORS + 8, 0);
	refuse_dwz(e, S_IOE, T_WZ, 1);
	put_range(e, PAYLOAD_GPA, 0, BLK_MAX_WRITE_ZEROES_SECTORS, 0);
	assert_int_equal(dwz(e, T_WZ, 1), S_OK); /* the maximum itself is fine */
	assert_img_zero(e, 0, BLK_MAX_WRITE_ZEROES_SECTORS * 512ULL);
	img_fill(e);
	/* flags: none for discard, only UNMAP for write-zeroes */
	put_range(e, PAYLOAD_GPA, 0, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	refuse_dwz(e, S_IOE, T_DIS, 1);
	put_range(e, PAYLOAD_GPA, 0, 8, 2);
	refuse_dwz(e, S_IOE, T_WZ, 1);
	put_range(e, PAYLOAD_GPA, 0, 8, 0x80000000u | VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	refuse_dwz(e, S_IOE, T_WZ, 1);
	/* a bad range after good ones: nothing at all is done */
	put_range(e, PAYLOAD_GPA, 0, 8, 0);
	put_range(e, PAYLOAD_GPA + 16, 64, 8, 0);
	put_range(e, PAYLOAD_GPA + 32, cfg.img_size / 512, 1, 0);
	refuse_dwz(e, S_IOE, T_DIS, 3);
	refuse_dwz(e, S_IOE, T_WZ, 3);
	/* writable bytes before the status */
	put_range(e, PAYLOAD_GPA, 0, 8, 0);
	{
		struct fv_buf b[4] = {{HDR_GPA, 16, false},
				      {PAYLOAD_GPA, 16, false},
				      {DATA2_GPA, 16, true},
				      {STATUS_GPA, 1, true}};

		put_hdr(e, HDR_GPA, T_DIS, 0);
		expect_refused(e, S_IOE, b, 4, false);
	}
	/* the ranges may be split across buffers, and share the header's */
	{
		struct fv_buf b[3] = {
		    {HDR_GPA, 16 + 5, false}, {HDR_GPA + 0x100, 11, false}, {STATUS_GPA, 1, true}};
		struct virtio_blk_discard_write_zeroes r = {.sector = 8, .num_sectors = 8};

		put_hdr(e, HDR_GPA, T_DIS, 0);
		fv_write(&e->gm, HDR_GPA + 16, &r, 5);
		fv_write(&e->gm, HDR_GPA + 0x100, (uint8_t *)&r + 5, 11);
		assert_int_equal(run(e, b, 3, NULL), S_OK);
		assert_img_zero(e, 4096, 4096);
		assert_img_pattern(e, 0, 4096);
		assert_img_pattern(e, 8192, 4096);
	}
	teardown(state);
}

static void test_refuse_readonly_and_no_discard(void **state)
{
	struct cfg cfg = default_cfg;
	struct env *e;

	cfg.readonly = true;
	e = env_start(state, &cfg);
	assert_true(virtio_pci_features(&e->t) & F(VIRTIO_BLK_F_RO));
	fill_guest(e, DATA_GPA, 4096, 3);
	refuse_rw(e, S_IOE, T_OUT, 0, 512);
	put_range(e, PAYLOAD_GPA, 0, 8, 0);
	refuse_dwz(e, S_IOE, T_DIS, 1);
	refuse_dwz(e, S_IOE, T_WZ, 1);
	/* reads, flushes and GET_ID still work */
	assert_int_equal(rw(e, T_IN, 0, DATA2_GPA, 1024, NULL), S_OK);
	assert_int_equal(simple(e, T_FL, 0, NULL), S_OK);
	assert_int_equal(rw(e, T_ID, 0, DATA2_GPA, 20, NULL), S_OK);
	teardown(state);

	cfg = default_cfg;
	cfg.discard = false;
	e = env_start(state, &cfg);
	put_range(e, PAYLOAD_GPA, 0, 8, 0);
	refuse_dwz(e, S_UNS, T_DIS, 1);
	refuse_dwz(e, S_UNS, T_WZ, 1);
	teardown(state);
}

/* Host errors: the engine refuses to start a request, or the image is
 * shorter than the disk says (a short read). */
static void test_refuse_host_errors(void **state)
{
	struct env *e = env_start(state, &default_cfg);

	e->rec[0].submit_err = -EAGAIN;
	assert_int_equal(rw(e, T_OUT, 0, DATA_GPA, 512, NULL), S_IOE);
	assert_int_equal(rw(e, T_IN, 0, DATA2_GPA, 512, NULL), S_IOE);
	assert_int_equal(errors(e, 0), 2);
	e->rec[0].submit_err = 0;

	assert_int_equal(ftruncate(e->fd, 4096 + 100), 0); /* the file shrank under us */
	{
		struct fv_buf b[3] = {
		    {HDR_GPA, 16, false}, {DATA2_GPA, 1024, true}, {STATUS_GPA, 1, true}};
		uint32_t used;

		put_hdr(e, HDR_GPA, T_IN, 8); /* 4096: 100 bytes, then EOF */
		assert_int_equal(run(e, b, 3, &used), S_IOE);
		assert_int_equal(used, 1);
		put_hdr(e, HDR_GPA, T_IN, 6); /* inside: fine */
		assert_int_equal(run(e, b, 3, &used), S_OK);
		assert_int_equal(used, 1025);
	}
	assert_int_equal(errors(e, 0), 3);
	teardown(state);
}

/* A chain the virtqueue rejects makes the device NEEDS_RESET; after a
 * reset and a new probe it works again. */
static void test_malformed_chain_needs_reset(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	struct fv_buf bad[3] = {
	    {HDR_GPA, 16, false}, {RAM_SIZE - 256, 512, true}, {STATUS_GPA, 1, true}};

	put_hdr(e, HDR_GPA, T_IN, 0);
	fv_add_chain(&e->fv[0], bad, 3);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 0);
	assert_true(fvp_status(&e->drv) & S_NR);
	assert_int_equal(atomic_load(&e->t.stats.needs_reset), 1);
	assert_int_equal(e->t.queues[0].vq.error, VQ_ERR_ADDR);
	assert_int_equal(e->blk.inflight_total, 0);
	/* the slot went back: the queue still has all of them */
	assert_int_equal(e->blk.q[0].inflight, 0);

	driver_start(e);
	assert_int_equal(fvp_status(&e->drv) & S_NR, 0);
	fill_guest(e, DATA_GPA, 512, 77);
	assert_int_equal(rw(e, T_OUT, 1, DATA_GPA, 512, NULL), S_OK);
	assert_img_matches_guest(e, 512, DATA_GPA, 512);
	teardown(state);
}

/* ---- O_DIRECT bounce buffers ------------------------------------------------ */

static void test_bounce(void **state)
{
	struct cfg cfg = default_cfg;
	struct env *e;
	struct blk_req *slot;
	void *bounce;
	uint32_t used;

	cfg.cache = BLK_CACHE_NONE;
	cfg.dio_align = 4096;
	cfg.block_size = 4096;
	cfg.img_size = 16ULL << 20;
	e = env_start(state, &cfg);

	/* aligned: straight to the engine */
	fill_guest(e, DATA_GPA, 8192, 1);
	assert_int_equal(rw(e, T_OUT, 8, DATA_GPA, 8192, NULL), S_OK);
	assert_false(e->rec[0].last_bounced);
	assert_img_matches_guest(e, 4096, DATA_GPA, 8192);

	/* misaligned memory, OUT: copied in first */
	fill_guest(e, DATA_GPA + 0x20001, 4096, 2);
	assert_int_equal(rw(e, T_OUT, 8, DATA_GPA + 0x20001, 4096, NULL), S_OK);
	assert_true(e->rec[0].last_bounced);
	assert_img_matches_guest(e, 4096, DATA_GPA + 0x20001, 4096);
	assert_img_matches_guest(e, 8192, DATA_GPA + 4096, 4096); /* untouched */
	slot = &e->blk.q[0].slots[0];
	bounce = slot->bounce;
	assert_non_null(bounce);
	assert_int_equal((uintptr_t)bounce % 4096, 0);
	assert_true(slot->bounce_cap >= 4096);

	/* misaligned IN in two pieces of misaligned length: copied out */
	{
		struct fv_buf b[4] = {{HDR_GPA, 16, false},
				      {DATA2_GPA + 3, 1000, true},
				      {DATA2_GPA + 0x3000, 4096 - 1000, true},
				      {STATUS_GPA, 1, true}};

		memset(e->ram + DATA2_GPA, 0xee, 0x8000);
		put_hdr(e, HDR_GPA, T_IN, 8);
		assert_int_equal(run(e, b, 4, &used), S_OK);
		assert_int_equal(used, 4097);
		assert_true(e->rec[0].last_bounced);
		assert_memory_equal(e->ram + DATA2_GPA + 3, e->ram + DATA_GPA + 0x20001, 1000);
		assert_memory_equal(e->ram + DATA2_GPA + 0x3000, e->ram + DATA_GPA + 0x20001 + 1000,
				    4096 - 1000);
		assert_int_equal(e->ram[DATA2_GPA + 2], 0xee);
		assert_int_equal(e->ram[DATA2_GPA + 3 + 1000], 0xee);
		assert_int_equal(e->ram[DATA2_GPA + 0x3000 + 3096], 0xee);
	}
	/* the buffer is kept (same slot: the free list is LIFO) */
	assert_ptr_equal(slot->bounce, bounce);
	/* a bigger one grows it */
	fill_guest(e, DATA_GPA + 0x10001, 3 * 4096, 3);
	assert_int_equal(rw(e, T_OUT, 16, DATA_GPA + 0x10001, 3 * 4096, NULL), S_OK);
	assert_true(e->rec[0].last_bounced);
	assert_true(slot->bounce_cap >= 3 * 4096);
	assert_int_equal((uintptr_t)slot->bounce % 4096, 0);
	assert_img_matches_guest(e, 16 * 512, DATA_GPA + 0x10001, 3 * 4096);

	/* O_DIRECT cannot do a misaligned offset or length at all */
	refuse_rw(e, S_IOE, T_IN, 1, 4096);
	refuse_rw(e, S_IOE, T_OUT, 9, 4096);
	refuse_rw(e, S_IOE, T_OUT, 8, 512);
	refuse_rw(e, S_IOE, T_IN, 8, 1536);
	/* nor bounce more than BLK_BOUNCE_MAX */
	{
		struct fv_buf b[3] = {{HDR_GPA, 16, false},
				      {DATA_GPA + 8, BLK_BOUNCE_MAX + 4096, false},
				      {STATUS_GPA, 1, true}};

		put_hdr(e, HDR_GPA, T_OUT, 0);
		expect_refused(e, S_IOE, b, 3, false);
		b[1].len = BLK_BOUNCE_MAX;
		assert_int_equal(run(e, b, 3, NULL), S_OK);
		assert_true(e->rec[0].last_bounced);
		assert_img_matches_guest(e, 0, DATA_GPA + 8, BLK_BOUNCE_MAX);
	}
	teardown(state);
}

/* ---- statistics ------------------------------------------------------------ */

static void test_stats(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	struct blk_queue_stats *s = &e->blk.q[0].stats;

	e->blk.now_ns = fake_clock; /* 3 us from pop to completion */
	fill_guest(e, DATA_GPA, 4096, 8);
	for (unsigned int i = 0; i < 7; i++) {
		fv_set_used_event(&e->fv[0], fv_used_idx(&e->fv[0])); /* interrupt me */
		switch (i) {
		case 0:
			assert_int_equal(rw(e, T_OUT, 0, DATA_GPA, 2048, NULL), S_OK);
			break;
		case 1:
			assert_int_equal(rw(e, T_IN, 0, DATA2_GPA, 1024, NULL), S_OK);
			break;
		case 2:
			assert_int_equal(simple(e, T_FL, 0, NULL), S_OK);
			break;
		case 3:
			assert_int_equal(rw(e, T_ID, 0, DATA2_GPA, 20, NULL), S_OK);
			break;
		case 4:
			put_range(e, PAYLOAD_GPA, 8, 8, 0);
			assert_int_equal(dwz(e, T_DIS, 1), S_OK);
			break;
		case 5:
			assert_int_equal(dwz(e, T_WZ, 1), S_OK);
			break;
		case 6:
			assert_int_equal(simple(e, 42, 0, NULL), S_UNS);
			break;
		}
	}
	for (unsigned int k = 0; k < 7; k++)
		assert_int_equal(atomic_load(&s->reqs[k]), 1);
	assert_int_equal(atomic_load(&s->bytes[0]), 1024);
	assert_int_equal(atomic_load(&s->bytes[1]), 2048);
	assert_int_equal(atomic_load(&s->errors), 1);
	assert_int_equal(atomic_load(&s->lat[2]), 7); /* [2, 4) us */
	for (unsigned int b = 0; b < BLK_LAT_BUCKETS; b++)
		if (b != 2)
			assert_int_equal(atomic_load(&s->lat[b]), 0);
	assert_int_equal(atomic_load(&s->batches), 7);
	assert_int_equal(atomic_load(&s->interrupts), 7);
	assert_int_equal(atomic_load(&e->t.queues[0].interrupts), 7);
	assert_int_equal(atomic_load(&s->inflight_max), 1);

	/* three requests in one kick: one batch; a failed read adds no bytes */
	{
		struct fv_buf b1[3] = {
		    {HDR_GPA, 16, false}, {DATA2_GPA, 512, true}, {STATUS_GPA, 1, true}};
		struct fv_buf b2[3] = {{HDR_GPA + 0x200, 16, false},
				       {DATA2_GPA, 512, true},
				       {STATUS_GPA + 0x10, 1, true}};

		put_hdr(e, HDR_GPA, T_IN, 0);
		put_hdr(e, HDR_GPA + 0x200, T_IN, SECTORS);
		fv_add_chain(&e->fv[0], b1, 3);
		fv_add_chain(&e->fv[0], b2, 3);
		fv_add_chain(&e->fv[0], b1, 3);
		fv_set_used_event(&e->fv[0], 7);
		virtio_pci_queue_kicked(&e->t, 0);
		assert_int_equal(fv_used_idx(&e->fv[0]), 10);
		assert_int_equal(atomic_load(&s->batches), 8);
		assert_int_equal(atomic_load(&s->reqs[0]), 4);
		assert_int_equal(atomic_load(&s->bytes[0]), 2048);
		assert_int_equal(atomic_load(&s->errors), 2);
		assert_int_equal(atomic_load(&s->inflight_max), 1); /* sync: one at a time */
		assert_int_equal(atomic_load(&s->interrupts), 8);
	}
	/* a kick with nothing to do is not a batch */
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(atomic_load(&s->batches), 8);
	/* a slow request lands in a higher bucket: 1 ms is in [512, 1024) us */
	e->blk.now_ns = slow_clock;
	assert_int_equal(simple(e, T_FL, 0, NULL), S_OK);
	assert_int_equal(atomic_load(&s->lat[10]), 1);
	assert_int_equal(atomic_load(&s->lat[2]), 10);
	teardown(state);
}

/* ---- an async engine ----------------------------------------------------- */

/* Complete held requests [from, to) the way an async engine's completion
 * handler does: under the queue lock, then one flush. */
static void complete_held(struct env *e, unsigned int q, unsigned int from, unsigned int to)
{
	virtio_pci_queue_lock(&e->t, q);
	for (unsigned int i = from; i < to; i++)
		assert_int_equal(blk_sync_ops.submit(&e->rec[q].sync, e->rec[q].held[i]), 0);
	virtio_blk_queue_flush(&e->blk.q[q]);
	virtio_pci_queue_unlock(&e->t, q);
}

static void add_out(struct env *e, unsigned int q, unsigned int i, uint64_t sector)
{
	struct fv_buf b[3] = {{HDR_GPA + 0x200 * i, 16, false},
			      {DATA_GPA + 0x1000 * i, 512, false},
			      {STATUS_GPA + 0x10 * i, 1, true}};

	put_hdr(e, HDR_GPA + 0x200 * i, T_OUT, sector);
	fill_guest(e, DATA_GPA + 0x1000 * i, 512, (uint8_t)(100 + i));
	e->ram[STATUS_GPA + 0x10 * i] = 0xaa;
	fv_add_chain(&e->fv[q], b, 3);
}

static void test_async_completion_and_event_idx(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	struct blk_queue_stats *s = &e->blk.q[0].stats;

	assert_true(virtio_pci_features(&e->t) & F(VIRTIO_RING_F_EVENT_IDX));
	e->rec[0].hold = true;
	for (unsigned int i = 0; i < 3; i++)
		add_out(e, 0, i, 10 + 2 * i);
	virtio_pci_queue_kicked(&e->t, 0);
	/* all three started, one engine flush for the batch, none done */
	assert_int_equal(e->rec[0].submits, 3);
	assert_int_equal(e->rec[0].flushes, 1);
	assert_int_equal(e->rec[0].nheld, 3);
	assert_int_equal(fv_used_idx(&e->fv[0]), 0);
	assert_int_equal(e->blk.q[0].inflight, 3);
	assert_int_equal(e->blk.inflight_total, 3);
	assert_int_equal(atomic_load(&s->inflight_max), 3);
	assert_int_equal(atomic_load(&e->t.queues[0].interrupts), 0);
	assert_int_equal(e->ram[STATUS_GPA], 0xaa);

	/* completed later, together: one interrupt for the three */
	complete_held(e, 0, 0, 3);
	assert_int_equal(fv_used_idx(&e->fv[0]), 3);
	assert_int_equal(atomic_load(&e->t.queues[0].interrupts), 1);
	assert_int_equal(atomic_load(&s->interrupts), 1);
	assert_int_equal(e->blk.inflight_total, 0);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(e->ram[STATUS_GPA + 0x10 * i], S_OK);
		assert_img_matches_guest(e, (10 + 2 * i) * 512, DATA_GPA + 0x1000 * i, 512);
	}

	/* the driver asks for an interrupt once the used index passes 4
	 * (used_event = 4): the first completion gets none, the second one */
	e->rec[0].nheld = 0;
	fv_set_used_event(&e->fv[0], 4);
	add_out(e, 0, 0, 30);
	add_out(e, 0, 1, 31);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(e->rec[0].nheld, 2);
	complete_held(e, 0, 0, 1);
	assert_int_equal(fv_used_idx(&e->fv[0]), 4);
	assert_int_equal(atomic_load(&e->t.queues[0].interrupts), 1);
	complete_held(e, 0, 1, 2);
	assert_int_equal(fv_used_idx(&e->fv[0]), 5);
	assert_int_equal(atomic_load(&e->t.queues[0].interrupts), 2);
	/* a flush with nothing pushed does nothing */
	virtio_pci_queue_lock(&e->t, 0);
	virtio_blk_queue_flush(&e->blk.q[0]);
	virtio_pci_queue_unlock(&e->t, 0);
	assert_int_equal(atomic_load(&e->t.queues[0].interrupts), 2);
	teardown(state);
}

struct late {
	struct env *e;
	atomic_int done;
};

static void *late_completer(void *arg)
{
	struct late *l = arg;
	struct env *e = l->e;
	struct timespec ts = {0, 150 * 1000 * 1000};

	nanosleep(&ts, NULL);
	virtio_pci_queue_lock(&e->t, 0);
	for (unsigned int i = 0; i < e->rec[0].nheld; i++)
		blk_sync_ops.submit(&e->rec[0].sync, e->rec[0].held[i]);
	virtio_blk_queue_flush(&e->blk.q[0]);
	atomic_store(&l->done, 1); /* before the reset can take the lock */
	virtio_pci_queue_unlock(&e->t, 0);
	return NULL;
}

/* A reset waits (quiesce) until the engine has completed what it holds. */
static void test_reset_waits_for_inflight(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	struct late l = {.e = e};
	pthread_t th;

	e->rec[0].hold = true;
	add_out(e, 0, 0, 50);
	add_out(e, 0, 1, 52);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(e->rec[0].nheld, 2);
	assert_int_equal(e->blk.inflight_total, 2);

	assert_int_equal(pthread_create(&th, NULL, late_completer, &l), 0);
	fvp_set_status(&e->drv, 0); /* returns only after the completions */
	assert_int_equal(atomic_load(&l.done), 1);
	assert_int_equal(e->blk.inflight_total, 0);
	assert_int_equal(fvp_status(&e->drv), 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 2);
	assert_int_equal(e->ram[STATUS_GPA], S_OK);
	assert_int_equal(e->ram[STATUS_GPA + 0x10], S_OK);
	assert_int_equal(pthread_join(th, NULL), 0);

	/* nothing in flight: a reset does not wait */
	fvp_set_status(&e->drv, 0);
	/* and the device comes back */
	e->rec[0].hold = false;
	driver_start(e);
	assert_int_equal(rw(e, T_IN, 50, DATA2_GPA, 512, NULL), S_OK);
	assert_memory_equal(e->ram + DATA2_GPA, e->ram + DATA_GPA, 512);
	teardown(state);
}

/* A driver that re-publishes descriptors still in flight can have more
 * requests out than the queue has entries: popping stops while no slot is
 * free and a completion re-kicks the queue. */
static void test_slots_exhausted(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	struct fv_buf b[2] = {{HDR_GPA, 16, false}, {STATUS_GPA, 1, true}};
	uint16_t head;

	e->rec[0].hold = true;
	put_hdr(e, HDR_GPA, T_FL, 0); /* a flush goes to the engine */
	head = fv_add_indirect(&e->fv[0], TABLE_GPA, b, 2);
	for (unsigned int i = 1; i < default_cfg.qsize; i++)
		fv_publish(&e->fv[0], head);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(e->rec[0].nheld, default_cfg.qsize);
	assert_int_equal(e->blk.q[0].nslots, default_cfg.qsize);
	assert_null(e->blk.q[0].free);
	assert_false(e->blk.q[0].starved); /* all slots busy, but nothing waits */
	complete_held(e, 0, 0, 0);	   /* a completion then kicks nothing */
	assert_int_equal(e->h.qkicks[0], 1);

	fv_publish(&e->fv[0], head); /* one more: no slot for it */
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(e->rec[0].nheld, default_cfg.qsize);
	assert_true(e->blk.q[0].starved);
	assert_int_equal(e->t.queues[0].vq.last_avail, default_cfg.qsize);
	assert_int_equal(e->h.qkicks[0], 1); /* the one after DRIVER_OK */

	complete_held(e, 0, 0, 1);
	assert_int_equal(fv_used_idx(&e->fv[0]), 1);
	assert_int_equal(e->h.qkicks[0], 2); /* re-kicked */
	assert_false(e->blk.q[0].starved);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(e->rec[0].nheld, default_cfg.qsize + 1);
	complete_held(e, 0, 1, default_cfg.qsize + 1);
	assert_int_equal(fv_used_idx(&e->fv[0]), default_cfg.qsize + 1);
	assert_int_equal(e->blk.inflight_total, 0);
	assert_int_equal(fvp_status(&e->drv) & S_NR, 0);
	teardown(state);
}

/* Two queues, each with its engine; a reset then a probe with bigger
 * queues (the slot arrays grow). */
static void test_multiqueue_and_regrow(void **state)
{
	struct cfg cfg = default_cfg;
	struct env *e;

	cfg.nq = 2;
	e = env_start(state, &cfg);
	assert_int_equal(CFG_RD(e, num_queues), 2);
	assert_int_equal(e->blk.q[1].nslots, 16);
	fill_guest(e, DATA_GPA, 512, 4);
	{
		struct fv_buf b[3] = {
		    {HDR_GPA, 16, false}, {DATA_GPA, 512, false}, {STATUS_GPA, 1, true}};

		put_hdr(e, HDR_GPA, T_OUT, 70);
		assert_int_equal(run_q(e, 1, b, 3, false, NULL), S_OK);
	}
	assert_int_equal(e->rec[1].submits, 1);
	assert_int_equal(e->rec[0].submits, 0);
	assert_int_equal(atomic_load(&e->blk.q[1].stats.reqs[1]), 1);
	assert_int_equal(atomic_load(&e->blk.q[0].stats.reqs[1]), 0);
	assert_int_equal(atomic_load(&e->t.queues[1].interrupts), 1);
	assert_int_equal(atomic_load(&e->t.queues[0].interrupts), 0);
	assert_img_matches_guest(e, 70 * 512, DATA_GPA, 512);
	assert_int_equal(rw(e, T_IN, 70, DATA2_GPA, 512, NULL), S_OK);
	assert_int_equal(e->rec[0].submits, 1);
	assert_memory_equal(e->ram + DATA2_GPA, e->ram + DATA_GPA, 512);

	e->cfg.qsize = 64;
	driver_start(e);
	assert_int_equal(e->blk.q[0].nslots, 64);
	assert_int_equal(e->blk.q[1].nslots, 64);
	assert_int_equal(rw(e, T_IN, 70, DATA2_GPA + 0x1000, 512, NULL), S_OK);
	assert_memory_equal(e->ram + DATA2_GPA + 0x1000, e->ram + DATA_GPA, 512);
	/* smaller again: the slots are kept */
	e->cfg.qsize = 8;
	driver_start(e);
	assert_int_equal(e->blk.q[0].nslots, 64);
	assert_int_equal(rw(e, T_IN, 70, DATA2_GPA + 0x2000, 512, NULL), S_OK);
	assert_memory_equal(e->ram + DATA2_GPA + 0x2000, e->ram + DATA_GPA, 512);
	teardown(state);
}

/* Without EVENT_IDX the NO_INTERRUPT flag is honoured; without the MQ
 * feature queue 0 still works. */
static void test_no_event_idx(void **state)
{
	struct cfg cfg = default_cfg;
	struct env *e;

	cfg.features = ~(F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_BLK_F_MQ));
	e = env_start(state, &cfg);
	assert_int_equal(rw(e, T_IN, 0, DATA2_GPA, 512, NULL), S_OK);
	assert_int_equal(atomic_load(&e->t.queues[0].interrupts), 1);
	fv_set_avail_flags(&e->fv[0], VRING_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(rw(e, T_IN, 0, DATA2_GPA, 512, NULL), S_OK);
	assert_int_equal(atomic_load(&e->t.queues[0].interrupts), 1);
	fv_set_avail_flags(&e->fv[0], 0);
	assert_int_equal(rw(e, T_IN, 0, DATA2_GPA, 512, NULL), S_OK);
	assert_int_equal(atomic_load(&e->t.queues[0].interrupts), 2);
	/* notifications were re-enabled after each batch */
	assert_int_equal(fv_used_flags(&e->fv[0]) & VRING_USED_F_NO_NOTIFY, 0);
	teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_cache_modes_and_init, teardown),
	    cmocka_unit_test_teardown(test_features_and_config, teardown),
	    cmocka_unit_test_teardown(test_limits_are_consistent, teardown),
	    cmocka_unit_test_teardown(test_wce_toggle, teardown),
	    cmocka_unit_test_teardown(test_write_then_read, teardown),
	    cmocka_unit_test_teardown(test_split_header, teardown),
	    cmocka_unit_test_teardown(test_flush, teardown),
	    cmocka_unit_test_teardown(test_get_id, teardown),
	    cmocka_unit_test_teardown(test_discard, teardown),
	    cmocka_unit_test_teardown(test_write_zeroes, teardown),
	    cmocka_unit_test_teardown(test_refuse_malformed_requests, teardown),
	    cmocka_unit_test_teardown(test_refuse_too_many_segments, teardown),
	    cmocka_unit_test_teardown(test_refuse_discard_ranges, teardown),
	    cmocka_unit_test_teardown(test_refuse_readonly_and_no_discard, teardown),
	    cmocka_unit_test_teardown(test_refuse_host_errors, teardown),
	    cmocka_unit_test_teardown(test_malformed_chain_needs_reset, teardown),
	    cmocka_unit_test_teardown(test_bounce, teardown),
	    cmocka_unit_test_teardown(test_stats, teardown),
	    cmocka_unit_test_teardown(test_async_completion_and_event_idx, teardown),
	    cmocka_unit_test_teardown(test_reset_waits_for_inflight, teardown),
	    cmocka_unit_test_teardown(test_slots_exhausted, teardown),
	    cmocka_unit_test_teardown(test_multiqueue_and_regrow, teardown),
	    cmocka_unit_test_teardown(test_no_event_idx, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
