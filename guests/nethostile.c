/* nethostile: attacks on kvmlab's virtio-net device (one queue pair and the
 * control queue: rx 0, tx 1, ctrl 2) through malformed transmit chains,
 * receive buffers that cannot take a frame, control-queue garbage and bad
 * rings, then, once the host has deleted the tap under it, ordinary
 * traffic.  Each attack starts from a freshly reset device and checks what
 * the device must do: complete the chain and go on (a bad frame is dropped,
 * a bad command gets VIRTIO_NET_ERR), or go NEEDS_RESET for a broken ring;
 * then a good frame and a good command must go through after a reset.
 *
 * The host sends 1000-byte datagrams toward us all along (more than any
 * receive buffer here can take) and deletes the tap once we print "tap
 * phase ready"; a byte on the UART then tells us to go on.
 *
 * Prints "attack NAME: ok", "attack NAME: ok, NEEDS_RESET for CAUSE" or
 * "attack NAME: FAIL (why)", then "nethostile: N attacks, R expected
 * NEEDS_RESET, F failed" and, after the tap phase, "nethostile: all ok".
 * Exits 0 if everything held, 3 if the device could not be set up, 10 if
 * an attack failed, 11 if the tap phase failed. */
#include <stddef.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>

#include "lib/guest.h"
#include "lib/pci.h"
#include "lib/uart_wait.h"
#include "lib/virtio.h"

#define VIRTIO_PCI_DEVICE_NET 0x1041
#define BAR_BASE	      0xc0000000ull
#define NOWHERE		      0x40000000ull /* above RAM */
#define QSIZE		      8
#define HDR		      12 /* struct virtio_net_hdr_mrg_rxbuf */
#define FRAME		      60
#define BIG		      (70 * 1024)   /* more than any frame */
#define SMALL_RX	      64	    /* receive buffers too small for the host's frames */
#define CYCLES_WAIT	      2000000000ull /* TSC cycles the rx attack watches (about 1 s) */

enum { RXQ, TXQ, CTRLQ, NQ };

static uint8_t rings[NQ][4096] __attribute__((aligned(4096))); /* >= VIRTQ_MEM_BYTES(QSIZE) */
static uint8_t frame[HDR + FRAME] __attribute__((aligned(64)));
static uint8_t big[BIG] __attribute__((aligned(4096)));
static uint8_t rxbuf[QSIZE][SMALL_RX] __attribute__((aligned(64)));
static uint8_t cmd[16];
static volatile uint8_t ack;
static struct vpci dev;
static struct virtq q[NQ];
static const char *why;

static const uint64_t WANT = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_CTRL_VQ);
static const uint16_t N = VRING_DESC_F_NEXT, W = VRING_DESC_F_WRITE;
#define A(p) ((uint64_t)(uintptr_t)(p))

static inline void barrier(void)
{
	/* ring stores stay before the index store and the notify */
	__asm__ volatile("" ::: "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static int fail(const char *w)
{
	why = w;
	return -1;
}

static bool needs_reset(void)
{
	return vpci_status(&dev) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* Reset, negotiate MAC + CTRL_VQ, set up the three queues, DRIVER_OK. */
static int setup(void)
{
	uint8_t s;

	if (vpci_negotiate(&dev, WANT) || dev.features != (WANT | (1ull << VIRTIO_F_VERSION_1)))
		return -1;
	for (int i = 0; i < NQ; i++)
		if (vpci_queue_setup(&dev, &q[i], (uint16_t)i, QSIZE, rings[i]))
			return -1;
	s = vpci_driver_ok(&dev);
	return (s & VIRTIO_CONFIG_S_DRIVER_OK) && !(s & VIRTIO_CONFIG_S_NEEDS_RESET) ? 0 : -1;
}

static void desc(struct virtq *v, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	v->desc[i].addr = addr;
	v->desc[i].len = len;
	v->desc[i].flags = flags;
	v->desc[i].next = next;
}

/* Publish head on v (hand-made chain) and notify. */
static void kick(struct virtq *v, uint16_t head)
{
	v->avail->ring[v->avail_idx % QSIZE] = head;
	barrier();
	v->avail_idx++;
	v->avail->idx = v->avail_idx;
	barrier();
	virtq_notify(v);
}

/* The next used element of a hand-made chain on v: its len, or -1 if none
 * came (bounded) or the device went NEEDS_RESET. */
static int64_t used(struct virtq *v)
{
	for (uint64_t spin = 0; spin < VIRTQ_POLL_SPINS; spin++) {
		if (v->used->idx != v->last_used) {
			barrier();
			uint32_t len = v->used->ring[v->last_used % QSIZE].len;

			v->last_used++;
			return len;
		}
		if ((spin & 1023) == 0 && needs_reset())
			return -1;
		__builtin_ia32_pause();
	}
	return -1;
}

/* The chain must come back (unused or used) and the device keep going. */
static int completed(struct virtq *v)
{
	if (used(v) < 0)
		return fail(needs_reset() ? "device went NEEDS_RESET" : "chain never completed");
	return needs_reset() ? fail("NEEDS_RESET set") : 0;
}

static int expect_reset(void)
{
	for (int spin = 0; spin < 200000; spin++)
		if (needs_reset())
			return 0;
	return fail("no NEEDS_RESET");
}

static void make_frame(void)
{
	static const uint8_t eth[14] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
					0x4b, 0x4c, 0x00, 0x00, 0x01, 0x88, 0xb5};

	memset(frame, 0, sizeof(frame));
	memcpy(frame + HDR, eth, sizeof(eth));
	memcpy(frame + HDR + sizeof(eth), "kvmlab-nethostile", 17);
}

/* A good frame: header + frame in one readable descriptor. */
static int good_tx(void)
{
	make_frame();
	desc(&q[TXQ], 0, A(frame), sizeof(frame), 0, 0);
	kick(&q[TXQ], 0);
	return completed(&q[TXQ]);
}

/* A control command: class, cmd, dlen data bytes from cmd[2..], then the
 * ack.  Returns the ack, -1 if none came. */
static int ctrl(uint8_t class, uint8_t c, uint32_t dlen)
{
	cmd[0] = class;
	cmd[1] = c;
	ack = 0xff;
	desc(&q[CTRLQ], 0, A(cmd), 2 + dlen, N, 1);
	desc(&q[CTRLQ], 1, A(&ack), 1, W, 0);
	kick(&q[CTRLQ], 0);
	if (used(&q[CTRLQ]) != 1)
		return -1;
	return ack;
}

static int expect_ack(int got, int want)
{
	if (got < 0)
		return fail(needs_reset() ? "device went NEEDS_RESET" : "no ack");
	return got == want ? 0 : fail("wrong ack");
}

/* ---- transmit ----------------------------------------------------------- */

static int a_tx_short(void)
{
	desc(&q[TXQ], 0, A(frame), 8, 0, 0); /* less than the header */
	kick(&q[TXQ], 0);
	return completed(&q[TXQ]);
}
static int a_tx_writable(void)
{
	make_frame();
	desc(&q[TXQ], 0, A(frame), HDR, N, 1);
	desc(&q[TXQ], 1, A(frame + HDR), FRAME, W, 0);
	kick(&q[TXQ], 0);
	return completed(&q[TXQ]);
}
static int a_tx_oversized(void)
{
	memset(big, 0, HDR);
	desc(&q[TXQ], 0, A(big), BIG, 0, 0);
	kick(&q[TXQ], 0);
	return completed(&q[TXQ]);
}
static int a_tx_gso_garbage(void)
{
	struct virtio_net_hdr *h = (struct virtio_net_hdr *)frame;

	make_frame();
	h->flags = 0xff;
	h->gso_type = 0x42;
	h->hdr_len = 0xffff;
	h->gso_size = 1;
	h->csum_start = 0xffff;
	h->csum_offset = 0xffff;
	desc(&q[TXQ], 0, A(frame), sizeof(frame), 0, 0);
	kick(&q[TXQ], 0);
	return completed(&q[TXQ]);
}
static int a_tx_zero_len(void)
{
	desc(&q[TXQ], 0, A(frame), HDR, N, 1);
	desc(&q[TXQ], 1, A(frame + HDR), 0, 0, 0);
	kick(&q[TXQ], 0);
	return expect_reset();
}
static int a_tx_next_range(void)
{
	desc(&q[TXQ], 0, A(frame), HDR, N, 77);
	kick(&q[TXQ], 0);
	return expect_reset();
}
static int a_tx_outside_ram(void)
{
	desc(&q[TXQ], 0, NOWHERE, sizeof(frame), 0, 0);
	kick(&q[TXQ], 0);
	return expect_reset();
}
static int a_tx_head_range(void)
{
	kick(&q[TXQ], QSIZE + 1);
	return expect_reset();
}

/* ---- receive ------------------------------------------------------------ */

static int a_rx_readable(void)
{
	desc(&q[RXQ], 0, A(rxbuf[0]), SMALL_RX, 0, 0); /* not device-writable */
	kick(&q[RXQ], 0);
	return completed(&q[RXQ]);
}
static int a_rx_tiny(void)
{
	desc(&q[RXQ], 0, A(rxbuf[0]), 4, W, 0); /* not even a header */
	kick(&q[RXQ], 0);
	return completed(&q[RXQ]);
}
static int a_rx_loop(void)
{
	desc(&q[RXQ], 0, A(rxbuf[0]), 16, N | W, 1);
	desc(&q[RXQ], 1, A(rxbuf[1]), 16, N | W, 0);
	kick(&q[RXQ], 0);
	return expect_reset();
}
static int a_rx_too_small(void)
{
	/* the host's 1000-byte frames fit none of these: none is used */
	uint64_t t0 = rdtsc();

	for (uint16_t i = 0; i < QSIZE; i++) {
		desc(&q[RXQ], i, A(rxbuf[i]), SMALL_RX, W, 0);
		q[RXQ].avail->ring[i] = i;
	}
	barrier();
	q[RXQ].avail_idx = QSIZE;
	q[RXQ].avail->idx = QSIZE;
	barrier();
	virtq_notify(&q[RXQ]);
	while (rdtsc() - t0 < CYCLES_WAIT) {
		if (q[RXQ].used->idx != 0)
			return fail("a frame went into a buffer too small for it");
		__builtin_ia32_pause();
	}
	return needs_reset() ? fail("NEEDS_RESET set") : 0;
}

/* ---- control queue ------------------------------------------------------ */

static int a_ctrl_unknown(void)
{
	return expect_ack(ctrl(0x7e, 0x11, 4), VIRTIO_NET_ERR);
}
static int a_ctrl_short(void)
{
	cmd[0] = VIRTIO_NET_CTRL_RX;
	ack = 0xff;
	desc(&q[CTRLQ], 0, A(cmd), 1, N, 1); /* half a header */
	desc(&q[CTRLQ], 1, A(&ack), 1, W, 0);
	kick(&q[CTRLQ], 0);
	return expect_ack(used(&q[CTRLQ]) == 1 ? ack : -1, VIRTIO_NET_ERR);
}
static int a_ctrl_mq_unoffered(void)
{
	cmd[2] = 1;
	cmd[3] = 0;
	return expect_ack(ctrl(VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2),
			  VIRTIO_NET_ERR);
}
static int a_ctrl_mac_short(void)
{
	return expect_ack(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, 2),
			  VIRTIO_NET_ERR);
}
static int a_ctrl_rx_no_data(void)
{
	return expect_ack(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0), VIRTIO_NET_ERR);
}
static int a_ctrl_no_ack(void)
{
	cmd[0] = VIRTIO_NET_CTRL_RX;
	cmd[1] = VIRTIO_NET_CTRL_RX_PROMISC;
	cmd[2] = 1;
	desc(&q[CTRLQ], 0, A(cmd), 3, 0, 0); /* nowhere for the ack */
	kick(&q[CTRLQ], 0);
	return expect_reset();
}
static int a_ctrl_ack_first(void)
{
	desc(&q[CTRLQ], 0, A(&ack), 1, N | W, 1);
	desc(&q[CTRLQ], 1, A(cmd), 3, 0, 0);
	kick(&q[CTRLQ], 0);
	return expect_reset();
}

/* ---- transport ---------------------------------------------------------- */

static int a_notify_missing_queue(void)
{
	for (uint32_t off = 0; off < 64; off += 2)
		mmio_write16(dev.notify + dev.notify_len + off, 0); /* past the queues */
	mmio_write16(dev.notify + 3 * dev.notify_mult, 3);	    /* a queue that is not there */
	return needs_reset() ? fail("NEEDS_RESET set") : 0;
}
static int a_config_mac_write(void)
{
	uint8_t mac0 = vpci_cfg_read8(&dev, 0);

	mmio_write8(dev.device, (uint8_t)~mac0); /* read-only in virtio 1.x */
	mmio_write32(dev.device + dev.device_len, 0xffffffffu);
	return vpci_cfg_read8(&dev, 0) == mac0 ? 0 : fail("MAC changed by a config write");
}

struct attack {
	const char *name;
	int (*fn)(void);
	const char *cause; /* the NEEDS_RESET cause, or NULL */
};

static const struct attack attacks[] = {
    {"tx-shorter-than-header", a_tx_short, NULL},
    {"tx-writable-buffer", a_tx_writable, NULL},
    {"tx-frame-larger-than-any", a_tx_oversized, NULL},
    {"tx-gso-header-garbage", a_tx_gso_garbage, NULL},
    {"tx-zero-length", a_tx_zero_len, "zero-len"},
    {"tx-next-out-of-range", a_tx_next_range, "next"},
    {"tx-buffer-outside-ram", a_tx_outside_ram, "addr"},
    {"tx-head-out-of-range", a_tx_head_range, "head"},
    {"rx-buffer-readable", a_rx_readable, NULL},
    {"rx-buffer-smaller-than-header", a_rx_tiny, NULL},
    {"rx-desc-loop", a_rx_loop, "loop"},
    {"rx-frames-larger-than-any-buffer", a_rx_too_small, NULL},
    {"ctrl-unknown-class", a_ctrl_unknown, NULL},
    {"ctrl-short-header", a_ctrl_short, NULL},
    {"ctrl-mq-not-negotiated", a_ctrl_mq_unoffered, NULL},
    {"ctrl-mac-addr-short", a_ctrl_mac_short, NULL},
    {"ctrl-rx-mode-no-data", a_ctrl_rx_no_data, NULL},
    {"ctrl-no-ack-byte", a_ctrl_no_ack, "device"},
    {"ctrl-ack-before-command", a_ctrl_ack_first, "order"},
    {"notify-missing-queue", a_notify_missing_queue, NULL},
    {"config-mac-write", a_config_mac_write, NULL},
};

/* After an attack: a reset, then a good frame and a good command work. */
static int recovers(void)
{
	if (setup())
		return fail("setup after the attack failed");
	if (good_tx())
		return fail("good frame after reset failed");
	cmd[2] = 1;
	return expect_ack(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1), VIRTIO_NET_OK)
		   ? fail("good command after reset failed")
		   : 0;
}

/* The tap is gone: frames still complete (dropped by kvmlab), commands
 * still answered, the device stays up. */
static int tap_gone(void)
{
	if (setup())
		return fail("setup failed");
	for (int i = 0; i < 4; i++)
		if (good_tx())
			return fail("a frame did not complete without the tap");
	for (uint16_t i = 0; i < QSIZE; i++) {
		desc(&q[RXQ], i, A(rxbuf[i]), SMALL_RX, W, 0);
		q[RXQ].avail->ring[i] = i;
	}
	barrier();
	q[RXQ].avail_idx = QSIZE;
	q[RXQ].avail->idx = QSIZE;
	barrier();
	virtq_notify(&q[RXQ]);
	cmd[2] = 1;
	if (expect_ack(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1), VIRTIO_NET_OK))
		return fail("no answer to a command without the tap");
	return needs_reset() ? fail("NEEDS_RESET set") : 0;
}

int guest_main(const char *cmdline)
{
	struct pci_dev pci;
	unsigned int n = sizeof(attacks) / sizeof(attacks[0]), resets = 0, failed = 0;

	(void)cmdline;
	if (!pci_find(VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_NET, &pci) ||
	    vpci_open(&dev, &pci, BAR_BASE) || setup())
		return 3;
	for (unsigned int i = 0; i < n; i++) {
		const struct attack *a = &attacks[i];
		int r;

		why = "";
		r = setup() ? fail("setup before the attack failed") : a->fn();
		if (!r)
			r = recovers();
		resets += a->cause != NULL;
		guest_puts("attack ");
		guest_puts(a->name);
		if (r) {
			failed++;
			guest_puts(": FAIL (");
			guest_puts(why);
			guest_puts(")\n");
		} else if (a->cause) {
			guest_puts(": ok, NEEDS_RESET for ");
			guest_puts(a->cause);
			guest_puts("\n");
		} else {
			guest_puts(": ok\n");
		}
	}
	guest_puts("nethostile: ");
	guest_putu(n);
	guest_puts(" attacks, ");
	guest_putu(resets);
	guest_puts(" expected NEEDS_RESET, ");
	guest_putu(failed);
	guest_puts(" failed\n");
	if (failed)
		return 10;

	guest_puts("nethostile: tap phase ready\n");
	guest_wait_uart();
	why = "";
	if (tap_gone()) {
		guest_puts("nethostile: tap phase FAIL (");
		guest_puts(why);
		guest_puts(")\n");
		return 11;
	}
	guest_puts("nethostile: all ok\n");
	return 0;
}
