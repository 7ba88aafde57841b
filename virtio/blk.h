/* virtio-blk (device type 2): the request parser and completion path over
 * the virtio-pci transport, with pluggable I/O engines (sync: preadv /
 * pwritev on the IO thread; io_uring: many requests in flight).
 *
 * Pure over a guest_mem, an image fd and callbacks: unit tests drive it with
 * a fake guest memory and a memfd image.  The guest is hostile: every
 * request is checked (header and status sizes, sector range with overflow
 * checks, segment counts, direction of each buffer, discard ranges) and a
 * bad one completes with VIRTIO_BLK_S_IOERR or S_UNSUPP; a malformed chain
 * marks the device NEEDS_RESET.  Nothing a guest sends reaches outside the
 * image.
 *
 * Requests: IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES.  IN/OUT/FLUSH go
 * to the engine; GET_ID is answered at once; DISCARD / WRITE_ZEROES are done
 * with fallocate on the IO thread (PUNCH_HOLE|KEEP_SIZE, ZERO_RANGE).
 *
 * No allocation per request: every queue owns queue-size request slots
 * (struct blk_req, each with its element and iovecs) from activation on.
 * The only lazy allocation is an O_DIRECT bounce buffer, kept per slot. */
#ifndef KVMLAB_VIRTIO_BLK_H
#define KVMLAB_VIRTIO_BLK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/virtio_pci.h"
#include "virtio/virtqueue.h"

#define BLK_SECTOR	    512ULL
#define BLK_MAX_QUEUES	    64
#define BLK_SEG_MAX	    (VQ_MAX_IOV - 2) /* data segments: chain minus header and status */
#define BLK_ID_BYTES	    20		     /* VIRTIO_BLK_ID_BYTES */
#define BLK_MAX_DISCARD_SEG 32
#define BLK_LAT_BUCKETS	    32 /* log2 microsecond latency histogram */
/* Per-range limits offered in the config space (multiples of 8 sectors,
 * so of any discard alignment up to 4096-byte blocks) and enforced. */
#define BLK_MAX_DISCARD_SECTORS	     0x3ffff8u /* 2 GiB - 4 KiB */
#define BLK_MAX_WRITE_ZEROES_SECTORS 0x8000u   /* 16 MiB: zeroes may be written by hand */
/* Largest request that may go through an O_DIRECT bounce buffer (bounds
 * what a hostile guest can make us allocate per slot); larger misaligned
 * requests complete with IOERR. */
#define BLK_BOUNCE_MAX (4u << 20)

enum blk_cache {
	BLK_CACHE_NONE,		/* O_DIRECT, guest-visible write cache, flush -> fdatasync */
	BLK_CACHE_WRITEBACK,	/* page cache, guest-visible write cache, flush -> fdatasync */
	BLK_CACHE_WRITETHROUGH, /* O_DSYNC, no write cache offered */
	BLK_CACHE_DIRECTSYNC,	/* O_DIRECT | O_DSYNC, no write cache offered */
	BLK_CACHE_UNSAFE,	/* page cache, flushes ignored */
};

/* "none", "writeback", ... */
const char *blk_cache_name(enum blk_cache c);
/* Whether the mode offers a write cache to the guest (VIRTIO_BLK_F_FLUSH,
 * CONFIG_WCE). */
bool blk_cache_has_wce(enum blk_cache c);

/* The opened image, as the device model needs it (vmm/disk.c opens it). */
struct blk_disk {
	int fd;
	uint64_t size;	     /* bytes; capacity = size / 512 (a partial sector is not exposed) */
	uint32_t block_size; /* logical block size reported to the guest (512 or 4096) */
	uint32_t dio_align;  /* O_DIRECT memory/offset alignment; 0 without O_DIRECT.
			      * Misaligned memory is bounced; a misaligned offset or
			      * length is refused (IOERR), so give the guest a
			      * block_size >= dio_align */
	bool readonly;	     /* offer VIRTIO_BLK_F_RO, refuse OUT/DISCARD/WRITE_ZEROES */
	bool discard;	     /* offer DISCARD and WRITE_ZEROES */
	enum blk_cache cache;
	char serial[BLK_ID_BYTES]; /* GET_ID answer, NUL-padded */
};

struct blk_queue;

/* One request slot. */
struct blk_req {
	struct vq_elem elem; /* the chain as popped */
	struct blk_queue *q;
	uint32_t type;		/* VIRTIO_BLK_T_* */
	uint64_t offset;	/* byte offset in the image (sector * 512) */
	struct iovec *iov;	/* data buffers (inside elem.iov, or &bounce_iov) */
	int iovcnt;		/* 0 for FLUSH; never 0 for IN/OUT handed to an engine */
	uint32_t len;		/* data bytes (the sum of iov) */
	struct iovec *data_iov; /* the guest's data buffers (== iov unless bounced) */
	int data_iovcnt;
	struct iovec bounce_iov; /* iov when bounced: {bounce, len} */
	uint8_t *status;	 /* host address of the status byte (guest memory) */
	bool dsync;		 /* write must be durable before completion (RWF_DSYNC) */
	uint64_t start_ns;
	void *bounce; /* O_DIRECT bounce buffer (lazily allocated, kept) */
	size_t bounce_cap;
	struct blk_req *next_free;
};

/* An I/O engine.  One engine instance per IO thread, shared by the queues
 * that thread serves; all calls come from that IO thread. */
struct blk_engine_ops {
	const char *name; /* "sync", "io_uring" */
	/* Start r: IN (readv into r->iov at r->offset), OUT (writev, with
	 * RWF_DSYNC when r->dsync), FLUSH (fdatasync).  O_DIRECT alignment is
	 * already taken care of (r->iov may point at a bounce buffer); the
	 * engine may modify the r->iov entries (to go on after a short
	 * transfer).  Call blk_req_done(r, result) exactly once, now (sync)
	 * or later from the engine's completion handler; result is the byte
	 * count, 0 for flush, or a negative errno.  Returns 0, or a negative errno if r could not
	 * be started (then blk_req_done was not called). */
	int (*submit)(void *eng, struct blk_req *r);
	/* End of a batch of submit calls: hand them to the kernel. */
	void (*flush)(void *eng);
};

struct blk_queue_stats {
	/* completions by kind: in, out, flush, get_id, discard, write_zeroes,
	 * other (unknown type, or no readable header) */
	_Atomic uint64_t reqs[8];
	_Atomic uint64_t bytes[2]; /* read, written */
	_Atomic uint64_t errors;   /* IOERR / UNSUPP completions */
	_Atomic uint64_t inflight_max;
	/* completions by latency (pop to completion): bucket 0 under 1 us,
	 * bucket b in [2^(b-1), 2^b) us, the last one everything longer */
	_Atomic uint64_t lat[BLK_LAT_BUCKETS];
	_Atomic uint64_t batches; /* queue_notify calls that popped something */
	_Atomic uint64_t interrupts;
};

struct blk_queue {
	struct virtio_blk *blk;
	unsigned int idx;
	struct vq *vq;	       /* set by queue_notify / activation (the transport's ring) */
	struct blk_req *slots; /* queue size entries, allocated on activation */
	unsigned int nslots;
	struct blk_req *free;
	unsigned int inflight;
	bool pushed;  /* completions pushed, not yet flushed */
	bool starved; /* popping stopped for want of a free slot */
	const struct blk_engine_ops *eng_ops;
	void *eng;
	struct blk_queue_stats stats;
};

struct virtio_blk {
	struct virtio_pci *t;
	struct blk_disk disk;
	unsigned int nq;
	struct blk_queue q[BLK_MAX_QUEUES];
	_Atomic uint8_t wce;	  /* write cache enabled (guest may toggle with CONFIG_WCE) */
	uint64_t (*now_ns)(void); /* clock for latency stats */
	/* reset waits here until no request is in flight */
	pthread_mutex_t idle_lock;
	pthread_cond_t idle;
	_Atomic unsigned int inflight_total; /* idle_lock taken only when it drops to 0 */
};

/* Set up blk over disk (fd owned by the caller) with nq queues
 * (1..BLK_MAX_QUEUES); queue i is served by engine eng_ops[i]/eng[i].
 * Returns 0 or -EINVAL / -ENOMEM.  Then give virtio_pci_init
 * &virtio_blk_ops, blk, virtio_blk_features(blk), nq queues and
 * virtio_blk_cfg_len(), and set blk->t. */
int virtio_blk_init(struct virtio_blk *blk, const struct blk_disk *disk, unsigned int nq,
		    const struct blk_engine_ops *const *eng_ops, void *const *eng);
void virtio_blk_destroy(struct virtio_blk *blk);

/* Device features for this disk (RO, FLUSH + CONFIG_WCE per cache mode,
 * BLK_SIZE, SEG_MAX, MQ, DISCARD/WRITE_ZEROES, EVENT_IDX, INDIRECT_DESC). */
uint64_t virtio_blk_features(const struct virtio_blk *blk);
uint32_t virtio_blk_cfg_len(void);

extern const struct virtio_dev_ops virtio_blk_ops;

/* Engine: r finished with result (bytes, 0, or -errno).  Writes the status,
 * pushes the element, frees the slot.  IO thread, with r's queue lock held
 * (submit's caller holds it; an async engine's completion handler takes it
 * with virtio_pci_queue_lock around its batch and then calls
 * virtio_blk_queue_flush). */
void blk_req_done(struct blk_req *r, int64_t result);

/* After a batch of completions on q: publish the used index and send at
 * most one interrupt (EVENT_IDX honoured).  If popping had stopped for want
 * of a free slot (a driver re-publishing descriptors in flight) and one is
 * free now, asks the host to kick q again.  Queue lock held. */
void virtio_blk_queue_flush(struct blk_queue *q);

#endif
