/* --balloon: a virtio-balloon device in a VM, its page accounting over the
 * VM's RAM backings (pages go back to the host at each backing's
 * granularity: see mem/balloon_pages.h and mem/discard.h), its transport,
 * host side and one IO thread ("io-balloon-0"). */
#ifndef KVMLAB_VMM_VM_BALLOON_H
#define KVMLAB_VMM_VM_BALLOON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mem/balloon_pages.h"
#include "virtio/balloon.h"
#include "virtio/virtio_pci.h"
#include "vmm/balloon_opts.h"
#include "vmm/iothread.h"
#include "vmm/virtio_host.h"

struct vm;

struct vm_balloon {
	bool present;
	uint64_t ram_bytes; /* guest RAM: the balloon's upper bound */
	struct balloon_pages pages;
	struct virtio_balloon model;
	struct virtio_pci t;
	struct virtio_host host;
	struct iothread io;
	bool pages_ready, model_ready, io_ready, host_ready, t_ready;
};

/* A snapshot for --stats and the API. */
struct vm_balloon_info {
	uint64_t target_bytes;	 /* what kvmlab asked the guest to give up */
	uint64_t actual_bytes;	 /* what the guest says it gave up */
	uint64_t held_bytes;	 /* host memory currently returned for the balloon */
	uint64_t returned_bytes; /* cumulative bytes discarded for the balloon */
	uint64_t reported_bytes; /* cumulative bytes discarded for free page reports */
	uint64_t reports;
	struct balloon_pages_stats pages;
	struct virtio_balloon_counts counts;
	struct virtio_balloon_guest_stats guest;
};

/* Build the device from o over vm's RAM and put it on the PCI bus.
 * Returns 0 or a negative errno with a one-line reason naming --balloon in
 * err; vm_balloon_destroy releases a partial build. */
int vm_balloon_create(struct vm_balloon *b, struct vm *vm, const struct balloon_opts *o, char *err,
		      size_t errlen);
int vm_balloon_start(struct vm_balloon *b);
void vm_balloon_stop(struct vm_balloon *b);
void vm_balloon_destroy(struct vm_balloon *b);

/* Ask the guest to give up `bytes` of RAM (rounded down to 4 KiB; 0
 * deflates it all).  Returns 0, -ENODEV without a balloon, -ERANGE when
 * bytes is not below guest RAM.  Any thread. */
int vm_balloon_set_target(struct vm_balloon *b, uint64_t bytes);

/* Ask the guest for fresh statistics (they arrive later).  Returns what
 * virtio_balloon_request_stats returns, -ENODEV without a balloon. */
int vm_balloon_request_stats(struct vm_balloon *b);

/* Fill *out.  Any thread. */
void vm_balloon_get_info(struct vm_balloon *b, struct vm_balloon_info *out);

/* --stats line. */
void vm_balloon_print_stats(struct vm_balloon *b, FILE *f);

#endif
