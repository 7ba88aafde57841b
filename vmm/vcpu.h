/* vCPU threads: one thread per vCPU running KVM_RUN and dispatching exits. */
#ifndef KVMLAB_VMM_VCPU_H
#define KVMLAB_VMM_VCPU_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <linux/kvm.h>

#include "vmm/exit.h"

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int id;  /* index: thread "vcpuN", CPU N of the guest */
	uint32_t apic_id; /* KVM vCPU id = initial APIC ID (vmm/cpuid.h) */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	bool affinity_set; /* vcpu_set_affinity was called */
	cpu_set_t affinity;
	struct exit_stats stats;
};

/* Signal used to kick a vCPU thread out of KVM_RUN.  Its handler does
 * nothing; kvm_run->immediate_exit makes the kick race-free. */
#define VCPU_KICK_SIGNAL SIGUSR1

/* Install the no-op handler for VCPU_KICK_SIGNAL.  Returns 0 or -errno. */
int vcpu_install_kick_handler(void);

/* Architectural start state of a vCPU: CPUID table (n entries), x87/SSE
 * control words, fast strings in IA32_MISC_ENABLE, and LAPIC LINT0 = ExtINT,
 * LINT1 = NMI (virtual wire, as PC firmware leaves it).  Returns 0 or the
 * failing ioctl's negative errno. */
int vcpu_init_state(struct vcpu *v, const struct kvm_cpuid_entry2 *cpuid, int n);

/* Pin the thread vcpu_start will create to the CPUs in *set (applied at
 * creation, so before its first KVM_RUN).  Without it the thread keeps
 * the CPUs of the thread that starts it. */
void vcpu_set_affinity(struct vcpu *v, const cpu_set_t *set);

/* Start the thread "vcpuN" running the exit loop.  Returns 0 or -errno
 * (e.g. -EINVAL for an affinity naming no usable CPU). */
int vcpu_start(struct vcpu *v);

/* Make the vCPU leave KVM_RUN and not enter it again (safe from any
 * thread, any number of times). */
void vcpu_kick(struct vcpu *v);

/* Print general and segment registers of a stopped vCPU to f. */
void vcpu_dump_regs(const struct vcpu *v, FILE *f);

/* Print the per-kind exit counters (the thread itself is listed with
 * every other kvmlab thread: vmm/threads.h). */
void vcpu_print_stats(const struct vcpu *v, FILE *f);

#endif
