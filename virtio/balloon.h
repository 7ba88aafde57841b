/* virtio-balloon (device type 5): the VMM asks the guest to give memory
 * back (a target in 4 KiB pages in the configuration space), the guest
 * hands pages over (inflateq) and takes them back (deflateq), optionally
 * posts memory statistics (statsq) and reports free pages (reporting_vq).
 * Page accounting and giving memory back to the host are
 * mem/balloon_pages.h's job; this file is the virtio side.
 *
 * Features offered by option: VIRTIO_BALLOON_F_DEFLATE_ON_OOM
 * (deflate_on_oom), VIRTIO_BALLOON_F_STATS_VQ (stats),
 * VIRTIO_BALLOON_F_REPORTING (free_page_reporting).  MUST_TELL_HOST is not
 * offered: the host never needs a deflate before the guest reuses a page
 * (Linux tells anyway), nor are FREE_PAGE_HINT and PAGE_POISON.
 *
 * Queue layout: inflateq, deflateq, then statsq if STATS_VQ is negotiated,
 * then reporting_vq if REPORTING is negotiated.  Linux's find_vqs gives an
 * index only to queues that exist, so without STATS_VQ the reporting queue
 * is queue 2.  The transport offers every queue the options allow
 * (virtio_balloon_num_queues); activate decides which index is which from
 * the negotiated features (virtio_balloon_queue_role).
 *
 * Requests:
 *  - inflateq / deflateq: one device-readable array of little-endian
 *    32-bit PFNs per chain (at most VIRTIO_BALLOON_MAX_PFNS), completed
 *    with 0 bytes written after the pages were accounted (and, inflating,
 *    discarded).
 *  - statsq: one device-readable buffer of packed struct
 *    virtio_balloon_stat {u16 tag; u64 val} (at most
 *    VIRTIO_BALLOON_MAX_STATS entries).  The device records the values and
 *    keeps the buffer; virtio_balloon_request_stats gives it back so the
 *    guest sends fresh statistics in a new buffer.
 *  - reporting_vq: device-writable buffers, each a free range of guest RAM
 *    (the driver adds them with virtqueue_add_inbuf); the device discards
 *    the whole host pages inside them and completes the chain (0 bytes
 *    written).
 * A chain of the wrong shape (writable buffers on inflate/deflate/stats,
 * readable ones on reporting, a length that is not a whole number of
 * entries, too many entries, a reported range not 4 KiB aligned) puts the
 * device in NEEDS_RESET (virtio_pci_queue_broken).  PFNs outside RAM or
 * ballooned twice are refused and counted by balloon_pages; the chain
 * completes.
 *
 * Threads and locks:
 *  - queue_notify runs on IO threads under the queue's lock (transport);
 *  - activate, reset, cfg_read/cfg_write: vCPU thread, t->lock (reset: and
 *    every queue lock);
 *  - virtio_balloon_set_target, _request_stats, _guest_stats, _counters,
 *    _target, _actual: any thread (the VMM's main thread / API socket).
 *    request_stats takes the stats queue's lock itself.
 *  balloon_pages has its own lock; stats_lock guards the statistics
 *  snapshot and is never held while taking another lock.
 * No allocation: every scratch area is inside struct virtio_balloon. */
#ifndef KVMLAB_VIRTIO_BALLOON_H
#define KVMLAB_VIRTIO_BALLOON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_balloon.h>

#include "mem/balloon_pages.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtqueue.h"

#define VIRTIO_BALLOON_QUEUE_SIZE 128  /* max_size to give virtio_pci_init */
#define VIRTIO_BALLOON_MAX_QUEUES 4    /* inflate, deflate, stats, reporting */
#define VIRTIO_BALLOON_MAX_PFNS	  4096 /* PFNs in one inflate/deflate chain (Linux: 256) */
#define VIRTIO_BALLOON_PFN_BATCH  256  /* PFNs given to balloon_pages per call */
#define VIRTIO_BALLOON_STAT_TAGS  16   /* tags kept: VIRTIO_BALLOON_S_SWAP_IN .. DIRECT_RECLAIM */
#define VIRTIO_BALLOON_MAX_STATS  64   /* entries in one stats buffer */
#define VIRTIO_BALLOON_STAT_LEN	  10   /* packed struct virtio_balloon_stat */

/* Stat tags Linux 6.12 added; older UAPI headers lack them. */
#ifndef VIRTIO_BALLOON_S_OOM_KILL
#define VIRTIO_BALLOON_S_OOM_KILL	10 /* OOM killer invocations */
#define VIRTIO_BALLOON_S_ALLOC_STALL	11 /* allocation stalls */
#define VIRTIO_BALLOON_S_ASYNC_SCAN	12 /* bytes scanned by kswapd */
#define VIRTIO_BALLOON_S_DIRECT_SCAN	13 /* bytes scanned by direct reclaim */
#define VIRTIO_BALLOON_S_ASYNC_RECLAIM	14 /* bytes reclaimed by kswapd */
#define VIRTIO_BALLOON_S_DIRECT_RECLAIM 15 /* bytes reclaimed by direct reclaim */
#endif

/* What a transport queue is used for. */
enum virtio_balloon_role {
	VIRTIO_BALLOON_Q_NONE = 0, /* not used by the negotiated layout */
	VIRTIO_BALLOON_Q_INFLATE,
	VIRTIO_BALLOON_Q_DEFLATE,
	VIRTIO_BALLOON_Q_STATS,
	VIRTIO_BALLOON_Q_REPORTING,
};

struct virtio_balloon_opts {
	bool deflate_on_oom;	  /* deflate-on-oom=on */
	bool stats;		  /* stats=on */
	bool free_page_reporting; /* free-page-reporting=on */
};

/* The guest's latest statistics. */
struct virtio_balloon_guest_stats {
	uint64_t val[VIRTIO_BALLOON_STAT_TAGS]; /* by tag; 0 when absent */
	uint32_t present;			/* bit tag: in the latest buffer */
	uint64_t timestamp_ns;			/* b->clock_ns() when it arrived; 0: never */
	uint64_t updates;			/* buffers received so far */
};

/* Device counters (relaxed atomics; they survive resets). */
struct virtio_balloon_counters {
	_Atomic uint64_t inflates;	 /* inflate chains completed */
	_Atomic uint64_t deflates;	 /* deflate chains completed */
	_Atomic uint64_t stats_updates;	 /* stats buffers received */
	_Atomic uint64_t stats_requests; /* held stats buffers given back */
	_Atomic uint64_t stats_unknown;	 /* stat entries with a tag we do not keep */
	_Atomic uint64_t reports;	 /* reporting chains completed */
	_Atomic uint64_t report_ranges;	 /* ranges in them */
	_Atomic uint64_t malformed;	 /* chains (or rings) that broke the device */
	_Atomic uint64_t actual_writes;	 /* driver writes to `actual` */
	_Atomic uint64_t target_changes; /* virtio_balloon_set_target calls */
};

/* A plain copy of the counters. */
struct virtio_balloon_counts {
	uint64_t inflates, deflates, stats_updates, stats_requests, stats_unknown, reports,
	    report_ranges, malformed, actual_writes, target_changes;
};

/* Scratch of one queue (its IO thread only). */
struct virtio_balloon_queue {
	struct vq_elem elem;
	uint32_t pfns[VIRTIO_BALLOON_PFN_BATCH];
};

struct virtio_balloon {
	struct virtio_pci *t;	     /* set by the VMM after virtio_pci_init */
	struct balloon_pages *pages; /* owned by the VMM */
	struct virtio_balloon_opts opts;
	uint64_t (*clock_ns)(void); /* stats timestamps: CLOCK_MONOTONIC; tests may replace */
	_Atomic uint32_t num_pages; /* target, 4 KiB pages */
	_Atomic uint32_t actual;    /* as the driver last wrote it */
	/* Set by activate before the transport marks the device running
	 * (its seq_cst store of running publishes them to IO threads);
	 * cleared by reset with every queue lock held. */
	uint64_t features;
	uint8_t role[VIRTIO_BALLOON_MAX_QUEUES]; /* enum virtio_balloon_role */
	_Atomic unsigned int stats_q; /* statsq index, VIRTIO_BALLOON_MAX_QUEUES if none */
	/* The stats buffer the device holds: statsq's lock. */
	bool stats_held;
	uint16_t stats_head;
	struct virtio_balloon_queue q[VIRTIO_BALLOON_MAX_QUEUES];
	pthread_mutex_t stats_lock; /* guards gstats */
	struct virtio_balloon_guest_stats gstats;
	struct virtio_balloon_counters counters;
};

/* Set b up with opts over the VMM's page accounting (pages: initialised,
 * owned by the caller, outlives b).  Returns 0 or -EINVAL (NULL pages or
 * opts).  Then call virtio_pci_init with &virtio_balloon_ops, b,
 * virtio_balloon_features(b), virtio_balloon_num_queues(b),
 * VIRTIO_BALLOON_QUEUE_SIZE and virtio_balloon_cfg_len(), and set b->t. */
int virtio_balloon_init(struct virtio_balloon *b, const struct virtio_balloon_opts *opts,
			struct balloon_pages *pages);

/* Release what init set up (the device is no longer served). */
void virtio_balloon_destroy(struct virtio_balloon *b);

/* Device features for b's options (VIRTIO_F_VERSION_1 is added by the
 * transport). */
uint64_t virtio_balloon_features(const struct virtio_balloon *b);

/* Transport queues to offer: 2, + 1 with stats, + 1 with reporting. */
unsigned int virtio_balloon_num_queues(const struct virtio_balloon *b);

/* Bytes of device configuration space: num_pages and actual (8). */
uint32_t virtio_balloon_cfg_len(void);

/* What transport queue q is for under features f (pass the negotiated
 * features, or virtio_balloon_features(b) for the layout with everything
 * offered, e.g. to place queues on IO threads): NONE for q past the
 * layout. */
enum virtio_balloon_role virtio_balloon_queue_role(uint64_t f, unsigned int q);

/* Set the target to `pages` 4 KiB pages the guest should give up, and
 * (once b->t is set) raise a configuration change: the generation moves
 * and the configuration interrupt fires.  Any thread. */
void virtio_balloon_set_target(struct virtio_balloon *b, uint32_t pages);

/* The target, and the driver's last `actual` (pages it holds; 0 after a
 * reset).  Any thread. */
uint32_t virtio_balloon_target(const struct virtio_balloon *b);
uint32_t virtio_balloon_actual(const struct virtio_balloon *b);

/* Give the held stats buffer back to the guest (used + interrupt) so it
 * sends fresh statistics.  Any thread; takes the stats queue's lock.
 * Returns 0, -EOPNOTSUPP without the stats option, -ENODEV when the device
 * is not running with STATS_VQ negotiated, -EAGAIN when no buffer is held
 * (the guest has not posted one yet or still answers the last request). */
int virtio_balloon_request_stats(struct virtio_balloon *b);

/* Copy the latest guest statistics.  Any thread. */
void virtio_balloon_guest_stats(struct virtio_balloon *b, struct virtio_balloon_guest_stats *out);

/* Name of stat tag ("swap-in", ..., as Linux's VIRTIO_BALLOON_S_NAMES), or
 * NULL for a tag >= VIRTIO_BALLOON_STAT_TAGS. */
const char *virtio_balloon_stat_name(unsigned int tag);

/* Copy the device counters.  Any thread. */
void virtio_balloon_get_counts(const struct virtio_balloon *b, struct virtio_balloon_counts *out);

extern const struct virtio_dev_ops virtio_balloon_ops;

#endif
