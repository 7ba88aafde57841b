/* PCI: type-1 configuration ports (the Linux probe), identity registers,
 * absent slots/functions/buses, BAR sizing, placement and mapping on the
 * MMIO bus, capability lists, write masks, shared INTx and access sizes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <linux/pci_regs.h>

#include "boot/layout.h"
#include "vmm/pci.h"

#define W32_BASE 0xC0000000ULL
#define W32_END	 0xC1000000ULL
#define W64_BASE 0x100000000ULL
#define W64_END	 0x1000000000ULL

/* A device behind a BAR: records what the MMIO bus hands it. */
struct dev {
	int id;
	int reads, writes;
	uint64_t last_off;
};

static void dev_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct dev *d = opaque;

	d->reads++;
	d->last_off = off;
	memset(data, d->id, len);
}

static void dev_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct dev *d = opaque;

	(void)data;
	(void)len;
	d->writes++;
	d->last_off = off;
}

static const struct bus_ops dev_ops = {.name = "dev", .read = dev_read, .write = dev_write};

/* bar_moved / cfg_written log */
struct hooks {
	int n;
	int bar[16];
	uint64_t addr[16];
	bool mapped[16];
	int writes;
	uint32_t w_off, w_len;
};

static void hk_bar_moved(void *opaque, int bar, uint64_t addr, bool mapped)
{
	struct hooks *h = opaque;

	int i = h->n++ % 16; /* the fuzz test overflows it; others read it directly */

	h->bar[i] = bar;
	h->addr[i] = addr;
	h->mapped[i] = mapped;
}

static void hk_cfg_written(void *opaque, uint32_t off, uint32_t len)
{
	struct hooks *h = opaque;

	h->writes++;
	h->w_off = off;
	h->w_len = len;
}

static const struct pci_func_ops hk_ops = {.bar_moved = hk_bar_moved,
					   .cfg_written = hk_cfg_written};

/* INTx recorder */
struct lines {
	int level[PCI_INTX_GSI_BASE + PCI_INTX_GSI_COUNT];
	int calls;
	unsigned int last_gsi;
};

static void rec_level(void *opaque, unsigned int gsi, int level)
{
	struct lines *l = opaque;

	assert_true(gsi >= PCI_INTX_GSI_BASE && gsi < PCI_INTX_GSI_BASE + PCI_INTX_GSI_COUNT);
	l->level[gsi] = level;
	l->last_gsi = gsi;
	l->calls++;
}

struct env {
	struct bus pio, mmio;
	struct pci_bus pb;
	struct lines lines;
};

static void env_init(struct env *e)
{
	struct irq_line intx = {.set_level = rec_level, .opaque = &e->lines};

	memset(e, 0, sizeof(*e));
	assert_int_equal(bus_init(&e->pio, "pio"), 0);
	assert_int_equal(bus_init(&e->mmio, "mmio"), 0);
	assert_int_equal(
	    pci_bus_init(&e->pb, &e->mmio, W32_BASE, W32_END, W64_BASE, W64_END, &intx), 0);
	assert_int_equal(
	    bus_register(&e->pio, PCI_CONFIG_ADDR_PORT, 4, &pci_config_addr_ops, &e->pb), 0);
	assert_int_equal(
	    bus_register(&e->pio, PCI_CONFIG_DATA_PORT, 4, &pci_config_data_ops, &e->pb), 0);
}

static void env_fini(struct env *e)
{
	pci_bus_destroy(&e->pb);
	bus_destroy(&e->mmio);
	bus_destroy(&e->pio);
}

static void outx(struct env *e, uint16_t port, uint32_t v, uint32_t len)
{
	uint8_t d[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	bus_write(&e->pio, port, d, len);
}

static uint32_t inx(struct env *e, uint16_t port, uint32_t len)
{
	uint8_t d[4] = {0};

	bus_read(&e->pio, port, d, len);
	return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
}

static uint32_t cfg_addr(unsigned bus, unsigned slot, unsigned fn, unsigned reg)
{
	return 0x80000000u | bus << 16 | slot << 11 | fn << 8 | (reg & 0xfc);
}

/* Configuration read/write of bus 0 slot through the ports. */
static uint32_t port_rd(struct env *e, unsigned slot, unsigned reg, uint32_t len)
{
	outx(e, PCI_CONFIG_ADDR_PORT, cfg_addr(0, slot, 0, reg), 4);
	return inx(e, PCI_CONFIG_DATA_PORT + (reg & 3), len);
}

static void port_wr(struct env *e, unsigned slot, unsigned reg, uint32_t len, uint32_t v)
{
	outx(e, PCI_CONFIG_ADDR_PORT, cfg_addr(0, slot, 0, reg), 4);
	outx(e, PCI_CONFIG_DATA_PORT + (reg & 3), v, len);
}

static void plain_func(struct pci_func *f, uint16_t dev)
{
	pci_func_init(f, 0x1af4, dev, 0x020000, 1, 0x1af4, 0x0001, NULL, NULL);
}

static void test_linux_type1_probe(void **state)
{
	struct env e;
	uint32_t tmp;

	(void)state;
	env_init(&e);
	/* arch/x86/pci/direct.c pci_check_type1() */
	outx(&e, 0xCFB, 0x01, 1);
	tmp = inx(&e, 0xCF8, 4);
	assert_int_equal(tmp, 0); /* the byte write did not touch the latch */
	outx(&e, 0xCF8, 0x80000000, 4);
	assert_int_equal(inx(&e, 0xCF8, 4), 0x80000000);
	outx(&e, 0xCF8, tmp, 4);
	assert_int_equal(inx(&e, 0xCF8, 4), tmp);
	/* byte/word accesses to the address port: ignored, read all ones */
	outx(&e, 0xCF8, 0x8000f800, 4);
	outx(&e, 0xCF8, 0x12, 1);
	outx(&e, 0xCFA, 0x3456, 2);
	assert_int_equal(inx(&e, 0xCF8, 1), 0xff);
	assert_int_equal(inx(&e, 0xCFA, 2), 0xffff);
	assert_int_equal(inx(&e, 0xCFB, 1), 0xff);
	assert_int_equal(inx(&e, 0xCF8, 4), 0x8000f800);
	/* pci_sanity_check(): a host bridge class or Intel vendor on bus 0 */
	assert_int_equal(port_rd(&e, 0, PCI_CLASS_DEVICE, 2), 0x0600);
	assert_int_equal(port_rd(&e, 0, PCI_VENDOR_ID, 2), 0x8086);
	env_fini(&e);
}

static void test_ids_through_ports(void **state)
{
	struct env e;
	struct pci_func f;

	(void)state;
	env_init(&e);
	/* host bridge */
	assert_int_equal(port_rd(&e, 0, 0, 4), (uint32_t)PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);
	assert_int_equal(port_rd(&e, 0, PCI_CLASS_REVISION, 4) >> 8, PCI_CLASS_HOST);
	assert_int_equal(port_rd(&e, 0, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(port_rd(&e, 0, PCI_INTERRUPT_PIN, 1), 0);
	for (unsigned r = PCI_BASE_ADDRESS_0; r <= PCI_BASE_ADDRESS_5; r += 4) {
		port_wr(&e, 0, r, 4, 0xffffffff);
		assert_int_equal(port_rd(&e, 0, r, 4), 0); /* no BARs */
	}

	pci_func_init(&f, 0x1af4, 0x1044, 0x00ff01, 0x07, 0x1234, 0x5678, NULL, NULL);
	assert_int_equal(pci_bus_add(&e.pb, &f), 1);
	assert_int_equal(port_rd(&e, 1, PCI_VENDOR_ID, 4), 0x10441af4);
	assert_int_equal(port_rd(&e, 1, PCI_DEVICE_ID, 2), 0x1044);
	assert_int_equal(port_rd(&e, 1, PCI_CLASS_REVISION, 4), 0x00ff0107);
	assert_int_equal(port_rd(&e, 1, PCI_CLASS_PROG, 1), 0x01);
	assert_int_equal(port_rd(&e, 1, PCI_CLASS_DEVICE, 2), 0x00ff);
	assert_int_equal(port_rd(&e, 1, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x56781234);
	assert_int_equal(port_rd(&e, 1, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(port_rd(&e, 1, PCI_COMMAND, 2), 0);
	assert_int_equal(port_rd(&e, 1, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(port_rd(&e, 1, PCI_INTERRUPT_LINE, 1), PCI_INTX_GSI(1));
	assert_int_equal(port_rd(&e, 1, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
	assert_int_equal(port_rd(&e, 1, PCI_CAPABILITY_LIST, 1), 0);
	/* expansion ROM not implemented */
	port_wr(&e, 1, PCI_ROM_ADDRESS, 4, 0xffffffff);
	assert_int_equal(port_rd(&e, 1, PCI_ROM_ADDRESS, 4), 0);
	env_fini(&e);
}

static void test_absent_reads_all_ones(void **state)
{
	struct env e;
	struct pci_func f;

	(void)state;
	env_init(&e);
	plain_func(&f, 0x1000);
	assert_int_equal(pci_bus_add(&e.pb, &f), 1);

	/* empty slot */
	assert_int_equal(port_rd(&e, 2, 0, 4), 0xffffffff);
	assert_int_equal(port_rd(&e, 31, 0, 2), 0xffff);
	/* function 1 of an existing slot */
	outx(&e, 0xCF8, cfg_addr(0, 1, 1, 0), 4);
	assert_int_equal(inx(&e, 0xCFC, 4), 0xffffffff);
	/* bus 1 */
	outx(&e, 0xCF8, cfg_addr(1, 1, 0, 0), 4);
	assert_int_equal(inx(&e, 0xCFC, 4), 0xffffffff);
	/* enable bit clear */
	outx(&e, 0xCF8, cfg_addr(0, 1, 0, 0) & ~0x80000000u, 4);
	assert_int_equal(inx(&e, 0xCFC, 4), 0xffffffff);
	/* reserved bits 30:24 */
	outx(&e, 0xCF8, cfg_addr(0, 1, 0, 0) | 0x01000000u, 4);
	assert_int_equal(inx(&e, 0xCFC, 4), 0xffffffff);
	/* the same slot, properly addressed, answers */
	outx(&e, 0xCF8, cfg_addr(0, 1, 0, 0), 4);
	assert_int_equal(inx(&e, 0xCFC, 2), 0x1af4);

	/* writes to absent functions are dropped, not redirected */
	outx(&e, 0xCF8, cfg_addr(0, 1, 1, PCI_INTERRUPT_LINE), 4);
	outx(&e, 0xCFC, 0x55, 1);
	outx(&e, 0xCF8, cfg_addr(1, 1, 0, PCI_INTERRUPT_LINE), 4);
	outx(&e, 0xCFC, 0x66, 1);
	outx(&e, 0xCF8, cfg_addr(0, 1, 0, PCI_INTERRUPT_LINE) & ~0x80000000u, 4);
	outx(&e, 0xCFC, 0x77, 1);
	assert_int_equal(port_rd(&e, 1, PCI_INTERRUPT_LINE, 1), PCI_INTX_GSI(1));
	env_fini(&e);
}

static void test_bar_sizing(void **state)
{
	struct env e;
	struct pci_func f;
	struct dev d = {0};
	uint32_t lo, hi;

	(void)state;
	env_init(&e);
	plain_func(&f, 0x1001);
	assert_int_equal(pci_func_add_bar(&f, 0, PCI_BAR_MEM32, false, 0x4000, &dev_ops, &d), 0);
	assert_int_equal(pci_func_add_bar(&f, 2, PCI_BAR_MEM64, true, 0x100000, &dev_ops, &d), 0);
	assert_int_equal(pci_func_add_bar(&f, 4, PCI_BAR_MEM64, false, 8ULL << 30, &dev_ops, &d),
			 0);
	assert_int_equal(pci_bus_add(&e.pb, &f), 1);

	/* 32-bit, non-prefetchable */
	lo = port_rd(&e, 1, PCI_BASE_ADDRESS_0, 4);
	assert_int_equal(lo & 0xf, 0);
	assert_int_equal(lo & ~0xfu, (uint32_t)pci_bar_addr(&f, 0));
	port_wr(&e, 1, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(port_rd(&e, 1, PCI_BASE_ADDRESS_0, 4), ~(0x4000u - 1));
	port_wr(&e, 1, PCI_BASE_ADDRESS_0, 4, lo);
	assert_int_equal(port_rd(&e, 1, PCI_BASE_ADDRESS_0, 4), lo);

	/* unused BAR 1 */
	port_wr(&e, 1, PCI_BASE_ADDRESS_1, 4, 0xffffffff);
	assert_int_equal(port_rd(&e, 1, PCI_BASE_ADDRESS_1, 4), 0);

	/* 64-bit prefetchable 1 MiB: flags 0xc in the low dword */
	lo = port_rd(&e, 1, PCI_BASE_ADDRESS_2, 4);
	hi = port_rd(&e, 1, PCI_BASE_ADDRESS_3, 4);
	assert_int_equal(lo & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);
	assert_int_equal(((uint64_t)hi << 32 | (lo & ~0xfu)), pci_bar_addr(&f, 2));
	assert_true(pci_bar_addr(&f, 2) >= W64_BASE);
	port_wr(&e, 1, PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	port_wr(&e, 1, PCI_BASE_ADDRESS_3, 4, 0xffffffff);
	assert_int_equal(port_rd(&e, 1, PCI_BASE_ADDRESS_2, 4), ~(0x100000u - 1) | 0xc);
	assert_int_equal(port_rd(&e, 1, PCI_BASE_ADDRESS_3, 4), 0xffffffff);
	port_wr(&e, 1, PCI_BASE_ADDRESS_2, 4, lo);
	port_wr(&e, 1, PCI_BASE_ADDRESS_3, 4, hi);
	assert_int_equal(port_rd(&e, 1, PCI_BASE_ADDRESS_2, 4), lo);
	assert_int_equal(port_rd(&e, 1, PCI_BASE_ADDRESS_3, 4), hi);

	/* 64-bit 8 GiB: no writable bits low, size shows in the high dword */
	lo = port_rd(&e, 1, PCI_BASE_ADDRESS_4, 4);
	hi = port_rd(&e, 1, PCI_BASE_ADDRESS_5, 4);
	port_wr(&e, 1, PCI_BASE_ADDRESS_4, 4, 0xffffffff);
	port_wr(&e, 1, PCI_BASE_ADDRESS_5, 4, 0xffffffff);
	assert_int_equal(port_rd(&e, 1, PCI_BASE_ADDRESS_4, 4), PCI_BASE_ADDRESS_MEM_TYPE_64);
	assert_int_equal(port_rd(&e, 1, PCI_BASE_ADDRESS_5, 4), 0xfffffffe);
	port_wr(&e, 1, PCI_BASE_ADDRESS_4, 4, lo);
	port_wr(&e, 1, PCI_BASE_ADDRESS_5, 4, hi);
	assert_int_equal(pci_bar_addr(&f, 4) % (8ULL << 30), 0);
	assert_int_equal(port_rd(&e, 1, PCI_BASE_ADDRESS_5, 4), hi);
	assert_int_equal(e.mmio.nr, 0); /* decoding never enabled */
	env_fini(&e);
}

static void test_add_bar_refusals(void **state)
{
	struct pci_func f;
	struct dev d = {0};
	const struct bus_ops half = {.name = "half", .read = dev_read};

	(void)state;
	plain_func(&f, 0x1002);
	assert_int_equal(pci_func_add_bar(&f, -1, PCI_BAR_MEM32, false, 4096, &dev_ops, &d),
			 -EINVAL);
	assert_int_equal(pci_func_add_bar(&f, 6, PCI_BAR_MEM32, false, 4096, &dev_ops, &d),
			 -EINVAL);
	assert_int_equal(pci_func_add_bar(&f, 5, PCI_BAR_MEM64, false, 4096, &dev_ops, &d),
			 -EINVAL);
	assert_int_equal(pci_func_add_bar(&f, 0, PCI_BAR_NONE, false, 4096, &dev_ops, &d), -EINVAL);
	assert_int_equal(pci_func_add_bar(&f, 0, (enum pci_bar_kind)7, false, 4096, &dev_ops, &d),
			 -EINVAL);
	assert_int_equal(pci_func_add_bar(&f, 0, PCI_BAR_MEM32, false, 2048, &dev_ops, &d),
			 -EINVAL);
	assert_int_equal(pci_func_add_bar(&f, 0, PCI_BAR_MEM32, false, 0x3000, &dev_ops, &d),
			 -EINVAL);
	assert_int_equal(pci_func_add_bar(&f, 0, PCI_BAR_MEM32, false, 0, &dev_ops, &d), -EINVAL);
	assert_int_equal(pci_func_add_bar(&f, 0, PCI_BAR_MEM32, false, 4ULL << 30, &dev_ops, &d),
			 -EINVAL);
	assert_int_equal(pci_func_add_bar(&f, 0, PCI_BAR_MEM32, false, 4096, NULL, &d), -EINVAL);
	assert_int_equal(pci_func_add_bar(&f, 0, PCI_BAR_MEM32, false, 4096, &half, &d), -EINVAL);
	assert_int_equal(f.bars[0].kind, PCI_BAR_NONE);
	assert_int_equal(f.wmask[PCI_BASE_ADDRESS_0 + 1], 0);

	assert_int_equal(pci_func_add_bar(&f, 0, PCI_BAR_MEM32, false, 2ULL << 30, &dev_ops, &d),
			 0);
	assert_int_equal(pci_func_add_bar(&f, 0, PCI_BAR_MEM32, false, 4096, &dev_ops, &d), -EBUSY);
	assert_int_equal(pci_func_add_bar(&f, 1, PCI_BAR_MEM64, false, 4096, &dev_ops, &d), 0);
	assert_int_equal(pci_func_add_bar(&f, 2, PCI_BAR_MEM32, false, 4096, &dev_ops, &d),
			 -EBUSY); /* upper half of BAR 1 */
	assert_int_equal(pci_func_add_bar(&f, 0, PCI_BAR_MEM64, false, 4096, &dev_ops, &d), -EBUSY);
	assert_int_equal(pci_func_add_bar(&f, 3, PCI_BAR_MEM64, false, 1ULL << 40, &dev_ops, &d),
			 0);
	assert_int_equal(pci_func_add_bar(&f, 4, PCI_BAR_MEM32, false, 4096, &dev_ops, &d), -EBUSY);
}

static void test_placement(void **state)
{
	struct bus mmio;
	struct pci_bus pb;
	struct pci_func f1, f2, f3, f4, f5, f6, f7;
	struct dev d = {0};

	(void)state;
	bus_init(&mmio, "mmio");
	/* windows starting off-alignment: BARs must be naturally aligned */
	assert_int_equal(
	    pci_bus_init(&pb, &mmio, 0xC0001000, 0xC0020000, 0x140001000, 0x180000000, NULL), 0);

	plain_func(&f1, 1);
	assert_int_equal(pci_func_add_bar(&f1, 0, PCI_BAR_MEM32, false, 0x4000, &dev_ops, &d), 0);
	assert_int_equal(pci_func_add_bar(&f1, 1, PCI_BAR_MEM32, false, 0x1000, &dev_ops, &d), 0);
	assert_int_equal(pci_func_add_bar(&f1, 2, PCI_BAR_MEM64, false, 0x10000000, &dev_ops, &d),
			 0);
	assert_int_equal(pci_bus_add(&pb, &f1), 1);
	assert_int_equal(pci_bar_addr(&f1, 0), 0xC0004000);
	assert_int_equal(pci_bar_addr(&f1, 1), 0xC0008000);
	assert_int_equal(pci_bar_addr(&f1, 2), 0x150000000);
	assert_int_equal(f1.cfg[PCI_BASE_ADDRESS_2] & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64);
	assert_int_equal(pb.mmio32_next, 0xC0009000);
	assert_int_equal(pb.mmio64_next, 0x160000000);

	/* 64 KiB aligns up to 0xC0010000 and ends exactly at the window end */
	plain_func(&f2, 2);
	assert_int_equal(pci_func_add_bar(&f2, 0, PCI_BAR_MEM32, false, 0x10000, &dev_ops, &d), 0);
	assert_int_equal(pci_bus_add(&pb, &f2), 2);
	assert_int_equal(pci_bar_addr(&f2, 0), 0xC0010000);
	assert_int_equal(pb.mmio32_next, 0xC0020000);

	/* 32-bit window full: no slot taken, its 64-bit BAR not placed */
	plain_func(&f3, 3);
	assert_int_equal(pci_func_add_bar(&f3, 0, PCI_BAR_MEM64, false, 0x1000, &dev_ops, &d), 0);
	assert_int_equal(pci_func_add_bar(&f3, 2, PCI_BAR_MEM32, false, 0x1000, &dev_ops, &d), 0);
	assert_int_equal(pci_bus_add(&pb, &f3), -ENOSPC);
	assert_null(pb.slots[3]);
	assert_null(f3.bus);
	assert_int_equal(f3.slot, -1);
	assert_int_equal(pb.mmio64_next, 0x160000000);
	assert_int_equal(pci_bar_addr(&f3, 0), 0);

	/* 1 GiB would align to 0x180000000, past the 64-bit window */
	plain_func(&f4, 4);
	assert_int_equal(pci_func_add_bar(&f4, 0, PCI_BAR_MEM64, true, 1ULL << 30, &dev_ops, &d),
			 0);
	assert_int_equal(pci_bus_add(&pb, &f4), -ENOSPC);
	assert_int_equal(pb.mmio64_next, 0x160000000);

	/* two 256 MiB BARs fill it exactly; then nothing fits */
	plain_func(&f5, 5);
	assert_int_equal(pci_func_add_bar(&f5, 0, PCI_BAR_MEM64, true, 0x10000000, &dev_ops, &d),
			 0);
	assert_int_equal(pci_bus_add(&pb, &f5), 3);
	assert_int_equal(pci_bar_addr(&f5, 0), 0x160000000);
	assert_int_equal(f5.cfg[PCI_BASE_ADDRESS_0] & 0xf,
			 PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);
	plain_func(&f6, 6);
	assert_int_equal(pci_func_add_bar(&f6, 4, PCI_BAR_MEM64, false, 0x10000000, &dev_ops, &d),
			 0);
	assert_int_equal(pci_bus_add(&pb, &f6), 4);
	assert_int_equal(pci_bar_addr(&f6, 4), 0x170000000);
	assert_int_equal(pb.mmio64_next, 0x180000000);
	plain_func(&f7, 7);
	assert_int_equal(pci_func_add_bar(&f7, 0, PCI_BAR_MEM64, false, 0x1000, &dev_ops, &d), 0);
	assert_int_equal(pci_bus_add(&pb, &f7), -ENOSPC);
	/* a function without BARs still gets a slot */
	plain_func(&f3, 3);
	assert_int_equal(pci_bus_add(&pb, &f3), 5);

	/* added twice / BARs added late */
	assert_int_equal(pci_bus_add(&pb, &f5), -EEXIST);
	assert_int_equal(pci_func_add_bar(&f5, 2, PCI_BAR_MEM32, false, 4096, &dev_ops, &d),
			 -EBUSY);
	pci_bus_destroy(&pb);
	bus_destroy(&mmio);
}

/* An address whose low dword reads as the sizing pattern would never be
 * mapped, so placement steps over it. */
static void test_placement_avoids_sizing_pattern(void **state)
{
	struct bus mmio;
	struct pci_bus pb;
	struct pci_func f;
	struct dev d = {0};

	(void)state;
	bus_init(&mmio, "mmio");
	assert_int_equal(
	    pci_bus_init(&pb, &mmio, 0xFFFFE000, 0x100000000, 0x1FFFFF000, 0x300000000, NULL), 0);
	plain_func(&f, 1);
	assert_int_equal(pci_func_add_bar(&f, 0, PCI_BAR_MEM32, false, 0x1000, &dev_ops, &d), 0);
	assert_int_equal(pci_func_add_bar(&f, 1, PCI_BAR_MEM32, false, 0x1000, &dev_ops, &d), 0);
	assert_int_equal(pci_func_add_bar(&f, 2, PCI_BAR_MEM64, false, 0x1000, &dev_ops, &d), 0);
	assert_int_equal(pci_bus_add(&pb, &f), -ENOSPC); /* 0xFFFFF000 is the only other slot */
	f.bars[1] = (struct pci_bar){0};
	f.wmask[PCI_BASE_ADDRESS_1 + 1] = 0;
	f.wmask[PCI_BASE_ADDRESS_1 + 2] = 0;
	f.wmask[PCI_BASE_ADDRESS_1 + 3] = 0;
	assert_int_equal(pci_bus_add(&pb, &f), 1);
	assert_int_equal(pci_bar_addr(&f, 0), 0xFFFFE000);
	assert_int_equal(pci_bar_addr(&f, 2), 0x200000000);
	pci_cfg_write(&f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(f.bars[0].mapped);
	assert_true(f.bars[2].mapped);
	pci_bus_destroy(&pb);
	bus_destroy(&mmio);
}

static void test_slots_full(void **state)
{
	struct bus mmio;
	struct pci_bus pb;
	struct pci_func f[PCI_SLOTS];

	(void)state;
	bus_init(&mmio, "mmio");
	assert_int_equal(pci_bus_init(&pb, &mmio, W32_BASE, W32_END, W64_BASE, W64_END, NULL), 0);
	for (int i = 1; i < PCI_SLOTS; i++) {
		plain_func(&f[i], (uint16_t)i);
		assert_int_equal(pci_bus_add(&pb, &f[i]), i);
		assert_int_equal(f[i].cfg[PCI_INTERRUPT_LINE], PCI_INTX_GSI(i));
	}
	plain_func(&f[0], 0);
	assert_int_equal(pci_bus_add(&pb, &f[0]), -ENOSPC);
	assert_int_equal(pci_bus_add(&pb, &pb.host_bridge), -EEXIST);
	pci_bus_destroy(&pb);
	bus_destroy(&mmio);
}

/* A function with a 32-bit BAR 0 (16 KiB) and a 64-bit BAR 2 (64 KiB). */
static int add_mapped_func(struct env *e, struct pci_func *f, struct dev *d, struct hooks *h)
{
	pci_func_init(f, 0x1af4, 0x1050, 0x038000, 0, 0, 0, &hk_ops, h);
	assert_int_equal(pci_func_add_bar(f, 0, PCI_BAR_MEM32, false, 0x4000, &dev_ops, d), 0);
	assert_int_equal(pci_func_add_bar(f, 2, PCI_BAR_MEM64, false, 0x10000, &dev_ops, d), 0);
	return pci_bus_add(&e->pb, f);
}

static struct bus_result mmio_rd(struct env *e, uint64_t addr, uint8_t *v)
{
	return bus_read(&e->mmio, addr, v, 1);
}

static void test_memory_enable_maps(void **state)
{
	struct env e;
	struct pci_func f;
	struct dev d = {.id = 0x5a};
	struct hooks h = {0};
	uint64_t a0, a2;
	uint8_t v = 0;

	(void)state;
	env_init(&e);
	assert_int_equal(add_mapped_func(&e, &f, &d, &h), 1);
	a0 = pci_bar_addr(&f, 0);
	a2 = pci_bar_addr(&f, 2);
	assert_true(a0 >= W32_BASE && a0 < W32_END);
	assert_true(a2 >= W64_BASE && a2 < W64_END);
	/* pci_bus_add leaves decoding off */
	assert_int_equal(h.n, 0);
	assert_false(mmio_rd(&e, a0, &v).claimed);
	assert_int_equal(v, 0xff);

	port_wr(&e, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.bar[0], 0);
	assert_int_equal(h.addr[0], a0);
	assert_true(h.mapped[0]);
	assert_int_equal(h.bar[1], 2);
	assert_int_equal(h.addr[1], a2);
	assert_true(h.mapped[1]);
	assert_true(f.bars[0].mapped);
	assert_int_equal(f.bars[0].mapped_at, a0);

	assert_true(mmio_rd(&e, a0 + 0x123, &v).claimed);
	assert_int_equal(v, 0x5a);
	assert_int_equal(d.last_off, 0x123);
	assert_true(mmio_rd(&e, a2 + 0xfff0, &v).claimed);
	assert_int_equal(d.last_off, 0xfff0);
	assert_false(mmio_rd(&e, a0 + 0x4000, &v).claimed); /* just past BAR 0 */

	/* writing the same command again changes nothing */
	port_wr(&e, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(h.n, 2);

	port_wr(&e, 1, PCI_COMMAND, 2, 0);
	assert_int_equal(h.n, 4);
	assert_false(h.mapped[2]);
	assert_int_equal(h.addr[2], a0);
	assert_false(h.mapped[3]);
	assert_int_equal(h.addr[3], a2);
	assert_false(mmio_rd(&e, a0, &v).claimed);
	assert_false(mmio_rd(&e, a2, &v).claimed);
	assert_int_equal(e.mmio.nr, 0);

	/* destroy unmaps what is mapped */
	port_wr(&e, 1, PCI_COMMAND, 1, PCI_COMMAND_MEMORY);
	assert_int_equal(e.mmio.nr, 2);
	h.n = 0;
	pci_bus_destroy(&e.pb);
	assert_int_equal(e.mmio.nr, 0);
	assert_int_equal(h.n, 2);
	assert_false(h.mapped[0]);
	assert_false(h.mapped[1]);
	bus_destroy(&e.mmio);
	bus_destroy(&e.pio);
}

static void test_bar_move_and_sizing_while_decoding(void **state)
{
	struct env e;
	struct pci_func f;
	struct dev d = {.id = 1};
	struct hooks h = {0};
	uint64_t a0, a2;
	uint8_t v;

	(void)state;
	env_init(&e);
	assert_int_equal(add_mapped_func(&e, &f, &d, &h), 1);
	a0 = pci_bar_addr(&f, 0);
	a2 = pci_bar_addr(&f, 2);
	port_wr(&e, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	h.n = 0;

	/* move BAR 0 */
	port_wr(&e, 1, PCI_BASE_ADDRESS_0, 4, 0xD0000000);
	assert_int_equal(pci_bar_addr(&f, 0), 0xD0000000);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.bar[0], 0);
	assert_int_equal(h.addr[0], a0);
	assert_false(h.mapped[0]);
	assert_int_equal(h.bar[1], 0);
	assert_int_equal(h.addr[1], 0xD0000000);
	assert_true(h.mapped[1]);
	assert_false(mmio_rd(&e, a0, &v).claimed);
	assert_true(mmio_rd(&e, 0xD0000010, &v).claimed);
	assert_int_equal(d.last_off, 0x10);

	/* sizing with decoding on: unmapped while all ones, back after restore */
	h.n = 0;
	port_wr(&e, 1, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_false(f.bars[0].mapped);
	assert_int_equal(h.n, 1);
	assert_false(h.mapped[0]);
	assert_false(mmio_rd(&e, 0xFFFFC000, &v).claimed);
	port_wr(&e, 1, PCI_BASE_ADDRESS_0, 4, 0xD0000000);
	assert_int_equal(h.n, 2);
	assert_true(h.mapped[1]);
	assert_true(mmio_rd(&e, 0xD0000000, &v).claimed);

	/* 64-bit BAR: low half then high half; each step remaps */
	h.n = 0;
	port_wr(&e, 1, PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	assert_false(f.bars[2].mapped); /* low dword being sized */
	port_wr(&e, 1, PCI_BASE_ADDRESS_3, 4, 0xffffffff);
	assert_false(f.bars[2].mapped);
	port_wr(&e, 1, PCI_BASE_ADDRESS_2, 4, 0x00020000);
	assert_false(f.bars[2].mapped); /* high dword still all ones */
	port_wr(&e, 1, PCI_BASE_ADDRESS_3, 4, 0x2);
	assert_true(f.bars[2].mapped);
	assert_int_equal(f.bars[2].mapped_at, 0x200020000);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.addr[0], a2);
	assert_false(h.mapped[0]);
	assert_int_equal(h.addr[1], 0x200020000);
	assert_true(h.mapped[1]);
	assert_true(mmio_rd(&e, 0x200020000, &v).claimed);
	assert_false(mmio_rd(&e, a2, &v).claimed);

	/* address 0: not mapped */
	port_wr(&e, 1, PCI_BASE_ADDRESS_0, 4, 0);
	assert_false(f.bars[0].mapped);
	assert_int_equal(e.mmio.nr, 1);

	/* byte write to the BAR also remaps */
	port_wr(&e, 1, PCI_BASE_ADDRESS_0 + 3, 1, 0xD1);
	assert_true(f.bars[0].mapped);
	assert_int_equal(f.bars[0].mapped_at, 0xD1000000);
	env_fini(&e);
}

static void test_bar_overlap_left_unmapped(void **state)
{
	struct env e;
	struct pci_func f1, f2;
	struct dev d1 = {.id = 1}, d2 = {.id = 2};
	struct hooks h1 = {0}, h2 = {0};
	uint64_t a1, a2;
	uint8_t v;

	(void)state;
	env_init(&e);
	assert_int_equal(add_mapped_func(&e, &f1, &d1, &h1), 1);
	assert_int_equal(add_mapped_func(&e, &f2, &d2, &h2), 2);
	a1 = pci_bar_addr(&f1, 0);
	a2 = pci_bar_addr(&f2, 0);
	assert_true(a1 != a2);
	port_wr(&e, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	port_wr(&e, 2, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(e.mmio.nr, 4);
	h2.n = 0;

	/* f2's BAR 0 right below f1's (adjacent is fine), then onto it */
	port_wr(&e, 2, PCI_BASE_ADDRESS_0, 4, (uint32_t)a1 - 0x4000);
	assert_true(f2.bars[0].mapped);
	assert_int_equal(f2.bars[0].mapped_at, a1 - 0x4000);
	port_wr(&e, 2, PCI_BASE_ADDRESS_0, 4, (uint32_t)a1);
	assert_false(f2.bars[0].mapped);
	assert_true(f1.bars[0].mapped);
	assert_int_equal(h2.n, 3); /* unmapped a2, mapped a1 - 0x4000, unmapped it */
	assert_int_equal(h2.addr[2], a1 - 0x4000);
	assert_false(h2.mapped[2]);
	assert_true(mmio_rd(&e, a1, &v).claimed);
	assert_int_equal(v, 1); /* still f1 */
	assert_int_equal(pci_bar_addr(&f2, 0), a1);

	/* f2's 64-bit BAR over f1's 64-bit BAR too */
	port_wr(&e, 2, PCI_BASE_ADDRESS_2, 4, (uint32_t)pci_bar_addr(&f1, 2));
	port_wr(&e, 2, PCI_BASE_ADDRESS_3, 4, (uint32_t)(pci_bar_addr(&f1, 2) >> 32));
	assert_false(f2.bars[2].mapped);
	assert_true(f1.bars[2].mapped);

	/* f1 stops decoding: f2's BARs take the freed ranges */
	h2.n = 0;
	port_wr(&e, 1, PCI_COMMAND, 2, 0);
	assert_false(f1.bars[0].mapped);
	assert_true(f2.bars[0].mapped);
	assert_true(f2.bars[2].mapped);
	assert_int_equal(h2.n, 2);
	assert_true(mmio_rd(&e, a1, &v).claimed);
	assert_int_equal(v, 2);
	/* f1 decoding again: its BARs now collide and stay unmapped */
	port_wr(&e, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_false(f1.bars[0].mapped);
	assert_false(f1.bars[2].mapped);
	assert_int_equal(e.mmio.nr, 2);

	/* moving f2 back frees a1 for f1 within the same remap */
	port_wr(&e, 2, PCI_BASE_ADDRESS_0, 4, (uint32_t)a2);
	assert_true(f2.bars[0].mapped);
	assert_int_equal(f2.bars[0].mapped_at, a2);
	assert_true(f1.bars[0].mapped);
	assert_true(mmio_rd(&e, a1, &v).claimed);
	assert_int_equal(v, 1);
	env_fini(&e);
}

static void test_capabilities(void **state)
{
	struct env e;
	struct pci_func f, g;
	struct hooks h = {0};
	const uint8_t body1[5] = {0x11, 0x22, 0x33, 0x44, 0x55};
	const uint8_t wm1[5] = {0x00, 0x0f, 0xff, 0x00, 0x80};
	const uint8_t body2[14] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
	uint8_t big[254] = {0};
	unsigned ptr, n = 0;
	unsigned seen[4] = {0};

	(void)state;
	env_init(&e);
	pci_func_init(&f, 0x1af4, 0x1041, 0x020000, 1, 0, 0, &hk_ops, &h);
	assert_int_equal(f.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST, 0);
	assert_int_equal(pci_func_add_cap(&f, PCI_CAP_ID_VNDR, body1, 5, wm1), PCI_CAP_START);
	assert_int_equal(pci_func_add_cap(&f, PCI_CAP_ID_MSIX, body2, 14, NULL), 0x48);
	assert_int_equal(pci_bus_add(&e.pb, &f), 1);

	assert_true(port_rd(&e, 1, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* walk the list the way Linux does */
	ptr = port_rd(&e, 1, PCI_CAPABILITY_LIST, 1);
	while (ptr && n < 4) {
		assert_int_equal(ptr & 3, 0);
		assert_true(ptr >= PCI_CAP_START);
		seen[n++] = port_rd(&e, 1, ptr, 1);
		ptr = port_rd(&e, 1, ptr + PCI_CAP_LIST_NEXT, 1);
	}
	assert_int_equal(n, 2);
	assert_int_equal(seen[0], PCI_CAP_ID_VNDR);
	assert_int_equal(seen[1], PCI_CAP_ID_MSIX);
	assert_int_equal(port_rd(&e, 1, 0x42, 2), 0x2211);
	assert_int_equal(port_rd(&e, 1, 0x44, 4), 0x00554433);
	assert_int_equal(port_rd(&e, 1, 0x4a, 2), 0x0201);

	/* write masks in the body; id and next are read-only */
	port_wr(&e, 1, 0x40, 4, 0xffffffff);
	assert_int_equal(port_rd(&e, 1, 0x40, 4), 0x2f114800u | PCI_CAP_ID_VNDR);
	assert_int_equal(h.w_off, 0x40);
	assert_int_equal(h.w_len, 4);
	port_wr(&e, 1, 0x44, 4, 0);
	assert_int_equal(port_rd(&e, 1, 0x44, 4), 0x00554400);
	port_wr(&e, 1, 0x46, 1, 0xff);
	assert_int_equal(port_rd(&e, 1, 0x46, 1), 0xd5);
	port_wr(&e, 1, 0x48, 4, 0);
	assert_int_equal(port_rd(&e, 1, 0x48, 4), 0x02010000u | PCI_CAP_ID_MSIX);
	port_wr(&e, 1, 0x54, 4, 0xffffffff);
	assert_int_equal(port_rd(&e, 1, 0x54, 4), 0x0e0d0c0b);

	/* does not fit; exactly fills the space; then full */
	pci_func_init(&g, 1, 2, 0, 0, 0, 0, NULL, NULL);
	assert_int_equal(pci_func_add_cap(&g, 9, big, 254, NULL), -ENOSPC);
	assert_int_equal(g.cfg[PCI_CAPABILITY_LIST], 0);
	assert_int_equal(g.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST, 0);
	assert_int_equal(pci_func_add_cap(&g, 9, NULL, 1, NULL), 0x40);
	assert_int_equal(pci_func_add_cap(&g, 9, big, 187, NULL), -ENOSPC);
	assert_int_equal(g.cfg[0x41], 0);
	assert_int_equal(pci_func_add_cap(&g, 10, big, 186, NULL), 0x44);
	assert_int_equal(g.cfg[PCI_CAPABILITY_LIST], 0x40);
	assert_int_equal(g.cfg[0x41], 0x44);
	assert_int_equal(g.cfg[0x44], 10);
	assert_int_equal(pci_func_add_cap(&g, 11, NULL, 0, NULL), -ENOSPC);
	assert_int_equal(g.cfg[0x45], 0);
	assert_true(g.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST);
	env_fini(&e);
}

static void test_write_masks(void **state)
{
	struct env e;
	struct pci_func f;
	struct hooks h = {0};
	struct dev d = {0};
	int writes;

	(void)state;
	env_init(&e);
	pci_func_init(&f, 0x1af4, 0x1000, 0x020000, 1, 0x1af4, 1, &hk_ops, &h);
	assert_int_equal(pci_bus_add(&e.pb, &f), 1);
	for (unsigned r = 0; r < PCI_CFG_SIZE; r += 4) {
		if (r == PCI_COMMAND || r == PCI_INTERRUPT_LINE)
			continue;
		port_wr(&e, 1, r, 4, 0xffffffff);
		port_wr(&e, 1, r, 4, 0x5a5a5a5a);
	}
	assert_int_equal(port_rd(&e, 1, PCI_VENDOR_ID, 4), 0x10001af4);
	assert_int_equal(port_rd(&e, 1, PCI_CLASS_REVISION, 4), 0x02000001);
	assert_int_equal(port_rd(&e, 1, PCI_CACHE_LINE_SIZE, 4), 0);
	assert_int_equal(port_rd(&e, 1, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x00011af4);
	assert_int_equal(port_rd(&e, 1, PCI_CAPABILITY_LIST, 4), 0);
	for (unsigned r = 0x40; r < PCI_CFG_SIZE; r += 4)
		assert_int_equal(port_rd(&e, 1, r, 4), 0);

	/* command: only IO, MEMORY, MASTER, INTX_DISABLE; status read-only */
	port_wr(&e, 1, PCI_COMMAND, 4, 0xffffffff);
	assert_int_equal(port_rd(&e, 1, PCI_COMMAND, 4), PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
							     PCI_COMMAND_MASTER |
							     PCI_COMMAND_INTX_DISABLE);
	port_wr(&e, 1, PCI_COMMAND, 2, 0);
	assert_int_equal(port_rd(&e, 1, PCI_COMMAND, 4), 0);

	/* interrupt line writable, pin not */
	port_wr(&e, 1, PCI_INTERRUPT_LINE, 2, 0x070b);
	assert_int_equal(port_rd(&e, 1, PCI_INTERRUPT_LINE, 4), 0x0000010b);
	assert_int_equal(h.w_off, PCI_INTERRUPT_LINE);
	assert_int_equal(h.w_len, 2);
	writes = h.writes;
	port_wr(&e, 1, PCI_STATUS, 2, 0xffff);
	assert_int_equal(h.writes, writes + 1);
	assert_int_equal(h.w_off, PCI_STATUS);
	assert_int_equal(h.w_len, 2);
	assert_int_equal(h.n, 0); /* no BARs: no bar_moved */

	/* a function not on a bus: config access works, nothing gets mapped */
	{
		struct pci_func g;

		pci_func_init(&g, 1, 2, 0, 0, 0, 0, NULL, NULL);
		assert_int_equal(
		    pci_func_add_bar(&g, 0, PCI_BAR_MEM32, false, 0x1000, &dev_ops, &d), 0);
		pci_cfg_write(&g, PCI_BASE_ADDRESS_0, 4, 0xD0000000);
		pci_cfg_write(&g, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
		assert_int_equal(pci_cfg_read(&g, PCI_BASE_ADDRESS_0, 4), 0xD0000000);
		assert_false(g.bars[0].mapped);
		pci_intx_set(&g, 1);
		assert_true(pci_cfg_read(&g, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
		assert_int_equal(e.lines.calls, 0);
		assert_int_equal(e.mmio.nr, 0);
	}
	env_fini(&e);
}

static void test_intx_shared(void **state)
{
	struct env e;
	struct pci_func f[12];

	(void)state;
	env_init(&e);
	for (int i = 1; i <= 10; i++) {
		plain_func(&f[i], (uint16_t)i);
		assert_int_equal(pci_bus_add(&e.pb, &f[i]), i);
	}
	assert_int_equal(PCI_INTX_GSI(1), PCI_INTX_GSI(9));
	assert_int_equal(port_rd(&e, 9, PCI_INTERRUPT_LINE, 1), PCI_INTX_GSI(1));

	pci_intx_set(&f[1], 1);
	assert_int_equal(e.lines.calls, 1);
	assert_int_equal(e.lines.last_gsi, PCI_INTX_GSI(1));
	assert_int_equal(e.lines.level[PCI_INTX_GSI(1)], 1);
	assert_true(port_rd(&e, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_false(port_rd(&e, 9, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(port_rd(&e, 1, PCI_COMMAND, 4) >> 16, PCI_STATUS_INTERRUPT);
	assert_int_equal(port_rd(&e, 1, PCI_STATUS, 1), PCI_STATUS_INTERRUPT);

	pci_intx_set(&f[9], 1); /* already asserted: no call */
	pci_intx_set(&f[1], 1);
	assert_int_equal(e.lines.calls, 1);
	pci_intx_set(&f[1], 0); /* slot 9 still holds it */
	assert_int_equal(e.lines.calls, 1);
	assert_int_equal(e.lines.level[PCI_INTX_GSI(1)], 1);
	pci_intx_set(&f[9], 0);
	assert_int_equal(e.lines.calls, 2);
	assert_int_equal(e.lines.level[PCI_INTX_GSI(1)], 0);
	pci_intx_set(&f[9], 0);
	assert_int_equal(e.lines.calls, 2);

	/* INTX_DISABLE masks the function, not its status bit */
	pci_intx_set(&f[1], 1);
	assert_int_equal(e.lines.calls, 3);
	port_wr(&e, 1, PCI_COMMAND + 1, 1, PCI_COMMAND_INTX_DISABLE >> 8);
	assert_int_equal(e.lines.calls, 4);
	assert_int_equal(e.lines.level[PCI_INTX_GSI(1)], 0);
	assert_true(port_rd(&e, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci_intx_set(&f[1], 0);
	pci_intx_set(&f[1], 1);
	assert_int_equal(e.lines.calls, 4);
	/* the other function on the GSI is not masked by it */
	pci_intx_set(&f[9], 1);
	assert_int_equal(e.lines.calls, 5);
	assert_int_equal(e.lines.level[PCI_INTX_GSI(1)], 1);
	pci_intx_set(&f[9], 0);
	assert_int_equal(e.lines.calls, 6);
	port_wr(&e, 1, PCI_COMMAND, 2, 0);
	assert_int_equal(e.lines.calls, 7);
	assert_int_equal(e.lines.level[PCI_INTX_GSI(1)], 1);

	/* another slot drives another GSI */
	pci_intx_set(&f[2], 1);
	assert_int_equal(e.lines.calls, 8);
	assert_int_equal(e.lines.last_gsi, PCI_INTX_GSI(2));
	assert_int_equal(e.lines.level[PCI_INTX_GSI(2)], 1);
	assert_int_equal(e.lines.level[PCI_INTX_GSI(1)], 1);
	pci_intx_set(&f[1], 0);
	pci_intx_set(&f[2], 0);
	assert_int_equal(e.lines.calls, 10);
	assert_int_equal(e.lines.level[PCI_INTX_GSI(1)], 0);
	assert_int_equal(e.lines.level[PCI_INTX_GSI(2)], 0);

	/* a function asserting before it is added drives its GSI once added */
	plain_func(&f[11], 11);
	pci_intx_set(&f[11], 1);
	assert_int_equal(e.lines.calls, 10);
	assert_int_equal(pci_bus_add(&e.pb, &f[11]), 11);
	assert_int_equal(e.lines.calls, 11);
	assert_int_equal(e.lines.level[PCI_INTX_GSI(11)], 1);
	pci_intx_set(&f[11], 0);
	for (unsigned i = 0; i < PCI_INTX_GSI_COUNT; i++)
		assert_int_equal(e.pb.intx_count[i], 0);
	env_fini(&e);
}

static void test_access_sizes(void **state)
{
	struct env e;
	struct pci_func f;
	uint8_t d[4];

	(void)state;
	env_init(&e);
	plain_func(&f, 0x1000);
	assert_int_equal(pci_bus_add(&e.pb, &f), 1);

	assert_int_equal(pci_cfg_read(&f, 0, 1), 0xf4);
	assert_int_equal(pci_cfg_read(&f, 1, 1), 0x1a);
	assert_int_equal(pci_cfg_read(&f, 2, 2), 0x1000);
	assert_int_equal(pci_cfg_read(&f, 1, 2), 0x001a);
	assert_int_equal(pci_cfg_read(&f, 0, 4), 0x10001af4);
	assert_int_equal(pci_cfg_read(&f, 255, 1), 0);
	/* crossing a dword, odd lengths, outside the space */
	assert_int_equal(pci_cfg_read(&f, 3, 2), 0xffffffff);
	assert_int_equal(pci_cfg_read(&f, 2, 4), 0xffffffff);
	assert_int_equal(pci_cfg_read(&f, 1, 4), 0xffffffff);
	assert_int_equal(pci_cfg_read(&f, 0, 3), 0xffffffff);
	assert_int_equal(pci_cfg_read(&f, 0, 0), 0xffffffff);
	assert_int_equal(pci_cfg_read(&f, 0, 8), 0xffffffff);
	assert_int_equal(pci_cfg_read(&f, 254, 4), 0xffffffff);
	assert_int_equal(pci_cfg_read(&f, 256, 1), 0xffffffff);
	assert_int_equal(pci_cfg_read(&f, 0xffffffff, 2), 0xffffffff);

	pci_cfg_write(&f, 0x3b, 2, 0xaaaa); /* crosses into the interrupt line */
	pci_cfg_write(&f, 0x3c, 3, 0xaaaaaa);
	pci_cfg_write(&f, 0x3c, 0, 0xaa);
	pci_cfg_write(&f, 0x3a, 4, 0xaaaaaaaa);
	pci_cfg_write(&f, 0xfffffffe, 4, 0xaaaaaaaa);
	pci_cfg_write(&f, 256, 1, 0xaa);
	assert_int_equal(pci_cfg_read(&f, PCI_INTERRUPT_LINE, 1), PCI_INTX_GSI(1));
	pci_cfg_write(&f, PCI_INTERRUPT_LINE, 1, 0x0a);
	assert_int_equal(pci_cfg_read(&f, PCI_INTERRUPT_LINE, 1), 0x0a);
	pci_cfg_write(&f, PCI_INTERRUPT_LINE, 2, 0x0b);
	assert_int_equal(pci_cfg_read(&f, PCI_INTERRUPT_LINE, 1), 0x0b);

	/* through the data port: each byte lane, word lanes */
	outx(&e, 0xCF8, cfg_addr(0, 1, 0, 0), 4);
	assert_int_equal(inx(&e, 0xCFC, 1), 0xf4);
	assert_int_equal(inx(&e, 0xCFD, 1), 0x1a);
	assert_int_equal(inx(&e, 0xCFE, 1), 0x00);
	assert_int_equal(inx(&e, 0xCFF, 1), 0x10);
	assert_int_equal(inx(&e, 0xCFE, 2), 0x1000);
	assert_int_equal(inx(&e, 0xCFD, 2), 0x001a);
	assert_int_equal(inx(&e, 0xCFE, 4), 0xffffffff); /* past the port range */
	/* bits 1:0 of the latch are ignored */
	outx(&e, 0xCF8, cfg_addr(0, 1, 0, 0) | 3, 4);
	assert_int_equal(inx(&e, 0xCFC, 2), 0x1af4);

	/* the handler itself refuses what crosses the dword */
	outx(&e, 0xCF8, cfg_addr(0, 1, 0, PCI_INTERRUPT_LINE), 4);
	memset(d, 0, sizeof(d));
	pci_config_data_ops.read(&e.pb, 3, d, 2);
	assert_int_equal(d[0], 0xff);
	assert_int_equal(d[1], 0xff);
	pci_config_data_ops.read(&e.pb, 1, d, 4);
	assert_int_equal(d[0] & d[1] & d[2] & d[3], 0xff);
	d[0] = 0x33;
	d[1] = 0x33;
	pci_config_data_ops.write(&e.pb, 3, d, 2);
	pci_config_data_ops.write(&e.pb, 4, d, 1);
	assert_int_equal(pci_cfg_read(&f, PCI_INTERRUPT_LINE, 1), 0x0b);
	pci_config_data_ops.write(&e.pb, 0, d, 1);
	assert_int_equal(pci_cfg_read(&f, PCI_INTERRUPT_LINE, 1), 0x33);
	pci_config_addr_ops.write(&e.pb, 1, d, 4);
	assert_int_equal(e.pb.config_addr, cfg_addr(0, 1, 0, PCI_INTERRUPT_LINE));
	env_fini(&e);
}

/* Random guest traffic on the two ports: nothing crashes, the identity
 * registers survive and the mapping state stays consistent. */
static void test_guest_garbage(void **state)
{
	struct env e;
	struct pci_func f[4];
	struct dev d[4] = {{0}};
	struct hooks h[4] = {{0}};
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	unsigned mapped = 0;

	(void)state;
	env_init(&e);
	for (int i = 1; i < 4; i++)
		assert_int_equal(add_mapped_func(&e, &f[i], &d[i], &h[i]), i);
	for (int n = 0; n < 200000; n++) {
		uint32_t r, len, port;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		r = (uint32_t)(x >> 32);
		len = 1u << (x & 3) % 3;
		if ((x >> 3) % 4 == 0) {
			uint32_t a = (x >> 5) % 2 ? cfg_addr(0, (r >> 8) % 5, 0, r & 0xff) : r;

			outx(&e, 0xCF8, a, 4);
			continue;
		}
		port = 0xCF8 + (uint32_t)((x >> 8) % 8);
		if ((x >> 11) % 2)
			outx(&e, (uint16_t)port, (uint32_t)x, len);
		else
			(void)inx(&e, (uint16_t)port, len);
		if ((x >> 12) % 64 == 0)
			pci_intx_set(&f[1 + (x >> 20) % 3], (int)((x >> 30) & 1));
	}
	for (int i = 1; i < 4; i++) {
		assert_int_equal(pci_cfg_read(&f[i], 0, 4), 0x10501af4);
		assert_int_equal(pci_cfg_read(&f[i], PCI_INTERRUPT_PIN, 1), 1);
		for (int b = 0; b < PCI_BARS; b++) {
			if (!f[i].bars[b].mapped)
				continue;
			mapped++;
			assert_int_equal(f[i].bars[b].mapped_at, pci_bar_addr(&f[i], b));
			assert_true(pci_cfg_read(&f[i], PCI_COMMAND, 2) & PCI_COMMAND_MEMORY);
		}
	}
	assert_int_equal(e.mmio.nr, mapped);
	assert_true(h[1].n + h[2].n + h[3].n > 100); /* the traffic did move BARs */
	assert_int_equal(port_rd(&e, 0, 0, 4), (uint32_t)PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);
	env_fini(&e);
	assert_int_equal(e.mmio.nr, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_linux_type1_probe),
	    cmocka_unit_test(test_ids_through_ports),
	    cmocka_unit_test(test_absent_reads_all_ones),
	    cmocka_unit_test(test_bar_sizing),
	    cmocka_unit_test(test_add_bar_refusals),
	    cmocka_unit_test(test_placement),
	    cmocka_unit_test(test_slots_full),
	    cmocka_unit_test(test_memory_enable_maps),
	    cmocka_unit_test(test_bar_move_and_sizing_while_decoding),
	    cmocka_unit_test(test_bar_overlap_left_unmapped),
	    cmocka_unit_test(test_placement_avoids_sizing_pattern),
	    cmocka_unit_test(test_capabilities),
	    cmocka_unit_test(test_write_masks),
	    cmocka_unit_test(test_intx_shared),
	    cmocka_unit_test(test_access_sizes),
	    cmocka_unit_test(test_guest_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
