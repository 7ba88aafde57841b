/* Boot-marker port (0x80, the PC POST-code port): every write is recorded
 * with its time since kvmlab started, for boot timelines. */
#ifndef KVMLAB_VMM_BOOT_MARKER_H
#define KVMLAB_VMM_BOOT_MARKER_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/bus.h"

#define BOOT_MARKER_PORT 0x80
#define BOOT_MARKER_MAX	 256

struct boot_mark {
	uint64_t ns; /* since t0 */
	uint32_t value;
};

struct boot_marker {
	pthread_mutex_t lock;
	uint64_t t0_ns; /* process start, CLOCK_MONOTONIC */
	struct boot_mark marks[BOOT_MARKER_MAX];
	unsigned int nr;
	uint64_t dropped; /* writes beyond BOOT_MARKER_MAX */
};

extern const struct bus_ops boot_marker_ops;

/* Start recording relative to t0_ns.  Returns 0 or a negative errno. */
int boot_marker_init(struct boot_marker *m, uint64_t t0_ns);
void boot_marker_destroy(struct boot_marker *m);

/* Print "  <ms> ms  port 0x80 marker <value>" lines to f. */
void boot_marker_print(struct boot_marker *m, FILE *f);

#endif
