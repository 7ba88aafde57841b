/* /proc/self/task readers. */
#include "vmm/threads.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

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

/* Cpus_allowed_list out of a whole status text. */
static void cpus_from_status(char *text, struct thread_info *t)
{
	char *v = strstr(text, "\nCpus_allowed_list:");

	snprintf(t->cpus, sizeof(t->cpus), "?");
	if (!v)
		return;
	v += 19;
	v += strspn(v, " \t");
	v[strcspn(v, "\n")] = '\0';
	if (strlen(v) >= sizeof(t->cpus))
		snprintf(t->cpus, sizeof(t->cpus), "%.*s...", (int)sizeof(t->cpus) - 4, v);
	else
		snprintf(t->cpus, sizeof(t->cpus), "%s", v);
}

/* The whole of an open file from offset 0 into buf (NUL-terminated).
 * Returns the length or -1. */
static ssize_t pread_all(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t r = pread(fd, buf + n, size - 1 - n, (off_t)n);

		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

static void read_cpus(const char *dir, const char *tid, struct thread_info *t)
{
	char path[320], text[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/status", dir, tid);
	snprintf(t->cpus, sizeof(t->cpus), "?");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (pread_all(fd, text, sizeof(text)) > 0)
		cpus_from_status(text, t);
	close(fd);
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

int threads_watch_open(struct threads_watch *w, const char *task_dir)
{
	const char *dir = task_dir ? task_dir : "/proc/self/task";
	struct dirent *e;
	DIR *d = opendir(dir);

	w->n = 0;
	if (!d)
		return -errno;
	while (w->n < THREADS_MAX && (e = readdir(d))) {
		char path[320];
		char *end;
		long tid = strtol(e->d_name, &end, 10);
		int sfd, xfd;

		if (*end || tid <= 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/stat", dir, e->d_name);
		sfd = open(path, O_RDONLY | O_CLOEXEC);
		snprintf(path, sizeof(path), "%s/%s/status", dir, e->d_name);
		xfd = open(path, O_RDONLY | O_CLOEXEC);
		if (sfd < 0 || xfd < 0) {
			if (sfd >= 0)
				close(sfd);
			if (xfd >= 0)
				close(xfd);
			continue; /* gone */
		}
		w->tid[w->n] = (pid_t)tid;
		w->stat_fd[w->n] = sfd;
		w->status_fd[w->n] = xfd;
		w->n++;
	}
	closedir(d);
	return (int)w->n;
}

int threads_watch_read(const struct threads_watch *w, struct thread_info *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < w->n && n < max; i++) {
		char text[4096];

		/* a thread that has exited reads as an error (ESRCH) */
		if (pread_all(w->stat_fd[i], text, sizeof(text)) <= 0 ||
		    threads_parse_stat(text, &out[n]))
			continue;
		out[n].tid = w->tid[i];
		snprintf(out[n].cpus, sizeof(out[n].cpus), "?");
		if (pread_all(w->status_fd[i], text, sizeof(text)) > 0)
			cpus_from_status(text, &out[n]);
		n++;
	}
	qsort(out, n, sizeof(*out), cmp_tid);
	return (int)n;
}

void threads_watch_close(struct threads_watch *w)
{
	for (size_t i = 0; i < w->n; i++) {
		close(w->stat_fd[i]);
		close(w->status_fd[i]);
	}
	w->n = 0;
}
