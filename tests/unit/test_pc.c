/* PC platform pieces: GSI routing table and the i8042 reset port. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/acpi.h"
#include "vmm/acpi_pm.h"
#include "vmm/i8042.h"
#include "vmm/pc_irq.h"

/* Pin that GSI gsi reaches on chip, or -1. */
static int route(const struct kvm_irq_routing_entry *e, int n, unsigned gsi, unsigned chip)
{
	int pin = -1;
	for (int i = 0; i < n; i++) {
		if (e[i].gsi == gsi && e[i].u.irqchip.irqchip == chip) {
			assert_int_equal(pin, -1); /* at most one route per chip */
			assert_int_equal(e[i].type, KVM_IRQ_ROUTING_IRQCHIP);
			pin = (int)e[i].u.irqchip.pin;
		}
	}
	return pin;
}

static void test_routing(void **state)
{
	struct kvm_irq_routing_entry e[64];
	int n;
	(void)state;
	n = pc_irq_routing(e, 64);
	assert_int_equal(n, 15 + 23);
	/* the PIT (GSI 0) reaches IOAPIC pin 2 and PIC pin 0 */
	assert_int_equal(route(e, n, 0, KVM_IRQCHIP_IOAPIC), 2);
	assert_int_equal(route(e, n, 0, KVM_IRQCHIP_PIC_MASTER), 0);
	/* nothing routes to the cascade or to IOAPIC pin 2 from GSI 2 */
	assert_int_equal(route(e, n, 2, KVM_IRQCHIP_IOAPIC), -1);
	assert_int_equal(route(e, n, 2, KVM_IRQCHIP_PIC_MASTER), -1);
	/* COM1 */
	assert_int_equal(route(e, n, PC_IRQ_COM1, KVM_IRQCHIP_IOAPIC), 4);
	assert_int_equal(route(e, n, PC_IRQ_COM1, KVM_IRQCHIP_PIC_MASTER), 4);
	/* slave PIC pins are GSI - 8 */
	assert_int_equal(route(e, n, 14, KVM_IRQCHIP_PIC_SLAVE), 6);
	assert_int_equal(route(e, n, 14, KVM_IRQCHIP_PIC_MASTER), -1);
	assert_int_equal(route(e, n, 23, KVM_IRQCHIP_IOAPIC), 23);
	assert_int_equal(route(e, n, 23, KVM_IRQCHIP_PIC_SLAVE), -1);
	assert_int_equal(pc_irq_routing(e, 20), -E2BIG);
}

static int resets;
static void on_reset(void *ctx)
{
	assert_ptr_equal(ctx, &resets);
	resets++;
}

static void test_i8042(void **state)
{
	struct i8042 k = {.reset = on_reset, .ctx = &resets};
	uint8_t v = 0xaa;
	(void)state;
	i8042_command_ops.read(&k, 0, &v, 1);
	assert_int_equal(v & 0x02, 0); /* input buffer empty: commands accepted */
	assert_int_equal(v & 0x01, 1); /* output never drains: probes give up at once */
	v = 0xaa; /* self-test: not a reset */
	i8042_command_ops.write(&k, 0, &v, 1);
	assert_int_equal(resets, 0);
	v = 0xfe;
	i8042_data_ops.write(&k, 0, &v, 1); /* 0xfe on the data port is not a reset */
	assert_int_equal(resets, 0);
	i8042_command_ops.write(&k, 0, &v, 1);
	assert_int_equal(resets, 1);
	assert_int_equal(k.resets, 1);
}

static int offs;
static void on_poweroff(void *ctx)
{
	(void)ctx;
	offs++;
}

static void test_acpi_pm(void **state)
{
	struct acpi_pm pm = {.poweroff = on_poweroff};
	uint8_t v;
	(void)state;
	v = ACPI_S5_POWEROFF_VALUE;
	acpi_pm_ops.write(&pm, 1, &v, 1); /* the status register: no */
	assert_int_equal(offs, 0);
	v = (3 << 2) | 0x20; /* S3 with SLP_EN: not a power-off */
	acpi_pm_ops.write(&pm, 0, &v, 1);
	assert_int_equal(offs, 0);
	v = 5 << 2; /* S5 without SLP_EN */
	acpi_pm_ops.write(&pm, 0, &v, 1);
	assert_int_equal(offs, 0);
	v = (5 << 2) | 0x20;
	acpi_pm_ops.write(&pm, 0, &v, 1);
	assert_int_equal(offs, 1);
	assert_int_equal(pm.poweroffs, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routing),
		cmocka_unit_test(test_i8042),
		cmocka_unit_test(test_acpi_pm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
