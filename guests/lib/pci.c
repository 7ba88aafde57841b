/* PCI type-1 configuration access, bus 0 (see pci.h). */
#include "pci.h"

#include <linux/pci_regs.h>

#include "guest.h"

#define PCI_CFG_ADDR	 0xcf8
#define PCI_CFG_DATA	 0xcfc
#define PCI_CFG_ENABLE	 0x80000000u
#define PCI_CAPS_MAX	 48 /* (256 - 64) / 4: more than this is a loop */
#define PCI_BAR_IO	 0x1u
#define PCI_BAR_TYPE_64	 0x4u
#define PCI_BAR_TYPE_MSK 0x6u
#define PCI_BAR_FLAGS	 0xfu

/* Latch the dword holding off; the data port then gives that dword, its
 * bytes at 0xCFC + (off & 3). */
static void latch(const struct pci_dev *d, uint8_t off)
{
	outl(PCI_CFG_ADDR,
	     PCI_CFG_ENABLE | (uint32_t)d->slot << 11 | (uint32_t)d->func << 8 | (off & 0xfcu));
}

uint8_t pci_read8(const struct pci_dev *d, uint8_t off)
{
	latch(d, off);
	return inb((uint16_t)(PCI_CFG_DATA + (off & 3)));
}

uint16_t pci_read16(const struct pci_dev *d, uint8_t off)
{
	off &= 0xfe;
	latch(d, off);
	return inw((uint16_t)(PCI_CFG_DATA + (off & 2)));
}

uint32_t pci_read32(const struct pci_dev *d, uint8_t off)
{
	latch(d, off);
	return inl(PCI_CFG_DATA);
}

void pci_write8(const struct pci_dev *d, uint8_t off, uint8_t v)
{
	latch(d, off);
	outb((uint16_t)(PCI_CFG_DATA + (off & 3)), v);
}

void pci_write16(const struct pci_dev *d, uint8_t off, uint16_t v)
{
	off &= 0xfe;
	latch(d, off);
	outw((uint16_t)(PCI_CFG_DATA + (off & 2)), v);
}

void pci_write32(const struct pci_dev *d, uint8_t off, uint32_t v)
{
	latch(d, off);
	outl(PCI_CFG_DATA, v);
}

bool pci_find(uint16_t vendor, uint16_t device, struct pci_dev *out)
{
	for (uint8_t s = 0; s < PCI_SLOTS_MAX; s++) {
		struct pci_dev d = {.slot = s, .func = 0};
		uint8_t nfunc = 1;

		if (pci_read16(&d, PCI_VENDOR_ID) == 0xffff)
			continue;
		if (pci_read8(&d, PCI_HEADER_TYPE) & 0x80)
			nfunc = PCI_FUNCS_MAX;
		for (d.func = 0; d.func < nfunc; d.func++) {
			if (pci_read16(&d, PCI_VENDOR_ID) == vendor &&
			    pci_read16(&d, PCI_DEVICE_ID) == device) {
				*out = d;
				return true;
			}
		}
	}
	return false;
}

uint8_t pci_cap_next(const struct pci_dev *d, uint8_t off)
{
	uint8_t next;

	if (off == 0) {
		if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
			return 0;
		next = pci_read8(d, PCI_CAPABILITY_LIST);
	} else {
		next = pci_read8(d, (uint8_t)(off + PCI_CAP_LIST_NEXT));
	}
	next &= 0xfc; /* the low two bits are reserved */
	return next >= 0x40 ? next : 0;
}

uint8_t pci_cap_find(const struct pci_dev *d, uint8_t id, uint8_t after)
{
	uint8_t off = pci_cap_next(d, after);

	/* bounded: a list that loops ends after PCI_CAPS_MAX entries */
	for (int n = 0; off && n < PCI_CAPS_MAX; n++, off = pci_cap_next(d, off))
		if (pci_read8(d, (uint8_t)(off + PCI_CAP_LIST_ID)) == id)
			return off;
	return 0;
}

static uint8_t bar_reg(int bar)
{
	return (uint8_t)(PCI_BASE_ADDRESS_0 + 4 * bar);
}

/* Whether BAR bar is a memory BAR, and whether 64-bit (and its high
 * register exists). */
static bool mem_bar(const struct pci_dev *d, int bar, bool *is64)
{
	uint32_t lo;

	if (bar < 0 || bar > 5)
		return false;
	lo = pci_read32(d, bar_reg(bar));
	if (lo & PCI_BAR_IO)
		return false;
	*is64 = (lo & PCI_BAR_TYPE_MSK) == PCI_BAR_TYPE_64;
	return !*is64 || bar < 5;
}

uint64_t pci_bar_addr(const struct pci_dev *d, int bar, bool *is64)
{
	uint64_t a;
	bool w;

	if (!mem_bar(d, bar, &w))
		return 0;
	if (is64)
		*is64 = w;
	a = pci_read32(d, bar_reg(bar)) & ~(uint64_t)PCI_BAR_FLAGS;
	if (w)
		a |= (uint64_t)pci_read32(d, bar_reg(bar + 1)) << 32;
	return a;
}

uint64_t pci_bar_size(const struct pci_dev *d, int bar)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND);
	uint32_t lo, hi = 0, mlo, mhi = 0xffffffffu;
	uint64_t mask;
	bool w;

	if (!mem_bar(d, bar, &w))
		return 0;
	/* Decoding off while the BAR holds the sizing pattern, so it never
	 * claims addresses it was not given. */
	pci_write16(d, PCI_COMMAND, (uint16_t)(cmd & ~PCI_COMMAND_MEMORY));
	lo = pci_read32(d, bar_reg(bar));
	pci_write32(d, bar_reg(bar), 0xffffffffu);
	mlo = pci_read32(d, bar_reg(bar));
	pci_write32(d, bar_reg(bar), lo);
	if (w) {
		hi = pci_read32(d, bar_reg(bar + 1));
		pci_write32(d, bar_reg(bar + 1), 0xffffffffu);
		mhi = pci_read32(d, bar_reg(bar + 1));
		pci_write32(d, bar_reg(bar + 1), hi);
	}
	pci_write16(d, PCI_COMMAND, cmd);
	mask = ((uint64_t)mhi << 32) | (mlo & ~PCI_BAR_FLAGS);
	if ((mlo & ~PCI_BAR_FLAGS) == 0 && !w)
		return 0; /* no address bits: not implemented */
	return ~mask + 1;
}

int pci_bar_set(const struct pci_dev *d, int bar, uint64_t addr)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND);
	uint32_t flags;
	bool w;

	if (!mem_bar(d, bar, &w) || (!w && addr > 0xffffffffu))
		return -1;
	flags = pci_read32(d, bar_reg(bar)) & PCI_BAR_FLAGS;
	/* Decoding off between the two halves: a 64-bit BAR must not decode
	 * at the half-updated address. */
	pci_write16(d, PCI_COMMAND, (uint16_t)(cmd & ~PCI_COMMAND_MEMORY));
	pci_write32(d, bar_reg(bar), (uint32_t)addr | flags);
	if (w)
		pci_write32(d, bar_reg(bar + 1), (uint32_t)(addr >> 32));
	pci_write16(d, PCI_COMMAND, cmd);
	return 0;
}
