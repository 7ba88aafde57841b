/* Port-I/O and MMIO buses: sorted, non-overlapping ranges, each served by a
 * device through a const ops table and an opaque pointer. */
#ifndef KVMLAB_VMM_BUS_H
#define KVMLAB_VMM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct bus_ops {
	const char *name; /* shown by --trace exits */
	/* Fill data[0..len) for a read of len bytes at offset off of the range. */
	void (*read)(void *opaque, uint64_t off, uint8_t *data, uint32_t len);
	/* Consume a write of len bytes at offset off. */
	void (*write)(void *opaque, uint64_t off, const uint8_t *data, uint32_t len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
};

#define BUS_MAX_RANGES 64

struct bus {
	const char *name;			 /* "pio" or "mmio" */
	struct bus_range ranges[BUS_MAX_RANGES]; /* sorted by base */
	unsigned int nr;
	pthread_rwlock_t lock; /* writers: (un)registration; readers: dispatch */
};

/* Outcome of a dispatched access, for statistics and tracing. */
struct bus_result {
	const char *device; /* ops->name of the handler, NULL if unclaimed */
	bool claimed;
};

/* Initialise an empty bus.  Returns 0 or a negative errno from pthread. */
int bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/* Claim [base, base + len) for a device.  ops must outlive the bus and have
 * both callbacks.  Returns 0; -EINVAL for len == 0, a range that wraps past
 * 2^64 or a NULL/incomplete ops; -EEXIST if it overlaps a registered range;
 * -ENOSPC when the table is full. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque);

/* Release the range registered at exactly base.  Returns 0 or -ENOENT. */
int bus_unregister(struct bus *bus, uint64_t base);

/* Dispatch an access of len bytes at addr.  An access not wholly inside one
 * registered range is unclaimed: a read fills data with 0xff, a write is
 * dropped.  Never fails; the result says who (if anyone) handled it. */
struct bus_result bus_read(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len);
struct bus_result bus_write(struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len);

#endif
