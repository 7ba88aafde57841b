/* --disk option and CPU lists: accepted forms, defaults, every refusal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/cpulist.h"
#include "vmm/disk_opts.h"

static struct disk_opts d;

static void ok(const char *s)
{
	char err[256];

	if (disk_opts_parse(s, &d, err, sizeof(err)))
		fail_msg("'%s' refused: %s", s, err);
}

static void refuse(const char *s, const char *needle)
{
	char err[256];

	assert_int_equal(disk_opts_parse(s, &d, err, sizeof(err)), -EINVAL);
	if (!strstr(err, "--disk"))
		fail_msg("'%s': message '%s' does not name --disk", s, err);
	if (!strstr(err, needle))
		fail_msg("'%s': message '%s' does not name '%s'", s, err, needle);
	assert_null(strchr(err, '\n'));
}

static void test_defaults(void **state)
{
	(void)state;
	ok("path=/img");
	assert_string_equal(d.path, "/img");
	assert_false(d.readonly);
	assert_int_equal(d.cache, BLK_CACHE_WRITEBACK);
	assert_int_equal(d.engine, DISK_ENGINE_SYNC);
	assert_int_equal(d.queues, 0);
	assert_int_equal(d.queue_size, DISK_DEFAULT_QUEUE_SIZE);
	assert_int_equal(d.iothreads, 1);
	assert_false(d.affinity_set);
	assert_true(d.discard);
	assert_true(d.ioeventfd);
	assert_true(d.irqfd);
	assert_string_equal(d.serial, "");
}

static void test_every_key(void **state)
{
	(void)state;
	ok("path=/a/b.img,readonly=on,cache=none,engine=io_uring,queues=4,queue-size=128,"
	   "iothreads=2,iothread-affinity=1-2,5,serial=SN-42,discard=off,ioeventfd=off,irqfd=off");
	assert_string_equal(d.path, "/a/b.img");
	assert_true(d.readonly);
	assert_int_equal(d.cache, BLK_CACHE_NONE);
	assert_int_equal(d.engine, DISK_ENGINE_IO_URING);
	assert_int_equal(d.queues, 4);
	assert_int_equal(d.queue_size, 128);
	assert_int_equal(d.iothreads, 2);
	assert_true(d.affinity_set);
	assert_int_equal(CPU_COUNT(&d.affinity), 3);
	assert_true(CPU_ISSET(1, &d.affinity) && CPU_ISSET(2, &d.affinity) &&
		    CPU_ISSET(5, &d.affinity));
	assert_string_equal(d.serial, "SN-42");
	assert_false(d.discard);
	assert_false(d.ioeventfd);
	assert_false(d.irqfd);
}

static void test_cache_modes(void **state)
{
	static const struct {
		const char *s;
		enum blk_cache c;
	} t[] = {{"none", BLK_CACHE_NONE},
		 {"writeback", BLK_CACHE_WRITEBACK},
		 {"writethrough", BLK_CACHE_WRITETHROUGH},
		 {"directsync", BLK_CACHE_DIRECTSYNC},
		 {"unsafe", BLK_CACHE_UNSAFE}};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(buf, sizeof(buf), "path=x,cache=%s", t[i].s);
		ok(buf);
		assert_int_equal(d.cache, t[i].c);
	}
}

static void test_refusals(void **state)
{
	(void)state;
	refuse("", "empty");
	refuse("cache=none", "path=IMAGE is required");
	refuse("path=", "path= is empty");
	refuse("path=x,cache=fast", "cache='fast'");
	refuse("path=x,engine=aio", "engine='aio'");
	refuse("path=x,readonly=yes", "readonly='yes'");
	refuse("path=x,queues=0", "queues='0'");
	refuse("path=x,queues=65", "queues='65'");
	refuse("path=x,queue-size=100", "queue-size=100 is not a power of two");
	refuse("path=x,queue-size=2048", "queue-size='2048'");
	refuse("path=x,queue-size=1", "queue-size='1'");
	refuse("path=x,queues=2,iothreads=3", "iothreads=3 is more than queues=2");
	refuse("path=x,iothread-affinity=a", "iothread-affinity='a'");
	refuse("path=x,iothread-affinity=3-1", "iothread-affinity='3-1'");
	refuse("path=x,serial=123456789012345678901", "longer than 20");
	refuse("path=x,serial=a b", "printable ASCII");
	refuse("path=x,bogus=1", "unknown key 'bogus'");
	refuse("path=x,cache", "'cache' is not KEY=VALUE");
	refuse("path=x,", "trailing ','");
}

static void test_cpulist(void **state)
{
	cpu_set_t s;

	(void)state;
	assert_int_equal(cpulist_parse("0", &s), 0);
	assert_int_equal(CPU_COUNT(&s), 1);
	assert_int_equal(cpulist_parse("0-3:8,10", &s), 0);
	assert_int_equal(CPU_COUNT(&s), 6);
	assert_true(CPU_ISSET(8, &s) && CPU_ISSET(10, &s) && !CPU_ISSET(9, &s));
	assert_int_equal(cpulist_parse("", &s), -EINVAL);
	assert_int_equal(cpulist_parse("1,", &s), -EINVAL);
	assert_int_equal(cpulist_parse("5-2", &s), -ERANGE);
	assert_int_equal(cpulist_parse("1024", &s), -ERANGE);
	assert_int_equal(cpulist_parse(NULL, &s), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),	cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_cache_modes), cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_cpulist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
