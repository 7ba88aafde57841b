/* `kvmlab bench`'s runs (see bench.h): one child, or a run's K guests at
 * once with the suite's watch called while they live. */
#include "vmm/bench.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUN_LIMIT_S 900 /* one boot + workload, a hang guard */
#define TEXT_MAX    (16u << 20)
#define POLL_MS	    50

double bench_now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

char *bench_slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	size_t size = 0, n;
	char *buf;

	if (f && fstat(fileno(f), &st) == 0 && st.st_size > 0)
		size = (uint64_t)st.st_size < TEXT_MAX ? (size_t)st.st_size : TEXT_MAX;
	buf = malloc(size + 1);
	if (!buf) {
		if (f)
			fclose(f);
		return NULL;
	}
	n = f ? fread(buf, 1, size, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
	return buf;
}

void bench_child_setup(pid_t parent, const char *out, const char *err)
{
	int in, o, e;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(126);
	in = open("/dev/null", O_RDONLY);
	o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	e = err ? open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644) : o;
	if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
		_exit(126);
	/* only 0-2 go on to the program */
	if (in > 2)
		close(in);
	if (o > 2)
		close(o);
	if (e > 2 && e != o)
		close(e);
}

/* Fork and exec argv with stdout/stderr to the files; returns the pid or
 * -errno. */
static pid_t start(const struct bench_argv *a, const char *out, const char *err)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* a run ends with bench, however bench ends (the net suite's
		 * namespace then goes too) */
		bench_child_setup(parent, out, err);
		alarm(RUN_LIMIT_S); /* survives exec: SIGALRM ends a hung run */
		execvp(a->v[0], (char *const *)a->v);
		_exit(127);
	}
	return pid;
}

static int exit_status(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int bench_run_child(const struct bench_argv *a, const char *out, const char *err,
		    struct bench_run *r)
{
	double t0 = bench_now_s();
	pid_t pid = start(a, out, err);
	int st;

	if (pid < 0)
		return pid;
	while (wait4(pid, &st, 0, &r->ru) < 0)
		if (errno != EINTR)
			return -errno;
	r->wall_s = bench_now_s() - t0;
	r->status = exit_status(st);
	return 0;
}

static void ru_add(struct rusage *sum, const struct rusage *ru)
{
	sum->ru_utime.tv_sec += ru->ru_utime.tv_sec;
	sum->ru_utime.tv_usec += ru->ru_utime.tv_usec;
	sum->ru_stime.tv_sec += ru->ru_stime.tv_sec;
	sum->ru_stime.tv_usec += ru->ru_stime.tv_usec;
	sum->ru_minflt += ru->ru_minflt;
	sum->ru_majflt += ru->ru_majflt;
	if (ru->ru_maxrss > sum->ru_maxrss)
		sum->ru_maxrss = ru->ru_maxrss;
}

/* Reap the guests that have exited (all of them, waiting, if block). */
static void reap(pid_t *pids, unsigned int n, bool block, struct bench_run *r, int *first_bad,
		 double *last_exit)
{
	for (unsigned int i = 0; i < n; i++) {
		struct rusage ru;
		int st;
		pid_t got;

		if (!pids[i])
			continue;
		do
			got = wait4(pids[i], &st, block ? 0 : WNOHANG, &ru);
		while (got < 0 && errno == EINTR);
		if (got == 0)
			continue;
		if (got < 0) { /* not ours any more: count it as failed */
			st = 127 << 8;
			memset(&ru, 0, sizeof(ru));
		}
		pids[i] = 0;
		*last_exit = bench_now_s();
		ru_add(&r->ru, &ru);
		if (exit_status(st) && *first_bad < 0)
			*first_bad = exit_status(st);
	}
}

static char *concat(char *const *texts, unsigned int n)
{
	size_t len = 1, used = 0;
	char *all;

	for (unsigned int i = 0; i < n; i++) {
		if (!texts[i])
			return NULL;
		len += strlen(texts[i]) + 1;
	}
	all = malloc(len);
	if (!all)
		return NULL;
	for (unsigned int i = 0; i < n; i++) {
		size_t l = strlen(texts[i]);

		memcpy(all + used, texts[i], l);
		used += l;
		if (l && texts[i][l - 1] != '\n' && i + 1 < n) /* keep guests' lines apart */
			all[used++] = '\n';
	}
	all[used] = '\0';
	return all;
}

/* Each guest's files, or all of them read and joined in guest order
 * (NULL without memory). */
static char *read_all(char (*paths)[BENCH_PATH_MAX], unsigned int n)
{
	char *t[BENCH_GUESTS_MAX], *all;

	for (unsigned int i = 0; i < n; i++)
		t[i] = bench_slurp(paths[i]);
	all = concat(t, n);
	for (unsigned int i = 0; i < n; i++)
		free(t[i]);
	return all;
}

int bench_run_guests(const struct bench_ctx *c, const struct bench_suite *s,
		     const struct bench_matrix *m, const struct bench_point *p,
		     const struct bench_argv *a, unsigned int k, bool qemu, const char *base,
		     struct bench_run *r, struct bench_run_text *text)
{
	char(*outs)[BENCH_PATH_MAX], (*errs)[BENCH_PATH_MAX];
	const char *outp[BENCH_GUESTS_MAX];
	pid_t pids[BENCH_GUESTS_MAX] = {0};
	struct bench_watch w;
	char samples[BENCH_PATH_MAX];
	int first_bad = -1, werr = 0;
	double t0, last_exit, next;

	if (k < 1 || k > BENCH_GUESTS_MAX)
		return -EINVAL;
	outs = calloc(2 * (size_t)k, BENCH_PATH_MAX);
	if (!outs)
		return -ENOMEM;
	errs = outs + k;
	memset(r, 0, sizeof(*r));
	memset(text, 0, sizeof(*text));
	r->status = 1;
	for (unsigned int i = 0; i < k; i++) {
		if (k == 1) {
			snprintf(outs[i], sizeof(outs[i]), "%s.out", base);
			snprintf(errs[i], sizeof(errs[i]), "%s.err", base);
		} else {
			snprintf(outs[i], sizeof(outs[i]), "%s-g%u.out", base, i + 1);
			snprintf(errs[i], sizeof(errs[i]), "%s-g%u.err", base, i + 1);
		}
		outp[i] = outs[i];
	}
	snprintf(samples, sizeof(samples), "%s.samples", base);
	memset(&w, 0, sizeof(w));
	w.n = k;
	w.pid = pids;
	w.out = outp;
	w.qemu = qemu;
	w.m = m;
	w.p = p;
	if (s->watch) {
		w.log = fopen(samples, "we");
		if (!w.log) {
			free(outs);
			return -errno;
		}
	}
	if (s->before) {
		int br = s->before(c);

		if (br) {
			if (w.log)
				fclose(w.log);
			free(outs);
			return br;
		}
	}
	t0 = last_exit = bench_now_s();
	for (unsigned int i = 0; i < k; i++) {
		pid_t pid = start(a, outs[i], errs[i]);

		if (pid < 0) {
			for (unsigned int j = 0; j < i; j++)
				kill(pids[j], SIGTERM);
			reap(pids, i, true, r, &first_bad, &last_exit);
			if (w.log)
				fclose(w.log);
			free(outs);
			return pid;
		}
		pids[i] = pid;
	}
	if (!s->watch) {
		reap(pids, k, true, r, &first_bad, &last_exit);
	} else {
		/* watch once a second; look for exits every POLL_MS so that
		 * the wall time stays close */
		next = t0;
		for (;;) {
			struct timespec ts = {0, POLL_MS * 1000000L};
			bool alive = false;

			reap(pids, k, false, r, &first_bad, &last_exit);
			for (unsigned int i = 0; i < k; i++)
				alive |= pids[i] != 0;
			if (!alive)
				break;
			if (bench_now_s() >= next && !werr) {
				w.t = bench_now_s() - t0;
				werr = s->watch(c, &w);
				fflush(w.log);
				while (next <= bench_now_s()) /* a slow watch skips ticks */
					next += 1.0;
				if (werr) /* the suite gave up on the run: stop it */
					for (unsigned int i = 0; i < k; i++)
						if (pids[i])
							kill(pids[i], SIGTERM);
			}
			nanosleep(&ts, NULL);
		}
		fclose(w.log);
		text->samples = bench_slurp(samples);
	}
	r->wall_s = last_exit - t0;
	r->guests = k;
	if (first_bad >= 0)
		r->status = first_bad;
	else
		r->status = 0;
	if (werr && !r->status)
		r->status = 1;
	text->out = read_all(outs, k);
	text->err = read_all(errs, k);
	free(outs);
	return 0;
}
