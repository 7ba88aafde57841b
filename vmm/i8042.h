/* Just enough of the PC keyboard controller (ports 0x60 data, 0x64
 * status/command) for guests to reset the machine: command 0xfe pulses the
 * CPU reset line.  No keyboard or mouse is attached. */
#ifndef KVMLAB_VMM_I8042_H
#define KVMLAB_VMM_I8042_H

#include "vmm/bus.h"

#define I8042_DATA_PORT	   0x60
#define I8042_COMMAND_PORT 0x64
#define I8042_CMD_RESET	   0xfe

struct i8042 {
	/* Called on the vCPU thread when the guest asks for a reset. */
	void (*reset)(void *ctx);
	void *ctx;
	unsigned int resets; /* reset requests seen */
};

/* Register i8042_data_ops at I8042_DATA_PORT and i8042_command_ops at
 * I8042_COMMAND_PORT, one byte each, both with the same struct i8042. */
extern const struct bus_ops i8042_data_ops;
extern const struct bus_ops i8042_command_ops;

#endif
