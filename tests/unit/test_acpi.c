/* ACPI tables: reached from the RSDP like an OS does, every checksum, the
 * FADT fields Linux needs for hardware-reduced S5, the MADT entries, the
 * exact \_S5_ AML, and argument checking. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/acpi.h"

#define GPA	 0xE0000ULL
#define CTL_PORT 0x600
#define STS_PORT 0x601

static uint8_t buf[8192];

/* Name (_S5_, Package () {5, 5, 0, 0}), as iasl encodes it. */
static const uint8_t s5_aml[] = {0x08, '_',  'S',  '5',	 '_',  0x12, 0x08,
				 0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00};

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* The table at guest address gpa inside buf (built at GPA, size n), after
 * checking it lies inside the built block with its whole length, has the
 * signature, a zero byte sum, and our OEM id. */
static const uint8_t *table_at(uint64_t gpa, size_t n, const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	assert_true(gpa >= GPA && gpa + 36 <= GPA + n);
	t = buf + (gpa - GPA);
	assert_memory_equal(t, sig, 4);
	len = get32(t + 4);
	assert_true(len >= 36 && gpa + len <= GPA + n);
	assert_int_equal(sum(t, len), 0);
	assert_memory_equal(t + 10, "KVMLAB", 6);
	assert_memory_equal(t + 16, "KVMLABVM", 8);
	return t;
}

static struct acpi_config config(unsigned ncpus)
{
	return (struct acpi_config){
	    .ncpus = ncpus,
	    .ioapic_addr = 0xFEC00000,
	    .ioapic_id = (uint8_t)ncpus,
	    .sleep_ctl_port = CTL_PORT,
	    .sleep_sts_port = STS_PORT,
	};
}

static void check_gas_io8(const uint8_t *g, uint16_t port)
{
	assert_int_equal(g[0], 1); /* system I/O */
	assert_int_equal(g[1], 8); /* bit width */
	assert_int_equal(g[2], 0); /* bit offset */
	assert_int_equal(g[3], 1); /* byte access */
	assert_int_equal(get64(g + 4), port);
}

static void check_fadt(const uint8_t *f, size_t n)
{
	const uint8_t *d;
	uint16_t boot_arch = get16(f + 109);
	uint32_t flags = get32(f + 112);

	assert_int_equal(get32(f + 4), 276);
	assert_int_equal(f[8], 6);	     /* revision */
	assert_int_equal(f[131], 5);	     /* minor version: FADT 6.5 */
	assert_true(flags & (1u << 20));     /* HW_REDUCED_ACPI */
	assert_true(flags & (1u << 10));     /* RESET_REG_SUP */
	assert_int_equal(get32(f + 36), 0);  /* no FACS */
	assert_int_equal(get64(f + 132), 0); /* no X_FACS */
	assert_int_equal(get16(f + 46), 0);  /* no SCI */
	assert_int_equal(get32(f + 64), 0);  /* no PM1a control block */
	/* DSDT and X_DSDT name the same table */
	assert_int_equal(get64(f + 140), get32(f + 40));
	d = table_at(get32(f + 40), n, "DSDT");
	assert_int_equal(get32(d + 4), 36 + sizeof(s5_aml) + 52);
	assert_int_equal(d[8], 2); /* 64-bit AML integers */
	assert_memory_equal(d + 36, s5_aml, sizeof(s5_aml));
	/* then Scope (\_SB) { Device (COM1) { _HID PNP0501, _CRS IO 0x3F8/8, IRQ 4 } } */
	assert_memory_equal(d + 36 + sizeof(s5_aml),
			    "\x10\x33\\_SB_\x5b\x82\x2b"
			    "COM1",
			    14);
	assert_memory_equal(d + 36 + sizeof(s5_aml) + 14, "\x08_HID\x0c\x41\xd0\x05\x01", 10);
	assert_memory_equal(d + 36 + sizeof(s5_aml) + 39,
			    "\x47\x01\xf8\x03\xf8\x03\x01\x08\x22\x10\x00\x79\x00", 13);
	/* sleep control/status: 8-bit system I/O at the configured ports */
	check_gas_io8(f + 244, CTL_PORT);
	check_gas_io8(f + 256, STS_PORT);
	/* reset register: 0xFE to the i8042 command port */
	check_gas_io8(f + 116, 0x64);
	assert_int_equal(f[128], 0xFE);
	/* IA-PC boot arch: 8042 present, no VGA, MSIs usable */
	assert_true(boot_arch & (1u << 1));
	assert_true(boot_arch & (1u << 2));
	assert_false(boot_arch & (1u << 3));
	assert_memory_equal(f + 268, "KVMLAB  ", 8);
}

static void check_madt(const uint8_t *m, unsigned ncpus)
{
	const uint8_t *p = m + 44, *end = m + get32(m + 4);
	unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;

	assert_int_equal(get32(m + 4), 44 + 8 * ncpus + 12 + 10 + 6);
	assert_int_equal(get32(m + 36), 0xFEE00000);
	assert_int_equal(get32(m + 40), 1); /* PCAT_COMPAT */
	while (p < end) {
		assert_true(p + 2 <= end && p[1] >= 2 && p + p[1] <= end);
		switch (p[0]) {
		case 0:
			assert_int_equal(p[1], 8);
			assert_int_equal(p[2], lapics);	   /* processor UID */
			assert_int_equal(p[3], lapics);	   /* APIC ID */
			assert_int_equal(get32(p + 4), 1); /* enabled */
			lapics++;
			break;
		case 1:
			assert_int_equal(p[1], 12);
			assert_int_equal(p[2], ncpus); /* I/O APIC id */
			assert_int_equal(get32(p + 4), 0xFEC00000);
			assert_int_equal(get32(p + 8), 0); /* GSI base */
			ioapics++;
			break;
		case 2:
			assert_int_equal(p[1], 10);
			assert_int_equal(p[2], 0);	   /* ISA */
			assert_int_equal(p[3], 0);	   /* IRQ 0 */
			assert_int_equal(get32(p + 4), 2); /* -> GSI 2 */
			assert_int_equal(get16(p + 8), 5); /* edge, active high */
			isos++;
			break;
		case 4:
			assert_int_equal(p[1], 6);
			assert_int_equal(p[2], 0xFF);	   /* all processors */
			assert_int_equal(get16(p + 3), 5); /* edge, active high */
			assert_int_equal(p[5], 1);	   /* LINT1 */
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", p[0]);
		}
		p += p[1];
	}
	assert_ptr_equal(p, end);
	assert_int_equal(lapics, ncpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 1);
	assert_int_equal(nmis, 1);
}

static void check_tables(unsigned ncpus)
{
	struct acpi_config cfg = config(ncpus);
	const uint8_t *rsdp = buf, *xsdt, *rsdt;
	size_t n = acpi_size(ncpus);
	uint64_t rsdp_gpa = 0;

	assert_true(n > 0 && n <= ACPI_MAX_BYTES && n < sizeof(buf));
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, &cfg, &rsdp_gpa), (int)n);
	assert_int_equal(buf[n], 0xee); /* nothing written past the end */
	assert_int_equal(rsdp_gpa, GPA);

	/* RSDP: ACPI 1.0 checksum over 20 bytes, extended over all 36 */
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(rsdp[15], 2);
	assert_int_equal(get32(rsdp + 20), 36);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(sum(rsdp, 36), 0);
	assert_memory_equal(rsdp + 9, "KVMLAB", 6);

	/* XSDT and RSDT: FADT then MADT */
	xsdt = table_at(get64(rsdp + 24), n, "XSDT");
	assert_int_equal(get32(xsdt + 4), 36 + 2 * 8);
	assert_int_equal(xsdt[8], 1);
	rsdt = table_at(get32(rsdp + 16), n, "RSDT");
	assert_int_equal(get32(rsdt + 4), 36 + 2 * 4);
	assert_int_equal(get64(xsdt + 36), get32(rsdt + 36));
	assert_int_equal(get64(xsdt + 44), get32(rsdt + 40));
	check_fadt(table_at(get64(xsdt + 36), n, "FACP"), n);
	check_madt(table_at(get64(xsdt + 44), n, "APIC"), ncpus);
}

static void test_1cpu(void **state)
{
	(void)state;
	check_tables(1);
}

static void test_2cpus(void **state)
{
	(void)state;
	check_tables(2);
}

static void test_4cpus(void **state)
{
	(void)state;
	check_tables(4);
}

static void test_64cpus(void **state)
{
	(void)state;
	check_tables(64);
}

static void test_max_cpus(void **state)
{
	(void)state;
	check_tables(ACPI_MAX_CPUS);
	assert_int_equal(ACPI_MAX_CPUS, 254);
}

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(acpi_size(0), 0);
	assert_int_equal(acpi_size(255), 0);
	assert_int_equal(acpi_size(2) - acpi_size(1), 8); /* one local APIC entry per CPU */
	assert_true(acpi_size(ACPI_MAX_CPUS) <= ACPI_MAX_BYTES);
}

static void test_too_small(void **state)
{
	struct acpi_config cfg = config(4);
	size_t n = acpi_size(4);
	uint64_t rsdp_gpa = 123;

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(acpi_build(buf, n - 1, GPA, &cfg, &rsdp_gpa), -ENOSPC);
	assert_int_equal(acpi_build(buf, 0, GPA, &cfg, &rsdp_gpa), -ENOSPC);
	assert_int_equal(buf[0], 0xee); /* untouched on failure */
	assert_int_equal(rsdp_gpa, 123);
	assert_int_equal(acpi_build(buf, n, GPA, &cfg, NULL), (int)n); /* exact fit */
}

static void test_bad_config(void **state)
{
	struct acpi_config cfg;
	uint64_t rsdp_gpa;

	(void)state;
	cfg = config(0);
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, &cfg, &rsdp_gpa), -EINVAL);
	cfg = config(255);
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, &cfg, &rsdp_gpa), -EINVAL);
	cfg = config(1000);
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, &cfg, &rsdp_gpa), -EINVAL);
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, NULL, &rsdp_gpa), -EINVAL);
	/* I/O APIC id: not a CPU's, not the broadcast id */
	cfg = config(4);
	cfg.ioapic_id = 3;
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, &cfg, &rsdp_gpa), -EINVAL);
	cfg.ioapic_id = 0xFF;
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, &cfg, &rsdp_gpa), -EINVAL);
	cfg.ioapic_id = 8;
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, &cfg, &rsdp_gpa), (int)acpi_size(4));
	/* 32-bit I/O APIC address, nonzero ports */
	cfg = config(4);
	cfg.ioapic_addr = 0x100000000ULL;
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, &cfg, &rsdp_gpa), -EINVAL);
	cfg = config(4);
	cfg.sleep_ctl_port = 0;
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, &cfg, &rsdp_gpa), -EINVAL);
	cfg = config(4);
	cfg.sleep_sts_port = 0;
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, &cfg, &rsdp_gpa), -EINVAL);
	/* RSDP alignment, 32-bit table addresses, no wrap */
	cfg = config(4);
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA + 8, &cfg, &rsdp_gpa), -EINVAL);
	assert_int_equal(acpi_build(buf, sizeof(buf), 0x100000000ULL - 0x100, &cfg, &rsdp_gpa),
			 -EINVAL);
	assert_int_equal(acpi_build(buf, sizeof(buf), UINT64_MAX - 15, &cfg, &rsdp_gpa), -EINVAL);
	assert_int_equal(acpi_build(buf, sizeof(buf), 0x100000000ULL - acpi_size(4) / 16 * 16 - 16,
				    &cfg, &rsdp_gpa),
			 (int)acpi_size(4));
	/* -EINVAL wins over -ENOSPC */
	cfg = config(0);
	assert_int_equal(acpi_build(buf, 1, GPA, &cfg, &rsdp_gpa), -EINVAL);
}

static void test_other_gpa_and_ports(void **state)
{
	struct acpi_config cfg = config(2);
	const uint8_t *f;
	uint64_t rsdp_gpa = 0, gpa = 0x7fff0000;

	(void)state;
	cfg.sleep_ctl_port = 0x3c0;
	cfg.sleep_sts_port = 0x3c0; /* one port for both is allowed */
	cfg.ioapic_addr = 0xFEC01000;
	assert_int_equal(acpi_build(buf, sizeof(buf), gpa, &cfg, &rsdp_gpa), (int)acpi_size(2));
	assert_int_equal(rsdp_gpa, gpa);
	/* every pointer is relative to the new address */
	assert_true(get64(buf + 24) > gpa && get64(buf + 24) < gpa + acpi_size(2));
	f = buf + (get64(buf + (get64(buf + 24) - gpa) + 36) - gpa);
	assert_memory_equal(f, "FACP", 4);
	assert_int_equal(get64(f + 244 + 4), 0x3c0);
	assert_int_equal(get64(f + 256 + 4), 0x3c0);
	assert_true(get32(f + 40) > gpa && get32(f + 40) < gpa + acpi_size(2));
}

static void test_sleep_value(void **state)
{
	(void)state;
	/* (SLP_TYP 5 << 2) | SLP_EN, what Linux writes for S5 */
	assert_int_equal(ACPI_S5_POWEROFF_VALUE, 0x34);
	assert_true(acpi_sleep_ctl_is_poweroff(0x34));
	assert_true(acpi_sleep_ctl_is_poweroff(0x34 | 0x80 | 0x03)); /* other bits ignored */
	assert_false(acpi_sleep_ctl_is_poweroff(0x14));		     /* SLP_EN clear */
	assert_false(acpi_sleep_ctl_is_poweroff(0x20));		     /* S0 */
	assert_false(acpi_sleep_ctl_is_poweroff(0x20 | (3 << 2)));   /* S3 */
	assert_false(acpi_sleep_ctl_is_poweroff(0x20 | (7 << 2)));
	assert_false(acpi_sleep_ctl_is_poweroff(0x80)); /* the WAK_STS clear */
	assert_false(acpi_sleep_ctl_is_poweroff(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_1cpu),
	    cmocka_unit_test(test_2cpus),
	    cmocka_unit_test(test_4cpus),
	    cmocka_unit_test(test_64cpus),
	    cmocka_unit_test(test_max_cpus),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_too_small),
	    cmocka_unit_test(test_bad_config),
	    cmocka_unit_test(test_other_gpa_and_ports),
	    cmocka_unit_test(test_sleep_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
