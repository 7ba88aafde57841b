/* Pieces the suites of `kvmlab bench` share (bench_suites.c holds them and
 * the boot, blk, net, exits and memory suites; bench_ksm.c and
 * bench_balloon.c hold one suite each).  Internal to bench. */
#ifndef KVMLAB_VMM_BENCH_SUITE_H
#define KVMLAB_VMM_BENCH_SUITE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bench.h"
#include "vmm/json.h"

/* A suite's guest script for point p into s (size n). */
typedef void bench_script_fn(const struct bench_ctx *c, const struct bench_matrix *m,
			     const struct bench_point *p, char *s, size_t n);

/* QEMU's -append: the default guest's command line with cmd (a shell
 * command) passed the way kvmlab passes it.  a->n = -1 if too long. */
void bench_append_cmd(struct bench_argv *a, const char *cmd);

/* "-- sh -c SCRIPT": the default guest runs SCRIPT as its command. */
void bench_add_guest_shell(struct bench_argv *a, const char *script);

/* "--stats -- sh -c SCRIPT", SCRIPT made by fn. */
void bench_add_stats_script(const struct bench_ctx *c, const struct bench_matrix *m,
			    const struct bench_point *p, struct bench_argv *a, bench_script_fn *fn);

/* QEMU with KVM, q35, the same kernel and initramfs, memory (memory.size,
 * default 512M) and vCPUs (cpus.boot) as point p; the guest's exit status
 * comes out of isa-debug-exit as (status << 1) | 1. */
void bench_qemu_common(const struct bench_ctx *c, const struct bench_matrix *m,
		       const struct bench_point *p, struct bench_argv *a);

/* bench_qemu_common with mem (e.g. "1G") as the memory without
 * memory.size. */
void bench_qemu_common_mem(const struct bench_ctx *c, const struct bench_matrix *m,
			   const struct bench_point *p, struct bench_argv *a, const char *mem);

/* Whether every key of m is memory.size, cpus.boot or one of also[]
 * (NULL-terminated, may be NULL): only those have a QEMU equivalent. */
bool bench_qemu_has_all(const struct bench_matrix *m, const char *const *also);

/* bench_qemu_common with guest RAM as a memory backend object for
 * kvmlab's --memory keys of p: backend=anon -> memory-backend-ram, memfd ->
 * memory-backend-memfd (hugepage-size -> hugetlb=on,hugetlbsize=),
 * hugetlbfs -> memory-backend-file on path= (default /dev/hugepages);
 * prealloc=, merge=, shared= (share=), host-nodes=, policy= the same.
 * thp=on is QEMU's own default.  Returns false (nothing added) if p sets a
 * key without an equivalent (thp=off, other groups); a->n = -1 if too
 * long. */
bool bench_qemu_memory(const struct bench_ctx *c, const struct bench_matrix *m,
		       const struct bench_point *p, struct bench_argv *a);

/* The figures every suite reports: wall_ms, and for kvmlab's runs
 * vmm_cpu_s and vmm_rss_overhead_mib where --stats printed them.  Returns
 * the number added. */
int bench_host_figures(const struct bench_run *r, struct bench_row *row, struct bench_results *res,
		       bool kvmlab);

/* row is a QEMU row. */
bool bench_is_qemu(const struct bench_row *row);

/* The guest's command succeeded: kvmlab passes its status through; QEMU
 * gives (status << 1) | 1, or 0 where the guest fell back to an ACPI
 * power-off (its output is checked instead). */
bool bench_run_ok(const struct bench_run *r, const struct bench_row *row);

/* For every line of text that starts with tag (the start of a JSON object,
 * e.g. {"tool":"kvmlab-guest blk"), trimmed and parsed: fn(root, opaque),
 * which returns the figures it added (>= 0).  Lines that do not parse are
 * passed over.  Returns the number of lines fn added figures for; *figs
 * grows by the figures. */
int bench_each_json_line(const char *text, const char *tag,
			 int (*fn)(const struct json_value *root, void *opaque), void *opaque,
			 int *figs);

/* A number member of o (int or double) into *v.  false if missing. */
bool bench_json_num(const struct json_value *o, const char *key, double *v);

/* MiB in a size such as 512M or 1G (K/M/G/T, powers of 1024); 0 if it is
 * not one. */
uint64_t bench_size_mib(const char *v);

/* A number from a /proc-style file: the first line's (key NULL) or the
 * one of the line "KEY: N ..." (VmRSS, Pss, ...).  -1 if there is none. */
long long bench_proc_number(const char *path, const char *key);

/* The ksm suite's figures from its watch's sample lines
 * ({"t":..,"alive":..,"filled":..,"pages_sharing":..,"merging_pages":..,
 * "pss_kib":..,"ksmd_ticks":..}): relative to the first sample and at the
 * last one with all guests up and filled: ksm_saved_mib (host-wide
 * pages_sharing growth), ksm_saved_mib_per_guest, ksm_merged_mib (the
 * guests' ksm_merging_pages), pss_mib_per_guest, ksm_window_s, and where
 * reached ksm_t50_s / ksm_t90_s (from all guests filled to half / 90% of
 * the final saving) and ksmd_cpu_s.  Returns the figures added, or -EINVAL
 * without two samples and one with every guest filled. */
int bench_parse_ksm_samples(const char *samples, unsigned int guests, double page_size,
			    double clk_tck, struct bench_row *row, struct bench_results *res);

/* The balloon suite's figures from the summary line its watch writes
 * ({"balloon_summary":1,"fill_mib":..,"rss_filled_mib":..,"rss_freed_mib":..,
 * "rss_inflated_mib":..,"inflate_s":..,"deflate_s":..}): rss_filled_mib,
 * rss_freed_mib, rss_inflated_mib, reclaimed_mib (filled - inflated),
 * reported_mib (filled - freed: what free page reporting gave back before
 * the balloon), inflate_s, inflate_mib_per_s, deflate_s.  Returns the
 * figures added, or -EINVAL unless there is exactly one such line. */
int bench_parse_balloon_summary(const char *samples, struct bench_row *row,
				struct bench_results *res);

/* A connection to the VMM under test: kvmlab's control socket or QEMU's
 * QMP (qmp).  Bytes past a reply line stay for the next one. */
#define BENCH_CONN_BUF 4096
struct bench_conn {
	int fd;
	bool qmp;
	size_t used;
	char buf[BENCH_CONN_BUF];
};

/* Connect to path; for QMP also read the greeting and negotiate
 * capabilities.  0 or -errno (nothing left open). */
int bench_conn_open(struct bench_conn *c, const char *path, bool qmp);

/* The next complete line (without '\n', NUL-terminated, at most n - 1
 * bytes) into out; QMP event lines are skipped.  0, or -ETIMEDOUT after
 * 5 s without a byte, -ECONNRESET at end of stream, -E2BIG for a longer
 * line (dropped), another -errno. */
int bench_conn_read_line(struct bench_conn *c, char *out, size_t n);

/* Send request (one JSON line, with its '\n') and parse the reply into
 * reply (the caller frees it with json_doc_free).  0, -EIO for an error
 * reply (QMP "error", kvmlab "ok":false; reply then freed), -EPROTO for
 * one that is not a JSON object, or bench_conn_read_line's errors. */
int bench_conn_request(struct bench_conn *c, const char *request, struct json_doc *reply);

/* Close the connection (again: nothing). */
void bench_conn_close(struct bench_conn *c);

/* The complete `kvmlab-guest hold` lines in text (those that parse and
 * say "bytes"). */
int bench_hold_lines(const char *text);

/* Whether the guest output file at path holds a complete hold line (the
 * console writes a byte at a time: a half-written one does not count). */
bool bench_hold_done(const char *path);

extern const struct bench_suite bench_ksm_suite;
extern const struct bench_suite bench_balloon_suite;

#endif
