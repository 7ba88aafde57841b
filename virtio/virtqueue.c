/* Split virtqueue, device side: ring access through validated host
 * pointers, chain validation against a hostile driver, and notification
 * suppression (flags or EVENT_IDX).  See virtqueue.h. */
#include "virtio/virtqueue.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <linux/virtio_ring.h>

/* Byte offsets inside the rings (little-endian fields, as on the host). */
#define AVAIL_FLAGS 0
#define AVAIL_IDX   2
#define AVAIL_RING  4 /* u16 ring[size], then u16 used_event */
#define USED_FLAGS  0
#define USED_IDX    2
#define USED_RING   4 /* {u32 id, u32 len} ring[size], then u16 avail_event */
#define DESC_SIZE   16

/* One descriptor, copied out of guest memory before any check. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static uint16_t *u16_at(void *base, size_t off)
{
	return (uint16_t *)((uint8_t *)base + off);
}

static uint32_t *u32_at(void *base, size_t off)
{
	return (uint32_t *)((uint8_t *)base + off);
}

static uint64_t *u64_at(void *base, size_t off)
{
	return (uint64_t *)((uint8_t *)base + off);
}

static uint16_t *used_event(const struct vq *vq)
{
	return u16_at(vq->avail, AVAIL_RING + 2 * (size_t)vq->size);
}

static uint16_t *avail_event(const struct vq *vq)
{
	return u16_at(vq->used, USED_RING + 8 * (size_t)vq->size);
}

/* Mark the queue broken, keeping the first reason.  Returns -EIO. */
static int vq_break(struct vq *vq, enum vq_error err)
{
	if (!vq->broken) {
		vq->broken = true;
		vq->error = err;
	}
	return -EIO;
}

void vq_reset(struct vq *vq)
{
	memset(vq, 0, sizeof(*vq));
}

int vq_setup(struct vq *vq, const struct guest_mem *gm, uint16_t size, uint64_t desc_gpa,
	     uint64_t avail_gpa, uint64_t used_gpa, uint64_t features)
{
	void *desc, *avail, *used;

	vq_reset(vq);
	if (size == 0 || (size & (size - 1)) != 0 || size > VQ_MAX_SIZE)
		return -EINVAL;
	if (desc_gpa % VRING_DESC_ALIGN_SIZE || avail_gpa % VRING_AVAIL_ALIGN_SIZE ||
	    used_gpa % VRING_USED_ALIGN_SIZE)
		return -EINVAL;
	desc = gm_ptr(gm, desc_gpa, DESC_SIZE * (uint64_t)size);
	avail = gm_ptr(gm, avail_gpa, 6 + 2 * (uint64_t)size);
	used = gm_ptr(gm, used_gpa, 6 + 8 * (uint64_t)size);
	if (!desc || !avail || !used)
		return -EFAULT;
	/* The ring fields are accessed with atomics, which need the host
	 * addresses aligned as well; real mappings are page aligned, so this
	 * only refuses odd test setups. */
	if ((uintptr_t)desc % VRING_DESC_ALIGN_SIZE || (uintptr_t)avail % VRING_AVAIL_ALIGN_SIZE ||
	    (uintptr_t)used % VRING_USED_ALIGN_SIZE)
		return -EINVAL;
	vq->gm = gm;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->event_idx = (features >> VIRTIO_RING_F_EVENT_IDX) & 1;
	vq->indirect = (features >> VIRTIO_RING_F_INDIRECT_DESC) & 1;
	vq->size = size;
	return 0;
}

/* Chains published and not yet popped, or -EIO if avail->idx ran more than
 * size ahead (the queue breaks). */
static int avail_pending(struct vq *vq)
{
	uint16_t idx, n;

	/* Acquire: pairs with the driver's write barrier between filling the
	 * ring entry and descriptors and publishing avail->idx; the ring and
	 * descriptor loads that follow cannot be satisfied before this one. */
	idx = __atomic_load_n(u16_at(vq->avail, AVAIL_IDX), __ATOMIC_ACQUIRE);
	n = (uint16_t)(idx - vq->last_avail);
	if (n > vq->size)
		return vq_break(vq, VQ_ERR_AVAIL_IDX);
	return n;
}

unsigned int vq_avail_count(struct vq *vq)
{
	int n;

	if (vq->size == 0 || vq->broken)
		return 0;
	n = avail_pending(vq);
	return n < 0 ? 0 : (unsigned int)n;
}

/* Copy descriptor i of the main table, one load per field. */
static void load_desc(const struct vq *vq, uint32_t i, struct desc *d)
{
	size_t off = DESC_SIZE * (size_t)i;

	d->addr = __atomic_load_n(u64_at(vq->desc, off), __ATOMIC_RELAXED);
	d->len = __atomic_load_n(u32_at(vq->desc, off + 8), __ATOMIC_RELAXED);
	d->flags = __atomic_load_n(u16_at(vq->desc, off + 12), __ATOMIC_RELAXED);
	d->next = __atomic_load_n(u16_at(vq->desc, off + 14), __ATOMIC_RELAXED);
}

/* Copy entry i of the indirect table at gpa table (it may span adjacent
 * regions).  Returns 0 or -EFAULT. */
static int load_indirect(const struct vq *vq, uint64_t table, uint32_t i, struct desc *d)
{
	uint8_t raw[DESC_SIZE];

	if (gm_read(vq->gm, table + DESC_SIZE * (uint64_t)i, raw, sizeof(raw)) < 0)
		return -EFAULT;
	memcpy(&d->addr, raw, 8);
	memcpy(&d->len, raw + 8, 4);
	memcpy(&d->flags, raw + 12, 2);
	memcpy(&d->next, raw + 14, 2);
	return 0;
}

/* Whether every byte of [gpa, gpa + len) is guest RAM (regions may be
 * adjacent; a range crosses at most GM_MAX_REGIONS of them). */
static bool in_ram(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	struct iovec iov[GM_MAX_REGIONS];

	return gm_iov(gm, gpa, len, iov, GM_MAX_REGIONS) > 0;
}

/* Check an INDIRECT descriptor found in the main table. */
static enum vq_error check_indirect(const struct vq *vq, const struct desc *d)
{
	if (!vq->indirect)
		return VQ_ERR_INDIRECT_FEATURE;
	if (d->flags & VRING_DESC_F_NEXT)
		return VQ_ERR_INDIRECT_NEXT;
	if (d->len == 0 || d->len % DESC_SIZE || d->len / DESC_SIZE > VQ_MAX_SIZE)
		return VQ_ERR_INDIRECT_LEN;
	if (!in_ram(vq->gm, d->addr, d->len))
		return VQ_ERR_INDIRECT_ADDR;
	return VQ_OK;
}

/* Append the buffer of d to e as iovecs (readable ones before writable). */
static enum vq_error add_buffer(const struct vq *vq, struct vq_elem *e, const struct desc *d)
{
	unsigned int niov = (unsigned int)e->out_num + e->in_num;
	bool write = d->flags & VRING_DESC_F_WRITE;
	uint32_t *total = write ? &e->in_len : &e->out_len;
	int n;

	if (d->len == 0)
		return VQ_ERR_ZERO_LEN;
	if (!write && e->in_num > 0)
		return VQ_ERR_ORDER;
	if (__builtin_add_overflow(*total, d->len, total))
		return VQ_ERR_TOO_BIG;
	n = gm_iov(vq->gm, d->addr, d->len, &e->iov[niov], VQ_MAX_IOV - (int)niov);
	if (n == -E2BIG)
		return VQ_ERR_TOO_MANY_IOV;
	if (n < 0)
		return VQ_ERR_ADDR;
	if (write)
		e->in_num += (uint16_t)n;
	else
		e->out_num += (uint16_t)n;
	return VQ_OK;
}

int vq_pop(struct vq *vq, struct vq_elem *e)
{
	uint32_t idx, count = 0, limit;
	uint64_t table = 0;
	bool indirect = false;
	enum vq_error err;
	struct desc d;
	uint16_t head;
	int n;

	if (vq->broken)
		return -EIO;
	if (vq->size == 0)
		return 0;
	n = avail_pending(vq);
	if (n <= 0)
		return n;
	head = __atomic_load_n(
	    u16_at(vq->avail, AVAIL_RING + 2 * (size_t)(vq->last_avail & (vq->size - 1))),
	    __ATOMIC_RELAXED);
	if (head >= vq->size)
		return vq_break(vq, VQ_ERR_HEAD);
	e->head = head;
	e->out_num = e->in_num = 0;
	e->out_len = e->in_len = 0;

	/* Walk the chain: zero or more main-table descriptors, possibly
	 * ending in one INDIRECT descriptor whose table continues the chain
	 * (it cannot have NEXT, so it is the last of the main part). */
	idx = head;
	limit = vq->size;
	for (;;) {
		if (count == limit)
			return vq_break(vq, VQ_ERR_LOOP);
		if (!indirect)
			load_desc(vq, idx, &d);
		else if (load_indirect(vq, table, idx, &d) < 0) /* checked whole: not expected */
			return vq_break(vq, VQ_ERR_INDIRECT_ADDR);
		count++;
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (indirect)
				return vq_break(vq, VQ_ERR_INDIRECT_NESTED);
			err = check_indirect(vq, &d);
			if (err != VQ_OK)
				return vq_break(vq, err);
			/* The WRITE flag of the INDIRECT descriptor itself
			 * is ignored, as the spec requires. */
			indirect = true;
			table = d.addr;
			limit = d.len / DESC_SIZE;
			idx = 0;
			count = 0;
			continue;
		}
		err = add_buffer(vq, e, &d);
		if (err != VQ_OK)
			return vq_break(vq, err);
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= limit)
			return vq_break(vq, VQ_ERR_NEXT);
		idx = d.next;
	}
	vq->last_avail++;
	if (vq->popped < vq->size)
		vq->popped++;
	return 1;
}

int vq_unpop(struct vq *vq, unsigned int n)
{
	if (n > vq->popped)
		return -EINVAL;
	vq->last_avail = (uint16_t)(vq->last_avail - n);
	vq->popped = (uint16_t)(vq->popped - n);
	return 0;
}

int vq_push(struct vq *vq, uint16_t head, uint32_t len)
{
	size_t off;

	if (head >= vq->size) {
		vq_break(vq, VQ_ERR_USED_HEAD);
		return -EINVAL;
	}
	off = USED_RING + 8 * (size_t)(vq->used_idx & (vq->size - 1));
	/* Plain stores: the release in vq_flush orders them before used->idx. */
	__atomic_store_n(u32_at(vq->used, off), head, __ATOMIC_RELAXED);
	__atomic_store_n(u32_at(vq->used, off + 4), len, __ATOMIC_RELAXED);
	vq->used_idx++;
	return 0;
}

void vq_flush(struct vq *vq)
{
	if (vq->size == 0)
		return;
	/* Release: the used elements written by vq_push become visible before
	 * the new index; pairs with the driver's read barrier between loading
	 * used->idx and reading the elements it covers. */
	__atomic_store_n(u16_at(vq->used, USED_IDX), vq->used_idx, __ATOMIC_RELEASE);
	vq->popped = 0; /* what the driver saw used cannot be given back */
}

bool vq_should_notify(struct vq *vq)
{
	uint16_t old, event;
	bool valid;

	if (vq->size == 0)
		return false;
	/* Full barrier: orders our store of used->idx (vq_flush) before the
	 * loads of used_event / avail->flags below; pairs with the driver's
	 * barrier between updating used_event (or clearing NO_INTERRUPT) and
	 * re-reading used->idx.  Either we see its new request, or it sees
	 * our new index and does not wait for an interrupt. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* signalled_used starts at the initial index, so "nothing published
	 * since the last interrupt (or since setup)" is one comparison. */
	if (vq->used_idx == vq->signalled_used)
		return false;
	if (!vq->event_idx) {
		if (__atomic_load_n(u16_at(vq->avail, AVAIL_FLAGS), __ATOMIC_RELAXED) &
		    VRING_AVAIL_F_NO_INTERRUPT)
			return false;
		vq->signalled_used = vq->used_idx;
		vq->signalled_used_valid = true;
		return true;
	}
	/* EVENT_IDX: interrupt iff used_event lies in [old, new), the indices
	 * published since the previous check, modulo 2^16.  old moves on
	 * even when we decide not to interrupt: the driver re-checks
	 * used->idx after moving used_event, so entries already published at
	 * a check are never owed an interrupt later. */
	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	vq->signalled_used = vq->used_idx;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	event = __atomic_load_n(used_event(vq), __ATOMIC_RELAXED);
	return vring_need_event(event, vq->used_idx, old);
}

void vq_disable_notify(struct vq *vq)
{
	uint16_t *flags;

	if (vq->size == 0 || vq->event_idx)
		return; /* EVENT_IDX: avail_event simply stays behind */
	flags = u16_at(vq->used, USED_FLAGS);
	__atomic_store_n(
	    flags, (uint16_t)(__atomic_load_n(flags, __ATOMIC_RELAXED) | VRING_USED_F_NO_NOTIFY),
	    __ATOMIC_RELAXED);
}

bool vq_enable_notify_after(struct vq *vq, unsigned int n)
{
	uint16_t *flags;

	if (vq->size == 0 || vq->broken)
		return false;
	if (vq->event_idx) {
		/* "kick when you publish entry last_avail + n", i.e. the first
		 * one past those the caller already saw */
		__atomic_store_n(avail_event(vq), (uint16_t)(vq->last_avail + n), __ATOMIC_RELAXED);
	} else {
		flags = u16_at(vq->used, USED_FLAGS);
		__atomic_store_n(
		    flags,
		    (uint16_t)(__atomic_load_n(flags, __ATOMIC_RELAXED) & ~VRING_USED_F_NO_NOTIFY),
		    __ATOMIC_RELAXED);
	}
	/* Full barrier: the store above must be visible before we re-read
	 * avail->idx; pairs with the driver's barrier between writing
	 * avail->idx and reading avail_event / used->flags.  Either it sees
	 * the request and kicks, or we see its buffers here. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vq_avail_count(vq) > n;
}

bool vq_enable_notify(struct vq *vq)
{
	return vq_enable_notify_after(vq, 0);
}

const char *vq_error_name(enum vq_error e)
{
	static const char *const names[VQ_ERR_COUNT] = {
	    [VQ_OK] = "ok",
	    [VQ_ERR_AVAIL_IDX] = "avail-idx",
	    [VQ_ERR_HEAD] = "head",
	    [VQ_ERR_NEXT] = "next",
	    [VQ_ERR_LOOP] = "loop",
	    [VQ_ERR_ZERO_LEN] = "zero-len",
	    [VQ_ERR_ORDER] = "order",
	    [VQ_ERR_ADDR] = "addr",
	    [VQ_ERR_TOO_BIG] = "too-big",
	    [VQ_ERR_TOO_MANY_IOV] = "too-many-iov",
	    [VQ_ERR_INDIRECT_FEATURE] = "indirect-feature",
	    [VQ_ERR_INDIRECT_LEN] = "indirect-len",
	    [VQ_ERR_INDIRECT_NESTED] = "indirect-nested",
	    [VQ_ERR_INDIRECT_NEXT] = "indirect-next",
	    [VQ_ERR_INDIRECT_ADDR] = "indirect-addr",
	    [VQ_ERR_USED_HEAD] = "used-head",
	};

	if ((unsigned int)e >= VQ_ERR_COUNT || !names[e])
		return "unknown";
	return names[e];
}
