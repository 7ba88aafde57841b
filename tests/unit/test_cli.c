/* CLI parser and size parser: accepted forms and every refusal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/cli.h"
#include "vmm/size.h"

static int parse(struct config *c, char *err, const char *const *args)
{
	static char *argv[32]; /* outlives parse(): config points into it */
	int n = 0;
	argv[n++] = "kvmlab";
	for (; args[n - 1]; n++)
		argv[n] = (char *)args[n - 1];
	argv[n] = NULL;
	return cli_parse(n, argv, c, err, 256);
}

#define PARSE(...) parse(&c, err, (const char *const[]){__VA_ARGS__, NULL})

static void test_sizes(void **state)
{
	uint64_t v;
	(void)state;
	assert_int_equal(parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("512M", &v), 0);
	assert_int_equal(v, 512ull << 20);
	assert_int_equal(parse_size("2g", &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(parse_size("2GiB", &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(parse_size("64KB", &v), 0);
	assert_int_equal(v, 64ull << 10);
	assert_int_equal(parse_size("1T", &v), 0);
	assert_int_equal(v, 1ull << 40);
	assert_int_equal(parse_size("", &v), -EINVAL);
	assert_int_equal(parse_size("M", &v), -EINVAL);
	assert_int_equal(parse_size("-1M", &v), -EINVAL);
	assert_int_equal(parse_size("1.5G", &v), -EINVAL);
	assert_int_equal(parse_size("12X", &v), -EINVAL);
	assert_int_equal(parse_size("12MM", &v), -EINVAL);
	assert_int_equal(parse_size(" 12M", &v), -EINVAL);
	assert_int_equal(parse_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(parse_size("17179869184G", &v), -ERANGE);
	assert_int_equal(parse_uint("7", 1, 8, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(parse_uint("0", 1, 8, &v), -ERANGE);
	assert_int_equal(parse_uint("9", 1, 8, &v), -ERANGE);
	assert_int_equal(parse_uint("3x", 1, 8, &v), -EINVAL);
}

static void test_run_ok(void **state)
{
	struct config c;
	char err[256];
	(void)state;
	assert_int_equal(PARSE("run", "--kernel", "k", "--memory=1G", "--cpus", "4", "--stats",
			       "--trace", "exits,boot", "--serial", "file=/tmp/x", "--cmdline",
			       "console=ttyS0", "--", "echo", "hi"),
			 CLI_RUN);
	assert_string_equal(c.kernel, "k");
	assert_int_equal(c.mem.size, 1ull << 30);
	assert_int_equal(c.cpus, 4);
	assert_true(c.stats);
	assert_true(c.trace_exits);
	assert_true(c.trace_boot);
	assert_int_equal(c.serial, SERIAL_FILE);
	assert_string_equal(c.serial_path, "/tmp/x");
	assert_string_equal(c.cmdline, "console=ttyS0");
	assert_int_equal(c.guest_argc, 2);
	assert_string_equal(c.guest_argv[0], "echo");
	/* words after -- are not options */
	assert_int_equal(PARSE("run", "--", "--memory", "x"), CLI_RUN);
	assert_int_equal(c.mem.size, CLI_DEFAULT_MEM);
	assert_int_equal(c.cpus, 1);
	assert_int_equal(c.serial, SERIAL_STDIO);
	assert_null(c.kernel);
	assert_int_equal(c.mem.backend, MEM_BACKEND_ANON);
	/* the key=value form of --memory, both spellings */
	assert_int_equal(PARSE("run", "--memory=size=2G,backend=memfd,prealloc=on"), CLI_RUN);
	assert_int_equal(c.mem.size, 2ull << 30);
	assert_int_equal(c.mem.backend, MEM_BACKEND_MEMFD);
	assert_true(c.mem.prealloc);
	assert_int_equal(PARSE("run", "--memory", "size=1G,backend=hugetlbfs"), CLI_RUN);
	assert_int_equal(c.mem.hugepage_size, 2ull << 20);
}

/* --cpus KEY=VALUE: cfg.cpus stays the vCPU count, the rest in cfg.cpu. */
static void test_cpus(void **state)
{
	struct config c;
	char err[256];
	(void)state;
	assert_int_equal(PARSE("run", "--cpus", "boot=4,topology=1:2:2,halt-poll-ns=1000"),
			 CLI_RUN);
	assert_int_equal(c.cpus, 4);
	assert_int_equal(c.cpu.boot, 4);
	assert_int_equal(c.cpu.threads, 2);
	assert_true(c.cpu.halt_poll_set);
	assert_int_equal(c.cpu.halt_poll_ns, 1000);
	assert_int_equal(PARSE("run", "--cpus=topology=2:2:1"), CLI_RUN);
	assert_int_equal(c.cpus, 4);
	assert_int_equal(PARSE("run", "--cpus", "3"), CLI_RUN);
	assert_int_equal(c.cpus, 3);
	assert_int_equal(c.cpu.cores, 3);
	assert_int_equal(c.cpu.naffinity, 0);
	/* no --cpus: one vCPU */
	assert_int_equal(PARSE("run"), CLI_RUN);
	assert_int_equal(c.cpus, 1);
	assert_int_equal(c.cpu.boot, 1);
	assert_false(c.cpu.halt_poll_set);
}

static void test_actions(void **state)
{
	struct config c;
	char err[256];
	(void)state;
	assert_int_equal(PARSE("--help"), CLI_HELP);
	assert_int_equal(PARSE("--version"), CLI_VERSION);
	assert_int_equal(PARSE("run", "--help"), CLI_RUN_HELP);
	assert_int_equal(PARSE("run", "--kernel", "k", "--help"), CLI_RUN_HELP);
}

static void test_balloon_api(void **state)
{
	struct config c;
	char err[256];
	(void)state;
	assert_int_equal(PARSE("run"), CLI_RUN);
	assert_false(c.balloon.enabled);
	assert_null(c.api_socket);
	/* bare --balloon, then the next word as its value, then the = form */
	assert_int_equal(PARSE("run", "--balloon", "--api-socket", "/tmp/s"), CLI_RUN);
	assert_true(c.balloon.enabled);
	assert_false(c.balloon.stats);
	assert_string_equal(c.api_socket, "/tmp/s");
	assert_int_equal(PARSE("run", "--balloon", "stats=on,free-page-reporting=on"), CLI_RUN);
	assert_true(c.balloon.stats && c.balloon.free_page_reporting);
	assert_false(c.balloon.deflate_on_oom);
	assert_int_equal(PARSE("run", "--balloon=deflate-on-oom=on", "--api-socket=/x"), CLI_RUN);
	assert_true(c.balloon.deflate_on_oom);
	assert_string_equal(c.api_socket, "/x");
	assert_int_equal(PARSE("run", "--balloon", "stats=maybe"), -EINVAL);
	assert_non_null(strstr(err, "--balloon: stats='maybe'"));
	assert_int_equal(PARSE("run", "--api-socket"), -EINVAL);
	assert_non_null(strstr(err, "--api-socket"));
	assert_int_equal(PARSE("run", "--api-socket="), -EINVAL);
	assert_non_null(strstr(err, "--api-socket: empty value"));
}

static void test_rng(void **state)
{
	struct config c;
	char err[256];
	(void)state;
	/* off by default; both paths on when given */
	assert_int_equal(PARSE("run"), CLI_RUN);
	assert_false(c.rng.enabled);
	assert_int_equal(PARSE("run", "--rng"), CLI_RUN);
	assert_true(c.rng.enabled);
	assert_true(c.rng.knobs.ioeventfd);
	assert_true(c.rng.knobs.irqfd);
	/* knobs as the next word */
	assert_int_equal(PARSE("run", "--rng", "ioeventfd=off,irqfd=off"), CLI_RUN);
	assert_true(c.rng.enabled);
	assert_false(c.rng.knobs.ioeventfd);
	assert_false(c.rng.knobs.irqfd);
	assert_int_equal(PARSE("run", "--rng", "ioeventfd=off"), CLI_RUN);
	assert_false(c.rng.knobs.ioeventfd);
	assert_true(c.rng.knobs.irqfd);
	/* the = form */
	assert_int_equal(PARSE("run", "--rng=irqfd=off"), CLI_RUN);
	assert_true(c.rng.enabled);
	assert_true(c.rng.knobs.ioeventfd);
	assert_false(c.rng.knobs.irqfd);
	assert_int_equal(PARSE("run", "--rng=irqfd=on,ioeventfd=on"), CLI_RUN);
	assert_true(c.rng.knobs.ioeventfd);
	assert_true(c.rng.knobs.irqfd);
	/* the last value of a key wins */
	assert_int_equal(PARSE("run", "--rng", "irqfd=off,irqfd=on"), CLI_RUN);
	assert_true(c.rng.knobs.irqfd);
	/* an option after --rng is not its value */
	assert_int_equal(PARSE("run", "--rng", "--cpus", "2"), CLI_RUN);
	assert_true(c.rng.enabled);
	assert_int_equal(c.cpus, 2);
	assert_true(c.rng.knobs.ioeventfd);
	/* nor is the command after -- */
	assert_int_equal(PARSE("run", "--rng", "--", "cat", "/dev/hwrng"), CLI_RUN);
	assert_true(c.rng.enabled);
	assert_int_equal(c.guest_argc, 2);
	assert_string_equal(c.guest_argv[0], "cat");
	assert_string_equal(c.guest_argv[1], "/dev/hwrng");
	assert_int_equal(PARSE("run", "--rng", "irqfd=off", "--", "cat"), CLI_RUN);
	assert_false(c.rng.knobs.irqfd);
	assert_int_equal(c.guest_argc, 1);
	assert_string_equal(c.guest_argv[0], "cat");
	/* last on the line */
	assert_int_equal(PARSE("run", "--kernel", "k", "--rng"), CLI_RUN);
	assert_true(c.rng.enabled);
	assert_string_equal(c.kernel, "k");
	assert_non_null(strstr(cli_run_usage, "--rng"));
}

/* Each refusal: -EINVAL and a message that names the option. */
static void refuse(const char *const *args, const char *needle)
{
	struct config c;
	char err[256];
	assert_int_equal(parse(&c, err, args), -EINVAL);
	if (!strstr(err, needle))
		fail_msg("message '%s' does not name '%s'", err, needle);
	assert_null(strchr(err, '\n'));
}

#define REFUSE(needle, ...) refuse((const char *const[]){__VA_ARGS__, NULL}, needle)

static void test_refusals(void **state)
{
	(void)state;
	refuse((const char *const[]){NULL}, "missing command");
	REFUSE("frobnicate", "frobnicate");
	REFUSE("--memory", "run", "--memory", "lots");
	REFUSE("--memory", "run", "--memory", "1K");
	REFUSE("--memory", "run", "--memory");
	REFUSE("--memory", "run", "--memory", "");
	REFUSE("thp", "run", "--memory", "size=1G,thp=maybe");
	REFUSE("size", "run", "--memory=backend=memfd");
	REFUSE("--cpus", "run", "--cpus", "0");
	REFUSE("--cpus", "run", "--cpus", "255");
	REFUSE("--cpus", "run", "--cpus=two");
	REFUSE("topology", "run", "--cpus", "boot=2,topology=1:2:2");
	REFUSE("affinity", "run", "--cpus", "boot=2,affinity=2@0");
	REFUSE("halt-poll-ns", "run", "--cpus", "halt-poll-ns=x");
	REFUSE("boot", "run", "--cpus", "boot=255");
	/* no machine here has CPU 1023 to give */
	REFUSE("kvmlab may run on", "run", "--cpus", "boot=1,affinity=0@1023");
	REFUSE("--serial", "run", "--serial", "tcp");
	REFUSE("--serial", "run", "--serial", "file=");
	REFUSE("--trace", "run", "--trace", "everything");
	REFUSE("--kernel", "run", "--kernel", "");
	REFUSE("--bogus", "run", "--bogus", "1");
	REFUSE("--bogus", "run", "--bogus=1");
	REFUSE("stray", "run", "stray");
	REFUSE("--", "run", "--");
	REFUSE("--rng", "run", "--rng", "ioeventfd=maybe");
	REFUSE("--rng", "run", "--rng", "irqfd=");
	REFUSE("--rng", "run", "--rng=irqfd=1");
	REFUSE("--rng", "run", "--rng", "speed=fast");
	REFUSE("speed", "run", "--rng", "irqfd=on,speed=fast");
	REFUSE("--rng", "run", "--rng", "ioeventfd");
	REFUSE("--rng", "run", "--rng=on");
	REFUSE("--rng", "run", "--rng", "IRQFD=off");
	REFUSE("--rngx", "run", "--rngx");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizes),    cmocka_unit_test(test_run_ok),
	    cmocka_unit_test(test_cpus),     cmocka_unit_test(test_actions),
	    cmocka_unit_test(test_refusals), cmocka_unit_test(test_rng),
	    cmocka_unit_test(test_balloon_api),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
