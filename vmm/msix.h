/* MSI-X for a PCI function: the vector table and pending-bit array the
 * guest sees in a BAR, the enable / function-mask bits of the capability,
 * and per-vector masking.  A device raises a vector with msix_notify; a
 * masked vector only sets its pending bit and is delivered when the guest
 * unmasks it.  Delivery and route updates go through const ops (irqfd or
 * KVM_SIGNAL_MSI in a VM, counters in tests).  Thread-safe: the table is
 * written from vCPU threads while IO threads notify. */
#ifndef KVMLAB_VMM_MSIX_H
#define KVMLAB_VMM_MSIX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define MSIX_MAX_VECTORS   2048
#define MSIX_ENTRY_SIZE	   16
#define MSIX_CAP_BODY_LEN  10 /* message control, table and PBA offset/BIR */
#define MSIX_CTRL_ENABLE   0x8000
#define MSIX_CTRL_MASKALL  0x4000
#define MSIX_VECTOR_MASKED 0x1

struct msix_ops {
	/* Vector v became deliverable, or its message changed while it is:
	 * make addr/data its current message (an MSI route for an irqfd).
	 * Returns 0 or a negative errno (the vector then stays pending). */
	int (*update)(void *opaque, unsigned int v, uint64_t addr, uint32_t data);
	/* Deliver vector v's message now. */
	void (*fire)(void *opaque, unsigned int v, uint64_t addr, uint32_t data);
	/* Optional.  Vector v became (direct) or stopped being (!direct)
	 * deliverable straight through its route: enabled, not function-
	 * masked, not masked, and update accepted its message.  A host that
	 * lets something else signal the route's irqfd (vhost) must stop
	 * doing so when it turns false and take notifications through
	 * msix_notify instead.  Called with the MSI-X lock held: must not
	 * call back into this msix. */
	void (*direct)(void *opaque, unsigned int v, bool direct);
};

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct msix {
	pthread_mutex_t lock;
	unsigned int nvec;
	struct msix_entry *table; /* nvec entries */
	uint64_t *pba;		  /* nvec bits */
	uint64_t *routed;	  /* nvec bits: ops->update accepted the current message */
	bool enabled, masked;	  /* capability: MSI-X enable, function mask */
	const struct msix_ops *ops;
	void *opaque;
	_Atomic uint64_t fired;	  /* messages delivered */
	_Atomic uint64_t pending; /* notifications held back by a mask */
};

/* nvec (1..MSIX_MAX_VECTORS) vectors, all masked, MSI-X disabled.
 * Returns 0, -EINVAL or -ENOMEM. */
int msix_init(struct msix *m, unsigned int nvec, const struct msix_ops *ops, void *opaque);
void msix_destroy(struct msix *m);

/* Bytes of the table / PBA for nvec vectors (the PBA in whole qwords). */
static inline uint32_t msix_table_size(unsigned int nvec)
{
	return nvec * MSIX_ENTRY_SIZE;
}
static inline uint32_t msix_pba_size(unsigned int nvec)
{
	return ((nvec + 63) / 64) * 8;
}

/* The capability body for pci_func_add_cap (id 0x11): message control with
 * the table size, table and PBA at the given BAR offsets (8-aligned) in BAR
 * bir; and its write mask (enable and function-mask bits only). */
void msix_cap_body(unsigned int nvec, int bir, uint32_t table_off, uint32_t pba_off,
		   uint8_t body[MSIX_CAP_BODY_LEN], uint8_t wmask[MSIX_CAP_BODY_LEN]);

/* Guest access to the table at byte offset off (len 1..8, inside the
 * table; anything else reads as zero / is ignored).  Address and data are
 * taken as written; a change of the mask bit or of the message of a
 * deliverable vector calls ops->update, and unmasking a pending vector
 * delivers it. */
void msix_table_read(struct msix *m, uint64_t off, uint8_t *data, uint32_t len);
void msix_table_write(struct msix *m, uint64_t off, const uint8_t *data, uint32_t len);

/* Guest read of the PBA (writes are ignored by the spec's rules). */
void msix_pba_read(struct msix *m, uint64_t off, uint8_t *data, uint32_t len);

/* The capability's message control word was written. */
void msix_set_control(struct msix *m, uint16_t control);

/* Whether MSI-X is enabled (the device then must not use INTx). */
bool msix_enabled(struct msix *m);

/* Lock / unlock the table, to read msix_direct_locked consistently with
 * ops->direct calls (lock order: after a device's queue locks). */
void msix_lock(struct msix *m);
void msix_unlock(struct msix *m);

/* Whether vector v is deliverable straight through its route (see
 * ops->direct); false for v >= nvec.  Lock held. */
bool msix_direct_locked(const struct msix *m, unsigned int v);

/* Raise vector v.  Returns 1 if delivered, 0 if held pending (masked,
 * function-masked, MSI-X disabled, or its route could not be made),
 * -EINVAL for v >= nvec. */
int msix_notify(struct msix *m, unsigned int v);

#endif
