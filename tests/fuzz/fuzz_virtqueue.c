/* libFuzzer target: a hostile driver's split ring against the virtqueue.
 *
 * Guest memory is 64 KiB in three regions: A [0, 0x8000) and B
 * [0x8000, 0xc000) adjacent (buffers and indirect tables may span them),
 * then a gap, then C [0xd000, 0x10000).  Rings sit at fixed addresses:
 * avail at 0, descriptors at 0x200, used at 0x7800.
 *
 * Input: an 8-byte header, then an image of guest memory from gpa 0.
 *   [0]    ring size = 1 << (b % 8), 1..128
 *   [1]    bit 0 INDIRECT_DESC, bit 1 EVENT_IDX, bit 2 start with a valid
 *          signalled index
 *   [2..3] starting ring index s (little endian): both sides start at s,
 *          so the 16-bit wrap is reachable; avail->idx and used_event in
 *          the image are taken relative to s
 *   [4]    bits 0-1 what vq_push reports written (in_len, 0, in_len / 2,
 *          in_len + 1), bits 2-3 flush and check notification every
 *          1, 2, 4 or 8 elements, bits 4-6 rounds in which the fake driver
 *          publishes more entries, bit 7 a final push of a bad head
 *   [5]    entries published per extra round
 *   [6]    bit 0 write a pattern into writable buffers (which may be the
 *          rings themselves)
 *   [7]    reserved
 * The device loop runs until the ring is empty or broken, checking that
 * every iovec lies inside one RAM region and that the lengths add up. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fake_vring.h"
#include "virtio/virtqueue.h"

#define MEM_SIZE  0x10000
#define AVAIL_GPA 0x0000
#define DESC_GPA  0x0200
#define USED_GPA  0x7800
#define HEADER	  8
#define MAX_ITERS 4096

/* An invariant of the virtqueue failed: crash so libFuzzer keeps the input. */
#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static uint8_t mem[MEM_SIZE] __attribute__((aligned(4096)));

static void map(struct guest_mem *gm)
{
	gm_init(gm);
	CHECK(gm_region_add(gm, 0x0000, 0x8000, mem) == 0);
	CHECK(gm_region_add(gm, 0x8000, 0x4000, mem + 0x8000) == 0);
	CHECK(gm_region_add(gm, 0xd000, 0x3000, mem + 0xd000) == 0);
}

/* Whether [p, p + len) lies inside the host range of one region. */
static bool in_one_region(const struct guest_mem *gm, const void *p, size_t len)
{
	uintptr_t b = (uintptr_t)p;

	for (unsigned int i = 0; i < gm->nr; i++) {
		uintptr_t h = (uintptr_t)gm->regions[i].hva;
		if (b >= h && b - h < gm->regions[i].size && len <= gm->regions[i].size - (b - h))
			return true;
	}
	return false;
}

static void check_elem(const struct vq *vq, const struct vq_elem *e)
{
	uint64_t out = 0, in = 0;

	CHECK(e->head < vq->size);
	CHECK((unsigned int)e->out_num + e->in_num <= VQ_MAX_IOV);
	CHECK(e->out_num + e->in_num > 0);
	for (unsigned int i = 0; i < (unsigned int)e->out_num + e->in_num; i++) {
		CHECK(e->iov[i].iov_len > 0);
		CHECK(in_one_region(vq->gm, e->iov[i].iov_base, e->iov[i].iov_len));
		if (i < e->out_num)
			out += e->iov[i].iov_len;
		else
			in += e->iov[i].iov_len;
	}
	CHECK(out == e->out_len);
	CHECK(in == e->in_len);
}

/* The queue just broke (or was broken): it must stay so, consuming nothing. */
static void check_broken(struct vq *vq, struct vq_elem *e, uint16_t last_avail)
{
	CHECK(vq->broken);
	CHECK(vq->error > VQ_OK && vq->error < VQ_ERR_COUNT);
	CHECK(vq->last_avail == last_avail);
	CHECK(vq_pop(vq, e) == -EIO);
	CHECK(vq_avail_count(vq) == 0);
	CHECK(!vq_enable_notify(vq));
	CHECK(strcmp(vq_error_name(vq->error), "unknown") != 0);
}

static uint32_t written(uint8_t mode, uint32_t in_len)
{
	switch (mode & 3) {
	case 0:
		return in_len;
	case 1:
		return 0;
	case 2:
		return in_len / 2;
	default:
		return in_len + 1; /* a device bug the driver must cope with */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct vq_elem e;
	struct guest_mem gm;
	struct vq vq;
	struct fv fv;
	uint16_t size, start, last;
	uint8_t flags, policy, per_round, opts;
	unsigned int rounds, every, served = 0;
	uint64_t features = 0;
	int r = 0;

	if (len < HEADER)
		return 0;
	size = (uint16_t)(1u << (data[0] % 8));
	flags = data[1];
	start = (uint16_t)(data[2] | data[3] << 8);
	policy = data[4];
	per_round = data[5];
	opts = data[6];
	rounds = (policy >> 4) & 7;
	every = 1u << ((policy >> 2) & 3);
	if (flags & 1)
		features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (flags & 2)
		features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;

	memset(mem, 0, sizeof(mem));
	len -= HEADER;
	memcpy(mem, data + HEADER, len < MEM_SIZE ? len : MEM_SIZE);
	map(&gm);

	/* The fake driver's view: only its indices are used (rounds). */
	fv.gm = &gm;
	fv.size = size;
	fv.desc = DESC_GPA;
	fv.avail = AVAIL_GPA;
	fv.used = USED_GPA;
	fv.next_desc = 0;
	/* avail->idx and used_event are relative to the starting index */
	fv.avail_idx = (uint16_t)(start + fv_get16(&gm, AVAIL_GPA + 2));
	fv_set_avail_idx(&fv, fv.avail_idx);
	fv_set_used_event(&fv, (uint16_t)(start + fv_get16(&gm, AVAIL_GPA + 4 + 2 * size)));

	CHECK(vq_setup(&vq, &gm, size, DESC_GPA, AVAIL_GPA, USED_GPA, features) == 0);
	vq.last_avail = vq.used_idx = vq.signalled_used = start;
	vq.signalled_used_valid = flags & 4;

	for (unsigned int iter = 0; iter < MAX_ITERS; iter++) {
		last = vq.last_avail;
		r = vq_pop(&vq, &e);
		if (r < 0) {
			CHECK(r == -EIO);
			check_broken(&vq, &e, last);
			break;
		}
		if (r == 0) {
			CHECK(vq.last_avail == last);
			CHECK(vq_avail_count(&vq) == 0);
			vq_flush(&vq);
			(void)vq_should_notify(&vq);
			if (vq_enable_notify(&vq))
				continue; /* our own writes published more */
			if (vq.broken || rounds == 0)
				break;
			/* the driver publishes more of whatever the ring holds */
			rounds--;
			vq_disable_notify(&vq);
			fv.avail_idx = (uint16_t)(vq.last_avail + per_round % (size + 1));
			fv_set_avail_idx(&fv, fv.avail_idx);
			continue;
		}
		CHECK(r == 1);
		CHECK(vq.last_avail == (uint16_t)(last + 1));
		check_elem(&vq, &e);
		if (opts & 1) {
			for (unsigned int i = e.out_num; i < (unsigned int)e.out_num + e.in_num;
			     i++)
				memset(e.iov[i].iov_base, 0xa5 ^ (int)i, e.iov[i].iov_len);
		}
		CHECK(vq_push(&vq, e.head, written(policy, e.in_len)) == 0);
		served++;
		if (served % every == 0) {
			vq_flush(&vq);
			(void)vq_should_notify(&vq);
			/* a second look never finds anything new */
			CHECK(!vq_should_notify(&vq));
		}
	}
	vq_flush(&vq);
	CHECK(fv_used_idx(&fv) == vq.used_idx);
	(void)vq_should_notify(&vq);
	CHECK(!vq_should_notify(&vq));
	if (policy & 0x80) {
		enum vq_error before = vq.error;
		CHECK(vq_push(&vq, size, 0) == -EINVAL);
		CHECK(vq.broken);
		CHECK(vq.error == (before == VQ_OK ? VQ_ERR_USED_HEAD : before));
	}
	return 0;
}
