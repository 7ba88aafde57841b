/* bench's balloon suite: how fast and how much a balloon gives memory back.
 *
 * One guest (--memory size=1G unless the matrix says otherwise, --balloon
 * stats=on plus the point's balloon.* keys, a control socket) runs
 * `kvmlab-guest hold SIZE 600 free` with SIZE half of its RAM: it dirties
 * SIZE and frees it again, so the host holds memory the guest does not
 * use.  Then bench, once a second: waits 5 s (free page reporting, if on,
 * gives memory back by itself here), inflates the balloon to SIZE and
 * polls until the guest has given it, waits 2 s, deflates to 0 and polls
 * again, then shuts the guest down.  Each sample has the VMM's RSS and the
 * balloon's size; the last line sums the run up.  QEMU does the same
 * through QMP (balloon, query-balloon, quit). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/bench_suite.h"

#define BALLOON_MEM_MIB	 1024
#define BALLOON_SETTLE_S 2
/* Linux reports free pages 2 s after enough have gathered
 * (PAGE_REPORTING_DELAY), then in batches: time for that before the
 * balloon */
#define BALLOON_REPORT_WAIT_S 5
#define BALLOON_GIVE_UP_S     180
#define BALLOON_REPLY_MAX     4096
#define BALLOON_IO_TIMEOUT    5000 /* ms for one reply */
#define HOLD_TAG	      "{\"tool\":\"kvmlab-guest hold\""
#define SUMMARY_TAG	      "{\"balloon_summary\":"

/* the watch's phases */
enum {
	PH_BOOT,    /* until the guest has dirtied and freed its memory */
	PH_SETTLE,  /* BALLOON_REPORT_WAIT_S, then inflate */
	PH_INFLATE, /* until the guest gave it all */
	PH_HOLD,    /* BALLOON_SETTLE_S, then deflate */
	PH_DEFLATE, /* until the balloon is empty */
	PH_DONE,    /* shut down sent */
};

/* state[] slots */
enum {
	ST_PHASE,
	ST_SINCE,
	ST_RSS_FILLED,
	ST_RSS_FREED,
	ST_RSS_INFLATED,
	ST_INFLATE_S,
	ST_DEFLATE_S
};

static const struct bench_opt balloon_opts[] = {
    {"--memory", "size=1G", 0, 1},
    {"--balloon", "stats=on", 0, 1},
    {"--cpus", NULL, 0, 0},
};

static uint64_t guest_mib(const struct bench_matrix *m, const struct bench_point *p)
{
	uint64_t mib = bench_size_mib(bench_point_value(m, p, "memory.size"));

	return mib ? mib : BALLOON_MEM_MIB;
}

static void balloon_script(const struct bench_ctx *c, const struct bench_matrix *m,
			   const struct bench_point *p, char *s, size_t n)
{
	(void)c;
	snprintf(s, n, "kvmlab-guest hold %lluM 600 free",
		 (unsigned long long)(guest_mib(m, p) / 2));
}

static void balloon_workload(const struct bench_ctx *c, const struct bench_matrix *m,
			     const struct bench_point *p, struct bench_argv *a)
{
	bench_argv_add(a, "--api-socket");
	bench_argv_add(a, c->sock);
	bench_add_stats_script(c, m, p, a, balloon_script);
}

/* QEMU: virtio-balloon-pci (free-page-reporting= and deflate-on-oom= the
 * same), QMP on the run's socket. */
static void balloon_qemu(const struct bench_ctx *c, const struct bench_matrix *m,
			 const struct bench_point *p, struct bench_argv *a)
{
	static const char *const keys[] = {"balloon.free-page-reporting", "balloon.deflate-on-oom",
					   "balloon.stats", NULL};
	const char *fpr = bench_point_value(m, p, "balloon.free-page-reporting");
	const char *oom = bench_point_value(m, p, "balloon.deflate-on-oom");
	char dev[128], qmp[BENCH_SOCK_MAX + 32], size[32], script[128];

	if (!bench_qemu_has_all(m, keys))
		return;
	snprintf(dev, sizeof(dev), "virtio-balloon-pci%s%s%s%s", fpr ? ",free-page-reporting=" : "",
		 fpr ? fpr : "", oom ? ",deflate-on-oom=" : "", oom ? oom : "");
	snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", c->sock);
	snprintf(size, sizeof(size), "%lluM", (unsigned long long)guest_mib(m, p));
	bench_qemu_common(c, m, p, a);
	for (int i = 0; i + 1 < a->n; i++) /* the suite's default size */
		if (!strcmp(a->v[i], "-m") && !bench_point_value(m, p, "memory.size"))
			a->v[i + 1] = "1024M";
	bench_argv_add(a, "-device");
	bench_argv_add(a, dev);
	bench_argv_add(a, "-qmp");
	bench_argv_add(a, qmp);
	balloon_script(c, m, p, script, sizeof(script));
	bench_append_cmd(a, script);
}

/* ---- talking to the VMM ---------------------------------------------------- */

/* One reply line (without '\n') into buf; skips QMP's event lines.  0 or
 * -errno (-ETIMEDOUT after BALLOON_IO_TIMEOUT ms without a byte). */
static int read_line(int fd, char *buf, size_t n)
{
	size_t used = 0;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		char *nl;
		ssize_t got;

		if (poll(&pfd, 1, BALLOON_IO_TIMEOUT) <= 0)
			return -ETIMEDOUT;
		got = read(fd, buf + used, n - 1 - used);
		if (got <= 0)
			return got ? -errno : -ECONNRESET;
		used += (size_t)got;
		buf[used] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			/* QMP's events come as {"timestamp": ..., "event": ...} */
			if (!strstr(buf, "\"event\"") || !strstr(buf, "\"timestamp\""))
				return 0; /* a reply: nothing else is expected after it */
			used -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, used + 1);
		}
		if (used + 1 >= n)
			return -E2BIG;
	}
}

static int send_all(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t w = send(fd, s, len, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Send request (one JSON line) on the run's socket and read the reply: for
 * QEMU after QMP's greeting and capabilities handshake.  0 or -errno. */
static int exchange(const char *sock, bool qemu, const char *request, char *reply, size_t n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r;

	if (strlen(sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = -errno;
		close(fd);
		return r;
	}
	r = 0;
	if (qemu) {
		r = read_line(fd, reply, n); /* {"QMP":...} */
		if (!r)
			r = send_all(fd, "{\"execute\":\"qmp_capabilities\"}\n");
		if (!r)
			r = read_line(fd, reply, n);
	}
	if (!r)
		r = send_all(fd, request);
	if (!r)
		r = read_line(fd, reply, n);
	close(fd);
	return r;
}

/* Set the balloon to mib (mib < 0: leave it) and return its size now in
 * MiB, or -errno. */
static long long balloon_size(const struct bench_ctx *c, const struct bench_watch *w,
			      uint64_t ram_mib, long long mib)
{
	char req[128], reply[BALLOON_REPLY_MAX];
	struct json_doc doc;
	double v = -1;
	int r;

	if (w->qemu) {
		if (mib >= 0) { /* QMP's balloon takes the guest's size left, in bytes */
			snprintf(req, sizeof(req),
				 "{\"execute\":\"balloon\",\"arguments\":{\"value\":%llu}}\n",
				 (unsigned long long)(ram_mib - (uint64_t)mib) << 20);
			r = exchange(c->sock, true, req, reply, sizeof(reply));
			if (r)
				return r;
		}
		r = exchange(c->sock, true, "{\"execute\":\"query-balloon\"}\n", reply,
			     sizeof(reply));
		if (r)
			return r;
		if (json_parse(&doc, reply, strlen(reply), NULL, NULL, 0, NULL))
			return -EPROTO;
		if (!bench_json_num(json_get(doc.root, "return"), "actual", &v))
			v = -1;
		json_doc_free(&doc);
		return v < 0 ? -EPROTO : (long long)ram_mib - (long long)(v / (1 << 20));
	}
	if (mib >= 0)
		snprintf(req, sizeof(req), "{\"cmd\":\"balloon\",\"mib\":%lld}\n", mib);
	else
		snprintf(req, sizeof(req), "{\"cmd\":\"balloon\"}\n");
	r = exchange(c->sock, false, req, reply, sizeof(reply));
	if (r)
		return r;
	if (json_parse(&doc, reply, strlen(reply), NULL, NULL, 0, NULL))
		return -EPROTO;
	if (!bench_json_num(doc.root, "actual_mib", &v))
		v = -1;
	json_doc_free(&doc);
	return v < 0 ? -EPROTO : (long long)v;
}

static int shutdown_vm(const struct bench_ctx *c, const struct bench_watch *w)
{
	char reply[BALLOON_REPLY_MAX];

	return exchange(c->sock, w->qemu,
			w->qemu ? "{\"execute\":\"quit\"}\n" : "{\"cmd\":\"shutdown\"}\n", reply,
			sizeof(reply));
}

/* ---- the watch ---------------------------------------------------------------- */

/* The run's guest RAM in MiB: the hold line's bytes * 2. */
static uint64_t ram_of_hold(const char *out_path, uint64_t *fill_mib)
{
	char *t = bench_slurp(out_path);
	const char *l = t ? strstr(t, HOLD_TAG) : NULL;
	const char *b = l ? strstr(l, "\"bytes\":") : NULL;
	uint64_t bytes = b ? strtoull(b + 8, NULL, 10) : 0;

	free(t);
	*fill_mib = bytes >> 20;
	return (bytes >> 20) * 2;
}

static int balloon_watch(const struct bench_ctx *c, struct bench_watch *w)
{
	double *st = w->state;
	int phase = (int)st[ST_PHASE];
	uint64_t fill = 0, ram = 0;
	long long rss_kib, size = -1;
	char path[64];

	if (!w->pid[0])
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)w->pid[0]);
	rss_kib = bench_proc_number(path, "VmRSS");
	if (phase != PH_BOOT)
		ram = ram_of_hold(w->out[0], &fill);
	switch (phase) {
	case PH_BOOT:
		ram = ram_of_hold(w->out[0], &fill);
		if (ram) {
			st[ST_RSS_FILLED] = (double)rss_kib / 1024;
			st[ST_SINCE] = w->t;
			phase = PH_SETTLE;
		}
		break;
	case PH_SETTLE:
		if (w->t - st[ST_SINCE] < BALLOON_REPORT_WAIT_S)
			break;
		st[ST_RSS_FREED] = (double)rss_kib / 1024;
		size = balloon_size(c, w, ram, (long long)fill);
		st[ST_SINCE] = w->t;
		phase = PH_INFLATE;
		break;
	case PH_INFLATE:
		size = balloon_size(c, w, ram, -1);
		if (size >= (long long)fill) {
			st[ST_INFLATE_S] = w->t - st[ST_SINCE];
			st[ST_SINCE] = w->t;
			phase = PH_HOLD;
		}
		break;
	case PH_HOLD:
		size = balloon_size(c, w, ram, -1);
		if (w->t - st[ST_SINCE] < BALLOON_SETTLE_S)
			break;
		st[ST_RSS_INFLATED] = (double)rss_kib / 1024;
		size = balloon_size(c, w, ram, 0);
		st[ST_SINCE] = w->t;
		phase = PH_DEFLATE;
		break;
	case PH_DEFLATE:
		size = balloon_size(c, w, ram, -1);
		if (size == 0) {
			st[ST_DEFLATE_S] = w->t - st[ST_SINCE];
			fprintf(w->log,
				SUMMARY_TAG "1,\"fill_mib\":%llu,\"rss_filled_mib\":%.1f,"
					    "\"rss_freed_mib\":%.1f,\"rss_inflated_mib\":%.1f,"
					    "\"inflate_s\":%.2f,\"deflate_s\":%.2f}\n",
				(unsigned long long)fill, st[ST_RSS_FILLED], st[ST_RSS_FREED],
				st[ST_RSS_INFLATED], st[ST_INFLATE_S], st[ST_DEFLATE_S]);
			phase = PH_DONE;
			if (shutdown_vm(c, w))
				return -EIO;
		}
		break;
	default:
		break;
	}
	fprintf(
	    w->log,
	    "{\"t\":%.2f,\"phase\":%d,\"rss_kib\":%lld,\"rss_mib\":%.1f,\"balloon_mib\":%lld}\n",
	    w->t, phase, rss_kib, (double)rss_kib / 1024, size);
	st[ST_PHASE] = phase;
	if (size < -1) /* the VMM did not answer */
		return (int)size;
	if (phase != PH_BOOT && phase != PH_DONE && w->t - st[ST_SINCE] > BALLOON_GIVE_UP_S)
		return -ETIMEDOUT;
	return 0;
}

/* QEMU leaves its QMP socket behind. */
static void balloon_finish(struct bench_ctx *c)
{
	unlink(c->sock);
}

/* ---- the figures ------------------------------------------------------------- */

static int summary_line(const struct json_value *root, void *opaque)
{
	static const char *const keys[] = {"fill_mib",	       "rss_filled_mib", "rss_freed_mib",
					   "rss_inflated_mib", "inflate_s",	 "deflate_s"};
	double *v = opaque;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!bench_json_num(root, keys[i], &v[i]))
			return 0;
	return 1;
}

int bench_parse_balloon_summary(const char *samples, struct bench_row *row,
				struct bench_results *res)
{
	double v[6];
	int figs = 0, n = 0;

	if (!samples || bench_each_json_line(samples, SUMMARY_TAG, summary_line, v, &figs) != 1)
		return -EINVAL;
	n += !bench_row_add(res, row, "rss_filled_mib", "MiB", v[1]);
	n += !bench_row_add(res, row, "rss_freed_mib", "MiB", v[2]);
	n += !bench_row_add(res, row, "rss_inflated_mib", "MiB", v[3]);
	n += !bench_row_add(res, row, "reclaimed_mib", "MiB", v[1] - v[3]);
	n += !bench_row_add(res, row, "reported_mib", "MiB", v[1] - v[2]);
	n += !bench_row_add(res, row, "inflate_s", "s", v[4]);
	n += !bench_row_add(res, row, "inflate_mib_per_s", "MiB/s", v[4] > 0 ? v[0] / v[4] : 0);
	n += !bench_row_add(res, row, "deflate_s", "s", v[5]);
	return n;
}

static int balloon_parse(const struct bench_ctx *c, const struct bench_run *r,
			 struct bench_row *row, struct bench_results *res)
{
	int n;

	(void)c;
	if (!bench_run_ok(r, row) || !strstr(r->out, HOLD_TAG))
		return -EINVAL;
	n = bench_parse_balloon_summary(r->samples, row, res);
	if (n <= 0)
		return -EINVAL;
	n += !bench_row_add(res, row, "wall_ms", "ms", r->wall_s * 1e3);
	return n;
}

const struct bench_suite bench_balloon_suite = {
    .name = "balloon",
    .what = "a 1G guest dirties and frees half its RAM; the balloon takes it back and returns "
	    "it: RSS before/after, free page reporting, inflate and deflate times",
    .opts = balloon_opts,
    .nopts = sizeof(balloon_opts) / sizeof(balloon_opts[0]),
    .workload = balloon_workload,
    .qemu = balloon_qemu,
    .parse = balloon_parse,
    .watch = balloon_watch,
    .finish = balloon_finish,
    .timeline = "rss_mib",
    .timeline_unit = "MiB",
};
