/* exits: measures the cost of a VM exit.  Performs N port-I/O writes to the
 * stopwatch sink (N from the command line, default 10000) between a start
 * and a stop of the stopwatch; kvmlab prints the count and time per exit. */
#include "lib/guest.h"

int guest_main(const char *cmdline)
{
	uint64_t n = guest_atou(cmdline, 10000);

	guest_puts("exits: doing ");
	guest_putu(n);
	guest_puts(" port-I/O exits\n");
	outb(PORT_STOPWATCH, 1);
	for (uint64_t i = 0; i < n; i++)
		outb(PORT_SINK, 0);
	outb(PORT_STOPWATCH, 0);
	return 0;
}
