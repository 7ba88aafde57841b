/* Per-vCPU CPUID tables, built as pure functions over the table that
 * KVM_GET_SUPPORTED_CPUID returns, so unit tests can feed hand-made host
 * tables.  No ioctls here: vmm/kvm.c fetches the host table and installs the
 * result with KVM_SET_CPUID2.
 *
 * Guest topology: sockets x cores_per_socket x threads_per_core, numbered
 * socket-major (vCPU index = (socket * cores + core) * threads + thread).
 * APIC IDs follow the hardware (and QEMU) layout
 *   apic_id = socket << (core_bits + thread_bits) | core << thread_bits | thread
 * with core_bits = ceil(log2(cores)), thread_bits = ceil(log2(threads)), so
 * counts that are not powers of two leave unused IDs (2 sockets of 3 cores:
 * 0, 1, 2, 4, 5, 6).  KVM's vCPU id, the MP table and the MADT must use the
 * same IDs (cpuid_apic_id()).
 *
 * KVM paravirt features: KVM_GET_SUPPORTED_CPUID already reports leaf
 * 0x40000000 (signature "KVMKVMKVM\0\0\0") and leaf 0x40000001 whose EAX
 * holds every KVM_FEATURE_* bit (kvm-clock, async PF, steal time, PV EOI,
 * PV unhalt, PV TLB flush, PV send IPI, ...) the host kernel supports, and
 * EDX the (all clear) hints.  cpuid_for_vcpu() copies those bits unchanged;
 * a caller that wants fewer features clears them in its output. */
#ifndef KVMLAB_VMM_CPUID_H
#define KVMLAB_VMM_CPUID_H

#include <stdint.h>

#include <linux/kvm.h>

/* Leaves this module reads or rewrites. */
#define CPUID_LEAF_VENDOR    0x00000000u
#define CPUID_LEAF_FEATURES  0x00000001u
#define CPUID_LEAF_CACHE     0x00000004u /* Intel deterministic cache parameters */
#define CPUID_LEAF_TOPO	     0x0000000bu /* extended topology */
#define CPUID_LEAF_TOPO_V2   0x0000001fu /* V2 extended topology */
#define CPUID_LEAF_HV_BASE   0x40000000u /* KVM_CPUID_SIGNATURE */
#define CPUID_LEAF_HV_FEAT   0x40000001u /* KVM_CPUID_FEATURES */
#define CPUID_LEAF_HV_LAST   0x400000ffu /* end of the KVM hypervisor range */
#define CPUID_LEAF_EXT_MAX   0x80000000u
#define CPUID_LEAF_EXT_FEAT  0x80000001u
#define CPUID_LEAF_EXT_SIZES 0x80000008u /* AMD: NC, ApicIdCoreIdSize */
#define CPUID_LEAF_AMD_CACHE 0x8000001du /* AMD cache topology */
#define CPUID_LEAF_AMD_TOPO  0x8000001eu /* AMD extended APIC ID / core / node */

/* Bits this module sets or tests. */
#define CPUID_1_EDX_HTT		      (1u << 28)
#define CPUID_1_ECX_X2APIC	      (1u << 21)
#define CPUID_1_ECX_HYPERVISOR	      (1u << 31)
#define CPUID_80000001_ECX_CMP_LEGACY (1u << 1)
#define CPUID_80000001_ECX_TOPOEXT    (1u << 22) /* leaves 0x8000001D/E present */

/* Leaf 0xB / 0x1F level types (ECX[15:8]). */
#define CPUID_TOPO_LEVEL_INVALID 0u
#define CPUID_TOPO_LEVEL_SMT	 1u
#define CPUID_TOPO_LEVEL_CORE	 2u

/* Highest APIC ID a vCPU may have: IDs must fit the 8-bit xAPIC field and
 * 0xFF is the broadcast ID. */
#define CPUID_MAX_APIC_ID 0xfeu

enum cpuid_vendor {
	CPUID_VENDOR_OTHER,
	CPUID_VENDOR_INTEL, /* "GenuineIntel" */
	CPUID_VENDOR_AMD,   /* "AuthenticAMD" */
	CPUID_VENDOR_HYGON, /* "HygonGenuine" (AMD topology rules) */
};

struct cpuid_topology {
	unsigned int sockets;	       /* >= 1 */
	unsigned int cores_per_socket; /* >= 1 */
	unsigned int threads_per_core; /* >= 1 */
};

/* The usual layout for n vCPUs: one socket, n cores, one thread per core. */
struct cpuid_topology cpuid_topology_flat(unsigned int ncpus);

/* vCPUs in *t: sockets * cores_per_socket * threads_per_core (0 if that
 * exceeds UINT_MAX or t is NULL). */
unsigned int cpuid_topology_ncpus(const struct cpuid_topology *t);

/* Whether *t can be given to a guest.  Returns 0; -EINVAL if t is NULL or a
 * count is 0; -ERANGE if the highest APIC ID (cpuid_max_apic_id) would be
 * above CPUID_MAX_APIC_ID (counts above 255 are always out of range). */
int cpuid_topology_check(const struct cpuid_topology *t);

/* APIC ID of vCPU index (socket-major order, see above) in a topology that
 * passed cpuid_topology_check, for index < cpuid_topology_ncpus(t). */
uint32_t cpuid_apic_id(const struct cpuid_topology *t, unsigned int index);

/* APIC ID of the last vCPU, the highest one (t checked as above). */
uint32_t cpuid_max_apic_id(const struct cpuid_topology *t);

/* Vendor named by leaf 0 of e[0..n) (CPUID_VENDOR_OTHER when leaf 0 is
 * missing or unknown).  Never fails. */
enum cpuid_vendor cpuid_vendor_of(const struct kvm_cpuid_entry2 *e, int n);

/* The entry of e[0..n) that the CPU would return for (function, index),
 * matching index only on entries flagged KVM_CPUID_FLAG_SIGNIFCANT_INDEX
 * (as KVM does).  Returns NULL when there is none (or e is NULL). */
const struct kvm_cpuid_entry2 *cpuid_lookup(const struct kvm_cpuid_entry2 *e, int n,
					    uint32_t function, uint32_t index);

/* Build the CPUID table of vCPU cpu_index of a guest with topology *topo
 * from host[0..nhost) (as KVM_GET_SUPPORTED_CPUID returns it; not modified)
 * into out[0..max_out), and store the entry count in *nout.  Below, "thread
 * bits" = ceil(log2(threads_per_core)), "package bits" = thread bits +
 * ceil(log2(cores_per_socket)), "per package" = cores * threads.
 *
 * Every host entry is copied, in order, except that:
 *  - leaf 0x1: EBX[31:24] = APIC ID, EBX[23:16] = 1 << package bits (capped
 *    at 255), EDX.HTT = (per package > 1), ECX.hypervisor set; ECX.x2APIC and
 *    all other feature bits are kept as KVM reports them;
 *  - leaf 0x4 and 0x8000001D (each non-null cache subleaf): EAX[25:14]
 *    (IDs sharing the cache - 1) = (1 << thread bits) - 1 for L1/L2,
 *    (1 << package bits) - 1 for L3+; leaf 0x4 EAX[31:26] = (1 << (package
 *    bits - thread bits)) - 1 (capped at 63);
 *  - leaves 0xB and 0x1F: all host subleaves are replaced by exactly three:
 *    SMT level (index 0: EAX = thread bits, EBX = threads_per_core), core
 *    level (index 1: EAX = package bits, EBX = per package), invalid (index
 *    2), each with EDX = APIC ID; on an Intel host a missing 0xB (0x1F) is
 *    added when leaf 0 EAX >= 0xB (0x1F), i.e. when the guest can see it;
 *  - AMD/Hygon: 0x80000001 ECX.CmpLegacy = (per package > 1); 0x80000008
 *    ECX[7:0] = per package - 1, ECX[15:12] = package bits; 0x8000001E
 *    EAX = APIC ID, EBX[7:0] = core index in its socket, EBX[15:8] =
 *    threads_per_core - 1, ECX[7:0] = socket (node id), ECX[10:8] = 0 (one
 *    node per socket).  With threads_per_core > 1 (Linux sees SMT on AMD only
 *    through TopologyExtensions) 0x80000001 ECX.TOPOEXT is set, 0x80000000
 *    EAX raised to at least 0x8000001E and 0x8000001E added if missing (this
 *    needs 0x80000000 and 0x80000001 in host; else nothing is added);
 *  - 0x40000000: EBX/ECX/EDX = "KVMKVMKVM\0\0\0", EAX = highest leaf in
 *    0x40000001..0x400000ff present in the output; added if missing;
 *  - 0x40000001: copied unchanged (PV feature bits kept); added with all
 *    registers 0 if missing.
 * Added entries come after the copied ones.
 *
 * Returns 0; -EINVAL if topo or nout is NULL, host is NULL with nhost > 0,
 * out is NULL with max_out > 0, nhost or max_out is negative, the topology
 * fails cpuid_topology_check, or cpu_index >= its vCPU count; -E2BIG if
 * max_out entries are too few: then *nout holds the count needed and
 * out[0..max_out) has been overwritten with unspecified contents (pass out =
 * NULL, max_out = 0 to learn the size). */
int cpuid_for_vcpu(const struct kvm_cpuid_entry2 *host, int nhost, unsigned int cpu_index,
		   const struct cpuid_topology *topo, struct kvm_cpuid_entry2 *out, int max_out,
		   int *nout);

#endif
