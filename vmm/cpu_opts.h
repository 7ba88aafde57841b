/* The `--cpus` option:
 *   --cpus N
 *   --cpus boot=N[,affinity=VCPU@CPULIST[:VCPU@CPULIST...]]
 *          [,topology=SOCKETS:CORES:THREADS][,halt-poll-ns=N]
 * boot is the vCPU count (default: the topology's product, else 1);
 * topology (default 1:N:1) must multiply to it; affinity pins vCPU threads
 * to host CPUs, and a CPU list may itself hold ',' or ':' between numbers
 * ("0@0-1,4:1@2": vCPU 0 on CPUs 0, 1 and 4, vCPU 1 on CPU 2); vCPUs without
 * an entry keep kvmlab's own CPUs; halt-poll-ns sets KVM's halt polling for
 * the VM (KVM_CAP_HALT_POLL).  Pure: the parser reads only its argument, and
 * the affinity check takes the CPUs kvmlab may use as a parameter. */
#ifndef KVMLAB_VMM_CPU_OPTS_H
#define KVMLAB_VMM_CPU_OPTS_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

#define CPU_OPTS_MAX_VCPUS 254 /* APIC IDs 0..253 + the I/O APIC's */

struct cpu_opts {
	unsigned int boot;    /* vCPUs, 1..CPU_OPTS_MAX_VCPUS */
	unsigned int sockets; /* sockets * cores * threads == boot; */
	unsigned int cores;   /* default 1 x boot x 1 */
	unsigned int threads;
	bool topology_set;  /* topology= given */
	bool halt_poll_set; /* halt-poll-ns= given */
	unsigned int halt_poll_ns;
	unsigned int naffinity; /* vCPUs with an affinity entry */
	bool affinity_set[CPU_OPTS_MAX_VCPUS];
	cpu_set_t affinity[CPU_OPTS_MAX_VCPUS]; /* nonempty where affinity_set */
};

/* The defaults: 1 vCPU, flat topology, no affinity, KVM's halt polling. */
void cpu_opts_init(struct cpu_opts *o);

/* Parse one --cpus value (N, or KEY=VALUE items) into *o, defaults first.
 * Returns 0, or -EINVAL with a one-line reason naming --cpus and the key in
 * err: unknown key, boot not in 1..CPU_OPTS_MAX_VCPUS, affinity malformed,
 * for a vCPU >= boot, naming a vCPU twice or with an empty or malformed CPU
 * list, topology malformed, with a count of 0, not multiplying to boot, or
 * needing APIC IDs above 254 (see vmm/cpuid.h), halt-poll-ns not a number
 * from 0 to UINT_MAX. */
int cpu_opts_parse(const char *s, struct cpu_opts *o, char *err, size_t errlen);

/* Check every affinity entry of *o against allowed (the CPUs kvmlab may run
 * on, e.g. sched_getaffinity of the process).  Returns 0, or -EINVAL with
 * a one-line reason naming --cpus, affinity, the vCPU and the CPUs outside
 * allowed. */
int cpu_opts_check_affinity(const struct cpu_opts *o, const cpu_set_t *allowed, char *err,
			    size_t errlen);

#endif
