/* smaps and KSM parsing for --stats: fake files under /tmp, and the real
 * /proc/self/smaps for a mapping of our own. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_root.h"

#include "mem/host_stats.h"

#define KB 1024ull

/* The fake host root: smaps files and a sysfs tree. */
struct fake {
	char root[64];
};

/* Write text to root/rel, creating directories; the full path in path. */
static void put(const struct fake *fk, const char *rel, const char *text, char *path, size_t len)
{
	fake_root_put(fk->root, rel, text, path, len);
}

static int setup(void **state)
{
	struct fake *fk = calloc(1, sizeof(*fk));

	if (!fk)
		return -1;
	if (fake_root_make(fk->root, sizeof(fk->root), "host-stats")) {
		free(fk);
		return -1;
	}
	*state = fk;
	return 0;
}

static int teardown(void **state)
{
	struct fake *fk = *state;
	int r = fake_root_remove(fk->root);

	free(fk);
	return r;
}

/* One VMA of smaps (a subset of the kernel's fields, in its order). */
#define VMA(range, name, rss, anon_huge, shared_h, private_h)                                      \
	range " rw-p 00000000 00:00 0      " name "\n"                                             \
	      "Size:             524288 kB\n"                                                      \
	      "KernelPageSize:        4 kB\n"                                                      \
	      "Rss:          " rss " kB\n"                                                         \
	      "Pss:          " rss " kB\n"                                                         \
	      "Anonymous:    " rss " kB\n"                                                         \
	      "AnonHugePages:  " anon_huge " kB\n"                                                 \
	      "ShmemPmdMapped:        0 kB\n"                                                      \
	      "FilePmdMapped:         0 kB\n"                                                      \
	      "Shared_Hugetlb:  " shared_h " kB\n"                                                 \
	      "Private_Hugetlb: " private_h " kB\n"                                                \
	      "Swap:                  0 kB\n"                                                      \
	      "Locked:                0 kB\n"                                                      \
	      "THPeligible:    1\n"                                                                \
	      "VmFlags: rd wr mr mw me ac sd hg\n"

static void test_smaps_fake(void **state)
{
	struct fake *fk = *state;
	struct mem_rss r;
	char path[256];

	put(fk, "smaps",
	    "55d0c0a00000-55d0c0a21000 r-xp 00000000 08:01 1234    /usr/bin/kvmlab\n"
	    "Size:                132 kB\n"
	    "Rss:                 100 kB\n"
	    "VmFlags: rd ex mr mw me\n"
	    /* the guest RAM: split in two VMAs by a partial madvise */
	    VMA("7f0000000000-7f0010000000", "", "262144", "131072", "0", "0")
		VMA("7f0010000000-7f0020000000", "", "1024", "0", "0", "0")
	    /* a hugetlb mapping: its pages are not in Rss */
	    VMA("7f1000000000-7f1020000000", "/memfd:kvmlab-ram (deleted)", "0", "0", "524288", "0")
		VMA("7ffd00000000-7ffd00021000", "[stack]", "16", "0", "0", "0"),
	    path, sizeof(path));

	assert_int_equal(mem_smaps_rss(path, 0x7f0000000000, 512ull << 20, &r), 0);
	assert_int_equal(r.vmas, 2);
	assert_int_equal(r.rss, (262144 + 1024) * KB);
	assert_int_equal(r.anon_huge, 131072 * KB);
	assert_int_equal(r.hugetlb, 0);
	/* only the first half */
	assert_int_equal(mem_smaps_rss(path, 0x7f0000000000, 256ull << 20, &r), 0);
	assert_int_equal(r.vmas, 1);
	assert_int_equal(r.rss, 262144 * KB);
	/* hugetlb, shared */
	assert_int_equal(mem_smaps_rss(path, 0x7f1000000000, 512ull << 20, &r), 0);
	assert_int_equal(r.vmas, 1);
	assert_int_equal(r.rss, 0);
	assert_int_equal(r.hugetlb, 512ull << 20);
	assert_int_equal(r.hugetlb / (2ull << 20), 256);
	/* nothing mapped there */
	assert_int_equal(mem_smaps_rss(path, 0x7e0000000000, 4096, &r), -ENOENT);
	assert_int_equal(r.rss, 0);
	assert_int_equal(mem_smaps_rss("/nonexistent/smaps", 0x7f0000000000, 4096, &r), -ENOENT);

	/* private hugetlb, and garbage lines are skipped */
	put(fk, "smaps2",
	    VMA("7f1000000000-7f1000400000", "/dev/hugepages/kvmlab-x", "0", "0", "0",
		"4096") "Rss: lots kB\n"
			"AnonHugePages: 12 MB\n",
	    path, sizeof(path));
	assert_int_equal(mem_smaps_rss(path, 0x7f1000000000, 4ull << 20, &r), 0);
	assert_int_equal(r.hugetlb, 4ull << 20);
	assert_int_equal(r.anon_huge, 0);
	assert_int_equal(r.rss, 0);
}

static void test_smaps_self(void **state)
{
	const uint64_t len = 8ull << 20;
	struct mem_rss r;
	uint8_t *p;
	(void)state;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	/* keep THP out so Rss is exactly what was touched */
	madvise(p, len, MADV_NOHUGEPAGE);
	assert_int_equal(mem_smaps_rss(NULL, (uintptr_t)p, len, &r), 0);
	assert_true(r.vmas >= 1);
	assert_int_equal(r.rss, 0);
	memset(p, 1, 3ull << 20);
	assert_int_equal(mem_smaps_rss(NULL, (uintptr_t)p, len, &r), 0);
	assert_int_equal(r.rss, 3ull << 20);
	assert_int_equal(r.anon_huge, 0);
	assert_int_equal(r.hugetlb, 0);
	munmap(p, len);
}

static void test_ksm(void **state)
{
	struct fake *fk = *state;
	uint64_t shared = 1, sharing = 1;
	char path[256];

	assert_int_equal(mem_ksm_read(fk->root, &shared, &sharing), -ENOENT);
	put(fk, "kernel/mm/ksm/pages_shared", "12\n", path, sizeof(path));
	put(fk, "kernel/mm/ksm/pages_sharing", "345\n", path, sizeof(path));
	assert_int_equal(mem_ksm_read(fk->root, &shared, &sharing), 0);
	assert_int_equal(shared, 12);
	assert_int_equal(sharing, 345);
	put(fk, "kernel/mm/ksm/pages_sharing", "many\n", path, sizeof(path));
	assert_int_equal(mem_ksm_read(fk->root, &shared, &sharing), -EIO);
	put(fk, "kernel/mm/ksm/pages_sharing", "", path, sizeof(path));
	assert_int_equal(mem_ksm_read(fk->root, &shared, &sharing), -EIO);
	put(fk, "kernel/mm/ksm/pages_sharing", "7 8\n", path, sizeof(path));
	assert_int_equal(mem_ksm_read(fk->root, &shared, &sharing), -EIO);
	put(fk, "kernel/mm/ksm/pages_sharing", "0", path, sizeof(path));
	assert_int_equal(mem_ksm_read(fk->root, &shared, &sharing), 0);
	assert_int_equal(sharing, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_smaps_fake),
	    cmocka_unit_test(test_smaps_self),
	    cmocka_unit_test(test_ksm),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
