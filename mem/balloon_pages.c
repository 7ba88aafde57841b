/* Balloon page accounting across host page sizes.  See balloon_pages.h. */
#include "mem/balloon_pages.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A discard waiting to be issued: adjacent host pages of one call are
 * given back together. */
struct pending {
	bool any;
	unsigned int region;
	uint64_t off, len;
};

static bool bit_test(const uint64_t *bits, uint64_t i)
{
	return (bits[i / 64] >> (i % 64)) & 1;
}

static void bit_set(uint64_t *bits, uint64_t i)
{
	bits[i / 64] |= 1ull << (i % 64);
}

static void bit_clear(uint64_t *bits, uint64_t i)
{
	bits[i / 64] &= ~(1ull << (i % 64));
}

static bool region_ok(const struct balloon_region *r)
{
	uint64_t end;

	return r->page_size >= BALLOON_PAGE_SIZE && r->page_size <= BALLOON_MAX_PAGE &&
	       (r->page_size & (r->page_size - 1)) == 0 && r->gpa % BALLOON_PAGE_SIZE == 0 &&
	       r->size > 0 && r->size % r->page_size == 0 &&
	       !__builtin_add_overflow(r->gpa, r->size, &end);
}

/* Whether [a, a + as) and [b, b + bs) overlap (neither wraps). */
static bool overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a < b + bs && b < a + as;
}

static void free_regions(struct balloon_pages *bp, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		free(bp->reg[i].bits);
		free(bp->reg[i].count);
		bp->reg[i].bits = NULL;
		bp->reg[i].count = NULL;
	}
}

int balloon_pages_init(struct balloon_pages *bp, const struct balloon_region *regions,
		       unsigned int n, balloon_discard_fn discard, void *opaque)
{
	memset(bp, 0, sizeof(*bp));
	if (!regions || !discard || n == 0 || n > BALLOON_MAX_REGIONS)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		if (!region_ok(&regions[i]))
			return -EINVAL;
		for (unsigned int j = 0; j < i; j++)
			if (overlap(regions[i].gpa, regions[i].size, regions[j].gpa,
				    regions[j].size))
				return -EINVAL;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct balloon_pages_region *g = &bp->reg[i];

		g->r = regions[i];
		g->npages = regions[i].size / BALLOON_PAGE_SIZE;
		g->per_host = (uint32_t)(regions[i].page_size / BALLOON_PAGE_SIZE);
		/* calloc: a large guest's bitmap stays untouched zero pages
		 * until the balloon reaches them */
		g->bits = calloc((size_t)((g->npages + 63) / 64), sizeof(uint64_t));
		if (g->per_host > 1)
			g->count = calloc((size_t)(regions[i].size / regions[i].page_size),
					  sizeof(uint32_t));
		if (!g->bits || (g->per_host > 1 && !g->count)) {
			free_regions(bp, i + 1);
			memset(bp, 0, sizeof(*bp));
			return -ENOMEM;
		}
	}
	pthread_mutex_init(&bp->lock, NULL);
	bp->nr = n;
	bp->discard = discard;
	bp->opaque = opaque;
	return 0;
}

void balloon_pages_destroy(struct balloon_pages *bp)
{
	if (bp->nr == 0)
		return;
	free_regions(bp, bp->nr);
	pthread_mutex_destroy(&bp->lock);
	bp->nr = 0;
}

/* The region holding guest-physical byte gpa, or NULL. */
static struct balloon_pages_region *find(struct balloon_pages *bp, uint64_t gpa, unsigned int *idx)
{
	for (unsigned int i = 0; i < bp->nr; i++) {
		struct balloon_pages_region *g = &bp->reg[i];

		if (gpa >= g->r.gpa && gpa - g->r.gpa < g->r.size) {
			*idx = i;
			return g;
		}
	}
	return NULL;
}

/* Issue the pending discard, if any.  bp->lock held. */
static void flush(struct balloon_pages *bp, struct pending *p, bool report)
{
	int r;

	if (!p->any)
		return;
	p->any = false;
	r = bp->discard(bp->opaque, p->region, p->off, p->len);
	if (r < 0) {
		bp->stats.discard_errors++;
		return;
	}
	bp->stats.discards++;
	if (report)
		bp->stats.reported_bytes += p->len;
	else
		bp->stats.returned_bytes += p->len;
}

/* Queue [off, off + len) of region for discard, joining the pending range
 * when the two touch (either side: balloon drivers often allocate pages
 * downwards). */
static void add(struct balloon_pages *bp, struct pending *p, unsigned int region, uint64_t off,
		uint64_t len, bool report)
{
	if (p->any && p->region == region) {
		if (off == p->off + p->len) {
			p->len += len;
			return;
		}
		if (off + len == p->off) {
			p->off = off;
			p->len += len;
			return;
		}
	}
	flush(bp, p, report);
	*p = (struct pending){.any = true, .region = region, .off = off, .len = len};
}

/* Put one 4 KiB page in.  Returns false if refused. */
static bool inflate_one(struct balloon_pages *bp, struct pending *p, uint32_t pfn)
{
	uint64_t gpa = (uint64_t)pfn << BALLOON_PAGE_SHIFT;
	struct balloon_pages_region *g;
	uint64_t i, h;
	unsigned int idx;

	g = find(bp, gpa, &idx);
	if (!g) {
		bp->stats.refused_range++;
		return false;
	}
	i = (gpa - g->r.gpa) >> BALLOON_PAGE_SHIFT;
	if (bit_test(g->bits, i)) {
		bp->stats.refused_dup++;
		return false;
	}
	bit_set(g->bits, i);
	bp->stats.ballooned++;
	bp->stats.inflated++;
	if (g->per_host == 1) {
		bp->stats.held_bytes += BALLOON_PAGE_SIZE;
		add(bp, p, idx, i << BALLOON_PAGE_SHIFT, BALLOON_PAGE_SIZE, false);
		return true;
	}
	/* A huge page goes back when its last 4 KiB page arrives: the count
	 * reaches per_host exactly once until a deflate lowers it again. */
	h = i / g->per_host;
	if (++g->count[h] == g->per_host) {
		bp->stats.held_bytes += g->r.page_size;
		add(bp, p, idx, h * g->r.page_size, g->r.page_size, false);
	}
	return true;
}

static bool deflate_one(struct balloon_pages *bp, uint32_t pfn)
{
	uint64_t gpa = (uint64_t)pfn << BALLOON_PAGE_SHIFT;
	struct balloon_pages_region *g;
	unsigned int idx;
	uint64_t i, h;

	g = find(bp, gpa, &idx);
	if (!g) {
		bp->stats.refused_range++;
		return false;
	}
	i = (gpa - g->r.gpa) >> BALLOON_PAGE_SHIFT;
	if (!bit_test(g->bits, i)) {
		bp->stats.refused_dup++;
		return false;
	}
	bit_clear(g->bits, i);
	bp->stats.ballooned--;
	bp->stats.deflated++;
	if (g->per_host == 1) {
		bp->stats.held_bytes -= BALLOON_PAGE_SIZE;
		return true;
	}
	h = i / g->per_host;
	if (g->count[h]-- == g->per_host)
		bp->stats.held_bytes -= g->r.page_size; /* refaulted on access */
	return true;
}

unsigned int balloon_pages_inflate(struct balloon_pages *bp, const uint32_t *pfns, unsigned int n)
{
	struct pending p = {.any = false};
	unsigned int ok = 0;

	pthread_mutex_lock(&bp->lock);
	for (unsigned int k = 0; k < n; k++)
		ok += inflate_one(bp, &p, pfns[k]);
	flush(bp, &p, false);
	pthread_mutex_unlock(&bp->lock);
	return ok;
}

unsigned int balloon_pages_deflate(struct balloon_pages *bp, const uint32_t *pfns, unsigned int n)
{
	unsigned int ok = 0;

	pthread_mutex_lock(&bp->lock);
	for (unsigned int k = 0; k < n; k++)
		ok += deflate_one(bp, pfns[k]);
	pthread_mutex_unlock(&bp->lock);
	return ok;
}

/* Bytes of [gpa, end) inside regions (a range spanning adjacent regions
 * counts them all).  bp->lock held. */
static uint64_t covered(const struct balloon_pages *bp, uint64_t gpa, uint64_t end)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < bp->nr; i++) {
		const struct balloon_region *r = &bp->reg[i].r;
		uint64_t a = gpa > r->gpa ? gpa : r->gpa;
		uint64_t b = end < r->gpa + r->size ? end : r->gpa + r->size;

		if (a < b)
			n += b - a; /* regions do not overlap: no byte twice */
	}
	return n;
}

int balloon_pages_report(struct balloon_pages *bp, uint64_t gpa, uint64_t len)
{
	struct pending p = {.any = false};
	uint64_t end;

	pthread_mutex_lock(&bp->lock);
	if (len == 0 || gpa % BALLOON_PAGE_SIZE || len % BALLOON_PAGE_SIZE ||
	    __builtin_add_overflow(gpa, len, &end)) {
		bp->stats.report_refused++;
		pthread_mutex_unlock(&bp->lock);
		return -EINVAL;
	}
	if (covered(bp, gpa, end) != len) {
		bp->stats.report_refused++;
		pthread_mutex_unlock(&bp->lock);
		return -EFAULT;
	}
	bp->stats.reports++;
	for (unsigned int i = 0; i < bp->nr; i++) {
		const struct balloon_region *r = &bp->reg[i].r;
		uint64_t a = gpa > r->gpa ? gpa - r->gpa : 0;
		uint64_t b = end < r->gpa + r->size ? end - r->gpa : r->size;

		if (end <= r->gpa || gpa >= r->gpa + r->size)
			continue;
		/* only the host pages wholly inside the range */
		a = (a + r->page_size - 1) & ~(r->page_size - 1);
		b &= ~(r->page_size - 1);
		if (a < b)
			add(bp, &p, i, a, b - a, true);
	}
	flush(bp, &p, true);
	pthread_mutex_unlock(&bp->lock);
	return 0;
}

void balloon_pages_reset(struct balloon_pages *bp)
{
	pthread_mutex_lock(&bp->lock);
	for (unsigned int i = 0; i < bp->nr; i++) {
		struct balloon_pages_region *g = &bp->reg[i];

		memset(g->bits, 0, (size_t)((g->npages + 63) / 64) * sizeof(uint64_t));
		if (g->count)
			memset(g->count, 0,
			       (size_t)(g->r.size / g->r.page_size) * sizeof(uint32_t));
	}
	bp->stats.ballooned = 0;
	bp->stats.held_bytes = 0;
	pthread_mutex_unlock(&bp->lock);
}

bool balloon_pages_test(struct balloon_pages *bp, uint64_t pfn)
{
	struct balloon_pages_region *g;
	unsigned int idx;
	bool r = false;

	if (pfn > (UINT64_MAX >> BALLOON_PAGE_SHIFT))
		return false;
	pthread_mutex_lock(&bp->lock);
	g = find(bp, pfn << BALLOON_PAGE_SHIFT, &idx);
	if (g)
		r = bit_test(g->bits,
			     ((pfn << BALLOON_PAGE_SHIFT) - g->r.gpa) >> BALLOON_PAGE_SHIFT);
	pthread_mutex_unlock(&bp->lock);
	return r;
}

void balloon_pages_get_stats(struct balloon_pages *bp, struct balloon_pages_stats *out)
{
	pthread_mutex_lock(&bp->lock);
	*out = bp->stats;
	pthread_mutex_unlock(&bp->lock);
}
