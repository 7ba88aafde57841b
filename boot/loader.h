/* One call for the VMM: read a kernel (and initrd), load it into guest RAM
 * with every boot structure it needs, and say how to enter it. */
#ifndef KVMLAB_BOOT_LOADER_H
#define KVMLAB_BOOT_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/x86_boot.h" /* to apply a boot_entry to the vCPU registers */
#include "mem/guest_mem.h"

#define BOOT_KERNEL_MAX_BYTES (512ULL << 20) /* largest kernel file accepted */
#define BOOT_INITRD_MAX_BYTES (2ULL << 30)   /* largest initrd file accepted */

/* How to start the boot vCPU: feed rip/rsp/rsi to x86_setup_entry_regs and
 * gdt_gpa/gdt_limit/cr3 to x86_setup_long_mode. */
struct boot_entry {
	uint64_t rip;
	uint64_t rsp;
	uint64_t rsi; /* zero page for Linux, 0 for ELF guests */
	uint64_t cr3;
	uint64_t gdt_gpa;
	uint16_t gdt_limit;
	bool is_linux;	     /* bzImage (Linux boot protocol) vs plain ELF */
	uint64_t kernel_end; /* first guest address above the kernel's memory */
};

/* Read kernel_path (and initrd_path unless NULL), detect ELF64 or bzImage by
 * content, and load it into gm: ELF segments, or the bzImage kernel +
 * initrd + cmdline (NULL = empty) + zero page with an e820 map derived from
 * gm's RAM below and above 4 GiB.  Then write the GDT (BOOT_GDT_GPA),
 * identity page tables for max(4 GiB, gm_end(gm)) (capped at
 * BOOT_PT_MAX_MAP) at BOOT_PT_GPA, the MP table for ncpus CPUs (1..254) with APIC IDs
 * apic_ids[0..ncpus) (NULL: 0..ncpus-1; boot/apic_ids.h, which also picks
 * the I/O APIC's ID) at BOOT_MPTABLE_GPA and the ACPI tables (boot/acpi.h,
 * same IDs) at ACPI_TABLES_GPA,
 * whose RSDP address also goes into a Linux zero page (boot protocol
 * >= 2.14), a stub at the reset vector BOOT_RESET_VECTOR_GPA that resets
 * through the i8042, and fill *out (rsp = BOOT_STACK_TOP).  ELF kernels take
 * no initrd; their cmdline goes to BOOT_CMDLINE_GPA.  Requires gm to cover [0, BOOT_HIGH_START).
 * Returns 0, or a negative errno with a message naming the option and file
 * in err (errlen bytes): the open/read errno, -EFBIG for a kernel over
 * BOOT_KERNEL_MAX_BYTES or an initrd over BOOT_INITRD_MAX_BYTES, -ENOEXEC
 * for neither ELF64 nor bzImage, -EINVAL for any other problem, -ENOMEM if
 * a buffer cannot be allocated. */
int boot_load_kernel(const char *kernel_path, const char *initrd_path, const char *cmdline,
		     unsigned ncpus, const uint8_t *apic_ids, const struct guest_mem *gm,
		     struct boot_entry *out, char *err, size_t errlen);

#endif
