/* MP table: checksums, pointer, entry counts and contents. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/apic_ids.h"
#include "boot/mptable.h"

#define GPA 0x9FC00

static uint8_t buf[8192];

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

struct counts {
	unsigned cpu, bsp, bus, ioapic, intsrc, lintsrc;
	int pin_of_irq[16];
};

/* The table for ncpus CPUs with APIC IDs ids (NULL: 0..ncpus-1) and I/O
 * APIC ID ioapic. */
static void check_ids(const uint8_t *ids, unsigned ncpus, uint8_t ioapic)
{
	const uint8_t *cfg = buf + 16, *p, *end;
	struct counts c = {0};
	size_t n = mptable_size(ncpus);

	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(mptable_build(buf, sizeof(buf), GPA, ids, ncpus, ioapic), (int)n);
	assert_int_equal(n, 16 + 44 + 20 * ncpus + 8 * (2 + 15 + 2));
	assert_int_equal(buf[n], 0xee);

	/* floating pointer */
	assert_memory_equal(buf, "_MP_", 4);
	assert_int_equal(get32(buf + 4), GPA + 16);
	assert_int_equal(buf[8], 1);
	assert_int_equal(buf[9], 4);
	assert_int_equal(sum(buf, 16), 0);
	for (int i = 11; i < 16; i++)
		assert_int_equal(buf[i], 0); /* features: config table present, no IMCR */

	/* configuration table */
	assert_memory_equal(cfg, "PCMP", 4);
	assert_int_equal(get16(cfg + 4), n - 16);
	assert_int_equal(sum(cfg, get16(cfg + 4)), 0);
	assert_int_equal(get16(cfg + 34), ncpus + 2 + 15 + 2);
	assert_int_equal(get32(cfg + 36), 0xFEE00000);
	assert_int_equal(get16(cfg + 40), 0); /* no extended table */
	assert_int_equal(cfg[42], 0);
	assert_int_equal(cfg[43], 0);

	for (int i = 0; i < 16; i++)
		c.pin_of_irq[i] = -1;
	p = cfg + 44;
	end = cfg + get16(cfg + 4);
	for (unsigned i = 0; i < get16(cfg + 34); i++) {
		assert_true(p < end);
		switch (p[0]) {
		case 0:
			assert_int_equal(p[1], ids ? ids[c.cpu] : c.cpu);
			assert_true(p[3] & 1);
			if (p[3] & 2) {
				c.bsp++;
				assert_int_equal(p[1], 0);
			}
			c.cpu++;
			p += 20;
			continue;
		case 1:
			assert_memory_equal(p + 2, "ISA   ", 6);
			c.bus++;
			break;
		case 2:
			assert_int_equal(p[1], ioapic);
			assert_int_equal(p[2], 0x11);
			assert_int_equal(p[3], 1);
			assert_int_equal(get32(p + 4), 0xFEC00000);
			c.ioapic++;
			break;
		case 3:
			assert_int_equal(p[6], ioapic); /* to our I/O APIC */
			assert_true(p[5] < 16);
			assert_int_equal(c.pin_of_irq[p[5]], -1);
			c.pin_of_irq[p[5]] = p[7];
			c.intsrc++;
			break;
		case 4:
			if (p[1] == 3) { /* ExtINT -> BSP LINT0 */
				assert_int_equal(p[6], 0);
				assert_int_equal(p[7], 0);
			} else { /* NMI -> all LINT1 */
				assert_int_equal(p[1], 1);
				assert_int_equal(p[6], 0xff);
				assert_int_equal(p[7], 1);
			}
			c.lintsrc++;
			break;
		default:
			fail_msg("unknown entry type %u", p[0]);
		}
		p += 8;
	}
	assert_ptr_equal(p, end);
	assert_int_equal(c.cpu, ncpus);
	assert_int_equal(c.bsp, 1);
	assert_int_equal(c.bus, 1);
	assert_int_equal(c.ioapic, 1);
	assert_int_equal(c.intsrc, 15);
	assert_int_equal(c.lintsrc, 2);
	assert_int_equal(c.pin_of_irq[0], 2);
	assert_int_equal(c.pin_of_irq[2], -1);
	assert_int_equal(c.pin_of_irq[1], 1);
	assert_int_equal(c.pin_of_irq[15], 15);
}

/* APIC IDs 0..ncpus-1, the I/O APIC's ncpus (what the loader picks). */
static void check_table(unsigned ncpus)
{
	assert_int_equal(apic_ids_pick_ioapic(NULL, ncpus), (int)ncpus);
	check_ids(NULL, ncpus, (uint8_t)ncpus);
}

static void test_1cpu(void **state)
{
	(void)state;
	check_table(1);
}

static void test_2cpus(void **state)
{
	(void)state;
	check_table(2);
}

static void test_4cpus(void **state)
{
	(void)state;
	check_table(4);
}

static void test_254cpus(void **state)
{
	(void)state;
	check_table(254);
}

/* Topologies whose APIC IDs have gaps. */
static void test_gaps(void **state)
{
	static const uint8_t s2c3[] = {0, 1, 2, 4, 5, 6};	    /* 2 sockets x 3 cores */
	static const uint8_t c3t3[] = {0, 1, 2, 4, 5, 6, 8, 9, 10}; /* 3 cores x 3 threads */
	uint8_t wide[254];
	(void)state;
	assert_int_equal(apic_ids_pick_ioapic(s2c3, 6), 7);
	check_ids(s2c3, 6, 7);
	check_ids(s2c3, 6, 3); /* any free ID will do */
	assert_int_equal(apic_ids_pick_ioapic(c3t3, 9), 11);
	check_ids(c3t3, 9, 11);
	/* 2 sockets x 127 cores: IDs 0-126 and 128-254; 127 is left */
	for (unsigned i = 0; i < 254; i++)
		wide[i] = (uint8_t)(i < 127 ? i : i + 1);
	assert_int_equal(apic_ids_pick_ioapic(wide, 254), 127);
	check_ids(wide, 254, 127);
}

/* IDs that cannot be told apart, the broadcast ID, a taken I/O APIC ID. */
static void test_bad_ids(void **state)
{
	static const uint8_t dup[] = {0, 2, 2}, bcast[] = {0, 0xff}, ok[] = {0, 1, 2, 4};
	uint8_t all[255];
	(void)state;
	assert_int_equal(mptable_build(buf, sizeof(buf), GPA, dup, 3, 7), -EINVAL);
	assert_int_equal(mptable_build(buf, sizeof(buf), GPA, bcast, 2, 7), -EINVAL);
	assert_int_equal(mptable_build(buf, sizeof(buf), GPA, ok, 4, 4), -EINVAL);
	assert_int_equal(mptable_build(buf, sizeof(buf), GPA, ok, 4, 0xff), -EINVAL);
	assert_int_equal(mptable_build(buf, sizeof(buf), GPA, NULL, 4, 3), -EINVAL);
	assert_int_equal(mptable_build(buf, sizeof(buf), GPA, NULL, 4, 4), (int)mptable_size(4));
	assert_int_equal(apic_ids_pick_ioapic(dup, 3), -EINVAL);
	assert_int_equal(apic_ids_pick_ioapic(bcast, 2), -EINVAL);
	assert_int_equal(apic_ids_pick_ioapic(ok, 0), -EINVAL);
	for (unsigned i = 0; i < 255; i++)
		all[i] = (uint8_t)i;
	assert_int_equal(apic_ids_pick_ioapic(all, 255), -EINVAL); /* none left */
	assert_int_equal(apic_ids_pick_ioapic(NULL, 255), -EINVAL);
	assert_int_equal(apic_ids_check(all, 255, 0), -EINVAL);
	assert_int_equal(apic_ids_get(ok, 3), 4);
	assert_int_equal(apic_ids_get(NULL, 3), 3);
}

static void test_refusals(void **state)
{
	(void)state;
	assert_int_equal(mptable_size(0), 0);
	assert_int_equal(mptable_size(255), 0);
	assert_int_equal(mptable_build(buf, sizeof(buf), GPA, NULL, 0, 0), -EINVAL);
	assert_int_equal(mptable_build(buf, sizeof(buf), GPA, NULL, 255, 0), -EINVAL);
	assert_int_equal(mptable_build(buf, sizeof(buf), GPA + 4, NULL, 1, 1), -EINVAL);
	assert_int_equal(mptable_build(buf, sizeof(buf), 0xFFFFFFF0, NULL, 1, 1), -EINVAL);
	assert_int_equal(mptable_build(buf, mptable_size(2) - 1, GPA, NULL, 2, 2), -ENOSPC);
	assert_int_equal(mptable_build(buf, mptable_size(2), GPA, NULL, 2, 2),
			 (int)mptable_size(2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_1cpu),     cmocka_unit_test(test_2cpus),
	    cmocka_unit_test(test_4cpus),    cmocka_unit_test(test_254cpus),
	    cmocka_unit_test(test_gaps),     cmocka_unit_test(test_bad_ids),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
