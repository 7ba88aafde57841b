/* One walk over a VM's figures, two writers (JSON, Prometheus). */
#include "vmm/vm_metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem/host_stats.h"
#include "vmm/clock.h"
#include "vmm/prom.h"
#include "vmm/threads.h"
#include "vmm/vm.h"

/* ---- the walk ------------------------------------------------------------ */

struct walk {
	const struct vm_metrics_sink *s;
	void *ctx;
};

static void begin(struct walk *w, const char *kind, const struct vm_metric_label *l, unsigned n)
{
	w->s->begin(w->ctx, kind, l, n);
}

static void end(struct walk *w)
{
	w->s->end(w->ctx);
}

static void counter(struct walk *w, const char *name, const char *help, uint64_t v)
{
	w->s->num(w->ctx, name, NULL, VM_METRIC_COUNTER, help, (double)v, true);
}

static void gauge(struct walk *w, const char *name, const char *help, uint64_t v)
{
	w->s->num(w->ctx, name, NULL, VM_METRIC_GAUGE, help, (double)v, true);
}

static void gauge_f(struct walk *w, const char *name, const char *help, double v)
{
	w->s->num(w->ctx, name, NULL, VM_METRIC_GAUGE, help, v, false);
}

static uint64_t ld(const _Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

/* VmRSS of this process in bytes, 0 if unknown. */
static uint64_t process_rss(void)
{
	char line[256];
	uint64_t kib = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lu kB", (unsigned long *)&kib) == 1)
			break;
	fclose(f);
	return kib << 10;
}

static void walk_vcpus(struct walk *w, struct vm *vm, const struct thread_info *th, int nth)
{
	double hz = (double)sysconf(_SC_CLK_TCK);

	for (unsigned int i = 0; i < vm->ncpus; i++) {
		const struct exit_stats *st = &vm->vcpus[i].stats;
		char id[12], name[16];
		struct vm_metric_label l = {"vcpu", id};

		snprintf(id, sizeof(id), "%u", i);
		snprintf(name, sizeof(name), "vcpu%u", i);
		begin(w, "vcpu", &l, 1);
		for (int k = 0; k < EXIT_KIND_COUNT; k++) {
			struct vm_metric_label r = {"reason", exit_kind_name((enum exit_kind)k)};

			w->s->num(w->ctx, "exits", &r, VM_METRIC_COUNTER, "VM exits by reason",
				  (double)ld(&st->by_kind[k]), true);
		}
		counter(w, "unclaimed_reads", "reads no device claimed", ld(&st->unclaimed_reads));
		counter(w, "unclaimed_writes", "writes no device claimed",
			ld(&st->unclaimed_writes));
		for (int t = 0; t < nth; t++)
			if (!strcmp(th[t].name, name)) {
				gauge(w, "tid", "kernel thread id", (uint64_t)th[t].tid);
				w->s->num(w->ctx, "guest_seconds", NULL, VM_METRIC_COUNTER,
					  "time this vCPU thread ran the guest",
					  (double)th[t].guest_ticks / hz, false);
				w->s->text(w->ctx, "cpus", th[t].cpus);
			}
		end(w);
	}
}

static void walk_threads(struct walk *w, const struct thread_info *th, int nth)
{
	double hz = (double)sysconf(_SC_CLK_TCK);

	for (int t = 0; t < nth; t++) {
		char tid[16];
		/* names repeat (vhost and io_uring workers): the TID tells apart */
		struct vm_metric_label l[2] = {{"thread", th[t].name}, {"tid", tid}};

		snprintf(tid, sizeof(tid), "%d", (int)th[t].tid);
		begin(w, "thread", l, 2);
		w->s->text(w->ctx, "cpus", th[t].cpus);
		w->s->num(w->ctx, "cpu_seconds", NULL, VM_METRIC_COUNTER,
			  "user + system CPU time of the thread",
			  (double)(th[t].user_ticks + th[t].sys_ticks) / hz, false);
		end(w);
	}
}

static void walk_memory(struct walk *w, struct vm *vm)
{
	uint64_t ram = 0, resident = 0, rss_in_ram = 0, shared, sharing;

	for (unsigned int i = 0; i < vm->nr_ram; i++) {
		const struct mem_backing *b = &vm->ram[i];
		struct mem_rss r = {0};
		char id[12];
		struct vm_metric_label l = {"region", id};

		snprintf(id, sizeof(id), "%u", i);
		mem_smaps_rss(NULL, (uintptr_t)b->hva, b->size, &r);
		ram += b->size;
		resident += r.rss + r.hugetlb;
		rss_in_ram += r.rss;
		begin(w, "region", &l, 1);
		gauge(w, "size_bytes", "guest RAM in the region", b->size);
		gauge(w, "page_bytes", "host page size backing it", b->page_size);
		gauge(w, "resident_bytes", "resident host memory (base, THP, hugetlb)",
		      r.rss + r.hugetlb);
		gauge(w, "anon_huge_bytes", "THP part of it", r.anon_huge);
		gauge(w, "hugepages", "hugetlb pages in use",
		      b->page_size > 4096 ? r.hugetlb / b->page_size : 0);
		w->s->text(w->ctx, "backing", mem_backend_name(b->backend));
		end(w);
	}
	begin(w, "memory", NULL, 0);
	gauge(w, "guest_ram_bytes", "guest RAM size", ram);
	gauge(w, "guest_resident_bytes", "guest RAM resident on the host", resident);
	{
		uint64_t rss = process_rss();

		gauge(w, "vmm_rss_bytes", "kvmlab's resident memory outside guest RAM",
		      rss > rss_in_ram ? rss - rss_in_ram : 0);
	}
	if (!mem_ksm_read(NULL, &shared, &sharing)) {
		gauge(w, "ksm_pages_shared", "host KSM pages_shared (host-wide)", shared);
		gauge(w, "ksm_pages_sharing", "host KSM pages_sharing (host-wide)", sharing);
	}
	end(w);
}

static void transport(struct walk *w, const struct virtio_pci *t, const struct virtio_host *h)
{
	counter(w, "mmio_kicks", "notifications that exited to userspace",
		ld(&t->stats.mmio_kicks));
	counter(w, "irqfd_interrupts", "interrupts sent through irqfd", ld(&h->irqfd_sent));
	counter(w, "msi_interrupts", "interrupts sent with KVM_SIGNAL_MSI", ld(&h->msi_sent));
	counter(w, "intx_interrupts", "interrupts sent as INTx", ld(&t->stats.intx));
	counter(w, "needs_reset", "times the device entered NEEDS_RESET",
		ld(&t->stats.needs_reset));
	counter(w, "resets", "device resets by the driver", ld(&t->stats.resets));
}

static void walk_devices(struct walk *w, struct vm *vm)
{
	char dev[32], q[16];
	struct vm_metric_label dl = {"device", dev};
	struct vm_metric_label ql[2] = {{"device", dev}, {"queue", q}};

	if (vm->rng.present) {
		snprintf(dev, sizeof(dev), "rng");
		begin(w, "device", &dl, 1);
		w->s->text(w->ctx, "type", "virtio-rng");
		transport(w, &vm->rng.t, &vm->rng.host);
		counter(w, "requests", "requests served", ld(&vm->rng.model.requests));
		counter(w, "bytes", "random bytes given", ld(&vm->rng.model.bytes));
		end(w);
	}
	for (unsigned int i = 0; i < vm->ndisks; i++) {
		struct vm_disk *d = &vm->disks[i];

		snprintf(dev, sizeof(dev), "%s", d->name);
		begin(w, "device", &dl, 1);
		w->s->text(w->ctx, "type", "virtio-blk");
		transport(w, &d->t, &d->host);
		end(w);
	}
	for (unsigned int i = 0; i < vm->nnets; i++) {
		struct vm_net *n = &vm->nets[i];

		snprintf(dev, sizeof(dev), "%s", n->name);
		begin(w, "device", &dl, 1);
		w->s->text(w->ctx, "type", "virtio-net");
		w->s->text(w->ctx, "path", n->o->vhost ? "vhost" : "userspace");
		transport(w, &n->t, &n->host);
		end(w);
	}
	if (vm->balloon.present) {
		snprintf(dev, sizeof(dev), "balloon");
		begin(w, "device", &dl, 1);
		w->s->text(w->ctx, "type", "virtio-balloon");
		transport(w, &vm->balloon.t, &vm->balloon.host);
		end(w);
	}
	/* queues */
	for (unsigned int i = 0; i < vm->ndisks; i++) {
		struct vm_disk *d = &vm->disks[i];

		snprintf(dev, sizeof(dev), "%s", d->name);
		for (unsigned int k = 0; k < d->nq; k++) {
			const struct blk_queue_stats *s = &d->blk.q[k].stats;
			static const char *const kinds[] = {
			    "in", "out", "flush", "get_id", "discard", "write_zeroes", "other"};

			snprintf(q, sizeof(q), "%u", k);
			begin(w, "queue", ql, 2);
			for (unsigned int t = 0; t < 7; t++) {
				struct vm_metric_label r = {"type", kinds[t]};

				w->s->num(w->ctx, "requests", &r, VM_METRIC_COUNTER,
					  "requests completed by type", (double)ld(&s->reqs[t]),
					  true);
			}
			counter(w, "read_bytes", "bytes read", ld(&s->bytes[0]));
			counter(w, "written_bytes", "bytes written", ld(&s->bytes[1]));
			counter(w, "errors", "requests answered IOERR or UNSUPP", ld(&s->errors));
			counter(w, "batches", "passes that completed requests", ld(&s->batches));
			counter(w, "interrupts", "interrupts raised", ld(&s->interrupts));
			counter(w, "kicks", "kicks the IO thread took", ld(&d->host.q[k].wakeups));
			gauge(w, "inflight_max", "most requests in flight at once",
			      ld(&s->inflight_max));
			end(w);
		}
	}
	for (unsigned int i = 0; i < vm->nnets; i++) {
		struct vm_net *n = &vm->nets[i];
		unsigned int nq = virtio_net_num_queues(&n->net);

		snprintf(dev, sizeof(dev), "%s", n->name);
		for (unsigned int k = 0; k < nq; k++) {
			struct virtio_net_stats s;
			int p = virtio_net_queue_pair(&n->net, k);

			if (p >= 0)
				snprintf(q, sizeof(q), "%s%d", k % 2 ? "tx" : "rx", p);
			else
				snprintf(q, sizeof(q), "ctrl");
			virtio_net_queue_stats(&n->net, k, &s);
			begin(w, "queue", ql, 2);
			counter(w, "packets", "frames moved by kvmlab", s.packets);
			counter(w, "bytes", "their bytes", s.bytes);
			counter(w, "drops", "frames dropped", s.drops);
			counter(w, "backpressure", "receive stops for want of guest buffers",
				s.backpressure);
			counter(w, "malformed", "chains refused", s.malformed);
			counter(w, "batches", "passes that completed chains", s.batches);
			counter(w, "kicks", "kicks the IO thread took", ld(&n->host.q[k].wakeups));
			if (n->vh_ready && p >= 0 && (unsigned int)k < 2 * n->vh.npairs)
				counter(w, "vhost_relayed", "vhost interrupts relayed by kvmlab",
					ld(&n->vh.ring[k].relayed));
			end(w);
		}
	}
}

static void walk_balloon(struct walk *w, struct vm *vm)
{
	struct vm_balloon_info i;

	if (!vm->balloon.present)
		return;
	vm_balloon_get_info(&vm->balloon, &i);
	begin(w, "balloon", NULL, 0);
	gauge(w, "target_bytes", "memory kvmlab asked the guest to give up", i.target_bytes);
	gauge(w, "actual_bytes", "memory the guest says it gave up", i.actual_bytes);
	gauge(w, "held_bytes", "host memory returned for the balloon now", i.held_bytes);
	counter(w, "returned_bytes", "bytes discarded for inflations", i.returned_bytes);
	counter(w, "reported_bytes", "bytes discarded for free page reports", i.reported_bytes);
	counter(w, "reports", "free page reports", i.reports);
	counter(w, "inflated_pages", "4 KiB pages inflated", i.pages.inflated);
	counter(w, "deflated_pages", "4 KiB pages deflated", i.pages.deflated);
	counter(w, "malformed", "chains refused", i.counts.malformed);
	counter(w, "guest_stats_updates", "statistics buffers received", i.guest.updates);
	end(w);
	if (!i.guest.updates)
		return;
	begin(w, "guest_stats", NULL, 0);
	for (unsigned int t = 0; t < VIRTIO_BALLOON_STAT_TAGS; t++) {
		const char *name = virtio_balloon_stat_name(t);
		char key[40];

		if (!name || !(i.guest.present & (1u << t)))
			continue;
		snprintf(key, sizeof(key), "%s", name);
		for (char *c = key; *c; c++)
			if (*c == '-')
				*c = '_';
		gauge(w, key, "as the guest's balloon driver reported it", i.guest.val[t]);
	}
	end(w);
}

void vm_metrics_walk(struct vm *vm, const struct vm_metrics_sink *sink, void *ctx)
{
	struct walk w = {sink, ctx};
	struct thread_info *th = calloc(THREADS_MAX, sizeof(*th));
	int nth = th ? threads_read(NULL, th, THREADS_MAX) : 0;

	if (nth < 0)
		nth = 0;
	begin(&w, "vm", NULL, 0);
	gauge_f(&w, "uptime_seconds", "seconds since kvmlab started",
		(double)(clock_ns() - vm->t0_ns) / 1e9);
	gauge(&w, "vcpus", "vCPUs", vm->ncpus);
	gauge(&w, "paused", "1 while the vCPUs are paused", vm_paused(vm));
	counter(&w, "exits", "VM exits of all vCPUs", vm_exits_total(vm));
	end(&w);
	walk_vcpus(&w, vm, th, nth);
	walk_threads(&w, th, nth);
	walk_memory(&w, vm);
	walk_devices(&w, vm);
	walk_balloon(&w, vm);
	free(th);
}

/* ---- JSON ----------------------------------------------------------------- */

struct json_sink {
	struct json_writer *w;
	char kind[24];
	bool in_array;
};

static void js_begin(void *ctx, const char *kind, const struct vm_metric_label *l, unsigned n)
{
	struct json_sink *j = ctx;

	if (strcmp(j->kind, kind)) {
		if (j->in_array)
			jw_end_array(j->w);
		j->in_array = false;
		snprintf(j->kind, sizeof(j->kind), "%s", kind);
		if (n) {
			char key[32];

			snprintf(key, sizeof(key), "%ss", kind);
			jw_key(j->w, key);
			jw_begin_array(j->w);
			j->in_array = true;
		} else {
			jw_key(j->w, kind);
		}
	}
	jw_begin_object(j->w);
	for (unsigned int i = 0; i < n; i++)
		jw_kv_string(j->w, l[i].key, l[i].value);
}

static void js_num(void *ctx, const char *name, const struct vm_metric_label *extra,
		   enum vm_metric_type type, const char *help, double v, bool integral)
{
	struct json_sink *j = ctx;
	char key[64];

	(void)type;
	(void)help;
	if (extra)
		snprintf(key, sizeof(key), "%s_%s", name, extra->value);
	else
		snprintf(key, sizeof(key), "%s", name);
	if (integral)
		jw_kv_uint(j->w, key, (uint64_t)v);
	else
		jw_kv_double(j->w, key, v);
}

static void js_text(void *ctx, const char *name, const char *v)
{
	struct json_sink *j = ctx;

	jw_kv_string(j->w, name, v);
}

static void js_end(void *ctx)
{
	struct json_sink *j = ctx;

	jw_end_object(j->w);
}

static const struct vm_metrics_sink json_sink_ops = {js_begin, js_num, js_text, js_end};

int vm_metrics_json(struct vm *vm, struct json_writer *w)
{
	struct json_sink j = {.w = w};

	vm_metrics_walk(vm, &json_sink_ops, &j);
	if (j.in_array)
		jw_end_array(w);
	return jw_error(w);
}

/* ---- Prometheus ----------------------------------------------------------- */

#define PROM_MAX_LABELS 3

struct prom_sample {
	char family[80];
	const char *help;
	enum vm_metric_type type;
	unsigned int nl;
	char key[PROM_MAX_LABELS][16];
	char val[PROM_MAX_LABELS][32];
	double v;
	bool integral;
	size_t seq; /* walk order, for a stable sort */
};

struct prom_sink {
	struct prom_sample *s;
	size_t n, cap;
	int err;
	char kind[24];
	struct vm_metric_label labels[PROM_MAX_LABELS];
	unsigned int nl;
};

static void ps_begin(void *ctx, const char *kind, const struct vm_metric_label *l, unsigned n)
{
	struct prom_sink *p = ctx;

	snprintf(p->kind, sizeof(p->kind), "%s", kind);
	p->nl = n < PROM_MAX_LABELS ? n : PROM_MAX_LABELS - 1;
	for (unsigned int i = 0; i < p->nl; i++)
		p->labels[i] = l[i];
}

static void ps_num(void *ctx, const char *name, const struct vm_metric_label *extra,
		   enum vm_metric_type type, const char *help, double v, bool integral)
{
	struct prom_sink *p = ctx;
	struct prom_sample *s;

	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 256;
		struct prom_sample *ns = realloc(p->s, cap * sizeof(*ns));

		if (!ns) {
			p->err = -ENOMEM;
			return;
		}
		p->s = ns;
		p->cap = cap;
	}
	s = &p->s[p->n];
	memset(s, 0, sizeof(*s));
	snprintf(s->family, sizeof(s->family), "kvmlab_%s_%s%s", p->kind, name,
		 type == VM_METRIC_COUNTER ? "_total" : "");
	s->help = help;
	s->type = type;
	for (unsigned int i = 0; i < p->nl; i++) {
		snprintf(s->key[i], sizeof(s->key[i]), "%s", p->labels[i].key);
		snprintf(s->val[i], sizeof(s->val[i]), "%s", p->labels[i].value);
	}
	s->nl = p->nl;
	if (extra) {
		snprintf(s->key[s->nl], sizeof(s->key[0]), "%s", extra->key);
		snprintf(s->val[s->nl], sizeof(s->val[0]), "%s", extra->value);
		s->nl++;
	}
	s->v = v;
	s->integral = integral;
	s->seq = p->n++;
}

static void ps_text(void *ctx, const char *name, const char *v)
{
	(void)ctx;
	(void)name;
	(void)v;
}

static void ps_end(void *ctx)
{
	(void)ctx;
}

static int cmp_sample(const void *a, const void *b)
{
	const struct prom_sample *x = a, *y = b;
	int c = strcmp(x->family, y->family);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static const struct vm_metrics_sink prom_sink_ops = {ps_begin, ps_num, ps_text, ps_end};

int vm_metrics_prom(struct vm *vm, char **text, size_t *len)
{
	struct prom_sink p = {0};
	struct prom_writer pw;
	const char *out;
	int r = 0;

	*text = NULL;
	*len = 0;
	vm_metrics_walk(vm, &prom_sink_ops, &p);
	if (p.err) {
		free(p.s);
		return p.err;
	}
	qsort(p.s, p.n, sizeof(*p.s), cmp_sample);
	prom_init(&pw, 0);
	for (size_t i = 0; i < p.n && !r; i++) {
		struct prom_sample *s = &p.s[i];
		struct prom_label l[PROM_MAX_LABELS];

		if (i == 0 || strcmp(s->family, p.s[i - 1].family))
			r = prom_family(&pw, s->family,
					s->type == VM_METRIC_COUNTER ? PROM_COUNTER : PROM_GAUGE,
					s->help);
		for (unsigned int k = 0; k < s->nl; k++)
			l[k] = (struct prom_label){s->key[k], s->val[k]};
		if (!r)
			r = s->integral ? prom_sample_u64(&pw, l, s->nl, (uint64_t)s->v)
					: prom_sample_double(&pw, l, s->nl, s->v);
	}
	free(p.s);
	if (!r)
		r = prom_finish(&pw, &out, len);
	if (!r) {
		*text = strdup(out);
		r = *text ? 0 : -ENOMEM;
	}
	prom_free(&pw);
	return r;
}
