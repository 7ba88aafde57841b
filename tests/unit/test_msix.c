/* MSI-X: vector table, pending bits, per-vector and function masking, and
 * the update / fire calls a device sees, with fake ops that record them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/msix.h"

#define NVEC 5

struct call {
	unsigned int v;
	uint64_t addr;
	uint32_t data;
};

struct fake {
	struct call updates[64], fires[64];
	unsigned int nupdates, nfires;
	int update_ret; /* what update returns */
};

static int fake_update(void *opaque, unsigned int v, uint64_t addr, uint32_t data)
{
	struct fake *f = opaque;

	if (f->nupdates < 64)
		f->updates[f->nupdates] = (struct call){v, addr, data};
	f->nupdates++;
	return f->update_ret;
}

static void fake_fire(void *opaque, unsigned int v, uint64_t addr, uint32_t data)
{
	struct fake *f = opaque;

	if (f->nfires < 64)
		f->fires[f->nfires] = (struct call){v, addr, data};
	f->nfires++;
}

static const struct msix_ops ops = {.update = fake_update, .fire = fake_fire};

struct ctx {
	struct msix m;
	struct fake f;
};

static int setup(void **state)
{
	static struct ctx c;

	memset(&c, 0, sizeof(c));
	if (msix_init(&c.m, NVEC, &ops, &c.f))
		return -1;
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	msix_destroy(&c->m);
	return 0;
}

static void w32(struct msix *m, uint64_t off, uint32_t v)
{
	uint8_t b[4];

	memcpy(b, &v, 4);
	msix_table_write(m, off, b, 4);
}

static uint32_t r32(struct msix *m, uint64_t off)
{
	uint8_t b[4];
	uint32_t v;

	msix_table_read(m, off, b, 4);
	memcpy(&v, b, 4);
	return v;
}

static uint64_t pba(struct msix *m)
{
	uint8_t b[8];
	uint64_t v;

	msix_pba_read(m, 0, b, 8);
	memcpy(&v, b, 8);
	return v;
}

/* Program entry v with 4-byte writes, as Linux does: address, data, then
 * vector control. */
static void program(struct msix *m, unsigned int v, uint64_t addr, uint32_t data, uint32_t ctrl)
{
	uint64_t e = (uint64_t)v * MSIX_ENTRY_SIZE;

	w32(m, e + 0, (uint32_t)addr);
	w32(m, e + 4, (uint32_t)(addr >> 32));
	w32(m, e + 8, data);
	w32(m, e + 12, ctrl);
}

static void test_init(void **state)
{
	struct ctx *c = *state;
	struct msix m;
	struct fake f = {0};
	const struct msix_ops no_fire = {.update = fake_update};

	for (unsigned int v = 0; v < NVEC; v++)
		assert_int_equal(r32(&c->m, v * MSIX_ENTRY_SIZE + 12), MSIX_VECTOR_MASKED);
	assert_int_equal(pba(&c->m), 0);
	assert_false(msix_enabled(&c->m));
	assert_int_equal(msix_init(&m, 0, &ops, &f), -EINVAL);
	assert_int_equal(msix_init(&m, MSIX_MAX_VECTORS + 1, &ops, &f), -EINVAL);
	assert_int_equal(msix_init(&m, 1, &no_fire, &f), -EINVAL);
	assert_int_equal(msix_init(&m, 1, NULL, &f), -EINVAL);
	assert_int_equal(msix_init(&m, MSIX_MAX_VECTORS, &ops, &f), 0);
	assert_int_equal(m.nvec, MSIX_MAX_VECTORS);
	msix_destroy(&m);
	msix_destroy(&m); /* twice is harmless */
	assert_int_equal(msix_table_size(3), 48);
	assert_int_equal(msix_pba_size(1), 8);
	assert_int_equal(msix_pba_size(64), 8);
	assert_int_equal(msix_pba_size(65), 16);
}

static void test_masked_at_start(void **state)
{
	struct ctx *c = *state;

	/* enabled, but every vector masked: notify only sets pending bits */
	msix_set_control(&c->m, MSIX_CTRL_ENABLE);
	assert_true(msix_enabled(&c->m));
	assert_int_equal(msix_notify(&c->m, 2), 0);
	assert_int_equal(msix_notify(&c->m, 4), 0);
	assert_int_equal(c->f.nfires, 0);
	assert_int_equal(c->f.nupdates, 0);
	assert_int_equal(pba(&c->m), (1u << 2) | (1u << 4));
	assert_int_equal(atomic_load(&c->m.pending), 2);
}

static void test_unmask_delivers_pending(void **state)
{
	struct ctx *c = *state;

	msix_set_control(&c->m, MSIX_CTRL_ENABLE);
	assert_int_equal(msix_notify(&c->m, 1), 0);
	assert_int_equal(msix_notify(&c->m, 1), 0); /* still one pending bit */
	assert_int_equal(pba(&c->m), 1u << 1);
	/* address and data while masked: no update, no delivery */
	program(&c->m, 1, 0xfee01000, 0x4041, MSIX_VECTOR_MASKED);
	assert_int_equal(c->f.nupdates, 0);
	assert_int_equal(c->f.nfires, 0);
	assert_int_equal(r32(&c->m, 16 + 0), 0xfee01000);
	assert_int_equal(r32(&c->m, 16 + 8), 0x4041);
	/* unmask: the route is made, the pending message goes once */
	w32(&c->m, 16 + 12, 0);
	assert_int_equal(c->f.nupdates, 1);
	assert_int_equal(c->f.updates[0].v, 1);
	assert_int_equal(c->f.updates[0].addr, 0xfee01000);
	assert_int_equal(c->f.updates[0].data, 0x4041);
	assert_int_equal(c->f.nfires, 1);
	assert_int_equal(c->f.fires[0].v, 1);
	assert_int_equal(c->f.fires[0].addr, 0xfee01000);
	assert_int_equal(c->f.fires[0].data, 0x4041);
	assert_int_equal(pba(&c->m), 0);
	/* nothing more pending: rewriting the control word fires nothing */
	w32(&c->m, 16 + 12, 0);
	assert_int_equal(c->f.nfires, 1);
	/* an unmasked vector delivers at once */
	assert_int_equal(msix_notify(&c->m, 1), 1);
	assert_int_equal(c->f.nfires, 2);
	assert_int_equal(atomic_load(&c->m.fired), 2);
	/* masking it again holds the next one back */
	w32(&c->m, 16 + 12, MSIX_VECTOR_MASKED);
	assert_int_equal(msix_notify(&c->m, 1), 0);
	assert_int_equal(c->f.nfires, 2);
	assert_int_equal(pba(&c->m), 1u << 1);
}

static void test_disabled_and_function_mask(void **state)
{
	struct ctx *c = *state;

	program(&c->m, 0, 0xfee00000, 0x30, 0);
	program(&c->m, 3, 0xfee02000, 0x33, 0);
	/* MSI-X disabled: unmasked vectors are not deliverable */
	assert_int_equal(c->f.nupdates, 0);
	assert_int_equal(msix_notify(&c->m, 0), 0);
	assert_int_equal(c->f.nfires, 0);
	assert_int_equal(pba(&c->m), 1u << 0);
	/* enabled with the function masked: still held */
	msix_set_control(&c->m, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	assert_int_equal(c->f.nfires, 0);
	assert_int_equal(c->f.nupdates, 0);
	assert_int_equal(msix_notify(&c->m, 3), 0);
	assert_int_equal(pba(&c->m), (1u << 0) | (1u << 3));
	assert_int_equal(c->f.nfires, 0);
	/* function unmasked: both routes are made and both pending go */
	msix_set_control(&c->m, MSIX_CTRL_ENABLE);
	assert_int_equal(c->f.nfires, 2);
	assert_int_equal(c->f.fires[0].v, 0);
	assert_int_equal(c->f.fires[0].data, 0x30);
	assert_int_equal(c->f.fires[1].v, 3);
	assert_int_equal(c->f.fires[1].addr, 0xfee02000);
	assert_int_equal(c->f.nupdates, 2);
	assert_int_equal(pba(&c->m), 0);
	/* disabling MSI-X holds messages back again */
	msix_set_control(&c->m, 0);
	assert_false(msix_enabled(&c->m));
	assert_int_equal(msix_notify(&c->m, 3), 0);
	assert_int_equal(c->f.nfires, 2);
	assert_int_equal(pba(&c->m), 1u << 3);
	msix_set_control(&c->m, MSIX_CTRL_ENABLE);
	assert_int_equal(c->f.nfires, 3);
	assert_int_equal(c->f.fires[2].v, 3);
	assert_int_equal(pba(&c->m), 0);
}

static void test_update_on_message_change(void **state)
{
	struct ctx *c = *state;
	uint8_t b[8];
	uint64_t addr = 0x00000001fee03000ull; /* a high dword, to see both halves */
	uint64_t data_ctrl = 0x55;	       /* data 0x55, control 0: unmasked */

	msix_set_control(&c->m, MSIX_CTRL_ENABLE);
	/* 8-byte accesses: address, then data + vector control */
	memcpy(b, &addr, 8);
	msix_table_write(&c->m, 2 * MSIX_ENTRY_SIZE, b, 8);
	assert_int_equal(c->f.nupdates, 0); /* still masked */
	memcpy(b, &data_ctrl, 8);
	msix_table_write(&c->m, 2 * MSIX_ENTRY_SIZE + 8, b, 8);
	assert_int_equal(c->f.nupdates, 1);
	assert_int_equal(c->f.updates[0].v, 2);
	assert_int_equal(c->f.updates[0].addr, addr);
	assert_int_equal(c->f.updates[0].data, 0x55);
	assert_int_equal(c->f.nfires, 0); /* nothing was pending */
	/* the message of a deliverable vector changes: a new route */
	w32(&c->m, 2 * MSIX_ENTRY_SIZE + 8, 0x56);
	assert_true(c->f.nupdates >= 2);
	assert_int_equal(c->f.updates[c->f.nupdates - 1].v, 2);
	assert_int_equal(c->f.updates[c->f.nupdates - 1].data, 0x56);
	assert_int_equal(c->f.updates[c->f.nupdates - 1].addr, addr);
	/* and delivery uses it */
	assert_int_equal(msix_notify(&c->m, 2), 1);
	assert_int_equal(c->f.fires[0].addr, addr);
	assert_int_equal(c->f.fires[0].data, 0x56);
	/* an 8-byte read sees both halves */
	msix_table_read(&c->m, 2 * MSIX_ENTRY_SIZE, b, 8);
	assert_memory_equal(b, &addr, 8);
	/* an unaligned 8-byte write spanning entries 1 and 2 (control of 1,
	 * address low of 2) updates vector 2's route */
	{
		uint64_t span = (uint64_t)0xfee04000 << 32 | MSIX_VECTOR_MASKED;
		unsigned int n = c->f.nupdates;

		memcpy(b, &span, 8);
		msix_table_write(&c->m, 1 * MSIX_ENTRY_SIZE + 12, b, 8);
		assert_int_equal(c->f.nupdates, n + 1);
		assert_int_equal(c->f.updates[n].v, 2);
		assert_int_equal(c->f.updates[n].addr, 0x00000001fee04000ull);
		assert_int_equal(r32(&c->m, 1 * MSIX_ENTRY_SIZE + 12), MSIX_VECTOR_MASKED);
	}
	/* reserved bits of vector control read as zero */
	w32(&c->m, 2 * MSIX_ENTRY_SIZE + 12, 0xfffffffe);
	assert_int_equal(r32(&c->m, 2 * MSIX_ENTRY_SIZE + 12), 0);
}

static void test_update_failure_keeps_pending(void **state)
{
	struct ctx *c = *state;

	msix_set_control(&c->m, MSIX_CTRL_ENABLE);
	assert_int_equal(msix_notify(&c->m, 4), 0);
	c->f.update_ret = -ENOSPC;
	program(&c->m, 4, 0xfee00000, 0x44, 0);
	assert_true(c->f.nupdates >= 1);
	assert_int_equal(c->f.nfires, 0);
	assert_int_equal(pba(&c->m), 1u << 4);
	/* the route can be made now: the next table write delivers */
	c->f.update_ret = 0;
	w32(&c->m, 4 * MSIX_ENTRY_SIZE + 12, 0);
	assert_int_equal(c->f.nfires, 1);
	assert_int_equal(c->f.fires[0].v, 4);
	assert_int_equal(pba(&c->m), 0);
}

/* A vector whose route could not be made is never fired through the old
 * one: notifications wait in the PBA until a table write makes a route. */
static void test_no_fire_without_route(void **state)
{
	struct ctx *c = *state;

	msix_set_control(&c->m, MSIX_CTRL_ENABLE);
	program(&c->m, 3, 0xfee00000, 0x50, 0);
	assert_int_equal(msix_notify(&c->m, 3), 1);
	assert_int_equal(c->f.nfires, 1);
	/* the guest changes the message; the host cannot route it */
	c->f.update_ret = -ENOSPC;
	w32(&c->m, 3 * MSIX_ENTRY_SIZE + 8, 0x51);
	assert_int_equal(msix_notify(&c->m, 3), 0);
	assert_int_equal(msix_notify(&c->m, 3), 0);
	assert_int_equal(c->f.nfires, 1);
	assert_int_equal(pba(&c->m), 1u << 3);
	/* routable again: one delivery with the new message, PBA clear */
	c->f.update_ret = 0;
	w32(&c->m, 3 * MSIX_ENTRY_SIZE + 8, 0x52);
	assert_int_equal(c->f.nfires, 2);
	assert_int_equal(c->f.fires[1].data, 0x52);
	assert_int_equal(pba(&c->m), 0);
	assert_int_equal(msix_notify(&c->m, 3), 1);
	assert_int_equal(c->f.nfires, 3);
}

static void test_out_of_range(void **state)
{
	struct ctx *c = *state;
	uint8_t b[8], ones[8], zero[8] = {0};
	uint32_t tsize = msix_table_size(NVEC);

	memset(ones, 0xff, sizeof(ones));
	program(&c->m, NVEC - 1, 0xfee00000, 0x99, 0);
	/* reads past the end or crossing it are zero */
	memset(b, 0xaa, sizeof(b));
	msix_table_read(&c->m, tsize, b, 4);
	assert_memory_equal(b, zero, 4);
	memset(b, 0xaa, sizeof(b));
	msix_table_read(&c->m, tsize - 4, b, 8);
	assert_memory_equal(b, zero, 8);
	memset(b, 0xaa, sizeof(b));
	msix_table_read(&c->m, UINT64_MAX - 2, b, 4);
	assert_memory_equal(b, zero, 4);
	/* writes past the end are ignored and change nothing */
	msix_table_write(&c->m, tsize, ones, 4);
	msix_table_write(&c->m, tsize - 4, ones, 8);
	msix_table_write(&c->m, UINT64_MAX - 2, ones, 4);
	msix_table_write(&c->m, 0, ones, 0);
	assert_int_equal(r32(&c->m, tsize - 4), 0);
	assert_int_equal(r32(&c->m, tsize - 8), 0x99);
	assert_int_equal(r32(&c->m, 12), MSIX_VECTOR_MASKED);
	/* PBA: one qword for five vectors; beyond it reads zero */
	msix_set_control(&c->m, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	assert_int_equal(msix_notify(&c->m, 0), 0);
	memset(b, 0xaa, sizeof(b));
	msix_pba_read(&c->m, 8, b, 8);
	assert_memory_equal(b, zero, 8);
	memset(b, 0xaa, sizeof(b));
	msix_pba_read(&c->m, 4, b, 8);
	assert_memory_equal(b, zero, 8);
	msix_pba_read(&c->m, 0, b, 1);
	assert_int_equal(b[0], 1);
	/* out-of-range vectors */
	assert_int_equal(msix_notify(&c->m, NVEC), -EINVAL);
	assert_int_equal(msix_notify(&c->m, UINT32_MAX), -EINVAL);
	assert_int_equal(pba(&c->m), 1);
}

/* The direct listener: told exactly when a vector can (not) be signalled
 * straight through its route, so vhost can move its call fd. */
struct dir_log {
	struct fake f;
	int state[NVEC]; /* -1 never told, else the last value */
	unsigned int calls;
};

static void dir_direct(void *opaque, unsigned int v, bool direct)
{
	struct dir_log *d = opaque;

	assert_true(v < NVEC);
	/* every call is a change */
	assert_int_not_equal(d->state[v], (int)direct);
	d->state[v] = direct;
	d->calls++;
}

static int dir_update(void *opaque, unsigned int v, uint64_t addr, uint32_t data)
{
	return fake_update(opaque, v, addr, data);
}

static void dir_fire(void *opaque, unsigned int v, uint64_t addr, uint32_t data)
{
	fake_fire(opaque, v, addr, data);
}

static void test_direct_listener(void **state)
{
	static const struct msix_ops dops = {
	    .update = dir_update, .fire = dir_fire, .direct = dir_direct};
	struct dir_log d;
	struct msix m;

	(void)state;
	memset(&d, 0, sizeof(d));
	for (unsigned int v = 0; v < NVEC; v++)
		d.state[v] = -1;
	assert_int_equal(msix_init(&m, NVEC, &dops, &d), 0);
	/* programming while MSI-X is off: nothing is direct */
	program(&m, 1, 0xfee00000, 0x41, 0);
	program(&m, 2, 0xfee00000, 0x42, MSIX_VECTOR_MASKED);
	assert_int_equal(d.calls, 0);
	msix_set_control(&m, MSIX_CTRL_ENABLE);
	assert_int_equal(d.state[1], 1);
	assert_int_equal(d.state[2], -1);
	msix_lock(&m);
	assert_true(msix_direct_locked(&m, 1));
	assert_false(msix_direct_locked(&m, 2));
	assert_false(msix_direct_locked(&m, NVEC));
	msix_unlock(&m);
	/* masking vector 1 ends it, unmasking brings it back */
	w32(&m, 1 * MSIX_ENTRY_SIZE + 12, MSIX_VECTOR_MASKED);
	assert_int_equal(d.state[1], 0);
	w32(&m, 1 * MSIX_ENTRY_SIZE + 12, 0);
	assert_int_equal(d.state[1], 1);
	/* a message change of a direct vector is no state change */
	d.calls = 0;
	w32(&m, 1 * MSIX_ENTRY_SIZE + 8, 0x51);
	assert_int_equal(d.calls, 0);
	/* function mask ends every direct vector, and back */
	w32(&m, 2 * MSIX_ENTRY_SIZE + 12, 0);
	assert_int_equal(d.state[2], 1);
	msix_set_control(&m, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	assert_int_equal(d.state[1], 0);
	assert_int_equal(d.state[2], 0);
	msix_set_control(&m, MSIX_CTRL_ENABLE);
	assert_int_equal(d.state[1], 1);
	assert_int_equal(d.state[2], 1);
	/* a route the host refuses is not direct */
	d.f.update_ret = -ENOSPC;
	w32(&m, 2 * MSIX_ENTRY_SIZE + 8, 0x99);
	assert_int_equal(d.state[2], 0);
	msix_lock(&m);
	assert_false(msix_direct_locked(&m, 2));
	msix_unlock(&m);
	d.f.update_ret = 0;
	w32(&m, 2 * MSIX_ENTRY_SIZE + 8, 0x98);
	assert_int_equal(d.state[2], 1);
	/* disabling MSI-X ends it */
	msix_set_control(&m, 0);
	assert_int_equal(d.state[1], 0);
	assert_int_equal(d.state[2], 0);
	msix_destroy(&m);
}

static void test_cap_body(void **state)
{
	uint8_t body[MSIX_CAP_BODY_LEN], wmask[MSIX_CAP_BODY_LEN];
	uint16_t ctl;
	uint32_t t, p;

	(void)state;
	msix_cap_body(3, 2, 0x4000, 0x8000, body, wmask);
	memcpy(&ctl, body, 2);
	memcpy(&t, body + 2, 4);
	memcpy(&p, body + 6, 4);
	assert_int_equal(ctl, 2); /* table size is encoded as N - 1 */
	assert_int_equal(t, 0x4000 | 2);
	assert_int_equal(p, 0x8000 | 2);
	/* only the enable and function-mask bits are writable */
	assert_int_equal(wmask[0], 0);
	assert_int_equal(wmask[1], 0xc0);
	for (int i = 2; i < MSIX_CAP_BODY_LEN; i++)
		assert_int_equal(wmask[i], 0);
	msix_cap_body(MSIX_MAX_VECTORS, 0, 0x10, 0x20, body, wmask);
	memcpy(&ctl, body, 2);
	memcpy(&t, body + 2, 4);
	memcpy(&p, body + 6, 4);
	assert_int_equal(ctl, 0x7ff);
	assert_int_equal(t, 0x10);
	assert_int_equal(p, 0x20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_init, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_masked_at_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unmask_delivers_pending, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disabled_and_function_mask, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_on_message_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_failure_keeps_pending, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_fire_without_route, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_range, setup, teardown),
	    cmocka_unit_test(test_cap_body),
	    cmocka_unit_test(test_direct_listener),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
