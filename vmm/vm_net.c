/* Assembly of a virtio-net device in a VM. */
#include "vmm/vm_net.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "vmm/vm.h"

static int set_offload(void *opaque, unsigned int flags)
{
	struct vm_net *n = opaque;

	return tap_set_offload(&n->tap, flags);
}

static int set_queue_pairs(void *opaque, unsigned int pairs)
{
	struct vm_net *n = opaque;

	return tap_set_queues(&n->tap, pairs);
}

static const struct virtio_net_tap_ops tap_ops = {
    .set_offload = set_offload,
    .set_queue_pairs = set_queue_pairs,
};

/* IO thread: the pair's tap queue has frames (edge-triggered). */
static void tap_ready(void *opaque, uint32_t events)
{
	struct vm_net_pair *p = opaque;

	(void)events;
	virtio_net_rx(&p->n->net, p->pair);
}

int vm_net_create(struct vm_net *n, struct vm *vm, const struct net_opts *o, unsigned int idx,
		  char *err, size_t errlen)
{
	struct virtio_net_config_opts c;
	struct iothread *io[2 * NET_MAX_PAIRS + 1];
	uint64_t features;
	unsigned int nq;
	int r;

	memset(n, 0, sizeof(*n));
	n->o = o;
	for (unsigned int i = 0; i < TAP_MAX_QUEUES; i++)
		n->tap.fd[i] = -1;
	snprintf(n->name, sizeof(n->name), "eth%u", idx % 10);
	r = tap_open(&n->tap, o->tap, o->queues, err, errlen);
	if (r)
		return r;
	n->nthreads = o->iothreads;
	n->threads = calloc(n->nthreads, sizeof(*n->threads));
	if (!n->threads)
		return -ENOMEM;
	for (unsigned int i = 0; i < n->nthreads; i++) {
		char name[16];

		snprintf(name, sizeof(name), "io-%.4s-%u", n->name, i % 100);
		r = iothread_init(&n->threads[i], name);
		if (r) {
			snprintf(err, errlen, "--net tap=%s: IO thread: %s", o->tap, strerror(-r));
			return r;
		}
		n->threads_ready++;
		if (o->affinity_set)
			iothread_set_affinity(&n->threads[i], &o->affinity);
	}
	memset(&c, 0, sizeof(c));
	if (o->mac_set) {
		memcpy(c.mac, o->mac, 6);
	} else {
		static const uint8_t base[6] = {0x02, 0x4b, 0x4c, 0x00, 0x00, 0x00};

		memcpy(c.mac, base, 6);
		c.mac[5] = (uint8_t)(idx + 1);
	}
	c.mtu = (uint16_t)o->mtu;
	c.pairs = o->queues;
	c.offloads = o->offloads;
	c.tap_offloads = n->tap.offloads;
	r = virtio_net_init(&n->net, &c, n->tap.fd, &tap_ops, n);
	if (r)
		goto fail;
	n->net_ready = true;
	features = virtio_net_features(&n->net);
	if (o->vhost) {
		char why[200];

		r = vm_net_vhost_init(n, &vm->gm, why, sizeof(why));
		n->vh_ready = true;
		if (r) {
			snprintf(err, errlen, "--net tap=%s: %s", o->tap, why);
			return r;
		}
		features = vm_net_vhost_offer(n, features);
	}
	nq = virtio_net_num_queues(&n->net);
	for (unsigned int q = 0; q < nq; q++) {
		int p = virtio_net_queue_pair(&n->net, q);

		io[q] = &n->threads[p < 0 ? 0 : (unsigned int)p % n->nthreads];
	}
	r = virtio_host_init(&n->host, &vm->kvm, &vm->routes, io, nq, nq + 1, o->ioeventfd,
			     o->irqfd);
	if (r)
		goto fail;
	n->host_ready = true;
	if (o->vhost) {
		n->host.direct_cb = vm_net_vhost_direct;
		n->host.direct_opaque = n;
	}
	r = virtio_pci_init(&n->t, &vm->gm, o->vhost ? &vm_net_vhost_ops : &virtio_net_ops,
			    o->vhost ? (void *)n : (void *)&n->net, features, nq,
			    (uint16_t)o->queue_size, virtio_net_cfg_len(), &virtio_host_ops,
			    &virtio_host_msix_ops, &n->host);
	if (r)
		goto fail;
	n->t_ready = true;
	n->net.t = &n->t;
	n->host.t = &n->t;
	/* with vhost the kernel reads the taps */
	for (unsigned int p = 0; p < o->queues && !o->vhost; p++) {
		struct vm_net_pair *vp = &n->pairs[p];

		vp->n = n;
		vp->pair = p;
		vp->tap_handler = (struct iothread_handler){.fn = tap_ready, .opaque = vp};
		r = iothread_add(&n->threads[p % n->nthreads], n->tap.fd[p], EPOLLIN | EPOLLET,
				 &vp->tap_handler);
		if (r)
			goto fail;
	}
	r = pci_bus_add(&vm->pci, &n->t.func);
	if (r < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "--net tap=%s: %s", o->tap, strerror(-r));
	return r;
}

int vm_net_start(struct vm_net *n)
{
	for (unsigned int i = 0; i < n->nthreads; i++) {
		int r = iothread_start(&n->threads[i]);

		if (r)
			return r;
	}
	return 0;
}

void vm_net_stop(struct vm_net *n)
{
	for (unsigned int i = 0; i < n->threads_ready; i++)
		iothread_stop(&n->threads[i]);
}

void vm_net_destroy(struct vm_net *n)
{
	vm_net_stop(n);
	/* rings go back from vhost while the transport and kick fds exist */
	if (n->vh_ready)
		vm_net_vhost_destroy(n);
	if (n->host_ready)
		virtio_host_destroy(&n->host);
	if (n->t_ready)
		virtio_pci_destroy(&n->t);
	if (n->net_ready)
		virtio_net_destroy(&n->net);
	for (unsigned int i = 0; i < n->threads_ready; i++)
		iothread_destroy(&n->threads[i]);
	free(n->threads);
	n->threads = NULL;
	n->threads_ready = 0;
	tap_close(&n->tap);
	n->host_ready = n->t_ready = n->net_ready = n->vh_ready = false;
}

void vm_net_print_stats(const struct vm_net *n, FILE *f)
{
	const struct virtio_pci *t = &n->t;
	unsigned int nq = virtio_net_num_queues(&n->net);

	fprintf(f,
		"kvmlab: virtio-net %s 00:%02x.0: tap=%s path=%s pairs=%u iothreads=%u "
		"mmio_kicks=%" PRIu64 " irqfd=%" PRIu64 " msi=%" PRIu64 " intx=%" PRIu64
		" needs_reset=%" PRIu64 "\n",
		n->name, t->func.slot, n->tap.name, n->o->vhost ? "vhost" : "userspace",
		n->o->queues, n->nthreads, atomic_load(&t->stats.mmio_kicks),
		atomic_load(&n->host.irqfd_sent), atomic_load(&n->host.msi_sent),
		atomic_load(&t->stats.intx), atomic_load(&t->stats.needs_reset));
	if (atomic_load(&t->stats.needs_reset)) {
		char why[512];

		fprintf(f, "kvmlab: virtio-net %s needs_reset causes: %s\n", n->name,
			virtio_pci_why_format(t, why, sizeof(why)));
	}
	for (unsigned int q = 0; q < nq; q++) {
		struct virtio_net_stats s;
		int p = virtio_net_queue_pair(&n->net, q);
		char label[16] = "ctrl";

		if (p >= 0)
			snprintf(label, sizeof(label), "%s%d", q % 2 ? "tx" : "rx", p);
		virtio_net_queue_stats(&n->net, q, &s);
		fprintf(f,
			"kvmlab: virtio-net %s q%u (%s): packets=%" PRIu64 " bytes=%" PRIu64
			" drops=%" PRIu64 " backpressure=%" PRIu64 " malformed=%" PRIu64
			" batches=%" PRIu64 " kicks=%" PRIu64 "\n",
			n->name, q, label, s.packets, s.bytes, s.drops, s.backpressure, s.malformed,
			s.batches, atomic_load(&n->host.q[q].wakeups));
	}
	if (n->vh_ready)
		vm_net_vhost_print_stats(n, f);
}
