/* The VM's GSI routing table: fixed irqchip routes (PIC/IOAPIC pins) plus
 * one MSI route per MSI-X vector that uses an irqfd.  KVM only takes the
 * whole table at once (KVM_SET_GSI_ROUTING), so every change rebuilds it
 * and hands it to a commit callback (kvm_set_gsi_routing in a VM, a
 * recorder in tests).  Thread-safe: vCPU threads update routes when the
 * guest programs MSI-X entries. */
#ifndef KVMLAB_VMM_IRQ_ROUTES_H
#define KVMLAB_VMM_IRQ_ROUTES_H

#include <pthread.h>
#include <stdint.h>

#include <linux/kvm.h>

struct irq_routes {
	pthread_mutex_t lock;
	struct kvm_irq_routing_entry *e; /* [0, n) in use, max allocated */
	unsigned int n, max;
	unsigned int next_gsi; /* next GSI handed out for an MSI route */
	int (*commit)(void *opaque, const struct kvm_irq_routing_entry *e, unsigned int n);
	void *opaque;
	uint64_t commits; /* tables handed to commit */
};

/* Start from the n fixed entries in base (copied) with room for max
 * entries in all; MSI routes get GSIs from first_msi_gsi up.  Commits the
 * fixed table once.  Returns 0, -EINVAL (n > max), -ENOMEM, or commit's
 * error. */
int irq_routes_init(struct irq_routes *r, const struct kvm_irq_routing_entry *base, unsigned int n,
		    unsigned int max, unsigned int first_msi_gsi,
		    int (*commit)(void *opaque, const struct kvm_irq_routing_entry *e,
				  unsigned int n),
		    void *opaque);

/* Free the table.  Safe on a zeroed struct. */
void irq_routes_destroy(struct irq_routes *r);

/* Reserve a GSI for an MSI route (message 0/0 until irq_routes_set_msi;
 * not committed yet).  Returns the GSI (>= first_msi_gsi) or -ENOSPC. */
int irq_routes_add_msi(struct irq_routes *r);

/* Point MSI route gsi at address/data and commit the table if that changed
 * anything.  Returns 0, -ENOENT for a GSI that is not an MSI route of ours,
 * or commit's error (the old table stays in force then). */
int irq_routes_set_msi(struct irq_routes *r, unsigned int gsi, uint64_t addr, uint32_t data);

#endif
