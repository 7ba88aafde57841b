/* VM assembly, run loop of the main thread, and orderly shutdown. */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "boot/layout.h"
#include "boot/loader.h"
#include "mem/host_stats.h"
#include "mem/overcommit.h"
#include "vmm/clock.h"
#include "vmm/cpuid.h"
#include "vmm/default_guest.h"
#include "vmm/guest_cmd.h"
#include "vmm/pc_irq.h"
#include "vmm/threads.h"
#include "vmm/vm_api.h"

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

static void guest_reset(void *ctx)
{
	struct vm *vm = ctx;

	atomic_store(&vm->reset_requested, true);
	vm_request_stop(vm, 0, NULL);
}

/* ISA interrupt lines end in the in-kernel PIC and IOAPIC. */
static void isa_irq_set(void *opaque, unsigned int gsi, int level)
{
	struct vm *vm = opaque;

	kvm_irq_line(&vm->kvm, gsi, level);
}

void vm_request_stop(struct vm *vm, int status, const char *reason)
{
	uint64_t one = 1;

	pthread_mutex_lock(&vm->stop_lock);
	if (!atomic_load(&vm->stopping)) {
		/* every thread is still there: take the --stats list now */
		if (vm->threads && vm->watch && vm->watch->n)
			vm->nthreads = threads_watch_read(vm->watch, vm->threads, THREADS_MAX);
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
	/* parked vCPUs see stopping and leave */
	if (vm->pause_ready) {
		pthread_mutex_lock(&vm->pause_lock);
		pthread_cond_broadcast(&vm->pause_cond);
		pthread_mutex_unlock(&vm->pause_lock);
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

bool vm_paused(const struct vm *vm)
{
	return atomic_load(&vm->pause_req);
}

int vm_pause(struct vm *vm)
{
	unsigned int started = 0;
	struct timespec until;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&vm->pause_lock);
	if (atomic_load(&vm->stopping)) {
		pthread_mutex_unlock(&vm->pause_lock);
		return -ESHUTDOWN;
	}
	if (!atomic_exchange(&vm->pause_req, true))
		for (unsigned int i = 0; i < vm->ncpus; i++)
			vcpu_kick(&vm->vcpus[i]); /* out of KVM_RUN; the loop parks */
	for (unsigned int i = 0; i < vm->ncpus; i++)
		started += vm->vcpus[i].started;
	while (vm->parked < started && !atomic_load(&vm->stopping) && !r)
		r = -pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &until);
	if (r == -ETIMEDOUT) {
		/* a vCPU stuck outside KVM_RUN (e.g. blocked writing the
		 * console): undo, so the VM is not left half paused */
		atomic_store(&vm->pause_req, false);
		pthread_cond_broadcast(&vm->pause_cond);
	}
	pthread_mutex_unlock(&vm->pause_lock);
	return r == -ETIMEDOUT ? r : 0;
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->pause_req, false);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_vcpu_park(struct vm *vm)
{
	/* the run loop clears immediate_exit after its EINTR */
	pthread_mutex_lock(&vm->pause_lock);
	vm->parked++;
	pthread_cond_broadcast(&vm->pause_cond); /* vm_pause counts us */
	while (atomic_load(&vm->pause_req) && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->parked--;
	pthread_mutex_unlock(&vm->pause_lock);
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

/* Guest RAM: one backing per layout region (below the 3-4 GiB hole and
 * above 4 GiB), each added to the guest memory map. */
static int map_ram(struct vm *vm, const struct mem_opts *m, char *err, size_t errlen)
{
	struct mem_layout_region reg[MEM_LAYOUT_MAX];
	uint64_t page = mem_opts_page_size(m);
	int n = mem_layout(m->size, page, reg);
	char msg[256];
	int r;

	gm_init(&vm->gm);
	if (n < 0) {
		snprintf(err, errlen, "--memory: size %llu is not a multiple of the page size %llu",
			 (unsigned long long)m->size, (unsigned long long)page);
		return n;
	}
	/* the whole of RAM against the host, before any region is mapped */
	r = mem_overcommit_check(m, NULL, NULL, msg, sizeof(msg));
	if (r) {
		snprintf(err, errlen, "%s", msg);
		return r;
	}
	if (msg[0])
		fprintf(stderr, "kvmlab: warning: %s\n", msg);
	for (int i = 0; i < n; i++) {
		r = mem_backing_alloc(m, reg[i].size, NULL, &vm->ram[i], err, errlen);
		if (r)
			return r;
		vm->nr_ram++;
		r = gm_region_add(&vm->gm, reg[i].gpa, reg[i].size, vm->ram[i].hva);
		if (r) {
			snprintf(err, errlen, "--memory: region %d: %s", i, strerror(-r));
			return r;
		}
	}
	return 0;
}

static int map_ram_slots(struct vm *vm, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < vm->gm.nr; i++) {
		const struct gm_region *g = &vm->gm.regions[i];
		int r = kvm_set_memory(&vm->kvm, i, g->gpa, g->size, g->hva);

		if (r) {
			snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION slot %u: %s", i,
				 strerror(-r));
			return r;
		}
	}
	return 0;
}

static void print_memory_stats(const struct vm *vm, FILE *f)
{
	uint64_t shared, sharing;

	for (unsigned int i = 0; i < vm->nr_ram; i++) {
		const struct mem_backing *b = &vm->ram[i];
		const struct gm_region *g = &vm->gm.regions[i];
		struct mem_rss rss;
		char use[128] = "";

		if (!mem_smaps_rss(NULL, (uintptr_t)b->hva, b->size, &rss)) {
			int n = snprintf(use, sizeof(use), " rss=%llu MiB anon_huge=%llu MiB",
					 (unsigned long long)(rss.rss >> 20),
					 (unsigned long long)(rss.anon_huge >> 20));

			if (b->page_size > MEM_OPTS_PAGE_SIZE && n > 0 && (size_t)n < sizeof(use))
				snprintf(use + n, sizeof(use) - (size_t)n, " hugepages=%llu",
					 (unsigned long long)(rss.hugetlb / b->page_size));
		}
		fprintf(
		    f,
		    "kvmlab: memory region %u: gpa=0x%llx size=%llu MiB backing=%s page=%llu KiB "
		    "prealloc=%s (%.1f ms) thp=%s merge=%s%s\n",
		    i, (unsigned long long)g->gpa, (unsigned long long)(b->size >> 20),
		    mem_backend_name(b->backend), (unsigned long long)(b->page_size >> 10),
		    b->prealloc ? "on" : "off", b->prealloc_ns / 1e6,
		    b->madv_thp == MADV_HUGEPAGE     ? "on"
		    : b->madv_thp == MADV_NOHUGEPAGE ? "off"
						     : "default",
		    b->mergeable ? "on" : "off", use);
	}
	if (!mem_ksm_read(NULL, &shared, &sharing))
		fprintf(f, "kvmlab: ksm: pages_shared=%llu pages_sharing=%llu\n",
			(unsigned long long)shared, (unsigned long long)sharing);
}

static int register_devices(struct vm *vm)
{
	int r;

	vm->debug_exit = (struct debug_exit){.request_exit = debug_exit_request, .ctx = vm};
	vm->stopwatch =
	    (struct stopwatch){.exits_total = stopwatch_exits, .ctx = vm, .report = stderr};
	const struct irq_line com1 = {.set_level = isa_irq_set, .opaque = vm, .gsi = PC_IRQ_COM1};

	vm->i8042 = (struct i8042){.reset = guest_reset, .ctx = vm};
	vm->acpi_pm = (struct acpi_pm){.poweroff = guest_reset, .ctx = vm};
	r = uart_init(&vm->uart, vm->serial_fd, &com1);
	if (!r)
		r = bus_register(&vm->pio, UART_COM1_BASE, UART_NR_REGS, &uart_ops, &vm->uart);
	if (!r)
		r = bus_register(&vm->pio, DEBUG_EXIT_PORT, 1, &debug_exit_ops, &vm->debug_exit);
	if (!r)
		r = bus_register(&vm->pio, BOOT_MARKER_PORT, 1, &boot_marker_ops, &vm->marker);
	if (!r)
		r = bus_register(&vm->pio, ACPI_SLEEP_CTL_PORT, ACPI_PM_LEN, &acpi_pm_ops,
				 &vm->acpi_pm);
	if (!r)
		r = bus_register(&vm->pio, I8042_DATA_PORT, 1, &i8042_data_ops, &vm->i8042);
	if (!r)
		r = bus_register(&vm->pio, I8042_COMMAND_PORT, 1, &i8042_command_ops, &vm->i8042);
	if (!r)
		r = bus_register(&vm->pio, STOPWATCH_PORT, STOPWATCH_LEN, &stopwatch_ops,
				 &vm->stopwatch);
	return r;
}

static int commit_routes(void *opaque, const struct kvm_irq_routing_entry *e, unsigned int n)
{
	return kvm_set_gsi_routing(opaque, e, n);
}

/* GSIs 0..23 are the irqchip pins; MSI routes start above them. */
#define VM_FIRST_MSI_GSI 24
#define VM_MAX_ROUTES	 1024

static int setup_irqchip(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_irq_routing_entry routes[48];
	int n, r;

	r = kvm_create_irqchip(&vm->kvm);
	if (r) {
		snprintf(err, errlen, "KVM_CREATE_IRQCHIP: %s", strerror(-r));
		return r;
	}
	r = kvm_create_pit2(&vm->kvm);
	if (r) {
		snprintf(err, errlen, "KVM_CREATE_PIT2: %s", strerror(-r));
		return r;
	}
	n = pc_irq_routing(routes, 48);
	r = n < 0 ? n
		  : irq_routes_init(&vm->routes, routes, (unsigned int)n, VM_MAX_ROUTES,
				    VM_FIRST_MSI_GSI, commit_routes, &vm->kvm);
	if (r) {
		snprintf(err, errlen, "KVM_SET_GSI_ROUTING: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* PCI bus 0 with its windows (as the loader described them in ACPI). */
static int setup_pci(struct vm *vm, char *err, size_t errlen)
{
	const struct irq_line intx = {.set_level = isa_irq_set, .opaque = vm};
	uint64_t hi = pci_mmio64_base(gm_end(&vm->gm));
	int r = pci_bus_init(&vm->pci, &vm->mmio, PCI_MMIO32_BASE, PCI_MMIO32_END, hi,
			     hi + PCI_MMIO64_SIZE, &intx);

	if (!r) {
		vm->pci_ready = true;
		r = bus_register(&vm->pio, PCI_CONFIG_ADDR_PORT, 4, &pci_config_addr_ops, &vm->pci);
	}
	if (!r)
		r = bus_register(&vm->pio, PCI_CONFIG_DATA_PORT, 4, &pci_config_data_ops, &vm->pci);
	if (r)
		snprintf(err, errlen, "PCI bus setup: %s", strerror(-r));
	return r;
}

static int add_rng(struct vm *vm, char *err, size_t errlen)
{
	struct vm_rng *d = &vm->rng;
	const struct virtio_knobs *k = &vm->cfg->rng.knobs;
	int r;

	d->present = true;
	r = iothread_init(&d->io, "io-rng-0");
	if (!r) {
		struct iothread *io = &d->io;

		d->io_ready = true;
		r = virtio_host_init(&d->host, &vm->kvm, &vm->routes, &io, 1, 2, k->ioeventfd,
				     k->irqfd);
	}
	if (!r) {
		d->host_ready = true;
		r = virtio_pci_init(&d->t, &vm->gm, &virtio_rng_ops, &d->model,
				    virtio_rng_features(), 1, RNG_QUEUE_SIZE, 0, &virtio_host_ops,
				    &virtio_host_msix_ops, &d->host);
	}
	if (!r) {
		d->t_ready = true;
		d->model.t = &d->t;
		d->model.fill = virtio_rng_getrandom;
		d->host.t = &d->t;
		r = pci_bus_add(&vm->pci, &d->t.func);
		r = r < 0 ? r : 0;
	}
	if (r)
		snprintf(err, errlen, "--rng: %s", strerror(-r));
	return r;
}

static void print_rng_stats(struct vm *vm, FILE *f)
{
	struct vm_rng *d = &vm->rng;
	struct virtio_pci *t = &d->t;

	fprintf(f,
		"kvmlab: virtio-rng 00:%02x.0: requests=%" PRIu64 " bytes=%" PRIu64
		" kicks=%" PRIu64 " mmio_kicks=%" PRIu64 " irqfd=%" PRIu64 " msi=%" PRIu64
		" intx=%" PRIu64 " pending=%" PRIu64 " needs_reset=%" PRIu64 " errors=%" PRIu64
		" resets=%" PRIu64 " kick_path=%s irq_path=%s bar=0x%" PRIx64 "\n",
		t->func.slot, atomic_load(&d->model.requests), atomic_load(&d->model.bytes),
		atomic_load(&d->host.q[0].wakeups), atomic_load(&t->stats.mmio_kicks),
		atomic_load(&d->host.irqfd_sent), atomic_load(&d->host.msi_sent),
		atomic_load(&t->stats.intx), atomic_load(&t->msix.pending),
		atomic_load(&t->stats.needs_reset), atomic_load(&d->model.errors),
		atomic_load(&t->stats.resets), d->host.ioeventfd ? "ioeventfd" : "exit",
		d->host.irqfd ? "irqfd" : "signal-msi", t->bar_addr);
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

#define VM_MAX_CPUID 256

/* The guest topology of --cpus (flat when the config has none). */
static struct cpuid_topology vm_topology(const struct config *cfg)
{
	const struct cpu_opts *o = &cfg->cpu;

	if (o->boot != cfg->cpus || o->sockets * o->cores * o->threads != cfg->cpus)
		return cpuid_topology_flat(cfg->cpus);
	return (struct cpuid_topology){
	    .sockets = o->sockets, .cores_per_socket = o->cores, .threads_per_core = o->threads};
}

/* APIC IDs of the vCPUs (ids[0..cfg->cpus)) for the MP table and MADT;
 * -EINVAL if the topology is not usable. */
static int vm_apic_ids(const struct config *cfg, uint8_t *ids, char *err, size_t errlen)
{
	struct cpuid_topology t = vm_topology(cfg);

	if (cfg->cpus < 1 || cfg->cpus > CLI_MAX_CPUS) {
		snprintf(err, errlen, "--cpus %u: must be 1..%d", cfg->cpus, CLI_MAX_CPUS);
		return -EINVAL;
	}
	if (cpuid_topology_check(&t) || cpuid_topology_ncpus(&t) != cfg->cpus) {
		snprintf(err, errlen, "--cpus: topology %u:%u:%u does not fit %u vCPUs", t.sockets,
			 t.cores_per_socket, t.threads_per_core, cfg->cpus);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->cpus; i++)
		ids[i] = (uint8_t)cpuid_apic_id(&t, i);
	return 0;
}

/* --cpus halt-poll-ns: not every host has the capability; then go on. */
static void set_halt_poll(struct vm *vm)
{
	const struct cpu_opts *o = &vm->cfg->cpu;
	int r;

	if (!o->halt_poll_set)
		return;
	r = kvm_set_halt_poll(&vm->kvm, o->halt_poll_ns);
	if (r)
		fprintf(stderr,
			"kvmlab: warning: --cpus halt-poll-ns=%u not applied (KVM_CAP_HALT_POLL: "
			"%s); KVM's default halt polling stays\n",
			o->halt_poll_ns, strerror(-r));
}

static int create_vcpus(struct vm *vm, char *err, size_t errlen)
{
	const struct cpu_opts *o = &vm->cfg->cpu;
	struct cpuid_topology topo = vm_topology(vm->cfg);
	struct kvm_cpuid_entry2 *host, *mine;
	int nhost, r = 0;

	set_halt_poll(vm);
	if ((int)vm->cfg->cpus > vm->kvm.max_vcpus) {
		snprintf(err, errlen, "--cpus: %u is more than this host's KVM allows (%d)",
			 vm->cfg->cpus, vm->kvm.max_vcpus);
		return -EINVAL;
	}
	vm->vcpus = calloc(vm->cfg->cpus, sizeof(*vm->vcpus));
	host = calloc(VM_MAX_CPUID, sizeof(*host));
	mine = calloc(VM_MAX_CPUID, sizeof(*mine));
	if (!vm->vcpus || !host || !mine) {
		r = -ENOMEM;
		goto out;
	}
	nhost = kvm_get_supported_cpuid(&vm->kvm, host, VM_MAX_CPUID);
	if (nhost < 0) {
		r = nhost;
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
		goto out;
	}
	for (unsigned int i = 0; i < vm->cfg->cpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int n;

		v->vm = vm;
		v->id = i;
		v->apic_id = cpuid_apic_id(&topo, i); /* KVM's vCPU id is the APIC ID */
		v->fd = -1;
		if (i < CPU_OPTS_MAX_VCPUS && o->affinity_set[i])
			vcpu_set_affinity(v, &o->affinity[i]);
		r = kvm_create_vcpu(&vm->kvm, v->apic_id, &v->fd, &v->run);
		if (r) {
			snprintf(err, errlen, "KVM_CREATE_VCPU %u (APIC ID %u): %s", i, v->apic_id,
				 strerror(-r));
			goto out;
		}
		vm->ncpus++;
		r = cpuid_for_vcpu(host, nhost, i, &topo, mine, VM_MAX_CPUID, &n);
		if (!r)
			r = vcpu_init_state(v, mine, n);
		if (r) {
			snprintf(err, errlen, "vcpu%u state: %s", i, strerror(-r));
			goto out;
		}
	}
out:
	free(host);
	free(mine);
	return r;
}

/* Kernel, initrd and command line: given ones, or the default guest's.  A
 * command after "--" is appended as kvmlab.cmd=<hex>, which the default
 * guest's init decodes and runs. */
static int resolve_guest(struct vm *vm, const struct config *cfg, char *err, size_t errlen)
{
	const char *base = cfg->cmdline;
	size_t blen, clen;
	int r;

	if (cfg->kernel) {
		snprintf(vm->kernel_path, sizeof(vm->kernel_path), "%s", cfg->kernel);
		if (cfg->initrd)
			snprintf(vm->initrd_path, sizeof(vm->initrd_path), "%s", cfg->initrd);
	} else {
		r = default_guest_find(vm->kernel_path, sizeof(vm->kernel_path), vm->initrd_path,
				       sizeof(vm->initrd_path), err, errlen);
		if (r)
			return r;
		if (cfg->initrd)
			snprintf(vm->initrd_path, sizeof(vm->initrd_path), "%s", cfg->initrd);
		if (!base)
			base = DEFAULT_GUEST_CMDLINE;
	}
	blen = base ? strlen(base) : 0;
	clen = blen + 1;
	if (cfg->guest_argv) {
		size_t hex =
		    guest_cmd_encoded_len((const char *const *)cfg->guest_argv, cfg->guest_argc);
		clen += sizeof(" " GUEST_CMD_PARAM "=") + hex;
	}
	vm->cmdline = malloc(clen);
	if (!vm->cmdline)
		return -ENOMEM;
	memcpy(vm->cmdline, base ? base : "", blen + 1);
	if (cfg->guest_argv) {
		size_t off =
		    (size_t)sprintf(vm->cmdline + blen, "%s" GUEST_CMD_PARAM "=", blen ? " " : "") +
		    blen;
		r = guest_cmd_encode((const char *const *)cfg->guest_argv, cfg->guest_argc,
				     vm->cmdline + off, clen - off);
		if (r < 0) {
			snprintf(err, errlen, "--: cannot encode the command: %s", strerror(-r));
			return r;
		}
	}
	return 0;
}

int vm_create(struct vm *vm, const struct config *cfg, uint64_t t0_ns, char *err, size_t errlen)
{
	uint8_t apic_ids[CLI_MAX_CPUS];
	struct boot_entry be;
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->t0_ns = t0_ns;
	vm->kvm.sys_fd = vm->kvm.vm_fd = -1;
	vm->serial_fd = -1;
	vm->stop_efd = -1;
	pthread_condattr_t ca;

	if (pthread_condattr_init(&ca) || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	    pthread_mutex_init(&vm->pause_lock, NULL) || pthread_cond_init(&vm->pause_cond, &ca)) {
		snprintf(err, errlen, "out of resources");
		return -ENOMEM;
	}
	pthread_condattr_destroy(&ca);
	vm->pause_ready = true;
	if (pthread_mutex_init(&vm->stop_lock, NULL) || bus_init(&vm->pio, "pio") ||
	    bus_init(&vm->mmio, "mmio") || boot_marker_init(&vm->marker, t0_ns)) {
		snprintf(err, errlen, "out of resources");
		return -ENOMEM;
	}
	vm->trace = cfg->trace_exits ? stderr : NULL;
	if (cfg->stats) {
		vm->threads = calloc(THREADS_MAX, sizeof(*vm->threads));
		if (!vm->threads) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}

	/* Guest RAM and the kernel first: bad files fail before KVM is touched. */
	r = resolve_guest(vm, cfg, err, errlen);
	if (r)
		return r;
	r = map_ram(vm, &cfg->mem, err, errlen);
	if (r)
		return r;
	r = vm_apic_ids(cfg, apic_ids, err, errlen);
	if (r)
		return r;
	r = boot_load_kernel(vm->kernel_path, vm->initrd_path[0] ? vm->initrd_path : NULL,
			     vm->cmdline, cfg->cpus, apic_ids, &vm->gm, &be, err, errlen);
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
	r = setup_irqchip(vm, err, errlen);
	if (r)
		return r;
	r = map_ram_slots(vm, err, errlen);
	if (r)
		return r;
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
	r = setup_pci(vm, err, errlen);
	if (r)
		return r;
	if (cfg->rng.enabled) {
		r = add_rng(vm, err, errlen);
		if (r)
			return r;
	}
	for (unsigned int i = 0; i < cfg->ndisks; i++) {
		r = vm_disk_create(&vm->disks[i], vm, &cfg->disks[i], i, err, errlen);
		vm->ndisks++;
		if (r)
			return r;
	}
	for (unsigned int i = 0; i < cfg->nnets; i++) {
		r = vm_net_create(&vm->nets[i], vm, &cfg->nets[i], i, err, errlen);
		vm->nnets++;
		if (r)
			return r;
	}
	if (cfg->balloon.enabled) {
		r = vm_balloon_create(&vm->balloon, vm, &cfg->balloon, err, errlen);
		if (r)
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
	/* last: a socket appears only for a VM that is ready to run */
	if (cfg->api_socket) {
		r = vm_api_create(vm, cfg->api_socket, err, errlen);
		if (r)
			return r;
	}
	return 0;
}

#define ESCAPE_CHAR 0x01 /* Ctrl-A, then 'x' quits (as in QEMU) */

/* On a terminal, handle the Ctrl-A escape: Ctrl-A x stops the VM, Ctrl-A
 * Ctrl-A sends one Ctrl-A.  Returns the number of bytes left in buf. */
static size_t filter_escape(struct vm *vm, uint8_t *buf, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		if (vm->escape_pending) {
			vm->escape_pending = false;
			if (buf[i] == 'x') {
				vm_request_stop(vm, 0, "stopped by Ctrl-A x");
				return 0;
			}
			if (buf[i] != ESCAPE_CHAR)
				continue;
		} else if (buf[i] == ESCAPE_CHAR) {
			vm->escape_pending = true;
			continue;
		}
		buf[out++] = buf[i];
	}
	return out;
}

/* Feed stdin to the UART while it has room; returns false at end of input. */
static bool pump_stdin(struct vm *vm, bool tty)
{
	uint8_t buf[UART_RX_SIZE];
	unsigned int room = uart_rx_room(&vm->uart);
	ssize_t n;

	if (room == 0)
		return true;
	n = read(STDIN_FILENO, buf, room);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return false;
	if (n > 0 && tty)
		n = (ssize_t)filter_escape(vm, buf, (size_t)n);
	if (n > 0)
		uart_rx_push(&vm->uart, buf, (unsigned int)n);
	return true;
}

static int main_loop(struct vm *vm, int sfd, bool tty)
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
			stdin_open = pump_stdin(vm, tty);
	}
	return 0;
}

/* --stats: every thread of kvmlab with its TID, CPU set and CPU time, as
 * taken when the stop began. */
static void print_threads(const struct vm *vm, FILE *f)
{
	const struct thread_info *th = vm->threads;
	long hz = sysconf(_SC_CLK_TCK);

	for (int i = 0; i < vm->nthreads; i++)
		fprintf(f, "kvmlab: thread %s tid=%d cpus=%s cpu=%.2fs guest=%.2fs\n", th[i].name,
			(int)th[i].tid, th[i].cpus,
			(double)(th[i].user_ticks + th[i].sys_ticks - th[i].guest_ticks) / hz,
			(double)th[i].guest_ticks / hz);
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

/* Every IO thread gets the --seccomp mode; each installs its filter as it
 * starts. */
static void set_io_seccomp(struct vm *vm)
{
	enum seccomp_mode m = vm->cfg->seccomp;

	if (vm->rng.present)
		iothread_set_seccomp(&vm->rng.io, m);
	for (unsigned int i = 0; i < vm->ndisks; i++)
		for (unsigned int j = 0; j < vm->disks[i].nthreads; j++)
			iothread_set_seccomp(&vm->disks[i].threads[j].io, m);
	for (unsigned int i = 0; i < vm->nnets; i++)
		for (unsigned int j = 0; j < vm->nets[i].nthreads; j++)
			iothread_set_seccomp(&vm->nets[i].threads[j], m);
	if (vm->balloon.present)
		iothread_set_seccomp(&vm->balloon.io, m);
}

/* --stats: open every thread's /proc files now that all run.  A stop that
 * began before (a guest that failed at once) gets its list here, from
 * whichever threads are still there. */
static void watch_threads(struct vm *vm)
{
	struct threads_watch *w = calloc(1, sizeof(*w));

	if (!w || threads_watch_open(w, NULL) < 0) {
		free(w);
		return; /* --stats then lists no threads */
	}
	pthread_mutex_lock(&vm->stop_lock);
	vm->watch = w;
	if (atomic_load(&vm->stopping))
		vm->nthreads = threads_watch_read(w, vm->threads, THREADS_MAX);
	pthread_mutex_unlock(&vm->stop_lock);
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
	if (sfd < 0 || vcpu_install_kick_handler() < 0 || seccomp_install_handler() < 0) {
		fprintf(stderr, "kvmlab: signal setup: %s\n", strerror(errno));
		if (sfd >= 0)
			close(sfd);
		return 1;
	}

	/* IO threads first: a kick may come with the first instruction. */
	set_io_seccomp(vm);
	if (vm->rng.present)
		r = iothread_start(&vm->rng.io);
	for (unsigned int i = 0; i < vm->ndisks && !r; i++)
		r = vm_disk_start(&vm->disks[i]);
	for (unsigned int i = 0; i < vm->nnets && !r; i++)
		r = vm_net_start(&vm->nets[i]);
	if (vm->balloon.present && !r)
		r = vm_balloon_start(&vm->balloon);
	pthread_mutex_lock(&vm->stop_lock);
	for (unsigned int i = 0; i < vm->ncpus && !r; i++)
		r = vcpu_start(&vm->vcpus[i]);
	pthread_mutex_unlock(&vm->stop_lock);
	if (!r)
		r = vm_api_start(vm);
	if (!r && vm->threads)
		watch_threads(vm);
	/* last: every other thread is running (and filtered by its own list);
	 * from here on the main thread only serves and tears down */
	if (!r && (r = seccomp_apply(SECCOMP_KIND_MAIN, vm->cfg->seccomp)))
		fprintf(stderr, "kvmlab: --seccomp: cannot install the filter: %s\n",
			strerror(-r));
	if (r) {
		fprintf(stderr, "kvmlab: cannot start a vCPU, IO or API thread: %s\n",
			strerror(-r));
		vm_request_stop(vm, 1, NULL);
	} else {
		struct termios saved;
		bool tty = vm->cfg->serial == SERIAL_STDIO && isatty(STDIN_FILENO) &&
			   tcgetattr(STDIN_FILENO, &saved) == 0;

		if (tty) {
			/* Raw input: keys (Ctrl-C too) go to the guest. */
			struct termios raw = saved;
			cfmakeraw(&raw);
			raw.c_oflag |= OPOST | ONLCR; /* keep kvmlab's own messages readable */
			tcsetattr(STDIN_FILENO, TCSANOW, &raw);
			fprintf(stderr, "kvmlab: console attached; Ctrl-A x quits\r\n");
		}
		main_loop(vm, sfd, tty);
		if (tty)
			tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	}
	vm_request_stop(vm, 1, NULL); /* no-op if already stopping */
	/* first: no API handler may kick a vCPU thread once it is joined (a
	 * handler waiting in vm_pause returns: stopping is set) */
	vm_api_destroy(vm);
	for (unsigned int i = 0; i < vm->ncpus; i++)
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
	if (vm->rng.present)
		iothread_stop(&vm->rng.io);
	for (unsigned int i = 0; i < vm->ndisks; i++)
		vm_disk_stop(&vm->disks[i]);
	for (unsigned int i = 0; i < vm->nnets; i++)
		vm_net_stop(&vm->nets[i]);
	vm_balloon_stop(&vm->balloon);
	close(sfd);
	if (vm->cfg->trace_boot)
		print_boot_timeline(vm);
	if (vm->cfg->stats) {
		print_threads(vm, stderr);
		print_memory_stats(vm, stderr);
		for (unsigned int i = 0; i < vm->ncpus; i++)
			vcpu_print_stats(&vm->vcpus[i], stderr);
		if (vm->rng.present)
			print_rng_stats(vm, stderr);
		for (unsigned int i = 0; i < vm->ndisks; i++)
			vm_disk_print_stats(&vm->disks[i], stderr);
		for (unsigned int i = 0; i < vm->nnets; i++)
			vm_net_print_stats(&vm->nets[i], stderr);
		if (vm->balloon.present)
			vm_balloon_print_stats(&vm->balloon, stderr);
	}
	return vm->exit_status;
}

static void destroy_rng(struct vm_rng *d)
{
	if (d->io_ready)
		iothread_stop(&d->io);
	if (d->host_ready)
		virtio_host_destroy(&d->host);
	if (d->t_ready)
		virtio_pci_destroy(&d->t);
	if (d->io_ready)
		iothread_destroy(&d->io);
	d->io_ready = d->host_ready = d->t_ready = false;
}

void vm_destroy(struct vm *vm)
{
	vm_api_destroy(vm);
	/* Device threads stop first; unmapping the BARs then unbinds their
	 * ioeventfds while the devices still exist. */
	if (vm->rng.io_ready)
		iothread_stop(&vm->rng.io);
	for (unsigned int i = 0; i < vm->ndisks; i++)
		vm_disk_stop(&vm->disks[i]);
	for (unsigned int i = 0; i < vm->nnets; i++)
		vm_net_stop(&vm->nets[i]);
	if (vm->pci_ready)
		pci_bus_destroy(&vm->pci);
	vm->pci_ready = false;
	destroy_rng(&vm->rng);
	for (unsigned int i = 0; i < vm->ndisks; i++)
		vm_disk_destroy(&vm->disks[i]);
	vm->ndisks = 0;
	for (unsigned int i = 0; i < vm->nnets; i++)
		vm_net_destroy(&vm->nets[i]);
	vm->nnets = 0;
	vm_balloon_destroy(&vm->balloon);
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		kvm_vcpu_unmap(&vm->kvm, vm->vcpus[i].run);
		close(vm->vcpus[i].fd);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
	free(vm->cmdline);
	vm->cmdline = NULL;
	vm->ncpus = 0;
	irq_routes_destroy(&vm->routes);
	kvm_close(&vm->kvm);
	for (unsigned int i = 0; i < vm->nr_ram; i++)
		mem_backing_release(&vm->ram[i]);
	vm->nr_ram = 0;
	if (vm->serial_fd_owned)
		close(vm->serial_fd);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	uart_destroy(&vm->uart);
	boot_marker_destroy(&vm->marker);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	pthread_mutex_destroy(&vm->stop_lock);
	free(vm->threads);
	vm->threads = NULL;
	if (vm->watch)
		threads_watch_close(vm->watch);
	free(vm->watch);
	vm->watch = NULL;
	if (vm->pause_ready) {
		pthread_mutex_destroy(&vm->pause_lock);
		pthread_cond_destroy(&vm->pause_cond);
		vm->pause_ready = false;
	}
}
