/* virtio-net over a tap: transmit (writev of the guest's chain), receive
 * (readv into one or several guest chains, merged buffers), the control
 * queue, features, configuration space and tap offloads.  See net.h. */
#include "virtio/net.h"
#include "virtio/iov.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

/* UDP segmentation offload (Linux 6.2); older UAPI headers lack it. */
#ifndef VIRTIO_NET_F_GUEST_USO4
#define VIRTIO_NET_F_GUEST_USO4 54
#define VIRTIO_NET_F_GUEST_USO6 55
#define VIRTIO_NET_F_HOST_USO	56
#endif
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

/* The header, the configuration space and the control commands are
 * little-endian; so is the host. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "virtio-net assumes a little-endian host");
_Static_assert(sizeof(struct virtio_net_hdr_mrg_rxbuf) == VIRTIO_NET_HDR_LEN, "vnet header");
_Static_assert(offsetof(struct virtio_net_config, speed) == 12, "config layout");

#define BIT(n)		(1ull << (n))
#define NUM_BUFFERS_OFF offsetof(struct virtio_net_hdr_mrg_rxbuf, num_buffers)
#define TX_MAX		(VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME)
#define ETH_OVERHEAD	(14 + 4) /* Ethernet header and one VLAN tag */
#define CTRL_HDR_LEN	sizeof(struct virtio_net_ctrl_hdr)

static bool has(uint64_t features, unsigned int bit)
{
	return (features >> bit) & 1;
}

/* ---- iovec helpers ------------------------------------------------------ */

/* ---- features, configuration, queue layout ------------------------------ */

uint64_t virtio_net_features(const struct virtio_net *net)
{
	const struct virtio_net_config_opts *c = &net->cfg;
	uint64_t f = BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) |
		     BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_CTRL_VQ) |
		     BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC);

	if (c->mtu)
		f |= BIT(VIRTIO_NET_F_MTU);
	if (c->pairs > 1)
		f |= BIT(VIRTIO_NET_F_MQ);
	if (!c->offloads)
		return f;
	f |= BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4) |
	     BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_ECN) |
	     BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_HOST_ECN);
	if (c->tap_offloads & TUN_F_UFO)
		f |= BIT(VIRTIO_NET_F_GUEST_UFO) | BIT(VIRTIO_NET_F_HOST_UFO);
	/* the tap takes USO4 and USO6 only together */
	if ((c->tap_offloads & (TUN_F_USO4 | TUN_F_USO6)) == (TUN_F_USO4 | TUN_F_USO6))
		f |= BIT(VIRTIO_NET_F_GUEST_USO4) | BIT(VIRTIO_NET_F_GUEST_USO6) |
		     BIT(VIRTIO_NET_F_HOST_USO);
	return f;
}

unsigned int virtio_net_tun_offloads(uint64_t f)
{
	unsigned int fl;

	/* The tap ignores segmentation flags without TUN_F_CSUM and refuses
	 * ECN without TSO and USO4 without USO6 (EINVAL): only consistent
	 * sets, and never a kind of frame the guest did not accept. */
	if (!has(f, VIRTIO_NET_F_GUEST_CSUM))
		return 0;
	fl = TUN_F_CSUM;
	if (has(f, VIRTIO_NET_F_GUEST_TSO4))
		fl |= TUN_F_TSO4;
	if (has(f, VIRTIO_NET_F_GUEST_TSO6))
		fl |= TUN_F_TSO6;
	if ((fl & (TUN_F_TSO4 | TUN_F_TSO6)) && has(f, VIRTIO_NET_F_GUEST_ECN))
		fl |= TUN_F_TSO_ECN;
	if (has(f, VIRTIO_NET_F_GUEST_UFO))
		fl |= TUN_F_UFO;
	if (has(f, VIRTIO_NET_F_GUEST_USO4) && has(f, VIRTIO_NET_F_GUEST_USO6))
		fl |= TUN_F_USO4 | TUN_F_USO6;
	return fl;
}

uint32_t virtio_net_cfg_len(void)
{
	return offsetof(struct virtio_net_config, speed);
}

unsigned int virtio_net_num_queues(const struct virtio_net *net)
{
	return 2 * net->cfg.pairs + 1;
}

/* The control queue's index for negotiated features f (0: not yet
 * negotiated, the layout offered). */
static unsigned int ctrl_queue(const struct virtio_net *net, uint64_t f)
{
	return f == 0 || has(f, VIRTIO_NET_F_MQ) ? 2 * net->cfg.pairs : 2;
}

int virtio_net_queue_pair(const struct virtio_net *net, unsigned int q)
{
	if (q >= virtio_net_num_queues(net))
		return -EINVAL;
	/* the control queue, or its offered slot a driver without MQ leaves */
	if (q == ctrl_queue(net, net->features) || q >= 2 * net->cfg.pairs)
		return -1;
	return (int)(q / 2);
}

static void net_cfg_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_net *net = dev;
	struct virtio_net_config c;

	memset(&c, 0, sizeof(c));
	memcpy(c.mac, net->cfg.mac, sizeof(c.mac));
	c.status = VIRTIO_NET_S_LINK_UP;
	c.max_virtqueue_pairs = (uint16_t)net->cfg.pairs;
	c.mtu = net->cfg.mtu;
	memcpy(data, (const uint8_t *)&c + off, len); /* off + len <= cfg_len */
}

/* ---- counters and batches ----------------------------------------------- */

static void count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* End of a pass over queue nq: publish the used entries (one used-index
 * update) and send at most one interrupt (EVENT_IDX honoured). */
static void publish(struct virtio_net *net, struct virtio_net_queue *nq, struct vq *vq, bool any)
{
	if (any)
		count(&nq->stats.batches, 1);
	vq_flush(vq);
	if (vq_should_notify(vq))
		virtio_pci_queue_interrupt(net->t, nq->idx);
}

/* The budget is used up: come back through the queue's kick (after the
 * IO thread served its other fds) instead of going on now. */
static void requeue(struct virtio_net *net, struct virtio_net_queue *nq)
{
	count(&nq->stats.requeues, 1);
	net->t->host->kick(net->t->host_opaque, nq->idx);
}

/* ---- transmit ----------------------------------------------------------- */

/* Send one chain to the tap.  Returns the bytes it carried (for the budget). */
static uint32_t tx_one(struct virtio_net_queue *nq, int fd, const struct vq_elem *e)
{
	ssize_t n;

	/* Header first, then the frame, all device-readable. */
	if (e->in_num || e->out_len < VIRTIO_NET_HDR_LEN || e->out_len > TX_MAX) {
		count(&nq->stats.malformed, 1);
		return 0;
	}
	/* Straight from guest memory: the tap takes one frame per write. */
	do
		n = writev(fd, e->iov, e->out_num);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		/* EAGAIN (tap queue full) or a header the tap refused: the
		 * frame is dropped and the chain completed (see net.h) */
		count(&nq->stats.drops, 1);
		return e->out_len;
	}
	count(&nq->stats.packets, 1);
	count(&nq->stats.bytes, e->out_len - VIRTIO_NET_HDR_LEN);
	return e->out_len;
}

static void tx_serve(struct virtio_net *net, unsigned int pair, struct virtio_net_queue *nq,
		     struct vq *vq)
{
	int fd = net->tap_fd[pair];
	unsigned int pkts = 0;
	uint64_t bytes = 0;
	int r = 0;

	for (;;) {
		bool any = false, budget = false;

		vq_disable_notify(vq);
		for (;;) {
			if (pkts >= net->budget_pkts || bytes >= net->budget_bytes) {
				budget = true;
				break;
			}
			r = vq_pop(vq, &nq->elem);
			if (r <= 0)
				break;
			bytes += tx_one(nq, fd, &nq->elem);
			vq_push(vq, nq->elem.head, 0);
			pkts++;
			any = true;
		}
		/* one used-index update and at most one interrupt per batch */
		publish(net, nq, vq, any);
		if (r < 0) {
			count(&nq->stats.malformed, 1);
			virtio_pci_queue_broken(net->t, nq->idx);
			return;
		}
		if (budget) {
			requeue(net, nq); /* notifications stay off: our kick comes */
			return;
		}
		if (!vq_enable_notify(vq))
			return;
	}
}

/* ---- receive ------------------------------------------------------------ */

/* Why a receive pass stopped (RX_MORE: it did not). */
enum rx_stop { RX_MORE, RX_EMPTY, RX_NO_BUFFERS, RX_BUDGET, RX_BROKEN };

static void window_clear(struct virtio_net_rx_window *w)
{
	w->first = w->n = 0;
	w->iov_first = w->niov = 0;
	w->len = 0;
}

/* Move the window's chains and iovecs to the front of their arrays. */
static void window_compact(struct virtio_net_rx_window *w)
{
	memmove(w->chain, &w->chain[w->first], w->n * sizeof(w->chain[0]));
	memmove(w->iov, &w->iov[w->iov_first], w->niov * sizeof(w->iov[0]));
	for (unsigned int i = 0; i < w->n; i++)
		w->chain[i].iov -= w->iov_first;
	w->first = 0;
	w->iov_first = 0;
}

/* Append the writable part of e (a chain with no readable part).  Returns
 * false if its iovecs do not fit (with one slot kept for the spill). */
static bool window_add(struct virtio_net_rx_window *w, const struct vq_elem *e)
{
	struct virtio_net_rx_chain *c;

	if (w->niov + e->in_num + 1u > VIRTIO_NET_RX_IOV)
		return false;
	if (w->iov_first + w->niov + e->in_num + 1u > VIRTIO_NET_RX_IOV ||
	    w->first + w->n == VIRTIO_NET_RX_CHAINS)
		window_compact(w);
	c = &w->chain[w->first + w->n];
	c->head = e->head;
	c->niov = e->in_num;
	c->iov = w->iov_first + w->niov;
	c->len = e->in_len;
	memcpy(&w->iov[c->iov], &e->iov[e->out_num], e->in_num * sizeof(e->iov[0]));
	w->n++;
	w->niov += e->in_num;
	w->len += e->in_len;
	return true;
}

/* Drop the first k chains of the window (used by a frame). */
static void window_consume(struct virtio_net_rx_window *w, unsigned int k)
{
	for (unsigned int i = 0; i < k; i++) {
		const struct virtio_net_rx_chain *c = &w->chain[w->first + i];

		w->niov -= c->niov;
		w->len -= c->len;
	}
	w->first += k;
	w->n -= k;
	if (w->n == 0)
		window_clear(w);
	else
		w->iov_first = w->chain[w->first].iov;
}

/* Pop chains into the window until it can take the largest frame: one
 * chain without merged buffers, net->rx_need bytes with them.  Returns
 * RX_MORE (go and read), RX_NO_BUFFERS or RX_BROKEN. */
static enum rx_stop rx_fill(struct virtio_net *net, struct virtio_net_queue *nq, struct vq *vq,
			    bool mrg, bool *any)
{
	struct virtio_net_rx_window *w = nq->rx;
	struct vq_elem *e = &nq->elem;
	int r;

	for (;;) {
		if (mrg ? w->len >= net->rx_need : w->n > 0)
			return RX_MORE;
		/* As much as we hold (never more than the ring has entries, so
		 * vq_unpop can give them all back): a larger frame is dropped. */
		if (w->n == VIRTIO_NET_RX_CHAINS || w->n >= vq->size)
			return RX_MORE;
		r = vq_pop(vq, e);
		if (r < 0)
			return RX_BROKEN;
		if (r == 0)
			return RX_NO_BUFFERS; /* dry: the window goes back and we wait */
		if (e->out_num || e->in_len < VIRTIO_NET_HDR_LEN) {
			/* Not a receive buffer.  Completed unused when it is
			 * next in line; behind window chains it goes back
			 * (they must stay the last ones popped, for vq_unpop)
			 * and the window is served first. */
			if (w->n == 0) {
				count(&nq->stats.malformed, 1);
				vq_push(vq, e->head, 0);
				*any = true;
				continue;
			}
			vq_unpop(vq, 1);
			return RX_MORE;
		}
		if (!window_add(w, e)) {
			vq_unpop(vq, 1); /* too many iovecs for one readv */
			return RX_MORE;
		}
	}
}

/* A frame of n bytes (header included) is in the window's first chains:
 * set num_buffers, push them with their lengths.  Returns the chains used. */
static unsigned int rx_deliver(struct virtio_net_rx_window *w, struct vq *vq, size_t n)
{
	const struct virtio_net_rx_chain *first = &w->chain[w->first];
	unsigned int used = 0;
	uint16_t num;
	size_t rem;

	for (rem = n; rem > 0; used++)
		rem -= rem < w->chain[w->first + used].len ? rem : w->chain[w->first + used].len;
	/* The tap does not write num_buffers: always ours, 1 without merged
	 * buffers.  Every chain holds >= 12 bytes, so it lies in the first
	 * one.  Published with the used index by vq_flush's release. */
	num = (uint16_t)used;
	iov_scatter(&w->iov[first->iov], first->niov, NUM_BUFFERS_OFF, &num, sizeof(num));
	rem = n;
	for (unsigned int i = 0; i < used; i++) {
		const struct virtio_net_rx_chain *c = &w->chain[w->first + i];
		uint32_t len = rem < c->len ? (uint32_t)rem : c->len;

		vq_push(vq, c->head, len);
		rem -= len;
	}
	window_consume(w, used);
	return used;
}

/* Whether fd has something to read now (for counting back-pressure). */
static bool readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* Receive frames from fd into the guest until something stops us.  Chains
 * left in the window go back to the ring; *seen gets how many (the chains
 * available that were not enough, for RX_NO_BUFFERS). */
static enum rx_stop rx_pass(struct virtio_net *net, struct virtio_net_queue *nq, struct vq *vq,
			    int fd, unsigned int *seen, bool *any)
{
	struct virtio_net_rx_window *w = nq->rx;
	bool mrg = has(net->features, VIRTIO_NET_F_MRG_RXBUF);
	unsigned int pkts = 0;
	uint64_t bytes = 0;
	enum rx_stop st;

	for (;;) {
		struct iovec *v;
		unsigned int cnt;
		uint64_t cap;
		ssize_t n;

		if (pkts >= net->budget_pkts || bytes >= net->budget_bytes) {
			st = RX_BUDGET;
			break;
		}
		st = rx_fill(net, nq, vq, mrg, any);
		if (st != RX_MORE)
			break;
		/* The window's chains (only the first without merged buffers),
		 * then the spill: a byte there means the frame did not fit. */
		v = &w->iov[w->iov_first];
		cnt = mrg ? w->niov : w->chain[w->first].niov;
		cap = mrg ? w->len : w->chain[w->first].len;
		v[cnt] = (struct iovec){.iov_base = w->spill, .iov_len = sizeof(w->spill)};
		do
			n = readv(fd, v, (int)cnt + 1);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			/* EAGAIN: the tap is empty and its next frame brings
			 * a new edge.  An error or end of file (a socket in
			 * tests) ends the pass as well: no spinning on it. */
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				count(&nq->stats.drops, 1);
			st = RX_EMPTY;
			break;
		}
		pkts++;
		bytes += (uint64_t)n;
		if ((uint64_t)n > cap || (size_t)n < VIRTIO_NET_HDR_LEN) {
			/* Truncated (the tap reports the whole frame, a socket
			 * filled the spill) or a runt: dropped; the chains
			 * were not used and take the next frame. */
			count(&nq->stats.drops, 1);
			continue;
		}
		rx_deliver(w, vq, (size_t)n);
		*any = true;
		count(&nq->stats.packets, 1);
		count(&nq->stats.bytes, (uint64_t)n - VIRTIO_NET_HDR_LEN);
	}
	*seen = w->n;
	if (st != RX_BROKEN && w->n)
		vq_unpop(vq, w->n); /* popped in this pass, none pushed */
	window_clear(w);
	return st;
}

/* The receive path of pair: IO thread, the receive queue's lock held,
 * device running. */
static void rx_serve(struct virtio_net *net, unsigned int pair, struct vq *vq)
{
	struct virtio_net_queue *nq = &net->q[2 * pair];
	int fd = net->tap_fd[pair];

	/* Inactive pairs (and, without MQ, every pair but 0: queue 2 is then
	 * the control queue) leave their frames in the tap.  Sequentially
	 * consistent load, paired with the store in set_pairs. */
	if (pair >= atomic_load(&net->active_pairs))
		return;
	for (;;) {
		unsigned int seen = 0;
		bool any = false;
		enum rx_stop st;

		/* No kicks while we have buffers: the tap drives us. */
		vq_disable_notify(vq);
		st = rx_pass(net, nq, vq, fd, &seen, &any);
		publish(net, nq, vq, any);
		switch (st) {
		case RX_BROKEN:
			count(&nq->stats.malformed, 1);
			virtio_pci_queue_broken(net->t, nq->idx);
			return;
		case RX_BUDGET:
			requeue(net, nq);
			return;
		case RX_NO_BUFFERS:
			/* Back-pressure: frames stay in the tap; the guest's
			 * kick for its next buffer brings us back. */
			if (readable(fd))
				count(&nq->stats.backpressure, 1);
			if (vq_enable_notify_after(vq, seen))
				continue; /* more came meanwhile */
			return;
		default:
			return;
		}
	}
}

void virtio_net_rx(struct virtio_net *net, unsigned int pair)
{
	struct virtio_pci *t = net->t;
	struct virtio_pci_queue *pq;
	unsigned int q = 2 * pair;

	if (pair >= net->cfg.pairs || !t)
		return;
	virtio_pci_queue_lock(t, q);
	pq = &t->queues[q];
	/* The transport's own condition for serving a queue (as in
	 * virtio_pci_queue_kicked): running is set after activate stored the
	 * features and cleared before a reset takes this lock. */
	if (atomic_load(&t->running) && !atomic_load(&t->needs_reset) && pq->vq.size &&
	    !pq->vq.broken)
		rx_serve(net, pair, &pq->vq);
	virtio_pci_queue_unlock(t, q);
}

/* ---- control queue ------------------------------------------------------ */

/* Switch to n active pairs.  Returns VIRTIO_NET_OK or VIRTIO_NET_ERR. */
static uint8_t set_pairs(struct virtio_net *net, unsigned int n)
{
	unsigned int old = atomic_load(&net->active_pairs);

	if (n == old)
		return VIRTIO_NET_OK;
	if (net->tap_ops->set_queue_pairs && net->tap_ops->set_queue_pairs(net->tap_opaque, n) < 0)
		return VIRTIO_NET_ERR;
	/* Sequentially consistent: a receive pass that starts after the
	 * kicks below (an eventfd write and read in between) sees n. */
	atomic_store(&net->active_pairs, n);
	/* Frames may already wait in the taps of pairs just enabled, with no
	 * edge to come: have their receive queues served. */
	for (unsigned int p = old; p < n; p++)
		net->t->host->kick(net->t->host_opaque, 2 * p);
	return VIRTIO_NET_OK;
}

/* Execute the command in e's readable part.  Returns the ack. */
static uint8_t ctrl_command(struct virtio_net *net, const struct vq_elem *e)
{
	struct virtio_net_ctrl_hdr h;
	uint32_t dlen;
	uint16_t pairs;

	if (iov_gather(e->iov, e->out_num, 0, &h, sizeof(h)) < sizeof(h))
		return VIRTIO_NET_ERR;
	dlen = e->out_len - (uint32_t)CTRL_HDR_LEN;
	switch (h.class) {
	case VIRTIO_NET_CTRL_MQ:
		if (h.cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
		    !has(net->features, VIRTIO_NET_F_MQ) || dlen < sizeof(pairs))
			return VIRTIO_NET_ERR;
		iov_gather(e->iov, e->out_num, CTRL_HDR_LEN, &pairs, sizeof(pairs));
		if (pairs < 1 || pairs > net->cfg.pairs)
			return VIRTIO_NET_ERR;
		return set_pairs(net, pairs);
	case VIRTIO_NET_CTRL_RX:
		/* promiscuous / all-multicast: the tap delivers what it gets */
		if ((h.cmd == VIRTIO_NET_CTRL_RX_PROMISC || h.cmd == VIRTIO_NET_CTRL_RX_ALLMULTI) &&
		    dlen >= 1)
			return VIRTIO_NET_OK;
		return VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_MAC:
		/* filters are not applied: accepted */
		if (h.cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET ||
		    (h.cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET && dlen >= 6))
			return VIRTIO_NET_OK;
		return VIRTIO_NET_ERR;
	default:
		return VIRTIO_NET_ERR;
	}
}

static void ctrl_serve(struct virtio_net *net, struct virtio_net_queue *nq, struct vq *vq)
{
	struct vq_elem *e = &nq->elem;
	int r = 0;

	for (;;) {
		bool any = false, bad = false;

		vq_disable_notify(vq);
		while ((r = vq_pop(vq, e)) == 1) {
			uint8_t ack;

			any = true;
			if (e->in_len == 0) {
				/* nowhere to answer: the driver waits forever */
				vq_push(vq, e->head, 0);
				bad = true;
				break;
			}
			ack = ctrl_command(net, e);
			if (ack == VIRTIO_NET_OK)
				count(&nq->stats.packets, 1);
			else
				count(&nq->stats.malformed, 1);
			/* the ack is the first writable byte; published by
			 * vq_flush's release */
			iov_scatter(&e->iov[e->out_num], e->in_num, 0, &ack, 1);
			vq_push(vq, e->head, 1);
		}
		publish(net, nq, vq, any);
		if (r < 0 || bad) {
			count(&nq->stats.malformed, 1);
			virtio_pci_queue_broken(net->t, nq->idx);
			return;
		}
		if (!vq_enable_notify(vq))
			return;
	}
}

/* ---- device ops --------------------------------------------------------- */

static void net_queue_notify(void *dev, unsigned int q, struct vq *vq)
{
	struct virtio_net *net = dev;

	if (q >= net->nq)
		return;
	if (q == ctrl_queue(net, net->features))
		ctrl_serve(net, &net->q[q], vq);
	else if (q >= 2 * net->cfg.pairs)
		return; /* the offered control queue, unused by a driver without MQ */
	else if (q % 2)
		tx_serve(net, q / 2, &net->q[q], vq);
	else
		rx_serve(net, q / 2, vq);
}

static int net_activate(void *dev)
{
	struct virtio_net *net = dev;
	uint64_t f = virtio_pci_features(net->t);
	bool big = has(f, VIRTIO_NET_F_GUEST_TSO4) || has(f, VIRTIO_NET_F_GUEST_TSO6) ||
		   has(f, VIRTIO_NET_F_GUEST_UFO) || has(f, VIRTIO_NET_F_GUEST_USO4) ||
		   has(f, VIRTIO_NET_F_GUEST_USO6);
	unsigned int mtu = net->cfg.mtu ? net->cfg.mtu : VIRTIO_NET_DEFAULT_MTU;
	int r;

	net->features = f;
	net->rx_need = VIRTIO_NET_HDR_LEN + (big ? VIRTIO_NET_MAX_FRAME : mtu + ETH_OVERHEAD);
	net->offload = virtio_net_tun_offloads(f);
	for (unsigned int i = 0; i < net->nq; i++)
		if (net->q[i].rx)
			window_clear(net->q[i].rx);
	atomic_store(&net->active_pairs, 1);
	/* The tap must not hand us frames the guest did not accept (a
	 * previous driver may have accepted more): a failure is fatal, but
	 * for -EBADFD, a tap whose interface was deleted under us: it hands
	 * us nothing any more, so the device runs on with its transmits
	 * dropped (and counted) rather than refusing the driver. */
	r = net->tap_ops->set_offload(net->tap_opaque, net->offload);
	if (r == -EBADFD)
		return 0;
	if (r < 0)
		return r;
	if (net->tap_ops->set_queue_pairs) {
		r = net->tap_ops->set_queue_pairs(net->tap_opaque, 1);
		if (r < 0 && r != -EBADFD)
			return r;
	}
	return 0;
}

/* Every queue lock held: no pass is running.  Counters stay. */
static void net_reset(void *dev)
{
	struct virtio_net *net = dev;

	net->features = 0;
	net->rx_need = 0;
	net->offload = 0;
	atomic_store(&net->active_pairs, 1);
	for (unsigned int i = 0; i < net->nq; i++)
		if (net->q[i].rx)
			window_clear(net->q[i].rx);
}

const struct virtio_dev_ops virtio_net_ops = {
    .name = "net",
    .device_id = VIRTIO_ID_NET,
    .class_code = 0x020000, /* network controller, Ethernet */
    .cfg_read = net_cfg_read,
    .activate = net_activate,
    .reset = net_reset,
    .queue_notify = net_queue_notify,
};

/* ---- setup and stats ---------------------------------------------------- */

int virtio_net_init(struct virtio_net *net, const struct virtio_net_config_opts *cfg,
		    const int *tap_fds, const struct virtio_net_tap_ops *tap_ops, void *tap_opaque)
{
	if (!net || !cfg || !tap_fds || !tap_ops || !tap_ops->set_offload || cfg->pairs == 0 ||
	    cfg->pairs > VIRTIO_NET_MAX_PAIRS || (cfg->mtu && cfg->mtu < 68))
		return -EINVAL;
	for (unsigned int p = 0; p < cfg->pairs; p++)
		if (tap_fds[p] < 0)
			return -EINVAL;
	memset(net, 0, sizeof(*net));
	net->cfg = *cfg;
	for (unsigned int p = 0; p < VIRTIO_NET_MAX_PAIRS; p++)
		net->tap_fd[p] = p < cfg->pairs ? tap_fds[p] : -1;
	net->tap_ops = tap_ops;
	net->tap_opaque = tap_opaque;
	net->budget_pkts = VIRTIO_NET_BUDGET_PKTS;
	net->budget_bytes = VIRTIO_NET_BUDGET_BYTES;
	atomic_store(&net->active_pairs, 1);
	net->nq = virtio_net_num_queues(net);
	net->q = calloc(net->nq, sizeof(*net->q));
	if (!net->q)
		return -ENOMEM;
	for (unsigned int i = 0; i < net->nq; i++) {
		struct virtio_net_queue *nq = &net->q[i];

		nq->net = net;
		nq->idx = i;
		if (i % 2 || i >= 2 * cfg->pairs)
			continue;
		nq->rx = calloc(1, sizeof(*nq->rx));
		if (!nq->rx) {
			virtio_net_destroy(net);
			return -ENOMEM;
		}
	}
	return 0;
}

void virtio_net_destroy(struct virtio_net *net)
{
	for (unsigned int i = 0; net->q && i < net->nq; i++)
		free(net->q[i].rx);
	free(net->q);
	net->q = NULL;
	net->nq = 0;
}

void virtio_net_queue_stats(const struct virtio_net *net, unsigned int q,
			    struct virtio_net_stats *out)
{
	const struct virtio_net_queue_stats *s;

	memset(out, 0, sizeof(*out));
	if (q >= net->nq)
		return;
	s = &net->q[q].stats;
	out->packets = atomic_load_explicit(&s->packets, memory_order_relaxed);
	out->bytes = atomic_load_explicit(&s->bytes, memory_order_relaxed);
	out->drops = atomic_load_explicit(&s->drops, memory_order_relaxed);
	out->backpressure = atomic_load_explicit(&s->backpressure, memory_order_relaxed);
	out->malformed = atomic_load_explicit(&s->malformed, memory_order_relaxed);
	out->batches = atomic_load_explicit(&s->batches, memory_order_relaxed);
	out->requeues = atomic_load_explicit(&s->requeues, memory_order_relaxed);
}
