/* probe: checks what an unclaimed access returns.  Reads a port and an MMIO
 * address nobody claims; both must read as all ones.  Exits 0 if so, 1 if
 * not, and prints what it saw. */
#include "lib/guest.h"

#define UNCLAIMED_PORT 0x510
#define UNCLAIMED_MMIO 0xd0000000ull

int guest_main(const char *cmdline)
{
	uint32_t p = inl(UNCLAIMED_PORT);
	uint32_t m = mmio_read32(UNCLAIMED_MMIO);

	(void)cmdline;
	guest_puts("probe: port read ");
	guest_putu(p);
	guest_puts(", mmio read ");
	guest_putu(m);
	guest_puts("\n");
	return (p == 0xffffffffu && m == 0xffffffffu) ? 0 : 1;
}
