/* Conventional PCI bus 0: type-1 configuration ports, configuration space
 * with write masks, capability lists, memory BAR placement and mapping,
 * shared INTx lines. */
#include "vmm/pci.h"

#include <errno.h>
#include <string.h>

#include <linux/pci_regs.h>

#include "boot/layout.h"

#define CFG_ADDR_ENABLE	  0x80000000u
#define CFG_ADDR_RESERVED 0x7f000000u /* bits 30:24 */
#define CFG_ADDR_BUS(a)	  (((a) >> 16) & 0xffu)
#define CFG_ADDR_SLOT(a)  (((a) >> 11) & 0x1fu)
#define CFG_ADDR_FUNC(a)  (((a) >> 8) & 0x7u)
#define CFG_ADDR_REG(a)	  ((a)&0xfcu)

#define BAR_FLAGS_MASK 0xfu /* low bits of a memory BAR register: type and prefetch */
#define BAR_MAX32      (2ULL << 30)

_Static_assert(PCI_INTX_GSI_COUNT == sizeof(((struct pci_bus *)0)->intx_count) /
					 sizeof(((struct pci_bus *)0)->intx_count[0]),
	       "one INTx counter per shared GSI");

static uint32_t get_le(const uint8_t *p, uint32_t len)
{
	uint32_t v = 0;

	for (uint32_t i = 0; i < len; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void put_le(uint8_t *p, uint32_t len, uint32_t v)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t cfg16(const struct pci_func *f, uint32_t off)
{
	return (uint16_t)get_le(&f->cfg[off], 2);
}

static uint32_t cfg32(const struct pci_func *f, uint32_t off)
{
	return get_le(&f->cfg[off], 4);
}

static void set_cfg16(struct pci_func *f, uint32_t off, uint16_t v)
{
	put_le(&f->cfg[off], 2, v);
}

static void set_cfg32(struct pci_func *f, uint32_t off, uint32_t v)
{
	put_le(&f->cfg[off], 4, v);
}

static void set_wmask16(struct pci_func *f, uint32_t off, uint16_t v)
{
	put_le(&f->wmask[off], 2, v);
}

static void set_wmask32(struct pci_func *f, uint32_t off, uint32_t v)
{
	put_le(&f->wmask[off], 4, v);
}

static uint32_t bar_reg(int bar)
{
	return PCI_BASE_ADDRESS_0 + 4u * (uint32_t)bar;
}

/* True when [off, off + len) overlaps [start, end). */
static bool touches(uint32_t off, uint32_t len, uint32_t start, uint32_t end)
{
	return off < end && off + len > start;
}

/* Valid configuration access: len 1, 2 or 4 inside one dword of the space. */
static bool access_ok(uint32_t off, uint32_t len)
{
	return (len == 1 || len == 2 || len == 4) && off < PCI_CFG_SIZE && (off & 3) + len <= 4;
}

/* INTA# as the function drives it onto its GSI: masked by INTX_DISABLE.
 * Reads the command register: hold pb->intx_lock (or have no bus). */
static bool intx_effective(const struct pci_func *f)
{
	return f->intx_level && !(cfg16(f, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
}

/* Account a change of f's effective level on its shared GSI and drive the
 * line when the aggregate changes.  Called with pb->intx_lock held. */
static void intx_account(struct pci_bus *pb, const struct pci_func *f, bool was, bool now)
{
	unsigned int idx = (unsigned int)f->slot % PCI_INTX_GSI_COUNT;
	unsigned int gsi = PCI_INTX_GSI(f->slot);
	int level = -1;

	if (was == now)
		return;
	if (now) {
		if (pb->intx_count[idx]++ == 0)
			level = 1;
	} else if (pb->intx_count[idx] > 0) {
		if (--pb->intx_count[idx] == 0)
			level = 0;
	}
	if (level >= 0 && pb->intx.set_level)
		pb->intx.set_level(pb->intx.opaque, gsi, level);
}

/* The sizing pattern: every address bit the register lets the guest write
 * is set.  A register with no writable address bits never matches. */
static bool all_ones(uint32_t reg, uint32_t wmask)
{
	uint32_t m = wmask & ~BAR_FLAGS_MASK;

	return m && (reg & m) == m;
}

/* Whether a BAR of this kind/size at addr would look like it is being
 * sized (low or, for 64-bit BARs, high dword all ones). */
static bool addr_is_sizing(enum pci_bar_kind kind, uint64_t size, uint64_t addr)
{
	uint64_t wm = ~(size - 1);

	if (all_ones((uint32_t)addr, (uint32_t)wm))
		return true;
	return kind == PCI_BAR_MEM64 && all_ones((uint32_t)(addr >> 32), (uint32_t)(wm >> 32));
}

uint64_t pci_bar_addr(const struct pci_func *f, int bar)
{
	uint64_t addr;

	if (bar < 0 || bar >= PCI_BARS || f->bars[bar].kind == PCI_BAR_NONE)
		return 0;
	addr = cfg32(f, bar_reg(bar)) & ~BAR_FLAGS_MASK;
	if (f->bars[bar].kind == PCI_BAR_MEM64)
		addr |= (uint64_t)cfg32(f, bar_reg(bar + 1)) << 32;
	return addr;
}

/* Whether BAR bar of f should be registered on the bus at addr. */
static bool bar_wanted(const struct pci_func *f, int bar, uint64_t addr)
{
	const struct pci_bar *b = &f->bars[bar];
	uint64_t end;

	if (b->kind == PCI_BAR_NONE || !(cfg16(f, PCI_COMMAND) & PCI_COMMAND_MEMORY))
		return false;
	if (addr == 0 || __builtin_add_overflow(addr, b->size, &end))
		return false;
	return !addr_is_sizing(b->kind, b->size, addr);
}

static void bar_unmap(struct pci_bus *pb, struct pci_func *f, int bar)
{
	struct pci_bar *b = &f->bars[bar];
	uint64_t old = b->mapped_at;

	bus_unregister(pb->mmio, old);
	b->mapped = false;
	b->mapped_at = 0;
	if (f->ops && f->ops->bar_moved)
		f->ops->bar_moved(f->opaque, bar, old, false);
}

/* Bring every BAR on the bus in line with its function's command register
 * and BAR registers: first unmap what moved or went away, then map what is
 * wanted and not mapped (so BARs may swap places, and a BAR that could not
 * be mapped because of an overlap gets mapped once the other range goes).
 * Called with pb->lock held. */
static void remap_bus(struct pci_bus *pb)
{
	for (int s = 0; s < PCI_SLOTS; s++) {
		struct pci_func *f = pb->slots[s];

		for (int i = 0; f && i < PCI_BARS; i++) {
			struct pci_bar *b = &f->bars[i];
			uint64_t addr = pci_bar_addr(f, i);

			if (b->mapped && (!bar_wanted(f, i, addr) || b->mapped_at != addr))
				bar_unmap(pb, f, i);
		}
	}
	for (int s = 0; s < PCI_SLOTS; s++) {
		struct pci_func *f = pb->slots[s];

		for (int i = 0; f && i < PCI_BARS; i++) {
			struct pci_bar *b = &f->bars[i];
			uint64_t addr = pci_bar_addr(f, i);

			if (b->mapped || !bar_wanted(f, i, addr))
				continue;
			if (bus_register(pb->mmio, addr, b->size, b->ops, b->opaque) != 0)
				continue; /* overlap: the guest's mistake, stay unmapped */
			b->mapped = true;
			b->mapped_at = addr;
			if (f->ops && f->ops->bar_moved)
				f->ops->bar_moved(f->opaque, i, addr, true);
		}
	}
}

void pci_func_init(struct pci_func *f, uint16_t vendor, uint16_t device, uint32_t class_code,
		   uint8_t revision, uint16_t subsys_vendor, uint16_t subsys_id,
		   const struct pci_func_ops *ops, void *opaque)
{
	memset(f, 0, sizeof(*f));
	set_cfg16(f, PCI_VENDOR_ID, vendor);
	set_cfg16(f, PCI_DEVICE_ID, device);
	f->cfg[PCI_REVISION_ID] = revision;
	f->cfg[PCI_CLASS_PROG] = (uint8_t)class_code;
	set_cfg16(f, PCI_CLASS_DEVICE, (uint16_t)(class_code >> 8));
	f->cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	set_cfg16(f, PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	set_cfg16(f, PCI_SUBSYSTEM_ID, subsys_id);
	f->cfg[PCI_INTERRUPT_PIN] = 1; /* INTA# */
	set_wmask16(f, PCI_COMMAND,
		    PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			PCI_COMMAND_INTX_DISABLE);
	f->wmask[PCI_INTERRUPT_LINE] = 0xff;
	f->cap_end = PCI_CAP_START;
	f->ops = ops;
	f->opaque = opaque;
	f->slot = -1;
}

int pci_func_add_bar(struct pci_func *f, int bar, enum pci_bar_kind kind, bool prefetch,
		     uint64_t size, const struct bus_ops *ops, void *opaque)
{
	int regs = kind == PCI_BAR_MEM64 ? 2 : 1;
	uint32_t flags = PCI_BASE_ADDRESS_SPACE_MEMORY;
	uint64_t wm = ~(size - 1);

	if (kind != PCI_BAR_MEM32 && kind != PCI_BAR_MEM64)
		return -EINVAL;
	if (bar < 0 || bar + regs > PCI_BARS)
		return -EINVAL;
	if (size < 4096 || (size & (size - 1)) || (kind == PCI_BAR_MEM32 && size > BAR_MAX32))
		return -EINVAL;
	if (!ops || !ops->read || !ops->write)
		return -EINVAL;
	if (f->bus)
		return -EBUSY;
	for (int i = bar; i < bar + regs; i++)
		if (f->bars[i].kind != PCI_BAR_NONE)
			return -EBUSY;
	if (bar > 0 && f->bars[bar - 1].kind == PCI_BAR_MEM64)
		return -EBUSY; /* upper half of the previous BAR */

	if (kind == PCI_BAR_MEM64)
		flags |= PCI_BASE_ADDRESS_MEM_TYPE_64;
	if (prefetch)
		flags |= PCI_BASE_ADDRESS_MEM_PREFETCH;
	f->bars[bar] = (struct pci_bar){
	    .kind = kind, .prefetch = prefetch, .size = size, .ops = ops, .opaque = opaque};
	set_cfg32(f, bar_reg(bar), flags);
	set_wmask32(f, bar_reg(bar), (uint32_t)wm & ~BAR_FLAGS_MASK);
	if (kind == PCI_BAR_MEM64) {
		set_cfg32(f, bar_reg(bar + 1), 0);
		set_wmask32(f, bar_reg(bar + 1), (uint32_t)(wm >> 32));
	}
	return 0;
}

int pci_func_add_cap(struct pci_func *f, uint8_t id, const void *body, uint8_t len,
		     const uint8_t *wmask)
{
	/* cap_end == 0 means the last capability ended at PCI_CFG_SIZE */
	uint32_t start = f->cap_end ? ((uint32_t)f->cap_end + 3) & ~3u : PCI_CFG_SIZE;
	uint32_t end = start + 2 + len;

	if (start < PCI_CAP_START || end > PCI_CFG_SIZE)
		return -ENOSPC;
	f->cfg[start] = id;
	f->cfg[start + 1] = 0;
	f->wmask[start] = 0;
	f->wmask[start + 1] = 0;
	if (body)
		memcpy(&f->cfg[start + 2], body, len);
	else
		memset(&f->cfg[start + 2], 0, len);
	if (wmask)
		memcpy(&f->wmask[start + 2], wmask, len);
	else
		memset(&f->wmask[start + 2], 0, len);
	if (f->last_cap)
		f->cfg[f->last_cap + 1] = (uint8_t)start;
	else
		f->cfg[PCI_CAPABILITY_LIST] = (uint8_t)start;
	set_cfg16(f, PCI_STATUS, cfg16(f, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	f->last_cap = (uint8_t)start;
	f->cap_end = (uint8_t)end; /* 0 when end == PCI_CFG_SIZE */
	return (int)start;
}

int pci_bus_init(struct pci_bus *pb, struct bus *mmio, uint64_t mmio32_base, uint64_t mmio32_end,
		 uint64_t mmio64_base, uint64_t mmio64_end, const struct irq_line *intx)
{
	struct pci_func *hb = &pb->host_bridge;
	int ret;

	memset(pb, 0, sizeof(*pb));
	ret = pthread_mutex_init(&pb->lock, NULL);
	if (ret)
		return -ret;
	ret = pthread_mutex_init(&pb->intx_lock, NULL);
	if (ret) {
		pthread_mutex_destroy(&pb->lock);
		return -ret;
	}
	pb->mmio = mmio;
	pb->mmio32_next = mmio32_base;
	pb->mmio32_end = mmio32_end;
	pb->mmio64_next = mmio64_base;
	pb->mmio64_end = mmio64_end;
	if (intx)
		pb->intx = *intx;

	pci_func_init(hb, PCI_HOST_VENDOR, PCI_HOST_DEVICE, PCI_CLASS_HOST, 0, 0, 0, NULL, NULL);
	hb->cfg[PCI_INTERRUPT_PIN] = 0; /* a host bridge raises no INTx */
	hb->bus = pb;
	hb->slot = 0;
	pb->slots[0] = hb;
	return 0;
}

void pci_bus_destroy(struct pci_bus *pb)
{
	pthread_mutex_lock(&pb->lock);
	for (int s = 0; s < PCI_SLOTS; s++) {
		struct pci_func *f = pb->slots[s];

		for (int i = 0; f && i < PCI_BARS; i++)
			if (f->bars[i].mapped)
				bar_unmap(pb, f, i);
	}
	pthread_mutex_unlock(&pb->lock);
	pthread_mutex_destroy(&pb->intx_lock);
	pthread_mutex_destroy(&pb->lock);
}

/* Next naturally aligned place for size bytes at or above *next in a
 * window ending at end (and at limit, the highest end the BAR type can
 * address).  Skips an address the mapping logic would take for a sizing
 * pattern.  Returns 0 and advances *next, or -ENOSPC. */
static int place(uint64_t *next, uint64_t end, uint64_t limit, enum pci_bar_kind kind,
		 uint64_t size, uint64_t *addr)
{
	uint64_t a, last;

	if (__builtin_add_overflow(*next, size - 1, &a))
		return -ENOSPC;
	a &= ~(size - 1);
	if (a == 0 || addr_is_sizing(kind, size, a)) {
		if (__builtin_add_overflow(a, size, &a) || addr_is_sizing(kind, size, a))
			return -ENOSPC;
	}
	if (__builtin_add_overflow(a, size - 1, &last) || last >= end || last > limit - 1)
		return -ENOSPC;
	*addr = a;
	*next = last + 1;
	return 0;
}

int pci_bus_add(struct pci_bus *pb, struct pci_func *f)
{
	uint64_t next32 = pb->mmio32_next, next64 = pb->mmio64_next;
	uint64_t addrs[PCI_BARS] = {0};
	int slot = -1, ret = 0;

	if (f->bus || f == &pb->host_bridge)
		return -EEXIST;
	pthread_mutex_lock(&pb->lock);
	for (int s = 1; s < PCI_SLOTS && slot < 0; s++)
		if (!pb->slots[s])
			slot = s;
	if (slot < 0) {
		ret = -ENOSPC;
		goto out;
	}
	/* Place on copies of the cursors: nothing changes unless all fit. */
	for (int i = 0; i < PCI_BARS && !ret; i++) {
		const struct pci_bar *b = &f->bars[i];

		if (b->kind == PCI_BAR_MEM32)
			ret =
			    place(&next32, pb->mmio32_end, 1ULL << 32, b->kind, b->size, &addrs[i]);
		else if (b->kind == PCI_BAR_MEM64)
			ret =
			    place(&next64, pb->mmio64_end, UINT64_MAX, b->kind, b->size, &addrs[i]);
	}
	if (ret)
		goto out;

	pb->mmio32_next = next32;
	pb->mmio64_next = next64;
	for (int i = 0; i < PCI_BARS; i++) {
		const struct pci_bar *b = &f->bars[i];
		uint32_t reg = bar_reg(i);

		if (b->kind == PCI_BAR_NONE)
			continue;
		set_cfg32(f, reg, (cfg32(f, reg) & BAR_FLAGS_MASK) | (uint32_t)addrs[i]);
		if (b->kind == PCI_BAR_MEM64)
			set_cfg32(f, reg + 4, (uint32_t)(addrs[i] >> 32));
	}
	f->cfg[PCI_INTERRUPT_LINE] = (uint8_t)PCI_INTX_GSI(slot);
	f->bus = pb;
	f->slot = slot;
	pb->slots[slot] = f;

	pthread_mutex_lock(&pb->intx_lock);
	intx_account(pb, f, false, intx_effective(f));
	pthread_mutex_unlock(&pb->intx_lock);

	remap_bus(pb);
	ret = slot;
out:
	pthread_mutex_unlock(&pb->lock);
	return ret;
}

uint32_t pci_cfg_read(struct pci_func *f, uint32_t off, uint32_t len)
{
	uint32_t v;

	if (!access_ok(off, len))
		return 0xffffffffu;
	v = get_le(&f->cfg[off], len);
	if (touches(off, len, PCI_STATUS, PCI_STATUS + 1)) {
		int level;

		if (f->bus) {
			pthread_mutex_lock(&f->bus->intx_lock);
			level = f->intx_level;
			pthread_mutex_unlock(&f->bus->intx_lock);
		} else {
			level = f->intx_level;
		}
		if (level)
			v |= (uint32_t)PCI_STATUS_INTERRUPT << (8 * (PCI_STATUS - off));
	}
	return v;
}

/* Apply a write through the write mask. */
static void apply_write(struct pci_func *f, uint32_t off, uint32_t len, uint32_t value)
{
	for (uint32_t i = 0; i < len; i++) {
		uint8_t m = f->wmask[off + i];
		uint8_t b = (uint8_t)(value >> (8 * i));

		f->cfg[off + i] = (uint8_t)((f->cfg[off + i] & ~m) | (b & m));
	}
}

void pci_cfg_write(struct pci_func *f, uint32_t off, uint32_t len, uint32_t value)
{
	struct pci_bus *pb = f->bus;
	bool cmd = touches(off, len, PCI_COMMAND, PCI_COMMAND + 2);
	bool bars = touches(off, len, PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_5 + 4);

	if (!access_ok(off, len))
		return;
	if (cmd && pb) {
		/* INTX_DISABLE may change the function's contribution to its GSI;
		 * IO threads read the command register under intx_lock. */
		bool was;

		pthread_mutex_lock(&pb->intx_lock);
		was = intx_effective(f);
		apply_write(f, off, len, value);
		intx_account(pb, f, was, intx_effective(f));
		pthread_mutex_unlock(&pb->intx_lock);
	} else {
		apply_write(f, off, len, value);
	}
	if ((cmd || bars) && pb)
		remap_bus(pb);
	if (f->ops && f->ops->cfg_written)
		f->ops->cfg_written(f->opaque, off, len);
}

void pci_intx_set(struct pci_func *f, int level)
{
	struct pci_bus *pb = f->bus;
	bool was;

	if (!pb) {
		f->intx_level = level ? 1 : 0;
		return;
	}
	pthread_mutex_lock(&pb->intx_lock);
	was = intx_effective(f);
	f->intx_level = level ? 1 : 0;
	intx_account(pb, f, was, intx_effective(f));
	pthread_mutex_unlock(&pb->intx_lock);
}

/* The function the latched address selects, or NULL (bus != 0, function
 * != 0, reserved bits, disabled, or empty slot). */
static struct pci_func *selected(const struct pci_bus *pb, uint32_t addr)
{
	if (!(addr & CFG_ADDR_ENABLE) || (addr & CFG_ADDR_RESERVED))
		return NULL;
	if (CFG_ADDR_BUS(addr) != 0 || CFG_ADDR_FUNC(addr) != 0)
		return NULL;
	return pb->slots[CFG_ADDR_SLOT(addr)];
}

static void addr_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct pci_bus *pb = opaque;

	if (off != 0 || len != 4) {
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&pb->lock);
	put_le(data, 4, pb->config_addr);
	pthread_mutex_unlock(&pb->lock);
}

static void addr_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct pci_bus *pb = opaque;

	if (off != 0 || len != 4)
		return; /* byte/word accesses do not touch the latch */
	pthread_mutex_lock(&pb->lock);
	pb->config_addr = get_le(data, 4);
	pthread_mutex_unlock(&pb->lock);
}

static void data_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct pci_bus *pb = opaque;
	uint32_t v = 0xffffffffu;
	struct pci_func *f;

	if (len > 4) {
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&pb->lock);
	f = selected(pb, pb->config_addr);
	if (f && off < 4)
		v = pci_cfg_read(f, CFG_ADDR_REG(pb->config_addr) + (uint32_t)off, len);
	pthread_mutex_unlock(&pb->lock);
	put_le(data, len, v);
}

static void data_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct pci_bus *pb = opaque;
	struct pci_func *f;

	if (len > 4 || off >= 4)
		return;
	pthread_mutex_lock(&pb->lock);
	f = selected(pb, pb->config_addr);
	if (f)
		pci_cfg_write(f, CFG_ADDR_REG(pb->config_addr) + (uint32_t)off, len,
			      get_le(data, len));
	pthread_mutex_unlock(&pb->lock);
}

const struct bus_ops pci_config_addr_ops = {
    .name = "pci-cfg-addr",
    .read = addr_read,
    .write = addr_write,
};

const struct bus_ops pci_config_data_ops = {
    .name = "pci-cfg-data",
    .read = data_read,
    .write = data_write,
};
