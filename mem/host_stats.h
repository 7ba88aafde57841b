/* What guest RAM costs the host, as the kernel reports it: resident size
 * of a mapping from smaps, and KSM merging from sysfs.  Pure parsers over
 * file paths, so fake files can stand in for /proc and /sys. */
#ifndef KVMLAB_MEM_HOST_STATS_H
#define KVMLAB_MEM_HOST_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* Bytes of one mapping, summed over the VMAs it spans. */
struct mem_rss {
	uint64_t rss;	    /* Rss: base and THP pages (not hugetlb) */
	uint64_t anon_huge; /* AnonHugePages: THP part of rss */
	uint64_t hugetlb;   /* Shared_Hugetlb + Private_Hugetlb */
	unsigned int vmas;  /* VMAs overlapping the range */
};

/* Sum Rss, AnonHugePages and Shared/Private_Hugetlb of every VMA in the
 * smaps file (format of /proc/PID/smaps; NULL means /proc/self/smaps) that
 * overlaps [start, start + len).  The kernel may split a mapping (policy,
 * madvise) or merge it with a neighbour, hence the overlap.  Returns 0,
 * -ENOENT if no VMA overlaps, or a negative errno from opening the file. */
int mem_smaps_rss(const char *smaps, uintptr_t start, uint64_t len, struct mem_rss *out);

/* KSM counters pages_shared and pages_sharing under sysfs (NULL: /sys).
 * Returns 0, -ENOENT without KSM, another negative errno if a counter cannot
 * be read, -EIO if one is malformed. */
int mem_ksm_read(const char *sysfs, uint64_t *shared, uint64_t *sharing);

#endif
