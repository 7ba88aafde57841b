/* KVM exit decoding and dispatch. */
#include "vmm/exit.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

static const char *const kind_names[EXIT_KIND_COUNT] = {
    [EXIT_IO] = "io",
    [EXIT_MMIO] = "mmio",
    [EXIT_HLT] = "hlt",
    [EXIT_SHUTDOWN] = "shutdown",
    [EXIT_SYSTEM_EVENT] = "system_event",
    [EXIT_FAIL_ENTRY] = "fail_entry",
    [EXIT_INTERNAL_ERROR] = "internal_error",
    [EXIT_INTR] = "intr",
    [EXIT_IRQ_WINDOW] = "irq_window",
    [EXIT_OTHER] = "other",
};

const char *exit_kind_name(enum exit_kind k)
{
	return (unsigned)k < EXIT_KIND_COUNT ? kind_names[k] : "?";
}

int exit_decode(struct kvm_run *run, size_t run_size, struct vm_exit *out)
{
	memset(out, 0, sizeof(*out));
	out->reason = run->exit_reason;
	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		uint64_t bytes, end;
		uint8_t sz = run->io.size;

		if (sz != 1 && sz != 2 && sz != 4)
			return -EINVAL;
		bytes = (uint64_t)sz * run->io.count;
		if (run->io.count == 0 ||
		    __builtin_add_overflow(run->io.data_offset, bytes, &end) ||
		    run->io.data_offset < sizeof(*run) || end > run_size)
			return -EINVAL;
		out->kind = EXIT_IO;
		out->io.port = run->io.port;
		out->io.size = sz;
		out->io.count = run->io.count;
		out->io.write = run->io.direction == KVM_EXIT_IO_OUT;
		out->io.data = (uint8_t *)run + run->io.data_offset;
		return 0;
	}
	case KVM_EXIT_MMIO:
		if (run->mmio.len == 0 || run->mmio.len > sizeof(run->mmio.data))
			return -EINVAL;
		out->kind = EXIT_MMIO;
		out->mmio.addr = run->mmio.phys_addr;
		out->mmio.len = run->mmio.len;
		out->mmio.write = run->mmio.is_write;
		out->mmio.data = run->mmio.data;
		return 0;
	case KVM_EXIT_HLT:
		out->kind = EXIT_HLT;
		return 0;
	case KVM_EXIT_SHUTDOWN:
		out->kind = EXIT_SHUTDOWN;
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		out->kind = EXIT_SYSTEM_EVENT;
		out->system_event.type = run->system_event.type;
		return 0;
	case KVM_EXIT_FAIL_ENTRY:
		out->kind = EXIT_FAIL_ENTRY;
		out->hw.reason = run->fail_entry.hardware_entry_failure_reason;
		return 0;
	case KVM_EXIT_INTERNAL_ERROR:
		out->kind = EXIT_INTERNAL_ERROR;
		out->hw.reason = run->internal.suberror;
		return 0;
	case KVM_EXIT_INTR:
		out->kind = EXIT_INTR;
		return 0;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		out->kind = EXIT_IRQ_WINDOW;
		return 0;
	default:
		out->kind = EXIT_OTHER;
		return 0;
	}
}

/* Little-endian value of up to 8 bytes, for tracing. */
static uint64_t le_value(const uint8_t *d, uint32_t len)
{
	uint64_t v = 0;
	for (uint32_t i = 0; i < len && i < 8; i++)
		v |= (uint64_t)d[i] << (8 * i);
	return v;
}

static void trace_access(const struct exit_ctx *ctx, const char *kind, uint64_t addr, uint32_t size,
			 bool write, const uint8_t *data, struct bus_result r)
{
	fprintf(ctx->trace, "vcpu%u %-4s %-5s %s=0x%" PRIx64 " size=%u value=0x%" PRIx64 " -> %s\n",
		ctx->cpu, kind, write ? "write" : "read", kind[0] == 'i' ? "port" : "addr", addr,
		size, le_value(data, size), r.claimed ? r.device : "unclaimed");
}

static void count_unclaimed(struct exit_ctx *ctx, bool write, struct bus_result r)
{
	if (!r.claimed)
		stat_inc(write ? &ctx->stats->unclaimed_writes : &ctx->stats->unclaimed_reads);
}

static void handle_io(const struct vm_exit *e, struct exit_ctx *ctx)
{
	for (uint32_t i = 0; i < e->io.count; i++) {
		uint8_t *d = e->io.data + (size_t)i * e->io.size;
		struct bus_result r = e->io.write ? bus_write(ctx->pio, e->io.port, d, e->io.size)
						  : bus_read(ctx->pio, e->io.port, d, e->io.size);
		count_unclaimed(ctx, e->io.write, r);
		if (ctx->trace)
			trace_access(ctx, "io", e->io.port, e->io.size, e->io.write, d, r);
	}
}

static void handle_mmio(const struct vm_exit *e, struct exit_ctx *ctx)
{
	struct bus_result r = e->mmio.write
				  ? bus_write(ctx->mmio, e->mmio.addr, e->mmio.data, e->mmio.len)
				  : bus_read(ctx->mmio, e->mmio.addr, e->mmio.data, e->mmio.len);
	count_unclaimed(ctx, e->mmio.write, r);
	if (ctx->trace)
		trace_access(ctx, "mmio", e->mmio.addr, e->mmio.len, e->mmio.write, e->mmio.data,
			     r);
}

enum exit_action exit_handle(const struct vm_exit *e, struct exit_ctx *ctx)
{
	stat_inc(&ctx->stats->by_kind[e->kind]);
	switch (e->kind) {
	case EXIT_IO:
		handle_io(e, ctx);
		return ACTION_CONTINUE;
	case EXIT_MMIO:
		handle_mmio(e, ctx);
		return ACTION_CONTINUE;
	default:
		break;
	}
	if (ctx->trace && e->kind != EXIT_INTR)
		fprintf(ctx->trace, "vcpu%u %s (reason %u)\n", ctx->cpu, exit_kind_name(e->kind),
			e->reason);
	switch (e->kind) {
	case EXIT_HLT:
		return ACTION_HALT;
	case EXIT_SHUTDOWN:
		return ACTION_SHUTDOWN;
	case EXIT_SYSTEM_EVENT:
		return e->system_event.type == KVM_SYSTEM_EVENT_CRASH ? ACTION_FAIL : ACTION_RESET;
	case EXIT_FAIL_ENTRY:
	case EXIT_INTERNAL_ERROR:
	case EXIT_OTHER:
		return ACTION_FAIL;
	default:
		return ACTION_CONTINUE;
	}
}
