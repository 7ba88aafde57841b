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
#include "lib/uart_wait.h"
#include "lib/pci.h"
#include "lib/virtio.h"

#define VIRTIO_PCI_DEVICE_NET 0x1041 /* 0x1040 + device id 1 */
#define BAR_BASE	      0xc0000000ull
#define QSIZE		      8
#define RX_BUFS		      8
#define BUF_LEN		      2048	  /* >= 12-byte header + 1514-byte frame */
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

	guest_wait_uart();
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
