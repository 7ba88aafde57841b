/* netnobuf: a virtio-net driver that posts no receive buffers for a while.
 * It sets up queue 0 (rx) and queue 1 (tx) with VERSION_1 and MAC only (no
 * merged buffers: every rx buffer must hold a whole frame), sets DRIVER_OK,
 * prints "netnobuf: ready, no rx buffers", then halts until a byte arrives
 * on the UART (kvmlab feeds it its stdin): the UART's receive interrupt
 * (COM1, IRQ 4 through the 8259) wakes it, so the wait costs no CPU.  Then
 * it posts RX_BUFS buffers of BUF_LEN bytes, notifies queue 0, and waits
 * (bounded) for frames: "netnobuf: received N frames, first len L", exit 0.
 * Failures exit 2-6 (setup, see below) or 7 (no frame arrived). */
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "lib/guest.h"
#include "lib/pci.h"
#include "lib/virtio.h"

#define VIRTIO_PCI_DEVICE_NET 0x1041 /* 0x1040 + device id 1 */
#define BAR_BASE	      0xc0000000ull
#define QSIZE		      8
#define RX_BUFS		      8
#define BUF_LEN		      2048 /* >= 12-byte header + 1514-byte frame */
#define PIC1_CMD	      0x20
#define PIC1_DATA	      0x21
#define PIC2_CMD	      0xa0
#define PIC2_DATA	      0xa1
#define PIC_VECTOR	      0x20 /* IRQ 0-7 -> vectors 0x20-0x27 */
#define COM1_IRQ	      4
#define UART_IER	      (PORT_UART + 1)
#define UART_LSR	      (PORT_UART + 5)
#define IER_RDI		      0x01
#define LSR_DR		      0x01
#define MORE_SPINS	      10000000ull /* after the first frame: the rest queued */

enum {
	EXIT_NO_DEVICE = 2,
	EXIT_OPEN = 3,
	EXIT_NEGOTIATE = 4,
	EXIT_QUEUE = 5,
	EXIT_DRIVER_OK = 6,
	EXIT_NO_FRAME = 7,
};

static uint8_t rx_ring[VIRTQ_MEM_BYTES(QSIZE)] __attribute__((aligned(4096)));
static uint8_t tx_ring[VIRTQ_MEM_BYTES(QSIZE)] __attribute__((aligned(4096)));
static uint8_t rx_buf[RX_BUFS][BUF_LEN] __attribute__((aligned(4096)));

static struct vpci dev;
static struct virtq rxq, txq;

/* ---- waiting for the host: UART receive interrupt ---------------------- */

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type; /* 0x8e: present, DPL 0, 64-bit interrupt gate */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

static struct idt_gate idt[PIC_VECTOR + 8] __attribute__((aligned(16)));
volatile uint8_t uart_woke;

void uart_isr(void);
/* Any of the master PIC's vectors: read the UART's data (drops its line),
 * note it, EOI the master PIC.  Only IRQ 4 is unmasked; IRQ 7 may come as
 * a spurious interrupt, for which the EOI is harmless here. */
__asm__(".text\n"
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
	"	iretq\n");

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

/* Halt until the UART has received a byte (interrupts on only here). */
static void wait_for_uart(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
	uint64_t h = (uint64_t)(uintptr_t)uart_isr;
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	for (int v = PIC_VECTOR; v < PIC_VECTOR + 8; v++)
		idt[v] = (struct idt_gate){.off_lo = (uint16_t)h,
					   .sel = cs,
					   .type = 0x8e,
					   .off_mid = (uint16_t)(h >> 16),
					   .off_hi = (uint32_t)(h >> 32)};
	__asm__ volatile("lidt %0" : : "m"(idtr));
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

/* ---- main --------------------------------------------------------------- */

int guest_main(const char *cmdline)
{
	struct pci_dev pci;
	uint32_t len = 0, first_len = 0;
	unsigned int frames = 0;
	uint8_t s;

	(void)cmdline;
	if (!pci_find(VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_NET, &pci)) {
		guest_puts("netnobuf: no virtio-net device\n");
		return EXIT_NO_DEVICE;
	}
	if (vpci_open(&dev, &pci, BAR_BASE))
		return EXIT_OPEN;
	if (vpci_negotiate(&dev, 1ull << VIRTIO_NET_F_MAC))
		return EXIT_NEGOTIATE;
	if (vpci_queue_setup(&dev, &rxq, 0, QSIZE, rx_ring) ||
	    vpci_queue_setup(&dev, &txq, 1, QSIZE, tx_ring))
		return EXIT_QUEUE;
	s = vpci_driver_ok(&dev);
	if (!(s & VIRTIO_CONFIG_S_DRIVER_OK) || (s & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		guest_puts("netnobuf: DRIVER_OK did not stick, status ");
		guest_putx(s);
		guest_puts("\n");
		return EXIT_DRIVER_OK;
	}
	guest_puts("netnobuf: features ");
	guest_putx(dev.features);
	if (dev.features & (1ull << VIRTIO_NET_F_MAC)) {
		guest_puts(", mac ");
		for (uint32_t i = 0; i < 6; i++) {
			uint8_t b = vpci_cfg_read8(&dev, i);
			char hex[4] = {"0123456789abcdef"[b >> 4], "0123456789abcdef"[b & 15],
				       i < 5 ? ':' : '\0', '\0'};

			guest_puts(hex);
		}
	}
	guest_puts("\n");
	guest_puts("netnobuf: ready, no rx buffers\n");

	wait_for_uart();
	guest_puts("netnobuf: posting rx buffers\n");
	for (int i = 0; i < RX_BUFS; i++) {
		struct virtq_buf b = {.addr = rx_buf[i], .len = BUF_LEN, .writable = true};

		if (virtq_post(&rxq, &b, 1) < 0)
			return EXIT_QUEUE;
	}
	virtq_notify(&rxq);
	/* The first frame: bounded by VIRTQ_POLL_SPINS; the frames queued in
	 * the tap meanwhile follow at once, so the rest get a short bound. */
	for (uint64_t spins = VIRTQ_POLL_SPINS; frames < RX_BUFS; spins = MORE_SPINS) {
		int id = virtq_poll(&rxq, &len, spins);

		if (id == -2) {
			guest_puts("netnobuf: the device returned a bad id\n");
			return EXIT_QUEUE;
		}
		if (id < 0)
			break;
		if (frames++ == 0)
			first_len = len;
	}
	guest_puts("netnobuf: received ");
	guest_putu(frames);
	guest_puts(" frames, first len ");
	guest_putu(first_len);
	guest_puts("\n");
	if (frames == 0)
		return EXIT_NO_FRAME;
	s = vpci_status(&dev);
	if (s & VIRTIO_CONFIG_S_NEEDS_RESET) {
		guest_puts("netnobuf: device NEEDS_RESET\n");
		return EXIT_DRIVER_OK;
	}
	return 0;
}
