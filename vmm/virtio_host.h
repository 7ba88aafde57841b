/* The host side of one virtio-pci device in a VM: a kick eventfd per queue
 * served by the device's IO thread and bound to the queue's notify address
 * with KVM_IOEVENTFD (knob ioeventfd), and per MSI-X vector either an
 * irqfd on an MSI GSI route (knob irqfd) or KVM_SIGNAL_MSI.  Implements
 * the transport's host ops and MSI-X ops. */
#ifndef KVMLAB_VMM_VIRTIO_HOST_H
#define KVMLAB_VMM_VIRTIO_HOST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtio_pci.h"
#include "vmm/iothread.h"
#include "vmm/irq_routes.h"
#include "vmm/kvm.h"

struct virtio_host;

struct virtio_host_queue {
	struct virtio_host *h;
	unsigned int q;
	int efd; /* kick eventfd */
	struct iothread_handler handler;
	bool detached;		  /* not on the IO thread's epoll */
	bool bound;		  /* ioeventfd assigned ... */
	uint64_t gpa;		  /* ... at this address */
	_Atomic uint64_t wakeups; /* kicks the IO thread took */
};

struct virtio_host_vector {
	int efd; /* irqfd, -1 without irqfd */
	int gsi; /* MSI route, -1 without irqfd */
};

struct virtio_host {
	struct kvm *kvm;
	struct irq_routes *routes;
	struct iothread **io; /* per queue: the IO thread serving it */
	struct virtio_pci *t; /* set before the IO thread starts */
	bool ioeventfd, irqfd;
	unsigned int nq, nvec;
	struct virtio_host_queue *q;
	struct virtio_host_vector *vec;
	_Atomic uint64_t irqfd_sent;  /* interrupts through irqfd */
	_Atomic uint64_t msi_sent;    /* interrupts through KVM_SIGNAL_MSI */
	_Atomic uint64_t bind_errors; /* ioeventfd / route failures */
	/* Optional listener for msix_ops.direct (set before the guest runs;
	 * vhost-net uses it to move a ring's call fd between the irqfd and a
	 * relay).  Called with the MSI-X lock held. */
	void (*direct_cb)(void *opaque, unsigned int v, bool direct);
	void *direct_opaque;
};

/* Prepare nq queues and nvec vectors: eventfds, GSIs with irqfds (when
 * irqfd), queue q's kick handler on IO thread io[q] (the array is copied).
 * t must be set (h->t) before the IO threads start.  Returns 0 or a
 * negative errno, with everything released. */
int virtio_host_init(struct virtio_host *h, struct kvm *kvm, struct irq_routes *routes,
		     struct iothread *const *io, unsigned int nq, unsigned int nvec, bool ioeventfd,
		     bool irqfd);

/* The irqfd eventfd of vector v: signalling it delivers v's current
 * route.  -1 without irqfd or for v out of range. */
int virtio_host_vector_irqfd(const struct virtio_host *h, unsigned int v);

/* Take queue q's kick eventfd off its IO thread (someone else, vhost,
 * consumes the kicks now) or put it back.  Idempotent.  Returns 0 or a
 * negative errno (epoll). */
int virtio_host_queue_detach(struct virtio_host *h, unsigned int q);
int virtio_host_queue_attach(struct virtio_host *h, unsigned int q);

/* Unbind and close everything (the IO thread must be stopped). */
void virtio_host_destroy(struct virtio_host *h);

extern const struct virtio_pci_host_ops virtio_host_ops;
extern const struct msix_ops virtio_host_msix_ops;

#endif
