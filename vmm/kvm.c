/* KVM ioctl wrappers: the only file in kvmlab that talks to /dev/kvm. */
#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* Capabilities the VMM cannot work without. */
static const struct {
	long cap;
	const char *name;
} required_caps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS"},
    {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI"},
};

/* ioctl returning a negative errno instead of -1. */
static int xioctl(int fd, unsigned long req, const void *arg)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR && req != KVM_RUN);
	return r < 0 ? -errno : r;
}

int kvm_open(struct kvm *k, const char *path, char *err, size_t errlen)
{
	int r;

	k->vm_fd = -1;
	k->sys_fd = open(path, O_RDWR | O_CLOEXEC);
	if (k->sys_fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	r = xioctl(k->sys_fd, KVM_GET_API_VERSION, NULL);
	if (r != KVM_API_VERSION) {
		snprintf(err, errlen, "%s: KVM API version %d, need %d", path, r, KVM_API_VERSION);
		goto fail;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (kvm_check_cap(k, required_caps[i].cap) <= 0) {
			snprintf(err, errlen, "%s: missing capability %s", path,
				 required_caps[i].name);
			goto fail;
		}
	}
	r = xioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (r < (int)sizeof(struct kvm_run)) {
		snprintf(err, errlen, "%s: bad KVM_GET_VCPU_MMAP_SIZE %d", path, r);
		goto fail;
	}
	k->run_size = (size_t)r;
	k->max_vcpus = kvm_check_cap(k, KVM_CAP_MAX_VCPUS);
	if (k->max_vcpus <= 0)
		k->max_vcpus = kvm_check_cap(k, KVM_CAP_NR_VCPUS);
	if (k->max_vcpus <= 0)
		k->max_vcpus = 4;
	return 0;
fail:
	close(k->sys_fd);
	k->sys_fd = -1;
	return -ENOTSUP;
}

void kvm_close(struct kvm *k)
{
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->sys_fd >= 0)
		close(k->sys_fd);
	k->vm_fd = k->sys_fd = -1;
}

int kvm_check_cap(const struct kvm *k, long cap)
{
	int r = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

int kvm_create_vm(struct kvm *k)
{
	uint64_t identity = 0xfeffc000; /* 1 page, just below the TSS */
	int r = xioctl(k->sys_fd, KVM_CREATE_VM, (void *)0);

	if (r < 0)
		return r;
	k->vm_fd = r;
	r = ioctl(k->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000UL);
	if (r < 0)
		return -errno;
	return xioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity);
}

int kvm_set_memory(struct kvm *k, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region mr = {
	    .slot = slot,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)hva,
	};
	return xioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr);
}

int kvm_create_vcpu(struct kvm *k, unsigned int id, int *fd, struct kvm_run **run)
{
	void *p;
	int r = xioctl(k->vm_fd, KVM_CREATE_VCPU, (void *)(uintptr_t)id);

	if (r < 0)
		return r;
	p = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, r, 0);
	if (p == MAP_FAILED) {
		int e = -errno;
		close(r);
		return e;
	}
	*fd = r;
	*run = p;
	return 0;
}

void kvm_vcpu_unmap(const struct kvm *k, struct kvm_run *run)
{
	if (run)
		munmap(run, k->run_size);
}

int kvm_run(int vcpu_fd)
{
	return xioctl(vcpu_fd, KVM_RUN, NULL);
}

int kvm_get_regs(int vcpu_fd, struct kvm_regs *r)
{
	return xioctl(vcpu_fd, KVM_GET_REGS, r);
}

int kvm_set_regs(int vcpu_fd, const struct kvm_regs *r)
{
	return xioctl(vcpu_fd, KVM_SET_REGS, r);
}

int kvm_get_sregs(int vcpu_fd, struct kvm_sregs *s)
{
	return xioctl(vcpu_fd, KVM_GET_SREGS, s);
}

int kvm_set_sregs(int vcpu_fd, const struct kvm_sregs *s)
{
	return xioctl(vcpu_fd, KVM_SET_SREGS, s);
}

int kvm_create_irqchip(struct kvm *k)
{
	return xioctl(k->vm_fd, KVM_CREATE_IRQCHIP, NULL);
}

int kvm_create_pit2(struct kvm *k)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	return xioctl(k->vm_fd, KVM_CREATE_PIT2, &pit);
}

int kvm_set_gsi_routing(struct kvm *k, const struct kvm_irq_routing_entry *e, unsigned int n)
{
	struct kvm_irq_routing *r;
	int ret;

	r = calloc(1, sizeof(*r) + n * sizeof(*e));
	if (!r)
		return -ENOMEM;
	r->nr = n;
	memcpy(r->entries, e, n * sizeof(*e));
	ret = xioctl(k->vm_fd, KVM_SET_GSI_ROUTING, r);
	free(r);
	return ret;
}

int kvm_irq_line(struct kvm *k, unsigned int gsi, int level)
{
	struct kvm_irq_level l = {.irq = gsi, .level = level};
	return xioctl(k->vm_fd, KVM_IRQ_LINE, &l);
}

int kvm_get_supported_cpuid(const struct kvm *k, struct kvm_cpuid_entry2 *e, int max)
{
	struct kvm_cpuid2 *c;
	int ret;

	c = calloc(1, sizeof(*c) + (size_t)max * sizeof(*e));
	if (!c)
		return -ENOMEM;
	c->nent = (uint32_t)max;
	ret = xioctl(k->sys_fd, KVM_GET_SUPPORTED_CPUID, c);
	if (ret >= 0) {
		memcpy(e, c->entries, c->nent * sizeof(*e));
		ret = (int)c->nent;
	}
	free(c);
	return ret;
}

int kvm_set_cpuid(int vcpu_fd, const struct kvm_cpuid_entry2 *e, int n)
{
	struct kvm_cpuid2 *c;
	int ret;

	c = calloc(1, sizeof(*c) + (size_t)n * sizeof(*e));
	if (!c)
		return -ENOMEM;
	c->nent = (uint32_t)n;
	memcpy(c->entries, e, (size_t)n * sizeof(*e));
	ret = xioctl(vcpu_fd, KVM_SET_CPUID2, c);
	free(c);
	return ret;
}

int kvm_set_msr(int vcpu_fd, uint32_t index, uint64_t value)
{
	/* struct kvm_msrs ends in a flexible array: header and one entry in
	 * one suitably aligned buffer */
	_Alignas(struct kvm_msr_entry)
	    uint8_t buf[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	struct kvm_msrs *m = (struct kvm_msrs *)buf;
	int r;

	memset(buf, 0, sizeof(buf));
	m->nmsrs = 1;
	m->entries[0].index = index;
	m->entries[0].data = value;
	r = xioctl(vcpu_fd, KVM_SET_MSRS, m);

	return r == 1 ? 0 : (r < 0 ? r : -EINVAL);
}

int kvm_set_fpu(int vcpu_fd, const struct kvm_fpu *f)
{
	return xioctl(vcpu_fd, KVM_SET_FPU, f);
}

int kvm_get_lapic(int vcpu_fd, struct kvm_lapic_state *l)
{
	return xioctl(vcpu_fd, KVM_GET_LAPIC, l);
}

int kvm_set_lapic(int vcpu_fd, const struct kvm_lapic_state *l)
{
	return xioctl(vcpu_fd, KVM_SET_LAPIC, l);
}

int kvm_ioeventfd(struct kvm *k, uint64_t gpa, uint32_t len, int efd, bool assign)
{
	struct kvm_ioeventfd io = {
	    .addr = gpa,
	    .len = len,
	    .fd = efd,
	    .flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};

	return xioctl(k->vm_fd, KVM_IOEVENTFD, &io);
}

int kvm_irqfd(struct kvm *k, unsigned int gsi, int efd, bool assign)
{
	struct kvm_irqfd f = {
	    .fd = (uint32_t)efd,
	    .gsi = gsi,
	    .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	return xioctl(k->vm_fd, KVM_IRQFD, &f);
}

int kvm_signal_msi(struct kvm *k, uint64_t addr, uint32_t data)
{
	struct kvm_msi m = {
	    .address_lo = (uint32_t)addr,
	    .address_hi = (uint32_t)(addr >> 32),
	    .data = data,
	};
	int r = xioctl(k->vm_fd, KVM_SIGNAL_MSI, &m);

	/* > 0: delivered, 0: blocked by the guest (e.g. a masked LAPIC) */
	return r < 0 ? r : 0;
}

int kvm_set_halt_poll(struct kvm *k, uint32_t ns)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_HALT_POLL, .args = {ns}};

	/* the capability is per VM: ask the VM fd */
	if (ioctl(k->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_HALT_POLL) <= 0)
		return -EOPNOTSUPP;
	return xioctl(k->vm_fd, KVM_ENABLE_CAP, &cap);
}
