/* e820 map construction. */
#include "boot/e820.h"

#include <errno.h>

#include "boot/layout.h"

#define GIB4 (1ULL << 32)

static int add(struct e820_entry_kvmlab *tab, int max, int *n, uint64_t addr, uint64_t size,
	       uint32_t type)
{
	if (*n >= max)
		return -ENOSPC;
	tab[*n] = (struct e820_entry_kvmlab){.addr = addr, .size = size, .type = type};
	(*n)++;
	return 0;
}

int e820_build(struct e820_entry_kvmlab *tab, int max, uint64_t ram_below_4g, uint64_t ram_above_4g)
{
	uint64_t end;
	int n = 0, rc;

	if (ram_below_4g < BOOT_HIGH_START || ram_below_4g > GIB4 ||
	    __builtin_add_overflow(GIB4, ram_above_4g, &end))
		return -EINVAL;
	rc = add(tab, max, &n, 0, BOOT_LOW_RAM_END, E820_TYPE_RAM);
	if (rc == 0)
		rc = add(tab, max, &n, BOOT_LOW_RAM_END, BOOT_HIGH_START - BOOT_LOW_RAM_END,
			 E820_TYPE_RESERVED);
	if (rc == 0 && ram_below_4g > BOOT_HIGH_START)
		rc = add(tab, max, &n, BOOT_HIGH_START, ram_below_4g - BOOT_HIGH_START,
			 E820_TYPE_RAM);
	if (rc == 0 && ram_above_4g > 0)
		rc = add(tab, max, &n, GIB4, ram_above_4g, E820_TYPE_RAM);
	return rc < 0 ? rc : n;
}
