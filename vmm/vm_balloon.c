/* Assembly of a virtio-balloon device in a VM. */
#include "vmm/vm_balloon.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "mem/discard.h"
#include "vmm/vm.h"

int vm_balloon_create(struct vm_balloon *b, struct vm *vm, const struct balloon_opts *o, char *err,
		      size_t errlen)
{
	struct balloon_region reg[BALLOON_MAX_REGIONS];
	struct virtio_balloon_opts vo = {
	    .deflate_on_oom = o->deflate_on_oom,
	    .stats = o->stats,
	    .free_page_reporting = o->free_page_reporting,
	};
	struct iothread *io[VIRTIO_BALLOON_MAX_QUEUES];
	unsigned int nq;
	int r;

	memset(b, 0, sizeof(*b));
	b->present = true;
	/* the backings in vm->ram are in the order of the gm regions */
	if (vm->nr_ram > BALLOON_MAX_REGIONS || vm->nr_ram != vm->gm.nr) {
		snprintf(err, errlen, "--balloon: unexpected RAM layout (%u regions)", vm->nr_ram);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < vm->nr_ram; i++) {
		reg[i] = (struct balloon_region){.gpa = vm->gm.regions[i].gpa,
						 .size = vm->ram[i].size,
						 .page_size = vm->ram[i].page_size};
		b->ram_bytes += vm->ram[i].size;
	}
	r = balloon_pages_init(&b->pages, reg, vm->nr_ram, mem_discard_region, vm->ram);
	if (r)
		goto fail;
	b->pages_ready = true;
	r = virtio_balloon_init(&b->model, &vo, &b->pages);
	if (r)
		goto fail;
	b->model_ready = true;
	r = iothread_init(&b->io, "io-balloon-0");
	if (r)
		goto fail;
	b->io_ready = true;
	nq = virtio_balloon_num_queues(&b->model);
	for (unsigned int q = 0; q < nq; q++)
		io[q] = &b->io;
	r = virtio_host_init(&b->host, &vm->kvm, &vm->routes, io, nq, nq + 1, o->ioeventfd,
			     o->irqfd);
	if (r)
		goto fail;
	b->host_ready = true;
	r = virtio_pci_init(&b->t, &vm->gm, &virtio_balloon_ops, &b->model,
			    virtio_balloon_features(&b->model), nq, VIRTIO_BALLOON_QUEUE_SIZE,
			    virtio_balloon_cfg_len(), &virtio_host_ops, &virtio_host_msix_ops,
			    &b->host);
	if (r)
		goto fail;
	b->t_ready = true;
	b->model.t = &b->t;
	b->host.t = &b->t;
	r = pci_bus_add(&vm->pci, &b->t.func);
	if (r < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "--balloon: %s", strerror(-r));
	return r;
}

int vm_balloon_start(struct vm_balloon *b)
{
	return b->io_ready ? iothread_start(&b->io) : 0;
}

void vm_balloon_stop(struct vm_balloon *b)
{
	if (b->io_ready)
		iothread_stop(&b->io);
}

void vm_balloon_destroy(struct vm_balloon *b)
{
	vm_balloon_stop(b);
	if (b->host_ready)
		virtio_host_destroy(&b->host);
	if (b->t_ready)
		virtio_pci_destroy(&b->t);
	if (b->model_ready)
		virtio_balloon_destroy(&b->model);
	if (b->pages_ready)
		balloon_pages_destroy(&b->pages);
	if (b->io_ready)
		iothread_destroy(&b->io);
	b->pages_ready = b->model_ready = b->io_ready = b->host_ready = b->t_ready = false;
}

int vm_balloon_set_target(struct vm_balloon *b, uint64_t bytes)
{
	if (!b->present || !b->t_ready)
		return -ENODEV;
	if (bytes >= b->ram_bytes)
		return -ERANGE;
	virtio_balloon_set_target(&b->model, (uint32_t)(bytes >> BALLOON_PAGE_SHIFT));
	return 0;
}

int vm_balloon_request_stats(struct vm_balloon *b)
{
	if (!b->present || !b->t_ready)
		return -ENODEV;
	return virtio_balloon_request_stats(&b->model);
}

void vm_balloon_get_info(struct vm_balloon *b, struct vm_balloon_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!b->present || !b->t_ready)
		return;
	out->target_bytes = (uint64_t)virtio_balloon_target(&b->model) << BALLOON_PAGE_SHIFT;
	out->actual_bytes = (uint64_t)virtio_balloon_actual(&b->model) << BALLOON_PAGE_SHIFT;
	balloon_pages_get_stats(&b->pages, &out->pages);
	out->held_bytes = out->pages.held_bytes;
	out->returned_bytes = out->pages.returned_bytes;
	out->reported_bytes = out->pages.reported_bytes;
	out->reports = out->pages.reports;
	virtio_balloon_get_counts(&b->model, &out->counts);
	virtio_balloon_guest_stats(&b->model, &out->guest);
}

void vm_balloon_print_stats(struct vm_balloon *b, FILE *f)
{
	struct vm_balloon_info i;

	vm_balloon_get_info(b, &i);
	fprintf(f,
		"kvmlab: virtio-balloon 00:%02x.0: target=%" PRIu64 " MiB actual=%" PRIu64
		" MiB held=%" PRIu64 " MiB returned=%" PRIu64 " MiB reported=%" PRIu64
		" MiB reports=%" PRIu64 " inflated=%" PRIu64 " deflated=%" PRIu64
		" refused=%" PRIu64 " discard_errors=%" PRIu64 " malformed=%" PRIu64
		" stats_updates=%" PRIu64 "\n",
		b->t.func.slot, i.target_bytes >> 20, i.actual_bytes >> 20, i.held_bytes >> 20,
		i.returned_bytes >> 20, i.reported_bytes >> 20, i.reports, i.pages.inflated,
		i.pages.deflated, i.pages.refused_range + i.pages.refused_dup,
		i.pages.discard_errors, i.counts.malformed, i.counts.stats_updates);
}
