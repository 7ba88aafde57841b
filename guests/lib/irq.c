/* The IDT and the local APIC for test guests (see irq.h). */
#include "irq.h"

#include "guest.h"

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type; /* 0x8e: present, DPL 0, 64-bit interrupt gate */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));

void idt_set(uint8_t vector, void (*isr)(void))
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
	uint64_t h = (uint64_t)(uintptr_t)isr;
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	idt[vector] = (struct idt_gate){.off_lo = (uint16_t)h,
					.sel = cs,
					.type = 0x8e,
					.off_mid = (uint16_t)(h >> 16),
					.off_hi = (uint32_t)(h >> 32)};
	/* the gate is in memory before the CPU can use it: lidt and any
	 * later interrupt come after these stores in program order */
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
}

void lapic_enable(void)
{
	mmio_write32(LAPIC_BASE + LAPIC_TPR, 0);
	mmio_write32(LAPIC_BASE + LAPIC_SVR, 0x100 | 0xff);
}

void lapic_timer(uint8_t vector, uint32_t ms, bool periodic)
{
	uint64_t ticks = (uint64_t)(ms > 500000 ? 500000 : ms) * 1000000 / 128;

	mmio_write32(LAPIC_BASE + LAPIC_TMICT, 0);
	if (!ms)
		return;
	mmio_write32(LAPIC_BASE + LAPIC_TDCR, 0xa); /* divide by 128 */
	/* unmasked; bit 17: periodic */
	mmio_write32(LAPIC_BASE + LAPIC_LVT_TIMER, vector | (periodic ? 1u << 17 : 0));
	mmio_write32(LAPIC_BASE + LAPIC_TMICT, (uint32_t)ticks);
}
