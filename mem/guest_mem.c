/* Guest physical memory map: bounds-checked translation of guest ranges. */
#include "mem/guest_mem.h"

#include <errno.h>
#include <string.h>

void gm_init(struct guest_mem *gm)
{
	memset(gm, 0, sizeof(*gm));
}

static uint64_t region_end(const struct gm_region *r)
{
	return r->gpa + r->size; /* cannot wrap: checked at gm_region_add */
}

int gm_region_add(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *hva)
{
	uint64_t end;
	unsigned int i, pos;

	if (size == 0 || hva == NULL || __builtin_add_overflow(gpa, size, &end))
		return -EINVAL;
	if (gm->nr >= GM_MAX_REGIONS)
		return -ENOSPC;
	for (pos = 0; pos < gm->nr && gm->regions[pos].gpa < gpa; pos++)
		;
	if (pos > 0 && region_end(&gm->regions[pos - 1]) > gpa)
		return -EEXIST;
	if (pos < gm->nr && gm->regions[pos].gpa < end)
		return -EEXIST;
	for (i = gm->nr; i > pos; i--)
		gm->regions[i] = gm->regions[i - 1];
	gm->regions[pos] = (struct gm_region){.gpa = gpa, .size = size, .hva = hva};
	gm->nr++;
	return 0;
}

/* The region holding gpa, or NULL. */
static const struct gm_region *find(const struct guest_mem *gm, uint64_t gpa)
{
	for (unsigned int i = 0; i < gm->nr; i++) {
		const struct gm_region *r = &gm->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	const struct gm_region *r = find(gm, gpa);
	uint64_t off;

	if (!r)
		return NULL;
	off = gpa - r->gpa;
	if (len > r->size - off)
		return NULL;
	return r->hva + off;
}

int gm_iov(const struct guest_mem *gm, uint64_t gpa, uint64_t len, struct iovec *iov, int max)
{
	uint64_t end;
	int n = 0;

	if (__builtin_add_overflow(gpa, len, &end))
		return -EFAULT;
	while (len > 0) {
		const struct gm_region *r = find(gm, gpa);
		uint64_t off, chunk;

		if (!r)
			return -EFAULT;
		if (n >= max)
			return -E2BIG;
		off = gpa - r->gpa;
		chunk = r->size - off;
		if (chunk > len)
			chunk = len;
		iov[n].iov_base = r->hva + off;
		iov[n].iov_len = chunk;
		n++;
		gpa += chunk;
		len -= chunk;
	}
	return n;
}

/* Copy in either direction, after checking the whole range first. */
static int copy(const struct guest_mem *gm, uint64_t gpa, void *buf, uint64_t len, int to_guest)
{
	struct iovec iov[GM_MAX_REGIONS];
	uint8_t *p = buf;
	int n = gm_iov(gm, gpa, len, iov, GM_MAX_REGIONS);

	if (n < 0)
		return -EFAULT;
	for (int i = 0; i < n; i++) {
		if (to_guest)
			memcpy(iov[i].iov_base, p, iov[i].iov_len);
		else
			memcpy(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	return 0;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	return copy(gm, gpa, dst, len, 0);
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
	return copy(gm, gpa, (void *)src, len, 1);
}

uint64_t gm_end(const struct guest_mem *gm)
{
	return gm->nr ? region_end(&gm->regions[gm->nr - 1]) : 0;
}

uint64_t gm_total(const struct guest_mem *gm)
{
	uint64_t t = 0;
	for (unsigned int i = 0; i < gm->nr; i++)
		t += gm->regions[i].size;
	return t;
}
