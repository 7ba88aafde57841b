/* mem_discard on real mappings: private and shared anonymous memory, a
 * memfd mapped shared and private, hugetlb memfds when the host has free
 * hugepages.  Residency is read with mincore(2), the file's allocation
 * with fstat's st_blocks, the contents through the mapping. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mem/backend.h"
#include "mem/balloon_pages.h"
#include "mem/discard.h"
#include "mem/mem_opts.h"

#define K4 4096ull
#define M2 (2ull << 20)
#define G1 (1ull << 30)

/* Resident 4 KiB pages of [p, p + len) by mincore. */
static uint64_t resident(const void *p, uint64_t len)
{
	size_t pages = (size_t)(len / K4);
	unsigned char *v = calloc(pages, 1);
	uint64_t n = 0;

	assert_non_null(v);
	assert_int_equal(mincore((void *)p, len, v), 0);
	for (size_t i = 0; i < pages; i++)
		n += v[i] & 1;
	free(v);
	return n;
}

/* Whether every byte of [p, p + len) is c. */
static bool all(const uint8_t *p, uint64_t len, uint8_t c)
{
	for (uint64_t i = 0; i < len; i++)
		if (p[i] != c)
			return false;
	return true;
}

static void alloc(struct mem_backing *b, const char *spec)
{
	struct mem_opts m;
	char err[256];

	if (mem_opts_parse(spec, &m, err, sizeof(err)))
		fail_msg("'%s': %s", spec, err);
	if (mem_backing_alloc(&m, m.size, NULL, b, err, sizeof(err)))
		fail_msg("'%s': %s", spec, err);
}

/* Fill the whole backing, discard [off, off + len) and check the range
 * left memory and reads as zeroes while the rest kept its bytes. */
static void fill_discard_check(struct mem_backing *b, uint64_t off, uint64_t len)
{
	uint64_t pages = b->size / K4;

	memset(b->hva, 0xa5, b->size);
	assert_int_equal(resident(b->hva, b->size), pages);
	assert_int_equal(mem_discard(b, off, len), 0);
	/* residency first: reading a page back faults it in again */
	assert_int_equal(resident(b->hva, b->size), pages - len / K4);
	assert_int_equal(resident(b->hva + off, len), 0);
	assert_true(all(b->hva, off, 0xa5));
	assert_true(all(b->hva + off, len, 0));
	assert_true(all(b->hva + off + len, b->size - off - len, 0xa5));
}

/* ---- anonymous ---------------------------------------------------------- */

static void test_anon_private(void **state)
{
	struct mem_backing b;
	(void)state;

	alloc(&b, "size=4M");
	assert_int_equal(b.mmap_flags & MAP_TYPE, MAP_PRIVATE);
	fill_discard_check(&b, 8 * K4, 16 * K4);
	/* the discarded range is usable again */
	b.hva[8 * K4] = 1;
	assert_int_equal(resident(b.hva + 8 * K4, K4), 1);
	mem_backing_release(&b);
}

static void test_anon_shared(void **state)
{
	struct mem_backing b;
	(void)state;

	/* shmem: MADV_DONTNEED would leave the pages in memory */
	alloc(&b, "size=4M,shared=on");
	assert_int_equal(b.mmap_flags & MAP_TYPE, MAP_SHARED);
	assert_int_equal(b.fd, -1);
	fill_discard_check(&b, 0, 1 << 20);
	mem_backing_release(&b);
}

/* ---- memfd -------------------------------------------------------------- */

static void test_memfd_shared(void **state)
{
	struct mem_backing b;
	struct stat st;
	blkcnt_t before;
	uint8_t c = 0xee;
	(void)state;

	alloc(&b, "size=4M,backend=memfd");
	assert_true(b.fd >= 0);
	assert_int_equal(b.mmap_flags & MAP_TYPE, MAP_SHARED);
	memset(b.hva, 0xa5, b.size);
	assert_int_equal(fstat(b.fd, &st), 0);
	before = st.st_blocks;
	assert_int_equal(mem_discard(&b, 1 << 20, 1 << 20), 0);
	/* the file gave its pages up (512-byte blocks) and kept its size */
	assert_int_equal(fstat(b.fd, &st), 0);
	assert_int_equal(st.st_size, 4 << 20);
	assert_int_equal(before - st.st_blocks, (1 << 20) / 512);
	assert_int_equal(resident(b.hva, b.size), (3 << 20) / K4);
	assert_int_equal(pread(b.fd, &c, 1, (1 << 20) + 100), 1);
	assert_int_equal(c, 0);
	assert_true(all(b.hva + (1 << 20), 1 << 20, 0));
	assert_true(all(b.hva, 1 << 20, 0xa5));
	assert_true(all(b.hva + (2 << 20), 2 << 20, 0xa5));
	mem_backing_release(&b);
}

/* A private mapping of a memfd: the file's pages and the private copies
 * written over them both go. */
static void test_memfd_private(void **state)
{
	struct mem_backing b;
	uint8_t file[2 * 4096];
	(void)state;

	alloc(&b, "size=4M,backend=memfd,shared=off");
	assert_int_equal(b.mmap_flags & MAP_TYPE, MAP_PRIVATE);
	memset(file, 'F', sizeof(file));
	/* pages 0-1 of the file hold 'F'; the mapping writes 'G' over page 1
	 * (a private copy) and page 2 (a private copy of a hole) */
	assert_int_equal(pwrite(b.fd, file, sizeof(file), 0), (ssize_t)sizeof(file));
	assert_int_equal(b.hva[0], 'F');
	memset(b.hva + K4, 'G', 2 * K4);
	assert_int_equal(mem_discard(&b, 0, 4 * K4), 0);
	assert_int_equal(resident(b.hva, 4 * K4), 0);
	assert_true(all(b.hva, 4 * K4, 0));
	assert_int_equal(pread(b.fd, file, sizeof(file), 0), (ssize_t)sizeof(file));
	assert_true(all(file, sizeof(file), 0));
	mem_backing_release(&b);
}

/* ---- checks and failures ------------------------------------------------ */

static void test_refusals(void **state)
{
	struct mem_backing b, r;
	(void)state;

	alloc(&b, "size=4M");
	memset(b.hva, 0xa5, b.size);
	assert_int_equal(mem_discard(&b, 100, K4), -EINVAL);
	assert_int_equal(mem_discard(&b, K4, 100), -EINVAL);
	assert_int_equal(mem_discard(&b, K4, 0), -EINVAL);
	assert_int_equal(mem_discard(&b, b.size - K4, 2 * K4), -EINVAL); /* past the end */
	assert_int_equal(mem_discard(&b, b.size, K4), -EINVAL);
	assert_int_equal(mem_discard(&b, UINT64_MAX - K4 + 1, 2 * K4), -EINVAL); /* wraps */
	r = b;
	r.page_size = 0;
	assert_int_equal(mem_discard(&r, 0, K4), -EINVAL);
	r.page_size = 3 * K4;
	assert_int_equal(mem_discard(&r, 0, 3 * K4), -EINVAL);
	/* a huge page size: 4 KiB granularity is refused */
	r.page_size = M2;
	assert_int_equal(mem_discard(&r, K4, M2), -EINVAL);
	assert_int_equal(mem_discard(&r, 0, K4), -EINVAL);
	r = b;
	r.hva = NULL;
	assert_int_equal(mem_discard(&r, 0, K4), -EINVAL);
	/* nothing was discarded by any of them */
	assert_int_equal(resident(b.hva, b.size), b.size / K4);
	assert_true(all(b.hva, b.size, 0xa5));
	mem_backing_release(&b);
	assert_int_equal(mem_discard(&b, 0, K4), -EINVAL); /* released */
}

/* A file that cannot punch holes: the errno comes back. */
static void test_fallocate_error(void **state)
{
	struct mem_backing b;
	int fds[2];
	(void)state;

	alloc(&b, "size=2M");
	assert_int_equal(pipe(fds), 0);
	b.fd = fds[0]; /* not a regular file */
	b.mmap_flags = MAP_SHARED;
	assert_true(mem_discard(&b, 0, K4) < 0);
	b.fd = -1;
	close(fds[0]);
	close(fds[1]);
	mem_backing_release(&b);
}

/* The balloon callback: region i is backing i. */
static void test_region_callback(void **state)
{
	struct mem_backing b[2];
	(void)state;

	alloc(&b[0], "size=2M");
	alloc(&b[1], "size=2M,backend=memfd");
	memset(b[0].hva, 1, b[0].size);
	memset(b[1].hva, 2, b[1].size);
	assert_int_equal(mem_discard_region(b, 1, 4 * K4, 2 * K4), 0);
	assert_int_equal(resident(b[0].hva, b[0].size), b[0].size / K4);
	assert_int_equal(resident(b[1].hva, b[1].size), b[1].size / K4 - 2);
	assert_int_equal(resident(b[1].hva + 4 * K4, 2 * K4), 0);
	assert_int_equal(mem_discard_region(b, 0, 0, 100), -EINVAL);
	mem_backing_release(&b[0]);
	mem_backing_release(&b[1]);
}

/* The balloon over real memory: a 4 KiB page leaves as soon as it is
 * inflated. */
static void test_balloon_over_anon(void **state)
{
	struct mem_backing b;
	struct balloon_pages bp;
	struct balloon_region r;
	uint32_t pfns[] = {0x100, 0x101, 0x180};
	(void)state;

	alloc(&b, "size=4M");
	r = (struct balloon_region){0x100000, b.size, b.page_size}; /* guest RAM at 1 MiB */
	assert_int_equal(balloon_pages_init(&bp, &r, 1, mem_discard_region, &b), 0);
	memset(b.hva, 0xa5, b.size);
	assert_int_equal(balloon_pages_inflate(&bp, pfns, 3), 3);
	assert_int_equal(resident(b.hva, b.size), b.size / K4 - 3);
	assert_int_equal(resident(b.hva, 2 * K4), 0);	      /* gpa 1 MiB: offset 0 */
	assert_int_equal(resident(b.hva + 0x80 * K4, K4), 0); /* pfn 0x180 */
	balloon_pages_destroy(&bp);
	mem_backing_release(&b);
}

/* ---- hugetlb ------------------------------------------------------------ */

/* Whether the host can give us n hugepages of size ps; says why not. */
static bool hugepages(uint64_t ps, uint64_t n)
{
	uint64_t avail = 0, nr = 0;
	int r = mem_hugepages_available(NULL, ps, &avail, &nr);

	if (r == 0 && avail >= n)
		return true;
	if (r)
		print_message("skipping: no %llu KiB hugepage pool on this host (%s)\n",
			      (unsigned long long)(ps >> 10), strerror(-r));
	else
		print_message("skipping: %llu free %llu KiB hugepages (pool of %llu), %llu needed; "
			      "reserve them in /proc/sys/vm/nr_hugepages or "
			      "/sys/kernel/mm/hugepages\n",
			      (unsigned long long)avail, (unsigned long long)(ps >> 10),
			      (unsigned long long)nr, (unsigned long long)n);
	return false;
}

static void hugetlb_case(const char *spec, uint64_t ps)
{
	struct mem_backing b;
	uint64_t pages;

	alloc(&b, spec);
	assert_int_equal(b.page_size, ps);
	pages = b.size / K4;
	memset(b.hva, 0xa5, b.size);
	assert_int_equal(resident(b.hva, b.size), pages);
	/* only whole huge pages */
	assert_int_equal(mem_discard(&b, K4, ps), -EINVAL);
	assert_int_equal(mem_discard(&b, 0, ps / 2), -EINVAL);
	assert_int_equal(mem_discard(&b, ps, ps), 0);
	assert_int_equal(resident(b.hva, b.size), pages - ps / K4);
	assert_true(all(b.hva + ps, ps, 0));
	assert_true(all(b.hva, ps, 0xa5));
	mem_backing_release(&b);
}

static void test_hugetlb_2m(void **state)
{
	(void)state;
	if (!hugepages(M2, 2))
		skip();
	hugetlb_case("size=4M,backend=memfd,hugepage-size=2M", M2);
	hugetlb_case("size=4M,backend=memfd,hugepage-size=2M,shared=off", M2);
}

static void test_hugetlb_1g(void **state)
{
	(void)state;
	if (!hugepages(G1, 2))
		skip();
	hugetlb_case("size=2G,backend=memfd,hugepage-size=1G", G1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_anon_private),    cmocka_unit_test(test_anon_shared),
	    cmocka_unit_test(test_memfd_shared),    cmocka_unit_test(test_memfd_private),
	    cmocka_unit_test(test_refusals),	    cmocka_unit_test(test_fallocate_error),
	    cmocka_unit_test(test_region_callback), cmocka_unit_test(test_balloon_over_anon),
	    cmocka_unit_test(test_hugetlb_2m),	    cmocka_unit_test(test_hugetlb_1g),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
