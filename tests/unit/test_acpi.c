/* ACPI tables: reached from the RSDP like an OS does, every checksum, the
 * FADT fields Linux needs for hardware-reduced S5, the MADT entries, the
 * exact \_S5_ and COM1 AML, the PCI host bridge walked like an AML parser
 * would (_HID, _CRS windows, _PRT), and argument checking. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/acpi.h"
#include "boot/layout.h"

#define GPA	 0xE0000ULL
#define CTL_PORT 0x600
#define STS_PORT 0x601
#define GIB	 (1ULL << 30)

static uint8_t buf[8192];

/* Name (_S5_, Package () {5, 5, 0, 0}), as iasl encodes it. */
static const uint8_t s5_aml[] = {0x08, '_',  'S',  '5',	 '_',  0x12, 0x08,
				 0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00};

/* Device (COM1) { _HID PNP0501, _UID 0, _CRS IO 0x3F8/8, IRQNoFlags 4 },
 * from DeviceOp on (iasl's encoding). */
static const uint8_t com1_aml[] = {
    0x5B, 0x82, 0x2B, 'C',  'O',  'M',	'1',  0x08, '_',  'H',	'I',  'D',  0x0C, 0x41, 0xD0,
    0x05, 0x01, 0x08, '_',  'U',  'I',	'D',  0x00, 0x08, '_',	'C',  'R',  'S',  0x11, 0x10,
    0x0A, 0x0D, 0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00, 0x79, 0x00};

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

/* What the loader passes for a guest with 16 GiB of RAM. */
static struct acpi_config config(unsigned ncpus)
{
	return (struct acpi_config){
	    .ncpus = ncpus,
	    .ioapic_addr = 0xFEC00000,
	    .ioapic_id = (uint8_t)ncpus,
	    .sleep_ctl_port = CTL_PORT,
	    .sleep_sts_port = STS_PORT,
	    .pci = true,
	    .pci_mmio32_base = PCI_MMIO32_BASE,
	    .pci_mmio32_end = PCI_MMIO32_END,
	    .pci_mmio64_base = pci_mmio64_base(16 * GIB),
	    .pci_mmio64_end = pci_mmio64_base(16 * GIB) + PCI_MMIO64_SIZE,
	};
}

/* A minimal AML reader, written from ACPI 6.5 chapter 20 independently of
 * boot/aml.c: a cursor over [p, end) that every step bounds-checks. */
struct cur {
	const uint8_t *p, *end;
};

static uint8_t take(struct cur *c)
{
	assert_true(c->p < c->end);
	return *c->p++;
}

/* PkgLength (sec. 20.2.4): returns the bytes it covers after itself. */
static size_t take_pkglen(struct cur *c)
{
	uint8_t lead = take(c);
	unsigned follow = lead >> 6;
	uint32_t len;

	if (follow == 0) {
		assert_true(lead >= 1);
		return lead - 1u;
	}
	assert_int_equal(lead & 0x30, 0); /* reserved when bytes follow */
	len = lead & 0xF;
	for (unsigned i = 0; i < follow; i++)
		len |= (uint32_t)take(c) << (4 + 8 * i);
	assert_true(len >= 1 + follow);
	return len - 1 - follow;
}

/* The block opened by op (two bytes for ExtOpPrefix ops) at c: returns a
 * cursor over its contents after the PkgLength, and moves c past it. */
static struct cur take_block(struct cur *c, uint8_t op, uint8_t ext_op)
{
	struct cur in;
	size_t n;

	assert_int_equal(take(c), op);
	if (op == 0x5B)
		assert_int_equal(take(c), ext_op);
	n = take_pkglen(c);
	assert_true(n <= (size_t)(c->end - c->p));
	in = (struct cur){c->p, c->p + n};
	c->p += n;
	return in;
}

static void take_bytes(struct cur *c, const void *want, size_t n)
{
	assert_true(n <= (size_t)(c->end - c->p));
	assert_memory_equal(c->p, want, n);
	c->p += n;
}

/* An integer data object (sec. 20.2.3). */
static uint64_t take_int(struct cur *c)
{
	uint8_t op = take(c);
	unsigned n;
	uint64_t v = 0;

	switch (op) {
	case 0x00:
		return 0;
	case 0x01:
		return 1;
	case 0x0A:
		n = 1;
		break;
	case 0x0B:
		n = 2;
		break;
	case 0x0C:
		n = 4;
		break;
	case 0x0E:
		n = 8;
		break;
	default:
		fail_msg("not an integer: opcode 0x%02x", op);
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)take(c) << (8 * i);
	return v;
}

/* Name (seg, ...): NameOp and a one-segment name. */
static void take_name(struct cur *c, const char *seg)
{
	assert_int_equal(take(c), 0x08);
	take_bytes(c, seg, 4);
}

/* Package (n) { ... }: a cursor at its first element. */
static struct cur take_package(struct cur *c, unsigned n)
{
	struct cur in = take_block(c, 0x12, 0);

	assert_int_equal(take(&in), n); /* NumElements */
	return in;
}

/* The PCI0 _CRS template (sec. 6.4): every descriptor checked, each once. */
static void check_pci_crs(struct cur *c, const struct acpi_config *cfg)
{
	struct cur buf = take_block(c, 0x11, 0);
	uint64_t size = take_int(&buf);
	const uint8_t *r = buf.p, *end = buf.end;
	unsigned bus = 0, io = 0, wio = 0, m32 = 0, m64 = 0, endtag = 0;

	assert_int_equal(size, end - r);
	while (r < end) {
		const uint8_t *d;
		size_t len;
		unsigned tag;

		assert_int_equal(endtag, 0); /* the End Tag is last */
		if (r[0] & 0x80) {
			/* large item: tag, 16-bit length */
			assert_true(end - r >= 3);
			tag = r[0];
			len = get16(r + 1);
			d = r + 3;
		} else {
			/* small item: tag in bits 6:3, length in 2:0 */
			tag = (r[0] >> 3) & 0xF;
			len = r[0] & 7;
			d = r + 1;
		}
		assert_true(len <= (size_t)(end - d));
		switch (tag) {
		case 0x88: /* Word Address Space: bus numbers or I/O */
			assert_int_equal(len, 13);
			/* producer, MinFixed, MaxFixed; granularity and
			 * translation 0 */
			assert_int_equal(d[1], 0x0C);
			assert_int_equal(get16(d + 3), 0);
			assert_int_equal(get16(d + 9), 0);
			if (d[0] == 2) {
				assert_int_equal(get16(d + 5), 0x00);
				assert_int_equal(get16(d + 7), 0xFF);
				assert_int_equal(get16(d + 11), 0x100);
				bus++;
			} else {
				assert_int_equal(d[0], 1);
				assert_int_equal(d[2], 3); /* entire range */
				assert_int_equal(get16(d + 5), 0x0D00);
				assert_int_equal(get16(d + 7), 0xFFFF);
				assert_int_equal(get16(d + 11), 0xF300);
				wio++;
			}
			break;
		case 0x8: /* I/O port */
			assert_int_equal(len, 7);
			assert_memory_equal(d, "\x01\xF8\x0C\xF8\x0C\x01\x08", 7);
			io++;
			break;
		case 0x87: /* DWord Address Space */
			assert_int_equal(len, 23);
			assert_memory_equal(d, "\x00\x0C\x03", 3); /* memory, cacheable RW */
			assert_int_equal(get32(d + 3), 0);
			assert_int_equal(get32(d + 7), cfg->pci_mmio32_base);
			assert_int_equal(get32(d + 11), cfg->pci_mmio32_end - 1);
			assert_int_equal(get32(d + 15), 0);
			assert_int_equal(get32(d + 19), cfg->pci_mmio32_end - cfg->pci_mmio32_base);
			m32++;
			break;
		case 0x8A: /* QWord Address Space */
			assert_int_equal(len, 43);
			assert_memory_equal(d, "\x00\x0C\x03", 3);
			assert_int_equal(get64(d + 3), 0);
			assert_int_equal(get64(d + 11), cfg->pci_mmio64_base);
			assert_int_equal(get64(d + 19), cfg->pci_mmio64_end - 1);
			assert_int_equal(get64(d + 27), 0);
			assert_int_equal(get64(d + 35), cfg->pci_mmio64_end - cfg->pci_mmio64_base);
			m64++;
			break;
		case 0xF: /* End Tag */
			assert_int_equal(len, 1);
			assert_int_equal(d[0], 0); /* checksum 0: none */
			endtag++;
			break;
		default:
			fail_msg("unexpected resource descriptor 0x%02x", r[0]);
		}
		r = d + len;
	}
	assert_ptr_equal(r, end);
	assert_true(bus == 1 && io == 1 && wio == 1 && m32 == 1 && m64 == 1 && endtag == 1);
}

/* _PRT: Package (128) { Package (4) {slot << 16 | 0xFFFF, pin, Zero, GSI} }
 * in slot-major order; INTA# of slot S goes to PCI_INTX_GSI(S), the other
 * pins rotate through the eight level-triggered GSIs 16-23. */
static void check_pci_prt(struct cur *c)
{
	struct cur prt = take_package(c, 128);

	for (unsigned slot = 0; slot < 32; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			struct cur e = take_package(&prt, 4);
			uint64_t gsi;

			assert_int_equal(take_int(&e), (uint64_t)slot << 16 | 0xFFFF);
			assert_int_equal(take_int(&e), pin);
			assert_int_equal(take_int(&e), 0);
			gsi = take_int(&e);
			assert_int_equal(gsi, 16 + (slot + pin) % 8);
			assert_int_equal(gsi, PCI_INTX_GSI(slot + pin));
			if (pin == 0)
				assert_int_equal(gsi, PCI_INTX_GSI(slot));
			assert_ptr_equal(e.p, e.end);
		}
	}
	assert_ptr_equal(prt.p, prt.end);
}

/* Device (PCI0) { _HID, _UID, _SEG, _BBN, _CRS, _PRT }, nothing else. */
static void check_pci0(struct cur *c, const struct acpi_config *cfg)
{
	struct cur dev = take_block(c, 0x5B, 0x82);

	take_bytes(&dev, "PCI0", 4);
	take_name(&dev, "_HID");
	/* EisaId ("PNP0A03"), always as a DWord */
	assert_true(dev.p < dev.end);
	assert_int_equal(dev.p[0], 0x0C);
	assert_int_equal(take_int(&dev), 0x030AD041);
	take_name(&dev, "_UID");
	assert_int_equal(take_int(&dev), 0);
	take_name(&dev, "_SEG");
	assert_int_equal(take_int(&dev), 0);
	take_name(&dev, "_BBN");
	assert_int_equal(take_int(&dev), 0);
	take_name(&dev, "_CRS");
	check_pci_crs(&dev, cfg);
	take_name(&dev, "_PRT");
	check_pci_prt(&dev);
	assert_ptr_equal(dev.p, dev.end);
}

/* The whole definition block: \_S5_, then Scope (\_SB) { COM1 [PCI0] }
 * running exactly to the end of the table. */
static void check_dsdt(const uint8_t *d, const struct acpi_config *cfg)
{
	uint32_t len = get32(d + 4);
	struct cur c = {d + 36, d + len}, sb;

	assert_int_equal(d[8], 2); /* 64-bit AML integers */
	/* without PCI: exactly the DSDT kvmlab always had */
	if (!cfg->pci)
		assert_int_equal(len, 36 + sizeof(s5_aml) + 2 + 5 + sizeof(com1_aml));
	take_bytes(&c, s5_aml, sizeof(s5_aml));
	sb = take_block(&c, 0x10, 0);
	assert_ptr_equal(c.p, c.end);
	take_bytes(&sb, "\\_SB_", 5);
	take_bytes(&sb, com1_aml, sizeof(com1_aml));
	if (cfg->pci)
		check_pci0(&sb, cfg);
	assert_ptr_equal(sb.p, sb.end);
}

static void check_gas_io8(const uint8_t *g, uint16_t port)
{
	assert_int_equal(g[0], 1); /* system I/O */
	assert_int_equal(g[1], 8); /* bit width */
	assert_int_equal(g[2], 0); /* bit offset */
	assert_int_equal(g[3], 1); /* byte access */
	assert_int_equal(get64(g + 4), port);
}

static void check_fadt(const uint8_t *f, size_t n, const struct acpi_config *cfg)
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
	check_dsdt(d, cfg);
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

static void check_madt(const uint8_t *m, const struct acpi_config *cfg)
{
	unsigned ncpus = cfg->ncpus;
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
			assert_int_equal(p[2], lapics); /* processor UID */
			assert_int_equal(p[3], cfg->apic_ids ? cfg->apic_ids[lapics] : lapics);
			assert_int_equal(get32(p + 4), 1); /* enabled */
			lapics++;
			break;
		case 1:
			assert_int_equal(p[1], 12);
			assert_int_equal(p[2], cfg->ioapic_id);
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

/* Build with cfg and walk everything from the RSDP; returns the bytes
 * acpi_build used. */
static size_t check_tables(const struct acpi_config *cfg)
{
	const uint8_t *rsdp = buf, *xsdt, *rsdt;
	size_t n = acpi_size(cfg->ncpus), used;
	uint64_t rsdp_gpa = 0;
	int rc;

	assert_true(n > 0 && n <= ACPI_MAX_BYTES && n < sizeof(buf));
	memset(buf, 0xee, sizeof(buf));
	rc = acpi_build(buf, sizeof(buf), GPA, cfg, &rsdp_gpa);
	assert_true(rc > 0 && (size_t)rc <= n);
	used = (size_t)rc;
	for (size_t i = used; i < n; i++)
		assert_int_equal(buf[i], 0); /* the rest of acpi_size is zeroed */
	assert_int_equal(buf[n], 0xee);	     /* nothing written past it */
	assert_int_equal(rsdp_gpa, GPA);

	/* RSDP: ACPI 1.0 checksum over 20 bytes, extended over all 36 */
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(rsdp[15], 2);
	assert_int_equal(get32(rsdp + 20), 36);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(sum(rsdp, 36), 0);
	assert_memory_equal(rsdp + 9, "KVMLAB", 6);

	/* XSDT and RSDT: FADT then MADT; every table inside what was used */
	xsdt = table_at(get64(rsdp + 24), used, "XSDT");
	assert_int_equal(get32(xsdt + 4), 36 + 2 * 8);
	assert_int_equal(xsdt[8], 1);
	rsdt = table_at(get32(rsdp + 16), used, "RSDT");
	assert_int_equal(get32(rsdt + 4), 36 + 2 * 4);
	assert_int_equal(get64(xsdt + 36), get32(rsdt + 36));
	assert_int_equal(get64(xsdt + 44), get32(rsdt + 40));
	check_fadt(table_at(get64(xsdt + 36), used, "FACP"), used, cfg);
	check_madt(table_at(get64(xsdt + 44), used, "APIC"), cfg);
	return used;
}

static void check_ncpus(unsigned ncpus)
{
	struct acpi_config cfg = config(ncpus);
	size_t with_pci, without;

	with_pci = check_tables(&cfg);
	cfg.pci = false;
	without = check_tables(&cfg);
	assert_true(without < with_pci);
}

static void test_1cpu(void **state)
{
	(void)state;
	check_ncpus(1);
}

static void test_2cpus(void **state)
{
	(void)state;
	check_ncpus(2);
}

static void test_4cpus(void **state)
{
	(void)state;
	check_ncpus(4);
}

static void test_64cpus(void **state)
{
	(void)state;
	check_ncpus(64);
}

static void test_max_cpus(void **state)
{
	(void)state;
	check_ncpus(ACPI_MAX_CPUS);
	assert_int_equal(ACPI_MAX_CPUS, 254);
}

/* APIC IDs with gaps (2 sockets x 3 cores; 3 cores x 3 threads) are listed
 * as given, the processor UIDs stay 0..n-1. */
static void test_apic_id_gaps(void **state)
{
	static const uint8_t s2c3[] = {0, 1, 2, 4, 5, 6};
	static const uint8_t c3t3[] = {0, 1, 2, 4, 5, 6, 8, 9, 10};
	struct acpi_config cfg = config(6);
	(void)state;
	cfg.apic_ids = s2c3;
	cfg.ioapic_id = 7;
	check_tables(&cfg);
	cfg.ioapic_id = 3; /* a gap is free too */
	check_tables(&cfg);
	cfg.ioapic_id = 6; /* a CPU's */
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, &cfg, NULL), -EINVAL);
	cfg = config(9);
	cfg.apic_ids = c3t3;
	cfg.ioapic_id = 11;
	check_tables(&cfg);
}

static void test_bad_apic_ids(void **state)
{
	static const uint8_t dup[] = {0, 1, 1, 2}, bcast[] = {0, 1, 2, 0xff};
	struct acpi_config cfg = config(4);
	(void)state;
	cfg.ioapic_id = 8;
	cfg.apic_ids = dup;
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, &cfg, NULL), -EINVAL);
	cfg.apic_ids = bcast;
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, &cfg, NULL), -EINVAL);
}

/* Other windows reach the descriptors unchanged: the loader's for small
 * and large RAM, and the widest allowed. */
static void test_pci_windows(void **state)
{
	struct acpi_config cfg = config(2);

	(void)state;
	cfg.pci_mmio64_base = pci_mmio64_base(512ULL << 20); /* 512 MiB: at 4 GiB */
	cfg.pci_mmio64_end = cfg.pci_mmio64_base + PCI_MMIO64_SIZE;
	assert_int_equal(cfg.pci_mmio64_base, 4 * GIB);
	check_tables(&cfg);
	cfg.pci_mmio64_base = pci_mmio64_base(1000 * GIB + 1);
	cfg.pci_mmio64_end = cfg.pci_mmio64_base + PCI_MMIO64_SIZE;
	assert_int_equal(cfg.pci_mmio64_base, 1001 * GIB);
	check_tables(&cfg);
	cfg.pci_mmio32_base = 0xE0000000;
	cfg.pci_mmio32_end = 0xE0001000;
	cfg.pci_mmio64_base = 4 * GIB;
	cfg.pci_mmio64_end = UINT64_MAX; /* exclusive: max UINT64_MAX - 1 */
	check_tables(&cfg);
	/* between the I/O APIC's page and the local APIC, and above both */
	cfg.pci_mmio32_base = 0xFEC01000;
	cfg.pci_mmio32_end = 0xFEE00000;
	check_tables(&cfg);
	cfg.pci_mmio32_base = 0xFEF00000;
	cfg.pci_mmio32_end = 4 * GIB;
	check_tables(&cfg);
	/* the DSDT stays well inside its share of acpi_size */
	cfg = config(ACPI_MAX_CPUS);
	assert_true(check_tables(&cfg) + 1024 <= acpi_size(ACPI_MAX_CPUS));
}

static void check_bad_windows(uint64_t b32, uint64_t e32, uint64_t b64, uint64_t e64)
{
	struct acpi_config cfg = config(4);
	uint64_t rsdp_gpa = 123;

	cfg.pci_mmio32_base = b32;
	cfg.pci_mmio32_end = e32;
	cfg.pci_mmio64_base = b64;
	cfg.pci_mmio64_end = e64;
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, &cfg, &rsdp_gpa), -EINVAL);
	assert_int_equal(buf[0], 0xee); /* untouched */
	assert_int_equal(rsdp_gpa, 123);
	/* without PCI the windows are not looked at */
	cfg.pci = false;
	assert_true(acpi_build(buf, sizeof(buf), GPA, &cfg, &rsdp_gpa) > 0);
}

static void test_bad_pci_windows(void **state)
{
	const uint64_t b32 = PCI_MMIO32_BASE, e32 = PCI_MMIO32_END;
	const uint64_t b64 = 8 * GIB, e64 = 72 * GIB;
	struct acpi_config cfg = config(4);

	(void)state;
	/* empty or wrapping */
	check_bad_windows(b32, b32, b64, e64);
	check_bad_windows(e32, b32, b64, e64);
	check_bad_windows(b32, e32, b64, b64);
	check_bad_windows(b32, e32, e64, b64);
	check_bad_windows(0, 0, 0, 0);
	/* the 32-bit window must end by 4 GiB, the 64-bit one start there */
	check_bad_windows(b32, 4 * GIB + 0x1000, b64, e64);
	check_bad_windows(4 * GIB, 5 * GIB, b64, e64);
	check_bad_windows(b32, e32, 4 * GIB - 0x1000, e64);
	check_bad_windows(b32, e32, b32, e32);
	/* not over the I/O APIC's page or the local APIC / MSI range */
	check_bad_windows(b32, e32 + 1, b64, e64);
	check_bad_windows(0xFEC00FFF, 0xFEC01000, b64, e64);
	check_bad_windows(0xFED00000, 0xFEE00001, b64, e64);
	check_bad_windows(0xFEEFF000, 0xFEF00000, b64, e64);
	check_bad_windows(0x80000000, 4 * GIB, b64, e64);
	/* the I/O APIC where cfg puts it */
	cfg.ioapic_addr = 0xD0000000;
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, &cfg, NULL), -EINVAL);
	cfg.pci_mmio32_base = 0xD0001000;
	assert_true(acpi_build(buf, sizeof(buf), GPA, &cfg, NULL) > 0);
}

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(acpi_size(0), 0);
	assert_int_equal(acpi_size(255), 0);
	/* one 8-byte local APIC entry per CPU, the DSDT after it 16-aligned */
	for (unsigned n = 1; n < ACPI_MAX_CPUS; n++)
		assert_true(acpi_size(n + 1) == acpi_size(n) ||
			    acpi_size(n + 1) == acpi_size(n) + 16);
	assert_true(acpi_size(ACPI_MAX_CPUS) <= ACPI_MAX_BYTES);
	assert_true(ACPI_MAX_BYTES <= ACPI_TABLES_MAX);
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
	assert_true(acpi_build(buf, n, GPA, &cfg, NULL) > 0); /* exact fit */
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
	assert_true(acpi_build(buf, sizeof(buf), GPA, &cfg, &rsdp_gpa) > 0);
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
	assert_true(acpi_build(buf, sizeof(buf), 0x100000000ULL - acpi_size(4) / 16 * 16 - 16, &cfg,
			       &rsdp_gpa) > 0);
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
	assert_true(acpi_build(buf, sizeof(buf), gpa, &cfg, &rsdp_gpa) > 0);
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
	    cmocka_unit_test(test_apic_id_gaps),
	    cmocka_unit_test(test_bad_apic_ids),
	    cmocka_unit_test(test_pci_windows),
	    cmocka_unit_test(test_bad_pci_windows),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_too_small),
	    cmocka_unit_test(test_bad_config),
	    cmocka_unit_test(test_other_gpa_and_ports),
	    cmocka_unit_test(test_sleep_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
