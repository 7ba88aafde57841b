/* libFuzzer target: a guest's register accesses against PCI bus 0 with two
 * virtio-rng functions: configuration space through the 0xCF8 / 0xCFC
 * ports (BARs moved, decoding switched, MSI-X enabled and masked), and
 * BAR 0 through the MMIO bus (common configuration, ISR, device and notify
 * areas, MSI-X table and PBA), with queue kicks served as an IO thread
 * would.  The host side (ioeventfd binds, kicks, MSI routes and messages,
 * INTx levels) is a set of recorders that check what they are asked.
 *
 * Guest memory: 64 KiB at 0 (rings and buffers, laid out by the input).
 *
 * Input: a 1-byte header, then operations.
 *   [0] bits 0-1 queues of function 1 - 1, bits 2-3 of function 2 - 1,
 *       bit 4 the rng source fails every third call
 * Operations: an op byte, kind = op & 7, a = op >> 3:
 *   0 latch a configuration address: reg byte, then c: slot c & 31,
 *     c & 32 function 1, c & 64 bus 1, c & 128 enable bit clear; written
 *     with length {4, 1, 2, 8}[a & 3]
 *   1 read 0xCFC + (a & 3), length {1, 2, 4, 8}[(a >> 2) & 3]
 *   2 write there: the value follows (length bytes, LE)
 *   3 read BAR 0 of function (a & 1) + 1 where its register points,
 *     length {1, 2, 4, 8}[(a >> 1) & 3], at the LE16 offset that follows
 *   4 write there: LE16 offset, then the value (length bytes)
 *   5 the IO thread serves the kicks the host got; a & 1: then a kick of
 *     queue a >> 2 of function ((a >> 1) & 1) + 1 (an ioeventfd firing)
 *   6 write guest memory: LE16 address, a byte n, n bytes
 *   7 a driver step on function ((a >> 3) & 1) + 1, a & 7: 0 MEMORY and
 *     bus mastering on, 1 program and enable every MSI-X vector, 2 probe
 *     (features, queue 0 on vector 1, config on vector 0, DRIVER_OK),
 *     3 post a buffer of the next byte's length on queue 0 and kick it,
 *     4 read the ISR, 5 reset, 6 MSI-X enable + function mask, 7 read the
 *     MSI-X capability, the whole table and the PBA
 * Checked after every operation: read-only configuration bits and the
 * write masks never change; the MMIO bus holds sorted, disjoint ranges and
 * BAR 0 is on it exactly where its register says while decoding is on
 * (unless it would overlap the other one); ioeventfds are bound to the
 * notify addresses exactly while the BAR is mapped; MSI-X enable / mask
 * follow the capability and each vector's direct state is reported; a
 * message is only sent for an enabled, unmasked, routed vector with the
 * table's address and data, and none stays pending for such a vector;
 * INTx follows the function's level and INTX_DISABLE; the status machine
 * stays consistent; unclaimed reads return all ones. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "boot/layout.h"
#include "tests/unit/fake_vpci.h"
#include "tests/unit/fake_vring.h"
#include "virtio/rng.h"
#include "virtio/virtio_pci.h"
#include "vmm/bus.h"
#include "vmm/msix.h"
#include "vmm/pci.h"

#define MEM_SIZE 0x10000
#define W32_BASE 0xC0000000ULL
#define W32_END	 0xC1000000ULL
#define W64_BASE 0x100000000ULL
#define W64_END	 0x1000000000ULL
#define NDEV	 2
#define MAXQ	 4
#define MAXVEC	 (MAXQ + 1)
#define MSI_ADDR 0xfee00000ULL

/* An invariant failed: crash so libFuzzer keeps the input. */
#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static uint8_t mem[MEM_SIZE] __attribute__((aligned(4096)));

struct dev {
	struct virtio_pci t;
	struct virtio_rng rng;
	unsigned int nq;
	int slot;
	uint8_t cfg0[PCI_CFG_SIZE], wmask0[PCI_CFG_SIZE]; /* right after pci_bus_add */
	bool bound[MAXQ];
	uint64_t bound_gpa[MAXQ];
	unsigned int kicks[MAXQ], served[MAXQ];
	bool direct[MAXVEC];
	struct fv fv;
	struct fvp drv;
};

struct env {
	struct guest_mem gm;
	struct bus pio, mmio;
	struct pci_bus pb;
	struct dev d[NDEV];
	int intx[PCI_INTX_GSI_COUNT];
};

static struct env e;
static unsigned int fill_calls;
static bool fill_fails;

static ssize_t fill(void *buf, size_t len)
{
	size_t n = len < 37 ? len : 37;

	if (fill_fails && ++fill_calls % 3 == 0)
		return -EAGAIN;
	memset(buf, 0x5a, n);
	return (ssize_t)n;
}

/* ---- the host side ------------------------------------------------------ */

static int host_ioeventfd(void *opaque, unsigned int q, uint64_t gpa, bool assign)
{
	struct dev *d = opaque;

	CHECK(q < d->nq);
	if (assign) {
		CHECK(!d->bound[q]); /* no second bind without an unbind */
		d->bound[q] = true;
		d->bound_gpa[q] = gpa;
	} else {
		CHECK(d->bound[q] && d->bound_gpa[q] == gpa);
		d->bound[q] = false;
	}
	return 0;
}

static void host_kick(void *opaque, unsigned int q)
{
	struct dev *d = opaque;

	CHECK(q < d->nq);
	d->kicks[q]++;
}

static uint64_t entry_addr(const struct msix_entry *m)
{
	return (uint64_t)m->addr_hi << 32 | m->addr_lo;
}

/* Only messages to the local APICs get a route. */
static int msi_update(void *opaque, unsigned int v, uint64_t addr, uint32_t data)
{
	struct dev *d = opaque;

	(void)data;
	CHECK(v < d->t.msix.nvec);
	return addr >> 20 == MSI_ADDR >> 20 ? 0 : -EINVAL;
}

static void msi_fire(void *opaque, unsigned int v, uint64_t addr, uint32_t data)
{
	struct dev *d = opaque;
	const struct msix *m = &d->t.msix;

	CHECK(v < m->nvec);
	CHECK(m->enabled && !m->masked && !(m->table[v].ctrl & MSIX_VECTOR_MASKED));
	CHECK(addr == entry_addr(&m->table[v]) && data == m->table[v].data);
	CHECK(addr >> 20 == MSI_ADDR >> 20);
}

static void msi_direct(void *opaque, unsigned int v, bool direct)
{
	struct dev *d = opaque;

	CHECK(v < d->t.msix.nvec);
	CHECK(d->direct[v] != direct); /* only changes are reported */
	d->direct[v] = direct;
}

static const struct virtio_pci_host_ops host_ops = {.ioeventfd = host_ioeventfd, .kick = host_kick};
static const struct msix_ops msi_ops = {
    .update = msi_update, .fire = msi_fire, .direct = msi_direct};

static void intx_level(void *opaque, unsigned int gsi, int level)
{
	struct env *env = opaque;

	CHECK(gsi >= PCI_INTX_GSI_BASE && gsi < PCI_INTX_GSI_BASE + PCI_INTX_GSI_COUNT);
	CHECK(level == 0 || level == 1);
	CHECK(env->intx[gsi - PCI_INTX_GSI_BASE] != level); /* only changes */
	env->intx[gsi - PCI_INTX_GSI_BASE] = level;
}

/* ---- guest accesses ----------------------------------------------------- */

static uint64_t rd(struct bus *b, uint64_t addr, uint32_t len)
{
	uint8_t buf[8];
	uint64_t v = 0;
	struct bus_result r = bus_read(b, addr, buf, len);

	memcpy(&v, buf, len);
	if (!r.claimed)
		for (uint32_t i = 0; i < len; i++)
			CHECK(buf[i] == 0xff);
	return v;
}

static void wr(struct bus *b, uint64_t addr, uint32_t len, uint64_t v)
{
	uint8_t buf[8];

	memcpy(buf, &v, len);
	(void)bus_write(b, addr, buf, len);
}

static uint32_t cfg_rd(struct dev *d, uint32_t reg, uint32_t len)
{
	wr(&e.pio, PCI_CONFIG_ADDR_PORT, 4, 0x80000000u | (uint32_t)d->slot << 11 | (reg & 0xfc));
	return (uint32_t)rd(&e.pio, PCI_CONFIG_DATA_PORT + (reg & 3), len);
}

static void cfg_wr(struct dev *d, uint32_t reg, uint32_t len, uint32_t v)
{
	wr(&e.pio, PCI_CONFIG_ADDR_PORT, 4, 0x80000000u | (uint32_t)d->slot << 11 | (reg & 0xfc));
	wr(&e.pio, PCI_CONFIG_DATA_PORT + (reg & 3), len, v);
}

/* The driver's BAR accessors: wherever the BAR register points. */
static uint64_t bar_rd(void *ctx, uint64_t off, uint32_t len)
{
	struct dev *d = ctx;

	return rd(&e.mmio, pci_bar_addr(&d->t.func, 0) + off, len);
}

static void bar_wr(void *ctx, uint64_t off, uint32_t len, uint64_t v)
{
	struct dev *d = ctx;

	wr(&e.mmio, pci_bar_addr(&d->t.func, 0) + off, len, v);
}

/* The IO thread: serve every kick the host was asked for. */
static void io_thread(void)
{
	for (unsigned int i = 0; i < NDEV; i++) {
		struct dev *d = &e.d[i];

		for (unsigned int q = 0; q < d->nq; q++) {
			if (d->served[q] == d->kicks[q])
				continue;
			d->served[q] = d->kicks[q];
			virtio_pci_queue_kicked(&d->t, q);
		}
	}
}

static void driver_step(struct dev *d, unsigned int step, const uint8_t **p, const uint8_t *end)
{
	uint32_t ctl = (uint32_t)d->t.msix_cap + PCI_MSIX_FLAGS;
	uint64_t ring = d == &e.d[0] ? 0x1000 : 0x4000;

	switch (step) {
	case 0:
		cfg_wr(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
		break;
	case 1:
		cfg_wr(d, ctl, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
		for (unsigned int v = 0; v < d->t.msix.nvec; v++) {
			uint64_t ent = VPCI_MSIX_OFF + (uint64_t)v * MSIX_ENTRY_SIZE;

			bar_wr(d, ent + PCI_MSIX_ENTRY_LOWER_ADDR, 4, (uint32_t)MSI_ADDR);
			bar_wr(d, ent + PCI_MSIX_ENTRY_UPPER_ADDR, 4, 0);
			bar_wr(d, ent + PCI_MSIX_ENTRY_DATA, 4, 0x4020 + v);
			bar_wr(d, ent + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
		}
		cfg_wr(d, ctl, 2, PCI_MSIX_FLAGS_ENABLE);
		break;
	case 2:
		fvp_set_status(&d->drv, 0);
		(void)fvp_negotiate(&d->drv, (1ULL << VIRTIO_F_VERSION_1) |
						 (1ULL << VIRTIO_RING_F_EVENT_IDX) |
						 (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
		fvp_cc_wr(&d->drv, VIRTIO_PCI_COMMON_MSIX, 2, 0);
		fv_init(&d->fv, &e.gm, 8, ring, ring + 0x100, ring + 0x200);
		(void)fvp_setup_queue(&d->drv, 0, &d->fv, 1);
		fvp_set_status(&d->drv, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					    VIRTIO_CONFIG_S_FEATURES_OK |
					    VIRTIO_CONFIG_S_DRIVER_OK);
		break;
	case 3:
		if (*p < end && d->fv.size) {
			struct fv_buf b = {0x8000 + 0x100ULL * d->fv.next_desc, **p + 1u, true};

			(*p)++;
			fv_add_chain(&d->fv, &b, 1);
			bar_wr(d, VPCI_NOTIFY_OFF, 2, 0);
			io_thread();
		}
		break;
	case 4:
		(void)bar_rd(d, VPCI_ISR_OFF, 1);
		break;
	case 5:
		fvp_set_status(&d->drv, 0);
		break;
	case 6:
		cfg_wr(d, ctl, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
		break;
	default:
		CHECK((cfg_rd(d, ctl, 2) & PCI_MSIX_FLAGS_QSIZE) == d->t.msix.nvec - 1);
		for (uint64_t off = 0; off < msix_table_size(d->t.msix.nvec); off += 4)
			(void)bar_rd(d, VPCI_MSIX_OFF + off, 4);
		(void)bar_rd(d, VPCI_PBA_OFF, 8);
		break;
	}
}

/* ---- invariants ---------------------------------------------------------- */

/* An address that reads like the sizing pattern in either BAR register
 * (every writable address bit set): never mapped. */
static bool sizing(uint64_t addr)
{
	return ((uint32_t)addr & 0xffff0000u) == 0xffff0000u ||
	       ((uint32_t)(addr >> 32) & 0xfffffff0u) == 0xfffffff0u;
}

static void check_dev(struct dev *d)
{
	struct pci_func *f = &d->t.func;
	const struct pci_bar *b = &f->bars[0];
	uint16_t cmd = (uint16_t)(f->cfg[PCI_COMMAND] | f->cfg[PCI_COMMAND + 1] << 8);
	uint32_t ctl = (uint32_t)d->t.msix_cap + PCI_MSIX_FLAGS;
	uint64_t addr = pci_bar_addr(f, 0);
	bool found = false;
	uint8_t st = virtio_pci_status(&d->t);

	for (unsigned int i = 0; i < PCI_CFG_SIZE; i++)
		CHECK(((f->cfg[i] ^ d->cfg0[i]) & ~f->wmask[i]) == 0);
	CHECK(memcmp(f->wmask, d->wmask0, PCI_CFG_SIZE) == 0);

	/* BAR 0 on the bus where its register points, while decoding */
	for (unsigned int i = 0; i < e.mmio.nr; i++) {
		const struct bus_range *r = &e.mmio.ranges[i];

		if (r->opaque != &d->t)
			continue;
		CHECK(!found && b->mapped && r->base == b->mapped_at && r->len == VPCI_BAR_SIZE &&
		      r->ops == &virtio_pci_bar_ops);
		found = true;
	}
	CHECK(found == b->mapped);
	if (b->mapped) {
		CHECK(cmd & PCI_COMMAND_MEMORY);
		CHECK(b->mapped_at == addr);
	} else if ((cmd & PCI_COMMAND_MEMORY) && addr && !sizing(addr)) {
		/* wanted but not mapped: it would overlap the other range */
		bool overlap = false;

		for (unsigned int i = 0; i < e.mmio.nr; i++)
			if (e.mmio.ranges[i].base < addr + VPCI_BAR_SIZE &&
			    addr < e.mmio.ranges[i].base + e.mmio.ranges[i].len)
				overlap = true;
		CHECK(overlap);
	}
	CHECK(d->t.bar_mapped == b->mapped);
	for (unsigned int q = 0; q < d->nq; q++) {
		CHECK(d->bound[q] == b->mapped);
		if (b->mapped)
			CHECK(d->bound_gpa[q] ==
			      b->mapped_at + VPCI_NOTIFY_OFF + (uint64_t)q * VPCI_NOTIFY_MULT);
	}

	/* MSI-X follows its capability */
	CHECK(d->t.msix.enabled == !!(f->cfg[ctl + 1] & (PCI_MSIX_FLAGS_ENABLE >> 8)));
	CHECK(d->t.msix.masked == !!(f->cfg[ctl + 1] & (PCI_MSIX_FLAGS_MASKALL >> 8)));
	msix_lock(&d->t.msix);
	for (unsigned int v = 0; v < d->t.msix.nvec; v++) {
		CHECK(d->direct[v] == msix_direct_locked(&d->t.msix, v));
		/* a pending message goes out as soon as it can */
		if (d->t.msix.pba[v / 64] >> (v % 64) & 1)
			CHECK(!msix_direct_locked(&d->t.msix, v));
	}
	msix_unlock(&d->t.msix);

	/* INTx: the function's level unless INTX_DISABLE (one function per GSI) */
	CHECK(e.intx[PCI_INTX_GSI(d->slot) - PCI_INTX_GSI_BASE] ==
	      (f->intx_level && !(cmd & PCI_COMMAND_INTX_DISABLE)));

	/* the status machine */
	CHECK(!(d->t.status & VIRTIO_CONFIG_S_NEEDS_RESET));
	if (atomic_load(&d->t.running))
		CHECK(st & VIRTIO_CONFIG_S_DRIVER_OK);
	if (d->t.status & VIRTIO_CONFIG_S_FEATURES_OK)
		CHECK((d->t.driver_features & ~d->t.device_features) == 0);
	for (unsigned int q = 0; q < d->nq; q++) {
		const struct virtio_pci_queue *vq = &d->t.queues[q];

		if (vq->enabled)
			CHECK(vq->vq.size == vq->size &&
			      (d->t.status & VIRTIO_CONFIG_S_FEATURES_OK));
		CHECK(atomic_load(&vq->msix_vector) == VPCI_NO_VECTOR ||
		      atomic_load(&vq->msix_vector) < d->t.msix.nvec);
	}
}

static void check_all(void)
{
	for (unsigned int i = 1; i < e.mmio.nr; i++)
		CHECK(e.mmio.ranges[i - 1].base + e.mmio.ranges[i - 1].len <=
		      e.mmio.ranges[i].base);
	for (unsigned int i = 0; i < NDEV; i++)
		check_dev(&e.d[i]);
}

static const uint32_t lens[4] = {1, 2, 4, 8};

static uint64_t get_le(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;

	memcpy(&v, p, len);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct irq_line line = {.set_level = intx_level, .opaque = &e};
	const uint8_t *p = data + 1, *end = data + len;
	uint32_t latch = 0;

	if (len < 1)
		return 0;
	memset(&e, 0, sizeof(e));
	memset(mem, 0, sizeof(mem));
	fill_calls = 0;
	fill_fails = data[0] & 16;
	gm_init(&e.gm);
	CHECK(gm_region_add(&e.gm, 0, MEM_SIZE, mem) == 0);
	CHECK(bus_init(&e.pio, "pio") == 0 && bus_init(&e.mmio, "mmio") == 0);
	CHECK(pci_bus_init(&e.pb, &e.mmio, W32_BASE, W32_END, W64_BASE, W64_END, &line) == 0);
	CHECK(bus_register(&e.pio, PCI_CONFIG_ADDR_PORT, 4, &pci_config_addr_ops, &e.pb) == 0);
	CHECK(bus_register(&e.pio, PCI_CONFIG_DATA_PORT, 4, &pci_config_data_ops, &e.pb) == 0);
	for (unsigned int i = 0; i < NDEV; i++) {
		struct dev *d = &e.d[i];

		d->nq = 1 + ((data[0] >> (2 * i)) & 3);
		d->rng.fill = fill;
		d->rng.t = &d->t;
		CHECK(virtio_pci_init(&d->t, &e.gm, &virtio_rng_ops, &d->rng, virtio_rng_features(),
				      d->nq, RNG_QUEUE_SIZE, 0, &host_ops, &msi_ops, d) == 0);
		d->slot = pci_bus_add(&e.pb, &d->t.func);
		CHECK(d->slot == (int)i + 1);
		memcpy(d->cfg0, d->t.func.cfg, PCI_CFG_SIZE);
		memcpy(d->wmask0, d->t.func.wmask, PCI_CFG_SIZE);
		d->drv = (struct fvp){.rd = bar_rd, .wr = bar_wr, .ctx = d, .common_off = 0};
	}
	check_all();

	while (p < end) {
		uint8_t op = *p++, a = op >> 3;
		struct dev *d;
		uint32_t l;

		switch (op & 7) {
		case 0: {
			static const uint32_t alen[4] = {4, 1, 2, 8};

			if (end - p < 2) {
				p = end;
				break;
			}
			latch = p[0] | (uint32_t)(p[1] & 31) << 11 | (p[1] & 32 ? 1u << 8 : 0) |
				(p[1] & 64 ? 1u << 16 : 0) | (p[1] & 128 ? 0 : 0x80000000u);
			p += 2;
			wr(&e.pio, PCI_CONFIG_ADDR_PORT, alen[a & 3], latch);
			break;
		}
		case 1: {
			uint32_t ca = e.pb.config_addr, slot = (ca >> 11) & 31;
			uint64_t v;

			l = lens[(a >> 2) & 3];
			v = rd(&e.pio, PCI_CONFIG_DATA_PORT + (a & 3), l);
			/* register 0 of bus 0, function 0 of an occupied slot: the
			 * vendor ID (a read of 8 bytes is refused: all ones) */
			if ((a & 3) == 0 && (l == 2 || l == 4) &&
			    (ca & 0xffff07fcu) == 0x80000000u && e.pb.slots[slot])
				CHECK((uint16_t)v == (slot ? VPCI_VENDOR : PCI_HOST_VENDOR));
			break;
		}
		case 2:
			l = lens[(a >> 2) & 3];
			if (end - p < l) {
				p = end;
				break;
			}
			wr(&e.pio, PCI_CONFIG_DATA_PORT + (a & 3), l, get_le(p, l));
			p += l;
			break;
		case 3:
		case 4:
			d = &e.d[a & 1];
			l = lens[(a >> 1) & 3];
			if (end - p < 2 + ((op & 7) == 4 ? l : 0)) {
				p = end;
				break;
			}
			if ((op & 7) == 3)
				(void)bar_rd(d, p[0] | p[1] << 8, l);
			else
				bar_wr(d, p[0] | p[1] << 8, l, get_le(p + 2, l));
			p += 2 + ((op & 7) == 4 ? l : 0);
			break;
		case 5:
			io_thread();
			if (a & 1)
				virtio_pci_queue_kicked(&e.d[(a >> 1) & 1].t, a >> 2);
			break;
		case 6: {
			uint16_t at;
			uint8_t n;

			if (end - p < 3) {
				p = end;
				break;
			}
			at = (uint16_t)(p[0] | p[1] << 8);
			n = p[2];
			p += 3;
			if (n > end - p)
				n = (uint8_t)(end - p);
			if (n > MEM_SIZE - at)
				n = (uint8_t)(MEM_SIZE - at);
			memcpy(mem + at, p, n);
			p += n;
			break;
		}
		default:
			driver_step(&e.d[(a >> 3) & 1], a & 7, &p, end);
			break;
		}
		check_all();
	}

	for (unsigned int i = 0; i < NDEV; i++)
		fvp_set_status(&e.d[i].drv, 0);
	pci_bus_destroy(&e.pb);
	for (unsigned int i = 0; i < NDEV; i++) {
		for (unsigned int q = 0; q < e.d[i].nq; q++)
			CHECK(!e.d[i].bound[q]);
		virtio_pci_destroy(&e.d[i].t);
	}
	bus_destroy(&e.mmio);
	bus_destroy(&e.pio);
	return 0;
}
