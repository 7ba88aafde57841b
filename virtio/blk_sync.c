/* Synchronous virtio-blk engine.  See blk_sync.h. */
#include "virtio/blk_sync.h"

#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/virtio_blk.h>

/* Read or write all of iov[0, cnt) at off, continuing after short
 * transfers.  Returns the bytes moved (fewer at EOF) or a negative errno. */
static int64_t rw_all(int fd, struct iovec *iov, int cnt, uint64_t off, bool write, int flags)
{
	int64_t total = 0;

	while (cnt > 0) {
		ssize_t n = write ? pwritev2(fd, iov, cnt, (off_t)off, flags)
				  : preadv(fd, iov, cnt, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* EOF, or a device that takes nothing */
		total += n;
		off += (uint64_t)n;
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return total;
}

static int sync_submit(void *eng, struct blk_req *r)
{
	const struct blk_sync *s = eng;
	int fd = s ? s->fd : r->q->blk->disk.fd;
	int64_t res;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		res = rw_all(fd, r->iov, r->iovcnt, r->offset, false, 0);
		break;
	case VIRTIO_BLK_T_OUT:
		res = rw_all(fd, r->iov, r->iovcnt, r->offset, true, r->dsync ? RWF_DSYNC : 0);
		break;
	case VIRTIO_BLK_T_FLUSH:
		res = fdatasync(fd) ? -errno : 0;
		break;
	default:
		return -EINVAL;
	}
	blk_req_done(r, res);
	return 0;
}

static void sync_flush(void *eng)
{
	(void)eng; /* every request already ran */
}

const struct blk_engine_ops blk_sync_ops = {
    .name = "sync",
    .submit = sync_submit,
    .flush = sync_flush,
};
