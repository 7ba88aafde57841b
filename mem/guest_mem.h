/* Guest physical memory: a small set of non-overlapping regions, each a
 * host mapping of [gpa, gpa + size).  Every lookup checks the whole range
 * with overflow-checked arithmetic; device models and loaders only ever
 * reach guest RAM through this API. */
#ifndef KVMLAB_MEM_GUEST_MEM_H
#define KVMLAB_MEM_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define GM_MAX_REGIONS 8

struct gm_region {
	uint64_t gpa;  /* first guest-physical byte */
	uint64_t size; /* bytes, > 0 */
	uint8_t *hva;  /* host mapping of the first byte */
};

struct guest_mem {
	struct gm_region regions[GM_MAX_REGIONS]; /* sorted by gpa */
	unsigned int nr;
};

/* Empty the map.  Never fails. */
void gm_init(struct guest_mem *gm);

/* Add [gpa, gpa + size) backed by hva.  Returns 0, -EINVAL for a zero size,
 * a NULL hva or a range that wraps past 2^64, -EEXIST if it overlaps an
 * existing region, -ENOSPC when GM_MAX_REGIONS are in use. */
int gm_region_add(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *hva);

/* Host pointer for [gpa, gpa + len) if the whole range lies inside one
 * region, else NULL (also for len == 0 at an unmapped gpa, or on wrap). */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copy between guest RAM and a host buffer.  The range may span adjacent
 * regions.  Returns 0, or -EFAULT (nothing copied) if any byte is outside RAM. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len);

/* Describe [gpa, gpa + len) as host iovecs, one per region crossed.
 * Returns the number of iovecs filled (>= 1 when len > 0, 0 when len == 0),
 * -EFAULT if any byte is outside RAM or the range wraps, -E2BIG if more than
 * max iovecs would be needed. */
int gm_iov(const struct guest_mem *gm, uint64_t gpa, uint64_t len, struct iovec *iov, int max);

/* Highest guest-physical address + 1 covered by any region (0 if empty). */
uint64_t gm_end(const struct guest_mem *gm);

/* Sum of region sizes. */
uint64_t gm_total(const struct guest_mem *gm);

#endif
