/* MSI-X table, pending bits and masking. */
#include "vmm/msix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int msix_init(struct msix *m, unsigned int nvec, const struct msix_ops *ops, void *opaque)
{
	int e;

	memset(m, 0, sizeof(*m));
	if (nvec == 0 || nvec > MSIX_MAX_VECTORS || !ops || !ops->update || !ops->fire)
		return -EINVAL;
	m->table = calloc(nvec, sizeof(*m->table));
	m->pba = calloc((nvec + 63) / 64, sizeof(*m->pba));
	m->routed = calloc((nvec + 63) / 64, sizeof(*m->routed));
	if (!m->table || !m->pba || !m->routed) {
		msix_destroy(m);
		return -ENOMEM;
	}
	e = pthread_mutex_init(&m->lock, NULL);
	if (e) {
		free(m->table);
		free(m->pba);
		free(m->routed);
		m->table = NULL;
		m->pba = NULL;
		m->routed = NULL;
		return -e;
	}
	for (unsigned int i = 0; i < nvec; i++)
		m->table[i].ctrl = MSIX_VECTOR_MASKED;
	m->nvec = nvec;
	m->ops = ops;
	m->opaque = opaque;
	return 0;
}

void msix_destroy(struct msix *m)
{
	if (m->nvec)
		pthread_mutex_destroy(&m->lock);
	free(m->table);
	free(m->pba);
	free(m->routed);
	m->table = NULL;
	m->pba = NULL;
	m->routed = NULL;
	m->nvec = 0;
}

void msix_cap_body(unsigned int nvec, int bir, uint32_t table_off, uint32_t pba_off,
		   uint8_t body[MSIX_CAP_BODY_LEN], uint8_t wmask[MSIX_CAP_BODY_LEN])
{
	uint16_t ctl = (uint16_t)((nvec - 1) & 0x7ff);
	uint32_t t = (table_off & ~7u) | ((uint32_t)bir & 7u);
	uint32_t p = (pba_off & ~7u) | ((uint32_t)bir & 7u);

	memset(body, 0, MSIX_CAP_BODY_LEN);
	memset(wmask, 0, MSIX_CAP_BODY_LEN);
	body[0] = (uint8_t)ctl;
	body[1] = (uint8_t)(ctl >> 8);
	memcpy(body + 2, &t, 4);
	memcpy(body + 6, &p, 4);
	wmask[1] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
}

static uint64_t entry_addr(const struct msix_entry *e)
{
	return ((uint64_t)e->addr_hi << 32) | e->addr_lo;
}

static bool deliverable(const struct msix *m, unsigned int v)
{
	return m->enabled && !m->masked && !(m->table[v].ctrl & MSIX_VECTOR_MASKED);
}

static bool bit(const uint64_t *map, unsigned int v)
{
	return map[v / 64] >> (v % 64) & 1;
}

static void set_bit(uint64_t *map, unsigned int v, bool on)
{
	if (on)
		map[v / 64] |= 1ull << (v % 64);
	else
		map[v / 64] &= ~(1ull << (v % 64));
}

/* Vector v may have become deliverable: refresh its route and send what
 * waited for it.  Lock held. */
static void release(struct msix *m, unsigned int v)
{
	const struct msix_entry *e = &m->table[v];

	if (!deliverable(m, v))
		return;
	/* no route for this message: notifications stay pending until a
	 * later table write makes one */
	set_bit(m->routed, v, m->ops->update(m->opaque, v, entry_addr(e), e->data) == 0);
	if (!bit(m->routed, v))
		return;
	if (bit(m->pba, v)) {
		set_bit(m->pba, v, false);
		m->ops->fire(m->opaque, v, entry_addr(e), e->data);
		atomic_fetch_add_explicit(&m->fired, 1, memory_order_relaxed);
	}
}

bool msix_direct_locked(const struct msix *m, unsigned int v)
{
	return v < m->nvec && deliverable(m, v) && bit(m->routed, v);
}

void msix_lock(struct msix *m)
{
	pthread_mutex_lock(&m->lock);
}

void msix_unlock(struct msix *m)
{
	pthread_mutex_unlock(&m->lock);
}

/* Tell the host when v's direct state differs from before.  Lock held. */
static void report_direct(struct msix *m, unsigned int v, bool before)
{
	bool now = msix_direct_locked(m, v);

	if (now != before && m->ops->direct)
		m->ops->direct(m->opaque, v, now);
}

static bool in_range(uint64_t off, uint32_t len, uint64_t size)
{
	return len >= 1 && len <= 8 && off < size && len <= size - off;
}

void msix_table_read(struct msix *m, uint64_t off, uint8_t *data, uint32_t len)
{
	if (!in_range(off, len, msix_table_size(m->nvec))) {
		memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&m->lock);
	memcpy(data, (const uint8_t *)m->table + off, len);
	pthread_mutex_unlock(&m->lock);
}

void msix_table_write(struct msix *m, uint64_t off, const uint8_t *data, uint32_t len)
{
	unsigned int first, last;

	if (!in_range(off, len, msix_table_size(m->nvec)))
		return;
	first = (unsigned int)(off / MSIX_ENTRY_SIZE);
	last = (unsigned int)((off + len - 1) / MSIX_ENTRY_SIZE);
	bool before[2];

	pthread_mutex_lock(&m->lock);
	/* len <= 8 spans at most two entries */
	for (unsigned int v = first; v <= last; v++)
		before[v - first] = msix_direct_locked(m, v);
	memcpy((uint8_t *)m->table + off, data, len);
	for (unsigned int v = first; v <= last; v++) {
		/* only bit 0 of vector control is defined; the rest reads 0 */
		m->table[v].ctrl &= MSIX_VECTOR_MASKED;
		release(m, v);
		report_direct(m, v, before[v - first]);
	}
	pthread_mutex_unlock(&m->lock);
}

void msix_pba_read(struct msix *m, uint64_t off, uint8_t *data, uint32_t len)
{
	if (!in_range(off, len, msix_pba_size(m->nvec))) {
		memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&m->lock);
	memcpy(data, (const uint8_t *)m->pba + off, len);
	pthread_mutex_unlock(&m->lock);
}

void msix_set_control(struct msix *m, uint16_t control)
{
	bool was_on;

	pthread_mutex_lock(&m->lock);
	/* before the change a vector was direct iff all of this held */
	was_on = m->enabled && !m->masked;
	m->enabled = control & MSIX_CTRL_ENABLE;
	m->masked = control & MSIX_CTRL_MASKALL;
	for (unsigned int v = 0; v < m->nvec; v++) {
		bool before =
		    was_on && !(m->table[v].ctrl & MSIX_VECTOR_MASKED) && bit(m->routed, v);

		release(m, v);
		report_direct(m, v, before);
	}
	pthread_mutex_unlock(&m->lock);
}

bool msix_enabled(struct msix *m)
{
	bool on;

	pthread_mutex_lock(&m->lock);
	on = m->enabled;
	pthread_mutex_unlock(&m->lock);
	return on;
}

int msix_notify(struct msix *m, unsigned int v)
{
	int r;

	if (v >= m->nvec)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	if (deliverable(m, v) && bit(m->routed, v)) {
		const struct msix_entry *e = &m->table[v];

		m->ops->fire(m->opaque, v, entry_addr(e), e->data);
		atomic_fetch_add_explicit(&m->fired, 1, memory_order_relaxed);
		r = 1;
	} else {
		set_bit(m->pba, v, true);
		atomic_fetch_add_explicit(&m->pending, 1, memory_order_relaxed);
		r = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}
