/* The only interface to /dev/kvm: thin wrappers over KVM ioctls.  Every
 * function returns 0 (or a non-negative result) on success and a negative
 * errno on failure; none of them exits. */
#ifndef KVMLAB_VMM_KVM_H
#define KVMLAB_VMM_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

struct kvm {
	int sys_fd;	 /* /dev/kvm */
	int vm_fd;	 /* -1 until kvm_create_vm */
	size_t run_size; /* bytes to mmap per vCPU */
	int max_vcpus;	 /* KVM_CAP_MAX_VCPUS (or NR_VCPUS) */
};

/* Open path (normally "/dev/kvm"), check the API version is 12 and that
 * every capability kvmlab relies on is present.  On failure returns a
 * negative errno and writes a one-line reason naming the missing piece into
 * err. */
int kvm_open(struct kvm *k, const char *path, char *err, size_t errlen);

/* Close the VM and system fds (safe on a partly opened struct). */
void kvm_close(struct kvm *k);

/* Value of KVM_CHECK_EXTENSION for cap on the system fd (0 if absent). */
int kvm_check_cap(const struct kvm *k, long cap);

/* Create the VM (KVM_CREATE_VM) and set the x86 TSS and identity-map
 * addresses below 4 GiB (needed on Intel, harmless elsewhere). */
int kvm_create_vm(struct kvm *k);

/* Map [gpa, gpa + size) of guest memory to hva in the given slot. */
int kvm_set_memory(struct kvm *k, uint32_t slot, uint64_t gpa, uint64_t size, void *hva);

/* Create vCPU id; returns its fd in *fd and maps its kvm_run in *run
 * (k->run_size bytes; unmap with kvm_vcpu_unmap). */
int kvm_create_vcpu(struct kvm *k, unsigned int id, int *fd, struct kvm_run **run);
void kvm_vcpu_unmap(const struct kvm *k, struct kvm_run *run);

/* One KVM_RUN.  -EINTR when interrupted by a signal or immediate_exit. */
int kvm_run(int vcpu_fd);

/* In-kernel interrupt controllers: PIC + IOAPIC + LAPICs (KVM_CREATE_IRQCHIP),
 * then the PIT (KVM_CREATE_PIT2).  Call before creating vCPUs. */
int kvm_create_irqchip(struct kvm *k);
int kvm_create_pit2(struct kvm *k);

/* Replace the GSI routing table (KVM_SET_GSI_ROUTING) with n entries. */
int kvm_set_gsi_routing(struct kvm *k, const struct kvm_irq_routing_entry *e, unsigned int n);

/* Drive GSI gsi to level (KVM_IRQ_LINE). */
int kvm_irq_line(struct kvm *k, unsigned int gsi, int level);

/* Fill e[0..max) with KVM_GET_SUPPORTED_CPUID; returns the entry count or
 * -E2BIG when max is too small. */
int kvm_get_supported_cpuid(const struct kvm *k, struct kvm_cpuid_entry2 *e, int max);

/* Set a vCPU's CPUID table (KVM_SET_CPUID2). */
int kvm_set_cpuid(int vcpu_fd, const struct kvm_cpuid_entry2 *e, int n);

/* Set one MSR (KVM_SET_MSRS). */
int kvm_set_msr(int vcpu_fd, uint32_t index, uint64_t value);

/* FPU state (KVM_SET_FPU) and local APIC state (KVM_GET/SET_LAPIC). */
int kvm_set_fpu(int vcpu_fd, const struct kvm_fpu *f);
int kvm_get_lapic(int vcpu_fd, struct kvm_lapic_state *l);
int kvm_set_lapic(int vcpu_fd, const struct kvm_lapic_state *l);

/* Bind (assign) or unbind eventfd efd to guest writes of len bytes (0: any
 * length) at MMIO address gpa (KVM_IOEVENTFD, no data match): such writes
 * then signal efd inside KVM instead of exiting to userspace. */
int kvm_ioeventfd(struct kvm *k, uint64_t gpa, uint32_t len, int efd, bool assign);

/* Bind (assign) or unbind eventfd efd to GSI gsi (KVM_IRQFD): a write to
 * efd then injects gsi's route (an MSI route for MSI-X vectors). */
int kvm_irqfd(struct kvm *k, unsigned int gsi, int efd, bool assign);

/* Inject one MSI message now (KVM_SIGNAL_MSI).  Returns 0 (also when the
 * guest blocked it) or a negative errno. */
int kvm_signal_msi(struct kvm *k, uint64_t addr, uint32_t data);

int kvm_get_regs(int vcpu_fd, struct kvm_regs *r);
int kvm_set_regs(int vcpu_fd, const struct kvm_regs *r);
int kvm_get_sregs(int vcpu_fd, struct kvm_sregs *s);
int kvm_set_sregs(int vcpu_fd, const struct kvm_sregs *s);

/* Set KVM's halt polling for the VM to ns nanoseconds (KVM_ENABLE_CAP
 * with KVM_CAP_HALT_POLL on the VM fd; 0 turns polling off).  Returns 0,
 * -EOPNOTSUPP when the VM fd does not report the capability (kernels before
 * 5.15), or the ioctl's negative errno. */
int kvm_set_halt_poll(struct kvm *k, uint32_t ns);

#endif
