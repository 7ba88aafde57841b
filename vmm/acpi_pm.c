/* ACPI sleep control/status ports: S5 means power off. */
#include "vmm/acpi_pm.h"

#include <string.h>

#include "boot/acpi.h"

static void pm_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	memset(data, 0, len); /* not waking: nothing to report */
}

static void pm_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;

	(void)len;
	if (off == 0 && acpi_sleep_ctl_is_poweroff(data[0])) {
		pm->poweroffs++;
		pm->poweroff(pm->ctx);
	}
}

const struct bus_ops acpi_pm_ops = {
	.name = "acpi-pm",
	.read = pm_read,
	.write = pm_write,
};
