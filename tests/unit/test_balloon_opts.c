/* --balloon parsing: defaults, every key, every refusal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/balloon_opts.h"

static void test_defaults(void **state)
{
	struct balloon_opts b;
	char err[200] = "";

	(void)state;
	balloon_opts_default(&b);
	assert_false(b.enabled);
	assert_true(b.ioeventfd && b.irqfd);
	assert_false(b.deflate_on_oom || b.stats || b.free_page_reporting);
	assert_int_equal(balloon_opts_parse("", &b, err, sizeof(err)), 0);
	assert_true(b.enabled);
	assert_false(b.deflate_on_oom || b.stats || b.free_page_reporting);
}

static void test_keys(void **state)
{
	struct balloon_opts b;
	char err[200] = "";

	(void)state;
	balloon_opts_default(&b);
	assert_int_equal(balloon_opts_parse("deflate-on-oom=on,free-page-reporting=on,stats=on,"
					    "ioeventfd=off,irqfd=off",
					    &b, err, sizeof(err)),
			 0);
	assert_true(b.enabled && b.deflate_on_oom && b.free_page_reporting && b.stats);
	assert_false(b.ioeventfd || b.irqfd);
	assert_int_equal(balloon_opts_parse("stats=off", &b, err, sizeof(err)), 0);
	assert_false(b.stats);
	assert_true(b.deflate_on_oom);
}

static void refused(const char *s, const char *want)
{
	struct balloon_opts b;
	char err[200] = "";

	balloon_opts_default(&b);
	assert_int_equal(balloon_opts_parse(s, &b, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("'%s': error '%s' lacks '%s'", s, err, want);
	assert_non_null(strstr(err, "--balloon"));
	assert_null(strchr(err, '\n'));
}

static void test_refusals(void **state)
{
	(void)state;
	refused("stats=maybe", "stats='maybe'");
	refused("size=1", "unknown key 'size'");
	refused("stats", "'stats' is not KEY=VALUE");
	refused("stats=on,", "empty item");
	refused(",stats=on", "bad item");
	refused("stats=on,,irqfd=on", "bad item");
	refused(
	    "free-page-reporting=onnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
	    "bad item");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
