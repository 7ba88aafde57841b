/* Pure builders for the x86-64 state a 64-bit kernel entry expects: a flat
 * GDT, identity page tables, long-mode segment/control registers and the
 * entry general-purpose registers.  No ioctls: callers write the buffers into
 * guest RAM and hand the register structs to KVM. */
#ifndef KVMLAB_BOOT_X86_BOOT_H
#define KVMLAB_BOOT_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

/* GDT selectors (Linux boot protocol __BOOT_CS / __BOOT_DS) and the TSS. */
#define X86_SEL_CODE 0x10
#define X86_SEL_DATA 0x18
#define X86_SEL_TSS  0x20

/* Bytes x86_build_gdt writes: 4 plain descriptors + one 16-byte TSS. */
#define X86_GDT_BYTES 48

/* Control-register bits used here. */
#define X86_CR0_PE   (1ULL << 0)
#define X86_CR0_MP   (1ULL << 1)
#define X86_CR0_ET   (1ULL << 4)
#define X86_CR0_NE   (1ULL << 5)
#define X86_CR0_PG   (1ULL << 31)
#define X86_CR4_PAE  (1ULL << 5)
#define X86_EFER_LME (1ULL << 8)
#define X86_EFER_LMA (1ULL << 10)

/* Page-table entry bits. */
#define X86_PTE_P  (1ULL << 0)
#define X86_PTE_RW (1ULL << 1)
#define X86_PTE_PS (1ULL << 7)

/* Write the GDT into buf: null, null, 64-bit code at X86_SEL_CODE, flat
 * data at X86_SEL_DATA, a 64-bit TSS descriptor (base 0, limit 0x67) at
 * X86_SEL_TSS.  Returns the bytes written (X86_GDT_BYTES; the GDT limit is
 * that minus one) or -ENOSPC if len is smaller. */
int x86_build_gdt(uint8_t *buf, size_t len);

/* Bytes of page tables needed to identity-map map_bytes (see below), or 0
 * if map_bytes exceeds 512 GiB. */
size_t x86_identity_pt_size(uint64_t map_bytes);

/* Build PML4 + PDPT + page directories in buf, which will live at guest
 * address buf_gpa (4 KiB aligned), identity-mapping [0, map_bytes) rounded
 * up to a GiB and to at least 4 GiB, with 2 MiB pages (P|RW|PS).  Layout:
 * PML4 at buf_gpa, PDPT at +4 KiB, PD for GiB i at +8 KiB + i * 4 KiB.
 * Sets *cr3 = buf_gpa.  Returns the bytes written, -EINVAL for an unaligned
 * buf_gpa or map_bytes above 512 GiB, -ENOSPC if len is too small. */
int x86_build_identity_pt(uint8_t *buf, size_t len, uint64_t buf_gpa, uint64_t map_bytes,
			  uint64_t *cr3);

/* Put s into 64-bit long mode with paging: CS = X86_SEL_CODE (64-bit code),
 * DS/ES/FS/GS/SS = X86_SEL_DATA (flat 4 GiB data), TR = the TSS, LDT
 * unusable, GDTR = {gdt_gpa, gdt_limit}, IDTR = {0, 0} (any exception before
 * the guest loads its own IDT is a clean triple fault), CR0 = PE|MP|ET|NE|PG,
 * CR4 = PAE, CR3 = cr3, EFER |= LME|LMA.  Other fields (apic_base, cr2, cr8,
 * interrupt_bitmap) are left as given.  Never fails. */
void x86_setup_long_mode(struct kvm_sregs *s, uint64_t gdt_gpa, uint16_t gdt_limit, uint64_t cr3);

/* Zero r, then set rflags = 0x2 (reserved bit only: interrupts off), rip,
 * rsp and rsi.  Never fails. */
void x86_setup_entry_regs(struct kvm_regs *r, uint64_t rip, uint64_t rsp, uint64_t rsi);

#endif
