/* Debug-exit port (0xf4 by convention, as in QEMU's isa-debug-exit): a
 * one-byte write of V stops the VM and kvmlab exits with status V. */
#ifndef KVMLAB_VMM_DEBUG_EXIT_H
#define KVMLAB_VMM_DEBUG_EXIT_H

#include "vmm/bus.h"

#define DEBUG_EXIT_PORT 0xf4

struct debug_exit {
	/* Called on the vCPU thread with the byte written. */
	void (*request_exit)(void *ctx, int status);
	void *ctx;
};

extern const struct bus_ops debug_exit_ops;

#endif
