/* The suites of `kvmlab bench` (see bench.h): what each boots, runs in the
 * guest, and reads back, and the QEMU command that does the same. */
#include "vmm/bench.h"
#include "vmm/bench_suite.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/default_guest.h"
#include "vmm/guest_cmd.h"
#include "vmm/json.h"
#include "vmm/netns.h"

#define BLK_IMAGE_MIB 256
#define EXITS_COUNT   "20000"

void bench_argv_add(struct bench_argv *a, const char *s)
{
	size_t len = strlen(s) + 1;

	if (a->n < 0)
		return;
	if (a->n + 1 >= BENCH_ARGV_MAX || len > sizeof(a->store) - a->used) {
		a->n = -1;
		return;
	}
	memcpy(a->store + a->used, s, len);
	a->v[a->n++] = a->store + a->used;
	a->v[a->n] = NULL;
	a->used += len;
}

int bench_row_add(struct bench_results *res, struct bench_row *row, const char *metric,
		  const char *unit, double value)
{
	snprintf(row->metric, sizeof(row->metric), "%s", metric);
	snprintf(row->unit, sizeof(row->unit), "%s", unit);
	row->value = value;
	return bench_results_add(res, row);
}

/* ---- parsers of kvmlab's output ------------------------------------------ */

double bench_parse_boot_ms(const char *text, const char *what)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		double ms;
		int end = 0;

		if (sscanf(l, "kvmlab: boot %lf ms %n", &ms, &end) == 1 && end > 0 &&
		    !strncmp(l + end, what, strlen(what)) &&
		    (l[end + strlen(what)] == '\n' || l[end + strlen(what)] == '\0' ||
		     l[end + strlen(what)] == '\r'))
			return ms;
	}
	return -1;
}

double bench_parse_vmm_cpu_s(const char *text)
{
	double sum = 0;

	if (!strstr(text, "kvmlab: thread "))
		return -1;

	/* cpu= is already the thread's time outside the guest (vm.c's
	 * print_threads takes guest time off user time) */
	for (const char *l = strstr(text, "kvmlab: thread "); l;
	     l = strstr(l + 1, "kvmlab: thread ")) {
		const char *c = strstr(l, " cpu="), *nl = strchr(l, '\n');

		if (c && (!nl || c < nl))
			sum += strtod(c + 5, NULL);
	}
	return sum;
}

double bench_parse_exits(const char *text)
{
	double sum = 0;

	for (const char *l = strstr(text, " exits: total="); l; l = strstr(l + 1, " exits: total="))
		sum += strtod(l + 14, NULL);
	return sum;
}

double bench_parse_guest_rss_mib(const char *text)
{
	double sum = 0;

	for (const char *l = strstr(text, "kvmlab: memory region "); l;
	     l = strstr(l + 1, "kvmlab: memory region ")) {
		const char *r = strstr(l, " rss="), *nl = strchr(l, '\n');

		if (r && (!nl || r < nl))
			sum += strtod(r + 5, NULL);
	}
	return sum;
}

/* ---- shared pieces ------------------------------------------------------- */

/* The default guest's command line with cmd (a shell command) appended the
 * way kvmlab passes it, for QEMU's -append. */
void bench_append_cmd(struct bench_argv *a, const char *cmd)
{
	char hex[4096], line[4600];

	if (guest_cmd_encode_raw(cmd, hex, sizeof(hex)) < 0) {
		a->n = -1;
		return;
	}
	snprintf(line, sizeof(line), "%s %s=%s", DEFAULT_GUEST_CMDLINE, GUEST_CMD_PARAM, hex);
	bench_argv_add(a, "-append");
	bench_argv_add(a, line);
}

/* "-- sh -c SCRIPT": the default guest runs SCRIPT as its command. */
void bench_add_guest_shell(struct bench_argv *a, const char *script)
{
	bench_argv_add(a, "--");
	bench_argv_add(a, "sh");
	bench_argv_add(a, "-c");
	bench_argv_add(a, script);
}

/* "--stats -- sh -c SCRIPT", SCRIPT made by fn: the blk and net workload. */
void bench_add_stats_script(const struct bench_ctx *c, const struct bench_matrix *m,
			    const struct bench_point *p, struct bench_argv *a, bench_script_fn *fn)
{
	char script[2048];

	fn(c, m, p, script, sizeof(script));
	bench_argv_add(a, "--stats");
	bench_add_guest_shell(a, script);
}

/* QEMU with KVM, q35, the same kernel and initramfs, memory and vCPUs of
 * point p; the guest's exit status comes out of isa-debug-exit as
 * (status << 1) | 1. */
void bench_qemu_common(const struct bench_ctx *c, const struct bench_matrix *m,
		       const struct bench_point *p, struct bench_argv *a)
{
	bench_qemu_common_mem(c, m, p, a, "512M");
}

void bench_qemu_common_mem(const struct bench_ctx *c, const struct bench_matrix *m,
			   const struct bench_point *p, struct bench_argv *a, const char *def)
{
	const char *mem = bench_point_value(m, p, "memory.size");
	const char *cpus = bench_point_value(m, p, "cpus.boot");

	bench_argv_add(a, "qemu-system-x86_64");
	bench_argv_add(a, "-accel");
	bench_argv_add(a, "kvm");
	bench_argv_add(a, "-M");
	bench_argv_add(a, "q35");
	bench_argv_add(a, "-cpu");
	bench_argv_add(a, "host");
	bench_argv_add(a, "-m");
	bench_argv_add(a, mem ? mem : def);
	bench_argv_add(a, "-smp");
	bench_argv_add(a, cpus ? cpus : "1");
	bench_argv_add(a, "-nodefaults");
	bench_argv_add(a, "-display");
	bench_argv_add(a, "none");
	bench_argv_add(a, "-no-reboot");
	bench_argv_add(a, "-serial");
	bench_argv_add(a, "stdio");
	bench_argv_add(a, "-device");
	bench_argv_add(a, "isa-debug-exit,iobase=0xf4,iosize=0x04");
	bench_argv_add(a, "-kernel");
	bench_argv_add(a, c->kernel);
	bench_argv_add(a, "-initrd");
	bench_argv_add(a, c->initrd);
}

/* Only memory.size and cpus.boot (plus those in also[]) have a QEMU
 * equivalent here; any other key set makes the point kvmlab-only. */
bool bench_qemu_has_all(const struct bench_matrix *m, const char *const *also)
{
	for (unsigned int i = 0; i < m->naxes; i++) {
		const char *k = m->axis[i].key;
		bool ok = !strcmp(k, "memory.size") || !strcmp(k, "cpus.boot");

		for (const char *const *x = also; x && *x && !ok; x++)
			ok = !strcmp(k, *x);
		if (!ok)
			return false;
	}
	return true;
}

/* Host-side figures every suite reports. */
int bench_host_figures(const struct bench_run *r, struct bench_row *row, struct bench_results *res,
		       bool kvmlab)
{
	int n = 0;

	n += !bench_row_add(res, row, "wall_ms", "ms", r->wall_s * 1e3);
	if (kvmlab) {
		double rss = bench_parse_guest_rss_mib(r->err);

		double cpu = bench_parse_vmm_cpu_s(r->err);

		if (cpu >= 0)
			n += !bench_row_add(res, row, "vmm_cpu_s", "s", cpu);
		if (rss > 0)
			n += !bench_row_add(res, row, "vmm_rss_overhead_mib", "MiB",
					    (double)r->ru.ru_maxrss / 1024 - rss);
	}
	return n;
}

bool bench_is_qemu(const struct bench_row *row)
{
	return !strcmp(row->system, "qemu");
}

/* The guest's command succeeded: kvmlab passes its status through.  QEMU's
 * isa-debug-exit gives (status << 1) | 1, but under some nested KVMs (seen
 * in the emulated host) the guest's port write after ioperm() faults and
 * /init falls back to an ACPI power-off, QEMU's status 0: the run ended,
 * its status is unknown, and the suites check the guest's output instead. */
bool bench_run_ok(const struct bench_run *r, const struct bench_row *row)
{
	return bench_is_qemu(row) ? r->status == 1 || r->status == 0 : r->status == 0;
}

/* For every line of text that starts with tag (the start of a JSON
 * object, e.g. {"tool":"kvmlab-guest blk"), trimmed of a trailing CR or
 * spaces and parsed: fn(root, opaque), which returns the figures it added
 * (>= 0).  Lines that do not parse are passed over.  Returns the number of
 * lines fn added figures for; *figs grows by the figures. */
int bench_each_json_line(const char *text, const char *tag,
			 int (*fn)(const struct json_value *root, void *opaque), void *opaque,
			 int *figs)
{
	int lines = 0;

	for (const char *l = strstr(text, tag); l; l = strstr(l + 1, tag)) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		struct json_doc doc;
		int k;

		while (len && (l[len - 1] == '\r' || l[len - 1] == ' '))
			len--;
		if (json_parse(&doc, l, len, NULL, NULL, 0, NULL))
			continue;
		k = fn(doc.root, opaque);
		json_doc_free(&doc);
		*figs += k;
		lines += k > 0;
	}
	return lines;
}

/* A number member of o (int or double) into *v.  false if missing. */
bool bench_json_num(const struct json_value *o, const char *key, double *v)
{
	const struct json_value *x = o ? json_get(o, key) : NULL;

	if (!x || (x->type != JSON_DOUBLE && x->type != JSON_INT))
		return false;
	*v = x->type == JSON_INT ? (double)x->i : x->d;
	return true;
}

/* ---- boot ------------------------------------------------------------------ */

static const struct bench_opt boot_opts[] = {
    {"--memory", NULL, 0, 0},
    {"--cpus", NULL, 0, 0},
};

static void boot_workload(const struct bench_ctx *c, const struct bench_matrix *m,
			  const struct bench_point *p, struct bench_argv *a)
{
	(void)c, (void)m, (void)p;
	bench_argv_add(a, "--trace");
	bench_argv_add(a, "boot");
	bench_argv_add(a, "--stats");
	bench_argv_add(a, "--");
	bench_argv_add(a, "true");
}

static void boot_qemu(const struct bench_ctx *c, const struct bench_matrix *m,
		      const struct bench_point *p, struct bench_argv *a)
{
	if (!bench_qemu_has_all(m, NULL))
		return;
	bench_qemu_common(c, m, p, a);
	bench_append_cmd(a, "true");
}

static int boot_parse(const struct bench_ctx *c, const struct bench_run *r, struct bench_row *row,
		      struct bench_results *res)
{
	static const struct {
		const char *marker, *metric;
	} marks[] = {
	    {"first KVM_RUN", "first_kvm_run_ms"},
	    {"marker 2", "guest_init_ms"},
	    {"marker 3", "guest_cmd_ms"},
	};
	int n;

	(void)c;
	if (!bench_run_ok(r, row))
		return -EINVAL;
	n = bench_host_figures(r, row, res, !bench_is_qemu(row));
	if (bench_is_qemu(row))
		return n;
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		double ms = bench_parse_boot_ms(r->err, marks[i].marker);

		if (ms < 0)
			return -EINVAL;
		n += !bench_row_add(res, row, marks[i].metric, "ms", ms);
	}
	return n;
}

static const struct bench_suite boot_suite = {
    .name = "boot",
    .what = "exec to first KVM_RUN, guest init and command; VMM CPU and memory overhead",
    .opts = boot_opts,
    .nopts = sizeof(boot_opts) / sizeof(boot_opts[0]),
    .workload = boot_workload,
    .qemu = boot_qemu,
    .parse = boot_parse,
};

/* ---- exits ---------------------------------------------------------------- */

/* The exits guest with "all N" (guests/exits.c): a bracket per mode, each
 * announced on the console as "exits: MODE COUNT" before its stopwatch
 * start; the i-th announcement goes with kvmlab's i-th stopwatch line. */
static const struct bench_opt exits_opts[] = {
    {"--cpus", NULL, 0, 0}, {"--rng", NULL, 1, 1}, /* kick and rr; ioeventfd=/irqfd= go here */
};

static const struct {
	const char *mode, *metric, *exits_metric;
} exits_modes[] = {
    {"pio", "pio_exit_us", NULL},
    {"mmio", "mmio_exit_us", NULL},
    {"kick", "kick_us", "kick_userspace_exits"},
    {"rr", "rng_round_trip_us", "rr_userspace_exits"},
    {"irq", "rng_irq_round_trip_us", "irq_userspace_exits"},
};

static void exits_workload(const struct bench_ctx *c, const struct bench_matrix *m,
			   const struct bench_point *p, struct bench_argv *a)
{
	char path[BENCH_PATH_MAX + 16];

	(void)m, (void)p;
	snprintf(path, sizeof(path), "%s/exits", c->guests_dir);
	bench_argv_add(a, "--stats");
	bench_argv_add(a, "--memory");
	bench_argv_add(a, "64M");
	bench_argv_add(a, "--kernel");
	bench_argv_add(a, path);
	bench_argv_add(a, "--cmdline");
	bench_argv_add(a, "all " EXITS_COUNT);
}

int bench_parse_exits_brackets(const char *out, const char *err, struct bench_row *row,
			       struct bench_results *res)
{
	const char *g = out, *w = err;
	int n = 0, seen = 0;

	for (;;) {
		char mode[16];
		unsigned long long count, exits;
		double ms;
		size_t i;

		g = strstr(g, "exits: ");
		w = strstr(w, "kvmlab: stopwatch: ");
		if (!g || !w)
			break;
		if (sscanf(g, "exits: %15s %llu", mode, &count) != 2 ||
		    sscanf(w, "kvmlab: stopwatch: %llu exits in %lf ms", &exits, &ms) != 2)
			return -EINVAL;
		g += 7;
		w += 19;
		for (i = 0; i < sizeof(exits_modes) / sizeof(exits_modes[0]); i++)
			if (!strcmp(mode, exits_modes[i].mode))
				break;
		if (i == sizeof(exits_modes) / sizeof(exits_modes[0]) || !count || ms <= 0)
			return -EINVAL;
		n +=
		    !bench_row_add(res, row, exits_modes[i].metric, "us", ms * 1e3 / (double)count);
		if (exits_modes[i].exits_metric)
			n += !bench_row_add(res, row, exits_modes[i].exits_metric, "exits/op",
					    (double)exits / (double)count);
		seen |= 1 << i;
	}
	return seen == (1 << (sizeof(exits_modes) / sizeof(exits_modes[0]))) - 1 ? n : -EINVAL;
}

static int exits_parse(const struct bench_ctx *c, const struct bench_run *r, struct bench_row *row,
		       struct bench_results *res)
{
	const char *t = strstr(r->out, "interrupts taken: ");
	unsigned long long taken, want;
	int n;

	(void)c;
	if (r->status != 0 || !t ||
	    sscanf(t, "interrupts taken: %llu of %llu", &taken, &want) != 2 || taken > want)
		return -EINVAL;
	n = bench_parse_exits_brackets(r->out, r->err, row, res);
	if (n < 0)
		return n;
	/* interrupt-driven round trips whose MSI never arrived (a count) */
	n += !bench_row_add(res, row, "irq_missed", "interrupts", (double)(want - taken));
	return n + bench_host_figures(r, row, res, true);
}

static const struct bench_suite exits_suite = {
    .name = "exits",
    .what = "the cost of a port-I/O exit, an MMIO exit, a virtqueue kick (ioeventfd or not) "
	    "and a virtio-rng round trip, polled and ended by an MSI-X interrupt (irqfd or "
	    "not) (the exits guest, " EXITS_COUNT " each)",
    .opts = exits_opts,
    .nopts = sizeof(exits_opts) / sizeof(exits_opts[0]),
    .workload = exits_workload,
    .parse = exits_parse,
};

/* ---- blk ------------------------------------------------------------------- */

/* The in-guest jobs: mode, request size, iodepth. */
static const struct {
	const char *mode, *bs;
	unsigned int iodepth;
} blk_jobs[] = {
    {"randread", "4k", 1},   {"randread", "4k", 32}, {"randwrite", "4k", 1},
    {"randwrite", "4k", 32}, {"read", "128k", 8},    {"write", "128k", 8},
};

/* The blk suite's --disk: bench.c puts path= of the prepared image in
 * front (a group without a base gets "path=" c->disk when c->disk is set). */
static const struct bench_opt blk_opts[] = {
    {"--memory", NULL, 0, 0},
    {"--cpus", NULL, 0, 0},
    {"--disk", NULL, 1, 1},
};

static int blk_prepare(struct bench_ctx *c, char *err, size_t errlen)
{
	static const char zero[1 << 20];
	int fd;

	snprintf(c->disk, sizeof(c->disk), "%s/disk.img", c->out_dir);
	fd = open(c->disk, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", c->disk, strerror(errno));
		return -errno;
	}
	/* written, not sparse: reads must reach the host's storage */
	for (int i = 0; i < BLK_IMAGE_MIB; i++)
		if (write(fd, zero, sizeof(zero)) != (ssize_t)sizeof(zero)) {
			int e = errno ? errno : EIO;

			snprintf(err, errlen, "%s: %s", c->disk, strerror(e));
			close(fd);
			return -e;
		}
	if (fsync(fd) || close(fd)) {
		snprintf(err, errlen, "%s: %s", c->disk, strerror(errno));
		return -errno;
	}
	return 0;
}

/* The guest's script: the I/O scheduler if guest.scheduler is set, then
 * every job for `seconds`, each printing one JSON line. */
static void blk_script(const struct bench_ctx *c, const struct bench_matrix *m,
		       const struct bench_point *p, char *s, size_t n)
{
	const char *sched = bench_point_value(m, p, "guest.scheduler");
	size_t used = 0;

	s[0] = '\0';
	if (sched)
		used +=
		    (size_t)snprintf(s + used, n - used,
				     "echo %s > /sys/block/vda/queue/scheduler || exit 3; ", sched);
	for (size_t i = 0; i < sizeof(blk_jobs) / sizeof(blk_jobs[0]) && used < n; i++)
		used += (size_t)snprintf(s + used, n - used,
					 "kvmlab-guest blk /dev/vda --mode %s --bs %s --iodepth %u "
					 "--runtime %u --direct || exit 4; ",
					 blk_jobs[i].mode, blk_jobs[i].bs, blk_jobs[i].iodepth,
					 c->seconds);
	if (used < n)
		snprintf(s + used, n - used, "true");
}

static void blk_workload(const struct bench_ctx *c, const struct bench_matrix *m,
			 const struct bench_point *p, struct bench_argv *a)
{
	bench_add_stats_script(c, m, p, a, blk_script);
}

static void blk_qemu(const struct bench_ctx *c, const struct bench_matrix *m,
		     const struct bench_point *p, struct bench_argv *a)
{
	static const char *const keys[] = {"disk.cache",     "disk.engine",	"disk.queues",
					   "disk.iothreads", "guest.scheduler", NULL};
	const char *cache = bench_point_value(m, p, "disk.cache");
	const char *engine = bench_point_value(m, p, "disk.engine");
	const char *queues = bench_point_value(m, p, "disk.queues");
	const char *iothreads = bench_point_value(m, p, "disk.iothreads");
	char drive[BENCH_PATH_MAX + 128], dev[128], script[2048];

	if (!bench_qemu_has_all(m, keys))
		return;
	bench_qemu_common(c, m, p, a);
	/* kvmlab's engines: sync is a thread doing preadv/pwritev, like
	 * QEMU's aio=threads; io_uring is io_uring in both */
	snprintf(drive, sizeof(drive), "file=%s,if=none,id=d0,format=raw,cache=%s,aio=%s", c->disk,
		 cache ? cache : "writeback",
		 engine && !strcmp(engine, "io_uring") ? "io_uring" : "threads");
	bench_argv_add(a, "-drive");
	bench_argv_add(a, drive);
	if (iothreads && strcmp(iothreads, "0")) {
		/* QEMU 7.2 serves a virtio-blk device from one iothread */
		bench_argv_add(a, "-object");
		bench_argv_add(a, "iothread,id=io0");
	}
	snprintf(dev, sizeof(dev), "virtio-blk-pci,drive=d0,num-queues=%s%s", queues ? queues : "1",
		 iothreads && strcmp(iothreads, "0") ? ",iothread=io0" : "");
	bench_argv_add(a, "-device");
	bench_argv_add(a, dev);
	blk_script(c, m, p, script, sizeof(script));
	bench_append_cmd(a, script);
}

struct blk_acc {
	struct bench_row *row;
	struct bench_results *res;
	double ios, bytes;
};

/* One job's JSON line -> its figures.  Returns the number added. */
static int blk_line(const struct json_value *root, void *opaque)
{
	struct blk_acc *acc = opaque;
	const struct json_value *mode = json_get(root, "mode"), *bs = json_get(root, "bs"),
				*qd = json_get(root, "iodepth"), *lat = json_get(root, "lat_us");
	char prefix[48], metric[64];
	double v;
	int n = 0;

	if (!mode || mode->type != JSON_STRING || !bs || bs->type != JSON_INT || !qd ||
	    qd->type != JSON_INT)
		return 0;
	snprintf(prefix, sizeof(prefix), "%s_%" PRId64 "k_qd%" PRId64, mode->s, bs->i / 1024,
		 qd->i);
	static const struct {
		const char *key, *suffix, *unit;
		bool in_lat;
	} fig[] = {
	    {"iops", "iops", "IOPS", false},
	    {"mbps", "mbps", "MB/s", false},
	    {"p50", "p50_us", "us", true},
	    {"p99", "p99_us", "us", true},
	};
	for (size_t i = 0; i < sizeof(fig) / sizeof(fig[0]); i++) {
		if (!bench_json_num(fig[i].in_lat ? lat : root, fig[i].key, &v))
			continue;
		snprintf(metric, sizeof(metric), "%s_%s", prefix, fig[i].suffix);
		n += !bench_row_add(acc->res, acc->row, metric, fig[i].unit, v);
	}
	if (bench_json_num(root, "ios", &v))
		acc->ios += v;
	if (bench_json_num(root, "bytes", &v))
		acc->bytes += v;
	return n;
}

static int blk_parse(const struct bench_ctx *c, const struct bench_run *r, struct bench_row *row,
		     struct bench_results *res)
{
	struct blk_acc acc = {.row = row, .res = res};
	int n = 0, lines;

	(void)c;
	if (!bench_run_ok(r, row))
		return -EINVAL;
	/* a job line that did not parse does not count */
	lines = bench_each_json_line(r->out, "{\"tool\":\"kvmlab-guest blk\"", blk_line, &acc, &n);
	if (lines != (int)(sizeof(blk_jobs) / sizeof(blk_jobs[0])))
		return -EINVAL;
	n += bench_host_figures(r, row, res, !bench_is_qemu(row));
	if (!bench_is_qemu(row) && acc.ios > 0) {
		double cpu = bench_parse_vmm_cpu_s(r->err);

		n += !bench_row_add(res, row, "exits_per_request", "exits",
				    bench_parse_exits(r->err) / acc.ios);
		if (cpu >= 0 && acc.bytes > 0)
			n += !bench_row_add(res, row, "vmm_cpu_s_per_gb", "s/GB",
					    cpu / (acc.bytes / 1e9));
	}
	return n;
}

static const struct bench_suite blk_suite = {
    .name = "blk",
    .what = "4k random read/write at iodepth 1 and 32, 128k sequential read/write "
	    "(kvmlab-guest blk, O_DIRECT in the guest)",
    .opts = blk_opts,
    .nopts = sizeof(blk_opts) / sizeof(blk_opts[0]),
    .prepare = blk_prepare,
    .workload = blk_workload,
    .qemu = blk_qemu,
    .parse = blk_parse,
};

/* ---- memory ---------------------------------------------------------------- */

/* The guest touches half of its RAM (the rest is the kernel's and the
 * initramfs'), 512M unless memory.size says otherwise. */
#define MEM_DEFAULT_MIB 512

static const struct bench_opt memory_opts[] = {
    {"--memory", NULL, 0, 0},
    {"--cpus", NULL, 0, 0},
};

/* MiB in a size such as 512M or 1G (K/M/G/T, powers of 1024); 0 if it is
 * not one. */
uint64_t bench_size_mib(const char *v)
{
	char *end;
	unsigned long long n;

	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || n > (1ull << 40))
		return 0;
	switch (*end) {
	case 'T':
	case 't':
		return n << 20;
	case 'G':
	case 'g':
		return n << 10;
	case 'M':
	case 'm':
		return n;
	case 'K':
	case 'k':
		return n >> 10;
	case '\0':
		return n >> 20;
	default:
		return 0;
	}
}

static void memory_script(const struct bench_matrix *m, const struct bench_point *p, char *s,
			  size_t n)
{
	uint64_t mib = bench_size_mib(bench_point_value(m, p, "memory.size"));

	snprintf(s, n, "kvmlab-guest mem %lluM",
		 (unsigned long long)((mib ? mib : MEM_DEFAULT_MIB) / 2));
}

static void memory_workload(const struct bench_ctx *c, const struct bench_matrix *m,
			    const struct bench_point *p, struct bench_argv *a)
{
	char script[128];

	(void)c;
	memory_script(m, p, script, sizeof(script));
	bench_argv_add(a, "--trace");
	bench_argv_add(a, "boot");
	bench_argv_add(a, "--stats");
	bench_add_guest_shell(a, script);
}

bool bench_qemu_memory(const struct bench_ctx *c, const struct bench_matrix *m,
		       const struct bench_point *p, struct bench_argv *a)
{
	static const char *const keys[] = {"memory.backend", "memory.hugepage-size",
					   "memory.path",    "memory.prealloc",
					   "memory.merge",   "memory.shared",
					   "memory.thp",     "memory.host-nodes",
					   "memory.policy",  NULL};
	const char *backend = bench_point_value(m, p, "memory.backend");
	const char *hps = bench_point_value(m, p, "memory.hugepage-size");
	const char *path = bench_point_value(m, p, "memory.path");
	const char *prealloc = bench_point_value(m, p, "memory.prealloc");
	const char *merge = bench_point_value(m, p, "memory.merge");
	const char *shared = bench_point_value(m, p, "memory.shared");
	const char *thp = bench_point_value(m, p, "memory.thp");
	const char *size = bench_point_value(m, p, "memory.size");
	const char *nodes = bench_point_value(m, p, "memory.host-nodes");
	const char *policy = bench_point_value(m, p, "memory.policy");
	char obj[BENCH_PATH_MAX + 256];
	int n;

	if (!bench_qemu_has_all(m, keys) || (thp && strcmp(thp, "on")))
		return false;
	if (!backend || !strcmp(backend, "anon")) {
		if (hps) /* anonymous memory has no fixed page size in kvmlab either */
			return false;
		n = snprintf(obj, sizeof(obj), "memory-backend-ram,id=m0");
	} else if (!strcmp(backend, "memfd")) {
		n = snprintf(obj, sizeof(obj), "memory-backend-memfd,id=m0%s%s",
			     hps ? ",hugetlb=on,hugetlbsize=" : "", hps ? hps : "");
	} else if (!strcmp(backend, "hugetlbfs")) {
		n = snprintf(obj, sizeof(obj), "memory-backend-file,id=m0,mem-path=%s",
			     path ? path : "/dev/hugepages");
	} else {
		return false;
	}
	if (n > 0 && (size_t)n < sizeof(obj))
		n += snprintf(obj + n, sizeof(obj) - (size_t)n, ",size=%s%s%s%s%s%s%s",
			      size ? size : "512M", prealloc ? ",prealloc=" : "",
			      prealloc ? prealloc : "", merge ? ",merge=" : "", merge ? merge : "",
			      shared ? ",share=" : "", shared ? shared : "");
	if (n > 0 && (size_t)n < sizeof(obj))
		n += snprintf(obj + n, sizeof(obj) - (size_t)n, "%s%s%s%s",
			      nodes ? ",host-nodes=" : "", nodes ? nodes : "",
			      policy ? ",policy=" : "", policy ? policy : "");
	if (n <= 0 || (size_t)n >= sizeof(obj)) {
		a->n = -1;
		return true;
	}
	bench_qemu_common(c, m, p, a);
	bench_argv_add(a, "-object");
	bench_argv_add(a, obj);
	bench_argv_add(a, "-machine");
	bench_argv_add(a, "memory-backend=m0");
	return true;
}

static void memory_qemu(const struct bench_ctx *c, const struct bench_matrix *m,
			const struct bench_point *p, struct bench_argv *a)
{
	char script[128];

	if (!bench_qemu_memory(c, m, p, a))
		return;
	memory_script(m, p, script, sizeof(script));
	bench_append_cmd(a, script);
}

/* Sum of the " KEY=N" figures over the memory region lines of --stats. */
static double region_sum(const char *text, const char *key)
{
	double sum = 0;
	size_t klen = strlen(key);

	for (const char *l = strstr(text, "kvmlab: memory region "); l;
	     l = strstr(l + 1, "kvmlab: memory region ")) {
		const char *nl = strchr(l, '\n');

		for (const char *k = strstr(l, key); k && (!nl || k < nl); k = strstr(k + 1, key))
			if (k[-1] == ' ') {
				sum += strtod(k + klen, NULL);
				break;
			}
	}
	return sum;
}

double bench_parse_prealloc_ms(const char *text)
{
	double sum = 0;
	int seen = 0;

	for (const char *l = strstr(text, "kvmlab: memory region "); l;
	     l = strstr(l + 1, "kvmlab: memory region ")) {
		const char *k = strstr(l, " prealloc="), *nl = strchr(l, '\n');
		const char *paren = k ? strchr(k, '(') : NULL;

		if (!k || (nl && k > nl) || !paren || (nl && paren > nl))
			continue;
		sum += strtod(paren + 1, NULL);
		seen = 1;
	}
	return seen ? sum : -1;
}

struct mem_acc {
	struct bench_row *row;
	struct bench_results *res;
};

/* The mem tool's line: both figures, or none (0). */
static int memory_line(const struct json_value *root, void *opaque)
{
	struct mem_acc *acc = opaque;
	static const char *const figs[] = {"first_touch_ms", "second_pass_ms"};
	double v[2];

	for (size_t i = 0; i < 2; i++)
		if (!bench_json_num(root, figs[i], &v[i]))
			return 0;
	return !bench_row_add(acc->res, acc->row, figs[0], "ms", v[0]) +
	       !bench_row_add(acc->res, acc->row, figs[1], "ms", v[1]);
}

static int memory_parse(const struct bench_ctx *c, const struct bench_run *r, struct bench_row *row,
			struct bench_results *res)
{
	struct mem_acc acc = {.row = row, .res = res};
	int n = 0;

	(void)c;
	if (!bench_run_ok(r, row) || bench_each_json_line(r->out, "{\"tool\":\"kvmlab-guest mem\"",
							  memory_line, &acc, &n) != 1)
		return -EINVAL;
	n += !bench_row_add(res, row, "host_minor_faults", "faults", (double)r->ru.ru_minflt);
	n += bench_host_figures(r, row, res, !bench_is_qemu(row));
	if (!bench_is_qemu(row)) {
		double init = bench_parse_boot_ms(r->err, "marker 2");
		double pre = bench_parse_prealloc_ms(r->err);

		if (init < 0 || pre < 0)
			return -EINVAL;
		n += !bench_row_add(res, row, "guest_init_ms", "ms", init);
		n += !bench_row_add(res, row, "prealloc_ms", "ms", pre);
		n += !bench_row_add(res, row, "guest_rss_mib", "MiB",
				    bench_parse_guest_rss_mib(r->err));
		n += !bench_row_add(res, row, "anon_huge_mib", "MiB",
				    region_sum(r->err, "anon_huge="));
		n += !bench_row_add(res, row, "hugepages", "pages",
				    region_sum(r->err, "hugepages="));
	}
	return n;
}

static const struct bench_suite memory_suite = {
    .name = "memory",
    .what = "boot and touch half of guest RAM (kvmlab-guest mem): first touch (faults) and "
	    "a second pass; host page faults, prealloc time, RSS, THP and hugepages",
    .opts = memory_opts,
    .nopts = sizeof(memory_opts) / sizeof(memory_opts[0]),
    .workload = memory_workload,
    .qemu = memory_qemu,
    .parse = memory_parse,
};

/* ---- net ------------------------------------------------------------------- */

/* The suite runs in a network namespace of its own (netns.h): a tap per
 * net.queues value (bench_net_tap), a kvmlab-guest net server on the host
 * side of all of them, and guests that stream both ways and do
 * request/response round trips against it.  Nothing reaches a real network. */
#define NET_PORT "5201"

static const struct bench_opt net_opts[] = {
    {"--memory", NULL, 0, 0},
    {"--cpus", NULL, 0, 0},
    {"--net", NULL, 1, 1}, /* tap= of the point's queue count (bench.c) */
};

/* net.queues as a number (1 when unset or odd; cli_parse has checked). */
static unsigned int net_queues(const char *v)
{
	unsigned long q = v ? strtoul(v, NULL, 10) : 1;

	return q >= 1 && q <= 16 ? (unsigned int)q : 1;
}

char *bench_net_tap(const char *queues, char *buf, size_t n)
{
	snprintf(buf, n, "kvb-q%u", net_queues(queues));
	return buf;
}

/* The guest's script: address, a ping to warm ARP, then a stream each way
 * over guest.streams connections (default: one per queue pair) and
 * 1-byte round trips, each `seconds` long and printing one JSON line. */
static void net_script(const struct bench_ctx *c, const struct bench_matrix *m,
		       const struct bench_point *p, char *s, size_t n)
{
	unsigned int q = net_queues(bench_point_value(m, p, "net.queues"));
	const char *streams = bench_point_value(m, p, "guest.streams");
	char nstreams[16];

	if (!streams) {
		snprintf(nstreams, sizeof(nstreams), "%u", q);
		streams = nstreams;
	}
	snprintf(s, n,
		 "ip addr add 10.78.%u.2/24 dev eth0 && ip link set eth0 up && "
		 "ping -c 1 -W 10 10.78.%u.1 >/dev/null || exit 3; "
		 "kvmlab-guest net stream --to 10.78.%u.1 --port " NET_PORT
		 " --direction send --streams %s --seconds %u || exit 4; "
		 "kvmlab-guest net stream --to 10.78.%u.1 --port " NET_PORT
		 " --direction recv --streams %s --seconds %u || exit 4; "
		 "kvmlab-guest net rr --to 10.78.%u.1 --port " NET_PORT
		 " --seconds %u || exit 4; true",
		 q, q, q, streams, c->seconds, q, streams, c->seconds, q, c->seconds);
}

/* Every net.queues value of the matrix ("1" without the axis) in turn. */
static int net_each_queues(const struct bench_matrix *m, int (*fn)(unsigned int q, void *opaque),
			   void *opaque)
{
	for (unsigned int i = 0; m && i < m->naxes; i++)
		if (!strcmp(m->axis[i].key, "net.queues")) {
			for (unsigned int v = 0; v < m->axis[i].n; v++) {
				int r = fn(net_queues(m->axis[i].value[v]), opaque);

				if (r)
					return r;
			}
			return 0;
		}
	return fn(1, opaque);
}

struct net_prep {
	char *err;
	size_t errlen;
};

static int net_tap_for(unsigned int q, void *opaque)
{
	struct net_prep *np = opaque;
	char name[16], addr[32], qs[16];

	snprintf(qs, sizeof(qs), "%u", q);
	bench_net_tap(qs, name, sizeof(name));
	if (if_nametoindex(name))
		return 0; /* a value given twice */
	snprintf(addr, sizeof(addr), "10.78.%u.1", q);
	return netns_tap_add(name, q > 1, addr, 24, np->err, np->errlen);
}

/* The host side is up once its port takes a connection (5 s at most).
 * A server that exited is reaped here and *pid becomes 0. */
static int net_server_wait(pid_t *pid)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(5201)};

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 100; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

		if (fd < 0)
			return -errno;
		ok = !connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		close(fd);
		if (ok)
			return 0;
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = 0; /* gone: nothing for net_finish to stop */
			return -ECHILD;
		}
		usleep(50 * 1000);
	}
	return -ETIMEDOUT;
}

static int net_prepare(struct bench_ctx *c, char *err, size_t errlen)
{
	struct net_prep np = {.err = err, .errlen = errlen};
	char prog[BENCH_PATH_MAX + 16], log[BENCH_PATH_MAX + 32];
	pid_t parent;
	int r;

	r = netns_enter_private(err, errlen);
	if (!r)
		r = net_each_queues(c->m, net_tap_for, &np);
	if (r)
		return r;
	snprintf(prog, sizeof(prog), "%s/kvmlab-guest", c->guests_dir);
	snprintf(log, sizeof(log), "%s/raw/net-server.log", c->out_dir);
	parent = getpid();
	c->server = fork();
	if (c->server < 0) {
		r = -errno;
		c->server = 0;
		snprintf(err, errlen, "net: fork: %s", strerror(-r));
		return r;
	}
	if (c->server == 0) {
		/* the server goes when bench goes, however bench ends */
		bench_child_setup(parent, log, NULL);
		execl(prog, prog, "net", "server", "--port", NET_PORT, (char *)NULL);
		_exit(127);
	}
	r = net_server_wait(&c->server);
	if (r)
		snprintf(err, errlen, "net: the host-side server (%s net server) did not start: %s",
			 prog, r == -ECHILD ? "it exited (see raw/net-server.log)" : strerror(-r));
	return r;
}

static void net_finish(struct bench_ctx *c)
{
	if (c->server > 0) {
		kill(c->server, SIGTERM);
		waitpid(c->server, NULL, 0);
	}
	c->server = 0;
}

static void net_workload(const struct bench_ctx *c, const struct bench_matrix *m,
			 const struct bench_point *p, struct bench_argv *a)
{
	bench_add_stats_script(c, m, p, a, net_script);
}

/* QEMU's -netdev tap on the same tap and virtio-net-pci; offloads=off
 * turns off the same features kvmlab then does not offer (virtio/net.c). */
static void net_qemu(const struct bench_ctx *c, const struct bench_matrix *m,
		     const struct bench_point *p, struct bench_argv *a)
{
	static const char *const keys[] = {"net.queues", "net.vhost", "net.offloads",
					   "guest.streams", NULL};
	const char *vhost = bench_point_value(m, p, "net.vhost");
	const char *offloads = bench_point_value(m, p, "net.offloads");
	unsigned int q = net_queues(bench_point_value(m, p, "net.queues"));
	char tap[16], netdev[128], dev[512], script[2048];

	if (!bench_qemu_has_all(m, keys))
		return;
	bench_qemu_common(c, m, p, a);
	bench_net_tap(bench_point_value(m, p, "net.queues"), tap, sizeof(tap));
	snprintf(netdev, sizeof(netdev), "tap,id=n0,ifname=%s,script=no,downscript=no,vhost=%s",
		 tap, vhost && !strcmp(vhost, "on") ? "on" : "off");
	snprintf(dev, sizeof(dev), "virtio-net-pci,netdev=n0");
	if (q > 1) {
		size_t l = strlen(netdev), d = strlen(dev);

		snprintf(netdev + l, sizeof(netdev) - l, ",queues=%u", q);
		/* MSI-X: a vector per queue, the control queue and the config */
		snprintf(dev + d, sizeof(dev) - d, ",mq=on,vectors=%u", 2 * q + 2);
	}
	if (offloads && !strcmp(offloads, "off")) {
		size_t d = strlen(dev);

		snprintf(dev + d, sizeof(dev) - d,
			 ",csum=off,guest_csum=off,gso=off,guest_tso4=off,guest_tso6=off,"
			 "guest_ecn=off,guest_ufo=off,host_tso4=off,host_tso6=off,host_ecn=off,"
			 "host_ufo=off");
	}
	bench_argv_add(a, "-netdev");
	bench_argv_add(a, netdev);
	bench_argv_add(a, "-device");
	bench_argv_add(a, dev);
	net_script(c, m, p, script, sizeof(script));
	bench_append_cmd(a, script);
}

struct net_acc {
	struct bench_row *row;
	struct bench_results *res;
	double bytes;
	int seen; /* bit 0 send, 1 recv, 2 rr */
};

/* A stream or rr line -> tx_mbps (guest to host), rx_mbps, or rr_tps and
 * rr_p50_us / rr_p99_us. */
static int net_line(const struct json_value *root, void *opaque)
{
	struct net_acc *acc = opaque;
	const struct json_value *mode = json_get(root, "mode"), *dir = json_get(root, "direction");
	double v, p50, p99, bytes;

	if (!mode || mode->type != JSON_STRING)
		return 0;
	if (!strcmp(mode->s, "stream") && dir && dir->type == JSON_STRING &&
	    bench_json_num(root, "mbps", &v) && bench_json_num(root, "bytes", &bytes) && v > 0) {
		bool send = !strcmp(dir->s, "send");

		acc->seen |= send ? 1 : 2;
		acc->bytes += bytes;
		return !bench_row_add(acc->res, acc->row, send ? "tx_mbps" : "rx_mbps", "Mbit/s",
				      v);
	}
	if (!strcmp(mode->s, "rr") && bench_json_num(root, "tps", &v) &&
	    bench_json_num(json_get(root, "lat_us"), "p50", &p50) &&
	    bench_json_num(json_get(root, "lat_us"), "p99", &p99) && v > 0) {
		acc->seen |= 4;
		return !bench_row_add(acc->res, acc->row, "rr_tps", "1/s", v) +
		       !bench_row_add(acc->res, acc->row, "rr_p50_us", "us", p50) +
		       !bench_row_add(acc->res, acc->row, "rr_p99_us", "us", p99);
	}
	return 0;
}

static int net_parse(const struct bench_ctx *c, const struct bench_run *r, struct bench_row *row,
		     struct bench_results *res)
{
	struct net_acc acc = {.row = row, .res = res};
	int n = 0;

	(void)c;
	if (!bench_run_ok(r, row))
		return -EINVAL;
	bench_each_json_line(r->out, "{\"tool\":\"kvmlab-guest net\"", net_line, &acc, &n);
	if (acc.seen != 7)
		return -EINVAL;
	n += bench_host_figures(r, row, res, !bench_is_qemu(row));
	if (!bench_is_qemu(row) && acc.bytes > 0) {
		/* kvmlab's own threads; with vhost=on the kernel's vhost
		 * worker does the copying and is not in this figure */
		double cpu = bench_parse_vmm_cpu_s(r->err);

		if (cpu >= 0)
			n += !bench_row_add(res, row, "vmm_cpu_s_per_gb", "s/GB",
					    cpu / (acc.bytes / 1e9));
		n += !bench_row_add(res, row, "exits_per_mb", "exits/MB",
				    bench_parse_exits(r->err) / (acc.bytes / 1e6));
	}
	return n;
}

static const struct bench_suite net_suite = {
    .name = "net",
    .what = "TCP stream guest->host and host->guest and 1-byte round trips (kvmlab-guest net) "
	    "over a tap in a private network namespace; needs root",
    .opts = net_opts,
    .nopts = sizeof(net_opts) / sizeof(net_opts[0]),
    .prepare = net_prepare,
    .finish = net_finish,
    .workload = net_workload,
    .qemu = net_qemu,
    .parse = net_parse,
};

/* ---- the table ------------------------------------------------------------- */

const struct bench_suite *const bench_suites[] = {
    &boot_suite,      &blk_suite,	    &net_suite,	  &exits_suite,
    &bench_ksm_suite, &bench_balloon_suite, &memory_suite};
const unsigned int bench_nsuites = sizeof(bench_suites) / sizeof(bench_suites[0]);

const struct bench_suite *bench_suite_find(const char *name)
{
	for (unsigned int i = 0; i < bench_nsuites; i++)
		if (!strcmp(bench_suites[i]->name, name))
			return bench_suites[i];
	return NULL;
}
