/* Command-line parsing for `kvmlab`.  Pure: no file is opened and nothing
 * is started, so every refusal can be unit-tested (the one look at the host
 * is the process's CPU affinity, against which --cpus affinity= is
 * checked). */
#ifndef KVMLAB_VMM_CLI_H
#define KVMLAB_VMM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/mem_opts.h"
#include "vmm/cpu_opts.h"
#include "vmm/balloon_opts.h"
#include "vmm/disk_opts.h"
#include "vmm/net_opts.h"
#include "vmm/seccomp.h"

#define CLI_MAX_CPUS	CPU_OPTS_MAX_VCPUS
#define CLI_DEFAULT_MEM (512ull << 20)
#define CLI_MIN_MEM	MEM_OPTS_MIN_SIZE

enum serial_mode { SERIAL_STDIO, SERIAL_FILE, SERIAL_OFF };

/* Notification paths of a virtio device: kicks through ioeventfd (else
 * MMIO exits on the vCPU thread), interrupts through irqfd (else
 * KVM_SIGNAL_MSI from the IO thread). */
struct virtio_knobs {
	bool ioeventfd;
	bool irqfd;
};

struct rng_config {
	bool enabled; /* --rng given */
	struct virtio_knobs knobs;
};

struct config {
	const char *kernel; /* NULL: the default guest */
	const char *initrd;
	const char *cmdline;
	struct mem_opts mem; /* --memory; mem.size is the RAM size */
	unsigned int cpus;   /* vCPU count: cpu.boot */
	struct cpu_opts cpu; /* --cpus: count, topology, affinity, halt polling */
	enum serial_mode serial;
	const char *serial_path; /* for SERIAL_FILE */
	bool stats;
	bool trace_exits;
	bool trace_boot;
	struct rng_config rng;
	struct disk_opts disks[DISK_MAX]; /* --disk, in order: vda, vdb, ... */
	unsigned int ndisks;
	struct net_opts nets[NET_MAX]; /* --net, in order: eth0, eth1, ... */
	unsigned int nnets;
	struct balloon_opts balloon; /* --balloon */
	const char *api_socket;	     /* --api-socket PATH, or NULL */
	enum seccomp_mode seccomp;   /* --seccomp on|off|log (default on) */
	char **guest_argv;	     /* words after "--", NULL-terminated, or NULL */
	int guest_argc;
};

enum cli_action {
	CLI_RUN,
	CLI_HELP,     /* kvmlab --help */
	CLI_RUN_HELP, /* kvmlab run --help */
	CLI_VERSION,
};

/* Parse argv (argv[0] is the program).  Returns a cli_action (>= 0) with
 * *c filled for CLI_RUN, or -EINVAL with a one-line reason naming the
 * option in err.  argv must outlive *c. */
int cli_parse(int argc, char **argv, struct config *c, char *err, size_t errlen);

/* Usage texts. */
extern const char cli_usage[];
extern const char cli_run_usage[];

#endif
