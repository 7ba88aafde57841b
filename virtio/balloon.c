/* virtio-balloon: inflate / deflate arrays, statistics, free page
 * reporting, the target in the configuration space.  See balloon.h. */
#include "virtio/balloon.h"
#include "virtio/iov.h"
#include "vmm/clock.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <linux/virtio_balloon.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

/* PFNs, statistics and the configuration space are little-endian; so is
 * the host. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "virtio-balloon assumes a little-endian host");
_Static_assert(sizeof(struct virtio_balloon_stat) == VIRTIO_BALLOON_STAT_LEN, "stat layout");
_Static_assert(offsetof(struct virtio_balloon_config, actual) == 4, "config layout");

#define BIT(n)	 (1ull << (n))
#define NO_QUEUE VIRTIO_BALLOON_MAX_QUEUES
#define CFG_LEN	 8 /* num_pages, actual */

static bool has(uint64_t f, unsigned int bit)
{
	return (f >> bit) & 1;
}

static void count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* ---- features, layout, configuration ------------------------------------ */

uint64_t virtio_balloon_features(const struct virtio_balloon *b)
{
	uint64_t f = BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC);

	if (b->opts.deflate_on_oom)
		f |= BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
	if (b->opts.stats)
		f |= BIT(VIRTIO_BALLOON_F_STATS_VQ);
	if (b->opts.free_page_reporting)
		f |= BIT(VIRTIO_BALLOON_F_REPORTING);
	return f;
}

unsigned int virtio_balloon_num_queues(const struct virtio_balloon *b)
{
	return 2 + (b->opts.stats ? 1 : 0) + (b->opts.free_page_reporting ? 1 : 0);
}

uint32_t virtio_balloon_cfg_len(void)
{
	return CFG_LEN;
}

enum virtio_balloon_role virtio_balloon_queue_role(uint64_t f, unsigned int q)
{
	unsigned int next = 2;

	if (q == 0)
		return VIRTIO_BALLOON_Q_INFLATE;
	if (q == 1)
		return VIRTIO_BALLOON_Q_DEFLATE;
	/* Absent queues take no index (Linux's vp_find_vqs numbers only the
	 * queues it sets up). */
	if (has(f, VIRTIO_BALLOON_F_STATS_VQ) && q == next++)
		return VIRTIO_BALLOON_Q_STATS;
	if (has(f, VIRTIO_BALLOON_F_REPORTING) && q == next)
		return VIRTIO_BALLOON_Q_REPORTING;
	return VIRTIO_BALLOON_Q_NONE;
}

static void bal_cfg_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_balloon *b = dev;
	uint32_t c[2] = {atomic_load(&b->num_pages), atomic_load(&b->actual)};

	memcpy(data, (const uint8_t *)c + off, len); /* off + len <= CFG_LEN */
}

static void bal_cfg_write(void *dev, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct virtio_balloon *b = dev;
	uint32_t actual = atomic_load(&b->actual);
	uint8_t *a = (uint8_t *)&actual;
	bool hit = false;

	/* num_pages is the device's: only bytes of actual are taken */
	for (uint32_t i = 0; i < len; i++) {
		uint32_t o = off + i;

		if (o >= 4 && o < 8) {
			a[o - 4] = data[i];
			hit = true;
		}
	}
	if (!hit)
		return;
	atomic_store(&b->actual, actual);
	count(&b->counters.actual_writes, 1);
}

void virtio_balloon_set_target(struct virtio_balloon *b, uint32_t pages)
{
	atomic_store(&b->num_pages, pages);
	count(&b->counters.target_changes, 1);
	/* The store above comes before the generation bump (both seq_cst):
	 * a driver that sees the new generation reads the new target. */
	if (b->t)
		virtio_pci_config_changed(b->t);
}

uint32_t virtio_balloon_target(const struct virtio_balloon *b)
{
	return atomic_load(&((struct virtio_balloon *)b)->num_pages);
}

uint32_t virtio_balloon_actual(const struct virtio_balloon *b)
{
	return atomic_load(&((struct virtio_balloon *)b)->actual);
}

/* ---- inflate / deflate -------------------------------------------------- */

/* Account the PFN array of e.  Returns false if e is malformed (nothing
 * done then). */
static bool serve_pfns(struct virtio_balloon *b, struct virtio_balloon_queue *bq,
		       const struct vq_elem *e, bool inflate)
{
	uint32_t n, done = 0;

	if (e->in_num || e->out_len % sizeof(uint32_t) ||
	    e->out_len / sizeof(uint32_t) > VIRTIO_BALLOON_MAX_PFNS)
		return false;
	n = e->out_len / (uint32_t)sizeof(uint32_t);
	while (done < n) {
		uint32_t k =
		    n - done < VIRTIO_BALLOON_PFN_BATCH ? n - done : VIRTIO_BALLOON_PFN_BATCH;

		/* copied out first: the guest may change the array meanwhile,
		 * and a PFN may straddle two buffers */
		iov_gather(e->iov, e->out_num, (size_t)done * sizeof(uint32_t), bq->pfns,
			   (size_t)k * sizeof(uint32_t));
		if (inflate)
			balloon_pages_inflate(b->pages, bq->pfns, k);
		else
			balloon_pages_deflate(b->pages, bq->pfns, k);
		done += k;
	}
	count(inflate ? &b->counters.inflates : &b->counters.deflates, 1);
	return true;
}

/* ---- statistics --------------------------------------------------------- */

static const char *const stat_names[VIRTIO_BALLOON_STAT_TAGS] = {
    [VIRTIO_BALLOON_S_SWAP_IN] = "swap-in",
    [VIRTIO_BALLOON_S_SWAP_OUT] = "swap-out",
    [VIRTIO_BALLOON_S_MAJFLT] = "major-faults",
    [VIRTIO_BALLOON_S_MINFLT] = "minor-faults",
    [VIRTIO_BALLOON_S_MEMFREE] = "free-memory",
    [VIRTIO_BALLOON_S_MEMTOT] = "total-memory",
    [VIRTIO_BALLOON_S_AVAIL] = "available-memory",
    [VIRTIO_BALLOON_S_CACHES] = "disk-caches",
    [VIRTIO_BALLOON_S_HTLB_PGALLOC] = "hugetlb-allocations",
    [VIRTIO_BALLOON_S_HTLB_PGFAIL] = "hugetlb-failures",
    [VIRTIO_BALLOON_S_OOM_KILL] = "oom-kills",
    [VIRTIO_BALLOON_S_ALLOC_STALL] = "alloc-stalls",
    [VIRTIO_BALLOON_S_ASYNC_SCAN] = "async-scans",
    [VIRTIO_BALLOON_S_DIRECT_SCAN] = "direct-scans",
    [VIRTIO_BALLOON_S_ASYNC_RECLAIM] = "async-reclaims",
    [VIRTIO_BALLOON_S_DIRECT_RECLAIM] = "direct-reclaims",
};

const char *virtio_balloon_stat_name(unsigned int tag)
{
	return tag < VIRTIO_BALLOON_STAT_TAGS ? stat_names[tag] : NULL;
}

/* Record the statistics in e.  Returns false if e is malformed. */
static bool parse_stats(struct virtio_balloon *b, const struct vq_elem *e)
{
	struct virtio_balloon_guest_stats s;
	uint32_t n;

	if (e->in_num || e->out_len % VIRTIO_BALLOON_STAT_LEN ||
	    e->out_len / VIRTIO_BALLOON_STAT_LEN > VIRTIO_BALLOON_MAX_STATS)
		return false;
	memset(&s, 0, sizeof(s));
	n = e->out_len / VIRTIO_BALLOON_STAT_LEN;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t raw[VIRTIO_BALLOON_STAT_LEN];
		uint16_t tag;
		uint64_t val;

		iov_gather(e->iov, e->out_num, (size_t)i * VIRTIO_BALLOON_STAT_LEN, raw,
			   sizeof(raw));
		memcpy(&tag, raw, sizeof(tag));
		memcpy(&val, raw + sizeof(tag), sizeof(val));
		if (tag >= VIRTIO_BALLOON_STAT_TAGS) {
			count(&b->counters.stats_unknown, 1);
			continue;
		}
		s.val[tag] = val; /* a repeated tag: the last one wins */
		s.present |= 1u << tag;
	}
	s.timestamp_ns = b->clock_ns();
	pthread_mutex_lock(&b->stats_lock);
	s.updates = b->gstats.updates + 1;
	b->gstats = s;
	pthread_mutex_unlock(&b->stats_lock);
	count(&b->counters.stats_updates, 1);
	return true;
}

/* A stats buffer arrived (statsq's lock held): record it and keep it. */
static bool serve_stats(struct virtio_balloon *b, struct vq *vq, const struct vq_elem *e)
{
	if (!parse_stats(b, e))
		return false;
	/* One buffer at a time per the spec; a driver posting another gets
	 * the older one back (published by the caller's vq_flush). */
	if (b->stats_held)
		vq_push(vq, b->stats_head, 0);
	b->stats_held = true;
	b->stats_head = e->head;
	return true;
}

int virtio_balloon_request_stats(struct virtio_balloon *b)
{
	struct virtio_pci *t = b->t;
	struct virtio_pci_queue *pq;
	unsigned int q;
	int r;

	if (!b->opts.stats)
		return -EOPNOTSUPP;
	q = atomic_load(&b->stats_q);
	if (!t || q >= t->num_queues)
		return -ENODEV;
	virtio_pci_queue_lock(t, q);
	pq = &t->queues[q];
	/* stats_q and stats_held change only with this lock held (reset holds
	 * every queue lock); running as in virtio_pci_queue_kicked. */
	if (atomic_load(&b->stats_q) != q || !atomic_load(&t->running) ||
	    atomic_load(&t->needs_reset) || !pq->vq.size || pq->vq.broken) {
		r = -ENODEV;
	} else if (!b->stats_held) {
		r = -EAGAIN;
	} else {
		vq_push(&pq->vq, b->stats_head, 0);
		b->stats_held = false;
		vq_flush(&pq->vq); /* release: the driver sees the entry with the index */
		if (vq_should_notify(&pq->vq))
			virtio_pci_queue_interrupt(t, q);
		count(&b->counters.stats_requests, 1);
		r = 0;
	}
	virtio_pci_queue_unlock(t, q);
	return r;
}

void virtio_balloon_guest_stats(struct virtio_balloon *b, struct virtio_balloon_guest_stats *out)
{
	pthread_mutex_lock(&b->stats_lock);
	*out = b->gstats;
	pthread_mutex_unlock(&b->stats_lock);
}

/* ---- free page reporting ------------------------------------------------ */

/* The guest-physical address of iovec v, which vq_pop made from one RAM
 * region.  Returns false if no region holds it whole. */
static bool iov_gpa(const struct guest_mem *gm, const struct iovec *v, uint64_t *gpa)
{
	uintptr_t p = (uintptr_t)v->iov_base;

	for (unsigned int i = 0; i < gm->nr; i++) {
		const struct gm_region *r = &gm->regions[i];
		uintptr_t h = (uintptr_t)r->hva;

		if (p >= h && p - h < r->size && v->iov_len <= r->size - (p - h)) {
			*gpa = r->gpa + (p - h);
			return true;
		}
	}
	return false;
}

/* Discard the free ranges of e.  Returns false if e is malformed (checked
 * whole before anything is discarded). */
static bool serve_report(struct virtio_balloon *b, const struct vq_elem *e)
{
	const struct iovec *v = &e->iov[e->out_num];
	uint64_t gpa;

	if (e->out_num)
		return false;
	for (unsigned int i = 0; i < e->in_num; i++)
		if (!iov_gpa(b->t->gm, &v[i], &gpa) || gpa % BALLOON_PAGE_SIZE ||
		    v[i].iov_len % BALLOON_PAGE_SIZE)
			return false;
	for (unsigned int i = 0; i < e->in_num; i++) {
		iov_gpa(b->t->gm, &v[i], &gpa);
		/* -EFAULT (RAM the page accounting does not know) is counted
		 * there; the guest is not at fault */
		balloon_pages_report(b->pages, gpa, v[i].iov_len);
	}
	count(&b->counters.reports, 1);
	count(&b->counters.report_ranges, e->in_num);
	return true;
}

/* ---- queues ------------------------------------------------------------- */

/* Serve one chain.  Returns false if it is malformed. */
static bool serve(struct virtio_balloon *b, unsigned int q, struct vq *vq, const struct vq_elem *e)
{
	bool ok;

	switch (b->role[q]) {
	case VIRTIO_BALLOON_Q_INFLATE:
	case VIRTIO_BALLOON_Q_DEFLATE:
		ok = serve_pfns(b, &b->q[q], e, b->role[q] == VIRTIO_BALLOON_Q_INFLATE);
		break;
	case VIRTIO_BALLOON_Q_STATS:
		return serve_stats(b, vq, e); /* kept, not completed */
	case VIRTIO_BALLOON_Q_REPORTING:
		ok = serve_report(b, e);
		break;
	default:
		return false;
	}
	if (ok)
		vq_push(vq, e->head, 0);
	return ok;
}

static void bal_queue_notify(void *dev, unsigned int q, struct vq *vq)
{
	struct virtio_balloon *b = dev;
	bool bad = false;
	int r = 0;

	/* a queue the negotiated layout does not use: its kicks are ignored */
	if (q >= VIRTIO_BALLOON_MAX_QUEUES || b->role[q] == VIRTIO_BALLOON_Q_NONE)
		return;
	for (;;) {
		vq_disable_notify(vq);
		while ((r = vq_pop(vq, &b->q[q].elem)) == 1) {
			if (!serve(b, q, vq, &b->q[q].elem)) {
				bad = true;
				break;
			}
		}
		/* one used-index update and at most one interrupt per batch */
		vq_flush(vq);
		if (vq_should_notify(vq))
			virtio_pci_queue_interrupt(b->t, q);
		if (r < 0 || bad) {
			count(&b->counters.malformed, 1);
			virtio_pci_queue_broken(b->t, q);
			return;
		}
		if (!vq_enable_notify(vq))
			return;
	}
}

static int bal_activate(void *dev)
{
	struct virtio_balloon *b = dev;
	uint64_t f = virtio_pci_features(b->t);
	unsigned int stats_q = NO_QUEUE;

	b->features = f;
	for (unsigned int q = 0; q < VIRTIO_BALLOON_MAX_QUEUES; q++) {
		b->role[q] = (uint8_t)virtio_balloon_queue_role(f, q);
		if (b->role[q] == VIRTIO_BALLOON_Q_STATS)
			stats_q = q;
	}
	atomic_store(&b->stats_q, stats_q);
	return 0;
}

/* Every queue lock held: no queue is being served, no stats request is
 * in flight.  Counters and the last statistics stay. */
static void bal_reset(void *dev)
{
	struct virtio_balloon *b = dev;

	b->features = 0;
	memset(b->role, 0, sizeof(b->role));
	atomic_store(&b->stats_q, NO_QUEUE);
	b->stats_held = false;
	atomic_store(&b->actual, 0);
	/* a new driver starts with an empty balloon: the guest owns all of
	 * its RAM again (discarded pages read as zeroes) */
	balloon_pages_reset(b->pages);
}

const struct virtio_dev_ops virtio_balloon_ops = {
    .name = "balloon",
    .device_id = VIRTIO_ID_BALLOON,
    .class_code = 0xff0000, /* "unassigned class", as QEMU's virtio-balloon-pci */
    .cfg_read = bal_cfg_read,
    .cfg_write = bal_cfg_write,
    .activate = bal_activate,
    .reset = bal_reset,
    .queue_notify = bal_queue_notify,
};

/* ---- setup -------------------------------------------------------------- */

int virtio_balloon_init(struct virtio_balloon *b, const struct virtio_balloon_opts *opts,
			struct balloon_pages *pages)
{
	if (!b || !opts || !pages)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	b->opts = *opts;
	b->pages = pages;
	b->clock_ns = clock_ns;
	atomic_store(&b->stats_q, NO_QUEUE);
	pthread_mutex_init(&b->stats_lock, NULL);
	return 0;
}

void virtio_balloon_destroy(struct virtio_balloon *b)
{
	if (b->pages)
		pthread_mutex_destroy(&b->stats_lock);
	b->pages = NULL;
}

void virtio_balloon_get_counts(const struct virtio_balloon *b, struct virtio_balloon_counts *out)
{
	const struct virtio_balloon_counters *c = &b->counters;

	out->inflates = atomic_load_explicit(&c->inflates, memory_order_relaxed);
	out->deflates = atomic_load_explicit(&c->deflates, memory_order_relaxed);
	out->stats_updates = atomic_load_explicit(&c->stats_updates, memory_order_relaxed);
	out->stats_requests = atomic_load_explicit(&c->stats_requests, memory_order_relaxed);
	out->stats_unknown = atomic_load_explicit(&c->stats_unknown, memory_order_relaxed);
	out->reports = atomic_load_explicit(&c->reports, memory_order_relaxed);
	out->report_ranges = atomic_load_explicit(&c->report_ranges, memory_order_relaxed);
	out->malformed = atomic_load_explicit(&c->malformed, memory_order_relaxed);
	out->actual_writes = atomic_load_explicit(&c->actual_writes, memory_order_relaxed);
	out->target_changes = atomic_load_explicit(&c->target_changes, memory_order_relaxed);
}
