/* virtio-pci modern transport: registers, negotiation, queues, interrupts. */
#include "virtio/virtio_pci.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "virtio/virtio_status.h"

/* Common configuration register offsets (struct virtio_pci_common_cfg). */
enum {
	CC_DFSELECT = 0x00,
	CC_DF = 0x04,
	CC_GFSELECT = 0x08,
	CC_GF = 0x0c,
	CC_MSIX_CONFIG = 0x10,
	CC_NUM_QUEUES = 0x12,
	CC_STATUS = 0x14,
	CC_CFG_GENERATION = 0x15,
	CC_Q_SELECT = 0x16,
	CC_Q_SIZE = 0x18,
	CC_Q_MSIX_VECTOR = 0x1a,
	CC_Q_ENABLE = 0x1c,
	CC_Q_NOTIFY_OFF = 0x1e,
	CC_Q_DESC = 0x20,
	CC_Q_DRIVER = 0x28,
	CC_Q_DEVICE = 0x30,
};

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}
static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}
static uint64_t get_le(const uint8_t *d, uint32_t len)
{
	uint64_t v = 0;

	memcpy(&v, d, len > 8 ? 8 : len);
	return v;
}

/* ---- interrupts ------------------------------------------------------ */

/* Raise INTx with ISR bit, unless MSI-X was enabled in the meantime (the
 * check is under isr_lock, which cfg_written holds to lower the line after
 * an enable, so the line cannot stay up with MSI-X on).  false: not
 * raised, the caller uses MSI-X. */
static bool raise_intx(struct virtio_pci *t, uint8_t bit)
{
	pthread_mutex_lock(&t->isr_lock);
	if (msix_enabled(&t->msix)) {
		pthread_mutex_unlock(&t->isr_lock);
		return false;
	}
	t->isr |= bit;
	pci_intx_set(&t->func, 1);
	pthread_mutex_unlock(&t->isr_lock);
	atomic_fetch_add_explicit(&t->stats.intx, 1, memory_order_relaxed);
	return true;
}

static void raise_vector(struct virtio_pci *t, uint16_t vector, uint8_t isr_bit)
{
	/* the MSI-X path takes no lock; INTx re-checks under isr_lock */
	if (!msix_enabled(&t->msix) && raise_intx(t, isr_bit))
		return;
	if (vector != VPCI_NO_VECTOR)
		msix_notify(&t->msix, vector);
}

void virtio_pci_queue_interrupt(struct virtio_pci *t, unsigned int q)
{
	if (q >= t->num_queues)
		return;
	atomic_fetch_add_explicit(&t->queues[q].interrupts, 1, memory_order_relaxed);
	raise_vector(t, atomic_load(&t->queues[q].msix_vector), VPCI_ISR_QUEUE);
}

static void config_interrupt(struct virtio_pci *t)
{
	raise_vector(t, atomic_load(&t->msix_config), VIRTIO_PCI_ISR_CONFIG);
}

/* Enter NEEDS_RESET for cause why (counted only on entry, so the causes
 * add up to stats.needs_reset). */
static void enter_needs_reset(struct virtio_pci *t, unsigned int why)
{
	if (!atomic_exchange(&t->needs_reset, true)) {
		atomic_fetch_add_explicit(&t->stats.needs_reset, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&t->stats.why[why], 1, memory_order_relaxed);
		config_interrupt(t);
	}
}

void virtio_pci_queue_broken(struct virtio_pci *t, unsigned int q)
{
	unsigned int why = VPCI_WHY_DEVICE;

	/* the device calls this from the thread that broke the queue, so
	 * its error is already recorded */
	if (q < t->num_queues && t->queues[q].vq.broken &&
	    (unsigned int)t->queues[q].vq.error < VQ_ERR_COUNT)
		why = (unsigned int)t->queues[q].vq.error;
	enter_needs_reset(t, why);
}

char *virtio_pci_why_format(const struct virtio_pci *t, char *buf, size_t n)
{
	size_t used = 0;

	if (n == 0)
		return buf;
	buf[0] = '\0';
	for (unsigned int i = 0; i < VPCI_WHY_COUNT; i++) {
		uint64_t c = atomic_load(&t->stats.why[i]);
		const char *name = i == VPCI_WHY_SETUP	  ? "setup"
				   : i == VPCI_WHY_DEVICE ? "device"
							  : vq_error_name((enum vq_error)i);
		int w;

		if (!c)
			continue;
		w = snprintf(buf + used, n - used, "%s%s=%" PRIu64, used ? " " : "", name, c);
		if (w < 0)
			break;
		if ((size_t)w >= n - used) {
			used = n - 1; /* truncated, still terminated */
			break;
		}
		used += (size_t)w;
	}
	if (!used)
		snprintf(buf, n, "none");
	return buf;
}

void virtio_pci_config_changed(struct virtio_pci *t)
{
	atomic_fetch_add(&t->config_generation, 1);
	/* Only a driver that finished setup listens: an INTx raised for
	 * nobody would stay asserted on a shared line. */
	if (atomic_load(&t->running))
		config_interrupt(t);
}

uint64_t virtio_pci_features(const struct virtio_pci *t)
{
	return t->driver_features;
}

uint8_t virtio_pci_status(struct virtio_pci *t)
{
	return t->status | (atomic_load(&t->needs_reset) ? VIRTIO_CONFIG_S_NEEDS_RESET : 0);
}

/* ---- queues ---------------------------------------------------------- */

void virtio_pci_queue_kicked(struct virtio_pci *t, unsigned int q)
{
	struct virtio_pci_queue *vq;

	if (q >= t->num_queues)
		return;
	vq = &t->queues[q];
	pthread_mutex_lock(&vq->lock);
	/* running is set only after every enabled queue was set up and is
	 * cleared before a reset takes this lock: no stale ring is served. */
	if (atomic_load(&t->running) && !atomic_load(&t->needs_reset) && vq->vq.size &&
	    !vq->vq.broken) {
		atomic_fetch_add_explicit(&vq->notifies, 1, memory_order_relaxed);
		t->ops->queue_notify(t->dev, q, &vq->vq);
	}
	pthread_mutex_unlock(&vq->lock);
}

static void mark_needs_reset(struct virtio_pci *t)
{
	enter_needs_reset(t, VPCI_WHY_SETUP);
}

/* The driver wrote queue_enable = 1 for q: check and set up its ring. */
static void enable_queue(struct virtio_pci *t, struct virtio_pci_queue *q)
{
	uint16_t n = q->size;
	int r;

	if (q->enabled)
		return;
	if (!(t->status & VIRTIO_CONFIG_S_FEATURES_OK) || n == 0 || n > q->max_size ||
	    (n & (n - 1))) {
		mark_needs_reset(t);
		return;
	}
	pthread_mutex_lock(&q->lock);
	r = vq_setup(&q->vq, t->gm, n, q->desc, q->driver, q->device, t->driver_features);
	pthread_mutex_unlock(&q->lock);
	if (r) {
		mark_needs_reset(t);
		return;
	}
	q->enabled = true;
}

void virtio_pci_queue_lock(struct virtio_pci *t, unsigned int q)
{
	if (q < t->num_queues)
		pthread_mutex_lock(&t->queues[q].lock);
}

void virtio_pci_queue_unlock(struct virtio_pci *t, unsigned int q)
{
	if (q < t->num_queues)
		pthread_mutex_unlock(&t->queues[q].lock);
}

static void reset_device(struct virtio_pci *t)
{
	atomic_store(&t->running, false);
	if (t->ops->quiesce)
		t->ops->quiesce(t->dev);
	for (unsigned int i = 0; i < t->num_queues; i++)
		pthread_mutex_lock(&t->queues[i].lock);
	t->ops->reset(t->dev);
	for (unsigned int i = 0; i < t->num_queues; i++) {
		struct virtio_pci_queue *q = &t->queues[i];

		vq_reset(&q->vq);
		q->size = q->max_size;
		q->enabled = false;
		q->desc = q->driver = q->device = 0;
		atomic_store(&q->msix_vector, VPCI_NO_VECTOR);
	}
	for (unsigned int i = t->num_queues; i-- > 0;)
		pthread_mutex_unlock(&t->queues[i].lock);
	t->driver_features = 0;
	t->dfselect = t->gfselect = 0;
	t->queue_select = 0;
	t->status = 0;
	atomic_store(&t->msix_config, VPCI_NO_VECTOR);
	atomic_store(&t->needs_reset, false);
	pthread_mutex_lock(&t->isr_lock);
	t->isr = 0;
	pci_intx_set(&t->func, 0);
	pthread_mutex_unlock(&t->isr_lock);
	atomic_fetch_add_explicit(&t->stats.resets, 1, memory_order_relaxed);
}

static bool features_ok(const struct virtio_pci *t)
{
	return (t->driver_features & ~t->device_features) == 0 &&
	       (t->driver_features & (1ull << VIRTIO_F_VERSION_1));
}

static void write_status(struct virtio_pci *t, uint8_t v)
{
	int a = virtio_status_transition(t->status, v);

	if (a == VS_REFUSE) {
		atomic_fetch_add_explicit(&t->stats.refused, 1, memory_order_relaxed);
		return;
	}
	if (a & VS_RESET) {
		reset_device(t);
		return;
	}
	v &= (uint8_t)~VIRTIO_CONFIG_S_NEEDS_RESET;
	if ((a & VS_CHECK_FEATURES) && !features_ok(t)) {
		/* the driver reads FEATURES_OK back and gives up */
		v &= (uint8_t) ~(VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
		a &= ~VS_ACTIVATE;
		atomic_fetch_add_explicit(&t->stats.refused, 1, memory_order_relaxed);
	}
	t->status = v;
	if (!(a & VS_ACTIVATE))
		return;
	if (t->ops->activate && t->ops->activate(t->dev)) {
		mark_needs_reset(t);
		return;
	}
	atomic_store(&t->running, true);
	/* Buffers made available before DRIVER_OK got no service: look at
	 * every enabled queue once now. */
	for (unsigned int i = 0; i < t->num_queues; i++)
		if (t->queues[i].enabled)
			t->host->kick(t->host_opaque, i);
}

static uint16_t checked_vector(const struct virtio_pci *t, uint16_t v)
{
	/* An unusable vector reads back as NO_VECTOR: the driver's check. */
	return v < t->msix.nvec ? v : VPCI_NO_VECTOR;
}

static void common_read(struct virtio_pci *t, uint32_t off, uint8_t *data, uint32_t len)
{
	uint8_t b[VPCI_COMMON_LEN];

	memset(b, 0, sizeof(b));
	put32(b + CC_DFSELECT, t->dfselect);
	put32(b + CC_DF,
	      t->dfselect < 2 ? (uint32_t)(t->device_features >> (32 * t->dfselect)) : 0);
	put32(b + CC_GFSELECT, t->gfselect);
	put32(b + CC_GF,
	      t->gfselect < 2 ? (uint32_t)(t->driver_features >> (32 * t->gfselect)) : 0);
	put16(b + CC_MSIX_CONFIG, atomic_load(&t->msix_config));
	put16(b + CC_NUM_QUEUES, t->num_queues);
	b[CC_STATUS] = virtio_pci_status(t);
	b[CC_CFG_GENERATION] = atomic_load(&t->config_generation);
	put16(b + CC_Q_SELECT, t->queue_select);
	if (t->queue_select < t->num_queues) {
		const struct virtio_pci_queue *q = &t->queues[t->queue_select];

		put16(b + CC_Q_SIZE, q->size);
		put16(b + CC_Q_MSIX_VECTOR, atomic_load(&q->msix_vector));
		put16(b + CC_Q_ENABLE, q->enabled);
		put16(b + CC_Q_NOTIFY_OFF, t->queue_select);
		put64(b + CC_Q_DESC, q->desc);
		put64(b + CC_Q_DRIVER, q->driver);
		put64(b + CC_Q_DEVICE, q->device);
	}
	if (off < sizeof(b) && len <= sizeof(b) - off)
		memcpy(data, b + off, len);
	else
		memset(data, 0, len);
}

/* Write half (len 4) or all (len 8) of a 64-bit ring address. */
static void write_addr(uint64_t *a, uint32_t rel, uint32_t len, uint64_t v)
{
	if (len == 8 && rel == 0)
		*a = v;
	else if (len == 4 && rel == 0)
		*a = (*a & ~0xffffffffull) | (uint32_t)v;
	else if (len == 4 && rel == 4)
		*a = (*a & 0xffffffffull) | (v << 32);
}

static void common_write(struct virtio_pci *t, uint32_t off, const uint8_t *data, uint32_t len)
{
	uint64_t v = get_le(data, len);
	struct virtio_pci_queue *q =
	    t->queue_select < t->num_queues ? &t->queues[t->queue_select] : NULL;
	bool queue_locked = (t->status & VIRTIO_CONFIG_S_DRIVER_OK) || (q && q->enabled);

	switch (off) {
	case CC_DFSELECT:
		if (len == 4)
			t->dfselect = (uint32_t)v;
		return;
	case CC_GFSELECT:
		if (len == 4)
			t->gfselect = (uint32_t)v;
		return;
	case CC_GF:
		if (len != 4 || t->gfselect > 1)
			return;
		if (t->status & VIRTIO_CONFIG_S_FEATURES_OK) {
			atomic_fetch_add_explicit(&t->stats.refused, 1, memory_order_relaxed);
			return;
		}
		t->driver_features &= ~(0xffffffffull << (32 * t->gfselect));
		t->driver_features |= (v & 0xffffffffull) << (32 * t->gfselect);
		return;
	case CC_MSIX_CONFIG:
		if (len == 2)
			atomic_store(&t->msix_config, checked_vector(t, (uint16_t)v));
		return;
	case CC_STATUS:
		if (len == 1)
			write_status(t, (uint8_t)v);
		return;
	case CC_Q_SELECT:
		if (len == 2)
			t->queue_select = (uint16_t)v;
		return;
	}
	if (!q)
		return;
	if (off == CC_Q_MSIX_VECTOR && len == 2) {
		atomic_store(&q->msix_vector, checked_vector(t, (uint16_t)v));
		return;
	}
	if (queue_locked) {
		/* ring layout is fixed once enabled or DRIVER_OK */
		atomic_fetch_add_explicit(&t->stats.refused, 1, memory_order_relaxed);
		return;
	}
	if (off == CC_Q_SIZE && len == 2)
		q->size = (uint16_t)v;
	else if (off == CC_Q_ENABLE && len == 2 && v == 1)
		enable_queue(t, q);
	else if (off >= CC_Q_DESC && off < CC_Q_DESC + 8)
		write_addr(&q->desc, off - CC_Q_DESC, len, v);
	else if (off >= CC_Q_DRIVER && off < CC_Q_DRIVER + 8)
		write_addr(&q->driver, off - CC_Q_DRIVER, len, v);
	else if (off >= CC_Q_DEVICE && off < CC_Q_DEVICE + 8)
		write_addr(&q->device, off - CC_Q_DEVICE, len, v);
}

/* ---- the BAR --------------------------------------------------------- */

static bool inside(uint64_t off, uint32_t len, uint64_t base, uint64_t size)
{
	return off >= base && off - base < size && len <= size - (off - base);
}

static void bar_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_pci *t = opaque;

	memset(data, 0, len);
	if (inside(off, len, VPCI_MSIX_OFF, msix_table_size(t->msix.nvec))) {
		msix_table_read(&t->msix, off - VPCI_MSIX_OFF, data, len);
	} else if (inside(off, len, VPCI_PBA_OFF, msix_pba_size(t->msix.nvec))) {
		msix_pba_read(&t->msix, off - VPCI_PBA_OFF, data, len);
	} else if (inside(off, len, VPCI_COMMON_OFF, VPCI_COMMON_LEN)) {
		pthread_mutex_lock(&t->lock);
		common_read(t, (uint32_t)(off - VPCI_COMMON_OFF), data, len);
		pthread_mutex_unlock(&t->lock);
	} else if (inside(off, len, VPCI_ISR_OFF, VPCI_ISR_LEN)) {
		/* reading the ISR acknowledges it and lowers INTx */
		pthread_mutex_lock(&t->isr_lock);
		if (off == VPCI_ISR_OFF)
			data[0] = t->isr;
		t->isr = 0;
		pci_intx_set(&t->func, 0);
		pthread_mutex_unlock(&t->isr_lock);
	} else if (t->cfg_len && inside(off, len, VPCI_DEVICE_OFF, t->cfg_len)) {
		pthread_mutex_lock(&t->lock);
		t->ops->cfg_read(t->dev, (uint32_t)(off - VPCI_DEVICE_OFF), data, len);
		pthread_mutex_unlock(&t->lock);
	}
}

static void bar_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct virtio_pci *t = opaque;

	if (inside(off, len, VPCI_MSIX_OFF, msix_table_size(t->msix.nvec))) {
		msix_table_write(&t->msix, off - VPCI_MSIX_OFF, data, len);
	} else if (inside(off, len, VPCI_NOTIFY_OFF, (uint64_t)t->num_queues * VPCI_NOTIFY_MULT)) {
		unsigned int q = (unsigned int)((off - VPCI_NOTIFY_OFF) / VPCI_NOTIFY_MULT);

		atomic_fetch_add_explicit(&t->stats.mmio_kicks, 1, memory_order_relaxed);
		t->host->kick(t->host_opaque, q);
	} else if (inside(off, len, VPCI_COMMON_OFF, VPCI_COMMON_LEN)) {
		pthread_mutex_lock(&t->lock);
		common_write(t, (uint32_t)(off - VPCI_COMMON_OFF), data, len);
		pthread_mutex_unlock(&t->lock);
	} else if (t->cfg_len && inside(off, len, VPCI_DEVICE_OFF, t->cfg_len) &&
		   t->ops->cfg_write) {
		pthread_mutex_lock(&t->lock);
		t->ops->cfg_write(t->dev, (uint32_t)(off - VPCI_DEVICE_OFF), data, len);
		pthread_mutex_unlock(&t->lock);
	}
}

const struct bus_ops virtio_pci_bar_ops = {
    .name = "virtio-pci",
    .read = bar_read,
    .write = bar_write,
};

/* ---- PCI hooks ------------------------------------------------------- */

static void bar_moved(void *opaque, int bar, uint64_t addr, bool mapped)
{
	struct virtio_pci *t = opaque;

	if (bar != VPCI_BAR)
		return;
	for (unsigned int q = 0; q < t->num_queues; q++)
		t->host->ioeventfd(t->host_opaque, q,
				   addr + VPCI_NOTIFY_OFF + (uint64_t)q * VPCI_NOTIFY_MULT, mapped);
	t->bar_mapped = mapped;
	t->bar_addr = addr;
}

static void cfg_written(void *opaque, uint32_t off, uint32_t len)
{
	struct virtio_pci *t = opaque;
	uint32_t ctl = (uint32_t)t->msix_cap + PCI_MSIX_FLAGS;

	if (off < ctl + 2 && off + len > ctl) {
		msix_set_control(&t->msix,
				 (uint16_t)(t->func.cfg[ctl] | t->func.cfg[ctl + 1] << 8));
		/* with MSI-X on the function must not use INTx: a line left
		 * asserted by interrupts no driver acknowledged goes down (the
		 * ISR bits stay for a read).  A driver that polled with MSI-X
		 * off and then enabled it otherwise kept a level interrupt
		 * pending in the irqchip. */
		if (msix_enabled(&t->msix)) {
			pthread_mutex_lock(&t->isr_lock);
			pci_intx_set(&t->func, 0);
			pthread_mutex_unlock(&t->isr_lock);
		}
	}
}

static const struct pci_func_ops func_ops = {
    .bar_moved = bar_moved,
    .cfg_written = cfg_written,
};

/* ---- setup ----------------------------------------------------------- */

static int add_vendor_cap(struct virtio_pci *t, uint8_t type, uint32_t off, uint32_t len,
			  bool notify)
{
	/* struct virtio_pci_cap without cap_vndr/cap_next, then the notify
	 * multiplier for the notify capability */
	uint8_t body[18];
	uint8_t blen = notify ? 18 : 14;

	memset(body, 0, sizeof(body));
	body[0] = (uint8_t)(blen + 2); /* cap_len counts the id and link bytes */
	body[1] = type;
	body[2] = VPCI_BAR;
	put32(body + 6, off);
	put32(body + 10, len);
	if (notify)
		put32(body + 14, VPCI_NOTIFY_MULT);
	return pci_func_add_cap(&t->func, PCI_CAP_ID_VNDR, body, blen, NULL);
}

int virtio_pci_init(struct virtio_pci *t, const struct guest_mem *gm,
		    const struct virtio_dev_ops *ops, void *dev, uint64_t features,
		    unsigned int num_queues, uint16_t max_size, uint32_t cfg_len,
		    const struct virtio_pci_host_ops *host, const struct msix_ops *msix_ops,
		    void *host_opaque)
{
	uint8_t body[MSIX_CAP_BODY_LEN], wmask[MSIX_CAP_BODY_LEN];
	unsigned int nvec = num_queues + 1;
	int r;

	memset(t, 0, sizeof(*t));
	if (!ops || !ops->queue_notify || !ops->reset || num_queues == 0 ||
	    num_queues > VPCI_MAX_QUEUES || max_size == 0 || max_size > VQ_MAX_SIZE ||
	    (max_size & (max_size - 1)) || cfg_len > VPCI_DEVICE_MAX ||
	    (cfg_len && !ops->cfg_read) || !host || !host->kick || !host->ioeventfd ||
	    msix_table_size(nvec) > VPCI_PBA_OFF - VPCI_MSIX_OFF)
		return -EINVAL;
	t->queues = calloc(num_queues, sizeof(*t->queues));
	if (!t->queues)
		return -ENOMEM;
	r = msix_init(&t->msix, nvec, msix_ops, host_opaque);
	if (r) {
		free(t->queues);
		t->queues = NULL;
		return r;
	}
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->isr_lock, NULL);
	for (unsigned int i = 0; i < num_queues; i++) {
		pthread_mutex_init(&t->queues[i].lock, NULL);
		t->queues[i].max_size = max_size;
		t->queues[i].size = max_size;
		atomic_store(&t->queues[i].msix_vector, VPCI_NO_VECTOR);
	}
	t->gm = gm;
	t->ops = ops;
	t->dev = dev;
	t->cfg_len = cfg_len;
	t->host = host;
	t->host_opaque = host_opaque;
	t->num_queues = (uint16_t)num_queues;
	t->device_features = features | (1ull << VIRTIO_F_VERSION_1);
	atomic_store(&t->msix_config, VPCI_NO_VECTOR);

	pci_func_init(&t->func, VPCI_VENDOR, (uint16_t)(VPCI_DEVICE_BASE + ops->device_id),
		      ops->class_code, 1, VPCI_VENDOR,
		      (uint16_t)(VPCI_DEVICE_BASE + ops->device_id), &func_ops, t);
	r = pci_func_add_bar(&t->func, VPCI_BAR, PCI_BAR_MEM64, true, VPCI_BAR_SIZE,
			     &virtio_pci_bar_ops, t);
	msix_cap_body(nvec, VPCI_BAR, VPCI_MSIX_OFF, VPCI_PBA_OFF, body, wmask);
	if (!r)
		r = t->msix_cap =
		    pci_func_add_cap(&t->func, PCI_CAP_ID_MSIX, body, sizeof(body), wmask);
	if (r >= 0)
		r = add_vendor_cap(t, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON_OFF, VPCI_COMMON_LEN,
				   false);
	if (r >= 0)
		r = add_vendor_cap(t, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR_OFF, VPCI_ISR_LEN, false);
	if (r >= 0 && cfg_len)
		r = add_vendor_cap(t, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVICE_OFF, cfg_len, false);
	if (r >= 0)
		r = add_vendor_cap(t, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY_OFF,
				   num_queues * VPCI_NOTIFY_MULT, true);
	if (r < 0) {
		virtio_pci_destroy(t);
		return r;
	}
	return 0;
}

void virtio_pci_destroy(struct virtio_pci *t)
{
	if (!t->queues)
		return;
	for (unsigned int i = 0; i < t->num_queues; i++)
		pthread_mutex_destroy(&t->queues[i].lock);
	free(t->queues);
	t->queues = NULL;
	msix_destroy(&t->msix);
	pthread_mutex_destroy(&t->lock);
	pthread_mutex_destroy(&t->isr_lock);
}
