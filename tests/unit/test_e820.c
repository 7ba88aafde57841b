/* e820 map construction. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "boot/e820.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static void check(const struct e820_entry_kvmlab *e, uint64_t addr, uint64_t size, uint32_t type)
{
	assert_int_equal(e->addr, addr);
	assert_int_equal(e->size, size);
	assert_int_equal(e->type, type);
}

static void test_low_only(void **state)
{
	struct e820_entry_kvmlab t[8];
	(void)state;
	assert_int_equal(e820_build(t, 8, 128 * MIB, 0), 3);
	check(&t[0], 0, 0x9FC00, E820_TYPE_RAM);
	check(&t[1], 0x9FC00, 0x100000 - 0x9FC00, E820_TYPE_RESERVED);
	check(&t[2], 0x100000, 127 * MIB, E820_TYPE_RAM);
}

static void test_high(void **state)
{
	struct e820_entry_kvmlab t[8];
	(void)state;
	assert_int_equal(e820_build(t, 8, 3 * GIB, 2 * GIB), 4);
	check(&t[2], MIB, 3 * GIB - MIB, E820_TYPE_RAM);
	check(&t[3], 4 * GIB, 2 * GIB, E820_TYPE_RAM);
	assert_int_equal(e820_build(t, 8, 4 * GIB, 1), 4);
	check(&t[3], 4 * GIB, 1, E820_TYPE_RAM);
}

static void test_exactly_1m(void **state)
{
	struct e820_entry_kvmlab t[8];
	(void)state;
	assert_int_equal(e820_build(t, 8, MIB, 0), 2);
	check(&t[1], 0x9FC00, 0x60400, E820_TYPE_RESERVED);
}

static void test_refusals(void **state)
{
	struct e820_entry_kvmlab t[8];
	(void)state;
	assert_int_equal(e820_build(t, 2, 128 * MIB, 0), -ENOSPC);
	assert_int_equal(e820_build(t, 3, 128 * MIB, 0), 3);
	assert_int_equal(e820_build(t, 3, 128 * MIB, MIB), -ENOSPC);
	assert_int_equal(e820_build(t, 0, 128 * MIB, 0), -ENOSPC);
	assert_int_equal(e820_build(t, 8, MIB - 1, 0), -EINVAL);
	assert_int_equal(e820_build(t, 8, 4 * GIB + 1, 0), -EINVAL);
	assert_int_equal(e820_build(t, 8, 128 * MIB, UINT64_MAX - 4 * GIB + 1), -EINVAL);
	assert_int_equal(e820_build(t, 8, 128 * MIB, UINT64_MAX - 4 * GIB), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_low_only),
	    cmocka_unit_test(test_high),
	    cmocka_unit_test(test_exactly_1m),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
