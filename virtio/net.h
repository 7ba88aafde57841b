/* virtio-net (device type 1): the userspace data path between a guest's
 * virtqueues and a tap device, one tap queue fd per queue pair.
 *
 * Queue layout (virtio 1.x): receiveq0, transmitq0, receiveq1, transmitq1,
 * ..., receiveq(N-1), transmitq(N-1), controlq: 2N + 1 transport queues.  A
 * driver that does not negotiate VIRTIO_NET_F_MQ uses one pair and finds
 * the control queue at index 2; the device follows (see
 * virtio_net_queue_pair).
 *
 * The vnet header is struct virtio_net_hdr_mrg_rxbuf (12 bytes) in both
 * directions; the tap is set to the same size (TUNSETVNETHDRSZ 12), so
 * header bytes pass unchanged between guest and tap, except num_buffers,
 * which the device writes on receive.  Frames move with readv / writev
 * straight between guest buffers and the tap: no copy, no allocation per
 * packet (every scratch area is allocated by virtio_net_init).
 *
 * Entry points and locks:
 *  - TX: the transport's queue_notify on a transmit queue (IO thread, the
 *    queue lock held by the transport).
 *  - RX: virtio_net_rx(net, pair), called by the VMM's IO thread when the
 *    pair's tap fd is readable (registered EPOLLIN | EPOLLET); it takes the
 *    receive queue's lock itself.  The transport's queue_notify on a
 *    receive queue (the guest posted buffers after the device ran out;
 *    lock held by the transport) runs the same receive path.  Reading goes
 *    on until the tap is empty (EAGAIN: the next edge wakes us) or the guest
 *    has no buffers (back-pressure: the frame stays in the tap, the device
 *    asks the guest to kick and its kick resumes receiving).  After a
 *    budget of frames or bytes the device re-kicks the queue through the
 *    transport's host ops and returns, so one busy queue does not starve
 *    the others on its IO thread.  Nothing ever spins.
 *  - Control queue: queue_notify (IO thread, lock held).
 *  - activate / reset: vCPU thread (t->lock, and for reset every queue
 *    lock, held).  activate calls tap_ops->set_offload.
 *
 * Transmit errors: a tap write that fails (EAGAIN: the tap's queue is full;
 * or the tap refused the header) drops the frame, counted, and the chain
 * is completed anyway: waiting for EPOLLOUT is not implemented. */
#ifndef KVMLAB_VIRTIO_NET_H
#define KVMLAB_VIRTIO_NET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/virtio_pci.h"
#include "virtio/virtqueue.h"

#define VIRTIO_NET_MAX_PAIRS   64
#define VIRTIO_NET_HDR_LEN     12    /* struct virtio_net_hdr_mrg_rxbuf */
#define VIRTIO_NET_MAX_FRAME   65550 /* largest frame (GSO) after the header */
#define VIRTIO_NET_DEFAULT_MTU 1500
/* Receive window: a merged frame may span this many guest chains with this
 * many iovecs in all (readv's limit, IOV_MAX, with one left for the spill). */
#define VIRTIO_NET_RX_CHAINS 256
#define VIRTIO_NET_RX_IOV    1024
/* Default budgets per call before the queue is re-kicked (as vhost-net). */
#define VIRTIO_NET_BUDGET_PKTS	256
#define VIRTIO_NET_BUDGET_BYTES (512u << 10)

/* What the device model needs from the VMM's tap. */
struct virtio_net_tap_ops {
	/* Set TUN_F_* offload flags (TUNSETOFFLOAD) on every tap queue fd.
	 * Called by activate on a vCPU thread; a failure (negative errno)
	 * puts the device in NEEDS_RESET.  Required. */
	int (*set_offload)(void *opaque, unsigned int flags);
	/* Optional: the driver now uses `pairs` queue pairs (1 after each
	 * activation, then what VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET asks).  The
	 * VMM may attach/detach tap queues so the kernel stops steering frames
	 * to pairs the guest does not read.  Control queue's IO thread (or the
	 * vCPU thread for activate).  Return 0, or a negative errno to refuse
	 * (the command is answered VIRTIO_NET_ERR and nothing changes; from
	 * activate, NEEDS_RESET). */
	int (*set_queue_pairs)(void *opaque, unsigned int pairs);
};

struct virtio_net_config_opts {
	uint8_t mac[6];
	uint16_t mtu;	    /* 68..65535 announced with VIRTIO_NET_F_MTU; 0: not announced
			     * (VIRTIO_NET_DEFAULT_MTU sizes receive buffers) */
	unsigned int pairs; /* queue pairs N, 1..VIRTIO_NET_MAX_PAIRS (VIRTIO_NET_F_MQ if > 1) */
	bool offloads;	    /* offer checksum / TSO offloads */
	unsigned int tap_offloads; /* TUN_F_* the tap accepts (probed by the VMM): UFO and
				    * USO features are offered only if TUN_F_UFO /
				    * TUN_F_USO4|TUN_F_USO6 are in it */
};

/* Per-queue counters (any thread reads them; relaxed). */
struct virtio_net_queue_stats {
	_Atomic uint64_t packets;      /* frames moved (rx: to the guest, tx: to the tap;
					* ctrl: commands answered OK) */
	_Atomic uint64_t bytes;	       /* their bytes, vnet header excluded */
	_Atomic uint64_t drops;	       /* rx: frame larger than the buffers, read error;
					* tx: tap write error */
	_Atomic uint64_t backpressure; /* rx: stops with a frame waiting in the tap and too
					* few guest buffers for it */
	_Atomic uint64_t malformed;    /* chains refused (tx: writable part, too short or long;
					* rx: readable part or shorter than the header;
					* ctrl: commands answered ERR, no ack byte; any:
					* a broken ring) */
	_Atomic uint64_t batches;      /* passes that completed chains: one used-index
					* update and at most one interrupt each */
	_Atomic uint64_t requeues;     /* budget used up: the queue re-kicked itself */
};

/* A plain copy of the counters. */
struct virtio_net_stats {
	uint64_t packets, bytes, drops, backpressure, malformed, batches, requeues;
};

/* One chain of the receive window: its writable iovecs in the window's
 * array, the chain's head and writable length. */
struct virtio_net_rx_chain {
	uint16_t head;
	uint16_t niov;
	uint32_t iov; /* index of its first iovec in rx_window.iov */
	uint32_t len;
};

/* Chains popped for receiving (receive queues only).  A frame fills the
 * front chains; leftovers serve the next frame and are given back with
 * vq_unpop at the end of the call (they are always the last ones popped). */
struct virtio_net_rx_window {
	struct iovec iov[VIRTIO_NET_RX_IOV];
	struct virtio_net_rx_chain chain[VIRTIO_NET_RX_CHAINS];
	unsigned int first, n;	      /* chains [first, first + n) */
	unsigned int iov_first, niov; /* their iovecs */
	uint64_t len;		      /* their writable bytes */
	uint8_t spill[64];	      /* readv's last iovec: bytes here mean truncation */
};

struct virtio_net_queue {
	struct virtio_net *net;
	unsigned int idx;		 /* transport queue index */
	struct vq_elem elem;		 /* pop scratch (the queue's IO thread only) */
	struct virtio_net_rx_window *rx; /* receive queues only */
	struct virtio_net_queue_stats stats;
};

struct virtio_net {
	struct virtio_pci *t; /* set by the VMM after virtio_pci_init */
	struct virtio_net_config_opts cfg;
	int tap_fd[VIRTIO_NET_MAX_PAIRS]; /* per pair, owned by the VMM, O_NONBLOCK */
	const struct virtio_net_tap_ops *tap_ops;
	void *tap_opaque;
	unsigned int nq;	    /* 2 * pairs + 1 */
	struct virtio_net_queue *q; /* nq */
	/* Budget per call (tests may lower them before the device runs). */
	unsigned int budget_pkts, budget_bytes;
	/* Set by activate before the transport marks the device running; read
	 * by IO threads only while it runs. */
	uint64_t features;    /* negotiated */
	uint32_t rx_need;     /* bytes a merged frame must find: header + largest frame */
	unsigned int offload; /* TUN_F_* given to set_offload */
	_Atomic unsigned int active_pairs; /* receive stops on pairs >= this */
};

/* Set up net with cfg and one tap fd per pair (tap_fds[0, cfg->pairs),
 * non-blocking, vnet header 12 bytes; owned by the caller), tap_ops (const,
 * static lifetime) and its opaque.  Allocates every scratch area.  Returns
 * 0, -EINVAL (pairs, mtu, fds, ops) or -ENOMEM.  Then call virtio_pci_init
 * with &virtio_net_ops, net, virtio_net_features(net),
 * virtio_net_num_queues(net) and virtio_net_cfg_len(), and set net->t. */
int virtio_net_init(struct virtio_net *net, const struct virtio_net_config_opts *cfg,
		    const int *tap_fds, const struct virtio_net_tap_ops *tap_ops, void *tap_opaque);

/* Free what virtio_net_init allocated (queues no longer served; the tap
 * fds stay open). */
void virtio_net_destroy(struct virtio_net *net);

/* Device features for cfg (VIRTIO_F_VERSION_1 is added by the transport). */
uint64_t virtio_net_features(const struct virtio_net *net);

/* Bytes of device configuration space (mac, status, max_virtqueue_pairs,
 * mtu of struct virtio_net_config). */
uint32_t virtio_net_cfg_len(void);

/* Transport queues: 2 * pairs + 1. */
unsigned int virtio_net_num_queues(const struct virtio_net *net);

/* The pair transport queue q belongs to (q / 2), -1 for the control queue
 * (and for the offered control queue slot a driver without MQ leaves),
 * -EINVAL for q out of range.  Before negotiation and with VIRTIO_NET_F_MQ
 * the control queue is the last one; once a driver accepted features
 * without MQ it is queue 2 (pairs >= 1 then carry nothing).  For placing
 * queues on IO threads the MQ layout is the one to use. */
int virtio_net_queue_pair(const struct virtio_net *net, unsigned int q);

/* Tap handler: the tap fd of pair became readable.  IO thread; takes the
 * receive queue's lock; does nothing unless the device runs and the pair
 * is active (the frames wait in the tap: DRIVER_OK and pair activation
 * kick the receive queues, which reads them).  Never blocks. */
void virtio_net_rx(struct virtio_net *net, unsigned int pair);

/* Copy queue q's counters into *out (zeroes for q out of range). */
void virtio_net_queue_stats(const struct virtio_net *net, unsigned int q,
			    struct virtio_net_stats *out);

/* TUN_F_* flags that follow from negotiated features (GUEST_CSUM, then
 * GUEST_TSO4/6, GUEST_ECN, GUEST_UFO, GUEST_USO4/6). */
unsigned int virtio_net_tun_offloads(uint64_t features);

extern const struct virtio_dev_ops virtio_net_ops;

#endif
