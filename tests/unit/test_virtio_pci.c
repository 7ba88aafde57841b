/* virtio-pci transport with the rng device, driven the way the Linux
 * driver does it: capabilities found by walking configuration space,
 * registers reached through the MMIO bus at the BAR the PCI bus mapped,
 * rings laid out in a plain buffer used as guest RAM, and the host side
 * (ioeventfd binds, kicks, MSI routes and messages, the INTx line) replaced
 * by recorders. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cmocka.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "boot/layout.h"
#include "mem/guest_mem.h"
#include "fake_vring.h"
#include "fake_vpci.h"
#include "virtio/rng.h"
#include "virtio/virtio_pci.h"
#include "vmm/bus.h"
#include "vmm/pci.h"

#define RAM_SIZE 0x100000ULL
#define W32_BASE 0xC0000000ULL
#define W32_END	 0xC1000000ULL
#define W64_BASE 0x100000000ULL
#define W64_END	 0x1000000000ULL

/* Where the fake driver puts things in guest RAM. */
#define DESC_GPA  0x1000ULL
#define AVAIL_GPA 0x2000ULL
#define USED_GPA  0x3000ULL
#define TABLE_GPA 0x4000ULL /* indirect table */
#define BUF_GPA	  0x10000ULL

#define QSIZE 16

#define MSI_ADDR    0xfee00000ULL
#define MSI_DATA(v) (0x4020u + (v))

#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV VIRTIO_CONFIG_S_DRIVER
#define S_FOK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR  VIRTIO_CONFIG_S_NEEDS_RESET

#define F_VERSION_1 (1ULL << VIRTIO_F_VERSION_1)
#define F_EVENT_IDX (1ULL << VIRTIO_RING_F_EVENT_IDX)
#define F_INDIRECT  (1ULL << VIRTIO_RING_F_INDIRECT_DESC)

/* The rng's source: a known byte sequence, handed out at most 37 bytes a
 * call so that buffers take several calls. */
static unsigned int pattern_pos;

static uint8_t pattern_byte(unsigned int i)
{
	return (uint8_t)(i * 13u + 7u);
}

static ssize_t pattern_fill(void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t n = len < 37 ? len : 37;

	for (size_t i = 0; i < n; i++)
		p[i] = pattern_byte(pattern_pos++);
	return (ssize_t)n;
}

/* What the driver found in configuration space. */
struct caps {
	int common, notify, isr, msix; /* capability offsets, 0 if absent */
	uint32_t common_off, notify_off, isr_off, mult;
	uint32_t common_len, notify_len, isr_len;
	int ncaps;
};

struct env {
	uint8_t *ram;
	struct guest_mem gm;
	struct bus mmio;
	struct pci_bus pb;
	struct virtio_pci t;
	struct virtio_rng rng;
	struct fvp_host h;
	struct fvp drv; /* BAR 0 reached through the MMIO bus: mr, mw */
	struct fv fv;
	struct caps caps;
	int slot;
	uint64_t bar; /* where the BAR is mapped once MEMORY is on */
};

/* The rng model with an activate hook that fails. */
static int failing_activate(void *dev)
{
	(void)dev;
	return -EIO;
}

static struct virtio_dev_ops failing_ops;

/* The rng model with a quiesce hook that checks what the transport
 * promises: the device no longer runs and no queue lock is held. */
static struct virtio_dev_ops quiesce_ops;
static struct virtio_pci *quiesce_t;
static unsigned int quiesced, quiesce_locked, quiesce_running;

static void quiesce(void *dev)
{
	(void)dev;
	quiesced++;
	if (atomic_load(&quiesce_t->running))
		quiesce_running++;
	for (unsigned int q = 0; q < quiesce_t->num_queues; q++) {
		if (pthread_mutex_trylock(&quiesce_t->queues[q].lock))
			quiesce_locked++;
		else
			pthread_mutex_unlock(&quiesce_t->queues[q].lock);
	}
}

/* BAR 0 through the MMIO bus (defined below), the fake driver's accessors. */
static uint64_t mr(void *opaque, uint64_t off, uint32_t len);
static void mw(void *opaque, uint64_t off, uint32_t len, uint64_t v);

static int setup_with(void **state, const struct virtio_dev_ops *ops, unsigned int nq)
{
	struct env *e = calloc(1, sizeof(*e));
	struct irq_line line = {.set_level = fvp_host_intx};

	if (!e)
		return -1;
	e->ram = calloc(1, RAM_SIZE);
	if (!e->ram)
		return -1;
	gm_init(&e->gm);
	if (gm_region_add(&e->gm, 0, RAM_SIZE, e->ram))
		return -1;
	if (bus_init(&e->mmio, "mmio"))
		return -1;
	line.opaque = &e->h;
	if (pci_bus_init(&e->pb, &e->mmio, W32_BASE, W32_END, W64_BASE, W64_END, &line))
		return -1;
	e->rng.fill = pattern_fill;
	e->rng.t = &e->t;
	if (virtio_pci_init(&e->t, &e->gm, ops, &e->rng, virtio_rng_features(), nq, RNG_QUEUE_SIZE,
			    0, fvp_host_ops(), fvp_msix_ops(), &e->h))
		return -1;
	e->slot = pci_bus_add(&e->pb, &e->t.func);
	if (e->slot < 1)
		return -1;
	e->drv = (struct fvp){.rd = mr, .wr = mw, .ctx = e}; /* common_off: find_caps */
	pattern_pos = 0;
	*state = e;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, &virtio_rng_ops, 1);
}

static int setup_3q(void **state)
{
	return setup_with(state, &virtio_rng_ops, 3);
}

static int setup_failing(void **state)
{
	failing_ops = virtio_rng_ops;
	failing_ops.activate = failing_activate;
	return setup_with(state, &failing_ops, 1);
}

static int setup_quiesce(void **state)
{
	int r;

	quiesce_ops = virtio_rng_ops;
	quiesce_ops.quiesce = quiesce;
	quiesced = quiesce_locked = quiesce_running = 0;
	r = setup_with(state, &quiesce_ops, 2);
	if (!r)
		quiesce_t = &((struct env *)*state)->t;
	return r;
}

static int teardown(void **state)
{
	struct env *e = *state;

	pci_bus_destroy(&e->pb);
	virtio_pci_destroy(&e->t);
	bus_destroy(&e->mmio);
	free(e->ram);
	free(e);
	return 0;
}

/* ---- configuration space (under the bus lock, as the port handlers do) */

static uint32_t cfg_rd(struct env *e, uint32_t off, uint32_t len)
{
	uint32_t v;

	pthread_mutex_lock(&e->pb.lock);
	v = pci_cfg_read(&e->t.func, off, len);
	pthread_mutex_unlock(&e->pb.lock);
	return v;
}

static void cfg_wr(struct env *e, uint32_t off, uint32_t len, uint32_t v)
{
	pthread_mutex_lock(&e->pb.lock);
	pci_cfg_write(&e->t.func, off, len, v);
	pthread_mutex_unlock(&e->pb.lock);
}

/* Walk the capability list as virtio_pci_modern_probe does. */
static void find_caps(struct env *e)
{
	struct caps *c = &e->caps;
	uint32_t p;

	memset(c, 0, sizeof(*c));
	assert_true(cfg_rd(e, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	p = cfg_rd(e, PCI_CAPABILITY_LIST, 1) & 0xfc;
	while (p) {
		uint32_t id = cfg_rd(e, p, 1);

		assert_true(p >= 0x40 && p <= 0xfc);
		assert_true(++c->ncaps < 48);
		if (id == PCI_CAP_ID_MSIX) {
			c->msix = (int)p;
		} else if (id == PCI_CAP_ID_VNDR) {
			uint32_t type = cfg_rd(e, p + VIRTIO_PCI_CAP_CFG_TYPE, 1);
			uint32_t off = cfg_rd(e, p + VIRTIO_PCI_CAP_OFFSET, 4);
			uint32_t len = cfg_rd(e, p + VIRTIO_PCI_CAP_LENGTH, 4);
			uint32_t caplen = cfg_rd(e, p + VIRTIO_PCI_CAP_LEN, 1);

			assert_int_equal(cfg_rd(e, p + VIRTIO_PCI_CAP_BAR, 1), 0);
			assert_true(caplen >= sizeof(struct virtio_pci_cap));
			if (type == VIRTIO_PCI_CAP_COMMON_CFG) {
				c->common = (int)p;
				c->common_off = off;
				c->common_len = len;
			} else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
				assert_true(caplen >= sizeof(struct virtio_pci_notify_cap));
				c->notify = (int)p;
				c->notify_off = off;
				c->notify_len = len;
				c->mult = cfg_rd(e, p + VIRTIO_PCI_NOTIFY_CAP_MULT, 4);
			} else if (type == VIRTIO_PCI_CAP_ISR_CFG) {
				c->isr = (int)p;
				c->isr_off = off;
				c->isr_len = len;
			}
		}
		p = cfg_rd(e, p + 1, 1) & 0xfc;
	}
	assert_true(c->common && c->notify && c->isr && c->msix);
	e->drv.common_off = c->common_off;
}

/* MEMORY (and bus mastering) on, as pci_enable_device does. */
static void enable_memory(struct env *e)
{
	cfg_wr(e, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	e->bar = pci_bar_addr(&e->t.func, 0);
}

/* ---- the BAR --------------------------------------------------------- */

static uint64_t mr(void *opaque, uint64_t off, uint32_t len)
{
	struct env *e = opaque;
	uint8_t b[8] = {0};
	uint64_t v = 0;
	struct bus_result r = bus_read(&e->mmio, e->bar + off, b, len);

	assert_true(r.claimed);
	memcpy(&v, b, len);
	return v;
}

static void mw(void *opaque, uint64_t off, uint32_t len, uint64_t v)
{
	struct env *e = opaque;
	uint8_t b[8];
	struct bus_result r;

	memcpy(b, &v, len);
	r = bus_write(&e->mmio, e->bar + off, b, len);
	assert_true(r.claimed);
}

/* Reset, ACK, DRIVER, features, FEATURES_OK.  Returns the status read
 * back after FEATURES_OK. */
static uint8_t negotiate(struct env *e, uint64_t features)
{
	fvp_set_status(&e->drv, 0);
	assert_int_equal(fvp_status(&e->drv), 0);
	return fvp_negotiate(&e->drv, features);
}

/* Program MSI-X entry v (unmasked) through the BAR. */
static void msix_entry(struct env *e, unsigned int v)
{
	uint64_t ent = VPCI_MSIX_OFF + (uint64_t)v * MSIX_ENTRY_SIZE;

	mw(e, ent + PCI_MSIX_ENTRY_LOWER_ADDR, 4, (uint32_t)MSI_ADDR);
	mw(e, ent + PCI_MSIX_ENTRY_UPPER_ADDR, 4, MSI_ADDR >> 32);
	mw(e, ent + PCI_MSIX_ENTRY_DATA, 4, MSI_DATA(v));
	mw(e, ent + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
}

/* MSI-X on with vector 0 for configuration changes, 1 for queue 0. */
static void setup_msix(struct env *e)
{
	uint32_t ctl = (uint32_t)e->caps.msix + PCI_MSIX_FLAGS;

	cfg_wr(e, ctl, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	msix_entry(e, 0);
	msix_entry(e, 1);
	cfg_wr(e, ctl, 2, PCI_MSIX_FLAGS_ENABLE);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_MSIX, 2), 0);
}

/* Lay out an empty ring and program queue 0 with it; enable it. */
static void setup_queue(struct env *e, uint16_t vector)
{
	fv_init(&e->fv, &e->gm, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
	assert_int_equal(fvp_setup_queue(&e->drv, 0, &e->fv, vector), 1);
}

/* The whole probe: the device runs afterwards. */
static void start(struct env *e, bool msix)
{
	find_caps(e);
	enable_memory(e);
	assert_int_equal(negotiate(e, F_VERSION_1 | F_EVENT_IDX | F_INDIRECT),
			 S_ACK | S_DRV | S_FOK);
	if (msix)
		setup_msix(e);
	setup_queue(e, msix ? 1 : VPCI_NO_VECTOR);
	fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV | S_FOK | S_DOK);
}

/* Fill a buffer with a marker so that untouched bytes are recognisable. */
static void mark(struct env *e, uint64_t gpa, uint64_t len)
{
	memset(e->ram + gpa, 0xee, len);
}

/* Bytes [gpa, gpa + len) hold the pattern from position first on. */
static void assert_pattern(struct env *e, uint64_t gpa, uint64_t len, unsigned int first)
{
	for (uint64_t i = 0; i < len; i++)
		if (e->ram[gpa + i] != pattern_byte(first + (unsigned int)i))
			fail_msg("byte %llu at 0x%llx: 0x%02x, expected 0x%02x",
				 (unsigned long long)i, (unsigned long long)(gpa + i),
				 e->ram[gpa + i], pattern_byte(first + (unsigned int)i));
}

/* ---- tests ----------------------------------------------------------- */

static void test_identity(void **state)
{
	struct env *e = *state;
	uint32_t mc, table, pba;

	assert_int_equal(cfg_rd(e, PCI_VENDOR_ID, 2), VPCI_VENDOR);
	assert_int_equal(cfg_rd(e, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_RNG);
	assert_true(cfg_rd(e, PCI_REVISION_ID, 1) >= 1); /* modern-only device */
	/* class 0xff ("device does not fit any class"), as other VMMs give rng */
	assert_int_equal(cfg_rd(e, PCI_CLASS_REVISION, 4) >> 8, 0xff0000);
	assert_int_equal(cfg_rd(e, PCI_SUBSYSTEM_VENDOR_ID, 2), VPCI_VENDOR);
	assert_int_equal(cfg_rd(e, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(cfg_rd(e, PCI_INTERRUPT_LINE, 1), PCI_INTX_GSI(e->slot));
	/* a 64-bit prefetchable memory BAR in the 64-bit window */
	assert_int_equal(cfg_rd(e, PCI_BASE_ADDRESS_0, 4) & 0xf,
			 PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);
	assert_true(pci_bar_addr(&e->t.func, 0) >= W64_BASE);
	assert_int_equal(pci_bar_addr(&e->t.func, 0) % VPCI_BAR_SIZE, 0);

	find_caps(e);
	assert_int_equal(e->caps.ncaps, 4); /* MSI-X, common, ISR, notify */
	assert_int_equal(e->caps.mult, VPCI_NOTIFY_MULT);
	assert_true(e->caps.common_len >= sizeof(struct virtio_pci_common_cfg));
	assert_true(e->caps.isr_len >= 1);
	assert_true(e->caps.notify_len >= 2); /* one queue */
	mc = cfg_rd(e, (uint32_t)e->caps.msix + PCI_MSIX_FLAGS, 2);
	table = cfg_rd(e, (uint32_t)e->caps.msix + PCI_MSIX_TABLE, 4);
	pba = cfg_rd(e, (uint32_t)e->caps.msix + PCI_MSIX_PBA, 4);
	assert_int_equal(mc & PCI_MSIX_FLAGS_QSIZE, 1); /* 2 vectors */
	assert_int_equal(mc & (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL), 0);
	assert_int_equal(table, VPCI_MSIX_OFF | 0);
	assert_int_equal(pba, VPCI_PBA_OFF | 0);
	/* MEMORY off: nothing on the MMIO bus, no ioeventfd */
	assert_int_equal(e->h.nbinds, 0);
	assert_int_equal(e->mmio.nr, 0);
}

/* The Linux probe step by step, then one request served. */
static void test_linux_probe_and_serve(void **state)
{
	struct env *e = *state;
	struct fv_buf bufs[2] = {{BUF_GPA, 100, true}, {BUF_GPA + 0x200, 60, true}};
	uint32_t ctl, id, len;
	uint64_t feat;
	uint16_t head;

	find_caps(e);
	enable_memory(e);
	assert_true(e->bar >= W64_BASE);
	/* the BAR is mapped, and queue 0's notify address is bound */
	assert_int_equal(e->h.nbinds, 1);
	assert_int_equal(e->h.binds[0].q, 0);
	assert_true(e->h.binds[0].assign);
	assert_int_equal(e->h.binds[0].gpa, e->bar + e->caps.notify_off + 0 * e->caps.mult);

	/* reset, ACK, DRIVER */
	fvp_set_status(&e->drv, 0);
	assert_int_equal(fvp_status(&e->drv), 0);
	fvp_set_status(&e->drv, S_ACK);
	assert_int_equal(fvp_status(&e->drv), S_ACK);
	fvp_set_status(&e->drv, S_ACK | S_DRV);
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_NUMQ, 2), 1);

	/* features */
	feat = fvp_device_features(&e->drv);
	assert_true(feat & F_VERSION_1);
	assert_true(feat & F_EVENT_IDX);
	assert_true(feat & F_INDIRECT);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_DFSELECT, 4, 2);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_DF, 4), 0);
	fvp_write_features(&e->drv, F_VERSION_1 | F_EVENT_IDX | F_INDIRECT);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_GF, 4),
			 (uint32_t)(F_EVENT_IDX | F_INDIRECT));
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_GF, 4), F_VERSION_1 >> 32);
	fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK);
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV | S_FOK);
	assert_int_equal(virtio_pci_features(&e->t), F_VERSION_1 | F_EVENT_IDX | F_INDIRECT);

	/* MSI-X: enabled with the function masked while the table is written */
	ctl = (uint32_t)e->caps.msix + PCI_MSIX_FLAGS;
	cfg_wr(e, ctl, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(cfg_rd(e, ctl, 2) & (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL),
			 PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	msix_entry(e, 0);
	/* vector 1 with one 8-byte address write and one 8-byte data+control write */
	mw(e, VPCI_MSIX_OFF + 16, 8, MSI_ADDR);
	mw(e, VPCI_MSIX_OFF + 24, 8, MSI_DATA(1));
	assert_int_equal(mr(e, VPCI_MSIX_OFF + 16 + PCI_MSIX_ENTRY_DATA, 4), MSI_DATA(1));
	assert_int_equal(e->h.nupdates, 0); /* function still masked */
	cfg_wr(e, ctl, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(e->h.nupdates, 2);
	for (unsigned int i = 0; i < 2; i++) {
		assert_int_equal(e->h.updates[i].v, i);
		assert_int_equal(e->h.updates[i].addr, MSI_ADDR);
		assert_int_equal(e->h.updates[i].data, MSI_DATA(i));
	}
	assert_int_equal(e->h.nfires, 0);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_MSIX, 2), 0);

	/* queue 0 */
	fv_init(&e->fv, &e->gm, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_SIZE, 2), RNG_QUEUE_SIZE);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_MSIX, 2), VPCI_NO_VECTOR);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SIZE, 2, QSIZE);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_SIZE, 2), QSIZE);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
	/* a vector the device does not have reads back as NO_VECTOR */
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_MSIX, 2, 2);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_MSIX, 2), VPCI_NO_VECTOR);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	/* desc in two halves, the other two in one 8-byte write each */
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)DESC_GPA);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_DESCHI, 4, 5);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_DESCLO, 8), 5ULL << 32 | DESC_GPA);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_DESCHI, 4), 5);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_DESCHI, 4, DESC_GPA >> 32);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_AVAILLO, 8, AVAIL_GPA);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_USEDLO, 8, USED_GPA);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_DESCLO, 8), DESC_GPA);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_AVAILLO, 4), AVAIL_GPA);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_USEDLO, 4), USED_GPA);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_USEDHI, 4), 0);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);

	/* a buffer made available before DRIVER_OK is not served yet */
	mark(e, BUF_GPA, 0x400);
	head = fv_add_chain(&e->fv, bufs, 2);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv), 0);
	assert_int_equal(e->h.nkicks, 0);

	/* DRIVER_OK: the device asks for the enabled queue to be looked at */
	fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(e->h.nkicks, 1);
	assert_int_equal(e->h.kicks[0], 0);

	/* the IO thread serves the kick */
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv), 1);
	fv_used_elem(&e->fv, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 160);
	assert_pattern(e, BUF_GPA, 100, 0);
	assert_pattern(e, BUF_GPA + 0x200, 60, 100);
	assert_int_equal(e->ram[BUF_GPA + 100], 0xee); /* nothing past the buffers */
	assert_int_equal(e->ram[BUF_GPA + 0x200 + 60], 0xee);
	assert_int_equal(e->h.nfires, 1);
	assert_int_equal(e->h.fires[0].v, 1);
	assert_int_equal(e->h.fires[0].addr, MSI_ADDR);
	assert_int_equal(e->h.fires[0].data, MSI_DATA(1));
	assert_int_equal(atomic_load(&e->rng.requests), 1);
	assert_int_equal(atomic_load(&e->rng.bytes), 160);
	assert_int_equal(atomic_load(&e->t.queues[0].notifies), 1);
	assert_int_equal(atomic_load(&e->t.queues[0].interrupts), 1);
	/* with EVENT_IDX the device asks to be kicked at the next entry */
	assert_int_equal(fv_avail_event(&e->fv), 1);

	/* nothing new: no completion, no interrupt */
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv), 1);
	assert_int_equal(e->h.nfires, 1);

	/* an indirect chain (INDIRECT_DESC was negotiated) */
	{
		struct fv_buf ib[2] = {{BUF_GPA + 0x400, 16, true}, {BUF_GPA + 0x500, 8, true}};

		fv_set_used_event(&e->fv, 1);
		head = fv_add_indirect(&e->fv, TABLE_GPA, ib, 2);
		virtio_pci_queue_kicked(&e->t, 0);
		assert_int_equal(fv_used_idx(&e->fv), 2);
		fv_used_elem(&e->fv, 1, &id, &len);
		assert_int_equal(id, head);
		assert_int_equal(len, 24);
		assert_pattern(e, BUF_GPA + 0x400, 16, 160);
		assert_pattern(e, BUF_GPA + 0x500, 8, 176);
		assert_int_equal(e->h.nfires, 2);
	}
	/* the driver's event index not crossed: completion without interrupt */
	{
		struct fv_buf b1 = {BUF_GPA + 0x600, 4, true};

		fv_set_used_event(&e->fv, 10);
		fv_add_chain(&e->fv, &b1, 1);
		virtio_pci_queue_kicked(&e->t, 0);
		assert_int_equal(fv_used_idx(&e->fv), 3);
		assert_int_equal(e->h.nfires, 2);
	}
	assert_int_equal(atomic_load(&e->t.stats.needs_reset), 0);
	assert_int_equal(atomic_load(&e->t.stats.refused), 0);
}

static void test_feature_refusal(void **state)
{
	struct env *e = *state;

	find_caps(e);
	enable_memory(e);
	/* a feature the device does not offer */
	assert_int_equal(negotiate(e, F_VERSION_1 | F_EVENT_IDX | 1ULL), S_ACK | S_DRV);
	assert_int_equal(atomic_load(&e->t.stats.refused), 1);
	/* without VERSION_1 */
	assert_int_equal(negotiate(e, F_EVENT_IDX), S_ACK | S_DRV);
	assert_int_equal(atomic_load(&e->t.stats.refused), 2);
	/* a high feature not offered */
	assert_int_equal(negotiate(e, F_VERSION_1 | (1ULL << 40)), S_ACK | S_DRV);
	/* FEATURES_OK and DRIVER_OK in one write: neither sticks, nothing starts */
	fvp_set_status(&e->drv, 0);
	fvp_set_status(&e->drv, S_ACK | S_DRV);
	fvp_write_features(&e->drv, F_EVENT_IDX);
	fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV);
	assert_false(atomic_load(&e->t.running));
	/* the driver may retry with acceptable features without a reset */
	fvp_write_features(&e->drv, F_VERSION_1);
	fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK);
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV | S_FOK);
	assert_int_equal(virtio_pci_features(&e->t), F_VERSION_1);
	/* features are fixed after FEATURES_OK */
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)F_EVENT_IDX);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_GF, 4), 0);
	assert_int_equal(virtio_pci_features(&e->t), F_VERSION_1);
	/* refused status writes change nothing */
	fvp_set_status(&e->drv, S_ACK);
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV | S_FOK);
	fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK | 0x10);
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV | S_FOK);
}

/* Bad queue configurations found at queue_enable. */
static void test_queue_setup_errors(void **state)
{
	struct env *e = *state;
	static const struct {
		uint16_t size;
		uint64_t desc, avail, used;
	} bad[] = {
	    {12, DESC_GPA, AVAIL_GPA, USED_GPA},		 /* not a power of two */
	    {RNG_QUEUE_SIZE * 2, DESC_GPA, AVAIL_GPA, USED_GPA}, /* above the maximum */
	    {0, DESC_GPA, AVAIL_GPA, USED_GPA},			 /* empty */
	    {QSIZE, 0x10000000, AVAIL_GPA, USED_GPA},		 /* desc outside RAM */
	    {QSIZE, DESC_GPA, RAM_SIZE - 8, USED_GPA},		 /* avail crosses the end */
	    {QSIZE, DESC_GPA, AVAIL_GPA, RAM_SIZE - 64},	 /* used crosses the end */
	    {QSIZE, DESC_GPA + 8, AVAIL_GPA, USED_GPA},		 /* desc misaligned */
	};

	find_caps(e);
	enable_memory(e);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned int fires;

		assert_int_equal(negotiate(e, F_VERSION_1), S_ACK | S_DRV | S_FOK);
		setup_msix(e);
		fires = e->h.nfires;
		fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
		fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SIZE, 2, bad[i].size);
		fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
		fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_DESCLO, 8, bad[i].desc);
		fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_AVAILLO, 8, bad[i].avail);
		fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_USEDLO, 8, bad[i].used);
		fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
		if (!(fvp_status(&e->drv) & S_NR))
			fail_msg("case %zu: status 0x%02x without NEEDS_RESET", i,
				 fvp_status(&e->drv));
		assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV | S_FOK | S_NR);
		assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
		assert_int_equal(atomic_load(&e->t.stats.needs_reset), i + 1);
		assert_int_equal(atomic_load(&e->t.stats.why[VPCI_WHY_SETUP]), i + 1);
		/* one configuration interrupt, on the config vector */
		assert_int_equal(e->h.nfires, fires + 1);
		assert_int_equal(e->h.fires[fires].v, 0);
		assert_int_equal(e->h.fires[fires].data, MSI_DATA(0));
		/* again: still NEEDS_RESET, no second interrupt */
		fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
		assert_int_equal(e->h.nfires, fires + 1);
		/* DRIVER_OK does not make it serve anything */
		fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK | S_DOK);
		assert_true(fvp_status(&e->drv) & S_NR);
		virtio_pci_queue_kicked(&e->t, 0);
		assert_int_equal(atomic_load(&e->t.queues[0].notifies), 0);
		/* the reset clears it */
		fvp_set_status(&e->drv, 0);
		assert_int_equal(fvp_status(&e->drv), 0);
	}
	/* enabling a queue before FEATURES_OK is a driver error too */
	fvp_set_status(&e->drv, S_ACK | S_DRV);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SIZE, 2, QSIZE);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_DESCLO, 8, DESC_GPA);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_AVAILLO, 8, AVAIL_GPA);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_USEDLO, 8, USED_GPA);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	assert_true(fvp_status(&e->drv) & S_NR);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
}

/* A descriptor loop: NEEDS_RESET, no more service, a reset starts over. */
static void test_malformed_chain(void **state)
{
	struct env *e = *state;
	struct fv_buf good = {BUF_GPA, 32, true};
	unsigned int fires;
	uint32_t id, len;

	start(e, true);
	fires = e->h.nfires;
	fv_set_desc(&e->fv, 0, BUF_GPA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	fv_set_desc(&e->fv, 1, BUF_GPA + 16, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
	e->fv.next_desc = 2;
	fv_publish(&e->fv, 0);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	assert_true(e->t.queues[0].vq.broken);
	assert_int_equal(e->t.queues[0].vq.error, VQ_ERR_LOOP);
	assert_int_equal(atomic_load(&e->rng.errors), 1);
	assert_int_equal(atomic_load(&e->t.stats.needs_reset), 1);
	/* counted under its cause, and only once however often it is kicked */
	virtio_pci_queue_kicked(&e->t, 0);
	virtio_pci_queue_broken(&e->t, 0);
	{
		char why[64];

		assert_string_equal(virtio_pci_why_format(&e->t, why, sizeof(why)), "loop=1");
		assert_string_equal(virtio_pci_why_format(&e->t, why, 4), "loo");
	}
	assert_int_equal(fv_used_idx(&e->fv), 0);
	/* the configuration interrupt went out on vector 0 */
	assert_int_equal(e->h.nfires, fires + 1);
	assert_int_equal(e->h.fires[fires].v, 0);

	/* the device no longer serves, even good chains */
	fv_add_chain(&e->fv, &good, 1);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv), 0);
	assert_int_equal(atomic_load(&e->t.queues[0].notifies), 1);
	assert_int_equal(atomic_load(&e->rng.requests), 0);

	/* reset: everything back to the initial state */
	fvp_set_status(&e->drv, 0);
	assert_int_equal(fvp_status(&e->drv), 0);
	assert_int_equal(atomic_load(&e->t.stats.resets), 2); /* start() reset once */
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_MSIX, 2), VPCI_NO_VECTOR);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_SIZE, 2), RNG_QUEUE_SIZE);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_MSIX, 2), VPCI_NO_VECTOR);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_AVAILLO, 8), 0);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_USEDLO, 8), 0);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_GF, 4), 0);
	assert_false(e->t.queues[0].vq.broken);
	assert_false(atomic_load(&e->t.running));
	/* a kick between the reset and the next DRIVER_OK does nothing */
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(atomic_load(&e->t.queues[0].notifies), 1);

	/* the driver starts again and is served */
	assert_int_equal(negotiate(e, F_VERSION_1 | F_EVENT_IDX), S_ACK | S_DRV | S_FOK);
	setup_msix(e);
	setup_queue(e, 1);
	fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV | S_FOK | S_DOK);
	fires = e->h.nfires;
	pattern_pos = 0;
	fv_add_chain(&e->fv, &good, 1);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv), 1);
	fv_used_elem(&e->fv, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 32);
	assert_pattern(e, BUF_GPA, 32, 0);
	assert_int_equal(e->h.nfires, fires + 1);
	assert_int_equal(e->h.fires[fires].v, 1);
}

/* Other malformed chains also end in NEEDS_RESET without touching RAM. */
static void test_malformed_variants(void **state)
{
	struct env *e = *state;
	static const struct {
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
		enum vq_error err;
	} bad[] = {
	    {BUF_GPA, 0, VRING_DESC_F_WRITE, 0, VQ_ERR_ZERO_LEN},
	    {RAM_SIZE - 8, 16, VRING_DESC_F_WRITE, 0, VQ_ERR_ADDR},
	    {BUF_GPA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, QSIZE, VQ_ERR_NEXT},
	    {UINT64_MAX - 4, 16, VRING_DESC_F_WRITE, 0, VQ_ERR_ADDR},
	};

	find_caps(e);
	enable_memory(e);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(negotiate(e, F_VERSION_1), S_ACK | S_DRV | S_FOK);
		setup_msix(e);
		setup_queue(e, 1);
		fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK | S_DOK);
		mark(e, BUF_GPA, 64);
		fv_set_desc(&e->fv, 0, bad[i].addr, bad[i].len, bad[i].flags, bad[i].next);
		fv_publish(&e->fv, 0);
		virtio_pci_queue_kicked(&e->t, 0);
		assert_true(fvp_status(&e->drv) & S_NR);
		assert_int_equal(e->t.queues[0].vq.error, bad[i].err);
		assert_int_equal(fv_used_idx(&e->fv), 0);
		assert_int_equal(e->ram[BUF_GPA], 0xee);
	}
}

static void test_late_queue_writes(void **state)
{
	struct env *e = *state;
	uint64_t refused;

	start(e, true);
	refused = atomic_load(&e->t.stats.refused);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x8000);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_DESCHI, 4, 1);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_AVAILLO, 8, 0x9000);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_USEDLO, 4, 0xa000);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SIZE, 2, 4);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_DESCLO, 8), DESC_GPA);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_AVAILLO, 8), AVAIL_GPA);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_USEDLO, 8), USED_GPA);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_SIZE, 2), QSIZE);
	assert_int_equal(atomic_load(&e->t.stats.refused), refused + 5);
	/* the ring in use is the one set up at enable */
	assert_int_equal(e->t.queues[0].vq.size, QSIZE);
	{
		struct fv_buf b = {BUF_GPA, 8, true};
		uint32_t id, len;

		fv_add_chain(&e->fv, &b, 1);
		virtio_pci_queue_kicked(&e->t, 0);
		assert_int_equal(fv_used_idx(&e->fv), 1);
		fv_used_elem(&e->fv, 0, &id, &len);
		assert_int_equal(len, 8);
	}
	/* writes to an enabled queue before DRIVER_OK are refused as well */
	assert_int_equal(negotiate(e, F_VERSION_1), S_ACK | S_DRV | S_FOK);
	setup_queue(e, VPCI_NO_VECTOR);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x8000);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_DESCLO, 8), DESC_GPA);
}

/* MSI-X off: queue interrupts are INTx with ISR bit 0, read-to-clear. */
static void test_intx(void **state)
{
	struct env *e = *state;
	struct fv_buf b = {BUF_GPA, 8, true};
	unsigned int gsi = PCI_INTX_GSI(e->slot);

	start(e, false);
	assert_int_equal(e->h.intx_changes, 0);
	assert_int_equal(mr(e, e->caps.isr_off, 1), 0);
	fv_add_chain(&e->fv, &b, 1);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv), 1);
	assert_int_equal(e->h.nfires, 0);
	assert_int_equal(e->h.intx_gsi, gsi);
	assert_int_equal(e->h.intx_level, 1);
	assert_int_equal(atomic_load(&e->t.stats.intx), 1);
	assert_true(cfg_rd(e, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* reading the ISR returns the cause, clears it and lowers the line */
	assert_int_equal(mr(e, e->caps.isr_off, 1), VPCI_ISR_QUEUE);
	assert_int_equal(e->h.intx_level, 0);
	assert_false(cfg_rd(e, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(mr(e, e->caps.isr_off, 1), 0);
	/* the ISR's upper bytes are reserved: they read as zero */
	fv_set_used_event(&e->fv, 1); /* EVENT_IDX: interrupt for the next one */
	fv_add_chain(&e->fv, &b, 1);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(e->h.intx_level, 1);
	assert_int_equal(mr(e, e->caps.isr_off + 1, 1), 0);
	assert_int_equal(mr(e, e->caps.isr_off + 1, 2), 0);
	(void)mr(e, e->caps.isr_off, 1);
	assert_int_equal(e->h.intx_level, 0);

	/* a configuration interrupt (NEEDS_RESET) sets ISR bit 1 */
	{
		uint16_t slot = e->fv.next_desc;

		fv_set_desc(&e->fv, slot, BUF_GPA, 0, VRING_DESC_F_WRITE, 0);
		e->fv.next_desc = (uint16_t)(slot + 1);
		fv_publish(&e->fv, slot);
	}
	virtio_pci_queue_kicked(&e->t, 0);
	assert_true(fvp_status(&e->drv) & S_NR);
	assert_int_equal(e->h.intx_level, 1);
	assert_int_equal(mr(e, e->caps.isr_off, 1), VIRTIO_PCI_ISR_CONFIG);
	assert_int_equal(e->h.intx_level, 0);

	/* INTX_DISABLE in the command register keeps the line low */
	fvp_set_status(&e->drv, 0);
	cfg_wr(e, PCI_COMMAND, 2,
	       PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(negotiate(e, F_VERSION_1), S_ACK | S_DRV | S_FOK);
	setup_queue(e, VPCI_NO_VECTOR);
	fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK | S_DOK);
	fv_add_chain(&e->fv, &b, 1);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv), 1);
	assert_int_equal(e->h.intx_level, 0);
	assert_int_equal(mr(e, e->caps.isr_off, 1), VPCI_ISR_QUEUE);

	/* a configuration change with no driver running (after a reset):
	 * the generation moves, but no interrupt is raised for nobody */
	cfg_wr(e, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	fvp_set_status(&e->drv, 0);
	{
		uint8_t gen = atomic_load(&e->t.config_generation);

		virtio_pci_config_changed(&e->t);
		assert_int_equal(atomic_load(&e->t.config_generation), (uint8_t)(gen + 1));
	}
	assert_int_equal(e->h.intx_level, 0);
	assert_int_equal(mr(e, e->caps.isr_off, 1), 0);
	/* with the driver running it interrupts (ISR bit 1) */
	assert_int_equal(negotiate(e, F_VERSION_1), S_ACK | S_DRV | S_FOK);
	setup_queue(e, VPCI_NO_VECTOR);
	fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK | S_DOK);
	virtio_pci_config_changed(&e->t);
	assert_int_equal(e->h.intx_level, 1);
	assert_int_equal(mr(e, e->caps.isr_off, 1), VIRTIO_PCI_ISR_CONFIG);
}

/* INTx raised while MSI-X was off and never acknowledged: enabling MSI-X
 * lowers the line (the function may no longer use INTx); the ISR still
 * reads the cause once. */
static void test_msix_enable_lowers_intx(void **state)
{
	struct env *e = *state;
	struct fv_buf b = {BUF_GPA, 8, true};
	uint32_t ctl;

	start(e, false);
	fv_add_chain(&e->fv, &b, 1);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(e->h.intx_level, 1);
	ctl = (uint32_t)e->caps.msix + PCI_MSIX_FLAGS;
	cfg_wr(e, ctl, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(e->h.intx_level, 0);
	assert_false(cfg_rd(e, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(mr(e, e->caps.isr_off, 1), VPCI_ISR_QUEUE);
	/* and from now on nothing raises it */
	cfg_wr(e, ctl, 2, PCI_MSIX_FLAGS_ENABLE);
	fv_add_chain(&e->fv, &b, 1);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv), 2);
	assert_int_equal(e->h.intx_level, 0);
}

/* MSI-X on and the queue without a vector: no interrupt at all. */
static void test_msix_no_vector(void **state)
{
	struct env *e = *state;
	struct fv_buf b = {BUF_GPA, 8, true};

	find_caps(e);
	enable_memory(e);
	assert_int_equal(negotiate(e, F_VERSION_1), S_ACK | S_DRV | S_FOK);
	setup_msix(e);
	setup_queue(e, VPCI_NO_VECTOR);
	fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK | S_DOK);
	fv_add_chain(&e->fv, &b, 1);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv), 1);
	assert_int_equal(e->h.nfires, 0);
	assert_int_equal(e->h.intx_changes, 0);
	assert_int_equal(mr(e, e->caps.isr_off, 1), 0);

	/* a masked vector: the message waits in the PBA until unmasked */
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	mw(e, VPCI_MSIX_OFF + 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 1);
	fv_add_chain(&e->fv, &b, 1);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv), 2);
	assert_int_equal(e->h.nfires, 0);
	assert_int_equal(mr(e, VPCI_PBA_OFF, 8), 1u << 1);
	mw(e, VPCI_MSIX_OFF + 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	assert_int_equal(e->h.nfires, 1);
	assert_int_equal(e->h.fires[0].v, 1);
	assert_int_equal(mr(e, VPCI_PBA_OFF, 8), 0);
}

/* Notify writes that reach the device as MMIO exits. */
static void test_mmio_notify(void **state)
{
	struct env *e = *state;
	uint64_t notify;

	start(e, true);
	notify = e->caps.notify_off +
		 (uint64_t)fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_NOFF, 2) * e->caps.mult;
	assert_int_equal(e->h.binds[0].gpa, e->bar + notify);
	e->h.nkicks = 0;
	mw(e, notify, 2, 0);
	assert_int_equal(e->h.nkicks, 1);
	assert_int_equal(e->h.kicks[0], 0);
	assert_int_equal(atomic_load(&e->t.stats.mmio_kicks), 1);
	mw(e, notify, 2, 0);
	assert_int_equal(e->h.nkicks, 2);
	assert_int_equal(atomic_load(&e->t.stats.mmio_kicks), 2);
	/* the address of a queue the device does not have kicks nothing */
	mw(e, notify + e->caps.mult, 2, 1);
	assert_int_equal(e->h.nkicks, 2);
	assert_int_equal(atomic_load(&e->t.stats.mmio_kicks), 2);
}

/* BAR moves follow the guest, and the ioeventfd with them. */
static void test_bar_move(void **state)
{
	struct env *e = *state;
	uint64_t old, moved, moved2;
	uint8_t b[2];

	start(e, true);
	old = e->bar;
	assert_int_equal(e->h.nbinds, 1);
	moved = old + 0x100000;
	cfg_wr(e, PCI_BASE_ADDRESS_0, 4, (uint32_t)moved);
	assert_int_equal(pci_bar_addr(&e->t.func, 0), moved);
	assert_int_equal(e->h.nbinds, 3);
	assert_false(e->h.binds[1].assign);
	assert_int_equal(e->h.binds[1].gpa, old + e->caps.notify_off);
	assert_true(e->h.binds[2].assign);
	assert_int_equal(e->h.binds[2].gpa, moved + e->caps.notify_off);
	assert_int_equal(e->h.binds[2].q, 0);
	/* the registers went along */
	assert_false(
	    bus_read(&e->mmio, old + e->caps.common_off + VIRTIO_PCI_COMMON_NUMQ, b, 2).claimed);
	e->bar = moved;
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV | S_FOK | S_DOK);

	/* the upper half */
	moved2 = moved + (1ULL << 32);
	cfg_wr(e, PCI_BASE_ADDRESS_1, 4, (uint32_t)(moved2 >> 32));
	assert_int_equal(pci_bar_addr(&e->t.func, 0), moved2);
	assert_int_equal(e->h.nbinds, 5);
	assert_false(e->h.binds[3].assign);
	assert_int_equal(e->h.binds[3].gpa, moved + e->caps.notify_off);
	assert_true(e->h.binds[4].assign);
	assert_int_equal(e->h.binds[4].gpa, moved2 + e->caps.notify_off);
	e->bar = moved2;
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_NUMQ, 2), 1);

	/* MEMORY off: unbound, unmapped */
	cfg_wr(e, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(e->h.nbinds, 6);
	assert_false(e->h.binds[5].assign);
	assert_int_equal(e->h.binds[5].gpa, moved2 + e->caps.notify_off);
	assert_false(bus_read(&e->mmio, moved2, b, 2).claimed);
	assert_false(e->t.bar_mapped);
}

/* Accesses no driver makes: wrong sizes, holes, read-only registers. */
static void test_odd_accesses(void **state)
{
	struct env *e = *state;
	struct fv_buf b = {BUF_GPA, 8, true};
	uint64_t holes[] = {VPCI_COMMON_LEN,
			    0x800,
			    VPCI_ISR_OFF + VPCI_ISR_LEN,
			    VPCI_DEVICE_OFF,
			    VPCI_NOTIFY_OFF + 0x100,
			    VPCI_MSIX_OFF + 0x100,
			    VPCI_PBA_OFF + 0x100,
			    VPCI_BAR_SIZE - 8};
	uint32_t sizes[] = {1, 2, 3, 4, 8};

	start(e, true);
	/* reads of holes or crossing a structure's end are zero */
	for (size_t i = 0; i < sizeof(holes) / sizeof(holes[0]); i++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			assert_int_equal(mr(e, holes[i], sizes[s]), 0);
	assert_int_equal(fvp_cc_rd(&e->drv, VPCI_COMMON_LEN - 4, 8), 0);
	/* wrong-sized writes to sized registers are ignored */
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_STATUS, 2, 0);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_STATUS, 4, 0);
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV | S_FOK | S_DOK);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_MSIX, 4, 1);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_MSIX, 1, 1);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_MSIX, 2), 0);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SELECT, 4, 5);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SELECT, 1, 5);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_DFSELECT, 4),
			 1); /* left by start() */
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_DFSELECT, 2, 0);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_DFSELECT, 4), 1);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_GF, 8, ~0ULL);
	/* odd sizes and offsets inside the common structure */
	for (uint32_t off = 0; off < VPCI_COMMON_LEN; off++) {
		fvp_cc_wr(&e->drv, off, 3, 0xffffff);
		(void)fvp_cc_rd(&e->drv, off, 3);
		(void)fvp_cc_rd(&e->drv, off, 1);
	}
	/* read-only registers stay */
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_NUMQ, 2, 7);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_DF, 4, 0);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_DF, 4), F_VERSION_1 >> 32);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_NOFF, 2, 9);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
	/* writes to the ISR, the PBA and holes are ignored */
	mw(e, e->caps.isr_off, 1, 0xff);
	assert_int_equal(mr(e, e->caps.isr_off, 1), 0);
	mw(e, VPCI_PBA_OFF, 8, ~0ULL);
	assert_int_equal(mr(e, VPCI_PBA_OFF, 8), 0);
	for (size_t i = 0; i < sizeof(holes) / sizeof(holes[0]); i++)
		mw(e, holes[i], 4, ~0ULL);
	/* a queue the device does not have: reads zero, writes ignored */
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SELECT, 2, 3);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_MSIX, 2), 0);
	virtio_pci_queue_kicked(&e->t, 3);
	virtio_pci_queue_interrupt(&e->t, 3);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	/* configuration space accesses the spec does not allow */
	assert_int_equal(cfg_rd(e, 0x3, 2), 0xffffffffu);
	assert_int_equal(cfg_rd(e, 0x100, 1), 0xffffffffu);
	cfg_wr(e, (uint32_t)e->caps.msix + PCI_MSIX_FLAGS, 1, 0xff); /* low byte: read-only */
	assert_true(msix_enabled(&e->t.msix));
	/* the device still works */
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(e->t.queues[0].vq.size, QSIZE);
	fv_add_chain(&e->fv, &b, 1);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv), 1);
}

/* The device reports an error itself (a backend failure, say): NEEDS_RESET
 * stops the service of a healthy queue too. */
static void test_device_error(void **state)
{
	struct env *e = *state;
	struct fv_buf b = {BUF_GPA, 8, true};
	unsigned int fires;

	char why[64];

	start(e, true);
	assert_string_equal(virtio_pci_why_format(&e->t, why, sizeof(why)), "none");
	fires = e->h.nfires;
	virtio_pci_queue_broken(&e->t, 0);
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	/* no ring error behind it: a device-model cause */
	assert_string_equal(virtio_pci_why_format(&e->t, why, sizeof(why)), "device=1");
	assert_int_equal(e->h.nfires, fires + 1);
	assert_int_equal(e->h.fires[fires].v, 0);
	assert_false(e->t.queues[0].vq.broken);
	fv_add_chain(&e->fv, &b, 1);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv), 0);
	assert_int_equal(atomic_load(&e->rng.requests), 0);
	/* the driver cannot clear the bit by writing the status */
	fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_true(fvp_status(&e->drv) & S_NR);
	fvp_set_status(&e->drv, 0);
	assert_int_equal(fvp_status(&e->drv), 0);
}

/* activate failing at DRIVER_OK: NEEDS_RESET, nothing served or kicked. */
static void test_activate_failure(void **state)
{
	struct env *e = *state;
	struct fv_buf b = {BUF_GPA, 8, true};
	unsigned int fires;

	find_caps(e);
	enable_memory(e);
	assert_int_equal(negotiate(e, F_VERSION_1), S_ACK | S_DRV | S_FOK);
	setup_msix(e);
	setup_queue(e, 1);
	fires = e->h.nfires;
	fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	assert_false(atomic_load(&e->t.running));
	assert_int_equal(e->h.nkicks, 0);
	assert_int_equal(e->h.nfires, fires + 1);
	assert_int_equal(e->h.fires[fires].v, 0);
	fv_add_chain(&e->fv, &b, 1);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv), 0);
}

/* After DRIVER_OK a queue that was not enabled cannot be set up any more. */
static void test_queue_setup_after_driver_ok(void **state)
{
	struct env *e = *state;

	find_caps(e);
	enable_memory(e);
	assert_int_equal(negotiate(e, F_VERSION_1), S_ACK | S_DRV | S_FOK);
	fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(e->h.nkicks, 0); /* no queue enabled, none kicked */
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SIZE, 2, QSIZE);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_DESCLO, 8, DESC_GPA);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_AVAILLO, 8, AVAIL_GPA);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_USEDLO, 8, USED_GPA);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_SIZE, 2), RNG_QUEUE_SIZE);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	assert_int_equal(atomic_load(&e->t.stats.refused), 5);
	assert_int_equal(fvp_status(&e->drv), S_ACK | S_DRV | S_FOK | S_DOK);
}

/* rng fills only the device-writable part of a chain. */
static void test_readable_part_untouched(void **state)
{
	struct env *e = *state;
	struct fv_buf bufs[3] = {
	    {BUF_GPA, 32, false}, {BUF_GPA + 0x100, 16, false}, {BUF_GPA + 0x200, 24, true}};
	uint32_t id, len;

	start(e, true);
	mark(e, BUF_GPA, 0x400);
	fv_add_chain(&e->fv, bufs, 3);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv), 1);
	fv_used_elem(&e->fv, 0, &id, &len);
	assert_int_equal(len, 24);
	for (unsigned int i = 0; i < 0x200; i++)
		assert_int_equal(e->ram[BUF_GPA + i], 0xee);
	assert_pattern(e, BUF_GPA + 0x200, 24, 0);
}

/* The driver adds a buffer from its interrupt handler, before the device
 * re-enabled notifications: the device must find it without a kick. */
struct refill {
	struct env *e;
	bool done;
};

static void refill(void *arg)
{
	struct refill *r = arg;
	struct fv_buf b = {BUF_GPA + 0x100, 8, true};

	fv_add_chain(&r->e->fv, &b, 1);
	r->done = true;
}

static void test_buffer_added_while_serving(void **state)
{
	struct env *e = *state;
	struct fv_buf b = {BUF_GPA, 8, true};
	struct refill r = {e, false};
	uint32_t id, len;

	start(e, true);
	e->h.on_fire = refill;
	e->h.on_fire_arg = &r;
	fv_add_chain(&e->fv, &b, 1);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_true(r.done);
	assert_int_equal(fv_used_idx(&e->fv), 2);
	fv_used_elem(&e->fv, 1, &id, &len);
	assert_int_equal(id, 1);
	assert_int_equal(len, 8);
	assert_pattern(e, BUF_GPA + 0x100, 8, 8);
	assert_int_equal(atomic_load(&e->t.queues[0].notifies), 1);
}

/* Three queues: one notify address, vector and kick each. */
static void test_multi_queue(void **state)
{
	struct env *e = *state;
	struct fv_buf b = {BUF_GPA, 8, true};
	uint64_t noff[3];

	find_caps(e);
	assert_true(e->caps.notify_len >= 2 * e->caps.mult + 2);
	assert_int_equal(cfg_rd(e, (uint32_t)e->caps.msix + PCI_MSIX_FLAGS, 2) &
			     PCI_MSIX_FLAGS_QSIZE,
			 3); /* a vector per queue plus one for configuration */
	enable_memory(e);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_NUMQ, 2), 3);
	/* one ioeventfd per queue, at the address the driver computes */
	assert_int_equal(e->h.nbinds, 3);
	for (unsigned int q = 0; q < 3; q++) {
		bool found = false;

		fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
		noff[q] = e->caps.notify_off +
			  fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_NOFF, 2) * (uint64_t)e->caps.mult;
		for (unsigned int i = 0; i < e->h.nbinds; i++)
			if (e->h.binds[i].q == q && e->h.binds[i].assign &&
			    e->h.binds[i].gpa == e->bar + noff[q])
				found = true;
		assert_true(found);
	}
	assert_int_not_equal(noff[0], noff[1]);
	assert_int_not_equal(noff[1], noff[2]);
	/* MMIO notifies reach the right queue */
	mw(e, noff[2], 2, 2);
	mw(e, noff[1], 2, 1);
	assert_int_equal(e->h.nkicks, 2);
	assert_int_equal(e->h.kicks[0], 2);
	assert_int_equal(e->h.kicks[1], 1);
	e->h.nkicks = 0;

	/* only queue 1 is set up, on vector 2 */
	assert_int_equal(negotiate(e, F_VERSION_1), S_ACK | S_DRV | S_FOK);
	setup_msix(e);
	msix_entry(e, 2);
	fv_init(&e->fv, &e->gm, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SIZE, 2, QSIZE);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_MSIX, 2, 2);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_MSIX, 2), 2);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_DESCLO, 8, DESC_GPA);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_AVAILLO, 8, AVAIL_GPA);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_USEDLO, 8, USED_GPA);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	fvp_cc_wr(&e->drv, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	assert_int_equal(fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	fvp_set_status(&e->drv, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(e->h.nkicks, 1);
	assert_int_equal(e->h.kicks[0], 1);
	fv_add_chain(&e->fv, &b, 1);
	virtio_pci_queue_kicked(&e->t, 0);
	virtio_pci_queue_kicked(&e->t, 2);
	assert_int_equal(fv_used_idx(&e->fv), 0);
	virtio_pci_queue_kicked(&e->t, 1);
	assert_int_equal(fv_used_idx(&e->fv), 1);
	assert_int_equal(e->h.nfires, 1);
	assert_int_equal(e->h.fires[0].v, 2);
	assert_int_equal(e->h.fires[0].data, MSI_DATA(2));
	assert_int_equal(atomic_load(&e->t.queues[1].interrupts), 1);
	assert_int_equal(atomic_load(&e->t.queues[0].notifies), 0);
}

/* A reset first stops the device and lets it drain, outside the queue
 * locks, then forgets everything. */
static void test_reset_quiesces(void **state)
{
	struct env *e = *state;

	start(e, true);
	assert_int_equal(quiesced, 1); /* start() resets first */
	assert_true(atomic_load(&e->t.running));
	fvp_set_status(&e->drv, 0);
	assert_int_equal(quiesced, 2);
	assert_int_equal(quiesce_running, 0);
	assert_int_equal(quiesce_locked, 0);
	assert_false(atomic_load(&e->t.running));
	assert_int_equal(fvp_status(&e->drv), 0);
}

static void test_init_refusals(void **state)
{
	struct env *e = *state;
	struct virtio_pci t;
	struct virtio_dev_ops no_notify = virtio_rng_ops;
	const struct virtio_pci_host_ops no_kick = {.ioeventfd = fvp_host_ioeventfd};

	no_notify.queue_notify = NULL;
	assert_int_equal(virtio_pci_init(&t, &e->gm, &virtio_rng_ops, &e->rng, 0, 0, 256, 0,
					 fvp_host_ops(), fvp_msix_ops(), &e->h),
			 -EINVAL);
	assert_int_equal(virtio_pci_init(&t, &e->gm, &virtio_rng_ops, &e->rng, 0, 1, 100, 0,
					 fvp_host_ops(), fvp_msix_ops(), &e->h),
			 -EINVAL);
	assert_int_equal(virtio_pci_init(&t, &e->gm, &virtio_rng_ops, &e->rng, 0, 1, 0, 0,
					 fvp_host_ops(), fvp_msix_ops(), &e->h),
			 -EINVAL);
	assert_int_equal(virtio_pci_init(&t, &e->gm, &virtio_rng_ops, &e->rng, 0, 1, 256, 16,
					 fvp_host_ops(), fvp_msix_ops(), &e->h),
			 -EINVAL); /* configuration space without cfg_read */
	assert_int_equal(virtio_pci_init(&t, &e->gm, &no_notify, &e->rng, 0, 1, 256, 0,
					 fvp_host_ops(), fvp_msix_ops(), &e->h),
			 -EINVAL);
	assert_int_equal(virtio_pci_init(&t, &e->gm, &virtio_rng_ops, &e->rng, 0, 1, 256, 0,
					 &no_kick, fvp_msix_ops(), &e->h),
			 -EINVAL);
	assert_int_equal(virtio_pci_init(&t, &e->gm, &virtio_rng_ops, &e->rng, 0,
					 VPCI_MAX_QUEUES + 1, 256, 0, fvp_host_ops(),
					 fvp_msix_ops(), &e->h),
			 -EINVAL);
	virtio_pci_destroy(&t);
	/* many queues: accepted as long as the MSI-X table fits */
	assert_int_equal(virtio_pci_init(&t, &e->gm, &virtio_rng_ops, &e->rng, 0, 64, 256, 0,
					 fvp_host_ops(), fvp_msix_ops(), &e->h),
			 0);
	assert_int_equal(t.msix.nvec, 65);
	virtio_pci_destroy(&t);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_identity),
	    T(test_linux_probe_and_serve),
	    T(test_feature_refusal),
	    T(test_queue_setup_errors),
	    T(test_malformed_chain),
	    T(test_malformed_variants),
	    T(test_late_queue_writes),
	    T(test_intx),
	    T(test_msix_enable_lowers_intx),
	    T(test_msix_no_vector),
	    T(test_mmio_notify),
	    T(test_bar_move),
	    T(test_odd_accesses),
	    T(test_init_refusals),
	    T(test_device_error),
	    cmocka_unit_test_setup_teardown(test_activate_failure, setup_failing, teardown),
	    T(test_queue_setup_after_driver_ok),
	    T(test_readable_part_untouched),
	    T(test_buffer_added_while_serving),
	    cmocka_unit_test_setup_teardown(test_multi_queue, setup_3q, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_quiesces, setup_quiesce, teardown),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
