/* The `--disk` option (repeatable):
 *   --disk path=IMG[,readonly=on|off][,cache=none|writeback|writethrough|
 *          directsync|unsafe][,engine=sync|io_uring][,queues=N]
 *          [,queue-size=N][,iothreads=N][,iothread-affinity=CPULIST]
 *          [,serial=STR][,discard=on|off][,ioeventfd=on|off][,irqfd=on|off]
 * Pure: nothing is opened, so every refusal is unit-tested. */
#ifndef KVMLAB_VMM_DISK_OPTS_H
#define KVMLAB_VMM_DISK_OPTS_H

#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

#include "virtio/blk.h"

#define DISK_MAX		8
#define DISK_DEFAULT_QUEUE_SIZE 256
#define DISK_MAX_QUEUE_SIZE	1024

enum disk_engine { DISK_ENGINE_SYNC, DISK_ENGINE_IO_URING };

struct disk_opts {
	char path[PATH_MAX];
	bool readonly;
	enum blk_cache cache;	 /* default writeback */
	enum disk_engine engine; /* default sync */
	unsigned int queues;	 /* 0: as many as vCPUs (decided by the VM) */
	unsigned int queue_size; /* power of two, 2..DISK_MAX_QUEUE_SIZE */
	unsigned int iothreads;	 /* 1..queues */
	bool affinity_set;
	cpu_set_t affinity; /* iothread-affinity */
	char serial[BLK_ID_BYTES + 1];
	bool discard; /* default on */
	bool ioeventfd, irqfd;
};

/* Parse one --disk value into *d (defaults first).  Returns 0 or -EINVAL
 * with a one-line reason naming --disk and the key in err. */
int disk_opts_parse(const char *s, struct disk_opts *d, char *err, size_t errlen);

/* "sync" / "io_uring". */
const char *disk_engine_name(enum disk_engine e);

#endif
