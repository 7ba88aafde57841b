/* bus: registration refusals and dispatch, including unclaimed accesses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/bus.h"

struct rec {
	uint64_t last_off;
	uint32_t last_len;
	uint8_t last_byte;
	int reads, writes;
};

static void rec_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct rec *r = opaque;
	r->reads++;
	r->last_off = off;
	r->last_len = len;
	memset(data, 0xab, len);
}

static void rec_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct rec *r = opaque;
	r->writes++;
	r->last_off = off;
	r->last_len = len;
	r->last_byte = data[0];
}

static const struct bus_ops rec_ops = {.name = "rec", .read = rec_read, .write = rec_write};
static const struct bus_ops no_write_ops = {.name = "bad", .read = rec_read};

static void test_register_refusals(void **state)
{
	struct bus b;
	struct rec r = {0};
	(void)state;
	assert_int_equal(bus_init(&b, "pio"), 0);
	assert_int_equal(bus_register(&b, 0x100, 0, &rec_ops, &r), -EINVAL);
	assert_int_equal(bus_register(&b, UINT64_MAX, 2, &rec_ops, &r), -EINVAL);
	assert_int_equal(bus_register(&b, UINT64_MAX, 1, &rec_ops, &r), 0);
	assert_int_equal(bus_register(&b, 0x100, 8, NULL, &r), -EINVAL);
	assert_int_equal(bus_register(&b, 0x100, 8, &no_write_ops, &r), -EINVAL);
	assert_int_equal(bus_register(&b, 0x100, 8, &rec_ops, &r), 0);
	/* overlaps: inside, straddling either end, covering */
	assert_int_equal(bus_register(&b, 0x104, 1, &rec_ops, &r), -EEXIST);
	assert_int_equal(bus_register(&b, 0x0f8, 9, &rec_ops, &r), -EEXIST);
	assert_int_equal(bus_register(&b, 0x107, 4, &rec_ops, &r), -EEXIST);
	assert_int_equal(bus_register(&b, 0x0f0, 0x100, &rec_ops, &r), -EEXIST);
	/* adjacency on both sides is allowed */
	assert_int_equal(bus_register(&b, 0x0f8, 8, &rec_ops, &r), 0);
	assert_int_equal(bus_register(&b, 0x108, 8, &rec_ops, &r), 0);
	assert_int_equal(b.nr, 4);
	assert_int_equal(bus_unregister(&b, 0x108), 0);
	assert_int_equal(bus_unregister(&b, 0x108), -ENOENT);
	assert_int_equal(bus_register(&b, 0x108, 8, &rec_ops, &r), 0);
	bus_destroy(&b);
}

static void test_dispatch(void **state)
{
	struct bus b;
	struct rec r1 = {0}, r2 = {0};
	uint8_t d[4] = {0x11, 0, 0, 0};
	struct bus_result res;
	(void)state;
	bus_init(&b, "mmio");
	assert_int_equal(bus_register(&b, 0x1000, 0x10, &rec_ops, &r1), 0);
	assert_int_equal(bus_register(&b, 0x1010, 0x10, &rec_ops, &r2), 0);

	res = bus_write(&b, 0x1014, d, 2);
	assert_true(res.claimed);
	assert_string_equal(res.device, "rec");
	assert_int_equal(r2.writes, 1);
	assert_int_equal(r2.last_off, 4);
	assert_int_equal(r2.last_len, 2);
	assert_int_equal(r2.last_byte, 0x11);
	assert_int_equal(r1.writes, 0);

	/* last byte of the first range */
	res = bus_read(&b, 0x100f, d, 1);
	assert_true(res.claimed);
	assert_int_equal(r1.reads, 1);
	assert_int_equal(r1.last_off, 0xf);
	assert_int_equal(d[0], 0xab);

	/* an access straddling two ranges is claimed by neither */
	memset(d, 0, sizeof(d));
	res = bus_read(&b, 0x100e, d, 4);
	assert_false(res.claimed);
	assert_null(res.device);
	assert_memory_equal(d, "\xff\xff\xff\xff", 4);
	assert_int_equal(r1.reads, 1);
	assert_int_equal(r2.reads, 0);

	/* unclaimed: read all ones, write dropped */
	memset(d, 0, sizeof(d));
	res = bus_read(&b, 0x2000, d, 4);
	assert_false(res.claimed);
	assert_memory_equal(d, "\xff\xff\xff\xff", 4);
	res = bus_write(&b, 0xfff, d, 1);
	assert_false(res.claimed);
	assert_int_equal(r1.writes + r2.writes, 1);
	bus_destroy(&b);
}

static void test_top_of_space(void **state)
{
	struct bus b;
	struct rec r = {0};
	uint8_t d[8];
	(void)state;
	bus_init(&b, "mmio");
	assert_int_equal(bus_register(&b, UINT64_MAX - 7, 8, &rec_ops, &r), 0);
	assert_true(bus_read(&b, UINT64_MAX - 7, d, 8).claimed);
	assert_true(bus_read(&b, UINT64_MAX, d, 1).claimed);
	assert_false(bus_read(&b, UINT64_MAX, d, 2).claimed);
	bus_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_register_refusals),
	    cmocka_unit_test(test_dispatch),
	    cmocka_unit_test(test_top_of_space),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
