/* vCPU thread and exit loop. */
#include "vmm/vcpu.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/clock.h"
#include "vmm/cpulist.h"
#include "vmm/kvm.h"
#include "vmm/vm.h"

static void kick_handler(int sig)
{
	(void)sig; /* only there to interrupt KVM_RUN */
}

int vcpu_install_kick_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

void vcpu_kick(struct vcpu *v)
{
	/* immediate_exit makes a KVM_RUN entered after this return at once;
	 * the signal interrupts one already running.  The store must be
	 * visible before the signal is delivered: the seq_cst fence orders it
	 * before pthread_kill. */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELAXED);
	atomic_thread_fence(memory_order_seq_cst);
	if (v->started)
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

#define MSR_IA32_MISC_ENABLE	    0x1a0
#define MISC_ENABLE_FAST_STRING	    (1ull << 0)
#define APIC_LVT0		    0x350
#define APIC_LVT1		    0x360
#define APIC_DELIVERY_MODE(v, mode) (((v) & ~0x700u) | ((mode) << 8))
#define APIC_MODE_NMI		    4u
#define APIC_MODE_EXTINT	    7u

static uint32_t lapic_get(const struct kvm_lapic_state *l, unsigned int reg)
{
	uint32_t v;
	memcpy(&v, &l->regs[reg], sizeof(v));
	return v;
}

static void lapic_set(struct kvm_lapic_state *l, unsigned int reg, uint32_t v)
{
	memcpy(&l->regs[reg], &v, sizeof(v));
}

int vcpu_init_state(struct vcpu *v, const struct kvm_cpuid_entry2 *cpuid, int n)
{
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80}; /* power-on values */
	struct kvm_lapic_state lapic;
	int r;

	r = kvm_set_cpuid(v->fd, cpuid, n);
	if (!r)
		r = kvm_set_fpu(v->fd, &fpu);
	if (!r)
		r = kvm_set_msr(v->fd, MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING);
	if (!r)
		r = kvm_get_lapic(v->fd, &lapic);
	if (r)
		return r;
	lapic_set(&lapic, APIC_LVT0,
		  APIC_DELIVERY_MODE(lapic_get(&lapic, APIC_LVT0), APIC_MODE_EXTINT));
	lapic_set(&lapic, APIC_LVT1,
		  APIC_DELIVERY_MODE(lapic_get(&lapic, APIC_LVT1), APIC_MODE_NMI));
	return kvm_set_lapic(v->fd, &lapic);
}

void vcpu_dump_regs(const struct vcpu *v, FILE *f)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (kvm_get_regs(v->fd, &r) < 0 || kvm_get_sregs(v->fd, &s) < 0) {
		fprintf(f, "kvmlab: vcpu%u: registers unavailable\n", v->id);
		return;
	}
	fprintf(f,
		"kvmlab: vcpu%u registers:\n"
		"  rip=%016llx rsp=%016llx rflags=%016llx\n"
		"  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
		"  rsi=%016llx rdi=%016llx rbp=%016llx\n"
		"  cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%016llx\n"
		"  cs=%04x (base %llx) ss=%04x idt=%llx/%x gdt=%llx/%x\n",
		v->id, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp,
		s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector, s.cs.base, s.ss.selector,
		s.idt.base, s.idt.limit, s.gdt.base, s.gdt.limit);
}

void vcpu_print_stats(const struct vcpu *v, FILE *f)
{
	uint64_t total = 0;

	for (int k = 0; k < EXIT_KIND_COUNT; k++)
		total += atomic_load(&v->stats.by_kind[k]);
	fprintf(f, "kvmlab: vcpu%u exits: total=%" PRIu64, v->id, total);
	for (int k = 0; k < EXIT_KIND_COUNT; k++) {
		uint64_t n = atomic_load(&v->stats.by_kind[k]);
		if (n)
			fprintf(f, " %s=%" PRIu64, exit_kind_name((enum exit_kind)k), n);
	}
	fprintf(f, " unclaimed_reads=%" PRIu64 " unclaimed_writes=%" PRIu64 "\n",
		atomic_load(&v->stats.unclaimed_reads), atomic_load(&v->stats.unclaimed_writes));
}

/* Act on what exit_handle decided; returns false when the loop must end. */
static bool apply_action(struct vcpu *v, enum exit_action a, const struct vm_exit *e)
{
	struct vm *vm = v->vm;
	char why[128];

	switch (a) {
	case ACTION_CONTINUE:
		return true;
	case ACTION_HALT:
		snprintf(why, sizeof(why), "vcpu%u halted with no interrupt source", v->id);
		vm_request_stop(vm, 0, why);
		return false;
	case ACTION_RESET:
		vm_request_stop(vm, 0, NULL);
		return false;
	case ACTION_SHUTDOWN:
		if (vm->reset_requested) {
			vm_request_stop(vm, 0, NULL);
			return false;
		}
		snprintf(why, sizeof(why), "vcpu%u: guest triple fault (shutdown)", v->id);
		break;
	case ACTION_FAIL:
		snprintf(why, sizeof(why), "vcpu%u: %s (reason %u, hardware/sub code 0x%llx)",
			 v->id, exit_kind_name(e->kind), e->reason,
			 (unsigned long long)e->hw.reason);
		break;
	}
	/* Print the registers before the stop message lets main go on. */
	fprintf(stderr, "kvmlab: %s\n", why);
	vcpu_dump_regs(v, stderr);
	vm_request_stop(vm, 1, NULL);
	return false;
}

static void *vcpu_loop(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	struct exit_ctx ctx = {
	    .cpu = v->id,
	    .pio = &vm->pio,
	    .mmio = &vm->mmio,
	    .stats = &v->stats,
	    .trace = vm->trace,
	};
	char why[128];
	int sr = seccomp_apply(SECCOMP_KIND_VCPU, vm->cfg->seccomp);

	if (sr) {
		snprintf(why, sizeof(why), "vcpu%u: --seccomp: cannot install the filter: %s",
			 v->id, strerror(-sr));
		vm_request_stop(vm, 1, why);
		return NULL;
	}
	while (!atomic_load(&vm->stopping)) {
		struct vm_exit e;
		uint64_t zero = 0;
		int r;

		if (atomic_load(&vm->pause_req)) {
			vm_vcpu_park(vm);
			continue; /* look at stopping again */
		}
		if (v->id == 0 && !atomic_load_explicit(&vm->t_first_run_ns, memory_order_relaxed))
			atomic_compare_exchange_strong(&vm->t_first_run_ns, &zero, clock_ns());
		r = kvm_run(v->fd);
		if (r == -EINTR || r == -EAGAIN) {
			stat_inc(&v->stats.by_kind[EXIT_INTR]);
			/* A kick (stop or pause) left immediate_exit set: clear it
			 * and look at the flags again.  Kickers set their flag
			 * before immediate_exit, and the seq_cst fence orders this
			 * store before the loads at the top of the loop, so a kick
			 * is either seen there or sets immediate_exit again. */
			__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELAXED);
			atomic_thread_fence(memory_order_seq_cst);
			continue;
		}
		if (r < 0) {
			snprintf(why, sizeof(why), "vcpu%u: KVM_RUN failed: %s", v->id,
				 strerror(-r));
			vm_request_stop(vm, 1, why);
			break;
		}
		if (exit_decode(v->run, vm->kvm.run_size, &e) < 0) {
			snprintf(why, sizeof(why), "vcpu%u: malformed exit (reason %u)", v->id,
				 v->run->exit_reason);
			vm_request_stop(vm, 1, why);
			break;
		}
		if (!apply_action(v, exit_handle(&e, &ctx), &e))
			break;
	}
	return NULL;
}

void vcpu_set_affinity(struct vcpu *v, const cpu_set_t *set)
{
	v->affinity = *set;
	v->affinity_set = true;
}

int vcpu_start(struct vcpu *v)
{
	pthread_attr_t attr;
	char name[16];
	int r = pthread_attr_init(&attr);

	if (r)
		return -r; /* pthread returns a positive errno */
	/* glibc applies it before the thread runs: no KVM_RUN off these CPUs */
	if (v->affinity_set)
		r = pthread_attr_setaffinity_np(&attr, sizeof(v->affinity), &v->affinity);
	if (!r)
		r = pthread_create(&v->thread, &attr, vcpu_loop, v);
	pthread_attr_destroy(&attr);
	if (r)
		return -r;
	v->started = true;
	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(v->thread, name);
	return 0;
}
