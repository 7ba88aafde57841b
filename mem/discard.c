/* Returning guest RAM to the host.  See discard.h. */
#include "mem/discard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>

static bool shared_mapping(int flags)
{
	int type = flags & MAP_TYPE;

	return type == MAP_SHARED || type == MAP_SHARED_VALIDATE;
}

int mem_discard(const struct mem_backing *b, uint64_t offset, uint64_t len)
{
	uint64_t ps = b->page_size, end;
	uint8_t *p;

	if (!b->hva || ps == 0 || (ps & (ps - 1)) || len == 0 || offset % ps || len % ps ||
	    __builtin_add_overflow(offset, len, &end) || end > b->size)
		return -EINVAL;
	p = b->hva + offset;
	if (b->fd >= 0) {
		/* Frees the file's pages and unmaps them from every shared
		 * mapping (the file offset is the mapping offset: mapped at 0). */
		if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
			      (off_t)len))
			return -errno;
		/* copy-on-write copies of a private mapping stay otherwise */
		if (!shared_mapping(b->mmap_flags) && madvise(p, len, MADV_DONTNEED))
			return -errno;
		return 0;
	}
	if (madvise(p, len, shared_mapping(b->mmap_flags) ? MADV_REMOVE : MADV_DONTNEED))
		return -errno;
	return 0;
}

int mem_discard_region(void *opaque, unsigned int region, uint64_t offset, uint64_t len)
{
	const struct mem_backing *b = opaque;

	return mem_discard(&b[region], offset, len);
}
