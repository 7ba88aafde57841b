/* The kernel's vhost-net data path (/dev/vhost-net): one vhost device per
 * virtio-net queue pair, two vrings each (0 = receive, 1 = transmit).
 * Thin wrappers over the VHOST_* ioctls: the device owner, the memory
 * table (guest-physical -> our virtual addresses), features, per-ring
 * size, base, addresses, kick and call eventfds, and the tap backend.
 * Nothing here knows about virtio-pci; vmm/vm_net_vhost.c drives it. */
#ifndef KVMLAB_VMM_VHOST_NET_H
#define KVMLAB_VMM_VHOST_NET_H

#include <stdint.h>

#include "mem/guest_mem.h"

#define VHOST_NET_PATH "/dev/vhost-net"
#define VHOST_NET_RX   0
#define VHOST_NET_TX   1

struct vhost_net {
	int fd;		   /* -1 when closed */
	uint64_t features; /* what the kernel offers (VHOST_GET_FEATURES) */
};

/* Host addresses of a split ring's three parts (validated by the caller
 * to lie inside guest RAM). */
struct vhost_ring {
	unsigned int num; /* entries */
	uint16_t base;	  /* next avail index to consume */
	void *desc, *avail, *used;
};

/* Open path (normally VHOST_NET_PATH), become its owner and read its
 * features.  Returns 0, or a negative errno with a one-line reason in err
 * (a missing device says to load vhost_net); v->fd is -1 on failure. */
int vhost_net_open(struct vhost_net *v, const char *path, char *err, size_t errlen);

/* Give vhost the guest memory map: every region of gm.  Returns 0 or a
 * negative errno. */
int vhost_net_set_mem(struct vhost_net *v, const struct guest_mem *gm);

/* Features for the rings (a subset of v->features).  Returns 0 or a
 * negative errno (-EOPNOTSUPP for bits the kernel does not offer). */
int vhost_net_set_features(struct vhost_net *v, uint64_t features);

/* Set ring idx up (size, base, addresses) and its kick and call eventfds
 * (call may be -1: no interrupts).  Returns 0 or a negative errno. */
int vhost_net_ring_start(struct vhost_net *v, unsigned int idx, const struct vhost_ring *r,
			 int kick, int call);

/* Point ring idx's interrupts at eventfd call (-1: none).  Any thread.
 * Returns 0 or a negative errno. */
int vhost_net_set_call(struct vhost_net *v, unsigned int idx, int call);

/* Attach ring idx to tap fd (-1 detaches: vhost stops serving the ring).
 * Returns 0 or a negative errno. */
int vhost_net_set_backend(struct vhost_net *v, unsigned int idx, int fd);

/* Hand ring idx back: detach the backend, stop polling its kick and
 * interrupting, and store the next avail index vhost would have consumed
 * in *base (may be NULL).  Returns 0 or the first failing ioctl's
 * negative errno (the others are still tried). */
int vhost_net_ring_stop(struct vhost_net *v, unsigned int idx, uint16_t *base);

/* Close (rings are released by the kernel).  Safe when closed. */
void vhost_net_close(struct vhost_net *v);

#endif
