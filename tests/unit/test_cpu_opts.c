/* --cpus option: accepted forms, defaults, every refusal, the affinity
 * check against a fake set of allowed CPUs, and CPU list printing. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/cpu_opts.h"
#include "vmm/cpulist.h"

static struct cpu_opts o;

static void ok(const char *s)
{
	char err[256];

	if (cpu_opts_parse(s, &o, err, sizeof(err)))
		fail_msg("'%s' refused: %s", s, err);
}

static void refuse(const char *s, const char *needle)
{
	char err[256];

	assert_int_equal(cpu_opts_parse(s, &o, err, sizeof(err)), -EINVAL);
	if (!strstr(err, "--cpus"))
		fail_msg("'%s': message '%s' does not name --cpus", s, err);
	if (!strstr(err, needle))
		fail_msg("'%s': message '%s' does not name '%s'", s, err, needle);
	assert_null(strchr(err, '\n'));
}

/* The CPU list of vCPU v, printed. */
static const char *aff(unsigned int v)
{
	static char buf[128];

	assert_true(o.affinity_set[v]);
	cpulist_format(&o.affinity[v], buf, sizeof(buf));
	return buf;
}

static void check_flat(unsigned int n)
{
	assert_int_equal(o.boot, n);
	assert_int_equal(o.sockets, 1);
	assert_int_equal(o.cores, n);
	assert_int_equal(o.threads, 1);
	assert_false(o.topology_set);
}

static void test_defaults(void **state)
{
	(void)state;
	cpu_opts_init(&o);
	check_flat(1);
	assert_false(o.halt_poll_set);
	assert_int_equal(o.naffinity, 0);
	for (unsigned int v = 0; v < CPU_OPTS_MAX_VCPUS; v++)
		assert_false(o.affinity_set[v]);
}

/* --cpus N, as before. */
static void test_plain_number(void **state)
{
	(void)state;
	ok("4");
	check_flat(4);
	assert_int_equal(o.naffinity, 0);
	assert_false(o.halt_poll_set);
	ok("1");
	check_flat(1);
	ok("254");
	check_flat(254);
}

static void test_boot(void **state)
{
	(void)state;
	ok("boot=3");
	check_flat(3);
	ok("boot=254");
	check_flat(254);
	ok("boot=2,boot=5"); /* the last one counts */
	check_flat(5);
}

static void test_affinity(void **state)
{
	(void)state;
	ok("boot=2,affinity=0@0:1@1");
	assert_int_equal(o.boot, 2);
	assert_int_equal(o.naffinity, 2);
	assert_string_equal(aff(0), "0");
	assert_string_equal(aff(1), "1");

	/* lists with ranges, ',' and ':' inside; a vCPU left out */
	ok("boot=4,affinity=0@0-1,4:2@2:5:3@7-9,12");
	assert_int_equal(o.naffinity, 3);
	assert_string_equal(aff(0), "0-1,4");
	assert_false(o.affinity_set[1]);
	assert_string_equal(aff(2), "2,5");
	assert_string_equal(aff(3), "7-9,12");

	/* entries separated by ',', keys in any order, affinity repeated */
	ok("affinity=1@3,0@2,boot=2");
	assert_string_equal(aff(0), "2");
	assert_string_equal(aff(1), "3");
	ok("boot=3,affinity=0@1,halt-poll-ns=5,affinity=2@0");
	assert_int_equal(o.naffinity, 2);
	assert_string_equal(aff(0), "1");
	assert_string_equal(aff(2), "0");
	assert_int_equal(o.halt_poll_ns, 5);

	ok("boot=254,affinity=253@1023");
	assert_string_equal(aff(253), "1023");
}

static void test_topology(void **state)
{
	(void)state;
	ok("boot=4,topology=1:2:2");
	assert_int_equal(o.boot, 4);
	assert_true(o.topology_set);
	assert_int_equal(o.sockets, 1);
	assert_int_equal(o.cores, 2);
	assert_int_equal(o.threads, 2);
	ok("topology=2:2:1,boot=4");
	assert_int_equal(o.sockets, 2);
	assert_int_equal(o.cores, 2);
	assert_int_equal(o.threads, 1);
	/* counts that are not powers of two: APIC IDs with gaps */
	ok("boot=6,topology=2:3:1");
	assert_int_equal(o.cores, 3);
	ok("boot=9,topology=1:3:3");
	/* without boot: the product */
	ok("topology=2:2:2");
	assert_int_equal(o.boot, 8);
	/* the largest that fit below APIC ID 255 */
	ok("boot=254,topology=2:127:1");
	ok("boot=254,topology=1:254:1");
	ok("boot=254,topology=254:1:1");
	ok("boot=1,topology=1:1:1");
}

static void test_halt_poll(void **state)
{
	(void)state;
	ok("boot=1,halt-poll-ns=0");
	assert_true(o.halt_poll_set);
	assert_int_equal(o.halt_poll_ns, 0);
	ok("halt-poll-ns=200000");
	assert_int_equal(o.boot, 1);
	assert_int_equal(o.halt_poll_ns, 200000);
	ok("halt-poll-ns=4294967295");
	assert_int_equal(o.halt_poll_ns, UINT_MAX);
}

static void test_everything(void **state)
{
	(void)state;
	ok("boot=4,affinity=0@0:1@0:2@1:3@1,topology=1:2:2,halt-poll-ns=50000");
	assert_int_equal(o.boot, 4);
	assert_int_equal(o.naffinity, 4);
	assert_string_equal(aff(3), "1");
	assert_int_equal(o.threads, 2);
	assert_int_equal(o.halt_poll_ns, 50000);
}

static void test_refusals(void **state)
{
	char longv[5000];
	(void)state;
	/* the value and its items */
	refuse("", "empty");
	refuse("boot=2,", "trailing");
	refuse("boot=2,fast", "fast");
	refuse("boot=2,speed=3", "unknown key 'speed'");
	memset(longv, '1', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	memcpy(longv, "boot=", 5);
	refuse(longv, "too long");
	/* N out of 1..254 */
	refuse("0", "'0' is not a number from 1 to 254");
	refuse("255", "255");
	refuse("two", "two");
	refuse("-1", "-1");
	refuse("boot=0", "boot='0'");
	refuse("boot=255", "boot='255'");
	refuse("boot=", "boot=''");
	refuse("boot=4x", "boot='4x'");
	/* affinity */
	refuse("boot=2,affinity=2@0", "affinity for vCPU 2");
	refuse("affinity=1@0", "boot=1");
	refuse("boot=2,affinity=0@0:0@1", "vCPU 0 is listed twice");
	refuse("boot=2,affinity=0@0,affinity=0@1", "vCPU 0 is listed twice");
	refuse("boot=2,affinity=0@", "vCPU 0 has an empty CPU list");
	refuse("boot=2,affinity=0@:1@1", "vCPU 0 has an empty CPU list");
	refuse("boot=2,affinity=0@x", "vCPU 0: 'x' is not a CPU list");
	refuse("boot=2,affinity=0@1-", "'1-' is not a CPU list");
	refuse("boot=2,affinity=0@3-1", "'3-1' is not a CPU list");
	refuse("boot=2,affinity=0@1024", "'1024' is not a CPU list");
	refuse("boot=2,affinity=0@0:", "'0:' is not a CPU list");
	refuse("boot=2,affinity=0@0:1@1:", "'1:' is not a CPU list");
	refuse("boot=2,affinity=", "affinity= is empty");
	refuse("boot=2,affinity=0", "'0' is not VCPU@CPULIST");
	refuse("boot=2,affinity=0-1", "affinity");
	refuse("boot=2,affinity=@1", "'' is not a vCPU number");
	refuse("boot=2,affinity=x@1", "'x' is not a vCPU number");
	refuse("boot=2,affinity=254@1", "'254' is not a vCPU number");
	/* topology */
	refuse("boot=4,topology=1:2:2:1", "topology='1:2:2:1' is not SOCKETS:CORES:THREADS");
	refuse("boot=4,topology=1:4", "topology='1:4'");
	refuse("boot=4,topology=4", "topology='4'");
	refuse("boot=4,topology=", "topology=''");
	refuse("boot=4,topology=1::4", "topology='1::4'");
	refuse("boot=4,topology=1:4:", "topology='1:4:'");
	refuse("boot=4,topology=a:b:c", "topology='a:b:c'");
	refuse("boot=4,topology=0:4:1", "a count of 0");
	refuse("boot=4,topology=1:0:4", "a count of 0");
	refuse("boot=4,topology=4:1:0", "a count of 0");
	refuse("boot=4,topology=1:2:3", "topology=1:2:3 makes 6 vCPUs, not boot=4");
	refuse("topology=1:2:3,boot=4", "makes 6 vCPUs, not boot=4");
	refuse("topology=2:127:2", "more than 254");
	refuse("boot=4,topology=1:255:1", "'255' is not a number from 1 to 254");
	refuse("boot=4,topology=99999999999999999999:1:1", "topology=");
	/* socket 2 of 65 cores starts at APIC ID 2 << 7 */
	refuse("boot=195,topology=3:65:1", "needs APIC IDs up to 320, above 254");
	refuse("boot=125,topology=5:5:5", "needs APIC IDs up to 292");
	refuse("topology=2:128:1,boot=256", "boot='256'");
	refuse("boot=252,topology=3:84:1", "needs APIC IDs up to 339");
	/* halt-poll-ns */
	refuse("halt-poll-ns=", "halt-poll-ns=''");
	refuse("halt-poll-ns=fast", "halt-poll-ns='fast'");
	refuse("halt-poll-ns=-1", "halt-poll-ns='-1'");
	refuse("halt-poll-ns=4294967296", "halt-poll-ns='4294967296'");
}

/* The affinity check, with made-up sets of CPUs kvmlab may run on. */
static void test_check_affinity(void **state)
{
	cpu_set_t allowed;
	char err[256];
	(void)state;
	CPU_ZERO(&allowed);
	CPU_SET(0, &allowed);
	CPU_SET(1, &allowed);

	ok("boot=2,affinity=0@0:1@1");
	assert_int_equal(cpu_opts_check_affinity(&o, &allowed, err, sizeof(err)), 0);
	ok("boot=2,affinity=1@0-1");
	assert_int_equal(cpu_opts_check_affinity(&o, &allowed, err, sizeof(err)), 0);
	ok("boot=3");
	assert_int_equal(cpu_opts_check_affinity(&o, &allowed, err, sizeof(err)), 0);

	ok("boot=2,affinity=0@0:1@1-3,5");
	assert_int_equal(cpu_opts_check_affinity(&o, &allowed, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--cpus: affinity: vCPU 1: CPU 2-3,5 is not one kvmlab may run "
				 "on (0-1)");

	/* a process pinned to CPUs 4-7 */
	CPU_ZERO(&allowed);
	for (int c = 4; c < 8; c++)
		CPU_SET(c, &allowed);
	ok("boot=4,affinity=3@4-7");
	assert_int_equal(cpu_opts_check_affinity(&o, &allowed, err, sizeof(err)), 0);
	ok("boot=4,affinity=2@7-8");
	assert_int_equal(cpu_opts_check_affinity(&o, &allowed, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "vCPU 2: CPU 8 "));
	assert_non_null(strstr(err, "(4-7)"));
	assert_null(strchr(err, '\n'));
}

static void test_cpulist_format(void **state)
{
	cpu_set_t s;
	char buf[64];
	(void)state;
	CPU_ZERO(&s);
	assert_int_equal(cpulist_format(&s, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	CPU_SET(0, &s);
	assert_int_equal(cpulist_format(&s, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "0");
	CPU_SET(1, &s);
	CPU_SET(2, &s);
	CPU_SET(5, &s);
	CPU_SET(7, &s);
	CPU_SET(8, &s);
	CPU_SET(CPU_SETSIZE - 1, &s);
	assert_int_equal(cpulist_format(&s, buf, sizeof(buf)), 14);
	assert_string_equal(buf, "0-2,5,7-8,1023");
	/* too small: truncated, the needed length returned */
	assert_int_equal(cpulist_format(&s, buf, 6), 14);
	assert_string_equal(buf, "0-2,5");
	assert_int_equal(cpulist_format(&s, NULL, 0), 14);
	/* round trip */
	assert_int_equal(cpulist_parse("0-2,5,7-8,1023", &s), 0);
	cpulist_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "0-2,5,7-8,1023");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),	   cmocka_unit_test(test_plain_number),
	    cmocka_unit_test(test_boot),	   cmocka_unit_test(test_affinity),
	    cmocka_unit_test(test_topology),	   cmocka_unit_test(test_halt_poll),
	    cmocka_unit_test(test_everything),	   cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_check_affinity), cmocka_unit_test(test_cpulist_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
