/* virtio-balloon over the virtio-pci transport: a fake driver lays rings,
 * PFN arrays, statistics and free page reports out in a plain buffer used
 * as guest RAM, registers are reached through the BAR handlers, and the
 * page accounting gives memory back through a recorder.
 *
 * Guest RAM: A [0, 8M) with 4 KiB host pages, a hole [8M, 12M), B [12M,
 * 16M) with 2 MiB host pages (as the balloon accounting sees them; the
 * test's buffer is plain memory). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include <linux/virtio_balloon.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "fake_vpci.h"
#include "fake_vring.h"
#include "mem/balloon_pages.h"
#include "mem/guest_mem.h"
#include "virtio/balloon.h"
#include "virtio/virtio_pci.h"

#define K4	 4096ull
#define M2	 (2ull << 20)
#define RAM_SIZE (16ull << 20)
#define A_SIZE	 (8ull << 20)
#define B_GPA	 (12ull << 20)
#define B_SIZE	 (4ull << 20)
#define MAXQ	 VIRTIO_BALLOON_MAX_QUEUES
#define QSIZE	 64
/* Rings of queue q. */
#define DESC_GPA(q)  (0x10000ULL + 0x10000ULL * (q))
#define AVAIL_GPA(q) (DESC_GPA(q) + 0x4000)
#define USED_GPA(q)  (DESC_GPA(q) + 0x8000)
#define PFN_GPA	     0x80000ULL /* PFN arrays (up to 64 KiB) */
#define STATS_GPA    0x90000ULL
#define PAGE_GPA     0x100000ULL /* first page the tests balloon in A */

#define F(b) (1ULL << (b))
#define F_ALL                                                                                      \
	(F(VIRTIO_BALLOON_F_DEFLATE_ON_OOM) | F(VIRTIO_BALLOON_F_STATS_VQ) |                       \
	 F(VIRTIO_BALLOON_F_REPORTING))
#define F_RING (F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_RING_F_INDIRECT_DESC))

#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV VIRTIO_CONFIG_S_DRIVER
#define S_FOK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR  VIRTIO_CONFIG_S_NEEDS_RESET
#define S_UP  (S_ACK | S_DRV | S_FOK | S_DOK)

#define R(a, l) ((struct fv_buf){(a), (l), false})
#define W(a, l) ((struct fv_buf){(a), (l), true})

/* ---- the host side: a discard recorder, a clock ------------------------- */

#define MAX_CALLS 64

struct call {
	unsigned int region;
	uint64_t off, len;
};

struct rec {
	struct call calls[MAX_CALLS];
	unsigned int n;
};

static int rec_discard(void *opaque, unsigned int region, uint64_t off, uint64_t len)
{
	struct rec *r = opaque;

	if (r->n < MAX_CALLS)
		r->calls[r->n] = (struct call){region, off, len};
	r->n++;
	return 0;
}

/* Stats timestamps: 1000, 2000, ... (no wall clock in the assertions). */
static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	fake_now += 1000;
	return fake_now;
}

/* ---- the environment ---------------------------------------------------- */

struct env {
	uint8_t *ram;
	struct guest_mem gm;
	struct rec rec;
	struct balloon_pages bp;
	struct virtio_balloon b;
	struct virtio_pci t;
	struct fvp_host h;
	struct fvp drv;
	struct fv fv[MAXQ];
	uint64_t features;     /* accepted by the driver */
	int stats_q, report_q; /* where the driver put them, -1: absent */
	unsigned int nq;       /* queues the driver set up */
};

static const struct virtio_balloon_opts all_opts = {
    .deflate_on_oom = true, .stats = true, .free_page_reporting = true};

static struct env *env_new(void **state, const struct virtio_balloon_opts *o)
{
	struct env *e = calloc(1, sizeof(*e));
	struct balloon_region r[2] = {{0, A_SIZE, K4}, {B_GPA, B_SIZE, M2}};

	assert_non_null(e);
	*state = e;
	e->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(e->ram != MAP_FAILED);
	gm_init(&e->gm);
	assert_int_equal(gm_region_add(&e->gm, 0, A_SIZE, e->ram), 0);
	assert_int_equal(gm_region_add(&e->gm, B_GPA, B_SIZE, e->ram + B_GPA), 0);
	assert_int_equal(balloon_pages_init(&e->bp, r, 2, rec_discard, &e->rec), 0);
	assert_int_equal(virtio_balloon_init(&e->b, o, &e->bp), 0);
	e->b.clock_ns = fake_clock;
	assert_int_equal(virtio_pci_init(&e->t, &e->gm, &virtio_balloon_ops, &e->b,
					 virtio_balloon_features(&e->b),
					 virtio_balloon_num_queues(&e->b),
					 VIRTIO_BALLOON_QUEUE_SIZE, virtio_balloon_cfg_len(),
					 fvp_host_ops(), fvp_msix_ops(), &e->h),
			 0);
	e->b.t = &e->t;
	fvp_init_direct(&e->drv, &e->t);
	e->stats_q = e->report_q = -1;
	return e;
}

static void env_free(struct env *e)
{
	virtio_pci_destroy(&e->t);
	virtio_balloon_destroy(&e->b);
	balloon_pages_destroy(&e->bp);
	munmap(e->ram, RAM_SIZE);
	free(e);
}

static int teardown(void **state)
{
	if (*state)
		env_free(*state);
	*state = NULL;
	return 0;
}

/* Set up queue q's ring and enable it. */
static void setup_q(struct env *e, unsigned int q)
{
	fv_init(&e->fv[q], &e->gm, QSIZE, DESC_GPA(q), AVAIL_GPA(q), USED_GPA(q));
	assert_int_equal(fvp_setup_queue(&e->drv, (uint16_t)q, &e->fv[q], VPCI_NO_VECTOR), 1);
}

/* The probe of Linux's driver up to (not including) DRIVER_OK: accept the
 * offered features in `accept`, set up inflateq, deflateq, then statsq and
 * reporting_vq when negotiated, numbered without gaps. */
static void driver_setup(struct env *e, uint64_t accept)
{
	uint64_t feat = (fvp_device_features(&e->drv) & (accept | F_RING)) | F(VIRTIO_F_VERSION_1);
	unsigned int q = 0;

	fvp_set_status(&e->drv, 0);
	assert_int_equal(fvp_negotiate(&e->drv, feat), S_ACK | S_DRV | S_FOK);
	e->features = feat;
	e->stats_q = e->report_q = -1;
	setup_q(e, q++);
	setup_q(e, q++);
	if (feat & F(VIRTIO_BALLOON_F_STATS_VQ)) {
		e->stats_q = (int)q;
		setup_q(e, q++);
	}
	if (feat & F(VIRTIO_BALLOON_F_REPORTING)) {
		e->report_q = (int)q;
		setup_q(e, q++);
	}
	e->nq = q;
}

static void driver_ok(struct env *e)
{
	fvp_set_status(&e->drv, S_UP);
	assert_int_equal(fvp_status(&e->drv), S_UP);
}

static struct env *env_start(void **state, const struct virtio_balloon_opts *o, uint64_t accept)
{
	struct env *e = env_new(state, o);

	driver_setup(e, accept);
	driver_ok(e);
	return e;
}

/* ---- helpers ------------------------------------------------------------ */

static struct balloon_pages_stats bstats(struct env *e)
{
	struct balloon_pages_stats s;

	balloon_pages_get_stats(&e->bp, &s);
	return s;
}

static struct virtio_balloon_counts counts(struct env *e)
{
	struct virtio_balloon_counts c;

	virtio_balloon_get_counts(&e->b, &c);
	return c;
}

static uint64_t irqs(struct env *e, unsigned int q)
{
	return atomic_load(&e->t.queues[q].interrupts);
}

static uint32_t pfn(uint64_t gpa)
{
	return (uint32_t)(gpa >> 12);
}

static void assert_call(const struct env *e, unsigned int i, unsigned int region, uint64_t off,
			uint64_t len)
{
	assert_true(i < e->rec.n);
	assert_int_equal(e->rec.calls[i].region, region);
	assert_int_equal(e->rec.calls[i].off, off);
	assert_int_equal(e->rec.calls[i].len, len);
}

/* The driver sends n PFNs on queue q (one buffer) and kicks; the chain
 * must come back used with 0 bytes written. */
static void send_pfns(struct env *e, unsigned int q, const uint32_t *pfns, unsigned int n)
{
	struct fv *fv = &e->fv[q];
	uint16_t idx = fv_used_idx(fv), head;
	struct fv_buf b = R(PFN_GPA, 4 * n);
	uint32_t id, len;

	fv_write(&e->gm, PFN_GPA, pfns, 4ull * n);
	head = fv_add_chain(fv, &b, 1);
	virtio_pci_queue_kicked(&e->t, q);
	assert_int_equal(fv_used_idx(fv), (uint16_t)(idx + 1));
	fv_used_elem(fv, idx, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
}

/* Write a stats buffer of n entries at gpa. */
static void put_stats(struct env *e, uint64_t gpa, const uint16_t *tags, const uint64_t *vals,
		      unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint8_t raw[VIRTIO_BALLOON_STAT_LEN];

		memcpy(raw, &tags[i], 2);
		memcpy(raw + 2, &vals[i], 8);
		fv_write(&e->gm, gpa + 10ull * i, raw, sizeof(raw));
	}
}

static struct virtio_balloon_guest_stats gstats(struct env *e)
{
	struct virtio_balloon_guest_stats s;

	virtio_balloon_guest_stats(&e->b, &s);
	return s;
}

static uint8_t isr(struct env *e)
{
	return (uint8_t)fvp_bar_rd(&e->drv, VPCI_ISR_OFF, 1);
}

static uint8_t generation(struct env *e)
{
	return (uint8_t)fvp_cc_rd(&e->drv, VIRTIO_PCI_COMMON_CFGGENERATION, 1);
}

static uint32_t cfg_rd32(struct env *e, uint32_t off)
{
	return (uint32_t)fvp_bar_rd(&e->drv, VPCI_DEVICE_OFF + off, 4);
}

/* ---- features and queue layout ------------------------------------------ */

static void test_features(void **state)
{
	static const struct {
		struct virtio_balloon_opts o;
		uint64_t f;
		unsigned int nq;
	} cases[] = {
	    {{false, false, false}, 0, 2},
	    {{true, false, false}, F(VIRTIO_BALLOON_F_DEFLATE_ON_OOM), 2},
	    {{false, true, false}, F(VIRTIO_BALLOON_F_STATS_VQ), 3},
	    {{false, false, true}, F(VIRTIO_BALLOON_F_REPORTING), 3},
	    {{true, true, true}, F_ALL, 4},
	};
	struct balloon_pages bp;
	struct rec rec = {.n = 0};
	struct balloon_region r = {0, 1 << 20, K4};
	struct virtio_balloon b;
	(void)state;

	assert_int_equal(balloon_pages_init(&bp, &r, 1, rec_discard, &rec), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(virtio_balloon_init(&b, &cases[i].o, &bp), 0);
		assert_int_equal(virtio_balloon_features(&b), cases[i].f | F_RING);
		assert_int_equal(virtio_balloon_num_queues(&b), cases[i].nq);
		virtio_balloon_destroy(&b);
	}
	assert_int_equal(virtio_balloon_init(&b, &all_opts, NULL), -EINVAL);
	assert_int_equal(virtio_balloon_init(&b, NULL, &bp), -EINVAL);
	assert_int_equal(virtio_balloon_cfg_len(), 8);
	/* never offered: MUST_TELL_HOST, FREE_PAGE_HINT, PAGE_POISON */
	assert_int_equal(virtio_balloon_init(&b, &all_opts, &bp), 0);
	assert_int_equal(virtio_balloon_features(&b) &
			     (F(VIRTIO_BALLOON_F_MUST_TELL_HOST) |
			      F(VIRTIO_BALLOON_F_FREE_PAGE_HINT) | F(VIRTIO_BALLOON_F_PAGE_POISON)),
			 0);
	virtio_balloon_destroy(&b);
	assert_string_equal(virtio_balloon_stat_name(VIRTIO_BALLOON_S_SWAP_IN), "swap-in");
	assert_string_equal(virtio_balloon_stat_name(VIRTIO_BALLOON_S_MEMFREE), "free-memory");
	assert_string_equal(virtio_balloon_stat_name(VIRTIO_BALLOON_S_DIRECT_RECLAIM),
			    "direct-reclaims");
	assert_string_equal(virtio_balloon_stat_name(VIRTIO_BALLOON_S_OOM_KILL), "oom-kills");
	assert_null(virtio_balloon_stat_name(16));
	balloon_pages_destroy(&bp);
}

static void test_queue_roles(void **state)
{
	const uint64_t S = F(VIRTIO_BALLOON_F_STATS_VQ), P = F(VIRTIO_BALLOON_F_REPORTING);
	(void)state;

	for (uint64_t f = 0; f <= 1; f++) {
		uint64_t oom = f ? F(VIRTIO_BALLOON_F_DEFLATE_ON_OOM) : 0;

		assert_int_equal(virtio_balloon_queue_role(oom, 0), VIRTIO_BALLOON_Q_INFLATE);
		assert_int_equal(virtio_balloon_queue_role(oom, 1), VIRTIO_BALLOON_Q_DEFLATE);
		assert_int_equal(virtio_balloon_queue_role(oom, 2), VIRTIO_BALLOON_Q_NONE);
		assert_int_equal(virtio_balloon_queue_role(oom | S, 2), VIRTIO_BALLOON_Q_STATS);
		assert_int_equal(virtio_balloon_queue_role(oom | S, 3), VIRTIO_BALLOON_Q_NONE);
		/* no statsq: reporting takes index 2 */
		assert_int_equal(virtio_balloon_queue_role(oom | P, 2), VIRTIO_BALLOON_Q_REPORTING);
		assert_int_equal(virtio_balloon_queue_role(oom | P, 3), VIRTIO_BALLOON_Q_NONE);
		assert_int_equal(virtio_balloon_queue_role(oom | S | P, 2), VIRTIO_BALLOON_Q_STATS);
		assert_int_equal(virtio_balloon_queue_role(oom | S | P, 3),
				 VIRTIO_BALLOON_Q_REPORTING);
		assert_int_equal(virtio_balloon_queue_role(oom | S | P, 4), VIRTIO_BALLOON_Q_NONE);
	}
}

/* Every option set against every subset a driver may accept: the device
 * finds each queue where Linux puts it and serves it there. */
static void test_layout_negotiated(void **state)
{
	const uint64_t S = F(VIRTIO_BALLOON_F_STATS_VQ), P = F(VIRTIO_BALLOON_F_REPORTING);
	(void)state;

	for (unsigned int opt = 0; opt < 8; opt++) {
		struct virtio_balloon_opts o = {opt & 1, opt & 2, opt & 4};

		for (unsigned int acc = 0; acc < 8; acc++) {
			uint64_t accept = (acc & 1 ? F(VIRTIO_BALLOON_F_DEFLATE_ON_OOM) : 0) |
					  (acc & 2 ? S : 0) | (acc & 4 ? P : 0);
			struct env *e = env_start(state, &o, accept);
			uint32_t p = pfn(PAGE_GPA);
			uint16_t tag = VIRTIO_BALLOON_S_MEMFREE;
			uint64_t val = 42;

			assert_int_equal(e->features & ~(F_RING | F(VIRTIO_F_VERSION_1)),
					 accept & virtio_balloon_features(&e->b));
			assert_int_equal(e->b.role[0], VIRTIO_BALLOON_Q_INFLATE);
			assert_int_equal(e->b.role[1], VIRTIO_BALLOON_Q_DEFLATE);
			for (unsigned int q = e->nq; q < MAXQ; q++)
				assert_int_equal(e->b.role[q], VIRTIO_BALLOON_Q_NONE);
			send_pfns(e, 0, &p, 1);
			assert_true(balloon_pages_test(&e->bp, p));
			send_pfns(e, 1, &p, 1);
			assert_false(balloon_pages_test(&e->bp, p));
			if (e->stats_q >= 0) {
				struct fv_buf b = R(STATS_GPA, 10);

				assert_int_equal(e->b.role[e->stats_q], VIRTIO_BALLOON_Q_STATS);
				put_stats(e, STATS_GPA, &tag, &val, 1);
				fv_add_chain(&e->fv[e->stats_q], &b, 1);
				virtio_pci_queue_kicked(&e->t, (unsigned int)e->stats_q);
				assert_int_equal(gstats(e).val[VIRTIO_BALLOON_S_MEMFREE], 42);
				assert_int_equal(virtio_balloon_request_stats(&e->b), 0);
			} else {
				assert_int_equal(virtio_balloon_request_stats(&e->b),
						 o.stats ? -ENODEV : -EOPNOTSUPP);
			}
			if (e->report_q >= 0) {
				struct fv_buf b = W(B_GPA, M2);

				assert_int_equal(e->b.role[e->report_q],
						 VIRTIO_BALLOON_Q_REPORTING);
				fv_add_chain(&e->fv[e->report_q], &b, 1);
				virtio_pci_queue_kicked(&e->t, (unsigned int)e->report_q);
				assert_int_equal(fv_used_idx(&e->fv[e->report_q]), 1);
				assert_int_equal(e->rec.n, 2); /* the inflate, the report */
				assert_call(e, 1, 1, 0, M2);
			}
			assert_int_equal(fvp_status(&e->drv), S_UP);
			teardown(state);
		}
	}
}

/* A queue the negotiated layout leaves unused is not served even if a
 * driver enables and kicks it. */
static void test_unused_queue(void **state)
{
	struct env *e = env_new(state, &all_opts);
	struct fv_buf b = W(B_GPA, M2);

	driver_setup(e, 0);
	assert_int_equal(e->nq, 2);
	setup_q(e, 2);
	setup_q(e, 3);
	driver_ok(e);
	fv_add_chain(&e->fv[2], &b, 1);
	fv_add_chain(&e->fv[3], &b, 1);
	virtio_pci_queue_kicked(&e->t, 2);
	virtio_pci_queue_kicked(&e->t, 3);
	assert_int_equal(fv_used_idx(&e->fv[2]), 0);
	assert_int_equal(fv_used_idx(&e->fv[3]), 0);
	assert_int_equal(e->rec.n, 0);
	assert_int_equal(fvp_status(&e->drv), S_UP);
}

/* ---- inflate / deflate -------------------------------------------------- */

static void test_inflate_deflate(void **state)
{
	struct env *e = env_start(state, &all_opts, F_ALL);
	uint32_t in[] = {pfn(PAGE_GPA),	    pfn(PAGE_GPA) + 1,
			 pfn(PAGE_GPA) + 2, pfn(A_SIZE + K4), /* the hole */
			 pfn(RAM_SIZE),			      /* past RAM */
			 pfn(PAGE_GPA) + 1};		      /* twice */
	uint32_t out[] = {pfn(PAGE_GPA) + 1, pfn(PAGE_GPA) + 7};
	struct balloon_pages_stats s;
	struct virtio_balloon_counts c;

	send_pfns(e, 0, in, 6);
	assert_int_equal(irqs(e, 0), 1);
	assert_int_equal(e->rec.n, 1);
	assert_call(e, 0, 0, PAGE_GPA, 3 * K4);
	s = bstats(e);
	assert_int_equal(s.ballooned, 3);
	assert_int_equal(s.refused_range, 2);
	assert_int_equal(s.refused_dup, 1);
	/* refused PFNs do not make the request malformed */
	assert_int_equal(fvp_status(&e->drv), S_UP);

	send_pfns(e, 1, out, 2);
	assert_int_equal(irqs(e, 1), 1);
	s = bstats(e);
	assert_int_equal(s.ballooned, 2);
	assert_int_equal(s.deflated, 1);
	assert_int_equal(s.refused_dup, 2);
	assert_int_equal(e->rec.n, 1); /* deflating never discards */
	assert_false(balloon_pages_test(&e->bp, pfn(PAGE_GPA) + 1));
	assert_true(balloon_pages_test(&e->bp, pfn(PAGE_GPA) + 2));
	c = counts(e);
	assert_int_equal(c.inflates, 1);
	assert_int_equal(c.deflates, 1);
	assert_int_equal(c.malformed, 0);
}

/* A whole 2 MiB host page of region B in one chain of two buffers split
 * inside a PFN (and longer than one batch): given back once. */
static void test_inflate_huge_split(void **state)
{
	struct env *e = env_start(state, &all_opts, F_ALL);
	uint32_t a[512];
	struct fv_buf bufs[2] = {R(PFN_GPA, 1026), R(PFN_GPA + 1026, 2048 - 1026)};
	struct fv *fv = &e->fv[0];

	for (unsigned int i = 0; i < 512; i++)
		a[i] = pfn(B_GPA + M2) + 511 - i; /* downwards */
	fv_write(&e->gm, PFN_GPA, a, sizeof(a));
	fv_add_chain(fv, bufs, 2);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(fv), 1);
	assert_int_equal(e->rec.n, 1);
	assert_call(e, 0, 1, M2, M2);
	assert_int_equal(bstats(e).ballooned, 512);
	assert_int_equal(bstats(e).held_bytes, M2);
	assert_int_equal(fvp_status(&e->drv), S_UP);

	/* several chains in one kick: completed in one batch, one interrupt */
	{
		uint32_t p1 = pfn(PAGE_GPA), p2 = pfn(PAGE_GPA) + 9;
		struct fv_buf b1 = R(PFN_GPA, 4), b2 = R(PFN_GPA + 4, 4);
		uint64_t before = irqs(e, 0);

		fv_set_used_event(fv, 1); /* EVENT_IDX: interrupt past used index 1 */
		fv_write(&e->gm, PFN_GPA, &p1, 4);
		fv_write(&e->gm, PFN_GPA + 4, &p2, 4);
		fv_add_chain(fv, &b1, 1);
		fv_add_chain(fv, &b2, 1);
		virtio_pci_queue_kicked(&e->t, 0);
		assert_int_equal(fv_used_idx(fv), 3);
		assert_int_equal(irqs(e, 0), before + 1);
		assert_int_equal(bstats(e).ballooned, 514);
	}
}

/* Indirect descriptors work for PFN arrays too. */
static void test_inflate_indirect(void **state)
{
	struct env *e = env_start(state, &all_opts, F_ALL);
	uint32_t a[] = {pfn(PAGE_GPA) + 20, pfn(PAGE_GPA) + 21};
	struct fv_buf b[2] = {R(PFN_GPA, 4), R(PFN_GPA + 4, 4)};

	fv_write(&e->gm, PFN_GPA, a, sizeof(a));
	fv_add_indirect(&e->fv[0], 0xa0000, b, 2);
	virtio_pci_queue_kicked(&e->t, 0);
	assert_int_equal(fv_used_idx(&e->fv[0]), 1);
	assert_int_equal(bstats(e).ballooned, 2);
	assert_int_equal(e->rec.n, 1);
	assert_call(e, 0, 0, PAGE_GPA + 20 * K4, 2 * K4);
}

/* ---- configuration: target and actual ----------------------------------- */

static void test_target_actual(void **state)
{
	struct env *e = env_start(state, &all_opts, F_ALL);
	uint8_t gen = generation(e);
	uint64_t intx = atomic_load(&e->t.stats.intx);
	struct virtio_balloon_counts c;

	assert_int_equal(cfg_rd32(e, 0), 0);
	assert_int_equal(isr(e), 0);
	virtio_balloon_set_target(&e->b, 1000);
	/* a configuration change: generation moved, ISR bit 1, INTx up */
	assert_int_equal(generation(e), (uint8_t)(gen + 1));
	assert_int_equal(atomic_load(&e->t.stats.intx), intx + 1);
	assert_int_equal(e->t.func.intx_level, 1);
	assert_int_equal(isr(e), VIRTIO_PCI_ISR_CONFIG);
	assert_int_equal(e->t.func.intx_level, 0);
	assert_int_equal(cfg_rd32(e, 0), 1000);
	assert_int_equal((uint16_t)fvp_bar_rd(&e->drv, VPCI_DEVICE_OFF + 2, 2), 0);
	assert_int_equal(virtio_balloon_target(&e->b), 1000);
	virtio_balloon_set_target(&e->b, 0x12345);
	assert_int_equal(generation(e), (uint8_t)(gen + 2));
	assert_int_equal(cfg_rd32(e, 0), 0x12345);

	/* the driver reports what it holds; num_pages is read-only to it */
	fvp_bar_wr(&e->drv, VPCI_DEVICE_OFF + 4, 4, 500);
	assert_int_equal(virtio_balloon_actual(&e->b), 500);
	assert_int_equal(cfg_rd32(e, 4), 500);
	fvp_bar_wr(&e->drv, VPCI_DEVICE_OFF, 4, 7);
	assert_int_equal(cfg_rd32(e, 0), 0x12345);
	fvp_bar_wr(&e->drv, VPCI_DEVICE_OFF + 6, 2, 0x1);
	assert_int_equal(virtio_balloon_actual(&e->b), 0x101f4);
	/* a write across both fields takes only actual's bytes */
	fvp_bar_wr(&e->drv, VPCI_DEVICE_OFF, 8, 0x00000009ffffffffull);
	assert_int_equal(virtio_balloon_actual(&e->b), 9);
	assert_int_equal(virtio_balloon_target(&e->b), 0x12345);
	/* past the configuration space: nothing */
	fvp_bar_wr(&e->drv, VPCI_DEVICE_OFF + 8, 4, 1);
	assert_int_equal(fvp_bar_rd(&e->drv, VPCI_DEVICE_OFF + 8, 4), 0);
	c = counts(e);
	assert_int_equal(c.actual_writes, 3);
	assert_int_equal(c.target_changes, 2);
	assert_int_equal(fvp_status(&e->drv), S_UP);
}

/* The target may be set before the driver comes (or before b->t is set). */
static void test_target_early(void **state)
{
	struct env *e = env_new(state, &all_opts);
	struct virtio_pci *t = e->b.t;

	e->b.t = NULL;
	virtio_balloon_set_target(&e->b, 77); /* no transport yet: just stored */
	e->b.t = t;
	driver_setup(e, F_ALL);
	driver_ok(e);
	assert_int_equal(cfg_rd32(e, 0), 77);
}

/* ---- statistics --------------------------------------------------------- */

static void test_stats(void **state)
{
	struct env *e = env_new(state, &all_opts);
	uint16_t tags[] = {VIRTIO_BALLOON_S_SWAP_IN, VIRTIO_BALLOON_S_MEMFREE,
			   VIRTIO_BALLOON_S_MEMTOT, 99, VIRTIO_BALLOON_S_HTLB_PGALLOC};
	uint64_t vals[] = {5, 1ull << 30, 4ull << 30, 123, 0x1122334455667788ull};
	struct fv_buf b = R(STATS_GPA, 50);
	struct virtio_balloon_guest_stats s;
	struct fv *fv;
	uint32_t id, len;
	uint16_t head;
	unsigned int q;

	fake_now = 0;
	assert_int_equal(gstats(e).updates, 0);
	assert_int_equal(gstats(e).timestamp_ns, 0);
	/* as Linux: the first buffer goes in before DRIVER_OK */
	driver_setup(e, F_ALL);
	q = (unsigned int)e->stats_q;
	fv = &e->fv[q];
	put_stats(e, STATS_GPA, tags, vals, 5);
	head = fv_add_chain(fv, &b, 1);
	virtio_pci_queue_kicked(&e->t, q); /* dropped: not running yet */
	assert_int_equal(gstats(e).updates, 0);
	assert_int_equal(virtio_balloon_request_stats(&e->b), -ENODEV);
	driver_ok(e);
	assert_true(e->h.qkicks[q] >= 1); /* DRIVER_OK re-kicks every queue */
	virtio_pci_queue_kicked(&e->t, q);
	s = gstats(e);
	assert_int_equal(s.updates, 1);
	assert_int_equal(s.timestamp_ns, 1000);
	assert_int_equal(
	    s.present, (1u << VIRTIO_BALLOON_S_SWAP_IN) | (1u << VIRTIO_BALLOON_S_MEMFREE) |
			   (1u << VIRTIO_BALLOON_S_MEMTOT) | (1u << VIRTIO_BALLOON_S_HTLB_PGALLOC));
	assert_int_equal(s.val[VIRTIO_BALLOON_S_SWAP_IN], 5);
	assert_int_equal(s.val[VIRTIO_BALLOON_S_MEMFREE], 1ull << 30);
	assert_int_equal(s.val[VIRTIO_BALLOON_S_MEMTOT], 4ull << 30);
	assert_int_equal(s.val[VIRTIO_BALLOON_S_HTLB_PGALLOC], 0x1122334455667788ull);
	assert_int_equal(s.val[VIRTIO_BALLOON_S_SWAP_OUT], 0);
	assert_int_equal(counts(e).stats_unknown, 1);
	/* the buffer is held: nothing used, no interrupt */
	assert_int_equal(fv_used_idx(fv), 0);
	assert_int_equal(irqs(e, q), 0);

	/* a request gives it back */
	assert_int_equal(virtio_balloon_request_stats(&e->b), 0);
	assert_int_equal(fv_used_idx(fv), 1);
	fv_used_elem(fv, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	assert_int_equal(irqs(e, q), 1);
	assert_int_equal(virtio_balloon_request_stats(&e->b), -EAGAIN); /* none held */
	assert_int_equal(fv_used_idx(fv), 1);

	/* the guest answers with fresh values in a new buffer */
	vals[1] = 2ull << 30;
	put_stats(e, STATS_GPA + 0x100, tags + 1, vals + 1, 1);
	b = R(STATS_GPA + 0x100, 10);
	head = fv_add_chain(fv, &b, 1);
	virtio_pci_queue_kicked(&e->t, q);
	s = gstats(e);
	assert_int_equal(s.updates, 2);
	assert_int_equal(s.timestamp_ns, 2000);
	assert_int_equal(s.present, 1u << VIRTIO_BALLOON_S_MEMFREE); /* the latest buffer */
	assert_int_equal(s.val[VIRTIO_BALLOON_S_MEMFREE], 2ull << 30);
	assert_int_equal(s.val[VIRTIO_BALLOON_S_SWAP_IN], 0);
	assert_int_equal(fv_used_idx(fv), 1);

	/* a driver posting another while one is held gets the older back */
	{
		uint16_t head2;
		struct fv_buf b2 = R(STATS_GPA + 0x200, 10);

		put_stats(e, STATS_GPA + 0x200, tags, vals, 1);
		head2 = fv_add_chain(fv, &b2, 1);
		virtio_pci_queue_kicked(&e->t, q);
		assert_int_equal(fv_used_idx(fv), 2);
		fv_used_elem(fv, 1, &id, &len);
		assert_int_equal(id, head);
		assert_int_equal(gstats(e).updates, 3);
		assert_int_equal(virtio_balloon_request_stats(&e->b), 0);
		assert_int_equal(fv_used_idx(fv), 3);
		fv_used_elem(fv, 2, &id, &len);
		assert_int_equal(id, head2);
	}
	assert_int_equal(counts(e).stats_updates, 3);
	assert_int_equal(counts(e).stats_requests, 2);
	assert_int_equal(fvp_status(&e->drv), S_UP);

	/* after a reset nothing is held; the statistics stay readable */
	fvp_set_status(&e->drv, 0);
	assert_int_equal(virtio_balloon_request_stats(&e->b), -ENODEV);
	assert_int_equal(gstats(e).updates, 3);
}

/* A driver using EVENT_IDX that asks for no interrupt yet gets none when
 * its stats buffer comes back. */
static void test_stats_no_interrupt(void **state)
{
	struct env *e = env_start(state, &all_opts, F_ALL);
	unsigned int q = (unsigned int)e->stats_q;
	struct fv_buf b = R(STATS_GPA, 10);
	uint16_t tag = VIRTIO_BALLOON_S_AVAIL;
	uint64_t val = 3;

	put_stats(e, STATS_GPA, &tag, &val, 1);
	fv_add_chain(&e->fv[q], &b, 1);
	virtio_pci_queue_kicked(&e->t, q);
	assert_int_equal(virtio_balloon_request_stats(&e->b), 0);
	assert_int_equal(irqs(e, q), 1); /* the first one always interrupts */
	fv_set_used_event(&e->fv[q], 5); /* interrupt only past used index 5 */
	fv_add_chain(&e->fv[q], &b, 1);
	virtio_pci_queue_kicked(&e->t, q);
	assert_int_equal(virtio_balloon_request_stats(&e->b), 0);
	assert_int_equal(fv_used_idx(&e->fv[q]), 2);
	assert_int_equal(irqs(e, q), 1);
	fv_set_used_event(&e->fv[q], 2); /* now it wants the next one */
	fv_add_chain(&e->fv[q], &b, 1);
	virtio_pci_queue_kicked(&e->t, q);
	assert_int_equal(virtio_balloon_request_stats(&e->b), 0);
	assert_int_equal(irqs(e, q), 2);
}

static void test_stats_refusals(void **state)
{
	struct virtio_balloon_opts no_stats = {.deflate_on_oom = true};
	struct env *e = env_start(state, &no_stats, F_ALL);

	assert_int_equal(virtio_balloon_request_stats(&e->b), -EOPNOTSUPP);
	teardown(state);
	/* offered, not negotiated */
	e = env_start(state, &all_opts, F(VIRTIO_BALLOON_F_REPORTING));
	assert_int_equal(virtio_balloon_request_stats(&e->b), -ENODEV);
	teardown(state);
	/* negotiated, nothing posted yet */
	e = env_start(state, &all_opts, F_ALL);
	assert_int_equal(virtio_balloon_request_stats(&e->b), -EAGAIN);
	/* no transport */
	e->b.t = NULL;
	assert_int_equal(virtio_balloon_request_stats(&e->b), -ENODEV);
	e->b.t = &e->t;
}

/* ---- free page reporting ------------------------------------------------ */

static void test_reporting(void **state)
{
	struct env *e = env_start(state, &all_opts, F_ALL);
	unsigned int q = (unsigned int)e->report_q;
	struct fv *fv = &e->fv[q];
	/* a whole huge page of B, 3 pages of A, half a huge page of B */
	struct fv_buf b[3] = {W(B_GPA + M2, M2), W(0x200000, 3 * K4), W(B_GPA, M2 / 2)};
	uint32_t id, len;
	uint16_t head;
	struct balloon_pages_stats s;

	head = fv_add_chain(fv, b, 3);
	virtio_pci_queue_kicked(&e->t, q);
	assert_int_equal(fv_used_idx(fv), 1);
	fv_used_elem(fv, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	assert_int_equal(irqs(e, q), 1);
	assert_int_equal(e->rec.n, 2);
	assert_call(e, 0, 1, M2, M2);
	assert_call(e, 1, 0, 0x200000, 3 * K4);
	s = bstats(e);
	assert_int_equal(s.reports, 3);
	assert_int_equal(s.reported_bytes, M2 + 3 * K4);
	assert_int_equal(s.ballooned, 0); /* the guest still owns them */
	assert_false(balloon_pages_test(&e->bp, pfn(0x200000)));
	assert_int_equal(counts(e).reports, 1);
	assert_int_equal(counts(e).report_ranges, 3);
	assert_int_equal(fvp_status(&e->drv), S_UP);
}

/* ---- malformed requests ------------------------------------------------- */

enum which { QI, QD, QS, QR };

static void test_malformed(void **state)
{
	static const struct {
		enum which q;
		struct fv_buf b[2];
		unsigned int n;
		const char *why;
	} cases[] = {
	    {QI, {{PFN_GPA, 8, true}}, 1, "inflate: writable"},
	    {QI, {{PFN_GPA, 8, false}, {PFN_GPA + 8, 8, true}}, 2, "inflate: a writable part"},
	    {QI, {{PFN_GPA, 6, false}}, 1, "inflate: 6 bytes"},
	    {QI, {{PFN_GPA, 4 * (VIRTIO_BALLOON_MAX_PFNS + 1), false}}, 1, "inflate: too long"},
	    {QD, {{PFN_GPA, 3, false}}, 1, "deflate: 3 bytes"},
	    {QD, {{PFN_GPA, 4, true}}, 1, "deflate: writable"},
	    {QS, {{STATS_GPA, 15, false}}, 1, "stats: 15 bytes"},
	    {QS, {{STATS_GPA, 10, true}}, 1, "stats: writable"},
	    {QS, {{STATS_GPA, 10 * (VIRTIO_BALLOON_MAX_STATS + 1), false}}, 1, "stats: too long"},
	    {QR, {{B_GPA, M2, false}}, 1, "report: readable"},
	    {QR, {{B_GPA, K4, true}, {PFN_GPA, 4, false}}, 2, "report: readable after"},
	    {QR, {{B_GPA + 100, K4, true}}, 1, "report: misaligned"},
	    {QR, {{B_GPA, 100, true}}, 1, "report: not whole pages"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct env *e = env_start(state, &all_opts, F_ALL);
		unsigned int q = cases[i].q == QS   ? (unsigned int)e->stats_q
				 : cases[i].q == QR ? (unsigned int)e->report_q
						    : (unsigned int)cases[i].q;
		uint32_t good = pfn(PAGE_GPA);
		struct fv_buf gb = R(PFN_GPA + 0x8000, 4);

		fv_write(&e->gm, PFN_GPA + 0x8000, &good, 4);
		fv_add_chain(&e->fv[q], cases[i].b, cases[i].n);
		virtio_pci_queue_kicked(&e->t, q);
		if (!(fvp_status(&e->drv) & S_NR))
			fail_msg("not refused: %s", cases[i].why);
		assert_int_equal(counts(e).malformed, 1);
		assert_int_equal(fv_used_idx(&e->fv[q]), 0);
		assert_int_equal(e->rec.n, 0);
		assert_int_equal(bstats(e).ballooned, 0);
		assert_int_equal(gstats(e).updates, 0);
		/* the device serves nothing more until the driver resets it */
		fv_add_chain(&e->fv[0], &gb, 1);
		virtio_pci_queue_kicked(&e->t, 0);
		assert_int_equal(fv_used_idx(&e->fv[0]), 0);
		assert_int_equal(bstats(e).ballooned, 0);
		/* and after the reset it works again */
		driver_setup(e, F_ALL);
		driver_ok(e);
		send_pfns(e, 0, &good, 1);
		assert_int_equal(bstats(e).ballooned, 1);
		teardown(state);
	}
}

/* A ring the virtqueue refuses (head out of range): NEEDS_RESET. */
static void test_broken_ring(void **state)
{
	struct env *e = env_start(state, &all_opts, F_ALL);

	fv_publish(&e->fv[1], QSIZE + 3);
	virtio_pci_queue_kicked(&e->t, 1);
	assert_true(fvp_status(&e->drv) & S_NR);
	assert_int_equal(e->t.queues[1].vq.error, VQ_ERR_HEAD);
	assert_int_equal(counts(e).malformed, 1);
}

/* ---- reset -------------------------------------------------------------- */

static void test_reset(void **state)
{
	struct env *e = env_start(state, &all_opts, F_ALL);
	uint32_t a[] = {pfn(PAGE_GPA), pfn(PAGE_GPA) + 1};
	struct balloon_pages_stats s;

	send_pfns(e, 0, a, 2);
	fvp_bar_wr(&e->drv, VPCI_DEVICE_OFF + 4, 4, 2);
	virtio_balloon_set_target(&e->b, 2);
	assert_int_equal(bstats(e).ballooned, 2);
	fvp_set_status(&e->drv, 0);
	/* the guest owns its RAM again; the target and the counters stay */
	s = bstats(e);
	assert_int_equal(s.ballooned, 0);
	assert_int_equal(s.held_bytes, 0);
	assert_int_equal(s.inflated, 2);
	assert_int_equal(virtio_balloon_actual(&e->b), 0);
	assert_int_equal(virtio_balloon_target(&e->b), 2);
	assert_int_equal(counts(e).inflates, 1);
	assert_int_equal(e->b.role[0], VIRTIO_BALLOON_Q_NONE);
	/* a new driver balloons the same pages: not duplicates */
	driver_setup(e, F_ALL);
	driver_ok(e);
	send_pfns(e, 0, a, 2);
	s = bstats(e);
	assert_int_equal(s.ballooned, 2);
	assert_int_equal(s.refused_dup, 0);
	assert_int_equal(e->rec.n, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_features),
	    cmocka_unit_test(test_queue_roles),
	    cmocka_unit_test_teardown(test_layout_negotiated, teardown),
	    cmocka_unit_test_teardown(test_unused_queue, teardown),
	    cmocka_unit_test_teardown(test_inflate_deflate, teardown),
	    cmocka_unit_test_teardown(test_inflate_huge_split, teardown),
	    cmocka_unit_test_teardown(test_inflate_indirect, teardown),
	    cmocka_unit_test_teardown(test_target_actual, teardown),
	    cmocka_unit_test_teardown(test_target_early, teardown),
	    cmocka_unit_test_teardown(test_stats, teardown),
	    cmocka_unit_test_teardown(test_stats_no_interrupt, teardown),
	    cmocka_unit_test_teardown(test_stats_refusals, teardown),
	    cmocka_unit_test_teardown(test_reporting, teardown),
	    cmocka_unit_test_teardown(test_malformed, teardown),
	    cmocka_unit_test_teardown(test_broken_ring, teardown),
	    cmocka_unit_test_teardown(test_reset, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
