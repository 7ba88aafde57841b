/* ELF64 loader: malformed images are refused with a reason, nothing is
 * written on failure, and a valid image lands with its bss zeroed. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/elf.h"

#define RAM_SIZE (2u << 20) /* guest RAM [0, 2 MiB) */
#define SEG0	 0x100000ULL
#define SEG1	 0x180000ULL

static uint8_t ram[RAM_SIZE];
static uint8_t file[0x200];

struct img {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[3];
};

static void setup_gm(struct guest_mem *gm)
{
	gm_init(gm);
	memset(ram, 0xaa, sizeof(ram));
	assert_int_equal(gm_region_add(gm, 0, sizeof(ram), ram), 0);
}

/* A valid image: segment 0 = 0x20 code bytes + bss to 0x1000 at 1 MiB,
 * a PT_NOTE in between, segment 2 = 0x10 bytes at 1.5 MiB. */
static struct img *make(void)
{
	struct img *m = (struct img *)file;

	memset(file, 0, sizeof(file));
	memcpy(m->eh.e_ident, ELFMAG, SELFMAG);
	m->eh.e_ident[EI_CLASS] = ELFCLASS64;
	m->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	m->eh.e_ident[EI_VERSION] = EV_CURRENT;
	m->eh.e_type = ET_EXEC;
	m->eh.e_machine = EM_X86_64;
	m->eh.e_version = EV_CURRENT;
	m->eh.e_entry = SEG0 + 0x10;
	m->eh.e_phoff = offsetof(struct img, ph);
	m->eh.e_ehsize = sizeof(Elf64_Ehdr);
	m->eh.e_phentsize = sizeof(Elf64_Phdr);
	m->eh.e_phnum = 3;
	m->ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
				.p_offset = 0x100,
				.p_paddr = SEG0,
				.p_vaddr = SEG0,
				.p_filesz = 0x20,
				.p_memsz = 0x1000};
	m->ph[1] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = 0x1f0, .p_filesz = 0x100};
	m->ph[2] = (Elf64_Phdr){.p_type = PT_LOAD,
				.p_offset = 0x120,
				.p_paddr = SEG1,
				.p_vaddr = SEG1,
				.p_filesz = 0x10,
				.p_memsz = 0x10};
	for (int i = 0; i < 0x30; i++)
		file[0x100 + i] = (uint8_t)(i + 1);
	return m;
}

/* Expect -EINVAL with err containing want, and guest RAM untouched. */
static void expect_reject(size_t size, const char *want)
{
	struct guest_mem gm;
	uint64_t entry = 1, end = 1;
	char err[160] = "";

	setup_gm(&gm);
	assert_int_equal(elf_load(file, size, &gm, &entry, &end, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, want));
	assert_int_equal(ram[SEG0], 0xaa);
	assert_int_equal(ram[SEG1], 0xaa);
	assert_int_equal(entry, 1);
}

static void test_valid(void **state)
{
	struct guest_mem gm;
	uint64_t entry = 0, end = 0;
	char err[160] = "";
	(void)state;
	make();
	setup_gm(&gm);
	assert_int_equal(elf_load(file, sizeof(file), &gm, &entry, &end, err, sizeof(err)), 0);
	assert_int_equal(entry, SEG0 + 0x10);
	assert_int_equal(end, SEG1 + 0x10);
	assert_memory_equal(ram + SEG0, file + 0x100, 0x20);
	for (unsigned i = 0x20; i < 0x1000; i++)
		assert_int_equal(ram[SEG0 + i], 0);
	assert_int_equal(ram[SEG0 + 0x1000], 0xaa); /* past memsz untouched */
	assert_memory_equal(ram + SEG1, file + 0x120, 0x10);
	assert_int_equal(ram[SEG1 + 0x10], 0xaa);
	assert_int_equal(ram[SEG0 - 1], 0xaa);
}

static void test_not_elf(void **state)
{
	struct guest_mem gm;
	uint64_t entry, end;
	char err[64];
	(void)state;
	make();
	file[0] = 'M';
	setup_gm(&gm);
	assert_int_equal(elf_load(file, sizeof(file), &gm, &entry, &end, err, sizeof(err)),
			 -ENOEXEC);
	assert_false(elf_probe(file, sizeof(file)));
	make();
	assert_true(elf_probe(file, 4));
	assert_false(elf_probe(file, 3));
	assert_int_equal(elf_load(file, 3, &gm, &entry, &end, err, sizeof(err)), -ENOEXEC);
}

static void test_truncated_header(void **state)
{
	(void)state;
	make();
	expect_reject(sizeof(Elf64_Ehdr) - 1, "truncated");
	/* header fine, program headers cut off */
	expect_reject(sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr), "program headers");
}

static void test_phoff_beyond_file(void **state)
{
	struct img *m;
	(void)state;
	m = make();
	m->eh.e_phoff = sizeof(file);
	expect_reject(sizeof(file), "program headers");
	m = make();
	m->eh.e_phoff = UINT64_MAX - 8; /* phoff + phnum * 56 wraps */
	expect_reject(sizeof(file), "program headers");
}

static void test_bad_phentsize_and_count(void **state)
{
	struct img *m;
	(void)state;
	m = make();
	m->eh.e_phentsize = 32;
	expect_reject(sizeof(file), "program header size");
	m = make();
	m->eh.e_phnum = 0;
	expect_reject(sizeof(file), "no program headers");
	m = make();
	m->ph[0].p_type = PT_NULL;
	m->ph[2].p_type = PT_NULL;
	expect_reject(sizeof(file), "no loadable");
}

static void test_segment_beyond_file(void **state)
{
	struct img *m;
	(void)state;
	m = make();
	m->ph[2].p_offset = 0x1f8; /* 0x1f8 + 0x10 > 0x200 */
	expect_reject(sizeof(file), "segment 2 file range");
	m = make();
	m->ph[2].p_offset = UINT64_MAX - 4; /* offset + filesz wraps */
	expect_reject(sizeof(file), "segment 2 file range");
}

static void test_filesz_gt_memsz(void **state)
{
	struct img *m;
	(void)state;
	m = make();
	m->ph[2].p_memsz = 0x8;
	expect_reject(sizeof(file), "segment 2 filesz 0x10 > memsz 0x8");
}

static void test_outside_ram(void **state)
{
	struct img *m;
	(void)state;
	m = make();
	m->ph[2].p_paddr = RAM_SIZE - 0x8; /* straddles the end of RAM */
	expect_reject(sizeof(file), "segment 2 [0x1ffff8+0x10] outside guest RAM");
	m = make();
	m->ph[2].p_paddr = RAM_SIZE; /* entirely above */
	expect_reject(sizeof(file), "outside guest RAM");
}

static void test_paddr_overflow(void **state)
{
	struct img *m;
	(void)state;
	m = make();
	m->ph[2].p_paddr = UINT64_MAX - 0x4;
	expect_reject(sizeof(file), "wraps");
}

static void test_low_area(void **state)
{
	struct img *m;
	(void)state;
	m = make();
	m->ph[2].p_paddr = 0x7000; /* would overwrite the zero page */
	expect_reject(sizeof(file), "boot area");
}

static void test_wrong_class_machine_type(void **state)
{
	struct img *m;
	(void)state;
	m = make();
	m->eh.e_ident[EI_CLASS] = ELFCLASS32;
	expect_reject(sizeof(file), "64-bit");
	m = make();
	m->eh.e_ident[EI_DATA] = ELFDATA2MSB;
	expect_reject(sizeof(file), "little-endian");
	m = make();
	m->eh.e_machine = EM_386;
	expect_reject(sizeof(file), "machine 3");
	m = make();
	m->eh.e_type = ET_DYN;
	expect_reject(sizeof(file), "ET_EXEC");
}

static void test_entry_outside(void **state)
{
	struct img *m;
	(void)state;
	m = make();
	m->eh.e_entry = 0x140000; /* between the segments */
	expect_reject(sizeof(file), "entry point 0x140000");
	m = make();
	m->eh.e_entry = SEG0 + 0x20; /* in bss, not loaded code */
	expect_reject(sizeof(file), "entry point");
	m = make();
	m->eh.e_entry = SEG1 + 0xf; /* last file byte of segment 2: fine */
	{
		struct guest_mem gm;
		uint64_t entry, end;
		char err[160];

		setup_gm(&gm);
		assert_int_equal(elf_load(file, sizeof(file), &gm, &entry, &end, err, sizeof(err)),
				 0);
		assert_int_equal(entry, SEG1 + 0xf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_not_elf),
	    cmocka_unit_test(test_truncated_header),
	    cmocka_unit_test(test_phoff_beyond_file),
	    cmocka_unit_test(test_bad_phentsize_and_count),
	    cmocka_unit_test(test_segment_beyond_file),
	    cmocka_unit_test(test_filesz_gt_memsz),
	    cmocka_unit_test(test_outside_ram),
	    cmocka_unit_test(test_paddr_overflow),
	    cmocka_unit_test(test_low_area),
	    cmocka_unit_test(test_wrong_class_machine_type),
	    cmocka_unit_test(test_entry_outside),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
