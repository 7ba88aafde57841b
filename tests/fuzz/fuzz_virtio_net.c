/* libFuzzer target: a hostile driver against virtio-net over the virtio-pci
 * transport: transmit chains, control commands and receive buffers, with
 * each queue pair's tap played by one end of a datagram socketpair (the
 * fuzzer plays the network at the other end).
 *
 * Guest memory is 128 KiB in three regions: A [0, 0x10000) and B
 * [0x10000, 0x1c000) adjacent (buffers may span them), a gap, then C
 * [0x1d000, 0x20000).  Queue q's ring sits at q * 0x400 (descriptors, avail
 * at + 0x100, used at + 0x200); the indirect table of the chain with head h
 * on queue q at 0x1400 + (16 * q + h) * 128; the fake driver hands out
 * buffers from [0x4000, 0x1c000) in order (16-aligned), starting over when
 * it reaches the end.  Queues: rx0 tx0 [rx1 tx1] ctrl, as the features imply.
 *
 * Input: a 4-byte header, then records.
 *   [0] bit 0 two queue pairs, bit 1 offloads, bit 2 the tap takes UFO and
 *       USO, bit 3 budgets of 3 frames / 4 KiB per call, bits 4-6 ring
 *       size 1 << (v % 5) (1..16)
 *   [1] features the driver refuses: bit 0 MRG_RXBUF, bit 1 CTRL_VQ, bit 2
 *       MQ, bit 3 EVENT_IDX, bit 4 INDIRECT_DESC, bit 5 the GUEST_ TSO, UFO
 *       and USO bits, bit 6 GUEST_CSUM, bit 7 MTU
 *   [2..3] the MTU (LE; below 68: not announced)
 * Records: an op byte, kind = op & 7, a = op >> 3:
 *   0 a chain on queue a & 7 (mod the queue count), a & 8 through an
 *     indirect table, a & 16 kick after it; then a byte n (buffers - 1 in
 *     bits 0-2), a byte p, 3 bytes per buffer: LE16 (bit 15 writable,
 *     bit 14 start 8 bytes past 16-alignment, bits 0-13 length) and a
 *     placement byte (0: the driver's next free bytes, else the guest
 *     address byte * 512); then p bytes written at the start of the
 *     readable buffers (vnet header and frame, or a control command)
 *   1 the network sends a frame to pair a & 1: LE16 payload length, after
 *     a 12-byte vnet header; a & 2: then the tap handler runs
 *   2 kick queue a (mod the queue count)
 *   3 the tap handler of pair a & 1 runs
 *   4 reset and probe again
 *   5 read the configuration space
 *   6 a control command: a byte class, a byte cmd, a byte n and n bytes of
 *     data; one readable buffer (a & 1: split after the class byte) and an
 *     ack byte
 *   7 a frame to transmit on pair a & 1: LE16 length of the frame after
 *     the vnet header (a & 2: header and frame in one buffer), kicked
 * Kicks the device asks the host for (DRIVER_OK, budgets, new pairs) are
 * served after every record, as the IO thread would.
 * Checked after every pass: guest memory changed only inside the writable
 * buffers of the queue's chains and its used ring; the used elements are
 * the oldest chains in order, each with a length within its writable bytes
 * (transmit: 0; control: 1 and an ack of OK or ERR); every frame the
 * network receives is the readable part of one of the transmit chains just
 * completed, in order, and as many as the queue counted; every frame the
 * guest receives fills its chains in order (num_buffers of them, all full
 * but the last) with one of the frames the tap gave, byte for byte. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "tests/unit/fake_vpci.h"
#include "tests/unit/fake_vring.h"
#include "virtio/net.h"
#include "virtio/virtio_pci.h"

#ifndef VIRTIO_NET_F_GUEST_USO4
#define VIRTIO_NET_F_GUEST_USO4 54
#define VIRTIO_NET_F_GUEST_USO6 55
#endif
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

#define MEM_SIZE   0x20000
#define GAP_START  0x1c000
#define GAP_END	   0x1d000
#define RING_GPA   0x400ULL /* queue q at q * RING_GPA */
#define TABLE_GPA  0x1400ULL
#define TABLE_LEN  128 /* 8 descriptors */
#define DATA_GPA   0x4000ULL
#define DATA_END   GAP_START
#define HEADER	   4
#define MAX_BUFS   8
#define MAX_QSIZE  16
#define MAXP	   2
#define MAXQ	   (2 * MAXP + 1)
#define HDR	   VIRTIO_NET_HDR_LEN
#define TX_MAX	   (HDR + VIRTIO_NET_MAX_FRAME)
#define MAX_ROUNDS 64 /* passes of the IO thread per record */

/* An invariant failed: crash so libFuzzer keeps the input. */
#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

#define BIT(n) (1ULL << (n))

static uint8_t mem[MEM_SIZE] __attribute__((aligned(4096)));
static uint8_t before[MEM_SIZE];
static uint8_t frame[TX_MAX + 64];
static uint8_t sent[TX_MAX];	     /* a transmit chain's bytes, gathered */
static uint8_t pattern[65536 + 256]; /* frame contents */

/* A chain published and not yet completed. */
struct chain {
	uint16_t head;
	uint16_t need; /* descriptors in the main table */
	struct fv_buf b[MAX_BUFS];
	unsigned int nb;
	uint64_t in_total;
	bool rings;  /* a buffer overlaps the rings or tables (which the device
		      * writes while it sends: the bytes may differ) */
	bool tx;     /* a frame the device sends: readable only, 12..TX_MAX bytes */
	bool rxbuf;  /* a receive buffer: writable only, 12 bytes or more */
	bool placed; /* a buffer was placed by the input */
	uint32_t out_total;
};

/* Frames the network sent to a pair and the device has not read yet. */
struct sent {
	uint16_t len[64]; /* payload bytes after the vnet header */
	unsigned int n;
};

struct queue {
	struct fv fv;
	bool live; /* set up by the driver */
	struct chain pend[MAX_QSIZE];
	unsigned int npend;
	unsigned int desc_used;
	bool clobber; /* a pending chain may write over the rings */
	unsigned int kicks_seen;
};

struct tapstub {
	unsigned int offload, pairs;
};

struct env {
	struct guest_mem gm;
	int sv[MAXP][2]; /* [0]: the device's tap fd, [1]: the network */
	struct tapstub tap;
	struct virtio_net net;
	struct virtio_pci t;
	struct fvp_host h;
	struct fvp drv;
	struct queue q[MAXQ];
	unsigned int nq;
	uint64_t refuse, features;
	uint16_t qsize;
	unsigned int ctrlq; /* MAXQ if none */
	struct sent sent[MAXP];
	uint64_t next;
	bool wrapped; /* buffers were handed out again since the probe */
	bool reprobe; /* the device needs a reset, or a chain wrote over the rings */
};

static int stub_offload(void *opaque, unsigned int flags)
{
	((struct tapstub *)opaque)->offload = flags;
	return 0;
}

static int stub_pairs(void *opaque, unsigned int pairs)
{
	((struct tapstub *)opaque)->pairs = pairs;
	return 0;
}

static const struct virtio_net_tap_ops stub_ops = {
    .set_offload = stub_offload,
    .set_queue_pairs = stub_pairs,
};

/* What the device does with queue q now (see net_queue_notify). */
enum role { ROLE_NONE, ROLE_RX, ROLE_TX, ROLE_CTRL };

static enum role role(const struct env *e, unsigned int q)
{
	unsigned int ctrl = e->features & BIT(VIRTIO_NET_F_MQ) ? 2 * e->net.cfg.pairs : 2;

	if (q == ctrl)
		return ROLE_CTRL;
	if (q >= 2 * e->net.cfg.pairs)
		return ROLE_NONE;
	return q % 2 ? ROLE_TX : ROLE_RX;
}

/* The driver's probe over fresh rings, in the layout its features imply. */
static void probe(struct env *e)
{
	uint64_t feat = fvp_device_features(&e->drv) & ~e->refuse;
	unsigned int pairs;

	fvp_set_status(&e->drv, 0);
	CHECK(fvp_negotiate(&e->drv, feat) & VIRTIO_CONFIG_S_FEATURES_OK);
	e->features = feat;
	pairs = feat & BIT(VIRTIO_NET_F_MQ) ? e->net.cfg.pairs : 1;
	e->ctrlq = feat & BIT(VIRTIO_NET_F_CTRL_VQ) ? 2 * pairs : MAXQ;
	for (unsigned int q = 0; q < MAXQ; q++) {
		struct queue *s = &e->q[q];

		s->live = q < 2 * pairs || q == e->ctrlq;
		s->npend = s->desc_used = 0;
		s->clobber = false;
		if (!s->live)
			continue;
		fv_init(&s->fv, &e->gm, e->qsize, RING_GPA * q, RING_GPA * q + 0x100,
			RING_GPA * q + 0x200);
		CHECK(fvp_setup_queue(&e->drv, (uint16_t)q, &s->fv, VPCI_NO_VECTOR) == 1);
	}
	fvp_set_status(&e->drv, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				    VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK(fvp_status(&e->drv) == (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK));
	e->next = DATA_GPA;
	e->wrapped = false;
	e->reprobe = false;
}

/* Take the new bytes of [gpa, gpa + len) into the copy from before. */
static void allow(uint64_t gpa, uint64_t len)
{
	uint64_t end = gpa + len;

	if (end > MEM_SIZE)
		end = MEM_SIZE;
	/* the gap has host memory behind it, but no guest address */
	if (gpa < GAP_START && end > gpa)
		memcpy(before + gpa, mem + gpa, (end < GAP_START ? end : GAP_START) - gpa);
	if (gpa < GAP_END)
		gpa = GAP_END;
	if (end > gpa)
		memcpy(before + gpa, mem + gpa, end - gpa);
}

/* Whether the network received c: the frame is c's readable bytes as
 * guest memory holds them (a transmit pass writes nothing outside the
 * rings, and c has no buffer there unless c->rings). */
static bool is_sent(struct env *e, const struct chain *c, const uint8_t *f, ssize_t len)
{
	uint64_t off = 0;

	if (!c->tx || (ssize_t)c->out_total != len)
		return false;
	if (c->rings)
		return true;
	for (unsigned int i = 0; i < c->nb; i++) {
		if (gm_read(&e->gm, c->b[i].addr, sent + off, c->b[i].len) < 0)
			return false; /* not RAM: the queue broke on it */
		off += c->b[i].len;
	}
	return memcmp(sent, f, (size_t)len) == 0;
}

/* Frames that reached the network from pair: each one a transmit chain of
 * c[0, n), in order; as many as the queue counted (packets). */
static void drain(struct env *e, unsigned int pair, const struct chain *c, unsigned int n,
		  uint64_t packets)
{
	unsigned int k = 0;
	uint64_t got = 0;
	ssize_t r;

	while ((r = recv(e->sv[pair][1], frame, sizeof(frame), MSG_DONTWAIT)) >= 0) {
		while (k < n && !is_sent(e, &c[k], frame, r))
			k++;
		CHECK(k < n);
		k++;
		got++;
	}
	CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
	CHECK(got == packets);
}

/* The writable bytes of c, at most len, copied to sent + off.  Returns
 * the bytes copied. */
static uint64_t rx_gather(struct env *e, const struct chain *c, uint64_t off, uint64_t len)
{
	uint64_t done = 0;

	for (unsigned int i = 0; i < c->nb && done < len; i++) {
		uint64_t k = c->b[i].len < len - done ? c->b[i].len : len - done;

		CHECK(gm_read(&e->gm, c->b[i].addr, sent + off + done, k) == 0);
		done += k;
	}
	return done;
}

/* The receive pass on queue q completed used[0, n) and read `consumed`
 * frames from the tap, `delivered` of them into the guest: every used
 * chain is either no receive buffer (length 0) or part of a frame whose
 * first chain's num_buffers counts its chains, each one full but the
 * last; each frame is one of the frames read, in order, byte for byte
 * (num_buffers aside).  Checked only when no buffers may overlap (none
 * placed by the input, none handed out twice since the probe). */
static void rx_check(struct env *e, unsigned int q, uint16_t used0, unsigned int n,
		     uint64_t consumed, uint64_t delivered)
{
	const struct queue *s = &e->q[q];
	const struct sent *f = &e->sent[q / 2];
	bool mrg = e->features & BIT(VIRTIO_NET_F_MRG_RXBUF);
	uint64_t frames = 0, k = 0;

	CHECK(consumed <= f->n);
	if (e->wrapped)
		return;
	for (unsigned int i = 0; i < n; i++)
		if (s->pend[i].placed)
			return;
	for (unsigned int i = 0; i < n;) {
		struct virtio_net_hdr_mrg_rxbuf h;
		uint64_t total = 0;
		uint32_t id, len;
		uint16_t nbuf;

		fv_used_elem(&s->fv, (uint16_t)(used0 + i), &id, &len);
		if (!s->pend[i].rxbuf) {
			CHECK(len == 0);
			i++;
			continue;
		}
		CHECK(len >= 1);
		(void)rx_gather(e, &s->pend[i], 0, HDR);
		memcpy(&h, sent, HDR);
		nbuf = h.num_buffers;
		CHECK(nbuf >= 1 && i + nbuf <= n && (mrg || nbuf == 1));
		for (unsigned int j = 0; j < nbuf; j++) {
			const struct chain *c = &s->pend[i + j];

			fv_used_elem(&s->fv, (uint16_t)(used0 + i + j), &id, &len);
			CHECK(c->rxbuf && len >= 1 && len <= c->in_total);
			CHECK(j + 1 == nbuf || len == c->in_total);
			CHECK(total + len <= sizeof(sent));
			CHECK(rx_gather(e, c, total, len) == len);
			total += len;
		}
		while (k < consumed && f->len[k] + HDR != total)
			k++;
		CHECK(k < consumed);
		CHECK(h.hdr.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM && h.hdr.gso_type == 0 &&
		      h.hdr.hdr_len == 0 && h.hdr.gso_size == 0 && h.hdr.csum_start == 0 &&
		      h.hdr.csum_offset == 0);
		CHECK(memcmp(sent + HDR, pattern + (f->len[k] & 0xff), f->len[k]) == 0);
		k++;
		frames++;
		i += nbuf;
	}
	CHECK(frames == delivered);
}

/* The receive path read n frames from pair's tap. */
static void consume(struct env *e, unsigned int pair, uint64_t n)
{
	struct sent *f = &e->sent[pair];

	CHECK(n <= f->n);
	memmove(f->len, f->len + n, (f->n - n) * sizeof(f->len[0]));
	f->n -= (unsigned int)n;
}

/* Forget what pair sent: the chains it came from are not known. */
static void discard(struct env *e, unsigned int pair)
{
	while (recv(e->sv[pair][1], frame, sizeof(frame), MSG_DONTWAIT) >= 0)
		;
}

/* Serve queue q (rx: through the tap handler when tap is set) and check
 * what the device did. */
static void serve(struct env *e, unsigned int q, bool tap)
{
	struct queue *s = &e->q[q];
	enum role ro = role(e, q);
	struct virtio_net_stats st0, st1;
	uint16_t used0 = 0;
	unsigned int n = 0;

	virtio_net_queue_stats(&e->net, q, &st0);
	if (!s->live || e->reprobe) {
		if (tap)
			virtio_net_rx(&e->net, q / 2);
		else
			virtio_pci_queue_kicked(&e->t, q);
		virtio_net_queue_stats(&e->net, q, &st1);
		if (ro == ROLE_TX)
			discard(e, q / 2);
		if (ro == ROLE_RX)
			consume(e, q / 2, st1.packets - st0.packets + st1.drops - st0.drops);
		return;
	}
	used0 = fv_used_idx(&s->fv);
	if (s->npend) /* with nothing to pop the device has nothing to write */
		memcpy(before, mem, sizeof(mem));

	if (tap)
		virtio_net_rx(&e->net, q / 2);
	else
		virtio_pci_queue_kicked(&e->t, q);

	virtio_net_queue_stats(&e->net, q, &st1);
	if (!s->clobber) {
		for (unsigned int i = 0; i < s->npend; i++)
			for (unsigned int j = 0; j < s->pend[i].nb; j++)
				if (s->pend[i].b[j].write)
					allow(s->pend[i].b[j].addr, s->pend[i].b[j].len);
		allow(s->fv.used, fv_used_bytes(s->fv.size));
		CHECK(!s->npend || memcmp(before, mem, MEM_SIZE) == 0);

		n = (uint16_t)(fv_used_idx(&s->fv) - used0);
		CHECK(n <= s->npend);
		for (unsigned int i = 0; i < n; i++) {
			const struct chain *c = &s->pend[i];
			uint32_t id, len;

			fv_used_elem(&s->fv, (uint16_t)(used0 + i), &id, &len);
			CHECK(id == c->head);
			CHECK(len <= c->in_total);
			if (ro == ROLE_TX)
				CHECK(len == 0);
			if (ro == ROLE_CTRL && c->in_total) {
				/* the ack is the first writable byte; a control
				 * pass writes nothing but acks outside the rings */
				unsigned int j = 0;

				CHECK(len == 1);
				while (!c->b[j].write)
					j++;
				if (c->b[j].addr >= DATA_GPA)
					CHECK(mem[c->b[j].addr] == VIRTIO_NET_OK ||
					      mem[c->b[j].addr] == VIRTIO_NET_ERR);
			}
		}
		if (ro == ROLE_TX)
			drain(e, q / 2, s->pend, n, st1.packets - st0.packets);
		if (ro == ROLE_RX)
			rx_check(e, q, used0, n, st1.packets - st0.packets + st1.drops - st0.drops,
				 st1.packets - st0.packets);
		if (ro == ROLE_NONE)
			CHECK(n == 0 && st1.packets == st0.packets);
		/* the oldest n chains are done and their descriptors free */
		for (unsigned int i = 0; i < n; i++)
			s->desc_used -= s->pend[i].need;
		memmove(s->pend, s->pend + n, (s->npend - n) * sizeof(s->pend[0]));
		s->npend -= n;
	} else {
		if (ro == ROLE_TX)
			discard(e, q / 2);
		e->reprobe = true;
	}
	if (ro == ROLE_RX)
		consume(e, q / 2, st1.packets - st0.packets + st1.drops - st0.drops);
	if (virtio_pci_status(&e->t) & VIRTIO_CONFIG_S_NEEDS_RESET)
		e->reprobe = true;
}

/* The IO thread: serve every kick the device asked the host for. */
static void io_thread(struct env *e)
{
	for (unsigned int round = 0; round < MAX_ROUNDS; round++) {
		bool any = false;

		for (unsigned int q = 0; q < MAXQ; q++) {
			if (e->q[q].kicks_seen == e->h.qkicks[q])
				continue;
			e->q[q].kicks_seen = e->h.qkicks[q];
			serve(e, q, false);
			any = true;
		}
		if (!any)
			break;
	}
	if (e->reprobe)
		probe(e);
}

/* Publish bufs b[0, nb) on queue q after writing stream into the readable
 * buffers (never into the rings: a readable buffer there is read as is).
 * Returns false if the ring has no room even after serving it. */
static bool publish(struct env *e, unsigned int q, struct fv_buf *b, unsigned int nb, bool indirect,
		    bool placed, const uint8_t *stream, size_t slen)
{
	struct queue *s = &e->q[q];
	unsigned int need = indirect ? 1 : nb;
	struct chain *c;
	uint64_t off = 0;

	if (!s->live || need > e->qsize)
		return false;
	if (s->desc_used + need > e->qsize) {
		serve(e, q, false);
		if (e->reprobe) {
			probe(e);
			e->wrapped = true; /* b was handed out before: it may come again */
		}
		if (s->desc_used + need > e->qsize)
			return false;
	}
	for (unsigned int i = 0; i < nb && off < slen; i++) {
		uint64_t k;

		if (b[i].write)
			continue;
		k = b[i].len < slen - off ? b[i].len : slen - off;
		if (b[i].addr >= DATA_GPA)
			(void)gm_write(&e->gm, b[i].addr, stream + off, k);
		off += b[i].len;
	}
	c = &s->pend[s->npend++];
	memset(c, 0, sizeof(*c));
	memcpy(c->b, b, nb * sizeof(b[0]));
	c->nb = nb;
	c->need = (uint16_t)need;
	c->placed = placed;
	c->tx = true;
	for (unsigned int i = 0; i < nb; i++) {
		if (b[i].addr < DATA_GPA)
			c->rings = true;
		if (b[i].write) {
			c->in_total += b[i].len;
			c->tx = false;
			if (b[i].addr < DATA_GPA)
				s->clobber = true;
		} else {
			c->out_total += b[i].len;
		}
	}
	if (c->out_total < HDR || c->out_total > TX_MAX)
		c->tx = false;
	c->rxbuf = c->out_total == 0 && c->in_total >= HDR;
	if (indirect)
		c->head = fv_add_indirect(
		    &s->fv, TABLE_GPA + TABLE_LEN * (16ULL * q + s->fv.next_desc), b, nb);
	else
		c->head = fv_add_chain(&s->fv, b, nb);
	s->desc_used += need;
	return true;
}

/* The driver's next free bytes for a buffer of len. */
static uint64_t alloc(struct env *e, uint32_t len, bool skew)
{
	uint64_t a = ((e->next + 15) & ~15ULL) + (skew ? 8 : 0);

	if (a + len > DATA_END) {
		a = DATA_GPA + (skew ? 8 : 0);
		e->wrapped = true;
	}
	e->next = a + len;
	return a;
}

static bool chain_record(struct env *e, uint8_t a, const uint8_t **p, const uint8_t *end)
{
	struct fv_buf b[MAX_BUFS];
	unsigned int nb, q;
	bool placed = false;
	uint8_t plen;

	if (end - *p < 2)
		return false;
	nb = ((*p)[0] & 7) + 1u;
	plen = (*p)[1];
	*p += 2;
	if (end - *p < 3 * (ptrdiff_t)nb)
		return false;
	for (unsigned int i = 0; i < nb; i++) {
		uint16_t w = (uint16_t)((*p)[0] | (*p)[1] << 8);
		uint8_t place = (*p)[2];
		uint32_t len = w & 0x3fff;

		*p += 3;
		if (place) {
			b[i].addr = (uint64_t)place * 512 + (w & 0x4000 ? 8 : 0);
			placed = true;
		} else {
			b[i].addr = alloc(e, len, w & 0x4000);
		}
		b[i].len = len;
		b[i].write = w & 0x8000;
	}
	if (plen > end - *p)
		plen = (uint8_t)(end - *p);
	q = (a & 7) % e->nq;
	(void)publish(e, q, b, nb, a & 8, placed, *p, plen);
	*p += plen;
	if (a & 16)
		serve(e, q, false);
	return true;
}

/* The network sends a vnet header and len bytes of frame to pair. */
static void net_send(struct env *e, unsigned int pair, uint16_t len)
{
	struct virtio_net_hdr_mrg_rxbuf h = {.hdr = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM},
					     .num_buffers = 0x7777};

	memcpy(frame, &h, HDR);
	memcpy(frame + HDR, pattern + (len & 0xff), len);
	if (send(e->sv[pair][1], frame, HDR + (size_t)len, MSG_DONTWAIT) < 0)
		return;
	CHECK(e->sent[pair].n < sizeof(e->sent[pair].len) / sizeof(e->sent[pair].len[0]));
	e->sent[pair].len[e->sent[pair].n++] = len;
}

static bool ctrl_record(struct env *e, uint8_t a, const uint8_t **p, const uint8_t *end)
{
	uint8_t cmd[2 + 255];
	struct fv_buf b[3];
	unsigned int n = 0;
	uint8_t dlen;

	if (end - *p < 3)
		return false;
	cmd[0] = (*p)[0];
	cmd[1] = (*p)[1];
	dlen = (*p)[2];
	*p += 3;
	if (dlen > end - *p)
		dlen = (uint8_t)(end - *p);
	memcpy(cmd + 2, *p, dlen);
	*p += dlen;
	if (a & 1) {
		b[n] = (struct fv_buf){alloc(e, 1, false), 1, false};
		n++;
		b[n] = (struct fv_buf){alloc(e, 1u + dlen, false), 1u + dlen, false};
		n++;
	} else {
		b[n] = (struct fv_buf){alloc(e, 2u + dlen, false), 2u + dlen, false};
		n++;
	}
	b[n] = (struct fv_buf){alloc(e, 1, false), 1, true};
	n++;
	if (e->ctrlq < MAXQ && publish(e, e->ctrlq, b, n, false, false, cmd, 2u + dlen))
		serve(e, e->ctrlq, false);
	return true;
}

static bool tx_record(struct env *e, unsigned int pair, bool one, const uint8_t **p,
		      const uint8_t *end)
{
	struct virtio_net_hdr_mrg_rxbuf h = {
	    .hdr = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_NONE}};
	unsigned int q = 2 * pair + 1;
	struct fv_buf b[2];
	uint16_t len;

	if (end - *p < 2)
		return false;
	len = (uint16_t)((*p)[0] | (*p)[1] << 8) & 0x3fff;
	*p += 2;
	memcpy(frame, &h, HDR);
	memcpy(frame + HDR, pattern, len);
	if (one) {
		b[0] = (struct fv_buf){alloc(e, HDR + len, false), HDR + len, false};
		if (publish(e, q, b, 1, false, false, frame, HDR + (size_t)len))
			serve(e, q, false);
	} else {
		b[0] = (struct fv_buf){alloc(e, HDR, false), HDR, false};
		b[1] = (struct fv_buf){alloc(e, len, false), len, false};
		if (publish(e, q, b, len ? 2 : 1, false, false, frame, HDR + (size_t)len))
			serve(e, q, false);
	}
	return true;
}

/* The configuration space reads as configured. */
static void read_config(struct env *e)
{
	uint64_t mac = fvp_bar_rd(&e->drv, VPCI_DEVICE_OFF, 4) |
		       fvp_bar_rd(&e->drv, VPCI_DEVICE_OFF + 4, 2) << 32;

	CHECK(mac == 0x0100004c4b02ULL);
	CHECK(fvp_bar_rd(&e->drv,
			 VPCI_DEVICE_OFF + offsetof(struct virtio_net_config, max_virtqueue_pairs),
			 2) == e->net.cfg.pairs);
	for (uint32_t off = 0; off < virtio_net_cfg_len(); off++)
		(void)fvp_bar_rd(&e->drv, VPCI_DEVICE_OFF + off, 1);
}

/* Every run allocates the device's receive windows (20 KiB each) anew;
 * with ASan's default 256 MiB quarantine nearly every run would fault in
 * fresh pages.  A run frees far less than 16 MiB, so a use after free
 * within one run is still caught. */
const char *__asan_default_options(void);

const char *__asan_default_options(void)
{
	return "quarantine_size_mb=16";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct env e;
	struct virtio_net_config_opts o = {.mac = {0x02, 0x4b, 0x4c, 0x00, 0x00, 0x01}};
	const uint8_t *p, *end = data + len;
	int fds[MAXP];
	uint16_t mtu;

	if (len < HEADER)
		return 0;
	if (!pattern[1])
		for (size_t i = 0; i < sizeof(pattern); i++)
			pattern[i] = (uint8_t)(i * 7 + i / 251 + 1);
	memset(&e, 0, sizeof(e));
	memset(mem, 0xa5, sizeof(mem));
	gm_init(&e.gm);
	CHECK(gm_region_add(&e.gm, 0, 0x10000, mem) == 0);
	CHECK(gm_region_add(&e.gm, 0x10000, GAP_START - 0x10000, mem + 0x10000) == 0);
	CHECK(gm_region_add(&e.gm, GAP_END, MEM_SIZE - GAP_END, mem + GAP_END) == 0);
	for (unsigned int i = 0; i < MAXP; i++) {
		CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, e.sv[i]) ==
		      0);
		fds[i] = e.sv[i][0];
	}

	o.pairs = data[0] & 1 ? 2 : 1;
	o.offloads = data[0] & 2;
	o.tap_offloads = data[0] & 4 ? TUN_F_UFO | TUN_F_USO4 | TUN_F_USO6 : 0;
	e.qsize = (uint16_t)(1u << ((data[0] >> 4) & 7) % 5);
	mtu = (uint16_t)(data[2] | data[3] << 8);
	o.mtu = mtu < 68 ? 0 : mtu;
	e.refuse = (data[1] & 1 ? BIT(VIRTIO_NET_F_MRG_RXBUF) : 0) |
		   (data[1] & 2 ? BIT(VIRTIO_NET_F_CTRL_VQ) : 0) |
		   (data[1] & 4 ? BIT(VIRTIO_NET_F_MQ) : 0) |
		   (data[1] & 8 ? BIT(VIRTIO_RING_F_EVENT_IDX) : 0) |
		   (data[1] & 16 ? BIT(VIRTIO_RING_F_INDIRECT_DESC) : 0) |
		   (data[1] & 32 ? BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) |
				       BIT(VIRTIO_NET_F_GUEST_UFO) | BIT(VIRTIO_NET_F_GUEST_USO4) |
				       BIT(VIRTIO_NET_F_GUEST_USO6)
				 : 0) |
		   (data[1] & 64 ? BIT(VIRTIO_NET_F_GUEST_CSUM) : 0) |
		   (data[1] & 128 ? BIT(VIRTIO_NET_F_MTU) : 0);

	CHECK(virtio_net_init(&e.net, &o, fds, &stub_ops, &e.tap) == 0);
	if (data[0] & 8) {
		e.net.budget_pkts = 3;
		e.net.budget_bytes = 4096;
	}
	e.nq = virtio_net_num_queues(&e.net);
	CHECK(virtio_pci_init(&e.t, &e.gm, &virtio_net_ops, &e.net, virtio_net_features(&e.net),
			      e.nq, 256, virtio_net_cfg_len(), fvp_host_ops(), fvp_msix_ops(),
			      &e.h) == 0);
	e.net.t = &e.t;
	fvp_init_direct(&e.drv, &e.t);
	probe(&e);
	io_thread(&e);

	for (p = data + HEADER; p < end;) {
		uint8_t op = *p++, a = op >> 3;
		bool more = true;

		switch (op & 7) {
		case 0:
			more = chain_record(&e, a, &p, end);
			break;
		case 1:
			if (end - p < 2) {
				more = false;
				break;
			}
			net_send(&e, (a & 1u) % o.pairs, (uint16_t)(p[0] | p[1] << 8));
			p += 2;
			if (a & 2)
				serve(&e, 2 * ((a & 1u) % o.pairs), true);
			break;
		case 2:
			serve(&e, a % e.nq, false);
			break;
		case 3:
			serve(&e, 2 * ((a & 1u) % o.pairs), true);
			break;
		case 4:
			probe(&e);
			break;
		case 5:
			read_config(&e);
			break;
		case 6:
			more = ctrl_record(&e, a, &p, end);
			break;
		default:
			more = tx_record(&e, (a & 1u) % o.pairs, a & 2, &p, end);
			break;
		}
		if (!more)
			break;
		io_thread(&e);
	}
	fvp_set_status(&e.drv, 0);
	virtio_pci_destroy(&e.t);
	virtio_net_destroy(&e.net);
	for (unsigned int i = 0; i < MAXP; i++) {
		close(e.sv[i][0]);
		close(e.sv[i][1]);
	}
	return 0;
}
