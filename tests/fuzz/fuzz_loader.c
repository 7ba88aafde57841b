/* libFuzzer target: the ELF64 and bzImage loaders over a fuzzer-supplied
 * kernel image, into a fake guest memory filled with a canary.
 *
 * Guest memory (sparse, 1.25 MiB of host memory): the zero page
 * [0x7000, 0x8000), the command line [0x20000, 0x21000), then
 * [1 MiB, 1.25 MiB) and [1.25 MiB, 1.5 MiB) adjacent, [2 MiB, 2.25 MiB),
 * and [4 GiB - 256 KiB, 4 GiB) adjacent to [4 GiB, 4 GiB + 256 KiB).
 *
 * Input: a 2-byte header, then the image.
 *   [0] bits 0-1 command line: none, "console=ttyS0", 200 or 3000 bytes;
 *       bits 2-4 initrd size: 0, 1, 4095, 4096, 100000, 256 KiB,
 *       512 KiB, 12345 bytes
 *   [1] bits 0-1 e820 map: the RAM regions above, one RAM range
 *       [1 MiB, 8 GiB), none, or up to 3 entries from the 27 bytes after
 *       the header (LE32 address >> 12, LE32 size >> 12, type; these
 *       bytes are then not part of the image)
 * Both loaders see every image (each checks its own magic).  Checked: on
 * failure the reason is a non-empty string and guest memory still holds
 * the canary everywhere; on success only the documented ranges changed
 * (segments; kernel, initrd, command line, zero page) and they hold what
 * they should, the kernel and initrd lie in RAM at or above 1 MiB without
 * overlapping, aligned as the header asks, the initrd below its limit, and
 * the zero page points at them. */
#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/bzimage.h"
#include "boot/e820.h"
#include "boot/elf.h"
#include "boot/layout.h"
#include "mem/guest_mem.h"

#define KIB	   (1ULL << 10)
#define MIB	   (1ULL << 20)
#define GIB4	   (1ULL << 32)
#define HEADER	   2
#define CANARY	   0xcc
#define NREGIONS   7
#define HOST_SIZE  (2 * 4 * KIB + 5 * 256 * KIB)
#define INITRD_MAX (512 * KIB)

/* An invariant failed: crash so libFuzzer keeps the input. */
#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static const struct {
	uint64_t gpa, size;
} regions[NREGIONS] = {
    {BOOT_ZERO_PAGE_GPA, 4 * KIB},
    {BOOT_CMDLINE_GPA, 4 * KIB},
    {MIB, 256 * KIB},
    {MIB + 256 * KIB, 256 * KIB},
    {2 * MIB, 256 * KIB},
    {GIB4 - 256 * KIB, 256 * KIB},
    {GIB4, 256 * KIB},
};

static uint8_t mem[HOST_SIZE];
static uint8_t canary[HOST_SIZE];
static uint8_t initrd[INITRD_MAX];
static uint8_t buf[256 * KIB]; /* guest bytes read back */
static char cmdline[3001];
static struct guest_mem gm;

/* Read [gpa, gpa + len) (in RAM) piece by piece and compare it with want
 * (NULL: zeroes), then put the canary back. */
static void expect(uint64_t gpa, uint64_t len, const uint8_t *want)
{
	while (len) {
		uint64_t n = len < sizeof(buf) ? len : sizeof(buf);

		CHECK(gm_read(&gm, gpa, buf, n) == 0);
		if (want) {
			CHECK(memcmp(buf, want, n) == 0);
			want += n;
		} else {
			for (uint64_t i = 0; i < n; i++)
				CHECK(buf[i] == 0);
		}
		CHECK(gm_write(&gm, gpa, canary, n) == 0);
		gpa += n;
		len -= n;
	}
}

/* Put the canary back on [gpa, gpa + len) (in RAM). */
static void restore(uint64_t gpa, uint64_t len)
{
	while (len) {
		uint64_t n = len < sizeof(canary) ? len : sizeof(canary);

		CHECK(gm_write(&gm, gpa, canary, n) == 0);
		gpa += n;
		len -= n;
	}
}

/* Nothing else was written. */
static void untouched(void)
{
	CHECK(memcmp(mem, canary, sizeof(mem)) == 0);
}

static bool in_ram(uint64_t gpa, uint64_t len)
{
	struct iovec iov[GM_MAX_REGIONS];

	return gm_iov(&gm, gpa, len, iov, GM_MAX_REGIONS) >= 0;
}

static void check_err(const char *err)
{
	CHECK(err[0] != '\0' && memchr(err, '\0', 256) != NULL);
}

static void run_elf(const uint8_t *file, size_t size)
{
	char err[256] = "";
	uint64_t entry = 0, end = 0, hi = 0;
	Elf64_Ehdr eh;
	bool overlap = false, entry_ok = false;
	int r = elf_load(file, size, &gm, &entry, &end, err, sizeof(err));

	CHECK(r == 0 || r == -EINVAL || r == -ENOEXEC);
	CHECK((r == -ENOEXEC) == !elf_probe(file, size));
	if (r) {
		check_err(err);
		untouched();
		return;
	}
	memcpy(&eh, file, sizeof(eh));
	CHECK(eh.e_phnum > 0 && eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) <= size);
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr a;

		memcpy(&a, file + eh.e_phoff + i * sizeof(a), sizeof(a));
		if (a.p_type != PT_LOAD || a.p_memsz == 0)
			continue;
		CHECK(a.p_paddr >= BOOT_HIGH_START && in_ram(a.p_paddr, a.p_memsz));
		CHECK(a.p_filesz <= a.p_memsz && a.p_offset + a.p_filesz <= size);
		if (a.p_paddr + a.p_memsz > hi)
			hi = a.p_paddr + a.p_memsz;
		if (entry >= a.p_paddr && entry - a.p_paddr < a.p_filesz)
			entry_ok = true;
		for (unsigned int j = 0; j < i; j++) {
			Elf64_Phdr b;

			memcpy(&b, file + eh.e_phoff + j * sizeof(b), sizeof(b));
			if (b.p_type == PT_LOAD && b.p_memsz && a.p_paddr < b.p_paddr + b.p_memsz &&
			    b.p_paddr < a.p_paddr + a.p_memsz)
				overlap = true;
		}
	}
	CHECK(entry == eh.e_entry && entry_ok && end == hi);
	/* each segment: its file bytes, then zeroes (unless another segment
	 * wrote over it); then the canary goes back */
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr a;

		memcpy(&a, file + eh.e_phoff + i * sizeof(a), sizeof(a));
		if (a.p_type != PT_LOAD || a.p_memsz == 0)
			continue;
		if (overlap) {
			restore(a.p_paddr, a.p_memsz);
			continue;
		}
		expect(a.p_paddr, a.p_filesz, file + a.p_offset);
		expect(a.p_paddr + a.p_filesz, a.p_memsz - a.p_filesz, NULL);
	}
	untouched();
}

static void run_bzimage(const uint8_t *file, size_t size, const struct bzimage_opts *o)
{
	struct bzimage_info info;
	struct bzimage_loaded out;
	struct boot_params bp;
	char err[256] = "";
	uint64_t need, limit;
	size_t cmdlen = o->cmdline ? strlen(o->cmdline) : 0;
	int r = bzimage_parse(file, size, &info, err, sizeof(err));

	CHECK(r == 0 || r == -EINVAL || r == -ENOEXEC);
	if (r) {
		check_err(err);
		return;
	}
	CHECK(info.version >= 0x206 && (info.xloadflags & XLF_KERNEL_64) &&
	      (info.loadflags & LOADED_HIGH));
	CHECK(info.setup_sects >= 1 && info.kernel_offset == (info.setup_sects + 1ULL) * 512);
	CHECK(info.kernel_offset + info.kernel_size == size && info.kernel_size > 0);
	CHECK(info.hdr_len <= sizeof(struct setup_header) && 0x1f1 + info.hdr_len <= size);
	CHECK(!info.relocatable ||
	      (info.kernel_alignment && !(info.kernel_alignment & (info.kernel_alignment - 1))));

	r = bzimage_load(file, size, &info, &gm, o, &out, err, sizeof(err));
	CHECK(r == 0 || r == -EINVAL);
	if (r) {
		check_err(err);
		untouched();
		return;
	}
	need = info.init_size > info.kernel_size ? info.init_size : info.kernel_size;
	CHECK(out.load_addr >= BOOT_HIGH_START && out.entry == out.load_addr + 0x200);
	CHECK(out.kernel_end == out.load_addr + need && in_ram(out.load_addr, need));
	if (info.relocatable)
		CHECK(out.load_addr % info.kernel_alignment == 0 && out.load_addr < GIB4);
	else
		CHECK(out.load_addr == info.pref_address);
	CHECK(out.rsi == BOOT_ZERO_PAGE_GPA);
	CHECK(cmdlen <= info.cmdline_size && cmdlen < BOOT_CMDLINE_MAX);
	if (o->initrd_size) {
		bool in_e820 = false;

		limit = (uint64_t)info.initrd_addr_max + 1 < GIB4
			    ? (uint64_t)info.initrd_addr_max + 1
			    : GIB4;
		CHECK(out.initrd_size == o->initrd_size && out.initrd_addr % 4096 == 0);
		CHECK(out.initrd_addr >= BOOT_HIGH_START &&
		      in_ram(out.initrd_addr, out.initrd_size));
		CHECK(out.initrd_addr + out.initrd_size <= limit);
		CHECK(out.initrd_addr >= out.kernel_end ||
		      out.initrd_addr + out.initrd_size <= out.load_addr);
		for (int i = 0; i < o->e820_nr; i++)
			if (o->e820[i].type == E820_TYPE_RAM &&
			    out.initrd_addr >= o->e820[i].addr &&
			    out.initrd_addr + out.initrd_size - o->e820[i].addr <= o->e820[i].size)
				in_e820 = true;
		CHECK(in_e820);
	} else {
		CHECK(out.initrd_addr == 0 && out.initrd_size == 0);
	}

	/* the zero page */
	CHECK(gm_read(&gm, BOOT_ZERO_PAGE_GPA, &bp, sizeof(bp)) == 0);
	CHECK(bp.hdr.type_of_loader == 0xff && (bp.hdr.loadflags & CAN_USE_HEAP));
	CHECK(bp.hdr.cmd_line_ptr == BOOT_CMDLINE_GPA && bp.ext_cmd_line_ptr == 0);
	CHECK(bp.hdr.ramdisk_image == (uint32_t)out.initrd_addr && bp.ext_ramdisk_image == 0);
	CHECK(bp.hdr.ramdisk_size == out.initrd_size);
	CHECK(bp.hdr.setup_sects == info.setup_sects && bp.e820_entries == o->e820_nr);
	CHECK(memcmp(&bp.hdr.version, file + 0x1f1 + offsetof(struct setup_header, version), 2) ==
	      0);
	for (int i = 0; i < o->e820_nr; i++)
		CHECK(bp.e820_table[i].addr == o->e820[i].addr &&
		      bp.e820_table[i].size == o->e820[i].size &&
		      bp.e820_table[i].type == o->e820[i].type);
	CHECK(gm_write(&gm, BOOT_ZERO_PAGE_GPA, canary, sizeof(bp)) == 0);

	/* kernel, initrd, command line: then nothing else changed */
	expect(out.load_addr, info.kernel_size, file + info.kernel_offset);
	if (out.initrd_size)
		expect(out.initrd_addr, out.initrd_size, initrd);
	expect(BOOT_CMDLINE_GPA, cmdlen + 1, (const uint8_t *)(o->cmdline ? o->cmdline : ""));
	untouched();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const size_t initrd_sizes[8] = {0,      1,	  4095,	      4096,
					       100000, 256 * KIB, INITRD_MAX, 12345};
	struct e820_entry_kvmlab e820[NREGIONS];
	struct bzimage_opts o;
	const uint8_t *file;
	size_t size;

	if (len < HEADER)
		return 0;
	if (!canary[0]) {
		uint64_t off = 0;

		memset(canary, CANARY, sizeof(canary));
		memset(mem, CANARY, sizeof(mem));
		for (size_t i = 0; i < sizeof(initrd); i++)
			initrd[i] = (uint8_t)(i * 13 + i / 4096);
		memset(cmdline, 'x', sizeof(cmdline) - 1);
		memcpy(cmdline, "console=ttyS0 ", 14);
		gm_init(&gm);
		for (unsigned int i = 0; i < NREGIONS; i++) {
			CHECK(gm_region_add(&gm, regions[i].gpa, regions[i].size, mem + off) == 0);
			off += regions[i].size;
		}
		CHECK(off == HOST_SIZE);
	}
	file = data + HEADER;
	size = len - HEADER;

	memset(&o, 0, sizeof(o));
	switch (data[0] & 3) {
	case 0:
		break;
	case 1:
		o.cmdline = "console=ttyS0";
		break;
	case 2:
		cmdline[200] = '\0';
		o.cmdline = cmdline;
		break;
	default:
		cmdline[200] = 'x';
		o.cmdline = cmdline;
		break;
	}
	o.initrd_size = initrd_sizes[(data[0] >> 2) & 7];
	o.initrd = o.initrd_size ? initrd : NULL;
	o.e820 = e820;
	switch (data[1] & 3) {
	case 0:
		for (unsigned int i = 0; i < NREGIONS; i++)
			e820[i] = (struct e820_entry_kvmlab){regions[i].gpa, regions[i].size,
							     E820_TYPE_RAM};
		o.e820_nr = NREGIONS;
		break;
	case 1:
		e820[0] = (struct e820_entry_kvmlab){MIB, 8 * GIB4 - MIB, E820_TYPE_RAM};
		o.e820_nr = 1;
		break;
	case 2:
		break;
	default:
		for (unsigned int i = 0; i < 3 && size >= 9; i++) {
			uint32_t a, s;

			memcpy(&a, file, 4);
			memcpy(&s, file + 4, 4);
			e820[i] = (struct e820_entry_kvmlab){(uint64_t)a << 12, (uint64_t)s << 12,
							     file[8]};
			o.e820_nr++;
			file += 9;
			size -= 9;
		}
		break;
	}

	run_elf(file, size);
	run_bzimage(file, size, &o);
	return 0;
}
