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
 *           and counts the interrupts ("interrupts taken: K of N"); a
 *           10 ms timer tick ends a halt whose interrupt never comes, and
 *           no interrupt at all is an error (exit 5).
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
#define TICK_VECTOR    0x41
#define TICK_MS	       10   /* the irq bracket's periodic wake-up */
#define IRQ_TIMEOUT    6000 /* ticks (60 s) a round trip may take */
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

/* An interrupt handler that counts in the 64-bit variable counter and
 * ends the interrupt at the local APIC (LAPIC_BASE + LAPIC_EOI). */
#define COUNTING_ISR(name, counter)                                                                \
	__asm__(".pushsection .text\n"                                                             \
		".globl " #name "\n" #name ":\n"                                                   \
		"	push %rax\n"                                                                     \
		"	lock incq " #counter "(%rip)\n"                                            \
		"	mov $0xfee000b0, %eax\n"                                                         \
		"	movl $0, (%rax)\n"                                                               \
		"	pop %rax\n"                                                                      \
		"	iretq\n"                                                                         \
		".popsection\n")

/* Interrupts taken (the ISR's count; read with interrupts off). */
volatile uint64_t exits_irqs;
void exits_isr(void);
COUNTING_ISR(exits_isr, exits_irqs);

/* Ticks of the irq bracket's periodic timer: the wake-up that keeps a
 * lost interrupt from halting the guest for good. */
volatile uint64_t exits_ticks;
void exits_tick_isr(void);
COUNTING_ISR(exits_tick_isr, exits_ticks);

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
	/* The polled brackets ran with MSI-X off, so every used buffer
	 * raised INTx, and this driver never read the ISR to acknowledge
	 * it: enabling MSI-X lowers that line (the device's job,
	 * virtio_pci.c cfg_written). */
	idt_set(IRQ_VECTOR, exits_isr);
	idt_set(TICK_VECTOR, exits_tick_isr);
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

/* n round trips, each ended by the queue's interrupt: halt until the used
 * buffer is there and the ISR has counted one more.  A periodic TICK_MS
 * timer also ends each halt, so an interrupt that never arrives costs two
 * ticks once its used buffer is there, instead of the run; the caller
 * compares exits_irqs with n.  0,
 * -1 if the device refused a buffer, -3 if a used buffer took longer than
 * IRQ_TIMEOUT ticks (the kick or the request was lost). */
static int irq_round_trips(struct virtq *q, uint64_t n)
{
	const struct virtq_buf b = {.addr = entropy, .len = sizeof(entropy), .writable = true};
	int r = 0;

	lapic_timer(TICK_VECTOR, TICK_MS, true);
	outb(PORT_STOPWATCH, 1);
	for (uint64_t i = 0; i < n && !r; i++) {
		uint64_t seen = exits_irqs, t0 = exits_ticks, t_used = 0;

		if (virtq_post(q, &b, 1) < 0) {
			r = -1;
			break;
		}
		virtq_notify(q);
		/* Done when the used buffer is there and an interrupt came (a
		 * late one of the round trip before counts: the total is what
		 * the caller checks), or two ticks after the buffer without
		 * one.  IF is 0 here, so an interrupt that comes before the hlt
		 * stays pending; sti's one-instruction shadow covers the hlt,
		 * which it then ends. */
		while (exits_ticks - t0 < IRQ_TIMEOUT) {
			if (q->used->idx != q->last_used) {
				if (exits_irqs != seen)
					break;
				if (!t_used)
					t_used = exits_ticks + 1;
				else if (exits_ticks >= t_used + 1)
					break; /* its interrupt is not coming */
			}
			__asm__ volatile("sti; hlt; cli" : : : "memory");
		}
		if (virtq_poll(q, NULL, 1) < 0)
			r = -3;
	}
	outb(PORT_STOPWATCH, 0);
	lapic_timer(TICK_VECTOR, 0, false);
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
				   : "exits: a round trip did not finish within 60 s\n");
		return r == -1 ? 4 : 5;
	}
	/* one interrupt per round trip; fewer means some never came (the
	 * tick ended those halts) */
	guest_puts("interrupts taken: ");
	guest_putu(exits_irqs);
	guest_puts(" of ");
	guest_putu(n / RR_DIVISOR);
	guest_puts("\n");
	return exits_irqs ? 0 : 5;
}
