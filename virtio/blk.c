/* virtio-blk: request parsing against a hostile driver, completion,
 * configuration space and feature bits.  I/O goes to the queue's engine;
 * GET_ID, DISCARD and WRITE_ZEROES are served here.  See blk.h. */
#include "virtio/blk.h"
#include "virtio/iov.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "vmm/clock.h"

/* Config space and request headers are little-endian; so is the host. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "virtio-blk assumes a little-endian host");
_Static_assert(sizeof(struct virtio_blk_outhdr) == 16, "outhdr layout");
_Static_assert(sizeof(struct virtio_blk_discard_write_zeroes) == 16, "range layout");

#define BIT(n) (1ull << (n))

/* Indices of blk_queue_stats.reqs. */
enum { K_IN, K_OUT, K_FLUSH, K_GET_ID, K_DISCARD, K_WRITE_ZEROES, K_OTHER };

/* Source of zeroes for WRITE_ZEROES where fallocate cannot zero (aligned
 * for O_DIRECT up to 4096 bytes). */
static const uint8_t zero_buf[65536] __attribute__((aligned(4096)));

static const char *const cache_names[] = {
    [BLK_CACHE_NONE] = "none",
    [BLK_CACHE_WRITEBACK] = "writeback",
    [BLK_CACHE_WRITETHROUGH] = "writethrough",
    [BLK_CACHE_DIRECTSYNC] = "directsync",
    [BLK_CACHE_UNSAFE] = "unsafe",
};

const char *blk_cache_name(enum blk_cache c)
{
	if ((unsigned int)c >= sizeof(cache_names) / sizeof(cache_names[0]))
		return "?";
	return cache_names[c];
}

bool blk_cache_has_wce(enum blk_cache c)
{
	return c == BLK_CACHE_NONE || c == BLK_CACHE_WRITEBACK || c == BLK_CACHE_UNSAFE;
}

static uint64_t mono_ns(void)
{
	return clock_ns();
}

static uint8_t default_wce(const struct virtio_blk *blk)
{
	return blk_cache_has_wce(blk->disk.cache) ? 1 : 0;
}

static uint64_t capacity(const struct virtio_blk *blk)
{
	return blk->disk.size / BLK_SECTOR;
}

static bool offers_discard(const struct virtio_blk *blk)
{
	return blk->disk.discard && !blk->disk.readonly;
}

static bool pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* ---- features and configuration space -------------------------------- */

uint64_t virtio_blk_features(const struct virtio_blk *blk)
{
	uint64_t f = BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_MQ) |
		     BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC);

	if (blk_cache_has_wce(blk->disk.cache))
		f |= BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_CONFIG_WCE);
	if (blk->disk.readonly)
		f |= BIT(VIRTIO_BLK_F_RO);
	if (offers_discard(blk))
		f |= BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	return f;
}

uint32_t virtio_blk_cfg_len(void)
{
	return sizeof(struct virtio_blk_config);
}

/* The configuration space as the driver sees it now. */
static void build_cfg(const struct virtio_blk *blk, struct virtio_blk_config *c)
{
	memset(c, 0, sizeof(*c));
	c->capacity = capacity(blk);
	c->seg_max = BLK_SEG_MAX;
	c->blk_size = blk->disk.block_size;
	c->wce = atomic_load(&blk->wce);
	c->num_queues = (uint16_t)blk->nq;
	if (offers_discard(blk)) {
		c->max_discard_sectors = BLK_MAX_DISCARD_SECTORS;
		c->max_discard_seg = BLK_MAX_DISCARD_SEG;
		c->discard_sector_alignment = blk->disk.block_size / BLK_SECTOR;
		c->max_write_zeroes_sectors = BLK_MAX_WRITE_ZEROES_SECTORS;
		c->max_write_zeroes_seg = BLK_MAX_DISCARD_SEG;
		c->write_zeroes_may_unmap = 1;
	}
}

static void blk_cfg_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_blk_config c;

	build_cfg(dev, &c);
	memcpy(data, (const uint8_t *)&c + off, len); /* off + len <= cfg_len */
}

/* Only the writeback byte is writable, and only with CONFIG_WCE. */
static void blk_cfg_write(void *dev, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct virtio_blk *blk = dev;

	if (off != offsetof(struct virtio_blk_config, wce) || len != 1 || !blk->t ||
	    !(virtio_pci_features(blk->t) & BIT(VIRTIO_BLK_F_CONFIG_WCE)))
		return;
	atomic_store(&blk->wce, data[0] ? 1 : 0);
}

/* ---- iovec helpers ----------------------------------------------------- */

/* Drop the first len bytes of iov[*first, end): *first moves past whole
 * iovecs and a partly used one is shortened from the front. */
static void iov_consume(struct iovec *iov, unsigned int *first, unsigned int end, size_t len)
{
	while (*first < end && len >= iov[*first].iov_len) {
		len -= iov[*first].iov_len;
		(*first)++;
	}
	if (*first < end && len) {
		iov[*first].iov_base = (uint8_t *)iov[*first].iov_base + len;
		iov[*first].iov_len -= len;
	}
}

static bool iov_aligned(const struct iovec *iov, int n, uint32_t a)
{
	for (int i = 0; i < n; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & (a - 1))
			return false;
	return true;
}

/* ---- completion -------------------------------------------------------- */

static unsigned int kind(uint32_t type)
{
	switch (type) {
	case VIRTIO_BLK_T_IN:
		return K_IN;
	case VIRTIO_BLK_T_OUT:
		return K_OUT;
	case VIRTIO_BLK_T_FLUSH:
		return K_FLUSH;
	case VIRTIO_BLK_T_GET_ID:
		return K_GET_ID;
	case VIRTIO_BLK_T_DISCARD:
		return K_DISCARD;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return K_WRITE_ZEROES;
	default:
		return K_OTHER;
	}
}

/* Latency bucket: 0 below 1 us, else b with 2^(b-1) <= us < 2^b (the
 * last bucket takes everything longer). */
static unsigned int lat_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned int b;

	if (us == 0)
		return 0;
	b = 64u - (unsigned int)__builtin_clzll(us);
	return b < BLK_LAT_BUCKETS ? b : BLK_LAT_BUCKETS - 1;
}

/* Finish r: write status st (if the chain has a status byte), push it with
 * `written` data bytes plus the status byte, account, free the slot. */
static void complete(struct blk_req *r, uint8_t st, uint32_t written)
{
	struct blk_queue *q = r->q;
	struct virtio_blk *blk = q->blk;
	struct blk_queue_stats *s = &q->stats;
	uint64_t now = blk->now_ns();
	uint32_t used = 0;

	if (r->status) {
		*r->status = st; /* published by the release in vq_flush */
		used = written + 1;
	} else {
		st = VIRTIO_BLK_S_IOERR; /* nowhere to say so; still an error */
	}
	vq_push(q->vq, r->elem.head, used);
	q->pushed = true;

	atomic_fetch_add_explicit(&s->reqs[kind(r->type)], 1, memory_order_relaxed);
	if (st != VIRTIO_BLK_S_OK)
		atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
	else if (r->type == VIRTIO_BLK_T_IN)
		atomic_fetch_add_explicit(&s->bytes[0], r->len, memory_order_relaxed);
	else if (r->type == VIRTIO_BLK_T_OUT)
		atomic_fetch_add_explicit(&s->bytes[1], r->len, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->lat[lat_bucket(now > r->start_ns ? now - r->start_ns : 0)], 1,
				  memory_order_relaxed);

	r->next_free = q->free;
	q->free = r;
	q->inflight--;
	/* Sequentially consistent decrement: whoever takes the count to 0
	 * then takes idle_lock to wake quiesce, which re-reads the count
	 * under that lock before sleeping, so the wake-up cannot be lost. */
	if (atomic_fetch_sub(&blk->inflight_total, 1) == 1) {
		pthread_mutex_lock(&blk->idle_lock);
		pthread_cond_broadcast(&blk->idle);
		pthread_mutex_unlock(&blk->idle_lock);
	}
}

void blk_req_done(struct blk_req *r, int64_t result)
{
	bool ok = result >= 0;
	uint32_t written = 0;

	if (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT)
		ok = ok && (uint64_t)result == r->len; /* a short transfer is an error */
	if (ok && r->type == VIRTIO_BLK_T_IN) {
		if (r->iov == &r->bounce_iov)
			iov_scatter(r->data_iov, (unsigned int)r->data_iovcnt, 0, r->bounce,
				    r->len);
		written = r->len;
	}
	complete(r, ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR, written);
}

void virtio_blk_queue_flush(struct blk_queue *q)
{
	struct virtio_pci *t = q->blk->t;

	if (q->pushed) {
		q->pushed = false;
		vq_flush(q->vq);
		if (vq_should_notify(q->vq)) {
			atomic_fetch_add_explicit(&q->stats.interrupts, 1, memory_order_relaxed);
			virtio_pci_queue_interrupt(t, q->idx);
		}
	}
	/* A driver that reuses descriptors still in flight can run us out of
	 * slots; once one is free again, have the IO thread look at the queue. */
	if (q->starved && q->free) {
		q->starved = false;
		t->host->kick(t->host_opaque, q->idx);
	}
}

/* ---- requests ---------------------------------------------------------- */

/* Make sure r's bounce buffer holds len bytes (aligned to a).  Keeps a
 * buffer large enough; grows to the next power of two.  0 or -ENOMEM. */
static int bounce_reserve(struct blk_req *r, uint32_t len, uint32_t a)
{
	size_t cap = 4096;
	void *p;

	if (r->bounce && r->bounce_cap >= len)
		return 0;
	while (cap < len)
		cap *= 2;
	if (posix_memalign(&p, a < sizeof(void *) ? sizeof(void *) : a, cap))
		return -ENOMEM;
	free(r->bounce);
	r->bounce = p;
	r->bounce_cap = cap;
	return 0;
}

/* Check an IN/OUT request over data iovecs iov[0, n) of len bytes and
 * prepare r for the engine.  Returns VIRTIO_BLK_S_OK or IOERR. */
static uint8_t prepare_rw(struct virtio_blk *blk, struct blk_req *r, uint64_t sector,
			  struct iovec *iov, unsigned int n, uint32_t len)
{
	uint64_t cap = capacity(blk);
	uint32_t a = blk->disk.dio_align;
	bool out = r->type == VIRTIO_BLK_T_OUT;

	if (len % BLK_SECTOR || n > BLK_SEG_MAX)
		return VIRTIO_BLK_S_IOERR;
	if (sector > cap || len / BLK_SECTOR > cap - sector)
		return VIRTIO_BLK_S_IOERR;
	r->offset = sector * BLK_SECTOR;
	r->data_iov = iov;
	r->data_iovcnt = (int)n;
	r->iov = iov;
	r->iovcnt = (int)n;
	/* O_DIRECT: a misaligned offset or length cannot be served even
	 * through a bounce buffer (a block_size >= dio_align keeps a
	 * well-behaved guest away from it); misaligned memory is bounced. */
	if (a && ((r->offset | len) & (a - 1)))
		return VIRTIO_BLK_S_IOERR;
	if (a && !iov_aligned(iov, (int)n, a)) {
		if (len > BLK_BOUNCE_MAX || bounce_reserve(r, len, a))
			return VIRTIO_BLK_S_IOERR;
		if (out)
			iov_gather(iov, n, 0, r->bounce, len);
		r->bounce_iov.iov_base = r->bounce;
		r->bounce_iov.iov_len = len;
		r->iov = &r->bounce_iov;
		r->iovcnt = 1;
	}
	/* The guest switched the write cache off: every write is durable
	 * before it completes (not in unsafe mode, which never syncs). */
	r->dsync = out && atomic_load(&blk->wce) == 0 && blk_cache_has_wce(blk->disk.cache) &&
		   blk->disk.cache != BLK_CACHE_UNSAFE;
	r->len = len;
	return VIRTIO_BLK_S_OK;
}

/* Write len zero bytes at off with pwrite. */
static int write_zeroes(int fd, uint64_t off, uint64_t len)
{
	while (len) {
		size_t n = len < sizeof(zero_buf) ? (size_t)len : sizeof(zero_buf);
		ssize_t w = pwrite(fd, zero_buf, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

/* Deallocate (unmap) or zero [off, off + len).  A discard the file cannot
 * do is skipped (it is advisory); zeroing falls back to writing zeroes. */
static int zero_range(int fd, uint64_t off, uint64_t len, bool unmap, bool discard)
{
	if (unmap) {
		if (!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			       (off_t)len))
			return 0;
		if (errno != EOPNOTSUPP)
			return -errno;
		if (discard)
			return 0;
	}
	if (!fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	return write_zeroes(fd, off, len);
}

/* DISCARD / WRITE_ZEROES with len bytes of ranges in iov[0, n) and
 * wr_len writable bytes before the status.  Every range is checked before
 * any is applied.  Returns the status. */
static uint8_t discard_wz(struct virtio_blk *blk, uint32_t type, const struct iovec *iov,
			  unsigned int n, uint32_t len, uint32_t wr_len)
{
	struct virtio_blk_discard_write_zeroes seg[BLK_MAX_DISCARD_SEG];
	bool discard = type == VIRTIO_BLK_T_DISCARD;
	uint32_t max = discard ? BLK_MAX_DISCARD_SECTORS : BLK_MAX_WRITE_ZEROES_SECTORS;
	uint32_t allowed = discard ? 0 : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	uint64_t cap = capacity(blk);
	unsigned int nseg;

	if (blk->disk.readonly)
		return VIRTIO_BLK_S_IOERR;
	if (!blk->disk.discard)
		return VIRTIO_BLK_S_UNSUPP;
	if (wr_len || len == 0 || len % sizeof(seg[0]) ||
	    len / sizeof(seg[0]) > BLK_MAX_DISCARD_SEG)
		return VIRTIO_BLK_S_IOERR;
	nseg = len / sizeof(seg[0]);
	iov_gather(iov, n, 0, seg, len);
	for (unsigned int i = 0; i < nseg; i++) {
		uint64_t sector = seg[i].sector;
		uint32_t num = seg[i].num_sectors;

		if (num > max || sector > cap || num > cap - sector || (seg[i].flags & ~allowed))
			return VIRTIO_BLK_S_IOERR;
	}
	for (unsigned int i = 0; i < nseg; i++) {
		if (seg[i].num_sectors == 0)
			continue;
		if (zero_range(blk->disk.fd, seg[i].sector * BLK_SECTOR,
			       (uint64_t)seg[i].num_sectors * BLK_SECTOR,
			       discard || (seg[i].flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
			       discard))
			return VIRTIO_BLK_S_IOERR;
	}
	/* write cache off: durable before completion, like a write */
	if (atomic_load(&blk->wce) == 0 && blk_cache_has_wce(blk->disk.cache) &&
	    blk->disk.cache != BLK_CACHE_UNSAFE && fdatasync(blk->disk.fd))
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

/* Parse the chain just popped into r and serve it: complete it here or
 * hand it to the engine (counted in *submitted). */
static void serve_req(struct blk_queue *q, struct blk_req *r, unsigned int *submitted)
{
	struct virtio_blk *blk = q->blk;
	struct vq_elem *e = &r->elem;
	unsigned int nio = (unsigned int)e->out_num + e->in_num;
	unsigned int rd = 0, wr = e->in_num;
	struct virtio_blk_outhdr hdr;
	struct iovec *last;
	uint32_t rd_len, wr_len, written = 0;
	uint8_t st;
	int ret;

	r->type = UINT32_MAX; /* "other" until the header is read */
	r->status = NULL;
	r->iov = r->data_iov = NULL;
	r->iovcnt = r->data_iovcnt = 0;
	r->len = 0;
	r->offset = 0;
	r->dsync = false;

	/* The status is the last byte of the last writable buffer. */
	last = &e->iov[nio ? nio - 1 : 0];
	if (e->in_num == 0 || last->iov_len == 0) {
		complete(r, VIRTIO_BLK_S_IOERR, 0);
		return;
	}
	r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	last->iov_len--;
	if (last->iov_len == 0)
		wr--;
	wr_len = e->in_len - 1;

	if (e->out_len < sizeof(hdr)) {
		complete(r, VIRTIO_BLK_S_IOERR, 0);
		return;
	}
	/* Copied once: the driver may change guest memory under us. */
	iov_gather(e->iov, e->out_num, 0, &hdr, sizeof(hdr));
	iov_consume(e->iov, &rd, e->out_num, sizeof(hdr));
	rd_len = e->out_len - (uint32_t)sizeof(hdr);
	r->type = hdr.type;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		st = rd_len ? VIRTIO_BLK_S_IOERR
			    : prepare_rw(blk, r, hdr.sector, &e->iov[e->out_num], wr, wr_len);
		break;
	case VIRTIO_BLK_T_OUT:
		st = blk->disk.readonly || wr_len
			 ? VIRTIO_BLK_S_IOERR
			 : prepare_rw(blk, r, hdr.sector, &e->iov[rd], e->out_num - rd, rd_len);
		break;
	case VIRTIO_BLK_T_FLUSH:
		/* Without a write cache (O_DSYNC) or in unsafe mode there is
		 * nothing to do. */
		st = VIRTIO_BLK_S_OK;
		if (!blk_cache_has_wce(blk->disk.cache) || blk->disk.cache == BLK_CACHE_UNSAFE) {
			complete(r, st, 0);
			return;
		}
		break;
	case VIRTIO_BLK_T_GET_ID:
		written = (uint32_t)iov_scatter(&e->iov[e->out_num], wr, 0, blk->disk.serial,
						wr_len < BLK_ID_BYTES ? wr_len : BLK_ID_BYTES);
		complete(r, VIRTIO_BLK_S_OK, written);
		return;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		complete(r, discard_wz(blk, r->type, &e->iov[rd], e->out_num - rd, rd_len, wr_len),
			 0);
		return;
	default:
		complete(r, VIRTIO_BLK_S_UNSUPP, 0);
		return;
	}
	if (st != VIRTIO_BLK_S_OK) {
		r->len = 0;
		complete(r, st, 0);
		return;
	}
	if (r->type != VIRTIO_BLK_T_FLUSH && r->len == 0) {
		complete(r, VIRTIO_BLK_S_OK, 0); /* nothing to move */
		return;
	}
	(*submitted)++;
	ret = q->eng_ops->submit(q->eng, r);
	if (ret < 0)
		blk_req_done(r, ret);
}

/* ---- device ops -------------------------------------------------------- */

static void blk_queue_notify(void *dev, unsigned int qi, struct vq *vq)
{
	struct virtio_blk *blk = dev;
	struct blk_queue *q;
	bool any = false;

	if (qi >= blk->nq)
		return;
	q = &blk->q[qi];
	q->vq = vq;
	for (;;) {
		unsigned int submitted = 0;
		struct blk_req *r;
		int n = 0;

		vq_disable_notify(vq);
		while ((r = q->free) != NULL) {
			n = vq_pop(vq, &r->elem);
			if (n <= 0)
				break;
			q->free = r->next_free;
			r->start_ns = blk->now_ns();
			q->inflight++;
			if (q->inflight >
			    atomic_load_explicit(&q->stats.inflight_max, memory_order_relaxed))
				atomic_store_explicit(&q->stats.inflight_max, q->inflight,
						      memory_order_relaxed);
			/* pairs with the decrement in complete() */
			atomic_fetch_add(&blk->inflight_total, 1);
			any = true;
			serve_req(q, r, &submitted);
		}
		if (submitted)
			q->eng_ops->flush(q->eng);
		/* one used-index update and at most one interrupt per batch */
		virtio_blk_queue_flush(q);
		if (n < 0) {
			virtio_pci_queue_broken(blk->t, qi);
			break;
		}
		if (!r) {
			/* No free slot.  If buffers wait (a driver re-publishing
			 * descriptors in flight), the next completion re-kicks
			 * the queue; if not, the driver kicks for new ones. */
			q->starved = vq_enable_notify(vq);
			break;
		}
		if (!vq_enable_notify(vq))
			break;
	}
	if (any)
		atomic_fetch_add_explicit(&q->stats.batches, 1, memory_order_relaxed);
}

static void free_slots(struct blk_queue *q)
{
	for (unsigned int i = 0; i < q->nslots; i++)
		free(q->slots[i].bounce);
	free(q->slots);
	q->slots = NULL;
	q->nslots = 0;
	q->free = NULL;
}

/* DRIVER_OK: give every enabled queue a slot per ring entry (kept across
 * resets and only reallocated to grow). */
static int blk_activate(void *dev)
{
	struct virtio_blk *blk = dev;

	for (unsigned int i = 0; i < blk->nq; i++) {
		struct blk_queue *q = &blk->q[i];
		struct vq *vq = i < blk->t->num_queues ? &blk->t->queues[i].vq : NULL;

		q->vq = vq;
		q->free = NULL;
		q->inflight = 0;
		q->pushed = q->starved = false;
		if (!vq || vq->size == 0)
			continue;
		if (q->nslots < vq->size) {
			struct blk_req *s = calloc(vq->size, sizeof(*s));

			if (!s)
				return -ENOMEM;
			free_slots(q);
			q->slots = s;
			q->nslots = vq->size;
		}
		for (unsigned int j = q->nslots; j-- > 0;) {
			q->slots[j].q = q;
			q->slots[j].next_free = q->free;
			q->free = &q->slots[j];
		}
	}
	return 0;
}

/* Wait until no request is in flight.  An IO thread may still be inside a
 * batch that began before the transport stopped serving kicks: taking each
 * queue lock once waits for it (no new batch starts afterwards). */
static void blk_quiesce(void *dev)
{
	struct virtio_blk *blk = dev;

	for (unsigned int i = 0; i < blk->nq && i < blk->t->num_queues; i++) {
		virtio_pci_queue_lock(blk->t, i);
		virtio_pci_queue_unlock(blk->t, i);
	}
	pthread_mutex_lock(&blk->idle_lock);
	while (atomic_load(&blk->inflight_total))
		pthread_cond_wait(&blk->idle, &blk->idle_lock);
	pthread_mutex_unlock(&blk->idle_lock);
}

/* Nothing is in flight (quiesce ran): drop queue state, keep the slots. */
static void blk_reset(void *dev)
{
	struct virtio_blk *blk = dev;

	for (unsigned int i = 0; i < blk->nq; i++) {
		struct blk_queue *q = &blk->q[i];

		q->free = NULL;
		q->inflight = 0;
		q->pushed = q->starved = false;
	}
	atomic_store(&blk->wce, default_wce(blk));
}

const struct virtio_dev_ops virtio_blk_ops = {
    .name = "blk",
    .device_id = VIRTIO_ID_BLOCK,
    .class_code = 0x018000, /* mass storage, other */
    .cfg_read = blk_cfg_read,
    .cfg_write = blk_cfg_write,
    .activate = blk_activate,
    .quiesce = blk_quiesce,
    .reset = blk_reset,
    .queue_notify = blk_queue_notify,
};

/* ---- setup ------------------------------------------------------------- */

int virtio_blk_init(struct virtio_blk *blk, const struct blk_disk *disk, unsigned int nq,
		    const struct blk_engine_ops *const *eng_ops, void *const *eng)
{
	int r;

	if (!blk || !disk || !eng_ops || nq == 0 || nq > BLK_MAX_QUEUES || disk->fd < 0 ||
	    !pow2(disk->block_size) || disk->block_size < BLK_SECTOR || disk->block_size > 4096 ||
	    (disk->dio_align && !pow2(disk->dio_align)) ||
	    (unsigned int)disk->cache > BLK_CACHE_UNSAFE)
		return -EINVAL;
	for (unsigned int i = 0; i < nq; i++)
		if (!eng_ops[i] || !eng_ops[i]->submit || !eng_ops[i]->flush)
			return -EINVAL;
	memset(blk, 0, sizeof(*blk));
	blk->disk = *disk;
	blk->nq = nq;
	blk->now_ns = mono_ns;
	atomic_store(&blk->wce, default_wce(blk));
	atomic_store(&blk->inflight_total, 0);
	r = pthread_mutex_init(&blk->idle_lock, NULL);
	if (r)
		return -r;
	r = pthread_cond_init(&blk->idle, NULL);
	if (r) {
		pthread_mutex_destroy(&blk->idle_lock);
		return -r;
	}
	for (unsigned int i = 0; i < nq; i++) {
		blk->q[i].blk = blk;
		blk->q[i].idx = i;
		blk->q[i].eng_ops = eng_ops[i];
		blk->q[i].eng = eng ? eng[i] : NULL;
	}
	return 0;
}

void virtio_blk_destroy(struct virtio_blk *blk)
{
	for (unsigned int i = 0; i < blk->nq; i++)
		free_slots(&blk->q[i]);
	pthread_cond_destroy(&blk->idle);
	pthread_mutex_destroy(&blk->idle_lock);
}
