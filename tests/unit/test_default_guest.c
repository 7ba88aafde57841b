/* Choosing the default guest kernel among /boot entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/default_guest.h"

static int not_rt(const char *ver, void *ctx)
{
	(void)ctx;
	return strstr(ver, "-rt-") == NULL;
}

static void test_pick(void **state)
{
	const char *names[] = {"config-6.1.0-9-amd64", "vmlinuz-6.1.0-9-amd64",
			       "vmlinuz-6.1.0-26-amd64", "vmlinuz-6.1.0-10-amd64",
			       "vmlinuz-", "initrd.img-6.1.0-30-amd64", "vmlinuz-6.1.0-27-rt-amd64"};
	(void)state;
	/* version order, not string order: 26 > 10 > 9 */
	assert_int_equal(default_guest_pick(names, 4, NULL, NULL), 2);
	/* the filter applies; "vmlinuz-" alone and other files are ignored */
	assert_int_equal(default_guest_pick(names, 7, not_rt, NULL), 2);
	assert_int_equal(default_guest_pick(names, 7, NULL, NULL), 6);
	assert_int_equal(default_guest_pick(names, 1, NULL, NULL), -1);
	assert_int_equal(default_guest_pick(names, 0, NULL, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pick),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
