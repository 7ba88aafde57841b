/* virtio over PCI, modern interface only (virtio 1.x): a PCI function
 * (vendor 0x1AF4, device 0x1040 + type) with one 64-bit prefetchable BAR
 * holding the common, ISR, device and notify structures and the MSI-X
 * table and PBA, described by vendor capabilities.
 *
 * The transport owns the registers, feature negotiation, the status state
 * machine, queue configuration and interrupt delivery; a device model
 * (struct virtio_dev_ops) serves its queues.  Pure over a guest_mem plus
 * callbacks: the host side (ioeventfd binding, kicks, MSI routes and
 * delivery) comes in through const ops, so unit tests and fuzzers drive
 * everything without KVM.
 *
 * Threads and ownership:
 *  - vCPU threads access registers (BAR, config space) under t->lock;
 *  - an IO thread calls virtio_pci_queue_kicked(t, q), which runs the
 *    device's queue_notify under that queue's lock, only while the device
 *    is running (DRIVER_OK and not reset);
 *  - a reset (from a vCPU thread) stops the device first and then takes
 *    each queue lock, so it waits for an IO thread in the middle of a batch.
 *  Lock order: t->lock, then a queue lock, then the MSI-X lock.  The IO
 *  thread never takes t->lock: NEEDS_RESET is an atomic flag. */
#ifndef KVMLAB_VIRTIO_VIRTIO_PCI_H
#define KVMLAB_VIRTIO_VIRTIO_PCI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mem/guest_mem.h"
#include "virtio/virtqueue.h"
#include "vmm/msix.h"
#include "vmm/pci.h"

/* BAR 0 layout (offsets inside the BAR). */
#define VPCI_BAR	 0
#define VPCI_BAR_SIZE	 0x10000
#define VPCI_COMMON_OFF	 0x0000
#define VPCI_COMMON_LEN	 0x38 /* struct virtio_pci_common_cfg */
#define VPCI_ISR_OFF	 0x1000
#define VPCI_ISR_LEN	 4
#define VPCI_DEVICE_OFF	 0x2000
#define VPCI_DEVICE_MAX	 0x1000
#define VPCI_NOTIFY_OFF	 0x3000
#define VPCI_NOTIFY_MULT 4 /* bytes between queue notify addresses */
#define VPCI_MAX_QUEUES	 1024
#define VPCI_MSIX_OFF	 0x4000
#define VPCI_PBA_OFF	 0x8000
#define VPCI_NO_VECTOR	 0xffff
#define VPCI_ISR_QUEUE	 0x1 /* ISR bit 0: a queue interrupt */
#define VPCI_VENDOR	 0x1af4
#define VPCI_DEVICE_BASE 0x1040

struct virtio_pci;

/* A device model.  All callbacks get the opaque device pointer given to
 * virtio_pci_init. */
struct virtio_dev_ops {
	const char *name;    /* "rng"; names threads and stats */
	uint16_t device_id;  /* VIRTIO_ID_* */
	uint32_t class_code; /* PCI class (24-bit) */
	/* Device configuration space of cfg_len bytes: off + len <= cfg_len is
	 * guaranteed.  vCPU thread, t->lock held.  May be NULL if cfg_len is 0. */
	void (*cfg_read)(void *dev, uint32_t off, uint8_t *data, uint32_t len);
	void (*cfg_write)(void *dev, uint32_t off, const uint8_t *data, uint32_t len);
	/* DRIVER_OK: features (virtio_pci_features) are final and every enabled
	 * queue is set up.  Return 0, or a negative errno to mark the device
	 * NEEDS_RESET.  vCPU thread, t->lock held. */
	int (*activate)(void *dev);
	/* Optional.  The driver is resetting the device and the transport no
	 * longer serves kicks: wait until no request is in flight (an async
	 * engine's completions keep arriving on the IO thread meanwhile).
	 * vCPU thread, t->lock held, no queue lock held. */
	void (*quiesce)(void *dev);
	/* The driver reset the device: forget all device state.  vCPU thread,
	 * t->lock and every queue lock held. */
	void (*reset)(void *dev);
	/* Queue q has (or may have) new buffers: serve them.  IO thread, the
	 * queue lock held, device running.  On vq_pop returning -EIO call
	 * virtio_pci_queue_broken. */
	void (*queue_notify)(void *dev, unsigned int q, struct vq *vq);
};

/* What the transport needs from the host. */
struct virtio_pci_host_ops {
	/* Bind (assign) or unbind queue q's kick to MMIO address gpa, 2-byte
	 * writes (ioeventfd).  Return 0 or a negative errno; a host without
	 * ioeventfd returns 0 and lets writes come as exits (kick below). */
	int (*ioeventfd)(void *opaque, unsigned int q, uint64_t gpa, bool assign);
	/* The guest wrote queue q's notify address and it reached us as an
	 * MMIO exit (vCPU thread): make the IO thread serve q. */
	void (*kick)(void *opaque, unsigned int q);
};

struct virtio_pci_queue {
	pthread_mutex_t lock; /* held while the device serves the queue */
	struct vq vq;	      /* set up when the driver enables the queue */
	uint16_t max_size;
	uint16_t size; /* as written by the driver */
	_Atomic uint16_t msix_vector;
	bool enabled;
	uint64_t desc, driver, device; /* ring addresses as written */
	_Atomic uint64_t notifies;     /* served kicks */
	_Atomic uint64_t interrupts;   /* interrupts raised for this queue */
};

/* Why the device entered NEEDS_RESET: a virtqueue error (enum vq_error
 * values), a queue setup or activation the transport refused, or a
 * device-model reason with no ring error behind it. */
#define VPCI_WHY_SETUP	VQ_ERR_COUNT
#define VPCI_WHY_DEVICE (VQ_ERR_COUNT + 1)
#define VPCI_WHY_COUNT	(VQ_ERR_COUNT + 2)

struct virtio_pci_stats {
	_Atomic uint64_t mmio_kicks;  /* notify writes that exited to userspace */
	_Atomic uint64_t intx;	      /* interrupts sent as INTx */
	_Atomic uint64_t needs_reset; /* times the device entered NEEDS_RESET */
	_Atomic uint64_t refused;     /* driver writes refused (bad status, late features) */
	_Atomic uint64_t resets;      /* device resets by the driver */
	_Atomic uint64_t why[VPCI_WHY_COUNT]; /* each NEEDS_RESET by cause */
};

struct virtio_pci {
	struct pci_func func;
	struct msix msix;
	pthread_mutex_t lock; /* registers */
	const struct guest_mem *gm;
	const struct virtio_dev_ops *ops;
	void *dev;
	uint32_t cfg_len;
	const struct virtio_pci_host_ops *host;
	void *host_opaque;
	int msix_cap; /* offset of the MSI-X capability in config space */

	uint64_t device_features;
	uint64_t driver_features;
	uint32_t dfselect, gfselect;
	uint16_t queue_select;
	uint16_t num_queues;
	_Atomic uint16_t msix_config;
	uint8_t status;		  /* without NEEDS_RESET */
	_Atomic bool needs_reset; /* ORed into status reads */
	_Atomic bool running;	  /* DRIVER_OK and activated */
	_Atomic uint8_t config_generation;
	pthread_mutex_t isr_lock; /* ISR and the INTx level change together */
	uint8_t isr;
	struct virtio_pci_queue *queues; /* num_queues */
	bool bar_mapped;
	uint64_t bar_addr;
	struct virtio_pci_stats stats;
};

/* Build the PCI function for device model ops/dev with the given device
 * features (VIRTIO_F_VERSION_1 is added), num_queues queues of up to
 * max_size entries, cfg_len bytes of device configuration and
 * num_queues + 1 MSI-X vectors.  Add t->func to a PCI bus afterwards.
 * Returns 0, -EINVAL for bad sizes, -ENOMEM. */
int virtio_pci_init(struct virtio_pci *t, const struct guest_mem *gm,
		    const struct virtio_dev_ops *ops, void *dev, uint64_t features,
		    unsigned int num_queues, uint16_t max_size, uint32_t cfg_len,
		    const struct virtio_pci_host_ops *host, const struct msix_ops *msix_ops,
		    void *host_opaque);

/* Free what virtio_pci_init allocated (queues must no longer be served). */
void virtio_pci_destroy(struct virtio_pci *t);

/* IO thread: queue q was kicked (its eventfd fired).  Serves it if the
 * device is running; a kick before DRIVER_OK is dropped here because
 * DRIVER_OK makes the transport kick every enabled queue again. */
void virtio_pci_queue_kicked(struct virtio_pci *t, unsigned int q);

/* Device (IO thread, completion handlers of async engines): take / drop
 * queue q's lock around pushing completions. */
void virtio_pci_queue_lock(struct virtio_pci *t, unsigned int q);
void virtio_pci_queue_unlock(struct virtio_pci *t, unsigned int q);

/* Device: raise queue q's interrupt (its MSI-X vector, or INTx with ISR
 * bit 0 when MSI-X is off).  Any thread. */
void virtio_pci_queue_interrupt(struct virtio_pci *t, unsigned int q);

/* Device: queue q is malformed (vq->error says why): set NEEDS_RESET and
 * send a configuration interrupt.  The device stops serving the queue
 * until the driver resets it.  Any thread. */
void virtio_pci_queue_broken(struct virtio_pci *t, unsigned int q);

/* Write "cause=N cause=N ..." for every NEEDS_RESET cause counted so far
 * (vq_error_name names, "setup", "device") into buf (size n, always
 * NUL-terminated; "none" when there was none).  Returns buf. */
char *virtio_pci_why_format(const struct virtio_pci *t, char *buf, size_t n);

/* Device: its configuration changed; bump the generation and interrupt. */
void virtio_pci_config_changed(struct virtio_pci *t);

/* Negotiated features (valid once FEATURES_OK was accepted). */
uint64_t virtio_pci_features(const struct virtio_pci *t);

/* Status as the driver reads it. */
uint8_t virtio_pci_status(struct virtio_pci *t);

/* The BAR's register handlers (registered by the PCI bus). */
extern const struct bus_ops virtio_pci_bar_ops;

#endif
