/* Device status transition table. */
#include "virtio/virtio_status.h"

#include <linux/virtio_config.h>

#define S_ACK	 VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV	 VIRTIO_CONFIG_S_DRIVER
#define S_FOK	 VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK	 VIRTIO_CONFIG_S_DRIVER_OK
#define S_FAILED VIRTIO_CONFIG_S_FAILED

/* Each bit the driver may set, and the bits that must be set with it. */
static const struct {
	uint8_t bit;
	uint8_t requires;
	int action;
} table[] = {
    {S_ACK, 0, 0},
    {S_DRV, S_ACK, 0},
    {S_FOK, S_ACK | S_DRV, VS_CHECK_FEATURES},
    {S_DOK, S_ACK | S_DRV | S_FOK, VS_ACTIVATE},
    {S_FAILED, 0, 0},
};

int virtio_status_transition(uint8_t cur, uint8_t next)
{
	uint8_t known = 0, added;
	int action = VS_ACCEPT;

	cur &= (uint8_t)~VIRTIO_CONFIG_S_NEEDS_RESET;
	next &= (uint8_t)~VIRTIO_CONFIG_S_NEEDS_RESET;
	if (next == 0)
		return VS_RESET;
	if ((cur & S_FAILED) || (cur & ~next))
		return VS_REFUSE;
	for (unsigned int i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		known |= table[i].bit;
	if (next & ~known)
		return VS_REFUSE;
	added = next & (uint8_t)~cur;
	for (unsigned int i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (!(added & table[i].bit))
			continue;
		if ((next & table[i].requires) != table[i].requires)
			return VS_REFUSE;
		action |= table[i].action;
	}
	return action;
}
