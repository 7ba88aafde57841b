/* mem_layout: RAM split around the [3G, 4G) hole, alignment, overflow. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mem/layout.h"

#define K4 0x1000ull
#define M2 (2ull << 20)
#define G1 (1ull << 30)

static void expect(uint64_t size, uint64_t ps, int n, uint64_t lo, uint64_t hi)
{
	struct mem_layout_region r[MEM_LAYOUT_MAX];

	memset(r, 0xff, sizeof(r));
	assert_int_equal(mem_layout(size, ps, r), n);
	assert_int_equal(r[0].gpa, 0);
	assert_int_equal(r[0].size, lo);
	if (n == 2) {
		assert_int_equal(r[1].gpa, 4 * G1);
		assert_int_equal(r[1].size, hi);
	}
}

static void test_below_hole(void **state)
{
	(void)state;
	expect(2 * M2, K4, 1, 2 * M2, 0);
	expect(512ull << 20, K4, 1, 512ull << 20, 0);
	expect(3 * G1 - K4, K4, 1, 3 * G1 - K4, 0);
	/* exactly 3G: fills low RAM, nothing above the hole */
	expect(3 * G1, K4, 1, 3 * G1, 0);
	expect(3 * G1, M2, 1, 3 * G1, 0);
	expect(3 * G1, G1, 1, 3 * G1, 0);
}

static void test_above_hole(void **state)
{
	(void)state;
	expect(3 * G1 + K4, K4, 2, 3 * G1, K4);
	expect(5 * G1, K4, 2, 3 * G1, 2 * G1);
	expect(3 * G1 + M2, M2, 2, 3 * G1, M2);
	expect(5 * G1, M2, 2, 3 * G1, 2 * G1);
	expect(4 * G1, G1, 2, 3 * G1, G1);
	expect(64 * G1, G1, 2, 3 * G1, 61 * G1);
}

static void test_refusals(void **state)
{
	struct mem_layout_region r[MEM_LAYOUT_MAX];
	(void)state;
	assert_int_equal(mem_layout(0, K4, r), -EINVAL);
	assert_int_equal(mem_layout(M2, 0, r), -EINVAL);
	assert_int_equal(mem_layout(M2, 3 * K4, r), -EINVAL);
	/* size not a multiple of the page size, on either side of the hole */
	assert_int_equal(mem_layout(M2 + 1, K4, r), -EINVAL);
	assert_int_equal(mem_layout(3 * G1 + K4, M2, r), -EINVAL);
	assert_int_equal(mem_layout(M2 + K4, M2, r), -EINVAL);
	assert_int_equal(mem_layout(3 * G1 + M2, G1, r), -EINVAL);
	/* a page larger than the low region's alignment */
	assert_int_equal(mem_layout(4 * G1 * 2, 4 * G1, r), -EINVAL);
	/* the high region must end at or below 2^64 - 1 */
	assert_int_equal(mem_layout(UINT64_MAX - K4 + 1, K4, r), -EOVERFLOW);
	assert_int_equal(mem_layout(UINT64_MAX - G1 + 1, K4, r), -EOVERFLOW);
	assert_int_equal(mem_layout(UINT64_MAX - G1 + 1 - K4, K4, r), 2);
	assert_int_equal(r[1].gpa + (r[1].size - 1), UINT64_MAX - K4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_below_hole),
	    cmocka_unit_test(test_above_hole),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
