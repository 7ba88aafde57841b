/* vhost=on for a --net device: the kernel's vhost-net moves the frames of
 * every data queue; kvmlab keeps the control queue, the registers and
 * interrupt routing.
 *
 * Per queue pair one /dev/vhost-net device, its memory table set once
 * from guest RAM.  At DRIVER_OK (the device ops' activate, vCPU thread)
 * each enabled data queue is handed to vhost: ring size, base and host
 * addresses, kick = the queue's kick eventfd (taken off our IO thread, so
 * a guest notify goes from KVM's ioeventfd straight to vhost), call = the
 * irqfd of the queue's MSI-X vector, backend = the pair's tap queue.
 *
 * The call fd follows the vector's state (msix_ops.direct): while the
 * vector is deliverable straight through its route, vhost signals the
 * irqfd and no userspace thread runs per interrupt; while it is masked,
 * MSI-X is off (INTx), irqfd=off, or the route failed, vhost signals a
 * relay eventfd that the pair's IO thread turns into
 * virtio_pci_queue_interrupt, which honours masking (pending bits) and
 * INTx.  A reset or kvmlab's exit hands every ring back (backend -1,
 * VHOST_GET_VRING_BASE) before the transport forgets it. */
#ifndef KVMLAB_VMM_VM_NET_VHOST_H
#define KVMLAB_VMM_VM_NET_VHOST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mem/guest_mem.h"
#include "virtio/virtio_pci.h"
#include "vmm/iothread.h"
#include "vmm/net_opts.h"
#include "vmm/vhost_net.h"

struct vm_net;

/* One data queue as vhost sees it. */
struct vm_net_vring {
	struct vm_net *n;
	unsigned int q; /* transport queue: 2 * pair + (0 rx, 1 tx) */
	int relay;	/* eventfd vhost signals when the irqfd cannot be used */
	struct iothread_handler relay_handler;
	bool started;		   /* handed to vhost (MSI-X lock held to change) */
	bool direct;		   /* call fd = the vector's irqfd */
	uint16_t vector;	   /* MSI-X vector when started */
	uint16_t base;		   /* avail index vhost handed back at the last stop */
	_Atomic uint64_t relayed;  /* interrupts that went through the relay */
	_Atomic uint64_t switches; /* call fd moves between irqfd and relay */
};

struct vm_net_vhost {
	struct vhost_net dev[NET_MAX_PAIRS];
	struct vm_net_vring ring[2 * NET_MAX_PAIRS];
	unsigned int npairs;
	uint64_t features;	 /* ring features vhost accepts (all pairs) */
	_Atomic uint64_t starts; /* activations that handed rings over */
	_Atomic uint64_t stops;	 /* resets / exits that took them back */
	_Atomic uint64_t errors; /* failed vhost ioctls */
};

/* Open one vhost-net device per pair of n (n->o->queues), give each the
 * memory map gm, make the relay eventfds and put them on the pairs' IO
 * threads (n->threads must exist).  Returns 0, or a negative errno with a
 * one-line reason (without the --net prefix) in err; vm_net_vhost_destroy
 * releases a partial setup. */
int vm_net_vhost_init(struct vm_net *n, const struct guest_mem *gm, char *err, size_t errlen);

/* The device features to offer: offered without the ring features vhost
 * lacks (EVENT_IDX, INDIRECT_DESC, MRG_RXBUF). */
uint64_t vm_net_vhost_offer(const struct vm_net *n, uint64_t offered);

/* Hand every ring back and close the devices (IO threads stopped). */
void vm_net_vhost_destroy(struct vm_net *n);

/* msix direct listener to install in n->host.direct_cb (opaque = n). */
void vm_net_vhost_direct(void *opaque, unsigned int v, bool direct);

/* --stats lines. */
void vm_net_vhost_print_stats(const struct vm_net *n, FILE *f);

/* Device ops for vhost=on; the opaque device is the struct vm_net.  They
 * wrap virtio_net_ops: the model still negotiates, sets tap offloads and
 * serves the control queue. */
extern const struct virtio_dev_ops vm_net_vhost_ops;

#endif
