/* vmm/bench_matrix.c: --set parsing, the cartesian product in order, and
 * points turned into kvmlab run options (checked by cli_parse too). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/bench_matrix.h"
#include "vmm/cli.h"

static void test_add_and_product(void **state)
{
	struct bench_matrix m;
	struct bench_point p;
	char err[256], label[256];

	(void)state;
	bench_matrix_init(&m);
	assert_int_equal(bench_matrix_points(&m), 1);
	assert_int_equal(bench_matrix_point(&m, 0, &p), 0);
	assert_string_equal(bench_point_label(&m, &p, label, sizeof(label)), "");
	assert_int_equal(bench_matrix_add(&m, "disk.cache=none,writeback", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "disk.engine=sync,io_uring,sync2", err, sizeof(err)),
			 0);
	assert_int_equal(bench_matrix_points(&m), 6);
	/* the last axis varies fastest */
	static const char *const want[6] = {
	    "disk.cache=none disk.engine=sync",		 "disk.cache=none disk.engine=io_uring",
	    "disk.cache=none disk.engine=sync2",	 "disk.cache=writeback disk.engine=sync",
	    "disk.cache=writeback disk.engine=io_uring", "disk.cache=writeback disk.engine=sync2",
	};
	for (uint64_t i = 0; i < 6; i++) {
		assert_int_equal(bench_matrix_point(&m, i, &p), 0);
		assert_string_equal(bench_point_label(&m, &p, label, sizeof(label)), want[i]);
	}
	assert_int_equal(bench_matrix_point(&m, 6, &p), -ERANGE);
	assert_int_equal(bench_matrix_point(&m, 4, &p), 0);
	assert_string_equal(bench_point_value(&m, &p, "disk.engine"), "io_uring");
	assert_null(bench_point_value(&m, &p, "disk.queues"));
	/* a label that does not fit is cut, still terminated */
	assert_string_equal(bench_point_label(&m, &p, label, 8), "disk.ca");
}

static void test_add_refusals(void **state)
{
	static const char *const bad[] = {
	    "disk.cache",	"=none",	  "disk.cache=",    "disk.cache=none,",
	    "disk.cache=,none", "disk.=x",	  "disks.cache=x",  "cache=none",
	    "disk.Cache=x",	"disk.cache=a b", "disk.cache=a=b", "disk.cache=x,y\t",
	};
	struct bench_matrix m;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bench_matrix_init(&m);
		err[0] = '\0';
		if (bench_matrix_add(&m, bad[i], err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_memory_equal(err, "--set ", 6);
		assert_null(strchr(err, '\n'));
		assert_int_equal(m.naxes, 0);
	}
	bench_matrix_init(&m);
	assert_int_equal(bench_matrix_add(&m, "ioeventfd=on,off", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "ioeventfd=on", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "twice"));
	/* 17 values */
	assert_int_equal(bench_matrix_add(&m, "cpus.boot=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
					  err, sizeof(err)),
			 -EINVAL);
	/* more than BENCH_MAX_POINTS in all: 16^3 = 4096 is the limit */
	bench_matrix_init(&m);
	const char *sixteen = "=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16";
	char spec[128];

	for (int i = 0; i < 3; i++) {
		snprintf(spec, sizeof(spec), "guest.k%d%s", i, sixteen);
		assert_int_equal(bench_matrix_add(&m, spec, err, sizeof(err)), 0);
	}
	assert_int_equal(bench_matrix_points(&m), 4096);
	assert_int_equal(bench_matrix_add(&m, "guest.more=1,2", err, sizeof(err)), -EINVAL);
	assert_int_equal(m.naxes, 3);
}

static const struct bench_opt blk_opts[] = {
    {"--memory", "size=256M", 0, 0},
    {"--cpus", NULL, 0, 0},
    {"--disk", "path=/tmp/img", 1, 1},
    {"--rng", NULL, 1, 0},
};

/* argv of point i; returns argc */
static int options(struct bench_matrix *m, uint64_t i, const char **argv, char *store,
		   size_t storelen, char *err)
{
	struct bench_point p;

	assert_int_equal(bench_matrix_point(m, i, &p), 0);
	return bench_point_options(m, &p, blk_opts, 4, argv, 16, store, storelen, err, 256);
}

static void test_point_options(void **state)
{
	struct bench_matrix m;
	const char *argv[20];
	char store[1024], err[256];
	int n;

	(void)state;
	bench_matrix_init(&m);
	/* no axes: only the groups with a base, and the always-given one */
	n = options(&m, 0, argv, store, sizeof(store), err);
	assert_int_equal(n, 4);
	assert_string_equal(argv[0], "--memory");
	assert_string_equal(argv[1], "size=256M");
	assert_string_equal(argv[2], "--disk");
	assert_string_equal(argv[3], "path=/tmp/img");

	assert_int_equal(bench_matrix_add(&m, "disk.cache=none,writeback", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "memory.backend=memfd", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "ioeventfd=off", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "cpus.boot=2", err, sizeof(err)), 0);
	assert_int_equal(bench_matrix_add(&m, "guest.scheduler=none", err, sizeof(err)), 0);
	n = options(&m, 1, argv, store, sizeof(store), err);
	assert_int_equal(n, 8);
	assert_string_equal(argv[0], "--memory");
	assert_string_equal(argv[1], "size=256M,backend=memfd");
	assert_string_equal(argv[2], "--cpus");
	assert_string_equal(argv[3], "boot=2");
	assert_string_equal(argv[4], "--disk");
	assert_string_equal(argv[5], "path=/tmp/img,cache=writeback,ioeventfd=off");
	/* the rng takes ioeventfd= too, so it is given */
	assert_string_equal(argv[6], "--rng");
	assert_string_equal(argv[7], "ioeventfd=off");

	/* what we build, kvmlab's own parser takes */
	{
		struct config c;
		char *av[24] = {"kvmlab", "run"};

		for (int i = 0; i < n; i++)
			av[2 + i] = (char *)argv[i];
		av[2 + n] = "--";
		av[3 + n] = "true";
		assert_int_equal(cli_parse(n + 4, av, &c, err, sizeof(err)), CLI_RUN);
		assert_int_equal(c.ndisks, 1);
	}

	/* a key the matrix sets replaces the same key of the suite's base */
	{
		struct bench_matrix m2;
		static const struct bench_opt ksm_like[] = {
		    {"--memory", "size=256M,merge=on", 0, 1},
		};

		bench_matrix_init(&m2);
		assert_int_equal(bench_matrix_add(&m2, "memory.merge=off", err, sizeof(err)), 0);
		assert_int_equal(bench_point_options(&m2, &(struct bench_point){0}, ksm_like, 1,
						     argv, 16, store, sizeof(store), err,
						     sizeof(err)),
				 2);
		assert_string_equal(argv[1], "size=256M,merge=off");
		assert_int_equal(bench_matrix_add(&m2, "memory.size=1G", err, sizeof(err)), 0);
		assert_int_equal(bench_point_options(&m2, &(struct bench_point){0}, ksm_like, 1,
						     argv, 16, store, sizeof(store), err,
						     sizeof(err)),
				 2);
		assert_string_equal(argv[1], "merge=off,size=1G");
		/* "size" is not "size-x": only whole keys are replaced */
		bench_matrix_init(&m2);
		assert_int_equal(bench_matrix_add(&m2, "memory.siz=1", err, sizeof(err)), 0);
		assert_int_equal(bench_point_options(&m2, &(struct bench_point){0}, ksm_like, 1,
						     argv, 16, store, sizeof(store), err,
						     sizeof(err)),
				 2);
		assert_string_equal(argv[1], "size=256M,merge=on,siz=1");
	}

	/* too small a store or argv: E2BIG, never a cut option */
	assert_int_equal(options(&m, 0, argv, store, 20, err), -E2BIG);
	assert_int_equal(bench_point_options(&m, &(struct bench_point){0}, blk_opts, 4, argv, 3,
					     store, sizeof(store), err, sizeof(err)),
			 -E2BIG);

	/* a key the suite has no option for */
	bench_matrix_init(&m);
	assert_int_equal(bench_matrix_add(&m, "net.vhost=on,off", err, sizeof(err)), 0);
	assert_int_equal(options(&m, 0, argv, store, sizeof(store), err), -EINVAL);
	assert_string_equal(err, "--set net.vhost: this suite has no --net");
	bench_matrix_init(&m);
	assert_int_equal(bench_matrix_add(&m, "irqfd=on", err, sizeof(err)), 0);
	n = bench_point_options(&m, &(struct bench_point){0}, blk_opts, 2, argv, 16, store,
				sizeof(store), err, sizeof(err));
	assert_int_equal(n, -EINVAL);
	assert_string_equal(err, "--set irqfd: this suite has no virtio device");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_and_product),
	    cmocka_unit_test(test_add_refusals),
	    cmocka_unit_test(test_point_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
