/* Hardware-reduced ACPI tables: RSDP, XSDT, RSDT, FADT, MADT, DSDT.
 * Layouts and offsets from ACPI 6.5 chapter 5 (5.2.5 RSDP, 5.2.6 table
 * header, 5.2.8 XSDT, 5.2.9 FADT, 5.2.12 MADT, 5.2.3.2 Generic Address
 * Structure), the DSDT's AML built with boot/aml.h, the PCI host
 * bridge's objects from chapter 6 (6.1: _HID, _UID; 6.2: _CRS, _PRT; 6.5:
 * _BBN, _SEG). */
#include "boot/acpi.h"

#include "boot/aml.h"
#include "boot/apic_ids.h"
#include "boot/bytes.h"
#include "boot/layout.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#define ALIGN16(x) (((x) + (size_t)15) & ~(size_t)15)
#define GIB4	   0x100000000ULL

/* PCI bus 0: device slots, and interrupt pins INTA#-INTD# per slot. */
#define PCI_SLOTS 32
#define PCI_PINS  4

/* Table sizes. */
#define RSDP_LEN	36
#define HDR_LEN		36 /* common system description table header */
#define XSDT_LEN	(HDR_LEN + 2 * 8)
#define RSDT_LEN	(HDR_LEN + 2 * 4)
#define FADT_LEN	276	      /* revision 6: up to the hypervisor vendor identity */
#define DSDT_MAX_LEN	4096	      /* header + AML, PCI included (about 2.1 KiB) */
#define MADT_HDR_LEN	(HDR_LEN + 8) /* + local APIC address, flags */
#define MADT_LAPIC_LEN	8
#define MADT_IOAPIC_LEN 12
#define MADT_ISO_LEN	10
#define MADT_NMI_LEN	6
#define MADT_LEN(n)                                                                                \
	(MADT_HDR_LEN + (n)*MADT_LAPIC_LEN + MADT_IOAPIC_LEN + MADT_ISO_LEN + MADT_NMI_LEN)

/* Where each table sits in the block (16-byte aligned, RSDP first; the
 * DSDT, whose size depends on the configuration, last). */
#define OFF_RSDP    ((size_t)0)
#define OFF_XSDT    ALIGN16(OFF_RSDP + RSDP_LEN)
#define OFF_RSDT    ALIGN16(OFF_XSDT + XSDT_LEN)
#define OFF_FADT    ALIGN16(OFF_RSDT + RSDT_LEN)
#define OFF_MADT    ALIGN16(OFF_FADT + FADT_LEN)
#define OFF_DSDT(n) ALIGN16(OFF_MADT + MADT_LEN(n))

/* Header fields. */
#define OEM_ID	      "KVMLAB"	 /* 6 bytes */
#define OEM_TABLE_ID  "KVMLABVM" /* 8 bytes */
#define OEM_REVISION  1
#define CREATOR_ID    "KVML" /* 4 bytes: we "compiled" the AML ourselves */
#define CREATOR_REV   1
#define HYPERVISOR_ID "KVMLAB  " /* FADT hypervisor vendor identity */
#define RSDP_REVISION 2		 /* ACPI 2.0+: XSDT address and extended checksum */
#define XSDT_REVISION 1
#define RSDT_REVISION 1
#define FADT_REVISION 6
#define FADT_MINOR    5 /* FADT 6.5 */
#define DSDT_REVISION 2 /* 2+: AML integers are 64-bit */
#define MADT_REVISION 5

/* FADT field offsets. */
#define FADT_DSDT	       40 /* after FIRMWARE_CTRL (0: no FACS) */
#define FADT_IAPC_BOOT_ARCH    109
#define FADT_FLAGS	       112
#define FADT_RESET_REG	       116
#define FADT_RESET_VALUE       128
#define FADT_MINOR_VERSION     131
#define FADT_X_DSDT	       140
#define FADT_SLEEP_CONTROL_REG 244
#define FADT_SLEEP_STATUS_REG  256
#define FADT_HYPERVISOR_VENDOR 268

/* FADT flags.  Hardware-reduced: no PM1/GPE blocks, PM timer, SCI or FACS;
 * Linux then uses SLEEP_CONTROL_REG for S5.  The power and sleep buttons
 * are not fixed-feature hardware.  RESET_REG is valid. */
#define FADT_F_PWR_BUTTON    (1u << 4)
#define FADT_F_SLP_BUTTON    (1u << 5)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED    (1u << 20)

/* IA-PC boot architecture flags.  Set: LEGACY_DEVICES (COM1 and the i8042
 * live on ISA ports), 8042 (a keyboard controller answers at 0x60/0x64: it
 * is what resets the machine; left set, Linux's i8042 driver probes it as it
 * does without ACPI), VGA_NOT_PRESENT, CMOS_RTC_NOT_PRESENT (nothing at
 * 0x70/0x71; Linux skips the rtc_cmos device and keeps kvmclock's wall
 * clock).  Clear: MSI_NOT_SUPPORTED (MSIs work with the in-kernel APIC),
 * PCIE_ASPM_CONTROLS (no PCIe). */
#define IAPC_LEGACY_DEVICES	  (1u << 0)
#define IAPC_8042		  (1u << 1)
#define IAPC_VGA_NOT_PRESENT	  (1u << 2)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)
#define IAPC_BOOT_ARCH                                                                             \
	(IAPC_LEGACY_DEVICES | IAPC_8042 | IAPC_VGA_NOT_PRESENT | IAPC_CMOS_RTC_NOT_PRESENT)

/* Generic Address Structure. */
#define GAS_LEN		12
#define GAS_SYSTEM_IO	1
#define GAS_ACCESS_BYTE 1

/* MADT. */
#define MADT_PCAT_COMPAT   1u /* dual 8259s present (KVM's in-kernel PIC) */
#define MADT_LAPIC	   0
#define MADT_IOAPIC	   1
#define MADT_ISO	   2
#define MADT_LAPIC_NMI	   4
#define MADT_ENABLED	   1u
#define MADT_ALL_CPUS	   0xFF
#define MPS_INTI_HIGH_EDGE 0x0005 /* polarity 01 active high, trigger 01 edge */

static_assert(ALIGN16(OFF_MADT + MADT_LEN(ACPI_MAX_CPUS)) + DSDT_MAX_LEN <= ACPI_MAX_BYTES,
	      "ACPI_MAX_BYTES too small");
static_assert(ACPI_S5_POWEROFF_VALUE == 0x34, "S5 sleep control value");
static_assert(PCI_INTX_GSI_BASE + PCI_INTX_GSI_COUNT <= 24, "INTx beyond the I/O APIC's pins");
static_assert(FADT_SLEEP_STATUS_REG == FADT_SLEEP_CONTROL_REG + GAS_LEN, "FADT layout");
static_assert(FADT_HYPERVISOR_VENDOR + 8 == FADT_LEN, "FADT layout");

/* The 36-byte header every table but the RSDP starts with; the checksum
 * (byte 9) is filled by seal() once the body is written. */
static void put_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID, 8);
	put32(t + 24, OEM_REVISION);
	memcpy(t + 28, CREATOR_ID, 4);
	put32(t + 32, CREATOR_REV);
}

static void seal(uint8_t *t, size_t len)
{
	t[9] = 0;
	t[9] = checksum(t, len);
}

/* An 8-bit register at an I/O port, accessed bytewise. */
static void put_io8(uint8_t *p, uint16_t port)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = 8; /* register bit width */
	p[2] = 0; /* bit offset */
	p[3] = GAS_ACCESS_BYTE;
	put64(p + 4, port);
}

size_t acpi_size(unsigned ncpus)
{
	if (ncpus < 1 || ncpus > ACPI_MAX_CPUS)
		return 0;
	return OFF_DSDT((size_t)ncpus) + DSDT_MAX_LEN;
}

static void build_rsdp(uint8_t *p, uint64_t gpa)
{
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, OEM_ID, 6);
	p[15] = RSDP_REVISION;
	put32(p + 16, (uint32_t)(gpa + OFF_RSDT));
	put32(p + 20, RSDP_LEN);
	put64(p + 24, gpa + OFF_XSDT);
	p[8] = checksum(p, 20);	       /* ACPI 1.0 part */
	p[32] = checksum(p, RSDP_LEN); /* whole structure */
}

static void build_xsdt_rsdt(uint8_t *buf, uint64_t gpa)
{
	uint8_t *x = buf + OFF_XSDT, *r = buf + OFF_RSDT;

	put_header(x, "XSDT", XSDT_LEN, XSDT_REVISION);
	put64(x + HDR_LEN, gpa + OFF_FADT);
	put64(x + HDR_LEN + 8, gpa + OFF_MADT);
	seal(x, XSDT_LEN);
	put_header(r, "RSDT", RSDT_LEN, RSDT_REVISION);
	put32(r + HDR_LEN, (uint32_t)(gpa + OFF_FADT));
	put32(r + HDR_LEN + 4, (uint32_t)(gpa + OFF_MADT));
	seal(r, RSDT_LEN);
}

static void build_fadt(uint8_t *f, uint64_t gpa, size_t off_dsdt, const struct acpi_config *cfg)
{
	put_header(f, "FACP", FADT_LEN, FADT_REVISION);
	/* FIRMWARE_CTRL/X_FIRMWARE_CTRL 0: no FACS (optional when reduced);
	 * SCI_INT, SMI_CMD, PM1/PM2/PM_TMR/GPE blocks 0: none exist */
	put32(f + FADT_DSDT, (uint32_t)(gpa + off_dsdt));
	put16(f + FADT_IAPC_BOOT_ARCH, IAPC_BOOT_ARCH);
	put32(f + FADT_FLAGS,
	      FADT_F_HW_REDUCED | FADT_F_RESET_REG_SUP | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON);
	put_io8(f + FADT_RESET_REG, ACPI_RESET_PORT);
	f[FADT_RESET_VALUE] = ACPI_RESET_VALUE;
	f[FADT_MINOR_VERSION] = FADT_MINOR;
	put64(f + FADT_X_DSDT, gpa + off_dsdt); /* same table as DSDT */
	put_io8(f + FADT_SLEEP_CONTROL_REG, cfg->sleep_ctl_port);
	put_io8(f + FADT_SLEEP_STATUS_REG, cfg->sleep_sts_port);
	memcpy(f + FADT_HYPERVISOR_VENDOR, HYPERVISOR_ID, 8);
	seal(f, FADT_LEN);
}

/* \_SB.COM1: the 16550A at 0x3F8, IRQ 4, as a PNP0501 device.  With
 * hardware-reduced ACPI Linux sets up no legacy PIC and maps no ISA IRQ by
 * itself; the 8250 PNP driver maps IRQ 4 through the I/O APIC from this
 * _CRS. */
static void aml_com1(struct aml *a)
{
	size_t dev, crs;

	dev = aml_device_begin(a, "COM1");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name_int(a, "_UID", 0);
	aml_name(a, "_CRS");
	crs = aml_restemplate_begin(a);
	aml_res_io(a, true, 0x3F8, 0x3F8, 1, 8);
	aml_res_irq_noflags(a, 4);
	aml_restemplate_end(a, crs);
	aml_end(a, dev);
}

/* \_SB.PCI0: the host bridge of PCI segment 0, bus 0.  _CRS lists what it
 * consumes (the type-1 configuration ports) and the windows it forwards to
 * its bus (ResourceProducer): Linux takes the windows as the root bus's
 * resources and assigns BARs inside them.  _PRT maps each slot's INTx pins
 * straight to I/O APIC GSIs (source Zero: no link device), which Linux
 * programs level-triggered, active low. */
static void aml_pci0(struct aml *a, const struct acpi_config *cfg)
{
	size_t dev, crs, prt, entry;

	dev = aml_device_begin(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A03");
	aml_name_int(a, "_UID", 0);
	aml_name_int(a, "_SEG", 0);
	aml_name_int(a, "_BBN", 0);
	aml_name(a, "_CRS");
	crs = aml_restemplate_begin(a);
	aml_res_word_bus(a, 0x00, 0xFF);
	aml_res_io(a, true, PCI_CONFIG_ADDR_PORT, PCI_CONFIG_ADDR_PORT, 1, 8);
	aml_res_word_io(a, 0x0D00, 0xFFFF);
	aml_res_dword_memory(a, AML_CACHEABLE, true, (uint32_t)cfg->pci_mmio32_base,
			     (uint32_t)(cfg->pci_mmio32_end - 1));
	aml_res_qword_memory(a, AML_CACHEABLE, true, cfg->pci_mmio64_base, cfg->pci_mmio64_end - 1);
	aml_restemplate_end(a, crs);
	aml_name(a, "_PRT");
	prt = aml_package_begin(a, PCI_SLOTS * PCI_PINS);
	for (unsigned slot = 0; slot < PCI_SLOTS; slot++) {
		for (unsigned pin = 0; pin < PCI_PINS; pin++) {
			entry = aml_package_begin(a, 4);
			aml_int(a, (uint64_t)slot << 16 | 0xFFFF); /* any function */
			aml_int(a, pin);			   /* 0 = INTA# */
			aml_int(a, 0);				   /* source: a GSI */
			aml_int(a, PCI_INTX_GSI(slot + pin));	   /* source index */
			aml_end(a, entry);
		}
	}
	aml_end(a, prt);
	aml_end(a, dev);
}

/* The DSDT's definition block into aml.  \_S5_ = Package {5, 5, 0, 0}:
 * ACPI reads SLP_TYPa, SLP_TYPb from the first two elements;
 * hardware-reduced OSPMs use only SLP_TYPa. */
static int build_dsdt_aml(uint8_t *p, size_t cap, const struct acpi_config *cfg)
{
	struct aml a;
	size_t pkg, sb;

	aml_init(&a, p, cap);
	aml_name(&a, "_S5_");
	pkg = aml_package_begin(&a, 4);
	aml_int(&a, ACPI_S5_SLP_TYP);
	aml_int(&a, ACPI_S5_SLP_TYP);
	aml_int(&a, 0); /* reserved */
	aml_int(&a, 0); /* reserved */
	aml_end(&a, pkg);
	sb = aml_scope_begin(&a, "\\_SB");
	aml_com1(&a);
	if (cfg->pci)
		aml_pci0(&a, cfg);
	aml_end(&a, sb);
	return aml_result(&a);
}

static void build_madt(uint8_t *m, const struct acpi_config *cfg)
{
	size_t len = MADT_LEN((size_t)cfg->ncpus);
	uint8_t *p = m + MADT_HDR_LEN;

	put_header(m, "APIC", (uint32_t)len, MADT_REVISION);
	put32(m + HDR_LEN, ACPI_LAPIC_ADDR);
	put32(m + HDR_LEN + 4, MADT_PCAT_COMPAT);
	for (unsigned i = 0; i < cfg->ncpus; i++) {
		p[0] = MADT_LAPIC;
		p[1] = MADT_LAPIC_LEN;
		p[2] = (uint8_t)i; /* ACPI processor UID */
		p[3] = apic_ids_get(cfg->apic_ids, i);
		put32(p + 4, MADT_ENABLED);
		p += MADT_LAPIC_LEN;
	}
	p[0] = MADT_IOAPIC;
	p[1] = MADT_IOAPIC_LEN;
	p[2] = cfg->ioapic_id;
	p[3] = 0;
	put32(p + 4, (uint32_t)cfg->ioapic_addr);
	put32(p + 8, 0); /* GSI base: pins 0-23 are GSIs 0-23 */
	p += MADT_IOAPIC_LEN;
	/* the PIT's IRQ 0 is wired to pin 2, as on a PC; other ISA IRQs are
	 * identity mapped, edge/high, without entries */
	p[0] = MADT_ISO;
	p[1] = MADT_ISO_LEN;
	p[2] = 0; /* bus: ISA */
	p[3] = 0; /* source IRQ */
	put32(p + 4, 2);
	put16(p + 8, MPS_INTI_HIGH_EDGE);
	p += MADT_ISO_LEN;
	p[0] = MADT_LAPIC_NMI;
	p[1] = MADT_NMI_LEN;
	p[2] = MADT_ALL_CPUS;
	put16(p + 3, MPS_INTI_HIGH_EDGE);
	p[5] = 1; /* LINT1 */
	seal(m, len);
}

/* Whether [base, end) and [b2, b2 + len2) overlap. */
static bool overlaps(uint64_t base, uint64_t end, uint64_t b2, uint64_t len2)
{
	return base < b2 + len2 && b2 < end;
}

/* The PCI windows: each nonempty, the 32-bit one below 4 GiB, the 64-bit
 * one at or above it, neither over the I/O APIC or the local APIC. */
static bool pci_windows_ok(const struct acpi_config *cfg)
{
	uint64_t b32 = cfg->pci_mmio32_base, e32 = cfg->pci_mmio32_end;
	uint64_t b64 = cfg->pci_mmio64_base, e64 = cfg->pci_mmio64_end;

	if (b32 >= e32 || e32 > GIB4 || b64 >= e64 || b64 < GIB4)
		return false;
	return !overlaps(b32, e32, cfg->ioapic_addr, ACPI_IOAPIC_SIZE) &&
	       !overlaps(b32, e32, ACPI_LAPIC_ADDR, ACPI_LAPIC_SIZE);
}

int acpi_build(uint8_t *buf, size_t len, uint64_t buf_gpa, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa)
{
	size_t need = cfg ? acpi_size(cfg->ncpus) : 0, off_dsdt, dsdt_len;
	uint8_t aml[DSDT_MAX_LEN - HDR_LEN];
	uint64_t end;
	int rc;

	if (need == 0 || apic_ids_check(cfg->apic_ids, cfg->ncpus, cfg->ioapic_id) ||
	    cfg->ioapic_addr > UINT32_MAX || cfg->sleep_ctl_port == 0 || cfg->sleep_sts_port == 0)
		return -EINVAL;
	if (cfg->pci && !pci_windows_ok(cfg))
		return -EINVAL;
	if ((buf_gpa & 0xf) != 0 || __builtin_add_overflow(buf_gpa, need, &end) || end > GIB4)
		return -EINVAL;
	if (len < need)
		return -ENOSPC;
	/* the AML first, so that nothing is written if it failed (it cannot:
	 * DSDT_MAX_LEN leaves room, as the unit tests check) */
	rc = build_dsdt_aml(aml, sizeof(aml), cfg);
	if (rc < 0)
		return rc;
	off_dsdt = OFF_DSDT((size_t)cfg->ncpus);
	dsdt_len = HDR_LEN + (size_t)rc;
	memset(buf, 0, need);
	build_xsdt_rsdt(buf, buf_gpa);
	build_fadt(buf + OFF_FADT, buf_gpa, off_dsdt, cfg);
	build_madt(buf + OFF_MADT, cfg);
	put_header(buf + off_dsdt, "DSDT", (uint32_t)dsdt_len, DSDT_REVISION);
	memcpy(buf + off_dsdt + HDR_LEN, aml, (size_t)rc);
	seal(buf + off_dsdt, dsdt_len);
	build_rsdp(buf + OFF_RSDP, buf_gpa);
	if (rsdp_gpa)
		*rsdp_gpa = buf_gpa + OFF_RSDP;
	return (int)(off_dsdt + dsdt_len);
}

bool acpi_sleep_ctl_is_poweroff(uint8_t value)
{
	return (value & ACPI_SLP_EN) &&
	       ((value & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT) == ACPI_S5_SLP_TYP;
}
