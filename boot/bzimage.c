/* bzImage loading for the 64-bit boot protocol: setup header, kernel,
 * initrd, command line, zero page. */
#include "boot/bzimage.h"

#include <asm/bootparam.h>
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot/errmsg.h"
#include "boot/layout.h"

#define HDR_OFF	    0x1f1 /* struct setup_header inside the file/zero page */
#define MAGIC_OFF   0x202
#define SECTOR	    512
#define PAGE	    0x1000ULL
#define MIB	    (1ULL << 20)
#define GIB4	    (1ULL << 32)
#define ENTRY64_OFF 0x200 /* startup_64 relative to the load address */

static_assert(sizeof(struct boot_params) == BOOT_ZERO_PAGE_LEN, "zero page is one page");
static_assert(offsetof(struct boot_params, hdr) == HDR_OFF, "setup header offset");
static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "e820 table offset");
static_assert(offsetof(struct setup_header, header) == MAGIC_OFF - HDR_OFF, "HdrS offset");
static_assert(offsetof(struct setup_header, init_size) == 0x260 - HDR_OFF, "init_size");

int bzimage_parse(const uint8_t *file, size_t size, struct bzimage_info *info, char *err,
		  size_t errlen)
{
	struct setup_header h;
	uint64_t hdr_end, setup_size, sys_bytes;
	unsigned sects;

	if (size < MAGIC_OFF + 4 || memcmp(file + MAGIC_OFF, "HdrS", 4) != 0) {
		boot_err(-EINVAL, err, errlen, "no bzImage HdrS signature");
		return -ENOEXEC;
	}
	/* the header ends at 0x202 + the jump offset byte at 0x201 */
	hdr_end = MAGIC_OFF + (uint64_t)file[0x201];
	if (hdr_end > size)
		return boot_err(-EINVAL, err, errlen, "setup header truncated (file is %zu bytes)",
				size);
	memset(&h, 0, sizeof(h));
	memset(info, 0, sizeof(*info));
	info->hdr_len = hdr_end - HDR_OFF;
	if (info->hdr_len > sizeof(h))
		info->hdr_len = sizeof(h);
	memcpy(&h, file + HDR_OFF, info->hdr_len);

	info->version = h.version;
	if (h.version < 0x206)
		return boot_err(-EINVAL, err, errlen,
				"boot protocol %u.%02u is too old (need 2.06 or later)",
				h.version >> 8, h.version & 0xff);
	info->loadflags = h.loadflags;
	if (!(h.loadflags & LOADED_HIGH))
		return boot_err(-EINVAL, err, errlen,
				"kernel is not LOADED_HIGH (old zImage format)");
	info->xloadflags = h.version >= 0x20c ? h.xloadflags : 0;
	if (!(info->xloadflags & XLF_KERNEL_64))
		return boot_err(-EINVAL, err, errlen,
				"kernel has no 64-bit entry point (XLF_KERNEL_64 unset)");

	sects = h.setup_sects ? h.setup_sects : 4;
	info->setup_sects = (uint8_t)sects;
	setup_size = (uint64_t)(sects + 1) * SECTOR;
	if (setup_size >= size)
		return boot_err(-EINVAL, err, errlen,
				"file ends inside the real-mode setup (%zu < %llu bytes)", size,
				(unsigned long long)setup_size + 1);
	info->kernel_offset = setup_size;
	info->kernel_size = size - setup_size;
	sys_bytes = (uint64_t)h.syssize * 16;
	if (sys_bytes > info->kernel_size)
		return boot_err(
		    -EINVAL, err, errlen, "file truncated: kernel is %llu bytes, header says %llu",
		    (unsigned long long)info->kernel_size, (unsigned long long)sys_bytes);

	info->relocatable = h.relocatable_kernel;
	info->kernel_alignment = h.kernel_alignment;
	if (info->relocatable &&
	    (h.kernel_alignment == 0 || (h.kernel_alignment & (h.kernel_alignment - 1)) != 0))
		return boot_err(-EINVAL, err, errlen, "kernel_alignment 0x%x is not a power of two",
				h.kernel_alignment);
	info->pref_address = h.version >= 0x20a ? h.pref_address : BOOT_HIGH_START;
	info->init_size = h.version >= 0x20a ? h.init_size : 0;
	info->initrd_addr_max = h.initrd_addr_max ? h.initrd_addr_max : 0x37ffffff;
	info->cmdline_size = h.cmdline_size;
	return 0;
}

/* Highest page-aligned start for len bytes inside [lo, hi) that is guest
 * RAM, or 0 if none (0 is never a valid answer: lo >= BOOT_HIGH_START). */
static uint64_t place_top(const struct guest_mem *gm, uint64_t lo, uint64_t hi, uint64_t len)
{
	struct iovec iov[GM_MAX_REGIONS];
	uint64_t start;

	if (hi <= lo || hi - lo < len)
		return 0;
	start = (hi - len) & ~(PAGE - 1);
	if (start < lo || gm_iov(gm, start, len, iov, GM_MAX_REGIONS) < 0)
		return 0;
	return start;
}

/* Choose the initrd address: as high as possible in e820 RAM below limit,
 * at or above BOOT_HIGH_START, not overlapping [kload, kend).  0 if none. */
static uint64_t place_initrd(const struct guest_mem *gm, const struct bzimage_opts *opts,
			     uint64_t limit, uint64_t kload, uint64_t kend, uint64_t len)
{
	uint64_t best = 0;

	for (int i = 0; i < opts->e820_nr; i++) {
		const struct e820_entry_kvmlab *e = &opts->e820[i];
		uint64_t lo = e->addr, hi, s;

		if (e->type != E820_TYPE_RAM)
			continue;
		if (__builtin_add_overflow(e->addr, e->size, &hi))
			hi = UINT64_MAX;
		if (lo < BOOT_HIGH_START)
			lo = BOOT_HIGH_START;
		if (hi > limit)
			hi = limit;
		s = place_top(gm, lo, hi, len);
		if (s != 0 && s < kend && s + len > kload) /* overlaps: try below */
			s = place_top(gm, lo, hi < kload ? hi : kload, len);
		if (s > best)
			best = s;
	}
	return best;
}

static void fill_zero_page(struct boot_params *bp, const uint8_t *file,
			   const struct bzimage_info *info, const struct bzimage_opts *opts,
			   const struct bzimage_loaded *out)
{
	memset(bp, 0, sizeof(*bp));
	memcpy(&bp->hdr, file + HDR_OFF, info->hdr_len);
	bp->hdr.setup_sects = info->setup_sects;
	bp->hdr.type_of_loader = 0xff; /* undefined loader */
	bp->hdr.loadflags =
	    (uint8_t)((info->loadflags | CAN_USE_HEAP) & ~(QUIET_FLAG | KEEP_SEGMENTS));
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE_GPA;
	bp->ext_cmd_line_ptr = (uint32_t)(BOOT_CMDLINE_GPA >> 32);
	bp->hdr.ramdisk_image = (uint32_t)out->initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)out->initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(out->initrd_addr >> 32);
	bp->ext_ramdisk_size = (uint32_t)(out->initrd_size >> 32);
	bp->hdr.hardware_subarch = X86_SUBARCH_PC;
	bp->hdr.setup_data = 0;
	bp->e820_entries = (uint8_t)opts->e820_nr;
	for (int i = 0; i < opts->e820_nr; i++) {
		bp->e820_table[i].addr = opts->e820[i].addr;
		bp->e820_table[i].size = opts->e820[i].size;
		bp->e820_table[i].type = opts->e820[i].type;
	}
}

/* The load address of the protected-mode kernel, or 0 on error. */
static uint64_t load_address(const struct bzimage_info *info, char *err, size_t errlen)
{
	uint64_t base = info->pref_address, align = info->kernel_alignment, load;

	if (!info->relocatable) {
		if (base < BOOT_HIGH_START)
			boot_err(-EINVAL, err, errlen,
				 "non-relocatable kernel wants address 0x%llx below 1 MiB",
				 (unsigned long long)base);
		return base < BOOT_HIGH_START ? 0 : base;
	}
	if (base < BOOT_HIGH_START)
		base = BOOT_HIGH_START;
	if (__builtin_add_overflow(base, align - 1, &load) || load >= GIB4) {
		boot_err(-EINVAL, err, errlen,
			 "kernel pref_address 0x%llx is not loadable below 4 GiB",
			 (unsigned long long)info->pref_address);
		return 0;
	}
	return load & ~(align - 1);
}

int bzimage_load(const uint8_t *file, size_t size, const struct bzimage_info *info,
		 const struct guest_mem *gm, const struct bzimage_opts *opts,
		 struct bzimage_loaded *out, char *err, size_t errlen)
{
	struct iovec iov[GM_MAX_REGIONS];
	struct boot_params bp;
	const char *cmdline = opts->cmdline ? opts->cmdline : "";
	size_t cmdlen = strlen(cmdline), cmdmax;
	uint64_t load, need, kend, limit;

	if (info->kernel_offset > size || info->kernel_size > size - info->kernel_offset)
		return boot_err(-EINVAL, err, errlen, "bzImage info does not match the file");
	if (opts->e820_nr < 0 || opts->e820_nr > E820_MAX_ENTRIES_ZEROPAGE)
		return boot_err(-EINVAL, err, errlen, "%d e820 entries (zero page holds %d)",
				opts->e820_nr, E820_MAX_ENTRIES_ZEROPAGE);
	if (gm_iov(gm, BOOT_ZERO_PAGE_GPA, BOOT_ZERO_PAGE_LEN, iov, GM_MAX_REGIONS) < 0 ||
	    gm_iov(gm, BOOT_CMDLINE_GPA, BOOT_CMDLINE_MAX, iov, GM_MAX_REGIONS) < 0)
		return boot_err(-EINVAL, err, errlen,
				"--memory too small: the boot area below 1 MiB is not RAM");
	memset(out, 0, sizeof(*out));

	load = load_address(info, err, errlen);
	if (load == 0)
		return -EINVAL;
	need = info->init_size > info->kernel_size ? info->init_size : info->kernel_size;
	if (__builtin_add_overflow(load, need, &kend) ||
	    gm_iov(gm, load, need, iov, GM_MAX_REGIONS) < 0)
		return boot_err(
		    -EINVAL, err, errlen,
		    "--memory too small for kernel (needs %llu MiB: 0x%llx bytes at 0x%llx)",
		    (unsigned long long)((kend + MIB - 1) / MIB), (unsigned long long)need,
		    (unsigned long long)load);

	cmdmax =
	    info->cmdline_size < BOOT_CMDLINE_MAX - 1 ? info->cmdline_size : BOOT_CMDLINE_MAX - 1;
	if (cmdlen > cmdmax)
		return boot_err(-EINVAL, err, errlen,
				"--cmdline is %zu bytes; this kernel accepts at most %zu", cmdlen,
				cmdmax);

	if (opts->initrd_size > 0) {
		limit = (uint64_t)info->initrd_addr_max + 1;
		if (limit > GIB4)
			limit = GIB4;
		out->initrd_size = opts->initrd_size;
		out->initrd_addr = place_initrd(gm, opts, limit, load, kend, opts->initrd_size);
		if (out->initrd_addr == 0)
			return boot_err(
			    -EINVAL, err, errlen,
			    "--initrd of %zu bytes does not fit in guest RAM below 0x%llx "
			    "beside the kernel (increase --memory)",
			    opts->initrd_size, (unsigned long long)limit);
	}
	out->entry = load + ENTRY64_OFF;
	out->rsi = BOOT_ZERO_PAGE_GPA;
	out->load_addr = load;
	out->kernel_end = kend;
	fill_zero_page(&bp, file, info, opts, out);

	/* every range was checked above; these cannot fail */
	gm_write(gm, load, file + info->kernel_offset, info->kernel_size);
	if (out->initrd_size)
		gm_write(gm, out->initrd_addr, opts->initrd, out->initrd_size);
	gm_write(gm, BOOT_CMDLINE_GPA, cmdline, cmdlen + 1);
	gm_write(gm, BOOT_ZERO_PAGE_GPA, &bp, sizeof(bp));
	return 0;
}
