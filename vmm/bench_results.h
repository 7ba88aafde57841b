/* The results of `kvmlab bench`: one row per measured figure (system,
 * point, repeat, metric, value), written as CSV and JSON with the run's
 * facts (kvmlab version, host kernel, whether it ran in the emulated
 * host), and summarised per point as min / median / max for the plots.
 * Pure apart from the FILE it writes to. */
#ifndef KVMLAB_VMM_BENCH_RESULTS_H
#define KVMLAB_VMM_BENCH_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct bench_row {
	char system[16]; /* "kvmlab", "qemu" */
	char suite[16];	 /* "boot", "blk", ... */
	unsigned int point;
	unsigned int repeat; /* 1-based */
	char label[256];     /* the point's "key=value ..." */
	char metric[48];     /* "iops", "first_kvm_run_ms", ... */
	char unit[16];	     /* "IOPS", "ms", ... */
	double value;
	char command[2048]; /* the exact command line that produced it */
};

struct bench_results {
	struct bench_row *rows;
	size_t n, cap;
	char version[32];
	char host_kernel[128];
	bool emulated; /* no hardware /dev/kvm: relative figures only */
};

/* Empty results with the run's facts.  Never fails. */
void bench_results_init(struct bench_results *r, const char *version, const char *host_kernel,
			bool emulated);

/* Free the rows. */
void bench_results_free(struct bench_results *r);

/* Append a copy of row (strings cut to their fields).  0 or -ENOMEM. */
int bench_results_add(struct bench_results *r, const struct bench_row *row);

/* CSV: a header line, then one line per row: system, suite, point, repeat,
 * label, metric, unit, value, command, kvmlab version, host kernel,
 * emulated (RFC 4180 quoting where a field needs it).  Returns 0 or -EIO. */
int bench_results_write_csv(const struct bench_results *r, FILE *f);

/* JSON: {"kvmlab_version":..., "host_kernel":..., "emulated_host":...,
 * "rows":[{...}, ...]}.  Returns 0, -ENOMEM or -EIO. */
int bench_results_write_json(const struct bench_results *r, FILE *f);

/* Min, median and max of metric over the repeats of (system, point).
 * Returns the number of values (0: none, the outputs untouched). */
size_t bench_results_summary(const struct bench_results *r, const char *system, unsigned int point,
			     const char *metric, double *min, double *median, double *max);

/* The distinct metric names in order of first appearance: calls fn for
 * each.  Returns the count. */
size_t bench_results_metrics(const struct bench_results *r,
			     void (*fn)(void *opaque, const char *metric, const char *unit),
			     void *opaque);

#endif
