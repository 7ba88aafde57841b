/* --net option: accepted forms, defaults, every refusal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/net_opts.h"

static struct net_opts n;

static void ok(const char *s)
{
	char err[256];

	if (net_opts_parse(s, &n, err, sizeof(err)))
		fail_msg("'%s' refused: %s", s, err);
}

static void refuse(const char *s, const char *needle)
{
	char err[256];

	assert_int_equal(net_opts_parse(s, &n, err, sizeof(err)), -EINVAL);
	if (!strstr(err, "--net"))
		fail_msg("'%s': message '%s' does not name --net", s, err);
	if (!strstr(err, needle))
		fail_msg("'%s': message '%s' does not name '%s'", s, err, needle);
	assert_null(strchr(err, '\n'));
}

static void test_defaults(void **state)
{
	(void)state;
	ok("tap=tap0");
	assert_string_equal(n.tap, "tap0");
	assert_false(n.mac_set);
	assert_int_equal(n.queues, 1);
	assert_int_equal(n.queue_size, NET_DEFAULT_QUEUE_SIZE);
	assert_false(n.vhost);
	assert_int_equal(n.iothreads, 1);
	assert_false(n.affinity_set);
	assert_true(n.offloads);
	assert_int_equal(n.mtu, 0);
	assert_true(n.ioeventfd && n.irqfd);
}

static void test_every_key(void **state)
{
	static const uint8_t mac[6] = {0x02, 0xab, 0x00, 0x10, 0xfe, 0x01};

	(void)state;
	ok("tap=kv1,mac=02:ab:00:10:fe:01,queues=4,queue-size=512,vhost=on,iothreads=2,"
	   "iothread-affinity=0,3,offloads=off,mtu=9000,ioeventfd=off,irqfd=off");
	assert_string_equal(n.tap, "kv1");
	assert_true(n.mac_set);
	assert_memory_equal(n.mac, mac, 6);
	assert_int_equal(n.queues, 4);
	assert_int_equal(n.queue_size, 512);
	assert_true(n.vhost);
	assert_int_equal(n.iothreads, 2);
	assert_true(n.affinity_set && CPU_ISSET(0, &n.affinity) && CPU_ISSET(3, &n.affinity));
	assert_int_equal(CPU_COUNT(&n.affinity), 2);
	assert_false(n.offloads);
	assert_int_equal(n.mtu, 9000);
	assert_false(n.ioeventfd || n.irqfd);
}

static void test_refusals(void **state)
{
	(void)state;
	refuse("", "empty");
	refuse("mtu=1500", "tap=NAME is required");
	refuse("tap=", "is not an interface name");
	refuse("tap=abcdefghijklmnop", "is not an interface name");
	refuse("tap=a/b", "is not an interface name");
	refuse("tap=t,mac=01:00:00:00:00:01", "not multicast");
	refuse("tap=t,mac=02:00:00:00:00", "mac=");
	refuse("tap=t,mac=02:00:00:00:00:0g", "mac=");
	refuse("tap=t,mac=02:00:00:00:00:011", "mac=");
	refuse("tap=t,queues=0", "queues='0'");
	refuse("tap=t,queues=9", "queues='9'");
	refuse("tap=t,queue-size=300", "not a power of two");
	refuse("tap=t,mtu=67", "mtu='67'");
	refuse("tap=t,mtu=70000", "mtu='70000'");
	refuse("tap=t,vhost=maybe", "vhost='maybe'");
	refuse("tap=t,iothreads=2", "iothreads=2 is more than queues=1");
	refuse("tap=t,iothread-affinity=x", "iothread-affinity='x'");
	refuse("tap=t,speed=10", "unknown key 'speed'");
	refuse("tap=t,", "trailing ','");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
