/* ELF64 loader: validate everything, then copy. */
#include "boot/elf.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot/errmsg.h"
#include "boot/layout.h"

bool elf_probe(const uint8_t *file, size_t size)
{
	return size >= SELFMAG && memcmp(file, ELFMAG, SELFMAG) == 0;
}

static int check_header(const Elf64_Ehdr *eh, size_t size, char *err, size_t errlen)
{
	uint64_t phbytes, phend;

	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return boot_err(-EINVAL, err, errlen, "not a 64-bit ELF (class %u)",
				eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return boot_err(-EINVAL, err, errlen, "not a little-endian ELF");
	if (eh->e_machine != EM_X86_64)
		return boot_err(-EINVAL, err, errlen, "ELF machine %u is not x86-64",
				eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return boot_err(-EINVAL, err, errlen, "ELF type %u is not an executable (ET_EXEC)",
				eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return boot_err(-EINVAL, err, errlen, "ELF program header size %u, expected %zu",
				eh->e_phentsize, sizeof(Elf64_Phdr));
	if (eh->e_phnum == 0 || eh->e_phnum == PN_XNUM)
		return boot_err(-EINVAL, err, errlen, "ELF has %s program headers",
				eh->e_phnum == 0 ? "no" : "extended-count");
	phbytes = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
	if (__builtin_add_overflow(eh->e_phoff, phbytes, &phend) || phend > size)
		return boot_err(-EINVAL, err, errlen,
				"program headers [0x%llx+0x%llx] beyond end of file (%zu)",
				(unsigned long long)eh->e_phoff, (unsigned long long)phbytes, size);
	return 0;
}

static int check_segment(unsigned i, const Elf64_Phdr *ph, size_t size, const struct guest_mem *gm,
			 char *err, size_t errlen)
{
	struct iovec iov[GM_MAX_REGIONS];
	uint64_t fend, mend;

	if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &fend) || fend > size)
		return boot_err(-EINVAL, err, errlen,
				"segment %u file range [0x%llx+0x%llx] beyond end of file (%zu)", i,
				(unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz,
				size);
	if (ph->p_filesz > ph->p_memsz)
		return boot_err(-EINVAL, err, errlen, "segment %u filesz 0x%llx > memsz 0x%llx", i,
				(unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
	if (__builtin_add_overflow(ph->p_paddr, ph->p_memsz, &mend))
		return boot_err(-EINVAL, err, errlen, "segment %u [0x%llx+0x%llx] wraps around", i,
				(unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
	if (ph->p_paddr < BOOT_HIGH_START)
		return boot_err(-EINVAL, err, errlen,
				"segment %u [0x%llx+0x%llx] overlaps the boot area below 0x%llx", i,
				(unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz,
				BOOT_HIGH_START);
	if (gm_iov(gm, ph->p_paddr, ph->p_memsz, iov, GM_MAX_REGIONS) < 0)
		return boot_err(-EINVAL, err, errlen,
				"segment %u [0x%llx+0x%llx] outside guest RAM", i,
				(unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
	return 0;
}

/* Program header i, copied out (the file buffer may be unaligned). */
static Elf64_Phdr phdr(const uint8_t *file, const Elf64_Ehdr *eh, unsigned i)
{
	Elf64_Phdr ph;

	memcpy(&ph, file + eh->e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
	return ph;
}

static void copy_segment(const uint8_t *file, const Elf64_Phdr *ph, const struct guest_mem *gm)
{
	struct iovec iov[GM_MAX_REGIONS];
	uint64_t done = 0;
	int n = gm_iov(gm, ph->p_paddr, ph->p_memsz, iov, GM_MAX_REGIONS);

	/* n >= 0: checked in check_segment */
	for (int k = 0; k < n; k++) {
		uint8_t *dst = iov[k].iov_base;
		uint64_t len = iov[k].iov_len, fcopy = 0;

		if (done < ph->p_filesz) {
			fcopy = ph->p_filesz - done;
			if (fcopy > len)
				fcopy = len;
			memcpy(dst, file + ph->p_offset + done, fcopy);
		}
		memset(dst + fcopy, 0, len - fcopy);
		done += len;
	}
}

int elf_load(const uint8_t *file, size_t size, const struct guest_mem *gm, uint64_t *entry,
	     uint64_t *end, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	uint64_t hi = 0;
	bool entry_ok = false;
	unsigned nload = 0;
	int rc;

	if (!elf_probe(file, size)) {
		boot_err(-EINVAL, err, errlen, "no ELF magic");
		return -ENOEXEC;
	}
	if (size < sizeof(eh))
		return boot_err(-EINVAL, err, errlen, "truncated ELF header (%zu bytes)", size);
	memcpy(&eh, file, sizeof(eh));
	rc = check_header(&eh, size, err, errlen);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = phdr(file, &eh, i);

		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		rc = check_segment(i, &ph, size, gm, err, errlen);
		if (rc < 0)
			return rc;
		nload++;
		if (ph.p_paddr + ph.p_memsz > hi)
			hi = ph.p_paddr + ph.p_memsz;
		if (eh.e_entry >= ph.p_paddr && eh.e_entry - ph.p_paddr < ph.p_filesz)
			entry_ok = true;
	}
	if (nload == 0)
		return boot_err(-EINVAL, err, errlen, "ELF has no loadable segments");
	if (!entry_ok)
		return boot_err(-EINVAL, err, errlen,
				"entry point 0x%llx is not inside a loaded segment",
				(unsigned long long)eh.e_entry);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = phdr(file, &eh, i);

		if (ph.p_type == PT_LOAD && ph.p_memsz != 0)
			copy_segment(file, &ph, gm);
	}
	*entry = eh.e_entry;
	*end = hi;
	return 0;
}
