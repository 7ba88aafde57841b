/* The synchronous virtio-blk engine: preadv / pwritev2 / fdatasync on the
 * IO thread, one request at a time, each completed before submit returns.
 * Simple and always available; the io_uring engine keeps many requests in
 * flight instead. */
#ifndef KVMLAB_VIRTIO_BLK_SYNC_H
#define KVMLAB_VIRTIO_BLK_SYNC_H

#include "virtio/blk.h"

/* An engine instance: the image fd.  A NULL engine pointer means the
 * disk's own fd (r->q->blk->disk.fd). */
struct blk_sync {
	int fd;
};

/* submit does the I/O at once and calls blk_req_done before returning;
 * flush does nothing.  IN reads until done or EOF (a short read completes
 * with IOERR), OUT writes with RWF_DSYNC when r->dsync, FLUSH fdatasyncs.
 * submit consumes r->iov (advances it over short transfers). */
extern const struct blk_engine_ops blk_sync_ops;

#endif
