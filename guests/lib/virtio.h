/* A minimal modern (virtio 1.x) virtio-pci driver for freestanding test
 * guests: capabilities, BAR placement, feature negotiation, and split
 * virtqueues driven by polling (no interrupts).  Guest memory is identity
 * mapped, so a guest-physical address is the pointer value.
 *
 * Typical use:
 *	vpci_open(&v, &pci, 0xc0000000);	// caps, BARs below 4 GiB, decoding on
 *	vpci_negotiate(&v, 0);			// reset .. FEATURES_OK (VERSION_1)
 *	vpci_queue_setup(&v, &q, 0, 8, ring);	// ring: VIRTQ_MEM_BYTES(8), 16-aligned
 *	vpci_driver_ok(&v);
 *	head = virtq_post(&q, bufs, n); virtq_notify(&q); virtq_poll(&q, &len, spins);
 *
 * Failures print one "virtio: ..." line on the serial port and return -1. */
#ifndef KVMLAB_GUESTS_VIRTIO_H
#define KVMLAB_GUESTS_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

#include "pci.h"

#define VIRTIO_PCI_VENDOR     0x1af4
#define VIRTIO_PCI_DEVICE_BLK 0x1042 /* 0x1040 + device id 2 */

/* Split ring layout in one buffer: descriptors (16-byte aligned), the
 * available ring right after them, the used ring at the next 4-byte
 * boundary.  The buffer must be at least 16-byte aligned. */
#define VIRTQ_AVAIL_OFF(n) (16u * (n))
#define VIRTQ_USED_OFF(n)  ((VIRTQ_AVAIL_OFF(n) + 6u + 2u * (n) + 3u) & ~3u)
#define VIRTQ_MEM_BYTES(n) (VIRTQ_USED_OFF(n) + 6u + 8u * (n))

/* Largest queue this driver sets up (chains in flight are a 64-bit map). */
#define VIRTQ_MAX_SIZE 64

/* Default bound for virtq_poll: iterations of a pause loop (at least a
 * second or so on current hardware; an upper bound on a hang, not a
 * timing expectation). */
#define VIRTQ_POLL_SPINS 100000000ull

/* A modern virtio-pci function, once vpci_open found its structures.
 * Addresses are identity-mapped guest-physical addresses. */
struct vpci {
	struct pci_dev pci;
	uint64_t common; /* struct virtio_pci_common_cfg */
	uint64_t isr;
	uint64_t device; /* device-specific configuration */
	uint32_t device_len;
	uint64_t notify; /* start of the notify structure */
	uint32_t notify_len;
	uint32_t notify_mult; /* notify_off_multiplier */
	uint64_t features;    /* negotiated by vpci_negotiate */
};

/* One buffer of a descriptor chain. */
struct virtq_buf {
	void *addr;
	uint32_t len;
	bool writable; /* device-writable (VRING_DESC_F_WRITE) */
};

/* A split virtqueue owned by this driver. */
struct virtq {
	uint16_t index;
	uint16_t size;
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	uint64_t notify_addr;
	uint16_t free_head; /* free descriptors, linked through next */
	uint16_t num_free;
	uint16_t avail_idx; /* our copy of avail->idx */
	uint16_t last_used; /* used->idx entries consumed so far */
	uint64_t heads;	    /* bit i: a chain with head i is in flight */
};

/* Find the virtio structures of PCI function pci (vendor capabilities:
 * common, notify with its multiplier, ISR, device config; the first of
 * each type), move every BAR they use that the identity map does not
 * cover (above 4 GiB, or unassigned) to the next naturally aligned address
 * at or above mmio_base (a free part of the 32-bit PCI hole), then turn on
 * memory decoding and bus mastering (INTx off: this driver polls).
 * Returns 0 or -1. */
int vpci_open(struct vpci *v, const struct pci_dev *pci, uint64_t mmio_base);

/* Reset the device, then ACKNOWLEDGE, DRIVER, accept the device's features
 * that are in want plus VIRTIO_F_VERSION_1 (required), FEATURES_OK, and
 * check that FEATURES_OK stuck.  v->features holds the accepted set.
 * Returns 0, or -1 (status FAILED set) if the device lacks VERSION_1 or
 * refuses the features. */
int vpci_negotiate(struct vpci *v, uint64_t want);

/* Set up queue index with size entries (a power of two no larger than the
 * device's maximum or VIRTQ_MAX_SIZE) in mem (VIRTQ_MEM_BYTES(size) bytes, 16-byte aligned,
 * zeroed here), no MSI-X vector, and enable it.  Between vpci_negotiate
 * and vpci_driver_ok.  Returns 0 or -1. */
int vpci_queue_setup(struct vpci *v, struct virtq *q, uint16_t index, uint16_t size, void *mem);

/* Set DRIVER_OK.  Returns the device status read back afterwards. */
uint8_t vpci_driver_ok(struct vpci *v);

/* Route queue index's interrupts to MSI-X table entry vector
 * (VIRTIO_MSI_NO_VECTOR: none); allowed at any time.  Returns 0, or -1 if
 * the device read it back as another value (it refused the vector). */
int vpci_queue_vector(struct vpci *v, uint16_t index, uint16_t vector);

/* The device status register (VIRTIO_CONFIG_S_*; NEEDS_RESET is 0x40). */
uint8_t vpci_status(const struct vpci *v);

/* Read device configuration at off (within device_len; naturally aligned
 * accesses).  The 64-bit read is two 32-bit reads repeated until
 * config_generation is the same before and after. */
uint8_t vpci_cfg_read8(const struct vpci *v, uint32_t off);
uint32_t vpci_cfg_read32(const struct vpci *v, uint32_t off);
uint64_t vpci_cfg_read64(const struct vpci *v, uint32_t off);

/* Make the chain bufs[0..n) available (device-readable buffers first, as
 * the spec requires; not checked).  Does not notify.  Returns the head
 * descriptor index, or -1 if fewer than n descriptors are free or n is 0. */
int virtq_post(struct virtq *q, const struct virtq_buf *bufs, unsigned int n);

/* Notify the device of new buffers in q: a 16-bit write of the queue
 * index at the queue's notify address. */
void virtq_notify(struct virtq *q);

/* Wait for the next used element, at most spins iterations.  Returns its
 * id (the head virtq_post returned) with the bytes written in *len (may be
 * NULL), and frees the chain; -1 on timeout, -2 if the device returned an
 * id that is not a chain head in flight. */
int virtq_poll(struct virtq *q, uint32_t *len, uint64_t spins);

#endif
