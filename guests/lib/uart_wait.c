/* Halting until the host sends a byte on the UART (see uart_wait.h). */
#include "uart_wait.h"

#include "guest.h"
#include "irq.h"

#define PIC1_CMD   0x20
#define PIC1_DATA  0x21
#define PIC2_CMD   0xa0
#define PIC2_DATA  0xa1
#define PIC_VECTOR 0x20 /* IRQ 0-7 -> vectors 0x20-0x27 */
#define COM1_IRQ   4
#define UART_IER   (PORT_UART + 1)
#define IER_RDI	   0x01

volatile uint8_t uart_woke;

void uart_isr(void);
/* Any of the master PIC's vectors: read the UART's data (drops its line),
 * note it, EOI the master PIC.  Only IRQ 4 is unmasked; IRQ 7 may come as
 * a spurious interrupt, for which the EOI is harmless here. */
__asm__(".pushsection .text\n"
	".globl uart_isr\n"
	"uart_isr:\n"
	"	push %rax\n"
	"	push %rdx\n"
	"	mov $0x3fd, %dx\n"
	"	in %dx, %al\n"
	"	test $1, %al\n"
	"	jz 1f\n"
	"	mov $0x3f8, %dx\n"
	"	in %dx, %al\n"
	"	movb $1, uart_woke(%rip)\n"
	"1:	mov $0x20, %al\n"
	"	out %al, $0x20\n"
	"	pop %rdx\n"
	"	pop %rax\n"
	"	iretq\n"
	".popsection\n");

static void pic_init(void)
{
	outb(PIC1_CMD, 0x11); /* ICW1: edge, cascade, ICW4 follows */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, PIC_VECTOR);
	outb(PIC2_DATA, PIC_VECTOR + 8);
	outb(PIC1_DATA, 0x04); /* slave on IRQ 2 */
	outb(PIC2_DATA, 0x02);
	outb(PIC1_DATA, 0x01); /* 8086 mode */
	outb(PIC2_DATA, 0x01);
	outb(PIC1_DATA, (uint8_t) ~(1u << COM1_IRQ));
	outb(PIC2_DATA, 0xff);
}

void guest_wait_uart(void)
{
	uart_woke = 0; /* a byte already received still raises the line below */
	for (int v = PIC_VECTOR; v < PIC_VECTOR + 8; v++)
		idt_set((uint8_t)v, uart_isr);
	pic_init();
	/* A byte that came before the interrupt was enabled raises the line
	 * as soon as IER allows it: no lost wake-up. */
	outb(UART_IER, IER_RDI);
	/* sti's one-instruction shadow covers hlt: an interrupt between the
	 * check and the halt still ends the halt. */
	while (!uart_woke)
		__asm__ volatile("sti; hlt; cli" : : : "memory");
	outb(UART_IER, 0);
}
