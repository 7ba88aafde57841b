/* GSI routing table kept in userspace and committed whole. */
#include "vmm/irq_routes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int irq_routes_init(struct irq_routes *r, const struct kvm_irq_routing_entry *base, unsigned int n,
		    unsigned int max, unsigned int first_msi_gsi,
		    int (*commit)(void *opaque, const struct kvm_irq_routing_entry *e,
				  unsigned int n),
		    void *opaque)
{
	int e;

	memset(r, 0, sizeof(*r));
	if (n > max || !commit)
		return -EINVAL;
	r->e = calloc(max ? max : 1, sizeof(*r->e));
	if (!r->e)
		return -ENOMEM;
	e = pthread_mutex_init(&r->lock, NULL);
	if (e) {
		free(r->e);
		r->e = NULL;
		return -e;
	}
	if (n)
		memcpy(r->e, base, n * sizeof(*base)); /* base may be NULL when n == 0 */
	r->n = n;
	r->max = max;
	r->next_gsi = first_msi_gsi;
	r->commit = commit;
	r->opaque = opaque;
	r->commits = 1;
	return commit(opaque, r->e, r->n);
}

void irq_routes_destroy(struct irq_routes *r)
{
	if (!r->e)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->e);
	r->e = NULL;
}

int irq_routes_add_msi(struct irq_routes *r)
{
	int gsi = -ENOSPC;

	pthread_mutex_lock(&r->lock);
	if (r->n < r->max && r->next_gsi <= (unsigned int)INT32_MAX) {
		struct kvm_irq_routing_entry *e = &r->e[r->n++];

		memset(e, 0, sizeof(*e));
		e->gsi = r->next_gsi++;
		e->type = KVM_IRQ_ROUTING_MSI;
		gsi = (int)e->gsi;
	}
	pthread_mutex_unlock(&r->lock);
	return gsi;
}

int irq_routes_set_msi(struct irq_routes *r, unsigned int gsi, uint64_t addr, uint32_t data)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&r->lock);
	for (unsigned int i = 0; i < r->n; i++) {
		struct kvm_irq_routing_entry *e = &r->e[i];
		struct kvm_irq_routing_msi old;

		if (e->gsi != gsi || e->type != KVM_IRQ_ROUTING_MSI)
			continue;
		old = e->u.msi;
		if (old.address_lo == (uint32_t)addr && old.address_hi == (uint32_t)(addr >> 32) &&
		    old.data == data) {
			ret = 0;
			break;
		}
		e->u.msi.address_lo = (uint32_t)addr;
		e->u.msi.address_hi = (uint32_t)(addr >> 32);
		e->u.msi.data = data;
		ret = r->commit(r->opaque, r->e, r->n);
		if (ret)
			e->u.msi = old; /* KVM kept the previous table */
		else
			r->commits++;
		break;
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}
