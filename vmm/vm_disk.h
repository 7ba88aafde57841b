/* --disk devices of a VM: the image, the virtio-blk model, its virtio-pci
 * transport, the host side, and the IO threads with one engine each. */
#ifndef KVMLAB_VMM_VM_DISK_H
#define KVMLAB_VMM_VM_DISK_H

#include <stdbool.h>
#include <stdio.h>

#include "virtio/blk.h"
#include "virtio/blk_sync.h"
#include "virtio/blk_uring.h"
#include "virtio/virtio_pci.h"
#include "vmm/disk_opts.h"
#include "vmm/iothread.h"
#include "vmm/virtio_host.h"

struct vm;

struct vm_disk_thread {
	struct iothread io;
	bool io_ready;
	struct blk_sync sync;
	struct blk_uring uring;
	bool uring_ready;
	struct iothread_handler uring_handler;
};

struct vm_disk {
	const struct disk_opts *o;
	char name[8]; /* vda, vdb, ... */
	struct blk_disk disk;
	struct virtio_blk blk;
	struct virtio_pci t;
	struct virtio_host host;
	unsigned int nq, nthreads;
	struct vm_disk_thread *threads; /* nthreads */
	bool blk_ready, t_ready, host_ready;
};

/* Build disk number idx (0 = vda) from o for vm: open the image, create
 * the IO threads and engines, the device and its transport, and put it on
 * the PCI bus.  queues=0 means one queue per vCPU.  Returns 0 or a negative
 * errno with a one-line reason in err. */
int vm_disk_create(struct vm_disk *d, struct vm *vm, const struct disk_opts *o, unsigned int idx,
		   char *err, size_t errlen);

/* Start / stop the disk's IO threads. */
int vm_disk_start(struct vm_disk *d);
void vm_disk_stop(struct vm_disk *d);

/* Release everything (threads stopped first).  Safe after a failed create. */
void vm_disk_destroy(struct vm_disk *d);

/* --stats lines for the disk. */
void vm_disk_print_stats(const struct vm_disk *d, FILE *f);

#endif
