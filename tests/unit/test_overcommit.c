/* Overcommit check of --memory against a fake /proc/meminfo and a fake
 * sysfs hugepage pool under /tmp. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_root.h"

#include "mem/overcommit.h"

/* The fake host: a root directory holding meminfo and a sysfs tree. */
struct fake {
	char root[64];
	char meminfo[96];
};

static void put(const struct fake *fk, const char *rel, const char *text)
{
	fake_root_put(fk->root, rel, text, NULL, 0);
}

/* meminfo with MemAvailable of kb kB. */
static void avail_kb(const struct fake *fk, unsigned long long kb)
{
	char text[256];

	snprintf(text, sizeof(text),
		 "MemTotal:       16000000 kB\nMemFree:         1000000 kB\n"
		 "MemAvailable:   %llu kB\nBuffers:          100000 kB\n",
		 kb);
	put(fk, "meminfo", text);
}

static void hugepages(const struct fake *fk, const char *free_, const char *resv)
{
	put(fk, "kernel/mm/hugepages/hugepages-2048kB/free_hugepages", free_);
	put(fk, "kernel/mm/hugepages/hugepages-2048kB/resv_hugepages", resv);
	put(fk, "kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "300\n");
}

static int setup(void **state)
{
	struct fake *fk = calloc(1, sizeof(*fk));

	if (!fk)
		return -1;
	if (fake_root_make(fk->root, sizeof(fk->root), "overcommit")) {
		free(fk);
		return -1;
	}
	snprintf(fk->meminfo, sizeof(fk->meminfo), "%s/meminfo", fk->root);
	avail_kb(fk, 3ull << 20); /* 3G */
	hugepages(fk, "0\n", "0\n");
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

/* Parse o and run the check on the fake host. */
static int check(const struct fake *fk, const char *o, char *msg, size_t len)
{
	struct mem_opts m;
	char err[256];

	if (mem_opts_parse(o, &m, err, sizeof(err)))
		fail_msg("'%s': %s", o, err);
	memset(msg, 'x', len); /* must be overwritten */
	return mem_overcommit_check(&m, fk->meminfo, fk->root, msg, len);
}

static void test_mem_available(void **state)
{
	struct fake *fk = *state;
	uint64_t v = 0;
	char path[128];

	assert_int_equal(mem_host_available(fk->meminfo, &v), 0);
	assert_int_equal(v, 3ull << 30);
	/* the real host has the line */
	assert_int_equal(mem_host_available(NULL, &v), 0);
	assert_true(v > 0);
	assert_int_equal(mem_host_available("/nonexistent/meminfo", &v), -ENOENT);
	/* old kernels (before 3.14) have no MemAvailable */
	put(fk, "old", "MemTotal: 1000 kB\nMemFree: 500 kB\n");
	snprintf(path, sizeof(path), "%s/old", fk->root);
	assert_int_equal(mem_host_available(path, &v), -ENODATA);
	put(fk, "bad", "MemAvailable: lots\n");
	snprintf(path, sizeof(path), "%s/bad", fk->root);
	assert_int_equal(mem_host_available(path, &v), -ENODATA);
	put(fk, "unit", "MemAvailable: 12 MB\n");
	snprintf(path, sizeof(path), "%s/unit", fk->root);
	assert_int_equal(mem_host_available(path, &v), -ENODATA);
}

static void test_fits(void **state)
{
	struct fake *fk = *state;
	char msg[256];

	assert_int_equal(check(fk, "2G", msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_int_equal(check(fk, "size=3G,prealloc=on", msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_int_equal(check(fk, "size=1G,backend=memfd,prealloc=on", msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
}

static void test_warn(void **state)
{
	struct fake *fk = *state;
	char msg[256];

	/* anon and memfd without prealloc: only a warning */
	assert_int_equal(check(fk, "6G", msg, sizeof(msg)), 0);
	assert_string_equal(msg, "--memory: 6G of guest RAM but only 3G available on the host; "
				 "the guest may be killed or swap");
	assert_int_equal(check(fk, "size=4G,backend=memfd,merge=on", msg, sizeof(msg)), 0);
	assert_string_equal(msg, "--memory: 4G of guest RAM but only 3G available on the host; "
				 "the guest may be killed or swap");
	/* not whole units */
	avail_kb(fk, 1536 * 1024 + 512); /* 1.5G and a bit */
	assert_int_equal(check(fk, "2560M", msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "2.5G of guest RAM but only 1.5G available"));
	avail_kb(fk, 21ull * 1024 * 1024 - 30000); /* 20.97G */
	assert_int_equal(check(fk, "64G", msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "64G of guest RAM but only 21G available"));
	avail_kb(fk, 300 * 1024);
	assert_int_equal(check(fk, "512M", msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "512M of guest RAM but only 300M available"));
	avail_kb(fk, 3ull << 20);
	/* a short buffer truncates, never overflows */
	assert_int_equal(check(fk, "6G", msg, 10), 0);
	assert_string_equal(msg, "--memory:");
}

static void test_refuse(void **state)
{
	struct fake *fk = *state;
	char msg[256];

	assert_int_equal(check(fk, "size=6G,prealloc=on", msg, sizeof(msg)), -ENOMEM);
	assert_string_equal(msg, "--memory: prealloc=on needs 6G of guest RAM but only 3G is "
				 "available on the host");
	assert_int_equal(check(fk, "size=4G,backend=memfd,prealloc=on", msg, sizeof(msg)), -ENOMEM);
	assert_non_null(strstr(msg, "needs 4G of guest RAM but only 3G"));
}

static void test_hugepages(void **state)
{
	struct fake *fk = *state;
	char msg[256];

	/* hugetlb pages are counted against the pool, not MemAvailable,
	 * prealloc or not, over the whole of RAM (every region) */
	hugepages(fk, "100\n", "0\n");
	assert_int_equal(check(fk, "size=6G,backend=memfd,hugepage-size=2M", msg, sizeof(msg)),
			 -ENOMEM);
	assert_string_equal(msg, "--memory: needs 3072 free 2M hugepages, only 100 free (reserve "
				 "them with: echo 3272 > /proc/sys/vm/nr_hugepages)");
	assert_int_equal(check(fk, "size=256M,backend=hugetlbfs,prealloc=on", msg, sizeof(msg)),
			 -ENOMEM);
	assert_non_null(strstr(msg, "needs 128 free 2M hugepages, only 100 free"));
	/* reserved pages are taken */
	hugepages(fk, "200\n", "100\n");
	assert_int_equal(check(fk, "size=256M,backend=hugetlbfs", msg, sizeof(msg)), -ENOMEM);
	hugepages(fk, "228\n", "100\n");
	assert_int_equal(check(fk, "size=256M,backend=hugetlbfs", msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	/* fits in the pool even though MemAvailable is small */
	avail_kb(fk, 1024);
	assert_int_equal(
	    check(fk, "size=256M,backend=memfd,hugepage-size=2M,prealloc=on", msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	avail_kb(fk, 3ull << 20);
	/* no 1G pool, or unreadable counts: left to mem_backing_alloc */
	assert_int_equal(check(fk, "size=2G,backend=memfd,hugepage-size=1G", msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	hugepages(fk, "junk\n", "0\n");
	assert_int_equal(check(fk, "size=8M,backend=hugetlbfs", msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	hugepages(fk, "0\n", "0\n");
}

static void test_unknown_host(void **state)
{
	struct fake *fk = *state;
	struct mem_opts m;
	char msg[256], err[256];

	/* without MemAvailable nothing can be said: no warning, no refusal */
	put(fk, "meminfo", "MemTotal: 1000 kB\n");
	assert_int_equal(check(fk, "size=6G,prealloc=on", msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_int_equal(mem_opts_parse("size=6G,prealloc=on", &m, err, sizeof(err)), 0);
	assert_int_equal(mem_overcommit_check(&m, "/nonexistent", fk->root, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	avail_kb(fk, 3ull << 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mem_available), cmocka_unit_test(test_fits),
	    cmocka_unit_test(test_warn),	  cmocka_unit_test(test_refuse),
	    cmocka_unit_test(test_hugepages),	  cmocka_unit_test(test_unknown_host),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
