/* MP spec 1.4 floating pointer + configuration table. */
#include "boot/mptable.h"

#include "boot/apic_ids.h"
#include "boot/bytes.h"

#include <errno.h>
#include <string.h>

enum {
	MP_PROCESSOR = 0,
	MP_BUS = 1,
	MP_IOAPIC = 2,
	MP_INTSRC = 3,
	MP_LINTSRC = 4,
};

enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

#define CPU_EN	      0x01
#define CPU_BP	      0x02
#define CPU_SIGNATURE 0x600 /* family 6 */
#define CPU_FEATURES  0x201 /* FPU, APIC */

size_t mptable_size(unsigned ncpus)
{
	if (ncpus < 1 || ncpus > MPTABLE_MAX_CPUS)
		return 0;
	return MPTABLE_FLOAT_LEN + MPTABLE_HDR_LEN + (size_t)ncpus * MPTABLE_CPU_LEN +
	       (2 + MPTABLE_NR_INTSRC + MPTABLE_NR_LINTSRC) * MPTABLE_ENTRY_LEN;
}

/* An I/O or local interrupt entry (same 8-byte layout). */
static uint8_t *put_irq(uint8_t *p, uint8_t kind, uint8_t irqtype, uint8_t srcirq, uint8_t dstid,
			uint8_t dstpin)
{
	p[0] = kind;
	p[1] = irqtype;
	put16(p + 2, 0); /* polarity/trigger conform to the bus */
	p[4] = 0;	 /* source bus: ISA */
	p[5] = srcirq;
	p[6] = dstid;
	p[7] = dstpin;
	return p + MPTABLE_ENTRY_LEN;
}

int mptable_build(uint8_t *buf, size_t len, uint64_t buf_gpa, const uint8_t *apic_ids,
		  unsigned ncpus, uint8_t ioapic_id)
{
	size_t need = mptable_size(ncpus);
	uint8_t *cfg = buf + MPTABLE_FLOAT_LEN, *p;
	uint16_t nentries = 0;
	uint64_t end;

	if (need == 0 || (buf_gpa & 0xf) != 0 || __builtin_add_overflow(buf_gpa, need, &end) ||
	    end > 0x100000000ULL || apic_ids_check(apic_ids, ncpus, ioapic_id))
		return -EINVAL;
	if (len < need)
		return -ENOSPC;
	memset(buf, 0, need);

	/* floating pointer */
	memcpy(buf, "_MP_", 4);
	put32(buf + 4, (uint32_t)(buf_gpa + MPTABLE_FLOAT_LEN));
	buf[8] = 1; /* length in 16-byte units */
	buf[9] = 4; /* spec revision 1.4 */
	/* feature bytes 1..5 = 0: config table present, virtual wire mode */

	/* entries */
	p = cfg + MPTABLE_HDR_LEN;
	for (unsigned i = 0; i < ncpus; i++, nentries++) {
		p[0] = MP_PROCESSOR;
		p[1] = apic_ids_get(apic_ids, i);
		p[2] = MPTABLE_LAPIC_VER;
		p[3] = CPU_EN | (i == 0 ? CPU_BP : 0);
		put32(p + 4, CPU_SIGNATURE);
		put32(p + 8, CPU_FEATURES);
		p += MPTABLE_CPU_LEN;
	}
	p[0] = MP_BUS;
	p[1] = 0;
	memcpy(p + 2, "ISA   ", 6);
	p += MPTABLE_ENTRY_LEN;
	nentries++;
	p[0] = MP_IOAPIC;
	p[1] = ioapic_id;
	p[2] = MPTABLE_IOAPIC_VER;
	p[3] = 1; /* enabled */
	put32(p + 4, MPTABLE_IOAPIC_ADDR);
	p += MPTABLE_ENTRY_LEN;
	nentries++;
	for (uint8_t irq = 0; irq < 16; irq++) {
		if (irq == 2)
			continue; /* the 8259 cascade; pin 2 carries IRQ 0 */
		p = put_irq(p, MP_INTSRC, MP_INT, irq, ioapic_id, irq == 0 ? 2 : irq);
		nentries++;
	}
	p = put_irq(p, MP_LINTSRC, MP_EXTINT, 0, 0, 0); /* BSP LINT0 */
	p = put_irq(p, MP_LINTSRC, MP_NMI, 0, 0xff, 1); /* all LINT1 */
	nentries += 2;

	/* configuration table header */
	memcpy(cfg, "PCMP", 4);
	put16(cfg + 4, (uint16_t)(p - cfg));  /* base table length */
	cfg[6] = 4;			      /* spec revision */
	memcpy(cfg + 8, "KVMLAB  ", 8);	      /* OEM id */
	memcpy(cfg + 16, "KVMLAB VM   ", 12); /* product id */
	put16(cfg + 34, nentries);
	put32(cfg + 36, MPTABLE_LAPIC_ADDR);
	cfg[7] = checksum(cfg, (size_t)(p - cfg));
	buf[10] = checksum(buf, MPTABLE_FLOAT_LEN);
	return (int)need;
}
