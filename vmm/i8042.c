/* Keyboard controller stub: no keyboard, command 0xfe resets. */
#include "vmm/i8042.h"

#include <string.h>

static void data_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	memset(data, 0, len); /* no byte is ever waiting */
}

static void ignore_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	(void)data;
	(void)len;
}

/* Status: input buffer empty (bit 1 clear), so the guest may write a
 * command at once, and output buffer full (bit 0 set).  Linux's i8042 probe
 * flushes the output buffer first and gives up on a controller that still has
 * data after that ("No controller found"), which costs it one read instead
 * of seconds of timeouts waiting for answers no keyboard will give. */
#define STATUS_OBF 0x01

static void status_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	memset(data, 0, len);
	data[0] = STATUS_OBF;
}

static void command_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct i8042 *k = opaque;

	(void)off;
	(void)len;
	if (data[0] == I8042_CMD_RESET) {
		k->resets++;
		k->reset(k->ctx);
	}
}

const struct bus_ops i8042_data_ops = {
	.name = "i8042",
	.read = data_read,
	.write = ignore_write,
};

const struct bus_ops i8042_command_ops = {
	.name = "i8042",
	.read = status_read,
	.write = command_write,
};
