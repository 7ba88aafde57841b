/* /proc/self/task readers: stat parsing (odd comm names) and a fake tree. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/threads.h"

/* fields 3..43 after "(comm)": state, then 40 numbers where utime (14) =
 * 111, stime (15) = 22 and guest_time (43) = 77 */
static void stat_line(char *buf, size_t len, const char *comm)
{
	int n = snprintf(buf, len, "4242 (%s) S", comm);

	for (int f = 4; f <= 44; f++)
		n += snprintf(buf + n, len - (size_t)n, " %d",
			      f == 14	? 111
			      : f == 15 ? 22
			      : f == 43 ? 77
					: f);
	snprintf(buf + n, len - (size_t)n, "\n");
}

static void test_parse(void **state)
{
	struct thread_info t;
	char line[512];

	(void)state;
	stat_line(line, sizeof(line), "vcpu0");
	assert_int_equal(threads_parse_stat(line, &t), 0);
	assert_string_equal(t.name, "vcpu0");
	assert_int_equal(t.user_ticks, 111);
	assert_int_equal(t.sys_ticks, 22);
	assert_int_equal(t.guest_ticks, 77);
	/* a name with spaces and a ')' ends at the last ')' */
	stat_line(line, sizeof(line), "io x) (y");
	assert_int_equal(threads_parse_stat(line, &t), 0);
	assert_string_equal(t.name, "io x) (y");
	assert_int_equal(t.sys_ticks, 22);
	assert_int_equal(threads_parse_stat("4242 vcpu0 S 1 2", &t), -EINVAL);
	assert_int_equal(threads_parse_stat("4242 (vcpu0) S 1 2", &t), -EINVAL);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_fake_tree(void **state)
{
	char dir[] = "/tmp/kvmlab-threads-XXXXXX", p[256], line[512];
	struct thread_info t[4];

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (int tid = 30; tid >= 10; tid -= 20) {
		snprintf(p, sizeof(p), "%s/%d", dir, tid);
		assert_int_equal(mkdir(p, 0700), 0);
		snprintf(p, sizeof(p), "%s/%d/stat", dir, tid);
		stat_line(line, sizeof(line), tid == 10 ? "kvmlab" : "io-net-0");
		put(p, line);
		snprintf(p, sizeof(p), "%s/%d/status", dir, tid);
		put(p, tid == 10 ? "Name:\tkvmlab\nCpus_allowed_list:\t0-3\n"
				 : "Name:\tio-net-0\nCpus_allowed_list:\t2\n");
	}
	snprintf(p, sizeof(p), "%s/notatid", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(threads_read(dir, t, 4), 2);
	assert_int_equal(t[0].tid, 10); /* sorted */
	assert_string_equal(t[0].name, "kvmlab");
	assert_string_equal(t[0].cpus, "0-3");
	assert_int_equal(t[1].tid, 30);
	assert_string_equal(t[1].name, "io-net-0");
	assert_string_equal(t[1].cpus, "2");
	assert_int_equal(threads_read(dir, t, 1), 1);
	assert_int_equal(threads_read("/nonexistent-kvmlab", t, 4), -ENOENT);
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	assert_int_equal(system(p), 0);
}

static void test_self(void **state)
{
	struct thread_info t[64];
	int n = threads_read(NULL, t, 64);
	int found = 0;

	(void)state;
	assert_true(n >= 1);
	for (int i = 0; i < n; i++)
		found += t[i].tid == getpid();
	assert_int_equal(found, 1);
}

struct sleeper {
	int named; /* set once the name is in place */
	int go;	   /* set to let the thread exit */
};

static void *named_sleeper(void *arg)
{
	struct sleeper *s = arg;

	pthread_setname_np(pthread_self(), "watched-0");
	__atomic_store_n(&s->named, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&s->go, __ATOMIC_ACQUIRE))
		usleep(1000);
	return NULL;
}

/* The watch reads live values through files opened before: a rename after
 * opening shows, a thread that has exited drops out, and the fake tree's
 * files are read as they are at read time. */
static void test_watch(void **state)
{
	static struct threads_watch w;
	struct thread_info t[64];
	pthread_t th;
	struct sleeper sl = {0, 0};
	int n, found = 0;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, named_sleeper, &sl), 0);
	/* not a fixed sleep: under load the thread may start late */
	while (!__atomic_load_n(&sl.named, __ATOMIC_ACQUIRE))
		usleep(1000);
	assert_true(threads_watch_open(&w, NULL) >= 2);
	pthread_setname_np(pthread_self(), "renamed-main");
	n = threads_watch_read(&w, t, 64);
	for (int i = 0; i < n; i++) {
		found += !strcmp(t[i].name, "renamed-main") && t[i].tid == getpid();
		found += !strcmp(t[i].name, "watched-0") * 10;
		assert_string_not_equal(t[i].cpus, "?");
	}
	assert_int_equal(found, 11);
	__atomic_store_n(&sl.go, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	n = threads_watch_read(&w, t, 64);
	for (int i = 0; i < n; i++)
		assert_string_not_equal(t[i].name, "watched-0");
	threads_watch_close(&w);
	assert_int_equal(w.n, 0);
	threads_watch_close(&w);
	assert_int_equal(threads_watch_open(&w, "/nonexistent-kvmlab"), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_fake_tree),
	    cmocka_unit_test(test_self),
	    cmocka_unit_test(test_watch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
