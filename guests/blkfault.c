/* blkfault: virtio-blk while the host breaks the image under it.  The host
 * (tests/kvm/test_blk_faults.sh) and this guest take turns: the guest
 * prints "blkfault: phase N ready" and then reads sector 0 over and over
 * until the host has written "GO-N" there (the image file is the channel).
 *	1  the image sits on a full filesystem: a write into a hole must fail
 *	   with IOERR; after the host frees space (then GO-1) the same write
 *	   and a flush succeed and read back.
 *	2  the host truncates the image to 1 MiB (then GO-2): a read past the
 *	   new end fails with IOERR; a write there succeeds (the file grows
 *	   again) and reads back.
 *	3  the host stops kvmlab (SIGSTOP) while this guest streams reads,
 *	   and continues it (then GO-3): the stream goes on.
 * The device must never go NEEDS_RESET.  Prints one line per check,
 * "blkfault: all ok" and exits 0, or exits 10 + the failed check. */
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>

#include "lib/guest.h"
#include "lib/pci.h"
#include "lib/virtio.h"

#define BAR_BASE    0xc0000000ull
#define QSIZE	    8
#define SECTOR	    512
#define FAR_SECTOR  32768ull /* 16 MiB: a hole in phase 1, past the end in 2 */
#define POLL_READS  100000000ull
#define POLL_PAUSES 2000

static uint8_t ring[VIRTQ_MEM_BYTES(QSIZE)] __attribute__((aligned(4096)));
static uint8_t data[SECTOR] __attribute__((aligned(4096)));
static struct virtio_blk_outhdr hdr;
static uint8_t status;
static struct vpci dev;
static struct virtq vq;
static int check_no;

/* One request of one sector (none for a flush).  Returns the status or -1
 * if the device did not answer. */
static int blk(uint32_t type, uint64_t sector)
{
	struct virtq_buf b[3];
	unsigned int n = 0;
	int head;

	hdr.type = type;
	hdr.ioprio = 0;
	hdr.sector = sector;
	status = 0xff;
	b[n++] = (struct virtq_buf){.addr = &hdr, .len = sizeof(hdr), .writable = false};
	if (type != VIRTIO_BLK_T_FLUSH)
		b[n++] = (struct virtq_buf){
		    .addr = data, .len = SECTOR, .writable = type == VIRTIO_BLK_T_IN};
	b[n++] = (struct virtq_buf){.addr = &status, .len = 1, .writable = true};
	head = virtq_post(&vq, b, n);
	if (head < 0)
		return -1;
	virtq_notify(&vq);
	return virtq_poll(&vq, NULL, VIRTQ_POLL_SPINS) == head ? status : -1;
}

/* Print "check N WHAT: ok" or "... FAIL"; returns whether it held. */
static bool check(const char *what, bool held)
{
	check_no++;
	guest_puts("blkfault: check ");
	guest_putu((uint64_t)check_no);
	guest_puts(" ");
	guest_puts(what);
	guest_puts(held ? ": ok\n" : ": FAIL\n");
	if (vpci_status(&dev) & VIRTIO_CONFIG_S_NEEDS_RESET) {
		guest_puts("blkfault: device went NEEDS_RESET: FAIL\n");
		return false;
	}
	return held;
}

static void fill(uint8_t v)
{
	memset(data, v, sizeof(data));
}

static bool filled(uint8_t v)
{
	for (unsigned int i = 0; i < sizeof(data); i++)
		if (data[i] != v)
			return false;
	return true;
}

/* Announce phase n and read sector 0 until it starts with "GO-n". */
static bool wait_go(char n)
{
	const char want[4] = {'G', 'O', '-', n};

	guest_puts("blkfault: phase ");
	guest_puts((const char[]){n, 0});
	guest_puts(" ready\n");
	for (uint64_t i = 0; i < POLL_READS; i++) {
		if (blk(VIRTIO_BLK_T_IN, 0) == VIRTIO_BLK_S_OK && !memcmp(data, want, 4))
			return true;
		for (int p = 0; p < POLL_PAUSES; p++)
			__builtin_ia32_pause();
	}
	return false;
}

static int run(void)
{
	/* phase 1: a full filesystem */
	fill(0xa1);
	if (!check("write into a hole on a full filesystem gets IOERR",
		   blk(VIRTIO_BLK_T_OUT, FAR_SECTOR) == VIRTIO_BLK_S_IOERR))
		return 1;
	if (!check("host freed space", wait_go('1')))
		return 1;
	fill(0xa1);
	if (!check("the same write succeeds now",
		   blk(VIRTIO_BLK_T_OUT, FAR_SECTOR) == VIRTIO_BLK_S_OK))
		return 1;
	if (!check("flush", blk(VIRTIO_BLK_T_FLUSH, 0) == VIRTIO_BLK_S_OK))
		return 1;
	fill(0);
	if (!check("it reads back",
		   blk(VIRTIO_BLK_T_IN, FAR_SECTOR) == VIRTIO_BLK_S_OK && filled(0xa1)))
		return 1;

	/* phase 2: the image truncated under us */
	if (!check("host truncated the image", wait_go('2')))
		return 1;
	if (!check("a read past the new end gets IOERR",
		   blk(VIRTIO_BLK_T_IN, FAR_SECTOR) == VIRTIO_BLK_S_IOERR))
		return 1;
	fill(0xb2);
	if (!check("a write there succeeds", blk(VIRTIO_BLK_T_OUT, FAR_SECTOR) == VIRTIO_BLK_S_OK))
		return 1;
	fill(0);
	if (!check("and reads back",
		   blk(VIRTIO_BLK_T_IN, FAR_SECTOR) == VIRTIO_BLK_S_OK && filled(0xb2)))
		return 1;

	/* phase 3: kvmlab stopped and continued while we stream reads */
	if (!check("host stopped and continued kvmlab", wait_go('3')))
		return 1;
	fill(0);
	if (!check("reads go on",
		   blk(VIRTIO_BLK_T_IN, FAR_SECTOR) == VIRTIO_BLK_S_OK && filled(0xb2)))
		return 1;
	return 0;
}

int guest_main(const char *cmdline)
{
	struct pci_dev pci;
	uint8_t s;

	(void)cmdline;
	if (!pci_find(VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_BLK, &pci) ||
	    vpci_open(&dev, &pci, BAR_BASE) || vpci_negotiate(&dev, 1ull << VIRTIO_BLK_F_FLUSH) ||
	    vpci_queue_setup(&dev, &vq, 0, QSIZE, ring))
		return 2;
	s = vpci_driver_ok(&dev);
	if (!(s & VIRTIO_CONFIG_S_DRIVER_OK) || (s & VIRTIO_CONFIG_S_NEEDS_RESET))
		return 3;
	if (run())
		return 10 + check_no;
	guest_puts("blkfault: all ok\n");
	return 0;
}
