/* Assembly of a virtio-blk disk in a VM. */
#include "vmm/vm_disk.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "vmm/disk.h"
#include "vmm/vm.h"

static void uring_ready(void *opaque, uint32_t events)
{
	(void)events;
	blk_uring_complete(opaque);
}

/* One IO thread with its engine. */
static int make_thread(struct vm_disk *d, unsigned int i, unsigned int slots, char *err,
		       size_t errlen)
{
	struct vm_disk_thread *th = &d->threads[i];
	char name[16];
	int r;

	snprintf(name, sizeof(name), "io-%.3s-%u", d->name, i % 100);
	r = iothread_init(&th->io, name);
	if (r) {
		snprintf(err, errlen, "--disk path=%s: IO thread: %s", d->o->path, strerror(-r));
		return r;
	}
	th->io_ready = true;
	if (d->o->affinity_set)
		iothread_set_affinity(&th->io, &d->o->affinity);
	th->sync.fd = d->disk.fd;
	if (d->o->engine != DISK_ENGINE_IO_URING)
		return 0;
	r = blk_uring_init(&th->uring, slots, d->disk.fd);
	if (r) {
		snprintf(err, errlen, "--disk path=%s: engine=io_uring: %s", d->o->path,
			 r == -ENOSYS || r == -EPERM ? "io_uring is not available on this host"
						     : strerror(-r));
		return r;
	}
	th->uring_ready = true;
	th->uring_handler = (struct iothread_handler){.fn = uring_ready, .opaque = &th->uring};
	r = iothread_add(&th->io, blk_uring_eventfd(&th->uring), EPOLLIN, &th->uring_handler);
	if (r)
		snprintf(err, errlen, "--disk path=%s: epoll: %s", d->o->path, strerror(-r));
	return r;
}

int vm_disk_create(struct vm_disk *d, struct vm *vm, const struct disk_opts *o, unsigned int idx,
		   char *err, size_t errlen)
{
	const struct blk_engine_ops *ops[BLK_MAX_QUEUES];
	void *eng[BLK_MAX_QUEUES];
	struct iothread *io[BLK_MAX_QUEUES];
	unsigned int per_thread;
	int r;

	memset(d, 0, sizeof(*d));
	d->o = o;
	d->disk.fd = -1;
	snprintf(d->name, sizeof(d->name), "vd%c", 'a' + (char)idx);
	d->nq = o->queues ? o->queues : vm->cfg->cpus;
	if (d->nq > BLK_MAX_QUEUES)
		d->nq = BLK_MAX_QUEUES;
	d->nthreads = o->iothreads;
	if (d->nthreads > d->nq) {
		snprintf(err, errlen, "--disk path=%s: iothreads=%u is more than its %u queues",
			 o->path, d->nthreads, d->nq);
		return -EINVAL;
	}
	r = disk_open(o, &d->disk, err, errlen);
	if (r)
		return r;
	d->threads = calloc(d->nthreads, sizeof(*d->threads));
	if (!d->threads)
		return -ENOMEM;
	/* queue q is served by thread q % nthreads */
	per_thread = (d->nq + d->nthreads - 1) / d->nthreads;
	for (unsigned int i = 0; i < d->nthreads; i++) {
		r = make_thread(d, i, per_thread * o->queue_size, err, errlen);
		if (r)
			return r;
	}
	for (unsigned int q = 0; q < d->nq; q++) {
		struct vm_disk_thread *th = &d->threads[q % d->nthreads];

		io[q] = &th->io;
		if (o->engine == DISK_ENGINE_IO_URING) {
			ops[q] = &blk_uring_ops;
			eng[q] = &th->uring;
		} else {
			ops[q] = &blk_sync_ops;
			eng[q] = &th->sync;
		}
	}
	r = virtio_blk_init(&d->blk, &d->disk, d->nq, ops, eng);
	if (r)
		goto fail;
	d->blk_ready = true;
	r = virtio_host_init(&d->host, &vm->kvm, &vm->routes, io, d->nq, d->nq + 1, o->ioeventfd,
			     o->irqfd);
	if (r)
		goto fail;
	d->host_ready = true;
	r = virtio_pci_init(&d->t, &vm->gm, &virtio_blk_ops, &d->blk, virtio_blk_features(&d->blk),
			    d->nq, (uint16_t)o->queue_size, virtio_blk_cfg_len(), &virtio_host_ops,
			    &virtio_host_msix_ops, &d->host);
	if (r)
		goto fail;
	d->t_ready = true;
	d->blk.t = &d->t;
	d->host.t = &d->t;
	r = pci_bus_add(&vm->pci, &d->t.func);
	if (r < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "--disk path=%s: %s", o->path, strerror(-r));
	return r;
}

int vm_disk_start(struct vm_disk *d)
{
	for (unsigned int i = 0; i < d->nthreads; i++) {
		int r = iothread_start(&d->threads[i].io);

		if (r)
			return r;
	}
	return 0;
}

void vm_disk_stop(struct vm_disk *d)
{
	for (unsigned int i = 0; d->threads && i < d->nthreads; i++)
		if (d->threads[i].io_ready)
			iothread_stop(&d->threads[i].io);
}

void vm_disk_destroy(struct vm_disk *d)
{
	vm_disk_stop(d);
	if (d->host_ready)
		virtio_host_destroy(&d->host);
	if (d->t_ready)
		virtio_pci_destroy(&d->t);
	if (d->blk_ready)
		virtio_blk_destroy(&d->blk);
	for (unsigned int i = 0; d->threads && i < d->nthreads; i++) {
		struct vm_disk_thread *th = &d->threads[i];

		if (th->uring_ready)
			blk_uring_destroy(&th->uring);
		if (th->io_ready)
			iothread_destroy(&th->io);
	}
	free(d->threads);
	d->threads = NULL;
	disk_close(&d->disk);
	d->host_ready = d->t_ready = d->blk_ready = false;
}

void vm_disk_print_stats(const struct vm_disk *d, FILE *f)
{
	const struct virtio_pci *t = &d->t;
	uint64_t kicks = 0;

	for (unsigned int q = 0; q < d->nq; q++)
		kicks += atomic_load(&d->host.q[q].wakeups);
	fprintf(f,
		"kvmlab: virtio-blk %s 00:%02x.0: path=%s cache=%s engine=%s queues=%u "
		"iothreads=%u kicks=%" PRIu64 " mmio_kicks=%" PRIu64 " irqfd=%" PRIu64
		" msi=%" PRIu64 " intx=%" PRIu64 " needs_reset=%" PRIu64 "\n",
		d->name, t->func.slot, d->o->path, blk_cache_name(d->disk.cache),
		disk_engine_name(d->o->engine), d->nq, d->nthreads, kicks,
		atomic_load(&t->stats.mmio_kicks), atomic_load(&d->host.irqfd_sent),
		atomic_load(&d->host.msi_sent), atomic_load(&t->stats.intx),
		atomic_load(&t->stats.needs_reset));
	if (atomic_load(&t->stats.needs_reset)) {
		char why[512];

		fprintf(f, "kvmlab: virtio-blk %s needs_reset causes: %s\n", d->name,
			virtio_pci_why_format(t, why, sizeof(why)));
	}
	for (unsigned int q = 0; q < d->nq; q++) {
		const struct blk_queue_stats *s = &d->blk.q[q].stats;
		uint64_t lat[BLK_LAT_BUCKETS], n = 0, p50 = 0, p99 = 0, acc = 0;

		for (int b = 0; b < BLK_LAT_BUCKETS; b++)
			n += lat[b] = atomic_load(&s->lat[b]);
		for (int b = 0; b < BLK_LAT_BUCKETS && n; b++) {
			acc += lat[b];
			if (!p50 && acc * 2 >= n)
				p50 = 1ull << b;
			if (!p99 && acc * 100 >= n * 99)
				p99 = 1ull << b;
		}
		fprintf(f,
			"kvmlab: virtio-blk %s q%u: in=%" PRIu64 " out=%" PRIu64 " flush=%" PRIu64
			" get_id=%" PRIu64 " discard=%" PRIu64 " write_zeroes=%" PRIu64
			" other=%" PRIu64 " read_bytes=%" PRIu64 " written_bytes=%" PRIu64
			" errors=%" PRIu64 " inflight_max=%" PRIu64 " batches=%" PRIu64
			" interrupts=%" PRIu64 " lat_p50_us<%" PRIu64 " lat_p99_us<%" PRIu64 "\n",
			d->name, q, atomic_load(&s->reqs[0]), atomic_load(&s->reqs[1]),
			atomic_load(&s->reqs[2]), atomic_load(&s->reqs[3]),
			atomic_load(&s->reqs[4]), atomic_load(&s->reqs[5]),
			atomic_load(&s->reqs[6]), atomic_load(&s->bytes[0]),
			atomic_load(&s->bytes[1]), atomic_load(&s->errors),
			atomic_load(&s->inflight_max), atomic_load(&s->batches),
			atomic_load(&s->interrupts), p50 * 2, p99 * 2);
	}
}
