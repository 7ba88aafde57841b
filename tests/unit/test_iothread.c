/* IO thread: an epoll loop on its own named thread that runs handlers for
 * registered fds, stops on request and closes what it opened. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/iothread.h"

/* A handler that drains its eventfd and counts what it saw. */
struct counter {
	int fd;
	_Atomic uint64_t calls;
	_Atomic uint64_t total; /* sum of the eventfd values read */
	_Atomic int tid;	/* thread the handler ran on */
	uint32_t events;
};

static void on_ready(void *opaque, uint32_t events)
{
	struct counter *c = opaque;
	uint64_t v;

	if (read(c->fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		atomic_fetch_add(&c->total, v);
	c->events = events;
	atomic_store(&c->tid, (int)gettid());
	atomic_fetch_add(&c->calls, 1);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000L};

	nanosleep(&ts, NULL);
}

/* Poll until *v reaches want; generous bound (10 s), no timing asserted. */
static bool wait_for(_Atomic uint64_t *v, uint64_t want)
{
	for (int i = 0; i < 10000; i++) {
		if (atomic_load(v) >= want)
			return true;
		sleep_ms(1);
	}
	return atomic_load(v) >= want;
}

static void kick(int fd, uint64_t n)
{
	assert_int_equal(write(fd, &n, sizeof(n)), (ssize_t)sizeof(n));
}

static void read_comm(int tid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, (int)len, f));
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0 || errno != EBADF;
}

static void test_run_handlers(void **state)
{
	struct iothread t;
	struct counter a = {0}, b = {0};
	struct iothread_handler ha = {on_ready, &a}, hb = {on_ready, &b};
	char comm[32];
	int epfd, stop_efd, tid;

	(void)state;
	assert_int_equal(iothread_init(&t, "io-test-0"), 0);
	a.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	b.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(a.fd >= 0 && b.fd >= 0);
	assert_int_equal(iothread_add(&t, a.fd, EPOLLIN, &ha), 0);
	assert_int_equal(iothread_add(&t, b.fd, EPOLLIN, &hb), 0);
	/* the same fd twice, and a handler without a function, are refused */
	assert_int_equal(iothread_add(&t, a.fd, EPOLLIN, &ha), -EEXIST);
	assert_int_equal(iothread_add(&t, b.fd, EPOLLIN, &(struct iothread_handler){0}), -EINVAL);
	assert_int_equal(iothread_add(&t, b.fd, EPOLLIN, NULL), -EINVAL);

	/* a kick before the start is served once the loop runs */
	kick(a.fd, 3);
	assert_int_equal(iothread_start(&t), 0);
	assert_true(wait_for(&a.calls, 1));
	assert_int_equal(atomic_load(&a.total), 3);
	kick(b.fd, 5);
	assert_true(wait_for(&b.calls, 1));
	assert_int_equal(atomic_load(&b.total), 5);
	assert_true(b.events & EPOLLIN);
	kick(a.fd, 2);
	assert_true(wait_for(&a.total, 5));
	assert_true(atomic_load(&t.handlers) >= 3);
	assert_true(atomic_load(&t.wakeups) >= 1);

	/* the handlers ran on the IO thread, which carries the given name */
	tid = atomic_load(&t.tid);
	assert_true(tid > 0);
	assert_int_not_equal(tid, (int)gettid());
	assert_int_equal(atomic_load(&a.tid), tid);
	assert_int_equal(atomic_load(&b.tid), tid);
	read_comm(tid, comm, sizeof(comm));
	assert_string_equal(comm, "io-test-0");

	/* a removed fd is no longer served */
	assert_int_equal(iothread_del(&t, b.fd), 0);
	assert_int_equal(iothread_del(&t, b.fd), -ENOENT);
	kick(b.fd, 1);
	kick(a.fd, 1);
	assert_true(wait_for(&a.total, 6));

	iothread_stop(&t);
	assert_false(t.started);
	/* joined: the thread leaves the process (the kernel may take a moment
	 * to remove it from /proc after the join returned) */
	{
		char path[64];
		int i;

		snprintf(path, sizeof(path), "/proc/self/task/%d", tid);
		for (i = 0; i < 10000 && access(path, F_OK) == 0; i++)
			sleep_ms(1);
		assert_int_equal(access(path, F_OK), -1);
	}
	assert_int_equal(atomic_load(&b.calls), 1);
	iothread_stop(&t); /* a second stop is a no-op */

	epfd = t.epfd;
	stop_efd = t.stop_efd;
	assert_true(fd_open(epfd));
	assert_true(fd_open(stop_efd));
	iothread_destroy(&t);
	assert_false(fd_open(epfd));
	assert_false(fd_open(stop_efd));
	assert_int_equal(t.epfd, -1);
	assert_int_equal(t.stop_efd, -1);
	iothread_destroy(&t); /* twice is harmless */
	close(a.fd);
	close(b.fd);
}

static void test_name_truncated(void **state)
{
	struct iothread t;
	char comm[32];
	int tid;

	(void)state;
	assert_int_equal(iothread_init(&t, "io-a-very-long-thread-name"), 0);
	assert_string_equal(t.name, "io-a-very-long-");
	assert_int_equal(iothread_start(&t), 0);
	for (int i = 0; i < 10000 && !atomic_load(&t.tid); i++)
		sleep_ms(1);
	tid = atomic_load(&t.tid);
	assert_true(tid > 0);
	read_comm(tid, comm, sizeof(comm));
	assert_string_equal(comm, "io-a-very-long-");
	iothread_stop(&t);
	iothread_destroy(&t);
}

/* Pinned to one CPU the process may use: the thread runs only there. */
static void test_affinity(void **state)
{
	struct iothread t;
	cpu_set_t allowed, one, got;
	int cpu = -1, tid;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	for (int i = CPU_SETSIZE - 1; i >= 0 && cpu < 0; i--)
		if (CPU_ISSET(i, &allowed))
			cpu = i; /* the last one, so that it differs from a default */
	assert_true(cpu >= 0);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	assert_int_equal(iothread_init(&t, "io-pinned"), 0);
	iothread_set_affinity(&t, &one);
	assert_int_equal(iothread_start(&t), 0);
	for (int i = 0; i < 10000 && !atomic_load(&t.tid); i++)
		sleep_ms(1);
	tid = atomic_load(&t.tid);
	assert_true(tid > 0);
	assert_int_equal(sched_getaffinity(tid, sizeof(got), &got), 0);
	assert_true(CPU_EQUAL(&got, &one));
	iothread_stop(&t);
	iothread_destroy(&t);

	/* an empty set cannot be honoured: the start fails, nothing runs */
	CPU_ZERO(&one);
	assert_int_equal(iothread_init(&t, "io-nowhere"), 0);
	iothread_set_affinity(&t, &one);
	assert_int_equal(iothread_start(&t), -EINVAL);
	assert_false(t.started);
	iothread_stop(&t);
	iothread_destroy(&t);
}

static void test_stop_without_start(void **state)
{
	struct iothread t;

	(void)state;
	assert_int_equal(iothread_init(&t, "io-idle"), 0);
	iothread_stop(&t); /* never started: returns at once */
	iothread_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_handlers),
	    cmocka_unit_test(test_name_truncated),
	    cmocka_unit_test(test_affinity),
	    cmocka_unit_test(test_stop_without_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
