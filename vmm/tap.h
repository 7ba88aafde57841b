/* tap devices for virtio-net: one fd per queue pair (IFF_MULTI_QUEUE),
 * IFF_VNET_HDR with the 12-byte virtio 1.x header, non-blocking.  An
 * existing tap is attached as it is; a missing one is created (needs
 * CAP_NET_ADMIN) without TUNSETPERSIST, so the kernel removes it when
 * kvmlab's fds close, at exit or on any failure. */
#ifndef KVMLAB_VMM_TAP_H
#define KVMLAB_VMM_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#define TAP_MAX_QUEUES	 16
#define TAP_VNET_HDR_LEN 12 /* struct virtio_net_hdr_mrg_rxbuf */

struct tap {
	char name[IFNAMSIZ];
	int fd[TAP_MAX_QUEUES];
	unsigned int nq;
	bool created;	       /* it did not exist before kvmlab */
	unsigned int offloads; /* TUN_F_* the tap accepts (probed) */
};

/* Attach to (or create) tap `name` with nq queues (1..TAP_MAX_QUEUES).
 * Returns 0, or a negative errno with a one-line reason naming --net and
 * the tap in err; nothing stays open then. */
int tap_open(struct tap *t, const char *name, unsigned int nq, char *err, size_t errlen);

/* TUNSETOFFLOAD with flags on every queue fd.  Returns 0 or -errno. */
int tap_set_offload(struct tap *t, unsigned int flags);

/* Keep the first n queues attached and detach the others
 * (TUNSETQUEUE), so the kernel steers frames only to queues the guest
 * reads.  Returns 0 or -errno. */
int tap_set_queues(struct tap *t, unsigned int n);

/* Close every fd (a tap we created disappears). */
void tap_close(struct tap *t);

#endif
