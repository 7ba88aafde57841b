/* Monotonic time in nanoseconds, for timelines and measurements. */
#ifndef KVMLAB_VMM_CLOCK_H
#define KVMLAB_VMM_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC now, in ns.  Never fails on Linux. */
static inline uint64_t clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
