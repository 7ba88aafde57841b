/* Kernel loading entry point: files in, guest RAM + entry state out. */
#include "boot/loader.h"

#include <asm/bootparam.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "boot/apic_ids.h"
#include "boot/bzimage.h"
#include "boot/errmsg.h"
#include "boot/e820.h"
#include "boot/elf.h"
#include "boot/layout.h"
#include "boot/mptable.h"
#include "boot/x86_boot.h"

#define GIB4 (1ULL << 32)

/* Both the MP table and the ACPI MADT describe every CPU. */
#define MAX_CPUS (ACPI_MAX_CPUS < MPTABLE_MAX_CPUS ? ACPI_MAX_CPUS : MPTABLE_MAX_CPUS)

/* Boot protocol 2.14 added boot_params.acpi_rsdp_addr. */
#define PROTO_ACPI_RSDP 0x20e

static_assert(MPTABLE_FLOAT_LEN + MPTABLE_HDR_LEN + MPTABLE_MAX_CPUS * MPTABLE_CPU_LEN +
		      (2 + MPTABLE_NR_INTSRC + MPTABLE_NR_LINTSRC) * MPTABLE_ENTRY_LEN <=
		  BOOT_MPTABLE_MAX,
	      "MP table for MPTABLE_MAX_CPUS exceeds BOOT_MPTABLE_MAX");
static_assert(ACPI_MAX_BYTES <= ACPI_TABLES_MAX, "ACPI tables exceed ACPI_TABLES_MAX");
static_assert(offsetof(struct boot_params, acpi_rsdp_addr) == 0x070, "acpi_rsdp_addr offset");

/* Real-mode code for the reset vector.  Without firmware nothing else is
 * there, and Linux with hardware-reduced ACPI and no EFI reboots by jumping
 * to it (reboot_type BOOT_EFI, which falls through to BOOT_BIOS), so it asks
 * the i8042 for a reset, which the VMM turns into its reboot handling. */
/* clang-format off */
static const uint8_t reset_stub[] = {
	0xB0, ACPI_RESET_VALUE,	/* mov al, 0xFE */
	0xE6, ACPI_RESET_PORT,	/* out 0x64, al: i8042 pulse reset */
	0xF4,			/* 1: hlt */
	0xEB, 0xFD,		/* jmp 1b */
};
/* clang-format on */

static_assert(sizeof(reset_stub) <= BOOT_HIGH_START - BOOT_RESET_VECTOR_GPA, "reset stub size");

/* Read all of path (a regular file of at most max bytes) into a malloc'd
 * buffer.  opt names the command-line option in errors. */
static int read_file(const char *opt, const char *path, uint64_t max, uint8_t **data, size_t *size,
		     char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		return boot_err(rc, err, errlen, "%s %s: %s", opt, path, strerror(-rc));
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return boot_err(rc, err, errlen, "%s %s: %s", opt, path, strerror(-rc));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return boot_err(-EINVAL, err, errlen, "%s %s: not a regular file", opt, path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return boot_err(-EFBIG, err, errlen,
				"%s %s: file too large (%lld bytes, limit %llu MiB)", opt, path,
				(long long)st.st_size, (unsigned long long)(max >> 20));
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return boot_err(-ENOMEM, err, errlen, "%s %s: out of memory", opt, path);
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			close(fd);
			free(buf);
			return boot_err(rc, err, errlen, "%s %s: %s", opt, path,
					n < 0 ? strerror(-rc) : "file shrank while reading");
		}
		got += (size_t)n;
	}
	close(fd);
	*data = buf;
	*size = got;
	return 0;
}

/* End of the run of adjacent regions containing at, or at if unmapped. */
static uint64_t run_end(const struct guest_mem *gm, uint64_t at)
{
	for (unsigned i = 0; i < gm->nr; i++) {
		const struct gm_region *r = &gm->regions[i];

		if (at >= r->gpa && at - r->gpa < r->size)
			at = r->gpa + r->size;
	}
	return at;
}

/* *proto gets the kernel's boot protocol version. */
static int load_linux(const char *kpath, const uint8_t *k, size_t ksize, const char *ipath,
		      const char *cmdline, const struct guest_mem *gm, struct boot_entry *out,
		      uint16_t *proto, char *err, size_t errlen)
{
	struct e820_entry_kvmlab e820[8];
	struct bzimage_info info;
	struct bzimage_loaded ld;
	struct bzimage_opts opts = {.cmdline = cmdline};
	uint64_t below = run_end(gm, 0), above = run_end(gm, GIB4) - GIB4;
	uint8_t *initrd = NULL;
	char why[160];
	int rc;

	rc = bzimage_parse(k, ksize, &info, why, sizeof(why));
	if (rc < 0)
		return boot_err(rc, err, errlen, "--kernel %s: %s", kpath, why);
	*proto = info.version;
	if (below > GIB4)
		below = GIB4;
	rc = e820_build(e820, 8, below, above);
	if (rc < 0)
		return boot_err(rc, err, errlen,
				"--memory: cannot build an e820 map for this RAM layout");
	opts.e820 = e820;
	opts.e820_nr = rc;
	if (ipath) {
		rc = read_file("--initrd", ipath, BOOT_INITRD_MAX_BYTES, &initrd, &opts.initrd_size,
			       err, errlen);
		if (rc < 0)
			return rc;
		if (opts.initrd_size == 0) {
			free(initrd);
			return boot_err(-EINVAL, err, errlen, "--initrd %s: file is empty", ipath);
		}
		opts.initrd = initrd;
	}
	rc = bzimage_load(k, ksize, &info, gm, &opts, &ld, why, sizeof(why));
	free(initrd);
	if (rc < 0)
		return boot_err(rc, err, errlen, "%s", why);
	out->rip = ld.entry;
	out->rsi = ld.rsi;
	out->kernel_end = ld.kernel_end;
	out->is_linux = true;
	return 0;
}

/* GDT, page tables, MP table, ACPI tables and the reset-vector stub for
 * either kind of kernel (harmless for ELF guests: the ACPI tables sit in the
 * reserved BIOS area, where a guest that wants them finds the RSDP by
 * scanning).  For Linux
 * kernels with boot protocol proto >= 2.14 (0 for ELF) the zero page also
 * gets the RSDP address, so the kernel need not scan. */
static int write_structures(const uint8_t *apic_ids, unsigned ncpus, uint8_t ioapic_id,
			    uint16_t proto, const struct guest_mem *gm, struct boot_entry *out,
			    char *err, size_t errlen)
{
	const struct acpi_config acpi = {
	    .ncpus = ncpus,
	    .apic_ids = apic_ids,
	    .ioapic_addr = ACPI_IOAPIC_ADDR,
	    .ioapic_id = ioapic_id, /* as in the MP table */
	    .sleep_ctl_port = ACPI_SLEEP_CTL_PORT,
	    .sleep_sts_port = ACPI_SLEEP_STS_PORT,
	    /* the PCI host bridge and its BAR windows (boot/layout.h) */
	    .pci = true,
	    .pci_mmio32_base = PCI_MMIO32_BASE,
	    .pci_mmio32_end = PCI_MMIO32_END,
	    .pci_mmio64_base = pci_mmio64_base(gm_end(gm)),
	    .pci_mmio64_end = pci_mmio64_base(gm_end(gm)) + PCI_MMIO64_SIZE,
	};
	uint8_t gdt[X86_GDT_BYTES];
	uint64_t map = gm_end(gm), cr3 = 0, rsdp = 0;
	size_t ptlen, mplen = mptable_size(ncpus), acpilen = acpi_size(ncpus), buflen;
	uint8_t *buf;
	int rc;

	if (map < GIB4)
		map = GIB4;
	if (map > BOOT_PT_MAX_MAP)
		map = BOOT_PT_MAX_MAP;
	if (out->kernel_end > map)
		return boot_err(-EINVAL, err, errlen,
				"--kernel ends at 0x%llx, beyond the identity map (%llu GiB)",
				(unsigned long long)out->kernel_end,
				(unsigned long long)(map >> 30));
	ptlen = x86_identity_pt_size(map);
	buflen = ptlen > mplen ? ptlen : mplen;
	if (acpilen > buflen)
		buflen = acpilen;
	buf = malloc(buflen);
	if (!buf)
		return boot_err(-ENOMEM, err, errlen, "out of memory for page tables");
	rc = x86_build_identity_pt(buf, ptlen, BOOT_PT_GPA, map, &cr3);
	if (rc >= 0)
		rc = gm_write(gm, BOOT_PT_GPA, buf, (uint64_t)rc);
	if (rc >= 0)
		rc = mptable_build(buf, mplen, BOOT_MPTABLE_GPA, apic_ids, ncpus, ioapic_id);
	if (rc >= 0)
		rc = gm_write(gm, BOOT_MPTABLE_GPA, buf, (uint64_t)rc);
	if (rc >= 0)
		rc = acpi_build(buf, acpilen, ACPI_TABLES_GPA, &acpi, &rsdp);
	if (rc >= 0)
		rc = gm_write(gm, ACPI_TABLES_GPA, buf, (uint64_t)rc);
	if (rc >= 0 && out->is_linux && proto >= PROTO_ACPI_RSDP)
		rc = gm_write(gm, BOOT_ZERO_PAGE_GPA + offsetof(struct boot_params, acpi_rsdp_addr),
			      &rsdp, sizeof(rsdp));
	if (rc >= 0)
		rc = gm_write(gm, BOOT_RESET_VECTOR_GPA, reset_stub, sizeof(reset_stub));
	free(buf);
	if (rc < 0)
		return boot_err(rc, err, errlen,
				"cannot write page tables / MP table / ACPI tables: %s",
				strerror(-rc));
	rc = x86_build_gdt(gdt, sizeof(gdt));
	if (rc >= 0)
		rc = gm_write(gm, BOOT_GDT_GPA, gdt, (uint64_t)rc);
	if (rc < 0)
		return boot_err(rc, err, errlen, "cannot write the GDT: %s", strerror(-rc));
	out->cr3 = cr3;
	out->gdt_gpa = BOOT_GDT_GPA;
	out->gdt_limit = X86_GDT_BYTES - 1;
	out->rsp = BOOT_STACK_TOP;
	return 0;
}

/* ELF guests find their command line, NUL-terminated, at BOOT_CMDLINE_GPA
 * (empty when none was given). */
static int write_elf_cmdline(const char *cmdline, const struct guest_mem *gm, char *err,
			     size_t errlen)
{
	size_t n = cmdline ? strlen(cmdline) : 0;

	if (n >= BOOT_CMDLINE_MAX)
		return boot_err(-EINVAL, err, errlen, "--cmdline: %zu bytes, at most %d allowed", n,
				(int)BOOT_CMDLINE_MAX - 1);
	if (gm_write(gm, BOOT_CMDLINE_GPA, cmdline ? cmdline : "", n) < 0 ||
	    gm_write(gm, BOOT_CMDLINE_GPA + n, "", 1) < 0)
		return boot_err(-EINVAL, err, errlen, "--memory too small for the command line");
	return 0;
}

int boot_load_kernel(const char *kernel_path, const char *initrd_path, const char *cmdline,
		     unsigned ncpus, const uint8_t *apic_ids, const struct guest_mem *gm,
		     struct boot_entry *out, char *err, size_t errlen)
{
	int ioapic_id;
	struct iovec iov[GM_MAX_REGIONS];
	uint8_t *k = NULL;
	size_t ksize = 0;
	uint16_t proto = 0;
	char why[160];
	int rc;

	memset(out, 0, sizeof(*out));
	if (ncpus < 1 || ncpus > MAX_CPUS)
		return boot_err(-EINVAL, err, errlen, "--cpus %u: must be 1..%d", ncpus, MAX_CPUS);
	ioapic_id = apic_ids_pick_ioapic(apic_ids, ncpus);
	if (ioapic_id < 0)
		return boot_err(-EINVAL, err, errlen,
				"--cpus: the APIC IDs repeat, or leave none for the I/O APIC");
	if (gm_iov(gm, 0, BOOT_HIGH_START, iov, GM_MAX_REGIONS) < 0)
		return boot_err(-EINVAL, err, errlen,
				"--memory too small: guest RAM must cover the first 1 MiB");
	rc = read_file("--kernel", kernel_path, BOOT_KERNEL_MAX_BYTES, &k, &ksize, err, errlen);
	if (rc < 0)
		return rc;
	if (elf_probe(k, ksize)) {
		if (initrd_path) {
			rc = boot_err(
			    -EINVAL, err, errlen,
			    "--initrd %s: only a bzImage kernel takes an initrd, %s is ELF",
			    initrd_path, kernel_path);
		} else {
			rc = elf_load(k, ksize, gm, &out->rip, &out->kernel_end, why, sizeof(why));
			if (rc < 0)
				boot_err(rc, err, errlen, "--kernel %s: %s", kernel_path, why);
			else
				rc = write_elf_cmdline(cmdline, gm, err, errlen);
		}
	} else {
		rc = load_linux(kernel_path, k, ksize, initrd_path, cmdline, gm, out, &proto, err,
				errlen);
		if (rc == -ENOEXEC)
			boot_err(rc, err, errlen, "--kernel %s: not an ELF64 or bzImage kernel",
				 kernel_path);
	}
	free(k);
	if (rc < 0)
		return rc;
	return write_structures(apic_ids, ncpus, (uint8_t)ioapic_id, proto, gm, out, err, errlen);
}
