/* Giving guest RAM back to the host: drop the pages behind part of a
 * struct mem_backing so the host can reuse the memory.  The guest reads
 * zeroes there afterwards (the pages are faulted in again on access).
 *
 *  - private anonymous mapping: MADV_DONTNEED;
 *  - shared anonymous mapping (shmem): MADV_REMOVE (MADV_DONTNEED would
 *    only unmap, leaving the pages in shmem);
 *  - file backed (memfd, hugetlbfs; fd >= 0): fallocate(PUNCH_HOLE |
 *    KEEP_SIZE) frees the file's pages and unmaps them from every shared
 *    mapping; a private mapping of the file also needs MADV_DONTNEED for
 *    its copy-on-write copies.
 * KVM's MMU notifiers drop the guest's mappings of those pages. */
#ifndef KVMLAB_MEM_DISCARD_H
#define KVMLAB_MEM_DISCARD_H

#include <stdint.h>

#include "mem/backend.h"

/* Give [offset, offset + len) of b's mapping back to the host.  offset and
 * len must be multiples of b->page_size (a power of two), len > 0, and the
 * range inside [0, b->size) without wrapping.  Returns 0, -EINVAL for a
 * bad range or a released backing, or the negative errno of the failing
 * madvise / fallocate (-EOPNOTSUPP: the file system cannot punch holes). */
int mem_discard(const struct mem_backing *b, uint64_t offset, uint64_t len);

/* A balloon_discard_fn (mem/balloon_pages.h) over an array of backings:
 * opaque is a struct mem_backing array, region indexes it (the balloon's
 * regions are built from the same array, so region is in range).  Returns
 * mem_discard's result. */
int mem_discard_region(void *opaque, unsigned int region, uint64_t offset, uint64_t len);

#endif
