/* vhost-net for a --net device: hand data rings to the kernel and back. */
#include "vmm/vm_net_vhost.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "vmm/vm_net.h"

#define BIT(b) (1ull << (b))

/* Ring features vhost-net implements; the rest of the negotiated set is
 * the model's business (offloads go to the tap, MQ and CTRL_VQ stay here). */
#define VHOST_RING_FEATURES                                                                        \
	(BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_RING_F_EVENT_IDX) |    \
	 BIT(VIRTIO_RING_F_INDIRECT_DESC))

/* IO thread: vhost asked for an interrupt we could not let it send. */
static void relay_ready(void *opaque, uint32_t events)
{
	struct vm_net_vring *r = opaque;
	uint64_t cnt;

	(void)events;
	if (read(r->relay, &cnt, sizeof(cnt)) != sizeof(cnt))
		return;
	atomic_fetch_add_explicit(&r->relayed, 1, memory_order_relaxed);
	if (atomic_load(&r->n->t.running))
		virtio_pci_queue_interrupt(&r->n->t, r->q);
}

int vm_net_vhost_init(struct vm_net *n, const struct guest_mem *gm, char *err, size_t errlen)
{
	struct vm_net_vhost *vh = &n->vh;
	int r;

	memset(vh, 0, sizeof(*vh));
	for (unsigned int p = 0; p < NET_MAX_PAIRS; p++)
		vh->dev[p].fd = -1;
	for (unsigned int q = 0; q < 2 * NET_MAX_PAIRS; q++)
		vh->ring[q].relay = -1;
	vh->features = VHOST_RING_FEATURES;
	for (unsigned int p = 0; p < n->o->queues; p++) {
		r = vhost_net_open(&vh->dev[p], VHOST_NET_PATH, err, errlen);
		if (r)
			return r;
		vh->npairs++;
		vh->features &= vh->dev[p].features;
		r = vhost_net_set_mem(&vh->dev[p], gm);
		if (r) {
			snprintf(err, errlen, "vhost=on: VHOST_SET_MEM_TABLE: %s", strerror(-r));
			return r;
		}
	}
	if (!(vh->features & BIT(VIRTIO_F_VERSION_1))) {
		snprintf(err, errlen, "vhost=on: this kernel's vhost-net lacks VIRTIO_F_VERSION_1");
		return -EOPNOTSUPP;
	}
	for (unsigned int q = 0; q < 2 * vh->npairs; q++) {
		struct vm_net_vring *ring = &vh->ring[q];

		ring->n = n;
		ring->q = q;
		ring->relay = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (ring->relay < 0) {
			r = -errno;
			snprintf(err, errlen, "vhost=on: eventfd: %s", strerror(-r));
			return r;
		}
		ring->relay_handler = (struct iothread_handler){.fn = relay_ready, .opaque = ring};
		r = iothread_add(&n->threads[(q / 2) % n->nthreads], ring->relay, EPOLLIN,
				 &ring->relay_handler);
		if (r) {
			close(ring->relay);
			ring->relay = -1;
			snprintf(err, errlen, "vhost=on: IO thread: %s", strerror(-r));
			return r;
		}
	}
	return 0;
}

uint64_t vm_net_vhost_offer(const struct vm_net *n, uint64_t offered)
{
	uint64_t lacking = VHOST_RING_FEATURES & ~n->vh.features;

	return offered & ~lacking;
}

/* The fd ring r should signal for vector v now.  MSI-X lock held. */
static int pick_call(struct vm_net *n, struct vm_net_vring *r, uint16_t v, bool *direct)
{
	int irqfd = v == VPCI_NO_VECTOR ? -1 : virtio_host_vector_irqfd(&n->host, v);

	*direct = irqfd >= 0 && msix_direct_locked(&n->t.msix, v);
	return *direct ? irqfd : r->relay;
}

/* Hand ring r back to kvmlab.  MSI-X lock held. */
static void stop_ring(struct vm_net *n, struct vm_net_vring *r)
{
	struct vhost_net *d = &n->vh.dev[r->q / 2];

	if (!r->started)
		return;
	if (vhost_net_ring_stop(d, r->q % 2, &r->base))
		atomic_fetch_add_explicit(&n->vh.errors, 1, memory_order_relaxed);
	r->started = false;
}

static void stop_all(struct vm_net *n)
{
	bool any = false;

	msix_lock(&n->t.msix);
	for (unsigned int q = 0; q < 2 * n->vh.npairs; q++) {
		any |= n->vh.ring[q].started;
		stop_ring(n, &n->vh.ring[q]);
	}
	msix_unlock(&n->t.msix);
	/* kicks of queues kvmlab serves again (after a reset: none until the
	 * next activation) go back to the IO threads */
	for (unsigned int q = 0; q < 2 * n->vh.npairs; q++)
		virtio_host_queue_attach(&n->host, q);
	if (any)
		atomic_fetch_add_explicit(&n->vh.stops, 1, memory_order_relaxed);
}

/* Hand enabled data queue q to vhost.  MSI-X lock held. */
static int start_ring(struct vm_net *n, unsigned int q)
{
	struct virtio_pci_queue *tq = &n->t.queues[q];
	struct vm_net_vring *r = &n->vh.ring[q];
	struct vhost_ring ring = {
	    .num = tq->vq.size,
	    .base = tq->vq.last_avail,
	    .desc = tq->vq.desc,
	    .avail = tq->vq.avail,
	    .used = tq->vq.used,
	};
	int call, e;

	r->vector = atomic_load(&tq->msix_vector);
	call = pick_call(n, r, r->vector, &r->direct);
	e = virtio_host_queue_detach(&n->host, q);
	if (!e)
		e = vhost_net_ring_start(&n->vh.dev[q / 2], q % 2, &ring, n->host.q[q].efd, call);
	if (e)
		return e;
	r->started = true;
	return 0;
}

static int vhost_activate(void *dev)
{
	struct vm_net *n = dev;
	uint64_t f;
	unsigned int pairs;
	int r;

	r = virtio_net_ops.activate(&n->net);
	if (r)
		return r;
	f = virtio_pci_features(&n->t);
	pairs = (f & BIT(VIRTIO_NET_F_MQ)) ? n->vh.npairs : 1;
	for (unsigned int p = 0; p < pairs && !r; p++)
		r = vhost_net_set_features(&n->vh.dev[p], f & n->vh.features);
	msix_lock(&n->t.msix);
	for (unsigned int q = 0; q < 2 * pairs && !r; q++)
		if (n->t.queues[q].enabled && n->t.queues[q].vq.size)
			r = start_ring(n, q);
	msix_unlock(&n->t.msix);
	for (unsigned int q = 0; q < 2 * pairs && !r; q++)
		if (n->vh.ring[q].started)
			r = vhost_net_set_backend(&n->vh.dev[q / 2], q % 2, n->tap.fd[q / 2]);
	if (r) {
		atomic_fetch_add_explicit(&n->vh.errors, 1, memory_order_relaxed);
		stop_all(n);
		return r;
	}
	atomic_fetch_add_explicit(&n->vh.starts, 1, memory_order_relaxed);
	return 0;
}

static void vhost_reset(void *dev)
{
	struct vm_net *n = dev;

	stop_all(n);
	virtio_net_ops.reset(&n->net);
}

static void vhost_cfg_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct vm_net *n = dev;

	virtio_net_ops.cfg_read(&n->net, off, data, len);
}

static void vhost_queue_notify(void *dev, unsigned int q, struct vq *vq)
{
	struct vm_net *n = dev;

	/* data rings belong to vhost once started; only the control queue
	 * (or the unused control slot) is ours */
	if (virtio_net_queue_pair(&n->net, q) < 0)
		virtio_net_ops.queue_notify(&n->net, q, vq);
}

const struct virtio_dev_ops vm_net_vhost_ops = {
    .name = "net",
    .device_id = VIRTIO_ID_NET,
    .class_code = 0x020000,
    .cfg_read = vhost_cfg_read,
    .activate = vhost_activate,
    .reset = vhost_reset,
    .queue_notify = vhost_queue_notify,
};

void vm_net_vhost_direct(void *opaque, unsigned int v, bool direct)
{
	struct vm_net *n = opaque;

	for (unsigned int q = 0; q < 2 * n->vh.npairs; q++) {
		struct vm_net_vring *r = &n->vh.ring[q];
		int fd;

		if (!r->started || r->vector != v || r->direct == direct)
			continue;
		fd = direct ? virtio_host_vector_irqfd(&n->host, v) : r->relay;
		if (vhost_net_set_call(&n->vh.dev[q / 2], q % 2, fd)) {
			atomic_fetch_add_explicit(&n->vh.errors, 1, memory_order_relaxed);
			continue;
		}
		r->direct = direct;
		atomic_fetch_add_explicit(&r->switches, 1, memory_order_relaxed);
	}
}

void vm_net_vhost_destroy(struct vm_net *n)
{
	struct vm_net_vhost *vh = &n->vh;

	if (n->t_ready)
		stop_all(n);
	for (unsigned int q = 0; q < 2 * NET_MAX_PAIRS; q++) {
		struct vm_net_vring *r = &vh->ring[q];

		if (r->relay < 0)
			continue;
		iothread_del(&n->threads[(q / 2) % n->nthreads], r->relay);
		close(r->relay);
		r->relay = -1;
	}
	for (unsigned int p = 0; p < NET_MAX_PAIRS; p++)
		vhost_net_close(&vh->dev[p]);
	vh->npairs = 0;
}

void vm_net_vhost_print_stats(const struct vm_net *n, FILE *f)
{
	const struct vm_net_vhost *vh = &n->vh;

	fprintf(f,
		"kvmlab: virtio-net %s vhost: pairs=%u starts=%" PRIu64 " stops=%" PRIu64
		" errors=%" PRIu64 " ring_features=0x%" PRIx64 "\n",
		n->name, vh->npairs, atomic_load(&vh->starts), atomic_load(&vh->stops),
		atomic_load(&vh->errors), vh->features);
	for (unsigned int q = 0; q < 2 * vh->npairs; q++) {
		const struct vm_net_vring *r = &vh->ring[q];

		fprintf(f,
			"kvmlab: virtio-net %s q%u (%s%u): path=vhost call=%s relayed=%" PRIu64
			" call_switches=%" PRIu64 " base=%u\n",
			n->name, q, q % 2 ? "tx" : "rx", q / 2, r->direct ? "irqfd" : "relay",
			atomic_load(&r->relayed), atomic_load(&r->switches), r->base);
	}
}
