/* PC GSI routing table. */
#include "vmm/pc_irq.h"

#include <errno.h>
#include <string.h>

static int add(struct kvm_irq_routing_entry *e, int *n, int max, unsigned gsi, unsigned chip,
	       unsigned pin)
{
	if (*n >= max)
		return -E2BIG;
	memset(&e[*n], 0, sizeof(e[*n]));
	e[*n].gsi = gsi;
	e[*n].type = KVM_IRQ_ROUTING_IRQCHIP;
	e[*n].u.irqchip.irqchip = chip;
	e[*n].u.irqchip.pin = pin;
	(*n)++;
	return 0;
}

int pc_irq_routing(struct kvm_irq_routing_entry *e, int max)
{
	int n = 0, r = 0;

	for (unsigned i = 0; i < 16 && !r; i++) {
		if (i == 2)
			continue; /* cascade */
		r = add(e, &n, max, i, i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
			i % 8);
	}
	for (unsigned i = 0; i < PC_IOAPIC_PINS && !r; i++) {
		if (i == 2)
			continue; /* pin 2 is taken by GSI 0 below */
		r = add(e, &n, max, i, KVM_IRQCHIP_IOAPIC, i == 0 ? 2 : i);
	}
	return r ? r : n;
}
