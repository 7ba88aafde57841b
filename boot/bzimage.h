/* Linux x86 boot protocol (Documentation/arch/x86/boot.rst): parse a
 * bzImage setup header and load it for the 64-bit entry point. */
#ifndef KVMLAB_BOOT_BZIMAGE_H
#define KVMLAB_BOOT_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "boot/e820.h"
#include "mem/guest_mem.h"

/* Fields of the setup header we act on (defaults filled for old versions). */
struct bzimage_info {
	uint16_t version;    /* boot protocol, e.g. 0x20f = 2.15 */
	uint8_t setup_sects; /* real-mode setup sectors (0 in file means 4) */
	uint8_t loadflags;
	uint16_t xloadflags; /* 0 before protocol 2.12 */
	uint8_t relocatable;
	uint32_t kernel_alignment; /* power of two when relocatable */
	uint64_t pref_address;
	uint32_t init_size;	  /* bytes the kernel needs from its load address */
	uint32_t initrd_addr_max; /* highest byte the initrd may occupy */
	uint32_t cmdline_size;	  /* max command line length without the NUL */
	uint64_t kernel_offset;	  /* file offset of the protected-mode kernel */
	uint64_t kernel_size;	  /* its length in bytes */
	uint64_t hdr_len;	  /* setup header bytes from 0x1f1 to copy */
};

/* What the caller wants passed to the kernel. */
struct bzimage_opts {
	const char *cmdline;   /* NULL means empty */
	const uint8_t *initrd; /* NULL / 0 for none */
	size_t initrd_size;
	const struct e820_entry_kvmlab *e820; /* memory map for the zero page */
	int e820_nr;			      /* 0..128 */
};

/* Where things landed. */
struct bzimage_loaded {
	uint64_t entry;	      /* 64-bit entry point: load address + 0x200 */
	uint64_t rsi;	      /* zero page address (BOOT_ZERO_PAGE_GPA) */
	uint64_t load_addr;   /* protected-mode kernel */
	uint64_t kernel_end;  /* load_addr + max(init_size, kernel_size) */
	uint64_t initrd_addr; /* 0 if none */
	uint64_t initrd_size;
};

/* Parse the setup header of file.  Returns 0 and fills *info; -ENOEXEC if
 * there is no "HdrS" signature at 0x202 (not a bzImage); -EINVAL with a
 * reason in err (errlen bytes) if the protocol is older than 2.06, the
 * kernel is not LOADED_HIGH, lacks XLF_KERNEL_64 (a 64-bit entry point),
 * has a bad kernel_alignment, or the file ends before the kernel does. */
int bzimage_parse(const uint8_t *file, size_t size, struct bzimage_info *info, char *err,
		  size_t errlen);

/* Load a parsed bzImage into gm: the protected-mode kernel at pref_address
 * (rounded up to kernel_alignment, and to at least BOOT_HIGH_START when
 * relocatable), checking [load, load + max(init_size, kernel_size)) is guest
 * RAM; the initrd page-aligned as high as possible in an e820 RAM range at or
 * above BOOT_HIGH_START, below min(initrd_addr_max + 1, 4 GiB) and outside
 * the kernel's range; the command line at BOOT_CMDLINE_GPA (at most
 * min(cmdline_size, BOOT_CMDLINE_MAX - 1) characters); and the zero page at
 * BOOT_ZERO_PAGE_GPA (setup header copied from the file, type_of_loader
 * 0xff, CAN_USE_HEAP, cmd_line_ptr, ramdisk fields, e820 table).
 * Every range is checked before anything is written.  Returns 0 and fills
 * *out, or -EINVAL with an error naming the option to change (--memory,
 * --initrd, --cmdline) in err; guest RAM is not touched on failure. */
int bzimage_load(const uint8_t *file, size_t size, const struct bzimage_info *info,
		 const struct guest_mem *gm, const struct bzimage_opts *opts,
		 struct bzimage_loaded *out, char *err, size_t errlen);

#endif
