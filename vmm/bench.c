/* `kvmlab bench` (see bench.h): the matrix, the runs, the files. */
#include "vmm/bench.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvmlab_config.h"
#include "vmm/cli.h"
#include "vmm/default_guest.h"

#define EXIT_USAGE  2
#define REPEAT_MAX  100
#define SECONDS_MAX 600

struct bench_args {
	const char *suite;
	struct bench_matrix m;
	unsigned int repeat, seconds;
	bool peers;
	const char *out;
};

static const char usage[] =
    "Usage: kvmlab bench SUITE [--set KEY=V1,V2,...]... [--repeat N] [--seconds S]\n"
    "                    [--with-peers] [--out DIR]\n"
    "\n"
    "Boots the default guest for every point of the matrix (the cartesian product of\n"
    "the --set values), runs SUITE's workload, and writes DIR/results.csv,\n"
    "DIR/results.json and, with gnuplot installed, DIR/METRIC.svg (min-median-max of\n"
    "the repeats per point).  Every row carries its exact command line.\n"
    "\n"
    "  --set KEY=V,...  a kvmlab option key and its values: memory.SUB, cpus.SUB,\n"
    "                   disk.SUB (e.g. disk.cache, disk.engine, disk.queues,\n"
    "                   disk.iothreads), net.SUB (net.queues, net.vhost,\n"
    "                   net.offloads, net.iothreads), ioeventfd, irqfd,\n"
    "                   guest.scheduler (blk), guest.streams (net)\n"
    "  --repeat N       runs per point (default 3)\n"
    "  --seconds S      length of each in-guest job where the suite has jobs (default 3;\n"
    "                   ksm: how long its guests stay up after their fill, default 60)\n"
    "  --with-peers     the same workload on QEMU (qemu-system-x86_64 -accel kvm -M q35)\n"
    "                   where a point has a QEMU equivalent\n"
    "  --out DIR        where the files go (default bench-out; the blk suite's image\n"
    "                   too, so cache=none needs a filesystem with O_DIRECT)\n"
    "\n"
    "Suites:\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "kvmlab: bench: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

static bool parse_uint(const char *s, unsigned int min, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = (unsigned int)v;
	return true;
}

/* Returns 0, 1 for --help, or EXIT_USAGE (message printed). */
static int parse_args(int argc, char **argv, struct bench_args *a)
{
	char err[512];

	memset(a, 0, sizeof(*a));
	bench_matrix_init(&a->m);
	a->repeat = 3;
	a->seconds = 0; /* the suite's default */
	a->out = "bench-out";
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "--help") || !strcmp(o, "-h"))
			return 1;
		if (!strcmp(o, "--with-peers")) {
			a->peers = true;
		} else if (!strcmp(o, "--set") || !strcmp(o, "--repeat") ||
			   !strcmp(o, "--seconds") || !strcmp(o, "--out")) {
			if (!v)
				return usage_error("%s: missing value", o);
			i++;
			if (!strcmp(o, "--set")) {
				if (bench_matrix_add(&a->m, v, err, sizeof(err)))
					return usage_error("%s", err);
			} else if (!strcmp(o, "--repeat")) {
				if (!parse_uint(v, 1, REPEAT_MAX, &a->repeat))
					return usage_error("--repeat %s: expected 1-100", v);
			} else if (!strcmp(o, "--seconds")) {
				if (!parse_uint(v, 1, SECONDS_MAX, &a->seconds))
					return usage_error("--seconds %s: expected 1-600", v);
			} else {
				if (!*v)
					return usage_error("--out: empty%s", "");
				a->out = v;
			}
		} else if (o[0] == '-') {
			return usage_error("unknown option %s (try kvmlab bench --help)", o);
		} else if (a->suite) {
			return usage_error("one SUITE only (got a second: %s)", o);
		} else {
			a->suite = o;
		}
	}
	if (!a->suite)
		return usage_error("missing SUITE (try kvmlab bench --help)%s", "");
	return 0;
}

/* ---- building a run's command ------------------------------------------- */

/* kvmlab run's argv for point p: self, "run", the point's options, the
 * suite's workload.  Returns 0, or -EINVAL/-E2BIG with err. */
static int kvmlab_argv(const struct bench_ctx *c, const struct bench_suite *s,
		       const struct bench_matrix *m, const struct bench_point *p,
		       struct bench_argv *a, char *err, size_t errlen)
{
	struct bench_opt opts[BENCH_OPT_MAX];
	const char *v[BENCH_ARGV_MAX];
	char store[4096], disk_base[BENCH_PATH_MAX + 8], net_base[32], tap[IFNAMSIZ];
	int n;

	if (s->nopts > BENCH_OPT_MAX)
		return -E2BIG;
	snprintf(disk_base, sizeof(disk_base), "path=%s", c->disk);
	snprintf(net_base, sizeof(net_base), "tap=%s",
		 bench_net_tap(bench_point_value(m, p, "net.queues"), tap, sizeof(tap)));
	for (unsigned int i = 0; i < s->nopts; i++) {
		opts[i] = s->opts[i];
		if (!opts[i].base && !strcmp(opts[i].opt, "--disk"))
			opts[i].base = disk_base;
		if (!opts[i].base && !strcmp(opts[i].opt, "--net"))
			opts[i].base = net_base;
	}
	n = bench_point_options(m, p, opts, s->nopts, v, BENCH_ARGV_MAX - 16, store, sizeof(store),
				err, errlen);
	if (n < 0) {
		if (n == -E2BIG)
			snprintf(err, errlen, "options too long");
		return n;
	}
	a->n = 0;
	a->used = 0;
	bench_argv_add(a, c->self);
	bench_argv_add(a, "run");
	for (int i = 0; i < n; i++)
		bench_argv_add(a, v[i]);
	s->workload(c, m, p, a);
	if (a->n < 0) {
		snprintf(err, errlen, "command too long");
		return -E2BIG;
	}
	return 0;
}

/* argv joined with spaces, shell-quoted where needed. */
static void join_command(const struct bench_argv *a, char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < a->n && used + 1 < n; i++) {
		const char *s = a->v[i];
		bool plain = *s && !strpbrk(s, " \t\n'\"\\$`;&|<>(){}*?!#~");

		if (i)
			buf[used++] = ' ';
		if (plain) {
			used += (size_t)snprintf(buf + used, n - used, "%s", s);
		} else {
			buf[used++] = '\'';
			for (; *s && used + 5 < n; s++) {
				if (*s == '\'') {
					memcpy(buf + used, "'\\''", 4);
					used += 4;
				} else {
					buf[used++] = *s;
				}
			}
			buf[used++] = '\'';
		}
		if (used >= n)
			used = n - 1;
		buf[used] = '\0';
	}
}

/* ---- running ----------------------------------------------------------- */

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		const char *c = strchr(p, ':');
		size_t len = c ? (size_t)(c - p) : strlen(p);

		if (len &&
		    snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, prog) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		if (!c)
			break;
		p = c + 1;
	}
	return false;
}

/* ---- the command --------------------------------------------------------- */

static int make_dir(const char *path)
{
	return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}

static void fmt_time(double s, char *buf, size_t n)
{
	unsigned int t = s > 0 ? (unsigned int)(s + 0.5) : 0;

	snprintf(buf, n, "%u:%02u:%02u", t / 3600, t / 60 % 60, t % 60);
}

static void self_paths(struct bench_ctx *c, char *self, size_t n)
{
	ssize_t len = readlink("/proc/self/exe", self, n - 1);
	char *slash;

	self[len > 0 ? len : 0] = '\0';
	c->self = self;
	snprintf(c->guests_dir, sizeof(c->guests_dir), "%s", self);
	slash = strrchr(c->guests_dir, '/');
	if (slash)
		snprintf(slash, sizeof(c->guests_dir) - (size_t)(slash - c->guests_dir), "/guests");
}

int bench_main(int argc, char **argv)
{
	struct bench_ctx c;
	struct bench_args a;
	const struct bench_suite *s;
	struct bench_results res;
	struct utsname un;
	char self[PATH_MAX], err[512], path[PATH_MAX + 32];
	uint64_t npts;
	unsigned int total, done = 0, failed = 0;
	bool emulated = getenv("KVMLAB_EMULATED_HOST") != NULL, peers;
	double t0;
	int r;

	r = parse_args(argc, argv, &a);
	if (r == 1) {
		fputs(usage, stdout);
		for (unsigned int i = 0; i < bench_nsuites; i++)
			printf("  %-8s %s\n", bench_suites[i]->name, bench_suites[i]->what);
		return 0;
	}
	if (r)
		return r;
	s = bench_suite_find(a.suite);
	if (!s)
		return usage_error("unknown SUITE %s (boot, blk, net, exits, memory, ksm, balloon)",
				   a.suite);
	/* runs are reaped with wait4: an inherited SIG_IGN would lose them */
	signal(SIGCHLD, SIG_DFL);
	memset(&c, 0, sizeof(c));
	self_paths(&c, self, sizeof(self));
	c.out_dir = a.out;
	c.seconds = a.seconds ? a.seconds : s->seconds ? s->seconds : 3;
	snprintf(c.sock, sizeof(c.sock), "/tmp/kvmlab-bench-%d.sock", (int)getpid());
	snprintf(c.disk, sizeof(c.disk), "%s/disk.img", a.out);
	npts = bench_matrix_points(&a.m);

	/* every point must be a command kvmlab takes, before anything runs */
	for (uint64_t i = 0; i < npts; i++) {
		struct bench_argv av = {.n = 0};
		struct bench_point p;
		struct config cfg;
		char label[256];

		bench_matrix_point(&a.m, i, &p);
		bench_point_label(&a.m, &p, label, sizeof(label));
		if (kvmlab_argv(&c, s, &a.m, &p, &av, err, sizeof(err)))
			return usage_error("%s", err);
		if (cli_parse(av.n, (char **)av.v, &cfg, err, sizeof(err)) != CLI_RUN) {
			fprintf(stderr, "kvmlab: bench: point '%s': %s\n", label, err);
			return EXIT_USAGE;
		}
		if (!s->guests && bench_point_value(&a.m, &p, "guest.count")) {
			fprintf(stderr,
				"kvmlab: bench: --set guest.count: the %s suite boots one guest "
				"per run (ksm takes guest.count)\n",
				s->name);
			return EXIT_USAGE;
		}
		if (s->guests && !s->guests(&a.m, &p)) {
			fprintf(stderr,
				"kvmlab: bench: point '%s': guest.count: expected 1-%u guests\n",
				label, BENCH_GUESTS_MAX);
			return EXIT_USAGE;
		}
	}
	peers = a.peers && s->qemu;
	if (a.peers && !s->qemu)
		fprintf(stderr, "kvmlab: bench: notice: the %s suite has no peer equivalent\n",
			s->name);
	if (peers && !in_path("qemu-system-x86_64")) {
		fprintf(stderr, "kvmlab: bench: notice: qemu-system-x86_64 is not installed: "
				"peers skipped\n");
		peers = false;
	}
	if (peers && default_guest_find(c.kernel, sizeof(c.kernel), c.initrd, sizeof(c.initrd), err,
					sizeof(err))) {
		fprintf(stderr, "kvmlab: bench: %s\n", err);
		return EXIT_USAGE;
	}
	r = make_dir(a.out);
	if (!r) {
		snprintf(path, sizeof(path), "%s/raw", a.out);
		r = make_dir(path);
	}
	if (r) {
		fprintf(stderr, "kvmlab: bench: --out %s: %s\n", a.out, strerror(-r));
		return EXIT_USAGE;
	}
	c.m = &a.m;
	if (s->prepare && s->prepare(&c, err, sizeof(err))) {
		fprintf(stderr, "kvmlab: bench: %s\n", err);
		if (s->finish)
			s->finish(&c);
		return 1;
	}
	uname(&un);
	bench_results_init(&res, KVMLAB_VERSION, un.release, emulated);
	if (emulated)
		fprintf(stderr, "kvmlab: bench: in the emulated host (no hardware /dev/kvm): "
				"relative costs only\n");

	total = (unsigned int)npts * a.repeat * (peers ? 2 : 1);
	t0 = bench_now_s();
	for (uint64_t i = 0; i < npts; i++) {
		struct bench_point p;
		unsigned int guests;
		char label[256];

		bench_matrix_point(&a.m, i, &p);
		bench_point_label(&a.m, &p, label, sizeof(label));
		guests = s->guests ? s->guests(&a.m, &p) : 1;
		for (int sys = 0; sys < (peers ? 2 : 1); sys++) {
			struct bench_argv av = {.n = 0};
			const char *sysname = sys ? "qemu" : "kvmlab";

			if (sys) {
				s->qemu(&c, &a.m, &p, &av);
				if (av.n <= 0) {
					fprintf(stderr,
						"kvmlab: bench: notice: point '%s' has no QEMU "
						"equivalent: skipped there\n",
						label);
					done += a.repeat;
					continue;
				}
			} else if (kvmlab_argv(&c, s, &a.m, &p, &av, err, sizeof(err))) {
				fprintf(stderr, "kvmlab: bench: %s\n", err);
				bench_results_free(&res);
				if (s->finish)
					s->finish(&c);
				return 1;
			}
			for (unsigned int rep = 1; rep <= a.repeat; rep++) {
				struct bench_row row;
				char base[PATH_MAX], el[16], left[16];
				struct bench_run_text text;
				struct bench_run run;
				int n;

				fmt_time(bench_now_s() - t0, el, sizeof(el));
				fmt_time(done ? (bench_now_s() - t0) / done * (total - done) : 0,
					 left, sizeof(left));
				fprintf(stderr,
					"kvmlab: bench: run %u/%u: %s %s, repeat %u/%u "
					"(elapsed %s, about %s left)\n",
					done + 1, total, sysname, label[0] ? label : "(defaults)",
					rep, a.repeat, el, done ? left : "?");
				snprintf(base, sizeof(base), "%s/raw/%s-p%" PRIu64 "-r%u", a.out,
					 sysname, i, rep);
				memset(&row, 0, sizeof(row));
				snprintf(row.system, sizeof(row.system), "%s", sysname);
				snprintf(row.suite, sizeof(row.suite), "%s", s->name);
				row.point = (unsigned int)i;
				row.repeat = rep;
				snprintf(row.label, sizeof(row.label), "%s", label);
				join_command(&av, row.command, sizeof(row.command));
				done++;
				if (bench_run_guests(&c, s, &a.m, &p, &av, guests, sys, base, &run,
						     &text)) {
					fprintf(stderr, "kvmlab: bench: cannot start %s\n",
						av.v[0]);
					failed++;
					continue;
				}
				n = -EINVAL;
				if (text.out && text.err && (!s->watch || text.samples)) {
					size_t n0 = res.n;

					run.out = text.out;
					run.err = text.err;
					run.samples = text.samples;
					n = s->parse(&c, &run, &row, &res);
					if (n <= 0)
						res.n = n0; /* a failed run leaves no figures */
				}
				if (n <= 0) {
					fprintf(
					    stderr,
					    "kvmlab: bench: run %u failed (status %d); its output: "
					    "%s%s.{out,err}%s\n",
					    done, run.status, base, guests > 1 ? "-g*" : "",
					    s->watch ? ", .samples" : "");
					failed++;
				}
				free(text.out);
				free(text.err);
				free(text.samples);
			}
		}
	}

	if (s->finish)
		s->finish(&c);
	snprintf(path, sizeof(path), "%s/results.csv", a.out);
	{
		FILE *f = fopen(path, "we");

		r = f ? bench_results_write_csv(&res, f) : -errno;
		if (f && fclose(f))
			r = -EIO;
	}
	if (!r) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/results.json", a.out);
		f = fopen(path, "we");
		r = f ? bench_results_write_json(&res, f) : -errno;
		if (f && fclose(f))
			r = -EIO;
	}
	if (r) {
		fprintf(stderr, "kvmlab: bench: %s: %s\n", path, strerror(-r));
		bench_results_free(&res);
		return 1;
	}
	if (in_path("gnuplot")) {
		int bad = 0, made = bench_plot_metrics(&res, &a.m, a.out, a.repeat, &bad);

		if (s->timeline)
			made += bench_plot_timeline(s, &a.m, a.out, peers, &bad);
		fprintf(stderr, "kvmlab: bench: %d plot(s) in %s%s\n", made, a.out,
			bad ? " (some failed: see raw/*.gnuplot-out)" : "");
	} else {
		fprintf(stderr, "kvmlab: bench: notice: gnuplot is not installed: no plots\n");
	}
	fprintf(stderr,
		"kvmlab: bench: %zu figures from %u runs (%u failed) in %s/results.{csv,json}%s\n",
		res.n, done, failed, a.out, emulated ? "; emulated host: relative costs only" : "");
	bench_results_free(&res);
	return failed ? 1 : 0;
}
