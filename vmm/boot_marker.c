/* Boot-marker port: timestamps of guest progress. */
#include "vmm/boot_marker.h"

#include <inttypes.h>
#include <string.h>

#include "vmm/clock.h"

int boot_marker_init(struct boot_marker *m, uint64_t t0_ns)
{
	memset(m, 0, sizeof(*m));
	m->t0_ns = t0_ns;
	return -pthread_mutex_init(&m->lock, NULL);
}

void boot_marker_destroy(struct boot_marker *m)
{
	pthread_mutex_destroy(&m->lock);
}

static void bm_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	memset(data, 0, len);
}

static void bm_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct boot_marker *m = opaque;
	uint64_t now = clock_ns();
	uint32_t v = 0;

	(void)off;
	for (uint32_t i = 0; i < len && i < 4; i++)
		v |= (uint32_t)data[i] << (8 * i);
	pthread_mutex_lock(&m->lock);
	if (m->nr < BOOT_MARKER_MAX)
		m->marks[m->nr++] = (struct boot_mark){now - m->t0_ns, v};
	else
		m->dropped++;
	pthread_mutex_unlock(&m->lock);
}

const struct bus_ops boot_marker_ops = {
    .name = "boot-marker",
    .read = bm_read,
    .write = bm_write,
};

void boot_marker_print(struct boot_marker *m, FILE *f)
{
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < m->nr; i++)
		fprintf(f, "kvmlab: boot %9.3f ms  marker %" PRIu32 "\n", m->marks[i].ns / 1e6,
			m->marks[i].value);
	if (m->dropped)
		fprintf(f, "kvmlab: boot: %" PRIu64 " later markers not recorded\n", m->dropped);
	pthread_mutex_unlock(&m->lock);
}
