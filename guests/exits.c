/* exits: measures the cost of VM exits and notifications.
 *
 * Command line "N" (default 10000): N port-I/O writes to the stopwatch sink
 * between a start and a stop of the stopwatch; kvmlab prints the count and
 * the time per exit.
 *
 * Command line "all N": four brackets, each announced by a line
 * "exits: MODE COUNT" before its stopwatch start, so that the i-th line
 * goes with kvmlab's i-th stopwatch line:
 *   pio N   port writes to the sink (an exit to kvmlab each);
 *   mmio N  writes to an address in the PCI hole no device claims (an MMIO
 *           exit to kvmlab each: decoded, looked up on the bus, counted);
 *   kick N  notify writes to a virtio-rng queue with nothing new in it:
 *           with ioeventfd=on KVM signals the eventfd and resumes the guest
 *           (no exit reaches kvmlab), with off each is an MMIO exit;
 *   rr N/10 round trips: post an 8-byte buffer, notify, poll the used ring
 *           until the device has filled it (kick, IO-thread wakeup,
 *           getrandom, used-ring update; no interrupt: this driver polls);
 *   irq N/10 the same round trips, but the guest halts until the queue's
 *           MSI-X interrupt arrives (irqfd=on: the IO thread signals an
 *           eventfd KVM turns into the MSI; off: kvmlab's KVM_SIGNAL_MSI),
 *           and counts the interrupts: a missing one is an error (exit 5).
 * Needs --rng for kick, rr and irq; without one they are skipped (exit 3). */
#include "lib/guest.h"
#include "lib/irq.h"
#include "lib/pci.h"
#include "lib/virtio.h"

#include <linux/virtio_config.h>

#define DEVICE_RNG     0x1044
#define RNG_BAR_BASE   0xc0000000ull
#define UNCLAIMED_MMIO 0xf0000000ull /* in the PCI hole, above any BAR kvmlab places */
#define RNG_QUEUE_SIZE 8
#define RR_DIVISOR     10
#define IRQ_VECTOR     0x40
#define TIMEOUT_VECTOR 0x41
#define IRQ_TIMEOUT_MS 60000 /* for the whole irq bracket */
#define PCI_CAP_MSIX   0x11
#define MSIX_ENABLE    0x8000 /* message control */
#define MSIX_MASKALL   0x4000

static uint8_t ring[VIRTQ_MEM_BYTES(RNG_QUEUE_SIZE)] __attribute__((aligned(4096)));
static uint8_t entropy[8] __attribute__((aligned(64)));

static void announce(const char *mode, uint64_t n)
{
	guest_puts("exits: ");
	guest_puts(mode);
	guest_puts(" ");
	guest_putu(n);
	guest_puts("\n");
}

static void pio(uint64_t n)
{
	outb(PORT_STOPWATCH, 1);
	for (uint64_t i = 0; i < n; i++)
		outb(PORT_SINK, 0);
	outb(PORT_STOPWATCH, 0);
}

static void mmio(uint64_t n)
{
	outb(PORT_STOPWATCH, 1);
	for (uint64_t i = 0; i < n; i++)
		mmio_write32(UNCLAIMED_MMIO, (uint32_t)i);
	outb(PORT_STOPWATCH, 0);
}

/* The rng device, ready with queue 0; 0 or -1. */
static int rng_open(struct vpci *v, struct virtq *q, struct pci_dev *pci)
{
	if (!pci_find(VIRTIO_PCI_VENDOR, DEVICE_RNG, pci) || vpci_open(v, pci, RNG_BAR_BASE) ||
	    vpci_negotiate(v, 0) || vpci_queue_setup(v, q, 0, RNG_QUEUE_SIZE, ring))
		return -1;
	return (vpci_driver_ok(v) & VIRTIO_CONFIG_S_DRIVER_OK) ? 0 : -1;
}

/* Interrupts taken (the ISR's count; read with interrupts off). */
volatile uint64_t exits_irqs;
void exits_isr(void);
__asm__(".pushsection .text\n"
	".globl exits_isr\n"
	"exits_isr:\n"
	"	push %rax\n"
	"	lock incq exits_irqs(%rip)\n"
	"	mov $0xfee000b0, %eax\n" /* LAPIC_BASE + LAPIC_EOI */
	"	movl $0, (%rax)\n"
	"	pop %rax\n"
	"	iretq\n"
	".popsection\n");

/* The watchdog: set when the irq bracket's timer ran out. */
volatile uint8_t exits_timeout;
void exits_timeout_isr(void);
__asm__(".pushsection .text\n"
	".globl exits_timeout_isr\n"
	"exits_timeout_isr:\n"
	"	push %rax\n"
	"	movb $1, exits_timeout(%rip)\n"
	"	mov $0xfee000b0, %eax\n"
	"	movl $0, (%rax)\n"
	"	pop %rax\n"
	"	iretq\n"
	".popsection\n");

/* MSI-X table entry 0 to the local APIC with IRQ_VECTOR, MSI-X on, and
 * queue 0's interrupts on entry 0.  0, or -1 if the device has no MSI-X
 * or refused the vector. */
static int rng_msix(struct vpci *v, const struct pci_dev *pci)
{
	uint8_t cap = pci_cap_find(pci, PCI_CAP_MSIX, 0);
	uint32_t table;
	uint64_t base;
	bool is64;

	if (!cap)
		return -1;
	table = pci_read32(pci, (uint8_t)(cap + 4));
	base = pci_bar_addr(pci, (int)(table & 7), &is64) + (table & ~7u);
	mmio_write32(base + 0, (uint32_t)LAPIC_BASE); /* address: APIC ID 0 */
	mmio_write32(base + 4, 0);
	mmio_write32(base + 8, IRQ_VECTOR); /* data: fixed, edge, the vector */
	mmio_write32(base + 12, 0);	    /* unmasked */
	pci_write16(
	    pci, (uint8_t)(cap + 2),
	    (uint16_t)((pci_read16(pci, (uint8_t)(cap + 2)) | MSIX_ENABLE) & ~MSIX_MASKALL));
	idt_set(IRQ_VECTOR, exits_isr);
	idt_set(TIMEOUT_VECTOR, exits_timeout_isr);
	lapic_enable();
	return vpci_queue_vector(v, 0, 0);
}

static void kick(struct virtq *q, uint64_t n)
{
	outb(PORT_STOPWATCH, 1);
	for (uint64_t i = 0; i < n; i++)
		virtq_notify(q);
	outb(PORT_STOPWATCH, 0);
}

/* n round trips; 0, or -1 if the device stopped answering. */
static int round_trips(struct virtq *q, uint64_t n)
{
	const struct virtq_buf b = {.addr = entropy, .len = sizeof(entropy), .writable = true};
	int r = 0;

	outb(PORT_STOPWATCH, 1);
	for (uint64_t i = 0; i < n && !r; i++) {
		if (virtq_post(q, &b, 1) < 0) {
			r = -1;
			break;
		}
		virtq_notify(q);
		r = virtq_poll(q, NULL, VIRTQ_POLL_SPINS) < 0 ? -1 : 0;
	}
	outb(PORT_STOPWATCH, 0);
	return r;
}

/* n round trips, each ending in the queue's interrupt: halt until the
 * ISR has counted one more, then take the used entry.  0, -1 if the device
 * stopped answering, -2 if an interrupt came without a used buffer, -3 if
 * the interrupts stopped (the bracket's IRQ_TIMEOUT_MS watchdog fired). */
static int irq_round_trips(struct virtq *q, uint64_t n)
{
	const struct virtq_buf b = {.addr = entropy, .len = sizeof(entropy), .writable = true};
	int r = 0;

	exits_timeout = 0;
	lapic_timer_oneshot(TIMEOUT_VECTOR, IRQ_TIMEOUT_MS);
	outb(PORT_STOPWATCH, 1);
	for (uint64_t i = 0; i < n && !r; i++) {
		uint64_t seen = exits_irqs;

		if (virtq_post(q, &b, 1) < 0) {
			r = -1;
			break;
		}
		virtq_notify(q);
		/* IF is 0 here, so an interrupt that comes before the hlt stays
		 * pending; sti's one-instruction shadow covers the hlt, which
		 * it then ends */
		while (exits_irqs == seen && !exits_timeout)
			__asm__ volatile("sti; hlt; cli" : : : "memory");
		if (exits_irqs == seen)
			r = -3;
		/* the device wrote the used ring before it sent the MSI */
		else if (virtq_poll(q, NULL, VIRTQ_POLL_SPINS) < 0)
			r = -2;
	}
	outb(PORT_STOPWATCH, 0);
	lapic_timer_oneshot(TIMEOUT_VECTOR, 0);
	return r;
}

int guest_main(const char *cmdline)
{
	struct vpci v;
	struct virtq q;
	struct pci_dev pci;
	uint64_t n;
	int r;

	if (!(cmdline[0] == 'a' && cmdline[1] == 'l' && cmdline[2] == 'l')) {
		n = guest_atou(cmdline, 10000);
		guest_puts("exits: doing ");
		guest_putu(n);
		guest_puts(" port-I/O exits\n");
		pio(n);
		return 0;
	}
	cmdline += 3;
	while (*cmdline == ' ')
		cmdline++;
	n = guest_atou(cmdline, 10000);
	announce("pio", n);
	pio(n);
	announce("mmio", n);
	mmio(n);
	if (rng_open(&v, &q, &pci)) {
		guest_puts("exits: no usable virtio-rng (give --rng)\n");
		return 3;
	}
	announce("kick", n);
	kick(&q, n);
	announce("rr", n / RR_DIVISOR);
	if (round_trips(&q, n / RR_DIVISOR)) {
		guest_puts("exits: the rng device stopped answering\n");
		return 4;
	}
	if (rng_msix(&v, &pci)) {
		guest_puts("exits: the rng device took no MSI-X vector\n");
		return 5;
	}
	announce("irq", n / RR_DIVISOR);
	r = irq_round_trips(&q, n / RR_DIVISOR);
	if (r) {
		guest_puts(r == -1 ? "exits: the rng device stopped answering\n"
			   : r == -2
			       ? "exits: an interrupt came without a used buffer\n"
			       : "exits: no interrupt for a used buffer within the time limit\n");
		return r == -1 ? 4 : 5;
	}
	guest_puts("interrupts taken: ");
	guest_putu(exits_irqs);
	guest_puts("\n");
	return 0;
}
