/* Overcommit check of --memory against the host's free memory. */
#include "mem/overcommit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mem/backend.h"

#define DEFAULT_MEMINFO "/proc/meminfo"

int mem_host_available(const char *meminfo, uint64_t *bytes)
{
	FILE *f = fopen(meminfo ? meminfo : DEFAULT_MEMINFO, "re");
	char line[256], unit[8];
	unsigned long long kb;
	int r = -ENODATA;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "MemAvailable:", 13))
			continue;
		if (sscanf(line + 13, "%llu %7s", &kb, unit) == 2 && !strcmp(unit, "kB") &&
		    kb <= UINT64_MAX >> 10) {
			*bytes = (uint64_t)kb << 10;
			r = 0;
		}
		break;
	}
	fclose(f);
	return r;
}

/* "6G", "3.5G", "512M", "12K": the largest unit, one decimal unless whole. */
static const char *size_name(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	uint64_t unit = 1;
	char *dot;
	int u = -1;

	while (u < 3 && v >= unit << 10) {
		unit <<= 10;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRIu64, v);
	else if (v % unit == 0)
		snprintf(buf, len, "%" PRIu64 "%c", v / unit, units[u]);
	else
		snprintf(buf, len, "%.1f%c", (double)v / (double)unit, units[u]);
	/* "21.0G" reads better as "21G" */
	dot = strstr(buf, ".0");
	if (dot && dot[2] && !dot[3])
		memmove(dot, dot + 2, 2);
	return buf;
}

int mem_overcommit_check(const struct mem_opts *m, const char *meminfo, const char *sysfs,
			 char *msg, size_t len)
{
	char want[24], have[24];
	uint64_t avail;
	int r;

	if (msg && len)
		msg[0] = '\0';
	if (m->hugepage_size) {
		/* reserved at map time: too few is a refusal; no pool or
		 * unreadable counts are left to mem_backing_alloc to explain */
		r = mem_hugepages_check(sysfs, m->size, m->hugepage_size, msg, len);
		if (r == -ENOMEM)
			return r;
		if (msg && len)
			msg[0] = '\0';
		return 0;
	}
	r = mem_host_available(meminfo, &avail);
	if (r || m->size <= avail)
		return 0;
	size_name(m->size, want, sizeof(want));
	size_name(avail, have, sizeof(have));
	if (m->prealloc) {
		snprintf(msg, len,
			 "--memory: prealloc=on needs %s of guest RAM but only %s is available "
			 "on the host",
			 want, have);
		return -ENOMEM;
	}
	snprintf(msg, len,
		 "--memory: %s of guest RAM but only %s available on the host; the guest may "
		 "be killed or swap",
		 want, have);
	return 0;
}
