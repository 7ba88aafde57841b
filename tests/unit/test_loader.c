/* boot_load_kernel: file errors name the option and path, format
 * detection, and the boot structures written for ELF and bzImage kernels. */
#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/layout.h"
#include "boot/loader.h"

#define MIB (1ULL << 20)

struct ram {
	struct guest_mem gm;
	uint8_t *p;
	size_t len;
};

static void ram_init(struct ram *r, unsigned mib)
{
	r->len = (size_t)mib * MIB;
	r->p = mmap(NULL, r->len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(r->p != MAP_FAILED);
	gm_init(&r->gm);
	assert_int_equal(gm_region_add(&r->gm, 0, r->len, r->p), 0);
}

static void ram_free(struct ram *r)
{
	munmap(r->p, r->len);
}

/* Write bytes to a fresh temporary file; its path goes into path. */
static void tmpfile_with(char *path, const void *data, size_t len)
{
	int fd;

	strcpy(path, "/tmp/kvmlab-test-loader-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* A tiny ELF: 16 code bytes at 1 MiB + bss to 1 MiB + 8 KiB. */
static void make_elf(uint8_t *buf, size_t len)
{
	Elf64_Ehdr eh = {0};
	Elf64_Phdr ph = {0};

	memset(buf, 0, len);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = 0x100000;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	ph.p_type = PT_LOAD;
	ph.p_offset = 0x100;
	ph.p_paddr = ph.p_vaddr = 0x100000;
	ph.p_filesz = 16;
	ph.p_memsz = 0x2000;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), &ph, sizeof(ph));
	memset(buf + 0x100, 0xf4, 16); /* hlt */
}

/* A minimal 64-bit bzImage: 4 setup sectors + 0x2000 kernel bytes. */
static size_t make_bzimage(uint8_t *buf, size_t len)
{
	struct setup_header h = {0};
	size_t size = 5 * 512 + 0x2000;

	assert_true(len >= size);
	memset(buf, 0, len);
	h.setup_sects = 4;
	h.boot_flag = 0xAA55;
	h.jump = (uint16_t)(0xEB | ((0x1f1 + sizeof(h) - 0x202) << 8));
	memcpy(&h.header, "HdrS", 4);
	h.version = 0x20f;
	h.loadflags = LOADED_HIGH;
	h.initrd_addr_max = 0x7fffffff;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.xloadflags = XLF_KERNEL_64;
	h.cmdline_size = 2047;
	h.pref_address = 0x1000000;
	h.init_size = 0x400000;
	memcpy(buf + 0x1f1, &h, sizeof(h));
	memset(buf + 5 * 512, 0x90, 0x2000);
	return size;
}

/* Byte sum of the 36-byte ACPI 2.0 RSDP. */
static uint8_t rsdp_sum(const uint8_t *p)
{
	uint8_t s = 0;

	for (int i = 0; i < 36; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static void test_missing_files(void **state)
{
	struct ram r;
	struct boot_entry be;
	char err[256] = "";
	(void)state;
	ram_init(&r, 4);
	assert_int_equal(
	    boot_load_kernel("/nonexistent/x", NULL, NULL, 1, NULL, &r.gm, &be, err, sizeof(err)),
	    -ENOENT);
	assert_string_equal(err, "--kernel /nonexistent/x: No such file or directory");
	assert_int_equal(
	    boot_load_kernel("/tmp", NULL, NULL, 1, NULL, &r.gm, &be, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--kernel /tmp: not a regular file");
	ram_free(&r);
}

static void test_not_a_kernel(void **state)
{
	static const char junk[] = "#!/bin/sh\necho this is not a kernel\n";
	struct ram r;
	struct boot_entry be;
	char err[256] = "", path[64], want[128];
	(void)state;
	ram_init(&r, 4);
	tmpfile_with(path, junk, sizeof(junk));
	assert_int_equal(boot_load_kernel(path, NULL, NULL, 1, NULL, &r.gm, &be, err, sizeof(err)),
			 -ENOEXEC);
	snprintf(want, sizeof(want), "--kernel %s: not an ELF64 or bzImage kernel", path);
	assert_string_equal(err, want);
	unlink(path);
	tmpfile_with(path, junk, 0); /* empty */
	assert_int_equal(boot_load_kernel(path, NULL, NULL, 1, NULL, &r.gm, &be, err, sizeof(err)),
			 -ENOEXEC);
	unlink(path);
	ram_free(&r);
}

static void test_elf_guest(void **state)
{
	static uint8_t img[0x200];
	struct ram r;
	struct boot_entry be;
	char err[256] = "", path[64];
	(void)state;
	ram_init(&r, 4);
	make_elf(img, sizeof(img));
	tmpfile_with(path, img, sizeof(img));
	memset(r.p + 0x100010, 0xaa, 16);
	assert_int_equal(
	    boot_load_kernel(path, NULL, "ignored", 2, NULL, &r.gm, &be, err, sizeof(err)), 0);
	assert_false(be.is_linux);
	assert_int_equal(be.rip, 0x100000);
	assert_int_equal(be.rsp, BOOT_STACK_TOP);
	assert_int_equal(be.rsi, 0);
	assert_int_equal(be.cr3, BOOT_PML4_GPA);
	assert_int_equal(be.gdt_gpa, BOOT_GDT_GPA);
	assert_int_equal(be.gdt_limit, 47);
	assert_int_equal(be.kernel_end, 0x102000);
	assert_int_equal(r.p[0x100000], 0xf4);
	assert_int_equal(r.p[0x100010], 0); /* bss zeroed */
	/* GDT code descriptor, PML4[0] -> PDPT, MP floating pointer */
	assert_int_equal(r.p[BOOT_GDT_GPA + 0x10 + 5], 0x9b);
	assert_int_equal(r.p[BOOT_PML4_GPA], (BOOT_PDPT_GPA & 0xff) | 3);
	assert_int_equal(r.p[BOOT_PML4_GPA + 1], BOOT_PDPT_GPA >> 8);
	assert_memory_equal(r.p + BOOT_MPTABLE_GPA, "_MP_", 4);
	assert_memory_equal(r.p + BOOT_MPTABLE_GPA + 16, "PCMP", 4);
	assert_int_equal(r.p[BOOT_MPTABLE_GPA + 16 + 34], 2 + 2 + 15 + 2); /* entry count */
	/* ACPI tables where a scan of the BIOS area finds them */
	assert_memory_equal(r.p + ACPI_TABLES_GPA, "RSD PTR ", 8);
	assert_int_equal(rsdp_sum(r.p + ACPI_TABLES_GPA), 0);
	/* reset vector: mov al, 0xfe; out 0x64, al; hlt; jmp back to the hlt */
	assert_memory_equal(r.p + BOOT_RESET_VECTOR_GPA, "\xb0\xfe\xe6\x64\xf4\xeb\xfd", 7);

	/* an initrd with an ELF kernel is refused */
	assert_int_equal(
	    boot_load_kernel(path, "/etc/hostname", NULL, 1, NULL, &r.gm, &be, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "--initrd /etc/hostname"));
	unlink(path);
	ram_free(&r);
}

static void test_bad_args(void **state)
{
	static uint8_t img[0x200], low[0x1000];
	struct ram r;
	struct guest_mem high_only;
	struct boot_entry be;
	char err[256] = "", path[64];
	(void)state;
	ram_init(&r, 4);
	make_elf(img, sizeof(img));
	tmpfile_with(path, img, sizeof(img));
	assert_int_equal(boot_load_kernel(path, NULL, NULL, 0, NULL, &r.gm, &be, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "--cpus"));
	assert_int_equal(
	    boot_load_kernel(path, NULL, NULL, 256, NULL, &r.gm, &be, err, sizeof(err)), -EINVAL);
	/* APIC ids 0..253 + the I/O APIC's: the ACPI limit */
	assert_int_equal(
	    boot_load_kernel(path, NULL, NULL, 255, NULL, &r.gm, &be, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--cpus 255: must be 1..254");
	assert_int_equal(
	    boot_load_kernel(path, NULL, NULL, 254, NULL, &r.gm, &be, err, sizeof(err)), 0);
	assert_int_equal(r.p[ACPI_TABLES_GPA + 15], 2); /* RSDP revision */
	/* APIC IDs with gaps (2 sockets x 3 cores): both tables list them, the
	 * I/O APIC gets the next free ID; repeated IDs are refused */
	{
		static const uint8_t ids[] = {0, 1, 2, 4, 5, 6}, dup[] = {0, 1, 1};
		const uint8_t *mp = r.p + BOOT_MPTABLE_GPA + 16 + 44;

		assert_int_equal(
		    boot_load_kernel(path, NULL, NULL, 6, ids, &r.gm, &be, err, sizeof(err)), 0);
		for (int i = 0; i < 6; i++)
			assert_int_equal(mp[20 * i + 1], ids[i]);
		assert_int_equal(mp[20 * 6 + 8], 2);	 /* I/O APIC entry */
		assert_int_equal(mp[20 * 6 + 8 + 1], 7); /* its ID */
		assert_int_equal(
		    boot_load_kernel(path, NULL, NULL, 3, dup, &r.gm, &be, err, sizeof(err)),
		    -EINVAL);
		assert_non_null(strstr(err, "--cpus"));
	}
	/* RAM that does not cover the first MiB */
	gm_init(&high_only);
	assert_int_equal(gm_region_add(&high_only, 0, sizeof(low), low), 0);
	assert_int_equal(gm_region_add(&high_only, MIB, r.len - MIB, r.p + MIB), 0);
	assert_int_equal(
	    boot_load_kernel(path, NULL, NULL, 1, NULL, &high_only, &be, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "--memory too small"));
	/* a corrupt ELF names the file */
	img[18] = 3; /* e_machine = EM_386 */
	unlink(path);
	tmpfile_with(path, img, sizeof(img));
	assert_int_equal(boot_load_kernel(path, NULL, NULL, 1, NULL, &r.gm, &be, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "x86-64"));
	unlink(path);
	ram_free(&r);
}

static void test_bzimage_with_initrd(void **state)
{
	static uint8_t img[0x4000];
	static const char rd[] = "fake initramfs";
	const struct boot_params *bp;
	struct ram r;
	struct boot_entry be;
	char err[256] = "", kpath[64], ipath[64];
	size_t n;
	(void)state;
	ram_init(&r, 64);
	n = make_bzimage(img, sizeof(img));
	tmpfile_with(kpath, img, n);
	tmpfile_with(ipath, rd, sizeof(rd));
	assert_int_equal(
	    boot_load_kernel(kpath, ipath, "console=ttyS0", 4, NULL, &r.gm, &be, err, sizeof(err)),
	    0);
	assert_true(be.is_linux);
	assert_int_equal(be.rip, 0x1000200);
	assert_int_equal(be.rsi, BOOT_ZERO_PAGE_GPA);
	assert_int_equal(be.kernel_end, 0x1400000);
	bp = (const struct boot_params *)(r.p + BOOT_ZERO_PAGE_GPA);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.ramdisk_size, sizeof(rd));
	assert_memory_equal(r.p + bp->hdr.ramdisk_image, rd, sizeof(rd));
	assert_string_equal((char *)r.p + bp->hdr.cmd_line_ptr, "console=ttyS0");
	/* e820 derived from guest RAM: 64 MiB, nothing above 4 GiB */
	assert_int_equal(bp->e820_entries, 3);
	assert_int_equal(bp->e820_table[2].addr + bp->e820_table[2].size, 64 * MIB);
	/* protocol 2.15: the zero page points at the RSDP */
	assert_int_equal(bp->acpi_rsdp_addr, ACPI_TABLES_GPA);
	assert_memory_equal(r.p + ACPI_TABLES_GPA, "RSD PTR ", 8);
	assert_int_equal(rsdp_sum(r.p + ACPI_TABLES_GPA), 0);
	unlink(ipath);

	/* protocol 2.13 has no acpi_rsdp_addr: left 0, the kernel scans */
	img[0x206] = 0x0d;
	unlink(kpath);
	tmpfile_with(kpath, img, n);
	memset(r.p + ACPI_TABLES_GPA, 0, 64);
	assert_int_equal(boot_load_kernel(kpath, NULL, NULL, 2, NULL, &r.gm, &be, err, sizeof(err)),
			 0);
	assert_int_equal(bp->hdr.version, 0x20d);
	assert_int_equal(bp->acpi_rsdp_addr, 0);
	assert_memory_equal(r.p + ACPI_TABLES_GPA, "RSD PTR ", 8);

	/* a missing initrd names the option */
	assert_int_equal(
	    boot_load_kernel(kpath, "/nonexistent/rd", NULL, 1, NULL, &r.gm, &be, err, sizeof(err)),
	    -ENOENT);
	assert_string_equal(err, "--initrd /nonexistent/rd: No such file or directory");
	/* too little RAM for init_size: the message says how much is needed */
	ram_free(&r);
	ram_init(&r, 16);
	assert_int_equal(boot_load_kernel(kpath, NULL, NULL, 1, NULL, &r.gm, &be, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "--memory too small for kernel (needs 20 MiB"));
	unlink(kpath);
	ram_free(&r);
}

static void test_debian_kernel(void **state)
{
	const struct boot_params *bp;
	struct ram r;
	struct boot_entry be;
	char err[256] = "";
	glob_t g;
	int rc;
	(void)state;
	if (glob("/boot/vmlinuz-*", 0, NULL, &g) != 0 || g.gl_pathc == 0 ||
	    access(g.gl_pathv[0], R_OK) != 0) {
		globfree(&g);
		skip();
	}
	ram_init(&r, 256);
	rc = boot_load_kernel(g.gl_pathv[0], NULL, "console=ttyS0", 2, NULL, &r.gm, &be, err,
			      sizeof(err));
	globfree(&g);
	assert_int_equal(rc, 0);
	assert_true(be.is_linux);
	assert_int_equal(be.rip, 0x1000200);
	bp = (const struct boot_params *)(r.p + BOOT_ZERO_PAGE_GPA);
	assert_memory_equal(&bp->hdr.header, "HdrS", 4);
	assert_true(bp->hdr.version >= 0x20f);
	assert_int_equal(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_GPA);
	assert_int_equal(bp->acpi_rsdp_addr, ACPI_TABLES_GPA);
	assert_memory_equal(r.p + ACPI_TABLES_GPA, "RSD PTR ", 8);
	ram_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_missing_files),	cmocka_unit_test(test_not_a_kernel),
	    cmocka_unit_test(test_elf_guest),		cmocka_unit_test(test_bad_args),
	    cmocka_unit_test(test_bzimage_with_initrd), cmocka_unit_test(test_debian_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
