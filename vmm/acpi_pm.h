/* ACPI hardware-reduced sleep registers (FADT SLEEP_CONTROL_REG at offset 0,
 * SLEEP_STATUS_REG at offset 1 of the range at ACPI_SLEEP_CTL_PORT): the
 * guest's ACPI power-off (S5) stops the VM. */
#ifndef KVMLAB_VMM_ACPI_PM_H
#define KVMLAB_VMM_ACPI_PM_H

#include "vmm/bus.h"

#define ACPI_PM_LEN 2

struct acpi_pm {
	/* Called on the vCPU thread when the guest enters S5. */
	void (*poweroff)(void *ctx);
	void *ctx;
	unsigned int poweroffs;
};

extern const struct bus_ops acpi_pm_ops;

#endif
