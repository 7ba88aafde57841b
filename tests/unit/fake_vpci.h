/* A fake virtio-pci driver for unit tests: reaches a transport's common
 * configuration the way a driver does (status, feature negotiation, queue
 * setup) through BAR accessors the test chooses, and records what the
 * transport asks of the host (ioeventfd binds, kicks, MSI-X routes and
 * messages, the INTx line).  Plain C (no cmocka): helpers return what they
 * read back, and the tests check it. */
#ifndef KVMLAB_TESTS_FAKE_VPCI_H
#define KVMLAB_TESTS_FAKE_VPCI_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "fake_vring.h"
#include "virtio/virtio_pci.h"
#include "vmm/msix.h"

/* ---- the driver's view of BAR 0 ---------------------------------------- */

struct fvp {
	/* Read or write len (1, 2, 4 or 8) bytes at offset off of BAR 0. */
	uint64_t (*rd)(void *ctx, uint64_t off, uint32_t len);
	void (*wr)(void *ctx, uint64_t off, uint32_t len, uint64_t v);
	void *ctx;
	uint64_t common_off; /* the common configuration, as its capability says */
};

/* Read or write BAR 0 through the test's accessors. */
static inline uint64_t fvp_bar_rd(const struct fvp *d, uint64_t off, uint32_t len)
{
	return d->rd(d->ctx, off, len);
}

static inline void fvp_bar_wr(const struct fvp *d, uint64_t off, uint32_t len, uint64_t v)
{
	d->wr(d->ctx, off, len, v);
}

/* Accessors straight into virtio_pci_bar_ops (ctx: the struct virtio_pci),
 * for tests that do not map the BAR on a bus. */
static inline uint64_t fvp_direct_rd(void *ctx, uint64_t off, uint32_t len)
{
	uint8_t b[8] = {0};
	uint64_t v = 0;

	virtio_pci_bar_ops.read(ctx, off, b, len);
	memcpy(&v, b, len);
	return v;
}

static inline void fvp_direct_wr(void *ctx, uint64_t off, uint32_t len, uint64_t v)
{
	uint8_t b[8];

	memcpy(b, &v, len);
	virtio_pci_bar_ops.write(ctx, off, b, len);
}

/* A driver reaching t through the direct accessors, with the common
 * configuration where virtio_pci lays it out. */
static inline void fvp_init_direct(struct fvp *d, struct virtio_pci *t)
{
	*d = (struct fvp){
	    .rd = fvp_direct_rd, .wr = fvp_direct_wr, .ctx = t, .common_off = VPCI_COMMON_OFF};
}

/* ---- common configuration ------------------------------------------------ */

/* Read or write common configuration register reg (VIRTIO_PCI_COMMON_*). */
static inline uint64_t fvp_cc_rd(const struct fvp *d, uint32_t reg, uint32_t len)
{
	return fvp_bar_rd(d, d->common_off + reg, len);
}

static inline void fvp_cc_wr(const struct fvp *d, uint32_t reg, uint32_t len, uint64_t v)
{
	fvp_bar_wr(d, d->common_off + reg, len, v);
}

/* The device status register; writing 0 resets the device. */
static inline uint8_t fvp_status(const struct fvp *d)
{
	return (uint8_t)fvp_cc_rd(d, VIRTIO_PCI_COMMON_STATUS, 1);
}

static inline void fvp_set_status(const struct fvp *d, uint8_t s)
{
	fvp_cc_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, s);
}

/* The 64 feature bits the device offers (two 32-bit selector windows). */
static inline uint64_t fvp_device_features(const struct fvp *d)
{
	uint64_t f;

	fvp_cc_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	f = fvp_cc_rd(d, VIRTIO_PCI_COMMON_DF, 4);
	fvp_cc_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	return f | fvp_cc_rd(d, VIRTIO_PCI_COMMON_DF, 4) << 32;
}

/* Write the driver's 64 feature bits as given (no masking). */
static inline void fvp_write_features(const struct fvp *d, uint64_t f)
{
	fvp_cc_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	fvp_cc_wr(d, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)f);
	fvp_cc_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	fvp_cc_wr(d, VIRTIO_PCI_COMMON_GF, 4, f >> 32);
}

/* From a reset device: ACKNOWLEDGE, DRIVER, read the device's features,
 * write features, FEATURES_OK.  Returns the status read back (without
 * FEATURES_OK if the device refused the features). */
static inline uint8_t fvp_negotiate(const struct fvp *d, uint64_t features)
{
	fvp_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	fvp_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	(void)fvp_device_features(d);
	fvp_write_features(d, features);
	fvp_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			      VIRTIO_CONFIG_S_FEATURES_OK);
	return fvp_status(d);
}

/* Program queue q with the ring fv lays out (size and the three addresses,
 * written in 32-bit halves as Linux does) and MSI-X vector (VPCI_NO_VECTOR
 * for none), then enable it.  Returns Q_ENABLE read back (1 if enabled). */
static inline uint16_t fvp_setup_queue(const struct fvp *d, uint16_t q, const struct fv *fv,
				       uint16_t vector)
{
	fvp_cc_wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	fvp_cc_wr(d, VIRTIO_PCI_COMMON_Q_SIZE, 2, fv->size);
	fvp_cc_wr(d, VIRTIO_PCI_COMMON_Q_MSIX, 2, vector);
	fvp_cc_wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)fv->desc);
	fvp_cc_wr(d, VIRTIO_PCI_COMMON_Q_DESCHI, 4, fv->desc >> 32);
	fvp_cc_wr(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)fv->avail);
	fvp_cc_wr(d, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, fv->avail >> 32);
	fvp_cc_wr(d, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)fv->used);
	fvp_cc_wr(d, VIRTIO_PCI_COMMON_Q_USEDHI, 4, fv->used >> 32);
	fvp_cc_wr(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	return (uint16_t)fvp_cc_rd(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2);
}

/* ---- the host side: a recorder ------------------------------------------- */

#define FVP_LOG	 64 /* calls kept in each log (the counts go on) */
#define FVP_MAXQ 8  /* queues with a kick count of their own */

struct fvp_bind {
	unsigned int q;
	uint64_t gpa;
	bool assign;
};

struct fvp_call {
	unsigned int v;
	uint64_t addr;
	uint32_t data;
};

/* Everything the host side sees. */
struct fvp_host {
	struct fvp_bind binds[FVP_LOG];
	unsigned int nbinds;
	unsigned int kicks[FVP_LOG]; /* the queue of each kick, in order */
	unsigned int nkicks;
	unsigned int qkicks[FVP_MAXQ]; /* kicks per queue */
	struct fvp_call updates[FVP_LOG], fires[FVP_LOG];
	unsigned int nupdates, nfires;
	unsigned int intx_gsi;
	int intx_level;
	unsigned int intx_changes;
	/* called once from the next fire: the driver reacting to an interrupt */
	void (*on_fire)(void *arg);
	void *on_fire_arg;
};

/* virtio_pci_host_ops.ioeventfd: log the bind; succeeds. */
static inline int fvp_host_ioeventfd(void *opaque, unsigned int q, uint64_t gpa, bool assign)
{
	struct fvp_host *h = opaque;

	if (h->nbinds < FVP_LOG)
		h->binds[h->nbinds] = (struct fvp_bind){q, gpa, assign};
	h->nbinds++;
	return 0;
}

/* virtio_pci_host_ops.kick: log the queue and count it. */
static inline void fvp_host_kick(void *opaque, unsigned int q)
{
	struct fvp_host *h = opaque;

	if (h->nkicks < FVP_LOG)
		h->kicks[h->nkicks] = q;
	h->nkicks++;
	if (q < FVP_MAXQ)
		h->qkicks[q]++;
}

/* msix_ops.update: log the route; succeeds. */
static inline int fvp_host_update(void *opaque, unsigned int v, uint64_t addr, uint32_t data)
{
	struct fvp_host *h = opaque;

	if (h->nupdates < FVP_LOG)
		h->updates[h->nupdates] = (struct fvp_call){v, addr, data};
	h->nupdates++;
	return 0;
}

/* msix_ops.fire: log the message, then run and clear on_fire if set. */
static inline void fvp_host_fire(void *opaque, unsigned int v, uint64_t addr, uint32_t data)
{
	struct fvp_host *h = opaque;
	void (*hook)(void *) = h->on_fire;

	if (h->nfires < FVP_LOG)
		h->fires[h->nfires] = (struct fvp_call){v, addr, data};
	h->nfires++;
	h->on_fire = NULL;
	if (hook)
		hook(h->on_fire_arg);
}

/* An INTx line's set_level: keep the last level and count the changes. */
static inline void fvp_host_intx(void *opaque, unsigned int gsi, int level)
{
	struct fvp_host *h = opaque;

	h->intx_gsi = gsi;
	h->intx_level = level;
	h->intx_changes++;
}

/* The recorder as the transport's host and MSI-X operations (opaque: the
 * struct fvp_host). */
static inline const struct virtio_pci_host_ops *fvp_host_ops(void)
{
	static const struct virtio_pci_host_ops ops = {.ioeventfd = fvp_host_ioeventfd,
						       .kick = fvp_host_kick};
	return &ops;
}

static inline const struct msix_ops *fvp_msix_ops(void)
{
	static const struct msix_ops ops = {.update = fvp_host_update, .fire = fvp_host_fire};
	return &ops;
}

#endif
