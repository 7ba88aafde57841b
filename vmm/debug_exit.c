/* Debug-exit port: the guest chooses kvmlab's exit status. */
#include "vmm/debug_exit.h"

#include <string.h>

static void de_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	memset(data, 0, len);
}

static void de_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct debug_exit *d = opaque;

	(void)len;
	if (off == 0)
		d->request_exit(d->ctx, data[0]); /* low byte of wider writes */
}

const struct bus_ops debug_exit_ops = {
    .name = "debug-exit",
    .read = de_read,
    .write = de_write,
};
