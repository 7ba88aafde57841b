/* vmm/bench_suites.c: the parsers of kvmlab's and the guest's output, each
 * suite's parse over recorded text, and the commands the suites build
 * (kvmlab's and QEMU's) for a point. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/bench.h"

static const char boot_err[] =
    "kvmlab: boot    18.280 ms  VM created\n"
    "kvmlab: boot    27.783 ms  first KVM_RUN\n"
    "kvmlab: boot  4907.720 ms  marker 2\n"
    "kvmlab: boot  5045.535 ms  marker 3\n"
    "kvmlab: thread kvmlab tid=10 cpus=0-1 cpu=0.50s guest=0.00s\n"
    "kvmlab: thread vcpu0 tid=12 cpus=0-1 cpu=0.25s guest=4.00s\n"
    "kvmlab: memory region 0: gpa=0x0 size=512 MiB backing=anon page=4 KiB "
    "prealloc=off (0.0 ms) thp=default merge=off rss=40 MiB anon_huge=0 MiB\n"
    "kvmlab: vcpu0 exits: total=1000 io=900 mmio=100\n"
    "kvmlab: vcpu1 exits: total=500 io=500 mmio=0\n";

static void test_parsers(void **state)
{
	(void)state;
	assert_true(bench_parse_boot_ms(boot_err, "first KVM_RUN") == 27.783);
	assert_true(bench_parse_boot_ms(boot_err, "marker 3") == 5045.535);
	assert_true(bench_parse_boot_ms(boot_err, "marker 4") == -1);
	/* "marker 2" must not match a longer marker name */
	assert_true(bench_parse_boot_ms("kvmlab: boot 1.0 ms  marker 23\n", "marker 2") == -1);
	/* the sum of cpu= (kvmlab prints a thread's user + system time minus
	 * its guest time there: the VMM's own); guest= is not taken off again */
	assert_true(bench_parse_vmm_cpu_s(boot_err) > 0.749 &&
		    bench_parse_vmm_cpu_s(boot_err) < 0.751);
	assert_true(bench_parse_vmm_cpu_s("no threads here") == -1);
	assert_true(bench_parse_exits(boot_err) == 1500);
	assert_true(bench_parse_guest_rss_mib(boot_err) == 40);
	assert_true(bench_parse_guest_rss_mib("") == 0);
}

/* Empty a so the next command builds from the start. */
static void argv_reset(struct bench_argv *a)
{
	a->n = 0;
	a->used = 0;
}

static int count_metric(const struct bench_results *r, const char *m, double *v)
{
	int n = 0;

	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->rows[i].metric, m)) {
			n++;
			*v = r->rows[i].value;
		}
	return n;
}

static void test_boot_parse(void **state)
{
	const struct bench_suite *s = bench_suite_find("boot");
	struct bench_ctx c = {0};
	struct bench_results res;
	struct bench_row row = {.system = "kvmlab", .suite = "boot"};
	struct bench_run r = {.out = "", .err = boot_err, .status = 0, .wall_s = 5.5};
	double v = 0;

	(void)state;
	assert_non_null(s);
	r.ru.ru_maxrss = 60 * 1024; /* KiB */
	bench_results_init(&res, "v", "k", false);
	assert_int_equal(s->parse(&c, &r, &row, &res), 6);
	assert_int_equal(count_metric(&res, "guest_init_ms", &v), 1);
	assert_true(v == 4907.720);
	assert_int_equal(count_metric(&res, "wall_ms", &v), 1);
	assert_true(v == 5500);
	assert_int_equal(count_metric(&res, "vmm_rss_overhead_mib", &v), 1);
	assert_true(v == 20); /* 60 MiB peak, 40 of them guest RAM */
	/* a failed guest command, or a run without the markers: no figures */
	r.status = 1;
	assert_int_equal(s->parse(&c, &r, &row, &res), -EINVAL);
	r.status = 0;
	r.err = "kvmlab: boot 1.0 ms  first KVM_RUN\n";
	assert_int_equal(s->parse(&c, &r, &row, &res), -EINVAL);
	/* QEMU: its debug-exit status 1 (or 0, a power-off) is an end; wall
	 * time only; anything else a failure */
	memcpy(row.system, "qemu", 5);
	r.status = 1;
	bench_results_free(&res);
	assert_int_equal(s->parse(&c, &r, &row, &res), 1);
	assert_string_equal(res.rows[0].metric, "wall_ms");
	r.status = 0;
	assert_int_equal(s->parse(&c, &r, &row, &res), 1);
	r.status = 7;
	assert_int_equal(s->parse(&c, &r, &row, &res), -EINVAL);
	bench_results_free(&res);
}

static const char blk_job[] =
    "{\"tool\":\"kvmlab-guest blk\",\"mode\":\"%s\",\"engine\":\"io_uring\","
    "\"bs\":%d,\"iodepth\":%d,\"jobs\":1,\"direct\":true,\"ios\":1000,"
    "\"bytes\":%d,\"seconds\":1.000,\"iops\":1000.0,\"mbps\":4.10,"
    "\"lat_us\":{\"p50\":900.00,\"p99\":2000.00,\"p999\":3000.00},"
    "\"errors\":0}\r\n";

static void test_blk_parse(void **state)
{
	static const struct {
		const char *mode;
		int bs, qd;
	} jobs[] = {{"randread", 4096, 1},   {"randread", 4096, 32}, {"randwrite", 4096, 1},
		    {"randwrite", 4096, 32}, {"read", 131072, 8},    {"write", 131072, 8}};
	const struct bench_suite *s = bench_suite_find("blk");
	struct bench_ctx c = {0};
	struct bench_results res;
	struct bench_row row = {.system = "kvmlab", .suite = "blk"};
	char out[4096] = "[    1.0] some kernel line\n";
	struct bench_run r = {.out = out, .err = boot_err, .status = 0, .wall_s = 9};
	double v = 0;

	(void)state;
	for (size_t i = 0; i < 6; i++) {
		size_t used = strlen(out);

		snprintf(out + used, sizeof(out) - used, blk_job, jobs[i].mode, jobs[i].bs,
			 jobs[i].qd, jobs[i].bs * 1000);
	}
	bench_results_init(&res, "v", "k", false);
	/* 6 jobs x 4 figures, wall, vmm cpu, rss overhead, exits/request, cpu/GB */
	assert_int_equal(s->parse(&c, &r, &row, &res), 29);
	assert_int_equal(count_metric(&res, "randwrite_4k_qd32_iops", &v), 1);
	assert_true(v == 1000);
	assert_int_equal(count_metric(&res, "read_128k_qd8_p99_us", &v), 1);
	assert_true(v == 2000);
	assert_int_equal(count_metric(&res, "exits_per_request", &v), 1);
	assert_true(v == 1500.0 / 6000);
	assert_int_equal(count_metric(&res, "vmm_cpu_s_per_gb", &v), 1);
	/* 0.75 s over 4 x 4 MB + 2 x 131 MB */
	assert_true(v > 0.75 / 0.2786 - 0.01 && v < 0.75 / 0.2786 + 0.01);
	bench_results_free(&res);
	/* a job missing: the run does not count */
	*strrchr(out, '{') = '\0';
	assert_int_equal(s->parse(&c, &r, &row, &res), -EINVAL);
	bench_results_free(&res);
}

static void test_commands(void **state)
{
	const struct bench_suite *s = bench_suite_find("blk");
	struct bench_ctx c = {.seconds = 2};
	struct bench_matrix m;
	struct bench_point p;
	struct bench_argv a = {.n = 0};
	char err[256], all[8192] = "";

	(void)state;
	snprintf(c.kernel, sizeof(c.kernel), "/boot/vmlinuz-x");
	snprintf(c.initrd, sizeof(c.initrd), "/b/initramfs.cpio.gz");
	snprintf(c.disk, sizeof(c.disk), "/r/disk.img");
	bench_matrix_init(&m);
	assert_int_equal(bench_matrix_add(&m, "disk.cache=none", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "disk.engine=io_uring", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "disk.iothreads=1", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "guest.scheduler=none", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_point(&m, 0, &p), 0);

	s->workload(&c, &m, &p, &a);
	assert_true(a.n > 0);
	assert_string_equal(a.v[a.n - 3], "sh");
	assert_non_null(strstr(a.v[a.n - 1], "echo none > /sys/block/vda/queue/scheduler"));
	assert_non_null(strstr(a.v[a.n - 1], "--mode randwrite --bs 4k --iodepth 32 --runtime 2"));

	argv_reset(&a);
	s->qemu(&c, &m, &p, &a);
	assert_true(a.n > 0);
	for (int i = 0; i < a.n; i++) {
		strcat(all, a.v[i]);
		strcat(all, " ");
	}
	assert_string_equal(a.v[0], "qemu-system-x86_64");
	assert_non_null(strstr(all, "-accel kvm -M q35 -cpu host -m 512M -smp 1 "));
	assert_non_null(strstr(all, "-kernel /boot/vmlinuz-x -initrd /b/initramfs.cpio.gz "));
	assert_non_null(
	    strstr(all, "file=/r/disk.img,if=none,id=d0,format=raw,cache=none,aio=io_uring"));
	assert_non_null(strstr(all, "-object iothread,id=io0 "));
	assert_non_null(strstr(all, "virtio-blk-pci,drive=d0,num-queues=1,iothread=io0"));
	assert_non_null(strstr(all, " kvmlab.cmd="));

	/* a knob QEMU has no equivalent for here: no QEMU command */
	assert_int_equal(bench_matrix_add(&m, "ioeventfd=off", err, sizeof(err)), 0);
	argv_reset(&a);
	s->qemu(&c, &m, &p, &a);
	assert_int_equal(a.n, 0);
}

static void test_argv_overflow(void **state)
{
	struct bench_argv a = {.n = 0};
	char big[9000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	bench_argv_add(&a, "one");
	assert_int_equal(a.n, 1);
	bench_argv_add(&a, big); /* does not fit the store */
	assert_int_equal(a.n, -1);
	bench_argv_add(&a, "two"); /* sticky */
	assert_int_equal(a.n, -1);
	argv_reset(&a);
	for (int i = 0; i < BENCH_ARGV_MAX + 5; i++)
		bench_argv_add(&a, "x");
	assert_int_equal(a.n, -1);
}

/* ---- memory ---- */

static const char mem_err[] =
    "kvmlab: boot  4907.720 ms  marker 2\n"
    "kvmlab: thread vcpu0 tid=12 cpus=0-1 cpu=0.25s guest=4.00s\n"
    "kvmlab: memory region 0: gpa=0x0 size=2048 MiB backing=memfd page=2048 KiB "
    "prealloc=on (812.5 ms) thp=default merge=off rss=2048 MiB anon_huge=0 MiB "
    "hugepages=1024\n"
    "kvmlab: memory region 1: gpa=0x100000000 size=1024 MiB backing=memfd page=2048 KiB "
    "prealloc=on (400.0 ms) thp=default merge=off rss=1024 MiB anon_huge=0 MiB "
    "hugepages=512\n";

static const char mem_out[] =
    "guest says hi\r\n"
    "{\"tool\":\"kvmlab-guest mem\",\"bytes\":268435456,"
    "\"first_touch_ms\":120.500,\"second_pass_ms\":30.250,"
    "\"first_touch_mbps\":2227.6,\"second_pass_mbps\":8874.0,\"sum\":7}\r\n";

static void test_memory_parse(void **state)
{
	const struct bench_suite *s = bench_suite_find("memory");
	struct bench_ctx c = {.seconds = 1};
	struct bench_results res;
	struct bench_row row = {.system = "kvmlab", .suite = "memory"};
	struct bench_run r = {.out = mem_out, .err = mem_err, .status = 0, .wall_s = 6};
	double v = 0;

	(void)state;
	assert_non_null(s);
	assert_true(bench_parse_prealloc_ms(mem_err) == 1212.5);
	assert_true(bench_parse_prealloc_ms("kvmlab: boot 1 ms  marker 2\n") == -1);
	r.ru.ru_minflt = 4321;
	bench_results_init(&res, "v", "k", false);
	assert_true(s->parse(&c, &r, &row, &res) > 0);
	assert_int_equal(count_metric(&res, "first_touch_ms", &v), 1);
	assert_true(v == 120.5);
	assert_int_equal(count_metric(&res, "second_pass_ms", &v), 1);
	assert_true(v == 30.25);
	assert_int_equal(count_metric(&res, "host_minor_faults", &v), 1);
	assert_true(v == 4321);
	assert_int_equal(count_metric(&res, "prealloc_ms", &v), 1);
	assert_true(v == 1212.5);
	assert_int_equal(count_metric(&res, "guest_rss_mib", &v), 1);
	assert_true(v == 3072);
	assert_int_equal(count_metric(&res, "hugepages", &v), 1);
	assert_true(v == 1536);
	assert_int_equal(count_metric(&res, "guest_init_ms", &v), 1);
	assert_true(v == 4907.72);
	bench_results_free(&res);

	/* QEMU: the guest's figures and the host's faults, nothing of --stats */
	snprintf(row.system, sizeof(row.system), "qemu");
	r.err = "";
	r.status = 1;
	bench_results_init(&res, "v", "k", false);
	assert_true(s->parse(&c, &r, &row, &res) > 0);
	assert_int_equal(count_metric(&res, "first_touch_ms", &v), 1);
	assert_int_equal(count_metric(&res, "prealloc_ms", &v), 0);
	bench_results_free(&res);

	/* no JSON line, or one without the times, or a failed run: refused */
	snprintf(row.system, sizeof(row.system), "kvmlab");
	r.err = mem_err;
	r.status = 0;
	r.out = "nothing\n";
	bench_results_init(&res, "v", "k", false);
	assert_int_equal(s->parse(&c, &r, &row, &res), -EINVAL);
	r.out = "{\"tool\":\"kvmlab-guest mem\",\"bytes\":1}\n";
	assert_int_equal(s->parse(&c, &r, &row, &res), -EINVAL);
	r.out = mem_out;
	r.status = 1;
	assert_int_equal(s->parse(&c, &r, &row, &res), -EINVAL);
	bench_results_free(&res);
}

/* Join a's words with spaces into buf. */
static const char *joined(const struct bench_argv *a, char *buf, size_t n)
{
	buf[0] = '\0';
	for (int i = 0; i < a->n; i++) {
		strncat(buf, a->v[i], n - strlen(buf) - 1);
		strncat(buf, " ", n - strlen(buf) - 1);
	}
	return buf;
}

static void test_memory_commands(void **state)
{
	const struct bench_suite *s = bench_suite_find("memory");
	struct bench_ctx c = {.seconds = 1};
	struct bench_matrix m;
	struct bench_point p;
	struct bench_argv a = {.n = 0};
	char err[256], all[8192];

	(void)state;
	snprintf(c.kernel, sizeof(c.kernel), "/boot/vmlinuz-x");
	snprintf(c.initrd, sizeof(c.initrd), "/b/initramfs.cpio.gz");
	bench_matrix_init(&m);
	assert_int_equal(bench_matrix_add(&m, "memory.size=1G", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "memory.backend=memfd,anon", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "memory.hugepage-size=2M", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "memory.prealloc=on", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_point(&m, 0, &p), 0);

	/* the guest touches half of RAM */
	s->workload(&c, &m, &p, &a);
	assert_true(a.n > 0);
	assert_string_equal(a.v[a.n - 1], "kvmlab-guest mem 512M");

	argv_reset(&a);
	s->qemu(&c, &m, &p, &a);
	joined(&a, all, sizeof(all));
	assert_non_null(strstr(all, "-m 1G "));
	assert_non_null(strstr(all,
			       "-object memory-backend-memfd,id=m0,hugetlb=on,"
			       "hugetlbsize=2M,size=1G,prealloc=on -machine memory-backend=m0 "));

	/* anon with a fixed page size: no QEMU equivalent */
	assert_int_equal(bench_matrix_point(&m, 1, &p), 0);
	argv_reset(&a);
	s->qemu(&c, &m, &p, &a);
	assert_int_equal(a.n, 0);

	/* anon, thp=on (QEMU's default), merge: memory-backend-ram */
	bench_matrix_init(&m);
	assert_int_equal(bench_matrix_add(&m, "memory.thp=on,off", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "memory.merge=on", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_point(&m, 0, &p), 0);
	argv_reset(&a);
	s->qemu(&c, &m, &p, &a);
	joined(&a, all, sizeof(all));
	assert_non_null(strstr(all, "-object memory-backend-ram,id=m0,size=512M,merge=on "));
	argv_reset(&a);
	s->workload(&c, &m, &p, &a);
	assert_string_equal(a.v[a.n - 1], "kvmlab-guest mem 256M");
	/* thp=off: none */
	assert_int_equal(bench_matrix_point(&m, 1, &p), 0);
	argv_reset(&a);
	s->qemu(&c, &m, &p, &a);
	assert_int_equal(a.n, 0);

	/* hugetlbfs on a given path */
	bench_matrix_init(&m);
	assert_int_equal(bench_matrix_add(&m, "memory.backend=hugetlbfs", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "memory.path=/mnt/huge1g", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_point(&m, 0, &p), 0);
	argv_reset(&a);
	s->qemu(&c, &m, &p, &a);
	joined(&a, all, sizeof(all));
	assert_non_null(
	    strstr(all, "-object memory-backend-file,id=m0,mem-path=/mnt/huge1g,size=512M "));

	/* NUMA: host-nodes and policy carry over */
	bench_matrix_init(&m);
	assert_int_equal(bench_matrix_add(&m, "memory.host-nodes=1", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "memory.policy=bind", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_point(&m, 0, &p), 0);
	argv_reset(&a);
	s->qemu(&c, &m, &p, &a);
	joined(&a, all, sizeof(all));
	assert_non_null(
	    strstr(all, "-object memory-backend-ram,id=m0,size=512M,host-nodes=1,policy=bind "));
}

/* ---- exits ---- */

static void test_exits_parse(void **state)
{
	static const char out[] = "exits: pio 20000\r\nexits: mmio 20000\r\n"
				  "exits: kick 20000\r\nexits: rr 2000\r\n"
				  "exits: irq 2000\r\ninterrupts taken: 1998 of 2000\r\n";
	static const char err[] =
	    "kvmlab: stopwatch: 20000 exits in 800.000 ms: 40.00 us per exit\n"
	    "kvmlab: stopwatch: 20000 exits in 1000.000 ms: 50.00 us per exit\n"
	    "kvmlab: stopwatch: 0 exits in 300.000 ms: 0.00 us per exit\n"
	    "kvmlab: stopwatch: 0 exits in 200.000 ms: 0.00 us per exit\n"
	    "kvmlab: stopwatch: 4000 exits in 500.000 ms: 125.00 us per exit\n"
	    "kvmlab: thread vcpu0 tid=12 cpus=0-1 cpu=4.25s guest=4.00s\n";
	const struct bench_suite *s = bench_suite_find("exits");
	struct bench_ctx c = {.seconds = 1};
	struct bench_results res;
	struct bench_row row = {.system = "kvmlab", .suite = "exits"};
	struct bench_run r = {.out = out, .err = err, .status = 0, .wall_s = 3};
	struct bench_argv a = {.n = 0};
	struct bench_matrix m;
	struct bench_point p;
	char e[128], all[2048];
	double v = 0;

	(void)state;
	bench_results_init(&res, "v", "k", false);
	assert_true(s->parse(&c, &r, &row, &res) > 0);
	assert_int_equal(count_metric(&res, "pio_exit_us", &v), 1);
	assert_true(v == 40);
	assert_int_equal(count_metric(&res, "mmio_exit_us", &v), 1);
	assert_true(v == 50);
	assert_int_equal(count_metric(&res, "kick_us", &v), 1);
	assert_true(v == 15);
	assert_int_equal(count_metric(&res, "kick_userspace_exits", &v), 1);
	assert_true(v == 0);
	assert_int_equal(count_metric(&res, "rng_round_trip_us", &v), 1);
	assert_true(v == 100);
	assert_int_equal(count_metric(&res, "rng_irq_round_trip_us", &v), 1);
	assert_true(v == 250);
	assert_int_equal(count_metric(&res, "irq_userspace_exits", &v), 1);
	assert_true(v == 2);
	assert_int_equal(count_metric(&res, "irq_missed", &v), 1);
	assert_true(v == 2);
	bench_results_free(&res);

	/* a bracket missing, an unknown mode, a failed run: refused */
	bench_results_init(&res, "v", "k", false);
	r.out = "exits: pio 20000\nexits: mmio 20000\nexits: kick 20000\nexits: rr 2000\n";
	assert_int_equal(s->parse(&c, &r, &row, &res), -EINVAL);
	r.out = "exits: doing 20000 port-I/O exits\n";
	assert_int_equal(s->parse(&c, &r, &row, &res), -EINVAL);
	r.out = out;
	r.status = 3;
	assert_int_equal(s->parse(&c, &r, &row, &res), -EINVAL);
	bench_results_free(&res);

	/* the guest gets "all N" and a virtio-rng that takes ioeventfd= */
	bench_matrix_init(&m);
	assert_int_equal(bench_matrix_add(&m, "ioeventfd=off", e, sizeof(e)), 0);
	assert_int_equal(bench_matrix_point(&m, 0, &p), 0);
	s->workload(&c, &m, &p, &a);
	assert_string_equal(a.v[a.n - 1], "all 20000");
	a.n = bench_point_options(&m, &p, s->opts, s->nopts, a.v, BENCH_ARGV_MAX, a.store,
				  sizeof(a.store), e, sizeof(e));
	assert_true(a.n > 0);
	joined(&a, all, sizeof(all));
	assert_string_equal(all, "--rng ioeventfd=off ");
}

static const char net_out[] =
    "[    2.0] virtio_net virtio1 eth0: renamed\n"
    "{\"tool\":\"kvmlab-guest net\",\"mode\":\"stream\",\"direction\":\"send\","
    "\"streams\":1,\"bytes\":100000000,\"seconds\":2.000,\"gbps\":0.400,\"mbps\":400.0}\r\n"
    "{\"tool\":\"kvmlab-guest net\",\"mode\":\"stream\",\"direction\":\"recv\","
    "\"streams\":1,\"bytes\":150000000,\"seconds\":2.000,\"gbps\":0.600,\"mbps\":600.0}\n"
    "{\"tool\":\"kvmlab-guest net\",\"mode\":\"rr\",\"size\":1,\"transactions\":2000,"
    "\"seconds\":2.000,\"tps\":1000.0,\"lat_us\":{\"p50\":900.00,\"p99\":1500.00,"
    "\"p999\":2000.00}}\n";

static void test_net_parse(void **state)
{
	const struct bench_suite *s = bench_suite_find("net");
	struct bench_ctx c = {0};
	struct bench_results res;
	struct bench_row row = {.system = "kvmlab", .suite = "net"};
	char out[sizeof(net_out)];
	struct bench_run r = {.out = out, .err = boot_err, .status = 0, .wall_s = 9};
	double v = 0;

	(void)state;
	assert_non_null(s);
	memcpy(out, net_out, sizeof(out));
	bench_results_init(&res, "v", "k", false);
	/* tx, rx, rr x 3, wall, vmm cpu, rss overhead, cpu/GB, exits/MB */
	assert_int_equal(s->parse(&c, &r, &row, &res), 10);
	assert_int_equal(count_metric(&res, "tx_mbps", &v), 1);
	assert_true(v == 400);
	assert_int_equal(count_metric(&res, "rx_mbps", &v), 1);
	assert_true(v == 600);
	assert_int_equal(count_metric(&res, "rr_p99_us", &v), 1);
	assert_true(v == 1500);
	assert_int_equal(count_metric(&res, "rr_tps", &v), 1);
	assert_true(v == 1000);
	/* 0.75 s of VMM CPU over 0.25 GB; 1500 exits over 250 MB */
	assert_int_equal(count_metric(&res, "vmm_cpu_s_per_gb", &v), 1);
	assert_true(v > 2.999 && v < 3.001);
	assert_int_equal(count_metric(&res, "exits_per_mb", &v), 1);
	assert_true(v > 5.999 && v < 6.001);
	bench_results_free(&res);

	/* QEMU: the guest's figures and wall time only */
	row = (struct bench_row){.system = "qemu", .suite = "net"};
	r.status = 1;
	assert_int_equal(s->parse(&c, &r, &row, &res), 6);
	bench_results_free(&res);

	/* the rr line missing, or a failed guest: the run does not count */
	row = (struct bench_row){.system = "kvmlab", .suite = "net"};
	r.status = 0;
	*strstr(out, "{\"tool\":\"kvmlab-guest net\",\"mode\":\"rr\"") = '\0';
	assert_int_equal(s->parse(&c, &r, &row, &res), -EINVAL);
	bench_results_free(&res);
	memcpy(out, net_out, sizeof(out));
	r.status = 4;
	assert_int_equal(s->parse(&c, &r, &row, &res), -EINVAL);
	bench_results_free(&res);
	/* a stream that moved nothing is not a figure */
	memcpy(out, net_out, sizeof(out));
	r.status = 0;
	memcpy(strstr(out, "\"mbps\":600.0"), "\"mbps\":000.0", 13);
	assert_int_equal(s->parse(&c, &r, &row, &res), -EINVAL);
	bench_results_free(&res);
}

static void test_net_commands(void **state)
{
	const struct bench_suite *s = bench_suite_find("net");
	struct bench_ctx c = {.seconds = 2};
	struct bench_matrix m;
	struct bench_point p;
	struct bench_argv a = {.n = 0};
	char err[256], all[8192], tap[16];

	(void)state;
	snprintf(c.kernel, sizeof(c.kernel), "/boot/vmlinuz-x");
	snprintf(c.initrd, sizeof(c.initrd), "/b/initramfs.cpio.gz");
	assert_string_equal(bench_net_tap(NULL, tap, sizeof(tap)), "kvb-q1");
	assert_string_equal(bench_net_tap("4", tap, sizeof(tap)), "kvb-q4");

	bench_matrix_init(&m);
	assert_int_equal(bench_matrix_add(&m, "net.queues=1,2", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "net.vhost=on", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "net.offloads=off", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_point(&m, 1, &p), 0); /* queues=2 */

	/* the guest: its address in the 2-queue tap's subnet, 2 streams */
	s->workload(&c, &m, &p, &a);
	assert_string_equal(a.v[a.n - 3], "sh");
	assert_non_null(strstr(a.v[a.n - 1], "ip addr add 10.78.2.2/24 dev eth0"));
	assert_non_null(strstr(a.v[a.n - 1], "--to 10.78.2.1 --port 5201 --direction send "
					     "--streams 2 --seconds 2"));
	assert_non_null(strstr(a.v[a.n - 1], "--direction recv --streams 2"));
	assert_non_null(strstr(a.v[a.n - 1], "net rr --to 10.78.2.1"));

	argv_reset(&a);
	s->qemu(&c, &m, &p, &a);
	assert_true(a.n > 0);
	joined(&a, all, sizeof(all));
	assert_non_null(strstr(
	    all, "-netdev tap,id=n0,ifname=kvb-q2,script=no,downscript=no,vhost=on,queues=2 "));
	assert_non_null(strstr(all, "-device virtio-net-pci,netdev=n0,mq=on,vectors=6,csum=off,"));
	assert_non_null(strstr(all, "host_tso4=off"));
	assert_non_null(strstr(all, " kvmlab.cmd="));

	/* one queue: no mq, the 1-queue tap; offloads on: nothing turned off */
	bench_matrix_init(&m);
	assert_int_equal(bench_matrix_add(&m, "net.queues=1", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_point(&m, 0, &p), 0);
	argv_reset(&a);
	s->qemu(&c, &m, &p, &a);
	joined(&a, all, sizeof(all));
	assert_non_null(strstr(all, "ifname=kvb-q1,script=no,downscript=no,vhost=off "));
	assert_non_null(strstr(all, "-device virtio-net-pci,netdev=n0 "));
	assert_null(strstr(all, "mq=on"));
	assert_null(strstr(all, "csum=off"));

	/* kvmlab's net IO threads have no QEMU equivalent */
	assert_int_equal(bench_matrix_add(&m, "net.iothreads=2", err, sizeof(err)), 0);
	argv_reset(&a);
	s->qemu(&c, &m, &p, &a);
	assert_int_equal(a.n, 0);

	/* kvmlab's --net: the point's keys after nothing fixed (bench.c puts
	 * tap= in front), ioeventfd= too */
	assert_int_equal(bench_matrix_add(&m, "ioeventfd=off", err, sizeof(err)), 0);
	a.n = bench_point_options(&m, &p, s->opts, s->nopts, a.v, BENCH_ARGV_MAX, a.store,
				  sizeof(a.store), err, sizeof(err));
	assert_true(a.n > 0);
	joined(&a, all, sizeof(all));
	assert_string_equal(all, "--net queues=1,iothreads=2,ioeventfd=off ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parsers),	    cmocka_unit_test(test_boot_parse),
	    cmocka_unit_test(test_blk_parse),	    cmocka_unit_test(test_commands),
	    cmocka_unit_test(test_argv_overflow),   cmocka_unit_test(test_memory_parse),
	    cmocka_unit_test(test_memory_commands), cmocka_unit_test(test_exits_parse),
	    cmocka_unit_test(test_net_parse),	    cmocka_unit_test(test_net_commands),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
