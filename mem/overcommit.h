/* Overcommit check: before guest RAM is mapped, compare what the whole of
 * --memory will take with what the host can give (MemAvailable for base
 * pages, the free hugepage pool for hugetlb pages).  Pure: it reads the
 * given files and decides; printing is left to the caller. */
#ifndef KVMLAB_MEM_OVERCOMMIT_H
#define KVMLAB_MEM_OVERCOMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "mem/mem_opts.h"

/* MemAvailable of a meminfo file (format of /proc/meminfo; NULL means the
 * real one) in bytes.  Returns 0, -ENODATA if the line is missing or
 * malformed, or a negative errno from opening the file. */
int mem_host_available(const char *meminfo, uint64_t *bytes);

/* Decide whether m->size bytes of guest RAM fit on the host.  meminfo and
 * sysfs (roots of /proc/meminfo and /sys; NULL means the real ones) give
 * the host facts.
 *  - hugetlb pages (memfd/hugetlbfs with hugepage-size): they are reserved
 *    at map time, so too few free pages is -ENOMEM;
 *  - base pages with prealloc=on: more than MemAvailable is -ENOMEM;
 *  - base pages without prealloc (anon, memfd): more than MemAvailable is
 *    only a warning (the guest may be killed or swap).
 * Returns 0 with msg empty (fits, or the host facts are unreadable) or
 * holding a one-line warning naming --memory for the caller to print; or
 * -ENOMEM with the reason in msg. */
int mem_overcommit_check(const struct mem_opts *m, const char *meminfo, const char *sysfs,
			 char *msg, size_t len);

#endif
