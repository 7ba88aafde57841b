/* PCI configuration access for freestanding test guests: type-1 mechanism
 * (address latch at port 0xCF8, data at 0xCFC), bus 0 only, no interrupts. */
#ifndef KVMLAB_GUESTS_PCI_H
#define KVMLAB_GUESTS_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_SLOTS_MAX 32
#define PCI_FUNCS_MAX 8

/* One function on bus 0. */
struct pci_dev {
	uint8_t slot;
	uint8_t func;
};

/* Read or write the configuration register at off (0-255) of d.  The
 * access has the given width and must be naturally aligned (off is masked
 * to it).  Reads of an absent function return all ones. */
uint8_t pci_read8(const struct pci_dev *d, uint8_t off);
uint16_t pci_read16(const struct pci_dev *d, uint8_t off);
uint32_t pci_read32(const struct pci_dev *d, uint8_t off);
void pci_write8(const struct pci_dev *d, uint8_t off, uint8_t v);
void pci_write16(const struct pci_dev *d, uint8_t off, uint16_t v);
void pci_write32(const struct pci_dev *d, uint8_t off, uint32_t v);

/* Find the first function on bus 0 with this vendor and device id (slots
 * in order; functions 1-7 only of multi-function devices).  Returns true
 * and fills *out, or false if there is none. */
bool pci_find(uint16_t vendor, uint16_t device, struct pci_dev *out);

/* Capability list.  pci_cap_next(d, 0) gives the first capability's
 * offset, pci_cap_next(d, off) the one after the capability at off; 0 ends
 * the list (also when the function has no list, or the list is longer than
 * a 256-byte space can hold, i.e. loops). */
uint8_t pci_cap_next(const struct pci_dev *d, uint8_t off);

/* The next capability with this id after offset after (0: from the start),
 * or 0 if none. */
uint8_t pci_cap_find(const struct pci_dev *d, uint8_t id, uint8_t after);

/* Memory BARs.  pci_bar_addr: the address BAR bar decodes (both registers
 * of a 64-bit BAR), and whether it is 64-bit in *is64 (may be NULL); 0 for
 * an I/O or absent BAR.  pci_bar_size: the BAR's size found by sizing
 * (write all ones, read back), with memory decoding turned off meanwhile
 * and the registers and command restored; 0 for an I/O or absent BAR.
 * pci_bar_set: move the BAR to addr (naturally aligned to its size; the
 * high register only for a 64-bit BAR) with memory decoding off during the
 * two writes, then the command register restored.  Returns 0, or -1 if
 * the BAR is not a memory BAR or addr does not fit a 32-bit BAR. */
uint64_t pci_bar_addr(const struct pci_dev *d, int bar, bool *is64);
uint64_t pci_bar_size(const struct pci_dev *d, int bar);
int pci_bar_set(const struct pci_dev *d, int bar, uint64_t addr);

#endif
