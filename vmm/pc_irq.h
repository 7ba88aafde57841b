/* PC interrupt wiring for the in-kernel irqchip. */
#ifndef KVMLAB_VMM_PC_IRQ_H
#define KVMLAB_VMM_PC_IRQ_H

#include <linux/kvm.h>

#define PC_IOAPIC_PINS 24
#define PC_IRQ_COM1    4

/* Fill e with the PC GSI routing: GSIs 0-7 to the master PIC and 8-15 to
 * the slave (except the cascade, GSI 2), GSIs 0-23 to IOAPIC pins, with
 * GSI 0 (the PIT) on IOAPIC pin 2 as PC firmware reports it in the MP table
 * and the ACPI interrupt source override.  Returns the entry count, or
 * -E2BIG if max is too small. */
int pc_irq_routing(struct kvm_irq_routing_entry *e, int max);

#endif
