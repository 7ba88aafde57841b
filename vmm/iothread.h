/* IO threads: each runs one epoll loop over the fds registered with it
 * (queue kick eventfds, backend completion fds) plus its own stop eventfd.
 * Device work happens here, never on vCPU threads.
 *
 * Handlers are caller-owned structs that must outlive their registration;
 * they run on the IO thread, one at a time.  Register everything before
 * iothread_start or from the IO thread itself. */
#ifndef KVMLAB_VMM_IOTHREAD_H
#define KVMLAB_VMM_IOTHREAD_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <semaphore.h>
#include <stdint.h>

#include "vmm/seccomp.h"

struct iothread_handler {
	/* fd became ready with the epoll events in `events`. */
	void (*fn)(void *opaque, uint32_t events);
	void *opaque;
};

struct iothread {
	char name[16]; /* thread name, e.g. "io-rng-0" (15 chars max) */
	int epfd;
	int stop_efd;
	pthread_t thread;
	bool started;
	_Atomic uint64_t wakeups;  /* epoll_wait returns with events */
	_Atomic uint64_t handlers; /* handler calls */
	_Atomic int tid;	   /* kernel thread id once running */
	bool affinity_set;
	cpu_set_t affinity;	   /* applied before the thread runs */
	enum seccomp_mode seccomp; /* installed by the thread before its loop */
	sem_t up;		   /* posted once the filter is in (or failed) */
	int start_err;		   /* the thread's seccomp_apply result */
};

/* Create the epoll instance and the stop eventfd; name is truncated to 15
 * characters.  Returns 0 or a negative errno (nothing left open). */
int iothread_init(struct iothread *t, const char *name);

/* Watch fd for events (EPOLLIN, ...) and call h when ready.  Returns 0 or
 * a negative errno from epoll_ctl. */
int iothread_add(struct iothread *t, int fd, uint32_t events, struct iothread_handler *h);

/* Stop watching fd.  Returns 0 or a negative errno. */
int iothread_del(struct iothread *t, int fd);

/* Pin the thread to set when it starts (call before iothread_start). */
void iothread_set_affinity(struct iothread *t, const cpu_set_t *set);

/* Use seccomp mode m (default SECCOMP_MODE_OFF) for the thread: it installs
 * the IO-thread allow-list on itself before its first epoll_wait. */
void iothread_set_seccomp(struct iothread *t, enum seccomp_mode m);

/* Start the thread (signals but SIGSYS blocked in it, pinned if asked) and
 * wait until its seccomp filter is in.  Returns 0 or a negative errno
 * (EINVAL: the CPU set has no CPU this process may use; the filter's
 * error, the thread then joined). */
int iothread_start(struct iothread *t);

/* Ask the loop to end and join it.  No-op if never started. */
void iothread_stop(struct iothread *t);

/* Close the fds (after iothread_stop).  Safe on a failed init. */
void iothread_destroy(struct iothread *t);

#endif
