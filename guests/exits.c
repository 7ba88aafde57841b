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
 *           getrandom, used-ring update; no interrupt: this driver polls).
 * Needs --rng for kick and rr; without one they are skipped (exit 3). */
#include "lib/guest.h"
#include "lib/pci.h"
#include "lib/virtio.h"

#include <linux/virtio_config.h>

#define DEVICE_RNG     0x1044
#define RNG_BAR_BASE   0xc0000000ull
#define UNCLAIMED_MMIO 0xf0000000ull /* in the PCI hole, above any BAR kvmlab places */
#define RNG_QUEUE_SIZE 8
#define RR_DIVISOR     10

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
static int rng_open(struct vpci *v, struct virtq *q)
{
	struct pci_dev pci;

	if (!pci_find(VIRTIO_PCI_VENDOR, DEVICE_RNG, &pci) || vpci_open(v, &pci, RNG_BAR_BASE) ||
	    vpci_negotiate(v, 0) || vpci_queue_setup(v, q, 0, RNG_QUEUE_SIZE, ring))
		return -1;
	return (vpci_driver_ok(v) & VIRTIO_CONFIG_S_DRIVER_OK) ? 0 : -1;
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

int guest_main(const char *cmdline)
{
	struct vpci v;
	struct virtq q;
	uint64_t n;

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
	if (rng_open(&v, &q)) {
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
	return 0;
}
