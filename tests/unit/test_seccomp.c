/* Seccomp allow-lists: the BPF program, run through a small classic-BPF
 * interpreter, agrees with the lists for every system call number; and a
 * real filter installed in a child traps, reports and logs as the mode says. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/seccomp.h"

/* The subset of classic BPF seccomp_build emits: ld abs word, jeq/jge
 * with k, ret k.  Anything else fails the test. */
static uint32_t run_bpf(const struct sock_filter *p, int n, const struct seccomp_data *d)
{
	uint32_t a = 0;

	for (int pc = 0; pc < n; pc++) {
		const struct sock_filter *f = &p[pc];

		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			assert_true(f->k + 4 <= sizeof(*d));
			memcpy(&a, (const char *)d + f->k, 4);
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += a >= f->k ? f->jt : f->jf;
			break;
		case BPF_RET | BPF_K:
			return f->k;
		default:
			fail_msg("unexpected BPF opcode 0x%x at %d", f->code, pc);
		}
	}
	fail_msg("program ran off its end");
	return 0;
}

static uint32_t verdict(enum seccomp_kind k, enum seccomp_mode m, uint32_t arch, int nr,
			uint64_t arg0)
{
	struct sock_filter prog[SECCOMP_PROG_MAX];
	struct seccomp_data d = {.nr = nr, .arch = arch};
	int n = seccomp_build(k, m, prog, SECCOMP_PROG_MAX);

	assert_true(n > 0);
	d.args[0] = arg0;
	return run_bpf(prog, n, &d);
}

static void every_number_matches_the_list(void **state)
{
	(void)state;
	for (int k = 0; k < SECCOMP_KIND_COUNT; k++) {
		int allowed = 0;

		for (int nr = 0; nr < 512; nr++) {
			uint32_t v = verdict(k, SECCOMP_MODE_ON, AUDIT_ARCH_X86_64, nr, 0);

			if (nr == SYS_prctl) /* arg0 0 is not PR_GET_NAME */
				assert_int_equal(v, SECCOMP_RET_TRAP);
			else if (seccomp_allows(k, nr))
				assert_int_equal(v, SECCOMP_RET_ALLOW), allowed++;
			else
				assert_int_equal(v, SECCOMP_RET_TRAP);
		}
		assert_true(allowed > 30);
	}
}

static void forbidden_everywhere(void **state)
{
	static const int never[] = {SYS_execve, SYS_execveat, SYS_fork,	  SYS_vfork,   SYS_clone,
				    SYS_clone3, SYS_ptrace,   SYS_socket, SYS_connect, SYS_bind,
				    SYS_mount,	SYS_kill,     SYS_bpf,	  SYS_chmod,   SYS_rename};

	(void)state;
	for (int k = 0; k < SECCOMP_KIND_COUNT; k++)
		for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
			assert_false(seccomp_allows(k, never[i]));
			assert_int_equal(
			    verdict(k, SECCOMP_MODE_ON, AUDIT_ARCH_X86_64, never[i], 0),
			    SECCOMP_RET_TRAP);
		}
}

static void kinds_differ(void **state)
{
	(void)state;
	/* only the main/API thread opens files (/proc for stats) and accepts */
	assert_false(seccomp_allows(SECCOMP_KIND_VCPU, SYS_openat));
	assert_false(seccomp_allows(SECCOMP_KIND_IO, SYS_openat));
	assert_true(seccomp_allows(SECCOMP_KIND_MAIN, SYS_openat));
	assert_false(seccomp_allows(SECCOMP_KIND_VCPU, SYS_accept4));
	assert_true(seccomp_allows(SECCOMP_KIND_MAIN, SYS_accept4));
	/* the block engines' flush and discard run on IO threads */
	assert_true(seccomp_allows(SECCOMP_KIND_IO, SYS_fdatasync));
	assert_true(seccomp_allows(SECCOMP_KIND_IO, SYS_fallocate));
	assert_false(seccomp_allows(SECCOMP_KIND_VCPU, SYS_fdatasync));
	/* every thread runs guests' ioctls and its own futexes */
	for (int k = 0; k < SECCOMP_KIND_COUNT; k++) {
		assert_true(seccomp_allows(k, SYS_ioctl));
		assert_true(seccomp_allows(k, SYS_futex));
		assert_true(seccomp_allows(k, SYS_write));
	}
}

static void prctl_only_get_name(void **state)
{
	(void)state;
	assert_int_equal(
	    verdict(SECCOMP_KIND_IO, SECCOMP_MODE_ON, AUDIT_ARCH_X86_64, SYS_prctl, PR_GET_NAME),
	    SECCOMP_RET_ALLOW);
	assert_int_equal(verdict(SECCOMP_KIND_IO, SECCOMP_MODE_ON, AUDIT_ARCH_X86_64, SYS_prctl,
				 PR_SET_DUMPABLE),
			 SECCOMP_RET_TRAP);
	/* log mode: logged, not trapped */
	assert_int_equal(
	    verdict(SECCOMP_KIND_MAIN, SECCOMP_MODE_LOG, AUDIT_ARCH_X86_64, SYS_prctl, PR_SET_MM),
	    SECCOMP_RET_LOG);
}

static void other_abis_refused(void **state)
{
	(void)state;
	/* i386 read (3) and x32 read are not x86-64 read */
	assert_int_equal(verdict(SECCOMP_KIND_IO, SECCOMP_MODE_ON, AUDIT_ARCH_I386, SYS_read, 0),
			 SECCOMP_RET_TRAP);
	assert_int_equal(
	    verdict(SECCOMP_KIND_IO, SECCOMP_MODE_ON, AUDIT_ARCH_X86_64, 0x40000000 | SYS_read, 0),
	    SECCOMP_RET_TRAP);
	assert_int_equal(
	    verdict(SECCOMP_KIND_VCPU, SECCOMP_MODE_LOG, AUDIT_ARCH_X86_64, SYS_execve, 0),
	    SECCOMP_RET_LOG);
}

static void build_refusals(void **state)
{
	struct sock_filter prog[SECCOMP_PROG_MAX];
	enum seccomp_mode m;

	(void)state;
	assert_int_equal(seccomp_build(SECCOMP_KIND_IO, SECCOMP_MODE_OFF, prog, SECCOMP_PROG_MAX),
			 -EINVAL);
	assert_int_equal(seccomp_build(SECCOMP_KIND_COUNT, SECCOMP_MODE_ON, prog, SECCOMP_PROG_MAX),
			 -EINVAL);
	assert_int_equal(seccomp_build(SECCOMP_KIND_IO, SECCOMP_MODE_ON, prog, 10), -ENOSPC);
	assert_int_equal(seccomp_mode_parse("on", &m), 0);
	assert_int_equal(m, SECCOMP_MODE_ON);
	assert_int_equal(seccomp_mode_parse("log", &m), 0);
	assert_int_equal(m, SECCOMP_MODE_LOG);
	assert_int_equal(seccomp_mode_parse("off", &m), 0);
	assert_int_equal(m, SECCOMP_MODE_OFF);
	assert_int_equal(seccomp_mode_parse("On", &m), -EINVAL);
	assert_int_equal(seccomp_mode_parse("", &m), -EINVAL);
	assert_string_equal(seccomp_syscall_name(SYS_socket), "socket");
	assert_string_equal(seccomp_syscall_name(SYS_io_uring_enter), "io_uring_enter");
	assert_null(seccomp_syscall_name(100000));
}

/* Fork; the child names itself, installs kind k in mode m and calls
 * socket(2) (forbidden everywhere), then exits 0 if it came back.  Returns
 * the wait status; the child's stderr lands in err. */
static int in_child(enum seccomp_kind k, enum seccomp_mode m, char *err, size_t errlen)
{
	int pfd[2], st = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		long s;

		dup2(pfd[1], STDERR_FILENO);
		prctl(PR_SET_NAME, "io-test-0", 0, 0, 0);
		if (seccomp_install_handler() || seccomp_apply(k, m))
			_exit(3);
		s = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
		/* still here: the call was let through (log mode) */
		_exit(s >= 0 ? 0 : 4);
	}
	close(pfd[1]);
	n = read(pfd[0], err, errlen - 1);
	err[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void a_trap_is_reported_and_stops(void **state)
{
	char err[512];
	int st = in_child(SECCOMP_KIND_IO, SECCOMP_MODE_ON, err, sizeof(err));
	char want[128];

	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	snprintf(want, sizeof(want), "made a forbidden system call %d (socket); stopping",
		 SYS_socket);
	assert_non_null(strstr(err, "kvmlab: seccomp: thread io-test-0 (tid "));
	assert_non_null(strstr(err, want));
	/* exactly one line */
	int lines = 0;
	for (const char *c = err; *c; c++)
		lines += *c == '\n';
	assert_int_equal(lines, 1);
}

static void log_mode_lets_it_through(void **state)
{
	char err[512];
	int st = in_child(SECCOMP_KIND_VCPU, SECCOMP_MODE_LOG, err, sizeof(err));

	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_string_equal(err, "");
}

static void off_installs_nothing(void **state)
{
	char err[512];
	int st = in_child(SECCOMP_KIND_VCPU, SECCOMP_MODE_OFF, err, sizeof(err));

	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_number_matches_the_list),
	    cmocka_unit_test(forbidden_everywhere),
	    cmocka_unit_test(kinds_differ),
	    cmocka_unit_test(prctl_only_get_name),
	    cmocka_unit_test(other_abis_refused),
	    cmocka_unit_test(build_refusals),
	    cmocka_unit_test(a_trap_is_reported_and_stops),
	    cmocka_unit_test(log_mode_lets_it_through),
	    cmocka_unit_test(off_installs_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
