/* bench's multi-guest runs and the suites built on them: bench_run_guests
 * (real child processes: /bin/sh), the ksm suite's figures from its
 * samples and the balloon suite's from its summary line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/bench.h"
#include "vmm/bench_suite.h"

/* value of metric in res, or -1 */
static double fig(const struct bench_results *res, const char *metric)
{
	for (size_t i = 0; i < res->n; i++)
		if (!strcmp(res->rows[i].metric, metric))
			return res->rows[i].value;
	return -1;
}

static bool near(double a, double b)
{
	return a > b - 1e-6 && a < b + 1e-6;
}

/* Two guests: at t=0 nothing, filled by t=2, KSM grows to 1000 pages of
 * sharing by t=5 (50% at t=3, 90% at t=4), ksmd spends 150 ticks; the last
 * sample has one guest gone and does not count. */
static const char samples[] =
    "{\"t\":0.00,\"alive\":2,\"filled\":0,\"pages_shared\":0,\"pages_sharing\":100,"
    "\"merging_pages\":0,\"pss_kib\":1000,\"ksmd_ticks\":50}\n"
    "{\"t\":1.00,\"alive\":2,\"filled\":1,\"pages_shared\":0,\"pages_sharing\":100,"
    "\"merging_pages\":0,\"pss_kib\":1000,\"ksmd_ticks\":60}\n"
    "{\"t\":2.00,\"alive\":2,\"filled\":2,\"pages_shared\":0,\"pages_sharing\":100,"
    "\"merging_pages\":0,\"pss_kib\":300000,\"ksmd_ticks\":70}\n"
    "{\"t\":3.00,\"alive\":2,\"filled\":2,\"pages_shared\":200,\"pages_sharing\":600,"
    "\"merging_pages\":800,\"pss_kib\":250000,\"ksmd_ticks\":100}\n"
    "{\"t\":4.00,\"alive\":2,\"filled\":2,\"pages_shared\":300,\"pages_sharing\":1000,"
    "\"merging_pages\":1300,\"pss_kib\":210000,\"ksmd_ticks\":150}\n"
    "{\"t\":5.00,\"alive\":2,\"filled\":2,\"pages_shared\":300,\"pages_sharing\":1100,"
    "\"merging_pages\":1400,\"pss_kib\":204800,\"ksmd_ticks\":200}\n"
    "{\"t\":6.00,\"alive\":1,\"filled\":2,\"pages_shared\":0,\"pages_sharing\":100,"
    "\"merging_pages\":0,\"pss_kib\":9000,\"ksmd_ticks\":210}\n";

static void test_ksm_samples(void **state)
{
	struct bench_results res;
	struct bench_row row = {.system = "kvmlab"};
	int n;

	(void)state;
	bench_results_init(&res, "t", "k", false);
	n = bench_parse_ksm_samples(samples, 2, 4096, 100, &row, &res);
	assert_int_equal(n, 8);
	/* 1000 pages more sharing than at the start, 4 KiB each */
	assert_true(near(fig(&res, "ksm_saved_mib"), 1000 * 4096.0 / (1 << 20)));
	assert_true(near(fig(&res, "ksm_saved_mib_per_guest"), 500 * 4096.0 / (1 << 20)));
	assert_true(near(fig(&res, "ksm_merged_mib"), 1400 * 4096.0 / (1 << 20)));
	assert_true(near(fig(&res, "pss_mib_per_guest"), 100));
	assert_true(near(fig(&res, "ksm_window_s"), 3)); /* t=2 to t=5 */
	assert_true(near(fig(&res, "ksm_t50_s"), 1));	 /* 500 of 1000 at t=3 */
	assert_true(near(fig(&res, "ksm_t90_s"), 2));	 /* 900 of 1000 at t=4 */
	/* ksmd from the first sample to the last: 210 - 50 ticks at 100/s */
	assert_true(near(fig(&res, "ksmd_cpu_s"), 1.6));
	bench_results_free(&res);

	/* merge=off: nothing saved, and no times to reach */
	bench_results_init(&res, "t", "k", false);
	n = bench_parse_ksm_samples(
	    "{\"t\":0,\"alive\":1,\"filled\":1,\"pages_shared\":0,\"pages_sharing\":7,"
	    "\"merging_pages\":0,\"pss_kib\":2048,\"ksmd_ticks\":-1}\n"
	    "{\"t\":1,\"alive\":1,\"filled\":1,\"pages_shared\":0,\"pages_sharing\":7,"
	    "\"merging_pages\":0,\"pss_kib\":2048,\"ksmd_ticks\":-1}\n",
	    1, 4096, 100, &row, &res);
	assert_int_equal(n, 5);
	assert_true(near(fig(&res, "ksm_saved_mib"), 0));
	assert_true(fig(&res, "ksm_t50_s") == -1);
	assert_true(fig(&res, "ksmd_cpu_s") == -1);
	bench_results_free(&res);

	/* never every guest filled, one sample, or nothing: no figures */
	bench_results_init(&res, "t", "k", false);
	assert_int_equal(bench_parse_ksm_samples(samples, 3, 4096, 100, &row, &res), -EINVAL);
	assert_int_equal(bench_parse_ksm_samples("{\"t\":0,\"alive\":1,\"filled\":1,"
						 "\"pages_shared\":0,\"pages_sharing\":7,"
						 "\"merging_pages\":0,\"pss_kib\":1,"
						 "\"ksmd_ticks\":1}\n",
						 1, 4096, 100, &row, &res),
			 -EINVAL);
	assert_int_equal(bench_parse_ksm_samples(NULL, 1, 4096, 100, &row, &res), -EINVAL);
	assert_int_equal(bench_parse_ksm_samples("garbage\n{\"t\":", 1, 4096, 100, &row, &res),
			 -EINVAL);
	assert_int_equal(res.n, 0);
	bench_results_free(&res);
}

static void test_balloon_summary(void **state)
{
	struct bench_results res;
	struct bench_row row = {.system = "kvmlab"};

	(void)state;
	bench_results_init(&res, "t", "k", false);
	assert_int_equal(
	    bench_parse_balloon_summary(
		"{\"t\":1.00,\"phase\":1,\"rss_kib\":900000,\"balloon_mib\":-1}\n"
		"{\"balloon_summary\":1,\"fill_mib\":512,\"rss_filled_mib\":700.0,"
		"\"rss_freed_mib\":650.0,\"rss_inflated_mib\":200.0,\"inflate_s\":4.00,"
		"\"deflate_s\":1.00}\n",
		&row, &res),
	    8);
	assert_true(near(fig(&res, "reclaimed_mib"), 500));
	assert_true(near(fig(&res, "reported_mib"), 50));
	assert_true(near(fig(&res, "inflate_mib_per_s"), 128));
	assert_true(near(fig(&res, "deflate_s"), 1));
	bench_results_free(&res);

	/* no summary (the run gave up), or a partial one: no figures */
	bench_results_init(&res, "t", "k", false);
	assert_int_equal(bench_parse_balloon_summary("{\"t\":1.00,\"phase\":1}\n", &row, &res),
			 -EINVAL);
	assert_int_equal(
	    bench_parse_balloon_summary("{\"balloon_summary\":1,\"fill_mib\":512}\n", &row, &res),
	    -EINVAL);
	assert_int_equal(bench_parse_balloon_summary(NULL, &row, &res), -EINVAL);
	assert_int_equal(res.n, 0);
	bench_results_free(&res);
}

/* A watch that counts its calls and logs the live guests. */
static int count_watch(const struct bench_ctx *c, struct bench_watch *w)
{
	unsigned int alive = 0;

	(void)c;
	for (unsigned int i = 0; i < w->n; i++)
		alive += w->pid[i] != 0;
	w->state[0]++;
	fprintf(w->log, "{\"t\":%.2f,\"alive\":%u,\"call\":%.0f}\n", w->t, alive, w->state[0]);
	return 0;
}

static int stop_watch(const struct bench_ctx *c, struct bench_watch *w)
{
	(void)c;
	(void)w;
	return -ETIMEDOUT;
}

static int fail_before(const struct bench_ctx *c)
{
	(void)c;
	return -EBUSY;
}

static void shell(struct bench_argv *a, const char *script)
{
	a->n = 0;
	a->used = 0;
	bench_argv_add(a, "/bin/sh");
	bench_argv_add(a, "-c");
	bench_argv_add(a, script);
}

static void test_run_guests(void **state)
{
	struct bench_suite s = {.name = "t", .watch = count_watch};
	struct bench_ctx c = {.out_dir = "."};
	char dir[] = "/tmp/kvmlab-test-multi-XXXXXX", base[64], cmd[128];
	struct bench_run_text text;
	struct bench_run r;
	struct bench_argv a;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(base, sizeof(base), "%s/run", dir);

	/* three guests, each its own files; outputs joined in order; the
	 * watch sees them live, about once a second */
	shell(&a, "echo out; echo err >&2; sleep 2.5");
	assert_int_equal(bench_run_guests(&c, &s, NULL, NULL, &a, 3, false, base, &r, &text), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.guests, 3);
	assert_true(r.wall_s >= 2.4 && r.wall_s < 30);
	assert_string_equal(text.out, "out\nout\nout\n");
	assert_string_equal(text.err, "err\nerr\nerr\n");
	assert_non_null(text.samples);
	assert_true(strncmp(text.samples, "{\"t\":0.", 7) == 0); /* at the start */
	assert_non_null(strstr(text.samples, ",\"alive\":3,\"call\":1}"));
	assert_non_null(strstr(text.samples, "\"call\":2}"));
	free(text.out);
	free(text.err);
	free(text.samples);
	snprintf(base, sizeof(base), "%s/run-g3.out", dir);
	assert_int_equal(access(base, R_OK), 0);

	/* the first failed guest's status is the run's; no watch: no samples */
	s.watch = NULL;
	snprintf(base, sizeof(base), "%s/one", dir);
	shell(&a, "exit 3");
	assert_int_equal(bench_run_guests(&c, &s, NULL, NULL, &a, 1, false, base, &r, &text), 0);
	assert_int_equal(r.status, 3);
	assert_null(text.samples);
	assert_string_equal(text.out, "");
	free(text.out);
	free(text.err);

	/* a watch that gives up stops the guests: they get SIGTERM, the run
	 * fails even though a guest would have exited 0 */
	s.watch = stop_watch;
	shell(&a, "exec sleep 20");
	assert_int_equal(bench_run_guests(&c, &s, NULL, NULL, &a, 2, false, base, &r, &text), 0);
	assert_int_equal(r.status, 128 + 15);
	assert_true(r.wall_s < 15);
	free(text.out);
	free(text.err);
	free(text.samples);

	/* a suite's before hook that fails: nothing is started */
	s.before = fail_before;
	snprintf(base, sizeof(base), "%s/never", dir);
	shell(&a, "echo started");
	assert_int_equal(bench_run_guests(&c, &s, NULL, NULL, &a, 1, false, base, &r, &text),
			 -EBUSY);
	snprintf(cmd, sizeof(cmd), "%s.out", base);
	assert_int_not_equal(access(cmd, R_OK), 0); /* never opened */
	s.before = NULL;

	/* too many guests, or none */
	assert_int_equal(
	    bench_run_guests(&c, &s, NULL, NULL, &a, BENCH_GUESTS_MAX + 1, false, base, &r, &text),
	    -EINVAL);
	assert_int_equal(bench_run_guests(&c, &s, NULL, NULL, &a, 0, false, base, &r, &text),
			 -EINVAL);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* The timeline plot's data: every sample line with t and the key, per
 * point and system, from the first repeat; lines without the key are
 * passed over; a point without samples has no line. */
static void test_timeline(void **state)
{
	struct bench_suite s = {.name = "t", .timeline = "rss_mib", .timeline_unit = "MiB"};
	char dir[] = "/tmp/kvmlab-test-plot-XXXXXX", path[128], cmd[128];
	struct bench_matrix m;
	int failed = 0, drawn;
	char err[256], *dat;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/raw", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	bench_matrix_init(&m);
	assert_int_equal(bench_matrix_add(&m, "memory.size=1G,2G", err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/raw/kvmlab-p0-r1.samples", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"t\":0.00,\"phase\":0,\"rss_mib\":10.0}\n"
	      "{\"t\":1.00,\"phase\":1}\n"
	      "{\"balloon_summary\":1,\"rss_mib\":99}\n"
	      "{\"t\":2.00,\"phase\":1,\"rss_mib\":30.5}\n",
	      f);
	fclose(f);
	drawn = bench_plot_timeline(&s, &m, dir, true, &failed);
	snprintf(path, sizeof(path), "%s/raw/plot-timeline-rss_mib.gp", dir);
	dat = bench_slurp(path);
	assert_non_null(strstr(dat, "timeline-rss_mib-kvmlab-p0.dat' using 1:2 with linespoints "
				    "title \"kvmlab memory.size=1G\""));
	assert_null(strstr(dat, "-p1.dat")); /* no samples there */
	assert_null(strstr(dat, "qemu"));
	free(dat);
	snprintf(path, sizeof(path), "%s/raw/timeline-rss_mib-kvmlab-p0.dat", dir);
	dat = bench_slurp(path);
	assert_string_equal(dat, "0.000 10\n2.000 30.5\n");
	free(dat);
	/* drawn where gnuplot is installed (scripts/setup.sh installs it) */
	snprintf(path, sizeof(path), "%s/timeline-rss_mib.svg", dir);
	if (system("command -v gnuplot >/dev/null 2>&1") == 0) {
		assert_int_equal(drawn, 1);
		assert_int_equal(failed, 0);
		assert_int_equal(access(path, R_OK), 0);
	} else {
		assert_int_equal(drawn, 0);
		assert_int_equal(failed, 1);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* The fake VMM: writes the pieces with a pause between them (so that a
 * line arrives in parts), reading a request line before each piece that
 * starts with '>' (the '>' is not sent). */
static void fake_vmm(int fd, const char *const *pieces)
{
	for (const char *const *p = pieces; *p; p++) {
		struct timespec ts = {0, 30000000L};
		const char *s = *p;

		if (*s == '>') {
			char c;

			while (read(fd, &c, 1) == 1 && c != '\n')
				;
			s++;
		}
		nanosleep(&ts, NULL);
		if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
			_exit(1);
	}
	_exit(0);
}

static pid_t start_fake(int sv[2], const char *const *pieces, bool qmp, struct bench_conn *c)
{
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		fake_vmm(sv[1], pieces);
	}
	close(sv[1]);
	memset(c, 0, sizeof(*c));
	c->fd = sv[0];
	c->qmp = qmp;
	return pid;
}

static void test_conn(void **state)
{
	/* a QMP event cut in two, a reply, then two replies in one write */
	static const char *const qmp[] = {
	    "{\"timestamp\": {\"seconds\": 1}, \"ev",
	    "ent\": \"BALLOON_CHANGE\", \"data\": {\"actual\": 1}}\n{\"return\": {\"act",
	    "ual\": 536870912}}\n",
	    "{\"return\": {}}\n{\"error\": {\"class\": \"GenericError\"}}\n",
	    "{\"return\": \"0123456789\"}\n{}\n",
	    NULL};
	static const char *const kvmlab[] = {">{\"ok\":true,\"actual_mib\":256}\n",
					     ">{\"ok\":false,\"error\":\"no\"}\n", ">[1]\n", NULL};
	struct bench_conn c;
	struct json_doc doc;
	char line[256];
	double v;
	int sv[2], st;
	pid_t pid;

	(void)state;
	pid = start_fake(sv, qmp, true, &c);
	assert_int_equal(bench_conn_read_line(&c, line, sizeof(line)), 0);
	assert_string_equal(line, "{\"return\": {\"actual\": 536870912}}");
	assert_int_equal(bench_conn_read_line(&c, line, sizeof(line)), 0);
	assert_string_equal(line, "{\"return\": {}}");
	/* what came after the reply was kept */
	assert_int_equal(bench_conn_read_line(&c, line, sizeof(line)), 0);
	assert_string_equal(line, "{\"error\": {\"class\": \"GenericError\"}}");
	/* too long a line for the caller: dropped, the next one follows */
	assert_int_equal(bench_conn_read_line(&c, line, 8), -E2BIG);
	assert_int_equal(bench_conn_read_line(&c, line, sizeof(line)), 0);
	assert_string_equal(line, "{}");
	assert_int_equal(bench_conn_read_line(&c, line, sizeof(line)), -ECONNRESET);
	bench_conn_close(&c);
	assert_int_equal(waitpid(pid, &st, 0), pid);

	/* kvmlab's replies: ok:true parses, ok:false and a non-object fail */
	pid = start_fake(sv, kvmlab, false, &c);
	assert_int_equal(bench_conn_request(&c, "{\"cmd\":\"balloon\"}\n", &doc), 0);
	assert_true(bench_json_num(doc.root, "actual_mib", &v) && v == 256);
	json_doc_free(&doc);
	assert_int_equal(bench_conn_request(&c, "{\"cmd\":\"balloon\"}\n", &doc), -EIO);
	assert_int_equal(bench_conn_request(&c, "{\"cmd\":\"balloon\"}\n", &doc), -EPROTO);
	bench_conn_close(&c);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* nobody listening */
	assert_int_equal(bench_conn_open(&c, "/nonexistent/kvmlab.sock", true), -ENOENT);
	assert_int_equal(c.fd, -1);
}

static void test_hold_lines(void **state)
{
	(void)state;
	assert_int_equal(
	    bench_hold_lines("boot\n{\"tool\":\"kvmlab-guest hold\",\"bytes\":134217728,"
			     "\"fill_ms\":1.0}\r\nmore\n"),
	    1);
	/* cut short by the console: not yet */
	assert_int_equal(bench_hold_lines("{\"tool\":\"kvmlab-guest hold\",\"bytes\":13421"), 0);
	assert_int_equal(bench_hold_lines(NULL), 0);
}

static void test_proc_number(void **state)
{
	char path[] = "/tmp/kvmlab-test-proc-XXXXXX";
	int fd;
	FILE *f;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("Name:\tx\nVmRSSx:\t1 kB\nVmRSS:\t  2048 kB\nPss: 7 kB\n", f);
	fclose(f);
	assert_int_equal(bench_proc_number(path, "VmRSS"), 2048);
	assert_int_equal(bench_proc_number(path, "Pss"), 7);
	assert_int_equal(bench_proc_number(path, "Rss"), -1);
	assert_int_equal(bench_proc_number("/nonexistent/x", "VmRSS"), -1);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ksm_samples), cmocka_unit_test(test_balloon_summary),
	    cmocka_unit_test(test_run_guests),	cmocka_unit_test(test_timeline),
	    cmocka_unit_test(test_conn),	cmocka_unit_test(test_hold_lines),
	    cmocka_unit_test(test_proc_number),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
