/* A private network namespace and taps with addresses in it (netns.h),
 * with the plain ioctls: TUNSETIFF/TUNSETPERSIST on /dev/net/tun, and
 * SIOCSIFADDR/SIOCSIFNETMASK/SIOCSIFFLAGS on an AF_INET socket. */
#include "vmm/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Set IFF_UP on interface name through sock.  0 or -errno. */
static int iface_up(int sock, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		return -errno;
	return 0;
}

int netns_enter_private(char *err, size_t errlen)
{
	int sock, r;

	if (unshare(CLONE_NEWNET) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot make a private network namespace (unshare: %s)%s",
			 strerror(-r), r == -EPERM ? ": the net suite needs root" : "");
		return r;
	}
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		r = -errno;
		snprintf(err, errlen, "network namespace: socket: %s", strerror(-r));
		return r;
	}
	r = iface_up(sock, "lo");
	close(sock);
	if (r)
		snprintf(err, errlen, "network namespace: cannot bring lo up: %s", strerror(-r));
	return r;
}

/* Address or netmask (req SIOCSIFADDR / SIOCSIFNETMASK) of name. */
static int set_inet(int sock, const char *name, unsigned long req, struct in_addr a)
{
	struct ifreq ifr;
	struct sockaddr_in sin;

	memset(&ifr, 0, sizeof(ifr));
	memset(&sin, 0, sizeof(sin));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	sin.sin_family = AF_INET;
	sin.sin_addr = a;
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	return ioctl(sock, req, &ifr) < 0 ? -errno : 0;
}

int netns_tap_add(const char *name, bool multi_queue, const char *addr, unsigned int prefix,
		  char *err, size_t errlen)
{
	struct ifreq ifr;
	struct in_addr a, mask;
	int fd, sock, r = 0;
	const char *step = "";

	if (!name[0] || strlen(name) >= IFNAMSIZ || prefix == 0 || prefix > 32 ||
	    inet_pton(AF_INET, addr, &a) != 1) {
		snprintf(err, errlen, "tap %s: bad name, address %s or prefix /%u", name, addr,
			 prefix);
		return -EINVAL;
	}
	mask.s_addr = htonl(prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix));
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "tap %s: /dev/net/tun: %s%s", name, strerror(-r),
			 r == -ENOENT ? " (load the tun module: modprobe tun)" : "");
		return r;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multi_queue ? IFF_MULTI_QUEUE : 0);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		r = -errno, step = "TUNSETIFF";
	} else if (ioctl(fd, TUNSETPERSIST, 1) < 0) {
		r = -errno, step = "TUNSETPERSIST";
	}
	close(fd); /* persistent: the tap stays, detached, for kvmlab or QEMU */
	if (r) {
		snprintf(err, errlen, "tap %s: %s: %s", name, step, strerror(-r));
		return r;
	}
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		r = -errno;
		snprintf(err, errlen, "tap %s: socket: %s", name, strerror(-r));
		return r;
	}
	if ((r = set_inet(sock, name, SIOCSIFADDR, a)))
		step = "SIOCSIFADDR";
	else if ((r = set_inet(sock, name, SIOCSIFNETMASK, mask)))
		step = "SIOCSIFNETMASK";
	else if ((r = iface_up(sock, name)))
		step = "SIOCSIFFLAGS";
	close(sock);
	if (r)
		snprintf(err, errlen, "tap %s: %s: %s", name, step, strerror(-r));
	return r;
}
