/* Minimal modern virtio-pci driver for test guests (see virtio.h). */
#include "virtio.h"

#include <stddef.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "guest.h"

#define IDENTITY_END   (1ull << 32) /* what the guest's page tables cover at least */
#define RESET_SPINS    1000000
#define NO_VECTOR      0xffff /* VIRTIO_MSI_NO_VECTOR */
#define NOTIFY_CAP_LEN ((uint8_t)sizeof(struct virtio_pci_notify_cap))
#define CC(field)      ((uint64_t)offsetof(struct virtio_pci_common_cfg, field))
#define CAP(field)     ((uint8_t)offsetof(struct virtio_pci_cap, field))
#define CAP_TYPE_MAX   VIRTIO_PCI_CAP_DEVICE_CFG

/* Compiler barrier: no memory access moves across it.  On x86 (TSO) the
 * CPU keeps stores in order with stores and loads in order with loads, so
 * this is all the split ring needs between the data and the index that
 * publishes it, on either side (Linux: virt_wmb / virt_rmb). */
static inline void barrier(void)
{
	__asm__ volatile("" : : : "memory");
}

static void fail(const char *what)
{
	guest_puts("virtio: ");
	guest_puts(what);
	guest_puts("\n");
}

/* ---- common configuration ------------------------------------------- */

static uint8_t cc_read8(const struct vpci *v, uint64_t off)
{
	return mmio_read8(v->common + off);
}

static uint16_t cc_read16(const struct vpci *v, uint64_t off)
{
	return mmio_read16(v->common + off);
}

static uint32_t cc_read32(const struct vpci *v, uint64_t off)
{
	return mmio_read32(v->common + off);
}

static void cc_write8(const struct vpci *v, uint64_t off, uint8_t x)
{
	mmio_write8(v->common + off, x);
}

static void cc_write16(const struct vpci *v, uint64_t off, uint16_t x)
{
	mmio_write16(v->common + off, x);
}

static void cc_write32(const struct vpci *v, uint64_t off, uint32_t x)
{
	mmio_write32(v->common + off, x);
}

/* A 64-bit register as two 32-bit writes, low half first. */
static void cc_write64(const struct vpci *v, uint64_t off, uint64_t x)
{
	cc_write32(v, off, (uint32_t)x);
	cc_write32(v, off + 4, (uint32_t)(x >> 32));
}

uint8_t vpci_status(const struct vpci *v)
{
	return cc_read8(v, CC(device_status));
}

static void set_status(const struct vpci *v, uint8_t bits)
{
	cc_write8(v, CC(device_status), (uint8_t)(vpci_status(v) | bits));
}

/* ---- finding the structures ----------------------------------------- */

struct cap_loc {
	bool found;
	uint8_t bar;
	uint32_t offset;
	uint32_t length;
};

int vpci_open(struct vpci *v, const struct pci_dev *pci, uint64_t mmio_base)
{
	struct cap_loc loc[CAP_TYPE_MAX + 1];
	uint64_t bar_addr[6] = {0}, bar_size[6] = {0}, next = mmio_base;
	bool used[6] = {false};
	uint8_t off = 0;
	uint16_t cmd;

	memset(v, 0, sizeof(*v));
	memset(loc, 0, sizeof(loc));
	v->pci = *pci;
	while ((off = pci_cap_find(pci, PCI_CAP_ID_VNDR, off)) != 0) {
		uint8_t type = pci_read8(pci, (uint8_t)(off + CAP(cfg_type)));
		uint8_t len = pci_read8(pci, (uint8_t)(off + CAP(cap_len)));
		struct cap_loc *l;

		/* Unknown types (PCI_CFG, shared memory, ...) and repeats: the
		 * driver uses the first of each type it knows. */
		if (type == 0 || type > CAP_TYPE_MAX || loc[type].found ||
		    len < sizeof(struct virtio_pci_cap))
			continue;
		l = &loc[type];
		l->bar = pci_read8(pci, (uint8_t)(off + CAP(bar)));
		if (l->bar > 5)
			continue; /* reserved BAR numbers: ignore the capability */
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
			if (len < NOTIFY_CAP_LEN)
				continue;
			v->notify_mult =
			    pci_read32(pci, (uint8_t)(off + offsetof(struct virtio_pci_notify_cap,
								     notify_off_multiplier)));
		}
		l->offset = pci_read32(pci, (uint8_t)(off + CAP(offset)));
		l->length = pci_read32(pci, (uint8_t)(off + CAP(length)));
		l->found = true;
		used[l->bar] = true;
	}
	if (!loc[VIRTIO_PCI_CAP_COMMON_CFG].found || !loc[VIRTIO_PCI_CAP_NOTIFY_CFG].found ||
	    !loc[VIRTIO_PCI_CAP_ISR_CFG].found) {
		fail("common, notify or ISR capability missing");
		return -1;
	}
	if (loc[VIRTIO_PCI_CAP_COMMON_CFG].length < sizeof(struct virtio_pci_common_cfg)) {
		fail("common configuration too short");
		return -1;
	}

	/* Place the BARs the structures live in where the identity map
	 * reaches.  pci_bar_set turns decoding off around each move. */
	for (int b = 0; b < 6; b++) {
		uint64_t a, size, end;

		if (!used[b])
			continue;
		a = pci_bar_addr(pci, b, NULL);
		size = pci_bar_size(pci, b);
		if (size == 0) {
			fail("capability in an I/O or unimplemented BAR");
			return -1;
		}
		if (a == 0 || __builtin_add_overflow(a, size, &end) || end > IDENTITY_END) {
			a = (next + size - 1) & ~(size - 1);
			if (a + size > IDENTITY_END || pci_bar_set(pci, b, a) ||
			    pci_bar_addr(pci, b, NULL) != a) {
				fail("cannot move a BAR below 4 GiB");
				return -1;
			}
			next = a + size;
		}
		bar_addr[b] = a;
		bar_size[b] = size;
	}
	for (int t = 1; t <= CAP_TYPE_MAX; t++) {
		struct cap_loc *l = &loc[t];

		if (l->found && ((uint64_t)l->offset + l->length > bar_size[l->bar])) {
			fail("a capability points past the end of its BAR");
			return -1;
		}
	}
	v->common =
	    bar_addr[loc[VIRTIO_PCI_CAP_COMMON_CFG].bar] + loc[VIRTIO_PCI_CAP_COMMON_CFG].offset;
	v->isr = bar_addr[loc[VIRTIO_PCI_CAP_ISR_CFG].bar] + loc[VIRTIO_PCI_CAP_ISR_CFG].offset;
	v->notify =
	    bar_addr[loc[VIRTIO_PCI_CAP_NOTIFY_CFG].bar] + loc[VIRTIO_PCI_CAP_NOTIFY_CFG].offset;
	v->notify_len = loc[VIRTIO_PCI_CAP_NOTIFY_CFG].length;
	if (loc[VIRTIO_PCI_CAP_DEVICE_CFG].found) {
		v->device = bar_addr[loc[VIRTIO_PCI_CAP_DEVICE_CFG].bar] +
			    loc[VIRTIO_PCI_CAP_DEVICE_CFG].offset;
		v->device_len = loc[VIRTIO_PCI_CAP_DEVICE_CFG].length;
	}

	/* Decoding on; bus mastering on (the device reads and writes the
	 * rings in guest memory); INTx off: completions are polled. */
	cmd = pci_read16(pci, PCI_COMMAND);
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;
	pci_write16(pci, PCI_COMMAND, cmd);
	return 0;
}

/* ---- initialisation ---------------------------------------------------- */

int vpci_negotiate(struct vpci *v, uint64_t want)
{
	uint64_t dev;
	int i;

	/* Reset: write 0, then wait until it reads back 0 (the device may
	 * finish in-flight work first). */
	cc_write8(v, CC(device_status), 0);
	for (i = 0; i < RESET_SPINS && vpci_status(v) != 0; i++)
		__builtin_ia32_pause();
	if (i == RESET_SPINS) {
		fail("reset did not complete");
		return -1;
	}
	set_status(v, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	set_status(v, VIRTIO_CONFIG_S_DRIVER);

	cc_write32(v, CC(device_feature_select), 0);
	dev = cc_read32(v, CC(device_feature));
	cc_write32(v, CC(device_feature_select), 1);
	dev |= (uint64_t)cc_read32(v, CC(device_feature)) << 32;
	if (!(dev & (1ull << VIRTIO_F_VERSION_1))) {
		set_status(v, VIRTIO_CONFIG_S_FAILED);
		fail("device does not offer VIRTIO_F_VERSION_1");
		return -1;
	}
	v->features = dev & (want | (1ull << VIRTIO_F_VERSION_1));
	cc_write32(v, CC(guest_feature_select), 0);
	cc_write32(v, CC(guest_feature), (uint32_t)v->features);
	cc_write32(v, CC(guest_feature_select), 1);
	cc_write32(v, CC(guest_feature), (uint32_t)(v->features >> 32));

	set_status(v, VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(vpci_status(v) & VIRTIO_CONFIG_S_FEATURES_OK)) {
		set_status(v, VIRTIO_CONFIG_S_FAILED);
		fail("FEATURES_OK did not stick");
		return -1;
	}
	return 0;
}

int vpci_queue_setup(struct vpci *v, struct virtq *q, uint16_t index, uint16_t size, void *mem)
{
	uint64_t base = (uint64_t)(uintptr_t)mem;
	uint64_t notify_off;
	uint16_t max;

	cc_write16(v, CC(queue_select), index);
	max = cc_read16(v, CC(queue_size));
	if (max == 0 || cc_read16(v, CC(queue_enable))) {
		fail("queue not available");
		return -1;
	}
	if (size == 0 || (size & (size - 1)) || size > max || size > VIRTQ_MAX_SIZE ||
	    (base & 15)) {
		fail("bad queue size or ring alignment");
		return -1;
	}
	notify_off = (uint64_t)cc_read16(v, CC(queue_notify_off)) * v->notify_mult;
	if (notify_off + 2 > v->notify_len) {
		fail("queue notify address outside the notify structure");
		return -1;
	}

	memset(mem, 0, VIRTQ_MEM_BYTES(size));
	q->index = index;
	q->size = size;
	q->desc = mem;
	q->avail = (volatile struct vring_avail *)(uintptr_t)(base + VIRTQ_AVAIL_OFF(size));
	q->used = (volatile struct vring_used *)(uintptr_t)(base + VIRTQ_USED_OFF(size));
	q->notify_addr = v->notify + notify_off;
	q->free_head = 0;
	q->num_free = size;
	q->avail_idx = 0;
	q->last_used = 0;
	q->heads = 0;
	for (uint16_t i = 0; i < size; i++)
		q->desc[i].next = (uint16_t)(i + 1);

	cc_write16(v, CC(queue_size), size);
	cc_write16(v, CC(queue_msix_vector), NO_VECTOR);
	cc_write64(v, CC(queue_desc_lo), base);
	cc_write64(v, CC(queue_avail_lo), base + VIRTQ_AVAIL_OFF(size));
	cc_write64(v, CC(queue_used_lo), base + VIRTQ_USED_OFF(size));
	/* The ring was zeroed with plain stores above; the device reads it
	 * only after queue_enable (a trapping MMIO write, ordered after them
	 * on x86), and the compiler must not sink the stores past it. */
	barrier();
	cc_write16(v, CC(queue_enable), 1);
	if (cc_read16(v, CC(queue_enable)) != 1 || (vpci_status(v) & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		fail("the device refused the queue");
		return -1;
	}
	return 0;
}

int vpci_queue_vector(struct vpci *v, uint16_t index, uint16_t vector)
{
	cc_write16(v, CC(queue_select), index);
	cc_write16(v, CC(queue_msix_vector), vector);
	return cc_read16(v, CC(queue_msix_vector)) == vector ? 0 : -1;
}

uint8_t vpci_driver_ok(struct vpci *v)
{
	set_status(v, VIRTIO_CONFIG_S_DRIVER_OK);
	return vpci_status(v);
}

/* ---- device configuration --------------------------------------------- */

uint8_t vpci_cfg_read8(const struct vpci *v, uint32_t off)
{
	return mmio_read8(v->device + off);
}

uint32_t vpci_cfg_read32(const struct vpci *v, uint32_t off)
{
	return mmio_read32(v->device + off);
}

uint64_t vpci_cfg_read64(const struct vpci *v, uint32_t off)
{
	uint8_t gen;
	uint64_t x;
	int tries = 0;

	/* A field wider than 32 bits can change between the two halves; the
	 * generation counter says whether it did (bounded: a device that
	 * changes it all the time gets the last reading). */
	do {
		gen = cc_read8(v, CC(config_generation));
		x = mmio_read32(v->device + off);
		x |= (uint64_t)mmio_read32(v->device + off + 4) << 32;
	} while (cc_read8(v, CC(config_generation)) != gen && ++tries < 100);
	return x;
}

/* ---- virtqueues -------------------------------------------------------- */

int virtq_post(struct virtq *q, const struct virtq_buf *bufs, unsigned int n)
{
	uint16_t head = q->free_head, d = head;

	if (n == 0 || n > q->num_free)
		return -1;
	for (unsigned int i = 0; i < n; i++) {
		uint16_t flags = bufs[i].writable ? VRING_DESC_F_WRITE : 0;

		if (i + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		q->desc[d].addr = (uint64_t)(uintptr_t)bufs[i].addr;
		q->desc[d].len = bufs[i].len;
		q->desc[d].flags = flags;
		d = q->desc[d].next; /* the free list runs through next */
	}
	q->free_head = d;
	q->num_free = (uint16_t)(q->num_free - n);
	q->heads |= 1ull << head;

	q->avail->ring[q->avail_idx % q->size] = head;
	/* The descriptors, the ring entry and the buffers they point at (the
	 * caller's plain stores included) must be visible before the new
	 * index: x86 keeps stores in order, the compiler must too. */
	barrier();
	q->avail_idx++;
	q->avail->idx = q->avail_idx;
	return head;
}

void virtq_notify(struct virtq *q)
{
	/* The device must see avail->idx once it sees the kick.  The kick is
	 * a store after the index store (in order on x86) and traps to the
	 * VMM, which serialises; the mfence is the spec's "barrier before
	 * notifying", kept explicit and cheap next to the exit.  (A driver
	 * checking used->flags / avail_event for notification suppression
	 * would need this full barrier between the index store and that
	 * load; we always notify.) */
	__asm__ volatile("mfence" : : : "memory");
	mmio_write16(q->notify_addr, q->index);
}

int virtq_poll(struct virtq *q, uint32_t *len, uint64_t spins)
{
	uint32_t id, l;
	uint16_t d;

	/* used->idx is written by the device on another thread: volatile, so
	 * each iteration loads it again. */
	for (uint64_t i = 0; q->used->idx == q->last_used; i++) {
		if (i == spins)
			return -1;
		__builtin_ia32_pause();
	}
	/* The element and the data the device wrote must not be read before
	 * the index that published them: loads stay in order on x86; keep
	 * the compiler from hoisting the caller's plain loads above this. */
	barrier();
	id = q->used->ring[q->last_used % q->size].id;
	l = q->used->ring[q->last_used % q->size].len;
	q->last_used++;
	if (id >= q->size || !(q->heads & (1ull << id)))
		return -2;
	q->heads &= ~(1ull << id);
	/* Give the chain back to the free list. */
	d = (uint16_t)id;
	q->num_free++;
	for (uint16_t n = 1; (q->desc[d].flags & VRING_DESC_F_NEXT) && n < q->size; n++) {
		d = q->desc[d].next;
		q->num_free++;
	}
	q->desc[d].next = q->free_head;
	q->free_head = (uint16_t)id;
	if (len)
		*len = l;
	return (int)id;
}
