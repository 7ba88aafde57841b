/* Tiny runtime for freestanding kvmlab test guests (no libc). */
#ifndef KVMLAB_GUESTS_GUEST_H
#define KVMLAB_GUESTS_GUEST_H

#include <stddef.h>
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

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

/* MMIO: one access of exactly the given width (volatile: never merged,
 * split, reordered against other volatile accesses, or dropped). */
static inline uint8_t mmio_read8(uint64_t addr)
{
	return *(volatile uint8_t *)(uintptr_t)addr;
}

static inline uint16_t mmio_read16(uint64_t addr)
{
	return *(volatile uint16_t *)(uintptr_t)addr;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)(uintptr_t)addr;
}

static inline void mmio_write8(uint64_t addr, uint8_t v)
{
	*(volatile uint8_t *)(uintptr_t)addr = v;
}

static inline void mmio_write16(uint64_t addr, uint16_t v)
{
	*(volatile uint16_t *)(uintptr_t)addr = v;
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)addr = v;
}

/* The memory functions GCC may call even in freestanding code (struct
 * copies, zeroing), also usable directly.  memset and memcpy are single
 * rep-string instructions, so the compiler cannot turn them back into calls
 * to themselves. */
void *memset(void *d, int c, size_t n);
void *memcpy(void *restrict d, const void *restrict s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* Print a NUL-terminated string on the UART. */
void guest_puts(const char *s);

/* Print an unsigned number in decimal. */
void guest_putu(uint64_t v);

/* Print an unsigned number as 0x followed by lowercase hex digits. */
void guest_putx(uint64_t v);

/* Parse a leading decimal number; returns def if there is none. */
uint64_t guest_atou(const char *s, uint64_t def);

/* Stop the VM with exit status v (port 0xf4); never returns. */
void guest_exit(int v) __attribute__((noreturn));

#endif
