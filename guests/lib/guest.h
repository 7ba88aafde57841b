/* Tiny runtime for freestanding kvmlab test guests (no libc). */
#ifndef KVMLAB_GUESTS_GUEST_H
#define KVMLAB_GUESTS_GUEST_H

#include <stdint.h>

#define PORT_UART	0x3f8
#define PORT_DEBUG_EXIT 0xf4
#define PORT_MARKER	0x80
#define PORT_STOPWATCH	0xf5
#define PORT_SINK	0xf6

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)(uintptr_t)addr;
}

/* Print a NUL-terminated string on the UART. */
void guest_puts(const char *s);

/* Print an unsigned number in decimal. */
void guest_putu(uint64_t v);

/* Parse a leading decimal number; returns def if there is none. */
uint64_t guest_atou(const char *s, uint64_t def);

/* Stop the VM with exit status v (port 0xf4); never returns. */
void guest_exit(int v) __attribute__((noreturn));

#endif
