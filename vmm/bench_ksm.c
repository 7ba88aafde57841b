/* bench's ksm suite: KSM's savings for K identical guests over time.
 *
 * One run boots guest.count guests at once (default 2), each with
 * --memory size=256M,merge=on unless the matrix says otherwise, and each
 * runs `kvmlab-guest hold SIZE S` (SIZE half of its RAM): every page
 * filled with content unique within the guest and the same in every guest,
 * then held for --seconds S (default 60).  So only the copies across
 * guests (and what is alike in their kernels) can merge.  Once a second
 * bench samples the host's KSM counters, the guests' ksm_merging_pages and
 * Pss, and ksmd's CPU time; the figures come from those samples. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mem/host_stats.h"
#include "vmm/bench_suite.h"

#define KSM_GUESTS_DEFAULT 2
#define KSM_MEM_MIB	   256
#define KSM_SYSFS	   "/sys/kernel/mm/ksm"
#define HOLD_TAG	   "{\"tool\":\"kvmlab-guest hold\""
#define SAMPLE_TAG	   "{\"t\":"
#define KSM_SETTLE_MAX_S   60

/* state[] slots of the watch */
enum { ST_KSMD_PID, ST_FOUND, ST_BASE };

static const struct bench_opt ksm_opts[] = {
    {"--memory", "size=256M,merge=on", 0, 1},
    {"--cpus", NULL, 0, 0},
};

static unsigned int ksm_guests(const struct bench_matrix *m, const struct bench_point *p)
{
	const char *v = bench_point_value(m, p, "guest.count");
	char *end;
	unsigned long n;

	if (!v)
		return KSM_GUESTS_DEFAULT;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || !isdigit((unsigned char)*v) || n < 1 || n > BENCH_GUESTS_MAX)
		return 0;
	return (unsigned int)n;
}

static void ksm_script(const struct bench_ctx *c, const struct bench_matrix *m,
		       const struct bench_point *p, char *s, size_t n)
{
	uint64_t mib = bench_size_mib(bench_point_value(m, p, "memory.size"));

	snprintf(s, n, "kvmlab-guest hold %lluM %u",
		 (unsigned long long)((mib ? mib : KSM_MEM_MIB) / 2), c->seconds);
}

static void ksm_workload(const struct bench_ctx *c, const struct bench_matrix *m,
			 const struct bench_point *p, struct bench_argv *a)
{
	bench_add_stats_script(c, m, p, a, ksm_script);
}

/* The same guests on QEMU: memory-backend-ram with merge= (on unless the
 * matrix sets it; QEMU's default is on too). */
static void ksm_qemu(const struct bench_ctx *c, const struct bench_matrix *m,
		     const struct bench_point *p, struct bench_argv *a)
{
	static const char *const keys[] = {"memory.merge", "guest.count", NULL};
	const char *merge = bench_point_value(m, p, "memory.merge");
	const char *size = bench_point_value(m, p, "memory.size");
	char obj[128], script[128];

	if (!bench_qemu_has_all(m, keys))
		return;
	snprintf(obj, sizeof(obj), "memory-backend-ram,id=m0,size=%s,merge=%s",
		 size ? size : "256M", merge ? merge : "on");
	bench_qemu_common_mem(c, m, p, a, "256M");
	bench_argv_add(a, "-object");
	bench_argv_add(a, obj);
	bench_argv_add(a, "-machine");
	bench_argv_add(a, "memory-backend=m0");
	ksm_script(c, m, p, script, sizeof(script));
	bench_append_cmd(a, script);
}

static int ksm_prepare(struct bench_ctx *c, char *err, size_t errlen)
{
	char run[16] = "", scan[32] = "", sleep_ms[32] = "";
	FILE *f;

	(void)c;
	f = fopen(KSM_SYSFS "/run", "re");
	if (!f || !fgets(run, sizeof(run), f) || atoi(run) != 1) {
		snprintf(err, errlen,
			 "ksm: ksmd is not running (%s/run is not 1; as root: echo 1 > %s/run)",
			 KSM_SYSFS, KSM_SYSFS);
		if (f)
			fclose(f);
		return -EINVAL;
	}
	fclose(f);
	f = fopen(KSM_SYSFS "/pages_to_scan", "re");
	if (f) {
		if (!fgets(scan, sizeof(scan), f))
			scan[0] = '\0';
		fclose(f);
	}
	f = fopen(KSM_SYSFS "/sleep_millisecs", "re");
	if (f) {
		if (!fgets(sleep_ms, sizeof(sleep_ms), f))
			sleep_ms[0] = '\0';
		fclose(f);
	}
	scan[strcspn(scan, "\n")] = '\0';
	sleep_ms[strcspn(sleep_ms, "\n")] = '\0';
	fprintf(stderr,
		"kvmlab: bench: ksm: ksmd scans pages_to_scan=%s every sleep_millisecs=%s\n", scan,
		sleep_ms);
	return 0;
}

long long bench_proc_number(const char *path, const char *key)
{
	char line[256];
	size_t klen = key ? strlen(key) : 0;
	long long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (key && (strncmp(line, key, klen) || line[klen] != ':'))
			continue;
		v = strtoll(line + (key ? klen + 1 : 0), NULL, 10);
		break;
	}
	fclose(f);
	return v;
}

/* ksmd's pid (a kernel thread named ksmd), or 0. */
static long find_ksmd(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	long pid = 0;

	while (d && !pid && (e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, "ksmd\n"))
			pid = atol(e->d_name);
		fclose(f);
	}
	if (d)
		closedir(d);
	return pid;
}

/* utime + stime of pid in clock ticks, or -1. */
static long long cpu_ticks(long pid)
{
	char path[64], buf[1024];
	unsigned long long ut, st;
	const char *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* comm may hold spaces */
	/* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

static int hold_line_seen(const struct json_value *root, void *opaque)
{
	double v;

	(void)opaque;
	return bench_json_num(root, "bytes", &v);
}

int bench_hold_lines(const char *text)
{
	int figs = 0;

	return text ? bench_each_json_line(text, HOLD_TAG, hold_line_seen, NULL, &figs) : 0;
}

bool bench_hold_done(const char *path)
{
	char *t = bench_slurp(path);
	/* a line cut short (the console writes a byte at a time) does not
	 * parse, so it does not count */
	bool yes = t && bench_hold_lines(t) > 0;

	free(t);
	return yes;
}

/* Before each run: wait (at most KSM_SETTLE_MAX_S) until the host's
 * pages_sharing has stopped falling: ksmd drops an exited process's
 * merged pages on its next pass, so right after the last run it may still
 * count that run's. */
static int ksm_before(const struct bench_ctx *c)
{
	uint64_t shared, sharing, last = UINT64_MAX;
	unsigned int still = 0;

	(void)c;
	for (unsigned int i = 0; i < KSM_SETTLE_MAX_S * 2; i++) {
		struct timespec ts = {0, 500000000L};
		int r = mem_ksm_read(NULL, &shared, &sharing);

		if (r)
			return r;
		still = sharing == last ? still + 1 : 0;
		if (still >= 4 || sharing == 0)
			return 0;
		last = sharing;
		nanosleep(&ts, NULL);
	}
	return 0; /* something else keeps merging: take it as the baseline */
}

static int ksm_watch(const struct bench_ctx *c, struct bench_watch *w)
{
	uint64_t shared = 0, sharing = 0;
	long long merging = 0, pss = 0;
	unsigned int alive = 0, filled = 0;
	int r;

	(void)c;
	r = mem_ksm_read(NULL, &shared, &sharing);

	if (r)
		return r;
	if (!w->state[ST_FOUND]) {
		w->state[ST_KSMD_PID] = (double)find_ksmd();
		w->state[ST_BASE] = (double)sharing;
		w->state[ST_FOUND] = 1;
	}
	for (unsigned int i = 0; i < w->n; i++) {
		char path[64];
		long long v;

		filled += bench_hold_done(w->out[i]);
		if (!w->pid[i])
			continue;
		alive++;
		snprintf(path, sizeof(path), "/proc/%d/ksm_merging_pages", (int)w->pid[i]);
		v = bench_proc_number(path, NULL);
		merging += v > 0 ? v : 0;
		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)w->pid[i]);
		v = bench_proc_number(path, "Pss");
		pss += v > 0 ? v : 0;
	}
	/* saved_mib: the plot's (bench_plot_timeline); the figures are
	 * taken from the counters */
	fprintf(w->log,
		"{\"t\":%.2f,\"alive\":%u,\"filled\":%u,\"pages_shared\":%llu,"
		"\"pages_sharing\":%llu,\"merging_pages\":%lld,\"pss_kib\":%lld,"
		"\"ksmd_ticks\":%lld,\"saved_mib\":%.1f}\n",
		w->t, alive, filled, (unsigned long long)shared, (unsigned long long)sharing,
		merging, pss,
		w->state[ST_KSMD_PID] > 0 ? cpu_ticks((long)w->state[ST_KSMD_PID]) : -1,
		((double)sharing - w->state[ST_BASE]) * (double)sysconf(_SC_PAGESIZE) / (1 << 20));
	return 0;
}

/* ---- the figures, from the samples ---------------------------------------- */

struct ksm_sample {
	double t, alive, filled, sharing, merging, pss_kib, ticks;
};

struct ksm_acc {
	unsigned int guests;
	int pass; /* 1: first and last, 2: the times */
	bool have_first, have_last;
	struct ksm_sample first, last; /* last: the last with every guest up and filled */
	double t_filled;	       /* first sample with every guest filled, or -1 */
	double t50, t90;	       /* -1 until reached */
	double saved_final, last_ticks;
};

static bool sample_of(const struct json_value *o, struct ksm_sample *s)
{
	return bench_json_num(o, "t", &s->t) && bench_json_num(o, "alive", &s->alive) &&
	       bench_json_num(o, "filled", &s->filled) &&
	       bench_json_num(o, "pages_sharing", &s->sharing) &&
	       bench_json_num(o, "merging_pages", &s->merging) &&
	       bench_json_num(o, "pss_kib", &s->pss_kib) &&
	       bench_json_num(o, "ksmd_ticks", &s->ticks);
}

static int ksm_sample_line(const struct json_value *root, void *opaque)
{
	struct ksm_acc *acc = opaque;
	struct ksm_sample s;
	bool full;

	if (!sample_of(root, &s))
		return 0;
	full = s.alive == acc->guests && s.filled == acc->guests;
	if (acc->pass == 1) {
		if (!acc->have_first) {
			acc->first = s;
			acc->have_first = true;
		}
		if (full) {
			if (acc->t_filled < 0)
				acc->t_filled = s.t;
			acc->last = s;
			acc->have_last = true;
		}
		if (s.ticks >= 0)
			acc->last_ticks = s.ticks;
	} else if (full && acc->saved_final > 0) {
		double saved = s.sharing - acc->first.sharing;

		if (acc->t50 < 0 && saved >= 0.5 * acc->saved_final)
			acc->t50 = s.t - acc->t_filled;
		if (acc->t90 < 0 && saved >= 0.9 * acc->saved_final)
			acc->t90 = s.t - acc->t_filled;
	}
	return 1;
}

int bench_parse_ksm_samples(const char *samples, unsigned int guests, double page_size,
			    double clk_tck, struct bench_row *row, struct bench_results *res)
{
	struct ksm_acc acc = {
	    .guests = guests, .pass = 1, .t_filled = -1, .t50 = -1, .t90 = -1, .last_ticks = -1};
	double mib = page_size / (1024.0 * 1024.0);
	int figs = 0, n = 0;

	if (!samples || !guests ||
	    bench_each_json_line(samples, SAMPLE_TAG, ksm_sample_line, &acc, &figs) < 2 ||
	    !acc.have_last)
		return -EINVAL;
	acc.saved_final = acc.last.sharing - acc.first.sharing;
	acc.pass = 2;
	bench_each_json_line(samples, SAMPLE_TAG, ksm_sample_line, &acc, &figs);
	n += !bench_row_add(res, row, "ksm_saved_mib", "MiB",
			    acc.saved_final > 0 ? acc.saved_final * mib : 0);
	n += !bench_row_add(res, row, "ksm_saved_mib_per_guest", "MiB",
			    acc.saved_final > 0 ? acc.saved_final * mib / guests : 0);
	n += !bench_row_add(res, row, "ksm_merged_mib", "MiB", acc.last.merging * mib);
	n += !bench_row_add(res, row, "pss_mib_per_guest", "MiB",
			    acc.last.pss_kib / 1024.0 / guests);
	n += !bench_row_add(res, row, "ksm_window_s", "s", acc.last.t - acc.t_filled);
	if (acc.t50 >= 0)
		n += !bench_row_add(res, row, "ksm_t50_s", "s", acc.t50);
	if (acc.t90 >= 0)
		n += !bench_row_add(res, row, "ksm_t90_s", "s", acc.t90);
	if (acc.first.ticks >= 0 && acc.last_ticks >= acc.first.ticks && clk_tck > 0)
		n += !bench_row_add(res, row, "ksmd_cpu_s", "s",
				    (acc.last_ticks - acc.first.ticks) / clk_tck);
	return n;
}

static int hold_line(const struct json_value *root, void *opaque)
{
	double *fill_ms = opaque, v;

	if (!bench_json_num(root, "fill_ms", &v))
		return 0;
	*fill_ms += v;
	return 1;
}

static int ksm_parse(const struct bench_ctx *c, const struct bench_run *r, struct bench_row *row,
		     struct bench_results *res)
{
	double fill_ms = 0;
	int figs = 0, n;

	(void)c;
	if (!bench_run_ok(r, row) ||
	    bench_each_json_line(r->out, HOLD_TAG, hold_line, &fill_ms, &figs) != (int)r->guests)
		return -EINVAL;
	n = bench_parse_ksm_samples(r->samples, r->guests, (double)sysconf(_SC_PAGESIZE),
				    (double)sysconf(_SC_CLK_TCK), row, res);
	if (n <= 0)
		return -EINVAL;
	n += !bench_row_add(res, row, "fill_ms", "ms", fill_ms / r->guests);
	n += !bench_row_add(res, row, "wall_ms", "ms", r->wall_s * 1e3);
	return n;
}

const struct bench_suite bench_ksm_suite = {
    .name = "ksm",
    .what = "guest.count identical guests at once (default 2, merge=on), each holding half of "
	    "its RAM filled alike: KSM's savings over time, Pss per guest, ksmd CPU",
    .opts = ksm_opts,
    .nopts = sizeof(ksm_opts) / sizeof(ksm_opts[0]),
    .prepare = ksm_prepare,
    .workload = ksm_workload,
    .qemu = ksm_qemu,
    .parse = ksm_parse,
    .guests = ksm_guests,
    .watch = ksm_watch,
    .before = ksm_before,
    .seconds = 60,
    .timeline = "saved_mib",
    .timeline_unit = "MiB",
};
