/* The local APIC IDs of a guest's CPUs as the MP table and the ACPI MADT
 * list them, and the I/O APIC's ID, which must differ from all of them.
 * IDs are 8-bit xAPIC IDs; an ID array may be NULL, meaning CPU i has ID i.
 * With a sockets x cores x threads topology the IDs can have gaps (see
 * vmm/cpuid.h).  Pure. */
#ifndef KVMLAB_BOOT_APIC_IDS_H
#define KVMLAB_BOOT_APIC_IDS_H

#include <stdint.h>

#define APIC_ID_BROADCAST 0xFF /* never a CPU's or the I/O APIC's */

/* ID of CPU i: ids[i], or i when ids is NULL. */
uint8_t apic_ids_get(const uint8_t *ids, unsigned i);

/* 0 if the n IDs are distinct, none is APIC_ID_BROADCAST, and ioapic_id is
 * neither APIC_ID_BROADCAST nor one of them; -EINVAL otherwise. */
int apic_ids_check(const uint8_t *ids, unsigned n, uint8_t ioapic_id);

/* An ID for the I/O APIC that none of the n CPUs has: one above the highest
 * CPU's when that is below APIC_ID_BROADCAST (so IDs 0..n-1 give n), else
 * the lowest free one.  Returns it, or -EINVAL if n is 0 or no ID below
 * APIC_ID_BROADCAST is free. */
int apic_ids_pick_ioapic(const uint8_t *ids, unsigned n);

#endif
