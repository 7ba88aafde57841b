/* smaps and KSM counters for --stats. */
#include "mem/host_stats.h"

#include "mem/backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SMAPS "/proc/self/smaps"
#define DEFAULT_SYSFS "/sys"

/* "start-end perms ..." header of a VMA. */
static int vma_header(const char *line, uint64_t *start, uint64_t *end)
{
	char *p;

	errno = 0;
	*start = strtoull(line, &p, 16);
	if (p == line || *p != '-' || errno)
		return -1;
	line = p + 1;
	*end = strtoull(line, &p, 16);
	if (p == line || *p != ' ' || errno)
		return -1;
	return 0;
}

/* "Name:   123 kB" -> bytes in *v, if the line is that field. */
static int field_kb(const char *line, const char *name, uint64_t *v)
{
	size_t n = strlen(name);
	unsigned long long kb;
	char unit[4];

	if (strncmp(line, name, n) || line[n] != ':')
		return 0;
	if (sscanf(line + n + 1, "%llu %3s", &kb, unit) != 2 || strcmp(unit, "kB") ||
	    kb > UINT64_MAX >> 10)
		return 0;
	*v = (uint64_t)kb << 10;
	return 1;
}

int mem_smaps_rss(const char *smaps, uintptr_t start, uint64_t len, struct mem_rss *out)
{
	FILE *f = fopen(smaps ? smaps : DEFAULT_SMAPS, "re");
	uint64_t a, b, v, end = (uint64_t)start + len;
	bool in = false;
	char *line = NULL;
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (!vma_header(line, &a, &b)) {
			in = a < end && b > (uint64_t)start;
			out->vmas += in;
			continue;
		}
		if (!in)
			continue;
		if (field_kb(line, "Rss", &v))
			out->rss += v;
		else if (field_kb(line, "AnonHugePages", &v))
			out->anon_huge += v;
		else if (field_kb(line, "Shared_Hugetlb", &v) ||
			 field_kb(line, "Private_Hugetlb", &v))
			out->hugetlb += v;
	}
	free(line);
	fclose(f);
	return out->vmas ? 0 : -ENOENT;
}

static int read_counter(const char *sysfs, const char *name, uint64_t *v)
{
	char path[512];

	if (snprintf(path, sizeof(path), "%s/kernel/mm/ksm/%s", sysfs ? sysfs : DEFAULT_SYSFS,
		     name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return mem_read_u64(path, v);
}

int mem_ksm_read(const char *sysfs, uint64_t *shared, uint64_t *sharing)
{
	int r = read_counter(sysfs, "pages_shared", shared);

	return r ? r : read_counter(sysfs, "pages_sharing", sharing);
}
