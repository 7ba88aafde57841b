/* Parser for the --memory option. */
#include "mem/mem_opts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm/size.h"

enum key {
	K_SIZE,
	K_BACKEND,
	K_HUGEPAGE_SIZE,
	K_PATH,
	K_SHARED,
	K_PREALLOC,
	K_THP,
	K_MERGE,
	K_HOST_NODES,
	K_POLICY,
	K_COUNT,
};

static const char *const key_names[K_COUNT] = {
    [K_SIZE] = "size",	   [K_BACKEND] = "backend", [K_HUGEPAGE_SIZE] = "hugepage-size",
    [K_PATH] = "path",	   [K_SHARED] = "shared",   [K_PREALLOC] = "prealloc",
    [K_THP] = "thp",	   [K_MERGE] = "merge",	    [K_HOST_NODES] = "host-nodes",
    [K_POLICY] = "policy",
};

static const char *const backend_names[] = {
    [MEM_BACKEND_ANON] = "anon",
    [MEM_BACKEND_MEMFD] = "memfd",
    [MEM_BACKEND_HUGETLBFS] = "hugetlbfs",
};

static const char *const policy_names[] = {
    [MEM_POLICY_DEFAULT] = "default",
    [MEM_POLICY_BIND] = "bind",
    [MEM_POLICY_PREFERRED] = "preferred",
    [MEM_POLICY_INTERLEAVE] = "interleave",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

const char *mem_backend_name(enum mem_backend b)
{
	return (size_t)b < ARRAY_LEN(backend_names) ? backend_names[b] : "?";
}

const char *mem_policy_name(enum mem_policy p)
{
	return (size_t)p < ARRAY_LEN(policy_names) ? policy_names[p] : "?";
}

void mem_opts_init(struct mem_opts *m, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->size = size;
	m->backend = MEM_BACKEND_ANON;
	m->thp = MEM_THP_DEFAULT;
	m->policy = MEM_POLICY_DEFAULT;
}

uint64_t mem_opts_page_size(const struct mem_opts *m)
{
	return m->hugepage_size ? m->hugepage_size : MEM_OPTS_PAGE_SIZE;
}

/* Decimal node number below MEM_OPTS_MAX_NODES; *sp advanced past it. */
static int parse_node(const char **sp, unsigned *out)
{
	const char *s = *sp;
	unsigned v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned)(*s - '0');
		if (v >= MEM_OPTS_MAX_NODES)
			return -ERANGE;
	}
	*sp = s;
	*out = v;
	return 0;
}

int mem_parse_nodelist(const char *s, uint64_t *mask)
{
	uint64_t m = 0;
	unsigned lo, hi;
	int r;

	if (!s)
		return -EINVAL;
	for (;;) {
		r = parse_node(&s, &lo);
		if (r)
			return r;
		hi = lo;
		if (*s == '-') {
			s++;
			r = parse_node(&s, &hi);
			if (r)
				return r;
			if (hi < lo)
				return -ERANGE;
		}
		for (unsigned n = lo; n <= hi; n++)
			m |= 1ull << n;
		if (*s == ',' || *s == ':') {
			s++;
			continue;
		}
		if (*s == '\n' && s[1] == '\0')
			break;
		if (*s)
			return -EINVAL;
		break;
	}
	*mask = m;
	return 0;
}

/* "on" / "off". */
static int parse_onoff(const char *key, const char *v, bool *out, char *err, size_t errlen)
{
	if (!strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "off"))
		*out = false;
	else
		return fail(err, errlen, "--memory: %s='%s' is not on or off", key, v);
	return 0;
}

static int parse_enum(const char *key, const char *v, const char *const *names, size_t n,
		      const char *choices, int *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v, names[i])) {
			*out = (int)i;
			return 0;
		}
	}
	return fail(err, errlen, "--memory: %s='%s' is not one of %s", key, v, choices);
}

static int set_key(struct mem_opts *m, enum key k, const char *v, bool *shared_given, char *err,
		   size_t errlen)
{
	const char *kn = key_names[k];
	uint64_t n;
	bool b = false;
	int e = 0, r;

	switch (k) {
	case K_SIZE:
		r = parse_size(v, &n);
		if (r)
			return fail(err, errlen,
				    "--memory: size '%s' is not a size (e.g. 512M, 2G)", v);
		if (n < MEM_OPTS_MIN_SIZE)
			return fail(err, errlen, "--memory: size '%s' is below the minimum of 2M",
				    v);
		m->size = n;
		return 0;
	case K_BACKEND:
		r = parse_enum(kn, v, backend_names, ARRAY_LEN(backend_names),
			       "anon, memfd, hugetlbfs", &e, err, errlen);
		if (!r)
			m->backend = (enum mem_backend)e;
		return r;
	case K_HUGEPAGE_SIZE:
		if (parse_size(v, &n) || (n != 2ull << 20 && n != 1ull << 30))
			return fail(err, errlen, "--memory: hugepage-size='%s' is not 2M or 1G", v);
		m->hugepage_size = n;
		return 0;
	case K_PATH:
		if (strlen(v) >= sizeof(m->path))
			return fail(err, errlen, "--memory: path is too long");
		strcpy(m->path, v);
		return 0;
	case K_SHARED:
		*shared_given = true;
		return parse_onoff(kn, v, &m->shared, err, errlen);
	case K_PREALLOC:
		return parse_onoff(kn, v, &m->prealloc, err, errlen);
	case K_THP:
		r = parse_onoff(kn, v, &b, err, errlen);
		if (!r)
			m->thp = b ? MEM_THP_ON : MEM_THP_OFF;
		return r;
	case K_MERGE:
		return parse_onoff(kn, v, &m->merge, err, errlen);
	case K_HOST_NODES:
		r = mem_parse_nodelist(v, &m->host_nodes);
		if (r == -ERANGE)
			return fail(err, errlen,
				    "--memory: host-nodes='%s': nodes are 0 to 63, ranges low-high",
				    v);
		if (r)
			return fail(err, errlen,
				    "--memory: host-nodes='%s' is not a node list (e.g. 0-2,5)", v);
		return 0;
	case K_POLICY:
		r = parse_enum(kn, v, policy_names, ARRAY_LEN(policy_names),
			       "default, bind, preferred, interleave", &e, err, errlen);
		if (!r)
			m->policy = (enum mem_policy)e;
		return r;
	case K_COUNT:
		break;
	}
	return fail(err, errlen, "--memory: internal error");
}

/* "4K", "2M", "1G", or plain bytes when no suffix is exact. */
static const char *fmt_size(uint64_t v, char *buf, size_t len)
{
	static const char suffix[] = "KMGT";
	int i = -1;

	while (i < 3 && v && !(v & 1023)) {
		v >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)v, suffix[i]);
	return buf;
}

/* Combinations that each key alone cannot judge. */
static int check(struct mem_opts *m, unsigned seen, bool shared_given, char *err, size_t errlen)
{
	char b1[24], b2[24];
	uint64_t ps;

	if (!(seen & (1u << K_SIZE)))
		return fail(err, errlen, "--memory: size is missing (e.g. size=512M)");
	if (m->backend == MEM_BACKEND_ANON && m->hugepage_size)
		return fail(err, errlen,
			    "--memory: hugepage-size needs backend=memfd or backend=hugetlbfs");
	if (m->backend == MEM_BACKEND_HUGETLBFS && !m->hugepage_size)
		m->hugepage_size = 2ull << 20;
	if (m->path[0] && m->backend != MEM_BACKEND_HUGETLBFS)
		return fail(err, errlen, "--memory: path needs backend=hugetlbfs");
	if (!shared_given)
		m->shared = m->backend != MEM_BACKEND_ANON;
	if (m->hugepage_size && m->thp != MEM_THP_DEFAULT)
		return fail(err, errlen,
			    "--memory: thp does not apply to hugetlb pages (drop thp or "
			    "hugepage-size)");
	if ((seen & (1u << K_HOST_NODES)) && m->policy == MEM_POLICY_DEFAULT)
		return fail(err, errlen,
			    "--memory: host-nodes needs policy=bind, preferred or interleave");
	if (m->policy != MEM_POLICY_DEFAULT && !(seen & (1u << K_HOST_NODES)))
		return fail(err, errlen, "--memory: policy=%s needs host-nodes",
			    mem_policy_name(m->policy));
	ps = mem_opts_page_size(m);
	if (m->size % ps)
		return fail(err, errlen, "--memory: size %s is not a multiple of the %s page size",
			    fmt_size(m->size, b1, sizeof(b1)), fmt_size(ps, b2, sizeof(b2)));
	if (m->merge && m->hugepage_size)
		snprintf(m->warning, sizeof(m->warning),
			 "--memory: merge=on has no effect on hugetlb pages (KSM cannot merge "
			 "them)");
	return 0;
}

/* Length of the item at s: up to the next ',' (host-nodes also swallows
 * following items without '=', so "host-nodes=0-2,5" is one item). */
static size_t item_len(const char *s)
{
	size_t n = strcspn(s, ",");

	if (strncmp(s, "host-nodes=", 11))
		return n;
	while (s[n] == ',') {
		size_t next = strcspn(s + n + 1, ",");

		if (!next || memchr(s + n + 1, '=', next))
			break;
		n += 1 + next;
	}
	return n;
}

int mem_opts_parse(const char *s, struct mem_opts *m, char *err, size_t errlen)
{
	char item[PATH_MAX + 32];
	unsigned seen = 0;
	bool shared_given = false;
	int r;

	mem_opts_init(m, 0);
	if (err && errlen)
		err[0] = '\0';
	if (!s || !*s)
		return fail(err, errlen, "--memory: empty value");
	for (bool first = true;; first = false) {
		size_t n = item_len(s);
		char *eq;
		const char *val;
		enum key k;

		if (n >= sizeof(item))
			return fail(err, errlen, "--memory: item too long");
		memcpy(item, s, n);
		item[n] = '\0';
		if (!n)
			return fail(err, errlen,
				    "--memory: empty item (two commas or a trailing one)");
		eq = strchr(item, '=');
		if (!eq && first) {
			k = K_SIZE; /* "--memory 512M" */
			val = item;
		} else if (!eq) {
			return fail(err, errlen, "--memory: '%s' is not key=value", item);
		} else {
			*eq = '\0';
			val = eq + 1;
			for (k = 0; k < K_COUNT; k++)
				if (!strcmp(item, key_names[k]))
					break;
			if (k == K_COUNT)
				return fail(err, errlen, "--memory: unknown key '%s'", item);
		}
		if (seen & (1u << k))
			return fail(err, errlen, "--memory: key '%s' given twice", key_names[k]);
		seen |= 1u << k;
		if (!*val)
			return fail(err, errlen, "--memory: %s has an empty value", key_names[k]);
		r = set_key(m, k, val, &shared_given, err, errlen);
		if (r)
			return r;
		s += n;
		if (!*s)
			break;
		s++; /* ',' */
		if (!*s)
			return fail(err, errlen,
				    "--memory: empty item (two commas or a trailing one)");
	}
	return check(m, seen, shared_given, err, errlen);
}
