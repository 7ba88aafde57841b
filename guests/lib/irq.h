/* Interrupts for freestanding test guests: one IDT for every guest that
 * takes interrupts, and the local APIC (in KVM's in-kernel irqchip) for
 * MSI-X.  Interrupts stay disabled (IF=0) outside the callers' own
 * "sti; hlt; cli". */
#ifndef KVMLAB_GUESTS_IRQ_H
#define KVMLAB_GUESTS_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#define LAPIC_BASE	0xfee00000ull
#define LAPIC_EOI	0xb0 /* write 0: end of interrupt */
#define LAPIC_SVR	0xf0 /* spurious vector register: bit 8 enables the APIC */
#define LAPIC_TPR	0x80
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TMICT	0x380 /* initial count; 0 stops the timer */
#define LAPIC_TDCR	0x3e0 /* divide configuration */

/* Point vector at isr (an interrupt gate in the current code segment,
 * DPL 0) and load the IDT.  isr must end in iretq.  Cannot fail. */
void idt_set(uint8_t vector, void (*isr)(void));

/* Software-enable the local APIC (SVR) with spurious vector 0xff and
 * accept every priority (TPR 0), so MSIs to LAPIC_BASE are delivered.
 * Cannot fail. */
void lapic_enable(void);

/* Local APIC timer: vector fires after about ms milliseconds (KVM's APIC
 * bus runs at 1 GHz; divide by 128), at most 500 s, once or every ms when
 * periodic.  ms 0 stops it.  Cannot fail. */
void lapic_timer(uint8_t vector, uint32_t ms, bool periodic);

#endif
