/* Kicks and interrupts of a virtio-pci device through KVM. */
#include "vmm/virtio_host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void signal_efd(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* EAGAIN only at a counter near 2^64: the kick is pending anyway */
	}
}

/* IO thread: queue kick eventfd is readable. */
static void queue_ready(void *opaque, uint32_t events)
{
	struct virtio_host_queue *hq = opaque;
	uint64_t n;

	(void)events;
	if (read(hq->efd, &n, sizeof(n)) != sizeof(n))
		return;
	atomic_fetch_add_explicit(&hq->wakeups, 1, memory_order_relaxed);
	virtio_pci_queue_kicked(hq->h->t, hq->q);
}

static int host_ioeventfd(void *opaque, unsigned int q, uint64_t gpa, bool assign)
{
	struct virtio_host *h = opaque;
	struct virtio_host_queue *hq;
	int r = 0;

	if (!h->ioeventfd || q >= h->nq)
		return 0;
	hq = &h->q[q];
	if (assign == hq->bound)
		return 0;
	r = kvm_ioeventfd(h->kvm, gpa, 2, hq->efd, assign);
	if (r) {
		/* the guest's notify writes still arrive, as MMIO exits */
		atomic_fetch_add_explicit(&h->bind_errors, 1, memory_order_relaxed);
		return r;
	}
	hq->bound = assign;
	hq->gpa = gpa;
	return 0;
}

static void host_kick(void *opaque, unsigned int q)
{
	struct virtio_host *h = opaque;

	if (q < h->nq)
		signal_efd(h->q[q].efd);
}

const struct virtio_pci_host_ops virtio_host_ops = {
    .ioeventfd = host_ioeventfd,
    .kick = host_kick,
};

static int msix_update(void *opaque, unsigned int v, uint64_t addr, uint32_t data)
{
	struct virtio_host *h = opaque;
	int r;

	if (!h->irqfd || v >= h->nvec)
		return 0;
	r = irq_routes_set_msi(h->routes, (unsigned int)h->vec[v].gsi, addr, data);
	if (r)
		atomic_fetch_add_explicit(&h->bind_errors, 1, memory_order_relaxed);
	return r;
}

static void msix_fire(void *opaque, unsigned int v, uint64_t addr, uint32_t data)
{
	struct virtio_host *h = opaque;

	if (h->irqfd && v < h->nvec) {
		signal_efd(h->vec[v].efd);
		atomic_fetch_add_explicit(&h->irqfd_sent, 1, memory_order_relaxed);
	} else {
		kvm_signal_msi(h->kvm, addr, data);
		atomic_fetch_add_explicit(&h->msi_sent, 1, memory_order_relaxed);
	}
}

static void msix_direct(void *opaque, unsigned int v, bool direct)
{
	struct virtio_host *h = opaque;

	if (h->irqfd && h->direct_cb)
		h->direct_cb(h->direct_opaque, v, direct);
}

const struct msix_ops virtio_host_msix_ops = {
    .update = msix_update,
    .fire = msix_fire,
    .direct = msix_direct,
};

int virtio_host_vector_irqfd(const struct virtio_host *h, unsigned int v)
{
	return h->irqfd && v < h->nvec ? h->vec[v].efd : -1;
}

int virtio_host_queue_detach(struct virtio_host *h, unsigned int q)
{
	struct virtio_host_queue *hq;
	int r;

	if (q >= h->nq)
		return -EINVAL;
	hq = &h->q[q];
	if (hq->detached)
		return 0;
	r = iothread_del(h->io[q], hq->efd);
	if (r == 0)
		hq->detached = true;
	return r;
}

int virtio_host_queue_attach(struct virtio_host *h, unsigned int q)
{
	struct virtio_host_queue *hq;
	int r;

	if (q >= h->nq)
		return -EINVAL;
	hq = &h->q[q];
	if (!hq->detached)
		return 0;
	r = iothread_add(h->io[q], hq->efd, EPOLLIN, &hq->handler);
	if (r == 0)
		hq->detached = false;
	return r;
}

int virtio_host_init(struct virtio_host *h, struct kvm *kvm, struct irq_routes *routes,
		     struct iothread *const *io, unsigned int nq, unsigned int nvec, bool ioeventfd,
		     bool irqfd)
{
	int r = 0;

	memset(h, 0, sizeof(*h));
	h->kvm = kvm;
	h->routes = routes;
	h->ioeventfd = ioeventfd;
	h->irqfd = irqfd;
	h->io = calloc(nq, sizeof(*h->io));
	h->q = calloc(nq, sizeof(*h->q));
	h->vec = calloc(nvec, sizeof(*h->vec));
	if (!h->io || !h->q || !h->vec) {
		free(h->io);
		free(h->q);
		free(h->vec);
		h->io = NULL;
		h->q = NULL;
		h->vec = NULL;
		return -ENOMEM;
	}
	memcpy(h->io, io, nq * sizeof(*io));
	for (unsigned int i = 0; i < nq; i++)
		h->q[i].efd = -1;
	for (unsigned int i = 0; i < nvec; i++)
		h->vec[i].efd = h->vec[i].gsi = -1;
	h->nq = nq;
	h->nvec = nvec;
	for (unsigned int i = 0; i < nq && !r; i++) {
		struct virtio_host_queue *hq = &h->q[i];

		hq->h = h;
		hq->q = i;
		hq->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (hq->efd < 0) {
			r = -errno;
			break;
		}
		hq->handler = (struct iothread_handler){.fn = queue_ready, .opaque = hq};
		r = iothread_add(io[i], hq->efd, EPOLLIN, &hq->handler);
	}
	for (unsigned int i = 0; i < nvec && !r && irqfd; i++) {
		struct virtio_host_vector *v = &h->vec[i];

		v->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->efd < 0) {
			r = -errno;
			break;
		}
		v->gsi = irq_routes_add_msi(routes);
		if (v->gsi < 0) {
			r = v->gsi;
			break;
		}
		r = kvm_irqfd(kvm, (unsigned int)v->gsi, v->efd, true);
		if (r) {
			close(v->efd);
			v->efd = -1;
		}
	}
	if (r)
		virtio_host_destroy(h);
	return r;
}

void virtio_host_destroy(struct virtio_host *h)
{
	for (unsigned int i = 0; h->q && i < h->nq; i++) {
		struct virtio_host_queue *hq = &h->q[i];

		if (hq->bound)
			kvm_ioeventfd(h->kvm, hq->gpa, 2, hq->efd, false);
		if (hq->efd >= 0) {
			if (!hq->detached)
				iothread_del(h->io[i], hq->efd);
			close(hq->efd);
		}
	}
	for (unsigned int i = 0; h->vec && i < h->nvec; i++) {
		struct virtio_host_vector *v = &h->vec[i];

		if (v->efd >= 0) {
			if (v->gsi >= 0)
				kvm_irqfd(h->kvm, (unsigned int)v->gsi, v->efd, false);
			close(v->efd);
		}
	}
	free(h->io);
	free(h->q);
	free(h->vec);
	h->io = NULL;
	h->q = NULL;
	h->vec = NULL;
	h->nq = h->nvec = 0;
}
