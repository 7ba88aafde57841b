/* Seccomp-bpf allow-lists per thread kind, built from raw classic BPF (no
 * libseccomp).  Each kvmlab thread installs the list of its kind on itself
 * once its setup is done and before it serves the guest: vCPU threads
 * before their first KVM_RUN, IO threads before their first epoll_wait,
 * the main thread (and the API thread, which shares its list) once every
 * other thread has started.  A system call outside the list is, by mode:
 *   SECCOMP_MODE_ON:  trapped (SIGSYS); the handler prints one line naming
 *                     the thread, its TID and the call, and ends kvmlab
 *                     with status 1;
 *   SECCOMP_MODE_LOG: allowed and logged by the kernel (audit type 1326 in
 *                     the kernel log, with comm and syscall number);
 *   SECCOMP_MODE_OFF: nothing is installed.
 * The program builder is pure so the unit tests can run its output through
 * a BPF interpreter. */
#ifndef KVMLAB_VMM_SECCOMP_H
#define KVMLAB_VMM_SECCOMP_H

#include <linux/filter.h>
#include <stddef.h>

enum seccomp_mode {
	SECCOMP_MODE_OFF = 0, /* zero-initialised structs install nothing */
	SECCOMP_MODE_ON,      /* kvmlab run's default */
	SECCOMP_MODE_LOG,
};

enum seccomp_kind {
	SECCOMP_KIND_VCPU,
	SECCOMP_KIND_IO,
	SECCOMP_KIND_MAIN, /* the main thread and the API thread */
	SECCOMP_KIND_COUNT,
};

/* The longest program seccomp_build writes. */
#define SECCOMP_PROG_MAX 256

/* Parse "on", "off" or "log" into *m.  Returns 0 or -EINVAL. */
int seccomp_mode_parse(const char *s, enum seccomp_mode *m);

/* "vcpu", "io" or "main". */
const char *seccomp_kind_name(enum seccomp_kind k);

/* Write the filter program for kind k and mode m (ON or LOG) to out (room
 * for max instructions).  Returns the instruction count, or -EINVAL for a
 * bad kind or mode, -ENOSPC if max is too small. */
int seccomp_build(enum seccomp_kind k, enum seccomp_mode m, struct sock_filter *out, size_t max);

/* Whether kind k's list allows system call nr (arguments not considered:
 * a call with an argument check, prctl, counts as allowed).  For docs and
 * tests. */
int seccomp_allows(enum seccomp_kind k, long nr);

/* The allow-list of kind k: *n system call numbers. */
const int *seccomp_list(enum seccomp_kind k, size_t *n);

/* The x86-64 name of system call nr, or NULL where this table does not
 * know it. */
const char *seccomp_syscall_name(long nr);

/* Install the process-wide SIGSYS handler that reports a trapped call.
 * Call once, before any thread installs a filter in ON mode.  Returns 0 or
 * a negative errno. */
int seccomp_install_handler(void);

/* Install kind k's filter on the calling thread (after PR_SET_NO_NEW_PRIVS)
 * and make sure SIGSYS is not blocked in it, so a trap reaches the
 * handler.  SECCOMP_MODE_OFF does nothing.  Returns 0 or a negative errno
 * (the thread is then unfiltered). */
int seccomp_apply(enum seccomp_kind k, enum seccomp_mode m);

#endif
