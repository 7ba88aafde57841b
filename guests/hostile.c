/* hostile: a guest that attacks kvmlab's virtio-blk device (and, for the
 * BAR tests, the virtio-rng one) through its rings, its requests, its
 * virtio-pci transport and PCI configuration space, and the buses around
 * it.  Each attack starts from a freshly reset device, does its harm, and
 * checks what the virtio spec asks for: the device marks itself
 * NEEDS_RESET (0x40), or the request completes with an error status, or
 * the write is ignored.  Then the device is reset once more and a good read
 * of sector 0 must work, proving kvmlab survived with the device usable.
 *
 * Expects: --memory RAM_MIB (given on the command line as "ram_mib=N",
 * default 64), a virtio-blk disk of at least 1 MiB whose first bytes it
 * compares before and after, and a virtio-rng device.  The guest never
 * writes the disk: every write request it sends must be refused.
 *
 * Prints "attack NAME: ok", "attack NAME: ok, NEEDS_RESET for CAUSE" (the
 * cause kvmlab's --stats should count: a vq_error_name or "setup") or
 * "attack NAME: FAIL (why)" per attack, then
 * "hostile: N attacks, R expected NEEDS_RESET, F failed".  Exits 0 if every
 * attack held, 3 if the device could not be set up at all, else 10. */
#include <stddef.h>
#include <linux/pci_regs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "lib/guest.h"
#include "lib/pci.h"
#include "lib/virtio.h"

#define BAR_BASE   0xc0000000ull /* the blk BAR; rng goes after it */
#define RNG_BASE   0xc0100000ull
#define NOWHERE	   0x40000000ull /* above RAM, below the PCI hole */
#define UNMAPPED   0xd0000000ull /* in the PCI hole, no BAR there */
#define QSIZE	   8
#define SECTOR	   512
#define DEVICE_RNG 0x1044
#define NO_VECTOR  0xffff

static uint8_t ring[VIRTQ_MEM_BYTES(QSIZE) + 64] __attribute__((aligned(4096)));
static uint8_t data[2 * SECTOR] __attribute__((aligned(4096)));
static uint8_t first[64]; /* sector 0's first bytes, read before any attack */
static struct vring_desc itable[4] __attribute__((aligned(16)));
static struct virtio_blk_outhdr hdr;
static volatile uint8_t status;
static struct vpci dev, rng;
static struct virtq vq;
static uint64_t ram_end;
static const char *why;

#define CC(f) ((uint64_t)offsetof(struct virtio_pci_common_cfg, f))
#define F_IND (1ull << VIRTIO_RING_F_INDIRECT_DESC)

static inline void barrier(void)
{
	/* The device reads the ring from another thread; x86 keeps stores in
	 * order, the compiler must too, and the notify (a trapping MMIO
	 * write) comes after them. */
	__asm__ volatile("" ::: "memory");
}

static uint8_t cc8(uint64_t off)
{
	return mmio_read8(dev.common + off);
}
static uint16_t cc16(uint64_t off)
{
	return mmio_read16(dev.common + off);
}
static uint32_t cc32(uint64_t off)
{
	return mmio_read32(dev.common + off);
}
static void cc_w8(uint64_t off, uint8_t v)
{
	mmio_write8(dev.common + off, v);
}
static void cc_w16(uint64_t off, uint16_t v)
{
	mmio_write16(dev.common + off, v);
}
static void cc_w32(uint64_t off, uint32_t v)
{
	mmio_write32(dev.common + off, v);
}

static int fail(const char *w)
{
	why = w;
	return -1;
}

/* Reset .. FEATURES_OK with want, queue 0 of QSIZE, DRIVER_OK.  0 or -1. */
static int setup(uint64_t want)
{
	uint8_t s;

	if (vpci_negotiate(&dev, want) || vpci_queue_setup(&dev, &vq, 0, QSIZE, ring))
		return -1;
	s = vpci_driver_ok(&dev);
	return (s & VIRTIO_CONFIG_S_DRIVER_OK) && !(s & VIRTIO_CONFIG_S_NEEDS_RESET) ? 0 : -1;
}

/* Reset, ACKNOWLEDGE, DRIVER and the given features, FEATURES_OK; no
 * queue.  Returns the status read back. */
static uint8_t negotiate_raw(uint64_t features)
{
	cc_w8(CC(device_status), 0);
	for (int i = 0; i < 1000000 && cc8(CC(device_status)); i++)
		__builtin_ia32_pause();
	cc_w8(CC(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	cc_w8(CC(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	cc_w32(CC(guest_feature_select), 0);
	cc_w32(CC(guest_feature), (uint32_t)features);
	cc_w32(CC(guest_feature_select), 1);
	cc_w32(CC(guest_feature), (uint32_t)(features >> 32));
	cc_w8(CC(device_status),
	      VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	return cc8(CC(device_status));
}

/* Queue 0 by hand: size, ring addresses, enable.  The status afterwards. */
static uint8_t queue_raw(uint16_t size, uint64_t desc, uint64_t avail, uint64_t used)
{
	cc_w16(CC(queue_select), 0);
	cc_w16(CC(queue_size), size);
	cc_w32(CC(queue_desc_lo), (uint32_t)desc);
	cc_w32(CC(queue_desc_hi), (uint32_t)(desc >> 32));
	cc_w32(CC(queue_avail_lo), (uint32_t)avail);
	cc_w32(CC(queue_avail_hi), (uint32_t)(avail >> 32));
	cc_w32(CC(queue_used_lo), (uint32_t)used);
	cc_w32(CC(queue_used_hi), (uint32_t)(used >> 32));
	barrier();
	cc_w16(CC(queue_enable), 1);
	return cc8(CC(device_status));
}

static const uint64_t RING = (uint64_t)(uintptr_t)ring;

static bool needs_reset(void)
{
	for (int spin = 0; spin < 200000; spin++) {
		if (vpci_status(&dev) & VIRTIO_CONFIG_S_NEEDS_RESET)
			return true;
		__builtin_ia32_pause();
	}
	return false;
}

/* Make head available, bump avail->idx by step, notify. */
static void raw_kick(uint16_t head, uint16_t step)
{
	vq.avail->ring[vq.avail_idx % QSIZE] = head;
	barrier();
	vq.avail_idx = (uint16_t)(vq.avail_idx + step);
	vq.avail->idx = vq.avail_idx;
	barrier();
	virtq_notify(&vq);
}

static void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	vq.desc[i].addr = addr;
	vq.desc[i].len = len;
	vq.desc[i].flags = flags;
	vq.desc[i].next = next;
}

static const uint16_t N = VRING_DESC_F_NEXT, W = VRING_DESC_F_WRITE, I = VRING_DESC_F_INDIRECT;
#define A(p) ((uint64_t)(uintptr_t)(p))

/* hdr -> buffer -> status in descriptors 0-2, with the middle one's
 * address, length and flags given; then kick. */
static void chain3(uint64_t addr, uint32_t len, uint16_t flags)
{
	hdr.type = VIRTIO_BLK_T_IN;
	hdr.sector = 0;
	desc(0, A(&hdr), sizeof(hdr), N, 1);
	desc(1, addr, len, flags | N, 2);
	desc(2, A(&status), 1, W, 0);
	raw_kick(0, 1);
}

/* Wait for the used element of a raw chain (head 0).  Returns its len or
 * -1 if none came. */
static int64_t raw_used(void)
{
	for (uint64_t spin = 0; spin < VIRTQ_POLL_SPINS; spin++) {
		if (vq.used->idx != vq.last_used) {
			barrier();
			uint32_t len = vq.used->ring[vq.last_used % QSIZE].len;
			uint32_t id = vq.used->ring[vq.last_used % QSIZE].id;

			vq.last_used++;
			return id == 0 ? (int64_t)len : -1;
		}
		__builtin_ia32_pause();
	}
	return -1;
}

/* Send one request: hdr (hdr_len bytes of the header), then the data
 * buffer (len bytes, device-writable if wr; none if len is 0), then the
 * status byte.  Returns the status, or -1 on no completion, -2 if the
 * device went NEEDS_RESET. */
static int request(uint32_t type, uint64_t sector, uint32_t hdr_len, uint32_t len, bool wr)
{
	uint16_t n = 0;

	hdr.type = type;
	hdr.sector = sector;
	status = 0xff;
	desc(n, A(&hdr), hdr_len, N, (uint16_t)(n + 1));
	n++;
	if (len) {
		desc(n, A(data), len, (uint16_t)(N | (wr ? W : 0)), (uint16_t)(n + 1));
		n++;
	}
	desc(n, A(&status), 1, W, 0);
	raw_kick(0, 1);
	if (raw_used() < 0)
		return vpci_status(&dev) & VIRTIO_CONFIG_S_NEEDS_RESET ? -2 : -1;
	return status;
}

/* The request must complete with want and leave the device running. */
static int expect_status(int got, int want)
{
	if (got == -2)
		return fail("device went NEEDS_RESET");
	if (got < 0)
		return fail("no completion");
	if (got != want)
		return fail("wrong status");
	return vpci_status(&dev) & VIRTIO_CONFIG_S_NEEDS_RESET ? fail("NEEDS_RESET set") : 0;
}

static int expect_reset(void)
{
	return needs_reset() ? 0 : fail("no NEEDS_RESET");
}

/* ---- malformed rings: NEEDS_RESET ------------------------------------- */

static int a_desc_loop(void)
{
	desc(0, A(&hdr), sizeof(hdr), N, 1);
	desc(1, A(data), SECTOR, N, 0); /* readable too: only the loop is wrong */
	raw_kick(0, 1);
	return expect_reset();
}
static int a_next_range(void)
{
	desc(0, A(&hdr), sizeof(hdr), N, 200);
	raw_kick(0, 1);
	return expect_reset();
}
static int a_head_range(void)
{
	raw_kick(QSIZE + 3, 1);
	return expect_reset();
}
static int a_avail_jump(void)
{
	desc(0, A(&hdr), sizeof(hdr), 0, 0);
	raw_kick(0, 100);
	return expect_reset();
}
static int a_avail_back(void)
{
	desc(0, A(&hdr), sizeof(hdr), 0, 0);
	raw_kick(0, 0xffff); /* idx moves back by one */
	return expect_reset();
}
static void indirect_good_table(void)
{
	itable[0] = (struct vring_desc){.addr = A(&hdr), .len = sizeof(hdr), .flags = N, .next = 1};
	itable[1] = (struct vring_desc){.addr = A(data), .len = SECTOR, .flags = N | W, .next = 2};
	itable[2] = (struct vring_desc){.addr = A(&status), .len = 1, .flags = W};
	hdr.type = VIRTIO_BLK_T_IN;
	hdr.sector = 0;
}
static int a_indirect_unoffered(void)
{
	indirect_good_table(); /* fine, but the feature was not negotiated */
	desc(0, A(itable), 3 * sizeof(itable[0]), I, 0);
	raw_kick(0, 1);
	return expect_reset();
}
static int a_indirect_nested(void)
{
	itable[0] = (struct vring_desc){.addr = A(&itable[2]), .len = 16, .flags = I};
	desc(0, A(itable), sizeof(itable), I, 0);
	raw_kick(0, 1);
	return expect_reset();
}
static int a_indirect_len_odd(void)
{
	indirect_good_table();
	desc(0, A(itable), 24, I, 0);
	raw_kick(0, 1);
	return expect_reset();
}
static int a_indirect_len_zero(void)
{
	indirect_good_table();
	desc(0, A(itable), 0, I, 0);
	raw_kick(0, 1);
	return expect_reset();
}
static int a_indirect_next(void)
{
	indirect_good_table();
	desc(0, A(itable), 3 * sizeof(itable[0]), I | N, 1);
	desc(1, A(&status), 1, W, 0);
	raw_kick(0, 1);
	return expect_reset();
}
static int a_indirect_outside(void)
{
	desc(0, NOWHERE, 3 * sizeof(itable[0]), I, 0);
	raw_kick(0, 1);
	return expect_reset();
}
static int a_indirect_huge(void)
{
	desc(0, A(itable), 0x100000, I, 0); /* 65536 entries, past RAM too */
	raw_kick(0, 1);
	return expect_reset();
}
static int a_indirect_next_range(void)
{
	indirect_good_table();
	itable[1].next = 3; /* the table has 3 entries */
	desc(0, A(itable), 3 * sizeof(itable[0]), I, 0);
	raw_kick(0, 1);
	return expect_reset();
}
static int a_zero_len(void)
{
	chain3(A(data), 0, W);
	return expect_reset();
}
static int a_huge_len(void)
{
	chain3(A(data), 0xffffffffu, W);
	return expect_reset();
}
static int a_outside_ram(void)
{
	chain3(NOWHERE, SECTOR, W);
	return expect_reset();
}
static int a_across_end(void)
{
	chain3(ram_end - 256, SECTOR, W);
	return expect_reset();
}
static int a_pci_hole(void)
{
	chain3(BAR_BASE, SECTOR, W); /* our own BAR: MMIO, not RAM */
	return expect_reset();
}
static int a_addr_wrap(void)
{
	chain3(0xfffffffffffffe00ull, 0x400, W);
	return expect_reset();
}
static int a_order(void)
{
	hdr.type = VIRTIO_BLK_T_IN;
	desc(0, A(data), SECTOR, N | W, 1); /* writable before readable */
	desc(1, A(&hdr), sizeof(hdr), N, 2);
	desc(2, A(&status), 1, W, 0);
	raw_kick(0, 1);
	return expect_reset();
}
static int a_total_overflow(void)
{
	/* two writable buffers whose lengths add past 4 GiB */
	hdr.type = VIRTIO_BLK_T_IN;
	desc(0, A(&hdr), sizeof(hdr), N, 1);
	desc(1, A(data), SECTOR, N | W, 2);
	desc(2, 0x1000, 0xffffffffu, N | W, 3);
	desc(3, A(&status), 1, W, 0);
	raw_kick(0, 1);
	return expect_reset();
}

/* ---- queue setup: NEEDS_RESET ----------------------------------------- */

static int queue_refused(uint16_t size, uint64_t d, uint64_t a, uint64_t u)
{
	if (!(negotiate_raw(0x100000000ull) & VIRTIO_CONFIG_S_FEATURES_OK))
		return fail("FEATURES_OK refused");
	queue_raw(size, d, a, u);
	return expect_reset();
}
static int a_ring_outside(void)
{
	return queue_refused(QSIZE, NOWHERE, RING + VIRTQ_AVAIL_OFF(QSIZE),
			     RING + VIRTQ_USED_OFF(QSIZE));
}
static int a_used_across_end(void)
{
	return queue_refused(QSIZE, RING, RING + VIRTQ_AVAIL_OFF(QSIZE), ram_end - 16);
}
static int a_size_not_pow2(void)
{
	return queue_refused(6, RING, RING + 96, RING + 128);
}
static int a_size_above_max(void)
{
	uint16_t max;

	cc_w8(CC(device_status), 0); /* after a reset queue_size reads the maximum */
	cc_w16(CC(queue_select), 0);
	max = cc16(CC(queue_size));
	return queue_refused(max >= 0x8000 ? 0xffff : (uint16_t)(max * 2), RING, RING + 0x8000,
			     RING + 0x10000);
}
static int a_size_zero(void)
{
	return queue_refused(0, RING, RING + VIRTQ_AVAIL_OFF(QSIZE), RING + VIRTQ_USED_OFF(QSIZE));
}
static int a_ring_misaligned(void)
{
	return queue_refused(QSIZE, RING + 8, RING + 8 + VIRTQ_AVAIL_OFF(QSIZE),
			     RING + 8 + VIRTQ_USED_OFF(QSIZE));
}
static int a_enable_early(void)
{
	/* queue_enable before FEATURES_OK */
	cc_w8(CC(device_status), 0);
	cc_w8(CC(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	queue_raw(QSIZE, RING, RING + VIRTQ_AVAIL_OFF(QSIZE), RING + VIRTQ_USED_OFF(QSIZE));
	return expect_reset();
}

/* ---- bad block requests: error status, device keeps running ----------- */

static int a_sector_absurd(void)
{
	return expect_status(request(VIRTIO_BLK_T_IN, ~0ull, sizeof(hdr), SECTOR, true),
			     VIRTIO_BLK_S_IOERR);
}
static int a_write_far(void)
{
	return expect_status(request(VIRTIO_BLK_T_OUT, 1ull << 57, sizeof(hdr), SECTOR, false),
			     VIRTIO_BLK_S_IOERR);
}
static int a_count_absurd(void)
{
	/* a 1 KiB read that starts at the last sector */
	uint64_t cap = vpci_cfg_read64(&dev, offsetof(struct virtio_blk_config, capacity));

	return expect_status(request(VIRTIO_BLK_T_IN, cap - 1, sizeof(hdr), 2 * SECTOR, true),
			     VIRTIO_BLK_S_IOERR);
}
static int a_len_partial(void)
{
	return expect_status(request(VIRTIO_BLK_T_IN, 0, sizeof(hdr), 100, true),
			     VIRTIO_BLK_S_IOERR);
}
static int a_write_partial(void)
{
	return expect_status(request(VIRTIO_BLK_T_OUT, 0, sizeof(hdr), 100, false),
			     VIRTIO_BLK_S_IOERR);
}
static int a_type_unknown(void)
{
	return expect_status(request(0x7fff0000u, 0, sizeof(hdr), SECTOR, true),
			     VIRTIO_BLK_S_UNSUPP);
}
static int a_in_readable(void)
{
	/* a read whose data buffer is device-readable */
	return expect_status(request(VIRTIO_BLK_T_IN, 0, sizeof(hdr), SECTOR, false),
			     VIRTIO_BLK_S_IOERR);
}
static int a_out_writable(void)
{
	/* a write whose data buffer is device-writable */
	return expect_status(request(VIRTIO_BLK_T_OUT, 0, sizeof(hdr), SECTOR, true),
			     VIRTIO_BLK_S_IOERR);
}
static int a_hdr_short(void)
{
	return expect_status(request(VIRTIO_BLK_T_IN, 0, 8, SECTOR, true), VIRTIO_BLK_S_IOERR);
}
static int a_no_status(void)
{
	int64_t len;

	hdr.type = VIRTIO_BLK_T_IN;
	desc(0, A(&hdr), sizeof(hdr), 0, 0); /* nothing device-writable */
	raw_kick(0, 1);
	len = raw_used();
	if (len < 0)
		return fail("no completion");
	if (len != 0)
		return fail("used length not 0");
	return vpci_status(&dev) & VIRTIO_CONFIG_S_NEEDS_RESET ? fail("NEEDS_RESET set") : 0;
}
static int a_get_id_short(void)
{
	int64_t len;

	hdr.type = VIRTIO_BLK_T_GET_ID;
	status = 0xff;
	desc(0, A(&hdr), sizeof(hdr), N, 1);
	desc(1, A(data), 4, N | W, 2); /* the id is 20 bytes */
	desc(2, A(&status), 1, W, 0);
	raw_kick(0, 1);
	len = raw_used();
	if (len != 5)
		return fail("used length not 4 + 1");
	return expect_status(status, VIRTIO_BLK_S_OK);
}

/* ---- transport and PCI: ignored, refused or harmless ------------------ */

static int a_feature_unoffered(void)
{
	/* bit 50 is not offered: FEATURES_OK must not stick */
	uint8_t s = negotiate_raw(0x100000000ull | (1ull << 50));

	return s & VIRTIO_CONFIG_S_FEATURES_OK ? fail("FEATURES_OK stuck") : 0;
}
static int a_features_late(void)
{
	uint32_t before;

	if (!(negotiate_raw(0x100000000ull) & VIRTIO_CONFIG_S_FEATURES_OK))
		return fail("FEATURES_OK refused");
	cc_w32(CC(guest_feature_select), 0);
	before = cc32(CC(guest_feature));
	cc_w32(CC(guest_feature), 0xffffffffu);
	return cc32(CC(guest_feature)) == before ? 0 : fail("features changed after FEATURES_OK");
}
static int a_driver_ok_early(void)
{
	/* DRIVER_OK with no queue set up, then notifies */
	negotiate_raw(0x100000000ull);
	cc_w8(CC(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				     VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	for (int i = 0; i < 8; i++)
		mmio_write16(dev.notify, 0);
	return cc8(CC(device_status)) & VIRTIO_CONFIG_S_FEATURES_OK ? 0 : fail("status lost");
}
static int a_msix_vector_range(void)
{
	cc_w16(CC(msix_config), 0x1234);
	cc_w16(CC(queue_select), 0);
	cc_w16(CC(queue_msix_vector), 500);
	if (cc16(CC(msix_config)) != NO_VECTOR)
		return fail("config vector accepted");
	return cc16(CC(queue_msix_vector)) == NO_VECTOR ? 0 : fail("queue vector accepted");
}
static int a_queue_select_range(void)
{
	negotiate_raw(0x100000000ull);
	cc_w16(CC(queue_select), 0x7fff);
	cc_w16(CC(queue_size), 8);
	cc_w32(CC(queue_desc_lo), (uint32_t)RING);
	cc_w16(CC(queue_enable), 1);
	if (cc16(CC(queue_size)) != 0 || cc16(CC(queue_enable)) != 0)
		return fail("a queue that does not exist answered");
	return cc8(CC(device_status)) & VIRTIO_CONFIG_S_NEEDS_RESET ? fail("NEEDS_RESET set") : 0;
}
static int a_ring_moved_live(void)
{
	/* ring addresses and size are fixed once the queue is enabled */
	cc_w16(CC(queue_select), 0);
	cc_w32(CC(queue_desc_lo), (uint32_t)NOWHERE);
	cc_w16(CC(queue_size), 2);
	if (cc32(CC(queue_desc_lo)) != (uint32_t)RING || cc16(CC(queue_size)) != QSIZE)
		return fail("live ring moved");
	return expect_status(request(VIRTIO_BLK_T_IN, 0, sizeof(hdr), SECTOR, true),
			     VIRTIO_BLK_S_OK);
}
static int a_wrong_width(void)
{
	uint8_t s = cc8(CC(device_status));

	cc_w32(CC(device_status), 0); /* a reset, but 32 bits wide */
	cc_w8(CC(queue_select), 5);
	mmio_write8(dev.common + CC(queue_desc_lo) + 1, 0x77);
	if (cc8(CC(device_status)) != s)
		return fail("wide status write took");
	if (cc16(CC(queue_select)) != 0)
		return fail("narrow queue_select write took");
	if (cc32(CC(queue_desc_lo)) != (uint32_t)RING)
		return fail("byte write into queue_desc took");
	return 0;
}
static int a_config_past_end(void)
{
	uint64_t cap = vpci_cfg_read64(&dev, offsetof(struct virtio_blk_config, capacity));

	mmio_write32(dev.device, 0xdeadbeef);			    /* capacity is read-only */
	mmio_write32(dev.device + dev.device_len - 2, 0xffffffffu); /* straddles the end */
	mmio_write32(dev.device + 0x800, 0xffffffffu);
	if (mmio_read32(dev.device + 0x800) != 0)
		return fail("config past the end not zero");
	if (vpci_cfg_read64(&dev, offsetof(struct virtio_blk_config, capacity)) != cap)
		return fail("capacity changed");
	mmio_write32(dev.common + 0x100, 0xffffffffu); /* past the common config */
	return expect_status(request(VIRTIO_BLK_T_IN, 0, sizeof(hdr), SECTOR, true),
			     VIRTIO_BLK_S_OK);
}
static int a_pci_readonly(void)
{
	const struct pci_dev *p = &dev.pci;
	uint32_t id = pci_read32(p, PCI_VENDOR_ID);
	uint32_t class = pci_read32(p, PCI_CLASS_REVISION);
	uint8_t cap = pci_read8(p, PCI_CAPABILITY_LIST);

	pci_write32(p, PCI_VENDOR_ID, 0x12345678);
	pci_write32(p, PCI_CLASS_REVISION, 0);
	pci_write8(p, PCI_CAPABILITY_LIST, 0x10);
	pci_write8(p, (uint8_t)(cap + 1), 0); /* the capability chain */
	pci_write32(p, 0xfc, 0xffffffffu);    /* the last register */
	if (pci_read32(p, PCI_VENDOR_ID) != id || pci_read32(p, PCI_CLASS_REVISION) != class)
		return fail("read-only register changed");
	if (pci_read8(p, PCI_CAPABILITY_LIST) != cap || pci_cap_next(p, cap) == 0)
		return fail("capability list changed");
	return 0;
}
static int a_bar_over_ram(void)
{
	volatile uint32_t *ram = (volatile uint32_t *)(uintptr_t)(ram_end / 2);
	uint64_t bar = pci_bar_addr(&dev.pci, 0, NULL);
	int r = 0;

	ram[0] = 0x5a5aa5a5;
	if (pci_bar_set(&dev.pci, 0, ram_end / 2))
		return fail("BAR move refused by the guest library");
	ram[1] = 0x12345678; /* RAM must stay RAM */
	if (ram[0] != 0x5a5aa5a5 || ram[1] != 0x12345678)
		r = fail("RAM under the BAR changed");
	pci_bar_set(&dev.pci, 0, bar);
	return r;
}
static int a_bars_overlap(void)
{
	uint64_t bar = pci_bar_addr(&dev.pci, 0, NULL);
	uint64_t rbar = pci_bar_addr(&rng.pci, 0, NULL);

	pci_bar_set(&dev.pci, 0, rbar); /* blk over rng */
	(void)mmio_read32(rbar);
	mmio_write8(rbar + CC(device_status), 0);
	(void)mmio_read8(rbar + (dev.isr - bar)); /* the ISR, read-to-clear */
	pci_bar_set(&dev.pci, 0, bar);
	/* the rng device still works: reset it and read its status */
	mmio_write8(rng.common + CC(device_status), 0);
	mmio_write8(rng.common + CC(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	return mmio_read8(rng.common + CC(device_status)) == VIRTIO_CONFIG_S_ACKNOWLEDGE
		   ? 0
		   : fail("rng device lost");
}
static int a_port_storm(void)
{
	for (uint32_t p = 0x5000; p < 0x6000; p++) {
		outb((uint16_t)p, (uint8_t)p);
		if (inb((uint16_t)p) != 0xff)
			return fail("unclaimed port read not all ones");
	}
	return 0;
}
static int a_mmio_storm(void)
{
	for (uint64_t a = UNMAPPED; a < UNMAPPED + 0x10000; a += 16) {
		mmio_write32(a, 0xffffffffu);
		if (mmio_read32(a) != 0xffffffffu)
			return fail("unclaimed MMIO read not all ones");
	}
	return 0;
}
static int a_msix_garbage(void)
{
	uint8_t cap = pci_cap_find(&dev.pci, PCI_CAP_ID_MSIX, 0);
	uint32_t tbl;
	uint16_t ctrl, nvec;
	uint64_t t;

	if (!cap)
		return fail("no MSI-X capability");
	ctrl = pci_read16(&dev.pci, (uint8_t)(cap + PCI_MSIX_FLAGS));
	nvec = (uint16_t)((ctrl & PCI_MSIX_FLAGS_QSIZE) + 1);
	tbl = pci_read32(&dev.pci, (uint8_t)(cap + PCI_MSIX_TABLE));
	t = pci_bar_addr(&dev.pci, (int)(tbl & PCI_MSIX_TABLE_BIR), NULL) +
	    (tbl & PCI_MSIX_TABLE_OFFSET);
	/* entries past the table, half an entry, the PBA (read-only) */
	mmio_write32(t + 16ull * nvec, 0xffffffffu);
	mmio_write32(t + 16ull * nvec + 12, 0);
	mmio_write8(t + 1, 0xff);
	mmio_write32(t + 0x4000, 0xffffffffu);
	/* entry 0 aimed at no APIC, unmasked; MSI-X on; queue 0 on it */
	mmio_write32(t + 0, 0x12345000);
	mmio_write32(t + 4, 0xffffffffu);
	mmio_write32(t + 8, 0xffff);
	mmio_write32(t + 12, 0);
	pci_write16(&dev.pci, (uint8_t)(cap + PCI_MSIX_FLAGS),
		    (uint16_t)(ctrl | PCI_MSIX_FLAGS_ENABLE));
	cc_w16(CC(queue_select), 0);
	cc_w16(CC(queue_msix_vector), 0);
	int r =
	    expect_status(request(VIRTIO_BLK_T_IN, 0, sizeof(hdr), SECTOR, true), VIRTIO_BLK_S_OK);
	mmio_write32(t + 12, 1); /* masked again */
	pci_write16(&dev.pci, (uint8_t)(cap + PCI_MSIX_FLAGS), ctrl);
	return r;
}
static int a_notify_storm(void)
{
	for (int i = 0; i < 2000; i++)
		virtq_notify(&vq); /* nothing available */
	mmio_write16(dev.notify + dev.notify_len - 2, 0);
	mmio_write32(dev.notify + 1, 0xffffffffu); /* misaligned, wide */
	return expect_status(request(VIRTIO_BLK_T_IN, 0, sizeof(hdr), SECTOR, true),
			     VIRTIO_BLK_S_OK);
}
static int a_reset_in_flight(void)
{
	hdr.type = VIRTIO_BLK_T_IN;
	hdr.sector = 0;
	desc(0, A(&hdr), sizeof(hdr), N, 1);
	desc(1, A(data), SECTOR, N | W, 2);
	desc(2, A(&status), 1, W, 0);
	raw_kick(0, 1);
	cc_w8(CC(device_status), 0);
	for (int i = 0; i < 1000000 && cc8(CC(device_status)); i++)
		__builtin_ia32_pause();
	return cc8(CC(device_status)) == 0 ? 0 : fail("reset did not complete");
}

struct attack {
	const char *name;
	int (*fn)(void);
	uint64_t want;	   /* features negotiated for the attack */
	const char *cause; /* the NEEDS_RESET cause kvmlab should count, or NULL */
	bool no_setup;	   /* the attack sets the device up itself */
};

static const struct attack attacks[] = {
    {"desc-loop", a_desc_loop, 0, "loop", false},
    {"next-out-of-range", a_next_range, 0, "next", false},
    {"head-out-of-range", a_head_range, 0, "head", false},
    {"avail-idx-jump", a_avail_jump, 0, "avail-idx", false},
    {"avail-idx-backwards", a_avail_back, 0, "avail-idx", false},
    {"indirect-not-negotiated", a_indirect_unoffered, 0, "indirect-feature", false},
    {"indirect-in-indirect", a_indirect_nested, F_IND, "indirect-nested", false},
    {"indirect-len-not-multiple", a_indirect_len_odd, F_IND, "indirect-len", false},
    {"indirect-len-zero", a_indirect_len_zero, F_IND, "indirect-len", false},
    {"indirect-with-next", a_indirect_next, F_IND, "indirect-next", false},
    {"indirect-table-outside-ram", a_indirect_outside, F_IND, "indirect-addr", false},
    {"indirect-table-huge", a_indirect_huge, F_IND, "indirect-len", false},
    {"indirect-next-out-of-range", a_indirect_next_range, F_IND, "next", false},
    {"zero-length-buffer", a_zero_len, 0, "zero-len", false},
    {"huge-length-buffer", a_huge_len, 0, "addr", false},
    {"buffer-outside-ram", a_outside_ram, 0, "addr", false},
    {"buffer-across-end-of-ram", a_across_end, 0, "addr", false},
    {"buffer-in-pci-hole", a_pci_hole, 0, "addr", false},
    {"buffer-address-wraps", a_addr_wrap, 0, "addr", false},
    {"readable-after-writable", a_order, 0, "order", false},
    {"chain-length-overflow", a_total_overflow, 0, "too-big", false},
    {"ring-outside-ram", a_ring_outside, 0, "setup", true},
    {"used-ring-across-end-of-ram", a_used_across_end, 0, "setup", true},
    {"queue-size-not-power-of-two", a_size_not_pow2, 0, "setup", true},
    {"queue-size-above-max", a_size_above_max, 0, "setup", true},
    {"queue-size-zero", a_size_zero, 0, "setup", true},
    {"ring-misaligned", a_ring_misaligned, 0, "setup", true},
    {"queue-enable-before-features-ok", a_enable_early, 0, "setup", true},
    {"sector-absurd", a_sector_absurd, 0, NULL, false},
    {"write-far-past-end", a_write_far, 0, NULL, false},
    {"read-across-capacity", a_count_absurd, 0, NULL, false},
    {"read-partial-sector", a_len_partial, 0, NULL, false},
    {"write-partial-sector", a_write_partial, 0, NULL, false},
    {"request-type-unknown", a_type_unknown, 0, NULL, false},
    {"read-into-readable-buffer", a_in_readable, 0, NULL, false},
    {"write-from-writable-buffer", a_out_writable, 0, NULL, false},
    {"header-short", a_hdr_short, 0, NULL, false},
    {"no-status-byte", a_no_status, 0, NULL, false},
    {"get-id-short-buffer", a_get_id_short, 0, NULL, false},
    {"feature-never-offered", a_feature_unoffered, 0, NULL, true},
    {"features-after-features-ok", a_features_late, 0, NULL, true},
    {"driver-ok-before-queues", a_driver_ok_early, 0, NULL, true},
    {"msix-vector-out-of-range", a_msix_vector_range, 0, NULL, false},
    {"queue-select-out-of-range", a_queue_select_range, 0, NULL, true},
    {"ring-moved-while-live", a_ring_moved_live, 0, NULL, false},
    {"wrong-width-access", a_wrong_width, 0, NULL, false},
    {"config-write-past-end", a_config_past_end, 0, NULL, false},
    {"pci-config-read-only", a_pci_readonly, 0, NULL, false},
    {"bar-over-ram", a_bar_over_ram, 0, NULL, false},
    {"bars-over-each-other", a_bars_overlap, 0, NULL, false},
    {"unclaimed-port-storm", a_port_storm, 0, NULL, false},
    {"unclaimed-mmio-storm", a_mmio_storm, 0, NULL, false},
    {"msix-table-garbage", a_msix_garbage, 0, NULL, false},
    {"notify-storm", a_notify_storm, 0, NULL, false},
    {"reset-in-flight", a_reset_in_flight, 0, NULL, false},
};

/* A good read of sector 0 on a fresh setup: OK and the bytes seen first. */
static int good_read(void)
{
	memset(data, 0, sizeof(data));
	if (setup(0))
		return fail("setup after the attack failed");
	if (expect_status(request(VIRTIO_BLK_T_IN, 0, sizeof(hdr), SECTOR, true), VIRTIO_BLK_S_OK))
		return fail("good read after reset failed");
	return memcmp(data, first, sizeof(first)) ? fail("sector 0 reads differently") : 0;
}

int guest_main(const char *cmdline)
{
	struct pci_dev pci, rpci;
	unsigned int n = sizeof(attacks) / sizeof(attacks[0]), resets = 0, failed = 0;
	const char *p = cmdline;

	while (*p && !(p[0] == 'r' && p[1] == 'a' && p[2] == 'm' && p[3] == '_'))
		p++;
	ram_end = guest_atou(*p ? p + 8 : p, 64) << 20; /* "ram_mib=" */
	if (!pci_find(VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_BLK, &pci) ||
	    vpci_open(&dev, &pci, BAR_BASE))
		return 3;
	if (!pci_find(VIRTIO_PCI_VENDOR, DEVICE_RNG, &rpci) || vpci_open(&rng, &rpci, RNG_BASE))
		return 3;
	if (setup(0) || request(VIRTIO_BLK_T_IN, 0, sizeof(hdr), SECTOR, true) != 0)
		return 3;
	memcpy(first, data, sizeof(first));
	guest_puts("hostile: ram ends at ");
	guest_putx(ram_end);
	guest_puts("\n");

	for (unsigned int i = 0; i < n; i++) {
		const struct attack *a = &attacks[i];
		int r;

		why = "";
		r = a->no_setup ? 0 : setup(a->want);
		if (r)
			r = fail("setup before the attack failed");
		else
			r = a->fn();
		if (!r)
			r = good_read();
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
	guest_puts("hostile: ");
	guest_putu(n);
	guest_puts(" attacks, ");
	guest_putu(resets);
	guest_puts(" expected NEEDS_RESET, ");
	guest_putu(failed);
	guest_puts(" failed\n");
	return failed ? 10 : 0;
}
