/* Conventional PCI on bus 0: a host bridge at 00:00.0, type-1
 * configuration access through ports 0xCF8/0xCFC, functions with 256-byte
 * configuration spaces, capability lists, memory BARs placed in the
 * platform's 32- and 64-bit windows, and INTA# lines shared by level.
 *
 * Pure apart from the MMIO bus it maps BARs on and an irq_line callback:
 * unit tests drive it through pci_cfg_read/pci_cfg_write or the two port
 * handlers, without KVM.
 *
 * BARs follow the guest: while the function's command register has
 * MEMORY decoding on and a BAR holds a usable address, the BAR's range is
 * registered on the MMIO bus at that address; when the guest turns
 * decoding off or writes the BAR, the range is unregistered (and
 * re-registered at the new place), and the function's bar_moved hook is
 * told.  An address that would overlap another range or wrap is simply
 * not mapped (the guest's mistake; nothing breaks).
 *
 * Locking: configuration accesses come from any vCPU thread and are
 * serialised by pb->lock (hooks run with it held); INTx levels come from
 * IO threads and take pb->intx_lock. */
#ifndef KVMLAB_VMM_PCI_H
#define KVMLAB_VMM_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"

#define PCI_SLOTS     32
#define PCI_CFG_SIZE  256
#define PCI_BARS      6
#define PCI_CAP_START 0x40 /* first capability goes here */

/* Host bridge identity (vendor, device) and class. */
#define PCI_HOST_VENDOR 0x8086
#define PCI_HOST_DEVICE 0x0d57
#define PCI_CLASS_HOST	0x060000

enum pci_bar_kind {
	PCI_BAR_NONE = 0,
	PCI_BAR_MEM32, /* one BAR register, placed in the 32-bit window */
	PCI_BAR_MEM64, /* two BAR registers (bar, bar + 1), placed in the 64-bit window */
};

struct pci_bar {
	enum pci_bar_kind kind;
	bool prefetch;
	uint64_t size; /* a power of two, >= 4096; 0 when unused */
	const struct bus_ops *ops;
	void *opaque;
	bool mapped;	    /* registered on the MMIO bus ... */
	uint64_t mapped_at; /* ... at this address */
};

/* Optional hooks of a function; called with pb->lock held, on the vCPU
 * thread that made the configuration access. */
struct pci_func_ops {
	/* BAR bar was registered at addr (mapped) or unregistered from addr. */
	void (*bar_moved)(void *opaque, int bar, uint64_t addr, bool mapped);
	/* len bytes at off were written (already applied through the write
	 * mask); for capabilities with side effects such as MSI-X control. */
	void (*cfg_written)(void *opaque, uint32_t off, uint32_t len);
};

struct pci_bus;

struct pci_func {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE]; /* bits the guest may change */
	struct pci_bar bars[PCI_BARS];
	uint8_t cap_end;  /* where the next capability goes */
	uint8_t last_cap; /* offset of the last capability, 0 if none */
	const struct pci_func_ops *ops;
	void *opaque;
	struct pci_bus *bus; /* set by pci_bus_add */
	int slot;	     /* -1 until pci_bus_add */
	int intx_level;	     /* this function's INTA# (0 or 1) */
};

struct pci_bus {
	pthread_mutex_t lock;	   /* configuration space and BAR mapping */
	pthread_mutex_t intx_lock; /* INTx levels */
	uint32_t config_addr;	   /* the 0xCF8 latch */
	struct pci_func *slots[PCI_SLOTS];
	struct pci_func host_bridge; /* slot 0 */
	struct bus *mmio;
	uint64_t mmio32_next, mmio32_end; /* allocation cursors, end exclusive */
	uint64_t mmio64_next, mmio64_end;
	struct irq_line intx;	    /* set_level(opaque, PCI_INTX_GSI(slot), level); gsi unused */
	unsigned int intx_count[8]; /* functions asserting each INTx GSI */
};

/* Set up an empty bus 0 with the host bridge at slot 0.  BARs go on mmio,
 * 32-bit ones in [mmio32_base, mmio32_end), 64-bit ones in
 * [mmio64_base, mmio64_end).  intx (copied; may be NULL) receives the
 * aggregated level of each shared INTx GSI.  Returns 0 or a negative errno
 * (pthread). */
int pci_bus_init(struct pci_bus *pb, struct bus *mmio, uint64_t mmio32_base, uint64_t mmio32_end,
		 uint64_t mmio64_base, uint64_t mmio64_end, const struct irq_line *intx);

/* Unmap every mapped BAR and destroy the locks. */
void pci_bus_destroy(struct pci_bus *pb);

/* A fresh type-0 function: ids, class (24-bit class/subclass/prog-if),
 * revision, subsystem ids, INTA# as its interrupt pin, command register 0
 * with IO/MEMORY/BUS_MASTER/INTX_DISABLE writable, interrupt line writable.
 * ops (may be NULL) and opaque are kept for the hooks.  Never fails. */
void pci_func_init(struct pci_func *f, uint16_t vendor, uint16_t device, uint32_t class_code,
		   uint8_t revision, uint16_t subsys_vendor, uint16_t subsys_id,
		   const struct pci_func_ops *ops, void *opaque);

/* Declare BAR bar (0..5; a 64-bit BAR also takes bar + 1) of size bytes
 * served by ops/opaque.  Call before pci_bus_add.  Returns 0, -EINVAL for
 * a bad index, kind or size (not a power of two, < 4096, or > 2 GiB for
 * 32-bit) or ops without both callbacks, -EBUSY if the register(s) are
 * taken or f is already on a bus. */
int pci_func_add_bar(struct pci_func *f, int bar, enum pci_bar_kind kind, bool prefetch,
		     uint64_t size, const struct bus_ops *ops, void *opaque);

/* Append a capability: id, then the link byte (filled in), then len bytes
 * of body.  wmask (may be NULL: read-only) gives the guest-writable bits of
 * the body byte by byte.  The capability starts 4-byte aligned.  Returns
 * its offset in configuration space (>= PCI_CAP_START), or -ENOSPC. */
int pci_func_add_cap(struct pci_func *f, uint8_t id, const void *body, uint8_t len,
		     const uint8_t *wmask);

/* Put f in the lowest free slot (1..31), place its BARs in the windows
 * (naturally aligned) and set its interrupt line register to
 * PCI_INTX_GSI(slot).  Returns the slot, -ENOSPC when no slot or window
 * room is left (nothing changes then), -EEXIST if f is already on a bus. */
int pci_bus_add(struct pci_bus *pb, struct pci_func *f);

/* Configuration access to f at off (< PCI_CFG_SIZE) of len 1, 2 or 4
 * bytes, not crossing a dword.  Reads of anything else return all ones,
 * writes of anything else are ignored.  Writes go through the write mask
 * and then remap BARs / call the hooks as needed.  Callers other than the
 * port handlers must hold f->bus->lock (or have no bus yet). */
uint32_t pci_cfg_read(struct pci_func *f, uint32_t off, uint32_t len);
void pci_cfg_write(struct pci_func *f, uint32_t off, uint32_t len, uint32_t value);

/* Address BAR bar currently holds (64-bit BARs: both halves), flags
 * stripped. */
uint64_t pci_bar_addr(const struct pci_func *f, int bar);

/* Drive f's INTA#.  The shared GSI is asserted while any function on it
 * asserts; the command register's INTX_DISABLE masks the function.  Safe
 * from any thread. */
void pci_intx_set(struct pci_func *f, int level);

/* Port handlers: register pci_config_addr_ops at PCI_CONFIG_ADDR_PORT
 * (length 4) and pci_config_data_ops at PCI_CONFIG_DATA_PORT (length 4),
 * both with the struct pci_bus as opaque. */
extern const struct bus_ops pci_config_addr_ops;
extern const struct bus_ops pci_config_data_ops;

#endif
