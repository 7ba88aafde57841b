/* mem_backing without KVM: anon and memfd mappings, prealloc, release;
 * hugepage and NUMA refusals against fake sysfs trees under /tmp. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mempolicy.h>
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

#include "mem/backend.h"

#define M2 (2ull << 20)
#define G1 (1ull << 30)

/* Resident pages of [p, p + len) by mincore. */
static uint64_t resident(void *p, uint64_t len)
{
	size_t pages = (size_t)(len / 4096);
	unsigned char *v = calloc(pages, 1);
	uint64_t n = 0;

	assert_non_null(v);
	assert_int_equal(mincore(p, len, v), 0);
	for (size_t i = 0; i < pages; i++)
		n += v[i] & 1;
	free(v);
	return n;
}

static bool unmapped(void *p, uint64_t len)
{
	unsigned char v[1];

	return mincore(p, 4096, v) == -1 && errno == ENOMEM && len;
}

/* The permissions ("rw-p", "---p", ...) of the mapping holding addr in
 * /proc/self/maps, or "" when nothing is mapped there. */
static void maps_perms(uintptr_t addr, char perms[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];

	assert_non_null(f);
	perms[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char p[5];

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && addr >= lo && addr < hi) {
			memcpy(perms, p, 5);
			break;
		}
	}
	fclose(f);
}

static void opts(struct mem_opts *m, const char *s)
{
	char err[256];

	if (mem_opts_parse(s, m, err, sizeof(err)))
		fail_msg("'%s': %s", s, err);
}

static void test_anon(void **state)
{
	struct mem_opts m;
	struct mem_backing b;
	char err[256];
	void *p;
	(void)state;

	opts(&m, "size=8M");
	assert_int_equal(mem_backing_alloc(&m, m.size, NULL, &b, err, sizeof(err)), 0);
	assert_non_null(b.hva);
	assert_int_equal(b.size, 8 << 20);
	assert_int_equal(b.page_size, 4096);
	assert_int_equal(b.fd, -1);
	assert_int_equal(b.backend, MEM_BACKEND_ANON);
	assert_int_equal(b.mmap_flags, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
	/* 2M-aligned, so THP can back whole guest 2M frames */
	assert_int_equal((uintptr_t)b.hva % M2, 0);
	assert_false(b.prealloc);
	assert_int_equal(resident(b.hva, b.size), 0);
	b.hva[0] = 1;
	b.hva[b.size - 1] = 2;
	assert_int_equal(resident(b.hva, b.size), 2);
	p = b.hva;
	mem_backing_release(&b);
	assert_null(b.hva);
	assert_true(unmapped(p, 4096));
	mem_backing_release(&b); /* twice is harmless */

	opts(&m, "size=8M,prealloc=on,shared=on");
	assert_int_equal(mem_backing_alloc(&m, m.size, NULL, &b, err, sizeof(err)), 0);
	assert_int_equal(b.mmap_flags, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE);
	assert_true(b.prealloc);
	assert_true(b.prealloc_ns > 0);
	assert_int_equal(resident(b.hva, b.size), b.size / 4096);
	mem_backing_release(&b);
}

/* The aligned mapping gives back the address space it reserved to find
 * an aligned start: no PROT_NONE remnant right before or after it. */
static void test_alignment_leaves_no_reservation(void **state)
{
	static const char *const cases[] = {"size=6M", "size=2M", "size=10M,backend=memfd",
					    "size=3M"};
	struct mem_opts m;
	struct mem_backing b;
	char err[256], perms[5];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		opts(&m, cases[i]);
		assert_int_equal(mem_backing_alloc(&m, m.size, NULL, &b, err, sizeof(err)), 0);
		assert_int_equal((uintptr_t)b.hva % M2, 0);
		maps_perms((uintptr_t)b.hva, perms);
		assert_string_equal(perms, b.mmap_flags & MAP_SHARED ? "rw-s" : "rw-p");
		maps_perms((uintptr_t)b.hva - 1, perms);
		assert_string_not_equal(perms, "---p");
		maps_perms((uintptr_t)b.hva + b.size, perms);
		assert_string_not_equal(perms, "---p");
		mem_backing_release(&b);
	}
}

static void test_memfd(void **state)
{
	struct mem_opts m;
	struct mem_backing b;
	struct stat st;
	char err[256], c = 0;
	int fd;
	(void)state;

	opts(&m, "size=4M,backend=memfd");
	assert_int_equal(mem_backing_alloc(&m, m.size, NULL, &b, err, sizeof(err)), 0);
	assert_true(b.fd >= 0);
	assert_int_equal(b.mmap_flags, MAP_SHARED | MAP_NORESERVE);
	assert_int_equal((uintptr_t)b.hva % M2, 0);
	assert_int_equal(fstat(b.fd, &st), 0);
	assert_int_equal(st.st_size, 4 << 20);
	assert_true(fcntl(b.fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(resident(b.hva, b.size), 0);
	b.hva[12345] = 'x'; /* the guest's writes are in the file */
	assert_int_equal(pread(b.fd, &c, 1, 12345), 1);
	assert_int_equal(c, 'x');
	fd = b.fd;
	mem_backing_release(&b);
	assert_int_equal(b.fd, -1);
	assert_int_equal(fcntl(fd, F_GETFD), -1);

	opts(&m, "size=4M,backend=memfd,prealloc=on");
	assert_int_equal(mem_backing_alloc(&m, m.size, NULL, &b, err, sizeof(err)), 0);
	assert_true(b.prealloc);
	assert_int_equal(resident(b.hva, b.size), b.size / 4096);
	mem_backing_release(&b);

	/* private mapping of the file when asked */
	opts(&m, "size=4M,backend=memfd,shared=off");
	assert_int_equal(mem_backing_alloc(&m, m.size, NULL, &b, err, sizeof(err)), 0);
	assert_int_equal(b.mmap_flags, MAP_PRIVATE | MAP_NORESERVE);
	mem_backing_release(&b);
}

static void test_prealloc_threads(void **state)
{
	const uint64_t len = 16ull << 20;
	char err[256];
	uint8_t *p;
	(void)state;

	/* one thread below 1 GiB, four from there */
	assert_int_equal(mem_prealloc_threads(8ull << 20), 1);
	assert_int_equal(mem_prealloc_threads(G1 - 4096), 1);
	assert_int_equal(mem_prealloc_threads(G1), MEM_PREALLOC_MAX_THREADS);
	assert_int_equal(mem_prealloc_threads(64 * G1), 4);

	/* slices of whole pages, the remainder spread, every page touched */
	for (unsigned int n = 1; n <= 6; n++) {
		uint64_t size = len - (n % 3) * 4096; /* not always divisible */

		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		assert_true(p != MAP_FAILED);
		madvise(p, len, MADV_NOHUGEPAGE);
		assert_int_equal(mem_populate(p, size, 4096, n, err, sizeof(err)), 0);
		assert_int_equal(resident(p, len), size / 4096);
		munmap(p, len);
	}
	/* more threads than pages */
	p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(mem_populate(p, 3 * 4096, 4096, 4, err, sizeof(err)), 0);
	assert_int_equal(resident(p, 3 * 4096), 3);
	munmap(p, 3 * 4096);
	/* a bad geometry is refused, not guessed */
	assert_int_equal(mem_populate(p, 4097, 4096, 2, err, sizeof(err)), -EINVAL);
	assert_int_equal(mem_populate(p, 4096, 4096, 0, err, sizeof(err)), -EINVAL);
	/* a slice that cannot be populated (a hole in the range) fails the
	 * whole, after every thread is joined */
	p = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	munmap(p + 6 * 4096, 4096);
	assert_int_equal(mem_populate(p, 8 * 4096, 4096, 4, err, sizeof(err)), -ENOMEM);
	assert_non_null(strstr(err, "--memory: prealloc of 32768 bytes failed"));
	assert_int_equal(resident(p, 4 * 4096), 4); /* the other slices were done */
	munmap(p, 8 * 4096);
}

static void test_region_sizes(void **state)
{
	struct mem_opts m;
	struct mem_backing b;
	char err[256];
	(void)state;

	opts(&m, "size=8M");
	/* one backing per layout region: any page multiple */
	assert_int_equal(mem_backing_alloc(&m, 4096, NULL, &b, err, sizeof(err)), 0);
	mem_backing_release(&b);
	assert_int_equal(mem_backing_alloc(&m, 4097, NULL, &b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--memory"));
	assert_null(b.hva);
	assert_int_equal(b.fd, -1);
	assert_int_equal(mem_backing_alloc(&m, 0, NULL, &b, err, sizeof(err)), -EINVAL);
}

static void test_tuning(void **state)
{
	struct mem_opts m;
	struct mem_backing b;
	char err[256];
	int r;
	(void)state;

	/* THP and KSM need kernel support: refusals must still be clean */
	opts(&m, "size=8M,thp=on");
	r = mem_backing_alloc(&m, m.size, NULL, &b, err, sizeof(err));
	if (r == 0) {
		assert_int_equal(b.madv_thp, MADV_HUGEPAGE);
		mem_backing_release(&b);
	} else {
		assert_non_null(strstr(err, "thp"));
		assert_null(b.hva);
	}
	opts(&m, "size=8M,backend=memfd,thp=off,merge=on");
	r = mem_backing_alloc(&m, m.size, NULL, &b, err, sizeof(err));
	if (r == 0) {
		assert_int_equal(b.madv_thp, MADV_NOHUGEPAGE);
		assert_true(b.mergeable);
		mem_backing_release(&b);
	} else {
		assert_non_null(strstr(err, "--memory"));
		assert_null(b.hva);
		assert_int_equal(b.fd, -1);
	}
}

/* A fake sysfs root with a hugepage pool and NUMA nodes. */
static char root[64];

static void put(const char *rel, const char *text)
{
	fake_root_put(root, rel, text, NULL, 0);
}

static int setup_root(void **state)
{
	(void)state;
	if (fake_root_make(root, sizeof(root), "backend"))
		return -1;
	put("kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0\n");
	put("kernel/mm/hugepages/hugepages-2048kB/resv_hugepages", "0\n");
	put("kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "0\n");
	put("devices/system/node/online", "0\n");
	put("mounts", "sysfs /sys sysfs rw 0 0\n"
		      "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n"
		      "none /mnt/huge\\0401G hugetlbfs rw,pagesize=1024M 0 0\n");
	return 0;
}

static int teardown_root(void **state)
{
	(void)state;
	return fake_root_remove(root);
}

static void refuse_alloc(const char *o, struct mem_host *h, int e, const char *needle)
{
	struct mem_opts m;
	struct mem_backing b;
	char err[256];

	opts(&m, o);
	assert_int_equal(mem_backing_alloc(&m, m.size, h, &b, err, sizeof(err)), e);
	if (!strstr(err, needle) || !strstr(err, "--memory"))
		fail_msg("'%s': message '%s' does not name '%s'", o, err, needle);
	assert_null(strchr(err, '\n'));
	assert_null(b.hva);
	assert_int_equal(b.fd, -1);
}

static void test_hugepage_shortage(void **state)
{
	struct mem_host h = {.sysfs = root, .mounts = "/nonexistent"};
	uint64_t avail, nr;
	(void)state;

	refuse_alloc("size=512M,backend=memfd,hugepage-size=2M", &h, -ENOMEM,
		     "needs 256 free 2M hugepages, only 0 free (reserve them with: echo 256 > "
		     "/proc/sys/vm/nr_hugepages)");
	refuse_alloc("size=8M,backend=hugetlbfs", &h, -ENOMEM, "needs 4 free 2M hugepages");
	refuse_alloc("size=8M,backend=hugetlbfs,prealloc=on", &h, -ENOMEM, "only 0 free");
	/* free pages already reserved by other mappings do not count */
	put("kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "10\n");
	put("kernel/mm/hugepages/hugepages-2048kB/resv_hugepages", "8\n");
	put("kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "12\n");
	assert_int_equal(mem_hugepages_available(root, M2, &avail, &nr), 0);
	assert_int_equal(avail, 2);
	assert_int_equal(nr, 12);
	refuse_alloc("size=8M,backend=memfd,hugepage-size=2M", &h, -ENOMEM,
		     "needs 4 free 2M hugepages, only 2 free (reserve them with: echo 14 >");
	/* no 1G pool on this (fake) host */
	assert_int_equal(mem_hugepages_available(root, G1, &avail, NULL), -ENOENT);
	refuse_alloc("size=1G,backend=memfd,hugepage-size=1G", &h, -EINVAL, "no 1G hugepage");
	/* enough free: the hugetlbfs lookup comes next (no mount table here) */
	put("kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "100\n");
	put("kernel/mm/hugepages/hugepages-2048kB/resv_hugepages", "0\n");
	refuse_alloc("size=8M,backend=hugetlbfs", &h, -ENOENT, "mount table");
	put("kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "garbage\n");
	refuse_alloc("size=8M,backend=hugetlbfs", &h, -EIO, "hugepage count");
	put("kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0\n");
}

static void test_hugetlbfs_mounts(void **state)
{
	char mounts[128], dir[64];
	struct mem_host h = {.sysfs = root, .mounts = mounts};
	(void)state;

	snprintf(mounts, sizeof(mounts), "%s/mounts", root);
	assert_int_equal(mem_hugetlbfs_find(mounts, M2, dir, sizeof(dir)), 0);
	assert_string_equal(dir, "/dev/hugepages");
	assert_int_equal(mem_hugetlbfs_find(mounts, G1, dir, sizeof(dir)), 0);
	assert_string_equal(dir, "/mnt/huge 1G");
	assert_int_equal(mem_hugetlbfs_find(mounts, 4096, dir, sizeof(dir)), -ENODEV);
	assert_int_equal(mem_hugetlbfs_find(mounts, M2, dir, 8), -ENAMETOOLONG);
	assert_int_equal(mem_hugetlbfs_find("/nonexistent", M2, dir, sizeof(dir)), -ENOENT);
	/* a mount without pagesize= is the default 2M */
	put("mounts2", "nodev /hp hugetlbfs rw 0 0\n");
	snprintf(mounts, sizeof(mounts), "%s/mounts2", root);
	assert_int_equal(mem_hugetlbfs_find(mounts, M2, dir, sizeof(dir)), 0);
	assert_string_equal(dir, "/hp");
	/* no hugetlbfs mount for the size: say how to make one */
	put("kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "100\n");
	put("mounts3", "proc /proc proc rw 0 0\n");
	snprintf(mounts, sizeof(mounts), "%s/mounts3", root);
	refuse_alloc("size=8M,backend=hugetlbfs", &h, -EINVAL, "mount -t hugetlbfs");
	/* path= that is not a hugetlbfs */
	refuse_alloc("size=8M,backend=hugetlbfs,path=/tmp", &h, -EINVAL, "not a hugetlbfs");
	refuse_alloc("size=8M,backend=hugetlbfs,path=/nonexistent", &h, -ENOENT, "/nonexistent");
	put("kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0\n");
}

static void test_numa(void **state)
{
	struct mem_host h = {.sysfs = root};
	struct mem_opts m;
	struct mem_backing b;
	char err[256];
	int r;
	(void)state;

	assert_int_equal(mem_nodes_check(root, 1, err, sizeof(err)), 0);
	assert_int_equal(mem_nodes_check(root, 2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "host-nodes: node 1 is not online (online: 0)"));
	refuse_alloc("size=8M,policy=bind,host-nodes=0-1", &h, -EINVAL, "node 1 is not online");
	refuse_alloc("size=8M,backend=memfd,policy=interleave,host-nodes=3", &h, -EINVAL, "node 3");
	put("devices/system/node/online", "zero\n");
	refuse_alloc("size=8M,policy=bind,host-nodes=0", &h, -EINVAL, "cannot parse");
	put("devices/system/node/online", "0\n");

	/* binding to node 0 of the real host, then touching: pages follow */
	opts(&m, "size=8M,policy=bind,host-nodes=0,prealloc=on");
	r = mem_backing_alloc(&m, m.size, NULL, &b, err, sizeof(err));
	if (r == -ENOSYS) /* kernel without NUMA */
		return;
	if (r)
		fail_msg("%s", err);
	assert_int_equal(b.mpol_mode, MPOL_BIND);
	assert_int_equal(b.nodes, 1);
	assert_true(b.prealloc);
	mem_backing_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_anon),
	    cmocka_unit_test(test_memfd),
	    cmocka_unit_test(test_prealloc_threads),
	    cmocka_unit_test(test_region_sizes),
	    cmocka_unit_test(test_tuning),
	    cmocka_unit_test(test_alignment_leaves_no_reservation),
	    cmocka_unit_test(test_hugepage_shortage),
	    cmocka_unit_test(test_hugetlbfs_mounts),
	    cmocka_unit_test(test_numa),
	};
	return cmocka_run_group_tests(tests, setup_root, teardown_root);
}
