/* Fixed low-memory layout used when booting an x86 guest.  Everything below
 * BOOT_HIGH_START belongs to the VMM's boot structures; kernels are loaded at
 * or above it.  The e820 map handed to Linux reserves [BOOT_LOW_RAM_END,
 * BOOT_HIGH_START) and reports the rest of the low MiB as RAM (the guest may
 * reuse it once it has consumed the structures below). */
#ifndef KVMLAB_BOOT_LAYOUT_H
#define KVMLAB_BOOT_LAYOUT_H

#include <assert.h>

/* GDT: null, (unused), __BOOT_CS 0x10, __BOOT_DS 0x18, 16-byte TSS 0x20. */
#define BOOT_GDT_GPA   0x500ULL
#define BOOT_GDT_BYTES 48ULL

/* Linux zero page (struct boot_params, 4 KiB); rsi points here. */
#define BOOT_ZERO_PAGE_GPA 0x7000ULL
#define BOOT_ZERO_PAGE_LEN 0x1000ULL

/* Identity page tables: PML4, PDPT, then one page directory per GiB. */
#define BOOT_PT_GPA   0x9000ULL
#define BOOT_PML4_GPA 0x9000ULL
#define BOOT_PDPT_GPA 0xA000ULL
#define BOOT_PD_GPA   0xB000ULL
#define BOOT_PT_END   0x20000ULL /* page directories must end here */
/* Most GiB the page-table area can identity-map (21 GiB); at least 4. */
#define BOOT_PT_MAX_MAP (((BOOT_PT_END - BOOT_PD_GPA) / 0x1000ULL) << 30)

/* Kernel command line, NUL-terminated. */
#define BOOT_CMDLINE_GPA 0x20000ULL
#define BOOT_CMDLINE_MAX 4096ULL /* bytes including the NUL */

/* Stack for ELF guests: grows down from BOOT_STACK_TOP, at least
 * BOOT_STACK_MIN bytes free below it. */
#define BOOT_STACK_TOP 0x80000ULL
#define BOOT_STACK_MIN 0x4000ULL

/* Top KiB of conventional memory (the "EBDA"): the MP floating pointer
 * lives at its start and the MP configuration table follows it.  Tables
 * for more than ~40 CPUs run past 0xA0000 into the reserved legacy hole,
 * which is still inside the e820-reserved range below. */
#define BOOT_MPTABLE_GPA 0x9FC00ULL
#define BOOT_EBDA_END	 0xA0000ULL

/* Bytes set aside for the MP table from BOOT_MPTABLE_GPA: 255 CPUs need
 * 5312 (boot/loader.c checks this against boot/mptable.h). */
#define BOOT_MPTABLE_MAX 0x2000ULL

/* ACPI tables, RSDP first (16-byte aligned), in the BIOS area
 * [0xE0000, 0x100000) that Linux scans for the RSDP when the zero page does
 * not give its address; e820-reserved.  At most ACPI_TABLES_MAX bytes
 * (boot/loader.c checks boot/acpi.h's bound against it). */
#define ACPI_TABLES_GPA 0xE0000ULL
#define ACPI_TABLES_MAX 0x10000ULL

/* Hardware-reduced ACPI sleep control / status registers (FADT), one byte
 * each, at I/O ports no PC device uses; boot/acpi.h says what the guest
 * writes there. */
#define ACPI_SLEEP_CTL_PORT 0x600
#define ACPI_SLEEP_STS_PORT 0x601

/* The x86 reset vector (real mode F000:FFF0).  Linux reboots through it
 * (its "BIOS" method, chosen for hardware-reduced ACPI without EFI); the
 * loader puts a stub there that resets through the i8042 (boot/loader.c). */
#define BOOT_RESET_VECTOR_GPA 0xFFFF0ULL

/* e820: RAM is [0, BOOT_LOW_RAM_END), reserved is [BOOT_LOW_RAM_END,
 * BOOT_HIGH_START), RAM again from BOOT_HIGH_START. */
#define BOOT_LOW_RAM_END 0x9FC00ULL
#define BOOT_HIGH_START	 0x100000ULL

/* Guest RAM must at least cover [0, BOOT_MIN_RAM) for the structures above;
 * the loaders additionally require the kernel's own range. */
#define BOOT_MIN_RAM BOOT_HIGH_START

/* PCI: the host bridge decodes type-1 configuration accesses at ports
 * 0xCF8 (address) and 0xCFC..0xCFF (data).  Memory BARs are placed in a
 * 32-bit window in the hole below the I/O APIC and in a 64-bit window that
 * starts at the first GiB boundary at or above max(4 GiB, end of RAM).  The
 * ACPI DSDT describes both windows (_CRS) and routes INTA# of device slot S
 * to GSI PCI_INTX_GSI(S) (_PRT), I/O APIC pins 16..23, level-triggered. */
#define PCI_CONFIG_ADDR_PORT 0xCF8
#define PCI_CONFIG_DATA_PORT 0xCFC
#define PCI_MMIO32_BASE	     0xC0000000ULL
#define PCI_MMIO32_END	     0xFEC00000ULL /* exclusive */
#define PCI_MMIO64_ALIGN     (1ULL << 30)
#define PCI_MMIO64_SIZE	     (64ULL << 30)
#define PCI_INTX_GSI_BASE    16U
#define PCI_INTX_GSI_COUNT   8U
#define PCI_INTX_GSI(slot)   (PCI_INTX_GSI_BASE + ((unsigned)(slot) % PCI_INTX_GSI_COUNT))

/* First byte of the 64-bit PCI window for RAM ending at ram_end (exclusive). */
static inline unsigned long long pci_mmio64_base(unsigned long long ram_end)
{
	unsigned long long b = ram_end < (4ULL << 30) ? (4ULL << 30) : ram_end;

	return (b + PCI_MMIO64_ALIGN - 1) & ~(PCI_MMIO64_ALIGN - 1);
}

static_assert(BOOT_GDT_GPA + BOOT_GDT_BYTES <= BOOT_ZERO_PAGE_GPA, "GDT overlaps zero page");
static_assert(BOOT_ZERO_PAGE_GPA + BOOT_ZERO_PAGE_LEN <= BOOT_PT_GPA, "zero page overlaps PT");
static_assert(BOOT_PD_GPA + 4 * 0x1000ULL <= BOOT_PT_END, "no room for 4 GiB of PDs");
static_assert(BOOT_PT_END <= BOOT_CMDLINE_GPA, "page tables overlap command line");
static_assert(BOOT_CMDLINE_GPA + BOOT_CMDLINE_MAX <= BOOT_STACK_TOP - BOOT_STACK_MIN,
	      "command line overlaps stack");
static_assert(BOOT_STACK_TOP <= BOOT_MPTABLE_GPA, "stack overlaps MP table");
static_assert(BOOT_MPTABLE_GPA == BOOT_LOW_RAM_END, "MP table must be in reserved range");
static_assert(BOOT_EBDA_END <= BOOT_HIGH_START, "EBDA above 1 MiB");
static_assert(BOOT_MPTABLE_GPA + BOOT_MPTABLE_MAX <= ACPI_TABLES_GPA, "MP table overlaps ACPI");
static_assert(ACPI_TABLES_GPA >= BOOT_LOW_RAM_END &&
		  ACPI_TABLES_GPA + ACPI_TABLES_MAX <= BOOT_HIGH_START,
	      "ACPI tables must be in the e820-reserved range");
static_assert(ACPI_TABLES_GPA >= 0xE0000ULL && (ACPI_TABLES_GPA & 0xf) == 0,
	      "RSDP outside the BIOS area Linux scans");
static_assert(ACPI_SLEEP_CTL_PORT != ACPI_SLEEP_STS_PORT, "distinct sleep ports");
static_assert(ACPI_TABLES_GPA + ACPI_TABLES_MAX <= BOOT_RESET_VECTOR_GPA,
	      "ACPI overlaps reset vector");
static_assert(BOOT_RESET_VECTOR_GPA + 16 == BOOT_HIGH_START,
	      "reset vector is 16 bytes below 1 MiB");

#endif
