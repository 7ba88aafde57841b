/* CPU and I/O APIC IDs for the MP table and the MADT. */
#include "boot/apic_ids.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

uint8_t apic_ids_get(const uint8_t *ids, unsigned i)
{
	return ids ? ids[i] : (uint8_t)i;
}

/* Mark the n IDs in used[256]; false if one repeats or is the broadcast ID. */
static bool mark(const uint8_t *ids, unsigned n, bool used[256])
{
	memset(used, 0, 256 * sizeof(used[0]));
	if (n > APIC_ID_BROADCAST)
		return false;
	for (unsigned i = 0; i < n; i++) {
		uint8_t id = apic_ids_get(ids, i);

		if (id == APIC_ID_BROADCAST || used[id])
			return false;
		used[id] = true;
	}
	return true;
}

int apic_ids_check(const uint8_t *ids, unsigned n, uint8_t ioapic_id)
{
	bool used[256];

	if (!mark(ids, n, used) || ioapic_id == APIC_ID_BROADCAST || used[ioapic_id])
		return -EINVAL;
	return 0;
}

int apic_ids_pick_ioapic(const uint8_t *ids, unsigned n)
{
	bool used[256];
	int top = -1;

	if (n == 0 || !mark(ids, n, used))
		return -EINVAL;
	for (int id = 0; id < APIC_ID_BROADCAST; id++)
		if (used[id])
			top = id;
	if (top + 1 < APIC_ID_BROADCAST)
		return top + 1;
	for (int id = 0; id < APIC_ID_BROADCAST; id++)
		if (!used[id])
			return id;
	return -EINVAL;
}
