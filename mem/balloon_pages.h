/* Balloon page accounting: which 4 KiB guest pages are in the balloon, and
 * when host memory behind them can be given back.
 *
 * The guest's balloon speaks in 4 KiB page frame numbers
 * (VIRTIO_BALLOON_PFN_SHIFT 12) whatever backs guest RAM.  Each RAM region
 * has a host page size (4 KiB, 2 MiB, 1 GiB: struct mem_backing.page_size)
 * and a bitmap of its ballooned 4 KiB pages:
 *  - 4 KiB backing: every inflated page is given back at once;
 *  - huge pages: a huge page is given back once all of its 4 KiB pages are
 *    inflated (when its last page arrives: once per time it becomes full).
 *    Deflating any of its pages only clears that page's bit (the huge page
 *    is faulted in again when the guest touches it).
 * Giving back goes through a callback (discard, below: mem_discard in a VM,
 * a recorder in tests); adjacent ranges of one inflate call are coalesced
 * into one call.  Free page reporting discards ranges the guest still owns
 * without touching the bitmap.
 *
 * Threads: every function takes bp->lock (inflate and deflate queues may be
 * served by different IO threads; the VMM reads stats from its main
 * thread).  The discard callback runs with the lock held, so a deflate
 * never completes while the same memory is still being discarded: the
 * guest cannot reuse a page before its discard finished. */
#ifndef KVMLAB_MEM_BALLOON_PAGES_H
#define KVMLAB_MEM_BALLOON_PAGES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define BALLOON_PAGE_SHIFT  12
#define BALLOON_PAGE_SIZE   (1ull << BALLOON_PAGE_SHIFT)
#define BALLOON_MAX_REGIONS 8
#define BALLOON_MAX_PAGE    (1ull << 30) /* largest host page size accepted */

/* One guest RAM region: [gpa, gpa + size) backed by host pages of
 * page_size bytes; offsets given to discard are relative to gpa (offset 0
 * is the first byte of the region's backing). */
struct balloon_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t page_size;
};

/* Give [offset, offset + len) of region `region` back to the host (both
 * multiples of that region's page_size).  Called with bp->lock held; must
 * not call back into balloon_pages.  Returns 0 or a negative errno (the
 * pages stay in the balloon; the failure is counted). */
typedef int (*balloon_discard_fn)(void *opaque, unsigned int region, uint64_t offset, uint64_t len);

/* Counters: gauges say "now", the others add up from init. */
struct balloon_pages_stats {
	uint64_t ballooned;	 /* gauge: 4 KiB pages in the balloon */
	uint64_t held_bytes;	 /* gauge: bytes of whole host pages all of whose 4 KiB
				  * pages are ballooned (given back, unless the discard
				  * failed: see discard_errors) */
	uint64_t inflated;	 /* PFNs put in the balloon */
	uint64_t deflated;	 /* PFNs taken out */
	uint64_t refused_range;	 /* PFNs outside every region (past RAM, in a hole) */
	uint64_t refused_dup;	 /* inflate of a ballooned page, deflate of one that is not */
	uint64_t returned_bytes; /* bytes discarded for the balloon */
	uint64_t reports;	 /* free page reports accepted */
	uint64_t reported_bytes; /* bytes discarded for free page reports */
	uint64_t report_refused; /* reports misaligned or not wholly inside RAM */
	uint64_t discards;	 /* successful discard calls */
	uint64_t discard_errors; /* failed discard calls */
};

struct balloon_pages_region {
	struct balloon_region r;
	uint64_t npages;   /* 4 KiB pages: r.size / 4 KiB */
	uint32_t per_host; /* 4 KiB pages per host page: 1, 512, 262144 */
	uint64_t *bits;	   /* npages bits: ballooned */
	uint32_t *count;   /* per host page: its ballooned 4 KiB pages (NULL for 4 KiB) */
};

struct balloon_pages {
	pthread_mutex_t lock;
	struct balloon_pages_region reg[BALLOON_MAX_REGIONS];
	unsigned int nr;
	balloon_discard_fn discard;
	void *opaque;
	struct balloon_pages_stats stats;
};

/* Set bp up for n regions (1..BALLOON_MAX_REGIONS) and the discard
 * callback with its opaque.  Each region needs a power-of-two page_size in
 * [4 KiB, BALLOON_MAX_PAGE], a 4 KiB-aligned gpa, a size that is a
 * non-zero multiple of page_size, no wrap past 2^64 and no overlap with
 * another region.  Allocates the bitmaps (zeroed: nothing ballooned).
 * Returns 0, -EINVAL, or -ENOMEM (nothing left allocated). */
int balloon_pages_init(struct balloon_pages *bp, const struct balloon_region *regions,
		       unsigned int n, balloon_discard_fn discard, void *opaque);

/* Free the bitmaps.  Safe after a failed init or twice. */
void balloon_pages_destroy(struct balloon_pages *bp);

/* Put n PFNs in the balloon, in order; host pages that became wholly
 * ballooned are discarded (adjacent ones in one call) before returning.
 * PFNs outside RAM or already ballooned are refused and counted.  Returns
 * the number of PFNs accepted. */
unsigned int balloon_pages_inflate(struct balloon_pages *bp, const uint32_t *pfns, unsigned int n);

/* Take n PFNs out of the balloon; never discards.  PFNs outside RAM or
 * not ballooned are refused and counted.  Returns the number accepted. */
unsigned int balloon_pages_deflate(struct balloon_pages *bp, const uint32_t *pfns, unsigned int n);

/* Free page reporting: the guest reports [gpa, gpa + len) free (it keeps
 * owning it).  Discards the whole host pages inside the range, region by
 * region (a range may span adjacent regions); the bitmap is untouched.
 * Returns 0 (also when no whole host page was inside), -EINVAL if len is
 * 0, gpa or len is not a multiple of 4 KiB, or the range wraps, -EFAULT if
 * any byte is outside every region (nothing discarded then). */
int balloon_pages_report(struct balloon_pages *bp, uint64_t gpa, uint64_t len);

/* The driver went away (device reset): every page leaves the balloon
 * (the guest owns its RAM again), gauges drop to 0, other counters stay.
 * Never discards, never fails. */
void balloon_pages_reset(struct balloon_pages *bp);

/* Whether pfn is in the balloon (false outside RAM). */
bool balloon_pages_test(struct balloon_pages *bp, uint64_t pfn);

/* Copy the counters. */
void balloon_pages_get_stats(struct balloon_pages *bp, struct balloon_pages_stats *out);

#endif
