/* The BIOS e820 memory map we report to Linux guests. */
#ifndef KVMLAB_BOOT_E820_H
#define KVMLAB_BOOT_E820_H

#include <stdint.h>

#define E820_TYPE_RAM	   1
#define E820_TYPE_RESERVED 2

struct e820_entry_kvmlab {
	uint64_t addr; /* first byte */
	uint64_t size; /* bytes */
	uint32_t type; /* E820_TYPE_* */
};

/* Fill tab (room for max entries) with: [0, BOOT_LOW_RAM_END) RAM,
 * [BOOT_LOW_RAM_END, BOOT_HIGH_START) reserved, [BOOT_HIGH_START,
 * ram_below_4g) RAM if non-empty, and [4 GiB, 4 GiB + ram_above_4g) RAM if
 * ram_above_4g is nonzero.  ram_below_4g is the end address of low RAM.
 * Returns the number of entries, -EINVAL if ram_below_4g is below
 * BOOT_HIGH_START or above 4 GiB or the high range wraps, -ENOSPC if max is
 * too small. */
int e820_build(struct e820_entry_kvmlab *tab, int max, uint64_t ram_below_4g,
	       uint64_t ram_above_4g);

#endif
