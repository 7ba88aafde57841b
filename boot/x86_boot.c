/* x86-64 boot structures: GDT, identity page tables, long-mode registers. */
#include "boot/x86_boot.h"

#include "boot/bytes.h"

#include <errno.h>
#include <string.h>

#define PAGE   0x1000ULL
#define GIB    (1ULL << 30)
#define MIB2   (1ULL << 21)
#define PT_MAX (512ULL * GIB) /* one PDPT */

/* A legacy 8-byte segment descriptor: flags is the high nibble (G, D/B, L,
 * AVL), access the P/DPL/S/type byte. */
static uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (uint64_t)(limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
	       ((uint64_t)access << 40) | ((uint64_t)((limit >> 16) & 0xf) << 48) |
	       ((uint64_t)(flags & 0xf) << 52) | ((uint64_t)(base >> 24) << 56);
}

int x86_build_gdt(uint8_t *buf, size_t len)
{
	if (len < X86_GDT_BYTES)
		return -ENOSPC;
	memset(buf, 0, X86_GDT_BYTES);
	/* code: P, S, type 0xB (exec/read, accessed); G, L */
	put64(buf + X86_SEL_CODE, seg_desc(0, 0xfffff, 0x9b, 0xa));
	/* data: P, S, type 0x3 (read/write, accessed); G, D/B */
	put64(buf + X86_SEL_DATA, seg_desc(0, 0xfffff, 0x93, 0xc));
	/* TSS: P, type 0xB (busy 64-bit TSS); upper 8 bytes (base 63:32) stay 0 */
	put64(buf + X86_SEL_TSS, seg_desc(0, 0x67, 0x8b, 0x0));
	return X86_GDT_BYTES;
}

/* GiB to map: map_bytes rounded up to a GiB, at least 4; 0 if too large. */
static uint64_t pt_gibs(uint64_t map_bytes)
{
	if (map_bytes > PT_MAX)
		return 0;
	if (map_bytes < 4 * GIB)
		map_bytes = 4 * GIB;
	return (map_bytes + GIB - 1) / GIB;
}

size_t x86_identity_pt_size(uint64_t map_bytes)
{
	uint64_t gibs = pt_gibs(map_bytes);

	return gibs ? (size_t)((2 + gibs) * PAGE) : 0;
}

int x86_build_identity_pt(uint8_t *buf, size_t len, uint64_t buf_gpa, uint64_t map_bytes,
			  uint64_t *cr3)
{
	uint64_t gibs = pt_gibs(map_bytes);
	size_t need = x86_identity_pt_size(map_bytes);
	uint64_t end;

	if (gibs == 0 || (buf_gpa & (PAGE - 1)) != 0)
		return -EINVAL;
	if (__builtin_add_overflow(buf_gpa, need, &end))
		return -EINVAL;
	if (len < need)
		return -ENOSPC;
	memset(buf, 0, need);
	put64(buf, (buf_gpa + PAGE) | X86_PTE_P | X86_PTE_RW);
	for (uint64_t g = 0; g < gibs; g++) {
		uint8_t *pd = buf + 2 * PAGE + g * PAGE;
		uint64_t pd_gpa = buf_gpa + 2 * PAGE + g * PAGE;

		put64(buf + PAGE + 8 * g, pd_gpa | X86_PTE_P | X86_PTE_RW);
		for (uint64_t i = 0; i < 512; i++)
			put64(pd + 8 * i,
			      (g * GIB + i * MIB2) | X86_PTE_P | X86_PTE_RW | X86_PTE_PS);
	}
	*cr3 = buf_gpa;
	return (int)need;
}

static struct kvm_segment flat_seg(uint16_t sel, uint8_t type, uint8_t l, uint8_t db)
{
	return (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = sel,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = db,
	    .s = 1,
	    .l = l,
	    .g = 1,
	};
}

void x86_setup_long_mode(struct kvm_sregs *s, uint64_t gdt_gpa, uint16_t gdt_limit, uint64_t cr3)
{
	struct kvm_segment data = flat_seg(X86_SEL_DATA, 0x3, 0, 1);

	s->cs = flat_seg(X86_SEL_CODE, 0xb, 1, 0);
	s->ds = data;
	s->es = data;
	s->fs = data;
	s->gs = data;
	s->ss = data;
	s->tr = (struct kvm_segment){
	    .base = 0, .limit = 0x67, .selector = X86_SEL_TSS, .type = 0xb, .present = 1};
	s->ldt = (struct kvm_segment){.type = 0x2, .unusable = 1};
	s->gdt.base = gdt_gpa;
	s->gdt.limit = gdt_limit;
	s->idt.base = 0;
	s->idt.limit = 0;
	s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	s->cr3 = cr3;
	s->cr4 = X86_CR4_PAE;
	s->efer |= X86_EFER_LME | X86_EFER_LMA;
}

void x86_setup_entry_regs(struct kvm_regs *r, uint64_t rip, uint64_t rsp, uint64_t rsi)
{
	memset(r, 0, sizeof(*r));
	r->rflags = 0x2;
	r->rip = rip;
	r->rsp = rsp;
	r->rsi = rsi;
}
