/* --net devices of a VM: the tap, the virtio-net model, its virtio-pci
 * transport, the host side and the IO threads (queue pair p on thread
 * p % iothreads; the control queue on thread 0). */
#ifndef KVMLAB_VMM_VM_NET_H
#define KVMLAB_VMM_VM_NET_H

#include <stdbool.h>
#include <stdio.h>

#include "virtio/net.h"
#include "virtio/virtio_pci.h"
#include "vmm/iothread.h"
#include "vmm/net_opts.h"
#include "vmm/tap.h"
#include "vmm/virtio_host.h"
#include "vmm/vm_net_vhost.h"

struct vm;
struct vm_net;

struct vm_net_pair {
	struct vm_net *n;
	unsigned int pair;
	struct iothread_handler tap_handler;
};

struct vm_net {
	const struct net_opts *o;
	char name[8]; /* eth0, eth1, ... */
	struct tap tap;
	struct virtio_net net;
	struct virtio_pci t;
	struct virtio_host host;
	struct iothread *threads; /* nthreads */
	unsigned int nthreads;
	struct vm_net_pair pairs[NET_MAX_PAIRS];
	struct vm_net_vhost vh; /* vhost=on */
	bool net_ready, t_ready, host_ready, vh_ready;
	unsigned int threads_ready;
};

/* Build network device idx (eth<idx>) from o: attach or create the tap,
 * the IO threads, the device and its transport, and put it on the PCI bus.
 * Returns 0 or a negative errno with a one-line reason in err. */
int vm_net_create(struct vm_net *n, struct vm *vm, const struct net_opts *o, unsigned int idx,
		  char *err, size_t errlen);
int vm_net_start(struct vm_net *n);
void vm_net_stop(struct vm_net *n);
/* Release everything (threads stopped first; a tap we created goes away).
 * Safe after a failed create. */
void vm_net_destroy(struct vm_net *n);
/* --stats lines. */
void vm_net_print_stats(const struct vm_net *n, FILE *f);

#endif
