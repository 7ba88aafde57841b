/* exitcode: exits with the status given on its command line (default 42),
 * through the debug-exit port. */
#include "lib/guest.h"

int guest_main(const char *cmdline)
{
	return (int)guest_atou(cmdline, 42);
}
