/* The virtio device-status transition table: the driver's normal sequence,
 * every refusal, and all 256 x 256 (current, written) pairs checked against
 * a reference written here from the spec's rules (virtio 1.2 sec. 3.1.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <linux/virtio_config.h>

#include "virtio/virtio_status.h"

#define ACK    VIRTIO_CONFIG_S_ACKNOWLEDGE
#define DRV    VIRTIO_CONFIG_S_DRIVER
#define FOK    VIRTIO_CONFIG_S_FEATURES_OK
#define DOK    VIRTIO_CONFIG_S_DRIVER_OK
#define FAILED VIRTIO_CONFIG_S_FAILED
#define NRESET VIRTIO_CONFIG_S_NEEDS_RESET

/* The driver's steps in order: each needs every step before it. */
static const uint8_t steps[] = {ACK, DRV, FOK, DOK};

/* The rule, stated independently of the table in virtio_status.c. */
static int reference(uint8_t cur, uint8_t next)
{
	const uint8_t known = ACK | DRV | FOK | DOK | FAILED;
	uint8_t added;
	int action = VS_ACCEPT;

	cur &= (uint8_t)~NRESET;
	next &= (uint8_t)~NRESET;
	if (next == 0)
		return VS_RESET;
	if (cur & FAILED)
		return VS_REFUSE;
	if ((cur | next) != next)
		return VS_REFUSE; /* something would be cleared */
	if (next & ~known)
		return VS_REFUSE;
	added = next & (uint8_t)~cur;
	for (size_t k = 0; k < sizeof(steps); k++) {
		if (!(added & steps[k]))
			continue;
		for (size_t j = 0; j < k; j++)
			if (!(next & steps[j]))
				return VS_REFUSE;
	}
	if (added & FOK)
		action |= VS_CHECK_FEATURES;
	if (added & DOK)
		action |= VS_ACTIVATE;
	return action;
}

static void test_normal_sequence(void **state)
{
	(void)state;
	assert_int_equal(virtio_status_transition(0, ACK), VS_ACCEPT);
	assert_int_equal(virtio_status_transition(ACK, ACK | DRV), VS_ACCEPT);
	assert_int_equal(virtio_status_transition(ACK | DRV, ACK | DRV | FOK),
			 VS_ACCEPT | VS_CHECK_FEATURES);
	assert_int_equal(virtio_status_transition(ACK | DRV | FOK, ACK | DRV | FOK | DOK),
			 VS_ACCEPT | VS_ACTIVATE);
	/* writing the same value again changes nothing and is not refused */
	assert_int_equal(virtio_status_transition(ACK | DRV, ACK | DRV), VS_ACCEPT);
	assert_int_equal(virtio_status_transition(ACK | DRV | FOK | DOK, ACK | DRV | FOK | DOK),
			 VS_ACCEPT);
	/* several steps in one write: both actions */
	assert_int_equal(virtio_status_transition(ACK | DRV, ACK | DRV | FOK | DOK),
			 VS_ACCEPT | VS_CHECK_FEATURES | VS_ACTIVATE);
	assert_int_equal(virtio_status_transition(0, ACK | DRV), VS_ACCEPT);
}

static void test_reset(void **state)
{
	(void)state;
	assert_int_equal(virtio_status_transition(0, 0), VS_RESET);
	assert_int_equal(virtio_status_transition(ACK | DRV | FOK | DOK, 0), VS_RESET);
	assert_int_equal(virtio_status_transition(ACK | FAILED, 0), VS_RESET);
	assert_int_equal(virtio_status_transition(ACK | DRV | FOK | DOK | NRESET, 0), VS_RESET);
}

static void test_clearing_refused(void **state)
{
	(void)state;
	assert_int_equal(virtio_status_transition(ACK | DRV, ACK), VS_REFUSE);
	assert_int_equal(virtio_status_transition(ACK | DRV, DRV), VS_REFUSE);
	assert_int_equal(virtio_status_transition(ACK | DRV | FOK | DOK, ACK | DRV | DOK),
			 VS_REFUSE);
	assert_int_equal(virtio_status_transition(ACK | DRV | FOK, ACK | DRV | DOK), VS_REFUSE);
}

static void test_prerequisites(void **state)
{
	(void)state;
	assert_int_equal(virtio_status_transition(0, DRV), VS_REFUSE);
	assert_int_equal(virtio_status_transition(ACK, ACK | FOK), VS_REFUSE);
	assert_int_equal(virtio_status_transition(ACK, ACK | DRV | DOK), VS_REFUSE);
	assert_int_equal(virtio_status_transition(ACK | DRV, ACK | DRV | DOK), VS_REFUSE);
	assert_int_equal(virtio_status_transition(0, DOK), VS_REFUSE);
	assert_int_equal(virtio_status_transition(0, FOK), VS_REFUSE);
}

static void test_unknown_bits(void **state)
{
	(void)state;
	/* bits 4 and 5 are not defined for the driver to set */
	assert_int_equal(virtio_status_transition(0, ACK | 0x10), VS_REFUSE);
	assert_int_equal(virtio_status_transition(ACK, ACK | 0x20), VS_REFUSE);
	assert_int_equal(virtio_status_transition(ACK | DRV | FOK | DOK, 0xff), VS_REFUSE);
}

static void test_failed(void **state)
{
	uint8_t s[] = {0, ACK, ACK | DRV, ACK | DRV | FOK, ACK | DRV | FOK | DOK};

	(void)state;
	for (size_t i = 0; i < sizeof(s); i++) {
		uint8_t f = s[i] | FAILED;

		assert_int_equal(virtio_status_transition(s[i], f), VS_ACCEPT);
		/* once FAILED, only a reset is taken */
		assert_int_equal(virtio_status_transition(f, f), VS_REFUSE);
		assert_int_equal(virtio_status_transition(f, f | ACK | DRV), VS_REFUSE);
		assert_int_equal(virtio_status_transition(f, ACK | DRV | FOK | DOK | FAILED),
				 VS_REFUSE);
		assert_int_equal(virtio_status_transition(f, ACK), VS_REFUSE);
		assert_int_equal(virtio_status_transition(f, 0), VS_RESET);
	}
}

static void test_needs_reset_ignored(void **state)
{
	(void)state;
	/* the device's bit in the current status does not count as set... */
	assert_int_equal(virtio_status_transition(ACK | NRESET, ACK | DRV), VS_ACCEPT);
	/* ...nor as cleared, nor does a driver write of it count */
	assert_int_equal(virtio_status_transition(ACK | DRV | NRESET, ACK | DRV | FOK),
			 VS_ACCEPT | VS_CHECK_FEATURES);
	assert_int_equal(virtio_status_transition(ACK, ACK | DRV | NRESET), VS_ACCEPT);
	assert_int_equal(virtio_status_transition(0, NRESET), VS_RESET);
	assert_int_equal(virtio_status_transition(ACK | DRV | NRESET, ACK | NRESET), VS_REFUSE);
}

static void test_all_pairs(void **state)
{
	unsigned int mismatches = 0;

	(void)state;
	for (unsigned int cur = 0; cur < 256; cur++) {
		for (unsigned int next = 0; next < 256; next++) {
			int got = virtio_status_transition((uint8_t)cur, (uint8_t)next);
			int want = reference((uint8_t)cur, (uint8_t)next);

			if (got != want && mismatches++ < 8)
				print_error("cur 0x%02x next 0x%02x: got %d, want %d\n", cur, next,
					    got, want);
		}
	}
	assert_int_equal(mismatches, 0);
}

/* Starting from 0 and applying only accepted writes, the reachable states
 * are exactly the prefixes of the driver's sequence, each with or without
 * FAILED. */
static void test_reachable_states(void **state)
{
	bool seen[256] = {false};
	uint8_t queue[256];
	unsigned int head = 0, tail = 0, count = 0;

	(void)state;
	seen[0] = true;
	queue[tail++] = 0;
	while (head < tail) {
		uint8_t cur = queue[head++];

		for (unsigned int next = 0; next < 256; next++) {
			int a = virtio_status_transition(cur, (uint8_t)next);
			uint8_t to;

			if (a == VS_REFUSE)
				continue;
			to = (a & VS_RESET) ? 0 : (uint8_t)(next & ~NRESET);
			if (!seen[to]) {
				seen[to] = true;
				queue[tail++] = to;
			}
		}
	}
	for (unsigned int s = 0; s < 256; s++) {
		uint8_t base = (uint8_t)(s & ~FAILED);
		bool prefix = base == 0 || base == ACK || base == (ACK | DRV) ||
			      base == (ACK | DRV | FOK) || base == (ACK | DRV | FOK | DOK);

		if (seen[s])
			count++;
		if (seen[s] != prefix)
			fail_msg("state 0x%02x: reachable %d, expected %d", s, seen[s], prefix);
	}
	assert_int_equal(count, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normal_sequence),	cmocka_unit_test(test_reset),
	    cmocka_unit_test(test_clearing_refused),	cmocka_unit_test(test_prerequisites),
	    cmocka_unit_test(test_unknown_bits),	cmocka_unit_test(test_failed),
	    cmocka_unit_test(test_needs_reset_ignored), cmocka_unit_test(test_all_pairs),
	    cmocka_unit_test(test_reachable_states),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
