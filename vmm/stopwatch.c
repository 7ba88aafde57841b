/* Stopwatch ports: guest-bracketed exit-cost measurement. */
#include "vmm/stopwatch.h"

#include <inttypes.h>
#include <string.h>

#include "vmm/clock.h"

static void sw_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	memset(data, 0, len);
}

static void sw_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct stopwatch *sw = opaque;
	uint64_t now = clock_ns();

	(void)len;
	if (off != 0)
		return; /* the sink */
	if (data[0] == 1) {
		sw->running = 1;
		sw->start_exits = sw->exits_total(sw->ctx);
		sw->start_ns = clock_ns();
	} else if (data[0] == 0 && sw->running) {
		sw->running = 0;
		/* the stop write is itself one exit: leave it out */
		sw->last_exits = sw->exits_total(sw->ctx) - sw->start_exits - 1;
		sw->last_ns = now - sw->start_ns;
		if (sw->report)
			fprintf(sw->report,
				"kvmlab: stopwatch: %" PRIu64
				" exits in %.3f ms: %.2f us per exit\n",
				sw->last_exits, sw->last_ns / 1e6,
				sw->last_exits ? sw->last_ns / 1e3 / sw->last_exits : 0.0);
	}
}

const struct bus_ops stopwatch_ops = {
    .name = "stopwatch",
    .read = sw_read,
    .write = sw_write,
};
