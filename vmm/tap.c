/* tap devices: open, attach queues, vnet header, offloads. */
#include "vmm/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* UDP segmentation offload flags (Linux 6.2); older UAPI headers lack them. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

static bool iface_exists(const char *name)
{
	char p[64];
	struct stat st;

	snprintf(p, sizeof(p), "/sys/class/net/%s", name);
	return stat(p, &st) == 0;
}

/* The TUN_F_* offload flags the tap accepts, from the candidates. */
static unsigned int probe_offloads(int fd)
{
	static const unsigned int extra[] = {TUN_F_UFO, TUN_F_USO4 | TUN_F_USO6};
	unsigned int base = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN, ok = 0;

	if (ioctl(fd, TUNSETOFFLOAD, base) == 0)
		ok = base;
	for (size_t i = 0; ok && i < sizeof(extra) / sizeof(extra[0]); i++)
		if (ioctl(fd, TUNSETOFFLOAD, ok | extra[i]) == 0)
			ok |= extra[i];
	ioctl(fd, TUNSETOFFLOAD, 0); /* nothing until the guest negotiates */
	return ok;
}

int tap_open(struct tap *t, const char *name, unsigned int nq, char *err, size_t errlen)
{
	int hdr = TAP_VNET_HDR_LEN, e = 0;

	memset(t, 0, sizeof(*t));
	for (unsigned int i = 0; i < TAP_MAX_QUEUES; i++)
		t->fd[i] = -1;
	if (!name[0] || strlen(name) >= IFNAMSIZ || nq == 0 || nq > TAP_MAX_QUEUES) {
		snprintf(err, errlen, "--net tap=%s: bad name or queue count", name);
		return -EINVAL;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->created = !iface_exists(name);
	for (unsigned int i = 0; i < nq; i++) {
		struct ifreq ifr;

		t->fd[i] = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (t->fd[i] < 0) {
			e = -errno;
			snprintf(err, errlen, "--net tap=%s: /dev/net/tun: %s", name,
				 strerror(errno));
			goto fail;
		}
		t->nq = i + 1;
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (nq > 1 ? IFF_MULTI_QUEUE : 0);
		if (ioctl(t->fd[i], TUNSETIFF, &ifr) < 0) {
			e = -errno;
			if (errno == EPERM)
				snprintf(
				    err, errlen,
				    "--net tap=%s: %s needs CAP_NET_ADMIN (run as root, or create "
				    "the tap first: ip tuntap add dev %s mode tap%s vnet_hdr)",
				    name, t->created ? "creating the tap" : "attaching to it", name,
				    nq > 1 ? " multi_queue" : "");
			else if (errno == EINVAL || errno == EBUSY)
				snprintf(
				    err, errlen,
				    "--net tap=%s: cannot attach %u queue(s): not a tap, or its "
				    "multi_queue/vnet_hdr flags or queue count differ (%s)",
				    name, nq, strerror(errno));
			else
				snprintf(err, errlen, "--net tap=%s: TUNSETIFF: %s", name,
					 strerror(errno));
			goto fail;
		}
		if (ioctl(t->fd[i], TUNSETVNETHDRSZ, &hdr) < 0) {
			e = -errno;
			snprintf(err, errlen, "--net tap=%s: TUNSETVNETHDRSZ: %s", name,
				 strerror(errno));
			goto fail;
		}
	}
	t->offloads = probe_offloads(t->fd[0]);
	return 0;
fail:
	tap_close(t);
	return e;
}

int tap_set_offload(struct tap *t, unsigned int flags)
{
	for (unsigned int i = 0; i < t->nq; i++)
		if (ioctl(t->fd[i], TUNSETOFFLOAD, flags & t->offloads) < 0)
			return -errno;
	return 0;
}

int tap_set_queues(struct tap *t, unsigned int n)
{
	if (t->nq < 2)
		return n == 1 ? 0 : -EINVAL;
	for (unsigned int i = 0; i < t->nq; i++) {
		struct ifreq ifr;

		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_flags = i < n ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
		/* attaching an attached queue (or detaching a detached one)
		 * is refused with EINVAL: not an error here */
		if (ioctl(t->fd[i], TUNSETQUEUE, &ifr) < 0 && errno != EINVAL)
			return -errno;
	}
	return 0;
}

void tap_close(struct tap *t)
{
	for (unsigned int i = 0; i < TAP_MAX_QUEUES; i++) {
		if (t->fd[i] >= 0)
			close(t->fd[i]);
		t->fd[i] = -1;
	}
	t->nq = 0;
}
