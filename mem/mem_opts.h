/* The `--memory` option: size, backing and host tuning of guest RAM.
 * Pure: parsing opens no file and touches no memory, so every refusal can
 * be unit-tested.  Accepted forms:
 *   --memory 512M
 *   --memory size=SIZE[,backend=anon|memfd|hugetlbfs][,hugepage-size=2M|1G]
 *            [,path=DIR][,shared=on|off][,prealloc=on|off][,thp=on|off]
 *            [,merge=on|off][,host-nodes=LIST][,policy=default|bind|
 *            preferred|interleave]
 * LIST is a node list such as "0-2,5" (',' or ':' between items). */
#ifndef KVMLAB_MEM_MEM_OPTS_H
#define KVMLAB_MEM_MEM_OPTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEM_OPTS_MIN_SIZE  (2ull << 20)
#define MEM_OPTS_PAGE_SIZE 4096ull
#define MEM_OPTS_MAX_NODES 64

enum mem_backend { MEM_BACKEND_ANON, MEM_BACKEND_MEMFD, MEM_BACKEND_HUGETLBFS };

enum mem_policy {
	MEM_POLICY_DEFAULT,
	MEM_POLICY_BIND,
	MEM_POLICY_PREFERRED,
	MEM_POLICY_INTERLEAVE,
};

/* thp=: leave the host's setting alone unless asked. */
enum mem_thp { MEM_THP_DEFAULT, MEM_THP_ON, MEM_THP_OFF };

struct mem_opts {
	uint64_t size; /* bytes, a multiple of mem_opts_page_size() */
	enum mem_backend backend;
	uint64_t hugepage_size; /* 0: base pages; else 2M or 1G (hugetlb) */
	char path[PATH_MAX];	/* hugetlbfs directory, "" to look it up */
	bool shared;		/* MAP_SHARED (default on for memfd/hugetlbfs) */
	bool prealloc;
	enum mem_thp thp;
	bool merge;
	uint64_t host_nodes; /* bit n: host NUMA node n */
	enum mem_policy policy;
	char warning[128]; /* "" or one line for the caller to print */
};

/* Defaults: size bytes of private anonymous memory, no tuning. */
void mem_opts_init(struct mem_opts *m, uint64_t size);

/* Parse the value of --memory into *m (fully overwritten).  Returns 0, or
 * -EINVAL with a one-line message naming --memory and the key in err. */
int mem_opts_parse(const char *s, struct mem_opts *m, char *err, size_t errlen);

/* Page size of the backing: hugepage_size, or 4K. */
uint64_t mem_opts_page_size(const struct mem_opts *m);

/* Parse a node list ("0", "0-2,5", "1:3") into a bitmask of nodes below
 * MEM_OPTS_MAX_NODES.  Trailing '\n' is accepted (sysfs files).  Returns 0,
 * -EINVAL if malformed or empty, -ERANGE for a node >= 64 or a reversed
 * range. */
int mem_parse_nodelist(const char *s, uint64_t *mask);

/* Names for messages and --stats. */
const char *mem_backend_name(enum mem_backend b);
const char *mem_policy_name(enum mem_policy p);

#endif
