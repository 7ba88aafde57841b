/* virtio-rng: fill the driver's buffers with host randomness. */
#include "virtio/rng.h"

#include <errno.h>
#include <sys/random.h>

#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

ssize_t virtio_rng_getrandom(void *buf, size_t len)
{
	ssize_t n = getrandom(buf, len, GRND_NONBLOCK);

	return n < 0 ? -errno : n;
}

uint64_t virtio_rng_features(void)
{
	return (1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VIRTIO_RING_F_INDIRECT_DESC);
}

/* Fill the writable part of e; returns the bytes written. */
static uint32_t fill_elem(struct virtio_rng *rng, const struct vq_elem *e)
{
	uint32_t done = 0;

	for (unsigned int i = e->out_num; i < (unsigned int)e->out_num + e->in_num; i++) {
		const struct iovec *v = &e->iov[i];
		size_t off = 0;

		while (off < v->iov_len) {
			ssize_t n = rng->fill((char *)v->iov_base + off, v->iov_len - off);

			if (n <= 0)
				return done; /* the driver asks again */
			off += (size_t)n;
			done += (uint32_t)n;
		}
	}
	return done;
}

static void rng_queue_notify(void *dev, unsigned int q, struct vq *vq)
{
	struct virtio_rng *rng = dev;
	int r;

	for (;;) {
		vq_disable_notify(vq);
		while ((r = vq_pop(vq, &rng->elem)) == 1) {
			uint32_t n = fill_elem(rng, &rng->elem);

			vq_push(vq, rng->elem.head, n);
			atomic_fetch_add_explicit(&rng->requests, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&rng->bytes, n, memory_order_relaxed);
		}
		/* one used-index update and at most one interrupt per batch */
		vq_flush(vq);
		if (vq_should_notify(vq))
			virtio_pci_queue_interrupt(rng->t, q);
		if (r < 0) {
			atomic_fetch_add_explicit(&rng->errors, 1, memory_order_relaxed);
			virtio_pci_queue_broken(rng->t, q);
			return;
		}
		if (!vq_enable_notify(vq))
			return;
	}
}

static void rng_reset(void *dev)
{
	(void)dev; /* no device state beyond the queue */
}

const struct virtio_dev_ops virtio_rng_ops = {
    .name = "rng",
    .device_id = VIRTIO_ID_RNG,
    .class_code = 0xff0000, /* "unassigned class", as other VMMs use for rng */
    .reset = rng_reset,
    .queue_notify = rng_queue_notify,
};
