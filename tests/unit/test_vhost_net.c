/* vhost-net wrappers without a vhost device: the refusals a user sees. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/vhost_net.h"

static void test_missing_device(void **state)
{
	struct vhost_net v;
	char err[256] = "";

	(void)state;
	assert_int_equal(vhost_net_open(&v, "/nonexistent/vhost-net", err, sizeof(err)), -ENOENT);
	assert_int_equal(v.fd, -1);
	assert_string_equal(err, "vhost=on: /nonexistent/vhost-net: No such file or directory "
				 "(load the vhost_net module)");
	vhost_net_close(&v); /* safe when closed */
}

static void test_not_a_vhost_device(void **state)
{
	struct vhost_net v;
	char err[256] = "";
	int r;

	(void)state;
	/* /dev/null opens but knows no VHOST_SET_OWNER */
	r = vhost_net_open(&v, "/dev/null", err, sizeof(err));
	assert_true(r == -ENOTTY || r == -EINVAL);
	assert_int_equal(v.fd, -1);
	assert_non_null(strstr(err, "vhost=on: /dev/null: "));
}

static void test_features_subset(void **state)
{
	struct vhost_net v = {.fd = -1, .features = 1ull << 32};

	(void)state;
	/* bits the kernel did not offer are refused before any ioctl */
	assert_int_equal(vhost_net_set_features(&v, (1ull << 32) | (1ull << 29)), -EOPNOTSUPP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_missing_device),
	    cmocka_unit_test(test_not_a_vhost_device),
	    cmocka_unit_test(test_features_subset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
