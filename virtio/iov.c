/* iovec <-> flat buffer copies. */
#include "virtio/iov.h"

#include <stdint.h>
#include <string.h>

/* Copy between iov[0, n) (from byte skip) and buf; to_iov says which way. */
static size_t copy(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len,
		   int to_iov)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		uint8_t *p;
		size_t c;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		c = iov[i].iov_len - skip;
		if (c > len - done)
			c = len - done;
		p = (uint8_t *)iov[i].iov_base + skip;
		if (to_iov)
			memcpy(p, (uint8_t *)buf + done, c);
		else
			memcpy((uint8_t *)buf + done, p, c);
		done += c;
		skip = 0;
	}
	return done;
}

size_t iov_gather(const struct iovec *iov, unsigned int n, size_t skip, void *dst, size_t len)
{
	return copy(iov, n, skip, dst, len, 0);
}

size_t iov_scatter(const struct iovec *iov, unsigned int n, size_t skip, const void *src,
		   size_t len)
{
	return copy(iov, n, skip, (void *)(uintptr_t)src, len, 1);
}
