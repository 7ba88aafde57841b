/* The io_uring I/O engine of virtio-blk: many requests in flight per IO
 * thread, submitted in one io_uring_enter per batch and completed through
 * an eventfd the IO thread's epoll loop watches.
 *
 * Raw system calls only (io_uring_setup / io_uring_enter /
 * io_uring_register over <linux/io_uring.h>), no liburing.  One engine per
 * IO thread, shared by the queues that thread serves; every call comes from
 * that thread, so nothing here is locked.  The counters are atomics only so
 * that another thread may read them for statistics.
 *
 * Flow:
 *  - the device model calls blk_uring_ops.submit for each request of a
 *    batch (one SQE each, user_data = the struct blk_req), then
 *    blk_uring_ops.flush (one io_uring_enter for the whole batch);
 *  - the kernel posts CQEs and signals the eventfd;
 *  - the IO thread calls blk_uring_complete, which hands every CQE to
 *    blk_req_done under its queue's lock, grouped by queue, and then
 *    publishes each queue's used ring once (virtio_blk_queue_flush).
 *
 * No allocation per request: the rings are sized at init for every request
 * slot of the queues the IO thread serves. */
#ifndef KVMLAB_VIRTIO_BLK_URING_H
#define KVMLAB_VIRTIO_BLK_URING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/io_uring.h>

#include "virtio/blk.h"

/* Largest ring io_uring_setup accepts (the kernel's IORING_MAX_ENTRIES). */
#define BLK_URING_MAX_ENTRIES 32768u

/* Submission ring: pointers into the shared mapping plus our own tail. */
struct blk_uring_sq {
	unsigned int *head;  /* kernel: next SQE it will consume */
	unsigned int *tail;  /* us: one past the last published SQE */
	unsigned int *array; /* index ring (identity mapping, set once) */
	unsigned int *flags; /* kernel: IORING_SQ_CQ_OVERFLOW, ... */
	unsigned int mask;
	unsigned int entries;
	unsigned int local_tail; /* one past the last prepared SQE (published at flush) */
};

/* Completion ring. */
struct blk_uring_cq {
	unsigned int *head; /* us: next CQE to consume */
	unsigned int *tail; /* kernel: one past the last posted CQE */
	struct io_uring_cqe *cqes;
	unsigned int mask;
	unsigned int entries;
};

struct blk_uring_stats {
	_Atomic uint64_t submitted;    /* SQEs the kernel took */
	_Atomic uint64_t completed;    /* CQEs reaped */
	_Atomic uint64_t enter_calls;  /* io_uring_enter system calls */
	_Atomic uint64_t batches;      /* flushes that had something to submit */
	_Atomic uint64_t max_inflight; /* most requests submitted and not yet reaped */
	_Atomic uint64_t short_io;     /* short reads/writes completed as -EIO */
	_Atomic uint64_t sq_full;      /* submits that found the SQ full */
};

struct blk_uring {
	int ring_fd;
	int efd;	       /* eventfd registered with IORING_REGISTER_EVENTFD */
	int fd;		       /* the image (owned by the caller) */
	unsigned int features; /* IORING_FEAT_* reported by the kernel */
	/* mappings: with IORING_FEAT_SINGLE_MMAP the CQ ring shares sq_map
	 * (cq_map is NULL then) */
	void *sq_map;
	size_t sq_map_len;
	void *cq_map;
	size_t cq_map_len;
	struct io_uring_sqe *sqes;
	size_t sqes_len;
	struct blk_uring_sq sq;
	struct blk_uring_cq cq;
	struct blk_uring_stats stats;
};

/* Set up an engine over image_fd (not owned) with room for `entries`
 * requests in flight (rounded up to a power of two; more than
 * BLK_URING_MAX_ENTRIES is clamped, and a full SQ then makes submit wait
 * for the kernel).  Returns 0 or a negative errno: -EINVAL for entries 0,
 * -EBADF for a negative fd, -ENOSYS when the kernel has no io_uring, -EPERM
 * when it is disabled (kernel.io_uring_disabled, seccomp), -ENOMEM, ...
 * On failure nothing is left open or mapped and u is safe to pass to
 * blk_uring_destroy. */
int blk_uring_init(struct blk_uring *u, unsigned int entries, int image_fd);

/* Unmap the rings and close the ring and the eventfd (not the image).
 * Requests still in flight are not completed.  Safe after a failed init and
 * when called twice. */
void blk_uring_destroy(struct blk_uring *u);

/* The completion eventfd (non-blocking): register it with the IO thread for
 * EPOLLIN and call blk_uring_complete when it fires. */
int blk_uring_eventfd(const struct blk_uring *u);

/* IO thread, completion eventfd readable: drain the eventfd and complete
 * every posted CQE (blk_req_done under the request's queue lock, then one
 * virtio_blk_queue_flush per queue), until the CQ is empty.  Also retries
 * a submission that an earlier flush could not finish.  Call with no
 * queue lock held. */
void blk_uring_complete(struct blk_uring *u);

/* The engine ops (eng = struct blk_uring *).  submit prepares one SQE and
 * does not enter the kernel (unless the SQ is full: then it submits what is
 * pending and retries; -EBUSY if it stays full); flush submits the batch
 * with one io_uring_enter. */
extern const struct blk_engine_ops blk_uring_ops;

#endif
