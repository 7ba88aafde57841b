/* virtio-net over the virtio-pci transport: a fake driver lays rings and
 * buffers out in a plain buffer used as guest RAM, registers are reached
 * through the BAR handlers, and each queue pair's tap is one end of a
 * datagram socketpair (datagram boundaries are frame boundaries; the test
 * plays the network at the other end). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "fake_vpci.h"
#include "fake_vring.h"
#include "mem/guest_mem.h"
#include "virtio/net.h"
#include "virtio/virtio_pci.h"

#ifndef VIRTIO_NET_F_GUEST_USO4
#define VIRTIO_NET_F_GUEST_USO4 54
#define VIRTIO_NET_F_GUEST_USO6 55
#define VIRTIO_NET_F_HOST_USO	56
#endif
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

#define RAM_SIZE (16ULL << 20)
#define MAXP	 2
#define MAXQ	 (2 * MAXP + 1)
/* Rings of queue q. */
#define DESC_GPA(q)  (0x10000ULL + 0x10000ULL * (q))
#define AVAIL_GPA(q) (DESC_GPA(q) + 0x4000)
#define USED_GPA(q)  (DESC_GPA(q) + 0x8000)
#define TABLE_GPA    0x80000ULL	 /* indirect tables */
#define CTRL_GPA     0x90000ULL	 /* control commands */
#define ACK_GPA	     0x98000ULL	 /* control acks */
#define RXBUF_GPA    0x100000ULL /* receive buffers, handed out in order */
#define TXBUF_GPA    0x800000ULL /* transmit frames */

#define HDR  VIRTIO_NET_HDR_LEN
#define F(b) (1ULL << (b))

#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV VIRTIO_CONFIG_S_DRIVER
#define S_FOK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR  VIRTIO_CONFIG_S_NEEDS_RESET

#define R(a, l) ((struct fv_buf){(a), (l), false})
#define W(a, l) ((struct fv_buf){(a), (l), true})

/* ---- the VMM's tap side: a recorder ------------------------------------- */

struct tapstub {
	unsigned int offload; /* last flags */
	unsigned int offload_calls;
	int offload_err;
	unsigned int pairs; /* last pair count */
	unsigned int pairs_calls;
	int pairs_err;
};

static int stub_set_offload(void *opaque, unsigned int flags)
{
	struct tapstub *s = opaque;

	s->offload_calls++;
	if (s->offload_err)
		return s->offload_err;
	s->offload = flags;
	return 0;
}

static int stub_set_pairs(void *opaque, unsigned int pairs)
{
	struct tapstub *s = opaque;

	s->pairs_calls++;
	if (s->pairs_err)
		return s->pairs_err;
	s->pairs = pairs;
	return 0;
}

static const struct virtio_net_tap_ops stub_ops = {
    .set_offload = stub_set_offload,
    .set_queue_pairs = stub_set_pairs,
};

/* ---- the environment ---------------------------------------------------- */

struct cfg {
	unsigned int pairs;
	uint16_t mtu;
	bool offloads;
	unsigned int tap_offloads;
	uint16_t qsize;
	uint64_t refuse; /* features the driver does not accept */
};

static const struct cfg default_cfg = {
    .pairs = 1,
    .mtu = 1500,
    .offloads = true,
    .qsize = 64,
    /* no guest TSO: receive buffers are sized by the MTU (1530 bytes) */
    .refuse = F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6),
};

struct env {
	struct cfg cfg;
	uint8_t *ram;
	struct guest_mem gm;
	int sv[MAXP][2]; /* [0]: the device's tap fd, [1]: the network */
	struct tapstub tap;
	struct virtio_net net;
	struct virtio_pci t;
	struct fvp_host h;
	struct fvp drv;
	struct fv fv[MAXQ];
	uint64_t features; /* accepted by the driver */
	unsigned int ctrlq;
	uint64_t rx_next; /* next receive buffer address */
};

static struct env *env_new(void **state, const struct cfg *cfg)
{
	struct env *e = calloc(1, sizeof(*e));
	struct virtio_net_config_opts o = {
	    .mac = {0x02, 0x4b, 0x4c, 0x00, 0x00, 0x01},
	    .mtu = cfg->mtu,
	    .pairs = cfg->pairs,
	    .offloads = cfg->offloads,
	    .tap_offloads = cfg->tap_offloads,
	};
	int fds[MAXP];

	assert_non_null(e);
	*state = e;
	e->cfg = *cfg;
	e->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(e->ram != MAP_FAILED);
	gm_init(&e->gm);
	assert_int_equal(gm_region_add(&e->gm, 0, RAM_SIZE, e->ram), 0);
	for (unsigned int p = 0; p < MAXP; p++) {
		assert_int_equal(
		    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, e->sv[p]), 0);
		fds[p] = e->sv[p][0];
	}
	assert_int_equal(virtio_net_init(&e->net, &o, fds, &stub_ops, &e->tap), 0);
	assert_int_equal(virtio_pci_init(&e->t, &e->gm, &virtio_net_ops, &e->net,
					 virtio_net_features(&e->net),
					 virtio_net_num_queues(&e->net), 256, virtio_net_cfg_len(),
					 fvp_host_ops(), fvp_msix_ops(), &e->h),
			 0);
	e->net.t = &e->t;
	fvp_init_direct(&e->drv, &e->t);
	e->rx_next = RXBUF_GPA;
	return e;
}

/* The driver's probe up to DRIVER_OK, in the layout its features imply
 * (without MQ: one pair and the control queue at 2).  Returns the status. */
static uint8_t driver_probe(struct env *e)
{
	uint64_t feat = fvp_device_features(&e->drv) & ~e->cfg.refuse;
	unsigned int pairs = (feat & F(VIRTIO_NET_F_MQ)) ? e->cfg.pairs : 1;

	fvp_set_status(&e->drv, 0);
	assert_int_equal(fvp_negotiate(&e->drv, feat), S_ACK | S_DRV | S_FOK);
	e->features = feat;
	e->ctrlq = 2 * pairs;
	for (unsigned int q = 0; q <= e->ctrlq; q++) {
		if (q == e->ctrlq && !(feat & F(VIRTIO_NET_F_CTRL_VQ)))
			break;
		fv_init(&e->fv[q], &e->gm, e->cfg.qsize, DESC_GPA(q), AVAIL_GPA(q), USED_GPA(q));
		assert_int_equal(fvp_setup_queue(&e->drv, (uint16_t)q, &e->fv[q], VPCI_NO_VECTOR),
				 1);
	}
	fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK | S_DOK);
	e->rx_next = RXBUF_GPA;
	return fvp_status(&e->drv);
}

static void driver_start(struct env *e)
{
	assert_int_equal(driver_probe(e), S_ACK | S_DRV | S_FOK | S_DOK);
}

static struct env *env_start(void **state, const struct cfg *cfg)
{
	struct env *e = env_new(state, cfg);

	driver_start(e);
	return e;
}

static int teardown(void **state)
{
	struct env *e = *state;

	if (!e)
		return 0;
	virtio_pci_destroy(&e->t);
	virtio_net_destroy(&e->net);
	for (unsigned int p = 0; p < MAXP; p++) {
		close(e->sv[p][0]);
		close(e->sv[p][1]);
	}
	munmap(e->ram, RAM_SIZE);
	free(e);
	*state = NULL;
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static uint8_t pat(size_t i, uint8_t seed)
{
	return (uint8_t)(seed + i * 7 + i / 251);
}

/* A vnet header with recognisable fields (num_buffers as given). */
static void make_hdr(uint8_t *h, uint16_t num_buffers)
{
	struct virtio_net_hdr_mrg_rxbuf v = {
	    .hdr = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		    .hdr_len = 54,
		    .gso_size = 1448,
		    .csum_start = 34,
		    .csum_offset = 16},
	    .num_buffers = num_buffers,
	};

	memcpy(h, &v, HDR);
}

static uint8_t big_buf[VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME + 64];

/* The network sends a frame of len payload bytes to pair (header first). */
static size_t net_send(struct env *e, unsigned int pair, size_t len, uint8_t seed)
{
	make_hdr(big_buf, 0x7777); /* the device must overwrite num_buffers */
	for (size_t i = 0; i < len; i++)
		big_buf[HDR + i] = pat(i, seed);
	assert_int_equal(send(e->sv[pair][1], big_buf, HDR + len, 0), (ssize_t)(HDR + len));
	return HDR + len;
}

/* What the network received from pair: bytes, or -errno (EAGAIN: nothing). */
static ssize_t net_recv(struct env *e, unsigned int pair, void *buf, size_t cap)
{
	ssize_t n = recv(e->sv[pair][1], buf, cap, MSG_DONTWAIT);

	return n < 0 ? -errno : n;
}

/* Bytes waiting in pair's tap (the device's end), without taking them. */
static ssize_t tap_pending(struct env *e, unsigned int pair)
{
	uint8_t b[16];
	ssize_t n = recv(e->sv[pair][0], b, sizeof(b), MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);

	return n < 0 ? -errno : n;
}

/* Post one receive buffer of len bytes on pair's receive queue. */
static uint16_t post_rx(struct env *e, unsigned int pair, uint32_t len, uint64_t *gpa)
{
	struct fv_buf b = W(e->rx_next, len);

	if (gpa)
		*gpa = e->rx_next;
	e->rx_next += (len + 0xfffULL) & ~0xfffULL;
	return fv_add_chain(&e->fv[2 * pair], &b, 1);
}

static void used(const struct env *e, unsigned int q, uint16_t pos, uint32_t *id, uint32_t *len)
{
	fv_used_elem(&e->fv[q], pos, id, len);
}

static uint64_t irqs(struct env *e, unsigned int q)
{
	return atomic_load(&e->t.queues[q].interrupts);
}

static struct virtio_net_stats stats(struct env *e, unsigned int q)
{
	struct virtio_net_stats s;

	virtio_net_queue_stats(&e->net, q, &s);
	return s;
}

static uint16_t num_buffers_at(struct env *e, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, e->ram + gpa + 10, 2);
	return v;
}

/* The guest received payload bytes [off, off + len) of a frame sent with
 * seed at gpa. */
static void assert_payload(struct env *e, uint64_t gpa, size_t off, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		if (e->ram[gpa + i] != pat(off + i, seed))
			fail_msg("payload byte %zu: got %u want %u", off + i, e->ram[gpa + i],
				 pat(off + i, seed));
}

/* Send a control command (len bytes at CTRL_GPA, optionally split after
 * its first byte) with a one-byte ack; returns the ack. */
static int ctrl(struct env *e, const uint8_t *cmd, uint32_t len, bool split)
{
	struct fv *fv = &e->fv[e->ctrlq];
	uint16_t idx = fv_used_idx(fv);
	struct fv_buf b[3];
	unsigned int n = 0;
	uint32_t id, ulen;
	uint16_t head;

	fv_write(&e->gm, CTRL_GPA, cmd, len);
	if (split && len > 1) {
		b[n++] = R(CTRL_GPA, 1);
		b[n++] = R(CTRL_GPA + 1, len - 1);
	} else {
		b[n++] = R(CTRL_GPA, len);
	}
	b[n++] = W(ACK_GPA, 1);
	e->ram[ACK_GPA] = 0xee;
	head = fv_add_chain(fv, b, n);
	virtio_pci_queue_kicked(&e->t, e->ctrlq);
	assert_int_equal(fv_used_idx(fv), (uint16_t)(idx + 1));
	used(e, e->ctrlq, idx, &id, &ulen);
	assert_int_equal(id, head);
	assert_int_equal(ulen, 1);
	return e->ram[ACK_GPA];
}

static int mq_set(struct env *e, uint16_t pairs)
{
	uint8_t cmd[4] = {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, (uint8_t)pairs,
			  (uint8_t)(pairs >> 8)};

	return ctrl(e, cmd, sizeof(cmd), false);
}

#define CFG_RD(e, field)                                                                           \
	fvp_bar_rd(&(e)->drv, VPCI_DEVICE_OFF + offsetof(struct virtio_net_config, field),         \
		   sizeof(((struct virtio_net_config *)0)->field))

/* ---- setup, features, configuration -------------------------------------- */

static void test_init_refusals(void **state)
{
	struct virtio_net net;
	struct virtio_net_config_opts o = {.pairs = 1, .mtu = 1500};
	static const struct virtio_net_tap_ops no_offload = {.set_offload = NULL};
	int fds[2] = {3, 4}, bad[2] = {3, -1};

	(void)state;
	o.pairs = 0;
	assert_int_equal(virtio_net_init(&net, &o, fds, &stub_ops, NULL), -EINVAL);
	o.pairs = VIRTIO_NET_MAX_PAIRS + 1;
	assert_int_equal(virtio_net_init(&net, &o, fds, &stub_ops, NULL), -EINVAL);
	o.pairs = 2;
	assert_int_equal(virtio_net_init(&net, &o, bad, &stub_ops, NULL), -EINVAL);
	o.mtu = 67;
	assert_int_equal(virtio_net_init(&net, &o, fds, &stub_ops, NULL), -EINVAL);
	o.mtu = 0; /* not announced: fine */
	assert_int_equal(virtio_net_init(&net, &o, fds, &no_offload, NULL), -EINVAL);
	assert_int_equal(virtio_net_init(&net, &o, fds, NULL, NULL), -EINVAL);
	assert_int_equal(virtio_net_init(&net, &o, NULL, &stub_ops, NULL), -EINVAL);
	assert_int_equal(virtio_net_init(&net, &o, fds, &stub_ops, NULL), 0);
	assert_int_equal(virtio_net_num_queues(&net), 5);
	assert_int_equal(net.tap_fd[1], 4);
	assert_int_equal(net.tap_fd[2], -1);
	assert_non_null(net.q[0].rx);
	assert_null(net.q[1].rx);
	assert_non_null(net.q[2].rx);
	assert_null(net.q[4].rx);
	virtio_net_destroy(&net);
}

static void test_features_and_config(void **state)
{
	struct env *e = env_new(state, &default_cfg);
	uint64_t f = fvp_device_features(&e->drv);
	uint64_t want = F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) |
			F(VIRTIO_NET_F_MTU) | F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CTRL_VQ) |
			F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_RING_F_INDIRECT_DESC) |
			F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
			F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |
			F(VIRTIO_NET_F_GUEST_ECN) | F(VIRTIO_NET_F_HOST_TSO4) |
			F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_HOST_ECN);
	const uint8_t mac[6] = {0x02, 0x4b, 0x4c, 0x00, 0x00, 0x01};

	assert_int_equal(f, want);
	assert_int_equal(e->t.func.cfg[2] | e->t.func.cfg[3] << 8,
			 VPCI_DEVICE_BASE + VIRTIO_ID_NET);
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(fvp_bar_rd(&e->drv, VPCI_DEVICE_OFF + i, 1), mac[i]);
	assert_int_equal(CFG_RD(e, status), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(CFG_RD(e, max_virtqueue_pairs), 1);
	assert_int_equal(CFG_RD(e, mtu), 1500);
	assert_int_equal(virtio_net_cfg_len(), 12);
	assert_int_equal(fvp_bar_rd(&e->drv, VPCI_DEVICE_OFF + 12, 4), 0); /* past the space */
	/* layout: rx0 tx0 ctrl */
	assert_int_equal(e->t.num_queues, 3);
	assert_int_equal(virtio_net_queue_pair(&e->net, 0), 0);
	assert_int_equal(virtio_net_queue_pair(&e->net, 1), 0);
	assert_int_equal(virtio_net_queue_pair(&e->net, 2), -1);
	assert_int_equal(virtio_net_queue_pair(&e->net, 3), -EINVAL);
	teardown(state);

	/* offloads off, MTU not announced */
	{
		struct cfg c = default_cfg;

		c.offloads = false;
		c.mtu = 0;
		c.tap_offloads = TUN_F_UFO | TUN_F_USO4 | TUN_F_USO6;
		e = env_new(state, &c);
	}
	f = fvp_device_features(&e->drv);
	assert_int_equal(f, F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) |
				F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CTRL_VQ) |
				F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_RING_F_INDIRECT_DESC));
	assert_int_equal(CFG_RD(e, mtu), 0);
	teardown(state);
}

static void test_features_mq_ufo_uso(void **state)
{
	struct cfg c = default_cfg;
	struct env *e;
	uint64_t f, ufo = F(VIRTIO_NET_F_GUEST_UFO) | F(VIRTIO_NET_F_HOST_UFO),
		    uso = F(VIRTIO_NET_F_GUEST_USO4) | F(VIRTIO_NET_F_GUEST_USO6) |
			  F(VIRTIO_NET_F_HOST_USO);

	c.pairs = 2;
	c.tap_offloads = TUN_F_CSUM | TUN_F_UFO | TUN_F_USO4 | TUN_F_USO6;
	e = env_new(state, &c);
	f = fvp_device_features(&e->drv);
	assert_true(f & F(VIRTIO_NET_F_MQ));
	assert_int_equal(f & ufo, ufo);
	assert_int_equal(f & uso, uso);
	assert_int_equal(CFG_RD(e, max_virtqueue_pairs), 2);
	/* rx0 tx0 rx1 tx1 ctrl */
	assert_int_equal(e->t.num_queues, 5);
	assert_int_equal(virtio_net_queue_pair(&e->net, 2), 1);
	assert_int_equal(virtio_net_queue_pair(&e->net, 3), 1);
	assert_int_equal(virtio_net_queue_pair(&e->net, 4), -1);
	assert_int_equal(virtio_net_queue_pair(&e->net, 5), -EINVAL);
	teardown(state);

	/* a tap with USO4 only (the tap takes both or none), no UFO; one pair */
	c.pairs = 1;
	c.tap_offloads = TUN_F_USO4;
	e = env_new(state, &c);
	f = fvp_device_features(&e->drv);
	assert_int_equal(f & (ufo | uso | F(VIRTIO_NET_F_MQ)), 0);
	teardown(state);
}

static void test_set_offload_flags(void **state)
{
	struct cfg c = default_cfg;
	unsigned int tso = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	struct env *e;

	c.tap_offloads = TUN_F_UFO | TUN_F_USO4 | TUN_F_USO6;
	c.refuse = 0;
	e = env_start(state, &c);
	assert_int_equal(e->tap.offload_calls, 1);
	assert_int_equal(e->tap.offload, tso | TUN_F_UFO | TUN_F_USO4 | TUN_F_USO6);
	assert_int_equal(e->tap.pairs_calls, 1);
	assert_int_equal(e->tap.pairs, 1);
	assert_int_equal(e->net.rx_need, HDR + VIRTIO_NET_MAX_FRAME);

	/* checksum only: no segmentation, receive buffers sized by the MTU */
	e->cfg.refuse = F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |
			F(VIRTIO_NET_F_GUEST_UFO) | F(VIRTIO_NET_F_GUEST_USO4) |
			F(VIRTIO_NET_F_GUEST_USO6);
	driver_start(e);
	assert_int_equal(e->tap.offload_calls, 2);
	assert_int_equal(e->tap.offload, TUN_F_CSUM);
	assert_int_equal(e->net.rx_need, HDR + 1500 + 18);

	/* TSO6 + ECN, USO4 without USO6 */
	e->cfg.refuse = F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_USO6);
	driver_start(e);
	assert_int_equal(e->tap.offload, TUN_F_CSUM | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO);

	/* a new driver that takes no guest offload: the tap is told so */
	e->cfg.refuse = F(VIRTIO_NET_F_GUEST_CSUM);
	driver_start(e);
	assert_int_equal(e->tap.offload, 0);

	/* the pure mapping */
	assert_int_equal(
	    virtio_net_tun_offloads(F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_ECN)),
	    TUN_F_CSUM);
	assert_int_equal(virtio_net_tun_offloads(F(VIRTIO_NET_F_GUEST_TSO4)), 0);
	assert_int_equal(virtio_net_tun_offloads(F(VIRTIO_NET_F_GUEST_CSUM) |
						 F(VIRTIO_NET_F_GUEST_TSO4) |
						 F(VIRTIO_NET_F_GUEST_ECN)),
			 TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN);
	assert_int_equal(virtio_net_tun_offloads(F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_CSUM)),
			 0);

	/* the tap refuses: the device needs a reset */
	e->cfg.refuse = 0;
	e->tap.offload_err = -EINVAL;
	assert_int_equal(driver_probe(e), S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	/* ... but a tap whose interface is gone (EBADFD) hands us nothing:
	 * the driver gets a running device */
	e->tap.offload_err = -EBADFD;
	assert_int_equal(driver_probe(e), S_ACK | S_DRV | S_FOK | S_DOK);
	e->tap.offload_err = 0;
	driver_start(e);
	teardown(state);
}

/* ---- transmit ------------------------------------------------------------ */

static void test_tx_frame(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	uint8_t hdr[HDR], got[2048];
	struct fv_buf b[3] = {R(TXBUF_GPA, HDR), R(TXBUF_GPA + 0x1000, 300),
			      R(TXBUF_GPA + 0x2000, 700)};
	uint32_t id, len;
	uint16_t head;

	make_hdr(hdr, 0);
	fv_write(&e->gm, TXBUF_GPA, hdr, HDR);
	for (size_t i = 0; i < 1000; i++)
		e->ram[(i < 300 ? TXBUF_GPA + 0x1000 + i : TXBUF_GPA + 0x2000 + i - 300)] =
		    pat(i, 9);
	head = fv_add_chain(&e->fv[1], b, 3);
	virtio_pci_queue_kicked(&e->t, 1);

	assert_int_equal(net_recv(e, 0, got, sizeof(got)), HDR + 1000);
	assert_memory_equal(got, hdr, HDR); /* header bytes intact */
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(got[HDR + i], pat(i, 9));
	assert_int_equal(fv_used_idx(&e->fv[1]), 1);
	used(e, 1, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	assert_int_equal(irqs(e, 1), 1);
	assert_int_equal(stats(e, 1).packets, 1);
	assert_int_equal(stats(e, 1).bytes, 1000);
	/* written from the guest's own buffers: the element's iovecs are
	 * guest RAM (there is no staging buffer to copy into) */
	assert_int_equal(e->net.q[1].elem.out_num, 3);
	assert_ptr_equal(e->net.q[1].elem.iov[0].iov_base, e->ram + TXBUF_GPA);
	assert_ptr_equal(e->net.q[1].elem.iov[1].iov_base, e->ram + TXBUF_GPA + 0x1000);
	assert_ptr_equal(e->net.q[1].elem.iov[2].iov_base, e->ram + TXBUF_GPA + 0x2000);
	assert_int_equal(net_recv(e, 0, got, sizeof(got)), -EAGAIN);

	/* one buffer through an indirect table */
	fv_write(&e->gm, TXBUF_GPA + 0x3000, hdr, HDR);
	memset(e->ram + TXBUF_GPA + 0x3000 + HDR, 0x5a, 60);
	{
		struct fv_buf one = R(TXBUF_GPA + 0x3000, HDR + 60);

		fv_add_indirect(&e->fv[1], TABLE_GPA, &one, 1);
	}
	virtio_pci_queue_kicked(&e->t, 1);
	assert_int_equal(net_recv(e, 0, got, sizeof(got)), HDR + 60);
	assert_memory_equal(got, hdr, HDR);
	assert_int_equal(got[HDR + 59], 0x5a);
	assert_int_equal(stats(e, 1).packets, 2);
	/* notifications are back on after each batch */
	assert_int_equal(fv_avail_event(&e->fv[1]), 2);
	teardown(state);
}

static void test_tx_malformed(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	static uint8_t got[HDR + VIRTIO_NET_MAX_FRAME + 16];
	uint32_t id, len;
	uint16_t heads[4];

	/* a writable buffer in a transmit chain */
	{
		struct fv_buf b[2] = {R(TXBUF_GPA, HDR + 50), W(TXBUF_GPA + 0x1000, 100)};

		heads[0] = fv_add_chain(&e->fv[1], b, 2);
	}
	/* shorter than the header */
	{
		struct fv_buf b = R(TXBUF_GPA, HDR - 1);

		heads[1] = fv_add_chain(&e->fv[1], &b, 1);
	}
	/* one byte more than the largest frame */
	{
		struct fv_buf b = R(TXBUF_GPA, HDR + VIRTIO_NET_MAX_FRAME + 1);

		heads[2] = fv_add_chain(&e->fv[1], &b, 1);
	}
	/* the largest frame is fine */
	{
		struct fv_buf b = R(TXBUF_GPA, HDR + VIRTIO_NET_MAX_FRAME);

		heads[3] = fv_add_chain(&e->fv[1], &b, 1);
	}
	virtio_pci_queue_kicked(&e->t, 1);
	assert_int_equal(fv_used_idx(&e->fv[1]), 4);
	for (uint16_t i = 0; i < 4; i++) {
		used(e, 1, i, &id, &len);
		assert_int_equal(id, heads[i]);
		assert_int_equal(len, 0);
	}
	assert_int_equal(stats(e, 1).malformed, 3);
	assert_int_equal(stats(e, 1).packets, 1);
	assert_int_equal(net_recv(e, 0, got, sizeof(got)), HDR + VIRTIO_NET_MAX_FRAME);
	assert_int_equal(net_recv(e, 0, got, sizeof(got)), -EAGAIN);
	assert_int_equal(fvp_status(&e->drv) & S_NR, 0);
	assert_int_equal(irqs(e, 1), 1);

	/* a chain the ring refuses (a zero-length buffer): NEEDS_RESET */
	fv_set_desc(&e->fv[1], 10, TXBUF_GPA, 0, 0, 0);
	fv_publish(&e->fv[1], 10);
	virtio_pci_queue_kicked(&e->t, 1);
	assert_int_equal(fvp_status(&e->drv) & S_NR, S_NR);
	assert_int_equal(stats(e, 1).malformed, 4);
	assert_int_equal(fv_used_idx(&e->fv[1]), 4);
	teardown(state);
}

/* The tap's queue is full (EAGAIN): frames are dropped and counted, every
 * chain still completes. */
static void test_tx_tap_full(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	int small = 4096;
	uint8_t got[4096];
	unsigned int n = 0;
	struct virtio_net_stats s;

	assert_int_equal(setsockopt(e->sv[0][0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	for (unsigned int i = 0; i < 12; i++) {
		struct fv_buf b = R(TXBUF_GPA + 0x1000 * i, HDR + 3000);

		fv_add_chain(&e->fv[1], &b, 1);
	}
	virtio_pci_queue_kicked(&e->t, 1);
	assert_int_equal(fv_used_idx(&e->fv[1]), 12);
	s = stats(e, 1);
	assert_true(s.drops > 0);
	assert_true(s.packets > 0);
	assert_int_equal(s.packets + s.drops, 12);
	while (net_recv(e, 0, got, sizeof(got)) == HDR + 3000)
		n++;
	assert_int_equal(n, s.packets);
	assert_int_equal(irqs(e, 1), 1);
	teardown(state);
}

/* ---- receive ------------------------------------------------------------- */

static void test_rx_frame(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	uint64_t gpa;
	uint32_t id, len;
	uint16_t head;
	uint8_t hdr[HDR];

	head = post_rx(e, 0, 2048, &gpa);
	for (int i = 0; i < 3; i++)
		post_rx(e, 0, 2048, NULL);
	memset(e->ram + gpa, 0xcc, 2048);
	net_send(e, 0, 100, 3);
	virtio_net_rx(&e->net, 0);

	assert_int_equal(fv_used_idx(&e->fv[0]), 1);
	used(e, 0, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, HDR + 100);
	make_hdr(hdr, 1);
	assert_memory_equal(e->ram + gpa, hdr, HDR); /* as sent, num_buffers = 1 */
	assert_payload(e, gpa + HDR, 0, 100, 3);
	assert_int_equal(e->ram[gpa + HDR + 100], 0xcc);
	/* one chain covered the largest frame: the others were never taken */
	assert_int_equal(e->t.queues[0].vq.last_avail, 1);
	assert_int_equal(stats(e, 0).packets, 1);
	assert_int_equal(stats(e, 0).bytes, 100);
	assert_int_equal(stats(e, 0).backpressure, 0);
	assert_int_equal(irqs(e, 0), 1);
	assert_int_equal(tap_pending(e, 0), -EAGAIN);
	/* the tap is empty: no kick wanted for new buffers (EVENT_IDX left
	 * avail_event behind) */
	assert_int_equal(fv_avail_event(&e->fv[0]), 0);
	teardown(state);
}

/* A frame spanning three small buffers; the unused chains of the window
 * go back to the ring and take the next frame. */
static void test_rx_mergeable(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	uint64_t gpa[12];
	uint16_t head[12];
	uint32_t id, len;

	for (int i = 0; i < 12; i++)
		head[i] = post_rx(e, 0, 500, &gpa[i]);
	net_send(e, 0, 1200, 5);
	virtio_net_rx(&e->net, 0);

	assert_int_equal(fv_used_idx(&e->fv[0]), 3);
	for (uint16_t i = 0; i < 3; i++) {
		used(e, 0, i, &id, &len);
		assert_int_equal(id, head[i]);
		assert_int_equal(len, i < 2 ? 500 : HDR + 1200 - 1000);
	}
	assert_int_equal(num_buffers_at(e, gpa[0]), 3);
	assert_payload(e, gpa[0] + HDR, 0, 500 - HDR, 5);
	assert_payload(e, gpa[1], 500 - HDR, 500, 5);
	assert_payload(e, gpa[2], 1000 - HDR, 1200 - (1000 - HDR), 5);
	/* 1530 bytes were needed: four chains were taken, one given back */
	assert_int_equal(e->t.queues[0].vq.last_avail, 3);
	assert_int_equal(e->t.queues[0].vq.popped, 0);
	assert_int_equal(vq_avail_count(&e->t.queues[0].vq), 9);
	assert_int_equal(irqs(e, 0), 1);

	/* the next frame lands in the chain given back */
	net_send(e, 0, 300, 6);
	virtio_net_rx(&e->net, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 4);
	used(e, 0, 3, &id, &len);
	assert_int_equal(id, head[3]);
	assert_int_equal(len, HDR + 300);
	assert_int_equal(num_buffers_at(e, gpa[3]), 1);
	assert_payload(e, gpa[3] + HDR, 0, 300, 6);

	/* two frames in one pass: the window carries over between them */
	net_send(e, 0, 900, 7);
	net_send(e, 0, 10, 8);
	virtio_net_rx(&e->net, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 7);
	used(e, 0, 4, &id, &len);
	assert_int_equal(id, head[4]);
	assert_int_equal(len, 500);
	used(e, 0, 5, &id, &len);
	assert_int_equal(id, head[5]);
	assert_int_equal(len, HDR + 900 - 500);
	used(e, 0, 6, &id, &len);
	assert_int_equal(id, head[6]);
	assert_int_equal(len, HDR + 10);
	assert_int_equal(num_buffers_at(e, gpa[4]), 2);
	assert_int_equal(num_buffers_at(e, gpa[6]), 1);
	assert_payload(e, gpa[5], 500 - HDR, 900 - (500 - HDR), 7);
	assert_payload(e, gpa[6] + HDR, 0, 10, 8);
	assert_int_equal(e->t.queues[0].vq.last_avail, 7);
	assert_int_equal(stats(e, 0).packets, 4);
	assert_int_equal(stats(e, 0).drops, 0);
	teardown(state);
}

/* Without MRG_RXBUF each chain takes a whole frame. */
static void test_rx_no_mrg(void **state)
{
	struct cfg c = default_cfg;
	struct env *e;
	struct fv_buf b[2] = {W(RXBUF_GPA, HDR), W(RXBUF_GPA + 0x1000, 1600)};
	uint32_t id, len;
	uint16_t head, small;

	c.refuse |= F(VIRTIO_NET_F_MRG_RXBUF);
	e = env_start(state, &c);
	/* header and data in separate buffers, as Linux lays them out */
	head = fv_add_chain(&e->fv[0], b, 2);
	net_send(e, 0, 1000, 11);
	virtio_net_rx(&e->net, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 1);
	used(e, 0, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, HDR + 1000);
	assert_int_equal(num_buffers_at(e, RXBUF_GPA), 1);
	assert_payload(e, RXBUF_GPA + 0x1000, 0, 1000, 11);

	/* a frame larger than the next chain: dropped, the chain kept */
	e->rx_next = RXBUF_GPA + 0x10000;
	small = post_rx(e, 0, 64, NULL);
	net_send(e, 0, 200, 12);
	net_send(e, 0, 40, 13);
	virtio_net_rx(&e->net, 0);
	assert_int_equal(stats(e, 0).drops, 1);
	assert_int_equal(fv_used_idx(&e->fv[0]), 2);
	used(e, 0, 1, &id, &len);
	assert_int_equal(id, small);
	assert_int_equal(len, HDR + 40);
	assert_payload(e, RXBUF_GPA + 0x10000 + HDR, 0, 40, 13);
	assert_int_equal(stats(e, 0).packets, 2);
	teardown(state);
}

/* No buffers: the frame stays in the tap, the device asks for a kick, and
 * the guest's kick after posting buffers brings it in. */
static void test_rx_backpressure(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	uint64_t gpa;
	uint32_t id, len;
	uint16_t head;

	net_send(e, 0, 200, 21);
	virtio_net_rx(&e->net, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 0);
	assert_int_equal(stats(e, 0).backpressure, 1);
	assert_int_equal(tap_pending(e, 0), HDR + 200); /* not lost */
	assert_int_equal(fv_avail_event(&e->fv[0]), 0); /* kick on the next buffer */
	assert_int_equal(irqs(e, 0), 0);

	/* one buffer, less than a frame may need: still waiting, and the
	 * kick is asked for the buffer after it */
	head = post_rx(e, 0, 500, &gpa);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 0);
	assert_int_equal(stats(e, 0).backpressure, 2);
	assert_int_equal(e->t.queues[0].vq.last_avail, 0);
	assert_int_equal(fv_avail_event(&e->fv[0]), 1);
	assert_int_equal(tap_pending(e, 0), HDR + 200);

	/* the guest posts more and kicks: the frame arrives */
	for (int i = 0; i < 3; i++)
		post_rx(e, 0, 500, NULL);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 1);
	used(e, 0, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, HDR + 200);
	assert_payload(e, gpa + HDR, 0, 200, 21);
	assert_int_equal(tap_pending(e, 0), -EAGAIN);
	assert_int_equal(stats(e, 0).backpressure, 2);
	assert_int_equal(irqs(e, 0), 1);

	/* a kick with buffers but an empty tap is not back-pressure */
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(stats(e, 0).backpressure, 2);
	teardown(state);

	/* without EVENT_IDX: NO_NOTIFY while reading, cleared when waiting */
	{
		struct cfg c = default_cfg;

		c.refuse |= F(VIRTIO_RING_F_EVENT_IDX);
		e = env_start(state, &c);
	}
	post_rx(e, 0, 2048, NULL);
	net_send(e, 0, 100, 22);
	net_send(e, 0, 100, 23);
	virtio_net_rx(&e->net, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 1);
	assert_int_equal(stats(e, 0).backpressure, 1);
	assert_int_equal(fv_used_flags(&e->fv[0]) & VRING_USED_F_NO_NOTIFY, 0);
	post_rx(e, 0, 2048, NULL);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 2);
	/* tap empty, buffers left: kicks are not wanted */
	post_rx(e, 0, 2048, NULL);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_flags(&e->fv[0]) & VRING_USED_F_NO_NOTIFY, VRING_USED_F_NO_NOTIFY);
	teardown(state);
}

/* With guest TSO a merged frame must find 65562 bytes before reading. */
static void test_rx_gso_window(void **state)
{
	struct cfg c = default_cfg;
	struct env *e;
	uint64_t gpa[20];
	uint16_t head[20];
	uint32_t id, len;

	c.refuse = 0;
	e = env_start(state, &c);
	assert_int_equal(e->net.rx_need, HDR + VIRTIO_NET_MAX_FRAME);
	for (int i = 0; i < 8; i++)
		head[i] = post_rx(e, 0, 4096, &gpa[i]);
	net_send(e, 0, 1000, 31);
	virtio_net_rx(&e->net, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 0);
	assert_int_equal(stats(e, 0).backpressure, 1);
	assert_int_equal(fv_avail_event(&e->fv[0]), 8);
	for (int i = 8; i < 17; i++)
		head[i] = post_rx(e, 0, 4096, &gpa[i]);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 1);
	used(e, 0, 0, &id, &len);
	assert_int_equal(id, head[0]);
	assert_int_equal(len, HDR + 1000);
	assert_int_equal(e->t.queues[0].vq.last_avail, 1);

	/* a 60000-byte GSO frame: 16 chains left (65536 bytes) are not
	 * enough to start; one more is */
	net_send(e, 0, 60000, 32);
	virtio_net_rx(&e->net, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 1);
	assert_int_equal(stats(e, 0).backpressure, 2);
	head[17] = post_rx(e, 0, 4096, &gpa[17]);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 16);
	for (uint16_t i = 1; i < 16; i++) {
		used(e, 0, i, &id, &len);
		assert_int_equal(id, head[i]);
		assert_int_equal(len, i < 15 ? 4096 : HDR + 60000 - 14 * 4096);
	}
	assert_int_equal(num_buffers_at(e, gpa[1]), 15);
	assert_payload(e, gpa[1] + HDR, 0, 4096 - HDR, 32);
	assert_payload(e, gpa[15], 14 * 4096 - HDR, HDR + 60000 - 14 * 4096, 32);
	assert_int_equal(stats(e, 0).bytes, 61000);
	teardown(state);
}

/* A chain that is not a receive buffer: completed unused and counted; the
 * frame goes to the next one. */
static void test_rx_malformed_chain(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	struct fv_buf ro = R(RXBUF_GPA, 100), tiny = W(RXBUF_GPA + 0x1000, HDR - 1);
	uint32_t id, len;
	uint16_t bad1, bad2, good;
	uint64_t gpa;

	bad1 = fv_add_chain(&e->fv[0], &ro, 1);
	bad2 = fv_add_chain(&e->fv[0], &tiny, 1);
	e->rx_next = RXBUF_GPA + 0x10000;
	good = post_rx(e, 0, 2048, &gpa);
	net_send(e, 0, 64, 41);
	virtio_net_rx(&e->net, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 3);
	used(e, 0, 0, &id, &len);
	assert_int_equal(id, bad1);
	assert_int_equal(len, 0);
	used(e, 0, 1, &id, &len);
	assert_int_equal(id, bad2);
	assert_int_equal(len, 0);
	used(e, 0, 2, &id, &len);
	assert_int_equal(id, good);
	assert_int_equal(len, HDR + 64);
	assert_int_equal(stats(e, 0).malformed, 2);
	assert_int_equal(fvp_status(&e->drv) & S_NR, 0);

	/* behind a window chain, a bad one waits until it is first in line
	 * (window chains must stay the last popped) */
	{
		struct fv_buf a = W(RXBUF_GPA + 0x20000, 600);

		good = fv_add_chain(&e->fv[0], &a, 1);
	}
	bad1 = fv_add_chain(&e->fv[0], &ro, 1);
	e->rx_next = RXBUF_GPA + 0x30000;
	post_rx(e, 0, 2048, &gpa);
	net_send(e, 0, 100, 42);
	virtio_net_rx(&e->net, 0);
	/* the 600-byte chain took the frame, then the bad one was first */
	assert_int_equal(fv_used_idx(&e->fv[0]), 5);
	used(e, 0, 3, &id, &len);
	assert_int_equal(id, good);
	assert_int_equal(len, HDR + 100);
	used(e, 0, 4, &id, &len);
	assert_int_equal(id, bad1);
	assert_int_equal(len, 0);
	net_send(e, 0, 100, 43);
	virtio_net_rx(&e->net, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 6);
	used(e, 0, 5, &id, &len);
	assert_int_equal(len, HDR + 100);
	assert_payload(e, gpa + HDR, 0, 100, 43);
	assert_int_equal(stats(e, 0).malformed, 3);

	/* a broken ring: NEEDS_RESET */
	fv_publish(&e->fv[0], 200);
	net_send(e, 0, 100, 44);
	virtio_net_rx(&e->net, 0);
	assert_int_equal(fvp_status(&e->drv) & S_NR, S_NR);
	teardown(state);
}

/* After its budget the receive path re-kicks its queue and returns. */
static void test_rx_budget(void **state)
{
	struct env *e = env_start(state, &default_cfg);
	unsigned int kicks;

	e->net.budget_pkts = 2;
	for (int i = 0; i < 8; i++)
		post_rx(e, 0, 2048, NULL);
	for (int i = 0; i < 3; i++)
		net_send(e, 0, 100, (uint8_t)i);
	kicks = e->h.qkicks[0];
	virtio_net_rx(&e->net, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 2);
	assert_int_equal(e->h.qkicks[0], kicks + 1);
	assert_int_equal(stats(e, 0).requeues, 1);
	assert_int_equal(e->t.queues[0].vq.last_avail, 2);
	virtio_pci_queue_kicked(&e->t, 0); /* the IO thread comes back */
	assert_int_equal(fv_used_idx(&e->fv[0]), 3);
	assert_int_equal(stats(e, 0).requeues, 1);

	/* transmit too */
	for (unsigned int i = 0; i < 3; i++) {
		struct fv_buf b = R(TXBUF_GPA, HDR + 10);

		fv_add_chain(&e->fv[1], &b, 1);
	}
	kicks = e->h.qkicks[1];
	virtio_pci_queue_kicked(&e->t, 1);
	assert_int_equal(fv_used_idx(&e->fv[1]), 2);
	assert_int_equal(e->h.qkicks[1], kicks + 1);
	virtio_pci_queue_kicked(&e->t, 1);
	assert_int_equal(fv_used_idx(&e->fv[1]), 3);
	teardown(state);
}

/* Before DRIVER_OK the tap handler reads nothing; DRIVER_OK kicks the
 * receive queue, which brings the frame in. */
static void test_rx_not_running_and_reset(void **state)
{
	struct env *e = env_new(state, &default_cfg);
	uint64_t gpa;
	unsigned int kicks;

	net_send(e, 0, 50, 51);
	virtio_net_rx(&e->net, 0);
	assert_int_equal(tap_pending(e, 0), HDR + 50);
	kicks = e->h.qkicks[0];
	driver_start(e);
	assert_int_equal(e->h.qkicks[0], kicks + 1);
	post_rx(e, 0, 2048, &gpa);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 1);
	assert_payload(e, gpa + HDR, 0, 50, 51);

	/* reset: counters stay, state goes */
	assert_int_equal(mq_set(e, 1), VIRTIO_NET_ERR); /* no MQ with one pair */
	fvp_set_status(&e->drv, 0);
	assert_int_equal(e->net.features, 0);
	assert_int_equal(stats(e, 0).packets, 1);
	assert_int_equal(stats(e, 2).malformed, 1);
	net_send(e, 0, 60, 52);
	virtio_net_rx(&e->net, 0); /* not running: left in the tap */
	assert_int_equal(tap_pending(e, 0), HDR + 60);
	driver_start(e);
	post_rx(e, 0, 2048, &gpa);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 1);
	assert_payload(e, gpa + HDR, 0, 60, 52);
	assert_int_equal(stats(e, 0).packets, 2);
	teardown(state);
}

/* ---- EVENT_IDX ------------------------------------------------------------ */

static void test_event_idx_batching(void **state)
{
	struct env *e = env_start(state, &default_cfg);

	/* three frames sent with one kick: one interrupt */
	for (unsigned int i = 0; i < 3; i++) {
		struct fv_buf b = R(TXBUF_GPA + 0x1000 * i, HDR + 100);

		fv_add_chain(&e->fv[1], &b, 1);
	}
	virtio_pci_queue_kicked(&e->t, 1);
	assert_int_equal(fv_used_idx(&e->fv[1]), 3);
	assert_int_equal(irqs(e, 1), 1);
	assert_int_equal(stats(e, 1).batches, 1);

	/* three frames received in one pass: one interrupt */
	for (int i = 0; i < 8; i++)
		post_rx(e, 0, 2048, NULL);
	for (int i = 0; i < 3; i++)
		net_send(e, 0, 100, (uint8_t)i);
	virtio_net_rx(&e->net, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 3);
	assert_int_equal(irqs(e, 0), 1);
	assert_int_equal(stats(e, 0).batches, 1);

	/* used_event = 4: no interrupt for entry 3, one for entry 4 */
	fv_set_used_event(&e->fv[0], 4);
	net_send(e, 0, 100, 9);
	virtio_net_rx(&e->net, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 4);
	assert_int_equal(irqs(e, 0), 1);
	net_send(e, 0, 100, 10);
	virtio_net_rx(&e->net, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 5);
	assert_int_equal(irqs(e, 0), 2);
	teardown(state);
}

/* ---- control queue and multiqueue ----------------------------------------- */

static void test_ctrl_commands(void **state)
{
	struct cfg c = default_cfg;
	struct env *e;
	uint16_t idx;

	c.pairs = 2;
	e = env_start(state, &c);
	assert_int_equal(e->ctrlq, 4);
	assert_int_equal(mq_set(e, 0), VIRTIO_NET_ERR);
	assert_int_equal(mq_set(e, 3), VIRTIO_NET_ERR);
	assert_int_equal(atomic_load(&e->net.active_pairs), 1);
	assert_int_equal(mq_set(e, 2), VIRTIO_NET_OK);
	assert_int_equal(atomic_load(&e->net.active_pairs), 2);
	assert_int_equal(mq_set(e, 1), VIRTIO_NET_OK);
	assert_int_equal(atomic_load(&e->net.active_pairs), 1);
	{
		const uint8_t rss[4] = {VIRTIO_NET_CTRL_MQ, 1, 2, 0};
		const uint8_t shortmq[3] = {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2};
		const uint8_t promisc[3] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1};
		const uint8_t allmulti[3] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, 0};
		const uint8_t nomulti[3] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOMULTI, 1};
		const uint8_t rxnodata[2] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC};
		const uint8_t addr[8] = {
		    VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, 2, 0, 0, 0, 0, 9};
		const uint8_t addrshort[5] = {VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, 2,
					      0, 0};
		const uint8_t table[10] = {VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET};
		const uint8_t macbad[2] = {VIRTIO_NET_CTRL_MAC, 7};
		const uint8_t vlan[4] = {VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, 1, 0};
		const uint8_t hdr1[1] = {VIRTIO_NET_CTRL_RX};
		const uint8_t mq2[4] = {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 0};

		assert_int_equal(ctrl(e, rss, sizeof(rss), false), VIRTIO_NET_ERR);
		assert_int_equal(ctrl(e, shortmq, sizeof(shortmq), false), VIRTIO_NET_ERR);
		assert_int_equal(ctrl(e, promisc, sizeof(promisc), false), VIRTIO_NET_OK);
		assert_int_equal(ctrl(e, allmulti, sizeof(allmulti), true), VIRTIO_NET_OK);
		assert_int_equal(ctrl(e, nomulti, sizeof(nomulti), false), VIRTIO_NET_ERR);
		assert_int_equal(ctrl(e, rxnodata, sizeof(rxnodata), false), VIRTIO_NET_ERR);
		assert_int_equal(ctrl(e, addr, sizeof(addr), false), VIRTIO_NET_OK);
		assert_int_equal(ctrl(e, addrshort, sizeof(addrshort), false), VIRTIO_NET_ERR);
		assert_int_equal(ctrl(e, table, sizeof(table), false), VIRTIO_NET_OK);
		assert_int_equal(ctrl(e, macbad, sizeof(macbad), false), VIRTIO_NET_ERR);
		assert_int_equal(ctrl(e, vlan, sizeof(vlan), false), VIRTIO_NET_ERR);
		/* a header cut short: ERR, the device goes on */
		assert_int_equal(ctrl(e, hdr1, sizeof(hdr1), false), VIRTIO_NET_ERR);
		/* class and command in separate buffers */
		assert_int_equal(ctrl(e, mq2, sizeof(mq2), true), VIRTIO_NET_OK);
	}
	assert_int_equal(stats(e, 4).packets, 7);
	assert_int_equal(stats(e, 4).malformed, 10);
	assert_int_equal(fvp_status(&e->drv) & S_NR, 0);

	/* no ack byte: nowhere to answer, NEEDS_RESET */
	idx = fv_used_idx(&e->fv[4]);
	{
		struct fv_buf b = R(CTRL_GPA, 4);

		fv_add_chain(&e->fv[4], &b, 1);
	}
	virtio_pci_queue_kicked(&e->t, 4);
	assert_int_equal(fv_used_idx(&e->fv[4]), (uint16_t)(idx + 1));
	assert_int_equal(fvp_status(&e->drv) & S_NR, S_NR);
	teardown(state);
}

/* Pairs beyond the active count keep their frames in the tap; enabling
 * them kicks their receive queues.  Transmit is served on every pair. */
static void test_mq_pairs(void **state)
{
	struct cfg c = default_cfg;
	struct env *e;
	uint8_t got[256];
	uint64_t gpa;
	unsigned int kicks;

	c.pairs = 2;
	e = env_start(state, &c);
	assert_int_equal(e->tap.pairs, 1);
	post_rx(e, 1, 2048, &gpa);
	net_send(e, 1, 80, 61);
	virtio_net_rx(&e->net, 1);
	assert_int_equal(fv_used_idx(&e->fv[2]), 0);
	assert_int_equal(tap_pending(e, 1), HDR + 80);
	assert_int_equal(stats(e, 2).backpressure, 0);

	/* transmit on the inactive pair goes to its own tap */
	{
		struct fv_buf b = R(TXBUF_GPA, HDR + 20);

		fv_add_chain(&e->fv[3], &b, 1);
	}
	virtio_pci_queue_kicked(&e->t, 3);
	assert_int_equal(net_recv(e, 1, got, sizeof(got)), HDR + 20);
	assert_int_equal(net_recv(e, 0, got, sizeof(got)), -EAGAIN);
	assert_int_equal(stats(e, 3).packets, 1);

	kicks = e->h.qkicks[2];
	assert_int_equal(mq_set(e, 2), VIRTIO_NET_OK);
	assert_int_equal(e->tap.pairs, 2);
	assert_int_equal(e->h.qkicks[2], kicks + 1);
	virtio_pci_queue_kicked(&e->t, 2);
	assert_int_equal(fv_used_idx(&e->fv[2]), 1);
	assert_payload(e, gpa + HDR, 0, 80, 61);
	assert_int_equal(stats(e, 2).packets, 1);
	assert_int_equal(stats(e, 0).packets, 0);

	/* the VMM refuses a change: ERR, nothing changes */
	e->tap.pairs_err = -EBUSY;
	assert_int_equal(mq_set(e, 1), VIRTIO_NET_ERR);
	assert_int_equal(atomic_load(&e->net.active_pairs), 2);
	e->tap.pairs_err = 0;
	assert_int_equal(mq_set(e, 1), VIRTIO_NET_OK);
	net_send(e, 1, 80, 62);
	post_rx(e, 1, 2048, NULL);
	virtio_net_rx(&e->net, 1);
	assert_int_equal(fv_used_idx(&e->fv[2]), 1);
	assert_int_equal(tap_pending(e, 1), HDR + 80);
	teardown(state);
}

/* A driver without MQ on a 2-pair device: one pair, control queue at 2. */
static void test_ctrl_without_mq(void **state)
{
	struct cfg c = default_cfg;
	const uint8_t promisc[3] = {VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1};
	struct env *e;
	uint64_t gpa;

	c.pairs = 2;
	c.refuse |= F(VIRTIO_NET_F_MQ);
	e = env_start(state, &c);
	assert_int_equal(e->ctrlq, 2);
	assert_int_equal(virtio_net_queue_pair(&e->net, 2), -1);
	assert_int_equal(virtio_net_queue_pair(&e->net, 4), -1);
	assert_int_equal(virtio_net_queue_pair(&e->net, 1), 0);
	assert_int_equal(ctrl(e, promisc, sizeof(promisc), false), VIRTIO_NET_OK);
	assert_int_equal(mq_set(e, 2), VIRTIO_NET_ERR);
	assert_int_equal(mq_set(e, 1), VIRTIO_NET_ERR);
	/* the tap of pair 1 must not reach queue 2 (the control queue) */
	net_send(e, 1, 40, 71);
	virtio_net_rx(&e->net, 1);
	assert_int_equal(fv_used_idx(&e->fv[2]), 3);
	assert_int_equal(tap_pending(e, 1), HDR + 40);
	/* pair 0 works */
	post_rx(e, 0, 2048, &gpa);
	net_send(e, 0, 40, 72);
	virtio_net_rx(&e->net, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 1);
	assert_payload(e, gpa + HDR, 0, 40, 72);
	teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_refusals),
	    cmocka_unit_test_teardown(test_features_and_config, teardown),
	    cmocka_unit_test_teardown(test_features_mq_ufo_uso, teardown),
	    cmocka_unit_test_teardown(test_set_offload_flags, teardown),
	    cmocka_unit_test_teardown(test_tx_frame, teardown),
	    cmocka_unit_test_teardown(test_tx_malformed, teardown),
	    cmocka_unit_test_teardown(test_tx_tap_full, teardown),
	    cmocka_unit_test_teardown(test_rx_frame, teardown),
	    cmocka_unit_test_teardown(test_rx_mergeable, teardown),
	    cmocka_unit_test_teardown(test_rx_no_mrg, teardown),
	    cmocka_unit_test_teardown(test_rx_backpressure, teardown),
	    cmocka_unit_test_teardown(test_rx_gso_window, teardown),
	    cmocka_unit_test_teardown(test_rx_malformed_chain, teardown),
	    cmocka_unit_test_teardown(test_rx_budget, teardown),
	    cmocka_unit_test_teardown(test_rx_not_running_and_reset, teardown),
	    cmocka_unit_test_teardown(test_event_idx_batching, teardown),
	    cmocka_unit_test_teardown(test_ctrl_commands, teardown),
	    cmocka_unit_test_teardown(test_mq_pairs, teardown),
	    cmocka_unit_test_teardown(test_ctrl_without_mq, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
