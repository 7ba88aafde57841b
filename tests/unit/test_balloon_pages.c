/* Balloon page accounting with 4 KiB, 2 MiB and 1 GiB host pages: the
 * discard callback is a recorder, so every test says exactly which host
 * ranges were given back and how often. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mem/balloon_pages.h"

#define K4 4096ull
#define M2 (2ull << 20)
#define G1 (1ull << 30)
#define G4 (4ull << 30)

#define MAX_CALLS 64

struct call {
	unsigned int region;
	uint64_t off, len;
};

/* The discard recorder. */
struct rec {
	struct call calls[MAX_CALLS];
	unsigned int n; /* calls made (kept: the first MAX_CALLS) */
	int fail;	/* returned instead of 0 when set */
};

static int rec_discard(void *opaque, unsigned int region, uint64_t off, uint64_t len)
{
	struct rec *r = opaque;

	if (r->n < MAX_CALLS)
		r->calls[r->n] = (struct call){region, off, len};
	r->n++;
	return r->fail;
}

static void assert_call(const struct rec *r, unsigned int i, unsigned int region, uint64_t off,
			uint64_t len)
{
	assert_true(i < r->n);
	assert_int_equal(r->calls[i].region, region);
	assert_int_equal(r->calls[i].off, off);
	assert_int_equal(r->calls[i].len, len);
}

static struct balloon_pages_stats stats(struct balloon_pages *bp)
{
	struct balloon_pages_stats s;

	balloon_pages_get_stats(bp, &s);
	return s;
}

static uint32_t pfn(uint64_t gpa)
{
	return (uint32_t)(gpa >> 12);
}

/* Fill a[0, n) with the PFNs of [gpa, gpa + n * 4K). */
static void seq(uint32_t *a, uint64_t gpa, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		a[i] = pfn(gpa) + i;
}

/* ---- setup -------------------------------------------------------------- */

static void test_init_refusals(void **state)
{
	struct balloon_pages bp;
	struct rec rec = {.n = 0};
	struct balloon_region ok = {0, 16 << 20, K4};
	struct balloon_region two[2] = {{0, 16 << 20, K4}, {8 << 20, 16 << 20, M2}};
	struct {
		struct balloon_region r;
		const char *why;
	} bad[] = {
	    {{0, 16 << 20, 0}, "page size 0"},
	    {{0, 16 << 20, 2048}, "page size below 4K"},
	    {{0, 16 << 20, 3 * K4}, "page size not a power of two"},
	    {{0, 4 * G1, 2 * G1}, "page size above 1G"},
	    {{0x800, 16 << 20, K4}, "gpa not 4K aligned"},
	    {{0, 0, K4}, "size 0"},
	    {{0, 3 << 20, M2}, "size not a multiple of the page size"},
	    {{UINT64_MAX - K4 + 1, M2, M2}, "wraps"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (balloon_pages_init(&bp, &bad[i].r, 1, rec_discard, &rec) != -EINVAL)
			fail_msg("accepted: %s", bad[i].why);
	assert_int_equal(balloon_pages_init(&bp, &ok, 0, rec_discard, &rec), -EINVAL);
	assert_int_equal(balloon_pages_init(&bp, &ok, BALLOON_MAX_REGIONS + 1, rec_discard, &rec),
			 -EINVAL);
	assert_int_equal(balloon_pages_init(&bp, NULL, 1, rec_discard, &rec), -EINVAL);
	assert_int_equal(balloon_pages_init(&bp, &ok, 1, NULL, &rec), -EINVAL);
	assert_int_equal(balloon_pages_init(&bp, two, 2, rec_discard, &rec), -EINVAL); /* overlap */
	balloon_pages_destroy(&bp); /* after a failed init: harmless */
	two[1].gpa = 16 << 20;	    /* adjacent is fine */
	assert_int_equal(balloon_pages_init(&bp, two, 2, rec_discard, &rec), 0);
	assert_int_equal(bp.nr, 2);
	assert_int_equal(bp.reg[1].per_host, 512);
	assert_int_equal(stats(&bp).ballooned, 0);
	balloon_pages_destroy(&bp);
	balloon_pages_destroy(&bp); /* twice */
	assert_int_equal(rec.n, 0);
}

/* ---- 4 KiB backing ------------------------------------------------------ */

static void test_4k_inflate_deflate(void **state)
{
	struct balloon_pages bp;
	struct rec rec = {.n = 0};
	struct balloon_region r = {0, 16 << 20, K4};
	uint32_t a[] = {10, 11, 12, 20};
	uint32_t down[] = {5, 4, 3};
	uint32_t one[] = {10};
	struct balloon_pages_stats s;
	(void)state;

	assert_int_equal(balloon_pages_init(&bp, &r, 1, rec_discard, &rec), 0);
	/* every page goes back at once; 10..12 coalesce into one call */
	assert_int_equal(balloon_pages_inflate(&bp, a, 4), 4);
	assert_int_equal(rec.n, 2);
	assert_call(&rec, 0, 0, 10 * K4, 3 * K4);
	assert_call(&rec, 1, 0, 20 * K4, K4);
	/* downwards as well */
	assert_int_equal(balloon_pages_inflate(&bp, down, 3), 3);
	assert_int_equal(rec.n, 3);
	assert_call(&rec, 2, 0, 3 * K4, 3 * K4);
	s = stats(&bp);
	assert_int_equal(s.ballooned, 7);
	assert_int_equal(s.inflated, 7);
	assert_int_equal(s.held_bytes, 7 * K4);
	assert_int_equal(s.returned_bytes, 7 * K4);
	assert_int_equal(s.discards, 3);
	assert_true(balloon_pages_test(&bp, 10));
	assert_false(balloon_pages_test(&bp, 13));

	/* a page ballooned twice is refused and not discarded again */
	assert_int_equal(balloon_pages_inflate(&bp, one, 1), 0);
	assert_int_equal(rec.n, 3);
	assert_int_equal(stats(&bp).refused_dup, 1);

	/* deflate clears the bit and never discards */
	assert_int_equal(balloon_pages_deflate(&bp, one, 1), 1);
	assert_false(balloon_pages_test(&bp, 10));
	assert_int_equal(balloon_pages_deflate(&bp, one, 1), 0); /* not ballooned */
	s = stats(&bp);
	assert_int_equal(rec.n, 3);
	assert_int_equal(s.ballooned, 6);
	assert_int_equal(s.deflated, 1);
	assert_int_equal(s.held_bytes, 6 * K4);
	assert_int_equal(s.refused_dup, 2);

	/* inflated again: given back again */
	assert_int_equal(balloon_pages_inflate(&bp, one, 1), 1);
	assert_int_equal(rec.n, 4);
	assert_call(&rec, 3, 0, 10 * K4, K4);
	assert_int_equal(stats(&bp).returned_bytes, 8 * K4);
	balloon_pages_destroy(&bp);
}

/* The same PFN twice in one array: the second is a duplicate. */
static void test_duplicates_in_one_call(void **state)
{
	struct balloon_pages bp;
	struct rec rec = {.n = 0};
	struct balloon_region r = {0, 1 << 20, K4};
	uint32_t a[] = {7, 8, 7, 9};
	(void)state;

	assert_int_equal(balloon_pages_init(&bp, &r, 1, rec_discard, &rec), 0);
	assert_int_equal(balloon_pages_inflate(&bp, a, 4), 3);
	assert_int_equal(stats(&bp).refused_dup, 1);
	assert_int_equal(stats(&bp).ballooned, 3);
	/* 7, 8 then 9 (7 refused in between does not break the run) */
	assert_int_equal(rec.n, 1);
	assert_call(&rec, 0, 0, 7 * K4, 3 * K4);
	assert_int_equal(balloon_pages_deflate(&bp, a, 4), 3);
	assert_int_equal(stats(&bp).refused_dup, 2);
	assert_int_equal(stats(&bp).ballooned, 0);
	balloon_pages_destroy(&bp);
}

/* ---- 2 MiB backing ------------------------------------------------------ */

static void test_2m_whole_page_once(void **state)
{
	struct balloon_pages bp;
	struct rec rec = {.n = 0};
	struct balloon_region r = {0, 8 << 20, M2};
	uint32_t *a = calloc(2048, sizeof(uint32_t));
	uint32_t last, mid;
	struct balloon_pages_stats s;
	(void)state;

	assert_non_null(a);
	assert_int_equal(balloon_pages_init(&bp, &r, 1, rec_discard, &rec), 0);
	/* 511 of the first huge page's 512: nothing goes back */
	seq(a, 0, 512);
	assert_int_equal(balloon_pages_inflate(&bp, a, 511), 511);
	assert_int_equal(rec.n, 0);
	s = stats(&bp);
	assert_int_equal(s.ballooned, 511);
	assert_int_equal(s.held_bytes, 0);
	assert_int_equal(s.returned_bytes, 0);
	/* the last one: the whole huge page, once */
	last = a[511];
	assert_int_equal(balloon_pages_inflate(&bp, &last, 1), 1);
	assert_int_equal(rec.n, 1);
	assert_call(&rec, 0, 0, 0, M2);
	assert_int_equal(stats(&bp).held_bytes, M2);
	/* a duplicate of a page of it changes nothing */
	assert_int_equal(balloon_pages_inflate(&bp, &last, 1), 0);
	assert_int_equal(rec.n, 1);

	/* the second huge page in a scrambled order over several calls:
	 * given back by the call that completes it, and only by that one */
	for (unsigned int i = 0; i < 512; i++)
		a[i] = pfn(M2) + (i * 37) % 512; /* 37 is odd: a permutation */
	assert_int_equal(balloon_pages_inflate(&bp, a, 200), 200);
	assert_int_equal(balloon_pages_inflate(&bp, a + 200, 300), 300);
	assert_int_equal(rec.n, 1);
	assert_int_equal(balloon_pages_inflate(&bp, a + 500, 12), 12);
	assert_int_equal(rec.n, 2);
	assert_call(&rec, 1, 0, M2, M2);

	/* deflating one page: the bit clears, the huge page no longer counts
	 * as given back, and nothing is discarded */
	mid = pfn(M2) + 100;
	assert_int_equal(balloon_pages_deflate(&bp, &mid, 1), 1);
	s = stats(&bp);
	assert_int_equal(rec.n, 2);
	assert_int_equal(s.ballooned, 1023);
	assert_int_equal(s.held_bytes, M2);
	assert_int_equal(s.returned_bytes, 2 * M2);
	assert_false(balloon_pages_test(&bp, mid));
	assert_true(balloon_pages_test(&bp, mid + 1));
	/* deflating a second page of it does not lower held_bytes again */
	mid++;
	assert_int_equal(balloon_pages_deflate(&bp, &mid, 1), 1);
	assert_int_equal(stats(&bp).held_bytes, M2);
	/* re-inflating them: the huge page is complete again and goes back
	 * once more (it may have been faulted in meanwhile) */
	assert_int_equal(balloon_pages_inflate(&bp, &mid, 1), 1);
	assert_int_equal(rec.n, 2);
	mid--;
	assert_int_equal(balloon_pages_inflate(&bp, &mid, 1), 1);
	assert_int_equal(rec.n, 3);
	assert_call(&rec, 2, 0, M2, M2);
	s = stats(&bp);
	assert_int_equal(s.held_bytes, 2 * M2);
	assert_int_equal(s.returned_bytes, 3 * M2);
	assert_int_equal(s.discards, 3);
	free(a);
	balloon_pages_destroy(&bp);
}

/* Huge pages completed in one call in address order: one discard. */
static void test_2m_coalesced(void **state)
{
	struct balloon_pages bp;
	struct rec rec = {.n = 0};
	struct balloon_region r = {0, 8 << 20, M2};
	uint32_t *a = calloc(2048, sizeof(uint32_t));
	(void)state;

	assert_non_null(a);
	assert_int_equal(balloon_pages_init(&bp, &r, 1, rec_discard, &rec), 0);
	/* the 2nd, 3rd and 4th huge pages, then a gap, nothing else */
	seq(a, M2, 1536);
	assert_int_equal(balloon_pages_inflate(&bp, a, 1536), 1536);
	assert_int_equal(rec.n, 1);
	assert_call(&rec, 0, 0, M2, 3 * M2);
	/* the first one last: adjacent below, but a new call */
	seq(a, 0, 512);
	assert_int_equal(balloon_pages_inflate(&bp, a, 512), 512);
	assert_int_equal(rec.n, 2);
	assert_call(&rec, 1, 0, 0, M2);
	assert_int_equal(stats(&bp).held_bytes, 8 << 20);
	free(a);
	balloon_pages_destroy(&bp);
}

/* ---- 1 GiB backing ------------------------------------------------------ */

static void test_1g(void **state)
{
	enum { PER = 1 << 18 }; /* 4 KiB pages in 1 GiB */
	struct balloon_pages bp;
	struct rec rec = {.n = 0};
	struct balloon_region r = {G4, 2 * G1, G1}; /* above the hole */
	uint32_t *a = calloc(PER, sizeof(uint32_t));
	uint32_t p;
	(void)state;

	assert_non_null(a);
	assert_int_equal(balloon_pages_init(&bp, &r, 1, rec_discard, &rec), 0);
	assert_int_equal(bp.reg[0].per_host, PER);
	/* the second 1 GiB page, all but its first 4 KiB page */
	seq(a, G4 + G1, PER);
	assert_int_equal(balloon_pages_inflate(&bp, a + 1, PER - 1), PER - 1);
	assert_int_equal(rec.n, 0);
	assert_int_equal(stats(&bp).held_bytes, 0);
	p = a[0];
	assert_int_equal(balloon_pages_inflate(&bp, &p, 1), 1);
	assert_int_equal(rec.n, 1);
	assert_call(&rec, 0, 0, G1, G1); /* offsets are relative to the region */
	assert_int_equal(stats(&bp).held_bytes, G1);
	/* deflate and re-inflate one page: once more */
	p = a[PER / 2];
	assert_int_equal(balloon_pages_deflate(&bp, &p, 1), 1);
	assert_int_equal(stats(&bp).held_bytes, 0);
	assert_int_equal(rec.n, 1);
	assert_int_equal(balloon_pages_inflate(&bp, &p, 1), 1);
	assert_int_equal(rec.n, 2);
	assert_call(&rec, 1, 0, G1, G1);
	/* half of the first 1 GiB page: never */
	seq(a, G4, PER / 2);
	assert_int_equal(balloon_pages_inflate(&bp, a, PER / 2), PER / 2);
	assert_int_equal(rec.n, 2);
	assert_int_equal(stats(&bp).ballooned, PER + PER / 2);
	free(a);
	balloon_pages_destroy(&bp);
}

/* ---- ranges, several regions -------------------------------------------- */

static void test_refused_ranges(void **state)
{
	struct balloon_pages bp;
	struct rec rec = {.n = 0};
	/* low RAM with 4 KiB pages, a hole, high RAM with 2 MiB pages */
	struct balloon_region r[2] = {{0, 16 << 20, K4}, {G4, 16 << 20, M2}};
	uint32_t bad[] = {
	    pfn(16 << 20),	  /* just past low RAM */
	    pfn(3ull << 30),	  /* the PCI hole */
	    pfn(G4 - K4),	  /* last page below high RAM */
	    pfn(G4 + (16 << 20)), /* just past high RAM */
	    UINT32_MAX,		  /* 16 TiB */
	};
	uint32_t *a = calloc(512, sizeof(uint32_t));
	struct balloon_pages_stats s;
	(void)state;

	assert_non_null(a);
	assert_int_equal(balloon_pages_init(&bp, r, 2, rec_discard, &rec), 0);
	assert_int_equal(balloon_pages_inflate(&bp, bad, 5), 0);
	assert_int_equal(balloon_pages_deflate(&bp, bad, 5), 0);
	s = stats(&bp);
	assert_int_equal(s.refused_range, 10);
	assert_int_equal(s.refused_dup, 0);
	assert_int_equal(s.ballooned, 0);
	assert_int_equal(rec.n, 0);
	assert_false(balloon_pages_test(&bp, pfn(3ull << 30)));
	assert_false(balloon_pages_test(&bp, UINT64_MAX));

	/* the last huge page of high RAM goes back as region 1 */
	seq(a, G4 + (14 << 20), 512);
	assert_int_equal(balloon_pages_inflate(&bp, a, 512), 512);
	assert_int_equal(rec.n, 1);
	assert_call(&rec, 0, 1, 14 << 20, M2);
	/* a mixed batch: low pages, a refused one between, high page */
	a[0] = pfn(0x1000);
	a[1] = pfn(3ull << 30);
	a[2] = pfn(0x2000);
	a[3] = pfn(G4);
	assert_int_equal(balloon_pages_inflate(&bp, a, 4), 3);
	assert_int_equal(rec.n, 2);
	assert_call(&rec, 1, 0, 0x1000, 2 * K4);
	s = stats(&bp);
	assert_int_equal(s.refused_range, 11);
	assert_int_equal(s.ballooned, 515);
	assert_int_equal(s.held_bytes, M2 + 2 * K4);
	free(a);
	balloon_pages_destroy(&bp);
}

/* A discard that fails: counted; the pages stay ballooned. */
static void test_discard_error(void **state)
{
	struct balloon_pages bp;
	struct rec rec = {.fail = -EIO};
	struct balloon_region r = {0, 1 << 20, K4};
	uint32_t a[] = {1, 2, 9};
	struct balloon_pages_stats s;
	(void)state;

	assert_int_equal(balloon_pages_init(&bp, &r, 1, rec_discard, &rec), 0);
	assert_int_equal(balloon_pages_inflate(&bp, a, 3), 3);
	assert_int_equal(rec.n, 2);
	s = stats(&bp);
	assert_int_equal(s.discard_errors, 2);
	assert_int_equal(s.discards, 0);
	assert_int_equal(s.returned_bytes, 0);
	assert_int_equal(s.ballooned, 3);
	assert_int_equal(s.held_bytes, 3 * K4);
	assert_true(balloon_pages_test(&bp, 9));
	balloon_pages_destroy(&bp);
}

/* ---- free page reporting ------------------------------------------------ */

static void test_report(void **state)
{
	struct balloon_pages bp;
	struct rec rec = {.n = 0};
	/* adjacent: [0, 8M) 4 KiB pages, [8M, 16M) 2 MiB pages; then a hole */
	struct balloon_region r[2] = {{0, 8 << 20, K4}, {8 << 20, 8 << 20, M2}};
	struct balloon_pages_stats s;
	(void)state;

	assert_int_equal(balloon_pages_init(&bp, r, 2, rec_discard, &rec), 0);
	/* 4 KiB backing: the range as is; the bitmap is untouched */
	assert_int_equal(balloon_pages_report(&bp, 0x2000, 3 * K4), 0);
	assert_int_equal(rec.n, 1);
	assert_call(&rec, 0, 0, 0x2000, 3 * K4);
	assert_false(balloon_pages_test(&bp, 2));
	/* 2 MiB backing: only the whole huge pages inside */
	assert_int_equal(balloon_pages_report(&bp, (8 << 20) + M2 + K4, 4 << 20), 0);
	assert_int_equal(rec.n, 2);
	assert_call(&rec, 1, 1, 2 * M2, M2);
	/* smaller than a huge page: accepted, nothing to give back */
	assert_int_equal(balloon_pages_report(&bp, 10 << 20, 1 << 20), 0);
	assert_int_equal(rec.n, 2);
	/* spanning both regions: the part of each */
	assert_int_equal(balloon_pages_report(&bp, 6 << 20, 6 << 20), 0);
	assert_int_equal(rec.n, 4);
	assert_call(&rec, 2, 0, 6 << 20, M2);
	assert_call(&rec, 3, 1, 0, 4 << 20);
	s = stats(&bp);
	assert_int_equal(s.reports, 4);
	assert_int_equal(s.reported_bytes, 3 * K4 + M2 + M2 + (4 << 20));
	assert_int_equal(s.returned_bytes, 0);
	assert_int_equal(s.ballooned, 0);

	/* refusals: nothing discarded */
	assert_int_equal(balloon_pages_report(&bp, 0x2000, 0), -EINVAL);
	assert_int_equal(balloon_pages_report(&bp, 0x2100, K4), -EINVAL);
	assert_int_equal(balloon_pages_report(&bp, 0x2000, 100), -EINVAL);
	assert_int_equal(balloon_pages_report(&bp, UINT64_MAX - K4 + 1, 2 * K4), -EINVAL);
	assert_int_equal(balloon_pages_report(&bp, 16 << 20, K4), -EFAULT);	 /* the hole */
	assert_int_equal(balloon_pages_report(&bp, 15 << 20, 2 << 20), -EFAULT); /* runs past */
	assert_int_equal(rec.n, 4);
	s = stats(&bp);
	assert_int_equal(s.report_refused, 6);
	assert_int_equal(s.reports, 4);
	balloon_pages_destroy(&bp);
}

/* ---- reset -------------------------------------------------------------- */

static void test_reset(void **state)
{
	struct balloon_pages bp;
	struct rec rec = {.n = 0};
	struct balloon_region r[2] = {{0, 8 << 20, K4}, {8 << 20, 8 << 20, M2}};
	uint32_t *a = calloc(512, sizeof(uint32_t));
	uint32_t low[] = {3, 4};
	struct balloon_pages_stats s;
	(void)state;

	assert_non_null(a);
	assert_int_equal(balloon_pages_init(&bp, r, 2, rec_discard, &rec), 0);
	seq(a, 8 << 20, 512);
	assert_int_equal(balloon_pages_inflate(&bp, a, 300), 300);
	assert_int_equal(balloon_pages_inflate(&bp, low, 2), 2);
	assert_int_equal(rec.n, 1);
	balloon_pages_reset(&bp);
	assert_int_equal(rec.n, 1); /* never discards */
	s = stats(&bp);
	assert_int_equal(s.ballooned, 0);
	assert_int_equal(s.held_bytes, 0);
	assert_int_equal(s.inflated, 302); /* counters stay */
	assert_false(balloon_pages_test(&bp, 3));
	assert_false(balloon_pages_test(&bp, a[0]));
	/* the huge page's count restarted: 212 more do not complete it... */
	assert_int_equal(balloon_pages_inflate(&bp, a + 300, 212), 212);
	assert_int_equal(rec.n, 1);
	/* ...all 512 do, once */
	assert_int_equal(balloon_pages_inflate(&bp, a, 300), 300);
	assert_int_equal(rec.n, 2);
	assert_call(&rec, 1, 1, 0, M2);
	/* and the 4 KiB pages are not duplicates any more */
	assert_int_equal(balloon_pages_inflate(&bp, low, 2), 2);
	assert_int_equal(stats(&bp).refused_dup, 0);
	free(a);
	balloon_pages_destroy(&bp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_refusals),
	    cmocka_unit_test(test_4k_inflate_deflate),
	    cmocka_unit_test(test_duplicates_in_one_call),
	    cmocka_unit_test(test_2m_whole_page_once),
	    cmocka_unit_test(test_2m_coalesced),
	    cmocka_unit_test(test_1g),
	    cmocka_unit_test(test_refused_ranges),
	    cmocka_unit_test(test_discard_error),
	    cmocka_unit_test(test_report),
	    cmocka_unit_test(test_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
