/* Host mappings for guest RAM: anon, memfd, hugetlbfs; mbind, madvise,
 * prealloc. */
#include "mem/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mempolicy.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "vmm/clock.h"
#include "vmm/size.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif

#define DEFAULT_SYSFS  "/sys"
#define DEFAULT_MOUNTS "/proc/mounts"

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return e;
}

/* "4K", "2M", "1G" for page sizes (always a power of two >= 4K). */
static const char *page_name(uint64_t ps, char *buf, size_t len)
{
	if (ps >= 1ull << 30)
		snprintf(buf, len, "%lluG", (unsigned long long)(ps >> 30));
	else if (ps >= 1ull << 20)
		snprintf(buf, len, "%lluM", (unsigned long long)(ps >> 20));
	else
		snprintf(buf, len, "%lluK", (unsigned long long)(ps >> 10));
	return buf;
}

/* Whole small file into buf, NUL-terminated.  0 or negative errno. */
static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = '\0';
	return 0;
}

int mem_read_u64(const char *path, uint64_t *out)
{
	char buf[32];
	size_t n;
	int r = read_small(path, buf, sizeof(buf));

	if (r)
		return r;
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return parse_uint(buf, 0, UINT64_MAX, out) ? -EIO : 0;
}

int mem_hugepages_available(const char *sysfs, uint64_t page_size, uint64_t *avail, uint64_t *nr)
{
	static const char *const names[] = {"free_hugepages", "resv_hugepages", "nr_hugepages"};
	uint64_t v[3];
	char path[512];
	int r;

	for (int i = 0; i < 3; i++) {
		if (i == 2 && !nr)
			break;
		if (snprintf(path, sizeof(path), "%s/kernel/mm/hugepages/hugepages-%llukB/%s",
			     sysfs ? sysfs : DEFAULT_SYSFS, (unsigned long long)(page_size >> 10),
			     names[i]) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		r = mem_read_u64(path, &v[i]);
		if (r == -ENOENT)
			return -ENOENT;
		if (r)
			return -EIO;
	}
	*avail = v[0] > v[1] ? v[0] - v[1] : 0;
	if (nr)
		*nr = v[2];
	return 0;
}

int mem_hugepages_check(const char *sysfs, uint64_t size, uint64_t ps, char *err, size_t errlen)
{
	uint64_t need = size / ps, avail, nr, target;
	char pn[16], hint[128];
	int r = mem_hugepages_available(sysfs, ps, &avail, &nr);

	page_name(ps, pn, sizeof(pn));
	if (r == -ENOENT)
		return fail(err, errlen, -EINVAL, "--memory: the host has no %s hugepage pool", pn);
	if (r)
		return fail(err, errlen, r, "--memory: cannot read the free %s hugepage count", pn);
	if (avail >= need)
		return 0;
	if (__builtin_add_overflow(nr, need - avail, &target))
		target = UINT64_MAX;
	if (ps == 2ull << 20)
		snprintf(hint, sizeof(hint), "/proc/sys/vm/nr_hugepages");
	else
		snprintf(hint, sizeof(hint),
			 "/sys/kernel/mm/hugepages/hugepages-%llukB/nr_hugepages",
			 (unsigned long long)(ps >> 10));
	return fail(err, errlen, -ENOMEM,
		    "--memory: needs %llu free %s hugepages, only %llu free (reserve them with: "
		    "echo %llu > %s)",
		    (unsigned long long)need, pn, (unsigned long long)avail,
		    (unsigned long long)target, hint);
}

/* Undo /proc/mounts octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* Page size named by a hugetlbfs option string; 2M when absent. */
static uint64_t mount_page_size(char *opts)
{
	char *save = NULL;
	uint64_t v;

	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
		if (!strncmp(o, "pagesize=", 9))
			return parse_size(o + 9, &v) ? 0 : v;
	return 2ull << 20;
}

int mem_hugetlbfs_find(const char *mounts, uint64_t page_size, char *dir, size_t len)
{
	FILE *f = fopen(mounts ? mounts : DEFAULT_MOUNTS, "re");
	char *line = NULL, *save, *mnt, *type, *opts;
	size_t cap = 0;
	int r = -ENODEV;

	if (!f)
		return -errno;
	while (r == -ENODEV && getline(&line, &cap, f) > 0) {
		save = NULL;
		if (!strtok_r(line, " \t\n", &save))
			continue;
		mnt = strtok_r(NULL, " \t\n", &save);
		type = strtok_r(NULL, " \t\n", &save);
		opts = strtok_r(NULL, " \t\n", &save);
		if (!mnt || !type || !opts || strcmp(type, "hugetlbfs"))
			continue;
		if (mount_page_size(opts) != page_size)
			continue;
		unescape(mnt);
		if (strlen(mnt) >= len) {
			r = -ENAMETOOLONG;
		} else {
			strcpy(dir, mnt);
			r = 0;
		}
	}
	free(line);
	fclose(f);
	return r;
}

/* An unlinked file in the hugetlbfs mounted at dir. */
static int open_hugetlbfs(const char *dir, uint64_t ps, char *err, size_t errlen)
{
	char pn[16], got[16], tmpl[PATH_MAX + 16];
	struct statfs st;
	int fd, e;

	page_name(ps, pn, sizeof(pn));
	if (statfs(dir, &st))
		return fail(err, errlen, -errno, "--memory: path=%s: %s", dir, strerror(errno));
	if ((unsigned long)st.f_type != HUGETLBFS_MAGIC)
		return fail(err, errlen, -EINVAL, "--memory: path=%s is not a hugetlbfs mount",
			    dir);
	if ((uint64_t)st.f_bsize != ps)
		return fail(err, errlen, -EINVAL, "--memory: path=%s has %s pages, not %s", dir,
			    page_name((uint64_t)st.f_bsize, got, sizeof(got)), pn);
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return fail(err, errlen, -errno, "--memory: path=%s: %s", dir, strerror(errno));
	if (snprintf(tmpl, sizeof(tmpl), "%s/kvmlab-XXXXXX", dir) >= (int)sizeof(tmpl))
		return fail(err, errlen, -ENAMETOOLONG, "--memory: path is too long");
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, -errno, "--memory: path=%s: %s", dir, strerror(errno));
	if (unlink(tmpl)) {
		e = errno;
		close(fd);
		return fail(err, errlen, -e, "--memory: cannot unlink %s: %s", tmpl, strerror(e));
	}
	return fd;
}

int mem_nodes_check(const char *sysfs, uint64_t nodes, char *err, size_t errlen)
{
	unsigned long allowed[16] = {0}; /* 1024 nodes */
	char path[512], buf[256];
	uint64_t online = 1;
	int r;

	if (snprintf(path, sizeof(path), "%s/devices/system/node/online",
		     sysfs ? sysfs : DEFAULT_SYSFS) >= (int)sizeof(path))
		return fail(err, errlen, -ENAMETOOLONG,
			    "--memory: host-nodes: sysfs path too long");
	r = read_small(path, buf, sizeof(buf));
	if (r && r != -ENOENT)
		return fail(err, errlen, -EINVAL, "--memory: host-nodes: cannot read %s: %s", path,
			    strerror(-r));
	if (!r && mem_parse_nodelist(buf, &online))
		return fail(err, errlen, -EINVAL, "--memory: host-nodes: cannot parse %s", path);
	if (r)
		snprintf(buf, sizeof(buf), "0");
	buf[strcspn(buf, "\n")] = '\0';
	for (unsigned n = 0; n < MEM_OPTS_MAX_NODES; n++)
		if ((nodes >> n & 1) && !(online >> n & 1))
			return fail(err, errlen, -EINVAL,
				    "--memory: host-nodes: node %u is not online (online: %s)", n,
				    buf);
	/* cpuset limits; unknown (no NUMA support) means no limit here */
	if (syscall(SYS_get_mempolicy, NULL, allowed, 1024UL, NULL, MPOL_F_MEMS_ALLOWED))
		return 0;
	for (unsigned n = 0; n < MEM_OPTS_MAX_NODES; n++)
		if ((nodes >> n & 1) && !((uint64_t)allowed[0] >> n & 1))
			return fail(err, errlen, -EINVAL,
				    "--memory: host-nodes: node %u is not allowed for this process "
				    "(cpuset)",
				    n);
	return 0;
}

static int mpol_mode(enum mem_policy p)
{
	switch (p) {
	case MEM_POLICY_BIND:
		return MPOL_BIND;
	case MEM_POLICY_PREFERRED:
		return MPOL_PREFERRED;
	case MEM_POLICY_INTERLEAVE:
		return MPOL_INTERLEAVE;
	case MEM_POLICY_DEFAULT:
		break;
	}
	return MPOL_DEFAULT;
}

/* One slice of a populate, run by a thread or the caller. */
struct populate_slice {
	uint8_t *p;
	uint64_t len, page_size;
	pthread_t thread;
	bool started;
	int err; /* 0 or positive errno of madvise */
};

/* Fault in every page for writing: MADV_POPULATE_WRITE, or touching on
 * kernels before 5.14. */
static void *populate_slice(void *arg)
{
	struct populate_slice *s = arg;

	s->err = 0;
	if (!madvise(s->p, s->len, MADV_POPULATE_WRITE))
		return NULL;
	if (errno != EINVAL) {
		s->err = errno;
		return NULL;
	}
	for (uint64_t off = 0; off < s->len; off += s->page_size)
		((volatile uint8_t *)s->p)[off] = 0;
	return NULL;
}

unsigned int mem_prealloc_threads(uint64_t size)
{
	return size >= MEM_PREALLOC_SPLIT_SIZE ? MEM_PREALLOC_MAX_THREADS : 1;
}

int mem_populate(uint8_t *hva, uint64_t size, uint64_t page_size, unsigned int nthreads, char *err,
		 size_t errlen)
{
	struct populate_slice s[MEM_PREALLOC_MAX_THREADS];
	uint64_t pages = size / page_size, off = 0;
	int e = 0;

	if (!nthreads || !page_size || size % page_size)
		return fail(err, errlen, -EINVAL, "--memory: prealloc: bad slice geometry");
	if (nthreads > MEM_PREALLOC_MAX_THREADS)
		nthreads = MEM_PREALLOC_MAX_THREADS;
	if (nthreads > pages)
		nthreads = pages ? (unsigned int)pages : 1;
	/* whole pages per slice; the first ones take the remainder */
	for (unsigned int i = 0; i < nthreads; i++) {
		uint64_t n = pages / nthreads + (i < pages % nthreads);

		s[i] = (struct populate_slice){
		    .p = hva + off, .len = n * page_size, .page_size = page_size};
		off += s[i].len;
	}
	/* slice 0 is the caller's; a thread that cannot start runs here too */
	for (unsigned int i = 1; i < nthreads; i++)
		s[i].started = !pthread_create(&s[i].thread, NULL, populate_slice, &s[i]);
	populate_slice(&s[0]);
	for (unsigned int i = 1; i < nthreads; i++) {
		if (s[i].started)
			pthread_join(s[i].thread, NULL);
		else
			populate_slice(&s[i]);
	}
	for (unsigned int i = 0; i < nthreads && !e; i++)
		e = s[i].err;
	if (e)
		return fail(err, errlen, -e, "--memory: prealloc of %llu bytes failed: %s",
			    (unsigned long long)size, strerror(e));
	return 0;
}

static int populate(struct mem_backing *b, char *err, size_t errlen)
{
	uint64_t t0 = clock_ns();
	int r =
	    mem_populate(b->hva, b->size, b->page_size, mem_prealloc_threads(b->size), err, errlen);

	if (r)
		return r;
	b->prealloc = true;
	b->prealloc_ns = clock_ns() - t0;
	return 0;
}

/* Create the fd for memfd / hugetlbfs backings. */
static int open_backing(const struct mem_opts *m, const struct mem_host *host, uint64_t ps,
			char *err, size_t errlen)
{
	char dir[PATH_MAX], pn[16];
	unsigned flags = MFD_CLOEXEC;
	int fd, r;

	if (m->backend == MEM_BACKEND_MEMFD) {
		if (m->hugepage_size)
			flags |= MFD_HUGETLB | ((unsigned)__builtin_ctzll(ps) << MFD_HUGE_SHIFT);
		fd = memfd_create("kvmlab-ram", flags);
		if (fd < 0)
			return fail(err, errlen, -errno, "--memory: memfd_create: %s",
				    strerror(errno));
		return fd;
	}
	if (m->path[0])
		return open_hugetlbfs(m->path, ps, err, errlen);
	r = mem_hugetlbfs_find(host ? host->mounts : NULL, ps, dir, sizeof(dir));
	if (r == -ENODEV)
		return fail(err, errlen, -EINVAL,
			    "--memory: no hugetlbfs mount with %s pages (mount one: mount -t "
			    "hugetlbfs -o pagesize=%s none DIR, or give path=DIR)",
			    page_name(ps, pn, sizeof(pn)), pn);
	if (r)
		return fail(err, errlen, r, "--memory: cannot read the mount table: %s",
			    strerror(-r));
	return open_hugetlbfs(dir, ps, err, errlen);
}

/* mbind, madvise and prealloc on a fresh, untouched mapping. */
static int tune(const struct mem_opts *m, const struct mem_host *host, struct mem_backing *b,
		char *err, size_t errlen)
{
	unsigned long mask[1];
	int r;

	if (m->policy != MEM_POLICY_DEFAULT) {
		r = mem_nodes_check(host ? host->sysfs : NULL, m->host_nodes, err, errlen);
		if (r)
			return r;
		mask[0] = (unsigned long)m->host_nodes;
		if (syscall(SYS_mbind, b->hva, b->size, mpol_mode(m->policy), mask,
			    (unsigned long)MEM_OPTS_MAX_NODES + 1, 0UL))
			return fail(err, errlen, -errno, "--memory: mbind policy=%s: %s",
				    mem_policy_name(m->policy), strerror(errno));
		b->mpol_mode = mpol_mode(m->policy);
		b->nodes = m->host_nodes;
	}
	if (m->thp != MEM_THP_DEFAULT) {
		int adv = m->thp == MEM_THP_ON ? MADV_HUGEPAGE : MADV_NOHUGEPAGE;

		if (madvise(b->hva, b->size, adv))
			return fail(err, errlen, -errno, "--memory: thp=%s: madvise: %s",
				    m->thp == MEM_THP_ON ? "on" : "off", strerror(errno));
		b->madv_thp = adv;
	}
	/* KSM cannot merge hugetlb pages; mem_opts already warned. */
	if (m->merge && !m->hugepage_size) {
		if (madvise(b->hva, b->size, MADV_MERGEABLE))
			return fail(err, errlen, -errno,
				    "--memory: merge=on: madvise: %s (kernel without KSM?)",
				    strerror(errno));
		b->mergeable = true;
	}
	if (m->prealloc)
		return populate(b, err, errlen);
	return 0;
}

/* Map size bytes of fd (or anonymous memory) at an address aligned to
 * align (a power of two), so that a guest-physical 2M frame lines up with a
 * host PMD: KVM maps a guest page with a huge NPT entry only when hva and
 * gpa agree modulo the huge page size, and mmap(NULL) on Linux before 6.7
 * returns 4K-aligned anonymous addresses.  Reserves size + align of
 * PROT_NONE address space, maps over an aligned part of it with MAP_FIXED
 * and gives the unused head and tail back.  MAP_FAILED with errno set on
 * failure, with nothing left mapped. */
static void *map_aligned(uint64_t size, uint64_t align, int flags, int fd)
{
	uint64_t span, base, start;
	void *r, *p;

	if (size > UINT64_MAX - align)
		return errno = ENOMEM, MAP_FAILED;
	span = size + align;
	r = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return MAP_FAILED;
	base = (uint64_t)(uintptr_t)r;
	start = (base + align - 1) & ~(align - 1);
	p = mmap((void *)(uintptr_t)start, size, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;

		munmap(r, span);
		errno = e;
		return MAP_FAILED;
	}
	if (start > base)
		munmap(r, start - base);
	if (base + span > start + size)
		munmap((void *)(uintptr_t)(start + size), base + span - (start + size));
	return p;
}

int mem_backing_alloc(const struct mem_opts *m, uint64_t size, const struct mem_host *host,
		      struct mem_backing *b, char *err, size_t errlen)
{
	uint64_t ps = mem_opts_page_size(m);
	void *p;
	int r;

	memset(b, 0, sizeof(*b));
	b->fd = -1;
	b->mpol_mode = MPOL_DEFAULT;
	b->backend = m->backend;
	b->page_size = ps;
	if (err && errlen)
		err[0] = '\0';
	if (!size || size % ps || size > (uint64_t)INT64_MAX)
		return fail(err, errlen, -EINVAL,
			    "--memory: region of %llu bytes is not a multiple of the page size",
			    (unsigned long long)size);
	if (m->backend == MEM_BACKEND_ANON && m->hugepage_size)
		return fail(err, errlen, -EINVAL,
			    "--memory: hugepage-size needs memfd or hugetlbfs");
	if (m->hugepage_size) {
		r = mem_hugepages_check(host ? host->sysfs : NULL, size, ps, err, errlen);
		if (r)
			return r;
	}
	if (m->backend != MEM_BACKEND_ANON) {
		b->fd = open_backing(m, host, ps, err, errlen);
		if (b->fd < 0) {
			r = b->fd;
			b->fd = -1;
			return r;
		}
		if (ftruncate(b->fd, (off_t)size)) {
			r = fail(err, errlen, -errno, "--memory: cannot size the %s file: %s",
				 mem_backend_name(m->backend), strerror(errno));
			goto out;
		}
	}
	b->mmap_flags = m->shared ? MAP_SHARED : MAP_PRIVATE;
	if (m->backend == MEM_BACKEND_ANON)
		b->mmap_flags |= MAP_ANONYMOUS;
	/* hugetlb pages are reserved at mmap time, so a guest never meets
	 * SIGBUS; base pages are overcommitted as before */
	if (!m->hugepage_size)
		b->mmap_flags |= MAP_NORESERVE;
	/* aligned to the page size, and to 2M at least so THP and shmem huge
	 * pages can back whole guest 2M frames */
	p = map_aligned(size, ps > MEM_THP_ALIGN ? ps : MEM_THP_ALIGN, b->mmap_flags, b->fd);
	if (p == MAP_FAILED) {
		r = fail(err, errlen, -errno, "--memory: cannot map %llu bytes (%s): %s",
			 (unsigned long long)size, mem_backend_name(m->backend), strerror(errno));
		goto out;
	}
	b->hva = p;
	b->size = size;
	r = tune(m, host, b, err, errlen);
	if (!r)
		return 0;
out:
	mem_backing_release(b);
	return r;
}

void mem_backing_release(struct mem_backing *b)
{
	if (b->hva)
		munmap(b->hva, b->size);
	if (b->fd >= 0)
		close(b->fd);
	b->hva = NULL;
	b->size = 0;
	b->fd = -1;
	b->prealloc = false;
}
