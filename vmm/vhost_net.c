/* VHOST_* ioctls on /dev/vhost-net. */
#include "vmm/vhost_net.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vhost.h>

static int xioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

int vhost_net_open(struct vhost_net *v, const char *path, char *err, size_t errlen)
{
	int r;

	v->fd = open(path, O_RDWR | O_CLOEXEC);
	v->features = 0;
	if (v->fd < 0) {
		r = -errno;
		if (r == -ENOENT || r == -ENODEV || r == -ENXIO)
			snprintf(err, errlen, "vhost=on: %s: %s (load the vhost_net module)", path,
				 strerror(-r));
		else
			snprintf(err, errlen, "vhost=on: %s: %s", path, strerror(-r));
		return r;
	}
	r = xioctl(v->fd, VHOST_SET_OWNER, NULL);
	if (!r)
		r = xioctl(v->fd, VHOST_GET_FEATURES, &v->features);
	if (r) {
		snprintf(err, errlen, "vhost=on: %s: %s", path, strerror(-r));
		vhost_net_close(v);
	}
	return r;
}

int vhost_net_set_mem(struct vhost_net *v, const struct guest_mem *gm)
{
	struct vhost_memory *m;
	int r;

	m = calloc(1, sizeof(*m) + gm->nr * sizeof(m->regions[0]));
	if (!m)
		return -ENOMEM;
	m->nregions = gm->nr;
	for (unsigned int i = 0; i < gm->nr; i++) {
		m->regions[i].guest_phys_addr = gm->regions[i].gpa;
		m->regions[i].memory_size = gm->regions[i].size;
		m->regions[i].userspace_addr = (uintptr_t)gm->regions[i].hva;
	}
	r = xioctl(v->fd, VHOST_SET_MEM_TABLE, m);
	free(m);
	return r;
}

int vhost_net_set_features(struct vhost_net *v, uint64_t features)
{
	if (features & ~v->features)
		return -EOPNOTSUPP;
	return xioctl(v->fd, VHOST_SET_FEATURES, &features);
}

int vhost_net_ring_start(struct vhost_net *v, unsigned int idx, const struct vhost_ring *ring,
			 int kick, int call)
{
	struct vhost_vring_state num = {.index = idx, .num = ring->num};
	struct vhost_vring_state base = {.index = idx, .num = ring->base};
	struct vhost_vring_addr addr = {
	    .index = idx,
	    .desc_user_addr = (uintptr_t)ring->desc,
	    .avail_user_addr = (uintptr_t)ring->avail,
	    .used_user_addr = (uintptr_t)ring->used,
	};
	struct vhost_vring_file k = {.index = idx, .fd = kick};
	int r;

	r = xioctl(v->fd, VHOST_SET_VRING_NUM, &num);
	if (!r)
		r = xioctl(v->fd, VHOST_SET_VRING_BASE, &base);
	if (!r)
		r = xioctl(v->fd, VHOST_SET_VRING_ADDR, &addr);
	if (!r)
		r = vhost_net_set_call(v, idx, call);
	if (!r)
		r = xioctl(v->fd, VHOST_SET_VRING_KICK, &k);
	return r;
}

int vhost_net_set_call(struct vhost_net *v, unsigned int idx, int call)
{
	struct vhost_vring_file f = {.index = idx, .fd = call};

	return xioctl(v->fd, VHOST_SET_VRING_CALL, &f);
}

int vhost_net_set_backend(struct vhost_net *v, unsigned int idx, int fd)
{
	struct vhost_vring_file f = {.index = idx, .fd = fd};

	return xioctl(v->fd, VHOST_NET_SET_BACKEND, &f);
}

int vhost_net_ring_stop(struct vhost_net *v, unsigned int idx, uint16_t *base)
{
	struct vhost_vring_state s = {.index = idx};
	struct vhost_vring_file none = {.index = idx, .fd = -1};
	int r, e;

	/* backend first: vhost finishes the packet in hand and stops */
	r = vhost_net_set_backend(v, idx, -1);
	e = xioctl(v->fd, VHOST_GET_VRING_BASE, &s);
	r = r ? r : e;
	if (!e && base)
		*base = (uint16_t)s.num;
	e = xioctl(v->fd, VHOST_SET_VRING_KICK, &none);
	r = r ? r : e;
	e = vhost_net_set_call(v, idx, -1);
	return r ? r : e;
}

void vhost_net_close(struct vhost_net *v)
{
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
}
