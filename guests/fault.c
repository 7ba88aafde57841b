/* fault: triple-faults on purpose.  With an empty IDT, an exception cannot
 * be delivered (#GP, then #DF, then shutdown). */
#include "lib/guest.h"

int guest_main(const char *cmdline)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idt = {0, 0};

	(void)cmdline;
	guest_puts("fault: loading an empty IDT and raising #UD\n");
	__asm__ volatile("lidt %0" : : "m"(idt));
	__asm__ volatile("ud2");
	return 3; /* not reached */
}
