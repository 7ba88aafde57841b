/* Address-range dispatch for port I/O and MMIO. */
#include "vmm/bus.h"

#include <errno.h>
#include <string.h>

int bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	return -pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	pthread_rwlock_destroy(&bus->lock);
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque)
{
	uint64_t last;
	unsigned int pos, i;
	int ret = 0;

	if (len == 0 || __builtin_add_overflow(base, len - 1, &last))
		return -EINVAL;
	if (!ops || !ops->read || !ops->write)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	for (pos = 0; pos < bus->nr && bus->ranges[pos].base < base; pos++)
		;
	if (pos > 0) {
		const struct bus_range *p = &bus->ranges[pos - 1];
		if (p->base + (p->len - 1) >= base)
			ret = -EEXIST;
	}
	if (pos < bus->nr && bus->ranges[pos].base <= last)
		ret = -EEXIST;
	if (!ret && bus->nr >= BUS_MAX_RANGES)
		ret = -ENOSPC;
	if (!ret) {
		for (i = bus->nr; i > pos; i--)
			bus->ranges[i] = bus->ranges[i - 1];
		bus->ranges[pos] = (struct bus_range){base, len, ops, opaque};
		bus->nr++;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	for (unsigned int i = 0; i < bus->nr; i++) {
		if (bus->ranges[i].base != base)
			continue;
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(bus->nr - i - 1) * sizeof(bus->ranges[0]));
		bus->nr--;
		ret = 0;
		break;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

/* Binary search for the range wholly containing [addr, addr + len). */
static const struct bus_range *lookup(const struct bus *bus, uint64_t addr, uint32_t len)
{
	unsigned int lo = 0, hi = bus->nr;

	if (len == 0)
		return NULL;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->len) {
			lo = mid + 1;
		} else {
			/* addr is inside r; the access must end inside it too */
			return (uint64_t)len <= r->len - (addr - r->base) ? r : NULL;
		}
	}
	return NULL;
}

struct bus_result bus_read(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len)
{
	struct bus_result res = {0};
	const struct bus_range *r;

	pthread_rwlock_rdlock(&bus->lock);
	r = lookup(bus, addr, len);
	if (r) {
		r->ops->read(r->opaque, addr - r->base, data, len);
		res.device = r->ops->name;
		res.claimed = true;
	} else {
		memset(data, 0xff, len);
	}
	pthread_rwlock_unlock(&bus->lock);
	return res;
}

struct bus_result bus_write(struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len)
{
	struct bus_result res = {0};
	const struct bus_range *r;

	pthread_rwlock_rdlock(&bus->lock);
	r = lookup(bus, addr, len);
	if (r) {
		r->ops->write(r->opaque, addr - r->base, data, len);
		res.device = r->ops->name;
		res.claimed = true;
	}
	pthread_rwlock_unlock(&bus->lock);
	return res;
}
