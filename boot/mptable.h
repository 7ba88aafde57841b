/* Intel MultiProcessor Specification 1.4 tables: how a guest without ACPI
 * discovers its CPUs, the I/O APIC and the ISA interrupt wiring. */
#ifndef KVMLAB_BOOT_MPTABLE_H
#define KVMLAB_BOOT_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define MPTABLE_MAX_CPUS    254 /* CPUs and the I/O APIC share IDs 0..0xFE */
#define MPTABLE_IOAPIC_ADDR 0xFEC00000U
#define MPTABLE_LAPIC_ADDR  0xFEE00000U
#define MPTABLE_IOAPIC_VER  0x11
#define MPTABLE_LAPIC_VER   0x14
#define MPTABLE_FLOAT_LEN   16 /* floating pointer structure */
#define MPTABLE_HDR_LEN	    44 /* configuration table header */
#define MPTABLE_CPU_LEN	    20 /* processor entry */
#define MPTABLE_ENTRY_LEN   8  /* bus, I/O APIC and interrupt entries */
#define MPTABLE_NR_INTSRC   15 /* ISA IRQs 0-15 except the cascade IRQ 2 */
#define MPTABLE_NR_LINTSRC  2  /* ExtINT on LINT0, NMI on LINT1 */

/* Bytes mptable_build needs for ncpus CPUs, or 0 if ncpus is not in
 * 1..MPTABLE_MAX_CPUS. */
size_t mptable_size(unsigned ncpus);

/* Build the MP floating pointer at buf (guest address buf_gpa, 16-byte
 * aligned, below 4 GiB) followed by the configuration table: one processor
 * entry per CPU i with APIC id apic_ids[i] (boot/apic_ids.h: NULL means
 * i; CPU 0 is the BSP, all enabled), bus 0 "ISA", one I/O APIC with id
 * ioapic_id at MPTABLE_IOAPIC_ADDR, I/O interrupt entries for ISA IRQs 0-15
 * (IRQ 0 to pin 2 like PC firmware with the timer override, IRQ 2 omitted,
 * the rest identity), and local interrupt entries ExtINT -> BSP LINT0, NMI
 * -> all LINT1.  Both checksums are filled.  Returns the bytes written,
 * -EINVAL for a bad ncpus, buf_gpa or set of IDs (apic_ids_check),
 * -ENOSPC if len < mptable_size(ncpus). */
int mptable_build(uint8_t *buf, size_t len, uint64_t buf_gpa, const uint8_t *apic_ids,
		  unsigned ncpus, uint8_t ioapic_id);

#endif
