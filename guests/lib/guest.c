/* Runtime for the test guests: UART output, number parsing, exit. */
#include "guest.h"

#define LSR_THRE 0x20

static void putc_uart(char c)
{
	while (!(inb(PORT_UART + 5) & LSR_THRE))
		;
	outb(PORT_UART, (uint8_t)c);
}

void guest_puts(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			putc_uart('\r');
		putc_uart(*s);
	}
}

void guest_putu(uint64_t v)
{
	char buf[21];
	int i = 20;

	buf[i] = '\0';
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	guest_puts(&buf[i]);
}

void guest_putx(uint64_t v)
{
	char buf[19];
	int i = 18;

	buf[i] = '\0';
	do {
		buf[--i] = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v);
	buf[--i] = 'x';
	buf[--i] = '0';
	guest_puts(&buf[i]);
}

uint64_t guest_atou(const char *s, uint64_t def)
{
	uint64_t v = 0;
	int any = 0;

	while (*s == ' ')
		s++;
	for (; *s >= '0' && *s <= '9'; s++, any = 1)
		v = v * 10 + (uint64_t)(*s - '0');
	return any ? v : def;
}

void guest_exit(int v)
{
	outb(PORT_DEBUG_EXIT, (uint8_t)v);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void *memset(void *d, int c, size_t n)
{
	void *p = d;

	__asm__ volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
	return d;
}

void *memcpy(void *restrict d, const void *restrict s, size_t n)
{
	void *p = d;

	__asm__ volatile("rep movsb" : "+D"(p), "+S"(s), "+c"(n) : : "memory");
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}
