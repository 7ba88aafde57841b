/* libFuzzer target: a hostile driver against virtio-balloon over the
 * virtio-pci transport, with the page accounting behind it.
 *
 * Guest memory is 64 KiB in two adjacent regions, A [0, 0x8000) and B
 * [0x8000, 0x10000).  The page accounting sees A with 4 KiB host pages, B
 * with 16 KiB "huge" pages (so they complete quickly) and a third region
 * C [1 MiB, 2 MiB) with 64 KiB pages and no memory behind it (PFNs only).
 * Queue q's rings sit at fixed addresses: descriptors at q * 0x1000, avail
 * at + 0x400, used at + 0x600; everything else (descriptors, avail rings,
 * PFN arrays, statistics, reported ranges) comes from the input.
 *
 * Input: a 16-byte header, then an image of guest memory from gpa 0.
 *   [0]     bits 0-2 device options: deflate-on-oom, stats, reporting
 *   [1]     features the driver accepts: bits 0-2 as above, bit 3
 *           EVENT_IDX, bit 4 INDIRECT_DESC
 *   [2]     ring size = 1 << (b % 7), 1..64
 *   [3..15] a script of 13 operations, one byte each: op = b >> 5,
 *           arg = b & 31:
 *             0 kick queue arg % 4           4 reset and probe again
 *             1 request statistics           5 avail->idx of queue arg % 4
 *             2 set the target to arg * 97     += (arg >> 2) + 1, then kick
 *             3 write arg to `actual`        6 read the configuration
 *                 (byte arg % 8, 1 byte)     7 kick every queue
 * Checked after each operation: every discard lies inside its region,
 * aligned to its page size; the gauges stay within RAM; status reads do
 * not crash; counters only grow. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem/balloon_pages.h"
#include "tests/unit/fake_vpci.h"
#include "virtio/balloon.h"
#include "virtio/virtio_pci.h"

#define MEM_SIZE 0x10000
#define HEADER	 16
#define NQ	 VIRTIO_BALLOON_MAX_QUEUES
#define NOPS	 (HEADER - 3)

/* An invariant failed: crash so libFuzzer keeps the input. */
#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static uint8_t mem[MEM_SIZE] __attribute__((aligned(4096)));

static const struct balloon_region regions[3] = {
    {0x0000, 0x8000, 0x1000},
    {0x8000, 0x8000, 0x4000},
    {0x100000, 0x100000, 0x10000},
};

/* The discard callback: checks what the accounting asks for. */
static int check_discard(void *opaque, unsigned int region, uint64_t off, uint64_t len)
{
	(void)opaque;
	CHECK(region < 3);
	CHECK(len > 0);
	CHECK(off % regions[region].page_size == 0);
	CHECK(len % regions[region].page_size == 0);
	CHECK(off < regions[region].size && len <= regions[region].size - off);
	return 0;
}

static uint64_t zero_clock(void)
{
	return 1;
}

struct env {
	struct guest_mem gm;
	struct balloon_pages bp;
	struct virtio_balloon b;
	struct virtio_pci t;
	struct fvp_host h;
	struct fvp drv;
	struct fv fv[NQ];
	uint16_t size;
	uint64_t accept;
};

/* Negotiate and set up the queues the features imply (Linux's layout),
 * over whatever the rings hold, then DRIVER_OK. */
static void probe(struct env *e)
{
	uint64_t feat = (fvp_device_features(&e->drv) & e->accept) | (1ULL << VIRTIO_F_VERSION_1);
	unsigned int nq = 2;

	fvp_set_status(&e->drv, 0);
	if (fvp_negotiate(&e->drv, feat) & VIRTIO_CONFIG_S_FEATURES_OK) {
		if (feat & (1ULL << VIRTIO_BALLOON_F_STATS_VQ))
			nq++;
		if (feat & (1ULL << VIRTIO_BALLOON_F_REPORTING))
			nq++;
		for (unsigned int q = 0; q < nq; q++) {
			struct fv *fv = &e->fv[q];

			fv->gm = &e->gm;
			fv->size = e->size;
			fv->desc = 0x1000ULL * q;
			fv->avail = fv->desc + 0x400;
			fv->used = fv->desc + 0x600;
			fv->avail_idx = fv_get16(&e->gm, fv->avail + 2);
			fv->next_desc = 0;
			(void)fvp_setup_queue(&e->drv, (uint16_t)q, fv, VPCI_NO_VECTOR);
		}
	}
	fvp_set_status(&e->drv, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				    VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

static void check(struct env *e, struct balloon_pages_stats *prev)
{
	struct balloon_pages_stats s;
	uint64_t total = 0;

	balloon_pages_get_stats(&e->bp, &s);
	for (unsigned int i = 0; i < 3; i++)
		total += regions[i].size;
	CHECK(s.ballooned * BALLOON_PAGE_SIZE <= total);
	CHECK(s.held_bytes <= s.ballooned * BALLOON_PAGE_SIZE);
	CHECK(s.inflated >= prev->inflated && s.deflated >= prev->deflated);
	CHECK(s.inflated - s.deflated >= s.ballooned);
	CHECK(s.discards + s.discard_errors >= prev->discards + prev->discard_errors);
	*prev = s;
	(void)virtio_pci_status(&e->t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct env e;
	struct virtio_balloon_opts o;
	struct balloon_pages_stats prev;
	const uint8_t *ops;

	if (len < HEADER)
		return 0;
	memset(&e, 0, sizeof(e));
	memset(mem, 0, sizeof(mem));
	memcpy(mem, data + HEADER, len - HEADER < MEM_SIZE ? len - HEADER : MEM_SIZE);
	gm_init(&e.gm);
	CHECK(gm_region_add(&e.gm, 0x0000, 0x8000, mem) == 0);
	CHECK(gm_region_add(&e.gm, 0x8000, 0x8000, mem + 0x8000) == 0);
	o = (struct virtio_balloon_opts){data[0] & 1, data[0] & 2, data[0] & 4};
	e.accept = (data[1] & 1 ? 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM : 0) |
		   (data[1] & 2 ? 1ULL << VIRTIO_BALLOON_F_STATS_VQ : 0) |
		   (data[1] & 4 ? 1ULL << VIRTIO_BALLOON_F_REPORTING : 0) |
		   (data[1] & 8 ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0) |
		   (data[1] & 16 ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0);
	e.size = (uint16_t)(1u << (data[2] % 7));
	ops = data + 3;

	CHECK(balloon_pages_init(&e.bp, regions, 3, check_discard, NULL) == 0);
	CHECK(virtio_balloon_init(&e.b, &o, &e.bp) == 0);
	e.b.clock_ns = zero_clock;
	CHECK(virtio_pci_init(&e.t, &e.gm, &virtio_balloon_ops, &e.b, virtio_balloon_features(&e.b),
			      virtio_balloon_num_queues(&e.b), VIRTIO_BALLOON_QUEUE_SIZE,
			      virtio_balloon_cfg_len(), fvp_host_ops(), fvp_msix_ops(), &e.h) == 0);
	e.b.t = &e.t;
	fvp_init_direct(&e.drv, &e.t);
	probe(&e);
	balloon_pages_get_stats(&e.bp, &prev);

	for (unsigned int i = 0; i < NOPS; i++) {
		unsigned int op = ops[i] >> 5, arg = ops[i] & 31;
		int r;

		switch (op) {
		case 0:
			virtio_pci_queue_kicked(&e.t, arg % NQ);
			break;
		case 1:
			r = virtio_balloon_request_stats(&e.b);
			CHECK(r == 0 || r == -EAGAIN || r == -ENODEV || r == -EOPNOTSUPP);
			break;
		case 2:
			virtio_balloon_set_target(&e.b, arg * 97);
			CHECK(virtio_balloon_target(&e.b) == arg * 97);
			break;
		case 3:
			fvp_bar_wr(&e.drv, VPCI_DEVICE_OFF + arg % 8, 1, arg);
			break;
		case 4:
			probe(&e);
			break;
		case 5: {
			struct fv *fv = &e.fv[arg % NQ];

			if (fv->size) {
				fv->avail_idx = (uint16_t)(fv->avail_idx + (arg >> 2) + 1);
				fv_set_avail_idx(fv, fv->avail_idx);
			}
			virtio_pci_queue_kicked(&e.t, arg % NQ);
			break;
		}
		case 6:
			(void)fvp_bar_rd(&e.drv, VPCI_DEVICE_OFF + arg % 8, 1);
			break;
		default:
			for (unsigned int q = 0; q < NQ; q++)
				virtio_pci_queue_kicked(&e.t, q);
			break;
		}
		check(&e, &prev);
	}
	/* a reset gives every page back */
	fvp_set_status(&e.drv, 0);
	balloon_pages_get_stats(&e.bp, &prev);
	CHECK(prev.ballooned == 0 && prev.held_bytes == 0);
	CHECK(virtio_balloon_actual(&e.b) == 0);

	virtio_pci_destroy(&e.t);
	virtio_balloon_destroy(&e.b);
	balloon_pages_destroy(&e.bp);
	return 0;
}
