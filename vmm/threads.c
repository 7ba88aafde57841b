/* /proc/self/task readers. */
#include "vmm/threads.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int threads_parse_stat(const char *line, struct thread_info *t)
{
	/* "tid (comm) state f4 ... f13 utime stime ... f43 guest_time";
	 * comm may hold spaces and parentheses: it ends at the last ')' */
	const char *open = strchr(line, '('), *close = strrchr(line, ')');
	const char *p;
	size_t n;
	int field = 3;

	if (!open || !close || close < open)
		return -EINVAL;
	n = (size_t)(close - open - 1);
	if (n >= sizeof(t->name))
		n = sizeof(t->name) - 1;
	memcpy(t->name, open + 1, n);
	t->name[n] = '\0';
	p = close + 1;
	t->user_ticks = t->sys_ticks = t->guest_ticks = 0;
	while (*p && field <= 43) {
		char *end;
		uint64_t v;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		v = strtoull(p, &end, 10);
		if (field == 14)
			t->user_ticks = v;
		else if (field == 15)
			t->sys_ticks = v;
		else if (field == 43)
			t->guest_ticks = v;
		p = end == p ? p + strcspn(p, " ") : end;
		field++;
	}
	return field > 15 ? 0 : -EINVAL;
}

static int cmp_tid(const void *a, const void *b)
{
	const struct thread_info *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

static void read_cpus(const char *dir, const char *tid, struct thread_info *t)
{
	char path[320], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/status", dir, tid);
	snprintf(t->cpus, sizeof(t->cpus), "?");
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Cpus_allowed_list:", 18)) {
			char *v = line + 18;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			if (strlen(v) >= sizeof(t->cpus))
				snprintf(t->cpus, sizeof(t->cpus), "%.*s...",
					 (int)sizeof(t->cpus) - 4, v);
			else
				snprintf(t->cpus, sizeof(t->cpus), "%s", v);
			break;
		}
	}
	fclose(f);
}

int threads_read(const char *task_dir, struct thread_info *out, size_t max)
{
	const char *dir = task_dir ? task_dir : "/proc/self/task";
	struct dirent *e;
	size_t n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while (n < max && (e = readdir(d))) {
		char path[320], line[1024];
		FILE *f;
		char *end;
		long tid = strtol(e->d_name, &end, 10);

		if (*end || tid <= 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/stat", dir, e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue; /* gone */
		if (!fgets(line, sizeof(line), f) || threads_parse_stat(line, &out[n])) {
			fclose(f);
			continue;
		}
		fclose(f);
		out[n].tid = (pid_t)tid;
		read_cpus(dir, e->d_name, &out[n]);
		n++;
	}
	closedir(d);
	qsort(out, n, sizeof(*out), cmp_tid);
	return (int)n;
}
