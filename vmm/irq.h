/* An interrupt line as seen by a device model: a callback that sets the
 * line's level.  In a VM it ends in KVM_IRQ_LINE or an irqfd; in unit tests
 * it records the level. */
#ifndef KVMLAB_VMM_IRQ_H
#define KVMLAB_VMM_IRQ_H

struct irq_line {
	void (*set_level)(void *opaque, unsigned int gsi, int level);
	void *opaque;
	unsigned int gsi;
};

/* Drive line to level (0 or 1); a line with no callback is ignored. */
static inline void irq_set(const struct irq_line *l, int level)
{
	if (l && l->set_level)
		l->set_level(l->opaque, l->gsi, level);
}

#endif
