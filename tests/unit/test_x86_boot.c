/* x86 boot builders: GDT bytes, identity page tables, long-mode registers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/x86_boot.h"

#define GIB (1ULL << 30)

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void test_gdt_bytes(void **state)
{
	uint8_t gdt[64];
	(void)state;
	memset(gdt, 0xee, sizeof(gdt));
	assert_int_equal(x86_build_gdt(gdt, X86_GDT_BYTES - 1), -ENOSPC);
	assert_int_equal(gdt[0], 0xee);
	assert_int_equal(x86_build_gdt(gdt, sizeof(gdt)), X86_GDT_BYTES);
	assert_int_equal(get64(gdt + 0x00), 0);
	assert_int_equal(get64(gdt + 0x08), 0);
	assert_int_equal(get64(gdt + X86_SEL_CODE), 0x00af9b000000ffffULL);
	assert_int_equal(get64(gdt + X86_SEL_DATA), 0x00cf93000000ffffULL);
	assert_int_equal(get64(gdt + X86_SEL_TSS), 0x00008b0000000067ULL);
	assert_int_equal(get64(gdt + X86_SEL_TSS + 8), 0);
	assert_int_equal(gdt[X86_GDT_BYTES], 0xee); /* nothing past the end */
}

static void test_pt_4g(void **state)
{
	static uint8_t pt[0x10000];
	const uint64_t gpa = 0x9000;
	uint64_t cr3 = 0;
	(void)state;
	assert_int_equal(x86_identity_pt_size(1 << 20), 0x6000);
	assert_int_equal(x86_identity_pt_size(4 * GIB), 0x6000);
	memset(pt, 0xee, sizeof(pt));
	assert_int_equal(x86_build_identity_pt(pt, 0x5fff, gpa, 4 * GIB, &cr3), -ENOSPC);
	assert_int_equal(cr3, 0);
	assert_int_equal(x86_build_identity_pt(pt, sizeof(pt), gpa, 1 << 20, &cr3), 0x6000);
	assert_int_equal(cr3, gpa);
	/* PML4[0] -> PDPT; the rest of the PML4 is empty */
	assert_int_equal(get64(pt), (gpa + 0x1000) | X86_PTE_P | X86_PTE_RW);
	assert_int_equal(get64(pt + 8), 0);
	assert_int_equal(get64(pt + 0xff8), 0);
	/* PDPT[i] -> PD i */
	for (int i = 0; i < 4; i++)
		assert_int_equal(get64(pt + 0x1000 + 8 * i),
				 (gpa + 0x2000 + 0x1000 * i) | X86_PTE_P | X86_PTE_RW);
	assert_int_equal(get64(pt + 0x1000 + 8 * 4), 0);
	/* first and last 2 MiB pages, and the one at 3 GiB */
	assert_int_equal(get64(pt + 0x2000), 0x83);
	assert_int_equal(get64(pt + 0x2008), 0x200083);
	assert_int_equal(get64(pt + 0x5000), 0xC0000000ULL | X86_PTE_PS | X86_PTE_RW | X86_PTE_P);
	assert_int_equal(get64(pt + 0x5ff8), 0xFFE00083ULL);
	assert_int_equal(pt[0x6000], 0xee);
}

static void test_pt_large_and_bad(void **state)
{
	static uint8_t pt[0x10000];
	uint64_t cr3 = 0;
	(void)state;
	/* 5 GiB + 1 rounds up to 6 GiB: 6 page directories */
	assert_int_equal(x86_identity_pt_size(5 * GIB + 1), 0x8000);
	assert_int_equal(x86_build_identity_pt(pt, sizeof(pt), 0x100000, 5 * GIB + 1, &cr3),
			 0x8000);
	assert_int_equal(get64(pt + 0x1000 + 8 * 5), (0x100000 + 0x7000) | 3);
	assert_int_equal(get64(pt + 0x7ff8), (6 * GIB - (2 << 20)) | 0x83);
	assert_int_equal(get64(pt + 0x1000 + 8 * 6), 0);
	/* unaligned, too large */
	assert_int_equal(x86_build_identity_pt(pt, sizeof(pt), 0x9001, 4 * GIB, &cr3), -EINVAL);
	assert_int_equal(x86_identity_pt_size(512 * GIB + 1), 0);
	assert_int_equal(x86_build_identity_pt(pt, sizeof(pt), 0x9000, 512 * GIB + 1, &cr3),
			 -EINVAL);
	assert_int_equal(x86_identity_pt_size(512 * GIB), 514 * 0x1000);
}

/* The 8-byte descriptor at sel in gdt must agree with seg. */
static void check_desc_matches(const uint8_t *gdt, const struct kvm_segment *seg)
{
	uint64_t d = get64(gdt + seg->selector);
	uint8_t access = (uint8_t)(d >> 40), flags = (uint8_t)(d >> 52) & 0xf;

	assert_int_equal(access & 0xf, seg->type);
	assert_int_equal((access >> 4) & 1, seg->s);
	assert_int_equal((access >> 5) & 3, seg->dpl);
	assert_int_equal(access >> 7, seg->present);
	assert_int_equal((flags >> 1) & 1, seg->l);
	assert_int_equal((flags >> 2) & 1, seg->db);
	assert_int_equal((flags >> 3) & 1, seg->g);
}

static void test_long_mode_sregs(void **state)
{
	struct kvm_sregs s;
	uint8_t gdt[X86_GDT_BYTES];
	(void)state;
	memset(&s, 0x55, sizeof(s));
	s.apic_base = 0xfee00900;
	s.efer = 1;	    /* SCE, must survive */
	s.cr0 = 0x60000010; /* reset value: CD|NW|ET */
	x86_setup_long_mode(&s, 0x500, X86_GDT_BYTES - 1, 0x9000);
	assert_int_equal(x86_build_gdt(gdt, sizeof(gdt)), X86_GDT_BYTES);

	assert_int_equal(s.cs.selector, 0x10);
	assert_int_equal(s.cs.type, 0xb);
	assert_int_equal(s.cs.s, 1);
	assert_int_equal(s.cs.dpl, 0);
	assert_int_equal(s.cs.present, 1);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.cs.db, 0);
	assert_int_equal(s.cs.g, 1);
	assert_int_equal(s.cs.base, 0);
	assert_int_equal(s.cs.limit, 0xffffffff);
	assert_int_equal(s.cs.unusable, 0);
	check_desc_matches(gdt, &s.cs);

	const struct kvm_segment *data[] = {&s.ds, &s.es, &s.fs, &s.gs, &s.ss};
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(data[i]->selector, 0x18);
		assert_int_equal(data[i]->type, 0x3);
		assert_int_equal(data[i]->s, 1);
		assert_int_equal(data[i]->present, 1);
		assert_int_equal(data[i]->l, 0);
		assert_int_equal(data[i]->db, 1);
		assert_int_equal(data[i]->g, 1);
		assert_int_equal(data[i]->limit, 0xffffffff);
		assert_int_equal(data[i]->unusable, 0);
		check_desc_matches(gdt, data[i]);
	}
	assert_int_equal(s.tr.selector, X86_SEL_TSS);
	assert_int_equal(s.tr.type, 0xb);
	assert_int_equal(s.tr.s, 0);
	assert_int_equal(s.tr.present, 1);
	check_desc_matches(gdt, &s.tr);
	assert_int_equal(s.ldt.unusable, 1);

	assert_int_equal(s.gdt.base, 0x500);
	assert_int_equal(s.gdt.limit, 47);
	assert_int_equal(s.idt.limit, 0);
	assert_true(s.cr0 & X86_CR0_PE);
	assert_true(s.cr0 & X86_CR0_PG);
	assert_true(s.cr0 & X86_CR0_NE);
	assert_false(s.cr0 & (1ULL << 30)); /* CD cleared: caches on */
	assert_false(s.cr0 & (1ULL << 29)); /* NW cleared */
	assert_int_equal(s.cr4, X86_CR4_PAE);
	assert_int_equal(s.cr3, 0x9000);
	assert_int_equal(s.efer, 1 | X86_EFER_LME | X86_EFER_LMA);
	/* left alone */
	assert_int_equal(s.apic_base, 0xfee00900);
	assert_int_equal(s.interrupt_bitmap[0], 0x5555555555555555ULL);
	assert_int_equal(s.cr8, 0x5555555555555555ULL);
}

static void test_entry_regs(void **state)
{
	struct kvm_regs r;
	(void)state;
	memset(&r, 0x77, sizeof(r));
	x86_setup_entry_regs(&r, 0x1000200, 0x80000, 0x7000);
	assert_int_equal(r.rflags, 0x2);
	assert_int_equal(r.rip, 0x1000200);
	assert_int_equal(r.rsp, 0x80000);
	assert_int_equal(r.rsi, 0x7000);
	assert_int_equal(r.rax, 0);
	assert_int_equal(r.rdi, 0);
	assert_int_equal(r.rbp, 0);
	assert_int_equal(r.r15, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gdt_bytes),	     cmocka_unit_test(test_pt_4g),
	    cmocka_unit_test(test_pt_large_and_bad), cmocka_unit_test(test_long_mode_sregs),
	    cmocka_unit_test(test_entry_regs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
