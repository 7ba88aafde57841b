/* A fake virtio driver for unit tests, fuzzers and device tests: lays a
 * split ring out in guest memory and adds chains the way a driver does.
 * Everything goes through gm_read/gm_write, so rings, buffers and indirect
 * tables may span adjacent regions.  Plain C (no cmocka): a guest address
 * outside RAM is a bug in the test itself and aborts. */
#ifndef KVMLAB_TESTS_FAKE_VRING_H
#define KVMLAB_TESTS_FAKE_VRING_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "mem/guest_mem.h"

struct fv {
	struct guest_mem *gm;
	uint16_t size;
	uint64_t desc, avail, used; /* guest addresses of the three rings */
	uint16_t avail_idx;	    /* driver's avail->idx (published value) */
	uint16_t next_desc;	    /* next descriptor slot handed out, round robin */
};

/* One buffer of a chain: guest address, length, device-writable or not. */
struct fv_buf {
	uint64_t addr;
	uint32_t len;
	bool write;
};

/* Ring sizes in bytes, event fields included. */
static inline uint64_t fv_desc_bytes(uint16_t size)
{
	return 16 * (uint64_t)size;
}

static inline uint64_t fv_avail_bytes(uint16_t size)
{
	return 6 + 2 * (uint64_t)size;
}

static inline uint64_t fv_used_bytes(uint16_t size)
{
	return 6 + 8 * (uint64_t)size;
}

/* Write or read guest memory; aborts if the range is not RAM. */
static inline void fv_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
	if (gm_write(gm, gpa, src, len) < 0)
		abort();
}

static inline void fv_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	if (gm_read(gm, gpa, dst, len) < 0)
		abort();
}

static inline void fv_put16(const struct guest_mem *gm, uint64_t gpa, uint16_t v)
{
	fv_write(gm, gpa, &v, 2);
}

static inline uint16_t fv_get16(const struct guest_mem *gm, uint64_t gpa)
{
	uint16_t v;
	fv_read(gm, gpa, &v, 2);
	return v;
}

/* Fill [gpa, gpa + len) with byte c. */
static inline void fv_fill(const struct guest_mem *gm, uint64_t gpa, int c, uint64_t len)
{
	uint8_t block[256];

	memset(block, c, sizeof(block));
	while (len > 0) {
		uint64_t n = len < sizeof(block) ? len : sizeof(block);
		fv_write(gm, gpa, block, n);
		gpa += n;
		len -= n;
	}
}

/* Lay out an empty ring of size entries at the given addresses (zeroed,
 * indices 0, as after a device reset). */
static inline void fv_init(struct fv *fv, struct guest_mem *gm, uint16_t size, uint64_t desc,
			   uint64_t avail, uint64_t used)
{
	memset(fv, 0, sizeof(*fv));
	fv->gm = gm;
	fv->size = size;
	fv->desc = desc;
	fv->avail = avail;
	fv->used = used;
	fv_fill(gm, desc, 0, fv_desc_bytes(size));
	fv_fill(gm, avail, 0, fv_avail_bytes(size));
	fv_fill(gm, used, 0, fv_used_bytes(size));
}

/* Write one 16-byte descriptor at gpa (main or indirect table). */
static inline void fv_write_desc(const struct guest_mem *gm, uint64_t gpa, uint64_t addr,
				 uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t raw[16];

	memcpy(raw, &addr, 8);
	memcpy(raw + 8, &len, 4);
	memcpy(raw + 12, &flags, 2);
	memcpy(raw + 14, &next, 2);
	fv_write(gm, gpa, raw, sizeof(raw));
}

/* Write descriptor i of the main table. */
static inline void fv_set_desc(struct fv *fv, uint16_t i, uint64_t addr, uint32_t len,
			       uint16_t flags, uint16_t next)
{
	fv_write_desc(fv->gm, fv->desc + 16 * (uint64_t)i, addr, len, flags, next);
}

/* Store avail->idx as is (tests of a misbehaving driver). */
static inline void fv_set_avail_idx(struct fv *fv, uint16_t idx)
{
	fv_put16(fv->gm, fv->avail + 2, idx);
}

/* Put head in the next avail ring slot and publish it.  (A real driver
 * needs a write barrier before the index store; tests are single
 * threaded, and gm_write is a plain copy.) */
static inline void fv_publish(struct fv *fv, uint16_t head)
{
	fv_put16(fv->gm, fv->avail + 4 + 2 * (uint64_t)(fv->avail_idx % fv->size), head);
	fv->avail_idx++;
	fv_set_avail_idx(fv, fv->avail_idx);
}

/* Write n linked descriptors for bufs into the main table starting at the
 * next free slot (slots wrap round robin; n <= size).  Returns the head;
 * the chain is not published. */
static inline uint16_t fv_write_chain(struct fv *fv, const struct fv_buf *bufs, unsigned int n)
{
	uint16_t head = fv->next_desc;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t slot = fv->next_desc;
		uint16_t next = (uint16_t)((slot + 1) % fv->size);
		uint16_t flags =
		    (bufs[i].write ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0);
		fv_set_desc(fv, slot, bufs[i].addr, bufs[i].len, flags, i + 1 < n ? next : 0);
		fv->next_desc = next;
	}
	return head;
}

/* Write and publish a chain of n buffers.  Returns its head. */
static inline uint16_t fv_add_chain(struct fv *fv, const struct fv_buf *bufs, unsigned int n)
{
	uint16_t head = fv_write_chain(fv, bufs, n);

	fv_publish(fv, head);
	return head;
}

/* Write an indirect table for bufs at table_gpa (entries linked 0, 1, ...). */
static inline void fv_write_table(const struct guest_mem *gm, uint64_t table_gpa,
				  const struct fv_buf *bufs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint16_t flags =
		    (bufs[i].write ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0);
		fv_write_desc(gm, table_gpa + 16 * (uint64_t)i, bufs[i].addr, bufs[i].len, flags,
			      (uint16_t)(i + 1 < n ? i + 1 : 0));
	}
}

/* Write bufs as an indirect table at table_gpa and publish one main-table
 * descriptor pointing at it.  Returns the head. */
static inline uint16_t fv_add_indirect(struct fv *fv, uint64_t table_gpa, const struct fv_buf *bufs,
				       unsigned int n)
{
	uint16_t head = fv->next_desc;

	fv_write_table(fv->gm, table_gpa, bufs, n);
	fv_set_desc(fv, head, table_gpa, 16 * n, VRING_DESC_F_INDIRECT, 0);
	fv->next_desc = (uint16_t)((head + 1) % fv->size);
	fv_publish(fv, head);
	return head;
}

/* Driver-owned notification fields. */
static inline void fv_set_avail_flags(struct fv *fv, uint16_t flags)
{
	fv_put16(fv->gm, fv->avail, flags);
}

static inline void fv_set_used_event(struct fv *fv, uint16_t idx)
{
	fv_put16(fv->gm, fv->avail + 4 + 2 * (uint64_t)fv->size, idx);
}

/* Device-owned fields, as the driver sees them. */
static inline uint16_t fv_used_flags(const struct fv *fv)
{
	return fv_get16(fv->gm, fv->used);
}

static inline uint16_t fv_used_idx(const struct fv *fv)
{
	return fv_get16(fv->gm, fv->used + 2);
}

static inline uint16_t fv_avail_event(const struct fv *fv)
{
	return fv_get16(fv->gm, fv->used + 4 + 8 * (uint64_t)fv->size);
}

/* The used element for used index pos ({id, len}). */
static inline void fv_used_elem(const struct fv *fv, uint16_t pos, uint32_t *id, uint32_t *len)
{
	uint64_t gpa = fv->used + 4 + 8 * (uint64_t)(pos % fv->size);

	fv_read(fv->gm, gpa, id, 4);
	fv_read(fv->gm, gpa + 4, len, 4);
}

#endif
