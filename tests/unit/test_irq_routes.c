/* GSI routing table: the fixed base, MSI routes handed out in order,
 * commits only on change, and a failed commit keeping the old entry. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/irq_routes.h"

#define MAXR 8

/* Records what was committed last; fails with fail_with when non-zero. */
struct recorder {
	unsigned int calls;
	struct kvm_irq_routing_entry last[MAXR];
	unsigned int last_n;
	int fail_with;
};

static int commit(void *opaque, const struct kvm_irq_routing_entry *e, unsigned int n)
{
	struct recorder *r = opaque;

	r->calls++;
	if (r->fail_with)
		return r->fail_with;
	assert_true(n <= MAXR);
	memcpy(r->last, e, n * sizeof(*e));
	r->last_n = n;
	return 0;
}

static void irqchip(struct kvm_irq_routing_entry *e, unsigned int gsi, unsigned int chip,
		    unsigned int pin)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

/* The committed entry for gsi, or NULL. */
static const struct kvm_irq_routing_entry *committed(const struct recorder *r, unsigned int gsi)
{
	for (unsigned int i = 0; i < r->last_n; i++)
		if (r->last[i].gsi == gsi)
			return &r->last[i];
	return NULL;
}

static void test_init_commits_base(void **state)
{
	struct kvm_irq_routing_entry base[3];
	struct recorder rec = {0};
	struct irq_routes r;

	(void)state;
	irqchip(&base[0], 0, KVM_IRQCHIP_IOAPIC, 2);
	irqchip(&base[1], 1, KVM_IRQCHIP_IOAPIC, 1);
	irqchip(&base[2], 1, KVM_IRQCHIP_PIC_MASTER, 1);
	assert_int_equal(irq_routes_init(&r, base, 3, MAXR, 24, commit, &rec), 0);
	assert_int_equal(rec.calls, 1);
	assert_int_equal(rec.last_n, 3);
	assert_memory_equal(rec.last, base, sizeof(base));
	/* the base was copied: changing the caller's array changes nothing */
	base[0].u.irqchip.pin = 9;
	assert_int_equal(r.e[0].u.irqchip.pin, 2);
	irq_routes_destroy(&r);
	irq_routes_destroy(&r); /* twice is harmless */
}

static void test_init_errors(void **state)
{
	struct kvm_irq_routing_entry base[2];
	struct recorder rec = {.fail_with = -EINVAL};
	struct irq_routes r;

	(void)state;
	irqchip(&base[0], 0, KVM_IRQCHIP_IOAPIC, 2);
	irqchip(&base[1], 4, KVM_IRQCHIP_IOAPIC, 4);
	assert_int_equal(irq_routes_init(&r, base, 2, 1, 24, commit, &rec), -EINVAL);
	assert_int_equal(rec.calls, 0);
	irq_routes_destroy(&r);
	assert_int_equal(irq_routes_init(&r, base, 2, 4, 24, NULL, &rec), -EINVAL);
	irq_routes_destroy(&r);
	/* the commit's error comes back */
	rec.fail_with = -EFAULT;
	assert_int_equal(irq_routes_init(&r, base, 2, 4, 24, commit, &rec), -EFAULT);
	assert_int_equal(rec.calls, 1);
	irq_routes_destroy(&r);
	/* an empty base is fine */
	rec = (struct recorder){0};
	assert_int_equal(irq_routes_init(&r, NULL, 0, 2, 24, commit, &rec), 0);
	assert_int_equal(rec.calls, 1);
	assert_int_equal(rec.last_n, 0);
	irq_routes_destroy(&r);
	/* no room at all: no MSI route */
	rec = (struct recorder){0};
	assert_int_equal(irq_routes_init(&r, base, 2, 2, 24, commit, &rec), 0);
	assert_int_equal(irq_routes_add_msi(&r), -ENOSPC);
	irq_routes_destroy(&r);
}

static void test_add_msi(void **state)
{
	struct kvm_irq_routing_entry base[2];
	struct recorder rec = {0};
	struct irq_routes r;

	(void)state;
	irqchip(&base[0], 0, KVM_IRQCHIP_IOAPIC, 2);
	irqchip(&base[1], 4, KVM_IRQCHIP_IOAPIC, 4);
	assert_int_equal(irq_routes_init(&r, base, 2, 5, 40, commit, &rec), 0);
	assert_int_equal(irq_routes_add_msi(&r), 40);
	assert_int_equal(irq_routes_add_msi(&r), 41);
	assert_int_equal(irq_routes_add_msi(&r), 42);
	assert_int_equal(irq_routes_add_msi(&r), -ENOSPC);
	assert_int_equal(irq_routes_add_msi(&r), -ENOSPC);
	/* reserving is not committing */
	assert_int_equal(rec.calls, 1);
	assert_int_equal(r.n, 5);
	for (unsigned int i = 2; i < 5; i++) {
		assert_int_equal(r.e[i].type, KVM_IRQ_ROUTING_MSI);
		assert_int_equal(r.e[i].gsi, 40 + i - 2);
		assert_int_equal(r.e[i].u.msi.address_lo, 0);
		assert_int_equal(r.e[i].u.msi.data, 0);
	}
	irq_routes_destroy(&r);
}

static void test_set_msi(void **state)
{
	struct kvm_irq_routing_entry base[1];
	struct recorder rec = {0};
	const struct kvm_irq_routing_entry *e;
	struct irq_routes r;
	int g0, g1;

	(void)state;
	irqchip(&base[0], 4, KVM_IRQCHIP_IOAPIC, 4);
	assert_int_equal(irq_routes_init(&r, base, 1, 4, 24, commit, &rec), 0);
	g0 = irq_routes_add_msi(&r);
	g1 = irq_routes_add_msi(&r);
	assert_int_equal(g0, 24);
	assert_int_equal(g1, 25);

	assert_int_equal(irq_routes_set_msi(&r, (unsigned int)g1, 0x1fee01000ull, 0x4025), 0);
	assert_int_equal(rec.calls, 2);
	assert_int_equal(r.commits, 2);
	assert_int_equal(rec.last_n, 3); /* the whole table, every time */
	e = committed(&rec, (unsigned int)g1);
	assert_non_null(e);
	assert_int_equal(e->type, KVM_IRQ_ROUTING_MSI);
	assert_int_equal(e->u.msi.address_lo, 0xfee01000);
	assert_int_equal(e->u.msi.address_hi, 1);
	assert_int_equal(e->u.msi.data, 0x4025);
	assert_non_null(committed(&rec, 4));
	assert_non_null(committed(&rec, (unsigned int)g0));

	/* the same message again: nothing to commit */
	assert_int_equal(irq_routes_set_msi(&r, (unsigned int)g1, 0x1fee01000ull, 0x4025), 0);
	assert_int_equal(rec.calls, 2);
	/* any part changing commits */
	assert_int_equal(irq_routes_set_msi(&r, (unsigned int)g1, 0x1fee01000ull, 0x4026), 0);
	assert_int_equal(rec.calls, 3);
	assert_int_equal(committed(&rec, (unsigned int)g1)->u.msi.data, 0x4026);
	assert_int_equal(irq_routes_set_msi(&r, (unsigned int)g1, 0xfee01000ull, 0x4026), 0);
	assert_int_equal(rec.calls, 4);
	assert_int_equal(committed(&rec, (unsigned int)g1)->u.msi.address_hi, 0);
	assert_int_equal(irq_routes_set_msi(&r, (unsigned int)g1, 0xfee02000ull, 0x4026), 0);
	assert_int_equal(rec.calls, 5);
	assert_int_equal(committed(&rec, (unsigned int)g1)->u.msi.address_lo, 0xfee02000);
	/* the other route is untouched */
	assert_int_equal(committed(&rec, (unsigned int)g0)->u.msi.data, 0);
	assert_int_equal(r.commits, 5);
	irq_routes_destroy(&r);
}

static void test_failed_commit_keeps_old(void **state)
{
	struct recorder rec = {0};
	struct irq_routes r;
	int g;

	(void)state;
	assert_int_equal(irq_routes_init(&r, NULL, 0, 2, 24, commit, &rec), 0);
	g = irq_routes_add_msi(&r);
	assert_int_equal(irq_routes_set_msi(&r, (unsigned int)g, 0xfee00000, 0x41), 0);
	assert_int_equal(rec.calls, 2);

	rec.fail_with = -ENOMEM;
	assert_int_equal(irq_routes_set_msi(&r, (unsigned int)g, 0xfee00000, 0x42), -ENOMEM);
	assert_int_equal(rec.calls, 3);
	assert_int_equal(r.commits, 2);
	assert_int_equal(r.e[0].u.msi.data, 0x41);
	assert_int_equal(r.e[0].u.msi.address_lo, 0xfee00000);
	rec.fail_with = 0;
	/* the old message is still in force: setting it is a no-op... */
	assert_int_equal(irq_routes_set_msi(&r, (unsigned int)g, 0xfee00000, 0x41), 0);
	assert_int_equal(rec.calls, 3);
	/* ...and the new one is committed when tried again */
	assert_int_equal(irq_routes_set_msi(&r, (unsigned int)g, 0xfee00000, 0x42), 0);
	assert_int_equal(rec.calls, 4);
	assert_int_equal(committed(&rec, (unsigned int)g)->u.msi.data, 0x42);
	irq_routes_destroy(&r);
}

static void test_unknown_gsi(void **state)
{
	struct kvm_irq_routing_entry base[1];
	struct recorder rec = {0};
	struct irq_routes r;
	int g;

	(void)state;
	irqchip(&base[0], 4, KVM_IRQCHIP_IOAPIC, 4);
	assert_int_equal(irq_routes_init(&r, base, 1, 3, 24, commit, &rec), 0);
	assert_int_equal(irq_routes_set_msi(&r, 24, 0xfee00000, 1), -ENOENT);
	g = irq_routes_add_msi(&r);
	assert_int_equal(irq_routes_set_msi(&r, (unsigned int)g + 1, 0xfee00000, 1), -ENOENT);
	/* an irqchip route is not ours to point elsewhere */
	assert_int_equal(irq_routes_set_msi(&r, 4, 0xfee00000, 1), -ENOENT);
	assert_int_equal(r.e[0].type, KVM_IRQ_ROUTING_IRQCHIP);
	assert_int_equal(r.e[0].u.irqchip.pin, 4);
	assert_int_equal(rec.calls, 1);
	irq_routes_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_commits_base),
	    cmocka_unit_test(test_init_errors),
	    cmocka_unit_test(test_add_msi),
	    cmocka_unit_test(test_set_msi),
	    cmocka_unit_test(test_failed_commit_keeps_old),
	    cmocka_unit_test(test_unknown_gsi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
