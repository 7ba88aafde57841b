/* Minimal hardware-reduced ACPI tables (ACPI 6.5) for a guest booted
 * without firmware: RSDP -> XSDT/RSDT -> FADT (-> DSDT) + MADT.  The MADT
 * lists the CPUs and the I/O APIC.  The DSDT holds \_S5_, so that Linux
 * powers off by writing the FADT's sleep control register, an I/O port the
 * VMM traps (see the contract below), the COM1 UART, and optionally a PCI
 * host bridge \_SB.PCI0 (PNP0A03) whose bus 0 is reached through type-1
 * configuration ports 0xCF8/0xCFC, with its bus, I/O and memory windows
 * (_CRS) and INTx routing to I/O APIC GSIs (_PRT). */
#ifndef KVMLAB_BOOT_ACPI_H
#define KVMLAB_BOOT_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The CPUs' APIC IDs plus the I/O APIC id must stay below the xAPIC
 * broadcast id 0xFF. */
#define ACPI_MAX_CPUS	 254
#define ACPI_LAPIC_ADDR	 0xFEE00000U
#define ACPI_IOAPIC_ADDR 0xFEC00000U
/* Upper bound of acpi_size() for any valid ncpus. */
#define ACPI_MAX_BYTES 8192

/* Guest-physical ranges no PCI window may overlap: the I/O APIC's page and
 * the local APIC / MSI range. */
#define ACPI_IOAPIC_SIZE 0x1000U
#define ACPI_LAPIC_SIZE	 0x100000U

/* FADT RESET_REG (RESET_REG_SUP is set): the i8042 pulse-reset command,
 * so an ACPI reboot lands on the keyboard controller's reset port. */
#define ACPI_RESET_PORT	 0x64
#define ACPI_RESET_VALUE 0xFE

/* Sleep control/status register contract (ACPI 6.5 sec. 4.8.3.7), one byte
 * each.  To power off Linux first writes ACPI_SLP_WAK_STS to the status
 * port (clear wake status: ignore it), then writes
 * (SLP_TYP << 2) | SLP_EN to the control port, with SLP_TYP taken from the
 * first element of \_S5_ (ACPI_S5_SLP_TYP), i.e. ACPI_S5_POWEROFF_VALUE;
 * then it polls the status port until ACPI_SLP_WAK_STS is set, so the VMM
 * must stop the guest on that write.  acpi_sleep_ctl_is_poweroff() decodes
 * a control write. */
#define ACPI_SLP_TYP_SHIFT     2
#define ACPI_SLP_TYP_MASK      0x1C
#define ACPI_SLP_EN	       0x20
#define ACPI_SLP_WAK_STS       0x80
#define ACPI_S5_SLP_TYP	       5
#define ACPI_S5_POWEROFF_VALUE ((ACPI_S5_SLP_TYP << ACPI_SLP_TYP_SHIFT) | ACPI_SLP_EN) /* 0x34 */

struct acpi_config {
	unsigned ncpus; /* 1..ACPI_MAX_CPUS; CPU 0 boots */
	/* APIC ID of each CPU (boot/apic_ids.h: NULL means ID = index),
	 * distinct, none 0xFF; the ACPI processor UID is the index */
	const uint8_t *apic_ids;
	uint64_t ioapic_addr;	 /* below 4 GiB, normally ACPI_IOAPIC_ADDR */
	uint8_t ioapic_id;	 /* no CPU's and != 0xFF (apic_ids_pick_ioapic) */
	uint16_t sleep_ctl_port; /* FADT SLEEP_CONTROL_REG, nonzero */
	uint16_t sleep_sts_port; /* FADT SLEEP_STATUS_REG, nonzero */
	/* Describe the PCI host bridge \_SB.PCI0 in the DSDT; the windows
	 * below are its memory BAR ranges, [base, end) each, ignored when
	 * pci is false. */
	bool pci;
	uint64_t pci_mmio32_base; /* 32-bit window: below 4 GiB */
	uint64_t pci_mmio32_end;
	uint64_t pci_mmio64_base; /* 64-bit window: at or above 4 GiB */
	uint64_t pci_mmio64_end;
};

/* Bytes acpi_build may need for ncpus CPUs, with or without PCI (at most
 * ACPI_MAX_BYTES), or 0 if ncpus is not in 1..ACPI_MAX_CPUS.  An upper
 * bound: acpi_build returns the bytes it actually used. */
size_t acpi_size(unsigned ncpus);

/* Build the tables in buf, which will live at guest address buf_gpa
 * (16-byte aligned; the whole block below 4 GiB): the RSDP (revision 2)
 * first, so *rsdp_gpa = buf_gpa, then XSDT and RSDT (both listing FADT and
 * MADT), FADT (revision 6.5, HW_REDUCED_ACPI, DSDT and X_DSDT, sleep
 * control/status registers as 8-bit system I/O at cfg's ports, RESET_REG),
 * MADT (PCAT_COMPAT, one enabled local APIC per CPU with its APIC ID, the I/O APIC with GSI
 * base 0, ISA IRQ 0 -> GSI 2 edge/high, local APIC NMI on LINT1 of every
 * CPU) and last the DSDT:
 *   Name (\_S5_, Package {5, 5, 0, 0})
 *   Scope (\_SB) {
 *     Device (COM1) { PNP0501, IO 0x3F8-0x3FF, IRQNoFlags {4} }
 *     Device (PCI0) {			(only when cfg->pci)
 *       _HID PNP0A03, _UID 0, _SEG 0, _BBN 0,
 *       _CRS: WordBusNumber 0-0xFF, IO (Decode16, 0xCF8, 0xCF8, 1, 8),
 *             WordIO 0x0D00-0xFFFF, DWordMemory (cacheable, read-write)
 *             and QWordMemory (same) for the two windows,
 *       _PRT: for each slot 0-31 and pin 0-3 (INTA-INTD),
 *             Package {slot << 16 | 0xFFFF, pin, Zero, PCI_INTX_GSI(slot + pin)}
 *   } }
 * Every checksum is filled; buf[0, acpi_size(cfg->ncpus)) is zeroed first
 * and bytes past it are not touched.  Returns the bytes used (at most
 * acpi_size(cfg->ncpus)), -EINVAL for a bad cfg (ncpus, repeated CPU APIC
 * IDs or one that is 0xFF, an I/O APIC id that is 0xFF or a CPU's, an I/O
 * APIC address at or above 4 GiB, a zero port; with pci, an empty or
 * wrapping window, a 32-bit window not below 4 GiB, a 64-bit window below
 * 4 GiB, a window overlapping the I/O APIC's page or [ACPI_LAPIC_ADDR,
 * +ACPI_LAPIC_SIZE)) or buf_gpa (unaligned, or the block not below 4 GiB),
 * -ENOSPC if len < acpi_size(cfg->ncpus).  Nothing is written on error. */
int acpi_build(uint8_t *buf, size_t len, uint64_t buf_gpa, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa);

/* Whether a byte the guest wrote to the sleep control port requests S5
 * (power off): SLP_EN set and SLP_TYP == ACPI_S5_SLP_TYP; other bits are
 * ignored. */
bool acpi_sleep_ctl_is_poweroff(uint8_t value);

#endif
