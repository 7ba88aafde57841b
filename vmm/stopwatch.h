/* Stopwatch ports for measurements run by the guest:
 *   0xf5 write 1: start; write 0: stop and report;
 *   0xf6: a sink that every access exits to (reads return 0).
 * The report gives the exits counted between start and stop (excluding the
 * stop write itself) and the mean wall time per exit. */
#ifndef KVMLAB_VMM_STOPWATCH_H
#define KVMLAB_VMM_STOPWATCH_H

#include <stdint.h>
#include <stdio.h>

#include "vmm/bus.h"

#define STOPWATCH_PORT 0xf5
#define STOPWATCH_LEN  2

struct stopwatch {
	/* Total exits of all vCPUs so far (the caller's counters). */
	uint64_t (*exits_total)(void *ctx);
	void *ctx;
	FILE *report; /* where results are printed */
	uint64_t start_ns, start_exits;
	int running;
	/* Last completed measurement. */
	uint64_t last_exits, last_ns;
};

extern const struct bus_ops stopwatch_ops;

#endif
