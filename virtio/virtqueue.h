/* The device side of a virtio 1.x split virtqueue over guest memory.
 *
 * Pure: it reads and writes the rings through a struct guest_mem only, so
 * unit tests and fuzzers drive it with a plain buffer.  The guest is
 * hostile: every descriptor is copied out of guest memory before it is
 * checked, every address and length is checked against guest RAM with
 * overflow-checked arithmetic, and any malformed chain makes the queue
 * "broken" (vq_pop returns -EIO from then on) with the reason recorded.
 * The transport turns that into DEVICE_NEEDS_RESET.
 *
 * No allocation: vq_pop fills a caller-owned element whose iovec array has
 * a fixed size.  Typical device loop (one IO thread owns the queue):
 *
 *	for (;;) {
 *		vq_disable_notify(vq);
 *		while ((r = vq_pop(vq, &e)) == 1) {
 *			... serve e.iov ...
 *			vq_push(vq, e.head, written);
 *		}
 *		vq_flush(vq);
 *		if (vq_should_notify(vq)) raise the queue's interrupt;
 *		if (r < 0 || !vq_enable_notify(vq)) break;
 *	}
 */
#ifndef KVMLAB_VIRTIO_VIRTQUEUE_H
#define KVMLAB_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mem/guest_mem.h"

#define VQ_MAX_SIZE 32768 /* the split ring's limit */
/* iovecs per element: a chain may have more descriptors than this only if
 * it is malformed for our devices; a buffer crossing a RAM region boundary
 * takes one iovec per region. */
#define VQ_MAX_IOV 256

/* Why a queue broke (the first reason is kept). */
enum vq_error {
	VQ_OK = 0,
	VQ_ERR_AVAIL_IDX,	 /* avail->idx moved more than size past last_avail */
	VQ_ERR_HEAD,		 /* avail ring entry >= size */
	VQ_ERR_NEXT,		 /* desc.next >= size (or >= indirect table length) */
	VQ_ERR_LOOP,		 /* chain longer than its table: a loop */
	VQ_ERR_ZERO_LEN,	 /* a buffer of length 0 */
	VQ_ERR_ORDER,		 /* device-readable after device-writable */
	VQ_ERR_ADDR,		 /* buffer not wholly inside guest RAM (or wraps) */
	VQ_ERR_TOO_BIG,		 /* chain total length past 2^32-1 */
	VQ_ERR_TOO_MANY_IOV,	 /* more than VQ_MAX_IOV iovecs */
	VQ_ERR_INDIRECT_FEATURE, /* INDIRECT flag without VIRTIO_RING_F_INDIRECT_DESC */
	VQ_ERR_INDIRECT_LEN,	 /* table length 0, not a multiple of 16, or > size*16 */
	VQ_ERR_INDIRECT_NESTED,	 /* INDIRECT inside an indirect table */
	VQ_ERR_INDIRECT_NEXT,	 /* INDIRECT descriptor that also has NEXT */
	VQ_ERR_INDIRECT_ADDR,	 /* indirect table not wholly inside guest RAM */
	VQ_ERR_USED_HEAD,	 /* vq_push with head >= size (a device bug) */
	VQ_ERR_COUNT
};

/* One request: device-readable iovecs first, then device-writable ones. */
struct vq_elem {
	uint16_t head;	  /* chain head; give it back to vq_push */
	uint16_t out_num; /* iov[0, out_num): device-readable ("out" from the driver) */
	uint16_t in_num;  /* iov[out_num, out_num + in_num): device-writable */
	uint32_t out_len; /* bytes in the readable part */
	uint32_t in_len;  /* bytes in the writable part */
	struct iovec iov[VQ_MAX_IOV];
};

struct vq {
	const struct guest_mem *gm;
	uint16_t size;	/* 0: not set up */
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	/* Host views of the rings (validated by vq_setup to lie inside RAM). */
	void *desc;		 /* struct vring_desc[size] */
	void *avail;		 /* flags, idx, ring[size], used_event */
	void *used;		 /* flags, idx, ring[size] of {id, len}, avail_event */
	uint16_t last_avail;	 /* next avail ring position to consume */
	uint16_t used_idx;	 /* next used ring position (pushed, maybe not published) */
	uint16_t signalled_used; /* used idx at the last interrupt we sent */
	bool signalled_used_valid;
	uint16_t popped; /* chains popped since the last vq_flush (at most size):
			  * what vq_unpop may give back */
	bool broken;
	enum vq_error error; /* first reason, VQ_OK while not broken */
};

/* Set up vq over gm for a ring of `size` entries (a power of two in
 * 1..VQ_MAX_SIZE) at the given guest addresses, with the negotiated
 * features (the VIRTIO_RING_F_* bits are looked at).  Alignment as the
 * spec requires: desc 16, avail 2, used 4.  Indices start at 0.
 * Returns 0; -EINVAL for a bad size or misaligned ring; -EFAULT if any
 * ring (desc 16*size, avail 6+2*size, used 6+8*size bytes, the event
 * fields included) is not wholly inside one RAM region.  On failure vq is
 * left not set up (size 0). */
int vq_setup(struct vq *vq, const struct guest_mem *gm, uint16_t size, uint64_t desc_gpa,
	     uint64_t avail_gpa, uint64_t used_gpa, uint64_t features);

/* Forget the ring (size 0, not broken).  Never fails. */
void vq_reset(struct vq *vq);

/* Take the next available chain into e.  Returns 1 with e filled, 0 when
 * the ring is empty, -EIO when the queue is (or just became) broken; in
 * that case vq->error says why and nothing was consumed. */
int vq_pop(struct vq *vq, struct vq_elem *e);

/* Give back the last n chains vq_pop returned, none of which may have
 * been pushed: last_avail moves back by n and the next pops return the
 * same avail entries again (re-read and re-checked: the driver may have
 * changed them meanwhile).  For a device that took more chains than it
 * could use (a merged receive buffer sized for the largest frame).  Only
 * chains popped since the last vq_flush may be given back.  Returns 0
 * (also for n == 0), or -EINVAL if n is more than that (nothing changes). */
int vq_unpop(struct vq *vq, unsigned int n);

/* Put head back as used with len bytes written, at the next used ring
 * position; not visible to the driver until vq_flush.  Returns 0, or
 * -EINVAL (and the queue breaks) for head >= size. */
int vq_push(struct vq *vq, uint16_t head, uint32_t len);

/* Publish every pushed element: store used->idx with release order. */
void vq_flush(struct vq *vq);

/* After vq_flush: whether the driver wants an interrupt for what was
 * published since the last one (EVENT_IDX: used_event crossed; otherwise
 * VRING_AVAIL_F_NO_INTERRUPT clear).  Returns false when nothing new was
 * published.  Records the published index as signalled when true. */
bool vq_should_notify(struct vq *vq);

/* Ask the driver not to kick (VRING_USED_F_NO_NOTIFY, or with EVENT_IDX
 * simply leave avail_event behind). */
void vq_disable_notify(struct vq *vq);

/* Ask the driver to kick on the next buffer (clear NO_NOTIFY, or with
 * EVENT_IDX set avail_event = last_avail), then look again.  Returns true
 * if buffers are already available, i.e. the caller must keep popping
 * because no kick will come for them. */
bool vq_enable_notify(struct vq *vq);

/* Like vq_enable_notify, for a device that saw n chains available past
 * last_avail (left unpopped) and needs more before it can use any of them:
 * ask the driver to kick when it publishes one more (EVENT_IDX: avail_event
 * = last_avail + n; otherwise clear NO_NOTIFY), then look again.  Returns
 * true if more than n chains are available already, i.e. the caller must
 * look again because no kick will come for them.  vq_enable_notify(vq) is
 * vq_enable_notify_after(vq, 0). */
bool vq_enable_notify_after(struct vq *vq, unsigned int n);

/* Number of chains available and not yet popped: 0 if not set up or
 * broken; an avail index more than size ahead breaks the queue (0). */
unsigned int vq_avail_count(struct vq *vq);

/* Short name of an error ("avail-idx", "loop", ...). */
const char *vq_error_name(enum vq_error e);

#endif
