/* libFuzzer target: the command-line parser and the option parsers.
 *
 * Input: words separated by NUL or newline bytes, given to cli_parse as
 * `kvmlab run WORD...` (at most 64 words); then the whole input (up to its
 * first NUL) as the value of --memory, --disk, --net, --cpus and --balloon
 * given to their parsers directly, and to the size, node-list and CPU-list
 * helpers.
 *
 * The parsers are pure (string functions and vsnprintf only; cli_parse
 * also reads the process's CPU affinity): they open no file and start
 * nothing, so each run is deterministic.  Checked: every refusal is
 * -EINVAL with a non-empty one-line reason that fits the buffer (also a
 * tiny one); everything accepted is within the documented bounds
 * (sizes, queue counts and sizes, topology product, affinity entries,
 * string lengths), strings handed back point into argv, and the action
 * is CLI_RUN_HELP only for --help / -h; a CPU list reads back the same
 * after printing it; no file descriptor is left open. */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem/mem_opts.h"
#include "vmm/balloon_opts.h"
#include "vmm/cli.h"
#include "vmm/cpu_opts.h"
#include "vmm/cpulist.h"
#include "vmm/disk_opts.h"
#include "vmm/net_opts.h"
#include "vmm/size.h"

#define MAX_WORDS 64
#define ERRLEN	  256

/* An invariant failed: crash so libFuzzer keeps the input. */
#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static bool pow2(unsigned int v)
{
	return v && !(v & (v - 1));
}

/* A refusal's reason: non-empty, NUL-terminated inside the buffer, one
 * line (reasons quote the value: unless that has a newline itself). */
static void check_err(int r, const char *err, size_t errlen, bool one_line)
{
	CHECK(r == -EINVAL);
	CHECK(memchr(err, '\0', errlen) != NULL);
	CHECK(errlen < 2 || err[0] != '\0');
	CHECK(!one_line || !memchr(err, '\n', strlen(err)));
}

static void check_mem(const struct mem_opts *m)
{
	CHECK(m->size >= MEM_OPTS_MIN_SIZE);
	CHECK(m->hugepage_size == 0 || m->hugepage_size == 2ull << 20 ||
	      m->hugepage_size == 1ull << 30);
	CHECK(m->size % mem_opts_page_size(m) == 0);
	CHECK((unsigned int)m->backend <= MEM_BACKEND_HUGETLBFS);
	CHECK((unsigned int)m->policy <= MEM_POLICY_INTERLEAVE);
	CHECK((unsigned int)m->thp <= MEM_THP_OFF);
	CHECK(m->backend != MEM_BACKEND_ANON || m->hugepage_size == 0);
	CHECK(m->backend != MEM_BACKEND_HUGETLBFS || m->hugepage_size);
	CHECK(memchr(m->path, '\0', sizeof(m->path)) != NULL);
	CHECK(memchr(m->warning, '\0', sizeof(m->warning)) != NULL);
}

static void check_disk(const struct disk_opts *d)
{
	size_t n = strnlen(d->serial, sizeof(d->serial));

	CHECK(d->path[0] && memchr(d->path, '\0', sizeof(d->path)) != NULL);
	CHECK((unsigned int)d->cache <= BLK_CACHE_UNSAFE);
	CHECK((unsigned int)d->engine <= DISK_ENGINE_IO_URING);
	CHECK(d->queues <= BLK_MAX_QUEUES);
	CHECK(pow2(d->queue_size) && d->queue_size >= 2 && d->queue_size <= DISK_MAX_QUEUE_SIZE);
	CHECK(d->iothreads >= 1 && d->iothreads <= BLK_MAX_QUEUES);
	CHECK(d->queues == 0 || d->iothreads <= d->queues);
	CHECK(!d->affinity_set || CPU_COUNT(&d->affinity) > 0);
	CHECK(n <= BLK_ID_BYTES);
	for (size_t i = 0; i < n; i++)
		CHECK(d->serial[i] > 0x20 && d->serial[i] < 0x7f);
}

static void check_net(const struct net_opts *o)
{
	CHECK(o->tap[0] && memchr(o->tap, '\0', sizeof(o->tap)) != NULL);
	CHECK(o->queues >= 1 && o->queues <= NET_MAX_PAIRS);
	CHECK(pow2(o->queue_size) && o->queue_size >= 2 && o->queue_size <= NET_MAX_QUEUE_SIZE);
	CHECK(o->iothreads >= 1 && o->iothreads <= o->queues);
	CHECK(o->mtu == 0 || (o->mtu >= NET_MIN_MTU && o->mtu <= NET_MAX_MTU));
	CHECK(!o->affinity_set || CPU_COUNT(&o->affinity) > 0);
}

static void check_cpu(const struct cpu_opts *o)
{
	unsigned int n = 0;

	CHECK(o->boot >= 1 && o->boot <= CPU_OPTS_MAX_VCPUS);
	CHECK(o->sockets >= 1 && o->cores >= 1 && o->threads >= 1);
	CHECK(o->sockets * o->cores * o->threads == o->boot);
	for (unsigned int v = 0; v < CPU_OPTS_MAX_VCPUS; v++) {
		if (!o->affinity_set[v])
			continue;
		CHECK(v < o->boot && CPU_COUNT(&o->affinity[v]) > 0);
		n++;
	}
	CHECK(n == o->naffinity);
}

/* A string the config hands back: NULL, or inside the words. */
static void check_str(const char *s, const char *buf, size_t len)
{
	CHECK(!s || (s >= buf && s < buf + len + 1 && s + strlen(s) <= buf + len));
}

static void run_cli(char *buf, size_t len)
{
	static struct config c;
	static char *argv[MAX_WORDS + 3];
	char err[ERRLEN], small[8];
	bool help = false;
	int argc = 0, r, r2;

	argv[argc++] = "kvmlab";
	argv[argc++] = "run";
	for (size_t i = 0, start = 0; i <= len && argc < MAX_WORDS + 2; i++) {
		if (i < len && buf[i] != '\0' && buf[i] != '\n')
			continue;
		buf[i] = '\0';
		argv[argc] = buf + start;
		help = help || !strcmp(argv[argc], "--help") || !strcmp(argv[argc], "-h");
		argc++;
		start = i + 1;
	}
	argv[argc] = NULL;

	memset(err, 0x55, sizeof(err));
	r = cli_parse(argc, argv, &c, err, sizeof(err));
	CHECK(r == CLI_RUN || r == CLI_RUN_HELP || r == -EINVAL);
	if (r == CLI_RUN_HELP)
		CHECK(help);
	if (r < 0)
		check_err(r, err, sizeof(err), true);
	if (r == CLI_RUN) {
		CHECK(err[0] == '\0');
		check_mem(&c.mem);
		check_cpu(&c.cpu);
		CHECK(c.cpus == c.cpu.boot);
		CHECK(c.ndisks <= DISK_MAX && c.nnets <= NET_MAX);
		for (unsigned int i = 0; i < c.ndisks; i++)
			check_disk(&c.disks[i]);
		for (unsigned int i = 0; i < c.nnets; i++)
			check_net(&c.nets[i]);
		check_str(c.kernel, buf, len);
		check_str(c.initrd, buf, len);
		CHECK(!c.initrd || c.initrd[0]);
		check_str(c.cmdline, buf, len);
		check_str(c.api_socket, buf, len);
		CHECK((unsigned int)c.serial <= SERIAL_OFF);
		if (c.serial == SERIAL_FILE) {
			check_str(c.serial_path, buf, len);
			CHECK(c.serial_path && c.serial_path[0]);
		}
		if (c.guest_argv) {
			CHECK(c.guest_argc >= 1 && c.guest_argv + c.guest_argc == argv + argc);
			CHECK(c.guest_argv > argv + 2 && !strcmp(c.guest_argv[-1], "--"));
		} else {
			CHECK(c.guest_argc == 0);
		}
	}
	/* the same answer into a buffer too small for the reason */
	memset(small, 0x55, sizeof(small));
	r2 = cli_parse(argc, argv, &c, small, sizeof(small));
	CHECK(r2 == r);
	if (r2 < 0)
		check_err(r2, small, sizeof(small), true);
}

static void run_options(const char *s)
{
	bool one = !strchr(s, '\n');
	static struct mem_opts m;
	static struct disk_opts d;
	static struct net_opts n;
	static struct cpu_opts o;
	struct balloon_opts b;
	char err[ERRLEN], out[CPU_SETSIZE * 4];
	cpu_set_t set, again;
	uint64_t v;
	int r;

	r = mem_opts_parse(s, &m, err, sizeof(err));
	if (r)
		check_err(r, err, sizeof(err), one);
	else
		check_mem(&m);
	r = disk_opts_parse(s, &d, err, sizeof(err));
	if (r)
		check_err(r, err, sizeof(err), one);
	else
		check_disk(&d);
	r = net_opts_parse(s, &n, err, sizeof(err));
	if (r)
		check_err(r, err, sizeof(err), one);
	else
		check_net(&n);
	r = cpu_opts_parse(s, &o, err, sizeof(err));
	if (r) {
		check_err(r, err, sizeof(err), one);
	} else {
		cpu_set_t all;

		check_cpu(&o);
		CPU_ZERO(&all);
		r = cpu_opts_check_affinity(&o, &all, err, sizeof(err));
		CHECK(o.naffinity ? r == -EINVAL && err[0] : r == 0);
	}
	r = balloon_opts_parse(s, &b, err, sizeof(err));
	if (r)
		check_err(r, err, sizeof(err), one);
	else
		CHECK(b.enabled);

	r = parse_size(s, &v);
	CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	r = parse_uint(s, 1, 100, &v);
	CHECK(r == -EINVAL || r == -ERANGE || (r == 0 && v >= 1 && v <= 100));
	r = mem_parse_nodelist(s, &v);
	CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	CHECK(r || v);
	r = cpulist_parse(s, &set);
	CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r == 0) {
		/* printed and read back: the same set */
		int k = cpulist_format(&set, out, sizeof(out));

		CHECK(k >= 0 && (size_t)k < sizeof(out) && strlen(out) == (size_t)k);
		if (CPU_COUNT(&set)) {
			CHECK(cpulist_parse(out, &again) == 0 && CPU_EQUAL(&set, &again));
		} else {
			CHECK(k == 0);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *buf;
	int fd0, fd1;

	if (len > 16384)
		return 0;
	fd0 = dup(0);
	close(fd0);
	buf = malloc(len + 1);
	CHECK(buf);
	memcpy(buf, data, len);
	buf[len] = '\0';
	run_options(buf);
	run_cli(buf, len);
	free(buf);
	/* nothing left open (the lowest free descriptor is the same) */
	fd1 = dup(0);
	close(fd1);
	CHECK(fd1 == fd0);
	return 0;
}
