/* `kvmlab bench SUITE [--set KEY=V1,V2,...]... [--repeat N] [--seconds S]
 * [--with-peers] [--out DIR]`: boots the default guest for every point of
 * the matrix (bench_matrix.h), runs the suite's workload, collects guest-
 * and host-side figures into DIR/results.csv and DIR/results.json
 * (bench_results.h) and draws one plot per metric with gnuplot when it is
 * installed.  The suites and their parsers are in bench_suites.c. */
#ifndef KVMLAB_VMM_BENCH_H
#define KVMLAB_VMM_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "vmm/bench_matrix.h"
#include "vmm/bench_results.h"

#define BENCH_ARGV_MAX	 64
#define BENCH_PATH_MAX	 4096
#define BENCH_GUESTS_MAX 16 /* guests one run boots at once */
#define BENCH_SOCK_MAX	 108

/* What a suite's callbacks get. */
struct bench_ctx {
	const char *out_dir;
	const char *self;     /* the kvmlab binary */
	unsigned int seconds; /* workload length where the suite has one */
	char kernel[BENCH_PATH_MAX], initrd[BENCH_PATH_MAX]; /* the default guest */
	char disk[BENCH_PATH_MAX];			     /* the blk suite's image */
	char guests_dir[BENCH_PATH_MAX];		     /* build/guests */
	const struct bench_matrix *m;			     /* the points to run */
	pid_t server;					     /* the net suite's, or 0 */
	/* a control socket path for a run that needs one (one run at a
	 * time): /tmp/kvmlab-bench-PID.sock */
	char sock[BENCH_SOCK_MAX];
};

/* One finished run, as the parser sees it. */
struct bench_run {
	const char *out, *err; /* everything it wrote (NUL-terminated) */
	int status;	       /* exit status, or 128 + signal */
	const char *samples;   /* what the suite's watch wrote, or NULL */
	unsigned int guests;   /* guests the run booted at once (out, err: all
				* of theirs, in order) */
	double wall_s;	       /* from the start to the last guest's exit */
	struct rusage ru;      /* the children's, from wait4: times and faults
				* summed, maxrss the largest */
};

/* What a suite's watch sees of a live run. */
struct bench_watch {
	unsigned int n;		/* guests in the run */
	const pid_t *pid;	/* each guest's process; 0 once it has exited */
	const char *const *out; /* each guest's stdout file */
	bool qemu;		/* the peer's run */
	const struct bench_matrix *m;
	const struct bench_point *p; /* the run's point */
	double t;		     /* seconds since the guests were started */
	FILE *log;		     /* the run's samples file (bench_run.samples) */
	double state[8];	     /* the suite's own, zero when the run starts */
};

/* A place for a suite to build argv strings. */
struct bench_argv {
	const char *v[BENCH_ARGV_MAX];
	int n;
	char store[8192];
	size_t used;
};

/* Append a copy of s to a (an error is sticky: n becomes -1). */
void bench_argv_add(struct bench_argv *a, const char *s);

struct bench_suite {
	const char *name;
	const char *what; /* one line for --help */
	const struct bench_opt *opts;
	unsigned int nopts;
	/* Make what the runs need (an image, say).  0 or -errno with err. */
	int (*prepare)(struct bench_ctx *c, char *err, size_t errlen);
	/* Undo what prepare started (a server, say); NULL if nothing.  Runs
	 * whenever prepare was called, also after a failed prepare. */
	void (*finish)(struct bench_ctx *c);
	/* After the point's options: the rest of kvmlab run's argv (--kernel,
	 * "--", the guest command ...). */
	void (*workload)(const struct bench_ctx *c, const struct bench_matrix *m,
			 const struct bench_point *p, struct bench_argv *a);
	/* The peer's whole argv (argv[0] the program) for this point, or
	 * n = 0 if the point has no equivalent there (then it is skipped with
	 * a notice). NULL: the suite has no peer. */
	void (*qemu)(const struct bench_ctx *c, const struct bench_matrix *m,
		     const struct bench_point *p, struct bench_argv *a);
	/* Add the figures of run r to res (row holds system, suite, point,
	 * repeat, label and command already).  Returns the number added, or
	 * -EINVAL if the run did not produce them (the caller reports it). */
	int (*parse)(const struct bench_ctx *c, const struct bench_run *r, struct bench_row *row,
		     struct bench_results *res);
	/* Guests one run of point p boots at once, 1..BENCH_GUESTS_MAX (NULL:
	 * 1); the same command each. */
	unsigned int (*guests)(const struct bench_matrix *m, const struct bench_point *p);
	/* Called about once a second while a run's guests live (NULL: never):
	 * samples what the suite watches into w->log, drives the VM (a
	 * balloon, say).  0, or -errno to give up on the run: its guests get
	 * SIGTERM and the run counts as failed. */
	int (*watch)(const struct bench_ctx *c, struct bench_watch *w);
	/* Called before each run starts (NULL: nothing): wait for the host to
	 * settle, say.  0 or -errno (the run then counts as failed). */
	int (*before)(const struct bench_ctx *c);
	unsigned int seconds; /* the suite's default for --seconds (0: 3) */
	/* A member of watch's sample lines ({"t":..,KEY:..}) to plot over
	 * time (DIR/timeline-KEY.svg), and its unit; NULL: none. */
	const char *timeline, *timeline_unit;
};

/* What bench_run_guests read back (malloc-ed; free each). */
struct bench_run_text {
	char *out, *err, *samples;
};

/* Start k guests (1..BENCH_GUESTS_MAX) of point p running argv a at once, each with
 * stdout/stderr to BASE.out/.err (k == 1) or BASE-gI.out/.err, stdin from
 * /dev/null, bounded by a 900 s alarm; call s->watch about once a second
 * (samples to BASE.samples) until all have exited.  Fills r (status: the
 * first failed guest's, else 0; wall time; summed rusage) and text (the
 * guests' outputs joined in order; NULL members without memory).  Returns
 * 0, or -errno if the run could not be started (nothing left running). */
int bench_run_guests(const struct bench_ctx *c, const struct bench_suite *s,
		     const struct bench_matrix *m, const struct bench_point *p,
		     const struct bench_argv *a, unsigned int k, bool qemu, const char *base,
		     struct bench_run *r, struct bench_run_text *text);

/* One child, as bench_run_guests with k = 1 and no watch, to the files out
 * and err (NULL: to out too).  0 or -errno. */
int bench_run_child(const struct bench_argv *a, const char *out, const char *err,
		    struct bench_run *r);

/* One plot per metric of res (DIR/METRIC.svg, gnuplot): a bar per point
 * and system at the median of the repeats, whiskers min to max.  Returns
 * the plots drawn; *failed grows by those gnuplot could not draw. */
int bench_plot_metrics(const struct bench_results *res, const struct bench_matrix *m,
		       const char *dir, unsigned int repeat, int *failed);

/* s->timeline over time, one line per point and system from the first
 * repeat's samples (DIR/raw/SYSTEM-pP-r1.samples), into
 * DIR/timeline-KEY.svg.  Returns 1 if drawn, 0 if there was nothing to
 * draw or gnuplot failed (then *failed grows). */
int bench_plot_timeline(const struct bench_suite *s, const struct bench_matrix *m, const char *dir,
			bool peers, int *failed);

/* CLOCK_MONOTONIC in seconds. */
double bench_now_s(void);

/* The whole file (at most 16 MiB), NUL-terminated; "" if there is none;
 * NULL without memory. */
char *bench_slurp(const char *path);

/* The net suite's tap for a point with net.queues = queues (NULL: 1):
 * "kvb-qN", made by the suite in its private network namespace, with the
 * host at 10.78.N.1/24 and the guest at 10.78.N.2.  Writes name into buf
 * (size n); returns buf. */
char *bench_net_tap(const char *queues, char *buf, size_t n);

/* The suites, and one by name (NULL if unknown). */
extern const struct bench_suite *const bench_suites[];
extern const unsigned int bench_nsuites;
const struct bench_suite *bench_suite_find(const char *name);

/* In a child bench just forked (parent: bench's pid, taken before the
 * fork), before exec: die with bench (PR_SET_PDEATHSIG, and a bench that
 * died before that is noticed), stdin from /dev/null, stdout to out and
 * stderr to err (NULL: to out too), both truncated.  Returns only on
 * success; _exit(126) otherwise. */
void bench_child_setup(pid_t parent, const char *out, const char *err);

/* Add one figure: copies row with metric, unit, value.  0 or -ENOMEM. */
int bench_row_add(struct bench_results *res, struct bench_row *row, const char *metric,
		  const char *unit, double value);

/* Parsers of kvmlab's own output, shared by the suites (pure, for tests):
 * "kvmlab: boot   12.345 ms  WHAT" -> the ms of WHAT, or -1;
 * the "kvmlab: thread ... cpu=Xs guest=Ys" lines -> sum of X (kvmlab
 * prints the VMM's own CPU time outside the guest there), or -1 without
 * such lines;
 * "kvmlab: vcpuN exits: total=N" lines -> sum of N;
 * "memory region N: ... rss=N MiB" lines -> sum in MiB;
 * "memory region N: ... prealloc=on|off (X ms)" lines -> sum of X, or -1
 * without such lines. */
double bench_parse_boot_ms(const char *text, const char *what);
double bench_parse_vmm_cpu_s(const char *text);
double bench_parse_exits(const char *text);
double bench_parse_guest_rss_mib(const char *text);
double bench_parse_prealloc_ms(const char *text);

/* The exits guest's brackets: the i-th "exits: MODE COUNT" line of out
 * with the i-th "kvmlab: stopwatch: E exits in T ms" line of err gives
 * MODE's time per operation (pio_exit_us, mmio_exit_us, kick_us,
 * rng_round_trip_us) and, for kick and rr, E / COUNT (exits that reached
 * kvmlab per operation).  Returns the number of rows added, or -EINVAL
 * unless every mode was seen once with a plausible line. */
int bench_parse_exits_brackets(const char *out, const char *err, struct bench_row *row,
			       struct bench_results *res);

/* The command (kvmlab bench ...).  argv[0] is "bench".  Returns the exit
 * status: 0, 1 if a run failed, 2 for bad usage (one line on stderr). */
int bench_main(int argc, char **argv);

#endif
