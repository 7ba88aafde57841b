/* Prometheus text exposition format, version 0.0.4: metric families of
 * counters and gauges, each introduced once by "# HELP" and "# TYPE" and
 * followed by its samples, with escaped label values.  Builds into a
 * growable buffer; a bad name, a sample outside a family, a family written
 * twice, or a failed allocation set a sticky error (later calls do
 * nothing), so the text is always valid exposition format or refused.
 *
 *   prom_family(&p, "kvmlab_vcpu_exits_total", PROM_COUNTER, "VM exits.");
 *   prom_sample_u64(&p, (struct prom_label[]){{"vcpu", "0"}}, 1, 1234);
 *
 * Content type for HTTP: PROM_CONTENT_TYPE. */
#ifndef KVMLAB_VMM_PROM_H
#define KVMLAB_VMM_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/strbuf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4"

enum prom_type {
	PROM_COUNTER,
	PROM_GAUGE,
};

struct prom_label {
	const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" */
	const char *value; /* any UTF-8 text */
};

struct prom_writer {
	struct strbuf out;	/* the exposition text */
	struct strbuf families; /* names written so far, each NUL-terminated */
	size_t current;		/* offset in families of the open family's name */
	bool open;		/* a family was started: samples may follow */
	int err;		/* 0, -EINVAL, -ENOMEM or -E2BIG; sticky */
};

/* An empty writer whose text may grow to limit bytes (0: no limit). */
void prom_init(struct prom_writer *p, size_t limit);

/* Free the memory; the writer is empty again. */
void prom_free(struct prom_writer *p);

/* Start the family name: writes "# HELP name help" (help may be NULL or
 * empty: no HELP line; backslash and newline are escaped) and "# TYPE name
 * counter|gauge".  Returns 0, or the sticky error: -EINVAL if the name is
 * not a valid metric name or the family was already written. */
int prom_family(struct prom_writer *p, const char *name, enum prom_type type, const char *help);

/* A sample of the open family: "name{l1="v1",...} value".  nlabels may be
 * 0 (labels NULL).  Returns 0 or the sticky error (-EINVAL: no family
 * open, a bad or repeated label name). */
int prom_sample_u64(struct prom_writer *p, const struct prom_label *labels, size_t nlabels,
		    uint64_t v);
int prom_sample_i64(struct prom_writer *p, const struct prom_label *labels, size_t nlabels,
		    int64_t v);
/* NaN, +Inf and -Inf are written as such. */
int prom_sample_double(struct prom_writer *p, const struct prom_label *labels, size_t nlabels,
		       double v);

/* A whole family with one unlabelled sample. */
int prom_metric_u64(struct prom_writer *p, const char *name, enum prom_type type, const char *help,
		    uint64_t v);

/* The text and its length.  Returns 0 or the sticky error. */
int prom_finish(const struct prom_writer *p, const char **text, size_t *len);

/* Whether name matches [a-zA-Z_:][a-zA-Z0-9_:]*. */
bool prom_metric_name_valid(const char *name);

/* Whether name matches [a-zA-Z_][a-zA-Z0-9_]* and does not start with
 * "__" (reserved for Prometheus itself). */
bool prom_label_name_valid(const char *name);

#endif
