/* virtqueue: setup refusals, chains (direct, indirect, across regions),
 * used ring and notification suppression (flags and EVENT_IDX, with the
 * 16-bit wrap), and every way a hostile driver can break the queue. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/fake_vring.h"
#include "virtio/virtqueue.h"

/* Guest RAM: two adjacent 64 KiB regions, [0, 0x10000) and
 * [0x10000, 0x20000); gap_setup() adds a third at 0x30000 past a gap. */
#define RAM_END 0x20000
#define GAP_GPA 0x30000
#define DESC	0x1000 /* up to 512 entries */
#define AVAIL	0x3000
#define USED	0x4000
#define TABLE	0x6000 /* indirect tables */
#define DATA	0x8000 /* buffers */
#define F_INDIR (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT (1ULL << VIRTIO_RING_F_EVENT_IDX)
#define R(a, l) ((struct fv_buf){(a), (l), false})
#define W(a, l) ((struct fv_buf){(a), (l), true})

static uint8_t ram0[0x10000] __attribute__((aligned(4096)));
static uint8_t ram1[0x10000] __attribute__((aligned(4096)));
static uint8_t ram2[0x1000] __attribute__((aligned(4096)));
static uint8_t big[1 << 20] __attribute__((aligned(4096)));

struct ctx {
	struct guest_mem gm;
	struct fv fv;
	struct vq vq;
	struct vq_elem e;
};

static struct ctx the_ctx;

/* Fresh RAM, an empty ring of size entries at the standard addresses and
 * a vq set up over it with the given features. */
static struct ctx *start(uint16_t size, uint64_t features)
{
	struct ctx *c = &the_ctx;

	memset(ram0, 0, sizeof(ram0));
	memset(ram1, 0, sizeof(ram1));
	memset(ram2, 0, sizeof(ram2));
	memset(c, 0, sizeof(*c));
	gm_init(&c->gm);
	assert_int_equal(gm_region_add(&c->gm, 0, sizeof(ram0), ram0), 0);
	assert_int_equal(gm_region_add(&c->gm, 0x10000, sizeof(ram1), ram1), 0);
	fv_init(&c->fv, &c->gm, size, DESC, AVAIL, USED);
	assert_int_equal(vq_setup(&c->vq, &c->gm, size, DESC, AVAIL, USED, features), 0);
	return c;
}

/* Add the region past the gap: [GAP_GPA, GAP_GPA + 0x1000). */
static void gap_setup(struct ctx *c)
{
	assert_int_equal(gm_region_add(&c->gm, GAP_GPA, sizeof(ram2), ram2), 0);
}

/* Pop one element and hand it straight back as used (len 0), flushed. */
static void roundtrip(struct ctx *c)
{
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(vq_push(&c->vq, c->e.head, 0), 0);
	vq_flush(&c->vq);
}

/* Driver adds a one-buffer chain, device serves it. */
static void cycle(struct ctx *c, unsigned int n)
{
	const struct fv_buf b[] = {W(DATA, 8)};

	for (unsigned int i = 0; i < n; i++) {
		fv_add_chain(&c->fv, b, 1);
		roundtrip(c);
	}
}

/* The next pop breaks the queue with err: nothing consumed, nothing used,
 * and the queue stays broken. */
static void expect_broken(struct ctx *c, enum vq_error err)
{
	uint16_t last = c->vq.last_avail, used = fv_used_idx(&c->fv);

	assert_false(c->vq.broken);
	assert_int_equal(vq_pop(&c->vq, &c->e), -EIO);
	assert_true(c->vq.broken);
	assert_int_equal(c->vq.error, err);
	assert_int_equal(c->vq.last_avail, last);
	assert_int_equal(fv_used_idx(&c->fv), used);
	assert_int_equal(vq_pop(&c->vq, &c->e), -EIO);
	assert_int_equal(c->vq.error, err);
	assert_int_equal(c->vq.last_avail, last);
	assert_int_equal(vq_avail_count(&c->vq), 0);
	assert_false(vq_enable_notify(&c->vq));
}

/* ---- setup ---- */

static void test_setup_ok(void **state)
{
	struct ctx *c = start(16, F_INDIR | F_EVENT);
	(void)state;
	assert_int_equal(c->vq.size, 16);
	assert_true(c->vq.event_idx);
	assert_true(c->vq.indirect);
	assert_ptr_equal(c->vq.desc, ram0 + DESC);
	assert_ptr_equal(c->vq.avail, ram0 + AVAIL);
	assert_ptr_equal(c->vq.used, ram0 + USED);
	assert_ptr_equal(c->vq.gm, &c->gm);
	assert_int_equal(c->vq.last_avail, 0);
	assert_int_equal(c->vq.used_idx, 0);
	assert_false(c->vq.broken);
	assert_int_equal(c->vq.error, VQ_OK);

	/* set up again: the old state goes, features are read again */
	cycle(c, 3);
	assert_int_equal(vq_setup(&c->vq, &c->gm, 1, DESC, AVAIL, USED, 0), 0);
	assert_int_equal(c->vq.size, 1);
	assert_false(c->vq.event_idx);
	assert_false(c->vq.indirect);
	assert_int_equal(c->vq.last_avail, 0);
	assert_int_equal(c->vq.used_idx, 0);
	/* other feature bits are not mistaken for ours */
	assert_int_equal(vq_setup(&c->vq, &c->gm, 8, DESC, AVAIL, USED, ~(F_INDIR | F_EVENT)), 0);
	assert_false(c->vq.event_idx);
	assert_false(c->vq.indirect);
	assert_int_equal(vq_setup(&c->vq, &c->gm, 8, DESC, AVAIL, USED, F_EVENT), 0);
	assert_true(c->vq.event_idx);
	assert_false(c->vq.indirect);
}

static void test_setup_bad_size(void **state)
{
	struct ctx *c = start(16, 0);
	uint32_t too_big = 65536;
	const uint16_t bad[] = {0, 3, 6, 100, 32767, 32769, (uint16_t)too_big, 0xffff};
	(void)state;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vq_setup(&c->vq, &c->gm, 16, DESC, AVAIL, USED, 0), 0);
		assert_int_equal(vq_setup(&c->vq, &c->gm, bad[i], DESC, AVAIL, USED, 0), -EINVAL);
		assert_int_equal(c->vq.size, 0);
		assert_null(c->vq.desc);
	}
	assert_int_equal(vq_setup(&c->vq, &c->gm, 2, DESC, AVAIL, USED, 0), 0);
}

static void test_setup_max_size(void **state)
{
	struct guest_mem gm;
	struct vq vq;
	const uint64_t base = 0x100000, end = base + sizeof(big);
	(void)state;
	gm_init(&gm);
	assert_int_equal(gm_region_add(&gm, base, sizeof(big), big), 0);
	/* 512 KiB of descriptors, 64 KiB + 6 avail, 256 KiB + 6 used */
	assert_int_equal(vq_setup(&vq, &gm, 32768, base, base + 0x80000, base + 0x91000, 0), 0);
	assert_int_equal(vq.size, 32768);
	assert_int_equal(vq_setup(&vq, &gm, 32768, base, base + 0x80000, end - 0x40008, 0), 0);
	/* avail_event would be past the end */
	assert_int_equal(vq_setup(&vq, &gm, 32768, base, base + 0x80000, end - 0x40004, 0),
			 -EFAULT);
	assert_int_equal(vq.size, 0);
}

static void test_setup_misaligned(void **state)
{
	struct ctx *c = start(16, 0);
	struct guest_mem gm;
	struct vq vq;
	(void)state;
	assert_int_equal(vq_setup(&vq, &c->gm, 16, DESC + 8, AVAIL, USED, 0), -EINVAL);
	assert_int_equal(vq.size, 0);
	assert_int_equal(vq_setup(&vq, &c->gm, 16, DESC + 1, AVAIL, USED, 0), -EINVAL);
	assert_int_equal(vq_setup(&vq, &c->gm, 16, DESC, AVAIL + 1, USED, 0), -EINVAL);
	assert_int_equal(vq_setup(&vq, &c->gm, 16, DESC, AVAIL, USED + 2, 0), -EINVAL);
	assert_int_equal(vq.size, 0);
	/* the minimum alignments are enough */
	assert_int_equal(vq_setup(&vq, &c->gm, 16, DESC + 16, AVAIL + 2, USED + 4, 0), 0);
	assert_ptr_equal(vq.avail, ram0 + AVAIL + 2);
	/* misaligned guest addresses are refused before looking at RAM */
	assert_int_equal(vq_setup(&vq, &c->gm, 16, 0x40008, AVAIL, USED, 0), -EINVAL);
	/* an aligned gpa whose host mapping is not aligned cannot be used
	 * with atomics either; one region per ring, one misaligned at a time */
	for (int bad = 0; bad < 4; bad++) {
		const uintptr_t skew[4][3] = {{0, 0, 0}, {8, 0, 0}, {0, 1, 0}, {0, 0, 2}};
		gm_init(&gm);
		assert_int_equal(gm_region_add(&gm, 0, 0x1000, ram0 + skew[bad][0]), 0);
		assert_int_equal(gm_region_add(&gm, 0x1000, 0x1000, ram0 + 0x2000 + skew[bad][1]),
				 0);
		assert_int_equal(gm_region_add(&gm, 0x2000, 0x1000, ram0 + 0x4000 + skew[bad][2]),
				 0);
		assert_int_equal(vq_setup(&vq, &gm, 16, 0, 0x1000, 0x2000, 0), bad ? -EINVAL : 0);
		assert_int_equal(vq.size, bad ? 0 : 16);
	}
}

static void test_setup_outside_ram(void **state)
{
	struct ctx *c = start(16, 0);
	struct vq vq;
	(void)state;
	gap_setup(c);
	/* wholly outside, in the gap and past the end */
	assert_int_equal(vq_setup(&vq, &c->gm, 16, RAM_END, AVAIL, USED, 0), -EFAULT);
	assert_int_equal(vq.size, 0);
	assert_int_equal(vq_setup(&vq, &c->gm, 16, DESC, 0x40000, USED, 0), -EFAULT);
	assert_int_equal(vq_setup(&vq, &c->gm, 16, DESC, AVAIL, 0x50000, 0), -EFAULT);
	/* descriptor table ending exactly at the end of RAM, and one entry more */
	assert_int_equal(vq_setup(&vq, &c->gm, 16, RAM_END - 256, AVAIL, USED, 0), 0);
	assert_int_equal(vq_setup(&vq, &c->gm, 16, RAM_END - 240, AVAIL, USED, 0), -EFAULT);
	/* the event fields count: ring[] fits, used_event / avail_event not */
	assert_int_equal(vq_setup(&vq, &c->gm, 16, DESC, RAM_END - 38, USED, 0), 0);
	assert_int_equal(vq_setup(&vq, &c->gm, 16, DESC, RAM_END - 36, USED, 0), -EFAULT);
	assert_int_equal(vq_setup(&vq, &c->gm, 16, DESC, AVAIL, RAM_END - 136, 0), 0);
	assert_int_equal(vq_setup(&vq, &c->gm, 16, DESC, AVAIL, RAM_END - 132, 0), -EFAULT);
	/* straddling two adjacent regions: RAM on both sides, but not one
	 * host mapping */
	assert_int_equal(vq_setup(&vq, &c->gm, 16, 0x10000 - 128, AVAIL, USED, 0), -EFAULT);
	assert_int_equal(vq_setup(&vq, &c->gm, 16, DESC, 0x10000 - 16, USED, 0), -EFAULT);
	assert_int_equal(vq_setup(&vq, &c->gm, 16, DESC, AVAIL, 0x10000 - 64, 0), -EFAULT);
	/* straddling the gap after the last region */
	assert_int_equal(vq_setup(&vq, &c->gm, 16, DESC, RAM_END - 16, USED, 0), -EFAULT);
	/* wrapping past 2^64 */
	assert_int_equal(vq_setup(&vq, &c->gm, 16, DESC, AVAIL, UINT64_MAX - 3, 0), -EFAULT);
	assert_int_equal(vq_setup(&vq, &c->gm, 16, UINT64_MAX - 15, AVAIL, USED, 0), -EFAULT);
	assert_int_equal(vq.size, 0);
}

static void test_not_set_up(void **state)
{
	struct vq vq;
	struct vq_elem e;
	(void)state;
	memset(&vq, 0xa5, sizeof(vq));
	vq_reset(&vq);
	assert_int_equal(vq.size, 0);
	assert_false(vq.broken);
	assert_int_equal(vq.error, VQ_OK);
	assert_null(vq.used);
	assert_int_equal(vq_pop(&vq, &e), 0);
	assert_int_equal(vq_avail_count(&vq), 0);
	vq_flush(&vq);
	vq_disable_notify(&vq);
	assert_false(vq_should_notify(&vq));
	assert_false(vq_enable_notify(&vq));
	assert_int_equal(vq_push(&vq, 0, 0), -EINVAL);
}

/* ---- chains ---- */

static void test_pop_empty(void **state)
{
	struct ctx *c = start(16, 0);
	(void)state;
	assert_int_equal(vq_avail_count(&c->vq), 0);
	assert_int_equal(vq_pop(&c->vq, &c->e), 0);
	assert_int_equal(c->vq.last_avail, 0);
	assert_false(c->vq.broken);
}

static void test_pop_chain(void **state)
{
	struct ctx *c = start(16, 0);
	const struct fv_buf req[] = {R(DATA, 100), R(DATA + 0x100, 50), W(DATA + 0x200, 200)};
	const struct fv_buf wonly[] = {W(DATA + 0x300, 1), W(DATA + 0x400, 2)};
	const struct fv_buf ronly[] = {R(DATA + 0x500, 3)};
	uint16_t h1, h2, h3;
	(void)state;
	h1 = fv_add_chain(&c->fv, req, 3);
	h2 = fv_add_chain(&c->fv, wonly, 2);
	h3 = fv_add_chain(&c->fv, ronly, 1);
	assert_int_equal(h2, 3);
	assert_int_equal(vq_avail_count(&c->vq), 3);

	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->e.head, h1);
	assert_int_equal(c->e.out_num, 2);
	assert_int_equal(c->e.in_num, 1);
	assert_int_equal(c->e.out_len, 150);
	assert_int_equal(c->e.in_len, 200);
	assert_ptr_equal(c->e.iov[0].iov_base, ram0 + DATA);
	assert_int_equal(c->e.iov[0].iov_len, 100);
	assert_ptr_equal(c->e.iov[1].iov_base, ram0 + DATA + 0x100);
	assert_int_equal(c->e.iov[1].iov_len, 50);
	assert_ptr_equal(c->e.iov[2].iov_base, ram0 + DATA + 0x200);
	assert_int_equal(c->e.iov[2].iov_len, 200);
	assert_int_equal(c->vq.last_avail, 1);
	assert_int_equal(vq_avail_count(&c->vq), 2);

	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->e.head, h2);
	assert_int_equal(c->e.out_num, 0);
	assert_int_equal(c->e.in_num, 2);
	assert_int_equal(c->e.out_len, 0);
	assert_int_equal(c->e.in_len, 3);
	assert_ptr_equal(c->e.iov[1].iov_base, ram0 + DATA + 0x400);

	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->e.head, h3);
	assert_int_equal(c->e.out_num, 1);
	assert_int_equal(c->e.in_num, 0);
	assert_int_equal(c->e.out_len, 3);

	assert_int_equal(vq_pop(&c->vq, &c->e), 0);
	assert_int_equal(c->vq.last_avail, 3);
	/* nothing was marked used by popping */
	assert_int_equal(fv_used_idx(&c->fv), 0);
}

static void test_pop_region_split(void **state)
{
	struct ctx *c = start(16, 0);
	/* crosses the boundary between the adjacent regions; the writable
	 * one ends exactly at the end of RAM */
	const struct fv_buf b[] = {R(0xff00, 0x200), W(RAM_END - 0x10, 0x10)};
	(void)state;
	fv_add_chain(&c->fv, b, 2);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->e.out_num, 2);
	assert_int_equal(c->e.in_num, 1);
	assert_int_equal(c->e.out_len, 0x200);
	assert_int_equal(c->e.in_len, 0x10);
	assert_ptr_equal(c->e.iov[0].iov_base, ram0 + 0xff00);
	assert_int_equal(c->e.iov[0].iov_len, 0x100);
	assert_ptr_equal(c->e.iov[1].iov_base, ram1);
	assert_int_equal(c->e.iov[1].iov_len, 0x100);
	assert_ptr_equal(c->e.iov[2].iov_base, ram1 + 0xfff0);
	assert_int_equal(c->e.iov[2].iov_len, 0x10);
}

static void test_chain_as_long_as_table(void **state)
{
	struct ctx *c = start(4, 0);
	const struct fv_buf b[] = {R(DATA, 1), R(DATA + 1, 1), W(DATA + 2, 1), W(DATA + 3, 1)};
	(void)state;
	/* start mid-table so the chain wraps round the slots */
	c->fv.next_desc = 2;
	assert_int_equal(fv_add_chain(&c->fv, b, 4), 2);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->e.head, 2);
	assert_int_equal(c->e.out_num, 2);
	assert_int_equal(c->e.in_num, 2);
	assert_ptr_equal(c->e.iov[3].iov_base, ram0 + DATA + 3);
}

static void test_ring_full(void **state)
{
	struct ctx *c = start(4, 0);
	const struct fv_buf b[] = {R(DATA, 1)};
	(void)state;
	/* avail->idx exactly size ahead is a full ring, not an error */
	for (int i = 0; i < 4; i++)
		fv_add_chain(&c->fv, b, 1);
	assert_int_equal(vq_avail_count(&c->vq), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(vq_pop(&c->vq, &c->e), 0);
	assert_false(c->vq.broken);
}

/* ---- indirect ---- */

static void test_indirect(void **state)
{
	struct ctx *c = start(16, F_INDIR);
	const struct fv_buf t[] = {R(DATA, 64), W(DATA + 0x100, 32), W(DATA + 0x200, 16)};
	uint16_t head;
	(void)state;
	head = fv_add_indirect(&c->fv, TABLE, t, 3);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->e.head, head);
	assert_int_equal(c->e.out_num, 1);
	assert_int_equal(c->e.in_num, 2);
	assert_int_equal(c->e.out_len, 64);
	assert_int_equal(c->e.in_len, 48);
	assert_ptr_equal(c->e.iov[0].iov_base, ram0 + DATA);
	assert_ptr_equal(c->e.iov[1].iov_base, ram0 + DATA + 0x100);
	assert_ptr_equal(c->e.iov[2].iov_base, ram0 + DATA + 0x200);
	assert_int_equal(c->e.iov[2].iov_len, 16);
	assert_int_equal(c->vq.last_avail, 1);
}

static void test_indirect_after_direct(void **state)
{
	struct ctx *c = start(16, F_INDIR);
	const struct fv_buf t[] = {R(DATA + 0x100, 8), W(DATA + 0x200, 9)};
	(void)state;
	/* zero or more direct descriptors, then one INDIRECT (spec 2.7.5.3.2) */
	fv_write_table(&c->gm, TABLE, t, 2);
	fv_set_desc(&c->fv, 5, DATA, 4, VRING_DESC_F_NEXT, 9);
	fv_set_desc(&c->fv, 9, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	fv_publish(&c->fv, 5);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->e.head, 5);
	assert_int_equal(c->e.out_num, 2);
	assert_int_equal(c->e.in_num, 1);
	assert_int_equal(c->e.out_len, 12);
	assert_int_equal(c->e.in_len, 9);
	assert_ptr_equal(c->e.iov[1].iov_base, ram0 + DATA + 0x100);
}

static void test_indirect_write_flag_ignored(void **state)
{
	struct ctx *c = start(16, F_INDIR);
	const struct fv_buf t[] = {R(DATA, 8), W(DATA + 0x100, 9)};
	(void)state;
	fv_write_table(&c->gm, TABLE, t, 2);
	fv_set_desc(&c->fv, 0, TABLE, 32, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	fv_publish(&c->fv, 0);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->e.out_num, 1);
	assert_int_equal(c->e.in_num, 1);
}

static void test_indirect_across_regions(void **state)
{
	struct ctx *c = start(16, F_INDIR);
	/* entry 0 straddles the region boundary, buffers in both regions */
	const struct fv_buf t[] = {R(0xfff0, 0x20), R(0x10100, 1), W(0x200, 2)};
	(void)state;
	fv_add_indirect(&c->fv, 0x10000 - 8, t, 3);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->e.out_num, 3);
	assert_int_equal(c->e.in_num, 1);
	assert_ptr_equal(c->e.iov[0].iov_base, ram0 + 0xfff0);
	assert_ptr_equal(c->e.iov[1].iov_base, ram1);
	assert_ptr_equal(c->e.iov[2].iov_base, ram1 + 0x100);
	assert_ptr_equal(c->e.iov[3].iov_base, ram0 + 0x200);
	assert_int_equal(c->e.out_len, 0x21);
	assert_int_equal(c->e.in_len, 2);
}

static void test_indirect_table_larger_than_queue(void **state)
{
	struct ctx *c = start(2, F_INDIR);
	struct fv_buf t[8];
	(void)state;
	/* Linux sizes indirect tables by the request, not by the queue */
	for (int i = 0; i < 8; i++)
		t[i] = R(DATA + (uint64_t)i * 16, 16);
	fv_add_indirect(&c->fv, TABLE, t, 8);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->e.out_num, 8);
	assert_int_equal(c->e.out_len, 128);
}

/* ---- used ring ---- */

static void test_push_flush(void **state)
{
	struct ctx *c = start(16, 0);
	const struct fv_buf b[] = {W(DATA, 16)};
	uint32_t id, len;
	uint16_t h1, h2;
	(void)state;
	h1 = fv_add_chain(&c->fv, b, 1);
	h2 = fv_add_chain(&c->fv, b, 1);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	/* completed out of order */
	assert_int_equal(vq_push(&c->vq, h2, 7), 0);
	assert_int_equal(c->vq.used_idx, 1);
	fv_used_elem(&c->fv, 0, &id, &len);
	assert_int_equal(id, h2);
	assert_int_equal(len, 7);
	/* not visible until flushed */
	assert_int_equal(fv_used_idx(&c->fv), 0);
	vq_flush(&c->vq);
	assert_int_equal(fv_used_idx(&c->fv), 1);
	assert_int_equal(vq_push(&c->vq, h1, 0xffffffff), 0);
	vq_flush(&c->vq);
	assert_int_equal(fv_used_idx(&c->fv), 2);
	fv_used_elem(&c->fv, 1, &id, &len);
	assert_int_equal(id, h1);
	assert_int_equal(len, 0xffffffff);
	/* flushing again changes nothing */
	vq_flush(&c->vq);
	assert_int_equal(fv_used_idx(&c->fv), 2);
}

static void test_push_bad_head(void **state)
{
	struct ctx *c = start(16, 0);
	const struct fv_buf b[] = {W(DATA, 16)};
	(void)state;
	fv_add_chain(&c->fv, b, 1);
	assert_int_equal(vq_push(&c->vq, 16, 1), -EINVAL);
	assert_true(c->vq.broken);
	assert_int_equal(c->vq.error, VQ_ERR_USED_HEAD);
	assert_int_equal(c->vq.used_idx, 0);
	assert_int_equal(vq_pop(&c->vq, &c->e), -EIO);
	assert_int_equal(c->vq.last_avail, 0);
	assert_int_equal(vq_push(&c->vq, 0xffff, 1), -EINVAL);
	assert_int_equal(c->vq.used_idx, 0);
}

/* ---- notifications without EVENT_IDX ---- */

static void test_notify_flags(void **state)
{
	struct ctx *c = start(16, 0);
	(void)state;
	/* nothing published yet */
	assert_false(vq_should_notify(&c->vq));
	cycle(c, 1);
	assert_true(vq_should_notify(&c->vq));
	assert_true(c->vq.signalled_used_valid);
	assert_int_equal(c->vq.signalled_used, 1);
	/* nothing new since */
	assert_false(vq_should_notify(&c->vq));
	/* driver asks for no interrupts */
	fv_set_avail_flags(&c->fv, VRING_AVAIL_F_NO_INTERRUPT);
	cycle(c, 2);
	assert_false(vq_should_notify(&c->vq));
	/* ... and takes it back: what was published meanwhile is owed */
	fv_set_avail_flags(&c->fv, 0);
	assert_true(vq_should_notify(&c->vq));
	assert_int_equal(c->vq.signalled_used, 3);
	assert_false(vq_should_notify(&c->vq));
	/* used_event is not looked at without EVENT_IDX */
	fv_set_used_event(&c->fv, 100);
	cycle(c, 1);
	assert_true(vq_should_notify(&c->vq));
}

static void test_disable_enable_flags(void **state)
{
	struct ctx *c = start(16, 0);
	const struct fv_buf b[] = {R(DATA, 1)};
	(void)state;
	vq_disable_notify(&c->vq);
	assert_int_equal(fv_used_flags(&c->fv), VRING_USED_F_NO_NOTIFY);
	/* empty: enabling says there is nothing to do */
	assert_false(vq_enable_notify(&c->vq));
	assert_int_equal(fv_used_flags(&c->fv), 0);
	/* the race: a buffer arrives while notifications are off */
	vq_disable_notify(&c->vq);
	fv_add_chain(&c->fv, b, 1);
	assert_true(vq_enable_notify(&c->vq));
	assert_int_equal(fv_used_flags(&c->fv), 0);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_false(vq_enable_notify(&c->vq));
	/* avail_event is not written without EVENT_IDX */
	assert_int_equal(fv_avail_event(&c->fv), 0);
}

/* ---- EVENT_IDX ---- */

static void test_event_idx_enable(void **state)
{
	struct ctx *c = start(16, F_EVENT);
	const struct fv_buf b[] = {R(DATA, 1)};
	(void)state;
	fv_put16(&c->gm, USED + 4 + 8 * 16, 0x1234);
	vq_disable_notify(&c->vq);
	/* no flags with EVENT_IDX, avail_event left behind */
	assert_int_equal(fv_used_flags(&c->fv), 0);
	assert_int_equal(fv_avail_event(&c->fv), 0x1234);
	fv_add_chain(&c->fv, b, 1);
	fv_add_chain(&c->fv, b, 1);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	/* popping does not move avail_event */
	assert_int_equal(fv_avail_event(&c->fv), 0x1234);
	assert_false(vq_enable_notify(&c->vq));
	assert_int_equal(fv_avail_event(&c->fv), 2);
	assert_int_equal(fv_used_flags(&c->fv), 0);
	/* the race: buffers published before re-enabling */
	vq_disable_notify(&c->vq);
	fv_add_chain(&c->fv, b, 1);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	fv_add_chain(&c->fv, b, 1);
	assert_true(vq_enable_notify(&c->vq));
	assert_int_equal(fv_avail_event(&c->fv), 3);
}

static void test_event_idx_notify(void **state)
{
	struct ctx *c = start(16, F_EVENT);
	(void)state;
	assert_false(vq_should_notify(&c->vq));
	/* the first publication is always signalled (no previous index) */
	fv_set_used_event(&c->fv, 100);
	cycle(c, 1);
	assert_true(vq_should_notify(&c->vq));
	assert_int_equal(c->vq.signalled_used, 1);
	/* used_event = 3: interrupt once element 3 is published (idx -> 4) */
	fv_set_used_event(&c->fv, 3);
	cycle(c, 1); /* idx 2 */
	assert_false(vq_should_notify(&c->vq));
	cycle(c, 1); /* idx 3 */
	assert_false(vq_should_notify(&c->vq));
	cycle(c, 1); /* idx 4 */
	assert_true(vq_should_notify(&c->vq));
	assert_false(vq_should_notify(&c->vq));
	/* "old" moves on a false answer too: used_event = 6, idx 5 -> no;
	 * then the driver moves used_event back to 4, already published at
	 * the last check, so idx 6 owes nothing */
	fv_set_used_event(&c->fv, 6);
	cycle(c, 1);
	assert_false(vq_should_notify(&c->vq));
	assert_int_equal(c->vq.signalled_used, 5);
	fv_set_used_event(&c->fv, 4);
	cycle(c, 1);
	assert_false(vq_should_notify(&c->vq));
	/* a batch crossing used_event */
	fv_set_used_event(&c->fv, 7);
	cycle(c, 3); /* 6 -> 9 */
	assert_true(vq_should_notify(&c->vq));
	/* NO_INTERRUPT is not looked at with EVENT_IDX */
	fv_set_avail_flags(&c->fv, VRING_AVAIL_F_NO_INTERRUPT);
	fv_set_used_event(&c->fv, 9);
	cycle(c, 1);
	assert_true(vq_should_notify(&c->vq));
}

static void test_event_idx_wrap(void **state)
{
	struct ctx *c = start(16, F_EVENT);
	const struct fv_buf b[] = {W(DATA, 8)};
	uint16_t heads[20];
	uint32_t id, len;
	(void)state;
	cycle(c, 0xfff0);
	assert_int_equal(c->vq.last_avail, 0xfff0);
	assert_int_equal(c->vq.used_idx, 0xfff0);
	assert_int_equal(fv_used_idx(&c->fv), 0xfff0);
	assert_true(vq_should_notify(&c->vq));
	assert_int_equal(c->vq.signalled_used, 0xfff0);

	fv_set_used_event(&c->fv, 0xfffe);
	for (int i = 0; i < 8; i++)
		heads[i] = fv_add_chain(&c->fv, b, 1);
	assert_int_equal(vq_avail_count(&c->vq), 8);
	assert_true(vq_enable_notify(&c->vq));
	assert_int_equal(fv_avail_event(&c->fv), 0xfff0);
	for (int i = 0; i < 5; i++)
		roundtrip(c);
	assert_int_equal(fv_used_idx(&c->fv), 0xfff5);
	assert_false(vq_should_notify(&c->vq)); /* 0xfffe not in [0xfff0, 0xfff5) */

	/* the driver's index wraps to 0 */
	for (int i = 8; i < 16; i++)
		heads[i] = fv_add_chain(&c->fv, b, 1);
	assert_int_equal(c->fv.avail_idx, 0);
	assert_int_equal(vq_avail_count(&c->vq), 11);
	for (int i = 5; i < 16; i++) {
		assert_int_equal(vq_pop(&c->vq, &c->e), 1);
		assert_int_equal(c->e.head, heads[i]);
		assert_int_equal(vq_push(&c->vq, c->e.head, (uint32_t)i), 0);
	}
	assert_int_equal(c->vq.last_avail, 0);
	assert_int_equal(c->vq.used_idx, 0);
	vq_flush(&c->vq);
	assert_int_equal(fv_used_idx(&c->fv), 0);
	fv_used_elem(&c->fv, 0xffff, &id, &len);
	assert_int_equal(id, heads[15]);
	assert_int_equal(len, 15);
	fv_used_elem(&c->fv, 0xfff5, &id, &len);
	assert_int_equal(id, heads[5]);
	assert_int_equal(len, 5);
	assert_true(vq_should_notify(&c->vq)); /* 0xfffe in [0xfff5, 0) */
	assert_int_equal(c->vq.signalled_used, 0);
	assert_false(vq_enable_notify(&c->vq));
	assert_int_equal(fv_avail_event(&c->fv), 0);

	/* past the wrap: used_event 2 */
	fv_set_used_event(&c->fv, 2);
	cycle(c, 2);
	assert_false(vq_should_notify(&c->vq));
	cycle(c, 1);
	assert_true(vq_should_notify(&c->vq));
	/* used_event 0xffff: owed once element 0xffff is published (idx 0) */
	cycle(c, 0xfffb);
	assert_int_equal(c->vq.used_idx, 0xfffe);
	fv_set_used_event(&c->fv, 0xfff0);
	assert_true(vq_should_notify(&c->vq)); /* 0xfff0 in [3, 0xfffe) */
	fv_set_used_event(&c->fv, 0xffff);
	cycle(c, 1);
	assert_false(vq_should_notify(&c->vq));
	cycle(c, 1);
	assert_int_equal(c->vq.used_idx, 0);
	assert_true(vq_should_notify(&c->vq));

	/* the avail index check works across the wrap too */
	assert_int_equal(c->vq.last_avail, 0);
	fv_set_avail_idx(&c->fv, (uint16_t)(c->vq.last_avail + 17));
	expect_broken(c, VQ_ERR_AVAIL_IDX);
}

/* ---- a hostile driver: one test per vq_error ---- */

static void test_bad_avail_idx(void **state)
{
	struct ctx *c = start(16, 0);
	(void)state;
	fv_set_avail_idx(&c->fv, 17);
	expect_broken(c, VQ_ERR_AVAIL_IDX);

	/* behind last_avail is as bad; vq_avail_count breaks the queue too */
	c = start(16, 0);
	cycle(c, 2);
	fv_set_avail_idx(&c->fv, 1);
	assert_int_equal(vq_avail_count(&c->vq), 0);
	assert_true(c->vq.broken);
	assert_int_equal(c->vq.error, VQ_ERR_AVAIL_IDX);
	assert_int_equal(c->vq.last_avail, 2);
	/* the driver fixing its index does not un-break the queue */
	fv_set_avail_idx(&c->fv, 2);
	assert_int_equal(vq_pop(&c->vq, &c->e), -EIO);
}

static void test_bad_head(void **state)
{
	struct ctx *c = start(16, 0);
	const struct fv_buf b[] = {R(DATA, 1)};
	(void)state;
	fv_add_chain(&c->fv, b, 1);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	fv_publish(&c->fv, 16);
	expect_broken(c, VQ_ERR_HEAD);
	assert_int_equal(c->vq.last_avail, 1);

	c = start(16, 0);
	fv_publish(&c->fv, 0xffff);
	expect_broken(c, VQ_ERR_HEAD);
}

static void test_bad_next(void **state)
{
	struct ctx *c = start(16, F_INDIR);
	const struct fv_buf t[] = {R(DATA, 1), R(DATA, 1)};
	(void)state;
	fv_set_desc(&c->fv, 0, DATA, 1, VRING_DESC_F_NEXT, 16);
	fv_publish(&c->fv, 0);
	expect_broken(c, VQ_ERR_NEXT);

	/* in an indirect table, next is bounded by the table's length */
	c = start(16, F_INDIR);
	fv_write_table(&c->gm, TABLE, t, 2);
	fv_write_desc(&c->gm, TABLE + 16, DATA, 1, VRING_DESC_F_NEXT, 2);
	fv_set_desc(&c->fv, 0, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	fv_publish(&c->fv, 0);
	expect_broken(c, VQ_ERR_NEXT);
}

static void test_bad_loop(void **state)
{
	struct ctx *c = start(4, F_INDIR);
	(void)state;
	fv_set_desc(&c->fv, 0, DATA, 1, VRING_DESC_F_NEXT, 1);
	fv_set_desc(&c->fv, 1, DATA, 1, VRING_DESC_F_NEXT, 0);
	fv_publish(&c->fv, 1);
	expect_broken(c, VQ_ERR_LOOP);

	c = start(4, F_INDIR);
	fv_set_desc(&c->fv, 3, DATA, 1, VRING_DESC_F_NEXT, 3);
	fv_publish(&c->fv, 3);
	expect_broken(c, VQ_ERR_LOOP);

	/* a loop inside an indirect table (longer than the queue) */
	c = start(4, F_INDIR);
	for (uint16_t i = 0; i < 8; i++)
		fv_write_desc(&c->gm, TABLE + 16 * i, DATA, 1, VRING_DESC_F_NEXT,
			      (uint16_t)((i + 1) % 8));
	fv_set_desc(&c->fv, 0, TABLE, 16 * 8, VRING_DESC_F_INDIRECT, 0);
	fv_publish(&c->fv, 0);
	expect_broken(c, VQ_ERR_LOOP);

	/* the loop is caught right after the table's worth of descriptors:
	 * one more would be iovec VQ_MAX_IOV + 1 (too-many-iov instead) */
	c = start(VQ_MAX_IOV, F_INDIR);
	for (uint16_t i = 0; i < VQ_MAX_IOV; i++)
		fv_set_desc(&c->fv, i, DATA, 1, VRING_DESC_F_NEXT,
			    (uint16_t)((i + 1) % VQ_MAX_IOV));
	fv_publish(&c->fv, 7);
	expect_broken(c, VQ_ERR_LOOP);
	c = start(16, F_INDIR);
	for (uint16_t i = 0; i < VQ_MAX_IOV; i++)
		fv_write_desc(&c->gm, TABLE + 16 * i, DATA, 1, VRING_DESC_F_NEXT,
			      (uint16_t)((i + 1) % VQ_MAX_IOV));
	fv_set_desc(&c->fv, 0, TABLE, 16 * VQ_MAX_IOV, VRING_DESC_F_INDIRECT, 0);
	fv_publish(&c->fv, 0);
	expect_broken(c, VQ_ERR_LOOP);
}

static void test_bad_zero_len(void **state)
{
	struct ctx *c = start(16, F_INDIR);
	const struct fv_buf b[] = {R(DATA, 1), W(DATA, 0)};
	const struct fv_buf t[] = {R(DATA, 0)};
	(void)state;
	fv_add_chain(&c->fv, b, 2);
	expect_broken(c, VQ_ERR_ZERO_LEN);

	c = start(16, F_INDIR);
	fv_add_indirect(&c->fv, TABLE, t, 1);
	expect_broken(c, VQ_ERR_ZERO_LEN);
}

static void test_bad_order(void **state)
{
	struct ctx *c = start(16, F_INDIR);
	const struct fv_buf b[] = {R(DATA, 1), W(DATA, 1), R(DATA, 1)};
	const struct fv_buf t[] = {R(DATA, 1)};
	(void)state;
	fv_add_chain(&c->fv, b, 3);
	expect_broken(c, VQ_ERR_ORDER);

	/* writable in the main table, readable in the indirect table after it */
	c = start(16, F_INDIR);
	fv_write_table(&c->gm, TABLE, t, 1);
	fv_set_desc(&c->fv, 0, DATA, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	fv_set_desc(&c->fv, 1, TABLE, 16, VRING_DESC_F_INDIRECT, 0);
	fv_publish(&c->fv, 0);
	expect_broken(c, VQ_ERR_ORDER);
}

static void test_bad_addr(void **state)
{
	const struct fv_buf past_end[] = {R(DATA, 1), R(RAM_END - 0x10, 0x11)};
	const struct fv_buf in_gap[] = {W(0x28000, 1)};
	const struct fv_buf wraps[] = {R(UINT64_MAX - 0xf, 0x20)};
	const struct fv_buf t[] = {W(GAP_GPA + 0xff0, 0x11)};
	struct ctx *c = start(16, F_INDIR);
	(void)state;
	fv_add_chain(&c->fv, past_end, 2);
	expect_broken(c, VQ_ERR_ADDR);

	c = start(16, F_INDIR);
	gap_setup(c);
	fv_add_chain(&c->fv, in_gap, 1);
	expect_broken(c, VQ_ERR_ADDR);

	c = start(16, F_INDIR);
	fv_add_chain(&c->fv, wraps, 1);
	expect_broken(c, VQ_ERR_ADDR);

	/* a buffer in an indirect table past the end of the last region */
	c = start(16, F_INDIR);
	gap_setup(c);
	fv_add_indirect(&c->fv, TABLE, t, 1);
	expect_broken(c, VQ_ERR_ADDR);
}

static void test_bad_too_big(void **state)
{
	const struct fv_buf rd[] = {R(DATA, 0x100), W(DATA, 1), W(DATA, 0xffffffff)};
	const struct fv_buf wr[] = {R(DATA, 0x100), R(DATA, 0xffffff00), W(DATA, 1)};
	struct ctx *c = start(16, 0);
	(void)state;
	/* writable total 0x1_0000_0000 */
	fv_add_chain(&c->fv, rd, 3);
	expect_broken(c, VQ_ERR_TOO_BIG);

	/* readable total 0x1_0000_0000; checked before the (absurd) range */
	c = start(16, 0);
	fv_add_chain(&c->fv, wr, 3);
	expect_broken(c, VQ_ERR_TOO_BIG);
}

static void test_bad_too_many_iov(void **state)
{
	static struct fv_buf b[VQ_MAX_IOV + 1];
	struct ctx *c = start(512, F_INDIR);
	(void)state;
	for (int i = 0; i <= VQ_MAX_IOV; i++)
		b[i] = R(DATA + (uint64_t)i, 1);
	/* exactly VQ_MAX_IOV fit */
	fv_add_chain(&c->fv, b, VQ_MAX_IOV);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->e.out_num, VQ_MAX_IOV);
	assert_ptr_equal(c->e.iov[VQ_MAX_IOV - 1].iov_base, ram0 + DATA + VQ_MAX_IOV - 1);
	fv_add_chain(&c->fv, b, VQ_MAX_IOV + 1);
	expect_broken(c, VQ_ERR_TOO_MANY_IOV);

	/* the last buffer needs two iovecs (region boundary) but one is left */
	c = start(512, F_INDIR);
	b[VQ_MAX_IOV - 1] = W(0xfff0, 0x20);
	fv_add_chain(&c->fv, b, VQ_MAX_IOV);
	expect_broken(c, VQ_ERR_TOO_MANY_IOV);

	/* the same through an indirect table */
	c = start(16, F_INDIR);
	b[VQ_MAX_IOV - 1] = R(DATA + VQ_MAX_IOV - 1, 1);
	fv_add_indirect(&c->fv, TABLE, b, VQ_MAX_IOV + 1);
	expect_broken(c, VQ_ERR_TOO_MANY_IOV);
}

static void test_bad_indirect_feature(void **state)
{
	struct ctx *c = start(16, 0);
	const struct fv_buf t[] = {R(DATA, 1)};
	(void)state;
	fv_add_indirect(&c->fv, TABLE, t, 1);
	expect_broken(c, VQ_ERR_INDIRECT_FEATURE);
}

static void test_bad_indirect_len(void **state)
{
	const uint32_t bad[] = {0, 8, 24, 16 * (VQ_MAX_SIZE + 1), 0xfffffff0};
	struct ctx *c;
	(void)state;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = start(16, F_INDIR);
		fv_set_desc(&c->fv, 0, TABLE, bad[i], VRING_DESC_F_INDIRECT, 0);
		fv_publish(&c->fv, 0);
		expect_broken(c, VQ_ERR_INDIRECT_LEN);
	}
	/* VQ_MAX_SIZE entries is a legal length; this RAM cannot hold it */
	c = start(16, F_INDIR);
	fv_set_desc(&c->fv, 0, TABLE, 16 * VQ_MAX_SIZE, VRING_DESC_F_INDIRECT, 0);
	fv_publish(&c->fv, 0);
	expect_broken(c, VQ_ERR_INDIRECT_ADDR);
}

static void test_bad_indirect_nested(void **state)
{
	struct ctx *c = start(16, F_INDIR);
	(void)state;
	fv_write_desc(&c->gm, TABLE, DATA, 1, VRING_DESC_F_NEXT, 1);
	fv_write_desc(&c->gm, TABLE + 16, TABLE + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
	fv_write_desc(&c->gm, TABLE + 0x100, DATA, 1, 0, 0);
	fv_set_desc(&c->fv, 0, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	fv_publish(&c->fv, 0);
	expect_broken(c, VQ_ERR_INDIRECT_NESTED);
}

static void test_bad_indirect_next(void **state)
{
	struct ctx *c = start(16, F_INDIR);
	const struct fv_buf t[] = {R(DATA, 1)};
	(void)state;
	fv_write_table(&c->gm, TABLE, t, 1);
	fv_set_desc(&c->fv, 0, TABLE, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	fv_set_desc(&c->fv, 1, DATA, 1, 0, 0);
	fv_publish(&c->fv, 0);
	expect_broken(c, VQ_ERR_INDIRECT_NEXT);
}

static void test_bad_indirect_addr(void **state)
{
	const uint64_t bad[] = {RAM_END - 16, RAM_END, UINT64_MAX - 15, GAP_GPA + 0x1000 - 16};
	struct ctx *c;
	(void)state;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = start(16, F_INDIR);
		gap_setup(c);
		/* two entries: the first is RAM (except at RAM_END), the
		 * second is not; the chain never reaches the second */
		if (bad[i] == RAM_END - 16 || bad[i] == GAP_GPA + 0x1000 - 16)
			fv_write_desc(&c->gm, bad[i], DATA, 1, 0, 0);
		fv_set_desc(&c->fv, 0, bad[i], 32, VRING_DESC_F_INDIRECT, 0);
		fv_publish(&c->fv, 0);
		expect_broken(c, VQ_ERR_INDIRECT_ADDR);
	}
}

/* ---- error bookkeeping ---- */

static void test_first_error_kept(void **state)
{
	struct ctx *c = start(16, 0);
	const struct fv_buf b[] = {R(DATA, 1)};
	(void)state;
	fv_publish(&c->fv, 99);
	expect_broken(c, VQ_ERR_HEAD);
	assert_int_equal(vq_push(&c->vq, 99, 0), -EINVAL);
	assert_int_equal(c->vq.error, VQ_ERR_HEAD);
	/* a good chain published afterwards is not served either */
	fv_add_chain(&c->fv, b, 1);
	assert_int_equal(vq_pop(&c->vq, &c->e), -EIO);
	assert_int_equal(c->vq.error, VQ_ERR_HEAD);
}

static void test_reset(void **state)
{
	struct ctx *c = start(16, F_EVENT);
	(void)state;
	cycle(c, 2);
	fv_publish(&c->fv, 77);
	expect_broken(c, VQ_ERR_HEAD);
	vq_reset(&c->vq);
	assert_int_equal(c->vq.size, 0);
	assert_false(c->vq.broken);
	assert_int_equal(c->vq.error, VQ_OK);
	assert_int_equal(c->vq.last_avail, 0);
	assert_int_equal(c->vq.used_idx, 0);
	assert_false(c->vq.signalled_used_valid);
	assert_false(c->vq.event_idx);
	assert_int_equal(vq_pop(&c->vq, &c->e), 0);
	/* the driver lays out a fresh ring, as after a device reset */
	fv_init(&c->fv, &c->gm, 16, DESC, AVAIL, USED);
	assert_int_equal(vq_setup(&c->vq, &c->gm, 16, DESC, AVAIL, USED, 0), 0);
	cycle(c, 1);
	assert_int_equal(fv_used_idx(&c->fv), 1);
}

/* ---- giving chains back ---- */

static void test_unpop(void **state)
{
	struct ctx *c = start(8, 0);
	const struct fv_buf b0[] = {W(DATA, 10)};
	const struct fv_buf b1[] = {W(DATA + 0x100, 20)};
	const struct fv_buf b2[] = {W(DATA + 0x200, 30)};
	uint16_t h0, h1, h2;
	(void)state;
	h0 = fv_add_chain(&c->fv, b0, 1);
	h1 = fv_add_chain(&c->fv, b1, 1);
	h2 = fv_add_chain(&c->fv, b2, 1);
	assert_int_equal(c->vq.popped, 0);
	/* nothing popped: nothing to give back */
	assert_int_equal(vq_unpop(&c->vq, 1), -EINVAL);
	assert_int_equal(vq_unpop(&c->vq, 0), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->vq.popped, 3);
	assert_int_equal(vq_avail_count(&c->vq), 0);
	/* more than popped: refused, nothing changes */
	assert_int_equal(vq_unpop(&c->vq, 4), -EINVAL);
	assert_int_equal(c->vq.last_avail, 3);
	/* the last two come back, in order, and are popped again */
	assert_int_equal(vq_unpop(&c->vq, 2), 0);
	assert_int_equal(c->vq.last_avail, 1);
	assert_int_equal(c->vq.popped, 1);
	assert_int_equal(vq_avail_count(&c->vq), 2);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->e.head, h1);
	assert_int_equal(c->e.in_len, 20);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->e.head, h2);
	assert_int_equal(c->e.in_len, 30);
	assert_int_equal(vq_pop(&c->vq, &c->e), 0);
	/* push the first, give back the other two: used ring untouched by it */
	assert_int_equal(vq_push(&c->vq, h0, 10), 0);
	assert_int_equal(vq_unpop(&c->vq, 2), 0);
	vq_flush(&c->vq);
	assert_int_equal(fv_used_idx(&c->fv), 1);
	assert_int_equal(c->vq.popped, 0);
	/* after a flush, what was popped before it cannot come back */
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->e.head, h1);
	vq_flush(&c->vq);
	assert_int_equal(vq_unpop(&c->vq, 1), -EINVAL);
	assert_int_equal(c->vq.last_avail, 2);
}

/* Across the 16-bit wrap of last_avail, and the count capped at size. */
static void test_unpop_wrap_and_cap(void **state)
{
	struct ctx *c = start(4, 0);
	const struct fv_buf b[] = {W(DATA, 8)};
	uint16_t h;
	(void)state;
	cycle(c, 0xffff);
	assert_int_equal(c->vq.last_avail, 0xffff);
	h = fv_add_chain(&c->fv, b, 1);
	fv_add_chain(&c->fv, b, 1);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->vq.last_avail, 1);
	assert_int_equal(vq_unpop(&c->vq, 2), 0);
	assert_int_equal(c->vq.last_avail, 0xffff);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(c->e.head, h);
	vq_push(&c->vq, c->e.head, 0);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	vq_push(&c->vq, c->e.head, 0);
	vq_flush(&c->vq);
	/* a driver re-publishing one head: more pops than entries before a
	 * flush; only the last `size` can be given back */
	for (int i = 0; i < 6; i++) {
		fv_publish(&c->fv, h);
		assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	}
	assert_int_equal(c->vq.popped, 4);
	assert_int_equal(vq_unpop(&c->vq, 5), -EINVAL);
	assert_int_equal(vq_unpop(&c->vq, 4), 0);
	assert_int_equal(vq_avail_count(&c->vq), 4);
}

static void test_enable_notify_after(void **state)
{
	struct ctx *c = start(16, F_EVENT);
	const struct fv_buf b[] = {W(DATA, 8)};
	(void)state;
	cycle(c, 5);
	fv_add_chain(&c->fv, b, 1);
	fv_add_chain(&c->fv, b, 1);
	/* two seen, not enough: kick when the third is published */
	assert_false(vq_enable_notify_after(&c->vq, 2));
	assert_int_equal(fv_avail_event(&c->fv), 7);
	assert_int_equal(c->vq.last_avail, 5);
	/* with EVENT_IDX the driver kicks iff avail_event lies in [old, new) */
	assert_false(vring_need_event(fv_avail_event(&c->fv), 7, 6));
	fv_add_chain(&c->fv, b, 1);
	assert_true(vring_need_event(fv_avail_event(&c->fv), 8, 7));
	/* more than seen already: the caller looks again */
	assert_true(vq_enable_notify_after(&c->vq, 2));
	assert_false(vq_enable_notify_after(&c->vq, 3));
	assert_int_equal(fv_avail_event(&c->fv), 8);
	/* n = 0 is vq_enable_notify */
	assert_true(vq_enable_notify_after(&c->vq, 0));
	assert_int_equal(fv_avail_event(&c->fv), 5);

	/* flags mode: NO_NOTIFY cleared, same answer */
	c = start(16, 0);
	fv_add_chain(&c->fv, b, 1);
	vq_disable_notify(&c->vq);
	assert_int_equal(fv_used_flags(&c->fv), VRING_USED_F_NO_NOTIFY);
	assert_false(vq_enable_notify_after(&c->vq, 1));
	assert_int_equal(fv_used_flags(&c->fv), 0);
	assert_true(vq_enable_notify_after(&c->vq, 0));
	/* a broken queue never asks for more */
	fv_publish(&c->fv, 99);
	assert_int_equal(vq_pop(&c->vq, &c->e), 1);
	assert_int_equal(vq_pop(&c->vq, &c->e), -EIO);
	assert_false(vq_enable_notify_after(&c->vq, 0));
}

static void test_error_names(void **state)
{
	(void)state;
	assert_string_equal(vq_error_name(VQ_OK), "ok");
	assert_string_equal(vq_error_name(VQ_ERR_AVAIL_IDX), "avail-idx");
	assert_string_equal(vq_error_name(VQ_ERR_LOOP), "loop");
	assert_string_equal(vq_error_name(VQ_ERR_INDIRECT_NESTED), "indirect-nested");
	assert_string_equal(vq_error_name(VQ_ERR_USED_HEAD), "used-head");
	assert_string_equal(vq_error_name(VQ_ERR_COUNT), "unknown");
	assert_string_equal(vq_error_name((enum vq_error) - 1), "unknown");
	for (int i = 0; i < VQ_ERR_COUNT; i++) {
		assert_string_not_equal(vq_error_name((enum vq_error)i), "unknown");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(vq_error_name((enum vq_error)i),
						vq_error_name((enum vq_error)j));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_setup_ok),
	    cmocka_unit_test(test_setup_bad_size),
	    cmocka_unit_test(test_setup_max_size),
	    cmocka_unit_test(test_setup_misaligned),
	    cmocka_unit_test(test_setup_outside_ram),
	    cmocka_unit_test(test_not_set_up),
	    cmocka_unit_test(test_pop_empty),
	    cmocka_unit_test(test_pop_chain),
	    cmocka_unit_test(test_pop_region_split),
	    cmocka_unit_test(test_chain_as_long_as_table),
	    cmocka_unit_test(test_ring_full),
	    cmocka_unit_test(test_indirect),
	    cmocka_unit_test(test_indirect_after_direct),
	    cmocka_unit_test(test_indirect_write_flag_ignored),
	    cmocka_unit_test(test_indirect_across_regions),
	    cmocka_unit_test(test_indirect_table_larger_than_queue),
	    cmocka_unit_test(test_push_flush),
	    cmocka_unit_test(test_push_bad_head),
	    cmocka_unit_test(test_notify_flags),
	    cmocka_unit_test(test_disable_enable_flags),
	    cmocka_unit_test(test_event_idx_enable),
	    cmocka_unit_test(test_event_idx_notify),
	    cmocka_unit_test(test_event_idx_wrap),
	    cmocka_unit_test(test_bad_avail_idx),
	    cmocka_unit_test(test_bad_head),
	    cmocka_unit_test(test_bad_next),
	    cmocka_unit_test(test_bad_loop),
	    cmocka_unit_test(test_bad_zero_len),
	    cmocka_unit_test(test_bad_order),
	    cmocka_unit_test(test_bad_addr),
	    cmocka_unit_test(test_bad_too_big),
	    cmocka_unit_test(test_bad_too_many_iov),
	    cmocka_unit_test(test_bad_indirect_feature),
	    cmocka_unit_test(test_bad_indirect_len),
	    cmocka_unit_test(test_bad_indirect_nested),
	    cmocka_unit_test(test_bad_indirect_next),
	    cmocka_unit_test(test_bad_indirect_addr),
	    cmocka_unit_test(test_first_error_kept),
	    cmocka_unit_test(test_reset),
	    cmocka_unit_test(test_unpop),
	    cmocka_unit_test(test_unpop_wrap_and_cap),
	    cmocka_unit_test(test_enable_notify_after),
	    cmocka_unit_test(test_error_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
