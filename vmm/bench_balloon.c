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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/bench_suite.h"

#define BALLOON_MEM_MIB	 1024
#define BALLOON_SETTLE_S 2
/* Linux reports free pages 2 s after enough have gathered
 * (PAGE_REPORTING_DELAY), then in batches: time for that before the
 * balloon */
#define BALLOON_REPORT_WAIT_S 5
#define BALLOON_GIVE_UP_S     180
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
	/* (balloon.stats has no QEMU equivalent here: kvmlab-only) */
	static const char *const keys[] = {"balloon.free-page-reporting", "balloon.deflate-on-oom",
					   NULL};
	const char *fpr = bench_point_value(m, p, "balloon.free-page-reporting");
	const char *oom = bench_point_value(m, p, "balloon.deflate-on-oom");
	char dev[128], qmp[BENCH_SOCK_MAX + 32], size[32], script[128];
	uint64_t mib = guest_mib(m, p);

	if (!bench_qemu_has_all(m, keys))
		return;
	snprintf(dev, sizeof(dev), "virtio-balloon-pci%s%s%s%s", fpr ? ",free-page-reporting=" : "",
		 fpr ? fpr : "", oom ? ",deflate-on-oom=" : "", oom ? oom : "");
	snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", c->sock);
	snprintf(size, sizeof(size), "%lluM", (unsigned long long)mib);
	bench_qemu_common_mem(c, m, p, a, size);
	bench_argv_add(a, "-device");
	bench_argv_add(a, dev);
	bench_argv_add(a, "-qmp");
	bench_argv_add(a, qmp);
	balloon_script(c, m, p, script, sizeof(script));
	bench_append_cmd(a, script);
}

/* ---- talking to the VMM ---------------------------------------------------- */

/* Set the balloon to set_mib (< 0: leave it) and read its size now, in
 * MiB, into *size.  0 or -errno. */
static int balloon_size(const struct bench_ctx *c, const struct bench_watch *w, uint64_t ram_mib,
			long long set_mib, long long *size)
{
	struct bench_conn conn;
	struct json_doc doc;
	char req[128];
	double v = -1;
	int r;

	r = bench_conn_open(&conn, c->sock, w->qemu);
	if (r)
		return r;
	if (w->qemu) {
		/* QMP's balloon takes the guest's size left, in bytes; its
		 * query-balloon says that size as "actual" */
		if (set_mib >= 0) {
			snprintf(req, sizeof(req),
				 "{\"execute\":\"balloon\",\"arguments\":{\"value\":%llu}}\n",
				 (unsigned long long)(ram_mib - (uint64_t)set_mib) << 20);
			r = bench_conn_request(&conn, req, &doc);
			if (!r)
				json_doc_free(&doc);
		}
		if (!r)
			r = bench_conn_request(&conn, "{\"execute\":\"query-balloon\"}\n", &doc);
		if (!r) {
			if (bench_json_num(json_get(doc.root, "return"), "actual", &v) && v >= 0)
				*size = (long long)ram_mib - (long long)(v / (1 << 20));
			else
				r = -EPROTO;
			json_doc_free(&doc);
		}
	} else {
		if (set_mib >= 0)
			snprintf(req, sizeof(req), "{\"cmd\":\"balloon\",\"mib\":%lld}\n", set_mib);
		else
			snprintf(req, sizeof(req), "{\"cmd\":\"balloon\"}\n");
		r = bench_conn_request(&conn, req, &doc);
		if (!r) {
			if (bench_json_num(doc.root, "actual_mib", &v) && v >= 0)
				*size = (long long)v;
			else
				r = -EPROTO;
			json_doc_free(&doc);
		}
	}
	bench_conn_close(&conn);
	return r;
}

static int shutdown_vm(const struct bench_ctx *c, const struct bench_watch *w)
{
	struct bench_conn conn;
	struct json_doc doc;
	int r = bench_conn_open(&conn, c->sock, w->qemu);

	if (!r)
		r = bench_conn_request(
		    &conn, w->qemu ? "{\"execute\":\"quit\"}\n" : "{\"cmd\":\"shutdown\"}\n", &doc);
	if (!r)
		json_doc_free(&doc);
	bench_conn_close(&conn);
	return r;
}

/* ---- the watch ---------------------------------------------------------------- */

static int balloon_watch(const struct bench_ctx *c, struct bench_watch *w)
{
	double *st = w->state;
	int phase = (int)st[ST_PHASE], r = 0;
	uint64_t ram = guest_mib(w->m, w->p), fill = ram / 2;
	long long rss_kib, size = 0;
	bool have = false; /* size read this time */
	char path[64];

	if (!w->pid[0])
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)w->pid[0]);
	rss_kib = bench_proc_number(path, "VmRSS");
	switch (phase) {
	case PH_BOOT:
		/* the peak: with free page reporting the guest may hand memory
		 * back before it says it has freed it */
		if ((double)rss_kib / 1024 > st[ST_RSS_FILLED])
			st[ST_RSS_FILLED] = (double)rss_kib / 1024;
		if (bench_hold_done(w->out[0])) {
			st[ST_SINCE] = w->t;
			phase = PH_SETTLE;
		}
		break;
	case PH_SETTLE:
		if (w->t - st[ST_SINCE] < BALLOON_REPORT_WAIT_S)
			break;
		st[ST_RSS_FREED] = (double)rss_kib / 1024;
		r = balloon_size(c, w, ram, (long long)fill, &size);
		have = !r;
		st[ST_SINCE] = w->t;
		phase = PH_INFLATE;
		break;
	case PH_INFLATE:
		r = balloon_size(c, w, ram, -1, &size);
		have = !r;
		if (have && size >= (long long)fill) {
			st[ST_INFLATE_S] = w->t - st[ST_SINCE];
			st[ST_SINCE] = w->t;
			phase = PH_HOLD;
		}
		break;
	case PH_HOLD:
		r = balloon_size(c, w, ram, -1, &size);
		have = !r;
		if (r || w->t - st[ST_SINCE] < BALLOON_SETTLE_S)
			break;
		st[ST_RSS_INFLATED] = (double)rss_kib / 1024;
		r = balloon_size(c, w, ram, 0, &size);
		have = !r;
		st[ST_SINCE] = w->t;
		phase = PH_DEFLATE;
		break;
	case PH_DEFLATE:
		r = balloon_size(c, w, ram, -1, &size);
		have = !r;
		if (have && size == 0) {
			st[ST_DEFLATE_S] = w->t - st[ST_SINCE];
			fprintf(w->log,
				SUMMARY_TAG "1,\"fill_mib\":%llu,\"rss_filled_mib\":%.1f,"
					    "\"rss_freed_mib\":%.1f,\"rss_inflated_mib\":%.1f,"
					    "\"inflate_s\":%.2f,\"deflate_s\":%.2f}\n",
				(unsigned long long)fill, st[ST_RSS_FILLED], st[ST_RSS_FREED],
				st[ST_RSS_INFLATED], st[ST_INFLATE_S], st[ST_DEFLATE_S]);
			phase = PH_DONE;
			r = shutdown_vm(c, w);
		}
		break;
	default:
		break;
	}
	fprintf(w->log, "{\"t\":%.2f,\"phase\":%d,\"rss_kib\":%lld,\"rss_mib\":%.1f%s%lld%s}\n",
		w->t, phase, rss_kib, (double)rss_kib / 1024, have ? ",\"balloon_mib\":" : "",
		have ? size : 0LL, "");
	st[ST_PHASE] = phase;
	if (r) /* the VMM did not answer, or refused */
		return r;
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
	if (!bench_run_ok(r, row) || bench_hold_lines(r->out) != 1)
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
