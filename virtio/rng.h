/* virtio-rng (device type 4): one request queue of device-writable
 * buffers, filled from the host's getrandom(2).  A device model for the
 * virtio-pci transport; its queue is served on an IO thread. */
#ifndef KVMLAB_VIRTIO_RNG_H
#define KVMLAB_VIRTIO_RNG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "virtio/virtio_pci.h"

#define RNG_QUEUE_SIZE 256

struct virtio_rng {
	struct virtio_pci *t;
	/* Source of random bytes: getrandom(2) in a VM, a pattern in tests.
	 * Returns bytes written or a negative errno. */
	ssize_t (*fill)(void *buf, size_t len);
	struct vq_elem elem; /* the element being served (IO thread only) */
	_Atomic uint64_t requests;
	_Atomic uint64_t bytes;
	_Atomic uint64_t errors; /* malformed chains seen */
};

extern const struct virtio_dev_ops virtio_rng_ops;

/* Features the device offers (VIRTIO_F_VERSION_1 is added by the transport). */
uint64_t virtio_rng_features(void);

/* A host source of random bytes for rng->fill: getrandom, non-blocking. */
ssize_t virtio_rng_getrandom(void *buf, size_t len);

#endif
