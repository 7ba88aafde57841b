/* Per-vCPU CPUID table from KVM's supported CPUID (pure, no ioctls). */
#include "vmm/cpuid.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

static const char kvm_signature[12] = "KVMKVMKVM\0\0\0";

static const struct {
	char name[12]; /* EBX, EDX, ECX of leaf 0 */
	enum cpuid_vendor vendor;
} vendors[] = {
    {"GenuineIntel", CPUID_VENDOR_INTEL},
    {"AuthenticAMD", CPUID_VENDOR_AMD},
    {"HygonGenuine", CPUID_VENDOR_HYGON},
};

/* Everything derived from the arguments, computed once. */
struct plan {
	enum cpuid_vendor vendor;
	uint32_t max_basic; /* leaf 0 EAX */
	uint32_t hv_max;    /* highest 0x4000_00xx leaf in the output */
	uint32_t apic_id;
	unsigned int socket;	/* this vCPU's socket */
	unsigned int core;	/* its core within the socket */
	unsigned int tpc;	/* threads per core */
	unsigned int per_pkg;	/* logical CPUs per socket */
	unsigned int smt_shift; /* APIC ID bits of the thread within a core */
	unsigned int pkg_shift; /* APIC ID bits of the logical CPU within the package */
	bool topoext;		/* AMD: make leaf 0x8000001E visible (TOPOEXT) */
};

/* Output cursor: counts every entry, stores those that fit. */
struct sink {
	struct kvm_cpuid_entry2 *out;
	int max;
	int n;
};

static void emit(struct sink *s, const struct kvm_cpuid_entry2 *e)
{
	if (s->n < s->max)
		s->out[s->n] = *e;
	s->n++;
}

/* Smallest b with (1 << b) >= n. */
static unsigned int order(unsigned int n)
{
	unsigned int b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

static unsigned int min_u(unsigned int a, unsigned int b)
{
	return a < b ? a : b;
}

struct cpuid_topology cpuid_topology_flat(unsigned int ncpus)
{
	return (struct cpuid_topology){
	    .sockets = 1, .cores_per_socket = ncpus, .threads_per_core = 1};
}

unsigned int cpuid_topology_ncpus(const struct cpuid_topology *t)
{
	unsigned int n;

	if (!t || __builtin_mul_overflow(t->sockets, t->cores_per_socket, &n) ||
	    __builtin_mul_overflow(n, t->threads_per_core, &n))
		return 0;
	return n;
}

/* Valid for counts up to CPUID_MAX_APIC_ID + 1 (order() of more is not). */
static uint32_t apic_id_of(const struct cpuid_topology *t, unsigned int socket, unsigned int core,
			   unsigned int thread)
{
	unsigned int tb = order(t->threads_per_core), cb = order(t->cores_per_socket);

	return (uint32_t)socket << (cb + tb) | (uint32_t)core << tb | thread;
}

int cpuid_topology_check(const struct cpuid_topology *t)
{
	const unsigned int lim = CPUID_MAX_APIC_ID + 1;

	if (!t || !t->sockets || !t->cores_per_socket || !t->threads_per_core)
		return -EINVAL;
	if (t->sockets > lim || t->cores_per_socket > lim || t->threads_per_core > lim)
		return -ERANGE;
	if (apic_id_of(t, t->sockets - 1, t->cores_per_socket - 1, t->threads_per_core - 1) >
	    CPUID_MAX_APIC_ID)
		return -ERANGE;
	return 0;
}

uint32_t cpuid_apic_id(const struct cpuid_topology *t, unsigned int index)
{
	unsigned int thread = index % t->threads_per_core;
	unsigned int core = index / t->threads_per_core % t->cores_per_socket;
	unsigned int socket = index / t->threads_per_core / t->cores_per_socket;

	return apic_id_of(t, socket, core, thread);
}

uint32_t cpuid_max_apic_id(const struct cpuid_topology *t)
{
	return apic_id_of(t, t->sockets - 1, t->cores_per_socket - 1, t->threads_per_core - 1);
}

const struct kvm_cpuid_entry2 *cpuid_lookup(const struct kvm_cpuid_entry2 *e, int n,
					    uint32_t function, uint32_t index)
{
	if (!e)
		return NULL;
	for (int i = 0; i < n; i++) {
		if (e[i].function != function)
			continue;
		if ((e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e[i].index != index)
			continue;
		return &e[i];
	}
	return NULL;
}

static bool has_function(const struct kvm_cpuid_entry2 *e, int n, uint32_t function)
{
	for (int i = 0; i < n; i++)
		if (e[i].function == function)
			return true;
	return false;
}

enum cpuid_vendor cpuid_vendor_of(const struct kvm_cpuid_entry2 *e, int n)
{
	const struct kvm_cpuid_entry2 *l0 = cpuid_lookup(e, n, CPUID_LEAF_VENDOR, 0);
	char name[12];

	if (!l0)
		return CPUID_VENDOR_OTHER;
	memcpy(name, &l0->ebx, 4);
	memcpy(name + 4, &l0->edx, 4);
	memcpy(name + 8, &l0->ecx, 4);
	for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++)
		if (!memcmp(name, vendors[i].name, sizeof(name)))
			return vendors[i].vendor;
	return CPUID_VENDOR_OTHER;
}

static bool amd_like(const struct plan *p)
{
	return p->vendor == CPUID_VENDOR_AMD || p->vendor == CPUID_VENDOR_HYGON;
}

static void fix_leaf1(struct kvm_cpuid_entry2 *e, const struct plan *p)
{
	uint32_t logical = min_u(1u << p->pkg_shift, 255);

	e->ebx = (e->ebx & 0x0000ffffu) | (p->apic_id & 0xff) << 24 | logical << 16;
	if (p->per_pkg > 1)
		e->edx |= CPUID_1_EDX_HTT;
	else
		e->edx &= ~CPUID_1_EDX_HTT;
	e->ecx |= CPUID_1_ECX_HYPERVISOR;
}

/* Leaf 4 and 0x8000001D share the layout of EAX[25:0]. */
static void fix_cache(struct kvm_cpuid_entry2 *e, const struct plan *p, bool intel_leaf4)
{
	uint32_t type = e->eax & 0x1f, level = (e->eax >> 5) & 7;
	uint32_t sharing = (1u << (level >= 3 ? p->pkg_shift : p->smt_shift)) - 1;

	if (type == 0) /* null descriptor: no more caches */
		return;
	e->eax = (e->eax & ~(0xfffu << 14)) | sharing << 14;
	if (intel_leaf4) {
		uint32_t cores = min_u((1u << (p->pkg_shift - p->smt_shift)) - 1, 63);

		e->eax = (e->eax & 0x03ffffffu) | cores << 26;
	}
}

/* The three subleaves of leaf 0xB or 0x1F. */
static void emit_topology(struct sink *s, uint32_t function, const struct plan *p)
{
	const struct {
		uint32_t eax, ebx, ecx;
	} sub[3] = {
	    {p->smt_shift, p->tpc, CPUID_TOPO_LEVEL_SMT << 8 | 0},
	    {p->pkg_shift, p->per_pkg, CPUID_TOPO_LEVEL_CORE << 8 | 1},
	    {0, 0, CPUID_TOPO_LEVEL_INVALID << 8 | 2},
	};

	for (uint32_t i = 0; i < 3; i++) {
		struct kvm_cpuid_entry2 e = {
		    .function = function,
		    .index = i,
		    .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		    .eax = sub[i].eax,
		    .ebx = sub[i].ebx,
		    .ecx = sub[i].ecx,
		    .edx = p->apic_id,
		};
		emit(s, &e);
	}
}

static void fix_amd(struct kvm_cpuid_entry2 *e, const struct plan *p)
{
	switch (e->function) {
	case CPUID_LEAF_EXT_MAX:
		if (p->topoext && e->eax < CPUID_LEAF_AMD_TOPO)
			e->eax = CPUID_LEAF_AMD_TOPO;
		break;
	case CPUID_LEAF_EXT_FEAT:
		if (p->per_pkg > 1)
			e->ecx |= CPUID_80000001_ECX_CMP_LEGACY;
		else
			e->ecx &= ~CPUID_80000001_ECX_CMP_LEGACY;
		if (p->topoext)
			e->ecx |= CPUID_80000001_ECX_TOPOEXT;
		break;
	case CPUID_LEAF_EXT_SIZES:
		e->ecx = (e->ecx & ~0xf0ffu) | (p->per_pkg - 1) | p->pkg_shift << 12;
		break;
	case CPUID_LEAF_AMD_TOPO:
		e->eax = p->apic_id;
		e->ebx = (e->ebx & 0xffff0000u) | (p->tpc - 1) << 8 | (p->core & 0xff);
		/* one node per socket, numbered like the sockets */
		e->ecx = (e->ecx & ~0x7ffu) | (p->socket & 0xff);
		e->edx = 0;
		break;
	default:
		break;
	}
}

static void fix_hv_base(struct kvm_cpuid_entry2 *e, const struct plan *p)
{
	e->eax = p->hv_max;
	memcpy(&e->ebx, kvm_signature, 4);
	memcpy(&e->ecx, kvm_signature + 4, 4);
	memcpy(&e->edx, kvm_signature + 8, 4);
}

static void make_plan(struct plan *p, const struct kvm_cpuid_entry2 *host, int nhost,
		      unsigned int cpu_index, const struct cpuid_topology *t)
{
	const struct kvm_cpuid_entry2 *l0 = cpuid_lookup(host, nhost, CPUID_LEAF_VENDOR, 0);
	const struct kvm_cpuid_entry2 *ext = cpuid_lookup(host, nhost, CPUID_LEAF_EXT_FEAT, 0);
	unsigned int per_socket = t->cores_per_socket * t->threads_per_core;

	p->vendor = cpuid_vendor_of(host, nhost);
	p->max_basic = l0 ? l0->eax : 0;
	p->hv_max = CPUID_LEAF_HV_FEAT;
	for (int i = 0; i < nhost; i++)
		if (host[i].function > p->hv_max && host[i].function <= CPUID_LEAF_HV_LAST)
			p->hv_max = host[i].function;
	p->apic_id = cpuid_apic_id(t, cpu_index);
	p->tpc = t->threads_per_core;
	p->per_pkg = per_socket;
	p->socket = cpu_index / per_socket;
	p->core = cpu_index % per_socket / t->threads_per_core;
	p->smt_shift = order(t->threads_per_core);
	p->pkg_shift = p->smt_shift + order(t->cores_per_socket);
	p->topoext = amd_like(p) && ext && has_function(host, nhost, CPUID_LEAF_EXT_MAX) &&
		     ((ext->ecx & CPUID_80000001_ECX_TOPOEXT) || t->threads_per_core > 1);
}

int cpuid_for_vcpu(const struct kvm_cpuid_entry2 *host, int nhost, unsigned int cpu_index,
		   const struct cpuid_topology *topo, struct kvm_cpuid_entry2 *out, int max_out,
		   int *nout)
{
	struct sink s = {.out = out, .max = max_out, .n = 0};
	bool topo_done = false, topo2_done = false;
	struct plan p;

	if (!topo || !nout || nhost < 0 || max_out < 0 || (!host && nhost > 0) ||
	    (!out && max_out > 0) || nhost > INT_MAX - 16)
		return -EINVAL;
	if (cpuid_topology_check(topo) || cpu_index >= cpuid_topology_ncpus(topo))
		return -EINVAL;
	make_plan(&p, host, nhost, cpu_index, topo);

	for (int i = 0; i < nhost; i++) {
		struct kvm_cpuid_entry2 e = host[i];

		switch (e.function) {
		case CPUID_LEAF_TOPO:
			if (!topo_done)
				emit_topology(&s, e.function, &p);
			topo_done = true;
			continue;
		case CPUID_LEAF_TOPO_V2:
			if (!topo2_done)
				emit_topology(&s, e.function, &p);
			topo2_done = true;
			continue;
		case CPUID_LEAF_FEATURES:
			fix_leaf1(&e, &p);
			break;
		case CPUID_LEAF_CACHE:
			fix_cache(&e, &p, true);
			break;
		case CPUID_LEAF_AMD_CACHE:
			fix_cache(&e, &p, false);
			break;
		case CPUID_LEAF_HV_BASE:
			fix_hv_base(&e, &p);
			break;
		default:
			if (amd_like(&p))
				fix_amd(&e, &p);
			break;
		}
		emit(&s, &e);
	}

	if (p.vendor == CPUID_VENDOR_INTEL) {
		if (!topo_done && p.max_basic >= CPUID_LEAF_TOPO)
			emit_topology(&s, CPUID_LEAF_TOPO, &p);
		if (!topo2_done && p.max_basic >= CPUID_LEAF_TOPO_V2)
			emit_topology(&s, CPUID_LEAF_TOPO_V2, &p);
	}
	if (p.topoext && !has_function(host, nhost, CPUID_LEAF_AMD_TOPO)) {
		struct kvm_cpuid_entry2 e = {.function = CPUID_LEAF_AMD_TOPO};

		fix_amd(&e, &p);
		emit(&s, &e);
	}
	if (!has_function(host, nhost, CPUID_LEAF_HV_BASE)) {
		struct kvm_cpuid_entry2 e = {.function = CPUID_LEAF_HV_BASE};

		fix_hv_base(&e, &p);
		emit(&s, &e);
	}
	if (!has_function(host, nhost, CPUID_LEAF_HV_FEAT)) {
		struct kvm_cpuid_entry2 e = {.function = CPUID_LEAF_HV_FEAT};

		emit(&s, &e);
	}

	*nout = s.n;
	return s.n > max_out ? -E2BIG : 0;
}
