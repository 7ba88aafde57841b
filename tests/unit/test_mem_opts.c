/* --memory option: accepted forms, defaults per backend, every refusal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mem/mem_opts.h"

#define M2 (2ull << 20)
#define G1 (1ull << 30)

static void ok(const char *s, struct mem_opts *m)
{
	char err[256];
	int r = mem_opts_parse(s, m, err, sizeof(err));

	if (r)
		fail_msg("'%s' refused: %s", s, err);
}

static void refuse(const char *s, const char *needle)
{
	struct mem_opts m;
	char err[256];

	assert_int_equal(mem_opts_parse(s, &m, err, sizeof(err)), -EINVAL);
	if (!strstr(err, "--memory"))
		fail_msg("'%s': message '%s' does not name --memory", s, err);
	if (!strstr(err, needle))
		fail_msg("'%s': message '%s' does not name '%s'", s, err, needle);
	assert_null(strchr(err, '\n'));
}

static void test_shorthand(void **state)
{
	struct mem_opts m;
	(void)state;
	ok("512M", &m);
	assert_int_equal(m.size, 512ull << 20);
	assert_int_equal(m.backend, MEM_BACKEND_ANON);
	assert_int_equal(m.hugepage_size, 0);
	assert_false(m.shared);
	assert_false(m.prealloc);
	assert_int_equal(m.thp, MEM_THP_DEFAULT);
	assert_false(m.merge);
	assert_int_equal(m.policy, MEM_POLICY_DEFAULT);
	assert_int_equal(m.host_nodes, 0);
	assert_string_equal(m.warning, "");
	assert_int_equal(mem_opts_page_size(&m), 4096);
	ok("size=2G", &m);
	assert_int_equal(m.size, 2 * G1);
	/* shorthand first, then keys */
	ok("1G,prealloc=on", &m);
	assert_int_equal(m.size, G1);
	assert_true(m.prealloc);
}

static void test_full(void **state)
{
	struct mem_opts m;
	(void)state;
	ok("size=1G,backend=hugetlbfs,hugepage-size=1G,path=/dev/hugepages1G,shared=off,"
	   "prealloc=on,merge=off,host-nodes=0-2,5,policy=bind",
	   &m);
	assert_int_equal(m.size, G1);
	assert_int_equal(m.backend, MEM_BACKEND_HUGETLBFS);
	assert_int_equal(m.hugepage_size, G1);
	assert_string_equal(m.path, "/dev/hugepages1G");
	assert_false(m.shared);
	assert_true(m.prealloc);
	assert_false(m.merge);
	assert_int_equal(m.host_nodes, 0x27);
	assert_int_equal(m.policy, MEM_POLICY_BIND);
	assert_int_equal(mem_opts_page_size(&m), G1);

	ok("size=64M,backend=memfd,thp=on,merge=on,policy=interleave,host-nodes=1:3", &m);
	assert_int_equal(m.backend, MEM_BACKEND_MEMFD);
	assert_int_equal(m.hugepage_size, 0);
	assert_true(m.shared); /* memfd defaults to shared */
	assert_int_equal(m.thp, MEM_THP_ON);
	assert_true(m.merge);
	assert_string_equal(m.warning, "");
	assert_int_equal(m.host_nodes, 0xa);
	assert_int_equal(m.policy, MEM_POLICY_INTERLEAVE);

	ok("size=64M,thp=off,shared=on,policy=preferred,host-nodes=63", &m);
	assert_int_equal(m.thp, MEM_THP_OFF);
	assert_true(m.shared);
	assert_int_equal(m.host_nodes, 1ull << 63);
	assert_int_equal(m.policy, MEM_POLICY_PREFERRED);

	/* host-nodes last: the list runs to the end */
	ok("size=64M,policy=bind,host-nodes=0,2-3", &m);
	assert_int_equal(m.host_nodes, 0xd);
	ok("size=64M,policy=default", &m);
	assert_int_equal(m.policy, MEM_POLICY_DEFAULT);
}

static void test_hugepages(void **state)
{
	struct mem_opts m;
	(void)state;
	/* hugetlbfs without hugepage-size: 2M */
	ok("size=512M,backend=hugetlbfs", &m);
	assert_int_equal(m.hugepage_size, M2);
	assert_true(m.shared);
	assert_string_equal(m.path, "");
	ok("size=512M,backend=memfd,hugepage-size=2M", &m);
	assert_int_equal(m.hugepage_size, M2);
	ok("size=2G,backend=memfd,hugepage-size=1G", &m);
	assert_int_equal(m.hugepage_size, G1);
	ok("size=2G,hugepage-size=1024M,backend=memfd", &m);
	assert_int_equal(m.hugepage_size, G1);
	/* merge with hugetlb pages: allowed, with a warning */
	ok("size=512M,backend=memfd,hugepage-size=2M,merge=on", &m);
	assert_true(m.merge);
	assert_non_null(strstr(m.warning, "merge"));
	assert_null(strchr(m.warning, '\n'));
}

static void test_refusals(void **state)
{
	(void)state;
	refuse("", "empty");
	refuse("lots", "size");
	refuse("1K", "minimum");
	refuse("size=", "size");
	refuse("backend=memfd", "size is missing");
	refuse("size=1G,color=red", "color");
	refuse("size=1G,size=2G", "size");
	refuse("1G,size=2G", "twice");
	refuse("size=1G,thp=on,thp=off", "thp");
	refuse("size=1G,backend=disk", "backend");
	refuse("size=1G,shared=yes", "shared");
	refuse("size=1G,prealloc=1", "prealloc");
	refuse("size=1G,merge=", "merge");
	refuse("size=1G,thp=maybe", "thp");
	refuse("size=1G,policy=random,host-nodes=0", "policy");
	refuse("size=1G,", "empty item");
	refuse("size=1G,,thp=on", "empty item");
	refuse("size=1G,prealloc", "prealloc");
	refuse("size=1G,=on", "unknown key");
	/* page-size multiples */
	refuse("size=4097K", "multiple");
	refuse("size=3M,backend=hugetlbfs", "multiple");
	refuse("size=3G,backend=hugetlbfs,hugepage-size=2M,size=1G", "twice");
	refuse("size=1536M,backend=memfd,hugepage-size=1G", "multiple");
	/* hugepage-size values and backends */
	refuse("size=1G,hugepage-size=4M,backend=memfd", "hugepage-size");
	refuse("size=1G,hugepage-size=4K,backend=memfd", "hugepage-size");
	refuse("size=1G,hugepage-size=2M", "hugepage-size");
	refuse("size=1G,backend=anon,hugepage-size=2M", "hugepage-size");
	refuse("size=1G,path=/dev/hugepages", "path");
	refuse("size=1G,backend=memfd,path=/dev/hugepages", "path");
	/* thp with hugetlb pages */
	refuse("size=1G,backend=hugetlbfs,thp=on", "thp");
	refuse("size=1G,backend=memfd,hugepage-size=2M,thp=off", "thp");
	/* NUMA */
	refuse("size=1G,host-nodes=0", "host-nodes");
	refuse("size=1G,host-nodes=0,policy=default", "host-nodes");
	refuse("size=1G,policy=bind", "host-nodes");
	refuse("size=1G,policy=bind,host-nodes=64", "host-nodes");
	refuse("size=1G,policy=bind,host-nodes=3-1", "host-nodes");
	refuse("size=1G,policy=bind,host-nodes=a", "host-nodes");
	refuse("size=1G,policy=bind,host-nodes=1-", "host-nodes");
	refuse("size=1G,host-nodes=0,x,policy=bind", "host-nodes");
}

static void test_nodelist(void **state)
{
	uint64_t m;
	(void)state;
	assert_int_equal(mem_parse_nodelist("0", &m), 0);
	assert_int_equal(m, 1);
	assert_int_equal(mem_parse_nodelist("0-1\n", &m), 0);
	assert_int_equal(m, 3);
	assert_int_equal(mem_parse_nodelist("0-2,5", &m), 0);
	assert_int_equal(m, 0x27);
	assert_int_equal(mem_parse_nodelist("0-63", &m), 0);
	assert_int_equal(m, UINT64_MAX);
	assert_int_equal(mem_parse_nodelist("", &m), -EINVAL);
	assert_int_equal(mem_parse_nodelist(",", &m), -EINVAL);
	assert_int_equal(mem_parse_nodelist("1,", &m), -EINVAL);
	assert_int_equal(mem_parse_nodelist("1 ", &m), -EINVAL);
	assert_int_equal(mem_parse_nodelist("-1", &m), -EINVAL);
	assert_int_equal(mem_parse_nodelist("64", &m), -ERANGE);
	assert_int_equal(mem_parse_nodelist("99999999999", &m), -ERANGE);
	assert_int_equal(mem_parse_nodelist("2-1", &m), -ERANGE);
	assert_int_equal(mem_parse_nodelist(NULL, &m), -EINVAL);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(mem_backend_name(MEM_BACKEND_MEMFD), "memfd");
	assert_string_equal(mem_policy_name(MEM_POLICY_INTERLEAVE), "interleave");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shorthand), cmocka_unit_test(test_full),
	    cmocka_unit_test(test_hugepages), cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_nodelist),  cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
