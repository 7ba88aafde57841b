/* Copies between iovecs (guest buffers) and flat host buffers, for the
 * few bytes a device must read or write itself (headers, status, IDs).
 * Pure. */
#ifndef KVMLAB_VIRTIO_IOV_H
#define KVMLAB_VIRTIO_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Copy len bytes of iov[0, n), starting skip bytes in, to dst.  Returns
 * the bytes copied (fewer when the iovecs end first). */
size_t iov_gather(const struct iovec *iov, unsigned int n, size_t skip, void *dst, size_t len);

/* Copy len bytes of src into iov[0, n), starting skip bytes in.  Returns
 * the bytes copied (fewer when the iovecs end first). */
size_t iov_scatter(const struct iovec *iov, unsigned int n, size_t skip, const void *src,
		   size_t len);

#endif
