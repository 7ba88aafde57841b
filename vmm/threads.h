/* The threads of this process as the kernel sees them: name, TID, allowed
 * CPUs and CPU time (user, system, and time spent running a guest), read
 * from /proc/self/task.  kvmlab names every thread it creates (vcpuN,
 * io-<device>-N, api), so this is the list --stats and the API print.
 * Pure over a directory path so tests can hand in a fake tree. */
#ifndef KVMLAB_VMM_THREADS_H
#define KVMLAB_VMM_THREADS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define THREADS_MAX 512

struct thread_info {
	pid_t tid;
	char name[16];	      /* comm */
	char cpus[64];	      /* Cpus_allowed_list, truncated with "..." if longer */
	uint64_t user_ticks;  /* utime (includes guest time) */
	uint64_t sys_ticks;   /* stime */
	uint64_t guest_ticks; /* guest_time: ticks this thread ran a guest */
};

/* Read up to max threads from task_dir (NULL: /proc/self/task), sorted by
 * TID.  Threads that vanish while reading are skipped.  Returns the count
 * (>= 0) or a negative errno if the directory cannot be read. */
int threads_read(const char *task_dir, struct thread_info *out, size_t max);

/* The threads of this process held open: each one's stat and status file,
 * opened once, so a later snapshot needs only pread (no open: the calling
 * thread may be under a seccomp list without openat). */
struct threads_watch {
	size_t n;
	pid_t tid[THREADS_MAX];
	int stat_fd[THREADS_MAX];
	int status_fd[THREADS_MAX];
};

/* Open the stat and status file of every thread now in task_dir (NULL:
 * /proc/self/task).  Returns the count or a negative errno (then nothing
 * is held open). */
int threads_watch_open(struct threads_watch *w, const char *task_dir);

/* Snapshot of the watched threads still alive, sorted by TID, into out
 * (room for max).  Returns the count. */
int threads_watch_read(const struct threads_watch *w, struct thread_info *out, size_t max);

/* Close every file; w->n becomes 0.  Idempotent. */
void threads_watch_close(struct threads_watch *w);

/* Parse one /proc/.../stat line into t's name and ticks.  Returns 0 or
 * -EINVAL for a malformed line. */
int threads_parse_stat(const char *line, struct thread_info *t);

#endif
