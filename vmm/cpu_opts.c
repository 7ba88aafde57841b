/* --cpus parser. */
#include "vmm/cpu_opts.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "vmm/cpuid.h"
#include "vmm/cpulist.h"
#include "vmm/optparse.h"
#include "vmm/size.h"

#define OPT "--cpus"

void cpu_opts_init(struct cpu_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->boot = o->sockets = o->cores = o->threads = 1;
}

/* One VCPU@CPULIST entry, both parts already split off. */
static int set_affinity(struct cpu_opts *o, const char *vcpu, const char *list, char *err,
			size_t errlen)
{
	uint64_t id;
	int r;

	if (parse_uint(vcpu, 0, CPU_OPTS_MAX_VCPUS - 1, &id))
		return opt_fail(err, errlen,
				OPT ": affinity: '%s' is not a vCPU number from 0 to %d (use "
				    "VCPU@CPULIST[:VCPU@CPULIST...])",
				vcpu, CPU_OPTS_MAX_VCPUS - 1);
	if (o->affinity_set[id])
		return opt_fail(err, errlen, OPT ": affinity: vCPU %u is listed twice",
				(unsigned int)id);
	if (!*list)
		return opt_fail(err, errlen, OPT ": affinity: vCPU %u has an empty CPU list",
				(unsigned int)id);
	r = cpulist_parse(list, &o->affinity[id]);
	if (r || CPU_COUNT(&o->affinity[id]) == 0)
		return opt_fail(err, errlen,
				OPT ": affinity: vCPU %u: '%s' is not a CPU list (e.g. 2-3 or 2,5; "
				    "CPUs below %d)",
				(unsigned int)id, list, CPU_SETSIZE);
	o->affinity_set[id] = true;
	o->naffinity++;
	return 0;
}

/* affinity=VCPU@CPULIST[:VCPU@CPULIST...] in the writable copy v.  An entry
 * starts at a ','- or ':'-separated word holding '@'; the words after it
 * without '@' continue its CPU list. */
static int parse_affinity(struct cpu_opts *o, char *v, char *err, size_t errlen)
{
	char *p = v;

	if (!*v)
		return opt_fail(err, errlen,
				OPT ": affinity= is empty (use VCPU@CPULIST[:VCPU@CPULIST...])");
	for (;;) {
		char *word_end = p + strcspn(p, ",:"), *at = strchr(p, '@'), *e = word_end;
		char sep;
		int r;

		if (!at || at > word_end) {
			*word_end = '\0';
			return opt_fail(err, errlen,
					OPT ": affinity: '%s' is not VCPU@CPULIST (use "
					    "VCPU@CPULIST[:VCPU@CPULIST...])",
					p);
		}
		while (*e) {
			char *next = e + 1;
			size_t n = strcspn(next, ",:");

			if (memchr(next, '@', n))
				break;
			e = next + n;
		}
		sep = *e;
		*e = '\0';
		*at = '\0';
		r = set_affinity(o, p, at + 1, err, errlen);
		if (r || !sep)
			return r;
		p = e + 1;
	}
}

/* SOCKETS:CORES:THREADS, each 1..CPU_OPTS_MAX_VCPUS. */
static int parse_topology(struct cpu_opts *o, const char *v, char *err, size_t errlen)
{
	unsigned int n[3];
	const char *p = v;

	for (int i = 0; i < 3; i++) {
		size_t len = strcspn(p, ":");
		char word[16];
		uint64_t x;

		if ((i < 2 && p[len] != ':') || (i == 2 && p[len]) || len >= sizeof(word))
			return opt_fail(err, errlen,
					OPT ": topology='%s' is not SOCKETS:CORES:THREADS (e.g. "
					    "1:2:2)",
					v);
		memcpy(word, p, len);
		word[len] = '\0';
		if (!parse_uint(word, 0, 0, &x))
			return opt_fail(err, errlen,
					OPT ": topology='%s': a count of 0 (each of "
					    "SOCKETS:CORES:THREADS is at least 1)",
					v);
		if (parse_uint(word, 1, CPU_OPTS_MAX_VCPUS, &x))
			return opt_fail(err, errlen,
					OPT ": topology='%s': '%s' is not a number from 1 to %d", v,
					word, CPU_OPTS_MAX_VCPUS);
		n[i] = (unsigned int)x;
		p += len + 1;
	}
	o->sockets = n[0];
	o->cores = n[1];
	o->threads = n[2];
	o->topology_set = true;
	return 0;
}

static int set_key(struct cpu_opts *o, char *k, char *v, bool *boot_set, char *err, size_t errlen)
{
	if (!strcmp(k, "boot")) {
		*boot_set = true;
		return opt_uint(OPT, k, v, 1, CPU_OPTS_MAX_VCPUS, &o->boot, err, errlen);
	}
	if (!strcmp(k, "affinity"))
		return parse_affinity(o, v, err, errlen);
	if (!strcmp(k, "topology"))
		return parse_topology(o, v, err, errlen);
	if (!strcmp(k, "halt-poll-ns")) {
		o->halt_poll_set = true;
		return opt_uint(OPT, k, v, 0, UINT_MAX, &o->halt_poll_ns, err, errlen);
	}
	return opt_fail(err, errlen,
			OPT ": unknown key '%s' (use boot, affinity, topology or halt-poll-ns)", k);
}

/* Cross-key rules, once every item is in. */
static int finish(struct cpu_opts *o, bool boot_set, char *err, size_t errlen)
{
	struct cpuid_topology t;
	unsigned int product = o->sockets * o->cores * o->threads;

	if (!o->topology_set) {
		o->sockets = o->threads = 1;
		o->cores = o->boot;
		product = o->boot;
	} else if (!boot_set) {
		if (product > CPU_OPTS_MAX_VCPUS)
			return opt_fail(
			    err, errlen, OPT ": topology=%u:%u:%u makes %u vCPUs, more than %d",
			    o->sockets, o->cores, o->threads, product, CPU_OPTS_MAX_VCPUS);
		o->boot = product;
	} else if (product != o->boot) {
		return opt_fail(err, errlen, OPT ": topology=%u:%u:%u makes %u vCPUs, not boot=%u",
				o->sockets, o->cores, o->threads, product, o->boot);
	}
	t = (struct cpuid_topology){
	    .sockets = o->sockets, .cores_per_socket = o->cores, .threads_per_core = o->threads};
	if (cpuid_topology_check(&t))
		return opt_fail(err, errlen,
				OPT ": topology=%u:%u:%u needs APIC IDs up to %u, above %u (each "
				    "level takes a power of two of IDs)",
				o->sockets, o->cores, o->threads, cpuid_max_apic_id(&t),
				CPUID_MAX_APIC_ID);
	for (unsigned int v = o->boot; v < CPU_OPTS_MAX_VCPUS; v++)
		if (o->affinity_set[v])
			return opt_fail(err, errlen,
					OPT ": affinity for vCPU %u, but boot=%u has vCPUs 0-%u", v,
					o->boot, o->boot - 1);
	return 0;
}

int cpu_opts_parse(const char *s, struct cpu_opts *o, char *err, size_t errlen)
{
	char item[4096];
	bool boot_set = false;

	cpu_opts_init(o);
	if (err && errlen)
		err[0] = '\0';
	if (!s || !*s)
		return opt_fail(err, errlen, OPT ": empty value (use N or boot=N[,...])");
	if (!strchr(s, '=')) {
		uint64_t n;

		if (parse_uint(s, 1, CPU_OPTS_MAX_VCPUS, &n))
			return opt_fail(err, errlen,
					OPT
					": '%s' is not a number from 1 to %d (or use "
					"boot=N[,affinity=...][,topology=...][,halt-poll-ns=N])",
					s, CPU_OPTS_MAX_VCPUS);
		o->boot = o->cores = (unsigned int)n;
		return 0;
	}
	while (*s) {
		size_t len = opt_item_len(s, "affinity=");
		char *eq;
		int r;

		if (len >= sizeof(item))
			return opt_fail(err, errlen, OPT ": item too long");
		memcpy(item, s, len);
		item[len] = '\0';
		eq = strchr(item, '=');
		if (!eq)
			return opt_fail(err, errlen, OPT ": '%s' is not KEY=VALUE", item);
		*eq = '\0';
		r = set_key(o, item, eq + 1, &boot_set, err, errlen);
		if (r)
			return r;
		s += len;
		if (*s == ',' && !*++s)
			return opt_fail(err, errlen, OPT ": trailing ','");
	}
	return finish(o, boot_set, err, errlen);
}

int cpu_opts_check_affinity(const struct cpu_opts *o, const cpu_set_t *allowed, char *err,
			    size_t errlen)
{
	for (unsigned int v = 0; v < o->boot && v < CPU_OPTS_MAX_VCPUS; v++) {
		cpu_set_t outside;
		char bad[64], ok[64];

		if (!o->affinity_set[v])
			continue;
		CPU_XOR(&outside, &o->affinity[v], allowed);
		CPU_AND(&outside, &outside, &o->affinity[v]);
		if (CPU_COUNT(&outside) == 0)
			continue;
		cpulist_format(&outside, bad, sizeof(bad));
		cpulist_format(allowed, ok, sizeof(ok));
		return opt_fail(err, errlen,
				OPT ": affinity: vCPU %u: CPU %s is not one kvmlab may run on (%s)",
				v, bad, ok);
	}
	return 0;
}
