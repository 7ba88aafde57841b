/* Decoding and handling of KVM_RUN exits, as pure functions over a
 * struct kvm_run so unit tests can feed hand-made exits. */
#ifndef KVMLAB_VMM_EXIT_H
#define KVMLAB_VMM_EXIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/kvm.h>

#include "vmm/bus.h"

enum exit_kind {
	EXIT_IO,
	EXIT_MMIO,
	EXIT_HLT,
	EXIT_SHUTDOWN,
	EXIT_SYSTEM_EVENT,
	EXIT_FAIL_ENTRY,
	EXIT_INTERNAL_ERROR,
	EXIT_INTR,	 /* KVM_RUN interrupted by a signal (kick) */
	EXIT_IRQ_WINDOW, /* ready for interrupt injection */
	EXIT_OTHER,	 /* a reason we do not handle */
	EXIT_KIND_COUNT
};

/* Human name of a kind ("io", "mmio", ...). */
const char *exit_kind_name(enum exit_kind k);

struct vm_exit {
	enum exit_kind kind;
	uint32_t reason; /* raw run->exit_reason */
	union {
		struct {
			uint16_t port;
			uint8_t size;	/* 1, 2 or 4 */
			uint32_t count; /* > 1 for rep ins/outs */
			bool write;
			uint8_t *data; /* size * count bytes inside the run page */
		} io;
		struct {
			uint64_t addr;
			uint32_t len; /* 1..8 */
			bool write;
			uint8_t *data;
		} mmio;
		struct {
			uint32_t type;
		} system_event;
		struct {
			uint64_t reason;
		} hw;
	};
};

/* Decode run (of run_size mapped bytes) into *out.  Returns 0, or -EINVAL if
 * the exit is malformed (an I/O data area outside the run page, a size that
 * is not 1/2/4, an MMIO length over 8). */
int exit_decode(struct kvm_run *run, size_t run_size, struct vm_exit *out);

/* Per-vCPU exit counters.  Written by the owning vCPU thread only (relaxed
 * atomics so other threads may read a consistent-enough snapshot). */
struct exit_stats {
	_Atomic uint64_t by_kind[EXIT_KIND_COUNT];
	_Atomic uint64_t unclaimed_reads;
	_Atomic uint64_t unclaimed_writes;
};

/* Add one to a counter owned by the calling thread. */
static inline void stat_inc(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* What the vCPU loop should do after an exit. */
enum exit_action {
	ACTION_CONTINUE,
	ACTION_HALT,	 /* guest halted with nothing to wake it */
	ACTION_SHUTDOWN, /* triple fault / shutdown */
	ACTION_RESET,	 /* guest asked for reset or power-off */
	ACTION_FAIL,	 /* entry failure or internal error */
};

struct exit_ctx {
	unsigned int cpu;
	struct bus *pio;
	struct bus *mmio;
	struct exit_stats *stats;
	FILE *trace; /* one line per exit when non-NULL */
};

/* Count, trace and dispatch a decoded exit to the buses.  Returns what the
 * caller should do next.  Never fails. */
enum exit_action exit_handle(const struct vm_exit *e, struct exit_ctx *ctx);

#endif
