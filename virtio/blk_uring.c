/* The io_uring engine of virtio-blk over raw system calls. */
#include "virtio/blk_uring.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/virtio_blk.h>

#include "virtio/virtio_pci.h"

/* System call numbers (the same on every architecture since 5.1). */
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif

static int sys_setup(unsigned int entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int sys_enter(int fd, unsigned int to_submit, unsigned int min_complete, unsigned int flags)
{
	return (int)syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, NULL, 0);
}

static int sys_register(int fd, unsigned int opcode, const void *arg, unsigned int nr)
{
	return (int)syscall(__NR_io_uring_register, fd, opcode, arg, nr);
}

/* Counters have one writer (the IO thread): a relaxed load and store is
 * enough, the atomics only keep readers on other threads well defined. */
static void stat_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static void *at(void *base, uint32_t off)
{
	return (char *)base + off;
}

static unsigned int round_entries(unsigned int n)
{
	unsigned int p = 1;

	if (n > BLK_URING_MAX_ENTRIES)
		return BLK_URING_MAX_ENTRIES;
	while (p < n)
		p <<= 1;
	return p;
}

static void reset_fields(struct blk_uring *u)
{
	memset(u, 0, sizeof(*u));
	u->ring_fd = -1;
	u->efd = -1;
	u->fd = -1;
}

/* Map the rings described by p (io_uring_setup's answer). */
static int map_rings(struct blk_uring *u, const struct io_uring_params *p)
{
	void *cq_base;

	u->sq_map_len = p->sq_off.array + p->sq_entries * sizeof(uint32_t);
	u->cq_map_len = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
	if (p->features & IORING_FEAT_SINGLE_MMAP) {
		if (u->cq_map_len > u->sq_map_len)
			u->sq_map_len = u->cq_map_len;
		u->cq_map_len = 0;
	}
	u->sq_map = mmap(NULL, u->sq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			 u->ring_fd, IORING_OFF_SQ_RING);
	if (u->sq_map == MAP_FAILED) {
		u->sq_map = NULL;
		return -errno;
	}
	cq_base = u->sq_map;
	if (u->cq_map_len) {
		u->cq_map = mmap(NULL, u->cq_map_len, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_POPULATE, u->ring_fd, IORING_OFF_CQ_RING);
		if (u->cq_map == MAP_FAILED) {
			u->cq_map = NULL;
			return -errno;
		}
		cq_base = u->cq_map;
	}
	u->sqes_len = p->sq_entries * sizeof(struct io_uring_sqe);
	u->sqes = mmap(NULL, u->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		       u->ring_fd, IORING_OFF_SQES);
	if (u->sqes == MAP_FAILED) {
		u->sqes = NULL;
		return -errno;
	}

	u->sq.head = at(u->sq_map, p->sq_off.head);
	u->sq.tail = at(u->sq_map, p->sq_off.tail);
	u->sq.array = at(u->sq_map, p->sq_off.array);
	u->sq.flags = at(u->sq_map, p->sq_off.flags);
	u->sq.mask = *(unsigned int *)at(u->sq_map, p->sq_off.ring_mask);
	u->sq.entries = p->sq_entries;
	u->sq.local_tail = *u->sq.tail;
	u->cq.head = at(cq_base, p->cq_off.head);
	u->cq.tail = at(cq_base, p->cq_off.tail);
	u->cq.cqes = at(cq_base, p->cq_off.cqes);
	u->cq.mask = *(unsigned int *)at(cq_base, p->cq_off.ring_mask);
	u->cq.entries = p->cq_entries;
	/* SQE i always sits at index ring position i: set once, before the
	 * first io_uring_enter (the system call orders it for the kernel). */
	for (unsigned int i = 0; i < u->sq.entries; i++)
		u->sq.array[i] = i;
	return 0;
}

int blk_uring_init(struct blk_uring *u, unsigned int entries, int image_fd)
{
	struct io_uring_params p;
	int e;

	reset_fields(u);
	if (entries == 0)
		return -EINVAL;
	if (image_fd < 0)
		return -EBADF;
	u->fd = image_fd;

	memset(&p, 0, sizeof(p));
	u->ring_fd = sys_setup(round_entries(entries), &p);
	if (u->ring_fd < 0) {
		e = -errno;
		u->ring_fd = -1;
		goto fail;
	}
	u->features = p.features;
	e = map_rings(u, &p);
	if (e < 0)
		goto fail;

	u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->efd < 0) {
		e = -errno;
		u->efd = -1;
		goto fail;
	}
	if (sys_register(u->ring_fd, IORING_REGISTER_EVENTFD, &u->efd, 1) < 0) {
		e = -errno;
		goto fail;
	}
	return 0;

fail:
	blk_uring_destroy(u);
	return e;
}

void blk_uring_destroy(struct blk_uring *u)
{
	if (u->sqes)
		munmap(u->sqes, u->sqes_len);
	if (u->cq_map)
		munmap(u->cq_map, u->cq_map_len);
	if (u->sq_map)
		munmap(u->sq_map, u->sq_map_len);
	if (u->ring_fd >= 0)
		close(u->ring_fd);
	if (u->efd >= 0)
		close(u->efd);
	reset_fields(u);
}

int blk_uring_eventfd(const struct blk_uring *u)
{
	return u->efd;
}

/* SQEs prepared and not yet consumed by the kernel. */
static unsigned int sq_pending(const struct blk_uring *u)
{
	/* Acquire: pairs with the kernel's release store of the SQ head after
	 * it has read the SQEs, so reusing those slots cannot race with it. */
	return u->sq.local_tail - __atomic_load_n(u->sq.head, __ATOMIC_ACQUIRE);
}

static void note_inflight(struct blk_uring *u)
{
	uint64_t n = atomic_load_explicit(&u->stats.submitted, memory_order_relaxed) -
		     atomic_load_explicit(&u->stats.completed, memory_order_relaxed);

	if (n > atomic_load_explicit(&u->stats.max_inflight, memory_order_relaxed))
		atomic_store_explicit(&u->stats.max_inflight, n, memory_order_relaxed);
}

/* Publish the prepared SQEs and hand them to the kernel.  Returns the
 * number submitted, or a negative errno if the kernel took none (they stay
 * in the SQ for the next try). */
static int submit_pending(struct blk_uring *u)
{
	unsigned int todo;
	int total = 0;

	/* Release: the SQE contents written by uring_submit must be visible
	 * before the kernel can see the new tail (it loads the tail with
	 * acquire). */
	__atomic_store_n(u->sq.tail, u->sq.local_tail, __ATOMIC_RELEASE);
	todo = sq_pending(u);
	if (todo == 0)
		return 0;
	stat_add(&u->stats.batches, 1);
	while (todo > 0) {
		int n = sys_enter(u->ring_fd, todo, 0, 0);

		stat_add(&u->stats.enter_calls, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* EAGAIN / EBUSY (no memory for requests, CQ
			 * overflow backlog): the SQEs stay queued and the
			 * next flush or completion pass retries. */
			if (total == 0)
				total = -errno;
			break;
		}
		if (n == 0)
			break;
		stat_add(&u->stats.submitted, (uint64_t)n);
		total += n;
		/* the kernel stops at an SQE it could not prepare (after
		 * posting its CQE): go on with the rest */
		todo = sq_pending(u);
	}
	note_inflight(u);
	return total;
}

static int uring_submit(void *eng, struct blk_req *r)
{
	struct blk_uring *u = eng;
	struct io_uring_sqe *sqe;

	if (r->type != VIRTIO_BLK_T_IN && r->type != VIRTIO_BLK_T_OUT &&
	    r->type != VIRTIO_BLK_T_FLUSH)
		return -EOPNOTSUPP;
	if (r->type != VIRTIO_BLK_T_FLUSH && (r->iovcnt <= 0 || !r->iov))
		return -EINVAL;

	if (sq_pending(u) >= u->sq.entries) {
		stat_add(&u->stats.sq_full, 1);
		submit_pending(u);
		if (sq_pending(u) >= u->sq.entries)
			return -EBUSY;
	}

	sqe = &u->sqes[u->sq.local_tail & u->sq.mask];
	memset(sqe, 0, sizeof(*sqe));
	sqe->fd = u->fd;
	sqe->user_data = (uint64_t)(uintptr_t)r;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		sqe->opcode = IORING_OP_READV;
		break;
	case VIRTIO_BLK_T_OUT:
		sqe->opcode = IORING_OP_WRITEV;
		sqe->rw_flags = r->dsync ? RWF_DSYNC : 0;
		break;
	default: /* FLUSH: fdatasync of the whole file (off = len = 0) */
		sqe->opcode = IORING_OP_FSYNC;
		sqe->fsync_flags = IORING_FSYNC_DATASYNC;
		break;
	}
	if (sqe->opcode != IORING_OP_FSYNC) {
		sqe->off = r->offset;
		sqe->addr = (uint64_t)(uintptr_t)r->iov;
		sqe->len = (uint32_t)r->iovcnt;
	}
	/* Not visible to the kernel until submit_pending's release store. */
	u->sq.local_tail++;
	return 0;
}

static void uring_flush(void *eng)
{
	submit_pending(eng);
}

/* What blk_req_done gets for a CQE result.  A read or write must move
 * exactly r->len bytes: the device model keeps requests inside the image,
 * so a short transfer on a regular file (possible only at EOF) or a block
 * device is an error, not something to resubmit. */
static int64_t cqe_result(struct blk_uring *u, const struct blk_req *r, int32_t res)
{
	if (res < 0 || r->type == VIRTIO_BLK_T_FLUSH)
		return res;
	if ((uint32_t)res != r->len) {
		stat_add(&u->stats.short_io, 1);
		return -EIO;
	}
	return res;
}

/* Complete the CQEs at positions [head, tail), one queue at a time: the
 * first CQE not yet consumed picks the queue, every later CQE of that
 * queue is completed under one lock hold, and consumed CQEs get user_data
 * 0 (the CQ is ours until the head moves past them). */
static void reap_range(struct blk_uring *u, unsigned int head, unsigned int tail)
{
	for (unsigned int i = head; i != tail; i++) {
		struct io_uring_cqe *first = &u->cq.cqes[i & u->cq.mask];
		struct blk_queue *q;

		if (!first->user_data)
			continue;
		q = ((struct blk_req *)(uintptr_t)first->user_data)->q;
		virtio_pci_queue_lock(q->blk->t, q->idx);
		for (unsigned int j = i; j != tail; j++) {
			struct io_uring_cqe *c = &u->cq.cqes[j & u->cq.mask];
			struct blk_req *r = (struct blk_req *)(uintptr_t)c->user_data;

			if (!r || r->q != q)
				continue;
			c->user_data = 0;
			blk_req_done(r, cqe_result(u, r, c->res));
		}
		virtio_blk_queue_flush(q);
		virtio_pci_queue_unlock(q->blk->t, q->idx);
	}
}

void blk_uring_complete(struct blk_uring *u)
{
	uint64_t v;

	/* Drain the eventfd first: a CQE posted after our last look at the
	 * CQ tail signals it again, so no completion is left behind.  A
	 * failed read (EAGAIN: nothing signalled) changes nothing: the CQ is
	 * looked at anyway. */
	if (read(u->efd, &v, sizeof(v)) < 0)
		v = 0;
	for (;;) {
		/* Only we write the head: a plain load is enough. */
		unsigned int head = __atomic_load_n(u->cq.head, __ATOMIC_RELAXED);
		/* Acquire: pairs with the kernel's release store of the CQ
		 * tail, so the CQEs before it are fully written when we read
		 * them. */
		unsigned int tail = __atomic_load_n(u->cq.tail, __ATOMIC_ACQUIRE);

		if (head == tail) {
			/* CQEs that did not fit (only if more requests are
			 * in flight than the CQ holds) wait in the kernel's
			 * overflow list: have them moved in and look again.
			 * Relaxed: the flag is only a hint; the system call
			 * orders whatever it moves in before the tail we
			 * load next. */
			if (!(__atomic_load_n(u->sq.flags, __ATOMIC_RELAXED) &
			      IORING_SQ_CQ_OVERFLOW))
				break;
			stat_add(&u->stats.enter_calls, 1);
			if (sys_enter(u->ring_fd, 0, 0, IORING_ENTER_GETEVENTS) < 0 &&
			    errno != EINTR)
				break;
			/* Acquire: as above.  Nothing moved in: stop rather
			 * than spin (the next completion brings us back). */
			if (__atomic_load_n(u->cq.tail, __ATOMIC_ACQUIRE) == head)
				break;
			continue;
		}
		reap_range(u, head, tail);
		stat_add(&u->stats.completed, tail - head);
		/* Release: our reads (and user_data clears) of these CQEs are
		 * done before the kernel may reuse their slots.  Then look
		 * again: more may have been posted meanwhile. */
		__atomic_store_n(u->cq.head, tail, __ATOMIC_RELEASE);
	}
	/* a flush that the kernel refused (EAGAIN / EBUSY) is retried now
	 * that completions freed resources */
	if (sq_pending(u) > 0)
		submit_pending(u);
}

const struct blk_engine_ops blk_uring_ops = {
    .name = "io_uring",
    .submit = uring_submit,
    .flush = uring_flush,
};
