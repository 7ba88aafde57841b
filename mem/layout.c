/* RAM placement around the 32-bit PCI/MMIO hole. */
#include "mem/layout.h"

#include <errno.h>

int mem_layout(uint64_t size, uint64_t page_size, struct mem_layout_region out[MEM_LAYOUT_MAX])
{
	uint64_t high, end;

	if (!size || !page_size || (page_size & (page_size - 1)))
		return -EINVAL;
	if ((size & (page_size - 1)) || (MEM_LAYOUT_HOLE_START & (page_size - 1)))
		return -EINVAL;
	if (size <= MEM_LAYOUT_HOLE_START) {
		out[0] = (struct mem_layout_region){.gpa = 0, .size = size};
		return 1;
	}
	high = size - MEM_LAYOUT_HOLE_START;
	/* the end address must be representable: gpa + size <= UINT64_MAX */
	if (__builtin_add_overflow(MEM_LAYOUT_HIGH_START, high, &end))
		return -EOVERFLOW;
	out[0] = (struct mem_layout_region){.gpa = 0, .size = MEM_LAYOUT_HOLE_START};
	out[1] = (struct mem_layout_region){.gpa = MEM_LAYOUT_HIGH_START, .size = high};
	return 2;
}
