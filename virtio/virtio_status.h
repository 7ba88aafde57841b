/* The virtio device-status state machine as a transition table (virtio
 * 1.2 sec. 3.1.1): the driver may only add bits, each bit needs the ones
 * before it, 0 resets, FAILED may come at any time.  Pure. */
#ifndef KVMLAB_VIRTIO_VIRTIO_STATUS_H
#define KVMLAB_VIRTIO_VIRTIO_STATUS_H

#include <stdint.h>

/* What the transport must do for a status write; flags may combine. */
enum {
	VS_REFUSE = 0,	       /* ignore the write (and count it) */
	VS_ACCEPT = 1,	       /* store the new status */
	VS_RESET = 2,	       /* the driver wrote 0: reset the device */
	VS_CHECK_FEATURES = 4, /* FEATURES_OK was added: validate, keep it only if valid */
	VS_ACTIVATE = 8,       /* DRIVER_OK was added: start the device */
};

/* Decide a driver write of `next` when the status is `cur`.
 * VIRTIO_CONFIG_S_NEEDS_RESET is the device's bit: it is ignored in both
 * values.  Returns VS_RESET for 0; VS_REFUSE when a bit would be cleared,
 * an unknown bit set, a bit's prerequisites are missing from `next`, or
 * the status already has FAILED; otherwise VS_ACCEPT plus
 * VS_CHECK_FEATURES / VS_ACTIVATE for newly added FEATURES_OK / DRIVER_OK. */
int virtio_status_transition(uint8_t cur, uint8_t next);

#endif
