/* ELF64 x86-64 executable loader (for test guests and plain vmlinux-style
 * images), copying PT_LOAD segments to their physical addresses. */
#ifndef KVMLAB_BOOT_ELF_H
#define KVMLAB_BOOT_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/guest_mem.h"

/* True if file starts with the ELF magic (whatever its class or machine). */
bool elf_probe(const uint8_t *file, size_t size);

/* Validate the whole image first, then copy each PT_LOAD segment's filesz
 * bytes to p_paddr and zero the rest up to memsz.  Checks: 64-bit, little
 * endian, x86-64, ET_EXEC, e_phentsize, program headers and every segment's
 * file range inside the file, filesz <= memsz, [paddr, paddr + memsz) inside
 * guest RAM and at or above BOOT_HIGH_START (the low MiB holds the boot
 * structures), at least one non-empty PT_LOAD, and e_entry inside the file
 * bytes of a loaded segment.  All arithmetic is overflow-checked.
 * On success returns 0 with *entry = e_entry and *end = highest
 * paddr + memsz.  Returns -ENOEXEC if the file has no ELF magic (so callers
 * can try another format) and -EINVAL for any other problem, with a short
 * human-readable reason in err (errlen bytes, may be 0); guest RAM is not
 * touched on failure. */
int elf_load(const uint8_t *file, size_t size, const struct guest_mem *gm, uint64_t *entry,
	     uint64_t *end, char *err, size_t errlen);

#endif
