/* Everything a running VM can tell about itself, walked once and written
 * either as JSON (the API's "stats") or in the Prometheus text format (the
 * API's "metrics") from the same walk, so both always carry the same
 * figures.
 *
 * The walk visits groups in a fixed order: vm, vcpu (label vcpu), thread
 * (label thread), memory, region (label region), device (label device),
 * queue (labels device, queue), balloon, guest_stats.  Each group holds
 * named values.  JSON: {"vm": {...}, "vcpus": [{...}], ...}, one array per
 * labelled kind.  Prometheus: family kvmlab_<kind>_<name> with the
 * group's labels; a value given with an extra label (exits by reason) adds
 * it to the sample. */
#ifndef KVMLAB_VMM_VM_METRICS_H
#define KVMLAB_VMM_VM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/json.h"

struct vm;

enum vm_metric_type { VM_METRIC_COUNTER, VM_METRIC_GAUGE };

struct vm_metric_label {
	const char *key;
	const char *value;
};

/* A consumer of the walk.  Calls come as begin, values, end, per group. */
struct vm_metrics_sink {
	void (*begin)(void *ctx, const char *kind, const struct vm_metric_label *labels,
		      unsigned int nlabels);
	/* extra may be NULL; else one more label for this value only */
	void (*num)(void *ctx, const char *name, const struct vm_metric_label *extra,
		    enum vm_metric_type type, const char *help, double v, bool integral);
	/* informational text (JSON only) */
	void (*text)(void *ctx, const char *name, const char *v);
	void (*end)(void *ctx);
};

/* Walk vm's figures into sink.  Any thread while the VM runs (reads
 * atomics and /proc). */
void vm_metrics_walk(struct vm *vm, const struct vm_metrics_sink *sink, void *ctx);

/* The walk as members of the JSON object w is in.  Returns jw_error(w). */
int vm_metrics_json(struct vm *vm, struct json_writer *w);

/* The walk as Prometheus text (malloc'd, NUL-terminated, in *text; free
 * it).  Returns 0 or a negative errno. */
int vm_metrics_prom(struct vm *vm, char **text, size_t *len);

#endif
