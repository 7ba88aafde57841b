/* Host memory behind guest RAM: one mapping per guest region, made from a
 * struct mem_opts (anonymous, memfd or a hugetlbfs file), bound to host
 * NUMA nodes, advised (THP, KSM) and optionally preallocated, in that
 * order, so no page is touched before its policy is set.  Each mapping
 * remembers its backing, page size, fd and flags (a balloon can give pages
 * back at the right granularity). */
#ifndef KVMLAB_MEM_BACKEND_H
#define KVMLAB_MEM_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/mem_opts.h"

/* Where host facts are read; NULL members mean the real files.  Tests
 * point them at fake trees. */
struct mem_host {
	const char *sysfs;  /* "/sys" */
	const char *mounts; /* "/proc/mounts" */
};

struct mem_backing {
	uint8_t *hva; /* NULL when released */
	uint64_t size;
	uint64_t page_size; /* 4K, or the hugetlb page size */
	enum mem_backend backend;
	int fd;		      /* memfd or hugetlbfs file; -1 for anon */
	int mmap_flags;	      /* as given to mmap() */
	int madv_thp;	      /* MADV_HUGEPAGE, MADV_NOHUGEPAGE or 0 */
	bool mergeable;	      /* MADV_MERGEABLE applied */
	int mpol_mode;	      /* MPOL_* applied with mbind(), MPOL_DEFAULT if none */
	uint64_t nodes;	      /* nodemask given to mbind() */
	bool prealloc;	      /* every page populated */
	uint64_t prealloc_ns; /* time the population took */
};

/* Guest RAM mappings start at a multiple of this (or of the hugetlb page
 * size when larger): a transparent huge page then backs a whole guest 2M
 * frame, and KVM can map it with one 2M NPT/EPT entry. */
#define MEM_THP_ALIGN (2ull << 20)

/* Map size bytes (a multiple of the page size of m) as m describes, for
 * one guest region, at a host address aligned to MEM_THP_ALIGN or the
 * hugetlb page size, whichever is larger.  host may be NULL.  For hugetlb pages the free count
 * minus reservations in sysfs must cover size, else -ENOMEM with a message
 * saying how to reserve them.  Returns 0, or a negative errno with a
 * one-line message naming --memory in err; on failure nothing is left
 * mapped or open and *b is released. */
int mem_backing_alloc(const struct mem_opts *m, uint64_t size, const struct mem_host *host,
		      struct mem_backing *b, char *err, size_t errlen);

/* Preallocation of a mapping this large or larger is split across threads. */
#define MEM_PREALLOC_SPLIT_SIZE	 (1ull << 30)
#define MEM_PREALLOC_MAX_THREADS 4

/* Threads mem_backing_alloc uses to preallocate size bytes: 1 below
 * MEM_PREALLOC_SPLIT_SIZE, else MEM_PREALLOC_MAX_THREADS. */
unsigned int mem_prealloc_threads(uint64_t size);

/* Fault in every page of [hva, hva + size) for writing, split into
 * nthreads slices of whole pages (at most MEM_PREALLOC_MAX_THREADS and one
 * per page); slice 0 runs on the caller, the others on threads joined
 * before returning (a thread that cannot be created leaves its slice to
 * the caller).  MADV_POPULATE_WRITE, or touching each page on kernels
 * without it.  Returns 0, or a negative errno with a message naming
 * --memory in err. */
int mem_populate(uint8_t *hva, uint64_t size, uint64_t page_size, unsigned int nthreads, char *err,
		 size_t errlen);

/* Unmap and close.  Safe on a released or failed backing; never fails. */
void mem_backing_release(struct mem_backing *b);

/* Hugepages of page_size that a new mapping can still reserve
 * (free_hugepages - resv_hugepages under sysfs), and the pool size
 * (nr_hugepages) if nr is not NULL.  Returns 0, -ENOENT if the host has no
 * pool of that size, -EIO if the files are unreadable or malformed. */
int mem_hugepages_available(const char *sysfs, uint64_t page_size, uint64_t *avail, uint64_t *nr);

/* Refuse when the pool of page_size hugepages under sysfs (NULL: /sys)
 * cannot cover size bytes: -ENOMEM with a message saying how many are
 * needed and how to reserve them, -EINVAL if there is no such pool, -EIO
 * if the counts are unreadable.  Returns 0 when they fit. */
int mem_hugepages_check(const char *sysfs, uint64_t size, uint64_t page_size, char *err,
			size_t errlen);

/* Mount point of a hugetlbfs in the mounts file (format of /proc/mounts)
 * whose pagesize= option is page_size (a mount without it counts as 2M).
 * Returns 0 with the directory in dir, -ENODEV if none, -ENAMETOOLONG,
 * or a negative errno from opening the file. */
int mem_hugetlbfs_find(const char *mounts, uint64_t page_size, char *dir, size_t len);

/* Check every node of the mask is online (sysfs devices/system/node/online;
 * only node 0 when it is missing) and allowed for this process.  Returns 0
 * or -EINVAL with a message naming --memory host-nodes. */
int mem_nodes_check(const char *sysfs, uint64_t nodes, char *err, size_t errlen);

/* Read a file holding one decimal number (optionally newline-terminated),
 * as sysfs and procfs counters do.  Returns 0, -errno if the file cannot be
 * opened or read (-ENOENT when absent), -EIO if it holds anything else. */
int mem_read_u64(const char *path, uint64_t *out);

#endif
