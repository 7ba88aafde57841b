/* bzImage: setup header parsing and loading (kernel, initrd, cmdline,
 * zero page) on crafted images, plus the host's Debian kernel if present. */
#include <asm/bootparam.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/bzimage.h"
#include "boot/layout.h"

#define MIB	  (1ULL << 20)
#define KSIZE	  0x3000    /* protected-mode kernel bytes */
#define SETUP	  (5 * 512) /* setup_sects = 4 */
#define FSIZE	  (SETUP + KSIZE)
#define PREF	  (16 * MIB)
#define INIT_SIZE (4 * MIB)

static uint8_t file[FSIZE + 4096];

/* A minimal valid 64-bit bzImage; returns its setup header for tweaks. */
static struct setup_header *make(void)
{
	struct setup_header h;

	memset(file, 0, sizeof(file));
	memset(&h, 0, sizeof(h));
	h.setup_sects = 4;
	h.boot_flag = 0xAA55;
	h.jump = (uint16_t)(0xEB | ((0x1f1 + sizeof(h) - 0x202) << 8));
	memcpy(&h.header, "HdrS", 4);
	h.version = 0x20f;
	h.loadflags = LOADED_HIGH;
	h.syssize = KSIZE / 16;
	h.initrd_addr_max = 0x7fffffff;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h.cmdline_size = 255;
	h.pref_address = PREF;
	h.init_size = INIT_SIZE;
	h.vid_mode = 0xffff;
	memcpy(file + 0x1f1, &h, sizeof(h));
	for (unsigned i = 0; i < KSIZE; i++)
		file[SETUP + i] = (uint8_t)(i * 7 + 3);
	return (struct setup_header *)(file + 0x1f1);
}

static int parse(size_t size, struct bzimage_info *info, char *err)
{
	return bzimage_parse(file, size, info, err, 160);
}

static void test_parse_valid(void **state)
{
	struct bzimage_info info;
	char err[160] = "";
	(void)state;
	make();
	assert_int_equal(parse(FSIZE, &info, err), 0);
	assert_int_equal(info.version, 0x20f);
	assert_int_equal(info.setup_sects, 4);
	assert_int_equal(info.kernel_offset, SETUP);
	assert_int_equal(info.kernel_size, KSIZE);
	assert_int_equal(info.pref_address, PREF);
	assert_int_equal(info.init_size, INIT_SIZE);
	assert_int_equal(info.kernel_alignment, 0x200000);
	assert_int_equal(info.relocatable, 1);
	assert_int_equal(info.cmdline_size, 255);
	assert_int_equal(info.initrd_addr_max, 0x7fffffff);
	assert_true(info.xloadflags & XLF_KERNEL_64);
	assert_int_equal(info.hdr_len, sizeof(struct setup_header));
	/* a longer header (newer protocol) is copied only as far as we know it */
	file[0x201] = 0xff;
	assert_int_equal(parse(FSIZE, &info, err), 0);
	assert_int_equal(info.hdr_len, sizeof(struct setup_header));
	/* a shorter one only as far as it goes */
	file[0x201] = 0x40;
	assert_int_equal(parse(FSIZE, &info, err), 0);
	assert_int_equal(info.hdr_len, 0x202 + 0x40 - 0x1f1);
}

static void test_no_hdrs(void **state)
{
	struct bzimage_info info;
	char err[160];
	(void)state;
	make();
	file[0x202] = 'X';
	assert_int_equal(parse(FSIZE, &info, err), -ENOEXEC);
	make();
	assert_int_equal(parse(0x205, &info, err), -ENOEXEC); /* file ends inside HdrS */
	assert_int_equal(parse(0x206, &info, err), -EINVAL);  /* HdrS, header cut short */
	assert_non_null(strstr(err, "truncated"));
}

static void test_old_protocol(void **state)
{
	struct bzimage_info info;
	char err[160];
	(void)state;
	make()->version = 0x205;
	assert_int_equal(parse(FSIZE, &info, err), -EINVAL);
	assert_non_null(strstr(err, "2.05"));
	make()->version = 0x206; /* old enough for the header, but no xloadflags */
	assert_int_equal(parse(FSIZE, &info, err), -EINVAL);
	assert_non_null(strstr(err, "XLF_KERNEL_64"));
}

static void test_flags_required(void **state)
{
	struct bzimage_info info;
	char err[160];
	(void)state;
	make()->loadflags = 0;
	assert_int_equal(parse(FSIZE, &info, err), -EINVAL);
	assert_non_null(strstr(err, "LOADED_HIGH"));
	make()->xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	assert_int_equal(parse(FSIZE, &info, err), -EINVAL);
	assert_non_null(strstr(err, "64-bit entry"));
	make()->kernel_alignment = 0x300000;
	assert_int_equal(parse(FSIZE, &info, err), -EINVAL);
	assert_non_null(strstr(err, "kernel_alignment"));
}

static void test_setup_sects(void **state)
{
	struct bzimage_info info;
	char err[160];
	(void)state;
	make()->setup_sects = 0; /* means 4 */
	assert_int_equal(parse(FSIZE, &info, err), 0);
	assert_int_equal(info.setup_sects, 4);
	assert_int_equal(info.kernel_offset, 5 * 512);
	struct setup_header *h = make();
	h->setup_sects = 8; /* 9 sectors: kernel now starts at 4608 */
	h->syssize = 0;
	assert_int_equal(parse(FSIZE, &info, err), 0);
	assert_int_equal(info.kernel_offset, 9 * 512);
	assert_int_equal(info.kernel_size, FSIZE - 9 * 512);
}

static void test_short_file(void **state)
{
	struct bzimage_info info;
	char err[160];
	(void)state;
	make()->setup_sects = 30; /* setup longer than the file */
	assert_int_equal(parse(FSIZE, &info, err), -EINVAL);
	assert_non_null(strstr(err, "real-mode setup"));
	make();
	assert_int_equal(parse(SETUP, &info, err), -EINVAL);	  /* no kernel at all */
	assert_int_equal(parse(FSIZE - 16, &info, err), -EINVAL); /* syssize says more */
	assert_non_null(strstr(err, "truncated"));
	assert_int_equal(parse(FSIZE + 16, &info, err), 0); /* trailing bytes are fine */
}

/* Guest RAM [0, mib MiB) for load tests. */
struct ram {
	struct guest_mem gm;
	uint8_t *p;
	size_t len;
	struct e820_entry_kvmlab e820[8];
	struct bzimage_opts opts;
};

static void ram_init(struct ram *r, unsigned mib)
{
	int n;

	r->len = (size_t)mib * MIB;
	r->p = mmap(NULL, r->len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(r->p != MAP_FAILED);
	gm_init(&r->gm);
	assert_int_equal(gm_region_add(&r->gm, 0, r->len, r->p), 0);
	n = e820_build(r->e820, 8, r->len, 0);
	assert_int_equal(n, 3);
	memset(&r->opts, 0, sizeof(r->opts));
	r->opts.e820 = r->e820;
	r->opts.e820_nr = n;
}

static void ram_free(struct ram *r)
{
	munmap(r->p, r->len);
}

static int load(struct ram *r, struct bzimage_loaded *out, char *err)
{
	struct bzimage_info info;

	assert_int_equal(bzimage_parse(file, FSIZE, &info, err, 160), 0);
	return bzimage_load(file, FSIZE, &info, &r->gm, &r->opts, out, err, 160);
}

static void test_load_zero_page(void **state)
{
	static const uint8_t initrd[0x1800] = {1, 2, 3};
	struct ram r;
	struct bzimage_loaded out;
	const struct boot_params *bp;
	char err[160] = "";
	(void)state;
	make();
	ram_init(&r, 64);
	r.opts.cmdline = "console=ttyS0 quiet";
	r.opts.initrd = initrd;
	r.opts.initrd_size = sizeof(initrd);
	assert_int_equal(load(&r, &out, err), 0);
	assert_int_equal(out.entry, PREF + 0x200);
	assert_int_equal(out.rsi, 0x7000);
	assert_int_equal(out.load_addr, PREF);
	assert_int_equal(out.kernel_end, PREF + INIT_SIZE);
	assert_memory_equal(r.p + PREF, file + SETUP, KSIZE);
	/* initrd: page aligned, as high as possible, within RAM */
	assert_int_equal(out.initrd_addr, 64 * MIB - 0x2000);
	assert_memory_equal(r.p + out.initrd_addr, initrd, sizeof(initrd));
	assert_string_equal((char *)r.p + 0x20000, "console=ttyS0 quiet");

	bp = (const struct boot_params *)(r.p + 0x7000);
	assert_memory_equal(&bp->hdr.header, "HdrS", 4);
	assert_int_equal(bp->hdr.version, 0x20f);
	assert_int_equal(bp->hdr.boot_flag, 0xAA55);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_true(bp->hdr.loadflags & LOADED_HIGH);
	assert_true(bp->hdr.loadflags & CAN_USE_HEAP);
	assert_int_equal(bp->hdr.cmd_line_ptr, 0x20000);
	assert_int_equal(bp->ext_cmd_line_ptr, 0);
	assert_int_equal(bp->hdr.ramdisk_image, 64 * MIB - 0x2000);
	assert_int_equal(bp->hdr.ramdisk_size, sizeof(initrd));
	assert_int_equal(bp->ext_ramdisk_image, 0);
	assert_int_equal(bp->ext_ramdisk_size, 0);
	assert_int_equal(bp->e820_entries, 3);
	assert_int_equal(bp->e820_table[0].addr, 0);
	assert_int_equal(bp->e820_table[0].size, 0x9FC00);
	assert_int_equal(bp->e820_table[1].type, 2);
	assert_int_equal(bp->e820_table[2].addr, MIB);
	assert_int_equal(bp->e820_table[2].size, 63 * MIB);
	assert_int_equal(bp->e820_table[2].type, 1);
	assert_int_equal(bp->sentinel, 0);
	ram_free(&r);
}

static void test_cmdline_length(void **state)
{
	struct ram r;
	struct bzimage_loaded out;
	char err[160] = "", line[300];
	(void)state;
	make();
	ram_init(&r, 32);
	memset(line, 'a', sizeof(line));
	line[255] = 0; /* exactly cmdline_size */
	r.opts.cmdline = line;
	assert_int_equal(load(&r, &out, err), 0);
	assert_int_equal(strlen((char *)r.p + 0x20000), 255);
	line[255] = 'a';
	line[256] = 0;
	memset(r.p + 0x7000, 0, 0x1000);
	assert_int_equal(load(&r, &out, err), -EINVAL);
	assert_non_null(strstr(err, "--cmdline"));
	assert_non_null(strstr(err, "255"));
	assert_int_equal(r.p[0x7000 + 0x202], 0); /* nothing written */
	r.opts.cmdline = NULL;			  /* means empty */
	assert_int_equal(load(&r, &out, err), 0);
	assert_int_equal(r.p[0x20000], 0);
	ram_free(&r);
}

static void test_ram_too_small(void **state)
{
	struct ram r;
	struct bzimage_loaded out;
	char err[160] = "";
	(void)state;
	make();
	ram_init(&r, 18); /* kernel needs [16 MiB, 20 MiB) */
	assert_int_equal(load(&r, &out, err), -EINVAL);
	assert_non_null(strstr(err, "--memory too small for kernel (needs 20 MiB"));
	assert_int_equal(r.p[PREF], 0);
	assert_int_equal(r.p[0x7000 + 0x202], 0);
	ram_free(&r);
	ram_init(&r, 20); /* exactly enough */
	assert_int_equal(load(&r, &out, err), 0);
	ram_free(&r);
}

static void test_initrd_below_max(void **state)
{
	static uint8_t initrd[0x3000];
	struct ram r;
	struct bzimage_loaded out;
	char err[160] = "";
	(void)state;
	/* initrd_addr_max 32 MiB - 1: the initrd must end at or below 32 MiB */
	make()->initrd_addr_max = 32 * MIB - 1;
	ram_init(&r, 64);
	r.opts.initrd = initrd;
	r.opts.initrd_size = 0x2800;
	assert_int_equal(load(&r, &out, err), 0);
	assert_int_equal(out.initrd_addr, 32 * MIB - 0x3000);
	assert_true(out.initrd_addr + out.initrd_size <= 32 * MIB);
	ram_free(&r);

	/* the highest slot below the limit overlaps the kernel: go below it */
	make()->initrd_addr_max = PREF + INIT_SIZE + 0x1000 - 1;
	ram_init(&r, 64);
	r.opts.initrd = initrd;
	r.opts.initrd_size = 0x3000;
	assert_int_equal(load(&r, &out, err), 0);
	assert_int_equal(out.initrd_addr, PREF - 0x3000);
	assert_true(out.initrd_addr + out.initrd_size <= out.load_addr ||
		    out.initrd_addr >= out.kernel_end);
	ram_free(&r);
}

static void test_initrd_too_big(void **state)
{
	uint8_t *initrd = calloc(1, 16 * MIB);
	struct ram r;
	struct bzimage_loaded out;
	char err[160] = "";
	(void)state;
	assert_non_null(initrd);
	make();
	ram_init(&r, 32);
	r.opts.initrd = initrd;
	r.opts.initrd_size = 16 * MIB; /* 12 MiB free above the kernel, 15 below */
	assert_int_equal(load(&r, &out, err), -EINVAL);
	assert_non_null(strstr(err, "--initrd"));
	assert_int_equal(r.p[PREF], 0);
	r.opts.initrd_size = 12 * MIB; /* exactly fits above the kernel */
	assert_int_equal(load(&r, &out, err), 0);
	assert_int_equal(out.initrd_addr, 20 * MIB);
	ram_free(&r);
	free(initrd);
}

static void test_load_address(void **state)
{
	struct ram r;
	struct bzimage_loaded out;
	char err[160] = "";
	(void)state;
	make()->pref_address = PREF + 0x1000; /* rounded up to 2 MiB alignment */
	ram_init(&r, 64);
	assert_int_equal(load(&r, &out, err), 0);
	assert_int_equal(out.load_addr, PREF + 0x200000);
	assert_int_equal(out.entry, PREF + 0x200200);
	make()->pref_address = 0x1000; /* never into the boot area */
	assert_int_equal(load(&r, &out, err), 0);
	assert_int_equal(out.load_addr, 0x200000);
	struct setup_header *h = make();
	h->relocatable_kernel = 0;
	h->pref_address = 0x80000;
	assert_int_equal(load(&r, &out, err), -EINVAL);
	assert_non_null(strstr(err, "below 1 MiB"));
	ram_free(&r);
}

static void test_debian_kernel(void **state)
{
	struct bzimage_info info;
	struct stat st;
	glob_t g;
	uint8_t *k;
	char err[160] = "";
	int fd;
	(void)state;
	if (glob("/boot/vmlinuz-*", 0, NULL, &g) != 0 || g.gl_pathc == 0) {
		globfree(&g);
		skip();
	}
	fd = open(g.gl_pathv[0], O_RDONLY);
	globfree(&g);
	if (fd < 0)
		skip(); /* present but unreadable */
	assert_int_equal(fstat(fd, &st), 0);
	k = malloc((size_t)st.st_size);
	assert_non_null(k);
	assert_int_equal(read(fd, k, (size_t)st.st_size), st.st_size);
	close(fd);
	assert_int_equal(bzimage_parse(k, (size_t)st.st_size, &info, err, sizeof(err)), 0);
	assert_true(info.version >= 0x20f);
	assert_int_equal(info.relocatable, 1);
	assert_true(info.xloadflags & XLF_KERNEL_64);
	assert_true(info.init_size >= info.kernel_size);
	assert_true(info.cmdline_size >= 255);
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid),	   cmocka_unit_test(test_no_hdrs),
	    cmocka_unit_test(test_old_protocol),   cmocka_unit_test(test_flags_required),
	    cmocka_unit_test(test_setup_sects),	   cmocka_unit_test(test_short_file),
	    cmocka_unit_test(test_load_zero_page), cmocka_unit_test(test_cmdline_length),
	    cmocka_unit_test(test_ram_too_small),  cmocka_unit_test(test_initrd_below_max),
	    cmocka_unit_test(test_initrd_too_big), cmocka_unit_test(test_load_address),
	    cmocka_unit_test(test_debian_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
