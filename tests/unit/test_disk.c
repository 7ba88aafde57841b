/* Opening disk images: size, flags, locks, refusals. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/disk.h"

static char dir[] = "/tmp/kvmlab-disk-XXXXXX";

static void opts(struct disk_opts *o, const char *name, const char *extra)
{
	char s[512], err[256];

	snprintf(s, sizeof(s), "path=%s/%s%s%s", dir, name, extra[0] ? "," : "", extra);
	if (disk_opts_parse(s, o, err, sizeof(err)))
		fail_msg("%s: %s", s, err);
}

static void make(const char *name, off_t size)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void test_open_rw(void **state)
{
	struct disk_opts o;
	struct blk_disk d;
	char err[256];

	(void)state;
	make("a.img", (64 << 20) + 100); /* a partial sector at the end */
	opts(&o, "a.img", "serial=SN1");
	assert_int_equal(disk_open(&o, &d, err, sizeof(err)), 0);
	assert_true(d.fd >= 0);
	assert_int_equal(d.size, (64 << 20) + 100);
	assert_int_equal(d.block_size, 512);
	assert_int_equal(d.dio_align, 0);
	assert_false(d.readonly);
	assert_true(d.discard);
	assert_int_equal(d.cache, BLK_CACHE_WRITEBACK);
	assert_memory_equal(d.serial, "SN1", 4);
	assert_int_equal(fcntl(d.fd, F_GETFL) & O_ACCMODE, O_RDWR);
	disk_close(&d);
	assert_int_equal(d.fd, -1);
}

static void test_flags_per_cache_mode(void **state)
{
	struct disk_opts o;
	struct blk_disk d;
	char err[256];

	(void)state;
	make("b.img", 1 << 20);
	opts(&o, "b.img", "cache=writethrough");
	assert_int_equal(disk_open(&o, &d, err, sizeof(err)), 0);
	assert_true(fcntl(d.fd, F_GETFL) & O_DSYNC);
	assert_false(fcntl(d.fd, F_GETFL) & O_DIRECT);
	disk_close(&d);
	opts(&o, "b.img", "cache=unsafe,readonly=on");
	assert_int_equal(disk_open(&o, &d, err, sizeof(err)), 0);
	assert_int_equal(fcntl(d.fd, F_GETFL) & (O_DSYNC | O_DIRECT), 0);
	assert_int_equal(fcntl(d.fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_true(d.readonly);
	assert_false(d.discard); /* never on a readonly disk */
	disk_close(&d);
}

static void test_locks(void **state)
{
	struct disk_opts w, r;
	struct blk_disk d1, d2, d3;
	char err[256];

	(void)state;
	make("c.img", 1 << 20);
	opts(&w, "c.img", "");
	opts(&r, "c.img", "readonly=on");
	assert_int_equal(disk_open(&w, &d1, err, sizeof(err)), 0);
	assert_int_equal(disk_open(&w, &d2, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "image is in use by another process (locked)"));
	assert_non_null(strstr(err, "--disk path="));
	assert_int_equal(disk_open(&r, &d2, err, sizeof(err)), -EBUSY);
	assert_int_equal(d2.fd, -1);
	disk_close(&d1);
	/* two readers share; a writer is then refused */
	assert_int_equal(disk_open(&r, &d1, err, sizeof(err)), 0);
	assert_int_equal(disk_open(&r, &d2, err, sizeof(err)), 0);
	assert_int_equal(disk_open(&w, &d3, err, sizeof(err)), -EBUSY);
	disk_close(&d1);
	disk_close(&d2);
	/* the lock goes with the fd: a writer gets in again */
	assert_int_equal(disk_open(&w, &d3, err, sizeof(err)), 0);
	disk_close(&d3);
}

static void test_refusals(void **state)
{
	struct disk_opts o;
	struct blk_disk d;
	char err[256];

	(void)state;
	opts(&o, "missing.img", "");
	assert_int_equal(disk_open(&o, &d, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "missing.img: No such file or directory"));
	make("tiny.img", 100);
	opts(&o, "tiny.img", "");
	assert_int_equal(disk_open(&o, &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "smaller than one 512-byte sector"));
	assert_int_equal(d.fd, -1);
	opts(&o, "", "readonly=on"); /* the directory itself */
	assert_int_equal(disk_open(&o, &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file or block device"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_rw),
	    cmocka_unit_test(test_flags_per_cache_mode),
	    cmocka_unit_test(test_locks),
	    cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
