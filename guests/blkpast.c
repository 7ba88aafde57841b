/* blkpast: drives virtio-blk queue 0 directly with requests at and past the
 * end of the disk.  Each must fail with VIRTIO_BLK_S_IOERR without breaking
 * the device; then a read of sector 0 (the host put BLKPAST_MARKER0 there)
 * and a write of BLKPAST_MARKER1 to sector 1 plus a flush must succeed:
 *	a: read 1 sector at capacity		IOERR
 *	b: read 8 sectors at capacity - 4	IOERR (crosses the end)
 *	c: read 1 sector at 2^64 - 16		IOERR (sector * 512 overflows)
 *	d: write 1 sector at capacity		IOERR
 *	e: read sector 0			OK, data = marker, 513 bytes used
 *	f: write sector 1, then flush		OK
 * and at the end the device must not be NEEDS_RESET.  Prints one line per
 * step; exits 0 if all held, else the code of the first failure: 2-7 for
 * setup (see below), 10 + step (a = 10 ... f = 15), 16 for the final
 * status check. */
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>

#include "lib/guest.h"
#include "lib/pci.h"
#include "lib/virtio.h"

#define BAR_BASE	0xc0000000ull /* start of the 32-bit PCI hole */
#define QSIZE		8
#define SECTOR		512
#define MAX_SECTORS	8
#define BLKPAST_MARKER0 "KVMLAB-BLK-SECTOR0"
#define BLKPAST_MARKER1 "KVMLAB-BLK-SECTOR1-WRITTEN"

enum {
	EXIT_NO_DEVICE = 2,
	EXIT_OPEN = 3,
	EXIT_NEGOTIATE = 4,
	EXIT_QUEUE = 5,
	EXIT_DRIVER_OK = 6,
	EXIT_SMALL_DISK = 7,
	EXIT_STEP = 10, /* + step index */
};

static uint8_t ring[VIRTQ_MEM_BYTES(QSIZE)] __attribute__((aligned(4096)));
static uint8_t data[MAX_SECTORS * SECTOR] __attribute__((aligned(4096)));
static struct virtio_blk_outhdr hdr;
static uint8_t status;

static struct vpci dev;
static struct virtq vq;

/* Send one request (nsec sectors of data in `data`, none for a flush) and
 * wait for it.  Returns the status byte, or -1 if the device did not
 * answer or answered with a wrong id.  *used gets the used length. */
static int blk_request(uint32_t type, uint64_t sector, uint32_t nsec, uint32_t *used)
{
	struct virtq_buf b[3];
	unsigned int n = 0;
	int head, id;

	hdr.type = type;
	hdr.ioprio = 0;
	hdr.sector = sector;
	status = 0xff; /* not a status the device sends */
	b[n++] = (struct virtq_buf){.addr = &hdr, .len = sizeof(hdr), .writable = false};
	if (nsec)
		b[n++] = (struct virtq_buf){
		    .addr = data, .len = nsec * SECTOR, .writable = type == VIRTIO_BLK_T_IN};
	b[n++] = (struct virtq_buf){.addr = &status, .len = 1, .writable = true};

	head = virtq_post(&vq, b, n);
	if (head < 0)
		return -1;
	virtq_notify(&vq);
	id = virtq_poll(&vq, used, VIRTQ_POLL_SPINS);
	if (id != head)
		return -1;
	return status;
}

static const char step_names[] = "abcdef";

/* Print "step X: status S ok" or "... FAIL (expected E)"; returns whether
 * the status was the expected one. */
static int report(int step, int st, int want, const char *extra)
{
	char name[2] = {step_names[step], '\0'};

	guest_puts("step ");
	guest_puts(name);
	if (st < 0) {
		guest_puts(": no completion FAIL\n");
		return 0;
	}
	guest_puts(": status ");
	guest_putu((uint64_t)st);
	if (st == want && !extra) {
		guest_puts(" ok\n");
		return 1;
	}
	if (st == want) {
		guest_puts(" FAIL (");
	} else {
		guest_puts(" FAIL (expected ");
		guest_putu((uint64_t)want);
		guest_puts(extra ? ", " : "");
	}
	guest_puts(extra ? extra : "");
	guest_puts(")\n");
	return 0;
}

int guest_main(const char *cmdline)
{
	struct pci_dev pci;
	const char *why;
	char slot[3] = "00";
	uint64_t cap;
	uint32_t used = 0;
	uint8_t s;
	int first_fail = 0, st;

	(void)cmdline;
	if (!pci_find(VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_BLK, &pci)) {
		guest_puts("blkpast: no virtio-blk device\n");
		return EXIT_NO_DEVICE;
	}
	slot[0] = "0123456789abcdef"[pci.slot >> 4];
	slot[1] = "0123456789abcdef"[pci.slot & 15];
	guest_puts("blkpast: virtio-blk at 00:");
	guest_puts(slot);
	guest_puts(".0, BAR0 at ");
	guest_putx(pci_bar_addr(&pci, 0, NULL));
	guest_puts("\n");
	if (vpci_open(&dev, &pci, BAR_BASE))
		return EXIT_OPEN;
	guest_puts("blkpast: BAR0 now at ");
	guest_putx(pci_bar_addr(&pci, 0, NULL));
	guest_puts("\n");
	/* VERSION_1, plus FLUSH if offered: a driver may only send FLUSH
	 * with VIRTIO_BLK_F_FLUSH negotiated. */
	if (vpci_negotiate(&dev, 1ull << VIRTIO_BLK_F_FLUSH))
		return EXIT_NEGOTIATE;
	if (vpci_queue_setup(&dev, &vq, 0, QSIZE, ring))
		return EXIT_QUEUE;
	s = vpci_driver_ok(&dev);
	if (!(s & VIRTIO_CONFIG_S_DRIVER_OK) || (s & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		guest_puts("blkpast: DRIVER_OK did not stick, status ");
		guest_putx(s);
		guest_puts("\n");
		return EXIT_DRIVER_OK;
	}
	cap = vpci_cfg_read64(&dev, 0); /* virtio_blk_config.capacity, in 512-byte sectors */
	guest_puts("blkpast: capacity ");
	guest_putu(cap);
	guest_puts(" sectors, features ");
	guest_putx(dev.features);
	guest_puts("\n");
	if (cap < 8) {
		guest_puts("blkpast: disk too small (need 8 sectors)\n");
		return EXIT_SMALL_DISK;
	}

	/* a-d: well-formed chains with sectors the disk does not have */
	{
		const struct {
			uint32_t type;
			uint64_t sector;
			uint32_t nsec;
		} bad[] = {
		    {VIRTIO_BLK_T_IN, cap, 1},
		    {VIRTIO_BLK_T_IN, cap - 4, 8},
		    {VIRTIO_BLK_T_IN, 0xfffffffffffffff0ull, 1},
		    {VIRTIO_BLK_T_OUT, cap, 1},
		};

		for (int i = 0; i < 4; i++) {
			memset(data, 0x5a, sizeof(data));
			st = blk_request(bad[i].type, bad[i].sector, bad[i].nsec, &used);
			if (!report(i, st, VIRTIO_BLK_S_IOERR, NULL) && !first_fail)
				first_fail = EXIT_STEP + i;
			if (st < 0)
				return EXIT_STEP + i; /* the ring state is unknown now */
		}
	}

	/* e: sector 0 holds the host's marker */
	memset(data, 0, sizeof(data));
	st = blk_request(VIRTIO_BLK_T_IN, 0, 1, &used);
	why = NULL;
	if (st == VIRTIO_BLK_S_OK && memcmp(data, BLKPAST_MARKER0, sizeof(BLKPAST_MARKER0) - 1))
		why = "sector 0 lacks the marker";
	else if (st == VIRTIO_BLK_S_OK && used != SECTOR + 1)
		why = "used length is not 513";
	if (!report(4, st, VIRTIO_BLK_S_OK, why) && !first_fail)
		first_fail = EXIT_STEP + 4;
	if (st < 0)
		return EXIT_STEP + 4;

	/* f: write the second marker to sector 1, then flush it */
	memset(data, 0, sizeof(data));
	memcpy(data, BLKPAST_MARKER1, sizeof(BLKPAST_MARKER1) - 1);
	st = blk_request(VIRTIO_BLK_T_OUT, 1, 1, &used);
	why = NULL;
	if (st == VIRTIO_BLK_S_OK) {
		if (dev.features & (1ull << VIRTIO_BLK_F_FLUSH)) {
			st = blk_request(VIRTIO_BLK_T_FLUSH, 0, 0, &used);
			why = st != VIRTIO_BLK_S_OK ? "in the flush" : NULL;
		} else {
			guest_puts("step f: VIRTIO_BLK_F_FLUSH not offered, no flush sent\n");
		}
	}
	if (!report(5, st, VIRTIO_BLK_S_OK, why) && !first_fail)
		first_fail = EXIT_STEP + 5;
	if (st < 0)
		return EXIT_STEP + 5;

	/* The bad sectors were the driver's mistake, not a broken ring: the
	 * device must still be running. */
	s = vpci_status(&dev);
	guest_puts("blkpast: device status ");
	guest_putx(s);
	if (s & VIRTIO_CONFIG_S_NEEDS_RESET) {
		guest_puts(" NEEDS_RESET FAIL\n");
		if (!first_fail)
			first_fail = EXIT_STEP + 6;
	} else {
		guest_puts(" ok\n");
	}
	if (first_fail) {
		guest_puts("blkpast: FAIL, exit ");
		guest_putu((uint64_t)first_fail);
		guest_puts("\n");
	} else {
		guest_puts("blkpast: all steps ok\n");
	}
	return first_fail;
}
