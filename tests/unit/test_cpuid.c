/* cpuid_for_vcpu() and helpers on hand-made KVM_GET_SUPPORTED_CPUID tables. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <asm/kvm_para.h>

#include "vmm/cpuid.h"

#define SIG  KVM_CPUID_FLAG_SIGNIFCANT_INDEX
#define MAXE 64

/* Four characters as the little-endian register CPUID returns them in. */
#define S4(s)                                                                                      \
	((uint32_t)(s)[0] | (uint32_t)(s)[1] << 8 | (uint32_t)(s)[2] << 16 | (uint32_t)(s)[3] << 24)

#define PV_BITS                                                                                    \
	(1u << KVM_FEATURE_CLOCKSOURCE | 1u << KVM_FEATURE_NOP_IO_DELAY |                          \
	 1u << KVM_FEATURE_CLOCKSOURCE2 | 1u << KVM_FEATURE_ASYNC_PF |                             \
	 1u << KVM_FEATURE_STEAL_TIME | 1u << KVM_FEATURE_PV_EOI | 1u << KVM_FEATURE_PV_UNHALT |   \
	 1u << KVM_FEATURE_PV_TLB_FLUSH | 1u << KVM_FEATURE_PV_SEND_IPI |                          \
	 1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT)
#define PV_HINTS 0x1u

/* Leaf 4 / 0x8000001D EAX: type, level, host sharing count, host cores field. */
#define CACHE(type, level, share, cores)                                                           \
	((uint32_t)(type) | (uint32_t)(level) << 5 | 1u << 8 | (uint32_t)(share) << 14 |           \
	 (uint32_t)(cores) << 26)

#define INTEL_1_ECX (0x7ffafbffu & ~CPUID_1_ECX_HYPERVISOR) /* includes x2APIC */
#define AMD_1_ECX   (0x7ed8320bu & ~CPUID_1_ECX_X2APIC & ~CPUID_1_ECX_HYPERVISOR)

/* Shaped like KVM_GET_SUPPORTED_CPUID on a 16-thread Intel host. */
static const struct kvm_cpuid_entry2 intel_host[] = {
    {.function = 0x0, .eax = 0x1f, .ebx = S4("Genu"), .edx = S4("ineI"), .ecx = S4("ntel")},
    {.function = 0x1,
     .eax = 0x000906ea,
     .ebx = 0x0b100801, /* brand index 1 */
     .ecx = INTEL_1_ECX,
     .edx = 0x1f8bfbff /* HTT set by the host */},
    {.function = 0x2, .flags = 0, .eax = 0x00feff01, .ebx = 0xf0, .ecx = 0, .edx = 0},
    {.function = 0x4, .index = 0, .flags = SIG, .eax = CACHE(1, 1, 1, 7), .ebx = 0x01c0003f},
    {.function = 0x4, .index = 1, .flags = SIG, .eax = CACHE(2, 1, 1, 7), .ebx = 0x01c0003f},
    {.function = 0x4, .index = 2, .flags = SIG, .eax = CACHE(3, 2, 1, 7), .ebx = 0x00c0003f},
    {.function = 0x4, .index = 3, .flags = SIG, .eax = CACHE(3, 3, 15, 7), .ebx = 0x03c0003f},
    {.function = 0x4, .index = 4, .flags = SIG, .eax = 0, .ebx = 0, .ecx = 0, .edx = 0},
    {.function = 0x6, .eax = 0x4, .ebx = 0, .ecx = 0, .edx = 0},
    {.function = 0x7, .index = 0, .flags = SIG, .ebx = 0x029c6fbf, .ecx = 0x40000000},
    {.function = 0xa, .eax = 0x07300404, .edx = 0x603},
    {.function = 0xb, .index = 0, .flags = SIG, .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 0x0b},
    {.function = 0xb, .index = 1, .flags = SIG, .eax = 4, .ebx = 16, .ecx = 0x201, .edx = 0x0b},
    {.function = 0xb, .index = 2, .flags = SIG, .eax = 0, .ebx = 0, .ecx = 0x2, .edx = 0x0b},
    {.function = 0x1f, .index = 0, .flags = SIG, .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 0x0b},
    {.function = 0x1f, .index = 1, .flags = SIG, .eax = 4, .ebx = 16, .ecx = 0x201, .edx = 0x0b},
    {.function = 0x1f, .index = 2, .flags = SIG, .eax = 5, .ebx = 16, .ecx = 0x502, .edx = 0x0b},
    {.function = 0x1f, .index = 3, .flags = SIG, .eax = 0, .ebx = 0, .ecx = 0x3, .edx = 0x0b},
    {.function = KVM_CPUID_SIGNATURE,
     .eax = KVM_CPUID_FEATURES,
     .ebx = S4("KVMK"),
     .ecx = S4("VMKV"),
     .edx = S4("M\0\0\0")},
    {.function = KVM_CPUID_FEATURES, .eax = PV_BITS, .edx = PV_HINTS},
    {.function = 0x80000000, .eax = 0x80000008},
    {.function = 0x80000001, .ecx = 0x121, .edx = 0x2c100800},
    {.function = 0x80000008, .eax = 0x3027, .ecx = 0},
};
#define N_INTEL ((int)(sizeof(intel_host) / sizeof(intel_host[0])))

/* Shaped like KVM_GET_SUPPORTED_CPUID on a 16-thread AMD Zen host. */
static const struct kvm_cpuid_entry2 amd_host[] = {
    {.function = 0x0, .eax = 0x10, .ebx = S4("Auth"), .edx = S4("enti"), .ecx = S4("cAMD")},
    {.function = 0x1, .eax = 0x00a20f10, .ebx = 0x05100800, .ecx = AMD_1_ECX, .edx = 0x178bfbff},
    {.function = 0x4, .index = 0, .flags = SIG}, /* reserved on AMD: all zero */
    {.function = 0x6, .eax = 0x4, .ecx = 0x1},
    {.function = 0xb, .index = 0, .flags = SIG, .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 0x05},
    {.function = 0xb, .index = 1, .flags = SIG, .eax = 7, .ebx = 16, .ecx = 0x201, .edx = 0x05},
    {.function = 0xb, .index = 2, .flags = SIG, .eax = 0, .ebx = 0, .ecx = 0x2, .edx = 0x05},
    {.function = KVM_CPUID_SIGNATURE,
     .eax = KVM_CPUID_FEATURES,
     .ebx = S4("KVMK"),
     .ecx = S4("VMKV"),
     .edx = S4("M\0\0\0")},
    {.function = KVM_CPUID_FEATURES, .eax = PV_BITS, .edx = PV_HINTS},
    {.function = 0x80000000, .eax = 0x80000021},
    {.function = 0x80000001, .eax = 0x00a20f10, .ecx = 0x75c237f1 & ~0x2u, .edx = 0x2fd3fbff},
    {.function = 0x80000008, .eax = 0x3030, .ebx = 0x0, .ecx = 0x0001400f},
    {.function = 0x8000001d, .index = 0, .flags = SIG, .eax = CACHE(1, 1, 1, 0), .ebx = 0x1c0003f},
    {.function = 0x8000001d, .index = 1, .flags = SIG, .eax = CACHE(2, 1, 1, 0), .ebx = 0x1c0003f},
    {.function = 0x8000001d, .index = 2, .flags = SIG, .eax = CACHE(3, 2, 1, 0), .ebx = 0x1c0003f},
    {.function = 0x8000001d, .index = 3, .flags = SIG, .eax = CACHE(3, 3, 15, 0), .ebx = 0x3c0003f},
    {.function = 0x8000001d, .index = 4, .flags = SIG},
    {.function = 0x8000001e, .eax = 0x0b, .ebx = 0x0105, .ecx = 0x0101, .edx = 0},
};
#define N_AMD ((int)(sizeof(amd_host) / sizeof(amd_host[0])))

/* Shaped like KVM_GET_SUPPORTED_CPUID in the emulated test host (QEMU/TCG
 * "max", family 0xF): no TopologyExtensions, extended leaves only up to
 * 0x8000000A, a leaf 0xB with a single invalid subleaf. */
static const struct kvm_cpuid_entry2 tcg_host[] = {
    {.function = 0x0, .eax = 0xd, .ebx = S4("Auth"), .edx = S4("enti"), .ecx = S4("cAMD")},
    {.function = 0x1, .eax = 0x00060fb1, .ebx = 0x01020800, .ecx = 0x76f83203, .edx = 0x0f8bfbfd},
    {.function = 0x4, .index = 0, .flags = SIG},
    {.function = 0xb, .index = 0, .flags = SIG, .edx = 1},
    {.function = KVM_CPUID_SIGNATURE,
     .eax = KVM_CPUID_FEATURES,
     .ebx = S4("KVMK"),
     .ecx = S4("VMKV"),
     .edx = S4("M\0\0\0")},
    {.function = KVM_CPUID_FEATURES, .eax = 0x01007efb},
    {.function = 0x80000000,
     .eax = 0x8000000a,
     .ebx = S4("Auth"),
     .edx = S4("enti"),
     .ecx = S4("cAMD")},
    {.function = 0x80000001, .eax = 0x00060fb1, .ecx = 0x77, .edx = 0xedd3fbfd},
    {.function = 0x80000006, .ebx = 0x42004200, .ecx = 0x02008140, .edx = 0x00808140},
    {.function = 0x80000008, .eax = 0x3928, .ebx = 0x04000000, .ecx = 0x1001},
    {.function = 0x8000000a, .eax = 1, .ebx = 8, .edx = 0x10000021},
};
#define N_TCG ((int)(sizeof(tcg_host) / sizeof(tcg_host[0])))

static const unsigned int sizes[] = {1, 2, 4, 8};

/* Entry (function, index) of out, which must exist. */
static const struct kvm_cpuid_entry2 *get(const struct kvm_cpuid_entry2 *e, int n, uint32_t fn,
					  uint32_t idx)
{
	const struct kvm_cpuid_entry2 *r = cpuid_lookup(e, n, fn, idx);

	assert_non_null(r);
	return r;
}

static int count_fn(const struct kvm_cpuid_entry2 *e, int n, uint32_t fn)
{
	int c = 0;

	for (int i = 0; i < n; i++)
		c += e[i].function == fn;
	return c;
}

static unsigned int bits_for(unsigned int n)
{
	unsigned int b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

static int build(const struct kvm_cpuid_entry2 *host, int nhost, unsigned int idx,
		 struct cpuid_topology t, struct kvm_cpuid_entry2 *out)
{
	int n = -1;

	assert_int_equal(cpuid_for_vcpu(host, nhost, idx, &t, out, MAXE, &n), 0);
	assert_in_range(n, 1, MAXE);
	return n;
}

static void check_leaf1(const struct kvm_cpuid_entry2 *out, int n, const struct kvm_cpuid_entry2 *h,
			unsigned int apic_id, unsigned int logical, unsigned int per_pkg)
{
	const struct kvm_cpuid_entry2 *e = get(out, n, 1, 0);

	assert_int_equal(e->ebx >> 24, apic_id);
	assert_int_equal((e->ebx >> 16) & 0xff, logical);
	assert_int_equal(e->ebx & 0xffff, h->ebx & 0xffff);
	assert_int_equal(!!(e->edx & CPUID_1_EDX_HTT), per_pkg > 1);
	assert_int_equal(e->edx & ~CPUID_1_EDX_HTT, h->edx & ~CPUID_1_EDX_HTT);
	assert_true(e->ecx & CPUID_1_ECX_HYPERVISOR);
	assert_int_equal(e->ecx & ~CPUID_1_ECX_HYPERVISOR, h->ecx);
	assert_int_equal(e->eax, h->eax);
}

/* Leaf 0xB or 0x1F: exactly three subleaves with the expected levels, for
 * a vCPU with APIC ID apic, tpc threads per core and per_pkg logical CPUs
 * per package. */
static void check_topo(const struct kvm_cpuid_entry2 *out, int n, uint32_t fn, unsigned int apic,
		       unsigned int tpc, unsigned int smt_bits, unsigned int per_pkg,
		       unsigned int pkg_bits)
{
	const struct kvm_cpuid_entry2 *s0 = get(out, n, fn, 0), *s1 = get(out, n, fn, 1),
				      *s2 = get(out, n, fn, 2);

	assert_int_equal(count_fn(out, n, fn), 3);
	assert_null(cpuid_lookup(out, n, fn, 3));
	assert_int_equal(s0->flags & SIG, SIG);
	assert_int_equal(s1->flags & SIG, SIG);
	assert_int_equal(s2->flags & SIG, SIG);

	assert_int_equal(s0->eax, smt_bits);
	assert_int_equal(s0->ebx, tpc);
	assert_int_equal(s0->ecx, CPUID_TOPO_LEVEL_SMT << 8 | 0);
	assert_int_equal(s0->edx, apic);

	assert_int_equal(s1->eax, pkg_bits);
	assert_int_equal(s1->ebx, per_pkg);
	assert_int_equal(s1->ecx, CPUID_TOPO_LEVEL_CORE << 8 | 1);
	assert_int_equal(s1->edx, apic);

	assert_int_equal(s2->eax, 0);
	assert_int_equal(s2->ebx, 0);
	assert_int_equal(s2->ecx, CPUID_TOPO_LEVEL_INVALID << 8 | 2);
	assert_int_equal(s2->edx, apic);
}

/* The flat layout: vCPU idx of nc single-thread cores in one socket. */
static void check_topo_leaf(const struct kvm_cpuid_entry2 *out, int n, uint32_t fn,
			    unsigned int idx, unsigned int ncpus, unsigned int tpc)
{
	check_topo(out, n, fn, idx, tpc, bits_for(tpc), ncpus, bits_for(ncpus));
}

/* Cache leaf fn (4 or 0x8000001D): sharing fields rewritten to the IDs a
 * package (L3) or a core (L1, L2) spans, the rest kept. */
static void check_caches(const struct kvm_cpuid_entry2 *out, int n,
			 const struct kvm_cpuid_entry2 *host, int nhost, uint32_t fn,
			 unsigned int pkg_bits, unsigned int smt_bits, unsigned int cores_field)
{
	int seen = 0;

	for (int i = 0; i < nhost; i++) {
		const struct kvm_cpuid_entry2 *h = &host[i], *e;
		unsigned int level = (h->eax >> 5) & 7;

		if (h->function != fn)
			continue;
		e = get(out, n, fn, h->index);
		seen++;
		assert_int_equal(e->ebx, h->ebx);
		assert_int_equal(e->ecx, h->ecx);
		assert_int_equal(e->edx, h->edx);
		if ((h->eax & 0x1f) == 0) {
			assert_memory_equal(e, h, sizeof(*e));
			continue;
		}
		assert_int_equal((e->eax >> 14) & 0xfff,
				 (1u << (level >= 3 ? pkg_bits : smt_bits)) - 1);
		assert_int_equal(e->eax & 0x3fff, h->eax & 0x3fff);
		if (fn == CPUID_LEAF_CACHE)
			assert_int_equal(e->eax >> 26, cores_field);
		else
			assert_int_equal(e->eax >> 26, h->eax >> 26);
	}
	assert_int_equal(seen, 5);
}

static void check_hv(const struct kvm_cpuid_entry2 *out, int n, uint32_t max_leaf, uint32_t feat,
		     uint32_t hints)
{
	const struct kvm_cpuid_entry2 *b = get(out, n, KVM_CPUID_SIGNATURE, 0);
	const struct kvm_cpuid_entry2 *f = get(out, n, KVM_CPUID_FEATURES, 0);
	char sig[12];

	memcpy(sig, &b->ebx, 4);
	memcpy(sig + 4, &b->ecx, 4);
	memcpy(sig + 8, &b->edx, 4);
	assert_memory_equal(sig, KVM_SIGNATURE, 12);
	assert_int_equal(b->eax, max_leaf);
	assert_int_equal(f->eax, feat);
	assert_int_equal(f->edx, hints);
	assert_int_equal(count_fn(out, n, KVM_CPUID_SIGNATURE), 1);
	assert_int_equal(count_fn(out, n, KVM_CPUID_FEATURES), 1);
}

/* Entries the module must leave alone are copied bit for bit. */
static void check_same(const struct kvm_cpuid_entry2 *out, int n,
		       const struct kvm_cpuid_entry2 *host, int nhost, uint32_t fn, uint32_t idx)
{
	const struct kvm_cpuid_entry2 *h = cpuid_lookup(host, nhost, fn, idx);

	assert_non_null(h);
	assert_memory_equal(get(out, n, fn, idx), h, sizeof(*h));
}

static void test_vendor(void **state)
{
	struct kvm_cpuid_entry2 t[N_AMD];
	(void)state;
	assert_int_equal(cpuid_vendor_of(intel_host, N_INTEL), CPUID_VENDOR_INTEL);
	assert_int_equal(cpuid_vendor_of(amd_host, N_AMD), CPUID_VENDOR_AMD);
	memcpy(t, amd_host, sizeof(t));
	t[0].ebx = S4("Hygo");
	t[0].edx = S4("nGen");
	t[0].ecx = S4("uine");
	assert_int_equal(cpuid_vendor_of(t, N_AMD), CPUID_VENDOR_HYGON);
	t[0].ecx = S4("uinX");
	assert_int_equal(cpuid_vendor_of(t, N_AMD), CPUID_VENDOR_OTHER);
	assert_int_equal(cpuid_vendor_of(amd_host + 1, N_AMD - 1), CPUID_VENDOR_OTHER);
	assert_int_equal(cpuid_vendor_of(NULL, 0), CPUID_VENDOR_OTHER);
}

static void test_lookup(void **state)
{
	const struct kvm_cpuid_entry2 *e;
	(void)state;
	e = cpuid_lookup(intel_host, N_INTEL, 4, 3);
	assert_non_null(e);
	assert_int_equal(e->function, 4);
	assert_int_equal(e->index, 3);
	assert_null(cpuid_lookup(intel_host, N_INTEL, 4, 5));
	/* no significant index: any index matches */
	e = cpuid_lookup(intel_host, N_INTEL, 1, 7);
	assert_non_null(e);
	assert_int_equal(e->function, 1);
	assert_null(cpuid_lookup(intel_host, N_INTEL, 0x15, 0));
	assert_null(cpuid_lookup(NULL, 5, 1, 0));
	assert_null(cpuid_lookup(intel_host, 0, 0, 0));
}

static void test_flat_topology(void **state)
{
	struct cpuid_topology t = cpuid_topology_flat(6);
	(void)state;
	assert_int_equal(t.sockets, 1);
	assert_int_equal(t.threads_per_core, 1);
	assert_int_equal(t.cores_per_socket, 6);
	assert_int_equal(cpuid_topology_ncpus(&t), 6);
	assert_int_equal(cpuid_topology_check(&t), 0);
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(cpuid_apic_id(&t, i), i);
	assert_int_equal(cpuid_max_apic_id(&t), 5);
}

static void test_intel(void **state)
{
	struct kvm_cpuid_entry2 before[N_INTEL], out[MAXE];
	(void)state;
	memcpy(before, intel_host, sizeof(before));
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		unsigned int nc = sizes[s];

		for (unsigned int idx = 0; idx < nc; idx++) {
			int n = build(intel_host, N_INTEL, idx, cpuid_topology_flat(nc), out);

			/* host 0x1F had four subleaves, now three */
			assert_int_equal(n, N_INTEL - 1);
			check_leaf1(out, n, &intel_host[1], idx, nc, nc);
			check_topo_leaf(out, n, 0xb, idx, nc, 1);
			check_topo_leaf(out, n, 0x1f, idx, nc, 1);
			check_caches(out, n, intel_host, N_INTEL, 4, bits_for(nc), 0, nc - 1);
			check_hv(out, n, KVM_CPUID_FEATURES, PV_BITS, PV_HINTS);
			check_same(out, n, intel_host, N_INTEL, 0, 0);
			check_same(out, n, intel_host, N_INTEL, 2, 0);
			check_same(out, n, intel_host, N_INTEL, 6, 0);
			check_same(out, n, intel_host, N_INTEL, 7, 0);
			check_same(out, n, intel_host, N_INTEL, 0xa, 0);
			/* Intel: extended leaves are not AMD topology */
			check_same(out, n, intel_host, N_INTEL, 0x80000001, 0);
			check_same(out, n, intel_host, N_INTEL, 0x80000008, 0);
			assert_null(cpuid_lookup(out, n, 0x8000001e, 0));
		}
	}
	assert_memory_equal(before, intel_host, sizeof(before));
}

static void test_amd(void **state)
{
	struct kvm_cpuid_entry2 before[N_AMD], out[MAXE];
	(void)state;
	memcpy(before, amd_host, sizeof(before));
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		unsigned int nc = sizes[s];

		for (unsigned int idx = 0; idx < nc; idx++) {
			int n = build(amd_host, N_AMD, idx, cpuid_topology_flat(nc), out);
			const struct kvm_cpuid_entry2 *e;

			assert_int_equal(n, N_AMD);
			check_leaf1(out, n, &amd_host[1], idx, nc, nc);
			assert_false(get(out, n, 1, 0)->ecx & CPUID_1_ECX_X2APIC);
			check_topo_leaf(out, n, 0xb, idx, nc, 1);
			assert_int_equal(count_fn(out, n, 0x1f), 0); /* not added on AMD */
			check_same(out, n, amd_host, N_AMD, 4, 0);   /* null leaf 4 kept */
			check_caches(out, n, amd_host, N_AMD, 0x8000001d, bits_for(nc), 0, 0);
			check_hv(out, n, KVM_CPUID_FEATURES, PV_BITS, PV_HINTS);
			check_same(out, n, amd_host, N_AMD, 6, 0);

			e = get(out, n, 0x80000001, 0);
			assert_int_equal(!!(e->ecx & CPUID_80000001_ECX_CMP_LEGACY), nc > 1);
			/* TOPOEXT was the host's already */
			assert_true(e->ecx & CPUID_80000001_ECX_TOPOEXT);
			assert_int_equal(e->ecx & ~CPUID_80000001_ECX_CMP_LEGACY, amd_host[10].ecx);
			assert_int_equal(e->edx, amd_host[10].edx);

			e = get(out, n, 0x80000008, 0);
			assert_int_equal(e->ecx & 0xff, nc - 1);
			assert_int_equal((e->ecx >> 12) & 0xf, bits_for(nc));
			assert_int_equal(e->ecx & ~0xf0ffu, 0x00010000); /* PerfTscSize kept */
			assert_int_equal(e->eax, 0x3030);

			e = get(out, n, 0x8000001e, 0);
			assert_int_equal(e->eax, idx);
			assert_int_equal(e->ebx & 0xff, idx);
			assert_int_equal((e->ebx >> 8) & 0xff, 0);
			assert_int_equal(e->ecx & 0x7ff, 0);
		}
	}
	assert_memory_equal(before, amd_host, sizeof(before));
}

static void test_amd_cmp_legacy_cleared_for_one_cpu(void **state)
{
	struct kvm_cpuid_entry2 host[N_AMD], out[MAXE];
	struct cpuid_topology t = cpuid_topology_flat(1);
	int n;
	(void)state;
	memcpy(host, amd_host, sizeof(host));
	host[10].ecx |= CPUID_80000001_ECX_CMP_LEGACY;
	host[1].edx |= CPUID_1_EDX_HTT;
	n = build(host, N_AMD, 0, t, out);
	assert_false(get(out, n, 0x80000001, 0)->ecx & CPUID_80000001_ECX_CMP_LEGACY);
	assert_false(get(out, n, 1, 0)->edx & CPUID_1_EDX_HTT);
}

static void test_hygon_like_amd(void **state)
{
	struct kvm_cpuid_entry2 host[N_AMD], out[MAXE];
	int n;
	(void)state;
	memcpy(host, amd_host, sizeof(host));
	host[0].ebx = S4("Hygo");
	host[0].edx = S4("nGen");
	host[0].ecx = S4("uine");
	n = build(host, N_AMD, 3, cpuid_topology_flat(4), out);
	assert_int_equal(get(out, n, 0x80000008, 0)->ecx & 0xff, 3);
	assert_int_equal(get(out, n, 0x8000001e, 0)->eax, 3);
	assert_true(get(out, n, 0x80000001, 0)->ecx & CPUID_80000001_ECX_CMP_LEGACY);
}

/* Counts that are not powers of two round up where the field is a power. */
static void test_odd_counts(void **state)
{
	static const struct {
		unsigned int ncpus, logical, shift;
	} cases[] = {{3, 4, 2}, {5, 8, 3}, {6, 8, 3}, {7, 8, 3}, {9, 16, 4}};
	struct kvm_cpuid_entry2 out[MAXE];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned int nc = cases[i].ncpus, last = nc - 1;
		int n = build(intel_host, N_INTEL, last, cpuid_topology_flat(nc), out);

		check_leaf1(out, n, &intel_host[1], last, cases[i].logical, nc);
		assert_int_equal(get(out, n, 0xb, 1)->eax, cases[i].shift);
		check_topo_leaf(out, n, 0xb, last, nc, 1);
		check_caches(out, n, intel_host, N_INTEL, 4, cases[i].shift, 0,
			     cases[i].logical - 1);

		n = build(amd_host, N_AMD, last, cpuid_topology_flat(nc), out);
		assert_int_equal(get(out, n, 0x80000008, 0)->ecx & 0xff, nc - 1);
		assert_int_equal((get(out, n, 0x80000008, 0)->ecx >> 12) & 0xf, cases[i].shift);
	}
}

/* Fields that cannot hold the rounded count saturate. */
static void test_large(void **state)
{
	struct kvm_cpuid_entry2 out[MAXE];
	int n;
	(void)state;
	n = build(intel_host, N_INTEL, 127, cpuid_topology_flat(128), out);
	assert_int_equal((get(out, n, 1, 0)->ebx >> 16) & 0xff, 128);
	assert_int_equal(get(out, n, 4, 0)->eax >> 26, 63);
	assert_int_equal(get(out, n, 0xb, 1)->eax, 7);

	n = build(intel_host, N_INTEL, 254, cpuid_topology_flat(255), out);
	assert_int_equal(get(out, n, 1, 0)->ebx >> 24, 254);
	assert_int_equal((get(out, n, 1, 0)->ebx >> 16) & 0xff, 255);
	assert_int_equal(get(out, n, 4, 3)->eax >> 26, 63);
	assert_int_equal((get(out, n, 4, 3)->eax >> 14) & 0xfff, 255);
	assert_int_equal(get(out, n, 0xb, 1)->eax, 8);
	assert_int_equal(get(out, n, 0xb, 1)->ebx, 255);
	assert_int_equal(get(out, n, 0x1f, 2)->edx, 254);

	n = build(amd_host, N_AMD, 200, cpuid_topology_flat(255), out);
	assert_int_equal(get(out, n, 0x80000008, 0)->ecx & 0xff, 254);
	assert_int_equal((get(out, n, 0x80000008, 0)->ecx >> 12) & 0xf, 8);
	assert_int_equal(get(out, n, 0x8000001e, 0)->ebx & 0xff, 200);
}

/* Two threads per core: SMT level and per-core sharing follow. */
static void test_smt(void **state)
{
	struct cpuid_topology t = {.sockets = 1, .threads_per_core = 2, .cores_per_socket = 4};
	struct kvm_cpuid_entry2 out[MAXE];
	(void)state;
	for (unsigned int idx = 0; idx < 8; idx++) {
		int n = build(intel_host, N_INTEL, idx, t, out);
		const struct kvm_cpuid_entry2 *e;

		check_leaf1(out, n, &intel_host[1], idx, 8, 8);
		check_topo_leaf(out, n, 0xb, idx, 8, 2);
		check_topo_leaf(out, n, 0x1f, idx, 8, 2);
		check_caches(out, n, intel_host, N_INTEL, 4, 3, 1, 3);

		n = build(amd_host, N_AMD, idx, t, out);
		e = get(out, n, 0x8000001e, 0);
		assert_int_equal(e->eax, idx);
		assert_int_equal(e->ebx & 0xff, idx / 2);
		assert_int_equal((e->ebx >> 8) & 0xff, 1);
		check_caches(out, n, amd_host, N_AMD, 0x8000001d, 3, 1, 0);
	}
}

static void test_einval(void **state)
{
	static const struct cpuid_topology bad[] = {
	    {.sockets = 1, .threads_per_core = 1, .cores_per_socket = 0},
	    {.sockets = 1, .threads_per_core = 1, .cores_per_socket = 256},
	    {.sockets = 1, .threads_per_core = 0, .cores_per_socket = 4},
	    {.sockets = 0, .threads_per_core = 1, .cores_per_socket = 4},
	    {.sockets = 2, .threads_per_core = 1, .cores_per_socket = 128},
	    {.sockets = 1, .threads_per_core = 0x80000000u, .cores_per_socket = 2},
	    {.sockets = 4, .threads_per_core = 3, .cores_per_socket = 33},
	};
	struct cpuid_topology ok = cpuid_topology_flat(4);
	struct kvm_cpuid_entry2 out[MAXE];
	int n;
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 1234;
		assert_int_equal(cpuid_for_vcpu(intel_host, N_INTEL, 0, &bad[i], out, MAXE, &n),
				 -EINVAL);
		assert_int_equal(n, 1234);
	}
	assert_int_equal(cpuid_for_vcpu(intel_host, N_INTEL, 4, &ok, out, MAXE, &n), -EINVAL);
	assert_int_equal(cpuid_for_vcpu(intel_host, N_INTEL, 3, NULL, out, MAXE, &n), -EINVAL);
	assert_int_equal(cpuid_for_vcpu(intel_host, N_INTEL, 3, &ok, out, MAXE, NULL), -EINVAL);
	assert_int_equal(cpuid_for_vcpu(intel_host, -1, 3, &ok, out, MAXE, &n), -EINVAL);
	assert_int_equal(cpuid_for_vcpu(intel_host, N_INTEL, 3, &ok, out, -1, &n), -EINVAL);
	assert_int_equal(cpuid_for_vcpu(NULL, N_INTEL, 3, &ok, out, MAXE, &n), -EINVAL);
	assert_int_equal(cpuid_for_vcpu(intel_host, N_INTEL, 3, &ok, NULL, MAXE, &n), -EINVAL);
	assert_int_equal(n, 1234);
	/* the boundary itself is valid */
	assert_int_equal(cpuid_for_vcpu(intel_host, N_INTEL, 3, &ok, out, MAXE, &n), 0);
}

static void test_e2big(void **state)
{
	struct cpuid_topology t = cpuid_topology_flat(2);
	struct kvm_cpuid_entry2 out[MAXE + 1], canary;
	int n = -1, need;
	(void)state;
	assert_int_equal(cpuid_for_vcpu(intel_host, N_INTEL, 1, &t, NULL, 0, &n), -E2BIG);
	need = n;
	assert_int_equal(need, N_INTEL - 1);

	memset(&canary, 0xa5, sizeof(canary));
	for (int i = 0; i <= MAXE; i++)
		out[i] = canary;
	n = -1;
	assert_int_equal(cpuid_for_vcpu(intel_host, N_INTEL, 1, &t, out, need - 1, &n), -E2BIG);
	assert_int_equal(n, need);
	assert_memory_equal(&out[need - 1], &canary, sizeof(canary)); /* nothing past max */

	n = -1;
	assert_int_equal(cpuid_for_vcpu(intel_host, N_INTEL, 1, &t, out, need, &n), 0);
	assert_int_equal(n, need);
	assert_memory_equal(&out[need], &canary, sizeof(canary));
}

/* An Intel table without topology or hypervisor leaves gets them added. */
static void test_intel_missing_leaves_added(void **state)
{
	struct kvm_cpuid_entry2 host[MAXE], out[MAXE];
	int nh = 0, n;
	(void)state;
	for (int i = 0; i < N_INTEL; i++) {
		uint32_t fn = intel_host[i].function;

		if (fn != 0xb && fn != 0x1f && (fn & 0xffff0000u) != 0x40000000u)
			host[nh++] = intel_host[i];
	}
	assert_null(cpuid_lookup(host, nh, 0xb, 0));
	n = build(host, nh, 2, cpuid_topology_flat(4), out);
	assert_int_equal(n, nh + 3 + 3 + 2);
	check_topo_leaf(out, n, 0xb, 2, 4, 1);
	check_topo_leaf(out, n, 0x1f, 2, 4, 1);
	check_hv(out, n, KVM_CPUID_FEATURES, 0, 0);
	assert_int_equal(get(out, n, KVM_CPUID_SIGNATURE, 0)->flags, 0);

	/* leaf 0 EAX below 0x1F: only 0xB is visible, so only 0xB is added */
	host[0].eax = 0x16;
	n = build(host, nh, 2, cpuid_topology_flat(4), out);
	assert_int_equal(n, nh + 3 + 2);
	check_topo_leaf(out, n, 0xb, 2, 4, 1);
	assert_int_equal(count_fn(out, n, 0x1f), 0);

	/* and below 0xB neither */
	host[0].eax = 0xa;
	n = build(host, nh, 2, cpuid_topology_flat(4), out);
	assert_int_equal(n, nh + 2);
	assert_int_equal(count_fn(out, n, 0xb), 0);
}

static void test_amd_without_0xb_not_added(void **state)
{
	struct kvm_cpuid_entry2 host[MAXE], out[MAXE];
	int nh = 0, n;
	(void)state;
	for (int i = 0; i < N_AMD; i++)
		if (amd_host[i].function != 0xb)
			host[nh++] = amd_host[i];
	n = build(host, nh, 1, cpuid_topology_flat(2), out);
	assert_int_equal(n, nh);
	assert_int_equal(count_fn(out, n, 0xb), 0);
}

/* 0x40000000 EAX names the highest KVM leaf; a wrong signature is fixed. */
static void test_hv_base(void **state)
{
	struct kvm_cpuid_entry2 host[MAXE], out[MAXE];
	int nh = N_INTEL, n;
	(void)state;
	memcpy(host, intel_host, sizeof(intel_host));
	for (int i = 0; i < nh; i++)
		if (host[i].function == KVM_CPUID_SIGNATURE) {
			host[i].eax = 0;
			host[i].ebx = S4("Linu");
		}
	host[nh++] = (struct kvm_cpuid_entry2){.function = 0x40000010, .eax = 2000000};
	host[nh++] = (struct kvm_cpuid_entry2){.function = 0x40000100, .eax = 1}; /* not KVM's */
	n = build(host, nh, 0, cpuid_topology_flat(1), out);
	check_hv(out, n, 0x40000010, PV_BITS, PV_HINTS);
	check_same(out, n, host, nh, 0x40000010, 0);
}

static void test_empty_host(void **state)
{
	struct kvm_cpuid_entry2 out[MAXE];
	struct cpuid_topology t = cpuid_topology_flat(1);
	int n = -1;
	(void)state;
	assert_int_equal(cpuid_for_vcpu(NULL, 0, 0, &t, out, MAXE, &n), 0);
	assert_int_equal(n, 2);
	check_hv(out, n, KVM_CPUID_FEATURES, 0, 0);
}

static struct cpuid_topology topo(unsigned int sockets, unsigned int cores, unsigned int threads)
{
	return (struct cpuid_topology){
	    .sockets = sockets, .cores_per_socket = cores, .threads_per_core = threads};
}

/* APIC IDs: socket | core | thread fields of ceil(log2) bits each. */
static void test_apic_ids(void **state)
{
	static const struct {
		unsigned int s, c, t;
		uint32_t ids[9];
	} cases[] = {
	    {1, 2, 2, {0, 1, 2, 3}},
	    {2, 2, 1, {0, 1, 2, 3}},
	    {2, 3, 1, {0, 1, 2, 4, 5, 6}},
	    {1, 3, 3, {0, 1, 2, 4, 5, 6, 8, 9, 10}},
	    {3, 1, 3, {0, 1, 2, 4, 5, 6, 8, 9, 10}},
	    {2, 2, 2, {0, 1, 2, 3, 4, 5, 6, 7}},
	    {3, 1, 1, {0, 1, 2}},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cpuid_topology t = topo(cases[i].s, cases[i].c, cases[i].t);
		unsigned int n = cases[i].s * cases[i].c * cases[i].t;

		assert_int_equal(cpuid_topology_check(&t), 0);
		assert_int_equal(cpuid_topology_ncpus(&t), n);
		for (unsigned int k = 0; k < n; k++)
			assert_int_equal(cpuid_apic_id(&t, k), cases[i].ids[k]);
		assert_int_equal(cpuid_max_apic_id(&t), cases[i].ids[n - 1]);
	}
}

static void test_topology_check(void **state)
{
	struct cpuid_topology t;
	(void)state;
	t = topo(2, 127, 1); /* highest ID 128 + 126 = 254: the limit */
	assert_int_equal(cpuid_topology_check(&t), 0);
	assert_int_equal(cpuid_max_apic_id(&t), 254);
	t = topo(255, 1, 1);
	assert_int_equal(cpuid_topology_check(&t), 0);
	t = topo(1, 254, 1);
	assert_int_equal(cpuid_topology_check(&t), 0);
	t = topo(2, 128, 1); /* 255 is the broadcast ID */
	assert_int_equal(cpuid_topology_check(&t), -ERANGE);
	t = topo(3, 65, 1); /* 2 << 7 */
	assert_int_equal(cpuid_topology_check(&t), -ERANGE);
	t = topo(256, 1, 1);
	assert_int_equal(cpuid_topology_check(&t), -ERANGE);
	t = topo(1, 1, 0xffffffffu);
	assert_int_equal(cpuid_topology_check(&t), -ERANGE);
	assert_int_equal(cpuid_topology_ncpus(&t), 0xffffffffu);
	t = topo(0x10000, 0x10000, 1);
	assert_int_equal(cpuid_topology_ncpus(&t), 0);
	t = topo(0, 1, 1);
	assert_int_equal(cpuid_topology_check(&t), -EINVAL);
	t = topo(1, 0, 1);
	assert_int_equal(cpuid_topology_check(&t), -EINVAL);
	t = topo(1, 1, 0);
	assert_int_equal(cpuid_topology_check(&t), -EINVAL);
	assert_int_equal(cpuid_topology_check(NULL), -EINVAL);
	assert_int_equal(cpuid_topology_ncpus(NULL), 0);
}

/* Expected topology facts of one vCPU. */
struct want {
	unsigned int s, c, t;		 /* the topology */
	unsigned int smt_bits, pkg_bits; /* APIC ID field widths */
};

/* Intel: leaf 1, 4, 0xB and 0x1F for every vCPU of w. */
static void check_intel_topology(const struct want *w)
{
	struct cpuid_topology t = topo(w->s, w->c, w->t);
	unsigned int per_pkg = w->c * w->t, n_cpu = w->s * per_pkg;
	struct kvm_cpuid_entry2 out[MAXE];

	for (unsigned int i = 0; i < n_cpu; i++) {
		uint32_t apic = cpuid_apic_id(&t, i);
		int n = build(intel_host, N_INTEL, i, t, out);

		check_leaf1(out, n, &intel_host[1], apic, 1u << w->pkg_bits, per_pkg);
		check_topo(out, n, 0xb, apic, w->t, w->smt_bits, per_pkg, w->pkg_bits);
		check_topo(out, n, 0x1f, apic, w->t, w->smt_bits, per_pkg, w->pkg_bits);
		check_caches(out, n, intel_host, N_INTEL, 4, w->pkg_bits, w->smt_bits,
			     (1u << (w->pkg_bits - w->smt_bits)) - 1);
		/* what Linux derives from leaf 0xB: package and core of the ID */
		assert_int_equal(apic >> w->pkg_bits, i / per_pkg);
		assert_int_equal((apic & ((1u << w->pkg_bits) - 1)) >> w->smt_bits,
				 i % per_pkg / w->t);
		assert_int_equal(apic & ((1u << w->smt_bits) - 1), i % w->t);
	}
}

/* AMD (Zen-like host with TOPOEXT): leaf 1, 0xB, 0x80000008, 0x8000001D/E. */
static void check_amd_topology(const struct want *w)
{
	struct cpuid_topology t = topo(w->s, w->c, w->t);
	unsigned int per_pkg = w->c * w->t, n_cpu = w->s * per_pkg;
	struct kvm_cpuid_entry2 out[MAXE];

	for (unsigned int i = 0; i < n_cpu; i++) {
		uint32_t apic = cpuid_apic_id(&t, i);
		int n = build(amd_host, N_AMD, i, t, out);
		const struct kvm_cpuid_entry2 *e;

		assert_int_equal(n, N_AMD);
		check_leaf1(out, n, &amd_host[1], apic, 1u << w->pkg_bits, per_pkg);
		check_topo(out, n, 0xb, apic, w->t, w->smt_bits, per_pkg, w->pkg_bits);
		check_caches(out, n, amd_host, N_AMD, 0x8000001d, w->pkg_bits, w->smt_bits, 0);
		e = get(out, n, 0x80000001, 0);
		assert_int_equal(!!(e->ecx & CPUID_80000001_ECX_CMP_LEGACY), per_pkg > 1);
		assert_true(e->ecx & CPUID_80000001_ECX_TOPOEXT);
		e = get(out, n, 0x80000008, 0);
		assert_int_equal(e->ecx & 0xff, per_pkg - 1);	     /* NC */
		assert_int_equal((e->ecx >> 12) & 0xf, w->pkg_bits); /* ApicIdCoreIdSize */
		/* Linux (amd_detect_cmp): package = APIC ID >> ApicIdCoreIdSize */
		assert_int_equal(apic >> ((e->ecx >> 12) & 0xf), i / per_pkg);
		e = get(out, n, 0x8000001e, 0);
		assert_int_equal(e->eax, apic);
		assert_int_equal(e->ebx & 0xff, i % per_pkg / w->t); /* core in its socket */
		assert_int_equal((e->ebx >> 8) & 0xff, w->t - 1);
		assert_int_equal(e->ecx & 0xff, i / per_pkg); /* node = socket */
		assert_int_equal((e->ecx >> 8) & 7, 0);	      /* one node per socket */
		assert_int_equal(e->edx, 0);
	}
}

static void test_topology_1_2_2(void **state)
{
	const struct want w = {.s = 1, .c = 2, .t = 2, .smt_bits = 1, .pkg_bits = 2};
	(void)state;
	check_intel_topology(&w);
	check_amd_topology(&w);
}

static void test_topology_2_2_1(void **state)
{
	const struct want w = {.s = 2, .c = 2, .t = 1, .smt_bits = 0, .pkg_bits = 1};
	(void)state;
	check_intel_topology(&w);
	check_amd_topology(&w);
}

/* Three cores per socket: APIC IDs 0, 1, 2, 4, 5, 6. */
static void test_topology_2_3_1(void **state)
{
	const struct want w = {.s = 2, .c = 3, .t = 1, .smt_bits = 0, .pkg_bits = 2};
	(void)state;
	check_intel_topology(&w);
	check_amd_topology(&w);
}

static void test_topology_2_3_3(void **state)
{
	const struct want w = {.s = 2, .c = 3, .t = 3, .smt_bits = 2, .pkg_bits = 4};
	(void)state;
	check_intel_topology(&w);
	check_amd_topology(&w);
}

/* A host without TopologyExtensions (the emulated test host): SMT needs
 * them, so they are added with leaf 0x8000001E; without SMT nothing is. */
static void test_amd_topoext_added_for_smt(void **state)
{
	struct cpuid_topology t = topo(1, 2, 2);
	struct kvm_cpuid_entry2 out[MAXE];
	const struct kvm_cpuid_entry2 *e;
	int n;
	(void)state;
	for (unsigned int i = 0; i < 4; i++) {
		n = build(tcg_host, N_TCG, i, t, out);
		assert_int_equal(n, N_TCG + 2 + 1); /* 0xB: 1 -> 3 subleaves, + 0x8000001E */
		assert_int_equal(get(out, n, 0x80000000, 0)->eax, 0x8000001e);
		e = get(out, n, 0x80000001, 0);
		assert_int_equal(e->ecx, 0x77u | CPUID_80000001_ECX_TOPOEXT);
		e = get(out, n, 0x8000001e, 0);
		assert_int_equal(e->eax, i);
		assert_int_equal(e->ebx, 1u << 8 | i / 2);
		assert_int_equal(e->ecx, 0);
		assert_int_equal(e->edx, 0);
		check_topo(out, n, 0xb, i, 2, 1, 4, 2);
		e = get(out, n, 0x80000008, 0);
		assert_int_equal(e->ecx, 2u << 12 | 3);
		assert_int_equal(e->eax, 0x3928);
		check_leaf1(out, n, &tcg_host[1], i, 4, 4);
	}

	/* 2 sockets x 2 cores, one thread each: APIC ID bits tell it all */
	t = topo(2, 2, 1);
	n = build(tcg_host, N_TCG, 3, t, out);
	assert_int_equal(n, N_TCG + 2);
	assert_null(cpuid_lookup(out, n, 0x8000001e, 0));
	assert_int_equal(get(out, n, 0x80000000, 0)->eax, 0x8000000a);
	assert_false(get(out, n, 0x80000001, 0)->ecx & CPUID_80000001_ECX_TOPOEXT);
	assert_int_equal(get(out, n, 0x80000008, 0)->ecx, 1u << 12 | 1);
	check_topo(out, n, 0xb, 3, 1, 0, 2, 1);

	/* one vCPU per socket: no HTT, no CmpLegacy */
	t = topo(2, 1, 1);
	n = build(tcg_host, N_TCG, 1, t, out);
	assert_false(get(out, n, 1, 0)->edx & CPUID_1_EDX_HTT);
	assert_false(get(out, n, 0x80000001, 0)->ecx & CPUID_80000001_ECX_CMP_LEGACY);
	assert_int_equal(get(out, n, 0x80000008, 0)->ecx, 0);
	assert_int_equal(get(out, n, 1, 0)->ebx >> 24, 1);
}

/* No extended leaves at all: nothing to hang TOPOEXT on, nothing added. */
static void test_amd_smt_without_ext_leaves(void **state)
{
	struct cpuid_topology t = topo(1, 1, 2);
	struct kvm_cpuid_entry2 host[MAXE], out[MAXE];
	int nh = 0, n;
	(void)state;
	for (int i = 0; i < N_TCG; i++)
		if (tcg_host[i].function < 0x80000000u)
			host[nh++] = tcg_host[i];
	n = build(host, nh, 1, t, out);
	assert_int_equal(n, nh + 2);
	assert_null(cpuid_lookup(out, n, 0x8000001e, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vendor),
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_flat_topology),
	    cmocka_unit_test(test_intel),
	    cmocka_unit_test(test_amd),
	    cmocka_unit_test(test_amd_cmp_legacy_cleared_for_one_cpu),
	    cmocka_unit_test(test_hygon_like_amd),
	    cmocka_unit_test(test_odd_counts),
	    cmocka_unit_test(test_large),
	    cmocka_unit_test(test_smt),
	    cmocka_unit_test(test_einval),
	    cmocka_unit_test(test_e2big),
	    cmocka_unit_test(test_intel_missing_leaves_added),
	    cmocka_unit_test(test_amd_without_0xb_not_added),
	    cmocka_unit_test(test_hv_base),
	    cmocka_unit_test(test_empty_host),
	    cmocka_unit_test(test_apic_ids),
	    cmocka_unit_test(test_topology_check),
	    cmocka_unit_test(test_topology_1_2_2),
	    cmocka_unit_test(test_topology_2_2_1),
	    cmocka_unit_test(test_topology_2_3_1),
	    cmocka_unit_test(test_topology_2_3_3),
	    cmocka_unit_test(test_amd_topoext_added_for_smt),
	    cmocka_unit_test(test_amd_smt_without_ext_leaves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
