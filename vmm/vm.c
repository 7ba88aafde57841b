/* VM assembly, run loop of the main thread, and orderly shutdown. */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "boot/loader.h"
#include "vmm/clock.h"

/* RAM ends below the TSS/identity pages and the future PCI hole. */
#define VM_MAX_LOW_RAM (3ull << 30)

uint64_t vm_exits_total(const struct vm *vm)
{
	uint64_t t = 0;

	for (unsigned int i = 0; i < vm->ncpus; i++)
		for (int k = 0; k < EXIT_KIND_COUNT; k++)
			t += atomic_load_explicit(&vm->vcpus[i].stats.by_kind[k],
						  memory_order_relaxed);
	return t;
}

static uint64_t stopwatch_exits(void *ctx)
{
	return vm_exits_total(ctx);
}

static void debug_exit_request(void *ctx, int status)
{
	vm_request_stop(ctx, status, NULL);
}

void vm_request_stop(struct vm *vm, int status, const char *reason)
{
	uint64_t one = 1;

	pthread_mutex_lock(&vm->stop_lock);
	if (!atomic_load(&vm->stopping)) {
		vm->exit_status = status;
		if (reason)
			fprintf(stderr, "kvmlab: %s\n", reason);
		atomic_store(&vm->stopping, true);
		if (write(vm->stop_efd, &one, sizeof(one)) < 0) {
			/* cannot fail for a counter far from overflow */
		}
	}
	/* Kick under the lock so vcpu->started is stable (see vm_run). */
	for (unsigned int i = 0; i < vm->ncpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_unlock(&vm->stop_lock);
}

static int open_serial(struct vm *vm, const struct config *cfg, char *err, size_t errlen)
{
	vm->serial_fd = -1;
	switch (cfg->serial) {
	case SERIAL_STDIO:
		vm->serial_fd = STDOUT_FILENO;
		return 0;
	case SERIAL_OFF:
		return 0;
	case SERIAL_FILE:
		vm->serial_fd =
		    open(cfg->serial_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (vm->serial_fd < 0) {
			int e = -errno;
			snprintf(err, errlen, "--serial file=%s: %s", cfg->serial_path,
				 strerror(errno));
			return e;
		}
		vm->serial_fd_owned = true;
		return 0;
	}
	return -EINVAL;
}

static int map_ram(struct vm *vm, uint64_t size, char *err, size_t errlen)
{
	void *p;

	if (size > VM_MAX_LOW_RAM) {
		snprintf(err, errlen, "--memory: at most 3G is supported for now");
		return -EINVAL;
	}
	if (size & 0xfff) {
		snprintf(err, errlen, "--memory: must be a multiple of 4K");
		return -EINVAL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED) {
		int e = -errno;
		snprintf(err, errlen, "--memory: cannot map %llu bytes: %s",
			 (unsigned long long)size, strerror(errno));
		return e;
	}
	vm->ram = p;
	vm->ram_size = size;
	gm_init(&vm->gm);
	return gm_region_add(&vm->gm, 0, size, p);
}

static int register_devices(struct vm *vm)
{
	int r;

	vm->debug_exit = (struct debug_exit){.request_exit = debug_exit_request, .ctx = vm};
	vm->stopwatch =
	    (struct stopwatch){.exits_total = stopwatch_exits, .ctx = vm, .report = stderr};
	r = uart_init(&vm->uart, vm->serial_fd, NULL);
	if (!r)
		r = bus_register(&vm->pio, UART_COM1_BASE, UART_NR_REGS, &uart_ops, &vm->uart);
	if (!r)
		r = bus_register(&vm->pio, DEBUG_EXIT_PORT, 1, &debug_exit_ops, &vm->debug_exit);
	if (!r)
		r = bus_register(&vm->pio, BOOT_MARKER_PORT, 1, &boot_marker_ops, &vm->marker);
	if (!r)
		r = bus_register(&vm->pio, STOPWATCH_PORT, STOPWATCH_LEN, &stopwatch_ops,
				 &vm->stopwatch);
	return r;
}

static int setup_boot_cpu(struct vm *vm, const struct boot_entry *be)
{
	struct vcpu *v = &vm->vcpus[0];
	struct kvm_sregs s;
	struct kvm_regs r;
	int e = kvm_get_sregs(v->fd, &s);

	if (e)
		return e;
	x86_setup_long_mode(&s, be->gdt_gpa, be->gdt_limit, be->cr3);
	e = kvm_set_sregs(v->fd, &s);
	if (e)
		return e;
	x86_setup_entry_regs(&r, be->rip, be->rsp, be->rsi);
	return kvm_set_regs(v->fd, &r);
}

static int create_vcpus(struct vm *vm, char *err, size_t errlen)
{
	if ((int)vm->cfg->cpus > vm->kvm.max_vcpus) {
		snprintf(err, errlen, "--cpus: %u is more than this host's KVM allows (%d)",
			 vm->cfg->cpus, vm->kvm.max_vcpus);
		return -EINVAL;
	}
	vm->vcpus = calloc(vm->cfg->cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < vm->cfg->cpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int r;

		v->vm = vm;
		v->id = i;
		v->fd = -1;
		r = kvm_create_vcpu(&vm->kvm, i, &v->fd, &v->run);
		if (r) {
			snprintf(err, errlen, "KVM_CREATE_VCPU %u: %s", i, strerror(-r));
			return r;
		}
		vm->ncpus++;
	}
	return 0;
}

int vm_create(struct vm *vm, const struct config *cfg, uint64_t t0_ns, char *err, size_t errlen)
{
	struct boot_entry be;
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->t0_ns = t0_ns;
	vm->kvm.sys_fd = vm->kvm.vm_fd = -1;
	vm->serial_fd = -1;
	vm->stop_efd = -1;
	if (pthread_mutex_init(&vm->stop_lock, NULL) || bus_init(&vm->pio, "pio") ||
	    bus_init(&vm->mmio, "mmio") || boot_marker_init(&vm->marker, t0_ns)) {
		snprintf(err, errlen, "out of resources");
		return -ENOMEM;
	}
	vm->trace = cfg->trace_exits ? stderr : NULL;

	/* Guest RAM and the kernel first: bad files fail before KVM is touched. */
	r = map_ram(vm, cfg->mem_size, err, errlen);
	if (r)
		return r;
	r = boot_load_kernel(cfg->kernel, cfg->initrd, cfg->cmdline, cfg->cpus, &vm->gm, &be, err,
			     errlen);
	if (r)
		return r;

	r = kvm_open(&vm->kvm, "/dev/kvm", err, errlen);
	if (r)
		return r;
	r = kvm_create_vm(&vm->kvm);
	if (r) {
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(-r));
		return r;
	}
	vm->t_vm_created_ns = clock_ns();
	r = kvm_set_memory(&vm->kvm, 0, 0, vm->ram_size, vm->ram);
	if (r) {
		snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-r));
		return r;
	}
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -errno;
	}
	r = open_serial(vm, cfg, err, errlen);
	if (r)
		return r;
	r = register_devices(vm);
	if (r) {
		snprintf(err, errlen, "device registration: %s", strerror(-r));
		return r;
	}
	r = create_vcpus(vm, err, errlen);
	if (r)
		return r;
	r = setup_boot_cpu(vm, &be);
	if (r) {
		snprintf(err, errlen, "vcpu0 register setup: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* Feed stdin to the UART while it has room; returns false at end of input. */
static bool pump_stdin(struct vm *vm)
{
	uint8_t buf[UART_RX_SIZE];
	unsigned int room = uart_rx_room(&vm->uart);
	ssize_t n;

	if (room == 0)
		return true;
	n = read(STDIN_FILENO, buf, room);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return false;
	if (n > 0)
		uart_rx_push(&vm->uart, buf, (unsigned int)n);
	return true;
}

static int main_loop(struct vm *vm, int sfd)
{
	bool stdin_open = vm->cfg->serial == SERIAL_STDIO;

	while (!atomic_load(&vm->stopping)) {
		struct pollfd p[3] = {
		    {.fd = vm->stop_efd, .events = POLLIN},
		    {.fd = sfd, .events = POLLIN},
		    {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
		};
		/* A full receive FIFO: look again shortly instead of spinning. */
		bool full = stdin_open && uart_rx_room(&vm->uart) == 0;
		int r;

		if (full)
			p[2].fd = -1;
		r = poll(p, 3, full ? 10 : -1);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				char why[64];
				snprintf(why, sizeof(why), "stopped by signal %u", si.ssi_signo);
				vm_request_stop(vm, 128 + (int)si.ssi_signo, why);
			}
		}
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
			stdin_open = pump_stdin(vm);
	}
	return 0;
}

static void print_boot_timeline(struct vm *vm)
{
	uint64_t first = atomic_load(&vm->t_first_run_ns);

	fprintf(stderr, "kvmlab: boot %9.3f ms  VM created\n",
		(vm->t_vm_created_ns - vm->t0_ns) / 1e6);
	if (first)
		fprintf(stderr, "kvmlab: boot %9.3f ms  first KVM_RUN\n",
			(first - vm->t0_ns) / 1e6);
	boot_marker_print(&vm->marker, stderr);
}

int vm_run(struct vm *vm)
{
	sigset_t set;
	int sfd, r = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* vCPU threads inherit this mask, so these signals reach the signalfd. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0 || vcpu_install_kick_handler() < 0) {
		fprintf(stderr, "kvmlab: signal setup: %s\n", strerror(errno));
		if (sfd >= 0)
			close(sfd);
		return 1;
	}

	pthread_mutex_lock(&vm->stop_lock);
	for (unsigned int i = 0; i < vm->ncpus && !r; i++)
		r = vcpu_start(&vm->vcpus[i]);
	pthread_mutex_unlock(&vm->stop_lock);
	if (r) {
		fprintf(stderr, "kvmlab: cannot start vCPU thread: %s\n", strerror(-r));
		vm_request_stop(vm, 1, NULL);
	} else {
		main_loop(vm, sfd);
	}
	vm_request_stop(vm, 1, NULL); /* no-op if already stopping */
	for (unsigned int i = 0; i < vm->ncpus; i++)
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
	close(sfd);
	if (vm->cfg->trace_boot)
		print_boot_timeline(vm);
	if (vm->cfg->stats)
		for (unsigned int i = 0; i < vm->ncpus; i++)
			vcpu_print_stats(&vm->vcpus[i], stderr);
	return vm->exit_status;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		kvm_vcpu_unmap(&vm->kvm, vm->vcpus[i].run);
		close(vm->vcpus[i].fd);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->ncpus = 0;
	kvm_close(&vm->kvm);
	if (vm->ram)
		munmap(vm->ram, vm->ram_size);
	vm->ram = NULL;
	if (vm->serial_fd_owned)
		close(vm->serial_fd);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	uart_destroy(&vm->uart);
	boot_marker_destroy(&vm->marker);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	pthread_mutex_destroy(&vm->stop_lock);
}
