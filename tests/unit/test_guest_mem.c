/* guest_mem: range checks at region edges, overflow, overlaps, iovec splits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mem/guest_mem.h"

static uint8_t ram_lo[0x1000];
static uint8_t ram_hi[0x1000];

static void setup_two(struct guest_mem *gm)
{
	gm_init(gm);
	assert_int_equal(gm_region_add(gm, 0x1000, sizeof(ram_hi), ram_hi), 0);
	assert_int_equal(gm_region_add(gm, 0, sizeof(ram_lo), ram_lo), 0);
}

static void test_add_refusals(void **state)
{
	struct guest_mem gm;
	(void)state;
	gm_init(&gm);
	assert_int_equal(gm_region_add(&gm, 0, 0, ram_lo), -EINVAL);
	assert_int_equal(gm_region_add(&gm, 0, 16, NULL), -EINVAL);
	assert_int_equal(gm_region_add(&gm, UINT64_MAX - 15, 17, ram_lo), -EINVAL);
	/* a region must end below 2^64 (its end address is representable) */
	assert_int_equal(gm_region_add(&gm, UINT64_MAX - 15, 16, ram_lo), -EINVAL);
	assert_int_equal(gm_region_add(&gm, UINT64_MAX - 16, 16, ram_lo), 0);
	assert_int_equal(gm_region_add(&gm, 0x2000, 0x1000, ram_lo), 0);
	assert_int_equal(gm_region_add(&gm, 0x2fff, 1, ram_lo), -EEXIST);
	assert_int_equal(gm_region_add(&gm, 0x1001, 0x1000, ram_lo), -EEXIST);
	assert_int_equal(gm_region_add(&gm, 0x1000, 0x3000, ram_lo), -EEXIST);
	/* adjacent on both sides is fine */
	assert_int_equal(gm_region_add(&gm, 0x1000, 0x1000, ram_lo), 0);
	assert_int_equal(gm_region_add(&gm, 0x3000, 0x1000, ram_lo), 0);
	assert_int_equal(gm.nr, 4);
	assert_true(gm.regions[0].gpa < gm.regions[1].gpa);
}

static void test_ptr_edges(void **state)
{
	struct guest_mem gm;
	(void)state;
	setup_two(&gm);
	assert_ptr_equal(gm_ptr(&gm, 0, 1), ram_lo);
	/* ends exactly at the end of RAM */
	assert_ptr_equal(gm_ptr(&gm, 0x1fff, 1), ram_hi + 0xfff);
	assert_ptr_equal(gm_ptr(&gm, 0x1000, 0x1000), ram_hi);
	/* one past the end */
	assert_null(gm_ptr(&gm, 0x1fff, 2));
	assert_null(gm_ptr(&gm, 0x2000, 1));
	assert_null(gm_ptr(&gm, 0x1000, 0x1001));
	/* crossing two regions is not one pointer */
	assert_null(gm_ptr(&gm, 0xfff, 2));
	/* wrap-around */
	assert_null(gm_ptr(&gm, 0x10, UINT64_MAX));
	assert_null(gm_ptr(&gm, UINT64_MAX, 2));
	assert_int_equal(gm_end(&gm), 0x2000);
	assert_int_equal(gm_total(&gm), 0x2000);
}

static void test_iov_split(void **state)
{
	struct guest_mem gm;
	struct iovec iov[2];
	(void)state;
	setup_two(&gm);
	assert_int_equal(gm_iov(&gm, 0xff0, 0x20, iov, 2), 2);
	assert_ptr_equal(iov[0].iov_base, ram_lo + 0xff0);
	assert_int_equal(iov[0].iov_len, 0x10);
	assert_ptr_equal(iov[1].iov_base, ram_hi);
	assert_int_equal(iov[1].iov_len, 0x10);
	assert_int_equal(gm_iov(&gm, 0xff0, 0x20, iov, 1), -E2BIG);
	assert_int_equal(gm_iov(&gm, 0x1ff0, 0x11, iov, 2), -EFAULT);
	assert_int_equal(gm_iov(&gm, 0x10, UINT64_MAX - 8, iov, 2), -EFAULT);
	assert_int_equal(gm_iov(&gm, 0x10, 0, iov, 2), 0);
}

static void test_read_write(void **state)
{
	struct guest_mem gm;
	uint8_t buf[32], out[32];
	(void)state;
	setup_two(&gm);
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i + 1);
	assert_int_equal(gm_write(&gm, 0xff0, buf, sizeof(buf)), 0);
	assert_int_equal(ram_lo[0xfff], 16);
	assert_int_equal(ram_hi[0], 17);
	assert_int_equal(gm_read(&gm, 0xff0, out, sizeof(out)), 0);
	assert_memory_equal(buf, out, sizeof(buf));
	memset(ram_hi, 0, sizeof(ram_hi));
	/* a partly-outside write changes nothing */
	assert_int_equal(gm_write(&gm, 0x1ff0, buf, sizeof(buf)), -EFAULT);
	assert_int_equal(ram_hi[0xff0], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_refusals),
	    cmocka_unit_test(test_ptr_edges),
	    cmocka_unit_test(test_iov_split),
	    cmocka_unit_test(test_read_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
