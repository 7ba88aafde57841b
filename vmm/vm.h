/* A virtual machine: KVM objects, guest RAM, buses, devices and vCPUs,
 * assembled from a parsed configuration. */
#ifndef KVMLAB_VMM_VM_H
#define KVMLAB_VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mem/backend.h"
#include "mem/guest_mem.h"
#include "mem/layout.h"
#include "vmm/acpi_pm.h"
#include "vmm/boot_marker.h"
#include "vmm/bus.h"
#include "vmm/cli.h"
#include "vmm/debug_exit.h"
#include "vmm/i8042.h"
#include "vmm/iothread.h"
#include "vmm/irq_routes.h"
#include "vmm/kvm.h"
#include "vmm/pci.h"
#include "vmm/stopwatch.h"
#include "vmm/threads.h"
#include "vmm/uart.h"
#include "vmm/vcpu.h"
#include "vmm/virtio_host.h"
#include "vmm/vm_balloon.h"
#include "vmm/vm_disk.h"
#include "vmm/vm_net.h"
#include "virtio/rng.h"

/* A virtio-rng device with its transport, host side and IO thread. */
struct vm_rng {
	bool present;
	struct virtio_rng model;
	struct virtio_pci t;
	struct virtio_host host;
	struct iothread io;
	bool t_ready, host_ready, io_ready;
};

struct api_server;

struct vm {
	const struct config *cfg;
	uint64_t t0_ns; /* process start, CLOCK_MONOTONIC */
	struct kvm kvm;
	struct mem_backing ram[MEM_LAYOUT_MAX]; /* one host mapping per RAM region */
	unsigned int nr_ram;
	struct guest_mem gm;
	struct bus pio, mmio;
	int serial_fd; /* UART output */
	bool serial_fd_owned;
	struct uart uart;
	struct debug_exit debug_exit;
	struct i8042 i8042;
	struct acpi_pm acpi_pm;
	struct boot_marker marker;
	struct stopwatch stopwatch;
	struct irq_routes routes; /* GSI routing: irqchip pins + MSI routes */
	struct pci_bus pci;
	bool pci_ready;
	struct vm_rng rng;
	struct vm_disk disks[DISK_MAX];
	unsigned int ndisks;
	struct vm_net nets[NET_MAX];
	unsigned int nnets;
	struct vm_balloon balloon;
	struct api_server *api; /* --api-socket, or NULL */
	/* --stats: kvmlab's threads as they were when the stop began (all of
	 * them still there) */
	struct thread_info *threads;
	int nthreads;
	/* every thread's /proc files, opened by main once all run, so the
	 * thread that begins the stop (any kind, under its seccomp list)
	 * takes the list with pread alone */
	struct threads_watch *watch;
	struct vcpu *vcpus;
	unsigned int ncpus;
	FILE *trace; /* --trace exits destination, or NULL */
	char kernel_path[512];
	char initrd_path[512];
	char *cmdline;	     /* composed command line (malloc'd), or NULL */
	bool escape_pending; /* interactive console: Ctrl-A seen */

	/* Stop protocol: the first vm_request_stop wins. */
	pthread_mutex_t stop_lock;
	atomic_bool stopping;
	int exit_status;
	int stop_efd; /* becomes readable once stopping */
	atomic_bool reset_requested;

	/* Pause protocol (vm_pause): vCPU threads park on pause_cond while
	 * pause_req is set; parked counts them.  Lock order: stop_lock, then
	 * pause_lock. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	atomic_bool pause_req;
	unsigned int parked;
	bool pause_ready; /* lock and cond initialised */

	uint64_t t_vm_created_ns;
	_Atomic uint64_t t_first_run_ns;
};

/* Build the VM described by cfg: load the kernel, open KVM, map RAM,
 * register devices, create vCPUs.  Nothing runs yet.  On failure returns a
 * negative errno with a one-line reason in err; everything acquired so far
 * is released. */
int vm_create(struct vm *vm, const struct config *cfg, uint64_t t0_ns, char *err, size_t errlen);

/* Run until the guest or a signal stops the VM; returns kvmlab's exit
 * status.  Blocks SIGINT/SIGTERM/SIGHUP in the calling thread and handles
 * them (status 128+signal). */
int vm_run(struct vm *vm);

/* Release everything vm_create acquired.  Safe after a failed create. */
void vm_destroy(struct vm *vm);

/* Ask every vCPU to stop; the first request sets the exit status.  Safe
 * from any thread.  reason (may be NULL) is printed on stderr. */
void vm_request_stop(struct vm *vm, int status, const char *reason);

/* Park every running vCPU outside KVM_RUN and return once all are
 * parked (or the VM is stopping).  Any thread but a vCPU's.  Returns 0,
 * -ESHUTDOWN if the VM is already stopping, or -ETIMEDOUT if a vCPU did not
 * park within 10 s (the pause is then undone: the VM runs on). */
int vm_pause(struct vm *vm);

/* Let parked vCPUs run again.  Any thread. */
void vm_resume(struct vm *vm);

/* Whether a pause is in effect. */
bool vm_paused(const struct vm *vm);

/* On a vCPU thread: park while a pause is requested (called by the run
 * loop before KVM_RUN when pause_req is set). */
void vm_vcpu_park(struct vm *vm);

/* Sum of exits of all vCPUs so far. */
uint64_t vm_exits_total(const struct vm *vm);

#endif
