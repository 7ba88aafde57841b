/* IO thread: an epoll loop with a stop eventfd. */
#include "vmm/iothread.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define IOTHREAD_BATCH 32

int iothread_init(struct iothread *t, const char *name)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	int e;

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->seccomp = SECCOMP_MODE_OFF;
	t->stop_efd = -1;
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0)
		return -errno;
	t->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	/* the stop eventfd is the only entry with a NULL handler */
	if (t->stop_efd < 0 || epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->stop_efd, &ev) < 0) {
		e = -errno;
		iothread_destroy(t);
		return e;
	}
	return 0;
}

int iothread_add(struct iothread *t, int fd, uint32_t events, struct iothread_handler *h)
{
	struct epoll_event ev = {.events = events, .data.ptr = h};

	if (!h || !h->fn)
		return -EINVAL;
	return epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int iothread_del(struct iothread *t, int fd)
{
	return epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

static void *loop(void *arg)
{
	struct iothread *t = arg;
	struct epoll_event ev[IOTHREAD_BATCH];

	/* named before the first handler runs */
	pthread_setname_np(pthread_self(), t->name);
	atomic_store(&t->tid, (int)gettid());
	t->start_err = seccomp_apply(SECCOMP_KIND_IO, t->seccomp);
	/* sem_post orders start_err before iothread_start reads it */
	sem_post(&t->up);
	if (t->start_err)
		return NULL;
	for (;;) {
		int n = epoll_wait(t->epfd, ev, IOTHREAD_BATCH, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		atomic_fetch_add_explicit(&t->wakeups, 1, memory_order_relaxed);
		for (int i = 0; i < n; i++) {
			struct iothread_handler *h = ev[i].data.ptr;

			if (!h)
				return NULL; /* stop requested */
			atomic_fetch_add_explicit(&t->handlers, 1, memory_order_relaxed);
			h->fn(h->opaque, ev[i].events);
		}
	}
	return NULL;
}

void iothread_set_seccomp(struct iothread *t, enum seccomp_mode m)
{
	t->seccomp = m;
}

void iothread_set_affinity(struct iothread *t, const cpu_set_t *set)
{
	t->affinity = *set;
	t->affinity_set = true;
}

int iothread_start(struct iothread *t)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int e;

	e = pthread_attr_init(&attr);
	if (e)
		return -e;
	if (t->affinity_set) {
		e = pthread_attr_setaffinity_np(&attr, sizeof(t->affinity), &t->affinity);
		if (e) {
			pthread_attr_destroy(&attr);
			return -e;
		}
	}

	/* The thread inherits a fully blocked mask: signals are the main
	 * thread's business. */
	sigfillset(&all);
	if (sem_init(&t->up, 0, 0) < 0) {
		pthread_attr_destroy(&attr);
		return -errno;
	}
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&t->thread, &attr, loop, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (!e) {
		while (sem_wait(&t->up) < 0 && errno == EINTR)
			;
		if (t->start_err) {
			pthread_join(t->thread, NULL);
			e = -t->start_err;
		}
	}
	sem_destroy(&t->up);
	if (e)
		return -e;
	t->started = true;
	return 0;
}

void iothread_stop(struct iothread *t)
{
	uint64_t one = 1;

	if (!t->started)
		return;
	if (write(t->stop_efd, &one, sizeof(one)) < 0) {
		/* a counter far from overflow cannot fail */
	}
	pthread_join(t->thread, NULL);
	t->started = false;
}

void iothread_destroy(struct iothread *t)
{
	if (t->stop_efd >= 0)
		close(t->stop_efd);
	if (t->epfd >= 0)
		close(t->epfd);
	t->stop_efd = t->epfd = -1;
}
