/* Guest-physical placement of RAM: the first 3 GiB at 0, the rest from
 * 4 GiB upward.  [MEM_LAYOUT_HOLE_START, MEM_LAYOUT_HIGH_START) is left for
 * PCI/MMIO windows and the LAPIC, IOAPIC and TSS pages.  Pure. */
#ifndef KVMLAB_MEM_LAYOUT_H
#define KVMLAB_MEM_LAYOUT_H

#include <stdint.h>

#define MEM_LAYOUT_HOLE_START (3ull << 30) /* end of low RAM */
#define MEM_LAYOUT_HIGH_START (4ull << 30) /* start of RAM above the hole */
#define MEM_LAYOUT_MAX	      2

struct mem_layout_region {
	uint64_t gpa;
	uint64_t size;
};

/* Split size bytes of RAM into at most MEM_LAYOUT_MAX regions, sorted by
 * gpa: [0, min(size, 3G)) and, above 3G, [4G, 4G + size - 3G).  Returns the
 * number of regions (1 or 2), -EINVAL if size is 0, page_size is not a
 * power of two, or size or the hole start is not a multiple of page_size,
 * -EOVERFLOW if the high region would end past 2^64. */
int mem_layout(uint64_t size, uint64_t page_size, struct mem_layout_region out[MEM_LAYOUT_MAX]);

#endif
