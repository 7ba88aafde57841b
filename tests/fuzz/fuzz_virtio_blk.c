/* libFuzzer target: a hostile driver's requests against virtio-blk over the
 * virtio-pci transport, with the sync engine on a 1 MiB memfd image.
 *
 * Guest memory is 128 KiB in three regions: A [0, 0x10000) and B
 * [0x10000, 0x1c000) adjacent (buffers may span them), a gap, then C
 * [0x1d000, 0x20000).  The ring sits at fixed addresses (descriptors at 0,
 * avail at 0x800, used at 0x1000), indirect tables at 0x2000 + 128 * k,
 * and the fake driver hands out buffers from [0x4000, 0x1c000) in order.
 *
 * Input: a 2-byte header, then records.
 *   [0] disk: bit 0 readonly, bit 1 discard, bits 2-4 cache mode (% 5),
 *       bit 5 block size 4096, bits 6-7 O_DIRECT alignment 0/512/4096/0
 *       (misaligned buffers go through the bounce buffer; the memfd itself
 *       is never opened O_DIRECT)
 *   [1] driver: bit 0 refuse EVENT_IDX, bit 1 refuse INDIRECT_DESC, bit 2
 *       refuse CONFIG_WCE, bit 3 refuse FLUSH, bits 4-6 ring size
 *       1 << (v % 5) (1..16: the device allocates a 4 KiB slot per entry
 *       on each activation), bit 7 the image has a partial sector at its end
 * A record starts with an op byte: kind = op & 7.
 *   kind 0-6: a request: 0 IN, 1 OUT, 2 FLUSH, 3 GET_ID, 4 DISCARD,
 *       5 WRITE_ZEROES, 6 raw type; bit 3 through an indirect table, bit 4
 *       kick after it, bits 5-7 buffers - 1.  Then 4 bytes v (LE): the
 *       sector (bit 31 set: UINT64_MAX - the rest), or the type for kind 6
 *       (sector 0); 1 byte p; 3 bytes per buffer: LE16 (bit 15 writable,
 *       bit 14 start 8 bytes past 512-alignment, bits 0-13 length) and a
 *       placement byte (0: the driver's next free bytes, else the guest
 *       address byte * 512); then p bytes that follow the 16-byte request
 *       header in the readable buffers (discard / write-zeroes ranges).
 *   kind 7: control, op >> 3: 1/2 write 0/1 to the writeback byte, 3 reset
 *       and probe again, 4 read the whole configuration, else a kick.
 * A request that does not fit in the ring's free descriptors kicks first.
 * Checked after every kick: the image size is unchanged; guest memory
 * changed only inside writable buffers and the used ring; every used
 * element is the next chain published, with a length within its writable
 * bytes (and, when the batch's buffers do not overlap, a valid status and
 * the exact length for it, and then the data: a shadow of the image takes
 * every write and write-zeroes, reads must match it, GET_ID returns the
 * serial); without NEEDS_RESET every chain completed.  NEEDS_RESET makes
 * the driver reset and probe again. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "tests/unit/fake_vpci.h"
#include "tests/unit/fake_vring.h"
#include "virtio/blk.h"
#include "virtio/blk_sync.h"
#include "virtio/virtio_pci.h"

#define MEM_SIZE   0x20000
#define GAP_START  0x1c000
#define GAP_END	   0x1d000
#define DESC_GPA   0x0000
#define AVAIL_GPA  0x0800
#define USED_GPA   0x1000
#define TABLE_GPA  0x2000
#define TABLE_SIZE 128 /* 8 descriptors */
#define NTABLES	   64
#define DATA_GPA   0x4000
#define DATA_END   GAP_START
#define HEADER	   2
#define MAX_BUFS   8
#define MAX_QSIZE  16
#define IMG_SIZE   (1ULL << 20)
#define SERIAL	   "fuzz-serial"

/* An invariant failed: crash so libFuzzer keeps the input. */
#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

#define BIT(n) (1ULL << (n))

static uint8_t mem[MEM_SIZE] __attribute__((aligned(4096)));
static uint8_t before[MEM_SIZE];
static uint8_t chain_bytes[MAX_BUFS * 0x4000];
/* What the image must hold, and the part of it that may be nonzero. */
static uint8_t shadow[IMG_SIZE + 512];
static uint64_t shadow_end;

/* A guest range the device may write in this batch. */
struct range {
	uint64_t gpa, len;
};

/* A chain published in the current batch. */
struct req {
	uint16_t head;
	uint32_t type;
	uint64_t sector;
	uint64_t in_total; /* writable bytes declared */
	uint64_t status;   /* guest address of the status byte, if exact */
	bool exact;	   /* the chain is what was declared (status checks apply) */
	struct fv_buf b[MAX_BUFS];
	unsigned int nb;
};

struct env {
	struct guest_mem gm;
	int fd;
	uint64_t img_size;
	struct blk_disk disk;
	struct virtio_blk blk;
	struct virtio_pci t;
	struct fvp_host h;
	struct fvp drv;
	struct fv fv;
	uint64_t refuse;
	uint16_t qsize;
	/* the batch */
	struct req reqs[MAX_QSIZE];
	unsigned int nreqs;
	unsigned int desc_used, tables_used;
	uint64_t next; /* the driver's next free data byte */
	bool wrapped;  /* data buffers were handed out again in this batch */
	bool raw;      /* a buffer was placed by the input */
	bool clobber;  /* a writable buffer overlaps the rings or tables */
	struct range writable[MAX_QSIZE * MAX_BUFS + 1];
	unsigned int nwritable;
};

static uint64_t fake_clock(void)
{
	static uint64_t now;

	return now += 1000;
}

static void batch_clear(struct env *e)
{
	e->nreqs = 0;
	e->desc_used = e->tables_used = 0;
	e->next = DATA_GPA;
	e->wrapped = e->raw = e->clobber = false;
	e->nwritable = 0;
}

/* The driver's probe over fresh rings. */
static void probe(struct env *e)
{
	uint64_t feat = fvp_device_features(&e->drv) & ~e->refuse;

	fvp_set_status(&e->drv, 0);
	CHECK(fvp_negotiate(&e->drv, feat) & VIRTIO_CONFIG_S_FEATURES_OK);
	fv_init(&e->fv, &e->gm, e->qsize, DESC_GPA, AVAIL_GPA, USED_GPA);
	CHECK(fvp_setup_queue(&e->drv, 0, &e->fv, VPCI_NO_VECTOR) == 1);
	fvp_set_status(&e->drv, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				    VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK(fvp_status(&e->drv) == (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK));
	batch_clear(e);
}

static void mark_writable(struct env *e, uint64_t gpa, uint64_t len)
{
	if (e->nwritable < sizeof(e->writable) / sizeof(e->writable[0]))
		e->writable[e->nwritable++] = (struct range){gpa, len};
}

/* Guest memory changed only inside the writable ranges: take their new
 * bytes into the copy from before the kick and compare everything. */
static void check_writes(struct env *e)
{
	for (unsigned int i = 0; i < e->nwritable; i++) {
		uint64_t a = e->writable[i].gpa, end = a + e->writable[i].len;

		if (end > MEM_SIZE)
			end = MEM_SIZE;
		/* the gap has host memory behind it, but no guest address */
		if (a < GAP_START && end > a)
			memcpy(before + a, mem + a, (end < GAP_START ? end : GAP_START) - a);
		if (a < GAP_END)
			a = GAP_END;
		if (end > a)
			memcpy(before + a, mem + a, end - a);
	}
	CHECK(memcmp(before, mem, MEM_SIZE) == 0);
}

/* The readable (or writable) bytes of r's chain, in order, into
 * chain_bytes.  Returns their count. */
static uint64_t gather(struct env *e, const struct req *r, bool write)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < r->nb; i++) {
		if (r->b[i].write != write)
			continue;
		CHECK(gm_read(&e->gm, r->b[i].addr, chain_bytes + n, r->b[i].len) == 0);
		n += r->b[i].len;
	}
	return n;
}

static void shadow_touch(uint64_t off, uint64_t len)
{
	if (off + len > shadow_end)
		shadow_end = off + len;
}

/* Request r completed with VIRTIO_BLK_S_OK: what it read must be what
 * the image holds; what it wrote, discarded or zeroed goes into the
 * shadow. */
static void model(struct env *e, const struct req *r)
{
	uint64_t off = r->sector * 512, n;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		n = gather(e, r, true) - 1;
		CHECK(off + n <= e->img_size && memcmp(chain_bytes, shadow + off, n) == 0);
		break;
	case VIRTIO_BLK_T_OUT:
		n = gather(e, r, false) - 16;
		CHECK(off + n <= e->img_size);
		memcpy(shadow + off, chain_bytes + 16, n);
		shadow_touch(off, n);
		break;
	case VIRTIO_BLK_T_GET_ID:
		n = gather(e, r, true) - 1;
		CHECK(memcmp(chain_bytes, e->disk.serial, n < BLK_ID_BYTES ? n : BLK_ID_BYTES) ==
		      0);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		n = gather(e, r, false);
		for (uint64_t i = 16; i + 16 <= n; i += 16) {
			struct virtio_blk_discard_write_zeroes seg;
			uint64_t len;

			memcpy(&seg, chain_bytes + i, sizeof(seg));
			off = seg.sector * 512;
			len = (uint64_t)seg.num_sectors * 512;
			CHECK(off + len <= e->img_size);
			if (r->type == VIRTIO_BLK_T_WRITE_ZEROES)
				memset(shadow + off, 0, len);
			else /* discarding is advisory: take what the image holds */
				CHECK(pread(e->fd, shadow + off, len, (off_t)off) == (ssize_t)len);
		}
		break;
	}
}

/* Serve the queue and check what the device did. */
static void kick(struct env *e)
{
	uint16_t used0 = fv_used_idx(&e->fv), used1;
	struct stat st;
	bool exact = !e->wrapped && !e->raw, resync = e->clobber;
	unsigned int n;

	mark_writable(e, USED_GPA, fv_used_bytes(e->qsize));
	memcpy(before, mem, sizeof(mem));
	virtio_pci_queue_kicked(&e->t, 0);

	CHECK(fstat(e->fd, &st) == 0 && (uint64_t)st.st_size == e->img_size);
	if (!e->clobber) {
		check_writes(e);
		used1 = fv_used_idx(&e->fv);
		n = (uint16_t)(used1 - used0);
		CHECK(n <= e->nreqs);
		if (!(virtio_pci_status(&e->t) & VIRTIO_CONFIG_S_NEEDS_RESET))
			CHECK(n == e->nreqs);
		for (unsigned int i = 0; i < n; i++) {
			const struct req *r = &e->reqs[i];
			uint32_t id, len;
			uint8_t s;

			fv_used_elem(&e->fv, (uint16_t)(used0 + i), &id, &len);
			CHECK(id == r->head);
			CHECK(len <= r->in_total);
			if (!exact || !r->exact)
				continue;
			CHECK(len >= 1);
			s = mem[r->status];
			CHECK(s == VIRTIO_BLK_S_OK || s == VIRTIO_BLK_S_IOERR ||
			      s == VIRTIO_BLK_S_UNSUPP);
			if (s != VIRTIO_BLK_S_OK)
				CHECK(len == 1);
			else if (r->type == VIRTIO_BLK_T_IN)
				CHECK(len == r->in_total);
			else if (r->type == VIRTIO_BLK_T_GET_ID)
				CHECK(len == 1 + (r->in_total - 1 < BLK_ID_BYTES ? r->in_total - 1
										 : BLK_ID_BYTES));
			else
				CHECK(len == 1);
			if (s == VIRTIO_BLK_S_OK)
				model(e, r);
		}
		for (unsigned int i = 0; i < n; i++)
			resync = resync || !exact || !e->reqs[i].exact;
	}
	if (resync) {
		/* requests the model cannot follow ran: take the image as it is */
		CHECK(pread(e->fd, shadow, e->img_size, 0) == (ssize_t)e->img_size);
		shadow_end = e->img_size;
	}
	if (e->clobber || (virtio_pci_status(&e->t) & VIRTIO_CONFIG_S_NEEDS_RESET))
		probe(e); /* the driver recovers */
	else
		batch_clear(e);
}

/* Copy the request header and payload into the readable buffers in order
 * (not into the rings: a readable buffer there is read as it is). */
static void fill_readable(struct env *e, const struct fv_buf *b, unsigned int n,
			  const uint8_t *stream, size_t slen)
{
	uint64_t off = 0;

	for (unsigned int i = 0; i < n && off < slen; i++) {
		uint64_t k;

		if (b[i].write)
			continue;
		k = b[i].len < slen - off ? b[i].len : slen - off;
		if (b[i].addr >= DATA_GPA)
			(void)gm_write(&e->gm, b[i].addr, stream + off, k);
		off += b[i].len;
	}
}

/* Decode one request record at *p (end at end) and publish it.  Returns
 * false when the input ends inside it. */
static bool request(struct env *e, uint8_t op, const uint8_t **p, const uint8_t *end)
{
	static const uint32_t types[] = {VIRTIO_BLK_T_IN,      VIRTIO_BLK_T_OUT,
					 VIRTIO_BLK_T_FLUSH,   VIRTIO_BLK_T_GET_ID,
					 VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES};
	unsigned int kind = op & 7, nb = (op >> 5) + 1u;
	bool indirect = op & 8;
	struct virtio_blk_outhdr hdr;
	struct fv_buf b[MAX_BUFS];
	uint8_t stream[sizeof(hdr) + 255];
	unsigned int need = indirect ? 1 : nb;
	struct req *r;
	uint32_t v;
	uint8_t plen;
	bool exact = true;

	if (end - *p < 5 + 3 * (ptrdiff_t)nb)
		return false;
	/* room in the ring (all of it for a chain longer than the ring) */
	if (e->desc_used + need > e->qsize || e->nreqs == sizeof(e->reqs) / sizeof(e->reqs[0]) ||
	    (indirect && e->tables_used == NTABLES))
		kick(e);
	if (need > e->qsize)
		exact = false; /* its descriptors overwrite each other */
	memcpy(&v, *p, 4);
	plen = (*p)[4];
	*p += 5;
	memset(&hdr, 0, sizeof(hdr));
	if (kind == 6) {
		hdr.type = v;
	} else {
		hdr.type = types[kind];
		hdr.sector = v & 0x80000000u ? UINT64_MAX - (v & 0x7fffffffu) : v;
	}
	for (unsigned int i = 0; i < nb; i++) {
		uint16_t w = (uint16_t)((*p)[0] | (*p)[1] << 8);
		uint8_t place = (*p)[2];
		uint32_t len = w & 0x3fff;
		uint64_t skew = w & 0x4000 ? 8 : 0;

		*p += 3;
		if (place) {
			b[i].addr = (uint64_t)place * 512 + skew;
			e->raw = true;
		} else {
			uint64_t a = ((e->next + 511) & ~511ULL) + skew;

			if (a + len > DATA_END) {
				a = DATA_GPA + skew;
				e->wrapped = true;
			}
			b[i].addr = a;
			e->next = a + len;
		}
		b[i].len = len;
		b[i].write = w & 0x8000;
	}
	if (plen > end - *p)
		plen = (uint8_t)(end - *p);
	memcpy(stream, &hdr, sizeof(hdr));
	memcpy(stream + sizeof(hdr), *p, plen);
	*p += plen;
	fill_readable(e, b, nb, stream, sizeof(hdr) + plen);

	r = &e->reqs[e->nreqs++];
	r->type = hdr.type;
	r->sector = hdr.sector;
	r->nb = nb;
	memcpy(r->b, b, nb * sizeof(b[0]));
	r->in_total = 0;
	for (unsigned int i = 0; i < nb; i++) {
		if (!b[i].write)
			continue;
		r->in_total += b[i].len;
		mark_writable(e, b[i].addr, b[i].len);
		if (b[i].addr < DATA_GPA)
			e->clobber = true;
	}
	r->exact = exact && b[nb - 1].write && b[nb - 1].len > 0;
	r->status = b[nb - 1].addr + b[nb - 1].len - 1;
	if (indirect) {
		uint64_t table = TABLE_GPA + (uint64_t)TABLE_SIZE * e->tables_used++;

		r->head = fv_add_indirect(&e->fv, table, b, nb);
	} else {
		r->head = fv_add_chain(&e->fv, b, nb);
	}
	e->desc_used += need;
	if ((op & 0x10) || need > e->qsize)
		kick(e);
	return true;
}

static void control(struct env *e, unsigned int sub)
{
	uint64_t cap_off = VPCI_DEVICE_OFF + offsetof(struct virtio_blk_config, capacity);
	uint64_t wce_off = VPCI_DEVICE_OFF + offsetof(struct virtio_blk_config, wce);

	switch (sub) {
	case 1:
	case 2:
		fvp_bar_wr(&e->drv, wce_off, 1, sub - 1);
		break;
	case 3:
		if (e->nreqs)
			kick(e);
		probe(e);
		break;
	case 4:
		CHECK(fvp_bar_rd(&e->drv, cap_off, 8) == e->img_size / 512);
		for (uint32_t off = 0; off < virtio_blk_cfg_len(); off += 4)
			(void)fvp_bar_rd(&e->drv, VPCI_DEVICE_OFF + off, 4);
		break;
	default:
		kick(e);
		break;
	}
}

/* The device allocates its request slots (4 KiB each) on every activation:
 * with ASan's default 256 MiB quarantine nearly every run would fault in
 * fresh pages.  A run frees far less than 16 MiB, so a use after free
 * within one run is still caught. */
const char *__asan_default_options(void);

const char *__asan_default_options(void)
{
	return "quarantine_size_mb=16";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const uint32_t aligns[4] = {0, 512, 4096, 0};
	static int fd = -1;
	static struct env e;
	const struct blk_engine_ops *ops[1] = {&blk_sync_ops};
	struct blk_sync sync;
	void *engs[1] = {&sync};
	const uint8_t *p, *end = data + len;

	if (len < HEADER)
		return 0;
	if (fd < 0) {
		fd = memfd_create("fuzz-blk", MFD_CLOEXEC);
		CHECK(fd >= 0);
	}
	memset(&e, 0, sizeof(e));
	memset(mem, 0xa5, sizeof(mem)); /* reads of the sparse image write zeroes */
	gm_init(&e.gm);
	CHECK(gm_region_add(&e.gm, 0, 0x10000, mem) == 0);
	CHECK(gm_region_add(&e.gm, 0x10000, GAP_START - 0x10000, mem + 0x10000) == 0);
	CHECK(gm_region_add(&e.gm, GAP_END, MEM_SIZE - GAP_END, mem + GAP_END) == 0);

	/* a fresh sparse image every run, all zeroes */
	memset(shadow, 0, shadow_end);
	shadow_end = 0;
	e.fd = fd;
	e.img_size = IMG_SIZE + (data[1] & 0x80 ? 300 : 0);
	CHECK(ftruncate(fd, 0) == 0 && ftruncate(fd, (off_t)e.img_size) == 0);
	sync.fd = fd;

	e.disk.fd = fd;
	e.disk.size = e.img_size;
	e.disk.readonly = data[0] & 1;
	e.disk.discard = data[0] & 2;
	e.disk.cache = (enum blk_cache)(((data[0] >> 2) & 7) % 5);
	e.disk.block_size = data[0] & 0x20 ? 4096 : 512;
	e.disk.dio_align = aligns[data[0] >> 6];
	memcpy(e.disk.serial, SERIAL, strlen(SERIAL));
	e.refuse = (data[1] & 1 ? BIT(VIRTIO_RING_F_EVENT_IDX) : 0) |
		   (data[1] & 2 ? BIT(VIRTIO_RING_F_INDIRECT_DESC) : 0) |
		   (data[1] & 4 ? BIT(VIRTIO_BLK_F_CONFIG_WCE) : 0) |
		   (data[1] & 8 ? BIT(VIRTIO_BLK_F_FLUSH) : 0);
	e.qsize = (uint16_t)(1u << ((data[1] >> 4) & 7) % 5);

	CHECK(virtio_blk_init(&e.blk, &e.disk, 1, ops, engs) == 0);
	e.blk.now_ns = fake_clock;
	CHECK(virtio_pci_init(&e.t, &e.gm, &virtio_blk_ops, &e.blk, virtio_blk_features(&e.blk), 1,
			      256, virtio_blk_cfg_len(), fvp_host_ops(), fvp_msix_ops(),
			      &e.h) == 0);
	e.blk.t = &e.t;
	fvp_init_direct(&e.drv, &e.t);
	probe(&e);

	for (p = data + HEADER; p < end;) {
		uint8_t op = *p++;

		if ((op & 7) == 7)
			control(&e, op >> 3);
		else if (!request(&e, op, &p, end))
			break;
	}
	if (e.nreqs)
		kick(&e);
	fvp_set_status(&e.drv, 0);
	virtio_pci_destroy(&e.t);
	virtio_blk_destroy(&e.blk);
	return 0;
}
