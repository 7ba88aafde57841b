/* Seccomp-bpf allow-lists per thread kind, from raw classic BPF. */
#include "vmm/seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* x32 system calls carry this bit; the lists are for the x86-64 ABI only. */
#define X32_SYSCALL_BIT 0x40000000u

/* Every thread: memory, futexes, time, signals, plain I/O on descriptors it
 * already holds, and leaving.  No open, no socket, no exec, no clone. */
#define BASE_CALLS                                                                                 \
	SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64, SYS_pwrite64, SYS_preadv,         \
	    SYS_pwritev, SYS_preadv2, SYS_pwritev2, SYS_close, SYS_lseek, SYS_fstat,               \
	    SYS_newfstatat, SYS_fcntl, SYS_dup, SYS_futex, SYS_mmap, SYS_munmap, SYS_mprotect,     \
	    SYS_mremap, SYS_madvise, SYS_brk, SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_getpid,    \
	    SYS_gettid, SYS_tgkill, SYS_clock_gettime, SYS_clock_nanosleep, SYS_nanosleep,         \
	    SYS_gettimeofday, SYS_sched_yield, SYS_sched_getaffinity, SYS_exit, SYS_exit_group,    \
	    SYS_restart_syscall, SYS_ioctl, SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_ctl,        \
	    SYS_poll, SYS_ppoll, SYS_eventfd2, SYS_prctl, SYS_getrandom, SYS_set_robust_list,      \
	    SYS_rseq

/* Device work done on a vCPU thread when the guest programs a device:
 * queue activation sets up io_uring rings, vhost and tap offloads. */
#define VCPU_CALLS SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register

/* IO threads: the block engines, discard, balloon page return. */
#define IO_CALLS                                                                                   \
	SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register, SYS_fdatasync, SYS_fsync,   \
	    SYS_fallocate, SYS_sync_file_range, SYS_sendmsg, SYS_recvmsg, SYS_sendto, SYS_recvfrom

/* The main thread and the API thread: clients, /proc reads for stats, the
 * exit path (socket removal, tap teardown). */
#define MAIN_CALLS                                                                                 \
	SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register, SYS_fdatasync, SYS_fsync,   \
	    SYS_fallocate, SYS_openat, SYS_getdents64, SYS_accept4, SYS_sendmsg, SYS_recvmsg,      \
	    SYS_sendto, SYS_recvfrom, SYS_shutdown, SYS_unlinkat, SYS_unlink, SYS_getsockopt,      \
	    SYS_setsockopt, SYS_timerfd_create, SYS_timerfd_settime, SYS_rt_sigtimedwait,          \
	    SYS_rt_sigaction, SYS_sched_setaffinity, SYS_sysinfo, SYS_uname, SYS_getuid,           \
	    SYS_geteuid, SYS_access, SYS_faccessat, SYS_statx, SYS_readlink, SYS_readlinkat

static const int vcpu_list[] = {BASE_CALLS, VCPU_CALLS};
static const int io_list[] = {BASE_CALLS, IO_CALLS};
static const int main_list[] = {BASE_CALLS, MAIN_CALLS};

static const struct {
	const int *nr;
	size_t n;
	const char *name;
} kinds[SECCOMP_KIND_COUNT] = {
    [SECCOMP_KIND_VCPU] = {vcpu_list, sizeof(vcpu_list) / sizeof(int), "vcpu"},
    [SECCOMP_KIND_IO] = {io_list, sizeof(io_list) / sizeof(int), "io"},
    [SECCOMP_KIND_MAIN] = {main_list, sizeof(main_list) / sizeof(int), "main"},
};

#define NAME(x)                                                                                    \
	{                                                                                          \
		SYS_##x, #x                                                                        \
	}
static const struct {
	int nr;
	const char *name;
} names[] = {
    NAME(read),
    NAME(write),
    NAME(open),
    NAME(close),
    NAME(stat),
    NAME(fstat),
    NAME(lstat),
    NAME(poll),
    NAME(lseek),
    NAME(mmap),
    NAME(mprotect),
    NAME(munmap),
    NAME(brk),
    NAME(rt_sigaction),
    NAME(rt_sigprocmask),
    NAME(rt_sigreturn),
    NAME(ioctl),
    NAME(pread64),
    NAME(pwrite64),
    NAME(readv),
    NAME(writev),
    NAME(access),
    NAME(pipe),
    NAME(select),
    NAME(sched_yield),
    NAME(mremap),
    NAME(msync),
    NAME(madvise),
    NAME(dup),
    NAME(dup2),
    NAME(nanosleep),
    NAME(getpid),
    NAME(sendfile),
    NAME(socket),
    NAME(connect),
    NAME(accept),
    NAME(sendto),
    NAME(recvfrom),
    NAME(sendmsg),
    NAME(recvmsg),
    NAME(shutdown),
    NAME(bind),
    NAME(listen),
    NAME(getsockname),
    NAME(socketpair),
    NAME(setsockopt),
    NAME(getsockopt),
    NAME(clone),
    NAME(fork),
    NAME(vfork),
    NAME(execve),
    NAME(exit),
    NAME(wait4),
    NAME(kill),
    NAME(uname),
    NAME(fcntl),
    NAME(flock),
    NAME(fsync),
    NAME(fdatasync),
    NAME(truncate),
    NAME(ftruncate),
    NAME(getdents),
    NAME(getcwd),
    NAME(chdir),
    NAME(rename),
    NAME(mkdir),
    NAME(rmdir),
    NAME(creat),
    NAME(link),
    NAME(unlink),
    NAME(symlink),
    NAME(readlink),
    NAME(chmod),
    NAME(fchmod),
    NAME(chown),
    NAME(umask),
    NAME(gettimeofday),
    NAME(getrlimit),
    NAME(sysinfo),
    NAME(ptrace),
    NAME(getuid),
    NAME(setuid),
    NAME(getgid),
    NAME(setgid),
    NAME(geteuid),
    NAME(getegid),
    NAME(setsid),
    NAME(setgroups),
    NAME(capset),
    NAME(personality),
    NAME(statfs),
    NAME(fstatfs),
    NAME(sched_setaffinity),
    NAME(sched_getaffinity),
    NAME(prctl),
    NAME(arch_prctl),
    NAME(setrlimit),
    NAME(chroot),
    NAME(mount),
    NAME(umount2),
    NAME(swapon),
    NAME(reboot),
    NAME(init_module),
    NAME(delete_module),
    NAME(gettid),
    NAME(futex),
    NAME(io_setup),
    NAME(getdents64),
    NAME(restart_syscall),
    NAME(clock_gettime),
    NAME(clock_nanosleep),
    NAME(exit_group),
    NAME(epoll_wait),
    NAME(epoll_ctl),
    NAME(tgkill),
    NAME(openat),
    NAME(mkdirat),
    NAME(newfstatat),
    NAME(unlinkat),
    NAME(renameat),
    NAME(readlinkat),
    NAME(faccessat),
    NAME(ppoll),
    NAME(set_robust_list),
    NAME(sync_file_range),
    NAME(epoll_pwait),
    NAME(timerfd_create),
    NAME(fallocate),
    NAME(timerfd_settime),
    NAME(accept4),
    NAME(eventfd2),
    NAME(epoll_create1),
    NAME(pipe2),
    NAME(preadv),
    NAME(pwritev),
    NAME(rt_sigtimedwait),
    NAME(perf_event_open),
    NAME(prlimit64),
    NAME(process_vm_readv),
    NAME(process_vm_writev),
    NAME(kexec_load),
    NAME(finit_module),
    NAME(getrandom),
    NAME(memfd_create),
    NAME(bpf),
    NAME(execveat),
    NAME(userfaultfd),
    NAME(statx),
    NAME(preadv2),
    NAME(pwritev2),
    NAME(rseq),
    NAME(io_uring_setup),
    NAME(io_uring_enter),
    NAME(io_uring_register),
    NAME(clone3),
    NAME(pidfd_open),
    NAME(keyctl),
    NAME(unshare),
    NAME(setns),
    NAME(sethostname),
};
#undef NAME

int seccomp_mode_parse(const char *s, enum seccomp_mode *m)
{
	if (!strcmp(s, "on"))
		*m = SECCOMP_MODE_ON;
	else if (!strcmp(s, "off"))
		*m = SECCOMP_MODE_OFF;
	else if (!strcmp(s, "log"))
		*m = SECCOMP_MODE_LOG;
	else
		return -EINVAL;
	return 0;
}

const char *seccomp_kind_name(enum seccomp_kind k)
{
	return (unsigned int)k < SECCOMP_KIND_COUNT ? kinds[k].name : "?";
}

const int *seccomp_list(enum seccomp_kind k, size_t *n)
{
	if ((unsigned int)k >= SECCOMP_KIND_COUNT) {
		*n = 0;
		return NULL;
	}
	*n = kinds[k].n;
	return kinds[k].nr;
}

int seccomp_allows(enum seccomp_kind k, long nr)
{
	size_t n;
	const int *l = seccomp_list(k, &n);

	for (size_t i = 0; i < n; i++)
		if (l[i] == nr)
			return 1;
	return 0;
}

const char *seccomp_syscall_name(long nr)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].nr == nr)
			return names[i].name;
	return NULL;
}

#define STMT(code, k)	      ((struct sock_filter){(uint16_t)(code), 0, 0, (uint32_t)(k)})
#define JUMP(code, k, jt, jf) ((struct sock_filter){(uint16_t)(code), (jt), (jf), (uint32_t)(k)})
/* low 32 bits of argument i (x86-64 is little-endian) */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))

/*
 * Layout (n = list length):
 *   0  ld arch;  1 jeq X86_64 ? 2 : deny
 *   2  ld nr;    3 jge X32 bit ? deny : 4
 *   4 .. 4+n-1   jeq list[i] ? allow : next     (prctl: ? prctl-check : next)
 *   4+n          deny:  ret action
 *   4+n+1        allow: ret ALLOW
 *   4+n+2        prctl-check: ld arg0; jeq PR_GET_NAME ? +0 : +1;
 *                ret ALLOW; ret action
 * Classic BPF jumps only forward, hence the check's own two returns.
 * prctl is allowed for PR_GET_NAME only (the SIGSYS report names the
 * thread with it); the rest of prctl can change what the process may do.
 */
int seccomp_build(enum seccomp_kind k, enum seccomp_mode m, struct sock_filter *out, size_t max)
{
	size_t n, pos = 0, deny, allow, prctl_chk;
	const int *l;
	uint32_t action;

	if ((unsigned int)k >= SECCOMP_KIND_COUNT || !out)
		return -EINVAL;
	if (m == SECCOMP_MODE_ON)
		action = SECCOMP_RET_TRAP;
	else if (m == SECCOMP_MODE_LOG)
		action = SECCOMP_RET_LOG;
	else
		return -EINVAL;
	l = seccomp_list(k, &n);
	/* jump offsets are 8 bits: the whole list must stay in reach */
	if (n + 10 > max || n + 10 > SECCOMP_PROG_MAX || n + 3 > 255)
		return -ENOSPC;
	deny = 4 + n;
	allow = deny + 1;
	prctl_chk = allow + 1;

	out[pos++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	out[pos] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, (uint8_t)(deny - pos - 1));
	pos++;
	out[pos++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	out[pos] = JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, (uint8_t)(deny - pos - 1), 0);
	pos++;
	for (size_t i = 0; i < n; i++, pos++) {
		size_t target = l[i] == SYS_prctl ? prctl_chk : allow;

		out[pos] =
		    JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)l[i], (uint8_t)(target - pos - 1), 0);
	}
	out[pos++] = STMT(BPF_RET | BPF_K, action);
	out[pos++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	out[pos++] = STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
	out[pos++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_GET_NAME, 0, 1);
	out[pos++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	out[pos++] = STMT(BPF_RET | BPF_K, action);
	return (int)pos;
}

/* Async-signal-safe decimal. */
static size_t put_u(char *p, unsigned long v)
{
	char tmp[24];
	size_t n = 0, i;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(tmp));
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static size_t put_s(char *p, const char *s, size_t room)
{
	size_t n = 0;

	while (s[n] && n < room)
		p[n] = s[n], n++;
	return n;
}

/* A trapped call: one line, then the whole process ends (status 1).  Only
 * async-signal-safe calls, all on every list: prctl(PR_GET_NAME), gettid,
 * write, exit_group. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char line[200], comm[17] = {0};
	const char *name = seccomp_syscall_name(si->si_syscall);
	size_t n = 0;

	(void)sig;
	(void)uc;
	if (syscall(SYS_prctl, PR_GET_NAME, comm, 0, 0, 0) < 0)
		comm[0] = '?';
	n += put_s(line + n, "kvmlab: seccomp: thread ", 40);
	n += put_s(line + n, comm, 16);
	n += put_s(line + n, " (tid ", 8);
	n += put_u(line + n, (unsigned long)syscall(SYS_gettid));
	n += put_s(line + n, ") made a forbidden system call ", 40);
	n += put_u(line + n, (unsigned long)(unsigned int)si->si_syscall);
	n += put_s(line + n, " (", 2);
	n += put_s(line + n, name ? name : "unknown", 24);
	n += put_s(line + n, "); stopping\n", 12);
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nothing more can be said */
	}
	syscall(SYS_exit_group, 1);
}

int seccomp_install_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
}

int seccomp_apply(enum seccomp_kind k, enum seccomp_mode m)
{
	struct sock_filter prog[SECCOMP_PROG_MAX];
	struct sock_fprog fp;
	sigset_t sys;
	int n;

	if (m == SECCOMP_MODE_OFF)
		return 0;
	n = seccomp_build(k, m, prog, SECCOMP_PROG_MAX);
	if (n < 0)
		return n;
	/* A trap on a thread that blocks SIGSYS would kill without a word
	 * (the kernel resets a blocked forced signal to its default). */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	fp.len = (unsigned short)n;
	fp.filter = prog;
	/* per thread: no SECCOMP_FILTER_FLAG_TSYNC, each kind has its own list */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0)
		return -errno;
	return 0;
}
