/* hello: the smallest useful guest.  Prints a greeting and exits 0. */
#include "lib/guest.h"

int guest_main(const char *cmdline)
{
	(void)cmdline;
	outb(PORT_MARKER, 1);
	guest_puts("Hello from the kvmlab hello guest!\n");
	return 0;
}
