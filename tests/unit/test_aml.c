/* AML builder: PkgLength at its size boundaries, integer, name, string and
 * EisaId encodings, blocks, resource descriptors against bytes computed by
 * hand from the ACPI 6.5 tables, the hand-assembled \_S5_ and COM1 that
 * the DSDT used to carry (iasl's output), and the bounds checks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/aml.h"

#define GUARD 0xEE

static uint8_t out[8192];

static struct aml fresh(size_t cap)
{
	struct aml a;

	memset(out, GUARD, sizeof(out));
	aml_init(&a, out, cap);
	return a;
}

/* a's output is exactly the n bytes at want. */
static void expect(const struct aml *a, const void *want, size_t n)
{
	assert_int_equal(aml_result(a), (int)n);
	assert_memory_equal(out, want, n);
	assert_int_equal(out[n], GUARD);
}

static void check_pkglen(uint32_t total, const uint8_t *want, size_t n)
{
	uint8_t enc[4];

	assert_int_equal(aml_pkglen_encode(enc, total), n);
	assert_memory_equal(enc, want, n);
}

/* ACPI 6.5 sec. 20.2.4: PkgLeadByte bits 7:6 = following bytes; alone it
 * holds 6 bits of length, else its bits 3:0 are the low nibble and each
 * following byte the next 8 bits. */
static void test_pkglen_encode(void **state)
{
	uint8_t enc[4];

	(void)state;
	check_pkglen(0, (const uint8_t[]){0x00}, 1);
	check_pkglen(1, (const uint8_t[]){0x01}, 1);
	check_pkglen(63, (const uint8_t[]){0x3F}, 1);
	check_pkglen(64, (const uint8_t[]){0x40, 0x04}, 2);
	check_pkglen(0x76, (const uint8_t[]){0x46, 0x07}, 2);
	check_pkglen(4095, (const uint8_t[]){0x4F, 0xFF}, 2);
	check_pkglen(4096, (const uint8_t[]){0x80, 0x00, 0x01}, 3);
	check_pkglen(0xFFFFF, (const uint8_t[]){0x8F, 0xFF, 0xFF}, 3);
	check_pkglen(0x100000, (const uint8_t[]){0xC0, 0x00, 0x00, 0x01}, 4);
	check_pkglen(0x0FFFFFFF, (const uint8_t[]){0xCF, 0xFF, 0xFF, 0xFF}, 4);
	assert_int_equal(aml_pkglen_encode(enc, 0x10000000), 0);
	assert_int_equal(aml_pkglen_encode(enc, UINT32_MAX), 0);
}

/* Package (1) { k raw bytes }: the PkgLength covers itself, NumElements
 * and the k bytes, and grows when that crosses 63 and 4095. */
static void check_block(size_t k, const uint8_t *pkglen, size_t n)
{
	struct aml a = fresh(sizeof(out) - 1);
	uint8_t body[5000];
	size_t m;

	memset(body, 0x5A, k);
	m = aml_package_begin(&a, 1);
	aml_bytes(&a, body, k);
	aml_end(&a, m);
	assert_int_equal(aml_result(&a), (int)(1 + n + 1 + k));
	assert_int_equal(out[0], 0x12); /* PackageOp */
	assert_memory_equal(out + 1, pkglen, n);
	assert_int_equal(out[1 + n], 1); /* NumElements */
	assert_memory_equal(out + 2 + n, body, k);
	assert_int_equal(out[2 + n + k], GUARD);
}

static void test_block_pkglen(void **state)
{
	(void)state;
	check_block(0, (const uint8_t[]){0x02}, 1);
	check_block(61, (const uint8_t[]){0x3F}, 1);		   /* 1 + 1 + 61 = 63 */
	check_block(62, (const uint8_t[]){0x41, 0x04}, 2);	   /* 2 + 1 + 62 = 65 */
	check_block(4092, (const uint8_t[]){0x4F, 0xFF}, 2);	   /* 2 + 1 + 4092 = 4095 */
	check_block(4093, (const uint8_t[]){0x81, 0x00, 0x01}, 3); /* 3 + 1 + 4093 */
}

/* An outer block's mark stays valid while an inner one grows its PkgLength. */
static void test_nested_blocks(void **state)
{
	struct aml a = fresh(sizeof(out));
	uint8_t body[100];
	size_t s, d;

	(void)state;
	memset(body, 0x5A, sizeof(body));
	s = aml_scope_begin(&a, "\\_SB");
	d = aml_device_begin(&a, "DEV0");
	aml_bytes(&a, body, sizeof(body));
	aml_end(&a, d);
	aml_end(&a, s);
	/* device: 5B 82 <2> "DEV0" body = 2 + 2 + 4 + 100 = 108 bytes, PkgLength
	 * 106 = 0x6A; scope: 10 <2> "\_SB_" device = 1 + 2 + 5 + 108 = 116,
	 * PkgLength 115 = 0x73 */
	assert_int_equal(aml_result(&a), 116);
	assert_memory_equal(out,
			    "\x10\x43\x07\\_SB_\x5B\x82\x4A\x06"
			    "DEV0",
			    16);
	assert_memory_equal(out + 16, body, sizeof(body));
}

static void check_int(uint64_t v, const void *want, size_t n)
{
	struct aml a = fresh(sizeof(out));

	aml_int(&a, v);
	expect(&a, want, n);
}

/* ACPI 6.5 sec. 20.2.3: ZeroOp 0x00, OneOp 0x01, BytePrefix 0x0A,
 * WordPrefix 0x0B, DWordPrefix 0x0C, QWordPrefix 0x0E, little-endian. */
static void test_integers(void **state)
{
	(void)state;
	check_int(0, "\x00", 1);
	check_int(1, "\x01", 1);
	check_int(2, "\x0A\x02", 2);
	check_int(0xFF, "\x0A\xFF", 2);
	check_int(0x100, "\x0B\x00\x01", 3);
	check_int(0xFFFF, "\x0B\xFF\xFF", 3);
	check_int(0x10000, "\x0C\x00\x00\x01\x00", 5);
	check_int(0xFFFFFFFF, "\x0C\xFF\xFF\xFF\xFF", 5);
	check_int(0x100000000ULL, "\x0E\x00\x00\x00\x00\x01\x00\x00\x00", 9);
	check_int(UINT64_MAX, "\x0E\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 9);
}

static void test_eisaid(void **state)
{
	struct aml a = fresh(sizeof(out));
	uint32_t v = 0;

	(void)state;
	assert_int_equal(aml_eisaid_value("PNP0A03", &v), 0);
	assert_int_equal(v, 0x030AD041);
	assert_int_equal(aml_eisaid_value("PNP0501", &v), 0);
	assert_int_equal(v, 0x0105D041);
	assert_int_equal(aml_eisaid_value("PNP0A08", &v), 0);
	assert_int_equal(v, 0x080AD041);
	aml_eisaid(&a, "PNP0A03");
	expect(&a, "\x0C\x41\xD0\x0A\x03", 5); /* always a DWord */
	assert_int_equal(aml_eisaid_value("PNP0A0", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value("PNP0A030", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value("pnp0A03", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value("PNP0a03", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value("PNP0G03", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value("P1P0A03", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value(NULL, &v), -EINVAL);
	a = fresh(sizeof(out));
	aml_eisaid(&a, "PNP");
	assert_int_equal(aml_result(&a), -EINVAL);
}

static void check_name(const char *path, const void *want, size_t n)
{
	struct aml a = fresh(sizeof(out));

	aml_namestring(&a, path);
	expect(&a, want, n);
}

static void check_bad_name(const char *path)
{
	struct aml a = fresh(sizeof(out));

	aml_namestring(&a, path);
	assert_int_equal(aml_result(&a), -EINVAL);
	assert_int_equal(out[0], GUARD);
}

/* ACPI 6.5 sec. 20.2.2: RootChar '\', ParentPrefixChar '^', NameSeg of 4,
 * DualNamePrefix 0x2E, MultiNamePrefix 0x2F + SegCount, NullName 0x00. */
static void test_namestrings(void **state)
{
	(void)state;
	check_name("_HID", "_HID", 4);
	check_name("_SB", "_SB_", 4);
	check_name("A", "A___", 4);
	check_name("\\_SB", "\\_SB_", 5);
	check_name("\\_SB.PCI0", "\\\x2E_SB_PCI0", 10);
	check_name("\\_SB.PCI0.S08", "\\\x2F\x03_SB_PCI0S08_", 15);
	check_name("^^FOO", "^^FOO_", 6);
	check_name("PCI0.S1", "\x2EPCI0S1__", 9);
	check_name("\\", "\\\x00", 2);
	check_bad_name("");
	check_bad_name("TOOLONG");
	check_bad_name("1ABC");
	check_bad_name("A..B");
	check_bad_name("A.");
	check_bad_name(".A");
	check_bad_name("abc");
	check_bad_name("\\^A");
	check_bad_name("A-B");
	check_bad_name(NULL);
}

static void test_string_and_name(void **state)
{
	struct aml a = fresh(sizeof(out));

	(void)state;
	aml_string(&a, "ab");
	aml_name_int(&a, "_UID", 0x1234);
	aml_name(&a, "_STR");
	aml_string(&a, "");
	expect(&a,
	       "\x0D"
	       "ab\x00\x08_UID\x0B\x34\x12\x08_STR\x0D\x00",
	       19);
	a = fresh(sizeof(out));
	aml_string(&a, "\x80");
	assert_int_equal(aml_result(&a), -EINVAL);
}

/* Buffer: BufferOp, PkgLength, BufferSize (an integer), the bytes. */
static void test_buffers(void **state)
{
	struct aml a = fresh(sizeof(out));
	uint8_t bytes[300];
	size_t m;

	(void)state;
	m = aml_buffer_begin(&a);
	aml_buffer_end(&a, m);
	expect(&a, "\x11\x02\x00", 3); /* empty: BufferSize Zero */
	a = fresh(sizeof(out));
	memset(bytes, 0x33, sizeof(bytes));
	m = aml_buffer_begin(&a);
	aml_bytes(&a, bytes, sizeof(bytes));
	aml_buffer_end(&a, m);
	/* PkgLength 2 + BufferSize 3 (0B 2C 01) + 300 = 305 = 0x131 */
	assert_int_equal(aml_result(&a), 1 + 305);
	assert_memory_equal(out, "\x11\x41\x13\x0B\x2C\x01", 6);
	assert_memory_equal(out + 6, bytes, sizeof(bytes));
}

/* The two AML blocks the DSDT used to carry as hand-assembled bytes (what
 * iasl emits for the same ASL), rebuilt with the builder. */
static void test_s5_and_com1(void **state)
{
	/* Name (_S5_, Package () {5, 5, 0, 0}) */
	static const uint8_t s5[] = {0x08, '_',	 'S',  '5',  '_',  0x12, 0x08,
				     0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00};
	/* Scope (\_SB) { Device (COM1) { Name (_HID, EisaId ("PNP0501"))
	 *   Name (_UID, 0) Name (_CRS, ResourceTemplate () {
	 *     IO (Decode16, 0x3F8, 0x3F8, 1, 8) IRQNoFlags () {4} }) } } */
	static const uint8_t com1[] = {
	    0x10, 0x33, '\\', '_',  'S',  'B',	'_',  0x5B, 0x82, 0x2B, 'C',  'O',  'M',
	    '1',  0x08, '_',  'H',  'I',  'D',	0x0C, 0x41, 0xD0, 0x05, 0x01, 0x08, '_',
	    'U',  'I',	'D',  0x00, 0x08, '_',	'C',  'R',  'S',  0x11, 0x10, 0x0A, 0x0D,
	    0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00, 0x79, 0x00};
	struct aml a = fresh(sizeof(out));
	size_t p, s, d, r;

	(void)state;
	aml_name(&a, "_S5_");
	p = aml_package_begin(&a, 4);
	aml_int(&a, 5);
	aml_int(&a, 5);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_end(&a, p);
	expect(&a, s5, sizeof(s5));

	a = fresh(sizeof(out));
	s = aml_scope_begin(&a, "\\_SB");
	d = aml_device_begin(&a, "COM1");
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0501");
	aml_name_int(&a, "_UID", 0);
	aml_name(&a, "_CRS");
	r = aml_restemplate_begin(&a);
	aml_res_io(&a, true, 0x3F8, 0x3F8, 1, 8);
	aml_res_irq_noflags(&a, 4);
	aml_restemplate_end(&a, r);
	aml_end(&a, d);
	aml_end(&a, s);
	expect(&a, com1, sizeof(com1));
}

/* A PCI host bridge _CRS, every byte computed by hand from ACPI 6.5:
 * - sec. 6.4.3.5.3, table "Word Address Space Descriptor Definition":
 *   0x88, length 0x000D, resource type (0 memory, 1 I/O, 2 bus number),
 *   general flags (bit 3 _MAF, bit 2 _MIF, bit 1 _DEC, bit 0 0 = producer),
 *   type-specific flags, then _GRA, _MIN, _MAX, _TRA, _LEN (16 bits each);
 * - sec. 6.4.2.5, table "I/O Port Descriptor Definition": 0x47, info
 *   (bit 0: 16-bit decode), min, max (16 bits), alignment, length;
 * - sec. 6.4.3.5.2, table "DWord Address Space Descriptor Definition":
 *   0x87, length 0x0017, the same three flag bytes, five 32-bit fields;
 * - sec. 6.4.3.5.1, table "QWord Address Space Descriptor Definition":
 *   0x8A, length 0x002B, flag bytes, five 64-bit fields;
 * - sec. 6.4.3.5.5, tables "Memory Resource Flag (Resource Type = 0)" (bit 0
 *   _RW, bits 2:1 _MEM: 1 cacheable) and "I/O Resource Flag (Resource Type
 *   = 1)" (bits 1:0 _RNG: 3 entire range);
 * - sec. 6.4.2.9, End Tag: 0x79, checksum 0 ("treated as valid");
 * - sec. 20.2.5.4 DefBuffer: 0x11, PkgLength, BufferSize, bytes. */
static void test_pci_crs_bytes(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		0x11, 0x46, 0x07,	/* BufferOp, PkgLength 0x76 (2 + 2 + 114) */
		0x0A, 0x72,		/* BufferSize: 114 */
		/* WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
		 *   0, 0x00, 0xFF, 0, 0x100) */
		0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00,
		0x00, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x01,
		/* IO (Decode16, 0xCF8, 0xCF8, 1, 8) */
		0x47, 0x01, 0xF8, 0x0C, 0xF8, 0x0C, 0x01, 0x08,
		/* WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
		 *   0, 0x0D00, 0xFFFF, 0, 0xF300) */
		0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03,
		0x00, 0x00, 0x00, 0x0D, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0xF3,
		/* DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
		 *   Cacheable, ReadWrite, 0, 0xC0000000, 0xFEBFFFFF, 0, 0x3EC00000) */
		0x87, 0x17, 0x00, 0x00, 0x0C, 0x03,
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0xC0,
		0xFF, 0xFF, 0xBF, 0xFE,
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0xC0, 0x3E,
		/* QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
		 *   Cacheable, ReadWrite, 0, 0x800000000, 0x17FFFFFFFF, 0,
		 *   0x1000000000) */
		0x8A, 0x2B, 0x00, 0x00, 0x0C, 0x03,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
		0xFF, 0xFF, 0xFF, 0xFF, 0x17, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
		0x79, 0x00,		/* End Tag */
	};
	/* clang-format on */
	struct aml a = fresh(sizeof(out));
	size_t r;

	(void)state;
	r = aml_restemplate_begin(&a);
	aml_res_word_bus(&a, 0x00, 0xFF);
	aml_res_io(&a, true, 0xCF8, 0xCF8, 1, 8);
	aml_res_word_io(&a, 0x0D00, 0xFFFF);
	aml_res_dword_memory(&a, AML_CACHEABLE, true, 0xC0000000, 0xFEBFFFFF);
	aml_res_qword_memory(&a, AML_CACHEABLE, true, 0x800000000ULL, 0x17FFFFFFFFULL);
	aml_restemplate_end(&a, r);
	expect(&a, want, sizeof(want));
}

/* ACPI 6.5 sec. 6.4.3.6, table "Extended Interrupt Descriptor Definition":
 * 0x89, length 6 (flags, count, one DWord), flags (bit 0 consumer, bit 1
 * edge, bit 2 active low, bit 3 shared, bit 4 wake), count, numbers. */
static void test_interrupt_and_misc(void **state)
{
	struct aml a = fresh(sizeof(out));

	(void)state;
	aml_res_interrupt(&a, AML_IRQ_CONSUMER | AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED, 16);
	aml_res_interrupt(&a, AML_IRQ_CONSUMER | AML_IRQ_EDGE, 0x12345678);
	aml_res_io(&a, false, 0x60, 0x60, 0, 1);
	aml_res_dword_memory(&a, AML_NON_CACHEABLE, false, 0x1000, 0x1FFF);
	expect(&a,
	       "\x89\x06\x00\x0D\x01\x10\x00\x00\x00"
	       "\x89\x06\x00\x03\x01\x78\x56\x34\x12"
	       "\x47\x00\x60\x00\x60\x00\x00\x01"
	       "\x87\x17\x00\x00\x0C\x00\x00\x00\x00\x00\x00\x10\x00\x00\xFF\x1F\x00\x00"
	       "\x00\x00\x00\x00\x00\x10\x00\x00",
	       9 + 9 + 8 + 26);
}

static void check_bad_arg(void (*emit)(struct aml *))
{
	struct aml a = fresh(sizeof(out));

	emit(&a);
	assert_int_equal(aml_result(&a), -EINVAL);
	assert_int_equal(out[0], GUARD);
}

static void bus_reversed(struct aml *a)
{
	aml_res_word_bus(a, 5, 4);
}

static void io_too_long(struct aml *a)
{
	aml_res_word_io(a, 0, 0xFFFF); /* length 0x10000 does not fit */
}

static void dword_reversed(struct aml *a)
{
	aml_res_dword_memory(a, AML_CACHEABLE, true, 0x2000, 0x1FFF);
}

static void qword_everything(struct aml *a)
{
	aml_res_qword_memory(a, AML_CACHEABLE, true, 0, UINT64_MAX);
}

static void bad_cache(struct aml *a)
{
	aml_res_qword_memory(a, (enum aml_cache)4, true, 0, 1);
}

static void irq_16(struct aml *a)
{
	aml_res_irq_noflags(a, 16);
}

static void irq_flags(struct aml *a)
{
	aml_res_interrupt(a, 0x20, 5);
}

static void mark_past_end(struct aml *a)
{
	aml_end(a, 1);
}

static void test_bad_arguments(void **state)
{
	struct aml a = fresh(sizeof(out));

	(void)state;
	check_bad_arg(bus_reversed);
	check_bad_arg(io_too_long);
	check_bad_arg(dword_reversed);
	check_bad_arg(qword_everything);
	check_bad_arg(bad_cache);
	check_bad_arg(irq_16);
	check_bad_arg(irq_flags);
	check_bad_arg(mark_past_end);
	/* the widest windows that fit are fine */
	aml_res_qword_memory(&a, AML_CACHEABLE, true, 1, UINT64_MAX);
	aml_res_word_io(&a, 1, 0xFFFF);
	assert_int_equal(aml_result(&a), 46 + 16);
}

/* Nothing lands past the capacity; the first error sticks and later calls
 * do nothing. */
static void test_bounds(void **state)
{
	struct aml a;
	uint8_t body[70];
	size_t m;

	(void)state;
	a = fresh(4);
	aml_int(&a, 0x12345678); /* 5 bytes */
	assert_int_equal(aml_result(&a), -ENOSPC);
	assert_int_equal(out[0], GUARD);
	aml_int(&a, 0); /* would fit, but the builder has failed */
	assert_int_equal(aml_result(&a), -ENOSPC);
	assert_int_equal(out[0], GUARD);

	/* exact fit */
	a = fresh(5);
	aml_int(&a, 0x12345678);
	assert_int_equal(aml_result(&a), 5);
	assert_int_equal(out[5], GUARD);

	/* the PkgLength needs a second byte when the block closes and there is
	 * no room for it: 1 (op) + 1 (NumElements) + 70 = 72 bytes emitted,
	 * 74 needed */
	memset(body, 0x5A, sizeof(body));
	a = fresh(73);
	m = aml_package_begin(&a, 1);
	aml_bytes(&a, body, sizeof(body));
	assert_int_equal(aml_result(&a), 72);
	aml_end(&a, m);
	assert_int_equal(aml_result(&a), -ENOSPC);
	assert_int_equal(out[73], GUARD);
	a = fresh(74);
	m = aml_package_begin(&a, 1);
	aml_bytes(&a, body, sizeof(body));
	aml_end(&a, m);
	assert_int_equal(aml_result(&a), 74);
	assert_int_equal(out[74], GUARD);

	/* a bad name after an overflow: the first error is kept */
	a = fresh(0);
	aml_int(&a, 0);
	aml_namestring(&a, "bad");
	assert_int_equal(aml_result(&a), -ENOSPC);

	/* no buffer at all */
	aml_init(&a, NULL, 100);
	aml_int(&a, 7);
	assert_int_equal(aml_result(&a), -ENOSPC);
	aml_init(&a, NULL, 0);
	assert_int_equal(aml_result(&a), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pkglen_encode),
	    cmocka_unit_test(test_block_pkglen),
	    cmocka_unit_test(test_nested_blocks),
	    cmocka_unit_test(test_integers),
	    cmocka_unit_test(test_eisaid),
	    cmocka_unit_test(test_namestrings),
	    cmocka_unit_test(test_string_and_name),
	    cmocka_unit_test(test_buffers),
	    cmocka_unit_test(test_s5_and_com1),
	    cmocka_unit_test(test_pci_crs_bytes),
	    cmocka_unit_test(test_interrupt_and_misc),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
